//! Whether this actgate can serve new sessions, for `/readyz`: the
//! upstream PostgreSQL as the most recent login or probe found it, and the
//! audit log where it must be written (`[audit] on_failure = "block"`).
//!
//! Every session's upstream connection is an observation. When the newest
//! is older than [`PROBE_INTERVAL`], `/readyz` probes: it logs in as a
//! session does (TCP, TLS if configured, authentication) to the first
//! database the rules name, then sends Terminate. One probe at a time, and
//! at most one per interval however many probes ask.

use super::Gateway;
use super::upstream::{self, UpstreamError};
use crate::audit::AuditHealth;
use crate::config::AuditOnFailure;
use crate::protocol::put_message;
use bytes::BytesMut;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// How long an observation of the upstream server stands for `/readyz`.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// Longest a probe may take (the admin endpoint gives a request 5 s).
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// The upstream server as last seen.
#[derive(Debug, Default)]
pub struct UpstreamHealth {
    last: Mutex<Option<(Instant, Result<(), String>)>>,
    probing: tokio::sync::Mutex<()>,
}

impl UpstreamHealth {
    /// Records the outcome of a session's upstream connection. A refusal
    /// that concerns one database or one login (no such database, no
    /// permission) says nothing about the others and is not recorded.
    pub(super) fn observe(&self, outcome: Result<(), &UpstreamError>) {
        match outcome {
            Ok(()) => self.set(Ok(())),
            Err(e) if server_wide(e) => self.set(Err(e.to_string())),
            Err(_) => {}
        }
    }

    fn set(&self, result: Result<(), String>) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), result));
    }

    /// The newest observation, if younger than [`PROBE_INTERVAL`].
    fn fresh(&self) -> Option<Result<(), String>> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match &*last {
            Some((at, result)) if at.elapsed() < PROBE_INTERVAL => Some(result.clone()),
            _ => None,
        }
    }
}

/// Whether a failed upstream connection means no new session can be
/// served: the server cannot be reached or takes no sessions (too many
/// connections, starting up, shutting down), or actgate cannot log in.
fn server_wide(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Refused { sqlstate, .. } => {
            ["53", "57", "08"].iter().any(|c| sqlstate.starts_with(c))
        }
        _ => true,
    }
}

/// What `/readyz` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    /// One line: `ready (…)` or `not ready (…): why`.
    pub text: String,
}

impl Gateway {
    /// Whether a new session could be opened upstream now: the newest
    /// observation, or a probe if it is stale.
    pub async fn upstream_reachable(&self) -> Result<(), String> {
        if let Some(result) = self.upstream_health.fresh() {
            return result;
        }
        let _one = self.upstream_health.probing.lock().await;
        if let Some(result) = self.upstream_health.fresh() {
            return result;
        }
        let result = self.probe_upstream().await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "readiness probe: upstream unreachable");
        }
        self.upstream_health.set(result.clone());
        result
    }

    async fn probe_upstream(&self) -> Result<(), String> {
        let cfg = &self.config;
        let database = self.rules().databases().into_iter().next();
        let attempt = async {
            let Some(database) = database else {
                // No database to log in to: whether the server listens.
                let addr = (cfg.upstream.host.as_str(), cfg.upstream.port);
                return tokio::net::TcpStream::connect(addr)
                    .await
                    .map(drop)
                    .map_err(|e| format!("cannot connect to {}:{}: {e}", addr.0, addr.1));
            };
            let mut session = upstream::connect(
                &cfg.upstream,
                self.upstream_tls.as_ref(),
                &database,
                &[],
                &[],
                cfg.limits.max_backend_message_bytes,
            )
            .await
            .map_err(|e| e.to_string())?;
            let mut terminate = BytesMut::new();
            put_message(&mut terminate, b'X', |_| {});
            let _ = session.stream.write_all(&terminate).await;
            let _ = session.stream.shutdown().await;
            Ok(())
        };
        let limit = (cfg.upstream.connect_timeout + cfg.limits.startup_timeout).min(PROBE_TIMEOUT);
        tokio::time::timeout(limit, attempt)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} ms", limit.as_millis())))
    }

    /// `/readyz`: not ready while the upstream server cannot take a
    /// session or, with `on_failure = "block"`, the audit log cannot be
    /// written; ready otherwise, with what an operator should know.
    pub async fn readiness(&self) -> Readiness {
        let mut problems = Vec::new();
        let mut notes = Vec::new();
        if let Err(e) = self.upstream_reachable().await {
            problems.push(format!("the upstream PostgreSQL cannot be reached: {e}"));
        }
        if let AuditHealth::Failing { error } = self.audit.health() {
            match self.audit.on_failure() {
                AuditOnFailure::Block => problems.push(format!(
                    "the audit log cannot be written, and audit.on_failure = \"block\" refuses what cannot be audited: {error}"
                )),
                AuditOnFailure::Continue => notes.push(format!(
                    "the audit log cannot be written, events are being lost: {error}"
                )),
            }
        }
        // Still ready: every replica shares the store, so taking them out
        // would stop the statements that need no shared state too.
        if let Some(state) = self.state_health()
            && !state.up
        {
            notes.push(format!(
                "the shared state store cannot be reached, statements that need it are refused (control_state_unavailable): {}",
                state.error.unwrap_or_default()
            ));
        }
        let status = self.reload_status();
        if let Some(e) = &status.last_error {
            notes.push(format!(
                "the last rules reload failed, the previous rules are in force: {e}"
            ));
        }
        let ready = problems.is_empty();
        let mut text = format!(
            "{} (rules generation {})",
            if ready { "ready" } else { "not ready" },
            status.generation
        );
        if !ready {
            text.push_str(": ");
            text.push_str(&problems.join("; "));
        }
        for note in notes {
            text.push_str("; ");
            text.push_str(&note);
        }
        Readiness { ready, text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sqlstate: &str) -> UpstreamError {
        UpstreamError::Refused {
            sqlstate: sqlstate.into(),
            message: String::new(),
            frame: crate::protocol::Frame {
                tag: b'E',
                raw: bytes::Bytes::from_static(b"E\0\0\0\x04"),
            },
        }
    }

    #[test]
    fn only_server_wide_failures_make_actgate_unready() {
        let health = UpstreamHealth::default();
        health.observe(Ok(()));
        // One database missing or closed to actgate: others still serve.
        health.observe(Err(&refused("3D000")));
        health.observe(Err(&refused("42501")));
        assert_eq!(health.fresh(), Some(Ok(())));
        // Too many connections, shutting down, unreachable: none serve.
        for e in [
            refused("53300"),
            refused("57P03"),
            UpstreamError::Closed,
            UpstreamError::ConnectTimeout {
                addr: "127.0.0.1:1".into(),
            },
        ] {
            health.observe(Err(&e));
            assert_eq!(health.fresh(), Some(Err(e.to_string())));
            health.observe(Ok(()));
        }
    }
}
