//! Table DDL, continued (issue 14): a new table's access method, column
//! storage and compression, `LIKE` elements among its columns (each source
//! judged as read) and a partition key naming operator classes (its
//! expressions judged like any other).

use super::*;

/// `grantor` may do DDL on `orders` only (and read it).
const G: &str = "grantor";

#[test]
fn table_options_are_limited_to_the_agents_tables() {
    check(&[
        (
            G,
            "CREATE TABLE orders (a text STORAGE plain COMPRESSION pglz)",
            "allow",
        ),
        (
            G,
            "CREATE TABLE customers (a text COMPRESSION pglz)",
            "table_not_allowed",
        ),
        (G, "CREATE TABLE orders (a int) USING heap", "allow"),
        (G, "CREATE TABLE orders () USING heap", "allow"),
        (
            G,
            "CREATE TABLE staff_users (a int) USING heap",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders PARTITION OF customers FOR VALUES IN ('c') USING heap",
            "table_not_allowed",
        ),
        (G, "CREATE TABLE orders USING heap AS SELECT 1", "allow"),
        (
            G,
            "CREATE TABLE orders USING heap AS SELECT * FROM customers",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE MATERIALIZED VIEW orders USING heap AS SELECT * FROM customers",
            "table_not_allowed",
        ),
        (G, "CREATE TEMP TABLE orders (a int) WITHOUT OIDS", "allow"),
        // ON DELETE SET NULL (columns): the table's own columns.
        (
            G,
            "CREATE TABLE orders (a int, b int, FOREIGN KEY (a, b) REFERENCES orders ON DELETE SET NULL (b))",
            "allow",
        ),
        (
            G,
            "ALTER TABLE customers ADD FOREIGN KEY (a, b) REFERENCES orders ON DELETE SET DEFAULT (a)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE customers (a int, PRIMARY KEY (a)) WITHOUT OIDS",
            "table_not_allowed",
        ),
    ]);
}

/// Every `LIKE` source among the columns is read.
#[test]
fn like_elements_are_reads() {
    check(&[
        (
            G,
            "CREATE TABLE orders (x text, LIKE orders, y int)",
            "allow",
        ),
        (
            G,
            "CREATE TABLE orders (x text, LIKE customers INCLUDING ALL, y text)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (LIKE orders, LIKE staff_users)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (LIKE customers, c int) INHERITS (orders)",
            "table_not_allowed",
        ),
    ]);
}

/// A partition key naming operator classes: its expressions are judged.
#[test]
fn partition_keys_with_operator_classes() {
    check(&[
        (
            G,
            "CREATE TABLE orders (a int, b text) PARTITION BY HASH (a int4_ops, b text_ops)",
            "allow",
        ),
        (
            G,
            "CREATE TABLE customers (a int) PARTITION BY HASH (a int4_ops)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (a int) PARTITION BY RANGE (a int4_ops, pg_read_file('x'))",
            "function_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (a int) PARTITION BY RANGE ((a + pg_read_file('x')::int) int4_ops)",
            "function_not_allowed",
        ),
    ]);
}

/// Routines: a SQL-standard `RETURN` body's subqueries read their tables
/// (PostgreSQL resolves them when the routine is created); procedures and
/// the other attributes are read as functions are.
#[test]
fn routine_bodies_and_procedures() {
    check(&[
        (
            G,
            "CREATE FUNCTION f() RETURNS bigint RETURN (SELECT count(*) FROM orders)",
            "allow",
        ),
        (
            G,
            "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql RETURN (SELECT count(*) FROM customers)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE FUNCTION f() RETURNS bigint RETURN 1 + (SELECT max(id) FROM orders WHERE id IN (SELECT id FROM staff_users))",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE FUNCTION f() RETURNS text RETURN (SELECT pg_read_file('x'))",
            "function_not_allowed",
        ),
        (
            G,
            "CREATE PROCEDURE p(int) LANGUAGE sql AS $$ SELECT 1 $$",
            "allow",
        ),
        (
            G,
            "CREATE OR REPLACE PROCEDURE p(a int DEFAULT length(pg_read_file('x'))) LANGUAGE sql AS $$ SELECT 1 $$",
            "function_not_allowed",
        ),
        (
            G,
            "CREATE FUNCTION f(t text) RETURNS bool LANGUAGE plpgsql STRICT LEAKPROOF COST 10 AS 'x'",
            "allow",
        ),
        (
            G,
            "CREATE FUNCTION f(input IN bytea, r OUT text) LANGUAGE sql AS 'x'",
            "allow",
        ),
    ]);
}

/// MERGE: a joined source reads every table in it; `INSERT DEFAULT
/// VALUES` and `OVERRIDING … VALUE` write the target.
#[test]
fn merge_forms() {
    const T: &str = "tester";
    check(&[
        (
            T,
            "MERGE INTO orders t USING refunds r INNER JOIN orders o ON r.order_id = o.id ON t.id = r.order_id WHEN MATCHED THEN DELETE",
            "allow",
        ),
        (
            T,
            "MERGE INTO orders t USING refunds r INNER JOIN audit.log l ON true ON t.id = r.order_id WHEN MATCHED THEN DELETE",
            "table_not_allowed",
        ),
        (
            T,
            "MERGE INTO orders t USING refunds r FULL JOIN orders o ON pg_read_file('x') = 'a' ON t.id = r.order_id WHEN MATCHED THEN DELETE",
            "function_not_allowed",
        ),
        (
            T,
            "MERGE INTO orders t USING refunds r ON t.id = r.order_id WHEN NOT MATCHED THEN INSERT DEFAULT VALUES",
            "allow",
        ),
        (
            T,
            "MERGE INTO audit.log t USING refunds r ON true WHEN NOT MATCHED THEN INSERT DEFAULT VALUES",
            "table_not_allowed",
        ),
        (
            T,
            "MERGE INTO orders t USING refunds r ON t.id = r.order_id WHEN NOT MATCHED THEN INSERT (id) OVERRIDING SYSTEM VALUE VALUES (r.order_id)",
            "allow",
        ),
        (
            T,
            "MERGE INTO orders t USING refunds r ON t.id = r.order_id WHEN NOT MATCHED THEN INSERT (id) OVERRIDING USER VALUE VALUES (length(pg_read_file('x')))",
            "function_not_allowed",
        ),
        (
            T,
            "MERGE INTO orders t USING audit.log r ON true WHEN NOT MATCHED THEN INSERT (id) OVERRIDING USER VALUE VALUES (1)",
            "table_not_allowed",
        ),
    ]);
}

/// COPY's generic options carry no expression: the table and endpoint
/// decide as for any COPY.
#[test]
fn copy_generic_options() {
    const T: &str = "tester";
    check(&[
        (
            T,
            "COPY orders FROM STDIN WITH (FORMAT csv, DEFAULT '\\D', HEADER MATCH)",
            "allow",
        ),
        (
            T,
            "COPY orders TO STDOUT (FORCE_QUOTE *, FREEZE OFF)",
            "allow",
        ),
        (
            T,
            "COPY audit.log FROM STDIN WITH (DEFAULT '\\D')",
            "table_not_allowed",
        ),
        (
            A,
            "COPY staff_users TO STDOUT WITH (HEADER MATCH)",
            "table_denied",
        ),
        (
            T,
            "COPY orders FROM '/etc/passwd' WITH (DEFAULT '\\D')",
            "copy_server_side",
        ),
    ]);
}

/// An identity column's changes are DDL on its table.
#[test]
fn identity_changes_are_ddl_on_the_table() {
    check(&[
        (
            G,
            "ALTER TABLE orders ALTER COLUMN id SET GENERATED BY DEFAULT SET INCREMENT BY 2 RESTART",
            "allow",
        ),
        (
            G,
            "ALTER TABLE customers ALTER COLUMN id SET GENERATED ALWAYS",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ALTER COLUMN id RESTART WITH 5, ALTER COLUMN id SET DEFAULT pg_read_file('x')",
            "function_not_allowed",
        ),
    ]);
}

/// `CREATE TABLE … AS EXECUTE name` is checked as EXECUTE is: the agent
/// needs `execute`, and the statement must be one its session prepared
/// (and so judged); the new table is DDL as for any CREATE TABLE AS.
#[test]
fn create_table_as_execute_is_an_execute() {
    const T: &str = "tester";
    check(&[
        (
            T,
            "PREPARE s AS SELECT id FROM orders; CREATE TABLE t2 AS EXECUTE s",
            "allow",
        ),
        (
            T,
            "PREPARE s (int) AS SELECT id FROM orders WHERE id = $1; CREATE TEMPORARY TABLE t2 AS EXECUTE s (1) WITH NO DATA",
            "allow",
        ),
        (
            T,
            "CREATE TABLE t2 AS EXECUTE s",
            "unknown_prepared_statement",
        ),
        (
            T,
            "PREPARE s AS SELECT 1; CREATE TABLE audit.t2 AS EXECUTE s",
            "table_not_allowed",
        ),
        (
            T,
            "PREPARE s (text) AS SELECT 1; CREATE TABLE t2 AS EXECUTE s (pg_read_file('x'))",
            "function_not_allowed",
        ),
        (
            T,
            "PREPARE s AS SELECT * FROM audit.log; CREATE TABLE t2 AS EXECUTE s",
            "table_not_allowed",
        ),
        // The DDL agent may not run prepared statements.
        (G, "CREATE TABLE orders AS EXECUTE s", "deny"),
    ]);
}

/// `COPY … FROM … WHERE`: the condition is walked like any expression.
#[test]
fn copy_where_conditions_are_walked() {
    const T: &str = "tester";
    check(&[
        (T, "COPY orders FROM STDIN WHERE id > 5", "allow"),
        (
            T,
            "COPY orders FROM STDIN WHERE id = length(pg_read_file('x'))",
            "function_not_allowed",
        ),
        (
            T,
            "COPY orders FROM STDIN WHERE id IN (SELECT 1 FROM audit.log)",
            "table_not_allowed",
        ),
        (
            T,
            "COPY audit.log FROM STDIN WHERE true",
            "table_not_allowed",
        ),
        (T, "COPY orders TO STDOUT WHERE id > 5", "parse_error"),
        (
            T,
            "COPY orders FROM '/tmp/x' WHERE id > 5",
            "copy_server_side",
        ),
    ]);
}

/// A materialized view's access method or tablespace: DDL on it.
#[test]
fn matview_storage_is_ddl_on_the_view() {
    check(&[
        (
            G,
            "ALTER MATERIALIZED VIEW orders SET ACCESS METHOD heap",
            "allow",
        ),
        (
            G,
            "ALTER MATERIALIZED VIEW customers SET TABLESPACE pg_default",
            "table_not_allowed",
        ),
        (G, "ALTER INDEX IF EXISTS orders RENAME TO i2", "allow"),
        (
            G,
            "ALTER INDEX IF EXISTS customers RENAME TO c2",
            "table_not_allowed",
        ),
    ]);
}

/// DROP ROUTINE is DDL, as DROP FUNCTION and DROP PROCEDURE are.
#[test]
fn drop_routine_is_ddl() {
    check(&[
        (G, "DROP ROUTINE IF EXISTS f(int), p()", "allow"),
        (A, "DROP ROUTINE f(int)", "statement_class_denied"),
    ]);
}

/// A foreign key reads the table it references (PostgreSQL requires the
/// REFERENCES privilege there, and the constraint tells which values
/// exist): an agent that may not read it cannot point a key at it.
#[test]
fn a_foreign_key_reads_the_table_it_references() {
    const G: &str = "grantor";
    check(&[
        (
            G,
            "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ADD COLUMN c int REFERENCES customers (id)",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ADD COLUMN parent int REFERENCES orders (id)",
            "allow",
        ),
        (
            G,
            "ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES orders (id)",
            "allow",
        ),
        (
            T,
            "CREATE TABLE notes (id int, customer_id int REFERENCES customers (id))",
            "allow",
        ),
        (
            T,
            "CREATE TABLE notes (id int, o int, FOREIGN KEY (o) REFERENCES orders (id))",
            "allow",
        ),
        (
            A,
            "CREATE TABLE notes (id int, FOREIGN KEY (id) REFERENCES customers (id))",
            "statement_class_denied",
        ),
    ]);
}
