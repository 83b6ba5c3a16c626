//! Table-driven policy cases: (agent, SQL) → "allow" or the reason code of
//! the denial. Offline: the shipped rules, tests/rules and a hand-built
//! catalog of the demo shop (tests/common/policy.rs).

mod common;

use common::policy::outcome;

/// Runs a table and reports every mismatch at once.
fn check(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (agent, sql, expected) in cases {
        let got = outcome(agent, sql);
        if got != *expected {
            failures.push(format!(
                "  [{agent}] {sql}\n      expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const A: &str = "analytics";
const S: &str = "support-bot";

#[test]
fn basics() {
    check(&[
        (A, "SELECT 1", "allow"),
        (A, "select id, status from orders", "allow"),
        (A, "SELECT * FROM orders", "allow"),
        (A, "SELECT * FROM staff_users", "table_denied"),
        (A, "SELECT * FROM payment_methods", "table_denied"),
        (
            A,
            "DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (A, "SELECT * FROM customers", "column_denied"),
        (A, "SELECT id, country FROM customers", "allow"),
        (A, "SELECT email FROM customers", "column_denied"),
        (
            S,
            "UPDATE orders SET status = 'shipped' WHERE id = 1",
            "allow",
        ),
        (S, "UPDATE orders SET status = 'shipped'", "missing_where"),
        (
            S,
            "UPDATE orders SET total_cents = 0 WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (S, "SELECT pg_sleep(10)", "function_not_allowed"),
        (A, "SELECT * FROM pg_authid", "credential_catalog"),
        (A, "SELECT oid FROM pg_type", "allow"),
        (A, "selec 1", "parse_error"),
    ]);
}
