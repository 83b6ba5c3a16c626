//! Statement shapes: what lets a statement whose literals differ from one
//! analysed before skip the parser.
//!
//! A statement's *shape* is its exact text with the literals cut out: two
//! texts share a shape when they are identical byte for byte except inside
//! literals of the same kind at the same places. [`lift`] finds the
//! literals with the tokenizer the parser itself uses, and accepts only
//! those PostgreSQL's scanner reads the same way with
//! `standard_conforming_strings` on (the pinned setting): plain integers
//! and decimals, and plain `'…'` strings in which only `''` is special.
//! Any other literal (`E''`, `U&''`, dollar quotes, bit strings, `0x1F`,
//! `1_000`), a comment, or text that cannot be tokenized makes the
//! statement shapeless: it is analysed from its text, as before.
//!
//! A [`Template`] is the analysis of a shape with its literal values as
//! slots. It is derived from two full analyses: of the statement as sent,
//! and of the same shape with every literal replaced by a distinct canary
//! value. Every place a canary shows up in the second analysis is a slot;
//! the template is kept only when filling the slots with the statement's
//! own literals gives exactly the first analysis, so a literal that
//! flowed anywhere but a slot (a setting name, a concatenation, a
//! relation) makes the shape exact-only. The few places where the
//! analysis looks at a literal's *value* rather than carrying it are
//! kept out by construction: the shape's statements must be plain reads
//! and writes without settings (see [`liftable`]), and a shape with a
//! comparison of two literals (`1 = 1`, the tautology risk signal) has no
//! template. Filling a template is therefore the analysis the parser
//! would produce, without the parser; the decision then runs as usual.

use super::info::{Analysis, Class, PinValue, StatementInfo};
use smallvec::SmallVec;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Marks a literal's place in a shape key; never part of a liftable text.
const MARK: char = '\u{1}';

/// The kind of a lifted literal: part of the shape, so a template is only
/// filled with literals the parser reads as it read the originals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits only, at most `i32::MAX`: PostgreSQL's integer constant.
    Integer,
    /// Digits only, larger: PostgreSQL reads it as a numeric constant,
    /// and positions that take a small integer refuse it.
    BigInteger,
    /// Digits with a decimal point or an exponent.
    Decimal,
    /// A plain single-quoted string.
    String,
}

impl Kind {
    fn tag(self) -> char {
        match self {
            Kind::Integer => 'i',
            Kind::BigInteger => 'b',
            Kind::Decimal => 'd',
            Kind::String => 's',
        }
    }
}

/// One literal of a statement: where it is in the text. Its value is
/// read from the text when a template is filled ([`Literal::value`]), so
/// lifting a statement allocates nothing per literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Literal {
    kind: Kind,
    /// A string with `''` inside (its value is not its text).
    doubled: bool,
    /// Where it starts and ends (a lifted text is shorter than 4 GiB).
    start: u32,
    end: u32,
}

impl Literal {
    fn new(kind: Kind, start: usize, end: usize, doubled: bool) -> Literal {
        // (lift refuses longer texts)
        let offset = |at: usize| u32::try_from(at).expect("a lifted text fits u32 offsets");
        Literal {
            kind,
            doubled,
            start: offset(start),
            end: offset(end),
        }
    }

    fn start(&self) -> usize {
        self.start as usize
    }

    fn end(&self) -> usize {
        self.end as usize
    }

    /// The value the parser gives the literal in `sql` (the text it was
    /// lifted from): a number as written, a string without its quotes and
    /// with `''` read as `'`.
    fn value<'s>(&self, sql: &'s str) -> Cow<'s, str> {
        match self.kind {
            Kind::String => {
                let body = &sql[self.start() + 1..self.end() - 1];
                if self.doubled {
                    Cow::Owned(body.replace("''", "'"))
                } else {
                    Cow::Borrowed(body)
                }
            }
            Kind::Integer | Kind::BigInteger | Kind::Decimal => {
                Cow::Borrowed(&sql[self.start()..self.end()])
            }
        }
    }
}

/// The literals of a statement: most have a few, kept without allocating.
type Literals = SmallVec<[Literal; 4]>;

/// A statement text split into its shape and its literals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifted {
    /// The text with each literal replaced by a mark and its kind.
    pub key: String,
    literals: Literals,
}

impl Lifted {
    pub fn is_empty(&self) -> bool {
        self.literals.is_empty()
    }

    /// The same shape with literal `k` replaced by canary `k`: values
    /// that occur nowhere else, of the same kind.
    pub fn canary_text(&self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() + 24 * self.literals.len());
        let mut at = 0;
        for (k, lit) in self.literals.iter().enumerate() {
            out.push_str(&sql[at..lit.start()]);
            out.push_str(&canary(lit.kind, k, true));
            at = lit.end();
        }
        out.push_str(&sql[at..]);
        out
    }
}

impl Lifted {
    /// The same shape with other literal values (for tests that prove a
    /// template fills to what the parser would give).
    pub fn variant_text(&self, sql: &str) -> String {
        let mut out = String::with_capacity(sql.len() + 16 * self.literals.len());
        let mut at = 0;
        for (k, lit) in self.literals.iter().enumerate() {
            out.push_str(&sql[at..lit.start()]);
            let _ = match lit.kind {
                Kind::Integer => write!(out, "{}", 31_337 + k),
                Kind::BigInteger => write!(out, "{}", 5_000_000_000u64 + k as u64),
                Kind::Decimal => write!(out, "{}.25", 11 + k),
                Kind::String => write!(out, "'variant {k}'"),
            };
            at = lit.end();
        }
        out.push_str(&sql[at..]);
        out
    }
}

/// How a string canary starts: `\u{2}` never occurs in a liftable text.
const CANARY_STRING: &str = "actgate\u{2}canary\u{2}";

/// The value canary `k` of `kind` has in the analysis (`raw`: as written).
fn canary(kind: Kind, k: usize, raw: bool) -> String {
    let (q, s) = if raw { ("'", "'") } else { ("", "") };
    match kind {
        // Within i32 (PostgreSQL's integer constant), beyond u16.
        Kind::Integer => format!("{}", 2_073_741_000u64 + k as u64),
        // Beyond u64.
        Kind::BigInteger => format!("{}", 40_000_000_000_000_000_000u128 + k as u128),
        Kind::Decimal => format!("{}.5", 2_073_741_000u64 + k as u64),
        Kind::String => format!("{q}{CANARY_STRING}{k}{s}"),
    }
}

/// Splits `sql` into shape and literals; `None` when the text is
/// shapeless (see the module comment). Plain text is read by a fast
/// scanner ([`scan`]), anything else by the parser's tokenizer.
pub fn lift(sql: &str) -> Option<Lifted> {
    if u32::try_from(sql.len()).is_err() {
        return None;
    }
    match scan::scan(sql) {
        scan::Scan::Sure(lifted) => lifted,
        scan::Scan::Unsure => lift_tokenized(sql),
    }
}

/// [`lift`] with the parser's tokenizer, for any text: the reference the
/// fast scanner is held to.
pub fn lift_tokenized(sql: &str) -> Option<Lifted> {
    if u32::try_from(sql.len()).is_err() || sql.contains(MARK) || sql.contains('\u{2}') {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .with_unescape(true)
        .tokenize_with_location()
        .ok()?;
    let mut cursor = Cursor::new(sql);
    let mut starts = Vec::with_capacity(tokens.len() + 1);
    for t in &tokens {
        starts.push(cursor.seek(t.span.start.line, t.span.start.column)?);
    }
    starts.push(sql.len());
    let mut key = String::with_capacity(sql.len());
    let mut literals = Literals::new();
    let mut at = 0;
    // The last two tokens that were not whitespace: `lit = lit` compares
    // two literals (the tautology signal looks at their values).
    let mut previous: [Option<&Token>; 2] = [None, None];
    for (i, t) in tokens.iter().enumerate() {
        let (start, end) = (starts[i], starts[i + 1]);
        let raw = &sql[start..end];
        let lifted = match &t.token {
            Token::Whitespace(Whitespace::Space | Whitespace::Newline | Whitespace::Tab) => {
                continue;
            }
            Token::Whitespace(_) => return None,
            Token::Number(n, false) if raw == n => Some((number_kind(n)?, n)),
            Token::SingleQuotedString(s) if plain_string(raw, s) => Some((Kind::String, s)),
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::QuoteDelimitedStringLiteral(_)
            | Token::NationalQuoteDelimitedStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_) => return None,
            _ => None,
        };
        if let Some((kind, value)) = lifted {
            if matches!(previous, [Some(Token::Eq), Some(p)] if is_literal(p)) {
                return None;
            }
            key.push_str(&sql[at..start]);
            key.push(MARK);
            key.push(kind.tag());
            at = end;
            let doubled = kind == Kind::String && raw.len() != value.len() + 2;
            let literal = Literal::new(kind, start, end, doubled);
            debug_assert_eq!(literal.value(sql), value.as_str());
            literals.push(literal);
        }
        previous = [Some(&t.token), previous[0]];
    }
    key.push_str(&sql[at..]);
    Some(Lifted { key, literals })
}

fn is_literal(t: &Token) -> bool {
    matches!(t, Token::Number(..) | Token::SingleQuotedString(_))
}

/// Integers and decimals PostgreSQL reads as one numeric constant:
/// `12`, `1.5`, `.5`, `5.`, `1e6`, `1.5E-3`. Anything else is not lifted.
fn number_kind(n: &str) -> Option<Kind> {
    let b = n.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if !b.is_empty() && digits(b) {
        // (Nine digits or fewer: at most 999,999,999, an integer.)
        let small = b.len() <= 9
            || n.trim_start_matches('0').len() <= 10
                && n.parse::<u64>().is_ok_and(|v| v <= i32::MAX as u64);
        return Some(if small {
            Kind::Integer
        } else {
            Kind::BigInteger
        });
    }
    let (mantissa, exponent) = match n.find(['e', 'E']) {
        Some(i) => (&n[..i], Some(&n[i + 1..])),
        None => (n, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty()) && digits(a.as_bytes()) && digits(b.as_bytes())
        }
        None => !mantissa.is_empty() && digits(mantissa.as_bytes()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e.as_bytes())
    });
    (mantissa_ok && exponent_ok).then_some(Kind::Decimal)
}

/// Whether `raw` is `'value'` with only `''` escaped: how PostgreSQL reads
/// a plain string with `standard_conforming_strings` on.
fn plain_string(raw: &str, value: &str) -> bool {
    let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) else {
        return false;
    };
    inner.len() == value.len() + value.matches('\'').count() && inner.replace("''", "'") == value
}

/// Turns the tokenizer's (line, column) locations, which count characters,
/// into byte offsets; locations only move forward.
struct Cursor<'a> {
    chars: std::str::CharIndices<'a>,
    len: usize,
    line: u64,
    column: u64,
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str) -> Cursor<'a> {
        Cursor {
            chars: sql.char_indices(),
            len: sql.len(),
            line: 1,
            column: 1,
            offset: 0,
        }
    }

    fn seek(&mut self, line: u64, column: u64) -> Option<usize> {
        while (self.line, self.column) < (line, column) {
            let (_, c) = self.chars.next()?;
            self.offset += c.len_utf8();
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        ((self.line, self.column) == (line, column) && self.offset <= self.len)
            .then_some(self.offset)
    }
}

/// The statements a template may stand for: reads and writes whose
/// analysis carries literal values without judging them. Settings
/// (`set_config('x', …)`), EXPLAIN options, COPY, cursors, prepared
/// statements and transaction control read literal values; they are
/// analysed from their text.
fn liftable(st: &StatementInfo) -> bool {
    st.classes.iter().all(|c| {
        matches!(
            c,
            Class::Read | Class::Insert | Class::Update | Class::Delete
        )
    }) && !st.classes.is_empty()
        && st.settings.is_empty()
        && st.setting_params.is_empty()
        && st.copy.is_none()
        && st.prepared.is_empty()
        && st.cursor.is_none()
        && st.transaction.is_none()
        && st.wrappers.is_empty()
        && !st.tautology
}

/// The analysis of a shape, its literal values as slots.
#[derive(Debug, Clone)]
pub struct Template {
    analysis: Analysis,
    /// Literal value in `analysis` → the slot it stands for.
    slots: foldhash::HashMap<String, usize>,
}

impl Template {
    /// The template of `lifted`'s shape, from `analysis` (of the text as
    /// sent) and `canaries` (of [`Lifted::canary_text`]); `None` when the
    /// shape cannot have one.
    pub fn derive(
        lifted: &Lifted,
        sql: &str,
        analysis: &Analysis,
        canaries: &Analysis,
    ) -> Option<Template> {
        if !analysis.statements.iter().all(liftable) {
            return None;
        }
        let mut slots =
            HashMap::with_capacity_and_hasher(lifted.literals.len() * 2, Default::default());
        for (k, lit) in lifted.literals.iter().enumerate() {
            let value = canary(lit.kind, k, false);
            if lit.kind != Kind::String {
                slots.insert(format!("-{value}"), k);
            }
            slots.insert(value, k);
        }
        let template = Template {
            analysis: canaries.clone(),
            slots,
        };
        (template.fill(lifted, sql).as_ref() == Some(analysis)).then_some(template)
    }

    /// The analysis of a statement of this shape with `lifted`'s literals
    /// (lifted from `sql`); `None` if `lifted` is not of this shape.
    pub fn fill(&self, lifted: &Lifted, sql: &str) -> Option<Analysis> {
        debug_assert!(
            lifted.literals.iter().all(|l| l.end() <= sql.len()),
            "a lift of another text"
        );
        let mut analysis = self.analysis.clone();
        let mut ok = true;
        for st in &mut analysis.statements {
            for o in &mut st.occurrences {
                for pin in &mut o.pins {
                    ok &= self.fill_value(&mut pin.value, lifted, sql);
                }
                for (_, v) in o.written.iter_mut() {
                    if let Some(v) = v {
                        ok &= self.fill_value(v, lifted, sql);
                    }
                }
                for row in o.rows.iter_mut().flatten() {
                    for (_, v) in row
                        .iter_mut()
                        .filter_map(|(c, v)| v.as_mut().map(|v| (c, v)))
                    {
                        ok &= self.fill_value(v, lifted, sql);
                    }
                }
            }
        }
        ok.then_some(analysis)
    }

    fn fill_value(&self, v: &mut PinValue, lifted: &Lifted, sql: &str) -> bool {
        match v {
            PinValue::Literal(text) => match self.slots.get(text.as_str()) {
                Some(&k) => match lifted.literals.get(k) {
                    Some(lit) => {
                        let negative = text.starts_with('-');
                        text.clear();
                        if negative {
                            text.push('-');
                        }
                        text.push_str(&lit.value(sql));
                        true
                    }
                    None => false,
                },
                // A literal the template does not stand for: not one of
                // the shape's (it would have been a canary).
                None => !text.contains(CANARY_STRING),
            },
            PinValue::Set(values) => values.iter_mut().all(|v| self.fill_value(v, lifted, sql)),
            PinValue::Param(_) | PinValue::ParamArray(_) => true,
        }
    }
}

#[path = "shape_scan.rs"]
mod scan;

#[cfg(test)]
#[path = "shape_tests.rs"]
mod tests;
