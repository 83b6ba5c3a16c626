//! Two-phase commit (gram.y's `TransactionStmt`): `PREPARE TRANSACTION
//! 'gid'`, `COMMIT PREPARED 'gid'`, `ROLLBACK PREPARED 'gid'`. A prepared
//! transaction outlives the session that prepared it and keeps its locks
//! until someone finishes it, and COMMIT/ROLLBACK PREPARED finish another
//! session's work: all three are refused by a built-in rule.
//!
//! Only these exact forms are claimed. `PREPARE transaction AS …` (a
//! prepared statement named "transaction") and every other `COMMIT` and
//! `ROLLBACK` stay sqlparser's.

use super::{Utility, fail, is};
use sqlparser::tokenizer::Token;

/// Claims `verb rest…` when it is a two-phase commit statement.
pub(super) fn claim(verb: &str, rest: &[Token]) -> Option<Result<Utility, String>> {
    match verb {
        // `PREPARE TRANSACTION` followed by a string: a name followed by
        // AS or `(` is a prepared statement (PostgreSQL decides on the
        // token after TRANSACTION too).
        "PREPARE" if is(rest.first(), "TRANSACTION") && rest.get(1).is_some_and(string) => {}
        "COMMIT" | "ROLLBACK" if is(rest.first(), "PREPARED") => {}
        _ => return None,
    }
    Some(gid(&rest[1..]))
}

/// PostgreSQL's `Sconst` as the statement's only remaining token.
fn gid(t: &[Token]) -> Result<Utility, String> {
    match t {
        [s] if string(s) => Ok(Utility::TwoPhase),
        [s, ..] if string(s) => fail("end of statement", &t[1..]),
        _ => fail("a transaction identifier string", t),
    }
}

/// A string constant (gram.y's `Sconst`): plain, `E''`, `U&''` or
/// dollar-quoted.
fn string(t: &Token) -> bool {
    matches!(
        t,
        Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::DollarQuotedString(_)
    )
}
