//! The upstream → client half: forwards the server's messages, watching
//! ReadyForQuery, ErrorResponse (sentinel errors are replaced), row counts,
//! ParameterStatus and the probe's CloseComplete.
//!
//! Every message passes, in order ([`Relay::route`]): the batch
//! bookkeeping ([`Relay::track_progress`]), the answers of actgate's own
//! statements ([`Shared::swallows`]), row counting ([`Relay::count_rows`]),
//! and the handler of its class ([`Relay::on_message`]). Between buffers,
//! [`Relay::next_event`] waits for the server, the client half's end, the
//! session's watchers and actgate's own answers.

use super::Relay;
use super::lifecycle::{Doorbell, SessionEnd, Stop, drifted, flush};
use super::limits::{Counting, QueryResult, RowAction};
use super::sentinel::SENTINEL_SQLSTATE;
use super::shared::{CatchUp, READ_CHUNK, Shared, lock};
use crate::protocol::backend::{BackendMessage, ErrorFields, Severity, TransactionStatus};
use crate::protocol::peek_header;
use crate::proxy::error::SessionError;
use crate::proxy::stream::{ReadHalf, WriteHalf};
use bytes::{Buf, Bytes, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info};

/// What the server half keeps from one message to the next.
struct ServerHalf {
    /// Row limits or write caps are enforced: results are counted and
    /// actgate's own statements are swallowed.
    limits_on: bool,
    /// The last ErrorResponse forwarded was FATAL or PANIC.
    last_was_fatal: bool,
    counting: Counting,
    /// CloseComplete messages of the current batch (probes are known by
    /// their position).
    closes_seen: u64,
    /// Messages of the current batch answered with their completion
    /// (ParseComplete, BindComplete, CloseComplete, the end of a
    /// Describe, CommandComplete, EmptyQueryResponse, PortalSuspended):
    /// at an error, the position of the message that failed.
    completed: u64,
}

/// What ends the session besides the server: the client half, and the
/// session's watchers.
struct Watches {
    stop: oneshot::Receiver<Stop>,
    hard_stop: watch::Receiver<bool>,
    doorbell: Doorbell,
}

/// What becomes of one server message.
enum Out {
    /// Forwarded with the rest of the buffer.
    Forward,
    /// Not forwarded.
    Drop,
    /// Replaced by these bytes.
    Replace(Bytes),
    /// A pinned parameter moved off its value: the session ends.
    Drift { name: String, value: String },
}

impl Relay<'_> {
    pub(super) async fn upstream_to_client(
        &self,
        upstream: &mut ReadHalf<'_>,
        client: &mut WriteHalf<'_>,
        mut buf: BytesMut,
        shared: &Shared,
        stop: oneshot::Receiver<Stop>,
        hard_stop: watch::Receiver<bool>,
    ) -> Result<SessionEnd, SessionError> {
        let mut half = ServerHalf {
            limits_on: self.row_limits_on() || self.write_caps_on(),
            last_was_fatal: false,
            counting: Counting::default(),
            closes_seen: 0,
            completed: 0,
        };
        let mut watches = Watches {
            stop,
            doorbell: Doorbell::new(self.gateway, &hard_stop),
            hard_stop,
        };
        loop {
            if let Some(end) = self
                .relay_buffer(&mut half, client, &mut buf, shared)
                .await?
            {
                return Ok(end);
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_CHUNK);
            }
            let event = self
                .next_event(&half, &mut watches, upstream, client, &mut buf, shared)
                .await?;
            if let Some(end) = event {
                return Ok(end);
            }
        }
    }

    /// Relays every whole message in `buf` to the client; `Some` when the
    /// session ends.
    async fn relay_buffer(
        &self,
        half: &mut ServerHalf,
        client: &mut WriteHalf<'_>,
        buf: &mut BytesMut,
        shared: &Shared,
    ) -> Result<Option<SessionEnd>, SessionError> {
        let limit = self.gateway.config.limits.max_backend_message_bytes;
        let mut pos = 0;
        loop {
            let header = match peek_header(&buf[pos..], limit) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    let _ = flush(client, buf, &mut pos).await;
                    return self
                        .end_with(
                            client,
                            ErrorFields::new(
                                Severity::Fatal,
                                "08006",
                                "actgate lost synchronization with the upstream server",
                            ),
                            SessionError::Upstream(e.into()),
                        )
                        .await
                        .map(Some);
                }
            };
            if buf.len() - pos < header.total {
                buf.reserve(header.total - (buf.len() - pos));
                break;
            }
            let body = &mut buf[pos + 5..pos + header.total];
            let out = self.route(half, header.tag, body, shared);
            match out {
                Out::Forward => pos += header.total,
                Out::Drop => {
                    flush(client, buf, &mut pos)
                        .await
                        .map_err(SessionError::ClientIo)?;
                    buf.advance(header.total);
                }
                Out::Replace(bytes) => {
                    flush(client, buf, &mut pos)
                        .await
                        .map_err(SessionError::ClientIo)?;
                    buf.advance(header.total);
                    client
                        .write_all(&bytes)
                        .await
                        .map_err(SessionError::ClientIo)?;
                }
                Out::Drift { name, value } => {
                    let _ = flush(client, buf, &mut pos).await;
                    info!(parameter = %name, value = %value, "pinned parameter drifted");
                    let _ = self
                        .end_with(
                            client,
                            ErrorFields::new(
                                Severity::Fatal,
                                "08P01",
                                format!(
                                    "terminating connection: server parameter {name} changed to {value:?}"
                                ),
                            )
                            .with_hint("actgate pins client_encoding and standard_conforming_strings"),
                            SessionError::ClientIo(std::io::Error::other("parameter drift")),
                        )
                        .await;
                    return Ok(Some(SessionEnd::ParameterDrift));
                }
            }
        }
        flush(client, buf, &mut pos)
            .await
            .map_err(SessionError::ClientIo)?;
        Ok(None)
    }

    /// Passes one message through the stages of the server half, in order,
    /// and says what becomes of it.
    fn route(&self, half: &mut ServerHalf, tag: u8, body: &mut [u8], shared: &Shared) -> Out {
        self.track_progress(half, tag, shared);
        let current = shared.received.load(Ordering::Acquire) + 1;
        if half.limits_on && tag != b'Z' && shared.swallows(current, tag) {
            return Out::Drop;
        }
        if half.limits_on {
            match self.count_rows(tag, body, shared, &mut half.counting) {
                RowAction::Pass => {}
                RowAction::Drop => return Out::Drop,
                RowAction::Replace(bytes) => return Out::Replace(bytes),
            }
        }
        self.on_message(half, tag, body, shared)
    }

    /// Counts the messages of the current batch that completed, notes where
    /// its first error came, and when the server entered copy-in mode.
    fn track_progress(&self, half: &mut ServerHalf, tag: u8, shared: &Shared) {
        match tag {
            b'1' | b'2' | b'3' | b'n' | b'T' | b'C' | b'I' | b's' => half.completed += 1,
            b'E' => {
                let current = shared.received.load(Ordering::Acquire) + 1;
                if shared.batch_failed.load(Ordering::Acquire) != current {
                    *lock(&shared.first_error) = (current, half.completed);
                }
            }
            b'Z' => half.completed = 0,
            b'G' => {
                let current = shared.received.load(Ordering::Acquire) + 1;
                shared.copy_in_started.store(current, Ordering::Release);
                shared.progress.notify();
            }
            _ => {}
        }
    }

    /// The handler of one message's class, once it passed row counting.
    fn on_message(&self, half: &mut ServerHalf, tag: u8, body: &mut [u8], shared: &Shared) -> Out {
        match tag {
            b'Z' => self.on_ready(half, body, shared),
            b'E' => self.on_error(half, body, shared),
            b'3' => on_close_complete(half, shared),
            b't' => {
                on_parameter_description(body, shared);
                Out::Forward
            }
            b'S' => match drifted(body) {
                Some((name, value)) => Out::Drift { name, value },
                None => Out::Forward,
            },
            _ => Out::Forward,
        }
    }

    /// ReadyForQuery: the true transaction status (unless it shows
    /// actgate's own transaction), the end of the batch's markers,
    /// Describes and expectations, and, under row limits, the status a
    /// failed result leaves. Not forwarded for actgate's own statements.
    fn on_ready(&self, half: &mut ServerHalf, body: &mut [u8], shared: &Shared) -> Out {
        let status = body.first().copied().unwrap_or(b'I');
        let next = shared.received.load(Ordering::Acquire) + 1;
        // (Stored before `received` moves: a waiter reads it
        // once `received` says its answer is in.)
        let transient = shared
            .transient_status
            .nonempty()
            .is_some_and(|mut t| t.remove(&next));
        if !transient {
            shared.status.set(TransactionStatus::from_byte(status));
        }
        half.closes_seen = 0;
        let received = shared.received.fetch_add(1, Ordering::AcqRel) + 1;
        {
            if let Some(mut markers) = shared.markers.nonempty() {
                while markers.front().is_some_and(|m| m.seq <= received) {
                    markers.pop_front();
                }
            }
            if let Some(mut describes) = shared.describes.nonempty() {
                while describes.front().is_some_and(|(seq, _)| *seq <= received) {
                    describes.pop_front();
                }
            }
            if half.limits_on {
                let mut done = 0;
                let mut expects = shared.expects.lock();
                while expects.front().is_some_and(|e| e.seq <= received) {
                    if expects.pop_front().is_some_and(|e| e.portal.is_some()) {
                        done += 1;
                    }
                }
                drop(expects);
                shared.execs_done.fetch_add(done, Ordering::AcqRel);
                let counting = &mut half.counting;
                let query = std::mem::take(&mut counting.query);
                counting.reset();
                let failed = query != QueryResult::Relayed;
                if failed && status == TransactionStatus::InTransaction.byte() {
                    // The agent was told the statement failed: so
                    // is its transaction, and the server will be
                    // made to agree before anything else runs.
                    set_status(body, TransactionStatus::Failed);
                    shared.catch_up.demand(CatchUp::Fail);
                } else if query == QueryResult::FailedInBlock
                    && status == TransactionStatus::Idle.byte()
                {
                    // The block the Query opened was committed
                    // (it changed nothing); PostgreSQL would have
                    // left it open and failed: so will the server.
                    set_status(body, TransactionStatus::Failed);
                    shared.catch_up.demand(CatchUp::ReopenAndFail);
                }
            }
        }
        let swallowed = shared.swallows_ready(received);
        shared.progress.notify();
        if swallowed { Out::Drop } else { Out::Forward }
    }

    /// ErrorResponse: the batch failed (barriers release); a sentinel's
    /// syntax error is replaced by what actgate decided.
    fn on_error(&self, half: &mut ServerHalf, body: &[u8], shared: &Shared) -> Out {
        let current = shared.received.load(Ordering::Acquire) + 1;
        shared.batch_failed.store(current, Ordering::Release);
        shared.progress.notify();
        let Ok(BackendMessage::ErrorResponse(fields)) = BackendMessage::decode_parts(b'E', body)
        else {
            return Out::Forward;
        };
        half.last_was_fatal = matches!(fields.get(b'V'), Some("FATAL" | "PANIC"));
        let current = shared.received.load(Ordering::Acquire) + 1;
        let replacement = shared
            .markers
            .nonempty()
            .and_then(|mut markers| match markers.front() {
                Some(m) if m.seq == current && fields.sqlstate() == Some(SENTINEL_SQLSTATE) => {
                    markers.pop_front().map(|m| m.replacement)
                }
                _ => None,
            });
        match replacement {
            Some(replacement) => Out::Replace(replacement),
            None => Out::Forward,
        }
    }

    /// Waits for what comes next: the client half's end, a watcher that
    /// ends the session, actgate's own answers, or more from the server.
    /// `Some` when the session ends.
    async fn next_event(
        &self,
        half: &ServerHalf,
        watches: &mut Watches,
        upstream: &mut ReadHalf<'_>,
        client: &mut WriteHalf<'_>,
        buf: &mut BytesMut,
        shared: &Shared,
    ) -> Result<Option<SessionEnd>, SessionError> {
        tokio::select! {
            biased;
            stop = &mut watches.stop => {
                match stop {
                    Ok(Stop::Ended(end)) => Ok(Some(end)),
                    Ok(Stop::Fatal(fields, end)) => {
                        debug!(code = fields.code, "ending session with a fatal error");
                        write_fatal(client, *fields).await;
                        Ok(Some(end))
                    }
                    Err(_) => Ok(Some(SessionEnd::ClientClosed)),
                }
            }
            () = watches.doorbell.rung() => {
                let Some(ending) = self.ending(&watches.hard_stop) else {
                    return Ok(None);
                };
                let (fields, end) = ending.fatal(self.agent, self.database);
                write_fatal(client, fields).await;
                Ok(Some(end))
            }
            // Before the server's answers: nothing was in flight when
            // actgate answered, so whatever the server sends now came
            // after.
            () = shared.local_ready.taken() => {
                let out = std::mem::take(&mut *lock(&shared.local));
                client.write_all(&out).await.map_err(SessionError::ClientIo)?;
                Ok(None)
            }
            n = upstream.read_buf(buf) => {
                match n {
                    Ok(0) | Err(_) => {
                        if !half.last_was_fatal {
                            let fields = ErrorFields::new(
                                Severity::Fatal,
                                "08006",
                                "the upstream database closed the connection unexpectedly",
                            );
                            write_fatal(client, fields).await;
                        }
                        Ok(Some(SessionEnd::UpstreamClosed))
                    }
                    Ok(_) => Ok(None),
                }
            }
        }
    }
}

/// CloseComplete: the probe's is actgate's, not forwarded.
fn on_close_complete(half: &mut ServerHalf, shared: &Shared) -> Out {
    half.closes_seen += 1;
    let current = shared.received.load(Ordering::Acquire) + 1;
    if shared.probe_answered(current, half.closes_seen) {
        Out::Drop
    } else {
        Out::Forward
    }
}

/// ParameterDescription answering a Describe of a statement: the types
/// the server inferred fill in those Parse did not declare.
fn on_parameter_description(body: &[u8], shared: &Shared) {
    let current = shared.received.load(Ordering::Acquire) + 1;
    let entry = {
        let mut describes = shared.describes.lock();
        match describes.front() {
            Some((seq, _)) if *seq == current => describes.pop_front(),
            _ => None,
        }
    };
    if let Some((_, name)) = entry {
        let reported = parameter_description(body);
        lock(&shared.described).push((name, reported));
        shared.described_pending.store(true, Ordering::Release);
    }
}

/// Rewrites the status of a ReadyForQuery body.
fn set_status(body: &mut [u8], status: TransactionStatus) {
    if let Some(b) = body.first_mut() {
        *b = status.byte();
    }
}

/// Writes a FATAL error to the client as the session ends (a failed write
/// changes nothing: the session ends either way).
async fn write_fatal(client: &mut WriteHalf<'_>, fields: ErrorFields) {
    let mut out = BytesMut::new();
    fields.encode(&mut out);
    let _ = client.write_all(&out).await;
}

/// The type OIDs of a ParameterDescription body.
pub(super) fn parameter_description(body: &[u8]) -> Vec<u32> {
    let n = body
        .get(..2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]).max(0) as usize)
        .unwrap_or(0);
    body.get(2..)
        .unwrap_or_default()
        .chunks_exact(4)
        .take(n)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
