//! The relay's waits for the server: what the client half must know
//! before it may go on (whether the server is skipping to Sync, whether a
//! copy started, a row-limited or capped statement's result), each also
//! watching the client so that a client that goes away ends the session.

use super::journal::Journal;
use super::lifecycle::{SessionEnd, Stop, flush, io_stop};
use super::sentinel::PROBE_STATEMENT;
use super::shared::{CatchUp, CopyIn, Probe, READ_CHUNK, Shared, Swallow, lock};
use super::{Protocol, Relay};
use crate::protocol::pipeline::{Batch, Fate};
use crate::protocol::{put_cstr, put_message};
use crate::proxy::stream::{ReadHalf, WriteHalf};
use bytes::{BufMut, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The client half's connections and its input buffer, with `pos`: the
/// end of the bytes already decided and not yet written upstream.
pub(super) struct Wire<'a, 's> {
    pub(super) upstream: &'a mut WriteHalf<'s>,
    pub(super) client: &'a mut ReadHalf<'s>,
    pub(super) buf: &'a mut BytesMut,
    pub(super) pos: &'a mut usize,
}

impl Wire<'_, '_> {
    /// Writes what was decided so far upstream.
    pub(super) async fn flush(&mut self) -> Result<(), Stop> {
        flush(self.upstream, self.buf, self.pos)
            .await
            .map_err(io_stop)
    }
}

impl Relay<'_> {
    /// Waits for the ReadyForQuery that closes batch `batch` (sent).
    pub(super) async fn await_batch(
        &self,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        batch: u64,
    ) -> Result<(), Stop> {
        wire.flush().await?;
        self.wait_for(shared, wire, || {
            shared.received.load(Ordering::Acquire) >= batch
        })
        .await
    }

    /// Makes the batch state known before a message whose answer depends on
    /// it (a Query or FunctionCall, `tag`): if extended-protocol messages
    /// were sent since the last Sync and none is known to have failed, asks
    /// the server with a probe (Close of a statement that does not exist:
    /// answered with CloseComplete unless the server is skipping, no effect
    /// either way) and waits for its answer or an error.
    pub(super) async fn settle(
        &self,
        tag: u8,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        batch: &mut Batch,
        journal: &mut Journal,
    ) -> Result<(), Stop> {
        if batch.fate(tag) != Fate::Unknown {
            return Ok(());
        }
        if shared.failed_in_current_batch() {
            *batch = batch.failed();
            return Ok(());
        }
        wire.flush().await?;
        let current = shared.current_batch();
        let index = shared.closes_sent_in(current) + 1;
        *lock(&shared.probe) = Probe::Waiting {
            batch: current,
            index,
        };
        let mut probe = BytesMut::new();
        put_message(&mut probe, b'C', |b| {
            b.put_u8(b'S');
            put_cstr(b, PROBE_STATEMENT);
        });
        put_message(&mut probe, b'H', |_| {});
        wire.upstream.write_all(&probe).await.map_err(io_stop)?;
        shared.note_close_sent(current);
        self.wait_for(shared, wire, || {
            *lock(&shared.probe) == Probe::Answered || shared.failed_in_current_batch()
        })
        .await?;
        let answered = std::mem::replace(&mut *lock(&shared.probe), Probe::None);
        *batch = if answered == Probe::Answered {
            // Every message of the batch so far was processed.
            journal.clear();
            batch.answered()
        } else {
            batch.failed()
        };
        Ok(())
    }

    /// A Sync after an Execute of COPY … FROM STDIN: PostgreSQL ignores
    /// Sync (and Flush) in copy-in mode, so whether this one is answered
    /// depends on whether the copy started (CopyInResponse) or the batch
    /// failed first. `Ok(true)`: the server is copying and ignores it.
    pub(super) async fn sync_in_copy(
        &self,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        copy: &mut CopyIn,
    ) -> Result<bool, Stop> {
        let batch = match *copy {
            CopyIn::None => return Ok(false),
            CopyIn::Copying => return Ok(true),
            CopyIn::MayStart(batch) => batch,
        };
        wire.flush().await?;
        self.wait_for(shared, wire, || {
            shared.copy_in_started.load(Ordering::Acquire) == batch
                || shared.batch_failed.load(Ordering::Acquire) == batch
        })
        .await?;
        if shared.batch_failed.load(Ordering::Acquire) == batch {
            *copy = CopyIn::None;
            return Ok(false);
        }
        *copy = CopyIn::Copying;
        Ok(true)
    }

    /// After a row-limited Query (error mode): waits for its ReadyForQuery,
    /// then makes the server fail what actgate failed.
    pub(super) async fn await_query(
        &self,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        seq: u64,
    ) -> Result<(), Stop> {
        wire.flush().await?;
        self.wait_for(shared, wire, || {
            shared.received.load(Ordering::Acquire) >= seq
        })
        .await?;
        let catch_up = shared.catch_up.take();
        if catch_up == CatchUp::ReopenAndFail {
            self.inject(wire.upstream, shared, "BEGIN", Swallow::All)
                .await
                .map_err(io_stop)?;
        }
        if catch_up != CatchUp::Nothing {
            self.fail_upstream(wire.upstream, shared, Protocol::Simple)
                .await
                .map_err(io_stop)?;
        }
        Ok(())
    }

    /// After a row-limited or capped Execute: flushes it, waits for its
    /// result (or an error in its batch), and if actgate failed it makes
    /// the server fail the batch too. `Ok(true)`: the server now skips to
    /// Sync.
    pub(super) async fn await_execute(
        &self,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        execute: u64,
        batch: u64,
    ) -> Result<bool, Stop> {
        wire.flush().await?;
        // The server keeps results until Sync or Flush.
        let mut flush_msg = BytesMut::with_capacity(5);
        put_message(&mut flush_msg, b'H', |_| {});
        wire.upstream.write_all(&flush_msg).await.map_err(io_stop)?;
        self.wait_for(shared, wire, || {
            shared.execs_done.load(Ordering::Acquire) >= execute
                || shared.batch_failed.load(Ordering::Acquire) == batch
        })
        .await?;
        if shared.catch_up.take() != CatchUp::Nothing {
            // The agent was told this Execute failed: make the server fail
            // the batch too, and discard the rest of it until Sync as the
            // server will.
            self.fail_upstream(wire.upstream, shared, Protocol::Extended)
                .await
                .map_err(io_stop)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Waits until `done` holds; the server half notifies on progress.
    /// Meanwhile the client is read (into `buf`, up to a bound), so that a
    /// client that goes away ends the session, whatever it was waiting for.
    pub(super) async fn wait_for(
        &self,
        shared: &Shared,
        wire: &mut Wire<'_, '_>,
        done: impl Fn() -> bool,
    ) -> Result<(), Stop> {
        let bound = self.gateway.config.limits.max_message_bytes + READ_CHUNK;
        let waiter = shared.progress.waiter();
        loop {
            let notified = waiter.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done() {
                return Ok(());
            }
            if wire.buf.len() >= bound {
                notified.await;
                continue;
            }
            if wire.buf.capacity() - wire.buf.len() < 1024 {
                wire.buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                () = &mut notified => {}
                n = wire.client.read_buf(wire.buf) => {
                    if matches!(n, Ok(0) | Err(_)) {
                        return Err(Stop::Ended(SessionEnd::ClientClosed));
                    }
                }
            }
        }
    }
}
