//! PostgreSQL utility statements sqlparser reads only in part or not at
//! all: transaction modes (`BEGIN … [NOT] DEFERRABLE`, `START TRANSACTION
//! …`, `SET TRANSACTION …`, `SET SESSION CHARACTERISTICS AS TRANSACTION
//! …`, `SET CONSTRAINTS …`) and cursor movement (`FETCH` and `MOVE` in
//! every direction form PostgreSQL 15 accepts).
//!
//! They name no relation and carry no expression, so a small grammar over
//! sqlparser's tokens reads them exactly, following PostgreSQL's gram.y.
//! The statement loop here offers each statement to that grammar first and
//! hands everything else to sqlparser. A statement the grammar claims by
//! its first words (every `BEGIN`, `START`, `FETCH` and `MOVE`, and `SET`
//! followed by `TRANSACTION`, `SESSION CHARACTERISTICS` or `CONSTRAINTS`)
//! but cannot read completely is a parse error: it never falls through to
//! a looser reading.
//!
//! (sqlparser's `Dialect::parse_statement` hook was the other way in: it
//! must return a sqlparser `Statement`, which has no MOVE, no SET
//! CONSTRAINTS and no DEFERRABLE mode, and a wrapping dialect has to
//! forward some sixty PostgreSqlDialect methods by hand.)

use super::analyze::{
    AnalysisError, Class, SettingAction, SettingUse, StatementInfo, TransactionControl,
};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, Word};

/// One statement of a message, as read.
#[derive(Debug)]
pub enum Parsed {
    Sql(Box<Statement>),
    Utility(Utility),
}

/// A statement read by this module's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Utility {
    /// `BEGIN [WORK | TRANSACTION] [modes]`, `START TRANSACTION [modes]`.
    Begin(Vec<TransactionMode>),
    /// `SET TRANSACTION modes`: the current transaction only.
    SetTransaction(Vec<TransactionMode>),
    /// `SET TRANSACTION SNAPSHOT '…'`: the current (repeatable read)
    /// transaction sees the data another transaction exported.
    SetSnapshot,
    /// `SET SESSION CHARACTERISTICS AS TRANSACTION modes`: the session's
    /// defaults (`default_transaction_*`).
    SessionCharacteristics(Vec<TransactionMode>),
    /// `SET CONSTRAINTS {ALL | name, …} {DEFERRED | IMMEDIATE}`: when the
    /// current transaction checks deferrable constraints.
    SetConstraints,
    /// `FETCH` or `MOVE` ([`CursorRef::Fetch`], [`CursorRef::Move`]).
    Cursor(CursorRef),
    /// `DO [LANGUAGE lang] 'code'`: an anonymous code block, which runs
    /// arbitrary procedural code no analysis can follow (refused by a
    /// built-in rule).
    Do,
    /// DDL on an object of the cluster or the whole database that names no
    /// relation (subscriptions, servers, tablespaces, event triggers, casts,
    /// languages, …): refused by a built-in rule ([`objects`]).
    ClusterObject,
    /// `GRANT`/`REVOKE` on a large object, foreign-data wrapper, foreign
    /// server or language: privileges on cluster or database objects,
    /// refused by the same built-in rule.
    ClusterGrant,
    /// DDL on a schema object that names no relation and carries no
    /// expression (conversions, aggregates, text search objects, domains);
    /// `ownership` when it hands the object to another role (`OWNER TO`).
    SchemaObject { ownership: bool },
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`:
    /// two-phase commit, refused by a built-in rule ([`two_phase`]).
    TwoPhase,
    /// `CREATE ROLE | USER | GROUP name [WITH] options`, `ALTER GROUP`:
    /// role management ([`Class::Roles`]), as sqlparser's role statements.
    Role,
    /// `GRANT`/`REVOKE` on a type or domain: privileges on a schema object
    /// that is no relation ([`Class::Dcl`]).
    SchemaGrant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionMode {
    Isolation(IsolationLevel),
    ReadOnly,
    ReadWrite,
    Deferrable,
    NotDeferrable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

/// A statement's use of a cursor (SQL-level, or a protocol portal, which
/// FETCH and MOVE reach by name too). Names are folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorRef {
    /// `DECLARE name [NO] [SCROLL] CURSOR [WITH HOLD] FOR …`.
    Declare {
        name: String,
        /// `SCROLL` written (the cursor may move backwards).
        scroll: bool,
        /// `WITH HOLD`: the cursor outlives its transaction.
        hold: bool,
    },
    /// `FETCH`: returns the rows it moves over.
    Fetch { name: String, direction: Direction },
    /// `MOVE`: moves like FETCH and returns no rows.
    Move { name: String, direction: Direction },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    Close(Option<String>),
}

impl CursorRef {
    /// The cursor's folded name (`None` for `CLOSE ALL`).
    pub fn name(&self) -> Option<&str> {
        match self {
            CursorRef::Declare { name, .. }
            | CursorRef::Fetch { name, .. }
            | CursorRef::Move { name, .. } => Some(name),
            CursorRef::Close(name) => name.as_deref(),
        }
    }
}

/// A FETCH/MOVE direction. A bare count `n` is `FORWARD n`, no direction
/// is `NEXT`; counts may be negative (the other way), as in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Next,
    Prior,
    First,
    Last,
    Absolute(i32),
    Relative(i32),
    Forward(i32),
    /// `ALL`, `FORWARD ALL`.
    ForwardAll,
    Backward(i32),
    BackwardAll,
}

impl Direction {
    /// The most rows a FETCH in this direction can return; `None` for ALL.
    /// A count of 0 re-fetches the current row.
    pub fn max_rows(self) -> Option<u64> {
        match self {
            Direction::ForwardAll | Direction::BackwardAll => None,
            Direction::Forward(n) | Direction::Backward(n) => {
                Some(u64::from(n.unsigned_abs()).max(1))
            }
            _ => Some(1),
        }
    }
}

impl Utility {
    /// What the policy needs to know about the statement.
    pub fn info(&self) -> StatementInfo {
        let mut info = StatementInfo::default();
        match self {
            Utility::Begin(_) => {
                info.classes.push(Class::Transaction);
                info.transaction = Some(TransactionControl::Begin);
            }
            Utility::SetTransaction(_) | Utility::SetSnapshot | Utility::SetConstraints => {
                info.classes.push(Class::Transaction);
                info.transaction = Some(TransactionControl::Other);
            }
            Utility::SessionCharacteristics(modes) => {
                info.classes.push(Class::Session);
                info.settings = modes.iter().map(|m| session_default(*m)).collect();
                info.settings.sort();
                info.settings.dedup();
            }
            Utility::Cursor(c) => {
                info.classes.push(Class::Cursor);
                match c {
                    // Reads a cursor whose query was judged at DECLARE.
                    CursorRef::Fetch { .. } => {
                        info.returns_rows = true;
                        info.wrappers.push(Class::Cursor);
                    }
                    // Like CLOSE: moves the session's own cursor, returns
                    // no rows (drivers send it on their own).
                    _ => info.housekeeping = true,
                }
                info.cursor = Some(c.clone());
            }
            Utility::ClusterObject => {
                info.classes.push(Class::Ddl);
                info.cluster_level = true;
            }
            Utility::ClusterGrant => {
                info.classes.push(Class::Dcl);
                info.cluster_level = true;
            }
            Utility::SchemaObject { ownership } => {
                info.classes.push(Class::Ddl);
                if *ownership {
                    info.classes.push(Class::Ownership);
                }
            }
            Utility::Do => {
                info.classes.push(Class::Call);
                info.code_block = true;
            }
            Utility::Role => info.classes.push(Class::Roles),
            Utility::SchemaGrant => info.classes.push(Class::Dcl),
            Utility::TwoPhase => {
                info.classes.push(Class::Transaction);
                info.transaction = Some(TransactionControl::Other);
                info.two_phase = true;
            }
        }
        info
    }
}

/// The session default a `SET SESSION CHARACTERISTICS` mode sets. Only
/// READ ONLY narrows the pinned `default_transaction_read_only`; READ
/// WRITE would widen it (refused as pinned), isolation and deferrability
/// are ordinary settings the driver profile allows.
fn session_default(mode: TransactionMode) -> SettingUse {
    let (name, action) = match mode {
        TransactionMode::ReadOnly => ("default_transaction_read_only", SettingAction::Narrow),
        TransactionMode::ReadWrite => ("default_transaction_read_only", SettingAction::Set),
        TransactionMode::Isolation(_) => ("default_transaction_isolation", SettingAction::Set),
        TransactionMode::Deferrable | TransactionMode::NotDeferrable => {
            ("default_transaction_deferrable", SettingAction::Set)
        }
    };
    SettingUse {
        name: name.into(),
        action,
    }
}

/// Splits `sql` into statements and reads each, as sqlparser's
/// `parse_statements` does but offering every statement to [`claim`]
/// first.
pub fn parse(sql: &str, recursion_limit: usize) -> Result<Vec<Parsed>, AnalysisError> {
    let parse_error = |e: ParserError| AnalysisError::Parse(e.to_string());
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(recursion_limit)
        .try_with_sql(sql)
        .map_err(parse_error)?;
    let mut out = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while parser.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        if parser.peek_token_ref().token == Token::EOF {
            break;
        }
        // sqlparser stops at an END after a statement instead; PostgreSQL
        // would refuse the message, and so does this.
        if expecting_delimiter {
            return parser
                .expected_ref("end of statement", parser.peek_token_ref())
                .map_err(parse_error);
        }
        match utility(&mut parser) {
            Some(Ok(u)) => out.push(Parsed::Utility(u)),
            Some(Err(e)) => return Err(AnalysisError::Parse(e)),
            None => out.push(Parsed::Sql(Box::new(
                parser.parse_statement().map_err(parse_error)?,
            ))),
        }
        expecting_delimiter = true;
    }
    Ok(out)
}

/// Reads the statement at the parser's position with [`claim`]; leaves the
/// position untouched when the statement is not one of this module's.
fn utility(parser: &mut Parser<'_>) -> Option<Result<Utility, String>> {
    // The hot path: most statements are not ours; decide without allocating.
    let Token::Word(first) = &parser.peek_token_ref().token else {
        return None;
    };
    let ours = [
        "BEGIN", "START", "FETCH", "MOVE", "SET", "DO", "CREATE", "ALTER", "DROP", "REASSIGN",
        "GRANT", "REVOKE", "PREPARE", "COMMIT", "ROLLBACK", "SECURITY", "IMPORT",
    ];
    if first.quote_style.is_some() || !ours.iter().any(|k| first.value.eq_ignore_ascii_case(k)) {
        return None;
    }
    let claimed = parser.try_parse(|p| {
        let mut tokens = Vec::new();
        while !matches!(p.peek_token_ref().token, Token::SemiColon | Token::EOF) {
            tokens.push(p.next_token().token);
        }
        claim(&tokens).ok_or_else(|| ParserError::ParserError(String::new()))
    });
    claimed.ok()
}

/// Reads one statement's tokens (without the delimiter): `None` when they
/// are not a statement this module reads.
pub fn claim(tokens: &[Token]) -> Option<Result<Utility, String>> {
    let (first, rest) = tokens.split_first()?;
    let first = keyword(first)?;
    let r = match first.as_str() {
        "BEGIN" => begin(rest),
        "START" => start(rest),
        "FETCH" => cursor(rest)
            .map(|(name, direction)| CursorRef::Fetch { name, direction })
            .map(Utility::Cursor),
        "MOVE" => cursor(rest)
            .map(|(name, direction)| CursorRef::Move { name, direction })
            .map(Utility::Cursor),
        "SET" => return set(rest),
        "DO" => do_block(rest),
        "CREATE" | "ALTER" | "DROP" | "REASSIGN" | "SECURITY" | "IMPORT" => {
            return objects::claim(&first, rest);
        }
        "GRANT" | "REVOKE" => return objects::grant(rest),
        "PREPARE" | "COMMIT" | "ROLLBACK" => return two_phase::claim(&first, rest),
        _ => return None,
    };
    Some(r)
}

/// An unquoted word, upper-cased.
fn keyword(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn is(t: Option<&Token>, word: &str) -> bool {
    t.and_then(keyword).is_some_and(|k| k == word)
}

fn fail<T>(what: &str, tokens: &[Token]) -> Result<T, String> {
    let near = tokens
        .first()
        .map_or_else(|| "end of statement".to_owned(), |t| format!("{t}"));
    Err(format!("expected {what}, found {near}"))
}

fn begin(t: &[Token]) -> Result<Utility, String> {
    let t = match t.first() {
        Some(w) if is(Some(w), "WORK") || is(Some(w), "TRANSACTION") => &t[1..],
        _ => t,
    };
    Ok(Utility::Begin(modes(t, false)?))
}

fn start(t: &[Token]) -> Result<Utility, String> {
    if !is(t.first(), "TRANSACTION") {
        return fail("TRANSACTION after START", t);
    }
    Ok(Utility::Begin(modes(&t[1..], false)?))
}

/// `SET [LOCAL | SESSION] TRANSACTION …`, `SET [LOCAL | SESSION] SESSION
/// CHARACTERISTICS AS TRANSACTION …`, `SET CONSTRAINTS …`.
fn set(t: &[Token]) -> Option<Result<Utility, String>> {
    if is(t.first(), "CONSTRAINTS") && !matches!(t.get(1), Some(Token::Eq)) && !is(t.get(1), "TO") {
        return Some(constraints(&t[1..]));
    }
    let scoped = is(t.first(), "LOCAL") || is(t.first(), "SESSION");
    for t in [t, if scoped { &t[1..] } else { t }] {
        if is(t.first(), "TRANSACTION") {
            return Some(transaction(&t[1..]));
        }
        if is(t.first(), "SESSION") && is(t.get(1), "CHARACTERISTICS") {
            let t = &t[2..];
            if !(is(t.first(), "AS") && is(t.get(1), "TRANSACTION")) {
                return Some(fail("AS TRANSACTION", t));
            }
            return Some(modes(&t[2..], true).map(Utility::SessionCharacteristics));
        }
    }
    None
}

fn transaction(t: &[Token]) -> Result<Utility, String> {
    if is(t.first(), "SNAPSHOT") {
        return match &t[1..] {
            [
                Token::SingleQuotedString(_)
                | Token::EscapedStringLiteral(_)
                | Token::DollarQuotedString(_),
            ] => Ok(Utility::SetSnapshot),
            rest => fail("a snapshot identifier string", rest),
        };
    }
    modes(t, true).map(Utility::SetTransaction)
}

/// PostgreSQL's `transaction_mode_list`: modes separated by commas or
/// blanks, or nothing when `required` is false.
fn modes(mut t: &[Token], required: bool) -> Result<Vec<TransactionMode>, String> {
    let mut out = Vec::new();
    if t.is_empty() && !required {
        return Ok(out);
    }
    loop {
        let (mode, used) = mode(t)?;
        out.push(mode);
        t = &t[used..];
        match t.first() {
            None => return Ok(out),
            Some(Token::Comma) => t = &t[1..],
            Some(_) => {}
        }
    }
}

fn mode(t: &[Token]) -> Result<(TransactionMode, usize), String> {
    let words: Vec<String> = t.iter().take(3).map_while(keyword).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    use IsolationLevel as L;
    use TransactionMode as M;
    Ok(match words.as_slice() {
        ["ISOLATION", "LEVEL", ..] => {
            let level = match t[2..] {
                [ref a, ref b, ..] if is(Some(a), "READ") && is(Some(b), "UNCOMMITTED") => {
                    (L::ReadUncommitted, 2)
                }
                [ref a, ref b, ..] if is(Some(a), "READ") && is(Some(b), "COMMITTED") => {
                    (L::ReadCommitted, 2)
                }
                [ref a, ref b, ..] if is(Some(a), "REPEATABLE") && is(Some(b), "READ") => {
                    (L::RepeatableRead, 2)
                }
                [ref a, ..] if is(Some(a), "SERIALIZABLE") => (L::Serializable, 1),
                _ => return fail("an isolation level", &t[2..]),
            };
            (M::Isolation(level.0), 2 + level.1)
        }
        ["READ", "ONLY", ..] => (M::ReadOnly, 2),
        ["READ", "WRITE", ..] => (M::ReadWrite, 2),
        ["DEFERRABLE", ..] => (M::Deferrable, 1),
        ["NOT", "DEFERRABLE", ..] => (M::NotDeferrable, 2),
        _ => return fail("a transaction mode", t),
    })
}

/// `{ALL | name [, …]} {DEFERRED | IMMEDIATE}`; names may be qualified.
fn constraints(t: &[Token]) -> Result<Utility, String> {
    let Some((last, names)) = t.split_last() else {
        return fail("ALL or constraint names", t);
    };
    if !(is(Some(last), "DEFERRED") || is(Some(last), "IMMEDIATE")) {
        return fail("DEFERRED or IMMEDIATE", std::slice::from_ref(last));
    }
    if let [all] = names
        && is(Some(all), "ALL")
    {
        return Ok(Utility::SetConstraints);
    }
    // name ('.' name)* (',' name ('.' name)*)*
    let mut expect_name = true;
    for tok in names {
        match (expect_name, tok) {
            (true, Token::Word(w)) if !reserved(w) => expect_name = false,
            (false, Token::Period | Token::Comma) => expect_name = true,
            _ => return fail("a constraint name", std::slice::from_ref(tok)),
        }
    }
    if expect_name {
        return fail("a constraint name", &[]);
    }
    Ok(Utility::SetConstraints)
}

/// Words that cannot be an unquoted name here (the grammar's own).
fn reserved(w: &Word) -> bool {
    w.quote_style.is_none()
        && matches!(
            w.keyword,
            Keyword::ALL | Keyword::DEFERRED | Keyword::IMMEDIATE
        )
}

/// `[direction] [FROM | IN] name` for FETCH and MOVE. The name is the
/// last word: `FETCH next` fetches from a cursor named `next`, as in
/// PostgreSQL, where NEXT, PRIOR, FIRST, LAST, FORWARD, BACKWARD,
/// ABSOLUTE and RELATIVE are unreserved.
fn cursor(t: &[Token]) -> Result<(String, Direction), String> {
    let Some((Token::Word(name), rest)) = t.split_last() else {
        return fail("a cursor name", t);
    };
    let name = match name.quote_style {
        Some(_) => name.value.clone(),
        None if matches!(name.keyword, Keyword::FROM | Keyword::IN | Keyword::ALL) => {
            return fail("a cursor name", t);
        }
        None => name.value.to_ascii_lowercase(),
    };
    let rest = match rest.split_last() {
        Some((last, before)) if is(Some(last), "FROM") || is(Some(last), "IN") => before,
        _ => rest,
    };
    let direction = match rest {
        [] => Direction::Next,
        [w] if is(Some(w), "NEXT") => Direction::Next,
        [w] if is(Some(w), "PRIOR") => Direction::Prior,
        [w] if is(Some(w), "FIRST") => Direction::First,
        [w] if is(Some(w), "LAST") => Direction::Last,
        [w] if is(Some(w), "ALL") => Direction::ForwardAll,
        [w] if is(Some(w), "FORWARD") => Direction::Forward(1),
        [w] if is(Some(w), "BACKWARD") => Direction::Backward(1),
        [w, a] if is(Some(w), "FORWARD") && is(Some(a), "ALL") => Direction::ForwardAll,
        [w, a] if is(Some(w), "BACKWARD") && is(Some(a), "ALL") => Direction::BackwardAll,
        [w, n @ ..] if is(Some(w), "ABSOLUTE") => Direction::Absolute(count(n)?),
        [w, n @ ..] if is(Some(w), "RELATIVE") => Direction::Relative(count(n)?),
        [w, n @ ..] if is(Some(w), "FORWARD") => Direction::Forward(count(n)?),
        [w, n @ ..] if is(Some(w), "BACKWARD") => Direction::Backward(count(n)?),
        n => Direction::Forward(count(n)?),
    };
    Ok((name, direction))
}

/// `DO` options (gram.y's `dostmt_opt_list`): one code string and at
/// most one `LANGUAGE name`, in either order.
fn do_block(mut t: &[Token]) -> Result<Utility, String> {
    let string = |t: &Token| {
        matches!(
            t,
            Token::SingleQuotedString(_)
                | Token::EscapedStringLiteral(_)
                | Token::UnicodeStringLiteral(_)
                | Token::DollarQuotedString(_)
        )
    };
    let (mut code, mut language) = (false, false);
    while let Some(first) = t.first() {
        if string(first) && !code {
            code = true;
            t = &t[1..];
        } else if is(Some(first), "LANGUAGE") && !language {
            match t.get(1) {
                Some(Token::Word(_)) => {}
                Some(s) if string(s) => {}
                _ => return fail("a language name", &t[1..]),
            }
            language = true;
            t = &t[2..];
        } else {
            return fail("a code string or LANGUAGE", t);
        }
    }
    if !code {
        return fail("a code string", t);
    }
    Ok(Utility::Do)
}

/// PostgreSQL's `SignedIconst`: an optionally signed integer that fits in
/// 32 bits.
fn count(t: &[Token]) -> Result<i32, String> {
    let (negative, digits) = match t {
        [Token::Number(d, false)] => (false, d),
        [Token::Plus, Token::Number(d, false)] => (false, d),
        [Token::Minus, Token::Number(d, false)] => (true, d),
        _ => return fail("a direction and cursor name", t),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return fail("an integer count", t);
    }
    let n: i32 = digits
        .parse()
        .map_err(|_| format!("count {digits} is out of range"))?;
    Ok(if negative { -n } else { n })
}

mod objects;
mod two_phase;

#[cfg(test)]
#[path = "utility_tests.rs"]
mod tests;
