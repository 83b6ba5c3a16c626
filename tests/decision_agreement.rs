//! One decision, in one place: the proxy, `actgate test`, `actgate explain`
//! and the policy case tables decide a simple-protocol message the same
//! way, because they all read the same `Policy::decide_query`. Each case
//! is decided by all four; they must agree with each other and with the
//! expected outcome.

mod common;

use actgate::policy::analyze::{AnalysisLimits, analyze};
use actgate::policy::names::Resolver;
use actgate::policy::{SessionState, Verdict};
use common::Proxy;

/// (agent, its secret, SQL sent as one simple Query, expected outcome)
const CASES: &[(&str, &str, &str, &str)] = &[
    // A write-capped UPDATE must be sent alone: the proxy refuses the
    // message, and so do the offline tools (explain used to say ALLOW).
    (
        "capped",
        "capped-secret",
        "UPDATE orders SET notes = 'agree' WHERE id = -1; SELECT 1",
        "write_cap_multi_statement",
    ),
    (
        "capped",
        "capped-secret",
        "UPDATE orders SET notes = 'agree' WHERE id = -1",
        "allow",
    ),
    (
        "capped",
        "capped-secret",
        "INSERT INTO orders (customer_id) VALUES (1)",
        "statement_class_denied",
    ),
    // Row limits in error mode: reads in one message can be failed after
    // the fact; a write with them cannot, nor a statement outside them.
    (
        "limited",
        "limited-secret",
        "SELECT id FROM products WHERE id < 0; SELECT id FROM orders WHERE id < 0",
        "allow",
    ),
    (
        "limited",
        "limited-secret",
        "SELECT id FROM products WHERE id < 0; DELETE FROM orders WHERE id < 0",
        "statement_class_denied",
    ),
    (
        "limited",
        "limited-secret",
        "SELECT id FROM products ORDER BY id LIMIT 2",
        "allow",
    ),
];

/// What the proxy answers `sql` with: "allow" or the DETAIL's reason.
async fn through_proxy(proxy: &Proxy, agent: (&str, &str), sql: &str) -> String {
    let client = proxy.connect(agent).await;
    match client.simple_query(sql).await {
        Ok(_) => "allow".into(),
        Err(e) => {
            let db = e
                .as_db_error()
                .unwrap_or_else(|| panic!("{sql}: expected a server error: {e}"));
            db.detail()
                .and_then(|d| d.strip_prefix("reason: "))
                .and_then(|d| d.split(';').next())
                .unwrap_or_else(|| panic!("{sql}: no actgate DETAIL: {db:?}"))
                .to_owned()
        }
    }
}

fn reason(verdict: Verdict) -> String {
    match verdict {
        Verdict::Allow => "allow".into(),
        Verdict::Deny(d) => d.reason.to_string(),
    }
}

/// What `actgate explain` prints as the reason ("allow" for ALLOW).
fn explained(agent: &str, sql: &str) -> String {
    let policy = common::policy::policy(agent);
    let catalog = common::policy::shop_catalog();
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: Some(&catalog),
        database: Some("shop"),
    };
    let analysis = analyze(sql, &resolver, AnalysisLimits::default());
    let text = actgate::policy::explain::explain(&policy, &analysis, Some(&catalog), None);
    if text.contains("verdict:  ALLOW") {
        return "allow".into();
    }
    text.lines()
        .find_map(|l| l.trim().strip_prefix("reason   "))
        .unwrap_or_else(|| panic!("{sql}: explain printed no verdict:\n{text}"))
        .trim()
        .to_owned()
}

/// What `actgate test` decides (the DBA's test runner).
fn tested(agent: &str, sql: &str) -> String {
    let policy = common::policy::policy(agent);
    let catalog = common::policy::shop_catalog();
    let search_path = vec!["public".to_string()];
    reason(actgate::dba::policy_tests::decide_query(
        &policy,
        sql,
        &search_path,
        Some(("shop", &catalog)),
        None,
    ))
}

#[tokio::test]
async fn the_proxy_and_every_offline_tool_decide_alike() {
    let proxy = Proxy::start().await;
    for &(agent, secret, sql, expected) in CASES {
        let proxy_says = through_proxy(&proxy, (agent, secret), sql).await;
        let tables_say = reason(common::policy::verdict_in(
            agent,
            sql,
            &SessionState::default(),
        ));
        assert_eq!(proxy_says, expected, "proxy, {agent}: {sql}");
        assert_eq!(tables_say, expected, "policy case tables, {agent}: {sql}");
        assert_eq!(tested(agent, sql), expected, "actgate test, {agent}: {sql}");
        assert_eq!(
            explained(agent, sql),
            expected,
            "actgate explain, {agent}: {sql}"
        );
    }
}
