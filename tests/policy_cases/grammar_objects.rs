//! Object and transaction statements read since issue 14's objects group:
//! each is understood, and refused where it is not the agent's.

use super::*;

/// `grantor` may do DDL on `orders` only (and read it).
const G: &str = "grantor";

/// Two-phase commit: a prepared transaction outlives the session and
/// keeps its locks; refused for everyone, in each spelling PostgreSQL
/// accepts. `PREPARE transaction AS …` is still a prepared statement, and
/// a malformed form is a parse error.
#[test]
fn two_phase_commit_is_refused() {
    check(&[
        (T, "PREPARE TRANSACTION 'foo1'", "two_phase_commit_denied"),
        (T, "COMMIT PREPARED 'foo1'", "two_phase_commit_denied"),
        (
            T,
            "ROLLBACK PREPARED 'regress-one'",
            "two_phase_commit_denied",
        ),
        (T, "prepare transaction E'x\\'y'", "two_phase_commit_denied"),
        (T, "COMMIT PREPARED $$x$$", "two_phase_commit_denied"),
        (A, "PREPARE TRANSACTION 'x'", "two_phase_commit_denied"),
        (S, "COMMIT PREPARED 'x'", "two_phase_commit_denied"),
        (G, "ROLLBACK PREPARED 'x'", "two_phase_commit_denied"),
        (
            "role-admin",
            "PREPARE TRANSACTION 'x'",
            "two_phase_commit_denied",
        ),
        (T, "PREPARE TRANSACTION 'x' 'y'", "parse_error"),
        (T, "PREPARE TRANSACTION", "deny"),
        (T, "COMMIT PREPARED", "parse_error"),
        (T, "COMMIT PREPARED x", "parse_error"),
        (T, "ROLLBACK PREPARED 'x', 'y'", "parse_error"),
        // Ordinary transaction control is untouched.
        (T, "COMMIT", "allow"),
        (T, "ROLLBACK", "allow"),
        (A, "PREPARE transaction AS SELECT 1", "allow"),
    ]);
}

/// `CREATE DOMAIN` in PostgreSQL's every order, with or without `AS`:
/// schema DDL, refused to a read-only agent; a function in a default or
/// check is judged.
#[test]
fn create_domain_is_read() {
    check(&[
        (
            G,
            "create domain positiveint int4 check(value > 0)",
            "allow",
        ),
        (G, "create domain str_domain as text not null", "allow"),
        (
            G,
            "create domain d2 as text check (value <> 'foo') default 'foo'",
            "allow",
        ),
        (
            G,
            "create domain d int NOT NULL DEFAULT pg_read_file('x')::int",
            "function_not_allowed",
        ),
        (
            G,
            "create domain d text check (pg_read_file(value) IS NULL) not null",
            "function_not_allowed",
        ),
        (
            A,
            "create domain positiveint int4 check(value > 0)",
            "statement_class_denied",
        ),
        (
            A,
            "create domain d as text not null",
            "statement_class_denied",
        ),
        (T, "CREATE DOMAIN d int DEFAULT 1 DEFAULT 2", "parse_error"),
    ]);
}

/// `ALTER DOMAIN … ADD CONSTRAINT … CHECK` and `SET DEFAULT`: schema DDL;
/// a function in the expression is judged.
#[test]
fn alter_domain_expressions_are_read() {
    check(&[
        (
            G,
            "alter domain con add constraint t check (VALUE < 34)",
            "allow",
        ),
        (G, "ALTER DOMAIN d ADD CHECK (VALUE > 0) NOT VALID", "allow"),
        (G, "alter domain ddef1 set default '42'", "allow"),
        (
            G,
            "ALTER DOMAIN d ADD CONSTRAINT c CHECK (pg_read_file('x') IS NULL)",
            "function_not_allowed",
        ),
        (
            G,
            "ALTER DOMAIN d SET DEFAULT pg_read_file('x')",
            "function_not_allowed",
        ),
        (
            A,
            "alter domain con add constraint t check (VALUE < 34)",
            "statement_class_denied",
        ),
        (
            A,
            "alter domain ddef1 set default '42'",
            "statement_class_denied",
        ),
        (T, "ALTER DOMAIN d ADD", "parse_error"),
    ]);
}
