//! The client → upstream half: frames every client message, asks the
//! policy about it and carries out what was decided.

use super::journal::{Journal, Undo};
use super::lifecycle::{SessionEnd, Stop, fatal_stop, flush, io_stop};
use super::shared::{CopyIn, READ_CHUNK, Shared, lock};
use super::wait::Wire;
use super::{Action, Protocol, Relay, RowLimits};
use crate::policy::{Denial, SessionState};
use crate::protocol::backend::{ErrorFields, Severity};
use crate::protocol::frontend::FrontendMessage;
use crate::protocol::pipeline::Batch;
use crate::protocol::{ProtocolError, peek_header};
use crate::proxy::stream::MaybeTls;
use bytes::{Buf, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, ReadHalf, WriteHalf};

impl Relay<'_> {
    pub(super) async fn client_to_upstream(
        &self,
        client: &mut ReadHalf<MaybeTls>,
        upstream: &mut WriteHalf<MaybeTls>,
        mut buf: BytesMut,
        shared: &Shared,
    ) -> Stop {
        let limit = self.gateway.config.limits.max_message_bytes;
        let idle_timeout = self.gateway.config.limits.idle_timeout;
        let mut batch = Batch::Closed;
        let mut journal = Journal::default();
        let mut copy = CopyIn::None;
        // No extended-protocol message since the last Sync: no implicit
        // transaction is open in the server.
        let mut synced = true;
        let mut state = SessionState::starting_with_read_only(self.read_only_at_start.as_deref());
        let mut limits = RowLimits::default();
        // Bytes of an oversized message still to be thrown away.
        let mut skip = 0usize;
        loop {
            let mut pos = 0;
            while skip == 0 {
                let peeked = peek_header(&buf[pos..], limit);
                // A Query (or FunctionCall) is answered with its own
                // ReadyForQuery only if the server is not skipping to Sync:
                // know which before sending anything in its place.
                let tag = match &peeked {
                    Ok(Some(h)) if buf.len() - pos >= h.total => Some(h.tag),
                    Err(ProtocolError::TooLong { tag, .. }) => Some(*tag as u8),
                    _ => None,
                };
                if tag.is_some()
                    && let Some(earlier) = journal.unresolved_before(shared.current_batch())
                {
                    // A message of a new batch is decided on records that the
                    // previous batch may have changed in ways the server skipped.
                    let mut wire = Wire {
                        upstream: &mut *upstream,
                        client: &mut *client,
                        buf: &mut buf,
                        pos: &mut pos,
                    };
                    if let Err(stop) = self.await_batch(&mut wire, shared, earlier).await {
                        return stop;
                    }
                    journal.resolve(
                        shared.completed_before_error(earlier),
                        &mut state,
                        &mut limits,
                        &mut lock(&shared.param_types),
                    );
                }
                if let Some(tag @ (b'Q' | b'F')) = tag {
                    let mut wire = Wire {
                        upstream: &mut *upstream,
                        client: &mut *client,
                        buf: &mut buf,
                        pos: &mut pos,
                    };
                    if let Err(stop) = self
                        .settle(tag, &mut wire, shared, &mut batch, &mut journal)
                        .await
                    {
                        return stop;
                    }
                }
                let header = match peeked {
                    Ok(Some(h)) => h,
                    Ok(None) => break,
                    Err(ProtocolError::TooLong { tag, length, limit })
                        if matches!(tag, 'Q' | 'P') =>
                    {
                        // An oversized statement is an ordinary error: throw
                        // its body away unread and answer in its place.
                        if let Err(e) = flush(upstream, &mut buf, &mut pos).await {
                            return io_stop(e);
                        }
                        let total = length + 1;
                        let have = buf.len().min(total);
                        buf.advance(have);
                        skip = total - have;
                        if batch.is_skipping() {
                            // After an error the server ignores everything
                            // until Sync; so does actgate.
                            continue;
                        }
                        let denial = Denial {
                            sqlstate: "54000",
                            message: format!(
                                "statement message of {length} bytes exceeds actgate's limit of {limit} bytes"
                            ),
                            reason: "message_too_long",
                            rule: "server.max_message_bytes".into(),
                            hint: Some(format!("send statements shorter than {limit} bytes")),
                        };
                        self.audit_denial(&denial, None, None);
                        let protocol = if tag == 'Q' {
                            Protocol::Simple
                        } else {
                            batch = batch.failed();
                            Protocol::Extended
                        };
                        if matches!(protocol, Protocol::Extended) {
                            journal.push(shared.current_batch(), Undo::Nothing, false);
                        }
                        let alone = synced && copy == CopyIn::None && !state.is_prepared("");
                        if let Err(e) = self.deny(upstream, shared, &denial, protocol, alone).await
                        {
                            return io_stop(e);
                        }
                        continue;
                    }
                    Err(e) => return fatal_stop(e),
                };
                if buf.len() - pos < header.total {
                    buf.reserve(header.total - (buf.len() - pos));
                    break;
                }
                if batch == Batch::Open && shared.failed_in_current_batch() {
                    // The server reported an error in this batch: it is
                    // skipping to Sync.
                    batch = batch.failed();
                }
                let body = &buf[pos + 5..pos + header.total];
                let msg = match FrontendMessage::decode_parts(header.tag, body) {
                    // Authentication is over: a password message now is a
                    // protocol violation, as PostgreSQL treats it; it is
                    // never forwarded.
                    Ok(FrontendMessage::Password { .. }) => {
                        return fatal_stop(ProtocolError::UnknownType {
                            tag: 'p',
                            byte: b'p',
                        });
                    }
                    Ok(msg) => msg,
                    Err(e) => return fatal_stop(e),
                };
                let undo = Undo::before(&msg, &state, &limits, &lock(&shared.param_types));
                let copy_execute = matches!(msg, FrontendMessage::Execute { portal, .. }
                    if limits.copy_in_portals.contains(portal));
                let action = self
                    .inspect(&msg, &mut state, shared, &mut limits, &mut batch)
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
                    let undo = undo.unless_unchanged(&state, &limits, &lock(&shared.param_types));
                    journal.push(shared.current_batch(), undo, parses_its_name);
                }
                let before = batch;
                if action.forwards() {
                    batch = batch.sent(header.tag);
                    match header.tag {
                        b'P' | b'B' | b'E' | b'D' | b'C' | b'H' => synced = false,
                        b'S' => synced = true,
                        _ => {}
                    }
                    if header.tag == b'C' {
                        shared.note_close_sent(shared.current_batch());
                    }
                    if copy_execute {
                        copy = CopyIn::MayStart(shared.current_batch());
                    }
                }
                if matches!(header.tag, b'c' | b'f') {
                    copy = CopyIn::None;
                }
                let mut action = action;
                if header.tag == b'S' && matches!(action, Action::ForwardSync) {
                    let mut wire = Wire {
                        upstream: &mut *upstream,
                        client: &mut *client,
                        buf: &mut buf,
                        pos: &mut pos,
                    };
                    match self.sync_in_copy(&mut wire, shared, &mut copy).await {
                        Err(stop) => return stop,
                        // The server ignores it: no ReadyForQuery comes, and
                        // the batch goes on.
                        Ok(true) => {
                            action = Action::Forward;
                            batch = before;
                            synced = false;
                        }
                        Ok(false) => {}
                    }
                }
                let result = match action {
                    Action::Forward => {
                        pos += header.total;
                        Ok(())
                    }
                    Action::ForwardSync => {
                        pos += header.total;
                        shared.sent.fetch_add(1, Ordering::AcqRel);
                        Ok(())
                    }
                    Action::ForwardSyncWait(seq) => {
                        pos += header.total;
                        shared.sent.fetch_add(1, Ordering::AcqRel);
                        let mut wire = Wire {
                            upstream: &mut *upstream,
                            client: &mut *client,
                            buf: &mut buf,
                            pos: &mut pos,
                        };
                        self.await_query(&mut wire, shared, seq).await
                    }
                    Action::GuardedQuery(cap) => match flush(upstream, &mut buf, &mut pos).await {
                        Err(e) => Err(io_stop(e)),
                        Ok(()) => {
                            let message = buf.split_to(header.total);
                            let mut wire = Wire {
                                upstream: &mut *upstream,
                                client: &mut *client,
                                buf: &mut buf,
                                pos: &mut pos,
                            };
                            self.run_guarded(&mut wire, shared, &message, cap).await
                        }
                    },
                    Action::ForwardExecWait { execute, batch: n } => {
                        pos += header.total;
                        let mut wire = Wire {
                            upstream: &mut *upstream,
                            client: &mut *client,
                            buf: &mut buf,
                            pos: &mut pos,
                        };
                        let r = self.await_execute(&mut wire, shared, execute, n).await;
                        if let Ok(true) = r {
                            // actgate's sentinel failed the batch.
                            journal.push(shared.current_batch(), Undo::Nothing, false);
                            batch = batch.failed();
                        }
                        r.map(|_| ())
                    }
                    Action::Drop => flush(upstream, &mut buf, &mut pos)
                        .await
                        .map(|()| buf.advance(header.total))
                        .map_err(io_stop),
                    Action::Deny(denial, protocol) => {
                        let alone = synced && copy == CopyIn::None && !state.is_prepared("");
                        match flush(upstream, &mut buf, &mut pos).await {
                            Err(e) => Err(io_stop(e)),
                            Ok(()) => {
                                buf.advance(header.total);
                                self.deny(upstream, shared, &denial, protocol, alone)
                                    .await
                                    .map_err(io_stop)
                            }
                        }
                    }
                    Action::Terminate => {
                        pos += header.total;
                        let _ = flush(upstream, &mut buf, &mut pos).await;
                        return Stop::Ended(SessionEnd::ClientTerminated);
                    }
                };
                if let Err(stop) = result {
                    return stop;
                }
            }
            if let Err(e) = flush(upstream, &mut buf, &mut pos).await {
                return io_stop(e);
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_CHUNK);
            }
            let n = loop {
                let Some(t) = idle_timeout else {
                    break client.read_buf(&mut buf).await;
                };
                // Re-checked on every tick: the session may have become idle
                // since the read began (its last answer came back).
                match tokio::time::timeout(t, client.read_buf(&mut buf)).await {
                    Ok(r) => break r,
                    Err(_) if shared.idle() => {
                        return Stop::Fatal(
                            ErrorFields::new(
                                Severity::Fatal,
                                "57P05",
                                "terminating connection due to idle-session timeout",
                            ),
                            SessionEnd::IdleTimeout,
                        );
                    }
                    Err(_) => {}
                }
            };
            match n {
                Ok(0) | Err(_) => return Stop::Ended(SessionEnd::ClientClosed),
                Ok(_) => {}
            }
            if skip > 0 {
                let d = skip.min(buf.len());
                buf.advance(d);
                skip -= d;
            }
        }
    }
}
