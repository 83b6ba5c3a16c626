//! The message relay between an authenticated agent and its upstream
//! session.
//!
//! Two halves run concurrently in the session's task: client → upstream
//! frames every message strictly, asks the policy about every Query, Parse,
//! Bind and Execute, and forwards allowed messages as their original bytes;
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

mod decisions;
mod journal;
mod limits;
mod wait;

use super::Gateway;
use super::analysis::AnalysisContext;
use super::error::SessionError;
use super::session::protocol_violation;
use super::stream::MaybeTls;
use super::upstream::{PINNED, Upstream};
use crate::audit::AuditEvent;
use crate::policy::analyze::{Analysis, PreparedRef};
use crate::policy::{
    ApprovalNeed, Denial, Mode, Policy, RowLimit, RuntimeControls, SessionState, Verdict, WriteCap,
};
use crate::protocol::backend::{BackendMessage, ErrorFields, Severity, TransactionStatus};
use crate::protocol::frontend::FrontendMessage;
use crate::protocol::pipeline::{Batch, Fate};
use crate::protocol::{ProtocolError, peek_header, put_cstr, put_message};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use journal::{Journal, Undo};
use limits::{Counting, Guard, RowAction};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{oneshot, watch};
use tracing::{debug, info};
use wait::Wire;

/// The statement text of both sentinels: one quoted identifier. Postgres
/// reports a syntax error at position 1 while parsing it, before touching
/// any statement, portal or transaction state, and its log line reads
/// `syntax error at or near ""actgate refused a statement; see its audit
/// log""` (under 64 bytes: no truncation notice). Sentinels are sent only
/// where the server must take part (a transaction, an extended batch,
/// answers in flight); other refusals are answered without it.
const SENTINEL_SQL: &str = "\"actgate refused a statement; see its audit log\"";
/// A named statement, because a failed Parse of the unnamed statement would
/// first drop the client's unnamed statement (which only the refusal of a
/// Parse of the unnamed statement does, as PostgreSQL would).
const SENTINEL_STATEMENT: &str = "actgate_denied";
const SENTINEL_SQLSTATE: &str = "42601";
/// The statement a probe closes: it never exists (closing a statement that
/// does not exist is no error), so the probe has no effect.
const PROBE_STATEMENT: &str = "actgate_probe";

const READ_CHUNK: usize = 64 * 1024;

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
enum Stop {
    Ended(SessionEnd),
    Fatal(ErrorFields, SessionEnd),
}

/// An injected sentinel whose syntax error is to be replaced.
struct Marker {
    /// The number of the ReadyForQuery that closes the sentinel's batch.
    seq: u64,
    replacement: Bytes,
}

/// State both halves see. Counters are lock-free; the marker queue is
/// locked only on ErrorResponse and ReadyForQuery.
struct Shared {
    /// Query, Sync and sentinel Query messages sent upstream: each will be
    /// answered by one ReadyForQuery.
    sent: AtomicU64,
    /// ReadyForQuery messages received from upstream.
    received: AtomicU64,
    status: AtomicU8,
    markers: Mutex<VecDeque<Marker>>,
    /// Describe(statement) messages awaiting their ParameterDescription:
    /// (number of the ReadyForQuery closing the batch, statement name).
    describes: Mutex<VecDeque<(u64, String)>>,
    /// Parameter type OIDs of prepared statements, declared in Parse or
    /// reported by ParameterDescription (to decode binary Bind values).
    param_types: Mutex<HashMap<String, Vec<u32>>>,
    /// Row-limit expectations, in the order their results come back.
    expects: Mutex<VecDeque<Expect>>,
    /// Executes whose results have completed (for barriers).
    execs_done: AtomicU64,
    /// Set when a row-limited result was failed by actgate: the server must
    /// be made to fail too before anything else is forwarded.
    failed_result: AtomicBool,
    /// The server must be put in a failed transaction block (BEGIN, then
    /// the sentinel) before anything else runs.
    reopen_failed: AtomicBool,
    /// The batch (ReadyForQuery number) in which the server last reported
    /// an error: it skips the rest of that batch, so barriers release.
    batch_failed: AtomicU64,
    /// ReadyForQuery messages of actgate's own sentinels, not forwarded.
    swallow_rfq: Mutex<HashSet<u64>>,
    /// Wakes the client half waiting at a barrier.
    progress: tokio::sync::Notify,
    /// Batches of actgate's own statements whose answers are not forwarded
    /// (all of them, or all but errors and ReadyForQuery).
    swallow_batches: Mutex<HashMap<u64, Swallow>>,
    /// How the last capped statement went (set by the server half).
    guard_outcome: Mutex<Option<GuardOutcome>>,
    /// The probe that tells whether the server is skipping to Sync.
    probe: Mutex<Probe>,
    /// Close messages sent in the current batch (client half): a probe is
    /// known by the position of its CloseComplete among the batch's.
    closes: Mutex<CloseCount>,
    /// The last batch with an error, and how many of its messages had
    /// completed before it (server half).
    first_error: Mutex<(u64, u64)>,
    /// ReadyForQuery messages whose status shows the transaction or
    /// savepoint actgate opened around a capped statement, not the
    /// session's: not recorded as the session's status.
    transient_status: Mutex<HashSet<u64>>,
    /// The batch in which the server last entered copy-in mode.
    copy_in_started: AtomicU64,
    /// Answers actgate gives without the server (client half), for the
    /// server half to write in order.
    local: Mutex<BytesMut>,
    local_ready: tokio::sync::Notify,
}

/// Whether the server may be in copy-in mode (client half).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CopyIn {
    None,
    /// An Execute of COPY … FROM STDIN was sent in this batch.
    MayStart(u64),
    /// The server answered it with CopyInResponse.
    Copying,
}

/// A probe sent by [`Relay::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    None,
    /// Sent in batch `batch` as its `index`-th Close.
    Waiting {
        batch: u64,
        index: u64,
    },
    /// Its CloseComplete arrived: no message of its batch failed.
    Answered,
}

/// The number of Close messages sent in one batch.
#[derive(Debug, Default)]
struct CloseCount {
    batch: u64,
    count: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swallow {
    All,
    AllButErrorsAndReady,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuardOutcome {
    Within,
    Exceeded,
    Failed,
}

/// What to count in the results of one Query or Execute.
#[derive(Debug, Clone)]
struct Expect {
    /// The number of the ReadyForQuery closing its batch.
    seq: u64,
    /// `None` for a Query (every result until ReadyForQuery); the portal
    /// for an Execute (one result).
    portal: Option<String>,
    limit: Option<RowLimit>,
    /// Most rows the statement may change (write cap).
    cap: Option<WriteCap>,
    /// Run by [`Relay::run_guarded`] in a transaction or savepoint of
    /// actgate's: its outcome decides whether that is kept or undone.
    guarded: bool,
}

impl Shared {
    /// The number of the ReadyForQuery that will close the batch the
    /// client half is sending now.
    fn current_batch(&self) -> u64 {
        self.sent.load(Ordering::Acquire) + 1
    }

    /// Whether the server reported an error in the current batch (it then
    /// skips the rest of an extended batch until Sync).
    fn failed_in_current_batch(&self) -> bool {
        self.batch_failed.load(Ordering::Acquire) == self.current_batch()
    }

    fn closes_sent_in(&self, batch: u64) -> u64 {
        let c = lock(&self.closes);
        if c.batch == batch { c.count } else { 0 }
    }

    fn note_close_sent(&self, batch: u64) {
        let mut c = lock(&self.closes);
        if c.batch != batch {
            *c = CloseCount { batch, count: 0 };
        }
        c.count += 1;
    }

    /// A CloseComplete, the `nth` of batch `batch`: whether it answers the
    /// probe (then it is actgate's, not forwarded).
    fn probe_answered(&self, batch: u64, nth: u64) -> bool {
        let mut probe = lock(&self.probe);
        if *probe == (Probe::Waiting { batch, index: nth }) {
            *probe = Probe::Answered;
            drop(probe);
            self.progress.notify_waiters();
            return true;
        }
        false
    }

    /// How many messages of batch `batch` completed before its first
    /// error; `None` if it had none. Asked once its ReadyForQuery is in.
    fn completed_before_error(&self, batch: u64) -> Option<u64> {
        let (failed, completed) = *lock(&self.first_error);
        (failed == batch).then_some(completed)
    }

    fn idle(&self) -> bool {
        self.sent.load(Ordering::Acquire) == self.received.load(Ordering::Acquire)
            && self.status.load(Ordering::Relaxed) == TransactionStatus::Idle.byte()
    }

    fn markers(&self) -> std::sync::MutexGuard<'_, VecDeque<Marker>> {
        self.markers.lock().unwrap_or_else(|p| p.into_inner())
    }
}

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
    GuardedQuery(Guard),
    /// Swallow it (discarding after a denial until Sync).
    Drop,
    Deny(Denial, Protocol),
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
    pub policy: arc_swap::ArcSwap<Policy>,
    pub analysis: arc_swap::ArcSwap<AnalysisContext>,
    pub generation: std::sync::atomic::AtomicU64,
    /// This agent's decision counters in `/metrics`.
    pub counts: Arc<crate::metrics::AgentCounts>,
    pub session_id: u64,
    pub client_addr: SocketAddr,
    /// The agent's verified capability token, for token logins.
    pub capability: Option<Arc<dyn crate::policy::Capability + Send + Sync>>,
    pub token: Option<Arc<crate::token::VerifiedToken>>,
    /// Denials so far in this session (for the `repeated_violations` risk
    /// factor).
    pub violations: std::sync::atomic::AtomicU32,
    /// `default_transaction_read_only` as the server reported it when the
    /// session started (PostgreSQL 14 and later report it).
    pub read_only_at_start: Option<String>,
}

impl Relay<'_> {
    /// The agent's policy in the generation this session runs under.
    fn policy(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.policy.load()
    }

    /// The analysis context (catalog) of that generation.
    fn analysis(&self) -> Arc<AnalysisContext> {
        self.analysis.load_full()
    }

    pub async fn run(
        self,
        client: MaybeTls,
        client_buf: BytesMut,
        upstream: Upstream,
        hard_stop: watch::Receiver<bool>,
    ) -> Result<SessionEnd, SessionError> {
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let upstream_key = (upstream.process_id, upstream.secret_key);
        let (mut upstream_read, mut upstream_write) = tokio::io::split(upstream.stream);
        let shared = Shared {
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            status: AtomicU8::new(TransactionStatus::Idle.byte()),
            markers: Mutex::new(VecDeque::new()),
            describes: Mutex::new(VecDeque::new()),
            param_types: Mutex::new(HashMap::new()),
            expects: Mutex::new(VecDeque::new()),
            execs_done: AtomicU64::new(0),
            failed_result: AtomicBool::new(false),
            reopen_failed: AtomicBool::new(false),
            batch_failed: AtomicU64::new(0),
            swallow_rfq: Mutex::new(HashSet::new()),
            progress: tokio::sync::Notify::new(),
            swallow_batches: Mutex::new(HashMap::new()),
            guard_outcome: Mutex::new(None),
            probe: Mutex::new(Probe::None),
            closes: Mutex::new(CloseCount::default()),
            first_error: Mutex::new((0, 0)),
            transient_status: Mutex::new(HashSet::new()),
            copy_in_started: AtomicU64::new(0),
            local: Mutex::new(BytesMut::new()),
            local_ready: tokio::sync::Notify::new(),
        };
        let (stop_tx, stop_rx) = oneshot::channel();
        let c2u = async {
            let stop = self
                .client_to_upstream(&mut client_read, &mut upstream_write, client_buf, &shared)
                .await;
            let _ = stop_tx.send(stop);
            std::future::pending::<()>().await;
        };
        let u2c = self.upstream_to_client(
            &mut upstream_read,
            &mut client_write,
            upstream.leftover,
            &shared,
            stop_rx,
            hard_stop,
        );
        let end = tokio::select! {
            end = u2c => end,
            () = c2u => unreachable!("client half never completes on its own"),
        };
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

    async fn client_to_upstream(
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
                        let denial = crate::policy::refusals::message_too_long(length, limit);
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

    /// Write caps are enforced (never in monitor mode).
    fn write_caps_on(&self) -> bool {
        self.policy().mode == Mode::Enforce && self.policy().has_write_caps()
    }

    /// Sends one of actgate's own simple queries; its answers are not
    /// forwarded (but for errors and ReadyForQuery when `swallow` says so).
    async fn inject(
        &self,
        upstream: &mut WriteHalf<MaybeTls>,
        shared: &Shared,
        sql: &str,
        swallow: Swallow,
    ) -> std::io::Result<u64> {
        let seq = shared.sent.fetch_add(1, Ordering::AcqRel) + 1;
        lock(&shared.swallow_batches).insert(seq, swallow);
        if swallow == Swallow::All {
            lock(&shared.swallow_rfq).insert(seq);
        }
        let mut out = BytesMut::new();
        put_message(&mut out, b'Q', |b| put_cstr(b, sql));
        upstream.write_all(&out).await?;
        Ok(seq)
    }

    /// Row limits are enforced (never in monitor mode).
    fn row_limits_on(&self) -> bool {
        self.policy().mode == Mode::Enforce && self.policy().has_row_limits()
    }

    /// Makes the server fail the current transaction or batch, as it would
    /// have after the error actgate reported, with a sentinel whose error
    /// (and, for a Query, ReadyForQuery) is not forwarded.
    async fn fail_upstream(
        &self,
        upstream: &mut WriteHalf<MaybeTls>,
        shared: &Shared,
        protocol: Protocol,
    ) -> std::io::Result<()> {
        send_sentinel(upstream, shared, protocol, Bytes::new(), true).await
    }

    /// In monitor mode nothing is blocked (the denial was audited).
    fn enforce(&self, verdict: Verdict) -> Verdict {
        match self.policy().mode {
            Mode::Enforce => verdict,
            Mode::Monitor => Verdict::Allow,
        }
    }

    /// Every denial passes here: it is counted for the risk score and the
    /// circuit breaker, and audited.
    fn audit_denial(&self, denial: &Denial, analysis: Option<&Analysis>, sql: Option<&str>) {
        self.violations.fetch_add(1, Ordering::Relaxed);
        if self.policy().mode == Mode::Enforce {
            // A trip ends this session through the suspension watch.
            let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
            self.gateway.violation(&self.policy(), subject);
        }
        self.audit_statement(
            "statement_blocked",
            Some(denial),
            analysis,
            sql.unwrap_or_default(),
        );
    }

    fn audit_statement(
        &self,
        event: &'static str,
        denial: Option<&Denial>,
        analysis: Option<&Analysis>,
        sql: &str,
    ) {
        self.audit_statement_with(event, denial, analysis, sql, Held::default());
    }

    /// Audits one statement event and raises its alert: always for `held`
    /// alerts, otherwise when its risk score reaches `[alerts] min_risk`.
    fn audit_statement_with(
        &self,
        event: &'static str,
        denial: Option<&Denial>,
        analysis: Option<&Analysis>,
        sql: &str,
        held: Held,
    ) {
        self.counts.count(denial.map(|d| d.reason));
        let audit = &self.gateway.audit;
        let alerter = &self.gateway.alerter;
        if !audit.enabled() && !alerter.enabled() {
            return;
        }
        let mut risk = analysis.map(|a| a.risk_factors()).unwrap_or_default();
        if let Some(a) = analysis
            && self.policy().touches_sensitive(a)
        {
            risk.push("sensitive_table");
        }
        if denial.is_some() {
            risk.push("denied");
            if self.violations.load(Ordering::Relaxed) >= crate::policy::risk::REPEATED_VIOLATIONS {
                risk.push("repeated_violations");
            }
        }
        let risk_score = crate::policy::risk::score(&risk);
        let subject = self.token.as_ref().map(|t| t.claims.subject.clone());
        let (sql_text, truncated) = audit.sql(sql);
        let kind = held.alert.or_else(|| {
            alerter
                .min_risk()
                .is_some_and(|min| risk_score >= min)
                .then_some("high_risk_statement")
        });
        let status = match kind {
            Some(kind) => alerter.raise(crate::alerts::Alert {
                kind,
                agent: Some(self.agent.to_owned()),
                subject: subject.clone(),
                session_id: Some(self.session_id),
                risk_score: Some(risk_score),
                risk: risk.clone(),
                reason: denial.map(|d| d.reason),
                rule: denial.map(|d| d.rule.clone()),
                sql: (!sql.is_empty()).then(|| sql_text.clone()),
                message: denial.map(|d| d.message.clone()),
                approval_id: held.approval_id.clone(),
                ..Default::default()
            }),
            None => crate::alerts::AlertStatus::None,
        };
        if !audit.enabled() {
            return;
        }
        let (alert, alert_id) = status.audit_fields();
        let claims = match &self.token {
            Some(t) => {
                let mut c = t.claims.custom.clone();
                if let Some(tenant) = &t.claims.tenant {
                    c.insert("tenant".into(), tenant.clone());
                }
                c
            }
            None => Default::default(),
        };
        audit.record(&AuditEvent {
            event,
            agent: Some(self.agent.to_owned()),
            session_id: Some(self.session_id),
            client_addr: Some(self.client_addr.to_string()),
            database: Some(self.database.to_owned()),
            statement_class: analysis.and_then(|a| a.primary_class()).map(|c| c.name()),
            tables: analysis.map(|a| a.tables()).unwrap_or_default(),
            reason: denial.map(|d| d.reason),
            rule: denial.map(|d| d.rule.clone()),
            mode: Some(self.policy().mode.name()),
            risk,
            risk_score: Some(risk_score),
            fingerprint: analysis.map(|a| a.fingerprint.clone()),
            sql: (!sql.is_empty()).then_some(sql_text),
            sql_truncated: (!sql.is_empty()).then_some(truncated),
            message: denial.map(|d| d.message.clone()),
            count: None,
            token_id: self.token.as_ref().map(|t| t.claims.token_id.clone()),
            subject,
            chain: self
                .token
                .as_ref()
                .map(|t| t.claims.chain.clone())
                .unwrap_or_default(),
            claims,
            approval_id: held.approval_id,
            alert,
            alert_id,
        });
    }

    /// Sends the sentinel in place of a denied message and arranges for its
    /// error to be replaced by `denial`.
    ///
    /// A simple-protocol denial in a session with nothing in flight, no
    /// transaction, no extended message since the last Sync and no unnamed
    /// statement (which a Query drops) (`alone`) needs no server: actgate
    /// answers it itself (ErrorResponse, then ReadyForQuery idle), as
    /// PostgreSQL would, and the server's log stays clean.
    async fn deny(
        &self,
        upstream: &mut WriteHalf<MaybeTls>,
        shared: &Shared,
        denial: &Denial,
        protocol: Protocol,
        alone: bool,
    ) -> std::io::Result<()> {
        let mut replacement = BytesMut::new();
        error_fields(denial).encode(&mut replacement);
        if alone && matches!(protocol, Protocol::Simple) && shared.idle() {
            put_message(&mut replacement, b'Z', |b| {
                b.put_u8(TransactionStatus::Idle.byte())
            });
            lock(&shared.local).extend_from_slice(&replacement);
            shared.local_ready.notify_one();
            return Ok(());
        }
        send_sentinel(upstream, shared, protocol, replacement.freeze(), false).await
    }

    async fn upstream_to_client(
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

    async fn end_with(
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

/// The ErrorResponse that carries a refusal to the agent: every refusal,
/// decided before a statement runs or while it runs, is sent this way.
fn error_fields(denial: &Denial) -> ErrorFields {
    let fields = ErrorFields::new(Severity::Error, denial.sqlstate, denial.message.clone())
        .with_detail(denial.detail());
    match &denial.hint {
        Some(h) => fields.with_hint(h.clone()),
        None => fields,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The type OIDs of a ParameterDescription body.
fn parameter_description(body: &[u8]) -> Vec<u32> {
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

/// Row limits of prepared statements and bound portals, and the number of
/// Executes forwarded (client half).
#[derive(Default)]
struct RowLimits {
    /// What actgate holds each prepared statement to.
    prepared: HashMap<String, Prepared>,
    portals: HashMap<String, Option<RowLimit>>,
    portal_caps: HashMap<String, Option<WriteCap>>,
    /// Runtime controls (budgets, time windows) of bound portals not yet
    /// executed, with the rules they were bound under.
    portal_controls: HashMap<String, (Arc<Policy>, RuntimeControls)>,
    /// Portals bound to a COPY … FROM STDIN.
    copy_in_portals: HashSet<String>,
    executes: u64,
}

/// One prepared statement, as actgate decided it.
#[derive(Clone)]
struct Prepared {
    /// The rules generation it was decided under: after a reload it is
    /// decided again at its next Bind or EXECUTE.
    generation: u64,
    sql: Arc<str>,
    /// Prepared by Parse; otherwise by SQL `PREPARE`, which carries none of
    /// the conditions below (actgate refuses such a PREPARE when it would).
    via_parse: bool,
    /// It is a COPY … FROM STDIN: executing it puts the server in copy-in
    /// mode, where it ignores Sync and Flush.
    copy_in: bool,
    /// Row limit and write cap (when enforced).
    limit: Option<RowLimit>,
    cap: Option<WriteCap>,
    /// Budgets and time windows, charged at the first Execute of a portal.
    controls: Option<RuntimeControls>,
    /// Approval rules it may fall under, decided at Bind.
    approvals: Option<Arc<[ApprovalNeed]>>,
}

impl Prepared {
    /// Whether `other` holds the statement to the same conditions.
    fn same_as(&self, other: &Prepared) -> bool {
        self.generation == other.generation
            && self.sql == other.sql
            && self.via_parse == other.via_parse
            && self.copy_in == other.copy_in
            && self.limit == other.limit
            && self.cap == other.cap
            && self.controls == other.controls
            && match (&self.approvals, &other.approvals) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl RowLimits {
    /// Records what an allowed Query did to prepared statements, as
    /// PostgreSQL does it: `DEALLOCATE` forgets, `PREPARE` of a free name
    /// records (of a taken one fails, keeping the old), `DISCARD ALL`
    /// forgets all.
    fn executed(&mut self, analysis: &Analysis, sql: &str, generation: u64) {
        for st in &analysis.statements {
            for p in &st.prepared {
                match p {
                    PreparedRef::Prepare(name) => {
                        self.prepared
                            .entry(name.clone())
                            .or_insert_with(|| Prepared {
                                generation,
                                sql: Arc::from(sql),
                                via_parse: false,
                                copy_in: false,
                                limit: None,
                                cap: None,
                                controls: None,
                                approvals: None,
                            });
                    }
                    PreparedRef::Deallocate(Some(name)) => {
                        self.prepared.remove(name);
                    }
                    PreparedRef::Deallocate(None) => self.prepared.clear(),
                    PreparedRef::Execute(_) => {}
                }
            }
            if st.discards_all() {
                self.prepared.clear();
            }
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

/// Sends the side-effect-free sentinel that fails to parse, in the place of
/// a refused message (or to fail the server's transaction or batch), and
/// records that its error is to be replaced by `replacement` (nothing:
/// swallowed). With `swallow_rfq`, a Query sentinel's ReadyForQuery is not
/// forwarded either.
async fn send_sentinel(
    upstream: &mut WriteHalf<MaybeTls>,
    shared: &Shared,
    protocol: Protocol,
    replacement: Bytes,
    swallow_rfq: bool,
) -> std::io::Result<()> {
    let mut sentinel = BytesMut::new();
    let seq = match protocol {
        Protocol::Simple => {
            put_message(&mut sentinel, b'Q', |b| put_cstr(b, SENTINEL_SQL));
            let seq = shared.sent.fetch_add(1, Ordering::AcqRel) + 1;
            if swallow_rfq {
                lock(&shared.swallow_rfq).insert(seq);
            }
            seq
        }
        Protocol::Extended | Protocol::UnnamedParse => {
            let name = match protocol {
                Protocol::UnnamedParse => "",
                _ => SENTINEL_STATEMENT,
            };
            put_message(&mut sentinel, b'P', |b| {
                put_cstr(b, name);
                put_cstr(b, SENTINEL_SQL);
                b.put_i16(0);
            });
            shared.sent.load(Ordering::Acquire) + 1
        }
    };
    shared.markers().push_back(Marker { seq, replacement });
    upstream.write_all(&sentinel).await
}

/// Resolves with the token's id once the revocation list names it; never
/// for sessions without a token.
async fn revoked(
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

/// Resolves once the server's grace period is over.
impl Relay<'_> {
    /// Resolves once a rules reload removed this session's agent or its
    /// access to the database.
    async fn removed(&self, generations: &mut watch::Receiver<u64>) {
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
    async fn suspended(
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

async fn stopped(hard_stop: &mut watch::Receiver<bool>) {
    if hard_stop.wait_for(|stop| *stop).await.is_err() {
        // The server is gone without saying stop: keep serving.
        std::future::pending::<()>().await;
    }
}

/// A ParameterStatus frame that moves a pinned parameter off its value.
fn drifted(body: &[u8]) -> Option<(String, String)> {
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
async fn flush(
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

fn fatal_stop(e: ProtocolError) -> Stop {
    info!(error = %e, "client protocol violation");
    Stop::Fatal(protocol_violation(&e), SessionEnd::ProtocolViolation)
}

fn io_stop(e: std::io::Error) -> Stop {
    debug!(error = %e, "upstream write failed");
    Stop::Ended(SessionEnd::UpstreamClosed)
}
