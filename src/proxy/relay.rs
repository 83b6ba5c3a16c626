//! The message relay between an authenticated agent and its upstream
//! session.
//!
//! Two halves run concurrently in the session's task, each polled only when
//! woken for itself ([`halves`]): client → upstream frames every message
//! strictly, asks the policy about every Query, Parse, Bind and Execute,
//! and forwards allowed messages as their original bytes;
//! upstream → client forwards everything, watching ReadyForQuery (the true
//! transaction status), ParameterStatus (pinned settings must not drift)
//! and ErrorResponse.
//!
//! A denial is carried out by sending upstream, in place of the denied
//! message, a sentinel that Postgres rejects as a syntax error without any
//! side effect, and by replacing that syntax error with actgate's own
//! ErrorResponse on the way back. The denial therefore takes effect at
//! exactly its position in the stream: the server fails an open
//! transaction (25P02 until ROLLBACK), discards the rest of an extended
//! batch until Sync, and reports the true status in ReadyForQuery, and
//! responses to pipelined messages stay in order. A simple-protocol denial
//! in a session with nothing in flight and no transaction is answered by
//! actgate alone.
//!
//! The server's reply rule is modelled exactly
//! ([`crate::protocol::pipeline::Batch`]): after an error in an extended
//! batch, whoever raised it, the server ignores everything until Sync, a
//! simple Query included. Before a Query is sent into an open batch the
//! relay learns whether the server is skipping (a probe); records changed
//! by messages the server skipped are undone ([`journal`]); a Sync the
//! server ignores in copy-in mode is not counted. Every wait for the
//! server also watches the client, so a departed client ends the session.

mod ask;
mod audit;
mod carry;
mod client;
mod counted;
pub mod current;
mod decisions;
mod halves;
mod journal;
mod lifecycle;
mod limits;
mod query;
mod sentinel;
mod server;
mod shared;
mod wait;

pub use ask::Reuses;
pub use audit::Deferred;

pub use lifecycle::SessionEnd;

use super::Gateway;
use super::analysis::AnalysisContext;
use super::error::SessionError;
use super::stream::MaybeTls;
use super::upstream::Upstream;
use crate::policy::{Denial, Mode, Policy, Verdict};
use crate::protocol::put_message;
use bytes::BytesMut;
use limits::Guard;
use shared::{Expect, Shared, lock};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::sync::{oneshot, watch};
use tracing::debug;

/// What to do with one client message.
enum Action {
    Forward,
    /// Forward; it will be answered by a ReadyForQuery.
    ForwardSync,
    /// Forward a row-limited Query (error mode) and wait for its
    /// ReadyForQuery before anything else.
    ForwardSyncWait(u64),
    /// Forward a row-limited Execute (error mode) with a Flush and wait for
    /// its result before anything else.
    ForwardExecWait {
        execute: u64,
        batch: u64,
    },
    /// Run a capped UPDATE/DELETE, or a write with RETURNING under a row
    /// limit (simple protocol), inside a transaction or savepoint actgate
    /// manages, and undo it if it changes or returns too many rows.
    GuardedQuery(Box<Guard>),
    /// Swallow it (discarding after a denial until Sync).
    Drop,
    /// (Boxed, as the guard is: the rare cases' data would make every
    /// action, moved through the client half for every message, as large.)
    Deny(Box<Denial>, Protocol),
    Terminate,
}

impl Action {
    /// Whether the client's message goes to the server.
    fn forwards(&self) -> bool {
        matches!(
            self,
            Action::Forward
                | Action::ForwardSync
                | Action::ForwardSyncWait(_)
                | Action::ForwardExecWait { .. }
                | Action::GuardedQuery(_)
        )
    }
}

#[derive(Debug, Clone, Copy)]
enum Protocol {
    Simple,
    Extended,
    /// A Parse of the unnamed statement: PostgreSQL drops the unnamed
    /// statement before it parses the new one, so the sentinel does too.
    UnnamedParse,
}

pub struct Relay<'a> {
    pub gateway: &'a Gateway,
    pub agent: &'a str,
    pub database: &'a str,
    /// The agent's policy and analysis context of the rules generation
    /// `generation`; replaced when a reload installs a new one.
    pub policy: current::CurrentPolicy,
    pub analysis: arc_swap::ArcSwap<AnalysisContext>,
    pub generation: std::sync::atomic::AtomicU64,
    /// This agent's decision counters in `/metrics`.
    pub counts: Arc<crate::metrics::AgentCounts>,
    pub session_id: u64,
    /// The client's address, as its audit events give it.
    pub client_addr: String,
    /// The agent's verified capability token, for token logins.
    pub capability: Option<Arc<dyn crate::policy::Capability + Send + Sync>>,
    pub token: Option<Arc<crate::token::VerifiedToken>>,
    /// Denials so far in this session (for the `repeated_violations` risk
    /// factor).
    pub violations: std::sync::atomic::AtomicU32,
    /// `default_transaction_read_only` as the server reported it when the
    /// session started (PostgreSQL 14 and later report it).
    pub read_only_at_start: Option<String>,
    /// Allowed statements written upstream and not yet audited.
    pub deferred: std::sync::Mutex<Deferred>,
    /// Allowed decisions the session may carry out again ([`ask`]).
    pub reuses: std::sync::Mutex<Reuses>,
    /// The session's own audit fields, rendered at its first statement
    /// event.
    pub session_line: std::sync::OnceLock<crate::audit::SessionLine>,
    /// The last allowed statement event's statement fields, rendered.
    pub statement_memo: std::sync::Mutex<Option<audit::StatementMemo>>,
    /// Whether the revocation list revokes `token`.
    pub revocations: std::sync::Mutex<Revocations>,
}

/// A session's view of the revocation list, read again only when the list
/// changed. Reading the gateway's list for every statement would take the
/// list's lock and a reference to it, both shared by every session on
/// every worker thread.
pub struct Revocations {
    list: watch::Receiver<Arc<crate::token::RevocationList>>,
    revoked: bool,
}

impl Revocations {
    /// Watches `gateway`'s list for `token`.
    pub fn watch(gateway: &Gateway, token: Option<&crate::token::VerifiedToken>) -> Revocations {
        let list = gateway.subscribe_revocations();
        let revoked = token.is_some_and(|t| t.is_revoked(&list.borrow()));
        Revocations { list, revoked }
    }

    /// Whether the list as it is now revokes `token`.
    fn revokes(&mut self, token: &crate::token::VerifiedToken) -> bool {
        // An error: the list's sender is gone (shutting down). Its last
        // value may not have been read yet: read it (again) rather than
        // trust the view.
        if self.list.has_changed().unwrap_or(true) {
            self.revoked = token.is_revoked(&self.list.borrow_and_update());
        }
        self.revoked
    }
}

impl Drop for Relay<'_> {
    /// The session's deferred audit events are recorded however it ends,
    /// a panic elsewhere in it included. (Those being recorded when the
    /// recording itself panicked are gone with it: the panic ends the
    /// session and is logged.)
    fn drop(&mut self) {
        self.record_deferred();
    }
}

impl Relay<'_> {
    /// The agent's policy in the generation this session runs under.
    fn policy(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.policy.load()
    }

    /// The session's token, if the revocation list as it is now revokes
    /// it (every statement's decision and the doorbell ask this).
    fn revoked_token(&self) -> Option<&crate::token::VerifiedToken> {
        self.token
            .as_deref()
            .filter(|t| lock(&self.revocations).revokes(t))
    }

    /// The analysis context (catalog) of that generation.
    fn analysis(&self) -> Arc<AnalysisContext> {
        self.analysis.load_full()
    }

    pub async fn run(
        self,
        mut client: MaybeTls,
        client_buf: BytesMut,
        upstream: Upstream,
        hard_stop: watch::Receiver<bool>,
    ) -> Result<SessionEnd, SessionError> {
        let (mut client_read, mut client_write) = client.split();
        let upstream_key = (upstream.process_id, upstream.secret_key);
        let mut upstream_stream = upstream.stream;
        let (mut upstream_read, mut upstream_write) = upstream_stream.split();
        let shared = Shared::new();
        let (stop_tx, stop_rx) = oneshot::channel();
        // The client half hands its end to the server half, which ends
        // the session: it never completes itself.
        let c2u = async {
            let stop = self
                .client_to_upstream(&mut client_read, &mut upstream_write, client_buf, &shared)
                .await;
            let _ = stop_tx.send(stop);
            std::future::pending().await
        };
        let u2c = self.upstream_to_client(
            &mut upstream_read,
            &mut client_write,
            upstream.leftover,
            &shared,
            stop_rx,
            hard_stop,
        );
        let end = halves::first(u2c, c2u).await;
        // Now rather than at the relay's drop: the cancel below may wait
        // on the network.
        self.record_deferred();
        // A statement still running when its client went away would run to
        // completion: PostgreSQL notices a closed socket only between
        // statements. Cancel it.
        if !shared.idle() && !matches!(end, Ok(SessionEnd::UpstreamClosed)) {
            let cfg = &self.gateway.config.upstream;
            if let Err(e) = super::upstream::send_cancel(
                cfg,
                self.gateway.upstream_tls.as_ref(),
                upstream_key.0,
                upstream_key.1,
            )
            .await
            {
                debug!(error = %e, "cancel on client departure failed");
            }
        }
        // Leave the upstream backend cleanly rather than by EOF.
        let mut terminate = BytesMut::with_capacity(5);
        put_message(&mut terminate, b'X', |_| {});
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(1),
            upstream_write.write_all(&terminate),
        )
        .await;
        let _ = upstream_write.shutdown().await;
        let _ = client_write.shutdown().await;
        end
    }

    /// Write caps are enforced (never in monitor mode).
    fn write_caps_on(&self) -> bool {
        self.policy.write_caps_on()
    }

    /// Row limits are enforced (never in monitor mode).
    fn row_limits_on(&self) -> bool {
        self.policy.row_limits_on()
    }

    /// In monitor mode nothing is blocked (the denial was audited).
    fn enforce(&self, verdict: Verdict) -> Verdict {
        match self.policy().mode {
            Mode::Enforce => verdict,
            Mode::Monitor => Verdict::Allow,
        }
    }
}

/// What an approval adds to a statement's audit event.
#[derive(Debug, Default)]
struct Held {
    approval_id: Option<String>,
    /// Alert kind raised whatever the risk (`approval_requested`).
    alert: Option<&'static str>,
}
