//! What the agent reads when actgate refuses (issue 12): a parse failure
//! says actgate could not parse the statement (it may well be valid
//! PostgreSQL) and what plainer forms pass; DETAIL names the rule that
//! decided, in its file relative to the rules directory, and the audit log
//! names the same rule. Through the proxy, with tokio-postgres.

mod common;

use common::{ANALYTICS, Proxy};

const LIMITED: (&str, &str) = ("limited", "limited-secret");
const CAPPED: (&str, &str) = ("capped", "capped-secret");

/// SQLSTATE, message, DETAIL and HINT of a refusal.
fn refusal(e: &tokio_postgres::Error) -> (String, String, String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("expected a server error, got {e}"));
    (
        db.code().code().to_owned(),
        db.message().to_owned(),
        db.detail().unwrap_or_default().to_owned(),
        db.hint().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn a_parse_failure_says_actgate_could_not_parse_it_and_what_passes() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    // Valid PostgreSQL (adjacent string constants on separate lines are one
    // constant) that actgate's parser does not read. Simple and extended
    // protocol alike.
    let sql = "SELECT id FROM orders WHERE status = 'sh'\n'ipped'";
    let simple = client.simple_query(sql).await.unwrap_err();
    let extended = client.query(sql, &[]).await.unwrap_err();
    for e in [simple, extended] {
        let (code, message, detail, hint) = refusal(&e);
        assert_eq!(code, "42501");
        assert!(
            message.starts_with(
                "actgate denied this statement: PostgreSQL's parser accepts it, but actgate's SQL parser cannot read it"
            ),
            "{message}"
        );
        // Where the parser stopped, in its own words.
        assert!(message.contains("found: 'ipped'"), "{message}");
        assert_eq!(detail, "reason: parse_error; rule: builtin.analysis");
        assert!(!hint.contains("check the syntax"), "{hint}");
        assert!(
            hint.contains("plain SELECT, INSERT, UPDATE and DELETE in standard syntax pass"),
            "{hint}"
        );
    }
    // The session is still usable.
    client.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn invalid_sql_gets_postgresqls_own_syntax_error() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    let e = client
        .simple_query("SELEC id FROM orders")
        .await
        .unwrap_err();
    let (code, message, detail, hint) = refusal(&e);
    assert_eq!(code, "42501");
    assert_eq!(
        message,
        "actgate denied this statement: it is not valid PostgreSQL (PostgreSQL's own parser rejects it: syntax error at or near \"SELEC\")"
    );
    assert_eq!(detail, "reason: parse_error; rule: builtin.analysis");
    assert_eq!(
        hint,
        "correct the syntax at that position and send the statement again"
    );
    client.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn detail_names_the_rule_relative_to_the_rules_directory_and_the_audit_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let client = proxy.connect(ANALYTICS).await;
    let rules_dir = common::rules_dir().display().to_string();
    let e = client
        .simple_query("SELECT email FROM customers")
        .await
        .unwrap_err();
    let (_, _, detail, _) = refusal(&e);
    assert_eq!(
        detail,
        "reason: column_denied; rule: analytics.toml: tables.customers.columns"
    );
    assert!(!detail.contains(&rules_dir), "{detail}");
    let e = client
        .simple_query("SELECT * FROM pg_authid")
        .await
        .unwrap_err();
    let (_, _, detail, hint) = refusal(&e);
    assert_eq!(
        detail,
        "reason: credential_catalog; rule: builtin.credential_catalogs"
    );
    assert!(hint.starts_with("read pg_roles instead"), "{hint}");
    let e = client
        .simple_query("SET search_path = pg_catalog")
        .await
        .unwrap_err();
    let (_, _, detail, hint) = refusal(&e);
    assert_eq!(
        detail,
        "reason: setting_pinned; rule: builtin.pinned_settings"
    );
    assert!(hint.contains("qualify names with their schema"), "{hint}");

    let events = common::audit_events_when(&audit, |events| {
        events
            .iter()
            .filter(|e| e["event"] == "statement_blocked")
            .count()
            >= 3
    })
    .await;
    let rules: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "statement_blocked")
        .map(|e| e["rule"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        rules,
        [
            "analytics.toml: tables.customers.columns",
            "builtin.credential_catalogs",
            "builtin.pinned_settings"
        ]
    );
}

#[tokio::test]
async fn a_row_limit_names_the_table_rule_when_it_is_the_smaller() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    for (sql, rule) in [
        (
            "SELECT id FROM products",
            "limited.toml: tables.products.max_rows",
        ),
        ("SELECT id FROM orders", "limited.toml: policy.max_rows"),
    ] {
        // Extended and simple protocol.
        let extended = client.query(sql, &[]).await.unwrap_err();
        let simple = client.simple_query(sql).await.unwrap_err();
        for e in [extended, simple] {
            let (code, _, detail, _) = refusal(&e);
            assert_eq!(code, "42501");
            assert_eq!(
                detail,
                format!("reason: row_limit_exceeded; rule: {rule}"),
                "{sql}"
            );
        }
    }
}

#[tokio::test]
async fn a_write_cap_names_the_tables_max_affected_rows() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let customer: i64 = admin
        .query_one(
            "SELECT customer_id FROM orders GROUP BY customer_id HAVING count(*) > 3 ORDER BY customer_id LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // Over the cap: undone, whatever it wrote (it writes nothing new).
    let sql = format!("UPDATE orders SET notes = notes WHERE customer_id = {customer}");
    let simple = client.simple_query(&sql).await.unwrap_err();
    let extended = client
        .execute(
            "UPDATE orders SET notes = notes WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap_err();
    for e in [simple, extended] {
        let (_, _, detail, _) = refusal(&e);
        assert_eq!(
            detail,
            "reason: write_cap_exceeded; rule: capped.toml: tables.orders.max_affected_rows"
        );
    }
}
