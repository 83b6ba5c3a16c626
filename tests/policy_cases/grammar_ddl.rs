//! DDL and utility statements (issue 14): every relation they name is
//! judged, what a rule's action or a policy's expression reads and writes
//! is judged like a query, and statements acting on the cluster or running
//! arbitrary code are refused by built-in rules.

use super::*;

/// `grantor` may do DDL on `orders` only (and read it).
const G: &str = "grantor";

/// Each form, on the one table the DDL agent may change, then on another.
#[test]
fn ddl_agent_is_limited_to_its_tables() {
    check(&[
        // Rules: the table, and what the action reads and writes.
        (
            G,
            "CREATE RULE r AS ON INSERT TO orders DO INSTEAD NOTHING",
            "allow",
        ),
        (
            G,
            "CREATE RULE r AS ON INSERT TO customers DO INSTEAD NOTHING",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE RULE r AS ON INSERT TO orders DO ALSO INSERT INTO customers VALUES (new.id)",
            "statement_class_denied|table_not_allowed",
        ),
        (
            G,
            "CREATE RULE r AS ON DELETE TO orders DO ALSO SELECT * FROM staff_users",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE RULE r AS ON UPDATE TO orders WHERE (SELECT count(*) FROM customers) > 0 DO INSTEAD NOTHING",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE RULE r AS ON UPDATE TO orders DO INSTEAD SELECT new.*, pg_read_file('x')",
            "function_not_allowed",
        ),
        (G, "DROP RULE r ON orders", "allow"),
        (G, "DROP RULE r ON customers", "table_not_allowed"),
        // Triggers: the table, the referenced table, the function run.
        (
            G,
            "CREATE TRIGGER t BEFORE INSERT ON customers FOR EACH ROW EXECUTE FUNCTION trg()",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION trg()",
            "function_not_allowed",
        ),
        (
            G,
            "CREATE TRIGGER t BEFORE INSERT ON customers FOR EACH ROW EXECUTE PROCEDURE trg('x', 1)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE PROCEDURE pg_read_file('x')",
            "function_not_allowed",
        ),
        (
            G,
            "CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE PROCEDURE trg(pg_read_file('x'))",
            "parse_error",
        ),
        (G, "DROP TRIGGER t ON customers", "table_not_allowed"),
        (
            G,
            "ALTER TRIGGER t ON customers RENAME TO u",
            "table_not_allowed",
        ),
        // ALTER VIEW / INDEX, COMMENT, sequences, foreign tables.
        (G, "ALTER VIEW customers RENAME TO c2", "table_not_allowed"),
        (
            G,
            "ALTER VIEW customers SET (security_barrier = true)",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER INDEX customers_pkey RENAME TO x",
            "table_not_allowed",
        ),
        (G, "COMMENT ON TABLE orders IS 'x'", "allow"),
        (G, "COMMENT ON TABLE customers IS 'x'", "table_not_allowed"),
        (
            G,
            "COMMENT ON COLUMN customers.email IS 'x'",
            "table_not_allowed",
        ),
        (
            G,
            "COMMENT ON CONSTRAINT c ON customers IS 'x'",
            "table_not_allowed",
        ),
        (G, "COMMENT ON TRIGGER t ON orders IS 'x'", "allow"),
        (
            G,
            "COMMENT ON POLICY p ON customers IS 'x'",
            "table_not_allowed",
        ),
        (
            G,
            "COMMENT ON STATISTICS customers IS 'x'",
            "table_not_allowed",
        ),
        (G, "CREATE SEQUENCE customers_seq", "table_not_allowed"),
        (
            G,
            "CREATE SEQUENCE s OWNED BY customers.id",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE FOREIGN TABLE customers (a int) SERVER s",
            "table_not_allowed",
        ),
        // Policies: the table, and a subquery in the expression.
        (
            G,
            "CREATE POLICY p ON orders USING (customer_id IN (SELECT id FROM customers))",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE POLICY p ON orders USING (status = 'open')",
            "allow",
        ),
        // REINDEX, CLUSTER.
        (G, "REINDEX TABLE orders", "allow"),
        (G, "REINDEX TABLE customers", "table_not_allowed"),
        (
            G,
            "REINDEX (VERBOSE) INDEX CONCURRENTLY customers_pkey",
            "table_not_allowed",
        ),
        (G, "REINDEX SCHEMA public", "table_not_allowed"),
        (G, "REINDEX DATABASE", "cluster_object_denied"),
        (G, "CLUSTER orders USING orders_pkey", "table_not_allowed"),
        (G, "CLUSTER customers", "table_not_allowed"),
        (G, "CLUSTER", "cluster_object_denied"),
        // Extended statistics: the table and the object's name.
        (
            G,
            "CREATE STATISTICS s ON status, currency FROM customers",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE STATISTICS orders ON (pg_read_file(status)) FROM orders",
            "function_not_allowed",
        ),
        (G, "DROP STATISTICS customers", "table_not_allowed"),
        (
            G,
            "ALTER STATISTICS customers RENAME TO s",
            "table_not_allowed",
        ),
        // Publications and subscriptions: replication, never an agent's.
        (
            G,
            "CREATE PUBLICATION p FOR TABLE orders",
            "cluster_object_denied",
        ),
        (
            G,
            "ALTER PUBLICATION p ADD TABLE customers",
            "table_not_allowed|cluster_object_denied",
        ),
        (G, "DROP PUBLICATION p", "cluster_object_denied"),
        (
            G,
            "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
            "cluster_object_denied",
        ),
        (G, "ALTER SUBSCRIPTION s DISABLE", "cluster_object_denied"),
        (G, "DROP SUBSCRIPTION IF EXISTS s", "cluster_object_denied"),
        // ALTER INDEX and ALTER TABLE forms that name another relation.
        (
            G,
            "ALTER INDEX orders_pkey ATTACH PARTITION customers_pkey",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER INDEX customers_pkey SET (fillfactor = 40)",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER INDEX customers_pkey ALTER COLUMN 1 SET STATISTICS 100",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ALTER COLUMN status SET (n_distinct = 1)",
            "allow",
        ),
        (
            G,
            "ALTER TABLE customers ALTER COLUMN email SET STORAGE plain",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders ATTACH PARTITION staff_users FOR VALUES IN (1)",
            "table_not_allowed|table_denied",
        ),
        (
            G,
            "ALTER TABLE orders DETACH PARTITION customers",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders INHERIT customers",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER TABLE orders NO INHERIT customers",
            "table_not_allowed",
        ),
        // ALTER SEQUENCE: the sequence, and the table that owns it.
        (
            G,
            "ALTER SEQUENCE customers_id_seq RESTART WITH 4",
            "table_not_allowed",
        ),
        (
            G,
            "ALTER SEQUENCE orders_id_seq OWNED BY customers.id",
            "table_not_allowed",
        ),
        (G, "ALTER SEQUENCE orders RESTART", "allow"),
        (
            G,
            "ALTER SEQUENCE orders OWNER TO someone",
            "role_management_denied",
        ),
        // The query of a view with a PostgreSQL tail is still read.
        (
            G,
            "CREATE MATERIALIZED VIEW orders AS SELECT * FROM customers WITH NO DATA",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE VIEW orders AS SELECT * FROM customers WITH LOCAL CHECK OPTION",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (a, b) AS SELECT id, email FROM customers",
            "table_not_allowed",
        ),
        // LIKE reads the source table's definition.
        (
            G,
            "CREATE TABLE orders (LIKE staff_users INCLUDING ALL)",
            "table_not_allowed|table_denied",
        ),
        (
            G,
            "CREATE TABLE orders (LIKE customers)",
            "table_not_allowed",
        ),
        (
            G,
            "CREATE TABLE orders (LIKE orders INCLUDING DEFAULTS EXCLUDING INDEXES)",
            "allow",
        ),
        // CREATE SCHEMA elements are judged as the statements they are.
        (
            G,
            "CREATE SCHEMA s CREATE VIEW v AS SELECT * FROM staff_users",
            "table_not_allowed|table_denied",
        ),
        (
            G,
            "CREATE SCHEMA AUTHORIZATION r CREATE TABLE t (a int)",
            "role_management_denied|cluster_object_denied",
        ),
        // Objects of the cluster or database: refused whatever the form.
        (
            G,
            "ALTER SERVER s OPTIONS (host 'x')",
            "cluster_object_denied",
        ),
        (
            G,
            "DROP FOREIGN DATA WRAPPER w CASCADE",
            "cluster_object_denied",
        ),
        (
            G,
            "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()",
            "cluster_object_denied",
        ),
        (G, "ALTER TABLESPACE t RENAME TO u", "cluster_object_denied"),
        (G, "DROP CAST (text AS int)", "cluster_object_denied"),
        (G, "DROP OWNED BY someone", "cluster_object_denied"),
        (
            G,
            "GRANT SELECT ON LARGE OBJECT 42 TO public",
            "cluster_object_denied",
        ),
        (
            G,
            "REVOKE USAGE ON FOREIGN DATA WRAPPER w FROM r",
            "cluster_object_denied",
        ),
        (
            G,
            "GRANT USAGE ON LANGUAGE sql TO r",
            "cluster_object_denied",
        ),
        (G, "GRANT USAGE ON FOREIGN SERVER", "parse_error"),
        (G, "GRANT SELECT ON orders TO r", "allow"),
        (G, "REASSIGN OWNED BY a TO b", "cluster_object_denied"),
        // Schema objects without expressions.
        (
            G,
            "DROP AGGREGATE IF EXISTS myavg (numeric), s.agg(int, text)",
            "allow",
        ),
        (G, "ALTER DOMAIN d RENAME CONSTRAINT a TO b", "allow"),
        (
            G,
            "ALTER DOMAIN d DROP CONSTRAINT IF EXISTS c CASCADE",
            "allow",
        ),
        (
            G,
            "ALTER DOMAIN d OWNER TO someone",
            "role_management_denied",
        ),
        (G, "ALTER CONVERSION c SET SCHEMA s", "allow"),
        (G, "DROP TEXT SEARCH CONFIGURATION IF EXISTS c", "allow"),
        // An expression in a domain is sqlparser's (not read by hand).
        (
            G,
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (pg_read_file('x') IS NULL)",
            "parse_error|function_not_allowed",
        ),
        (G, "DROP AGGREGATE a(1 + 1)", "parse_error"),
        // Operators: schema objects; the function they call is judged.
        (
            G,
            "CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = pg_read_file)",
            "function_not_allowed|parse_error",
        ),
        (G, "CREATE OPERATOR FAMILY f USING btree", "allow"),
        (G, "DROP OPERATOR FAMILY f USING btree", "allow"),
    ]);
}

/// A read-only agent is refused each form.
#[test]
fn read_only_agent_is_refused_ddl() {
    let denied = "statement_class_denied";
    check(&[
        (
            A,
            "CREATE RULE r AS ON INSERT TO orders DO INSTEAD NOTHING",
            denied,
        ),
        (A, "DROP RULE r ON orders", denied),
        (A, "ALTER VIEW orders RENAME TO o", denied),
        (A, "COMMENT ON TABLE orders IS 'x'", denied),
        (A, "REINDEX TABLE orders", denied),
        (A, "CLUSTER orders", denied),
        (A, "VACUUM (ANALYZE) orders, customers", denied),
        (A, "ANALYZE orders (status)", denied),
        (
            A,
            "CREATE STATISTICS s ON status, currency FROM orders",
            denied,
        ),
        (A, "DROP STATISTICS s", denied),
        (A, "CREATE OPERATOR FAMILY f USING btree", denied),
        (
            A,
            "CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION trg()",
            denied,
        ),
        (A, "CREATE POLICY p ON orders USING (true)", denied),
        (A, "ALTER INDEX orders_pkey SET (fillfactor = 40)", denied),
        (
            A,
            "ALTER TABLE orders ALTER COLUMN status SET STATISTICS 10",
            denied,
        ),
        (A, "DROP AGGREGATE myavg (numeric)", denied),
        (A, "ALTER PROCEDURE p(int) RENAME TO q", denied),
        (
            A,
            "ALTER ROUTINE r(int) SECURITY DEFINER",
            "role_management_denied|statement_class_denied",
        ),
        (A, "ALTER DOMAIN d DROP NOT NULL", denied),
        (
            A,
            "DROP SERVER s",
            "statement_class_denied|cluster_object_denied",
        ),
    ]);
}

/// `DO` runs code no analysis can see: refused for everyone, in every
/// spelling PostgreSQL accepts; a malformed one is a parse error.
#[test]
fn do_blocks_are_refused() {
    check(&[
        (T, "DO $$ BEGIN PERFORM 1; END $$", "code_block_denied"),
        (
            T,
            "DO LANGUAGE plpgsql $$ BEGIN DELETE FROM orders; END $$",
            "code_block_denied",
        ),
        (
            T,
            "do 'begin null; end' language plpgsql",
            "code_block_denied",
        ),
        (A, "DO $$ BEGIN NULL; END $$", "code_block_denied"),
        (G, "DO $$ BEGIN NULL; END $$", "code_block_denied"),
        (T, "DO", "parse_error"),
        (T, "DO $$ a $$ $$ b $$", "parse_error"),
        (T, "DO LANGUAGE plpgsql", "parse_error"),
    ]);
}
