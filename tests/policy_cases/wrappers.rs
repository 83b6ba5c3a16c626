//! Wrappers (cursors, COPY … TO STDOUT, EXPLAIN, PREPARE) are judged by
//! the statement they wrap.

use super::*;

/// Reads through driver features (issue 12, item 8): a cursor, COPY … TO
/// STDOUT, EXPLAIN without ANALYZE and PREPARE are judged by the statement
/// they wrap under the agent's rules, whatever that decides (SECURITY: a
/// wrapper must never launder a denied table, column or function).
#[test]
fn wrapped_statements_are_judged_as_themselves() {
    const WRAPPERS: &[&str] = &[
        "DECLARE c CURSOR FOR {}",
        "DECLARE \"c\" NO SCROLL CURSOR WITHOUT HOLD FOR {}",
        "DECLARE c CURSOR WITH HOLD FOR {}",
        "COPY ({}) TO STDOUT",
        "COPY ({}) TO STDOUT WITH (FORMAT csv, HEADER)",
        "EXPLAIN {}",
        "EXPLAIN VERBOSE {}",
        "EXPLAIN (FORMAT JSON, COSTS off) {}",
        "EXPLAIN (ANALYZE false) {}",
        "PREPARE p AS {}",
    ];
    let reads: &[(&str, &str)] = &[
        (A, "SELECT id, status FROM orders"),
        (A, "SELECT * FROM orders"),
        (A, "SELECT id, country FROM customers"),
        (A, "SELECT email FROM customers"),
        (A, "SELECT * FROM customers"),
        (
            A,
            "SELECT c.email FROM orders o JOIN customers c ON c.id = o.customer_id",
        ),
        (A, "SELECT created_by FROM refunds"),
        (A, "SELECT * FROM staff_users"),
        (A, "SELECT * FROM payment_methods"),
        (
            A,
            "SELECT id FROM orders WHERE customer_id IN (SELECT customer_id FROM payment_methods)",
        ),
        (A, "SELECT * FROM pg_authid"),
        (A, "SELECT rolpassword FROM pg_catalog.pg_authid"),
        (A, "SELECT pg_sleep(1)"),
        (A, "SELECT pg_read_file('/etc/passwd')"),
        (A, "SELECT * FROM audit.log"),
        (A, r#"SELECT * FROM "Orders""#),
        (A, "SELECT oid FROM pg_type"),
        (S, "SELECT id, status FROM orders"),
        (S, "SELECT marketing_opt_in FROM customers"),
        (S, "SELECT * FROM staff_users"),
        (T, "SELECT * FROM pg_authid"),
    ];
    let mut failures = Vec::new();
    let mut compared = 0;
    for (agent, inner) in reads {
        let want = outcome(agent, inner);
        for w in WRAPPERS {
            let sql = w.replace("{}", inner);
            let got = outcome(agent, &sql);
            compared += 1;
            if got != want {
                failures.push(format!(
                    "  [{agent}] {sql}\n      expected {want} (as {inner}), got {got}"
                ));
            }
        }
    }
    // Writes: EXPLAIN and PREPARE judge them as the write itself.
    let writes: &[(&str, &str)] = &[
        (A, "DELETE FROM orders WHERE id = 1"),
        (A, "UPDATE orders SET status = 'x' WHERE id = 1"),
        (A, "INSERT INTO orders (status) VALUES ('x')"),
        (S, "UPDATE orders SET status = 'shipped' WHERE id = 1"),
        (S, "UPDATE orders SET status = 'shipped'"),
        (S, "UPDATE orders SET total_cents = 0 WHERE id = 1"),
        (S, "DELETE FROM orders WHERE id = 1"),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents) VALUES (1, 60000)",
        ),
    ];
    for (agent, inner) in writes {
        let want = outcome(agent, inner);
        for w in ["EXPLAIN {}", "PREPARE p AS {}"] {
            let sql = w.replace("{}", inner);
            let got = outcome(agent, &sql);
            compared += 1;
            if got != want {
                failures.push(format!(
                    "  [{agent}] {sql}\n      expected {want} (as {inner}), got {got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Each relaxation of issue 12 item 8 and its still-refused neighbours.
#[test]
fn driver_reads_and_their_refused_neighbours() {
    const R: &str = "reads-denied";
    const P: &str = "plain-reads";
    check(&[
        // Named cursors (psycopg, SQLAlchemy stream_results).
        (A, "DECLARE c CURSOR FOR SELECT id FROM orders", "allow"),
        (
            A,
            r#"DECLARE "c" CURSOR WITHOUT HOLD FOR SELECT id, status FROM orders WHERE id > 10"#,
            "allow",
        ),
        (
            A,
            "DECLARE c CURSOR FOR SELECT email FROM customers",
            "column_denied",
        ),
        (
            A,
            "DECLARE c CURSOR FOR SELECT * FROM staff_users",
            "table_denied",
        ),
        (A, "FETCH 10 FROM c", "allow"),
        (A, "FETCH FORWARD 2000 FROM \"c\"", "allow"),
        (A, "FETCH ALL IN c", "allow"),
        (A, "CLOSE c", "allow"),
        (A, "FETCH 10 FROM c INTO t", "deny"),
        // A cursor over a write is not valid SQL, nor a data-modifying CTE
        // in one: refused whatever the parser makes of it.
        (
            A,
            "DECLARE c CURSOR FOR DELETE FROM orders RETURNING *",
            "deny",
        ),
        (
            A,
            "DECLARE c CURSOR FOR WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "statement_class_denied",
        ),
        (
            A,
            "DECLARE c CURSOR FOR SELECT * INTO stolen FROM orders",
            "deny",
        ),
        // COPY … TO STDOUT, of a table or a query.
        (A, "COPY orders TO STDOUT", "allow"),
        (A, "COPY orders (id, status) TO STDOUT", "allow"),
        (A, "COPY customers (id, country) TO STDOUT", "allow"),
        (A, "COPY customers TO STDOUT", "column_denied"),
        (A, "COPY customers (id, email) TO STDOUT", "column_denied"),
        (A, "COPY staff_users TO STDOUT", "table_denied"),
        (A, "COPY payment_methods (id) TO STDOUT", "table_denied"),
        (A, "COPY pg_authid TO STDOUT", "credential_catalog"),
        (A, "COPY audit.log TO STDOUT", "table_not_allowed"),
        (
            A,
            "COPY (SELECT * FROM payment_methods) TO STDOUT",
            "table_denied",
        ),
        (
            A,
            "COPY (SELECT email FROM customers) TO STDOUT",
            "column_denied",
        ),
        (
            A,
            "COPY (SELECT id FROM orders) TO STDOUT WITH (FORMAT binary)",
            "allow",
        ),
        // … but COPY FROM STDIN stays a write, and server-side ends never.
        (A, "COPY orders FROM STDIN", "statement_class_denied"),
        (S, "COPY refunds FROM STDIN", "statement_class_denied"),
        (A, "COPY orders TO '/tmp/orders'", "copy_server_side"),
        (
            A,
            "COPY (SELECT id FROM orders) TO PROGRAM 'id'",
            "copy_server_side",
        ),
        (A, "COPY orders TO STDOUT;\n1\n\\.\n", "deny"),
        // EXPLAIN without ANALYZE; EXPLAIN ANALYZE still needs `explain`.
        (A, "EXPLAIN SELECT id FROM orders", "allow"),
        (
            A,
            "EXPLAIN (FORMAT JSON, COSTS off) SELECT id FROM orders",
            "allow",
        ),
        (A, "EXPLAIN SELECT * FROM staff_users", "table_denied"),
        (A, "EXPLAIN SELECT email FROM customers", "column_denied"),
        (
            A,
            "EXPLAIN DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN ANALYZE SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (ANALYZE) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (analyze) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (ANALYZE true) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (ANALYZE on) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (ANALYZE 1) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (ANALYZE 'yes') SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "EXPLAIN (FORMAT JSON, ANALYZE, BUFFERS) SELECT id FROM orders",
            "statement_class_denied",
        ),
        (A, "EXPLAIN (ANALYZE off) SELECT id FROM orders", "allow"),
        (
            A,
            "EXPLAIN ANALYZE DELETE FROM orders",
            "statement_class_denied",
        ),
        (
            T,
            "EXPLAIN (ANALYZE) DELETE FROM orders WHERE id = 1",
            "allow",
        ),
        (A, "EXPLAIN CREATE TABLE x AS SELECT * FROM orders", "deny"),
        (
            A,
            "EXPLAIN SELECT * INTO stolen FROM orders",
            "statement_class_denied",
        ),
        // PREPARE / EXECUTE / DEALLOCATE.
        (A, "PREPARE p AS SELECT id FROM orders", "allow"),
        (
            A,
            "PREPARE p (int) AS SELECT id FROM orders WHERE id = $1",
            "allow",
        ),
        (
            A,
            "PREPARE p AS SELECT id FROM orders; EXECUTE p; DEALLOCATE p",
            "allow",
        ),
        (
            A,
            "PREPARE p (int) AS SELECT id FROM orders WHERE id = $1; EXECUTE p (7)",
            "allow",
        ),
        (
            A,
            "PREPARE p AS SELECT email FROM customers",
            "column_denied",
        ),
        (A, "PREPARE p AS SELECT * FROM staff_users", "table_denied"),
        (
            A,
            "PREPARE p AS DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "PREPARE p AS UPDATE orders SET status = 'x' WHERE id = 1",
            "statement_class_denied",
        ),
        (A, "EXECUTE p", "unknown_prepared_statement"),
        (A, "EXECUTE p (1)", "unknown_prepared_statement"),
        (
            A,
            "PREPARE p AS SELECT 1; EXECUTE q",
            "unknown_prepared_statement",
        ),
        (A, "PREPARE TRANSACTION 'x'", "deny"),
        (
            S,
            "PREPARE p AS UPDATE orders SET status = 'x' WHERE id = 1",
            "allow",
        ),
        (
            S,
            "PREPARE p AS UPDATE orders SET status = 'x'",
            "missing_where",
        ),
        (
            S,
            "PREPARE p AS DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        // A write cap or row limit cannot follow a statement into PREPARE
        // (its EXECUTE names no table) nor a table's row limit into FETCH.
        (
            "capped",
            "PREPARE p AS UPDATE orders SET status = 'x' WHERE id = 1",
            "runtime_control_prepare",
        ),
        (
            "capped",
            "PREPARE p AS DELETE FROM orders WHERE id = 1",
            "runtime_control_prepare",
        ),
        (
            "capped",
            "UPDATE orders SET status = 'x' WHERE id = 1",
            "allow",
        ),
        ("capped", "PREPARE p AS SELECT id FROM orders", "allow"),
        (
            "limited",
            "PREPARE p AS SELECT id FROM orders",
            "runtime_control_prepare",
        ),
        (
            "limited",
            "PREPARE p AS SELECT id FROM products",
            "runtime_control_prepare",
        ),
        (
            "limited",
            "DECLARE c CURSOR FOR SELECT id FROM orders",
            "allow",
        ),
        (
            "limited",
            "DECLARE c CURSOR FOR SELECT id FROM products",
            "row_limit_cursor",
        ),
        (
            "limited",
            "DECLARE c CURSOR FOR SELECT o.id FROM orders o JOIN products p ON p.id = o.id",
            "row_limit_cursor",
        ),
        ("limited", "SELECT id FROM products", "allow"),
        ("limited", "COPY products TO STDOUT", "allow"),
        ("limited", "EXPLAIN SELECT id FROM products", "allow"),
        ("limited", "FETCH ALL FROM c", "allow"),
        // A DBA turns each off explicitly; explicit deny wins.
        (R, "SELECT id FROM orders", "allow"),
        (
            R,
            "DECLARE c CURSOR FOR SELECT id FROM orders",
            "statement_class_denied",
        ),
        (R, "FETCH 10 FROM c", "statement_class_denied"),
        (R, "COPY orders TO STDOUT", "statement_class_denied"),
        (
            R,
            "COPY (SELECT id FROM orders) TO STDOUT",
            "statement_class_denied",
        ),
        (R, "EXPLAIN SELECT id FROM orders", "statement_class_denied"),
        (
            R,
            "PREPARE p AS SELECT id FROM orders",
            "statement_class_denied",
        ),
        (R, "EXECUTE p", "statement_class_denied"),
        // Releasing what the session holds stays allowed (pool resets).
        (R, "CLOSE c", "allow"),
        (R, "CLOSE ALL", "allow"),
        (R, "DEALLOCATE ALL", "allow"),
        // Without the driver profile each wrapper needs its own class.
        (P, "SELECT id FROM orders", "allow"),
        (
            P,
            "DECLARE c CURSOR FOR SELECT id FROM orders",
            "statement_class_denied",
        ),
        (P, "FETCH 10 FROM c", "statement_class_denied"),
        (P, "COPY orders TO STDOUT", "statement_class_denied"),
        (
            P,
            "COPY (SELECT id FROM orders) TO STDOUT",
            "statement_class_denied",
        ),
        (P, "EXPLAIN SELECT id FROM orders", "statement_class_denied"),
        (
            P,
            "PREPARE p AS SELECT id FROM orders",
            "statement_class_denied",
        ),
        (P, "EXECUTE p", "statement_class_denied"),
    ]);
}

/// Scoped tables (tests/rules/scoped.toml, customer 42): a cursor, COPY,
/// EXPLAIN or PREPARE over a scoped table needs the scope predicate like
/// the statement itself.
#[test]
fn wrapped_reads_of_scoped_tables_keep_their_scope() {
    let c42 = [("customer_id", "42")];
    let cases: &[(&str, &str)] = &[
        ("DECLARE c CURSOR FOR SELECT * FROM orders", "scope_missing"),
        (
            "DECLARE c CURSOR FOR SELECT * FROM orders WHERE customer_id = 42",
            "allow",
        ),
        (
            "DECLARE c CURSOR FOR SELECT * FROM orders WHERE customer_id = 43",
            "scope_violation",
        ),
        (
            "DECLARE c CURSOR FOR SELECT * FROM orders WHERE customer_id = 42 OR true",
            "scope_missing|scope_violation",
        ),
        ("COPY orders TO STDOUT", "scope_missing|scope_unverifiable"),
        (
            "COPY orders (id, status) TO STDOUT",
            "scope_missing|scope_unverifiable",
        ),
        ("COPY (SELECT * FROM orders) TO STDOUT", "scope_missing"),
        (
            "COPY (SELECT * FROM orders WHERE customer_id = 42) TO STDOUT",
            "allow",
        ),
        (
            "COPY (SELECT * FROM orders WHERE customer_id = 43) TO STDOUT",
            "scope_violation",
        ),
        ("EXPLAIN SELECT * FROM orders", "scope_missing"),
        (
            "EXPLAIN SELECT * FROM orders WHERE customer_id = 42",
            "allow",
        ),
        (
            "EXPLAIN SELECT * FROM orders WHERE customer_id = 43",
            "scope_violation",
        ),
        ("PREPARE p AS SELECT * FROM orders", "scope_missing"),
        (
            "PREPARE p AS SELECT * FROM orders WHERE customer_id = 42",
            "allow",
        ),
        // The EXECUTE's arguments could not be checked.
        (
            "PREPARE p (bigint) AS SELECT * FROM orders WHERE customer_id = $1",
            "scope_parameter",
        ),
        (
            "PREPARE p (int) AS UPDATE orders SET total_cents = $1 WHERE customer_id = 42",
            "deny",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in cases {
        let got = common::policy::outcome_with_claims("scoped", sql, &c42);
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
