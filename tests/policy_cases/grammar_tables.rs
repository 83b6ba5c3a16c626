//! Table and index DDL (issue 14): every relation a CREATE INDEX, DROP
//! INDEX, CREATE TABLE or ALTER TABLE form names is judged as DDL, and a
//! table a new table copies (`LIKE`) is judged as read.

use super::*;

/// `grantor` may do DDL on `orders` only (and read it).
const G: &str = "grantor";

/// The index forms, on the one table the DDL agent may change, then on
/// another.
#[test]
fn index_forms_are_limited_to_the_agents_tables() {
    check(&[
        (G, "CREATE INDEX i ON ONLY orders (id)", "allow"),
        (
            G,
            "CREATE INDEX i ON ONLY customers (id)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE INDEX ON ONLY staff_users (id)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE INDEX i ON orders (id) TABLESPACE pg_default",
            "allow",
        ),
        (
            G,
            "CREATE INDEX i ON customers (id) TABLESPACE pg_default",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE INDEX i ON orders USING gist (id tsvector_ops (siglen = '1000'))",
            "allow",
        ),
        (
            G,
            "CREATE INDEX i ON customers USING gist (id tsvector_ops (siglen = '1000'))",
            "table_not_allowed",
        ),
        // An opclass parameter is a constant: PostgreSQL accepts no call.
        (
            G,
            "CREATE INDEX i ON orders USING gist (id tsvector_ops (siglen = pg_read_file('x')))",
            "deny",
        ),
        (G, "DROP INDEX CONCURRENTLY orders", "allow"),
        (
            G,
            "DROP INDEX CONCURRENTLY IF EXISTS customers",
            "table_not_allowed",
        ),
        (
            G,
            "DROP INDEX CONCURRENTLY orders, staff_users",
            "table_not_allowed",
        ),
    ]);
}

/// A typed table: the new table is DDL; what its column options call is
/// judged.
#[test]
fn typed_table_is_limited_to_the_agents_tables() {
    check(&[
        (G, "CREATE TABLE orders OF order_type", "allow"),
        (
            G,
            "CREATE TABLE customers OF order_type",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE IF NOT EXISTS staff_users OF order_type (id WITH OPTIONS NOT NULL)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders OF order_type (id WITH OPTIONS DEFAULT pg_read_file('x'))",
            "function_not_allowed",
        ),
    ]);
}

/// `ALTER TABLE t*` names the table and its children; `ALTER INDEX …
/// SET TABLESPACE` the index.
#[test]
fn alter_forms_are_limited_to_the_agents_tables() {
    check(&[
        (G, "ALTER TABLE orders* RENAME COLUMN id TO id2", "allow"),
        (
            G,
            "ALTER TABLE customers* RENAME COLUMN id TO id2",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE staff_users* ADD COLUMN a text",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders* ADD COLUMN a text DEFAULT pg_read_file('x')",
            "function_not_allowed",
        ),
        (G, "ALTER INDEX orders SET TABLESPACE pg_default", "allow"),
        (
            G,
            "ALTER INDEX customers SET TABLESPACE pg_default",
            "table_not_allowed",
        ),
    ]);
}
