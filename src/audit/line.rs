//! One event as its JSON line, written by hand.
//!
//! Every decision writes a line, on the session's thread, so this is on
//! the data path: literal keys, strings copied in runs between the bytes
//! JSON must escape, numbers without the formatting machinery. The schema
//! is [`AuditEvent`]'s derived serialisation (field order and names,
//! omitted empties, serde_json's escaping); the tests hold the two equal
//! byte for byte, so the derive stays the schema's definition.

use super::{AuditEvent, Claims, SCHEMA_VERSION};
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// One event as a JSON line, stamped now.
pub(super) fn line(event: &AuditEvent<'_>) -> Vec<u8> {
    line_at(event, SystemTime::now())
}

/// One event as a JSON line stamped `t`.
pub(super) fn line_at(event: &AuditEvent<'_>, t: SystemTime) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_line(&mut bytes, event, t);
    bytes
}

/// Appends one event as a JSON line stamped `t` to `out`: `v` and `ts`,
/// then the event's fields in their declared order.
pub(super) fn write_line(out: &mut Vec<u8>, event: &AuditEvent<'_>, t: SystemTime) {
    // The usual event's fixed fields take a few hundred bytes besides the
    // SQL.
    let sql = event.sql.as_deref().map_or(0, str::len);
    out.reserve(512 + sql + sql / 8);
    out.extend_from_slice(b"{\"v\":");
    put_u64(out, u64::from(SCHEMA_VERSION));
    out.extend_from_slice(b",\"ts\":\"");
    write_timestamp(out, t);
    out.push(b'"');
    write_fields(out, event);
    out.extend_from_slice(b"}\n");
}

/// `,"key":` and a string value.
fn field_str(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        put_key(out, key);
        put_str(out, v);
    }
}

fn field_u64(out: &mut Vec<u8>, key: &str, value: Option<u64>) {
    if let Some(v) = value {
        put_key(out, key);
        put_u64(out, v);
    }
}

/// `,"key":[...]` unless empty.
fn field_list<S: AsRef<str>>(out: &mut Vec<u8>, key: &str, values: &[S]) {
    if values.is_empty() {
        return;
    }
    put_key(out, key);
    out.push(b'[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        put_str(out, v.as_ref());
    }
    out.push(b']');
}

/// `,"key":` as one literal (keys need no escaping).
macro_rules! key {
    ($k:literal) => {
        concat!(",\"", $k, "\":")
    };
}

/// The event's own fields, each after a comma, in [`AuditEvent`]'s order.
/// A session's own fields come from its [`SessionLine`] when the event
/// has one.
fn write_fields(out: &mut Vec<u8>, e: &AuditEvent<'_>) {
    field_str(out, key!("event"), Some(e.event));
    match e.session_line {
        Some(session) => {
            debug_assert_eq!(
                *session,
                SessionLine::of(e),
                "a session line of another session"
            );
            out.extend_from_slice(&session.head);
        }
        None => write_session_head(out, e),
    }
    match e.statement_line {
        Some(statement) => {
            debug_assert_eq!(*statement, StatementLine::of(e), "another statement's line");
            out.extend_from_slice(&statement.0);
        }
        None => write_statement(out, e),
    }
    field_str(out, key!("sql"), e.sql.as_deref());
    if let Some(cut) = e.sql_truncated {
        put_key(out, key!("sql_truncated"));
        out.extend_from_slice(if cut { b"true" } else { b"false" });
    }
    field_str(out, key!("message"), e.message.as_deref());
    field_u64(out, key!("count"), e.count);
    match e.session_line {
        Some(session) => out.extend_from_slice(&session.tail),
        None => write_session_tail(out, e),
    }
    field_str(out, key!("approval_id"), e.approval_id.as_deref());
    field_str(out, key!("alert"), e.alert);
    field_str(out, key!("alert_id"), e.alert_id.as_deref());
}

/// What the event says about its statement, before its text.
fn write_statement(out: &mut Vec<u8>, e: &AuditEvent<'_>) {
    field_str(out, key!("statement_class"), e.statement_class);
    field_list(out, key!("tables"), &e.tables);
    field_str(out, key!("reason"), e.reason);
    field_str(out, key!("rule"), e.rule.as_deref());
    field_str(out, key!("mode"), e.mode);
    field_list(out, key!("risk"), &e.risk);
    field_u64(out, key!("risk_score"), e.risk_score.map(u64::from));
    field_str(out, key!("fingerprint"), e.fingerprint.as_deref());
}

/// The session's fields that come before the statement's.
fn write_session_head(out: &mut Vec<u8>, e: &AuditEvent<'_>) {
    field_str(out, key!("agent"), e.agent.as_deref());
    field_u64(out, key!("session_id"), e.session_id);
    field_str(out, key!("client_addr"), e.client_addr.as_deref());
    field_str(out, key!("database"), e.database.as_deref());
}

/// The session's token fields, after the statement's.
fn write_session_tail(out: &mut Vec<u8>, e: &AuditEvent<'_>) {
    field_str(out, key!("token_id"), e.token_id.as_deref());
    field_str(out, key!("subject"), e.subject.as_deref());
    field_list(out, key!("chain"), &e.chain);
    if !e.claims.is_empty() {
        put_key(out, key!("claims"));
        write_claims(out, &e.claims);
    }
}

/// What an event says about its statement before its text
/// (statement_class, tables, reason, rule, mode, risk, risk_score,
/// fingerprint), rendered once for the events that say the same (the
/// allowed executions of one statement or shape under one set of rules)
/// instead of for each. An event that carries one
/// ([`AuditEvent::statement_line`]) must have been given the same
/// fields: debug builds check every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementLine(Vec<u8>);

impl StatementLine {
    /// The statement fields of `event`, rendered.
    pub fn of(event: &AuditEvent<'_>) -> StatementLine {
        let mut line = StatementLine::default();
        write_statement(&mut line.0, event);
        line
    }
}

/// A session's own fields as every event of it has them (agent,
/// session_id, client_addr and database; token_id, subject, chain and
/// claims), rendered once for the session instead of on every statement.
/// An event that carries one ([`AuditEvent::session_line`]) must have
/// been given the same fields: debug builds check every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionLine {
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl SessionLine {
    /// The session fields of `event`, rendered.
    pub fn of(event: &AuditEvent<'_>) -> SessionLine {
        let mut line = SessionLine::default();
        write_session_head(&mut line.head, event);
        write_session_tail(&mut line.tail, event);
        line
    }
}

/// The claims object, in key order with `tenant` in its place
/// ([`Claims`]'s serialisation).
fn write_claims(out: &mut Vec<u8>, claims: &Claims<'_>) {
    out.push(b'{');
    let mut first = true;
    let mut entry = |out: &mut Vec<u8>, k: &str, v: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        put_str(out, k);
        out.push(b':');
        put_str(out, v);
    };
    claims.each(|k, v| entry(out, k, v));
    out.push(b'}');
}

/// `,"key":`, given as one literal by [`key!`].
fn put_key(out: &mut Vec<u8>, key: &str) {
    debug_assert!(key.starts_with(",\"") && key.ends_with("\":"));
    out.extend_from_slice(key.as_bytes());
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Whether any of eight bytes [`needs_escape`]: a control character, `"`
/// or `\`, found with word arithmetic (each test is exact for the word
/// as a whole).
fn chunk_needs_escape(chunk: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
        return true;
    };
    let w = u64::from_le_bytes(bytes);
    let less_than = |n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    less_than(0x20) | zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\'))) != 0
}

/// Whether any byte of `bytes` [`needs_escape`], eight at a time (the
/// last few padded with a byte that needs none).
fn any_needs_escape(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    if chunks.by_ref().any(chunk_needs_escape) {
        return true;
    }
    let rest = chunks.remainder();
    let mut padded = [b' '; 8];
    padded[..rest.len()].copy_from_slice(rest);
    chunk_needs_escape(&padded)
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, control
/// characters as `\b \t \n \f \r` or `\u00XX`, everything else (UTF-8
/// included) as it is.
fn put_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.push(b'"');
    if !any_needs_escape(bytes) {
        // The usual string: copied whole.
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time past those that need nothing.
        if let Some(chunk) = bytes.get(i..i + 8)
            && !chunk_needs_escape(chunk)
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        i += 1;
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i - 1]);
        start = i;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn put_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// RFC 3339 UTC timestamp with microseconds.
#[cfg(test)]
pub(super) fn timestamp(t: SystemTime) -> String {
    let mut out = Vec::with_capacity(27);
    write_timestamp(&mut out, t);
    String::from_utf8(out).expect("a timestamp is ASCII")
}

/// Writes `t` as an RFC 3339 UTC timestamp with microseconds. The text up
/// to the second is rendered once per second and thread.
fn write_timestamp(out: &mut Vec<u8>, t: SystemTime) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let second = SECOND
        .try_with(|last| {
            let (at, text) = last.get();
            if at == Some(secs) {
                return text;
            }
            let text = second_text(secs);
            last.set((Some(secs), text));
            text
        })
        .unwrap_or_else(|_| second_text(secs));
    out.extend_from_slice(&second);
    out.extend_from_slice(&digits::<6>(u64::from(d.subsec_micros())));
    out.push(b'Z');
}

thread_local! {
    /// The last second this thread stamped, as [`second_text`] renders it.
    static SECOND: Cell<(Option<u64>, [u8; 20])> = const { Cell::new((None, [0; 20])) };
}

/// `YYYY-MM-DDTHH:MM:SS.` for `secs` since the epoch.
fn second_text(secs: u64) -> [u8; 20] {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut text = [0u8; 20];
    text[..4].copy_from_slice(&digits::<4>(year.clamp(0, 9999) as u64));
    text[4] = b'-';
    text[5..7].copy_from_slice(&digits::<2>(month as u64));
    text[7] = b'-';
    text[8..10].copy_from_slice(&digits::<2>(day as u64));
    text[10] = b'T';
    text[11..13].copy_from_slice(&digits::<2>(h));
    text[13] = b':';
    text[14..16].copy_from_slice(&digits::<2>(m));
    text[16] = b':';
    text[17..19].copy_from_slice(&digits::<2>(s));
    text[19] = b'.';
    text
}

/// The last `N` decimal digits of `n`, zero-padded.
fn digits<const N: usize>(mut n: u64) -> [u8; N] {
    let mut out = [b'0'; N];
    for d in out.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word test agrees with the byte test on every byte value at
    /// every position, among neighbours on either side of each boundary
    /// (and high bytes, which word arithmetic could carry into).
    #[test]
    fn eight_bytes_at_a_time_find_exactly_what_one_at_a_time_finds() {
        let fillers = [b'a', b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xc3, 0xff];
        for filler in fillers {
            for v in 0..=255u8 {
                for at in 0..8 {
                    let mut chunk = [filler; 8];
                    chunk[at] = v;
                    let expected = chunk.iter().any(|&b| needs_escape(b));
                    assert_eq!(chunk_needs_escape(&chunk), expected, "{chunk:?}");
                }
            }
        }
        assert!(
            chunk_needs_escape(b"short"),
            "a short tail is looked at bytewise"
        );
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("été\u{2028}𝄞");
        for s in [all.as_str(), "", "plain text of some length", "a\"b\\c\nd"] {
            for cut in 0..s.len() {
                let Some(piece) = s.get(cut..) else { continue };
                let mut out = Vec::new();
                put_str(&mut out, piece);
                assert_eq!(out, serde_json::to_vec(piece).unwrap());
            }
        }
    }
}
