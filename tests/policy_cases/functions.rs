//! Functions: only an allow-list works, and a denied function is found
//! wherever it is called.

use super::*;

/// Only an allow-list of functions can work (SECURITY: "Read-only" that
/// writes).
#[test]
fn functions_not_allowed() {
    check(&[
        (A, "SELECT pg_sleep(1)", "function_not_allowed"),
        (
            A,
            "SELECT pg_terminate_backend(1234)",
            "function_not_allowed",
        ),
        (A, "SELECT pg_cancel_backend(1234)", "function_not_allowed"),
        (
            A,
            "SELECT set_config('statement_timeout', '0', false)",
            "allow",
        ),
        (A, "SELECT current_setting('data_directory')", "allow"),
        (
            A,
            "SELECT query_to_xml('SELECT * FROM staff_users', true, false, '')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT table_to_xml('staff_users', true, false, '')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT dblink_exec('dbname=shop', 'DROP TABLE orders')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT dblink_connect('x', 'dbname=shop')",
            "function_not_allowed",
        ),
        (A, "SELECT lo_import('/etc/passwd')", "function_not_allowed"),
        (
            A,
            "SELECT lo_export(1234, '/tmp/x')",
            "function_not_allowed",
        ),
        (A, "SELECT lo_get(1234)", "function_not_allowed"),
        (A, "SELECT nextval('orders_id_seq')", "function_not_allowed"),
        (
            A,
            "SELECT setval('orders_id_seq', 1)",
            "function_not_allowed",
        ),
        (A, "SELECT currval('orders_id_seq')", "function_not_allowed"),
        (A, "SELECT pg_notify('ch', 'x')", "function_not_allowed"),
        (
            A,
            "SELECT pg_read_binary_file('/etc/passwd')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT pg_read_file('/etc/passwd')",
            "function_not_allowed",
        ),
        (A, "SELECT pg_ls_dir('.')", "function_not_allowed"),
        (
            A,
            "SELECT pg_stat_file('postgresql.conf')",
            "function_not_allowed",
        ),
        (A, "SELECT pg_reload_conf()", "function_not_allowed"),
        (A, "SELECT pg_advisory_lock(1)", "function_not_allowed"),
        (A, "SELECT pg_switch_wal()", "function_not_allowed"),
        (
            A,
            "SELECT pg_logical_emit_message(true, 'x', 'y')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT convert_from(pg_read_binary_file('/etc/passwd'), 'UTF8')",
            "function_not_allowed",
        ),
        // Case and qualification do not launder a name.
        (A, "SELECT PG_CATALOG.PG_SLEEP(1)", "function_not_allowed"),
        (A, "SELECT pg_catalog.pg_sleep(1)", "function_not_allowed"),
        (
            A,
            r#"SELECT "pg_catalog"."pg_sleep"(1)"#,
            "function_not_allowed",
        ),
        (A, r#"SELECT "pg_sleep"(1)"#, "function_not_allowed"),
        (A, "SELECT Pg_Sleep(1)", "function_not_allowed"),
        (A, "SELECT public.pg_sleep(1)", "function_not_allowed"),
        (A, "SELECT public.lower('X')", "function_not_allowed"),
        (T, "SELECT pg_sleep(0.1)", "allow"),
        (T, "SELECT pg_notify('ch', 'x')", "allow"),
        (T, "SELECT pg_terminate_backend(1)", "function_not_allowed"),
        (
            S,
            "SELECT lower(email) FROM customers WHERE id = 1",
            "allow",
        ),
        (
            A,
            "SELECT pg_catalog.lower('X'), pg_catalog.count(*) FROM orders",
            "allow",
        ),
    ]);
}

/// A denied function is found wherever it is called.
#[test]
fn functions_in_every_position() {
    check(&[
        (A, "SELECT pg_sleep(1) FROM orders", "function_not_allowed"),
        (
            A,
            "SELECT id FROM orders WHERE pg_sleep(1) IS NOT NULL",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders ORDER BY pg_sleep(0)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT 1 FROM orders GROUP BY pg_sleep(1)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT status FROM orders GROUP BY status HAVING max(pg_sleep(0)::text) IS NULL",
            "function_not_allowed",
        ),
        (A, "SELECT * FROM pg_sleep(1)", "function_not_allowed"),
        (
            A,
            "SELECT id FROM orders o JOIN order_items i ON pg_sleep(0) IS NULL",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT CASE WHEN id = 1 THEN pg_sleep(1) END FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT CASE pg_backend_pid() WHEN 1 THEN 1 ELSE pg_sleep(1)::int END",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT coalesce(nullif(lower(upper(pg_sleep(1)::text)), ''), 'x')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT sum(id) OVER (PARTITION BY pg_sleep(0)) FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT sum(id) OVER (ORDER BY pg_sleep(0)::text) FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT sum(id) OVER w FROM orders WINDOW w AS (PARTITION BY pg_sleep(0))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT count(*) FILTER (WHERE pg_sleep(0) IS NULL) FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT string_agg(status, ',' ORDER BY pg_sleep(0)::text) FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT DISTINCT ON (pg_sleep(0)::text) id FROM orders",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders LIMIT pg_backend_pid() + length(pg_sleep(0)::text)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders OFFSET nextval('s')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT x FROM (VALUES (pg_sleep(1))) v(x)",
            "function_not_allowed",
        ),
        (
            A,
            "VALUES (nextval('orders_id_seq'))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT 1 UNION SELECT nextval('orders_id_seq')",
            "function_not_allowed",
        ),
        (
            A,
            "WITH x AS (SELECT nextval('orders_id_seq') AS n) SELECT n FROM x",
            "function_not_allowed",
        ),
        (A, "SELECT ARRAY[pg_sleep(1)]", "function_not_allowed"),
        (
            A,
            "SELECT CAST(pg_sleep(1) AS text)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id IN (1, nextval('s'))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id BETWEEN 1 AND nextval('s')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT make_interval(days => nextval('s')::int)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_backend_pid() + nextval('s'))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT (SELECT (SELECT pg_sleep(1)))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT EXISTS (SELECT 1 WHERE pg_sleep(1) IS NULL)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT count(*) FROM orders TABLESAMPLE SYSTEM (pg_backend_pid() + nextval('s'))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE status = 'x' AND (id > 1 OR pg_sleep(1) IS NULL)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE NOT (pg_sleep(1) IS NOT NULL)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT lower(status COLLATE \"C\") || pg_sleep(1)::text FROM orders",
            "function_not_allowed",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, set_config('role', 'postgres', false), 'kpatel')",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING pg_sleep(1)",
            "function_not_allowed",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') ON CONFLICT DO NOTHING RETURNING nextval('s')",
            "function_not_allowed",
        ),
        (
            S,
            "UPDATE orders SET notes = current_setting('app.user_id') WHERE id = 1",
            "function_not_allowed|setting_denied",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE id = 1 AND pg_sleep(1) IS NOT NULL",
            "function_not_allowed",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' FROM generate_series(1, pg_sleep(1)::text::int) g WHERE orders.id = g",
            "function_not_allowed",
        ),
        (
            S,
            "SELECT id FROM orders WHERE id = 1 FOR UPDATE OF orders SKIP LOCKED; SELECT lo_import('/etc/passwd')",
            "function_not_allowed",
        ),
        (A, "SET statement_timeout = pg_sleep(1)", "deny"),
    ]);
}

/// What PostgreSQL's grammar reads as syntax is not a function call: the
/// row constructor `ROW(…)` and the strategy of `PARTITION BY RANGE (…)`.
/// What they contain is still checked, and a quoted or qualified `row`
/// is a call.
#[test]
fn row_constructors_and_partition_strategies_are_not_calls() {
    check(&[
        (S, "SELECT ROW(o.id, o.status) FROM orders o", "allow"),
        (
            S,
            "SELECT * FROM orders o WHERE ROW(o.id, o.status) = ROW(1, 'open')",
            "allow",
        ),
        (
            S,
            "SELECT ROW(c.id, c.marketing_opt_in) FROM customers c",
            "column_denied",
        ),
        (
            S,
            "SELECT ROW(pg_read_file('x'))",
            "function_not_allowed|function_denied",
        ),
        (S, "SELECT \"row\"(1)", "function_not_allowed"),
        (S, "SELECT public.row(1)", "function_not_allowed"),
        (
            T,
            "CREATE TABLE pt (a int, b text) PARTITION BY RANGE (a)",
            "allow",
        ),
        (
            T,
            "CREATE TABLE pt (a int, b text) PARTITION BY LIST (lower(b))",
            "allow",
        ),
        (
            T,
            "CREATE TABLE pt (a int) PARTITION BY HASH (nextval('s'))",
            "function_not_allowed",
        ),
        (T, "SELECT range(1)", "function_not_allowed"),
    ]);
}
