//! The audit log: one JSON object per line for every decision and every
//! login, in a stable schema (documented in README.md).
//!
//! Writing never blocks the data path: events go through a bounded queue
//! to a writer thread. When the queue is full the event is dropped and
//! counted; the writer reports every drop in the log itself
//! (`audit_events_dropped`) and through tracing, so a gap is never silent.

use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Version of the line schema, written in every event.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot open audit log {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One audit event. Optional fields are omitted when empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent {
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_class: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub risk: Vec<&'static str>,
    /// 0–10, from `risk` (see [`crate::policy::risk`]); on statement events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The capability token's id, for token sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The end user the agent acts for (the token's subject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The delegation chain: the checks of each attenuation block.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// The token's claims (custom claims, and `tenant`), for replaying
    /// decisions of scoped agents.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub claims: std::collections::BTreeMap<String, String>,
    /// The approval request a held, approved or decided statement belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// Whether this event raised a webhook alert: `queued` or `dropped`
    /// (every queue full). `alert_sent` / `alert_failed` follow with the
    /// same `alert_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
}

#[derive(Serialize)]
struct Line<'a> {
    v: u32,
    ts: String,
    #[serde(flatten)]
    event: &'a AuditEvent,
}

/// Where events go.
pub struct AuditLog {
    tx: Option<SyncSender<Vec<u8>>>,
    dropped: Arc<AtomicU64>,
    sql_max_bytes: usize,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl AuditLog {
    /// An audit log that records nothing (no path configured).
    pub fn disabled() -> AuditLog {
        AuditLog {
            tx: None,
            dropped: Arc::new(AtomicU64::new(0)),
            sql_max_bytes: 2048,
            writer: Mutex::new(None),
        }
    }

    /// Appends to `path`, creating it if needed.
    pub fn open(
        path: &Path,
        capacity: usize,
        sql_max_bytes: usize,
    ) -> Result<AuditLog, AuditError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| AuditError::Open {
                path: path.to_owned(),
                source,
            })?;
        let (tx, rx) = sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let writer_dropped = dropped.clone();
        let writer = std::thread::Builder::new()
            .name("actgate-audit".into())
            .spawn(move || write_loop(file, rx, writer_dropped))
            .map_err(|source| AuditError::Open {
                path: path.to_owned(),
                source,
            })?;
        Ok(AuditLog {
            tx: Some(tx),
            dropped,
            sql_max_bytes,
            writer: Mutex::new(Some(writer)),
        })
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Truncates SQL to the configured length (on a character boundary).
    pub fn sql(&self, sql: &str) -> (String, bool) {
        if sql.len() <= self.sql_max_bytes {
            return (sql.to_owned(), false);
        }
        let mut end = self.sql_max_bytes;
        while !sql.is_char_boundary(end) {
            end -= 1;
        }
        (sql[..end].to_owned(), true)
    }

    /// Queues an event; never blocks.
    pub fn record(&self, event: &AuditEvent) {
        let Some(tx) = &self.tx else {
            return;
        };
        let line = Line {
            v: SCHEMA_VERSION,
            ts: timestamp(SystemTime::now()),
            event,
        };
        let mut bytes = match serde_json::to_vec(&line) {
            Ok(b) => b,
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        bytes.push(b'\n');
        match tx.try_send(bytes) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Flushes and stops the writer (on shutdown).
    pub fn close(&mut self) {
        self.tx = None;
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(file: std::fs::File, rx: Receiver<Vec<u8>>, dropped: Arc<AtomicU64>) {
    let mut out = std::io::BufWriter::new(file);
    let mut reported = 0u64;
    let report = |out: &mut std::io::BufWriter<std::fs::File>, reported: &mut u64| {
        let now = dropped.load(Ordering::Relaxed);
        if now > *reported {
            let n = now - *reported;
            *reported = now;
            tracing::warn!(
                dropped = n,
                "audit events dropped: the audit queue was full"
            );
            let event = AuditEvent {
                event: "audit_events_dropped",
                count: Some(n),
                ..AuditEvent::default()
            };
            let line = Line {
                v: SCHEMA_VERSION,
                ts: timestamp(SystemTime::now()),
                event: &event,
            };
            if let Ok(mut b) = serde_json::to_vec(&line) {
                b.push(b'\n');
                let _ = out.write_all(&b);
            }
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Err(e) = out.write_all(&line) {
                    tracing::error!(error = %e, "audit log write failed");
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                // Drain what is queued, then flush once.
                while let Ok(line) = rx.try_recv() {
                    if out.write_all(&line).is_err() {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                report(&mut out, &mut reported);
                let _ = out.flush();
            }
            Err(RecvTimeoutError::Timeout) => {
                report(&mut out, &mut reported);
                let _ = out.flush();
            }
            Err(RecvTimeoutError::Disconnected) => {
                report(&mut out, &mut reported);
                let _ = out.flush();
                return;
            }
        }
    }
}

/// RFC 3339 UTC timestamp with microseconds.
fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
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
    format!(
        "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:06}Z",
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_micros(42);
        assert_eq!(timestamp(t), "2026-11-18T11:06:40.000042Z");
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn events_are_written_as_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path, 16, 8).unwrap();
        let (sql, truncated) = log.sql("SELECT * FROM orders");
        log.record(&AuditEvent {
            event: "statement_allowed",
            agent: Some("bot".into()),
            sql: Some(sql),
            sql_truncated: Some(truncated),
            ..AuditEvent::default()
        });
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["event"], "statement_allowed");
        assert_eq!(v["agent"], "bot");
        assert_eq!(v["sql"], "SELECT *");
        assert_eq!(v["sql_truncated"], true);
        assert_eq!(v["v"], 1);
    }

    #[test]
    fn a_full_queue_drops_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&path, 1, 64).unwrap();
        for _ in 0..10_000 {
            log.record(&AuditEvent {
                event: "statement_allowed",
                ..AuditEvent::default()
            });
        }
        let dropped = log.dropped();
        log.close();
        let text = std::fs::read_to_string(&path).unwrap();
        let written = text
            .lines()
            .filter(|l| l.contains("statement_allowed"))
            .count() as u64;
        let reported: u64 = text
            .lines()
            .filter(|l| l.contains("audit_events_dropped"))
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["count"]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert_eq!(written + dropped, 10_000);
        assert_eq!(reported, dropped);
    }
}
