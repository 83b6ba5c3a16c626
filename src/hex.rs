//! Lower-case hex, for ids, fingerprints and throwaway secrets.

use std::fmt::Write as _;

/// `bytes` as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// `N` random bytes as hex (`2 * N` characters).
pub fn random<const N: usize>() -> String {
    encode(&rand::random::<[u8; N]>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_lower_case() {
        assert_eq!(super::encode(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(super::random::<8>().len(), 16);
    }
}
