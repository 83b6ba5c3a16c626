//! Patches for PostgreSQL's table DDL, continued (topic `tables2`).

use super::{parse_one, round_trips_as};
use sqlparser::ast::Statement;

#[test]
fn pg_column_storage() {
    round_trips_as(
        "create table t (a text storage plain compression pglz, b int compression lz4 not null)",
        "CREATE TABLE t (a TEXT STORAGE plain COMPRESSION pglz, b INT COMPRESSION lz4 NOT NULL)",
    );
}

#[test]
fn pg_table_access_method() {
    round_trips_as(
        "create table t (a int) partition by list (a) using heap2 with (fillfactor = 10)",
        "CREATE TABLE t (a INT) WITH (fillfactor = 10) PARTITION BY list(a) USING heap2",
    );
    round_trips_as(
        "create table p partition of t for values in ('c') using heap",
        "CREATE TABLE p PARTITION OF t FOR VALUES IN ('c') USING heap",
    );
    round_trips_as(
        "create table t using heap as select 1",
        "CREATE TABLE t USING heap AS SELECT 1",
    );
    round_trips_as(
        "create table t () using \"x\"",
        "CREATE TABLE t () USING \"x\"",
    );
    round_trips_as(
        "create temp table t (a int, primary key (a)) without oids",
        "CREATE TEMPORARY TABLE t (a INT, PRIMARY KEY (a)) WITHOUT OIDS",
    );
    round_trips_as(
        "create table t (a) using heap as select 1",
        "CREATE TABLE t (a) USING heap AS SELECT 1",
    );
}

#[test]
fn pg_like_elements() {
    round_trips_as(
        "create table t (x text, like s.src including indexes, y text, like src2)",
        "CREATE TABLE t (x TEXT, LIKE s.src INCLUDING INDEXES, y TEXT, LIKE src2)",
    );
    round_trips_as(
        "create table t (like src, c int, check (c > 0)) inherits (p)",
        "CREATE TABLE t (LIKE src, c INT, CHECK (c > 0)) INHERITS (p)",
    );
    match parse_one("CREATE TABLE t (LIKE a, LIKE b)") {
        Statement::CreateTable(ct) => {
            assert!(ct.like.is_none());
            assert_eq!(ct.like_elements.len(), 2);
        }
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
    // The lone parenthesized form is upstream's.
    match parse_one("CREATE TABLE t (LIKE a INCLUDING ALL)") {
        Statement::CreateTable(ct) => {
            assert!(ct.like.is_some());
            assert!(ct.like_elements.is_empty());
        }
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
}

#[test]
fn pg_partition_opclass() {
    round_trips_as(
        "create table t (a int, b text) partition by hash (a part_test_int4_ops, b s.text_ops)",
        "CREATE TABLE t (a INT, b TEXT) PARTITION BY hash (a part_test_int4_ops, b s.text_ops)",
    );
    round_trips_as(
        "create table t (a int) partition by range (a oid_ops, plusone(b), c collate \"C\")",
        "CREATE TABLE t (a INT) PARTITION BY range (a oid_ops, plusone(b), c COLLATE \"C\")",
    );
    // Without an operator class, the key stays upstream's expression.
    match parse_one("CREATE TABLE t (a int) PARTITION BY RANGE (a)") {
        Statement::CreateTable(ct) => {
            assert!(ct.partition_by.is_some() && ct.partition_spec.is_none())
        }
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "CREATE TABLE t (a int) PARTITION BY RANGE (a int4_ops DESC)"
        )
        .is_err()
    );
}

#[test]
fn pg_create_procedure() {
    round_trips_as(
        "create or replace procedure s.p(int, a text default 'x') language sql as $$ insert into t values (1) $$",
        "CREATE OR REPLACE PROCEDURE s.p(INT, a TEXT = 'x') LANGUAGE sql AS $$ insert into t values (1) $$",
    );
    round_trips_as(
        "create procedure p() language sql security definer set search_path = public as 'select 1'",
        "CREATE PROCEDURE p() LANGUAGE sql SECURITY DEFINER SET search_path = public AS 'select 1'",
    );
    match parse_one("CREATE PROCEDURE p(INOUT a int) BEGIN ATOMIC SELECT 1; END") {
        Statement::CreateFunction(f) => assert!(f.procedure),
        other => panic!("not a CREATE FUNCTION: {other:?}"),
    }
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "CREATE TEMPORARY PROCEDURE p() LANGUAGE sql AS 'select 1'"
        )
        .is_err()
    );
}

#[test]
fn pg_function_attributes() {
    round_trips_as(
        "create function f(text) returns bool language plpgsql strict immutable leakproof cost 0.0000001 rows 3 as 'x'",
        "CREATE FUNCTION f(TEXT) RETURNS BOOL LANGUAGE plpgsql IMMUTABLE STRICT LEAKPROOF COST 0.0000001 ROWS 3 AS 'x'",
    );
    round_trips_as(
        "create function f(int) returns int language internal window not leakproof as 'w'",
        "CREATE FUNCTION f(INT) RETURNS INT LANGUAGE internal WINDOW NOT LEAKPROOF AS 'w'",
    );
}

#[test]
fn pg_function_arg_mode() {
    round_trips_as(
        "create function f(input in bytea, r out text, a variadic int[] default array[]::int[]) as 'x' language sql",
        "CREATE FUNCTION f(IN input BYTEA, OUT r TEXT, VARIADIC a INT[] = ARRAY[]::INT[]) LANGUAGE sql AS 'x'",
    );
}

#[test]
fn pg_merge_source_join() {
    round_trips_as(
        "merge into t using a s1 inner join b s2 on s1.x = s2.x on t.id = s1.x when matched then delete",
        "MERGE INTO t USING (a s1 INNER JOIN b s2 ON s1.x = s2.x) ON t.id = s1.x WHEN MATCHED THEN DELETE",
    );
}

#[test]
fn pg_merge_insert() {
    round_trips_as(
        "merge into t using s on t.a = s.a when not matched then insert default values",
        "MERGE INTO t USING s ON t.a = s.a WHEN NOT MATCHED THEN INSERT DEFAULT VALUES",
    );
    round_trips_as(
        "merge into t using s on t.a = s.a when not matched then insert (a, b) overriding system value values (s.a, 1)",
        "MERGE INTO t USING s ON t.a = s.a WHEN NOT MATCHED THEN INSERT (a, b) OVERRIDING SYSTEM VALUE VALUES (s.a, 1)",
    );
}

#[test]
fn pg_copy_generic_option() {
    round_trips_as(
        "copy t from stdin with (format csv, default '\\D', header match, freeze off, force_quote *, convert_selectively (a, \"B\"), x -1)",
        "COPY t FROM STDIN (FORMAT csv, default '\\D', header match, freeze off, force_quote *, convert_selectively (a, \"B\"), x -1)",
    );
    round_trips_as(
        "copy (select 1) to stdout with (default E'\\n', header)",
        "COPY (SELECT 1) TO STDOUT (default E'\\n', HEADER)",
    );
}

#[test]
fn pg_alter_identity() {
    round_trips_as(
        "alter table t alter column a set generated by default set increment by 2 set start with 100 restart",
        "ALTER TABLE t ALTER COLUMN a SET GENERATED BY DEFAULT SET INCREMENT BY 2 SET START WITH 100 RESTART",
    );
    round_trips_as(
        "alter table t add column c int, alter column c set generated always, alter c restart with 5",
        "ALTER TABLE t ADD COLUMN c INT, ALTER COLUMN c SET GENERATED ALWAYS, ALTER COLUMN c RESTART WITH 5",
    );
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "ALTER TABLE t ALTER COLUMN a SET INCREMENT 2 START 3"
        )
        .is_err()
    );
}

#[test]
fn pg_ctas_execute() {
    round_trips_as(
        "create table if not exists s.t (a) as execute data_sel(1, 'x') with no data",
        "CREATE TABLE IF NOT EXISTS s.t (a) AS EXECUTE data_sel(1, 'x') WITH NO DATA",
    );
    round_trips_as(
        "create temp table t as execute q5",
        "CREATE TEMPORARY TABLE t AS EXECUTE q5",
    );
    match parse_one("CREATE TABLE t AS EXECUTE p") {
        Statement::CreateTable(ct) => {
            assert!(ct.query.is_none());
            assert!(matches!(
                ct.execute.as_deref(),
                Some(Statement::Execute { .. })
            ));
        }
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
}

#[test]
fn pg_copy_where() {
    round_trips_as(
        "copy x (a, b) from stdin with (format csv) where a = max(x.b)",
        "COPY x (a, b) FROM STDIN (FORMAT csv) WHERE a = max(x.b)",
    );
    // Only COPY FROM takes a WHERE.
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "COPY x TO STDOUT WHERE a = 1"
        )
        .is_err()
    );
}

#[test]
fn pg_alter_matview() {
    round_trips_as(
        "alter materialized view s.mv set access method heap2",
        "ALTER MATERIALIZED VIEW s.mv SET ACCESS METHOD heap2",
    );
    round_trips_as(
        "alter materialized view if exists mv set tablespace ts",
        "ALTER MATERIALIZED VIEW IF EXISTS mv SET TABLESPACE ts",
    );
}

#[test]
fn pg_drop_routine() {
    round_trips_as(
        "drop routine if exists f1(int), s.p1() cascade",
        "DROP ROUTINE IF EXISTS f1(INT), s.p1() CASCADE",
    );
    round_trips_as("drop procedure p", "DROP PROCEDURE p");
}

#[test]
fn pg_alter_index_if_exists() {
    round_trips_as(
        "alter index if exists s.i rename to j",
        "ALTER INDEX IF EXISTS s.i RENAME TO j",
    );
}

#[test]
fn pg_fk_set_columns() {
    round_trips_as(
        "create table t (tid int, id int, foreign key (tid, id) references pk on delete set null (id) on update cascade)",
        "CREATE TABLE t (tid INT, id INT, FOREIGN KEY (tid, id) REFERENCES pk ON DELETE SET NULL (id) ON UPDATE CASCADE)",
    );
    round_trips_as(
        "alter table t add foreign key (a, b) references p on delete set default (a)",
        "ALTER TABLE t ADD FOREIGN KEY (a, b) REFERENCES p ON DELETE SET DEFAULT (a)",
    );
}
