//! Creating tokens ([`mint`]), narrowing them ([`attenuate`]) and dumping
//! them unverified ([`inspect`]).

use super::{
    B64, OPERATIONS, RESERVED_CLAIMS, TokenError, add_time, date_term, decode, describe, encode,
    epoch_secs, hex,
};
use base64::Engine as _;
use biscuit_auth::builder::{BlockBuilder, Term, fact, string};
use biscuit_auth::{Biscuit, KeyPair, UnverifiedBiscuit};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// What a new token says about its holder.
#[derive(Debug, Clone)]
pub struct MintRequest {
    /// The agent (rules file) the token logs in as; checked by [`super::verify`].
    pub agent: String,
    /// On whose behalf the agent acts (`{{claims.subject}}`).
    pub subject: String,
    pub tenant: Option<String>,
    /// Custom claims (`{{claims.NAME}}`). Names are `[A-Za-z0-9_.-]+` and
    /// not one of [`RESERVED_CLAIMS`].
    pub claims: BTreeMap<String, String>,
    /// Lifetime from `now`; at least one second.
    pub ttl: Duration,
    pub now: SystemTime,
    /// The token is refused before this time.
    pub not_before: Option<SystemTime>,
}

/// Narrowing appended by [`attenuate`]; `None` leaves that aspect alone.
#[derive(Debug, Clone)]
pub struct Attenuation {
    /// Tables the token may touch; unqualified names mean `public.NAME`.
    /// Statements touching no table stay allowed.
    pub tables: Option<Vec<String>>,
    /// Operations the token may perform (see [`OPERATIONS`]).
    pub operations: Option<Vec<String>>,
    /// New, shorter lifetime from `now` (it can never extend the token).
    pub ttl: Option<Duration>,
    pub now: SystemTime,
}

fn biscuit_error(context: &str) -> impl Fn(biscuit_auth::error::Token) -> TokenError + '_ {
    move |e| TokenError::Malformed(format!("{context}: {}", describe(&e)))
}

fn invalid(message: String) -> TokenError {
    TokenError::Invalid(message)
}

fn check_text(what: &str, value: &str) -> Result<(), TokenError> {
    if value.is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} {value:?} contains control characters"
        )));
    }
    Ok(())
}

fn check_claim_name(name: &str) -> Result<(), TokenError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if name.is_empty() || !ok_chars {
        return Err(invalid(format!(
            "claim name {name:?} must be made of letters, digits, '_', '.' and '-'"
        )));
    }
    if RESERVED_CLAIMS.contains(&name) {
        return Err(invalid(format!("claim name {name:?} is reserved")));
    }
    Ok(())
}

/// Creates a token signed with `key`. Returns (base64url token, token id);
/// the token id is 16 random bytes in hex.
pub fn mint(key: &KeyPair, req: &MintRequest) -> Result<(String, String), TokenError> {
    check_text("agent", &req.agent)?;
    check_text("subject", &req.subject)?;
    if let Some(tenant) = &req.tenant {
        check_text("tenant", tenant)?;
    }
    for (name, value) in &req.claims {
        check_claim_name(name)?;
        check_text(&format!("claim {name:?}"), value)?;
    }
    if req.ttl < Duration::from_secs(1) {
        return Err(invalid(format!(
            "ttl {:?} is shorter than one second",
            req.ttl
        )));
    }
    let issued_at = date_term(req.now, "now")?;
    let expires = add_time(req.now, req.ttl, "the expiry")?;
    let expires_secs = epoch_secs(expires, "the expiry")?;
    let expires_at = Term::Date(expires_secs);

    let token_id = crate::hex::random::<16>();
    let mut facts = vec![
        fact("token_id", &[string(&token_id)]),
        fact("agent", &[string(&req.agent)]),
        fact("subject", &[string(&req.subject)]),
    ];
    if let Some(tenant) = &req.tenant {
        facts.push(fact("tenant", &[string(tenant)]));
    }
    for (name, value) in &req.claims {
        facts.push(fact("claim", &[string(name), string(value)]));
    }
    facts.push(fact("issued_at", &[issued_at]));
    facts.push(fact("expires_at", std::slice::from_ref(&expires_at)));

    let mut params = HashMap::from([("expires_at".to_owned(), expires_at)]);
    let check = match req.not_before {
        Some(not_before) => {
            if epoch_secs(not_before, "not_before")? >= expires_secs {
                return Err(invalid(format!(
                    "not_before {} is not before the expiry {}",
                    super::format_time(not_before),
                    super::format_time(expires)
                )));
            }
            let not_before = date_term(not_before, "not_before")?;
            facts.push(fact("not_before", std::slice::from_ref(&not_before)));
            params.insert("not_before".to_owned(), not_before);
            "check if time($t), $t < {expires_at}, $t >= {not_before}"
        }
        None => "check if time($t), $t < {expires_at}",
    };

    let mut builder = Biscuit::builder();
    for f in facts {
        builder = builder
            .fact(f)
            .map_err(biscuit_error("building the token"))?;
    }
    let biscuit = builder
        .code_with_params(check, params, HashMap::new())
        .and_then(|b| b.build(key))
        .map_err(biscuit_error("building the token"))?;
    let bytes = biscuit
        .to_vec()
        .map_err(biscuit_error("serializing the token"))?;
    Ok((encode(&bytes)?, token_id))
}

/// `orders` → `public.orders`, `Sales.Orders` → `sales.orders`.
fn normalize_table(name: &str) -> Result<String, TokenError> {
    let lower = name.trim().to_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    let bad = || invalid(format!("invalid table name {name:?}"));
    if parts.iter().any(|p| p.is_empty()) || lower.chars().any(char::is_control) {
        return Err(bad());
    }
    match parts.len() {
        1 => Ok(format!("public.{lower}")),
        2 => Ok(lower),
        _ => Err(bad()),
    }
}

fn normalize_operation(op: &str) -> Result<String, TokenError> {
    let lower = op.trim().to_lowercase();
    if OPERATIONS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(invalid(format!(
            "unknown operation {op:?} (expected one of {})",
            OPERATIONS.join(", ")
        )))
    }
}

fn string_array(items: BTreeSet<String>) -> Term {
    Term::Array(items.iter().map(|s| string(s)).collect())
}

/// The block [`attenuate`] appends.
fn attenuation_block(a: &Attenuation) -> Result<BlockBuilder, TokenError> {
    let mut source = Vec::new();
    let mut params = HashMap::new();
    if let Some(tables) = &a.tables {
        let tables = tables
            .iter()
            .map(|t| normalize_table(t))
            .collect::<Result<BTreeSet<_>, _>>()?;
        params.insert("tables".to_owned(), string_array(tables));
        source.push("check if table($t), {tables}.contains($t) or no_table(true);");
    }
    if let Some(operations) = &a.operations {
        let operations = operations
            .iter()
            .map(|o| normalize_operation(o))
            .collect::<Result<BTreeSet<_>, _>>()?;
        params.insert("operations".to_owned(), string_array(operations));
        source.push("check if operation($op), {operations}.contains($op);");
    }
    if let Some(ttl) = a.ttl {
        let expires = add_time(a.now, ttl, "the attenuated expiry")?;
        params.insert(
            "expires_at".to_owned(),
            date_term(expires, "the attenuated expiry")?,
        );
        source.push("check if time($t), $t < {expires_at};");
    }
    if source.is_empty() {
        return Err(invalid(
            "the attenuation restricts nothing (give tables, operations or a ttl)".into(),
        ));
    }
    BlockBuilder::new()
        .code_with_params(source.join("\n"), params, HashMap::new())
        .map_err(biscuit_error("building the attenuation block"))
}

/// Appends a block of checks (no key needed; the holder can only narrow).
/// The token's signature is not checked here; [`super::verify`] checks the
/// whole chain.
pub fn attenuate(token: &str, a: &Attenuation) -> Result<String, TokenError> {
    let block = attenuation_block(a)?;
    let bytes = decode(token)?;
    let unverified = UnverifiedBiscuit::from(&bytes).map_err(biscuit_error("decoding"))?;
    let narrowed = unverified
        .append(block)
        .map_err(biscuit_error("appending the block"))?;
    let bytes = narrowed
        .to_vec()
        .map_err(biscuit_error("serializing the token"))?;
    encode(&bytes)
}

/// The value of `name("…")` or `name(<date>)` among printed facts.
fn printed_fact<'a>(source: &'a str, name: &str) -> Option<&'a str> {
    source.lines().find_map(|line| {
        let inner = line
            .trim()
            .strip_suffix(';')?
            .strip_prefix(name)?
            .strip_prefix('(')?
            .strip_suffix(')')?;
        Some(
            inner
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(inner),
        )
    })
}

/// Unverified human-readable dump: authority facts and every block's
/// checks, token id, expiry, revocation ids. The signature is NOT checked.
pub fn inspect(token: &str) -> Result<String, TokenError> {
    let bytes = decode(token)?;
    let unverified = UnverifiedBiscuit::from(&bytes).map_err(biscuit_error("decoding"))?;
    let mut blocks = Vec::with_capacity(unverified.block_count());
    for i in 0..unverified.block_count() {
        blocks.push(
            unverified
                .print_block_source(i)
                .map_err(biscuit_error("printing a block"))?,
        );
    }
    let authority = blocks.first().map(String::as_str).unwrap_or_default();
    let field = |name: &str| printed_fact(authority, name).unwrap_or("(none)");

    let mut out = String::new();
    let _ = writeln!(out, "UNVERIFIED token (the signature was not checked)");
    let _ = writeln!(out, "token id:    {}", field("token_id"));
    let _ = writeln!(out, "agent:       {}", field("agent"));
    let _ = writeln!(out, "subject:     {}", field("subject"));
    if let Some(tenant) = printed_fact(authority, "tenant") {
        let _ = writeln!(out, "tenant:      {tenant}");
    }
    let _ = writeln!(out, "issued at:   {}", field("issued_at"));
    if let Some(not_before) = printed_fact(authority, "not_before") {
        let _ = writeln!(out, "not before:  {not_before}");
    }
    let _ = writeln!(out, "expires at:  {}", field("expires_at"));
    if let Some(id) = unverified.root_key_id() {
        let _ = writeln!(out, "root key id: {id}");
    }
    let _ = writeln!(out, "size:        {} bytes", B64.encode(&bytes).len());
    let _ = writeln!(out, "revocation ids:");
    for (i, id) in unverified.revocation_identifiers().iter().enumerate() {
        let _ = writeln!(out, "  block {i}: {}", hex(id));
    }
    for (i, source) in blocks.iter().enumerate() {
        let title = if i == 0 { " (authority)" } else { "" };
        let _ = writeln!(out, "block {i}{title}:");
        if source.trim().is_empty() {
            let _ = writeln!(out, "  (empty)");
        }
        for line in source.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    Ok(out)
}

/// `postgres://AGENT:TOKEN@HOST:PORT/DATABASE`, with the agent and database
/// percent-encoded and IPv6 hosts bracketed.
pub fn connection_string(
    agent: &str,
    token: &str,
    host: &str,
    port: u16,
    database: &str,
) -> String {
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!(
        "postgres://{}:{}@{host}:{port}/{}",
        percent_encode(agent),
        percent_encode(token),
        percent_encode(database)
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn request(now: SystemTime) -> MintRequest {
        MintRequest {
            agent: "support".into(),
            subject: "user-42".into(),
            tenant: Some("acme".into()),
            claims: BTreeMap::from([("region".to_owned(), "eu".to_owned())]),
            ttl: Duration::from_secs(900),
            now,
            not_before: None,
        }
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn mint_rejects_bad_requests() {
        let key = KeyPair::new();
        let bad = [
            MintRequest {
                agent: String::new(),
                ..request(now())
            },
            MintRequest {
                subject: "a\nb".into(),
                ..request(now())
            },
            MintRequest {
                tenant: Some(String::new()),
                ..request(now())
            },
            MintRequest {
                claims: BTreeMap::from([("subject".to_owned(), "x".to_owned())]),
                ..request(now())
            },
            MintRequest {
                claims: BTreeMap::from([("a b".to_owned(), "x".to_owned())]),
                ..request(now())
            },
            MintRequest {
                ttl: Duration::from_millis(500),
                ..request(now())
            },
            MintRequest {
                not_before: Some(now() + Duration::from_secs(900)),
                ..request(now())
            },
            MintRequest {
                now: UNIX_EPOCH - Duration::from_secs(5),
                ..request(now())
            },
        ];
        for req in bad {
            let err = mint(&key, &req).unwrap_err();
            assert!(matches!(err, TokenError::Invalid(_)), "{req:?}: {err}");
        }
    }

    #[test]
    fn minted_token_ids_are_random_hex() {
        let key = KeyPair::new();
        let (t1, id1) = mint(&key, &request(now())).unwrap();
        let (t2, id2) = mint(&key, &request(now())).unwrap();
        assert_ne!(id1, id2);
        assert_ne!(t1, t2);
        assert_eq!(id1.len(), 32);
        assert!(id1.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(
            t1.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn table_and_operation_names_are_normalised() {
        assert_eq!(normalize_table("orders").unwrap(), "public.orders");
        assert_eq!(normalize_table(" Sales.Orders ").unwrap(), "sales.orders");
        for bad in ["", ".orders", "a.b.c", "public.", "a\u{0}b"] {
            assert!(normalize_table(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_operation("SELECT").unwrap(), "select");
        assert!(normalize_operation("selekt").is_err());
    }

    #[test]
    fn attenuation_must_restrict_something() {
        let key = KeyPair::new();
        let (token, _) = mint(&key, &request(now())).unwrap();
        let nothing = Attenuation {
            tables: None,
            operations: None,
            ttl: None,
            now: now(),
        };
        assert!(matches!(
            attenuate(&token, &nothing),
            Err(TokenError::Invalid(_))
        ));
        let bad_op = Attenuation {
            operations: Some(vec!["drop".into()]),
            ..nothing
        };
        assert!(matches!(
            attenuate(&token, &bad_op),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn attenuation_block_prints_the_documented_checks() {
        let key = KeyPair::new();
        let (token, id) = mint(&key, &request(now())).unwrap();
        let narrowed = attenuate(
            &token,
            &Attenuation {
                tables: Some(vec!["orders".into(), "sales.Refunds".into()]),
                operations: Some(vec!["select".into()]),
                ttl: Some(Duration::from_secs(300)),
                now: now(),
            },
        )
        .unwrap();
        let text = inspect(&narrowed).unwrap();
        assert!(text.starts_with("UNVERIFIED"), "{text}");
        assert!(text.contains(&format!("token id:    {id}")), "{text}");
        assert!(text.contains("agent:       support"), "{text}");
        assert!(text.contains("tenant:      acme"), "{text}");
        assert!(text.contains("expires at:  2023-11-14T22:28:20Z"), "{text}");
        assert!(text.contains("claim(\"region\", \"eu\");"), "{text}");
        assert!(
            text.contains("check if time($t), $t < 2023-11-14T22:28:20Z;"),
            "{text}"
        );
        assert!(
            text.contains(
                "check if table($t), [\"public.orders\", \"sales.refunds\"].contains($t) or no_table(true);"
            ),
            "{text}"
        );
        assert!(
            text.contains("check if operation($op), [\"select\"].contains($op);"),
            "{text}"
        );
        assert!(
            text.contains("check if time($t), $t < 2023-11-14T22:18:20Z;"),
            "{text}"
        );
        assert!(text.contains("block 1:"), "{text}");
        assert!(text.contains("  block 1: "), "{text}");
    }

    #[test]
    fn inspect_rejects_garbage() {
        assert!(matches!(inspect("AAAA"), Err(TokenError::Malformed(_))));
        assert!(matches!(
            inspect(&"A".repeat(super::super::MAX_TOKEN_BYTES + 4)),
            Err(TokenError::TooLarge { .. })
        ));
    }

    #[test]
    fn connection_strings_are_escaped() {
        assert_eq!(
            connection_string("support", "abc-_", "127.0.0.1", 6432, "shop"),
            "postgres://support:abc-_@127.0.0.1:6432/shop"
        );
        assert_eq!(
            connection_string("a b@c", "t", "::1", 5432, "my db"),
            "postgres://a%20b%40c:t@[::1]:5432/my%20db"
        );
    }
}
