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
    let ours = ["BEGIN", "START", "FETCH", "MOVE", "SET"];
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

#[cfg(test)]
mod tests {
    use super::*;
    use Direction as D;
    use IsolationLevel as L;
    use TransactionMode as M;

    fn read(sql: &str) -> Result<Vec<Parsed>, AnalysisError> {
        parse(sql, 50)
    }

    fn one(sql: &str) -> Utility {
        match read(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .as_slice()
        {
            [Parsed::Utility(u)] => u.clone(),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn refused(sql: &str) {
        assert!(
            matches!(read(sql), Err(AnalysisError::Parse(_))),
            "{sql}: {:?}",
            read(sql)
        );
    }

    fn moved(sql: &str) -> (String, Direction) {
        match one(sql) {
            Utility::Cursor(CursorRef::Fetch { name, direction })
            | Utility::Cursor(CursorRef::Move { name, direction }) => (name, direction),
            other => panic!("{sql}: {other:?}"),
        }
    }

    #[test]
    fn begin_and_start_with_every_mode() {
        assert_eq!(one("BEGIN"), Utility::Begin(vec![]));
        assert_eq!(one("begin work"), Utility::Begin(vec![]));
        assert_eq!(one("BEGIN TRANSACTION"), Utility::Begin(vec![]));
        assert_eq!(one("START TRANSACTION"), Utility::Begin(vec![]));
        assert_eq!(
            one("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"),
            Utility::Begin(vec![
                M::Isolation(L::Serializable),
                M::ReadOnly,
                M::Deferrable
            ])
        );
        assert_eq!(
            one("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ WRITE NOT DEFERRABLE"),
            Utility::Begin(vec![
                M::Isolation(L::RepeatableRead),
                M::ReadWrite,
                M::NotDeferrable
            ])
        );
        assert_eq!(
            one("start transaction read only, deferrable"),
            Utility::Begin(vec![M::ReadOnly, M::Deferrable])
        );
        assert_eq!(
            one("BEGIN WORK ISOLATION LEVEL READ COMMITTED"),
            Utility::Begin(vec![M::Isolation(L::ReadCommitted)])
        );
        assert_eq!(
            one("BEGIN ISOLATION LEVEL READ UNCOMMITTED"),
            Utility::Begin(vec![M::Isolation(L::ReadUncommitted)])
        );
        for bad in [
            "BEGIN TRAN",
            "BEGIN DEFERRED",
            "BEGIN READ",
            "BEGIN ISOLATION LEVEL SNAPSHOT",
            "BEGIN ISOLATION LEVEL",
            "BEGIN , READ ONLY",
            "BEGIN READ ONLY,",
            "BEGIN READ ONLY,, DEFERRABLE",
            "BEGIN \"READ\" ONLY",
            "START",
            "START READ ONLY",
            "BEGIN; SELECT 1 FROM",
            "BEGIN READ ONLY SELECT 1",
        ] {
            refused(bad);
        }
    }

    #[test]
    fn set_transaction_forms() {
        assert_eq!(
            one("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"),
            Utility::SetTransaction(vec![
                M::Isolation(L::Serializable),
                M::ReadOnly,
                M::Deferrable
            ])
        );
        assert_eq!(
            one("SET LOCAL TRANSACTION READ WRITE"),
            Utility::SetTransaction(vec![M::ReadWrite])
        );
        assert_eq!(
            one("SET SESSION TRANSACTION NOT DEFERRABLE"),
            Utility::SetTransaction(vec![M::NotDeferrable])
        );
        assert_eq!(
            one("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'"),
            Utility::SetSnapshot
        );
        assert_eq!(
            one("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE"),
            Utility::SessionCharacteristics(vec![M::ReadOnly, M::Deferrable])
        );
        assert_eq!(
            one("set local session characteristics as transaction isolation level serializable"),
            Utility::SessionCharacteristics(vec![M::Isolation(L::Serializable)])
        );
        for sql in [
            "SET CONSTRAINTS ALL DEFERRED",
            "SET CONSTRAINTS ALL IMMEDIATE",
            "SET CONSTRAINTS orders_fk DEFERRED",
            "SET CONSTRAINTS public.orders_fk, \"Other\" IMMEDIATE",
        ] {
            assert_eq!(one(sql), Utility::SetConstraints, "{sql}");
        }
        for bad in [
            "SET TRANSACTION",
            "SET TRANSACTION = 'x'",
            "SET TRANSACTION SNAPSHOT",
            "SET TRANSACTION SNAPSHOT 1",
            "SET TRANSACTION SNAPSHOT 'a' READ ONLY",
            "SET SESSION CHARACTERISTICS READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION",
            "SET CONSTRAINTS DEFERRED",
            "SET CONSTRAINTS ALL",
            "SET CONSTRAINTS a b DEFERRED",
            "SET CONSTRAINTS a, DEFERRED",
            "SET CONSTRAINTS ALL, a DEFERRED",
        ] {
            refused(bad);
        }
        // Other SETs are sqlparser's.
        for sql in [
            "SET statement_timeout = 1000",
            "SET SESSION statement_timeout TO 5",
            "SET LOCAL work_mem = '1MB'",
            "SET constraints = 1",
        ] {
            assert!(
                matches!(read(sql).unwrap().as_slice(), [Parsed::Sql(_)]),
                "{sql}"
            );
        }
    }

    #[test]
    fn fetch_and_move_in_every_direction() {
        let c = || "c".to_owned();
        for (sql, direction) in [
            ("FETCH c", D::Next),
            ("FETCH FROM c", D::Next),
            ("FETCH IN c", D::Next),
            ("FETCH NEXT c", D::Next),
            ("FETCH NEXT FROM c", D::Next),
            ("FETCH PRIOR FROM c", D::Prior),
            ("FETCH FIRST c", D::First),
            ("FETCH LAST IN c", D::Last),
            ("FETCH ABSOLUTE 3 FROM c", D::Absolute(3)),
            ("FETCH ABSOLUTE -1 FROM c", D::Absolute(-1)),
            ("FETCH RELATIVE +2 c", D::Relative(2)),
            ("FETCH RELATIVE 0 c", D::Relative(0)),
            ("FETCH 10 FROM c", D::Forward(10)),
            ("FETCH -5 c", D::Forward(-5)),
            ("FETCH ALL FROM c", D::ForwardAll),
            ("FETCH ALL c", D::ForwardAll),
            ("FETCH FORWARD c", D::Forward(1)),
            ("FETCH FORWARD 7 FROM c", D::Forward(7)),
            ("FETCH FORWARD ALL FROM c", D::ForwardAll),
            ("FETCH BACKWARD FROM c", D::Backward(1)),
            ("FETCH BACKWARD 2 IN c", D::Backward(2)),
            ("FETCH BACKWARD ALL c", D::BackwardAll),
            ("MOVE c", D::Next),
            ("MOVE FORWARD 5 c", D::Forward(5)),
            ("MOVE ABSOLUTE 0 FROM c", D::Absolute(0)),
            ("move -3 from c", D::Forward(-3)),
            ("MOVE 2147483647 FROM c", D::Forward(i32::MAX)),
            ("MOVE BACKWARD ALL IN c", D::BackwardAll),
            ("FETCH FORWARD 1 FROM C", D::Forward(1)),
        ] {
            assert_eq!(moved(sql), (c(), direction), "{sql}");
        }
        assert!(matches!(
            one("MOVE c"),
            Utility::Cursor(CursorRef::Move { .. })
        ));
        assert!(matches!(
            one("FETCH c"),
            Utility::Cursor(CursorRef::Fetch { .. })
        ));
        // Quoted names are exact; the directions are unreserved words, so a
        // lone one is the cursor's name.
        assert_eq!(moved(r#"FETCH FORWARD 1 FROM "C x""#).0, "C x");
        assert_eq!(
            moved(r#"MOVE FORWARD 3 "__asyncpg_cursor_1__""#).0,
            "__asyncpg_cursor_1__"
        );
        assert_eq!(moved("FETCH next"), ("next".into(), D::Next));
        assert_eq!(moved("FETCH next next"), ("next".into(), D::Next));
        assert_eq!(
            moved("FETCH prior from forward"),
            ("forward".into(), D::Prior)
        );
        for bad in [
            "FETCH",
            "MOVE",
            "FETCH FROM",
            "FETCH 1",
            "FETCH 1 FROM",
            "FETCH ALL",
            "FETCH 1.5 FROM c",
            "FETCH 1e3 FROM c",
            "MOVE 2147483648 FROM c",
            "FETCH ABSOLUTE FROM c",
            "FETCH FORWARD - FROM c",
            "FETCH \"NEXT\" c",
            "FETCH NEXT FROM FROM c",
            "FETCH c INTO x",
            "FETCH 1 FROM c, d",
            "FETCH 1 FROM s.c",
            "FETCH 1 FROM 'c'",
            "MOVE FORWARD 1 c SELECT 1",
        ] {
            refused(bad);
        }
    }

    #[test]
    fn statements_around_them() {
        let parsed = read(
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE; \
             SELECT 1; ; FETCH FORWARD 10 FROM c ; MOVE c; COMMIT;",
        )
        .unwrap();
        let kinds: Vec<&str> = parsed
            .iter()
            .map(|p| match p {
                Parsed::Sql(_) => "sql",
                Parsed::Utility(_) => "utility",
            })
            .collect();
        assert_eq!(kinds, ["utility", "sql", "utility", "utility", "sql"]);
        // sqlparser would stop at END after a statement and drop the rest.
        refused("SELECT 1 END; SELECT 2");
        refused("SELECT 1 SELECT 2");
        assert!(read("").unwrap().is_empty());
        assert!(read(" ; ;").unwrap().is_empty());
    }

    /// DECLARE and CLOSE are sqlparser's; the analysis records their
    /// cursor too.
    #[test]
    fn cursors_in_the_analysis() {
        use super::super::analyze::{AnalysisLimits, analyze};
        use super::super::names::Resolver;
        let search_path = vec!["public".to_string()];
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: None,
        };
        let cursors = |sql: &str| -> Vec<Option<CursorRef>> {
            analyze(sql, &resolver, AnalysisLimits::default())
                .unwrap()
                .statements
                .into_iter()
                .map(|s| s.cursor)
                .collect()
        };
        assert_eq!(
            cursors(
                "DECLARE \"Big\" SCROLL CURSOR WITH HOLD FOR SELECT 1; \
                 DECLARE c NO SCROLL CURSOR FOR SELECT 1; FETCH 2 FROM C; \
                 MOVE LAST IN \"Big\"; CLOSE c; CLOSE ALL; SELECT 1"
            ),
            [
                Some(CursorRef::Declare {
                    name: "Big".into(),
                    scroll: true,
                    hold: true
                }),
                Some(CursorRef::Declare {
                    name: "c".into(),
                    scroll: false,
                    hold: false
                }),
                Some(CursorRef::Fetch {
                    name: "c".into(),
                    direction: D::Forward(2)
                }),
                Some(CursorRef::Move {
                    name: "Big".into(),
                    direction: D::Last
                }),
                Some(CursorRef::Close(Some("c".into()))),
                Some(CursorRef::Close(None)),
                None,
            ]
        );
    }

    #[test]
    fn what_the_policy_sees() {
        let info = one("BEGIN READ ONLY, DEFERRABLE").info();
        assert_eq!(info.classes, [Class::Transaction]);
        assert!(info.settings.is_empty());
        let info = one("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE").info();
        assert_eq!(info.classes, [Class::Session]);
        let settings: Vec<(&str, SettingAction)> = info
            .settings
            .iter()
            .map(|s| (s.name.as_str(), s.action))
            .collect();
        assert_eq!(
            settings,
            [
                ("default_transaction_deferrable", SettingAction::Set),
                ("default_transaction_read_only", SettingAction::Narrow),
            ]
        );
        let info = one("FETCH 10 FROM c").info();
        assert_eq!(info.classes, [Class::Cursor]);
        assert!(info.returns_rows && !info.housekeeping);
        let info = one("MOVE 10 FROM c").info();
        assert!(!info.returns_rows && info.housekeeping);
        assert_eq!(info.cursor.as_ref().and_then(CursorRef::name), Some("c"));
        assert_eq!(D::Forward(-5).max_rows(), Some(5));
        assert_eq!(D::Forward(0).max_rows(), Some(1));
        assert_eq!(D::Backward(3).max_rows(), Some(3));
        assert_eq!(D::Absolute(-1).max_rows(), Some(1));
        assert_eq!(D::ForwardAll.max_rows(), None);
        assert_eq!(D::BackwardAll.max_rows(), None);
    }
}
