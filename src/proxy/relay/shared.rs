//! State both halves of the relay see (counters, markers, expectations,
//! what to swallow) and the small types it is made of.

use super::counted::Counted;
use crate::policy::{RowLimit, WriteCap};
use crate::protocol::backend::TransactionStatus;
use bytes::{Bytes, BytesMut};
use futures_util::task::AtomicWaker;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;

pub(super) const READ_CHUNK: usize = 64 * 1024;

/// An injected sentinel whose syntax error is to be replaced.
pub(super) struct Marker {
    /// The number of the ReadyForQuery that closes the sentinel's batch.
    pub(super) seq: u64,
    pub(super) replacement: Bytes,
}

/// State both halves see. Counters are lock-free; the queues and maps
/// that are usually empty ([`Counted`]) are locked only when they are not.
pub(super) struct Shared {
    /// Query, Sync and sentinel Query messages sent upstream: each will be
    /// answered by one ReadyForQuery.
    pub(super) sent: AtomicU64,
    /// ReadyForQuery messages received from upstream.
    pub(super) received: AtomicU64,
    pub(super) status: StatusCell,
    pub(super) markers: Counted<VecDeque<Marker>>,
    /// Describe(statement) messages awaiting their ParameterDescription:
    /// (number of the ReadyForQuery closing the batch, statement name).
    pub(super) describes: Counted<VecDeque<(u64, String)>>,
    /// Parameter types the server reported (ParameterDescription) for a
    /// described statement, for the client half to record against it.
    pub(super) described: Mutex<Vec<(String, Vec<u32>)>>,
    /// `described` is not empty (checked without the lock on every client
    /// message).
    pub(super) described_pending: AtomicBool,
    /// Row-limit expectations, in the order their results come back.
    pub(super) expects: Counted<VecDeque<Expect>>,
    /// Executes whose results have completed (for barriers).
    pub(super) execs_done: AtomicU64,
    /// What actgate failed (a row-limited or capped result) that the
    /// server must be made to fail too before anything else runs.
    pub(super) catch_up: CatchUpCell,
    /// The batch (ReadyForQuery number) in which the server last reported
    /// an error: it skips the rest of that batch, so barriers release.
    pub(super) batch_failed: AtomicU64,
    /// Wakes the client half waiting at a barrier.
    pub(super) progress: Progress,
    /// Batches (ReadyForQuery numbers) of actgate's own statements and
    /// sentinels, and which of their answers are not forwarded.
    swallowed: Counted<HashMap<u64, Swallow>>,
    /// How the last capped statement went (set by the server half).
    pub(super) guard_outcome: Mutex<Option<GuardOutcome>>,
    /// The probe that tells whether the server is skipping to Sync.
    pub(super) probe: Mutex<Probe>,
    /// Close messages sent in the current batch (client half): a probe is
    /// known by the position of its CloseComplete among the batch's.
    pub(super) closes: Mutex<CloseCount>,
    /// The last batch with an error, and how many of its messages had
    /// completed before it (server half).
    pub(super) first_error: Mutex<(u64, u64)>,
    /// ReadyForQuery messages whose status shows the transaction or
    /// savepoint actgate opened around a capped statement, not the
    /// session's: not recorded as the session's status.
    pub(super) transient_status: Counted<HashSet<u64>>,
    /// The batch in which the server last entered copy-in mode.
    pub(super) copy_in_started: AtomicU64,
    /// Answers actgate gives without the server (client half), for the
    /// server half to write in order.
    pub(super) local: Mutex<BytesMut>,
    pub(super) local_ready: Signal,
}

/// Wakes the client half where it waits for the server's progress
/// ([`Relay::wait_for`](super::Relay::wait_for)). A notification while
/// nothing waits takes no lock: the server half notifies on every
/// ReadyForQuery, and the client half waits only at barriers. Both halves
/// run in the session's one task ([`super::halves`]), so a wait never
/// begins while a notification is under way.
#[derive(Default)]
pub(super) struct Progress {
    notify: tokio::sync::Notify,
    waiting: AtomicUsize,
}

impl Progress {
    /// Wakes the waits begun before.
    pub(super) fn notify(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// A wait, counted until it is dropped.
    pub(super) fn waiter(&self) -> Waiter<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiter(self)
    }
}

/// One wait for progress (see [`Progress::waiter`]).
pub(super) struct Waiter<'a>(&'a Progress);

impl Waiter<'_> {
    /// The next notification.
    pub(super) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.notify.notified()
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A wakeup for one waiter (the server half: the local-answer signal
/// here, and the session's doorbell, `lifecycle::Doorbell`) that stays set
/// until it is taken. Waiting registers the waiter's waker without a lock:
/// a `Notify` would have the server half join and leave its locked list of
/// waiters, and a channel poll its queue, on every wait for the server,
/// that is on every statement.
#[derive(Default)]
pub(super) struct Signal {
    set: AtomicBool,
    waiter: AtomicWaker,
}

impl Signal {
    /// Sets the signal and wakes the waiter.
    pub(super) fn notify(&self) {
        self.set.store(true, Ordering::Release);
        self.waiter.wake();
    }

    /// Resolves once the signal is set, and unsets it. Dropped before,
    /// it leaves the signal as it was.
    pub(super) fn taken(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            if self.set.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            self.waiter.register(cx.waker());
            if self.set.swap(false, Ordering::AcqRel) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// Whether the server may be in copy-in mode (client half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyIn {
    None,
    /// An Execute of COPY … FROM STDIN was sent in this batch.
    MayStart(u64),
    /// The server answered it with CopyInResponse.
    Copying,
}

/// A probe sent by [`Relay::settle`](super::Relay::settle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    None,
    /// Sent in batch `batch` as its `index`-th Close.
    Waiting {
        batch: u64,
        index: u64,
    },
    /// Its CloseComplete arrived: no message of its batch failed.
    Answered,
}

/// The number of Close messages sent in one batch.
#[derive(Debug, Default)]
pub(super) struct CloseCount {
    batch: u64,
    count: u64,
}

/// Which answers to one of actgate's own statements (one batch) are not
/// forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swallow {
    /// Its ReadyForQuery only: a sentinel's, or the one that would show
    /// actgate's own transaction around a guarded statement.
    Ready,
    /// Every answer.
    All,
    /// Every answer but errors and ReadyForQuery.
    AllButErrorsAndReady,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GuardOutcome {
    Within,
    Exceeded,
    Failed,
}

/// What to count in the results of one Query or Execute.
#[derive(Debug, Clone)]
pub(super) struct Expect {
    /// The number of the ReadyForQuery closing its batch.
    pub(super) seq: u64,
    /// `None` for a Query (every result until ReadyForQuery); the portal
    /// for an Execute (one result).
    pub(super) portal: Option<String>,
    pub(super) limit: Option<RowLimit>,
    /// Most rows the statement may change (write cap).
    pub(super) cap: Option<WriteCap>,
    /// Run by [`Relay::run_guarded`](super::Relay::run_guarded) in a transaction or savepoint of
    /// actgate's: its outcome decides whether that is kept or undone.
    pub(super) guarded: bool,
}

impl Shared {
    pub(super) fn new() -> Shared {
        Shared {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            status: StatusCell::default(),
            markers: Counted::default(),
            describes: Counted::default(),
            described: Mutex::new(Vec::new()),
            described_pending: AtomicBool::new(false),
            expects: Counted::default(),
            execs_done: AtomicU64::new(0),
            catch_up: CatchUpCell::default(),
            batch_failed: AtomicU64::new(0),
            progress: Progress::default(),
            swallowed: Counted::default(),
            guard_outcome: Mutex::new(None),
            probe: Mutex::new(Probe::None),
            closes: Mutex::new(CloseCount::default()),
            first_error: Mutex::new((0, 0)),
            transient_status: Counted::default(),
            copy_in_started: AtomicU64::new(0),
            local: Mutex::new(BytesMut::new()),
            local_ready: Signal::default(),
        }
    }

    /// The number of the ReadyForQuery that will close the batch the
    /// client half is sending now.
    pub(super) fn current_batch(&self) -> u64 {
        self.sent.load(Ordering::Acquire) + 1
    }

    /// Whether the server reported an error in the current batch (it then
    /// skips the rest of an extended batch until Sync).
    pub(super) fn failed_in_current_batch(&self) -> bool {
        self.batch_failed.load(Ordering::Acquire) == self.current_batch()
    }

    pub(super) fn closes_sent_in(&self, batch: u64) -> u64 {
        let c = lock(&self.closes);
        if c.batch == batch { c.count } else { 0 }
    }

    pub(super) fn note_close_sent(&self, batch: u64) {
        let mut c = lock(&self.closes);
        if c.batch != batch {
            *c = CloseCount { batch, count: 0 };
        }
        c.count += 1;
    }

    /// A CloseComplete, the `nth` of batch `batch`: whether it answers the
    /// probe (then it is actgate's, not forwarded).
    pub(super) fn probe_answered(&self, batch: u64, nth: u64) -> bool {
        let mut probe = lock(&self.probe);
        if *probe == (Probe::Waiting { batch, index: nth }) {
            *probe = Probe::Answered;
            drop(probe);
            self.progress.notify();
            return true;
        }
        false
    }

    /// How many messages of batch `batch` completed before its first
    /// error; `None` if it had none. Asked once its ReadyForQuery is in.
    pub(super) fn completed_before_error(&self, batch: u64) -> Option<u64> {
        let (failed, completed) = *lock(&self.first_error);
        (failed == batch).then_some(completed)
    }

    /// Records the parameter types the server reported since the last
    /// message against their statements (client half).
    pub(super) fn record_described(&self, state: &mut crate::policy::SessionState) {
        if !self.described_pending.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut described = lock(&self.described);
        for (name, reported) in described.drain(..) {
            if let Some(statement) = state.statement_mut(&name) {
                statement.described(reported);
            }
        }
    }

    pub(super) fn idle(&self) -> bool {
        self.sent.load(Ordering::Acquire) == self.received.load(Ordering::Acquire)
            && self.status.get() == TransactionStatus::Idle
    }

    /// Answers of batch `batch` (actgate's own statement) are not
    /// forwarded, as `what` says.
    pub(super) fn swallow(&self, batch: u64, what: Swallow) {
        self.swallowed.lock().insert(batch, what);
    }

    /// Whether a message `tag` (not a ReadyForQuery) of batch `batch` is
    /// swallowed.
    pub(super) fn swallows(&self, batch: u64, tag: u8) -> bool {
        let Some(swallowed) = self.swallowed.nonempty() else {
            return false;
        };
        match swallowed.get(&batch) {
            Some(Swallow::All) => true,
            Some(Swallow::AllButErrorsAndReady) => tag != b'E',
            Some(Swallow::Ready) | None => false,
        }
    }

    /// Batch `batch` is over: whether its ReadyForQuery is swallowed.
    pub(super) fn swallows_ready(&self, batch: u64) -> bool {
        self.swallowed
            .nonempty()
            .is_some_and(|mut s| matches!(s.remove(&batch), Some(Swallow::Ready | Swallow::All)))
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;

/// The session's transaction status as the server last reported it
/// (ReadyForQuery), shared by both halves.
#[derive(Debug)]
pub(super) struct StatusCell(AtomicU8);

impl Default for StatusCell {
    fn default() -> StatusCell {
        StatusCell(AtomicU8::new(TransactionStatus::Idle.byte()))
    }
}

impl StatusCell {
    pub(super) fn get(&self) -> TransactionStatus {
        TransactionStatus::from_byte(self.0.load(Ordering::Acquire))
    }

    pub(super) fn set(&self, status: TransactionStatus) {
        self.0.store(status.byte(), Ordering::Release);
    }
}

/// What the server must be made to do, before anything else runs, to agree
/// with an error actgate reported in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CatchUp {
    Nothing,
    /// Fail the current transaction or batch (the sentinel).
    Fail,
    /// Open a transaction block and fail it (BEGIN, then the sentinel):
    /// the block a failed Query opened was committed by the server, and
    /// PostgreSQL would have left it open and failed.
    ReopenAndFail,
}

/// The pending [`CatchUp`], set by the server half and carried out by the
/// client half.
#[derive(Debug, Default)]
pub(super) struct CatchUpCell(AtomicU8);

impl CatchUpCell {
    pub(super) fn demand(&self, catch_up: CatchUp) {
        let byte = match catch_up {
            CatchUp::Nothing => 0,
            CatchUp::Fail => 1,
            CatchUp::ReopenAndFail => 2,
        };
        self.0.store(byte, Ordering::Release);
    }

    /// The pending catch-up, which is no longer pending.
    pub(super) fn take(&self) -> CatchUp {
        match self.0.swap(0, Ordering::AcqRel) {
            1 => CatchUp::Fail,
            2 => CatchUp::ReopenAndFail,
            _ => CatchUp::Nothing,
        }
    }
}
