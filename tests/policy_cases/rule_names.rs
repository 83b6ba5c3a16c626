//! The rule a denial, a row limit or a write cap names in its DETAIL.

use super::*;

/// The rule a denial names in its DETAIL (issue 12, "What the agent
/// reads"): the key that decided, in its file relative to the rules
/// directory, never the server's path; table-level rules by their own key
/// rather than the agent's.
#[test]
fn denials_name_the_rule_that_applied() {
    use actgate::policy::{StaticClaims, Verdict};
    let claims = StaticClaims(
        [("customer_id".to_string(), "42".to_string())]
            .into_iter()
            .collect(),
    );
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            A,
            "SELECT email FROM customers",
            "column_denied",
            "analytics.toml: tables.customers.columns",
        ),
        (
            A,
            "SELECT created_by FROM refunds",
            "column_denied",
            "analytics.toml: tables.refunds.columns",
        ),
        (
            S,
            "SELECT marketing_opt_in FROM customers",
            "column_denied",
            "support-desk.toml: tables.customers.deny_columns",
        ),
        (
            S,
            "UPDATE orders SET total_cents = 0 WHERE id = 1",
            "column_denied",
            "support-desk.toml: tables.orders.write_columns",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents) VALUES (1, 90000)",
            "value_limit",
            "support-desk.toml: tables.refunds.limits.amount_cents",
        ),
        (
            S,
            "INSERT INTO products (id) VALUES (1)",
            "operation_not_allowed",
            "support-desk.toml: tables.products.operations",
        ),
        (
            "scoped",
            "SELECT id FROM orders",
            "scope_missing",
            "scoped.toml: tables.orders.scope.customer_id",
        ),
        (
            "scoped",
            "SELECT id FROM orders WHERE customer_id = 7",
            "scope_violation",
            "scoped.toml: tables.orders.scope.customer_id",
        ),
        (
            "scoped",
            "UPDATE orders SET status = 'lost' WHERE customer_id = 42",
            "value_limit",
            "scoped.toml: tables.orders.limits.status",
        ),
        (
            A,
            "DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
            "analytics.toml: policy.statements",
        ),
        (
            A,
            "SELECT * FROM staff_users",
            "table_denied",
            "analytics.toml: deny.tables",
        ),
        (
            A,
            "SELECT * FROM pg_authid",
            "credential_catalog",
            "builtin.credential_catalogs",
        ),
        (
            A,
            "SET search_path = other",
            "setting_pinned",
            "builtin.pinned_settings",
        ),
        (A, "selec 1", "parse_error", "builtin.analysis"),
        // An unknown table and a known one without a rule are refused
        // alike: nothing tells whether it exists.
        (
            "limited",
            "SELECT * FROM customers",
            "table_not_allowed",
            "default_deny",
        ),
        (
            "limited",
            "SELECT * FROM no_such_table",
            "table_not_allowed",
            "default_deny",
        ),
    ];
    let mut failures = Vec::new();
    for (agent, sql, reason, rule) in cases {
        let got = match common::policy::verdict_with(agent, sql, &Default::default(), Some(&claims))
        {
            Verdict::Allow => "allow".to_owned(),
            Verdict::Deny(d) => {
                assert!(!d.rule.contains('/'), "[{agent}] {sql}: {}", d.rule);
                assert_eq!(
                    d.detail(),
                    format!("reason: {}; rule: {}", d.reason, d.rule)
                );
                format!("{} ({})", d.reason, d.rule)
            }
        };
        if !reason.split('|').any(|r| got == format!("{r} ({rule})")) {
            failures.push(format!(
                "  [{agent}] {sql}\n      expected {reason} ({rule}), got {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Unknown and unlisted tables: the same words, but for the name.
    let refusal = |sql: &str| match common::policy::verdict("limited", sql) {
        Verdict::Deny(d) => (d.message, d.hint),
        Verdict::Allow => panic!("{sql} allowed"),
    };
    let (known, known_hint) = refusal("SELECT * FROM customers");
    let (unknown, unknown_hint) = refusal("SELECT * FROM no_such_table");
    assert_eq!(known.replace("customers", "no_such_table"), unknown);
    assert_eq!(known_hint, unknown_hint);
}

/// Row limits and write caps name the rule that set them: a table's own
/// `max_rows` when it is the smallest (or ties), the agent's otherwise.
#[test]
fn row_limits_and_write_caps_name_their_rule() {
    use common::policy::{analysis, policy};
    let limit = |agent: &str, sql: &str| {
        let l = policy(agent)
            .row_limit(&analysis(sql), false)
            .unwrap()
            .unwrap_or_else(|| panic!("{sql}: no limit"));
        (l.max, l.rule.to_string())
    };
    for (agent, sql, max, rule) in [
        (
            "limited",
            "SELECT id FROM orders",
            5,
            "limited.toml: policy.max_rows",
        ),
        (
            "limited",
            "SELECT id FROM products",
            3,
            "limited.toml: tables.products.max_rows",
        ),
        (
            "limited",
            "SELECT o.id FROM orders o JOIN products p ON p.id = o.id",
            3,
            "limited.toml: tables.products.max_rows",
        ),
        (
            "limited-trunc",
            "SELECT id FROM products",
            3,
            "limited-trunc.toml: tables.products.max_rows",
        ),
        (
            "pipeline",
            "SELECT id FROM orders",
            5,
            "pipeline.toml: policy.max_rows",
        ),
    ] {
        assert_eq!(limit(agent, sql), (max, rule.to_owned()), "[{agent}] {sql}");
    }
    // In error mode a simple-protocol message with effects is refused by
    // the same rule.
    let d = policy("limited")
        .row_limit(&analysis("SELECT id FROM products; COMMIT"), true)
        .unwrap_err();
    assert_eq!(
        (d.reason, d.rule.as_str()),
        (
            "row_limit_side_effects",
            "limited.toml: tables.products.max_rows"
        )
    );
    // A single write with RETURNING is run so that it can be undone.
    let writer = policy("limited-writer");
    let l = writer
        .row_limit(
            &analysis("UPDATE orders SET notes = 'x' WHERE id < 9 RETURNING id"),
            true,
        )
        .unwrap()
        .expect("limited");
    assert!(l.undo, "{l:?}");
    let read = writer
        .row_limit(&analysis("SELECT id FROM orders"), true)
        .unwrap()
        .expect("limited");
    assert!(!read.undo);
    // Reads alone or in a block the message opens (and may commit) pass;
    // other transaction control, or a write among them, does not.
    let limited = policy("limited");
    for (sql, block) in [
        (
            "SELECT id FROM orders; SELECT id FROM products",
            Some(false),
        ),
        ("BEGIN; SELECT id FROM orders; COMMIT", Some(true)),
        ("BEGIN; SELECT id FROM orders", Some(true)),
        (
            "START TRANSACTION READ ONLY; SELECT id FROM orders; END",
            Some(true),
        ),
        ("SELECT id FROM orders; COMMIT", None),
        ("BEGIN; SELECT id FROM orders; ROLLBACK", None),
        ("BEGIN; SELECT id FROM orders; COMMIT; SELECT 1", None),
        ("SAVEPOINT a; SELECT id FROM orders", None),
        ("SELECT id FROM orders FOR UPDATE; SELECT 1", None),
    ] {
        let got = limited
            .row_limit(&analysis(sql), true)
            .map(|l| l.map(|l| l.block));
        match block {
            Some(b) => assert_eq!(got.ok().flatten(), Some(b), "{sql}"),
            None => assert_eq!(
                got.err().map(|d| d.reason),
                Some("row_limit_side_effects"),
                "{sql}"
            ),
        }
    }
    // Two statements, one of them a write, are still refused.
    let d = writer
        .row_limit(
            &analysis("UPDATE orders SET notes = 'x' WHERE id < 9 RETURNING id; SELECT 1"),
            true,
        )
        .unwrap_err();
    assert_eq!(d.reason, "row_limit_side_effects");
    let capped = policy("capped");
    let cap = capped
        .write_cap(&analysis("UPDATE orders SET notes = 'x' WHERE id = 1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (cap.max, &*cap.rule),
        (3, "capped.toml: tables.orders.max_affected_rows")
    );
    let d = capped
        .write_cap(&analysis(
            "UPDATE orders SET notes = 'x' WHERE id = 1; SELECT 1",
        ))
        .unwrap_err();
    assert_eq!(
        (d.reason, d.rule.as_str()),
        (
            "write_cap_multi_statement",
            "capped.toml: tables.orders.max_affected_rows"
        )
    );
}
