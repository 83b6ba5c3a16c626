//! Locks and role management: rights no other class implies.

use super::*;

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
        "CREATE OR REPLACE PROCEDURE p(int) LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$",
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
        // Forms the parser does not take, or that act on every object of a
        // role, are refused for everyone.
        (
            R,
            "REASSIGN OWNED BY grantor TO postgres",
            "cluster_object_denied",
        ),
        (R, "DROP OWNED BY grantor", "cluster_object_denied"),
        (
            G,
            "REASSIGN OWNED BY grantor TO postgres",
            "cluster_object_denied",
        ),
        (G, "DROP OWNED BY grantor", "cluster_object_denied"),
        (
            G,
            "ALTER GROUP admins ADD USER bob",
            "role_management_denied",
        ),
        (
            G,
            "CREATE USER evil WITH PASSWORD 'x'",
            "role_management_denied",
        ),
        (G, "CREATE USER evil SUPERUSER", "role_management_denied"),
        (
            G,
            "ALTER PROCEDURE p() SECURITY DEFINER",
            "role_management_denied",
        ),
        (
            G,
            "ALTER ROUTINE r() OWNER TO bob",
            "role_management_denied",
        ),
        (G, "ALTER TYPE t OWNER TO bob", "parse_error"),
        (G, "ALTER SEQUENCE s OWNER TO bob", "role_management_denied"),
        (G, "ALTER DATABASE shop OWNER TO bob", "parse_error"),
        (G, "ALTER VIEW v OWNER TO bob", "deny"),
        (G, "ALTER MATERIALIZED VIEW m OWNER TO bob", "deny"),
        // PostgreSQL's CREATE PROCEDURE is read (issue 14): SECURITY
        // DEFINER hands the caller the owner's rights, as for a function.
        (
            G,
            "CREATE PROCEDURE p() LANGUAGE sql SECURITY DEFINER AS $$ SELECT 1 $$",
            DENIED,
        ),
    ]);
}
