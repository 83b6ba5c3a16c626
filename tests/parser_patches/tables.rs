//! Patches for PostgreSQL's table and index DDL (topic `tables`).

use super::{parse_one, round_trips_as};
use sqlparser::ast::Statement;

#[test]
fn pg_index_on_only() {
    round_trips_as(
        "create index i on only s.t (a)",
        "CREATE INDEX i ON ONLY s.t(a)",
    );
    round_trips_as(
        "create unique index on only t using btree ((b + a)) where a > 1",
        "CREATE UNIQUE INDEX ON ONLY t USING BTREE ((b + a)) WHERE a > 1",
    );
    match parse_one("CREATE INDEX i ON t (a)") {
        Statement::CreateIndex(ci) => assert!(!ci.only),
        other => panic!("not a CREATE INDEX: {other:?}"),
    }
}

#[test]
fn pg_index_tablespace() {
    round_trips_as(
        "create index i on s.t (a) with (fillfactor = 10) tablespace ts where a > 0",
        "CREATE INDEX i ON s.t(a) WITH (fillfactor = 10) TABLESPACE ts WHERE a > 0",
    );
}

#[test]
fn pg_opclass_params() {
    round_trips_as(
        "create index on t using gist (i tsvector_ops (siglen='1000'), j tsvector_ops)",
        "CREATE INDEX ON t USING GIST (i tsvector_ops(siglen = '1000'), j tsvector_ops)",
    );
}

#[test]
fn pg_drop_index_concurrently() {
    round_trips_as(
        "drop index concurrently if exists \"i\"",
        "DROP INDEX CONCURRENTLY IF EXISTS \"i\"",
    );
    round_trips_as("drop index i, s.j cascade", "DROP INDEX i, s.j CASCADE");
}

#[test]
fn pg_typed_table() {
    round_trips_as(
        "create table if not exists s.t of s.ty",
        "CREATE TABLE IF NOT EXISTS s.t OF s.ty",
    );
    round_trips_as(
        "create table t of ty (a with options not null, b default 1, check (a > b))",
        "CREATE TABLE t OF ty (a NOT NULL, b DEFAULT 1, CHECK (a > b))",
    );
    match parse_one("CREATE TABLE t OF ty") {
        Statement::CreateTable(ct) => {
            assert_eq!(ct.of_type.map(|t| t.to_string()).as_deref(), Some("ty"));
            assert!(ct.columns.is_empty());
        }
        other => panic!("not a CREATE TABLE: {other:?}"),
    }
}

#[test]
fn pg_alter_table_star() {
    round_trips_as(
        "alter table e_star* rename column e to ee",
        "ALTER TABLE e_star* RENAME COLUMN e TO ee",
    );
    round_trips_as(
        "ALTER TABLE s.a_star* ADD COLUMN a text",
        "ALTER TABLE s.a_star* ADD COLUMN a TEXT",
    );
}

#[test]
fn pg_alter_index_tablespace() {
    round_trips_as(
        "alter index s.i set tablespace pg_default",
        "ALTER INDEX s.i SET TABLESPACE pg_default",
    );
}
