//! The audit writer thread: appends queued lines to the file, keeps that
//! file the one at the configured path, and accounts for every lost event.
//!
//! - Before each batch (and every [`TICK`] when idle) the open file is
//!   compared with the path, by device and inode. The file is opened again
//!   when a reopen was asked for (rotation by rename, then SIGHUP or
//!   `actgate reload`), when another file is at the path (replaced), and
//!   when nothing is at the path and the open file has no name left
//!   (deleted). A file renamed away with nothing yet in its place keeps
//!   receiving events (they are not lost) until the reopen. Each reopen is
//!   recorded as `audit_log_reopened` in the new file.
//! - A write that fails loses the events of its batch that did not make
//!   it, counted as `write_failed`; a torn last line is cut off, so the
//!   file stays one JSON object per line.
//! - Lost events are reported in the file (`audit_events_dropped`, one line
//!   per cause) and count as reported only once that line is written; until
//!   then the report is tried again before every batch and every tick,
//!   which is also how the writer notices the file is writable again.

use super::{AuditEvent, DropCause, Shared, line};
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long the writer waits for events before it looks at the file again.
const TICK: Duration = Duration::from_millis(200);
/// After the first event of a batch, how long the writer lets more events
/// queue before it writes: a session's send then rarely has to wake the
/// writer thread (one wakeup and one write per batch, not per event),
/// which on a small machine is a context switch saved per statement.
/// Each batch costs a sleep and a `write` whatever its size (at 20,000
/// statements a second, a 2 ms linger made the writer thread ~4 % of
/// actgate's CPU, a quarter of it the sleep); events wait at most this long
/// in memory, as they would in any buffered log. A batch that fills
/// [`MAX_BATCH_BYTES`] is followed by the next without lingering, so the
/// linger never limits how fast the log is written.
const LINGER: Duration = Duration::from_millis(10);
/// A batch this large is followed by the next without lingering.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Closes the queue when the writer stops, however it stops (a panic
/// included): lines recorded from then on are counted as lost and the log
/// reports itself failing, and those it had not taken are counted too.
struct Stopped(Arc<Shared>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.queue.close();
        let mut left = Vec::new();
        let taken = self.0.queue.take(&mut left);
        if taken.events > 0 {
            self.0
                .drop_events(DropCause::WriteFailed, taken.events as u64);
        }
    }
}

/// Drops are logged (tracing) at most this often per cause.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Opens the audit file for appending, creating it if needed.
pub(super) fn open(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Why the writer opened the file again (the `reason` of
/// `audit_log_reopened`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reopen {
    /// Asked for: SIGHUP, `actgate reload`, `POST /reload`.
    Requested,
    /// Another file is at the path.
    Replaced,
    /// Nothing is at the path and the open file has no name left.
    Deleted,
    /// The file could not be opened before.
    Retried,
}

impl Reopen {
    fn name(self) -> &'static str {
        match self {
            Reopen::Requested => "requested",
            Reopen::Replaced => "replaced",
            Reopen::Deleted => "deleted",
            Reopen::Retried => "retried",
        }
    }
}

/// A write that stopped part-way.
#[derive(Debug)]
pub(super) struct Partial {
    pub error: std::io::Error,
    /// Bytes written.
    pub written: usize,
    /// Of those, bytes of whole lines.
    pub complete: usize,
}

/// Writes `bytes` (whole lines) to `out`, retrying short writes.
pub(super) fn append(out: &mut impl Write, bytes: &[u8]) -> Result<(), Partial> {
    let mut written = 0;
    while written < bytes.len() {
        match out.write(&bytes[written..]) {
            Ok(0) => {
                return Err(partial(bytes, written, ErrorKind::WriteZero.into()));
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(partial(bytes, written, e)),
        }
    }
    Ok(())
}

fn partial(bytes: &[u8], written: usize, error: std::io::Error) -> Partial {
    let complete = bytes[..written]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    Partial {
        error,
        written,
        complete,
    }
}

fn lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

pub(super) struct Writer {
    path: PathBuf,
    file: Option<File>,
    /// Device and inode of `file`.
    id: Option<(u64, u64)>,
    shared: Arc<Shared>,
    /// Events written since the file was last compared with the path: lost
    /// if it turns out to have been deleted meanwhile.
    unchecked: u64,
    /// Drops logged through tracing, by cause, and when last.
    logged: [u64; 2],
    logged_at: [Option<Instant>; 2],
    /// The error of the last failed reopen, logged once.
    reopen_error: Option<String>,
    /// The error of the last failed write, for the drop report.
    write_error: Option<String>,
}

impl Writer {
    pub(super) fn new(path: PathBuf, file: File, shared: Arc<Shared>) -> Writer {
        let id = file.metadata().ok().map(|m| identity(&m));
        Writer {
            path,
            file: Some(file),
            id,
            shared,
            unchecked: 0,
            logged: [0; 2],
            logged_at: [None; 2],
            reopen_error: None,
            write_error: None,
        }
    }

    /// Serves the queue until the log is closed.
    pub(super) fn run(mut self) {
        let _stopped = Stopped(self.shared.clone());
        let mut linger = true;
        // Swapped with the queue's buffer at every take: the two buffers
        // go back and forth, and neither is allocated again.
        let mut batch = Vec::new();
        loop {
            if self.shared.queue.wait(TICK) && linger {
                std::thread::sleep(LINGER);
            }
            batch.clear();
            let taken = self.shared.queue.take(&mut batch);
            self.check_file();
            self.report_drops();
            if taken.events > 0 {
                self.write_lines(&batch, taken.events as u64);
            }
            // A large batch: more is coming fast, written without lingering.
            linger = batch.len() < MAX_BATCH_BYTES;
            if batch.capacity() > 4 * MAX_BATCH_BYTES {
                batch = Vec::new();
            }
            self.log_drops(taken.closing);
            if taken.closing {
                self.report_drops();
                return;
            }
        }
    }

    /// Writes one event now (the opening line, reopen notes).
    pub(super) fn write_event(&mut self, event: &AuditEvent<'_>) -> bool {
        self.write_lines(&line(event), 1)
    }

    /// Writes whole lines (`events` of them); counts those that did not
    /// make it as dropped.
    fn write_lines(&mut self, bytes: &[u8], events: u64) -> bool {
        let result = match self.file.as_mut() {
            Some(file) => append(file, bytes),
            None => Err(Partial {
                error: std::io::Error::other(
                    self.reopen_error
                        .clone()
                        .unwrap_or_else(|| "the audit log is not open".into()),
                ),
                written: 0,
                complete: 0,
            }),
        };
        match result {
            Ok(()) => {
                self.unchecked += events;
                self.writable();
                true
            }
            Err(p) => {
                self.unchecked += lines(&bytes[..p.complete]);
                self.shared
                    .drop_events(DropCause::WriteFailed, lines(&bytes[p.complete..]));
                if p.written > p.complete {
                    self.cut_torn_line((p.written - p.complete) as u64);
                }
                self.unwritable(&p.error);
                false
            }
        }
    }

    /// Removes the start of a line a failed write left at the end of the
    /// file (best effort).
    fn cut_torn_line(&mut self, torn: u64) {
        if let Some(file) = &self.file
            && let Ok(m) = file.metadata()
            && m.is_file()
        {
            let _ = file.set_len(m.len().saturating_sub(torn));
        }
    }

    fn writable(&mut self) {
        if self.shared.failing.swap(false, Ordering::AcqRel) {
            tracing::info!(path = %self.path.display(), "audit log writable again");
        }
        self.shared.set_error(None);
    }

    fn unwritable(&mut self, error: &std::io::Error) {
        self.write_error = Some(error.to_string());
        self.shared.set_error(Some(error.to_string()));
        if !self.shared.failing.swap(true, Ordering::AcqRel) {
            tracing::error!(
                path = %self.path.display(),
                error = %error,
                "audit log write failed; events are being lost until it can be written"
            );
        }
    }

    /// Reopens the file if asked to, or if it is no longer the one at the
    /// path.
    fn check_file(&mut self) {
        let requested = self.shared.reopen.swap(false, Ordering::AcqRel);
        let cause = if requested {
            Some(Reopen::Requested)
        } else {
            self.moved()
        };
        let at_risk = std::mem::take(&mut self.unchecked);
        if let Some(cause) = cause {
            self.reopen(cause, at_risk);
        }
    }

    /// Whether the open file is no longer the one at the path.
    fn moved(&self) -> Option<Reopen> {
        let Some(file) = &self.file else {
            return Some(Reopen::Retried);
        };
        let at_path = std::fs::metadata(&self.path).ok().map(|m| identity(&m));
        match at_path {
            Some(id) if Some(id) == self.id => None,
            Some(_) => Some(Reopen::Replaced),
            // Renamed away, and the new file not made yet: events still
            // land in the renamed file until the reopen asked for.
            None if file.metadata().is_ok_and(|m| m.nlink() > 0) => None,
            None => Some(Reopen::Deleted),
        }
    }

    fn reopen(&mut self, cause: Reopen, at_risk: u64) {
        let file = match open(&self.path) {
            Ok(f) => f,
            Err(e) => {
                let still_named = self
                    .file
                    .as_ref()
                    .and_then(|f| f.metadata().ok())
                    .is_some_and(|m| m.nlink() > 0);
                if self.reopen_error.is_none() {
                    tracing::error!(
                        path = %self.path.display(),
                        error = %e,
                        still_writing_to_previous_file = still_named,
                        "audit log could not be reopened"
                    );
                }
                self.reopen_error = Some(format!("cannot reopen the audit log: {e}"));
                if cause == Reopen::Requested {
                    // Tried again before the next batch until it works.
                    self.shared.reopen.store(true, Ordering::Release);
                }
                if !still_named {
                    // Writing on would lose events without counting them.
                    self.file = None;
                    self.id = None;
                    self.shared.set_error(self.reopen_error.clone());
                    self.shared.failing.store(true, Ordering::Release);
                }
                return;
            }
        };
        let old_unnamed = self
            .file
            .as_ref()
            .is_some_and(|f| f.metadata().map_or(true, |m| m.nlink() == 0));
        self.id = file.metadata().ok().map(|m| identity(&m));
        self.file = Some(file);
        self.reopen_error = None;
        self.shared.reopened.fetch_add(1, Ordering::Relaxed);
        let lost = (old_unnamed && at_risk > 0).then_some(at_risk);
        let mut message = match cause {
            Reopen::Requested => "reopened as asked (log rotation)".to_owned(),
            Reopen::Replaced => "another file was put at the audit log's path".to_owned(),
            Reopen::Deleted => "the audit log was deleted".to_owned(),
            Reopen::Retried => "the audit log could be opened again".to_owned(),
        };
        if let Some(n) = lost {
            message.push_str(&format!(
                "; up to {n} events written just before were written to the deleted file and may be lost"
            ));
        }
        if cause == Reopen::Requested {
            tracing::info!(path = %self.path.display(), "audit log reopened");
        } else {
            tracing::warn!(
                path = %self.path.display(),
                reason = cause.name(),
                possibly_lost = lost.unwrap_or(0),
                "audit log reopened"
            );
        }
        self.write_event(&AuditEvent {
            event: "audit_log_reopened",
            reason: Some(cause.name()),
            message: Some(message.into()),
            count: lost,
            ..AuditEvent::default()
        });
    }

    /// Writes one `audit_events_dropped` line per cause with drops not yet
    /// reported; they count as reported only once written.
    fn report_drops(&mut self) {
        for cause in DropCause::ALL {
            let i = cause.index();
            let dropped = self.shared.dropped[i].load(Ordering::Relaxed);
            let reported = self.shared.reported[i].load(Ordering::Relaxed);
            if dropped <= reported {
                continue;
            }
            let message = match cause {
                DropCause::QueueFull => "the audit queue was full".to_owned(),
                DropCause::WriteFailed => format!(
                    "the audit log could not be written: {}",
                    self.write_error.as_deref().unwrap_or("unknown error")
                ),
            };
            let event = AuditEvent {
                event: "audit_events_dropped",
                reason: Some(cause.name()),
                count: Some(dropped - reported),
                message: Some(message.into()),
                ..AuditEvent::default()
            };
            let bytes = line(&event);
            let written = match self.file.as_mut() {
                Some(file) => append(file, &bytes),
                None => Err(partial(&bytes, 0, ErrorKind::NotFound.into())),
            };
            match written {
                Ok(()) => {
                    self.shared.reported[i].store(dropped, Ordering::Relaxed);
                    self.unchecked += 1;
                    self.writable();
                }
                Err(p) => {
                    if p.written > p.complete {
                        self.cut_torn_line((p.written - p.complete) as u64);
                    }
                    if self.file.is_some() {
                        self.unwritable(&p.error);
                    }
                    // Tried again before the next batch.
                    return;
                }
            }
        }
    }

    /// Logs new drops with their cause, at most once a second per cause
    /// (and at shutdown).
    fn log_drops(&mut self, now_anyway: bool) {
        for cause in DropCause::ALL {
            let i = cause.index();
            let dropped = self.shared.dropped[i].load(Ordering::Relaxed);
            let due = now_anyway || self.logged_at[i].is_none_or(|t| t.elapsed() >= LOG_EVERY);
            if dropped <= self.logged[i] || !due {
                continue;
            }
            let n = dropped - self.logged[i];
            self.logged[i] = dropped;
            self.logged_at[i] = Some(Instant::now());
            match cause {
                DropCause::QueueFull => tracing::warn!(
                    dropped = n,
                    cause = cause.name(),
                    "audit events dropped: the audit queue was full"
                ),
                DropCause::WriteFailed => tracing::warn!(
                    dropped = n,
                    cause = cause.name(),
                    error = self.write_error.as_deref().unwrap_or_default(),
                    "audit events dropped: the audit log could not be written"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes `room` bytes, then fails as a full disk does.
    struct Disk {
        bytes: Vec<u8>,
        room: usize,
    }

    impl Write for Disk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.room - self.bytes.len());
            if n == 0 {
                return Err(std::io::Error::from_raw_os_error(28));
            }
            self.bytes.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_stops_part_way_says_how_many_whole_lines_made_it() {
        let mut disk = Disk {
            bytes: Vec::new(),
            room: 10,
        };
        let p = append(&mut disk, b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n").unwrap_err();
        assert_eq!(p.error.raw_os_error(), Some(28));
        assert_eq!((p.written, p.complete), (10, 8));
        assert_eq!(
            lines(b"{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"[p.complete..].as_ref()),
            2
        );

        let mut roomy = Disk {
            bytes: Vec::new(),
            room: 100,
        };
        append(&mut roomy, b"x\ny\n").unwrap();
        assert_eq!(roomy.bytes, b"x\ny\n");
    }
}
