//! Names as PostgreSQL resolves them: case and quoting, schemas, CTE
//! shadowing and `TABLE x`.

use super::*;

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

/// `TABLE x` as a query body (SECURITY: not reported by visit_relations).
#[test]
fn table_query_forms() {
    check(&[
        (A, "TABLE staff_users", "table_denied"),
        // Top-level TABLE parses (vendored patch table_statement) and reads
        // the whole table (more in grammar_queries.rs).
        (A, "TABLE orders", "allow"),
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
