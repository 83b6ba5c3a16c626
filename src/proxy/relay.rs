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

mod audit;
mod client;
mod journal;
mod lifecycle;
mod limits;
mod sentinel;
mod server;
mod shared;
mod wait;

pub use lifecycle::SessionEnd;

use super::Gateway;
use super::analysis::AnalysisContext;
use super::error::SessionError;
use super::stream::MaybeTls;
use super::upstream::Upstream;
use crate::controls::{ApprovalKey, ApprovalRequest, Gate};
use crate::policy::analyze::{Analysis, PreparedRef};
use crate::policy::{
    ApprovalNeed, ApprovalStatus, Denial, Mode, Policy, RowLimit, RuntimeControls, SessionState,
    Verdict, WriteCap,
};
use crate::protocol::backend::TransactionStatus;
use crate::protocol::frontend::FrontendMessage;
use crate::protocol::frontend::Target;
use crate::protocol::pipeline::Batch;
use crate::protocol::put_message;
use bytes::BytesMut;
use limits::Guard;
use shared::{Expect, Shared, lock};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::sync::{oneshot, watch};
use tracing::{debug, info};

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
    /// Statement events audited so far.
    pub events: AtomicU64,
    /// The statement decide() allowed in the message being inspected, to
    /// audit once the message is done.
    pub allowed: Mutex<Option<(super::analysis::AnalysisResult, String)>>,
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

    /// Moves the session to the newest rules generation before it decides
    /// its next message. `Err` when a reload removed the agent or its
    /// access to this database (the session is then ended).
    fn refresh(&self) -> Result<(), Denial> {
        if self.gateway.generation.load().number == self.generation.load(Ordering::Relaxed) {
            return Ok(());
        }
        let generation = self.gateway.generation();
        match generation.rules.agent(self.agent) {
            Some(agent) if agent.may_use_database(self.database) => {
                self.policy.store(agent.policy.clone());
                self.analysis
                    .store(self.gateway.analysis_context_in(&generation, self.database));
                self.generation.store(generation.number, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(Denial {
                sqlstate: "42501",
                reason: "agent_removed",
                rule: "rules".into(),
                message: format!(
                    "actgate denied this statement: agent {:?} may no longer use database {:?} (the rules were reloaded)",
                    self.agent, self.database
                ),
                hint: Some("reconnect; ask the DBA if access should still be granted".into()),
            }),
        }
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
        let shared = Shared::new();
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

    /// Decides what happens to one well-framed client message.
    /// Decides one client message, then audits an allowed statement if
    /// nothing else was recorded for it.
    async fn inspect(
        &self,
        msg: &FrontendMessage<'_>,
        state: &mut SessionState,
        shared: &Shared,
        limits: &mut RowLimits,
        batch: &mut Batch,
    ) -> Action {
        let events = self.events.load(Ordering::Relaxed);
        let action = self
            .inspect_message(msg, state, shared, limits, batch)
            .await;
        if let Some((analysis, sql)) = lock(&self.allowed).take()
            && self.events.load(Ordering::Relaxed) == events
        {
            let a = analysis.as_ref().as_ref().ok();
            self.audit_statement("statement_allowed", None, a, &sql);
        }
        action
    }

    async fn inspect_message(
        &self,
        msg: &FrontendMessage<'_>,
        state: &mut SessionState,
        shared: &Shared,
        limits: &mut RowLimits,
        batch: &mut Batch,
    ) -> Action {
        if let Err(denial) = self.refresh() {
            return match msg {
                FrontendMessage::Sync => Action::ForwardSync,
                FrontendMessage::Terminate => Action::Terminate,
                FrontendMessage::Query { .. } | FrontendMessage::FunctionCall => {
                    self.audit_denial(&denial, None, None);
                    Action::Deny(denial, Protocol::Simple)
                }
                FrontendMessage::Parse { .. }
                | FrontendMessage::Bind(_)
                | FrontendMessage::Execute { .. }
                    if !batch.is_skipping() =>
                {
                    self.audit_denial(&denial, None, None);
                    *batch = batch.failed();
                    Action::Deny(denial, Protocol::Extended)
                }
                _ if batch.is_skipping() => Action::Drop,
                _ => Action::Forward,
            };
        }
        if batch.is_skipping() {
            return match msg {
                FrontendMessage::Sync => Action::ForwardSync,
                FrontendMessage::Terminate => Action::Terminate,
                _ => Action::Drop,
            };
        }
        if let FrontendMessage::Execute { portal, .. } = *msg
            && let Some((policy, controls)) = limits.portal_controls.remove(portal)
            && let Verdict::Deny(denial) = self.run_controls(&policy, &controls, None, None)
        {
            // A portal is counted once, at its first Execute; the next
            // Executes of a suspended portal continue the same statement.
            *batch = batch.failed();
            return Action::Deny(denial, Protocol::Extended);
        }
        let (verdict, protocol) = match *msg {
            FrontendMessage::Query { sql } => {
                let analysis = self.gateway.analyzer.analyze(&self.analysis(), sql).await;
                if let Ok(a) = analysis.as_ref()
                    && let Verdict::Deny(d) = self.revalidate_executes(a, state, limits).await
                {
                    return Action::Deny(d, Protocol::Simple);
                }
                let mut verdict = self.decide(&analysis, sql, state, None);
                if let (Verdict::Allow, Ok(a)) = (&verdict, analysis.as_ref())
                    && self.policy().has_approvals()
                {
                    verdict = match self.policy().approvals_needed(a) {
                        Ok(needs) => self.hold(&needs, sql, &[], &|_| None, Some(a)),
                        Err(d) => {
                            self.audit_denial(&d, Some(a), Some(sql));
                            self.enforce(Verdict::Deny(d))
                        }
                    };
                }
                if let (Verdict::Allow, Ok(a)) = (&verdict, analysis.as_ref())
                    && self.policy().has_runtime_controls()
                {
                    verdict = match self.policy().runtime_controls(a) {
                        Ok(mut controls) => {
                            // SQL EXECUTE of a statement prepared through
                            // Parse is held to that statement's controls.
                            for st in &a.statements {
                                for p in &st.prepared {
                                    if let PreparedRef::Execute(name) = p
                                        && let Some(c) = limits
                                            .prepared
                                            .get(name)
                                            .and_then(|p| p.controls.as_ref())
                                    {
                                        controls.extend(c);
                                    }
                                }
                            }
                            self.run_controls(&self.policy(), &controls, Some(a), Some(sql))
                        }
                        Err(d) => {
                            self.audit_denial(&d, Some(a), Some(sql));
                            self.enforce(Verdict::Deny(d))
                        }
                    };
                }
                if let (Verdict::Allow, Ok(a)) = (&verdict, analysis.as_ref()) {
                    state.executed(a);
                    limits.executed(a, sql, self.generation.load(Ordering::Relaxed));
                    let policy = self.policy();
                    let limit = match self.row_limits_on().then(|| policy.row_limit(a, true)) {
                        Some(Err(d)) => {
                            self.audit_denial(&d, Some(a), Some(sql));
                            verdict = Verdict::Deny(d);
                            None
                        }
                        Some(Ok(limit)) => limit,
                        None => None,
                    };
                    let cap = match (verdict.is_allow() && self.write_caps_on())
                        .then(|| policy.write_cap(a))
                    {
                        Some(Err(d)) => {
                            self.audit_denial(&d, Some(a), Some(sql));
                            verdict = Verdict::Deny(d);
                            None
                        }
                        Some(Ok(cap)) => cap,
                        None => None,
                    };
                    if let Some(l) = limit.as_ref().filter(|l| l.block)
                        && !(shared.idle()
                            && shared.status.load(Ordering::Acquire)
                                == TransactionStatus::Idle.byte())
                    {
                        let d = policy.row_limit_block_refusal(l);
                        self.audit_denial(&d, Some(a), Some(sql));
                        verdict = Verdict::Deny(d);
                    }
                    if verdict.is_allow() {
                        if cap.is_some() || limit.as_ref().is_some_and(|l| l.undo) {
                            return Action::GuardedQuery(Guard { cap, limit });
                        }
                        if self.row_limits_on() {
                            let seq = shared.sent.load(Ordering::Acquire) + 1;
                            let wait = limit.as_ref().is_some_and(|l| !l.truncate);
                            lock(&shared.expects).push_back(Expect {
                                seq,
                                portal: None,
                                limit,
                                cap: None,
                                guarded: false,
                            });
                            if wait {
                                return Action::ForwardSyncWait(seq);
                            }
                        }
                    }
                }
                (verdict, Protocol::Simple)
            }
            FrontendMessage::Parse {
                statement,
                sql,
                param_types,
            } => {
                if !statement.is_empty() && state.is_prepared(statement) {
                    // PostgreSQL refuses to replace a named statement and
                    // keeps the old one; recording the new one would hold
                    // the old one to the new one's checks.
                    let d = Denial {
                        sqlstate: "42P05",
                        reason: "statement_exists",
                        rule: "builtin.protocol".into(),
                        message: format!("prepared statement \"{statement}\" already exists"),
                        hint: Some(
                            "close it first (Close or DEALLOCATE), or use another name".into(),
                        ),
                    };
                    self.audit_statement("statement_blocked", Some(&d), None, sql);
                    *batch = batch.failed();
                    return Action::Deny(d, Protocol::Extended);
                }
                let verdict = self.evaluate_parse(statement, sql, state, limits).await;
                if verdict.is_allow() {
                    let declared = crate::protocol::frontend::param_type_oids(param_types);
                    lock(&shared.param_types).insert(statement.to_owned(), declared);
                }
                let protocol = if statement.is_empty() {
                    Protocol::UnnamedParse
                } else {
                    Protocol::Extended
                };
                (verdict, protocol)
            }
            FrontendMessage::Bind(ref b) => {
                if let Some(p) = limits.prepared.get(b.statement)
                    && p.via_parse
                    && p.generation != self.generation.load(Ordering::Relaxed)
                {
                    // Prepared under older rules: decided again under the
                    // rules in force before it may run.
                    let sql = p.sql.clone();
                    let verdict = self.evaluate_parse(b.statement, &sql, state, limits).await;
                    if let Verdict::Deny(denial) = verdict {
                        *batch = batch.failed();
                        return Action::Deny(denial, Protocol::Extended);
                    }
                }
                let prepared = limits.prepared.get(b.statement);
                let copy_in = prepared.is_some_and(|p| p.copy_in);
                let (sql, approvals, controls, limit, cap) = match prepared {
                    Some(p) => (
                        Some(p.sql.clone()),
                        p.approvals.clone(),
                        p.controls.clone(),
                        p.limit.clone(),
                        p.cap.clone(),
                    ),
                    None => (None, None, None, None, None),
                };
                let types = lock(&shared.param_types)
                    .get(b.statement)
                    .cloned()
                    .unwrap_or_default();
                let param = |n: usize| {
                    let i = n.checked_sub(1)?;
                    let value = b.params().nth(i)?;
                    let oid = types.get(i).copied().unwrap_or(0);
                    crate::protocol::values::param_text(value, b.param_format(i), oid)
                };
                let mut verdict = self.policy().evaluate_bind(b.statement, state, &param);
                if let Verdict::Deny(d) = &verdict {
                    self.audit_denial(d, None, None);
                } else if let (Some(needs), Some(sql)) = (approvals, sql) {
                    let params: Vec<(i16, Option<&[u8]>)> = b
                        .params()
                        .enumerate()
                        .map(|(i, v)| (b.param_format(i), v))
                        .collect();
                    verdict = self.hold(&needs, &sql, &params, &param, None);
                }
                limits.portal_controls.remove(b.portal);
                if verdict.is_allow() && copy_in {
                    limits.copy_in_portals.insert(b.portal.to_owned());
                } else {
                    limits.copy_in_portals.remove(b.portal);
                }
                if verdict.is_allow()
                    && let Some(controls) = controls
                {
                    // Charged at Execute under the rules of this Bind, even
                    // if a reload comes in between.
                    limits
                        .portal_controls
                        .insert(b.portal.to_owned(), (self.policy.load_full(), controls));
                }
                if verdict.is_allow() && (self.row_limits_on() || self.write_caps_on()) {
                    limits.portals.insert(b.portal.to_owned(), limit);
                    limits.portal_caps.insert(b.portal.to_owned(), cap);
                }
                (self.enforce(verdict), Protocol::Extended)
            }
            FrontendMessage::Describe {
                kind: Target::Statement,
                name,
            } => {
                let seq = shared.sent.load(Ordering::Acquire) + 1;
                lock(&shared.describes).push_back((seq, name.to_owned()));
                return Action::Forward;
            }
            FrontendMessage::Close {
                kind: Target::Statement,
                name,
            } => {
                state.closed(name);
                lock(&shared.param_types).remove(name);
                limits.prepared.remove(name);
                return Action::Forward;
            }
            FrontendMessage::Execute { portal, .. }
                if self.row_limits_on() || self.write_caps_on() =>
            {
                let limit = limits.portals.get(portal).cloned().flatten();
                // A capped Execute over its cap fails its batch, and with
                // it the implicit or explicit transaction it is part of,
                // exactly as a server error would: its effects never
                // commit.
                let cap = limits.portal_caps.get(portal).cloned().flatten();
                let seq = shared.sent.load(Ordering::Acquire) + 1;
                let wait = cap.is_some() || limit.as_ref().is_some_and(|l| !l.truncate);
                lock(&shared.expects).push_back(Expect {
                    seq,
                    portal: Some(portal.to_owned()),
                    limit,
                    cap,
                    guarded: false,
                });
                limits.executes += 1;
                return if wait {
                    Action::ForwardExecWait {
                        execute: limits.executes,
                        batch: seq,
                    }
                } else {
                    Action::Forward
                };
            }
            FrontendMessage::Close {
                kind: Target::Portal,
                name,
            } => {
                limits.portals.remove(name);
                limits.portal_caps.remove(name);
                limits.portal_controls.remove(name);
                return Action::Forward;
            }
            FrontendMessage::Sync => return Action::ForwardSync,
            FrontendMessage::Terminate => return Action::Terminate,
            FrontendMessage::FunctionCall => {
                let denial = Denial {
                    sqlstate: "42501",
                    message: "the fast-path FunctionCall message is not allowed through actgate"
                        .into(),
                    reason: "function_call_message",
                    rule: "builtin.protocol".into(),
                    hint: Some("call functions from SQL, e.g. SELECT f(...)".into()),
                };
                self.audit_denial(&denial, None, None);
                return Action::Deny(denial, Protocol::Simple);
            }
            _ => return Action::Forward,
        };
        match verdict {
            Verdict::Allow => match protocol {
                Protocol::Simple => Action::ForwardSync,
                Protocol::Extended | Protocol::UnnamedParse => Action::Forward,
            },
            Verdict::Deny(denial) => {
                info!(
                    reason = denial.reason,
                    message = msg.name(),
                    "statement denied"
                );
                if !matches!(protocol, Protocol::Simple) {
                    *batch = batch.failed();
                }
                Action::Deny(denial, protocol)
            }
        }
    }

    /// Decides a Parse (or re-decides a prepared statement after a rules
    /// reload) and records what its Binds and Executes are held to.
    async fn evaluate_parse(
        &self,
        statement: &str,
        sql: &str,
        state: &mut SessionState,
        limits: &mut RowLimits,
    ) -> Verdict {
        let analysis = self.gateway.analyzer.analyze(&self.analysis(), sql).await;
        let mut checks = Vec::new();
        let mut verdict = self.decide(&analysis, sql, state, Some(&mut checks));
        let mut approvals = None;
        let mut controls = None;
        if let (Verdict::Allow, Ok(a)) = (&verdict, analysis.as_ref())
            && self.policy().has_approvals()
        {
            match self.policy().approvals_needed(a) {
                Ok(needs) if needs.is_empty() => {}
                Ok(needs) => approvals = Some(Arc::from(needs)),
                Err(d) => {
                    self.audit_denial(&d, Some(a), Some(sql));
                    verdict = self.enforce(Verdict::Deny(d));
                }
            }
        }
        if let (Verdict::Allow, Ok(a)) = (&verdict, analysis.as_ref())
            && self.policy().has_runtime_controls()
        {
            match self.policy().runtime_controls(a) {
                Ok(c) if c.is_empty() => {}
                Ok(c) => controls = Some(c),
                Err(d) => {
                    self.audit_denial(&d, Some(a), Some(sql));
                    verdict = self.enforce(Verdict::Deny(d));
                }
            }
        }
        if !verdict.is_allow() {
            if statement.is_empty() {
                // Postgres drops the unnamed statement before parsing a
                // new one, so a later Bind of "" must fail, not reach
                // the previous statement.
                state.closed(statement);
                limits.prepared.remove(statement);
            }
            // A named statement that is refused (or, after a reload, no
            // longer allowed) keeps its record, so it is decided again at
            // its next Bind.
            return verdict;
        }
        let a = analysis.as_ref().as_ref().ok();
        let limit = a
            .filter(|_| self.row_limits_on())
            .and_then(|a| self.policy().row_limit(a, false).ok().flatten());
        let cap = a
            .filter(|_| self.write_caps_on())
            .and_then(|a| self.policy().write_cap(a).ok().flatten());
        let copy_in = a.is_some_and(|a| {
            a.statements.iter().any(|st| {
                st.copy.is_some_and(|c| {
                    c.direction == crate::policy::analyze::CopyDirection::From
                        && c.endpoint == crate::policy::analyze::CopyEndpoint::Client
                })
            })
        });
        state.parsed(statement, checks);
        let generation = self.generation.load(Ordering::Relaxed);
        match limits.prepared.get_mut(statement) {
            // Drivers re-Parse the unnamed statement with the same text on
            // every query: no new allocation then.
            Some(p) => {
                let sql = if *p.sql == *sql {
                    p.sql.clone()
                } else {
                    Arc::from(sql)
                };
                *p = Prepared {
                    generation,
                    sql,
                    via_parse: true,
                    copy_in,
                    limit,
                    cap,
                    controls,
                    approvals,
                };
            }
            None => {
                limits.prepared.insert(
                    statement.to_owned(),
                    Prepared {
                        generation,
                        sql: Arc::from(sql),
                        via_parse: true,
                        copy_in,
                        limit,
                        cap,
                        controls,
                        approvals,
                    },
                );
            }
        }
        verdict
    }

    /// SQL `EXECUTE` of a statement prepared under older rules: the
    /// statement is decided again under the rules in force first.
    async fn revalidate_executes(
        &self,
        analysis: &Analysis,
        state: &mut SessionState,
        limits: &mut RowLimits,
    ) -> Verdict {
        let current = self.generation.load(Ordering::Relaxed);
        for p in analysis.statements.iter().flat_map(|st| &st.prepared) {
            let PreparedRef::Execute(name) = p else {
                continue;
            };
            let Some(p) = limits.prepared.get(name) else {
                continue;
            };
            if p.generation == current {
                continue;
            }
            let (sql, via_parse) = (p.sql.clone(), p.via_parse);
            let verdict = if via_parse {
                self.evaluate_parse(name, &sql, state, limits).await
            } else {
                let prepared = self.gateway.analyzer.analyze(&self.analysis(), &sql).await;
                self.decide(&prepared, &sql, state, None)
            };
            match verdict {
                // (evaluate_parse records a Parse-prepared statement itself.)
                Verdict::Allow => {
                    if let Some(p) = limits.prepared.get_mut(name) {
                        p.generation = current;
                    }
                }
                // Kept as it was: decided again at its next use.
                Verdict::Deny(d) => return Verdict::Deny(d),
            }
        }
        Verdict::Allow
    }

    /// Evaluates an analysed statement and applies monitor mode. A denial
    /// is audited at once; an allowed statement is audited once the
    /// message is done ([`Relay::inspect`]), so that a later refusal (a
    /// budget, a time window, an approval hold) is its only event.
    fn decide(
        &self,
        analysis: &super::analysis::AnalysisResult,
        sql: &str,
        state: &SessionState,
        checks: Option<&mut Vec<crate::policy::ParamCheck>>,
    ) -> Verdict {
        // [audit] on_failure = "block": nothing runs that cannot be audited
        // (not a policy violation: no circuit-breaker count; not subject to
        // monitor mode).
        if let Some(d) = self.gateway.audit_refusal() {
            self.audit_statement(
                "statement_blocked",
                Some(&d),
                analysis.as_ref().as_ref().ok(),
                sql,
            );
            return Verdict::Deny(d);
        }
        if let Some(t) = &self.token
            && t.is_revoked(&self.gateway.revocations())
        {
            // The watcher ends the session; until then nothing runs.
            let d = Denial {
                sqlstate: "42501",
                reason: "token_revoked",
                rule: "token".into(),
                message: format!(
                    "actgate denied this statement: capability token {} was revoked",
                    t.claims.token_id
                ),
                hint: Some("ask the orchestrator for a new token".into()),
            };
            self.audit_denial(&d, analysis.as_ref().as_ref().ok(), Some(sql));
            return Verdict::Deny(d);
        }
        let started = std::time::Instant::now();
        let verdict = self.policy().decide_with(
            analysis,
            self.analysis().catalog.as_deref(),
            state,
            self.capability
                .as_deref()
                .map(|c| c as &dyn crate::policy::Capability),
            checks,
        );
        self.gateway.metrics.decision(started.elapsed());
        match &verdict {
            Verdict::Allow => {
                let keep = self.gateway.audit.enabled() || self.gateway.alerter.enabled();
                *lock(&self.allowed) = Some((
                    analysis.clone(),
                    if keep { sql.to_owned() } else { String::new() },
                ));
            }
            Verdict::Deny(d) => self.audit_denial(d, analysis.as_ref().as_ref().ok(), Some(sql)),
        }
        self.enforce(verdict)
    }

    /// Holds a message that is about to run to its time windows, then
    /// counts it against its budgets; a closed window or a used-up budget is
    /// audited and, in enforce mode, denies.
    fn run_controls(
        &self,
        policy: &Policy,
        controls: &RuntimeControls,
        analysis: Option<&Analysis>,
        sql: Option<&str>,
    ) -> Verdict {
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        let mut verdict = Verdict::Allow;
        if !controls.windows.is_empty() {
            let now = self.gateway.clock().now();
            verdict = policy.evaluate_windows(&controls.windows, now);
        }
        if verdict.is_allow() {
            verdict = self
                .gateway
                .charge_budgets(policy, subject, &controls.budgets);
        }
        if let Verdict::Deny(d) = &verdict {
            self.audit_denial(d, analysis, sql);
        }
        self.enforce(verdict)
    }

    /// Holds a statement under `[[approvals]]`: it runs if an operator
    /// approved exactly this statement (text and parameters, agent and end
    /// user); otherwise it is refused with the request's id. Nothing
    /// waits. `param` gives bound parameters as text for thresholds.
    fn hold(
        &self,
        needs: &[ApprovalNeed],
        sql: &str,
        params: &[(i16, Option<&[u8]>)],
        param: &dyn Fn(usize) -> Option<String>,
        analysis: Option<&Analysis>,
    ) -> Verdict {
        let Some(need) = needs.iter().find(|n| {
            self.policy()
                .approval_applies(n, n.param.and_then(param).as_deref())
        }) else {
            return Verdict::Allow;
        };
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        if self.policy().mode == Mode::Monitor {
            let d = self.policy().approval_denial(
                need.index,
                "(none: monitor mode)",
                ApprovalStatus::Requested,
                subject,
            );
            self.audit_statement("statement_blocked", Some(&d), analysis, sql);
            return Verdict::Allow;
        }
        let policy = self.policy();
        let rule = policy.approvals.get(need.index);
        let request = ApprovalRequest {
            key: ApprovalKey::new(self.agent, subject, sql, params),
            agent: self.agent.to_owned(),
            subject: subject.map(str::to_owned),
            rule: rule.map(|r| r.rule.clone()).unwrap_or_default(),
            sql: sql.to_owned(),
            params: (1..=params.len()).map(param).collect(),
            ttl: rule
                .map(|r| r.ttl)
                .unwrap_or(jiff::SignedDuration::from_secs(3600)),
        };
        let now = self.gateway.clock().now();
        let (status, approval) = match self.gateway.approvals.gate(request, now) {
            Gate::Approved(a) => {
                self.gateway.metrics.approval("used");
                info!(approval_id = %a.id, "approved statement released");
                self.audit_statement_with(
                    "approval_used",
                    None,
                    analysis,
                    sql,
                    Held {
                        approval_id: Some(a.id),
                        alert: None,
                    },
                );
                return Verdict::Allow;
            }
            Gate::Requested(a) => (ApprovalStatus::Requested, Some(a)),
            Gate::Pending(a) => (ApprovalStatus::Pending, Some(a)),
            Gate::Rejected(a) => (ApprovalStatus::Rejected, Some(a)),
            Gate::Full => (ApprovalStatus::Unavailable, None),
        };
        let id = approval.as_ref().map(|a| a.id.clone());
        let d = self.policy().approval_denial(
            need.index,
            id.as_deref().unwrap_or_default(),
            status,
            subject,
        );
        match status {
            ApprovalStatus::Requested => {
                self.gateway.metrics.approval("requested");
                info!(
                    approval_id = id.as_deref().unwrap_or_default(),
                    "statement held for approval"
                );
                self.audit_statement_with(
                    "approval_requested",
                    Some(&d),
                    analysis,
                    sql,
                    Held {
                        approval_id: id,
                        alert: Some("approval_requested"),
                    },
                );
            }
            ApprovalStatus::Pending => self.audit_statement_with(
                "statement_blocked",
                Some(&d),
                analysis,
                sql,
                Held {
                    approval_id: id,
                    alert: None,
                },
            ),
            // Retrying a rejected statement is a violation.
            ApprovalStatus::Rejected | ApprovalStatus::Unavailable => {
                self.audit_denial(&d, analysis, Some(sql))
            }
        }
        Verdict::Deny(d)
    }

    /// Write caps are enforced (never in monitor mode).
    fn write_caps_on(&self) -> bool {
        self.policy().mode == Mode::Enforce && self.policy().has_write_caps()
    }

    /// Row limits are enforced (never in monitor mode).
    fn row_limits_on(&self) -> bool {
        self.policy().mode == Mode::Enforce && self.policy().has_row_limits()
    }

    /// In monitor mode nothing is blocked (the denial was audited).
    fn enforce(&self, verdict: Verdict) -> Verdict {
        match self.policy().mode {
            Mode::Enforce => verdict,
            Mode::Monitor => Verdict::Allow,
        }
    }
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
