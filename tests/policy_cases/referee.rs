//! The referee (src/policy/referee.rs): PostgreSQL's own parser reads every
//! statement again. Ordinary SQL must pass it (the syntax PostgreSQL's
//! grammar turns into calls of its own must not read as a disagreement),
//! and text the two parsers cannot agree on is refused.

use super::*;

/// SQL-standard syntax PostgreSQL's grammar writes as `pg_catalog` calls
/// (EXTRACT, AT TIME ZONE, SUBSTRING … FROM, TRIM, POSITION, OVERLAY,
/// LIKE … ESCAPE, SIMILAR TO, OVERLAPS), and calls sqlparser reads as
/// syntax (substr, substring with commas, ceil, floor): both parsers agree.
#[test]
fn standard_syntax_passes_the_referee() {
    check(&[
        (
            A,
            "SELECT extract(year FROM created_at), created_at AT TIME ZONE 'UTC' FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT substring(status FROM 1 FOR 3), position('a' IN status), trim(both ' ' FROM status), overlay(status PLACING 'x' FROM 1) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT id FROM orders WHERE status LIKE 'a!%' ESCAPE '!' OR status SIMILAR TO 'p%'",
            "allow",
        ),
        (
            A,
            "SELECT (DATE '2024-01-01', DATE '2024-02-01') OVERLAPS (created_at, created_at)  FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT substr(status, 1, 2), substring(status, 2), ceil(total_cents / 100.0), floor(total_cents / 100.0) FROM orders",
            "allow",
        ),
        // The calls sqlparser reads as syntax are still calls: a function
        // the agent may not call is found in them.
        (
            A,
            "SELECT substr(pg_read_file('x'), 1) FROM orders",
            "function_not_allowed",
        ),
        (T, "SET CONSTRAINTS ALL DEFERRED", "allow"),
        (T, "ANALYZE orders", "allow|statement_class_denied"),
    ]);
}

/// Text PostgreSQL's parser rejects is refused with PostgreSQL's error,
/// even where sqlparser alone reads something into it (adjacent string
/// constants on one line, a number with trailing letters, a bare exponent).
#[test]
fn text_postgresql_rejects_is_refused() {
    check(&[
        (A, "SELECT 'a' 'b' FROM orders", "parse_error"),
        (A, "SELECT id FROM orders WHERE id = 1e", "parse_error"),
        (A, "SELECT 123abc FROM orders", "parse_error"),
        (
            A,
            "SELECT 1 AS x$$ FROM orders WHERE $$=$$ FROM customers",
            "parse_error",
        ),
        (A, "SELEC id FROM orders", "parse_error"),
    ]);
}

/// What PostgreSQL accepts but actgate's parser does not read is refused
/// (`parse_error`, saying PostgreSQL accepts it), never forwarded.
#[test]
fn text_only_postgresql_reads_is_refused() {
    check(&[(
        A,
        "SELECT id FROM orders WHERE status = 'sh'\n'ipped'",
        "parse_error",
    )]);
}
