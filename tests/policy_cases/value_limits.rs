//! Value limits on INSERT values and UPDATE SET values.

use super::*;

/// Value limits (tests/rules/scoped.toml): orders.total_cents in [0, 50000],
/// orders.status in a set, customers.email at example.com; checked on
/// INSERT values and UPDATE SET values.
#[test]
fn value_limits() {
    use common::policy::outcome_with_claims;
    let c = [("customer_id", "42")];
    let w = "WHERE customer_id = 42";
    let cases: Vec<(String, &str)> = vec![
        (format!("UPDATE orders SET total_cents = 50000 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 0 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 50001 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = -1 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 5e4 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 5.00001e4 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 49999.99 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = '500' {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 'lots' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 500::int {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = total_cents + 1 {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = (SELECT 1) {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = NULL {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET status = 'paid' {w}"), "allow"),
        (format!("UPDATE orders SET status = 'shipped' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = 'PAID' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = lower('PAID') {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET notes = 'anything' {w}"), "allow"),
        (format!("UPDATE orders SET (status, total_cents) = ('paid', 60000) {w}"), "value_limit"),
        ("INSERT INTO orders (customer_id, shipping_country, total_cents) VALUES (42, 'US', 100)".into(), "allow"),
        ("INSERT INTO orders (customer_id, shipping_country, total_cents) VALUES (42, 'US', 60000)".into(), "value_limit"),
        ("INSERT INTO orders (customer_id, shipping_country, total_cents) VALUES (42, 'US', 1), (42, 'US', 50001)".into(), "value_limit"),
        ("INSERT INTO orders (customer_id, shipping_country, status) VALUES (42, 'US', 'refunded')".into(), "value_limit"),
        ("INSERT INTO orders (customer_id, shipping_country, total_cents) VALUES (42, 'US', 1 + 1)".into(), "value_unverifiable"),
        ("INSERT INTO orders (customer_id, shipping_country, total_cents) SELECT 42, 'US', 1".into(), "scope_unverifiable|value_unverifiable"),
        ("UPDATE customers SET email = 'ava@example.com' WHERE id = 1".into(), "allow"),
        ("UPDATE customers SET email = 'ava@EXAMPLE.COM' WHERE id = 1".into(), "allow"),
        ("UPDATE customers SET email = 'ava@evil.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'ava@example.com.evil.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = '@example.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'no-at-sign' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET full_name = 'x' WHERE id = 1".into(), "allow"),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in &cases {
        let got = outcome_with_claims("scoped", sql, &c);
        if !expected.split('|').any(|e| e == got) {
            failures.push(format!("  {sql}\n      expected {expected}, got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// support-bot may refund up to 500.00 (rules/support-bot.toml).
#[test]
fn support_bot_refund_limit() {
    check(&[
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 50000, 'late', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 50001, 'late', 'kpatel')",
            "value_limit",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 0, 'late', 'kpatel')",
            "value_limit",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 1e6, 'late', 'kpatel')",
            "value_limit",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'a', 'k'), (2, 99999, 'b', 'k')",
            "value_limit",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100 * 1000, 'late', 'kpatel')",
            "value_unverifiable",
        ),
    ]);
}

/// More value limits (tests/rules/scoped.toml): boundaries and spellings
/// of numbers, strings that are not numbers, NULL and expressions,
/// multi-row VALUES, UPDATE tuples, status membership and e-mail domains
/// (the domain is the part after the last `@`).
#[test]
fn more_value_limits() {
    use common::policy::outcome_with_claims;
    let c = [("customer_id", "42")];
    let w = "WHERE customer_id = 42";
    let ins = "INSERT INTO orders (customer_id, shipping_country, total_cents) VALUES";
    let cases: Vec<(String, &str)> = vec![
        // total_cents in [0, 50000].
        (format!("UPDATE orders SET total_cents = 50000.0 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 50000.0001 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = -0 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 5.0E+4 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 0.5e5 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 5e-1 {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = 5.0E+5 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 1e400 {w}"), "value_limit"),
        // Postgres rejects '5e4' as integer input; either outcome is safe.
        (format!("UPDATE orders SET total_cents = '5e4' {w}"), "allow|value_limit"),
        (format!("UPDATE orders SET total_cents = ' 500 ' {w}"), "allow"),
        (format!("UPDATE orders SET total_cents = '+50001' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = '-1' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = - 1 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = -1e-9 {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 'NaN' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = 'Infinity' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = '' {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = CAST(60000 AS int) {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = '60000'::int {w}"), "value_limit"),
        (format!("UPDATE orders SET total_cents = -(-5) {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = 50000 + 0 {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = abs(-1) {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = $1 {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET total_cents = DEFAULT {w}"), "value_unverifiable"),
        // 50000::numeric(1,-5) is 100000 in PostgreSQL 15 (negative scale
        // rounds to 10^5), and that is what gets written.
        (format!("UPDATE orders SET total_cents = 50000::numeric(1,-5) {w}"), "value_limit|value_unverifiable"),
        // UPDATE tuples.
        (format!("UPDATE orders SET (status, total_cents) = ('paid', 50000) {w}"), "allow"),
        (format!("UPDATE orders SET (total_cents, status) = (1, 'shipped') {w}"), "value_limit"),
        (format!("UPDATE orders SET (status, total_cents) = (SELECT 'paid', 1) {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET (notes, total_cents) = ('x', -5) {w}"), "value_limit"),
        // Multi-row and positional VALUES.
        (format!("{ins} (42, 'US', 0), (42, 'US', 50000), (42, 'US', 5e4)"), "allow"),
        (format!("{ins} (42, 'US', 0), (42, 'US', -1)"), "value_limit"),
        (format!("{ins} (42, 'US', 1), (42, 'US', NULL)"), "value_unverifiable"),
        (format!("{ins} (42, 'US', DEFAULT)"), "value_unverifiable"),
        ("INSERT INTO orders VALUES (DEFAULT, 42, 'paid', 50000, 'USD', 'US')".into(), "allow"),
        ("INSERT INTO orders VALUES (DEFAULT, 42, 'pending', 60000, 'USD', 'US')".into(), "value_limit"),
        ("INSERT INTO orders VALUES (DEFAULT, 42, 'shipped')".into(), "value_limit"),
        ("INSERT INTO orders (status, customer_id, shipping_country) VALUES ('paid', 42, 'US'), ('delivered', 42, 'US')".into(), "value_limit"),
        ("INSERT INTO orders (status, customer_id, shipping_country) VALUES ('paid', 42, 'US'), ('pending', 42, 'US'), ('cancelled', 42, 'US')".into(), "allow"),
        ("INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET total_cents = 60000 WHERE orders.customer_id = 42".into(), "value_limit"),
        ("INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET total_cents = excluded.total_cents WHERE orders.customer_id = 42".into(), "value_unverifiable"),
        // status: case-sensitive set membership.
        (format!("UPDATE orders SET status = 'pending' {w}"), "allow"),
        (format!("UPDATE orders SET status = 'cancelled' {w}"), "allow"),
        (format!("UPDATE orders SET status = 'Paid' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = 'paid ' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = '' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = 'refunded' {w}"), "value_limit"),
        (format!("UPDATE orders SET status = 'paid'::text {w}"), "allow"),
        (format!("UPDATE orders SET status = NULL {w}"), "value_unverifiable"),
        (format!("UPDATE orders SET status = 'pa' || 'id' {w}"), "value_unverifiable"),
        // email at example.com: the domain is the part after the last @.
        ("UPDATE customers SET email = 'a@sub.example.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'a@example.com.' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'A.B@Example.Com' WHERE id = 1".into(), "allow"),
        ("UPDATE customers SET email = 'a@b@example.com' WHERE id = 1".into(), "allow"),
        ("UPDATE customers SET email = 'a@example.com@evil.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'a@example.com ' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'a@' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = 'a@xexample.com' WHERE id = 1".into(), "value_limit"),
        ("UPDATE customers SET email = NULL WHERE id = 1".into(), "value_unverifiable"),
        ("UPDATE customers SET email = lower('A@example.com') WHERE id = 1".into(), "value_unverifiable"),
        ("UPDATE customers SET (full_name, email) = ('x', 'x@evil.com') WHERE id = 1".into(), "value_limit"),
        // varchar(10) truncates to 'a@evil.com' in PostgreSQL 15, and that
        // is what gets written.
        ("UPDATE customers SET email = 'a@evil.com@example.com'::varchar(10) WHERE id = 1".into(), "value_limit|value_unverifiable"),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in &cases {
        let got = outcome_with_claims("scoped", sql, &c);
        if !matches(expected, &got) {
            failures.push(format!("  {sql}\n      expected {expected}, got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
