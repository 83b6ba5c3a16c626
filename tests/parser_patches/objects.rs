//! Patches for PostgreSQL's object statements (topic `objects`).

use super::{parse_one, round_trips_as};
use sqlparser::ast::Statement;

#[test]
fn pg_create_domain() {
    round_trips_as(
        "create domain positiveint int4 check(value > 0)",
        "CREATE DOMAIN positiveint AS INT4 CHECK (value > 0)",
    );
    round_trips_as(
        "create domain str_domain as text not null",
        "CREATE DOMAIN str_domain AS TEXT NOT NULL",
    );
    round_trips_as(
        "create domain dnull varchar(15) NULL",
        "CREATE DOMAIN dnull AS VARCHAR(15) NULL",
    );
    // Any order; printed in a fixed one.
    round_trips_as(
        "create domain d2 as text check (value <> 'foo') default 'foo'",
        "CREATE DOMAIN d2 AS TEXT DEFAULT 'foo' CHECK (value <> 'foo')",
    );
    round_trips_as(
        "create domain ddef5 numeric(8,2) NOT NULL DEFAULT '12.12'",
        "CREATE DOMAIN ddef5 AS NUMERIC(8,2) DEFAULT '12.12' NOT NULL",
    );
    round_trips_as(
        "create domain ddef4 int4 DEFAULT nextval('ddef4_seq') NOT NULL CHECK (value > 0)",
        "CREATE DOMAIN ddef4 AS INT4 DEFAULT nextval('ddef4_seq') NOT NULL CHECK (value > 0)",
    );
    match parse_one("CREATE DOMAIN d int NOT NULL") {
        Statement::CreateDomain(d) => assert_eq!(d.not_null, Some(true)),
        other => panic!("not a CREATE DOMAIN: {other:?}"),
    }
    // Each of DEFAULT and [NOT] NULL at most once.
    for sql in [
        "CREATE DOMAIN d int DEFAULT 1 DEFAULT 2",
        "CREATE DOMAIN d int NOT NULL NULL",
    ] {
        assert!(
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql)
                .is_err(),
            "{sql:?} parses"
        );
    }
}

#[test]
fn pg_alter_domain() {
    round_trips_as(
        "alter domain con add constraint t check (VALUE < 34)",
        "ALTER DOMAIN con ADD CONSTRAINT t CHECK (VALUE < 34)",
    );
    round_trips_as(
        "alter domain con add check (VALUE > 0)",
        "ALTER DOMAIN con ADD CHECK (VALUE > 0)",
    );
    round_trips_as(
        "ALTER DOMAIN things ADD CONSTRAINT meow CHECK (VALUE < 11) NOT VALID",
        "ALTER DOMAIN things ADD CONSTRAINT meow CHECK (VALUE < 11) NOT VALID",
    );
    round_trips_as(
        "alter domain s.ddef1 set default '42'",
        "ALTER DOMAIN s.ddef1 SET DEFAULT '42'",
    );
    match parse_one("ALTER DOMAIN d SET DEFAULT f(1)") {
        Statement::AlterDomain(d) => assert_eq!(d.name.to_string(), "d"),
        other => panic!("not an ALTER DOMAIN: {other:?}"),
    }
}
