//! The client → upstream half: frames every client message, asks the
//! policy about it and carries out what was decided.
//!
//! Its phases, per message: make the batch state known first
//! ([`Relay::before_message`]: undo what a skipped batch changed, probe
//! before a Query), frame it (an oversized statement is answered in place,
//! [`Relay::too_long`]), decide it and record what sending it changes
//! ([`Relay::decide_message`]), and carry out the [`Action`]
//! ([`Relay::carry_out`]). Between buffers, [`Relay::read_client`] reads
//! more and watches the idle timeout.

use super::journal::{Before, Journal, Undo};
use super::lifecycle::{SessionEnd, Stop, fatal_stop, io_stop};
use super::shared::{CopyIn, READ_CHUNK, Shared};
use super::wait::Wire;
use super::{Action, Protocol, Relay};
use crate::policy::SessionState;
use crate::protocol::backend::{ErrorFields, Severity};
use crate::protocol::frontend::FrontendMessage;
use crate::protocol::pipeline::Batch;
use crate::protocol::{Header, ProtocolError, peek_header};
use crate::proxy::stream::{ReadHalf, WriteHalf};
use bytes::{Buf, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::AsyncReadExt;

/// What the client half keeps from one message to the next.
struct ClientHalf {
    /// The extended-protocol batch as the server sees it.
    batch: Batch,
    /// What messages of unfinished batches changed, to undo what the
    /// server skipped.
    journal: Journal,
    copy: CopyIn,
    sync: SyncState,
    /// The session's prepared statements and portals.
    state: SessionState,
    /// Executes forwarded under row limits or write caps.
    executes: u64,
    /// Bytes of an oversized message still to be thrown away.
    skip: usize,
}

impl ClientHalf {
    /// Whether a simple-protocol refusal can be answered by actgate alone
    /// ([`Relay::deny`]): no extended message since the last Sync, no
    /// copy, and no unnamed statement (which a Query drops).
    fn answers_alone(&self) -> bool {
        self.sync == SyncState::Synced && self.copy == CopyIn::None && !self.state.is_prepared("")
    }

    /// Whether [`Relay::before_message`] has anything to do before a
    /// message tagged `tag`: an earlier batch to resolve, or a Query or
    /// FunctionCall.
    fn needs_settling(&self, tag: u8, shared: &Shared) -> bool {
        matches!(tag, b'Q' | b'F') || self.journal.has_entries_before(shared.current_batch())
    }
}

/// Carries out a plain forward (the message goes with the rest of the
/// buffer); any other action is given back, to be carried out by
/// [`Relay::carry_out`].
fn forward_at_once(
    action: Action,
    header: Header,
    wire: &mut Wire<'_, '_>,
    shared: &Shared,
) -> Option<Action> {
    match action {
        Action::Forward => *wire.pos += header.total,
        Action::ForwardSync => {
            *wire.pos += header.total;
            shared.sent.fetch_add(1, Ordering::AcqRel);
        }
        other => return Some(other),
    }
    None
}

/// Extended-protocol messages since the last Sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncState {
    /// None: no implicit transaction is open in the server.
    Synced,
    /// Some were sent: the server may hold an implicit transaction.
    Unsynced,
}

/// What comes after one framed message.
enum Next {
    /// Frame the next message in the buffer.
    Message,
    /// The buffer holds no whole message: read more.
    Read,
}

impl Relay<'_> {
    pub(super) async fn client_to_upstream<'s>(
        &self,
        client: &mut ReadHalf<'s>,
        upstream: &mut WriteHalf<'s>,
        mut buf: BytesMut,
        shared: &Shared,
    ) -> Stop {
        let mut half = ClientHalf {
            batch: Batch::Closed,
            journal: Journal::default(),
            copy: CopyIn::None,
            sync: SyncState::Synced,
            state: SessionState::starting_with_read_only(self.read_only_at_start.as_deref()),
            executes: 0,
            skip: 0,
        };
        loop {
            let mut pos = 0;
            let mut wire = Wire {
                upstream: &mut *upstream,
                client: &mut *client,
                buf: &mut buf,
                pos: &mut pos,
            };
            while half.skip == 0 {
                match self.next_message(&mut half, &mut wire, shared).await {
                    Ok(Next::Message) => {}
                    Ok(Next::Read) => break,
                    Err(stop) => return stop,
                }
            }
            if let Err(stop) = wire.flush().await {
                return stop;
            }
            self.record_deferred();
            if let Err(stop) = self.read_client(client, &mut buf, shared).await {
                return stop;
            }
            if half.skip > 0 {
                let d = half.skip.min(buf.len());
                buf.advance(d);
                half.skip -= d;
            }
        }
    }

    /// Frames the next message in the buffer, decides it and carries out
    /// the decision.
    async fn next_message(
        &self,
        half: &mut ClientHalf,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
    ) -> Result<Next, Stop> {
        let limit = self.gateway.config.limits.max_message_bytes;
        let peeked = peek_header(&wire.buf[*wire.pos..], limit);
        // A Query (or FunctionCall) is answered with its own ReadyForQuery
        // only if the server is not skipping to Sync: know which before
        // sending anything in its place.
        let tag = match &peeked {
            Ok(Some(h)) if wire.buf.len() - *wire.pos >= h.total => Some(h.tag),
            Err(ProtocolError::TooLong { tag, .. }) => Some(*tag as u8),
            _ => None,
        };
        if let Some(tag) = tag
            && half.needs_settling(tag, shared)
        {
            self.before_message(tag, half, wire, shared).await?;
        }
        let header = match peeked {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(Next::Read),
            Err(ProtocolError::TooLong { tag, length, limit }) if matches!(tag, 'Q' | 'P') => {
                self.too_long(half, wire, shared, tag, length, limit)
                    .await?;
                return Ok(Next::Message);
            }
            Err(e) => return Err(fatal_stop(e)),
        };
        if wire.buf.len() - *wire.pos < header.total {
            let missing = header.total - (wire.buf.len() - *wire.pos);
            wire.buf.reserve(missing);
            return Ok(Next::Read);
        }
        if half.batch == Batch::Open && shared.failed_in_current_batch() {
            // The server reported an error in this batch: it is
            // skipping to Sync.
            half.batch = half.batch.failed();
        }
        let action = self.decide_message(header, half, wire, shared).await?;
        // (most messages are forwarded with the rest of the buffer: done
        // here, without setting up what waits)
        if let Some(action) = forward_at_once(action, header, wire, shared) {
            self.carry_out(action, header, half, wire, shared).await?;
        }
        Ok(Next::Message)
    }

    /// Before a whole message (`tag`) is decided: a message of a new batch
    /// is decided on records that the previous batch may have changed in
    /// ways the server skipped, so that batch is waited for and resolved;
    /// and a Query or FunctionCall needs the batch state settled.
    async fn before_message(
        &self,
        tag: u8,
        half: &mut ClientHalf,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
    ) -> Result<(), Stop> {
        if let Some(earlier) = half.journal.unresolved_before(shared.current_batch()) {
            self.await_batch(wire, shared, earlier).await?;
            half.journal
                .resolve(shared.completed_before_error(earlier), &mut half.state);
        }
        if matches!(tag, b'Q' | b'F') {
            self.settle(tag, wire, shared, &mut half.batch, &mut half.journal)
                .await?;
        }
        Ok(())
    }

    /// An oversized statement (Query or Parse) is an ordinary error: its
    /// body is thrown away unread and actgate answers in its place.
    async fn too_long(
        &self,
        half: &mut ClientHalf,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
        tag: char,
        length: usize,
        limit: usize,
    ) -> Result<(), Stop> {
        wire.flush().await?;
        let total = length + 1;
        let have = wire.buf.len().min(total);
        wire.buf.advance(have);
        half.skip = total - have;
        if half.batch.is_skipping() {
            // After an error the server ignores everything until Sync; so
            // does actgate.
            return Ok(());
        }
        let denial = crate::policy::refusals::message_too_long(length, limit);
        self.audit_denial(&denial, None, None);
        let protocol = if tag == 'Q' {
            Protocol::Simple
        } else {
            half.batch = half.batch.failed();
            Protocol::Extended
        };
        if matches!(protocol, Protocol::Extended) {
            half.journal
                .push(shared.current_batch(), Undo::Nothing, false);
        }
        let alone = half.answers_alone();
        self.deny(wire.upstream, shared, &denial, protocol, alone)
            .await
            .map_err(io_stop)
    }

    /// Decodes one whole message, asks the policy about it
    /// ([`Relay::inspect`]) and records what sending it changes: its
    /// journal entry, the batch, whether the session is synced, copy-in.
    async fn decide_message(
        &self,
        header: Header,
        half: &mut ClientHalf,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
    ) -> Result<Action, Stop> {
        let body = &wire.buf[*wire.pos + 5..*wire.pos + header.total];
        let msg = match FrontendMessage::decode_parts(header.tag, body) {
            // Authentication is over: a password message now is a
            // protocol violation, as PostgreSQL treats it; it is
            // never forwarded.
            Ok(FrontendMessage::Password { .. }) => {
                return Err(fatal_stop(ProtocolError::UnknownType {
                    tag: 'p',
                    byte: b'p',
                }));
            }
            Ok(msg) => msg,
            Err(e) => return Err(fatal_stop(e)),
        };
        shared.record_described(&mut half.state);
        let records = Before::of(&msg, &half.state);
        let copy_execute = matches!(msg, FrontendMessage::Execute { portal, .. }
            if half.state.portal(portal).is_some_and(|p| p.copy_in));
        let action = self
            .inspect(
                &msg,
                &mut half.state,
                shared,
                &mut half.executes,
                &mut half.batch,
            )
            .await;
        let entry = match &action {
            a if a.forwards() && matches!(header.tag, b'P' | b'B' | b'E' | b'D' | b'C') => {
                Some(header.tag == b'P')
            }
            Action::Deny(_, Protocol::UnnamedParse) => Some(true),
            Action::Deny(_, Protocol::Extended) => Some(false),
            _ => None,
        };
        if let Some(parses_its_name) = entry {
            let undo = records.undo(&half.state);
            half.journal
                .push(shared.current_batch(), undo, parses_its_name);
        }
        let before = half.batch;
        if action.forwards() {
            half.batch = half.batch.sent(header.tag);
            match header.tag {
                b'P' | b'B' | b'E' | b'D' | b'C' | b'H' => half.sync = SyncState::Unsynced,
                b'S' => half.sync = SyncState::Synced,
                _ => {}
            }
            if header.tag == b'C' {
                shared.note_close_sent(shared.current_batch());
            }
            if copy_execute {
                half.copy = CopyIn::MayStart(shared.current_batch());
            }
        }
        if matches!(header.tag, b'c' | b'f') {
            half.copy = CopyIn::None;
        }
        let mut action = action;
        if header.tag == b'S'
            && matches!(action, Action::ForwardSync)
            && self.sync_in_copy(wire, shared, &mut half.copy).await?
        {
            // The server ignores it: no ReadyForQuery comes, and the
            // batch goes on.
            action = Action::Forward;
            half.batch = before;
            half.sync = SyncState::Unsynced;
        }
        Ok(action)
    }

    /// Carries out what was decided for the message at `wire.pos`.
    async fn carry_out(
        &self,
        action: Action,
        header: Header,
        half: &mut ClientHalf,
        wire: &mut Wire<'_, '_>,
        shared: &Shared,
    ) -> Result<(), Stop> {
        match action {
            // (next_message forwards these itself; here for completeness)
            a @ (Action::Forward | Action::ForwardSync) => {
                let none_left = forward_at_once(a, header, wire, shared);
                debug_assert!(none_left.is_none());
                Ok(())
            }
            Action::ForwardSyncWait(seq) => {
                *wire.pos += header.total;
                shared.sent.fetch_add(1, Ordering::AcqRel);
                self.await_query(wire, shared, seq).await
            }
            Action::GuardedQuery(cap) => {
                wire.flush().await?;
                let message = wire.buf.split_to(header.total);
                self.run_guarded(wire, shared, &message, *cap).await
            }
            Action::ForwardExecWait { execute, batch: n } => {
                *wire.pos += header.total;
                if self.await_execute(wire, shared, execute, n).await? {
                    // actgate's sentinel failed the batch.
                    half.journal
                        .push(shared.current_batch(), Undo::Nothing, false);
                    half.batch = half.batch.failed();
                }
                Ok(())
            }
            Action::Drop => {
                wire.flush().await?;
                wire.buf.advance(header.total);
                Ok(())
            }
            Action::Deny(denial, protocol) => {
                let alone = half.answers_alone();
                wire.flush().await?;
                wire.buf.advance(header.total);
                self.deny(wire.upstream, shared, &denial, protocol, alone)
                    .await
                    .map_err(io_stop)
            }
            Action::Terminate => {
                *wire.pos += header.total;
                let _ = wire.flush().await;
                Err(Stop::Ended(SessionEnd::ClientTerminated))
            }
        }
    }

    /// Reads more of the client's messages. The session ends when the
    /// client goes away, or when it stays silent for the idle timeout with
    /// nothing in flight.
    async fn read_client(
        &self,
        client: &mut ReadHalf<'_>,
        buf: &mut BytesMut,
        shared: &Shared,
    ) -> Result<(), Stop> {
        let idle_timeout = self.gateway.config.limits.idle_timeout;
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_CHUNK);
        }
        let n = loop {
            let Some(t) = idle_timeout else {
                break client.read_buf(buf).await;
            };
            // Re-checked on every tick: the session may have become idle
            // since the read began (its last answer came back).
            match tokio::time::timeout(t, client.read_buf(buf)).await {
                Ok(r) => break r,
                Err(_) if shared.idle() => {
                    return Err(Stop::Fatal(
                        Box::new(ErrorFields::new(
                            Severity::Fatal,
                            "57P05",
                            "terminating connection due to idle-session timeout",
                        )),
                        SessionEnd::IdleTimeout,
                    ));
                }
                Err(_) => {}
            }
        };
        match n {
            Ok(0) | Err(_) => Err(Stop::Ended(SessionEnd::ClientClosed)),
            Ok(_) => Ok(()),
        }
    }
}
