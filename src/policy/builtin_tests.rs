use super::*;

/// As PostgreSQL 15 reads a boolean setting (`parse_bool_with_len`).
#[test]
fn booleans_as_postgres_reads_them() {
    for t in ["on", "ON", "true", "t", "TrU", "yes", "y", "1"] {
        assert_eq!(parse_bool(t), Some(true), "{t}");
    }
    for f in ["off", "of", "OFF", "false", "f", "no", "n", "0"] {
        assert_eq!(parse_bool(f), Some(false), "{f}");
    }
    for x in [
        "", "o", "onx", "offf", " on", "on ", "10", "2", "truex", "default",
    ] {
        assert_eq!(parse_bool(x), None, "{x:?}");
    }
    assert!(narrows("default_transaction_read_only", "on"));
    assert!(!narrows("default_transaction_read_only", "off"));
    assert!(!narrows("row_security", "on"));
}
