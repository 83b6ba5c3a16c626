use super::super::{Attenuation, KeyPair, MAX_TOKEN_BYTES, MintRequest, attenuate, mint};
use super::*;
use biscuit_auth::builder::BlockBuilder;
use std::time::{Duration, UNIX_EPOCH};

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn request() -> MintRequest {
    MintRequest {
        agent: "support".into(),
        subject: "user-42".into(),
        tenant: Some("acme".into()),
        claims: BTreeMap::from([
            ("region".to_owned(), "eu".to_owned()),
            ("note".to_owned(), "a \"quoted\" value".to_owned()),
        ]),
        ttl: secs(900),
        now: t0(),
        not_before: None,
    }
}

fn keys(k: &KeyPair) -> PublicKeys {
    PublicKeys::from_keys(vec![k.public()])
}

fn minted() -> (KeyPair, String, String) {
    let key = KeyPair::new();
    let (token, id) = mint(&key, &request()).unwrap();
    (key, token, id)
}

fn narrow(token: &str, tables: Option<&[&str]>, ops: Option<&[&str]>) -> String {
    let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    attenuate(
        token,
        &Attenuation {
            tables: tables.map(owned),
            operations: ops.map(owned),
            ttl: None,
            now: t0(),
        },
    )
    .unwrap()
}

#[test]
fn mint_verify_round_trip_with_claims() {
    let (key, token, id) = minted();
    let v = verify(&token, &keys(&key), "support", t0() + secs(10)).unwrap();
    let c = &v.claims;
    assert_eq!(c.token_id, id);
    assert_eq!(c.agent, "support");
    assert_eq!(c.subject, "user-42");
    assert_eq!(c.tenant.as_deref(), Some("acme"));
    assert_eq!(c.custom.get("region").map(String::as_str), Some("eu"));
    assert_eq!(
        c.custom.get("note").map(String::as_str),
        Some("a \"quoted\" value")
    );
    assert_eq!(c.issued_at, t0());
    assert_eq!(c.expires_at, t0() + secs(900));
    assert!(c.chain.is_empty());
    assert_eq!(c.revocation_ids.len(), 1);
    assert_eq!(c.revocation_ids[0].len(), 128);
    v.authorize(Some("public.orders"), "delete", t0() + secs(10))
        .unwrap();
    v.authorize(None, "select", t0() + secs(10)).unwrap();
}

#[test]
fn claims_get() {
    let (key, token, id) = minted();
    let v = verify(&token, &keys(&key), "support", t0()).unwrap();
    let c = &v.claims;
    assert_eq!(c.get("subject"), Some("user-42"));
    assert_eq!(c.get("tenant"), Some("acme"));
    assert_eq!(c.get("agent"), Some("support"));
    assert_eq!(c.get("token_id"), Some(id.as_str()));
    assert_eq!(c.get("region"), Some("eu"));
    assert_eq!(c.get("missing"), None);
    let no_tenant = Claims {
        tenant: None,
        ..c.clone()
    };
    assert_eq!(no_tenant.get("tenant"), None);
}

#[test]
fn wrong_key_is_a_signature_error() {
    let (_, token, _) = minted();
    let other = KeyPair::new();
    let err = verify(&token, &keys(&other), "support", t0()).unwrap_err();
    assert!(matches!(err, TokenError::Signature(_)), "{err}");
    let err = verify(&token, &PublicKeys::from_keys(vec![]), "support", t0()).unwrap_err();
    assert!(matches!(err, TokenError::Signature(_)), "{err}");
}

#[test]
fn key_rotation_accepts_any_configured_key() {
    let (key, token, _) = minted();
    let other = KeyPair::new();
    let both = PublicKeys::from_keys(vec![other.public(), key.public()]);
    verify(&token, &both, "support", t0()).unwrap();
}

#[test]
fn a_key_signs_only_for_the_agents_it_is_bound_to() {
    let (key, token, _) = minted();
    let pattern = |s: &str| super::super::AgentPattern::parse(s).unwrap();
    // Bound to the token's agent, by name or by prefix: accepted.
    for bound in ["support", "supp*", "*"] {
        let keys = PublicKeys::default().bind(key.public(), vec![pattern(bound)]);
        let v = verify(&token, &keys, "support", t0()).unwrap();
        assert_eq!(v.claims.agent, "support");
    }
    // Bound to other agents only: refused, though the signature holds.
    let keys = PublicKeys::default().bind(
        key.public(),
        vec![pattern("billing-*"), pattern("supporter")],
    );
    match verify(&token, &keys, "support", t0()).unwrap_err() {
        TokenError::KeyNotAllowed { agent } => assert_eq!(agent, "support"),
        other => panic!("{other}"),
    }
    // Another key may sign for the agent: still refused, and a key that
    // verifies nothing stays a signature error.
    let other = KeyPair::new();
    let keys =
        PublicKeys::from_keys(vec![other.public()]).bind(key.public(), vec![pattern("billing-*")]);
    assert!(matches!(
        verify(&token, &keys, "support", t0()),
        Err(TokenError::KeyNotAllowed { .. })
    ));
    let keys = PublicKeys::default().bind(other.public(), vec![pattern("support")]);
    match verify(&token, &keys, "support", t0()).unwrap_err() {
        TokenError::Signature(detail) => {
            assert!(detail.contains("1 of 1 configured"), "{detail}")
        }
        other => panic!("{other}"),
    }
    // Key B bound to the agent verifies B's tokens even when key A,
    // bound elsewhere, comes first.
    let b = KeyPair::new();
    let (token_b, _) = mint(&b, &request()).unwrap();
    let keys = PublicKeys::default()
        .bind(key.public(), vec![pattern("billing-*")])
        .bind(b.public(), vec![pattern("support")]);
    verify(&token_b, &keys, "support", t0()).unwrap();
    assert!(matches!(
        verify(&token, &keys, "support", t0()),
        Err(TokenError::KeyNotAllowed { .. })
    ));
}

#[test]
fn expired_tokens_are_refused() {
    let (key, token, _) = minted();
    let err = verify(&token, &keys(&key), "support", t0() + secs(900)).unwrap_err();
    match err {
        TokenError::Expired { expires_at } => assert_eq!(expires_at, "2023-11-14T22:28:20Z"),
        other => panic!("{other}"),
    }
    // A session that outlives its token: authorize reports Expired too.
    let v = verify(&token, &keys(&key), "support", t0()).unwrap();
    assert!(matches!(
        v.authorize(None, "select", t0() + secs(901)),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn tokens_from_the_future_are_refused() {
    let key = KeyPair::new();
    let (token, _) = mint(
        &key,
        &MintRequest {
            now: t0() + secs(120),
            ..request()
        },
    )
    .unwrap();
    let err = verify(&token, &keys(&key), "support", t0()).unwrap_err();
    assert!(matches!(err, TokenError::NotYetValid { .. }), "{err}");
    // Within the allowed clock skew it is fine.
    verify(&token, &keys(&key), "support", t0() + secs(61)).unwrap();
}

#[test]
fn not_before_is_enforced() {
    let key = KeyPair::new();
    let (token, _) = mint(
        &key,
        &MintRequest {
            not_before: Some(t0() + secs(300)),
            ..request()
        },
    )
    .unwrap();
    let err = verify(&token, &keys(&key), "support", t0()).unwrap_err();
    assert!(matches!(err, TokenError::NotYetValid { .. }), "{err}");
    let v = verify(&token, &keys(&key), "support", t0() + secs(300)).unwrap();
    v.authorize(None, "select", t0() + secs(300)).unwrap();
    // The authority check itself refuses earlier times.
    assert!(matches!(
        v.authorize(None, "select", t0() + secs(299)),
        Err(TokenError::Denied { .. })
    ));
}

#[test]
fn wrong_agent_is_refused() {
    let (key, token, _) = minted();
    match verify(&token, &keys(&key), "billing", t0()).unwrap_err() {
        TokenError::WrongAgent { expected, found } => {
            assert_eq!(expected, "billing");
            assert_eq!(found, "support");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let key = KeyPair::new();
    let junk = "#".repeat(MAX_TOKEN_BYTES + 1);
    match verify(&junk, &keys(&key), "support", t0()).unwrap_err() {
        TokenError::TooLarge { length, limit } => {
            assert_eq!(length, MAX_TOKEN_BYTES + 1);
            assert_eq!(limit, MAX_TOKEN_BYTES);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn corrupted_and_truncated_tokens_are_refused() {
    let (key, token, _) = minted();
    let keys = keys(&key);
    for i in [0, 5, token.len() / 3, token.len() / 2, token.len() - 10] {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let corrupted = String::from_utf8(bytes).unwrap();
        let err = verify(&corrupted, &keys, "support", t0()).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed(_) | TokenError::Signature(_)),
            "flip at {i}: {err}"
        );
    }
    for len in [0, 1, 10, token.len() / 2, token.len() - 1] {
        let err = verify(&token[..len], &keys, "support", t0()).unwrap_err();
        assert!(
            matches!(err, TokenError::Malformed(_) | TokenError::Signature(_)),
            "truncated to {len}: {err}"
        );
    }
    let err = verify("not a token!", &keys, "support", t0()).unwrap_err();
    assert!(matches!(err, TokenError::Malformed(_)), "{err}");
}

#[test]
fn attenuated_tokens_narrow_access() {
    let (key, token, _) = minted();
    let narrowed = narrow(&token, Some(&["orders"]), Some(&["select"]));
    let v = verify(&narrowed, &keys(&key), "support", t0()).unwrap();
    assert_eq!(v.claims.chain.len(), 1);
    assert!(v.claims.chain[0].contains("public.orders"));
    assert_eq!(v.claims.revocation_ids.len(), 2);
    let now = t0() + secs(1);
    v.authorize(Some("public.orders"), "select", now).unwrap();
    v.authorize(None, "select", now).unwrap();
    for (table, op) in [
        (Some("public.refunds"), "select"),
        (Some("public.orders"), "update"),
        (None, "delete"),
    ] {
        match v.authorize(table, op, now) {
            Err(TokenError::Denied { reason }) => {
                assert!(reason.contains("block 1"), "{reason}")
            }
            other => panic!("{table:?} {op}: {other:?}"),
        }
    }
}

#[test]
fn attenuated_ttl_is_enforced() {
    let (key, token, _) = minted();
    let narrowed = attenuate(
        &token,
        &Attenuation {
            tables: None,
            operations: None,
            ttl: Some(secs(60)),
            now: t0(),
        },
    )
    .unwrap();
    let v = verify(&narrowed, &keys(&key), "support", t0()).unwrap();
    // The authority expiry is unchanged; the block's check is stricter.
    assert_eq!(v.claims.expires_at, t0() + secs(900));
    v.authorize(Some("public.orders"), "select", t0() + secs(59))
        .unwrap();
    assert!(matches!(
        v.authorize(Some("public.orders"), "select", t0() + secs(60)),
        Err(TokenError::Denied { .. })
    ));
    // A longer attenuated ttl does not extend the token.
    let longer = attenuate(
        &token,
        &Attenuation {
            tables: None,
            operations: None,
            ttl: Some(secs(3600)),
            now: t0(),
        },
    )
    .unwrap();
    let v = verify(&longer, &keys(&key), "support", t0()).unwrap();
    assert!(matches!(
        v.authorize(None, "select", t0() + secs(1000)),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn attenuation_cannot_widen() {
    let (key, token, _) = minted();
    let narrowed = narrow(&token, Some(&["orders"]), None);
    let widened = narrow(&narrowed, Some(&["orders", "refunds"]), None);
    let v = verify(&widened, &keys(&key), "support", t0()).unwrap();
    assert_eq!(v.claims.chain.len(), 2);
    v.authorize(Some("public.orders"), "insert", t0()).unwrap();
    assert!(matches!(
        v.authorize(Some("public.refunds"), "select", t0()),
        Err(TokenError::Denied { .. })
    ));
}

#[test]
fn later_blocks_cannot_satisfy_earlier_checks() {
    let (key, token, _) = minted();
    let narrowed = narrow(&token, Some(&["orders"]), Some(&["select"]));
    let bytes = super::super::decode(&narrowed).unwrap();
    let sneaky = UnverifiedBiscuit::from(&bytes)
        .unwrap()
        .append(
            BlockBuilder::new()
                .code(
                    r#"no_table(true); table("public.orders"); operation("select");
                        time(1970-01-01T00:00:00Z);"#,
                )
                .unwrap(),
        )
        .unwrap();
    let sneaky = super::super::encode(&sneaky.to_vec().unwrap()).unwrap();
    let v = verify(&sneaky, &keys(&key), "support", t0()).unwrap();
    v.authorize(Some("public.orders"), "select", t0()).unwrap();
    assert!(matches!(
        v.authorize(Some("public.refunds"), "select", t0()),
        Err(TokenError::Denied { .. })
    ));
    assert!(matches!(
        v.authorize(Some("public.orders"), "delete", t0()),
        Err(TokenError::Denied { .. })
    ));
    assert!(matches!(
        v.authorize(None, "select", t0() + secs(900)),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn appended_blocks_cannot_forge_claims() {
    let (key, token, _) = minted();
    let bytes = super::super::decode(&token).unwrap();
    let forged = UnverifiedBiscuit::from(&bytes)
            .unwrap()
            .append(
                BlockBuilder::new()
                    .code(r#"agent("admin"); subject("root"); expires_at(2100-01-01T00:00:00Z); claim("region", "us");"#)
                    .unwrap(),
            )
            .unwrap();
    let forged = super::super::encode(&forged.to_vec().unwrap()).unwrap();
    let err = verify(&forged, &keys(&key), "admin", t0()).unwrap_err();
    assert!(matches!(err, TokenError::WrongAgent { .. }), "{err}");
    let v = verify(&forged, &keys(&key), "support", t0()).unwrap();
    assert_eq!(v.claims.subject, "user-42");
    assert_eq!(v.claims.get("region"), Some("eu"));
    assert_eq!(v.claims.expires_at, t0() + secs(900));
}

#[test]
fn arbitrary_holder_checks_are_enforced() {
    let (key, token, _) = minted();
    let bytes = super::super::decode(&token).unwrap();
    let narrowed = UnverifiedBiscuit::from(&bytes)
        .unwrap()
        .append(
            BlockBuilder::new()
                .code(r#"check if operation($op), $op != "delete";"#)
                .unwrap(),
        )
        .unwrap();
    let narrowed = super::super::encode(&narrowed.to_vec().unwrap()).unwrap();
    let v = verify(&narrowed, &keys(&key), "support", t0()).unwrap();
    v.authorize(Some("public.orders"), "update", t0()).unwrap();
    assert!(matches!(
        v.authorize(Some("public.orders"), "delete", t0()),
        Err(TokenError::Denied { .. })
    ));
}

#[test]
fn pathological_rules_hit_the_limits() {
    let (key, token, _) = minted();
    let facts: String = (0..60).map(|i| format!("n({i});")).collect();
    let bytes = super::super::decode(&token).unwrap();
    let heavy = UnverifiedBiscuit::from(&bytes)
        .unwrap()
        .append(
            BlockBuilder::new()
                .code(format!("{facts} pair($x, $y) <- n($x), n($y);"))
                .unwrap(),
        )
        .unwrap();
    let heavy = super::super::encode(&heavy.to_vec().unwrap()).unwrap();
    match verify(&heavy, &keys(&key), "support", t0()) {
        Err(TokenError::Denied { reason }) => {
            assert!(reason.contains("limits"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn revocation_by_token_id_and_block_id() {
    let (key, token, id) = minted();
    let narrowed = narrow(&token, None, Some(&["select"]));
    let v = verify(&narrowed, &keys(&key), "support", t0()).unwrap();
    assert!(!v.is_revoked(&RevocationList::default()));

    let by_token_id = RevocationList::from_ids([id.as_str()]);
    assert!(v.is_revoked(&by_token_id));
    assert_eq!(v.revoked_by(&by_token_id), Some(id.as_str()));
    match v.ensure_not_revoked(&by_token_id) {
        Err(TokenError::Revoked { id: found }) => assert_eq!(found, id),
        other => panic!("{other:?}"),
    }
    v.ensure_not_revoked(&RevocationList::default()).unwrap();

    // Revoking the appended block kills that attenuated token only.
    let block_id = v.claims.revocation_ids[1].clone();
    let by_block = RevocationList::from_ids([block_id.as_str()]);
    assert!(v.is_revoked(&by_block));
    let original = verify(&token, &keys(&key), "support", t0()).unwrap();
    assert!(!original.is_revoked(&by_block));

    // Revoking the authority block kills every descendant.
    let root = RevocationList::from_ids([original.claims.revocation_ids[0].as_str()]);
    assert!(v.is_revoked(&root));
}

#[test]
fn verified_tokens_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<VerifiedToken>();
}
