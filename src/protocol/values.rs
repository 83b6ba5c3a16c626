//! Parameter values as text: what a Bind parameter means, for the checks
//! that compare it with a required value. Pure.

/// Type OIDs actgate can decode in binary format.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
}

/// The text form of a bound parameter, or `None` when it cannot be told:
/// NULL, invalid UTF-8, a binary value of an unknown or undecodable type,
/// or a binary value whose length does not fit its type.
pub fn param_text(value: Option<&[u8]>, format: i16, type_oid: u32) -> Option<String> {
    let v = value?;
    if format == 0 {
        return std::str::from_utf8(v).ok().map(str::to_owned);
    }
    match (type_oid, v.len()) {
        (oid::INT2, 2) => Some(i16::from_be_bytes([v[0], v[1]]).to_string()),
        (oid::INT4, 4) => Some(i32::from_be_bytes([v[0], v[1], v[2], v[3]]).to_string()),
        (oid::INT8, 8) => Some(i64::from_be_bytes(v.try_into().ok()?).to_string()),
        (oid::FLOAT4, 4) => Some(f32::from_be_bytes([v[0], v[1], v[2], v[3]]).to_string()),
        (oid::FLOAT8, 8) => Some(f64::from_be_bytes(v.try_into().ok()?).to_string()),
        (oid::BOOL, 1) => Some(if v[0] != 0 { "true" } else { "false" }.to_owned()),
        (oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME, _) => std::str::from_utf8(v)
            .ok()
            .filter(|s| !s.contains('\0'))
            .map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_values_decode() {
        assert_eq!(param_text(Some(b"42"), 0, 0).as_deref(), Some("42"));
        assert_eq!(
            param_text(Some(&42i64.to_be_bytes()), 1, oid::INT8).as_deref(),
            Some("42")
        );
        assert_eq!(
            param_text(Some(&42i32.to_be_bytes()), 1, oid::INT4).as_deref(),
            Some("42")
        );
        assert_eq!(
            param_text(Some(&(-7i16).to_be_bytes()), 1, oid::INT2).as_deref(),
            Some("-7")
        );
        assert_eq!(
            param_text(Some(b"paid"), 1, oid::TEXT).as_deref(),
            Some("paid")
        );
    }

    #[test]
    fn undecodable_values_are_none() {
        assert_eq!(param_text(None, 0, 0), None);
        // Binary of an unknown type, or the wrong length for its type.
        assert_eq!(param_text(Some(b"42"), 1, 0), None);
        assert_eq!(param_text(Some(b"42"), 1, oid::INT8), None);
        assert_eq!(param_text(Some(&[0xff, 0xfe]), 0, 0), None);
        assert_eq!(param_text(Some(&[1, 2, 3]), 1, 1700), None);
    }
}
