//! The audit log: one JSON object per line for every decision and every
//! login, in a stable schema (documented in README.md).
//!
//! Writing never blocks the data path: events go through a bounded queue
//! ([`queue`]) to a writer thread ([`writer`]). An event that is lost —
//! the queue was full, or the file could not be written — is counted by
//! its cause, and the writer reports it in the log itself
//! (`audit_events_dropped`) once it can write that report, and through
//! tracing, so a gap is never silent.
//!
//! The writer keeps the file the one at the configured path: it reopens it
//! on request (SIGHUP, `actgate reload`: rotation by rename) and when the
//! file at the path was deleted or replaced. While it cannot write, the
//! log reports itself unhealthy; with `on_failure = "block"` actgate then
//! refuses what it cannot audit ([`AuditLog::accepting`]).

mod line;
mod queue;
mod writer;

use crate::config::AuditOnFailure;
pub use line::{SessionLine, StatementLine};
use line::{line, write_line};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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

/// One audit event. Optional fields are omitted when empty. Its strings
/// are borrowed where the caller has them (a statement's event borrows the
/// session's agent, address, token claims and the statement's analysis),
/// so recording one copies nothing but the line it writes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditEvent<'a> {
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_class: Option<&'static str>,
    #[serde(skip_serializing_if = "slice_is_empty")]
    pub tables: Cow<'a, [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub risk: Vec<&'static str>,
    /// 0–10, from `risk` (see [`crate::policy::risk`]); on statement events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The capability token's id, for token sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Cow<'a, str>>,
    /// The end user the agent acts for (the token's subject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Cow<'a, str>>,
    /// The delegation chain: the checks of each attenuation block.
    #[serde(skip_serializing_if = "slice_is_empty")]
    pub chain: Cow<'a, [String]>,
    /// The token's claims (custom claims, and `tenant`), for replaying
    /// decisions of scoped agents.
    #[serde(skip_serializing_if = "Claims::is_empty")]
    pub claims: Claims<'a>,
    /// The approval request a held, approved or decided statement belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<Cow<'a, str>>,
    /// Whether this event raised a webhook alert: `queued` or `dropped`
    /// (every queue full). `alert_sent` / `alert_failed` follow with the
    /// same `alert_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<Cow<'a, str>>,
    /// The session fields above (agent to database, token_id to claims),
    /// already rendered for the session's events: not a field of the
    /// line, a faster way to write those it names.
    #[serde(skip)]
    pub session_line: Option<&'a SessionLine>,
    /// The statement fields above (statement_class to fingerprint),
    /// already rendered: likewise not a field of the line.
    #[serde(skip)]
    pub statement_line: Option<&'a StatementLine>,
}

fn slice_is_empty(s: &[String]) -> bool {
    s.is_empty()
}

/// A token's claims as the audit log gives them: its custom claims, with
/// `tenant` (when the token has one) in place of any custom claim of that
/// name, as one JSON object in key order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Claims<'a> {
    custom: Option<&'a BTreeMap<String, String>>,
    tenant: Option<&'a str>,
}

impl<'a> Claims<'a> {
    pub fn new(custom: &'a BTreeMap<String, String>, tenant: Option<&'a str>) -> Claims<'a> {
        Claims {
            custom: Some(custom),
            tenant,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tenant.is_none() && self.custom.is_none_or(BTreeMap::is_empty)
    }
}

impl Claims<'_> {
    /// Each claim as the log gives it, in key order: the token's tenant
    /// in its place among the custom claims, shadowing one of that name.
    fn try_each<E>(&self, mut f: impl FnMut(&str, &str) -> Result<(), E>) -> Result<(), E> {
        let mut tenant = self.tenant;
        for (k, v) in self.custom.into_iter().flatten() {
            if let Some(t) = tenant
                && k.as_str() >= "tenant"
            {
                f("tenant", t)?;
                tenant = None;
                if k == "tenant" {
                    continue;
                }
            }
            f(k, v)?;
        }
        match tenant {
            Some(t) => f("tenant", t),
            None => Ok(()),
        }
    }

    fn each(&self, mut f: impl FnMut(&str, &str)) {
        let _ = self.try_each(|k, v| {
            f(k, v);
            Ok::<(), std::convert::Infallible>(())
        });
    }
}

impl Serialize for Claims<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        self.try_each(|k, v| map.serialize_entry(k, v))?;
        map.end()
    }
}

/// Why events were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// The queue to the writer was full.
    QueueFull,
    /// The file could not be written (full disk, I/O error, not open).
    WriteFailed,
}

impl DropCause {
    pub const ALL: [DropCause; 2] = [DropCause::QueueFull, DropCause::WriteFailed];

    /// The `reason` of its `audit_events_dropped` events.
    pub fn name(self) -> &'static str {
        match self {
            DropCause::QueueFull => "queue_full",
            DropCause::WriteFailed => "write_failed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Whether events reach the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditHealth {
    /// Writing (or no audit log is configured).
    Writing,
    /// The last write (or reopen) failed: events are being lost.
    Failing { error: String },
}

/// State shared by the log's handles and its writer thread.
#[derive(Debug, Default)]
struct Shared {
    /// Events lost, by [`DropCause::index`].
    dropped: [AtomicU64; 2],
    /// Of those, how many a written `audit_events_dropped` line accounts for.
    reported: [AtomicU64; 2],
    /// The lines waiting for the writer.
    queue: queue::Queue,
    /// Set by the writer from a failed write until a write succeeds.
    failing: AtomicBool,
    /// Why, while failing.
    error: Mutex<Option<String>>,
    /// A reopen was asked for (SIGHUP, `actgate reload`).
    reopen: AtomicBool,
    /// Times the writer opened the file again.
    reopened: AtomicU64,
}

impl Shared {
    fn drop_events(&self, cause: DropCause, n: u64) {
        self.dropped[cause.index()].fetch_add(n, Ordering::Relaxed);
    }

    fn set_error(&self, error: Option<String>) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }

    fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Where events go.
pub struct AuditLog {
    /// Recording (a file is configured and the log was not closed).
    open: bool,
    shared: Arc<Shared>,
    capacity: usize,
    sql_max_bytes: usize,
    on_failure: AuditOnFailure,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl AuditLog {
    /// An audit log that records nothing (no path configured).
    pub fn disabled() -> AuditLog {
        AuditLog {
            open: false,
            shared: Arc::default(),
            capacity: 0,
            sql_max_bytes: 2048,
            on_failure: AuditOnFailure::Continue,
            writer: Mutex::new(None),
        }
    }

    /// Appends to `path`, creating it if needed; fails only if it cannot
    /// be opened. Its first line, `audit_log_opened`, is written before
    /// this returns: a file that cannot be written (a full disk) leaves the
    /// log [`AuditHealth::Failing`] from the start.
    pub fn open(
        path: &Path,
        capacity: usize,
        sql_max_bytes: usize,
    ) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(path, capacity, sql_max_bytes, AuditOnFailure::Continue)
    }

    /// [`AuditLog::open`] with the `on_failure` policy.
    pub fn open_with(
        path: &Path,
        capacity: usize,
        sql_max_bytes: usize,
        on_failure: AuditOnFailure,
    ) -> Result<AuditLog, AuditError> {
        let opened = |source| AuditError::Open {
            path: path.to_owned(),
            source,
        };
        let file = writer::open(path).map_err(opened)?;
        let shared = Arc::new(Shared::default());
        let mut writer = writer::Writer::new(path.to_owned(), file, shared.clone());
        writer.write_event(&AuditEvent {
            event: "audit_log_opened",
            message: Some(
                format!(
                    "actgate {}; on_failure = {}",
                    env!("CARGO_PKG_VERSION"),
                    on_failure.name()
                )
                .into(),
            ),
            ..AuditEvent::default()
        });
        let capacity = capacity.max(1);
        let writer = std::thread::Builder::new()
            .name("actgate-audit".into())
            .spawn(move || writer.run())
            .map_err(opened)?;
        Ok(AuditLog {
            open: true,
            shared,
            capacity,
            sql_max_bytes,
            on_failure,
            writer: Mutex::new(Some(writer)),
        })
    }

    pub fn enabled(&self) -> bool {
        self.open
    }

    /// Events lost so far, whatever the cause.
    pub fn dropped(&self) -> u64 {
        DropCause::ALL.iter().map(|c| self.dropped_by(*c)).sum()
    }

    /// Events lost for `cause`.
    pub fn dropped_by(&self, cause: DropCause) -> u64 {
        self.shared.dropped[cause.index()].load(Ordering::Relaxed)
    }

    /// Lost events that no `audit_events_dropped` line in the file
    /// accounts for yet (written when the file can be written again).
    pub fn unreported(&self) -> u64 {
        DropCause::ALL
            .iter()
            .map(|c| {
                let i = c.index();
                self.shared.dropped[i]
                    .load(Ordering::Relaxed)
                    .saturating_sub(self.shared.reported[i].load(Ordering::Relaxed))
            })
            .sum()
    }

    /// Times the file was opened again (rotation, deletion, replacement).
    pub fn reopened(&self) -> u64 {
        self.shared.reopened.load(Ordering::Relaxed)
    }

    /// Whether events reach the file.
    pub fn health(&self) -> AuditHealth {
        if !self.shared.failing.load(Ordering::Acquire) {
            return AuditHealth::Writing;
        }
        AuditHealth::Failing {
            error: self
                .shared
                .error()
                .unwrap_or_else(|| "the audit log cannot be written".into()),
        }
    }

    pub fn on_failure(&self) -> AuditOnFailure {
        self.on_failure
    }

    /// Whether an event recorded now can be expected to be written: always
    /// with `on_failure = "continue"` (a loss is counted and reported);
    /// with `"block"`, only while the writer is writing and the queue has
    /// room. Cheap: two atomic loads, for the data path.
    pub fn accepting(&self) -> bool {
        self.refusal().is_none()
    }

    /// Why an event could not be audited now, with `on_failure = "block"`.
    pub fn refusal(&self) -> Option<String> {
        if self.on_failure == AuditOnFailure::Continue || !self.enabled() {
            return None;
        }
        if let AuditHealth::Failing { error } = self.health() {
            return Some(format!("the audit log cannot be written: {error}"));
        }
        (self.shared.queue.len() >= self.capacity).then(|| "the audit queue is full".to_owned())
    }

    /// Asks the writer to close the file and open the path again, for log
    /// rotation by rename (SIGHUP, `actgate reload`). Done by the writer
    /// before its next write, or within its 200 ms tick.
    pub fn reopen(&self) {
        if self.enabled() {
            self.shared.reopen.store(true, Ordering::Release);
        }
    }

    /// Truncates SQL to the configured length (on a character boundary);
    /// whether it was cut.
    pub fn sql<'s>(&self, sql: &'s str) -> (&'s str, bool) {
        if sql.len() <= self.sql_max_bytes {
            return (sql, false);
        }
        let mut end = self.sql_max_bytes;
        while !sql.is_char_boundary(end) {
            end -= 1;
        }
        (&sql[..end], true)
    }

    /// Queues an event; never blocks.
    pub fn record(&self, event: &AuditEvent<'_>) {
        if !self.open {
            return;
        }
        // Serialised into this thread's own buffer, outside the queue's
        // lock, and copied in.
        let queued = SCRATCH
            .try_with(|scratch| {
                let mut line = scratch.borrow_mut();
                line.clear();
                write_line(&mut line, event, SystemTime::now());
                let queued = self.shared.queue.push(&line, self.capacity);
                if line.capacity() > SCRATCH_KEPT_BYTES {
                    *line = Vec::new();
                }
                queued
            })
            .unwrap_or_else(|_| self.shared.queue.push(&line(event), self.capacity));
        match queued {
            Ok(_) => {}
            Err(queue::Refused::Full) => self.shared.drop_events(DropCause::QueueFull, 1),
            // Not closed by us (that takes `&mut self`): the writer
            // stopped.
            Err(queue::Refused::Closed) => {
                self.shared.drop_events(DropCause::WriteFailed, 1);
                self.shared
                    .set_error(Some("the audit writer has stopped".into()));
                self.shared.failing.store(true, Ordering::Release);
            }
        }
    }

    /// Flushes and stops the writer (on shutdown).
    pub fn close(&mut self) {
        self.open = false;
        self.shared.queue.close();
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
    }
}

/// Bytes a thread's line buffer keeps between events (one grown past
/// this by a long statement is freed after use).
const SCRATCH_KEPT_BYTES: usize = 64 * 1024;

thread_local! {
    /// The line being recorded on this thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests;
