//! One test per patch to the vendored sqlparser (vendor/sqlparser/PATCHES.md):
//! each names its patch, parses PostgreSQL's syntax with the PostgreSQL
//! dialect, and checks the tree sqlparser builds and prints back.

mod ddl;
mod exprs;
mod jsonxml;
mod objects;
mod operators;
mod queries;
mod tables;
mod tables2;

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// Parses `sql` (one statement) with the PostgreSQL dialect, panicking with
/// the parser's error when it cannot.
pub fn parse_one(sql: &str) -> Statement {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .unwrap_or_else(|error| panic!("{sql:?} does not parse: {error}"));
    assert_eq!(statements.len(), 1, "{sql:?} is not one statement");
    statements.remove(0)
}

/// Parses `sql` and checks that the tree prints back as `expected`, then that
/// the printed form parses to the same tree (so the patch round-trips).
pub fn round_trips_as(sql: &str, expected: &str) {
    let statement = parse_one(sql);
    assert_eq!(
        statement.to_string(),
        expected,
        "{sql:?} prints differently"
    );
    assert_eq!(
        parse_one(expected),
        statement,
        "{expected:?} parses differently"
    );
}

/// The harness itself: an unpatched statement parses and prints back as
/// upstream prints it.
#[test]
fn unpatched_statement_round_trips() {
    round_trips_as("select a from t where b = 1", "SELECT a FROM t WHERE b = 1");
}
