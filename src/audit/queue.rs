//! The audit queue: the lines sessions have recorded and the writer has
//! not taken yet, as one buffer.
//!
//! A session serialises its event into a buffer of its thread's own and
//! appends the bytes here under a short lock; the writer swaps the whole
//! buffer for its spare one and writes it. No line is allocated, sent or
//! freed on its own, and no allocation made by one thread is freed by
//! another (which glibc's allocator makes a locked, slow path). The writer
//! is woken only when the queue gains its first line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Why a line was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The queue holds its capacity of events.
    Full,
    /// The log was closed.
    Closed,
}

#[derive(Debug, Default)]
struct Lines {
    bytes: Vec<u8>,
    events: usize,
    closing: bool,
}

/// Lines waiting for the writer, with their number.
#[derive(Debug, Default)]
pub(super) struct Queue {
    lines: Mutex<Lines>,
    /// Signalled when the queue gains its first line, and on close.
    wake: Condvar,
    /// The events waiting, kept with them under the lock, read without it.
    events: AtomicUsize,
}

/// What the writer took from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Taken {
    pub(super) events: usize,
    /// The log is closing: nothing more will come.
    pub(super) closing: bool,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Lines> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The events waiting now (without the lock: for a check on the data
    /// path).
    pub(super) fn len(&self) -> usize {
        self.events.load(Ordering::Relaxed)
    }

    /// Appends one whole line (ending in a newline) unless `capacity`
    /// events are already waiting; `Ok` with the events now queued.
    pub(super) fn push(&self, line: &[u8], capacity: usize) -> Result<usize, Refused> {
        let mut lines = self.lock();
        if lines.closing {
            return Err(Refused::Closed);
        }
        if lines.events >= capacity {
            return Err(Refused::Full);
        }
        lines.bytes.extend_from_slice(line);
        lines.events += 1;
        let events = lines.events;
        self.events.store(events, Ordering::Relaxed);
        drop(lines);
        if events == 1 {
            self.wake.notify_one();
        }
        Ok(events)
    }

    /// Waits up to `tick` for a line (or the close); whether one is
    /// waiting.
    pub(super) fn wait(&self, tick: Duration) -> bool {
        let lines = self.lock();
        let (lines, _) = self
            .wake
            .wait_timeout_while(lines, tick, |l| l.events == 0 && !l.closing)
            .unwrap_or_else(|p| p.into_inner());
        lines.events > 0
    }

    /// Takes every queued line into `batch` (which must be empty), leaving
    /// `batch`'s buffer to the queue.
    pub(super) fn take(&self, batch: &mut Vec<u8>) -> Taken {
        debug_assert!(batch.is_empty());
        let mut lines = self.lock();
        std::mem::swap(&mut lines.bytes, batch);
        self.events.store(0, Ordering::Relaxed);
        Taken {
            events: std::mem::take(&mut lines.events),
            closing: lines.closing,
        }
    }

    /// No more lines are accepted; the writer takes the last and stops.
    pub(super) fn close(&self) {
        self.lock().closing = true;
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_taken_whole_in_order_and_bounded_by_events() {
        let q = Queue::default();
        assert_eq!(q.push(b"a\n", 2), Ok(1));
        assert_eq!(q.push(b"bc\n", 2), Ok(2));
        assert_eq!(q.push(b"d\n", 2), Err(Refused::Full));
        assert_eq!(q.len(), 2);
        assert!(q.wait(Duration::ZERO));
        let mut batch = Vec::new();
        let taken = q.take(&mut batch);
        assert_eq!(
            (taken.events, taken.closing, batch.as_slice()),
            (2, false, &b"a\nbc\n"[..])
        );
        assert_eq!(q.len(), 0);
        // Room again; the writer's spare buffer now holds the queue.
        assert_eq!(q.push(b"d\n", 2), Ok(1));
        batch.clear();
        assert_eq!(q.take(&mut batch).events, 1);
        assert_eq!(batch, b"d\n");
    }

    #[test]
    fn closing_refuses_new_lines_and_wakes_the_writer() {
        let q = std::sync::Arc::new(Queue::default());
        let waiter = {
            let q = q.clone();
            std::thread::spawn(move || q.wait(Duration::from_secs(60)))
        };
        q.close();
        assert!(!waiter.join().unwrap(), "woken by the close, no line");
        assert_eq!(q.push(b"x\n", 8), Err(Refused::Closed));
        let mut batch = Vec::new();
        assert_eq!(
            q.take(&mut batch),
            Taken {
                events: 0,
                closing: true
            }
        );
    }
}
