//! How a session ends: why it ended, the watchers that end it (token
//! revoked, agent removed or suspended, shutdown, a pinned parameter
//! drifted) and the fatal errors that go with them.

use super::Relay;
use crate::protocol::ProtocolError;
use crate::protocol::backend::{BackendMessage, ErrorFields};
use crate::proxy::error::SessionError;
use crate::proxy::session::protocol_violation;
use crate::proxy::stream::MaybeTls;
use crate::proxy::upstream::PINNED;
use bytes::{Buf, BytesMut};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, WriteHalf};
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
    Fatal(ErrorFields, SessionEnd),
}

impl Relay<'_> {
    pub(super) async fn end_with(
        &self,
        client: &mut WriteHalf<MaybeTls>,
        fields: ErrorFields,
        error: SessionError,
    ) -> Result<SessionEnd, SessionError> {
        let mut out = BytesMut::new();
        fields.encode(&mut out);
        let _ = client.write_all(&out).await;
        Err(error)
    }
}

/// Resolves with the token's id once the revocation list names it; never
/// for sessions without a token.
pub(super) async fn revoked(
    list: &mut watch::Receiver<Arc<crate::token::RevocationList>>,
    token: Option<&crate::token::VerifiedToken>,
) -> String {
    let Some(token) = token else {
        return std::future::pending().await;
    };
    loop {
        if token.is_revoked(&list.borrow_and_update()) {
            return token.claims.token_id.clone();
        }
        if list.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

impl Relay<'_> {
    /// Resolves once a rules reload removed this session's agent or its
    /// access to the database.
    pub(super) async fn removed(&self, generations: &mut watch::Receiver<u64>) {
        loop {
            generations.borrow_and_update();
            let rules = self.gateway.rules();
            if !rules
                .agent(self.agent)
                .is_some_and(|a| a.may_use_database(self.database))
            {
                return;
            }
            if generations.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Resolves with the message once this session's agent or end user is
    /// suspended.
    pub(super) async fn suspended(
        &self,
        list: &mut watch::Receiver<Arc<crate::controls::Suspensions>>,
    ) -> String {
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        loop {
            let now = self.gateway.clock().now();
            if let Some(s) = list.borrow_and_update().find(self.agent, subject, now) {
                return s.message();
            }
            if list.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

/// Resolves once the server's grace period is over.
pub(super) async fn stopped(hard_stop: &mut watch::Receiver<bool>) {
    if hard_stop.wait_for(|stop| *stop).await.is_err() {
        // The server is gone without saying stop: keep serving.
        std::future::pending::<()>().await;
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
    out: &mut WriteHalf<MaybeTls>,
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
    Stop::Fatal(protocol_violation(&e), SessionEnd::ProtocolViolation)
}

pub(super) fn io_stop(e: std::io::Error) -> Stop {
    debug!(error = %e, "upstream write failed");
    Stop::Ended(SessionEnd::UpstreamClosed)
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
