//! How a session ends: why it ended, the watchers that end it (token
//! revoked, agent removed or suspended, shutdown, a pinned parameter
//! drifted) and the fatal errors that go with them.

use super::Relay;
use super::shared::Signal;
use crate::protocol::ProtocolError;
use crate::protocol::backend::{BackendMessage, ErrorFields, Severity};
use crate::proxy::Gateway;
use crate::proxy::error::SessionError;
use crate::proxy::session::protocol_violation;
use crate::proxy::stream::WriteHalf;
use crate::proxy::upstream::PINNED;
use bytes::{Buf, BytesMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
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
/// one flag per wait instead of subscribing to four watches and checking
/// them again every time the server sends something. The bell is a
/// [`Signal`] (a flag and a waker, no channel: the relay's server half
/// polls it on every wait for the server, twice per statement).
pub(super) struct Doorbell {
    bell: Arc<Bell>,
    task: tokio::task::JoinHandle<()>,
    state: BellState,
}

/// Where the doorbell's task is, as the relay has seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BellState {
    /// Watching: a ring means something may have changed.
    Ringing,
    /// It rang for the last time (every watch closed, or it panicked):
    /// to be joined, for a panic.
    Ended,
    /// Joined: it never rings again.
    Over,
}

/// What the doorbell's task and the relay share.
#[derive(Default)]
struct Bell {
    ring: Signal,
    /// The task has ended: every watch closed, or it panicked.
    ended: AtomicBool,
}

/// Rings a last time, saying the task ended, however it ends (a panic
/// included).
struct LastRing(Arc<Bell>);

impl Drop for LastRing {
    fn drop(&mut self) {
        self.0.ended.store(true, Ordering::Release);
        self.0.ring.notify();
    }
}

impl Doorbell {
    pub(super) fn new(gateway: &Gateway, hard_stop: &watch::Receiver<bool>) -> Doorbell {
        let revocations = gateway.subscribe_revocations();
        let generations = gateway.subscribe_generations();
        let suspensions = gateway.subscribe_suspensions();
        let hard_stop = hard_stop.clone();
        Doorbell::start(|bell| async move {
            tokio::join!(
                ring_on_change(revocations, &bell),
                ring_on_change(generations, &bell),
                ring_on_change(suspensions, &bell),
                ring_on_change(hard_stop, &bell),
            );
        })
    }

    /// Rung once now, then by the task `watch` makes (on this worker),
    /// and a last time when that task ends, however it ends.
    fn start<F>(watch: impl FnOnce(Arc<Bell>) -> F) -> Doorbell
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let bell = Arc::new(Bell::default());
        bell.ring.notify();
        let last = LastRing(bell.clone());
        let watching = watch(bell.clone());
        let task = tokio::spawn(async move {
            let _last = last;
            watching.await;
        });
        Doorbell {
            bell,
            task,
            state: BellState::Ringing,
        }
    }

    /// Resolves when the doorbell rings; never once every watch closed
    /// (the server gone: keep serving) and that last ring was answered.
    /// Should its task have panicked, the panic goes on in the session's
    /// task and ends the session, as when the watches were awaited there:
    /// an unwatched session never runs on.
    pub(super) async fn rung(&mut self) {
        if self.state == BellState::Ringing {
            self.bell.ring.taken().await;
            // (Answered like any ring: a change may have come with it.)
            if self.bell.ended.load(Ordering::Acquire) {
                self.state = BellState::Ended;
            }
            return;
        }
        if self.state == BellState::Ended {
            let joined = (&mut self.task).await;
            self.state = BellState::Over;
            if let Err(e) = joined
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
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
/// gone without saying stop keeps serving). A ring not yet taken is not
/// rung twice: the one waiting checks everything.
async fn ring_on_change<T>(mut watch: watch::Receiver<T>, bell: &Bell) {
    while watch.changed().await.is_ok() {
        bell.ring.notify();
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
