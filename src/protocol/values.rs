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
    pub const UUID: u32 = 2950;
    pub const NAME_ARRAY: u32 = 1003;
    pub const INT2_ARRAY: u32 = 1005;
    pub const INT4_ARRAY: u32 = 1007;
    pub const TEXT_ARRAY: u32 = 1009;
    pub const BPCHAR_ARRAY: u32 = 1014;
    pub const VARCHAR_ARRAY: u32 = 1015;
    pub const INT8_ARRAY: u32 = 1016;
    pub const UUID_ARRAY: u32 = 2951;

    /// The element type of the array types actgate decodes in binary.
    pub fn element(array: u32) -> Option<u32> {
        Some(match array {
            NAME_ARRAY => NAME,
            INT2_ARRAY => INT2,
            INT4_ARRAY => INT4,
            TEXT_ARRAY => TEXT,
            BPCHAR_ARRAY => BPCHAR,
            VARCHAR_ARRAY => VARCHAR,
            INT8_ARRAY => INT8,
            UUID_ARRAY => UUID,
            _ => return None,
        })
    }
}

/// The text form of a bound parameter, or `None` when it cannot be told:
/// NULL, invalid UTF-8, a binary value of an unknown or undecodable type,
/// or a binary value whose length does not fit its type.
///
/// A binary one-dimensional array of a decodable element type becomes
/// PostgreSQL's text form (`{"42","43"}`), when the parameter's type is
/// that array type, or is unknown and the array names its element type.
pub fn param_text(value: Option<&[u8]>, format: i16, type_oid: u32) -> Option<String> {
    let v = value?;
    if format == 0 {
        return std::str::from_utf8(v).ok().map(str::to_owned);
    }
    if let Some(element) = oid::element(type_oid) {
        return binary_array_text(v, Some(element));
    }
    if type_oid == 0 {
        return binary_array_text(v, None);
    }
    binary_scalar_text(v, type_oid)
}

fn binary_scalar_text(v: &[u8], type_oid: u32) -> Option<String> {
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
        (oid::UUID, 16) => {
            let h: String = v.iter().map(|b| format!("{b:02x}")).collect();
            Some(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        _ => None,
    }
}

/// The text form of a binary array (`array_send`'s format: dimensions,
/// flags, element type, then each dimension's length and lower bound, then
/// each element's length, -1 for NULL, and bytes), if it is zero- or
/// one-dimensional, its element type is `expected` (or, with `None`, one
/// actgate decodes), and every byte is accounted for.
fn binary_array_text(v: &[u8], expected: Option<u32>) -> Option<String> {
    let mut r = Reader(v);
    let ndim = r.i32()?;
    let flags = r.i32()?;
    let element = r.i32()? as u32;
    if !(0..=1).contains(&flags) || expected.is_some_and(|e| e != element) {
        return None;
    }
    // Only the element types whose arrays actgate decodes.
    if ![
        oid::NAME,
        oid::INT2,
        oid::INT4,
        oid::TEXT,
        oid::BPCHAR,
        oid::VARCHAR,
        oid::INT8,
        oid::UUID,
    ]
    .contains(&element)
    {
        return None;
    }
    let count = match ndim {
        0 => 0,
        1 => {
            let n = usize::try_from(r.i32()?).ok()?;
            let _lower_bound = r.i32()?;
            n
        }
        _ => return None,
    };
    let mut out = String::from("{");
    for i in 0..count {
        if i > 0 {
            out.push(',');
        }
        let len = r.i32()?;
        if len == -1 {
            out.push_str("NULL");
            continue;
        }
        let bytes = r.take(usize::try_from(len).ok()?)?;
        let text = binary_scalar_text(bytes, element)?;
        out.push('"');
        for c in text.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    r.0.is_empty().then_some(out)
}

/// Reads big-endian fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn i32(&mut self) -> Option<i32> {
        self.take(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
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

    /// `array_send`'s format for a one-dimensional array.
    fn binary_array(element: u32, items: &[Option<&[u8]>]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(1i32.to_be_bytes());
        v.extend(i32::from(items.iter().any(Option::is_none)).to_be_bytes());
        v.extend(element.to_be_bytes());
        v.extend((items.len() as i32).to_be_bytes());
        v.extend(1i32.to_be_bytes());
        for item in items {
            match item {
                Some(b) => {
                    v.extend((b.len() as i32).to_be_bytes());
                    v.extend(*b);
                }
                None => v.extend((-1i32).to_be_bytes()),
            }
        }
        v
    }

    #[test]
    fn binary_arrays_decode_to_text_form() {
        let ints = binary_array(oid::INT4, &[Some(&42i32.to_be_bytes()), None]);
        assert_eq!(
            param_text(Some(&ints), 1, oid::INT4_ARRAY).as_deref(),
            Some(r#"{"42",NULL}"#)
        );
        // Type unknown at Parse: the array names its element type.
        assert_eq!(
            param_text(Some(&ints), 1, 0).as_deref(),
            Some(r#"{"42",NULL}"#)
        );
        let longs = binary_array(oid::INT8, &[Some(&(-5i64).to_be_bytes())]);
        assert_eq!(
            param_text(Some(&longs), 1, oid::INT8_ARRAY).as_deref(),
            Some(r#"{"-5"}"#)
        );
        let texts = binary_array(oid::TEXT, &[Some(br#"a"b\c"#), Some(b"")]);
        assert_eq!(
            param_text(Some(&texts), 1, oid::TEXT_ARRAY).as_deref(),
            Some(r#"{"a\"b\\c",""}"#)
        );
        let uuid: [u8; 16] = *b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x01\x23\x45\x67\x89\xab\xcd\xef";
        let uuids = binary_array(oid::UUID, &[Some(&uuid)]);
        assert_eq!(
            param_text(Some(&uuids), 1, oid::UUID_ARRAY).as_deref(),
            Some(r#"{"12345678-9abc-def0-0123-456789abcdef"}"#)
        );
        // Zero dimensions: the empty array.
        let mut empty = Vec::new();
        for f in [0i32, 0, oid::INT4 as i32] {
            empty.extend(f.to_be_bytes());
        }
        assert_eq!(
            param_text(Some(&empty), 1, oid::INT4_ARRAY).as_deref(),
            Some("{}")
        );
    }

    #[test]
    fn odd_binary_arrays_are_none() {
        let ints = binary_array(oid::INT4, &[Some(&42i32.to_be_bytes())]);
        // The element type differs from the declared array type.
        assert_eq!(param_text(Some(&ints), 1, oid::INT8_ARRAY), None);
        // An element type actgate does not decode (numeric).
        let numeric = binary_array(1700, &[Some(&[0, 0])]);
        assert_eq!(param_text(Some(&numeric), 1, 0), None);
        // Trailing bytes, a short element, bad flags.
        let mut trailing = ints.clone();
        trailing.push(0);
        assert_eq!(param_text(Some(&trailing), 1, oid::INT4_ARRAY), None);
        let short = binary_array(oid::INT4, &[Some(&[0, 42])]);
        assert_eq!(param_text(Some(&short), 1, oid::INT4_ARRAY), None);
        let mut flags = ints.clone();
        flags[7] = 2;
        assert_eq!(param_text(Some(&flags), 1, oid::INT4_ARRAY), None);
        // Two dimensions.
        let mut two = Vec::new();
        for f in [2i32, 0, oid::INT4 as i32, 1, 1, 1, 1, 4, 42] {
            two.extend(f.to_be_bytes());
        }
        assert_eq!(param_text(Some(&two), 1, oid::INT4_ARRAY), None);
        assert_eq!(param_text(Some(&two), 1, 0), None);
        // A scalar of unknown type is not taken for an array.
        assert_eq!(param_text(Some(&42i64.to_be_bytes()), 1, 0), None);
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
