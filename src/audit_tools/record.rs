//! Reading the audit log back: one [`Record`] per JSON line, tolerant of
//! fields it does not know (the schema grows; see README "Audit log"). A
//! line that is not a JSON object is reported with its line number as
//! [`Malformed`], never dropped silently.

use crate::policy::StaticClaims;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read audit log {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The fields of an audit line the tools use; unknown fields are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Record {
    pub event: String,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub session_id: Option<u64>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub statement_class: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub sql: Option<String>,
    #[serde(default)]
    pub sql_truncated: Option<bool>,
    #[serde(default)]
    pub token_id: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// The token's claims, on statement events of token sessions (newer
    /// logs only).
    #[serde(default)]
    pub claims: Option<BTreeMap<String, String>>,
}

impl Record {
    /// `statement_allowed` or `statement_blocked`.
    pub fn is_statement(&self) -> bool {
        matches!(
            self.event.as_str(),
            "statement_allowed" | "statement_blocked"
        )
    }

    pub fn was_blocked(&self) -> bool {
        self.event == "statement_blocked"
    }

    pub fn monitor(&self) -> bool {
        self.mode.as_deref() == Some("monitor")
    }

    /// Whether the statement came from a capability-token session.
    pub fn token_session(&self) -> bool {
        self.token_id.is_some() || self.subject.is_some() || self.claims.is_some()
    }

    /// The claims the policy sees for this event, as the proxy's token
    /// capability would give them (`subject`, `token_id`, `agent`, then
    /// the recorded claims); `None` for a secret login. A token session
    /// recorded without `claims` has only what the event names.
    pub fn capability(&self) -> Option<StaticClaims> {
        if !self.token_session() {
            return None;
        }
        let mut map = BTreeMap::new();
        let fields = [
            ("subject", &self.subject),
            ("token_id", &self.token_id),
            ("agent", &self.agent),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                map.insert(name.to_owned(), v.clone());
            }
        }
        if let Some(claims) = &self.claims {
            map.extend(claims.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Some(StaticClaims(map))
    }
}

/// A line that could not be read as an audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Malformed {
    pub line: usize,
    pub error: String,
}

/// An audit log read back, with the 1-based line number of each record.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub records: Vec<(usize, Record)>,
    pub malformed: Vec<Malformed>,
}

/// Reads an audit log file. An unreadable file is an error; a bad line is
/// reported in [`Log::malformed`]. Blank lines are ignored.
pub fn read(path: &Path) -> Result<Log, RecordError> {
    let file = std::fs::File::open(path).map_err(|source| RecordError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut log = Log::default();
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(|source| RecordError::Read {
            path: path.to_owned(),
            source,
        })?;
        log.push(i + 1, &line);
    }
    Ok(log)
}

/// Parses an audit log held in memory (as [`read`] does a file).
pub fn parse(text: &str) -> Log {
    let mut log = Log::default();
    for (i, line) in text.split('\n').enumerate() {
        log.push(i + 1, line.as_bytes());
    }
    log
}

impl Log {
    fn push(&mut self, line: usize, bytes: &[u8]) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match serde_json::from_slice::<Record>(bytes) {
            Ok(r) => self.records.push((line, r)),
            Err(e) => self.malformed.push(Malformed {
                line,
                error: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Capability;

    #[test]
    fn unknown_fields_are_tolerated_and_bad_lines_numbered() {
        let log = parse(concat!(
            r#"{"v":1,"ts":"2026-11-20T10:00:00.000000Z","event":"statement_allowed","agent":"a","sql":"SELECT 1","risk":["writes"],"risk_score":2,"some_future_field":{"x":1}}"#,
            "\n\n",
            "not json\n",
            r#"{"event":"statement_blocked","agent":"a","subject":"customer-42","claims":{"customer_id":"42"}}"#,
            "\n",
            r#"{"agent":"no event field"}"#,
            "\n",
        ));
        assert_eq!(log.records.len(), 2);
        assert_eq!(log.records[0].0, 1);
        assert_eq!(log.records[0].1.sql.as_deref(), Some("SELECT 1"));
        assert_eq!(log.records[1].0, 4);
        let lines: Vec<usize> = log.malformed.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![3, 5]);
        assert!(
            log.malformed[1].error.contains("event"),
            "{:?}",
            log.malformed
        );
    }

    #[test]
    fn claims_make_the_capability_and_secret_logins_have_none() {
        let log = parse(concat!(
            r#"{"event":"statement_allowed","agent":"bot","token_id":"t1","subject":"customer-42","claims":{"customer_id":"42"}}"#,
            "\n",
            r#"{"event":"statement_allowed","agent":"bot"}"#,
        ));
        let cap = log.records[0].1.capability().expect("token session");
        assert_eq!(cap.claim("customer_id"), Some("42"));
        assert_eq!(cap.claim("subject"), Some("customer-42"));
        assert_eq!(cap.claim("agent"), Some("bot"));
        assert!(log.records[1].1.capability().is_none());
    }
}
