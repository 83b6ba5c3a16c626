//! Row limits and write caps in the relay: counting the rows and changed
//! rows of results (server half), failing a result that goes over, and
//! running a statement in actgate's own transaction or savepoint so that
//! it can be undone (client half).

use super::lifecycle::{Stop, io_stop};
use super::sentinel::error_fields;
use super::sentinel::send_sentinel;
use super::shared::{CatchUp, Expect, GuardOutcome, Shared, Swallow, lock};
use super::wait::Wire;
use super::{Protocol, Relay};
use crate::policy::{RowLimit, WriteCap};
use crate::protocol::backend::{ErrorFields, Severity, TransactionStatus};
use crate::protocol::put_message;
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use tokio::io::AsyncWriteExt;

/// What a statement actgate runs in its own transaction or savepoint is
/// held to.
#[derive(Debug, Clone)]
pub(super) struct Guard {
    pub(super) cap: Option<WriteCap>,
    pub(super) limit: Option<RowLimit>,
}

/// What happens to one server message under row limits.
pub(super) enum RowAction {
    Pass,
    Drop,
    Replace(Bytes),
}

/// What the server half knows about the result being relayed.
#[derive(Default)]
pub(super) struct Counting {
    /// The expectation the current results belong to.
    current: Option<Expect>,
    /// Rows forwarded in the current result.
    forwarded: u64,
    /// Rows of the current Query result.
    rows: u64,
    /// Rows sent per portal (Executes with a row count continue a portal).
    portal_rows: HashMap<String, u64>,
    /// Where the current result stands against its limit.
    result: ResultState,
    /// Whether actgate failed the current Query's result.
    pub(super) query: QueryResult,
}

/// Where the result being relayed stands against its row limit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ResultState {
    #[default]
    Within,
    /// It went over: its further rows are dropped.
    Over,
    /// A COPY TO went over and its CopyDone was replaced by the error: its
    /// CommandComplete is not forwarded either.
    CopyFailed,
}

/// Whether actgate failed a Query's result (row limit, error mode).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum QueryResult {
    #[default]
    Relayed,
    /// Failed: its ReadyForQuery must say so, and the results of its later
    /// statements are not forwarded.
    Failed,
    /// Failed, and the Query opened a block around its reads (`BEGIN;
    /// SELECT …; COMMIT`), which PostgreSQL would leave open and failed.
    FailedInBlock,
}

impl Counting {
    /// After a ReadyForQuery: nothing is in progress.
    pub(super) fn reset(&mut self) {
        self.current = None;
        self.rows = 0;
        self.forwarded = 0;
        self.result = ResultState::Within;
    }

    /// A DataRow (or CopyData) of result `e`: counted, and dropped once
    /// the result is over its limit.
    fn data_row(&mut self, e: &Expect) -> RowAction {
        let Some(l) = &e.limit else {
            return RowAction::Pass;
        };
        let n = match &e.portal {
            None => {
                self.rows += 1;
                self.rows
            }
            Some(p) => match self.portal_rows.get_mut(p) {
                Some(r) => {
                    *r += 1;
                    *r
                }
                None => {
                    self.portal_rows.insert(p.clone(), 1);
                    1
                }
            },
        };
        if n > l.max {
            self.result = ResultState::Over;
            RowAction::Drop
        } else {
            self.forwarded += 1;
            RowAction::Pass
        }
    }
}

/// The row count of a completion tag (`UPDATE 12`, `INSERT 0 3`).
fn command_rows(body: &[u8]) -> Option<u64> {
    let tag = std::str::from_utf8(body.strip_suffix(&[0])?).ok()?;
    tag.rsplit_once(' ')?.1.parse().ok()
}

/// The completion tag with its row count replaced (`SELECT 10`).
fn retag(body: &[u8], rows: u64) -> Option<Vec<u8>> {
    let tag = std::str::from_utf8(body.strip_suffix(&[0])?).ok()?;
    let (verb, _count) = tag.rsplit_once(' ')?;
    let mut out = format!("{verb} {rows}").into_bytes();
    out.push(0);
    Some(out)
}

/// The end of a result truncated to `l.max` rows: a notice, then the
/// CommandComplete (`body`) counting the `forwarded` rows.
fn truncated(body: &[u8], forwarded: u64, l: &RowLimit) -> Bytes {
    let mut out = BytesMut::new();
    ErrorFields::new(
        Severity::Notice,
        "01000",
        format!("actgate truncated the result to {} rows (row limit)", l.max),
    )
    .with_hint("add LIMIT or narrow the WHERE clause to see the rows you need")
    .encode(&mut out);
    match retag(body, forwarded) {
        Some(tag_body) => put_message(&mut out, b'C', |b| b.put_slice(&tag_body)),
        None => put_message(&mut out, b'C', |b| b.put_slice(body)),
    }
    out.freeze()
}

impl Relay<'_> {
    /// Counts the rows of row-limited results and decides what happens to
    /// one server message.
    pub(super) fn count_rows(
        &self,
        tag: u8,
        body: &[u8],
        shared: &Shared,
        c: &mut Counting,
    ) -> RowAction {
        // After a failed statement PostgreSQL runs none of the rest of the
        // Query: their results are not the agent's to see.
        if c.query != QueryResult::Relayed
            && matches!(tag, b'T' | b'D' | b'C' | b'I' | b'E' | b'N' | b'n')
        {
            return RowAction::Drop;
        }
        if !matches!(tag, b'D' | b'd' | b'c' | b'C' | b's' | b'I' | b'E') {
            return RowAction::Pass;
        }
        let Some(e) = current_expect(shared, c) else {
            return RowAction::Pass;
        };
        match tag {
            b'D' | b'd' => c.data_row(&e),
            b'c' => self.copy_done(shared, c, &e),
            b'C' | b's' | b'I' | b'E' => self.result_end(tag, body, shared, c, &e),
            _ => RowAction::Pass,
        }
    }

    /// CopyDone of a COPY TO: over an error-mode limit, Postgres reports
    /// an error in its place.
    fn copy_done(&self, shared: &Shared, c: &mut Counting, e: &Expect) -> RowAction {
        match &e.limit {
            Some(l) if c.result == ResultState::Over && !l.truncate => {
                c.result = ResultState::CopyFailed;
                RowAction::Replace(self.row_limit_error(shared, e, c, l))
            }
            _ => RowAction::Pass,
        }
    }

    /// The end of a result (CommandComplete, PortalSuspended,
    /// EmptyQueryResponse or ErrorResponse): the write cap and row limit
    /// are settled, and the result's counts are closed.
    fn result_end(
        &self,
        tag: u8,
        body: &[u8],
        shared: &Shared,
        c: &mut Counting,
        e: &Expect,
    ) -> RowAction {
        let result = std::mem::take(&mut c.result);
        let over = result == ResultState::Over;
        let drop_complete = result == ResultState::CopyFailed;
        let forwarded = std::mem::take(&mut c.forwarded);
        if e.guarded {
            // Kept unless a limit below says otherwise.
            *lock(&shared.guard_outcome) = Some(match tag {
                b'C' => GuardOutcome::Within,
                _ => GuardOutcome::Failed,
            });
        }
        let capped = self.write_cap(tag, body, shared, e);
        let action = match (over, &e.limit) {
            _ if capped.is_some() => RowAction::Replace(capped.expect("checked")),
            (true, Some(l)) if tag == b'C' && l.truncate => {
                RowAction::Replace(truncated(body, forwarded, l))
            }
            (true, Some(l)) if matches!(tag, b'C' | b's') && !l.truncate => {
                RowAction::Replace(self.row_limit_error(shared, e, c, l))
            }
            _ if drop_complete && tag == b'C' => RowAction::Drop,
            _ => RowAction::Pass,
        };
        close_result(tag, shared, c, e);
        action
    }

    /// The error that replaces a capped statement's completion when it
    /// changed too many rows, if it did.
    fn write_cap(&self, tag: u8, body: &[u8], shared: &Shared, e: &Expect) -> Option<Bytes> {
        match &e.cap {
            Some(cap) if tag == b'C' => {
                let changed = command_rows(body).unwrap_or(u64::MAX);
                if changed > cap.max {
                    self.cap_exceeded(shared, e, Some(changed), cap)
                } else {
                    None
                }
            }
            // A suspended portal (an Execute with a row count of a
            // write with RETURNING) has changed its rows already
            // but says how many only at its end: it cannot be
            // checked, so it is undone.
            Some(cap) if tag == b's' => self.cap_exceeded(shared, e, None, cap),
            _ => None,
        }
    }

    /// Runs a capped statement: in a transaction (outside one) or a
    /// savepoint (inside one) that actgate opens, then commits or releases
    /// it if at most `cap` rows changed, and rolls it back otherwise, so
    /// an over-cap statement leaves no effect. Inside the agent's
    /// transaction, an over-cap (or failed) statement then fails that
    /// transaction, exactly as a PostgreSQL error would.
    pub(super) async fn run_guarded(
        &self,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        message: &[u8],
        guard: Guard,
    ) -> Result<(), Stop> {
        self.wait_for(shared, wire, || {
            shared.received.load(Ordering::Acquire) == shared.sent.load(Ordering::Acquire)
        })
        .await?;
        let status = shared.status.get();
        if status == TransactionStatus::Failed {
            // The server answers 25P02; nothing to protect.
            shared.sent.fetch_add(1, Ordering::AcqRel);
            return wire.upstream.write_all(message).await.map_err(io_stop);
        }
        let outside = status == TransactionStatus::Idle;
        let (open, keep, undo) = if outside {
            ("BEGIN", "COMMIT", "ROLLBACK")
        } else {
            (
                "SAVEPOINT actgate_cap",
                "RELEASE SAVEPOINT actgate_cap",
                "ROLLBACK TO SAVEPOINT actgate_cap; RELEASE SAVEPOINT actgate_cap",
            )
        };
        // (Only this half moves `sent`: the opening statement and the
        // capped one are the next two.)
        let opened = shared.current_batch();
        shared.transient_status.lock().extend([opened, opened + 1]);
        self.inject(wire.upstream, shared, open, Swallow::All)
            .await
            .map_err(io_stop)?;
        let seq = shared.sent.fetch_add(1, Ordering::AcqRel) + 1;
        shared.expects.lock().push_back(Expect {
            seq,
            portal: None,
            limit: guard.limit,
            cap: guard.cap,
            guarded: true,
        });
        // The statement's own ReadyForQuery would show actgate's
        // transaction; the closing statement's carries the true status.
        shared.swallow(seq, Swallow::Ready);
        wire.upstream.write_all(message).await.map_err(io_stop)?;
        self.wait_for(shared, wire, || {
            shared.received.load(Ordering::Acquire) >= seq
        })
        .await?;
        let outcome = lock(&shared.guard_outcome)
            .take()
            .unwrap_or(GuardOutcome::Failed);
        if outcome == GuardOutcome::Within {
            self.inject(wire.upstream, shared, keep, Swallow::AllButErrorsAndReady)
                .await
                .map_err(io_stop)?;
        } else if outside {
            self.inject(wire.upstream, shared, undo, Swallow::AllButErrorsAndReady)
                .await
                .map_err(io_stop)?;
        } else {
            // Undone; and the agent's transaction fails, as after any
            // error in it: the sentinel's ReadyForQuery carries that.
            self.inject(wire.upstream, shared, undo, Swallow::All)
                .await
                .map_err(io_stop)?;
            send_sentinel(wire.upstream, shared, Protocol::Simple, Bytes::new(), false)
                .await
                .map_err(io_stop)?;
        }
        Ok(())
    }

    /// The error that replaces the end of a result over its row limit; the
    /// statement (and, via the client half, the server's batch or
    /// transaction) counts as failed.
    pub(super) fn row_limit_error(
        &self,
        shared: &Shared,
        e: &Expect,
        c: &mut Counting,
        l: &RowLimit,
    ) -> Bytes {
        match &e.portal {
            // Undone by run_guarded, which also fails the agent's
            // transaction.
            None if e.guarded => *lock(&shared.guard_outcome) = Some(GuardOutcome::Exceeded),
            None => {
                c.query = if l.block {
                    QueryResult::FailedInBlock
                } else {
                    QueryResult::Failed
                };
            }
            Some(_) => shared.catch_up.demand(CatchUp::Fail),
        }
        let mut out = BytesMut::new();
        error_fields(&l.exceeded(self.agent)).encode(&mut out);
        out.freeze()
    }

    /// A capped statement changed too many rows: its completion becomes an
    /// error, and the statement is undone (by the closing statement for a
    /// Query, by failing the batch for an Execute).
    pub(super) fn cap_exceeded(
        &self,
        shared: &Shared,
        e: &Expect,
        changed: Option<u64>,
        cap: &WriteCap,
    ) -> Option<Bytes> {
        if e.guarded {
            *lock(&shared.guard_outcome) = Some(GuardOutcome::Exceeded);
        }
        if e.portal.is_some() {
            shared.catch_up.demand(CatchUp::Fail);
        }
        let mut out = BytesMut::new();
        error_fields(&cap.exceeded(self.agent, changed)).encode(&mut out);
        Some(out.freeze())
    }
}

/// The expectation the current result belongs to: the one of the batch
/// whose ReadyForQuery comes next, looked up once per result.
fn current_expect(shared: &Shared, c: &mut Counting) -> Option<Expect> {
    if c.current.is_none() {
        let current = shared.received.load(Ordering::Acquire) + 1;
        c.current = shared
            .expects
            .lock()
            .front()
            .filter(|e| e.seq == current)
            .cloned();
    }
    c.current.clone()
}

/// After the end of a result: a Query's row count restarts at its next
/// statement; an Execute's expectation is done (a suspended portal keeps
/// its count for the next Execute).
fn close_result(tag: u8, shared: &Shared, c: &mut Counting, e: &Expect) {
    match &e.portal {
        None => {
            if tag == b'C' {
                c.rows = 0;
            }
        }
        Some(p) => {
            if tag != b's' {
                c.portal_rows.remove(p);
            }
            shared.expects.lock().pop_front();
            c.current = None;
            shared.execs_done.fetch_add(1, Ordering::AcqRel);
            shared.progress.notify();
        }
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
