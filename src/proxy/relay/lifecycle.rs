//! How a session ends: why it ended, the watchers that end it (token
//! revoked, agent removed or suspended, shutdown, a pinned parameter
//! drifted) and the fatal errors that go with them.

use super::Relay;
use crate::protocol::ProtocolError;
use crate::protocol::backend::{BackendMessage, ErrorFields, Severity};
use crate::proxy::Gateway;
use crate::proxy::error::SessionError;
use crate::proxy::session::protocol_violation;
use crate::proxy::stream::WriteHalf;
use crate::proxy::upstream::PINNED;
use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

/// Why a session ended normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client sent Terminate.
    ClientTerminated,
    /// The client closed the connection.
    ClientClosed,
    /// The upstream server closed the connection.
    UpstreamClosed,
    IdleTimeout,
    Shutdown,
    ProtocolViolation,
    ParameterDrift,
    /// The connection only carried a CancelRequest.
    CancelRequest,
    /// Login was refused with a FATAL error.
    Refused,
    /// The session's capability token was revoked.
    TokenRevoked,
    /// The agent (or its end user) was suspended by its circuit breaker.
    Suspended,
    /// A rules reload removed the agent, or its access to the database.
    AgentRemoved,
}

/// How the client → upstream half ended.
pub(super) enum Stop {
    Ended(SessionEnd),
    /// (Boxed: a stop is a result every message's handling returns.)
    Fatal(Box<ErrorFields>, SessionEnd),
}

impl Relay<'_> {
    pub(super) async fn end_with(
        &self,
        client: &mut WriteHalf<'_>,
        fields: ErrorFields,
        error: SessionError,
    ) -> Result<SessionEnd, SessionError> {
        let mut out = BytesMut::new();
        fields.encode(&mut out);
        let _ = client.write_all(&out).await;
        Err(error)
    }
}

/// Why the session's watchers end it.
pub(super) enum Ending {
    /// The revocation list names the session's token (its id).
    Revoked(String),
    /// A rules reload removed the agent or its access to the database.
    Removed,
    /// The agent or its end user is suspended (the suspension's message).
    Suspended(String),
    /// The server's shutdown grace period is over.
    Stopped,
}

impl Ending {
    /// The FATAL error the client is sent, and how the session ended.
    pub(super) fn fatal(self, agent: &str, database: &str) -> (ErrorFields, SessionEnd) {
        let fatal = |message: String| ErrorFields::new(Severity::Fatal, "57P01", message);
        match self {
            Ending::Revoked(id) => {
                info!(token_id = %id, "token revoked; ending session");
                let fields = fatal(format!(
                    "terminating connection: capability token {id} was revoked"
                ))
                .with_hint("ask the orchestrator for a new token");
                (fields, SessionEnd::TokenRevoked)
            }
            Ending::Removed => {
                info!("agent removed by a rules reload; ending session");
                let fields = fatal(format!(
                    "terminating connection: agent \"{agent}\" may no longer use database \"{database}\" (the rules were reloaded)"
                ));
                (fields, SessionEnd::AgentRemoved)
            }
            Ending::Suspended(message) => {
                info!("agent suspended; ending session");
                let fields = fatal(format!("terminating connection: {message}"))
                    .with_hint(crate::controls::Suspension::HINT);
                (fields, SessionEnd::Suspended)
            }
            Ending::Stopped => (
                fatal("terminating connection due to administrator command".into()),
                SessionEnd::Shutdown,
            ),
        }
    }
}

/// Rings whenever something that can end the session changes: the
/// revocation list, the rules generation, the suspensions or the
/// shutdown flag (and once at the start). A task of its own on the
/// session's worker waits on the four watches, so the relay's loop polls
/// one channel per wait instead of subscribing to four watches and
/// checking them again every time the server sends something.
pub(super) struct Doorbell {
    ring: mpsc::Receiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Doorbell {
    pub(super) fn new(gateway: &Gateway, hard_stop: &watch::Receiver<bool>) -> Doorbell {
        let (tx, ring) = mpsc::channel(1);
        let _ = tx.try_send(());
        let revocations = gateway.subscribe_revocations();
        let generations = gateway.subscribe_generations();
        let suspensions = gateway.subscribe_suspensions();
        let hard_stop = hard_stop.clone();
        let task = tokio::spawn(async move {
            tokio::join!(
                ring_on_change(revocations, &tx),
                ring_on_change(generations, &tx),
                ring_on_change(suspensions, &tx),
                ring_on_change(hard_stop, &tx),
            );
        });
        Doorbell { ring, task }
    }

    /// Resolves when the doorbell rings; never once every watch closed
    /// (the server gone: keep serving). Should its task have panicked, the
    /// panic goes on in the session's task and ends the session, as when
    /// the watches were awaited there: an unwatched session never runs on.
    pub(super) async fn rung(&mut self) {
        if self.ring.recv().await.is_some() {
            return;
        }
        if let Err(e) = (&mut self.task).await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
        std::future::pending::<()>().await;
    }
}

impl Drop for Doorbell {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Rings on every change of `watch` until its sender is gone (a server
/// gone without saying stop keeps serving).
async fn ring_on_change<T>(mut watch: watch::Receiver<T>, ring: &mpsc::Sender<()>) {
    while watch.changed().await.is_ok() {
        // Full: a ring is already waiting, which checks everything.
        let _ = ring.try_send(());
    }
}

impl Relay<'_> {
    /// What ends the session now, if anything: checked when the doorbell
    /// rings, in this order.
    pub(super) fn ending(&self, hard_stop: &watch::Receiver<bool>) -> Option<Ending> {
        if let Some(token) = self.revoked_token() {
            return Some(Ending::Revoked(token.claims.token_id.clone()));
        }
        let rules = self.gateway.rules();
        if !rules
            .agent(self.agent)
            .is_some_and(|a| a.may_use_database(self.database))
        {
            return Some(Ending::Removed);
        }
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        if let Some(s) = self.gateway.suspension(self.agent, subject) {
            return Some(Ending::Suspended(s.message()));
        }
        (*hard_stop.borrow()).then_some(Ending::Stopped)
    }
}

/// A ParameterStatus frame that moves a pinned parameter off its value.
pub(super) fn drifted(body: &[u8]) -> Option<(String, String)> {
    if let Ok(BackendMessage::ParameterStatus { name, value }) =
        BackendMessage::decode_parts(b'S', body)
    {
        for (pinned, expected) in PINNED {
            if name.eq_ignore_ascii_case(pinned) && !value.eq_ignore_ascii_case(expected) {
                return Some((name.to_owned(), value.to_owned()));
            }
        }
    }
    None
}

/// Writes `buf[..pos]` and drops it from the buffer.
pub(super) async fn flush(
    out: &mut WriteHalf<'_>,
    buf: &mut BytesMut,
    pos: &mut usize,
) -> std::io::Result<()> {
    if *pos > 0 {
        out.write_all(&buf[..*pos]).await?;
        buf.advance(*pos);
        *pos = 0;
    }
    Ok(())
}

pub(super) fn fatal_stop(e: ProtocolError) -> Stop {
    info!(error = %e, "client protocol violation");
    Stop::Fatal(
        Box::new(protocol_violation(&e)),
        SessionEnd::ProtocolViolation,
    )
}

pub(super) fn io_stop(e: std::io::Error) -> Stop {
    debug!(error = %e, "upstream write failed");
    Stop::Ended(SessionEnd::UpstreamClosed)
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
