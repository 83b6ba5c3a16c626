//! A fast scanner for [`super::lift`]: the common statement text, read
//! without the parser's tokenizer.
//!
//! It accepts only a narrow, plain subset of SQL — ASCII words (but
//! `STDIN`, after which the tokenizer may read COPY data), quoted
//! identifiers without `""`, `$n` parameters, plain integers and decimals,
//! `'…'` strings without backslashes, a few punctuation marks and
//! operators, spaces, tabs and newlines — and gives up on everything else
//! ([`Scan::Unsure`]), for the tokenizer to decide as before. Whatever it
//! accepts it cuts exactly as the tokenizer-based lift does (same key,
//! same literals, same refusal of `lit = lit`): the unit tests compare
//! the two on every text they are given, and a text where they differ
//! would be a bug to fix here, never a reason to trust this scanner.

use super::{Kind, Lifted, Literal, Literals, MARK, number_kind};

/// What the fast scanner made of a text.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// The text's shape and literals (`None`: shapeless, `lit = lit`).
    Sure(Option<Lifted>),
    /// Not the plain subset: the tokenizer decides.
    Unsure,
}

/// The kind of the last significant tokens, for the `lit = lit` check and
/// the places where a number or a period would read otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word,
    Number,
    String,
    Eq,
    Period,
    Other,
}

/// Operator runs taken as they are; any other run of operator characters
/// (comments, `=-`, custom operators) is left to the tokenizer.
const OPERATORS: [&[u8]; 13] = [
    b"=", b"<", b">", b"<=", b">=", b"<>", b"!=", b"+", b"-", b"*", b"/", b"%", b"||",
];

/// One of `+-*/<>=~!@#%^&|`?` (a match, not a search: it is asked for
/// every character of an operator).
fn is_operator_char(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
    )
}

fn is_word_char(b: u8) -> bool {
    WORD_CHARS[usize::from(b)]
}

/// `[A-Za-z0-9_]`, by byte: a word is read a byte at a time.
static WORD_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    table
};

pub(super) fn scan(sql: &str) -> Scan {
    match Scanner::new(sql).run() {
        Some(scan) => scan,
        None => Scan::Unsure,
    }
}

struct Scanner<'a> {
    sql: &'a str,
    b: &'a [u8],
    i: usize,
    /// The last two significant tokens, newest first.
    previous: [Option<Tok>; 2],
    key: String,
    /// Where the key has copied the text up to.
    copied: usize,
    literals: Literals,
}

impl<'a> Scanner<'a> {
    fn new(sql: &'a str) -> Scanner<'a> {
        Scanner {
            sql,
            b: sql.as_bytes(),
            i: 0,
            previous: [None, None],
            key: String::with_capacity(sql.len()),
            copied: 0,
            literals: Literals::new(),
        }
    }

    fn peek(&self, at: usize) -> Option<u8> {
        self.b.get(at).copied()
    }

    /// `None` where the tokenizer must decide.
    fn run(mut self) -> Option<Scan> {
        while let Some(c) = self.peek(self.i) {
            let tok = match c {
                b' ' | b'\t' | b'\n' => {
                    self.i += 1;
                    continue;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => self.word()?,
                b'"' => self.quoted_identifier()?,
                b'0'..=b'9' => match self.number()? {
                    Some(tok) => tok,
                    None => return Some(Scan::Sure(None)),
                },
                b'\'' => match self.string()? {
                    Some(tok) => tok,
                    None => return Some(Scan::Sure(None)),
                },
                b'$' => self.parameter()?,
                b'.' => self.period()?,
                b':' => self.cast()?,
                b'(' | b')' | b',' | b';' | b'[' | b']' => {
                    self.i += 1;
                    Tok::Other
                }
                c if is_operator_char(c) => self.operator()?,
                _ => return None,
            };
            self.previous = [Some(tok), self.previous[0]];
        }
        let mut key = self.key;
        key.push_str(&self.sql[self.copied..]);
        Some(Scan::Sure(Some(Lifted {
            key,
            literals: self.literals,
        })))
    }

    fn word(&mut self) -> Option<Tok> {
        let start = self.i;
        let rest = &self.b[start..];
        self.i += rest
            .iter()
            .position(|&c| !is_word_char(c))
            .unwrap_or(rest.len());
        // The tokenizer reads what follows `COPY … FROM STDIN;` as data.
        if self.sql[start..self.i].eq_ignore_ascii_case("stdin") {
            return None;
        }
        // `E'…'`, `U&'…'`, `B'…'`, `N'…'`, `x"…"`, `a$b`, non-ASCII.
        match self.peek(self.i) {
            Some(b'\'' | b'"' | b'&' | b'$') => None,
            Some(c) if !c.is_ascii() => None,
            _ => (self.i > start).then_some(Tok::Word),
        }
    }

    fn quoted_identifier(&mut self) -> Option<Tok> {
        let close = self.b[self.i + 1..].iter().position(|&c| c == b'"')?;
        let body = &self.b[self.i + 1..self.i + 1 + close];
        if body.is_empty() || body.iter().any(|c| c.is_ascii_control()) {
            return None;
        }
        self.i += close + 2;
        // `""` inside, or a quote or word right after.
        match self.peek(self.i) {
            Some(c) if c == b'"' || c == b'\'' || is_word_char(c) || !c.is_ascii() => None,
            _ => Some(Tok::Other),
        }
    }

    /// A plain integer or decimal. `Some(None)`: a `lit = lit` comparison.
    fn number(&mut self) -> Option<Option<Tok>> {
        if self.previous[0] == Some(Tok::Period) {
            return None;
        }
        let start = self.i;
        self.digits();
        if self.peek(self.i) == Some(b'.') {
            if !self.peek(self.i + 1).is_some_and(|c| c.is_ascii_digit()) {
                return None;
            }
            self.i += 1;
            self.digits();
        }
        // `1e5`, `0x1F`, `1_000`, `1.2.3`, `12abc`, `$`.
        match self.peek(self.i) {
            Some(c) if is_word_char(c) || c == b'.' || c == b'$' || !c.is_ascii() => return None,
            _ => {}
        }
        let text = &self.sql[start..self.i];
        let kind = number_kind(text)?;
        Some(self.literal(kind, start, false).then_some(Tok::Number))
    }

    fn digits(&mut self) {
        while self.peek(self.i).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// A plain `'…'` string. `Some(None)`: a `lit = lit` comparison.
    fn string(&mut self) -> Option<Option<Tok>> {
        // Two strings in a row may be one constant to PostgreSQL.
        if self.previous[0] == Some(Tok::String) {
            return None;
        }
        let start = self.i;
        let mut doubled = false;
        let mut at = start + 1;
        loop {
            match self.peek(at)? {
                b'\'' if self.peek(at + 1) == Some(b'\'') => {
                    doubled = true;
                    at += 2;
                }
                b'\'' => break,
                b'\\' => return None,
                c if c.is_ascii_control() && c != b'\t' && c != b'\n' => return None,
                _ => at += 1,
            }
        }
        self.i = at + 1;
        match self.peek(self.i) {
            Some(c) if is_word_char(c) || c == b'"' || c == b'$' || !c.is_ascii() => return None,
            _ => {}
        }
        Some(
            self.literal(Kind::String, start, doubled)
                .then_some(Tok::String),
        )
    }

    /// Records a literal ending at `self.i`; `false` for `lit = lit`.
    fn literal(&mut self, kind: Kind, start: usize, doubled: bool) -> bool {
        if matches!(
            self.previous,
            [Some(Tok::Eq), Some(Tok::Number | Tok::String)]
        ) {
            return false;
        }
        self.key.push_str(&self.sql[self.copied..start]);
        self.key.push(MARK);
        self.key.push(kind.tag());
        self.copied = self.i;
        self.literals
            .push(Literal::new(kind, start, self.i, doubled));
        true
    }

    /// `$n`; a dollar quote or anything else is the tokenizer's.
    fn parameter(&mut self) -> Option<Tok> {
        let start = self.i + 1;
        let mut end = start;
        while self.peek(end).is_some_and(|c| c.is_ascii_digit()) {
            end += 1;
        }
        match self.peek(end) {
            _ if end == start => None,
            Some(c) if is_word_char(c) || c == b'$' || !c.is_ascii() => None,
            _ => {
                self.i = end;
                Some(Tok::Other)
            }
        }
    }

    /// A period between names (`t.a`, `s.t.*`); `.5`, `t.1` and `t._a`
    /// are the tokenizer's.
    fn period(&mut self) -> Option<Tok> {
        match self.peek(self.i + 1) {
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'"' | b'*') => {
                self.i += 1;
                Some(Tok::Period)
            }
            _ => None,
        }
    }

    /// `::`; a single `:` or `:::` is the tokenizer's.
    fn cast(&mut self) -> Option<Tok> {
        match (self.peek(self.i + 1), self.peek(self.i + 2)) {
            (Some(b':'), next) if next != Some(b':') => {
                self.i += 2;
                Some(Tok::Other)
            }
            _ => None,
        }
    }

    fn operator(&mut self) -> Option<Tok> {
        let start = self.i;
        while self.peek(self.i).is_some_and(is_operator_char) {
            self.i += 1;
        }
        let run = &self.b[start..self.i];
        if !OPERATORS.contains(&run) {
            return None;
        }
        Some(if run == b"=" { Tok::Eq } else { Tok::Other })
    }
}

#[cfg(test)]
#[path = "shape_scan_tests.rs"]
mod tests;
