//! Patches for PostgreSQL's maintenance and object statements (topic `ddl`).

use super::{parse_one, round_trips_as};
use sqlparser::ast::{ReindexObject, Statement};

#[test]
fn pg_maintenance() {
    round_trips_as(
        "vacuum (analyze, parallel 2) t1, s.t2 (a, b)",
        "VACUUM (analyze, parallel 2) t1, s.t2 (a, b)",
    );
    round_trips_as(
        "VACUUM FULL FREEZE VERBOSE ANALYZE t",
        "VACUUM FULL FREEZE VERBOSE ANALYZE t",
    );
    round_trips_as("vacuum", "VACUUM");
    round_trips_as("analyze verbose t (a), u", "ANALYZE VERBOSE t (a), u");
    round_trips_as(
        "reindex (verbose) table concurrently s.t",
        "REINDEX (verbose) TABLE CONCURRENTLY s.t",
    );
    round_trips_as("reindex system", "REINDEX SYSTEM");
    round_trips_as("reindex schema s", "REINDEX SCHEMA s");
    match parse_one("REINDEX INDEX i") {
        Statement::Reindex(r) => {
            assert_eq!(r.object_type, ReindexObject::Index);
            assert!(r.relation.is_some() && r.name.is_none());
        }
        other => panic!("not a REINDEX: {other:?}"),
    }
    round_trips_as("cluster verbose t using i", "CLUSTER VERBOSE t USING i");
    round_trips_as("cluster i on t", "CLUSTER i ON t");
    round_trips_as("cluster", "CLUSTER");
}

#[test]
fn pg_statistics() {
    round_trips_as(
        "create statistics if not exists s.st (ndistinct, mcv) on a, (b + 1) from t",
        "CREATE STATISTICS IF NOT EXISTS s.st (ndistinct, mcv) ON a, (b + 1) FROM t",
    );
    round_trips_as(
        "create statistics on a, b from t",
        "CREATE STATISTICS ON a, b FROM t",
    );
    round_trips_as(
        "alter statistics st set statistics 100",
        "ALTER STATISTICS st SET STATISTICS 100",
    );
    round_trips_as(
        "alter statistics st rename to st2",
        "ALTER STATISTICS st RENAME TO st2",
    );
    round_trips_as(
        "drop statistics if exists st, s.st2",
        "DROP STATISTICS IF EXISTS st, s.st2",
    );
}

#[test]
fn pg_publication() {
    round_trips_as(
        "create publication p for table only t1 (a, b) where (a > 1), t2, tables in schema s",
        "CREATE PUBLICATION p FOR TABLE ONLY t1 (a, b) WHERE (a > 1), t2, TABLES IN SCHEMA s",
    );
    round_trips_as(
        "create publication p for all tables with (publish = 'insert')",
        "CREATE PUBLICATION p FOR ALL TABLES WITH (publish = 'insert')",
    );
    round_trips_as(
        "alter publication p add table t",
        "ALTER PUBLICATION p ADD TABLE t",
    );
    round_trips_as(
        "alter publication p set (publish = 'update')",
        "ALTER PUBLICATION p SET (publish = 'update')",
    );
    round_trips_as(
        "alter publication p owner to r",
        "ALTER PUBLICATION p OWNER TO r",
    );
    round_trips_as(
        "drop publication if exists p",
        "DROP PUBLICATION IF EXISTS p",
    );
}

#[test]
fn pg_alter_index() {
    round_trips_as(
        "alter index i attach partition s.j",
        "ALTER INDEX i ATTACH PARTITION s.j",
    );
    round_trips_as(
        "alter index i set (fillfactor = 40)",
        "ALTER INDEX i SET (fillfactor = 40)",
    );
    round_trips_as(
        "alter index i reset (fillfactor)",
        "ALTER INDEX i RESET (fillfactor)",
    );
    round_trips_as(
        "alter index i alter column 1 set statistics 100",
        "ALTER INDEX i ALTER COLUMN 1 SET STATISTICS 100",
    );
}

#[test]
fn pg_alter_column() {
    round_trips_as(
        "alter table t alter column a set (n_distinct = 1)",
        "ALTER TABLE t ALTER COLUMN a SET (n_distinct = 1)",
    );
    round_trips_as(
        "alter table t alter a reset (n_distinct)",
        "ALTER TABLE t ALTER COLUMN a RESET (n_distinct)",
    );
    round_trips_as(
        "alter table t alter a set storage plain",
        "ALTER TABLE t ALTER COLUMN a SET STORAGE plain",
    );
    round_trips_as(
        "alter table t alter a set statistics 10",
        "ALTER TABLE t ALTER COLUMN a SET STATISTICS 10",
    );
    round_trips_as(
        "alter table t alter a drop identity if exists",
        "ALTER TABLE t ALTER COLUMN a DROP IDENTITY IF EXISTS",
    );
}

#[test]
fn pg_alter_sequence() {
    round_trips_as(
        "alter sequence s restart with 4",
        "ALTER SEQUENCE s RESTART WITH 4",
    );
    round_trips_as("alter sequence s restart", "ALTER SEQUENCE s RESTART");
    round_trips_as(
        "alter sequence if exists s as smallint increment by 2 owned by t.c",
        "ALTER SEQUENCE IF EXISTS s AS SMALLINT INCREMENT BY 2 OWNED BY t.c",
    );
    round_trips_as(
        "alter sequence s set unlogged",
        "ALTER SEQUENCE s SET UNLOGGED",
    );
    round_trips_as("alter sequence s owner to r", "ALTER SEQUENCE s OWNER TO r");
    round_trips_as(
        "alter sequence s set schema x",
        "ALTER SEQUENCE s SET SCHEMA x",
    );
}

#[test]
fn pg_alter_table() {
    round_trips_as(
        "alter table t alter constraint c deferrable initially deferred",
        "ALTER TABLE t ALTER CONSTRAINT c DEFERRABLE INITIALLY DEFERRED",
    );
    round_trips_as("alter table t cluster on i", "ALTER TABLE t CLUSTER ON i");
    round_trips_as(
        "alter table t set without cluster",
        "ALTER TABLE t SET WITHOUT CLUSTER",
    );
    round_trips_as(
        "alter table t set without oids",
        "ALTER TABLE t SET WITHOUT OIDS",
    );
    round_trips_as(
        "alter table if exists t set schema s",
        "ALTER TABLE IF EXISTS t SET SCHEMA s",
    );
    round_trips_as(
        "alter table t set access method heap2",
        "ALTER TABLE t SET ACCESS METHOD heap2",
    );
    round_trips_as(
        "alter table t set tablespace ts",
        "ALTER TABLE t SET TABLESPACE ts",
    );
    round_trips_as("alter table t of ty", "ALTER TABLE t OF ty");
    round_trips_as("alter table t not of", "ALTER TABLE t NOT OF");
}

#[test]
fn pg_partition_with() {
    round_trips_as(
        "create table t (a int) partition by list (a) with (fillfactor=100)",
        "CREATE TABLE t (a INT) WITH (fillfactor = 100) PARTITION BY list(a)",
    );
}

#[test]
fn pg_schema_elements() {
    round_trips_as(
        "create schema s create table t (a int) grant select on t to r create view v as select a from t",
        "CREATE SCHEMA s CREATE TABLE t (a INT) GRANT SELECT ON t TO r CREATE VIEW v AS SELECT a FROM t",
    );
}

#[test]
fn pg_ctas_columns() {
    round_trips_as(
        "create temp table t (id, x) as select 1, 2",
        "CREATE TEMPORARY TABLE t (id, x) AS SELECT 1, 2",
    );
}

#[test]
fn pg_view_tail() {
    round_trips_as(
        "create view v as select * from t with cascaded check option",
        "CREATE VIEW v AS SELECT * FROM t WITH CASCADED CHECK OPTION",
    );
    round_trips_as(
        "create view v as select * from t with check option",
        "CREATE VIEW v AS SELECT * FROM t WITH CHECK OPTION",
    );
    round_trips_as(
        "create materialized view m as select 1 as a with no data",
        "CREATE MATERIALIZED VIEW m AS SELECT 1 AS a WITH NO DATA",
    );
    round_trips_as(
        "create materialized view m as select 1 as a with data",
        "CREATE MATERIALIZED VIEW m AS SELECT 1 AS a WITH DATA",
    );
}

#[test]
fn pg_comment_on() {
    round_trips_as(
        "comment on constraint c on s.t is 'x'",
        "COMMENT ON CONSTRAINT c ON s.t IS 'x'",
    );
    round_trips_as(
        "comment on trigger g on t is null",
        "COMMENT ON TRIGGER g ON t IS NULL",
    );
    round_trips_as(
        "comment on statistics s.st is 'x'",
        "COMMENT ON STATISTICS s.st IS 'x'",
    );
    round_trips_as(
        "comment on conversion c is 'x'",
        "COMMENT ON CONVERSION c IS 'x'",
    );
}

#[test]
fn pg_like_options() {
    round_trips_as(
        "create table t (like s including all excluding indexes)",
        "CREATE TABLE t (LIKE s INCLUDING ALL EXCLUDING INDEXES)",
    );
}

#[test]
fn pg_alter_routine() {
    round_trips_as(
        "alter procedure p(text) volatile",
        "ALTER PROCEDURE p(TEXT) VOLATILE",
    );
    round_trips_as(
        "alter routine r(int) rename to s",
        "ALTER ROUTINE r(INT) RENAME TO s",
    );
    round_trips_as(
        "alter routine r owner to bob",
        "ALTER ROUTINE r OWNER TO bob",
    );
}

#[test]
fn pg_trigger_args() {
    round_trips_as(
        "create trigger t before insert on s for each row execute procedure f('PS', 1, -2, x)",
        "CREATE TRIGGER t BEFORE INSERT ON s FOR EACH ROW EXECUTE PROCEDURE f('PS', 1, -2, x)",
    );
    round_trips_as(
        "create trigger t after delete on s execute function f()",
        "CREATE TRIGGER t AFTER DELETE ON s EXECUTE FUNCTION f()",
    );
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "create trigger t before insert on s for each row execute function f(g(1))",
        )
        .is_err(),
        "a call is no trigger argument"
    );
}
