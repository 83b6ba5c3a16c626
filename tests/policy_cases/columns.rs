//! Columns: `*` and whole-row references, column aliases, system columns
//! and parenthesised joins.

use super::*;

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
