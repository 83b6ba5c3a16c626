//! Unit tests of the session's pure pieces: which startup packets are
//! refused, and the identity settings of an upstream session.

use super::*;

fn startup(params: &[(&str, &str)]) -> Startup {
    Startup {
        major: 3,
        minor: 0,
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn replication_and_nameless_startups_are_refused_as_postgres_would() {
    let refused = |params: &[(&str, &str)]| refuse_startup(&startup(params));
    assert!(refused(&[("user", "bot")]).is_none());
    assert!(refused(&[("user", "bot"), ("replication", "off")]).is_none());
    assert!(refused(&[("user", "bot"), ("replication", "FALSE")]).is_none());
    for on in ["true", "database", "on", "1"] {
        let e = refused(&[("user", "bot"), ("replication", on)]).expect(on);
        assert_eq!(e.code, "42501", "{on}");
    }
    assert_eq!(refused(&[]).map(|e| e.code), Some("28000"));
    assert_eq!(refused(&[("user", "")]).map(|e| e.code), Some("28000"));
}

#[test]
fn session_ids_are_unique() {
    let a = next_session_id();
    let b = next_session_id();
    assert_ne!(a, b);
}
