//! The upstream → client half: forwards the server's messages, watching
//! ReadyForQuery, ErrorResponse (sentinel errors are replaced), row counts,
//! ParameterStatus and the probe's CloseComplete.

use super::Relay;
use super::lifecycle::{SessionEnd, Stop, drifted, flush, revoked, stopped};
use super::limits::{Counting, RowAction};
use super::sentinel::SENTINEL_SQLSTATE;
use super::shared::{READ_CHUNK, Shared, Swallow, lock};
use crate::protocol::backend::{BackendMessage, ErrorFields, Severity, TransactionStatus};
use crate::protocol::peek_header;
use crate::proxy::error::SessionError;
use crate::proxy::stream::MaybeTls;
use bytes::{Buf, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info};

impl Relay<'_> {
    pub(super) async fn upstream_to_client(
        &self,
        upstream: &mut ReadHalf<MaybeTls>,
        client: &mut WriteHalf<MaybeTls>,
        mut buf: BytesMut,
        shared: &Shared,
        mut stop: oneshot::Receiver<Stop>,
        mut hard_stop: watch::Receiver<bool>,
    ) -> Result<SessionEnd, SessionError> {
        let limit = self.gateway.config.limits.max_backend_message_bytes;
        let mut last_was_fatal = false;
        let limits_on = self.row_limits_on() || self.write_caps_on();
        let mut counting = Counting::default();
        // CloseComplete messages of the current batch (probes are known by
        // their position).
        let mut closes_seen = 0u64;
        // Messages of the current batch answered with their completion
        // (ParseComplete, BindComplete, CloseComplete, the end of a
        // Describe, CommandComplete, EmptyQueryResponse, PortalSuspended):
        // at an error, the position of the message that failed.
        let mut completed = 0u64;
        let mut revocations = self.gateway.subscribe_revocations();
        let mut suspensions = self.gateway.subscribe_suspensions();
        let mut generations = self.gateway.subscribe_generations();
        loop {
            let mut pos = 0;
            loop {
                let header = match peek_header(&buf[pos..], limit) {
                    Ok(Some(h)) => h,
                    Ok(None) => break,
                    Err(e) => {
                        let _ = flush(client, &mut buf, &mut pos).await;
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
                            .await;
                    }
                };
                if buf.len() - pos < header.total {
                    buf.reserve(header.total - (buf.len() - pos));
                    break;
                }
                match header.tag {
                    b'1' | b'2' | b'3' | b'n' | b'T' | b'C' | b'I' | b's' => completed += 1,
                    b'E' => {
                        let current = shared.received.load(Ordering::Acquire) + 1;
                        if shared.batch_failed.load(Ordering::Acquire) != current {
                            *lock(&shared.first_error) = (current, completed);
                        }
                    }
                    b'Z' => completed = 0,
                    b'G' => {
                        let current = shared.received.load(Ordering::Acquire) + 1;
                        shared.copy_in_started.store(current, Ordering::Release);
                        shared.progress.notify_waiters();
                    }
                    _ => {}
                }
                if limits_on && header.tag != b'Z' {
                    let current = shared.received.load(Ordering::Acquire) + 1;
                    let swallow = lock(&shared.swallow_batches).get(&current).copied();
                    let drop_it = match swallow {
                        Some(Swallow::All) => true,
                        Some(Swallow::AllButErrorsAndReady) => header.tag != b'E',
                        None => false,
                    };
                    if drop_it {
                        flush(client, &mut buf, &mut pos)
                            .await
                            .map_err(SessionError::ClientIo)?;
                        buf.advance(header.total);
                        continue;
                    }
                }
                if limits_on {
                    let body = &buf[pos + 5..pos + header.total];
                    match self.count_rows(header.tag, body, shared, &mut counting) {
                        RowAction::Pass => {}
                        RowAction::Drop => {
                            flush(client, &mut buf, &mut pos)
                                .await
                                .map_err(SessionError::ClientIo)?;
                            buf.advance(header.total);
                            continue;
                        }
                        RowAction::Replace(bytes) => {
                            flush(client, &mut buf, &mut pos)
                                .await
                                .map_err(SessionError::ClientIo)?;
                            buf.advance(header.total);
                            client
                                .write_all(&bytes)
                                .await
                                .map_err(SessionError::ClientIo)?;
                            continue;
                        }
                    }
                }
                let body = &buf[pos + 5..pos + header.total];
                match header.tag {
                    b'Z' => {
                        let status = body.first().copied().unwrap_or(b'I');
                        let next = shared.received.load(Ordering::Acquire) + 1;
                        // (Stored before `received` moves: a waiter reads it
                        // once `received` says its answer is in.)
                        if !lock(&shared.transient_status).remove(&next) {
                            shared.status.store(status, Ordering::Relaxed);
                        }
                        closes_seen = 0;
                        let received = shared.received.fetch_add(1, Ordering::AcqRel) + 1;
                        {
                            let mut markers = shared.markers();
                            while markers.front().is_some_and(|m| m.seq <= received) {
                                markers.pop_front();
                            }
                            drop(markers);
                            let mut describes = lock(&shared.describes);
                            while describes.front().is_some_and(|(seq, _)| *seq <= received) {
                                describes.pop_front();
                            }
                            drop(describes);
                            if limits_on {
                                let mut done = 0;
                                let mut expects = lock(&shared.expects);
                                while expects.front().is_some_and(|e| e.seq <= received) {
                                    if expects.pop_front().is_some_and(|e| e.portal.is_some()) {
                                        done += 1;
                                    }
                                }
                                drop(expects);
                                shared.execs_done.fetch_add(done, Ordering::AcqRel);
                                let failed = std::mem::take(&mut counting.query_failed);
                                let block = std::mem::take(&mut counting.block_failed);
                                counting.reset();
                                if failed && status == TransactionStatus::InTransaction.byte() {
                                    // The agent was told the statement failed: so
                                    // is its transaction, and the server will be
                                    // made to agree before anything else runs.
                                    buf[pos + 5] = TransactionStatus::Failed.byte();
                                    shared.failed_result.store(true, Ordering::Release);
                                } else if failed
                                    && block
                                    && status == TransactionStatus::Idle.byte()
                                {
                                    // The block the Query opened was committed
                                    // (it changed nothing); PostgreSQL would have
                                    // left it open and failed: so will the server.
                                    buf[pos + 5] = TransactionStatus::Failed.byte();
                                    shared.reopen_failed.store(true, Ordering::Release);
                                }
                            }
                        }
                        if limits_on {
                            lock(&shared.swallow_batches).remove(&received);
                        }
                        let swallowed = lock(&shared.swallow_rfq).remove(&received);
                        shared.progress.notify_waiters();
                        if swallowed {
                            flush(client, &mut buf, &mut pos)
                                .await
                                .map_err(SessionError::ClientIo)?;
                            buf.advance(header.total);
                            continue;
                        }
                    }
                    b'E' => {
                        let current = shared.received.load(Ordering::Acquire) + 1;
                        shared.batch_failed.store(current, Ordering::Release);
                        shared.progress.notify_waiters();
                        if let Ok(BackendMessage::ErrorResponse(fields)) =
                            BackendMessage::decode_parts(header.tag, body)
                        {
                            last_was_fatal = matches!(fields.get(b'V'), Some("FATAL" | "PANIC"));
                            let current = shared.received.load(Ordering::Acquire) + 1;
                            let replacement = {
                                let mut markers = shared.markers();
                                match markers.front() {
                                    Some(m)
                                        if m.seq == current
                                            && fields.sqlstate() == Some(SENTINEL_SQLSTATE) =>
                                    {
                                        markers.pop_front().map(|m| m.replacement)
                                    }
                                    _ => None,
                                }
                            };
                            if let Some(replacement) = replacement {
                                if let Err(e) = flush(client, &mut buf, &mut pos).await {
                                    return Err(SessionError::ClientIo(e));
                                }
                                buf.advance(header.total);
                                client
                                    .write_all(&replacement)
                                    .await
                                    .map_err(SessionError::ClientIo)?;
                                continue;
                            }
                        }
                    }
                    b'3' => {
                        closes_seen += 1;
                        let current = shared.received.load(Ordering::Acquire) + 1;
                        if shared.probe_answered(current, closes_seen) {
                            flush(client, &mut buf, &mut pos)
                                .await
                                .map_err(SessionError::ClientIo)?;
                            buf.advance(header.total);
                            continue;
                        }
                    }
                    b't' => {
                        let current = shared.received.load(Ordering::Acquire) + 1;
                        let entry = {
                            let mut describes = lock(&shared.describes);
                            match describes.front() {
                                Some((seq, _)) if *seq == current => describes.pop_front(),
                                _ => None,
                            }
                        };
                        if let Some((_, name)) = entry {
                            let reported = parameter_description(body);
                            let mut types = lock(&shared.param_types);
                            let known = types.entry(name).or_default();
                            // Declared types win; the server fills in the rest.
                            for (i, oid) in reported.into_iter().enumerate() {
                                match known.get_mut(i) {
                                    Some(t) if *t != 0 => {}
                                    Some(t) => *t = oid,
                                    None => known.push(oid),
                                }
                            }
                        }
                    }
                    b'S' => {
                        if let Some((name, value)) = drifted(body) {
                            let _ = flush(client, &mut buf, &mut pos).await;
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
                            return Ok(SessionEnd::ParameterDrift);
                        }
                    }
                    _ => {}
                }
                pos += header.total;
            }
            flush(client, &mut buf, &mut pos)
                .await
                .map_err(SessionError::ClientIo)?;
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                stop = &mut stop => {
                    return match stop {
                        Ok(Stop::Ended(end)) => Ok(end),
                        Ok(Stop::Fatal(fields, end)) => {
                            debug!(code = fields.code, "ending session with a fatal error");
                            let mut out = BytesMut::new();
                            fields.encode(&mut out);
                            let _ = client.write_all(&out).await;
                            Ok(end)
                        }
                        Err(_) => Ok(SessionEnd::ClientClosed),
                    };
                }
                id = revoked(&mut revocations, self.token.as_deref()) => {
                    info!(token_id = %id, "token revoked; ending session");
                    let mut out = BytesMut::new();
                    ErrorFields::new(
                        Severity::Fatal,
                        "57P01",
                        format!("terminating connection: capability token {id} was revoked"),
                    )
                    .with_hint("ask the orchestrator for a new token")
                    .encode(&mut out);
                    let _ = client.write_all(&out).await;
                    return Ok(SessionEnd::TokenRevoked);
                }
                () = self.removed(&mut generations) => {
                    info!("agent removed by a rules reload; ending session");
                    let mut out = BytesMut::new();
                    ErrorFields::new(
                        Severity::Fatal,
                        "57P01",
                        format!(
                            "terminating connection: agent \"{}\" may no longer use database \"{}\" (the rules were reloaded)",
                            self.agent, self.database
                        ),
                    )
                    .encode(&mut out);
                    let _ = client.write_all(&out).await;
                    return Ok(SessionEnd::AgentRemoved);
                }
                message = self.suspended(&mut suspensions) => {
                    info!("agent suspended; ending session");
                    let mut out = BytesMut::new();
                    ErrorFields::new(Severity::Fatal, "57P01", format!("terminating connection: {message}"))
                        .with_hint(crate::controls::Suspension::HINT)
                        .encode(&mut out);
                    let _ = client.write_all(&out).await;
                    return Ok(SessionEnd::Suspended);
                }
                () = stopped(&mut hard_stop) => {
                    let mut out = BytesMut::new();
                    ErrorFields::new(
                        Severity::Fatal,
                        "57P01",
                        "terminating connection due to administrator command",
                    )
                    .encode(&mut out);
                    let _ = client.write_all(&out).await;
                    return Ok(SessionEnd::Shutdown);
                }
                // Before the server's answers: nothing was in flight when
                // actgate answered, so whatever the server sends now came
                // after.
                () = shared.local_ready.notified() => {
                    let out = std::mem::take(&mut *lock(&shared.local));
                    client.write_all(&out).await.map_err(SessionError::ClientIo)?;
                }
                n = upstream.read_buf(&mut buf) => {
                    match n {
                        Ok(0) | Err(_) => {
                            if !last_was_fatal {
                                let mut out = BytesMut::new();
                                ErrorFields::new(
                                    Severity::Fatal,
                                    "08006",
                                    "the upstream database closed the connection unexpectedly",
                                )
                                .encode(&mut out);
                                let _ = client.write_all(&out).await;
                            }
                            return Ok(SessionEnd::UpstreamClosed);
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
    }
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
