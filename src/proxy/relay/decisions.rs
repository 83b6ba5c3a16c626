//! Carrying out the policy's decision about each client message, one
//! phase per protocol moment: [`Relay::on_query`] (in query.rs), [`Relay::on_parse`],
//! [`Relay::on_bind`], [`Relay::on_execute`], [`Relay::on_close`].
//!
//! The decision itself is the policy's ([`crate::policy::decision`]):
//! every refusal is worded there. Here it is carried out stage by stage
//! ([`Relay::carry_out_decision`]): each refusal is audited and, unless monitor
//! mode lets it pass, answered; the approval hold and the windows and
//! budgets run at their stages; what the statement is held to later
//! (Bind checks, approvals, controls, row limit, write cap, COPY) is
//! recorded against its prepared statement and portal.

use super::ask::Moment;
use super::carry::{Hold, Run};
use super::{Action, Expect, Protocol, Relay, Shared};
use crate::policy::analyze::{Analysis, CopyDirection, CopyEndpoint};
use crate::policy::{
    ApprovalNeed, Decision, Denial, Origin, Portal, PreparedStatement, SessionState, Verdict,
    refusals,
};
use crate::protocol::frontend::{Bind, FrontendMessage, Target};
use crate::protocol::pipeline::Batch;
use crate::proxy::analysis::AnalysisContext;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tracing::info;

impl Relay<'_> {
    /// Decides one well-framed client message and says what to do with it.
    pub(super) async fn inspect(
        &self,
        msg: &FrontendMessage<'_>,
        state: &mut SessionState,
        shared: &Shared,
        executes: &mut u64,
        batch: &mut Batch,
    ) -> Action {
        if let Err(denial) = self.refresh() {
            return self.removed_agent(msg, denial, batch);
        }
        if batch.is_skipping() {
            return match msg {
                FrontendMessage::Sync => Action::ForwardSync,
                FrontendMessage::Terminate => Action::Terminate,
                _ => Action::Drop,
            };
        }
        let (verdict, protocol) = match *msg {
            FrontendMessage::Query { sql } => match self.on_query(sql, state, shared).await {
                Ok(action) => return action,
                Err(verdict) => (verdict, Protocol::Simple),
            },
            FrontendMessage::Parse {
                statement,
                sql,
                param_types,
            } => {
                let declared = crate::protocol::frontend::param_type_oids(param_types);
                let verdict = self.on_parse(statement, sql, declared, state).await;
                let protocol = if statement.is_empty() {
                    Protocol::UnnamedParse
                } else {
                    Protocol::Extended
                };
                (verdict, protocol)
            }
            FrontendMessage::Bind(ref b) => (self.on_bind(b, state).await, Protocol::Extended),
            FrontendMessage::Execute { portal, .. } => {
                return self
                    .on_execute(portal, state, shared, executes, batch)
                    .await;
            }
            FrontendMessage::Describe {
                kind: Target::Statement,
                name,
            } => {
                let seq = shared.current_batch();
                shared.describes.lock().push_back((seq, name.to_owned()));
                return Action::Forward;
            }
            FrontendMessage::Close { kind, name } => {
                on_close(kind, name, state);
                return Action::Forward;
            }
            FrontendMessage::Sync => return Action::ForwardSync,
            FrontendMessage::Terminate => return Action::Terminate,
            FrontendMessage::FunctionCall => {
                let decision = refusals::decide_function_call();
                let run = Run::of(None, "");
                (
                    self.carry_out_decision(&decision, run).await.verdict,
                    Protocol::Simple,
                )
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
                Action::Deny(Box::new(denial), protocol)
            }
        }
    }

    /// A reload removed the agent: every statement is refused until the
    /// session ends (the watcher ends it).
    fn removed_agent(
        &self,
        msg: &FrontendMessage<'_>,
        denial: Denial,
        batch: &mut Batch,
    ) -> Action {
        match msg {
            FrontendMessage::Sync => Action::ForwardSync,
            FrontendMessage::Terminate => Action::Terminate,
            FrontendMessage::Query { .. } | FrontendMessage::FunctionCall => {
                self.audit_denial(&denial, None, None);
                Action::Deny(Box::new(denial), Protocol::Simple)
            }
            FrontendMessage::Parse { .. }
            | FrontendMessage::Bind(_)
            | FrontendMessage::Execute { .. }
                if !batch.is_skipping() =>
            {
                self.audit_denial(&denial, None, None);
                *batch = batch.failed();
                Action::Deny(Box::new(denial), Protocol::Extended)
            }
            _ if batch.is_skipping() => Action::Drop,
            _ => Action::Forward,
        }
    }

    /// Moves the session to the newest rules generation before it decides
    /// its next message. `Err` when a reload removed the agent or its
    /// access to this database (the session is then ended).
    fn refresh(&self) -> Result<(), Denial> {
        if self.gateway.generation_number() == self.generation.load(Ordering::Relaxed) {
            return Ok(());
        }
        // Deferred events are of the rules they were decided under.
        self.record_deferred();
        let generation = self.gateway.generation();
        match generation.rules.agent(self.agent) {
            Some(agent) if agent.may_use_database(self.database) => {
                self.policy.store(agent.policy.clone());
                let shared = self.gateway.analysis_context_in(&generation, self.database);
                self.analysis.store(AnalysisContext::for_session(&shared));
                self.generation.store(generation.number, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(refusals::agent_removed(self.agent, self.database)),
        }
    }

    /// A Parse: decided, and on success recorded with what its Binds and
    /// Executes are held to.
    async fn on_parse(
        &self,
        statement: &str,
        sql: &str,
        declared: Vec<u32>,
        state: &mut SessionState,
    ) -> Verdict {
        let context = self.analysis();
        let (analysis, source) = self.gateway.analyzer.analyze_sourced(&context, sql).await;
        // A name the session holds is refused whatever the statement.
        let decision = if statement.is_empty() || !state.is_prepared(statement) {
            let analysed = (&analysis, &source);
            // (Out of its `Arc` without a copy unless the session keeps it:
            // the record takes the decision.)
            Arc::unwrap_or_clone(self.decide_reusing(
                &context,
                state,
                Moment::Parse,
                analysed,
                |p, s| p.decide_prepared(&analysis, s),
            ))
        } else {
            self.decide_in(&context, state, false, |p, s| {
                p.decide_parse(statement, &analysis, s)
            })
        };
        let a = analysis.as_ref().as_ref().ok();
        let carried = self.carry_out_decision(&decision, Run::of(a, sql)).await;
        if decision.passed_rules && !carried.recorded {
            self.audit_allowed(&analysis, sql);
        }
        let parse = Parsed {
            statement,
            sql,
            declared: Some(declared),
        };
        record_parse(self, parse, a, decision, carried.verdict, state)
    }

    /// Decides a prepared statement again under the rules in force (after
    /// a reload) and records it anew. `Ok` with whether it is to be
    /// audited as allowed once the message is done.
    pub(super) async fn redecide_parse(
        &self,
        statement: &str,
        sql: &str,
        state: &mut SessionState,
    ) -> Result<Option<crate::proxy::analysis::AnalysisResult>, Denial> {
        let context = self.analysis();
        let analysis = self.gateway.analyzer.analyze(&context, sql).await;
        let decision = self.decide_in(&context, state, false, |p, s| {
            p.decide_prepared(&analysis, s)
        });
        let a = analysis.as_ref().as_ref().ok();
        let carried = self.carry_out_decision(&decision, Run::of(a, sql)).await;
        let allowed = (decision.passed_rules && !carried.recorded).then(|| analysis.clone());
        let parse = Parsed {
            statement,
            sql,
            declared: None,
        };
        match record_parse(self, parse, a, decision, carried.verdict, state) {
            Verdict::Allow => Ok(allowed),
            Verdict::Deny(d) => Err(d),
        }
    }

    /// A Bind: its statement decided again if it was prepared under older
    /// rules, its parameters checked, its approval hold carried out, and
    /// the portal recorded with what its Execute is held to.
    async fn on_bind(&self, b: &Bind<'_>, state: &mut SessionState) -> Verdict {
        let mut allowed_again = None;
        if let Some(p) = state.statement(b.statement)
            && p.origin == Origin::Parse
            && p.generation != self.generation.load(Ordering::Relaxed)
        {
            // Prepared under older rules: decided again under the rules in
            // force before it may run.
            let sql = p.sql.clone();
            match self.redecide_parse(b.statement, &sql, state).await {
                Ok(allowed) => allowed_again = allowed.map(|a| (a, sql)),
                Err(denial) => return Verdict::Deny(denial),
            }
        }
        let prepared = state.statement(b.statement);
        let types = prepared
            .map(|p| p.param_types.as_slice())
            .unwrap_or_default();
        let param = |n: usize| {
            let i = n.checked_sub(1)?;
            let value = b.params().nth(i)?;
            let oid = types.get(i).copied().unwrap_or(0);
            crate::protocol::values::param_text(value, b.param_format(i), oid)
        };
        let stored: &[ApprovalNeed] = prepared
            .and_then(|p| p.approvals.as_deref())
            .unwrap_or_default();
        let decision = self
            .policy()
            .decide_bind(b.statement, state, &param, stored);
        // The bound values, for an approval request (only when held).
        let params: Vec<(i16, Option<&[u8]>)> = if decision.obligations.approvals.is_empty() {
            Vec::new()
        } else {
            b.params()
                .enumerate()
                .map(|(i, v)| (b.param_format(i), v))
                .collect()
        };
        let run = Run {
            analysis: None,
            sql: "",
            hold: decision.obligations.approvals.first().map(|&need| Hold {
                need,
                sql: prepared.map(|p| &*p.sql).unwrap_or_default(),
                params: &params,
                param: &param,
            }),
            controls: None,
        };
        let carried = self.carry_out_decision(&decision, run).await;
        // (in monitor mode a refused Bind passes but is held to nothing)
        let portal = prepared
            .filter(|_| !carried.refused)
            .map(|p| self.portal(p));
        if let Some((analysis, sql)) = allowed_again
            && !carried.recorded
        {
            self.audit_allowed(&analysis, &sql);
        }
        match portal {
            Some(p) => state.bind(b.portal, p),
            None => state.portal_closed(b.portal),
        }
        carried.verdict
    }

    /// An Execute: the portal's windows and budgets are charged at its
    /// first Execute; under row limits or write caps its result is
    /// counted.
    async fn on_execute(
        &self,
        portal: &str,
        state: &mut SessionState,
        shared: &Shared,
        executes: &mut u64,
        batch: &mut Batch,
    ) -> Action {
        let record = state.portal_mut(portal);
        if let Some((policy, controls)) = record.and_then(|p| p.controls.take())
            && let (Verdict::Deny(denial), _) =
                self.run_controls(&policy, &controls, None, None).await
        {
            // A portal is counted once, at its first Execute; the next
            // Executes of a suspended portal continue the same statement.
            *batch = batch.failed();
            return Action::Deny(Box::new(denial), Protocol::Extended);
        }
        if !(self.row_limits_on() || self.write_caps_on()) {
            return Action::Forward;
        }
        let record = state.portal(portal);
        let limit = record.and_then(|p| p.limit.clone());
        // A capped Execute over its cap fails its batch, and with it the
        // implicit or explicit transaction it is part of, exactly as a
        // server error would: its effects never commit.
        let cap = record.and_then(|p| p.cap.clone());
        let seq = shared.current_batch();
        let wait = cap.is_some() || limit.as_ref().is_some_and(|l| !l.truncate);
        shared.expects.lock().push_back(Expect {
            seq,
            portal: Some(portal.to_owned()),
            limit,
            cap,
            guarded: false,
        });
        *executes += 1;
        if wait {
            Action::ForwardExecWait {
                execute: *executes,
                batch: seq,
            }
        } else {
            Action::Forward
        }
    }

    /// What a portal bound to `prepared` is held to at its Execute.
    fn portal(&self, prepared: &PreparedStatement) -> Portal {
        let limited = self.row_limits_on() || self.write_caps_on();
        Portal {
            limit: prepared.limit.clone().filter(|_| limited),
            cap: prepared.cap.clone().filter(|_| limited),
            // Charged at Execute under the rules of this Bind, even if a
            // reload comes in between.
            controls: prepared
                .controls
                .clone()
                .map(|c| (self.policy.load_full(), c)),
            copy_in: prepared.copy_in,
        }
    }
}

/// A Parse being recorded: its name, its text and the parameter types it
/// declared (`None` when a statement is decided again: it keeps them).
struct Parsed<'a> {
    statement: &'a str,
    sql: &'a str,
    declared: Option<Vec<u32>>,
}

/// Records the outcome of a Parse's decision in the session.
fn record_parse(
    relay: &Relay<'_>,
    parse: Parsed<'_>,
    analysis: Option<&Analysis>,
    decision: Decision,
    verdict: Verdict,
    state: &mut SessionState,
) -> Verdict {
    let Parsed {
        statement,
        sql,
        declared,
    } = parse;
    if !verdict.is_allow() {
        if statement.is_empty() {
            // Postgres drops the unnamed statement before parsing a new
            // one, so a later Bind of "" must fail, not reach the previous
            // statement.
            state.closed(statement);
        }
        // A named statement that is refused (or, after a reload, no longer
        // allowed) keeps its record, so it is decided again at its next
        // Bind.
        return verdict;
    }
    let copy_in = analysis.is_some_and(|a| {
        a.statements.iter().any(|st| {
            st.copy.is_some_and(|c| {
                c.direction == CopyDirection::From && c.endpoint == CopyEndpoint::Client
            })
        })
    });
    let previous = state.statement(statement);
    // Drivers re-Parse the unnamed statement with the same text on every
    // query: no new allocation then.
    let sql = match previous {
        Some(p) if *p.sql == *sql => p.sql.clone(),
        _ => Arc::from(sql),
    };
    let param_types = match declared {
        Some(declared) => declared,
        None => previous.map(|p| p.param_types.clone()).unwrap_or_default(),
    };
    let o = decision.obligations;
    let record = PreparedStatement {
        origin: Origin::Parse,
        checks: decision.param_checks,
        generation: relay.generation.load(Ordering::Relaxed),
        sql,
        copy_in,
        limit: o.row_limit,
        cap: o.write_cap,
        controls: (!o.controls.is_empty()).then_some(o.controls),
        approvals: (!o.approvals.is_empty()).then(|| Arc::from(o.approvals)),
        param_types,
    };
    state.prepare(statement, record);
    verdict
}

/// A Close of a statement or portal: forgotten at once (a Close that
/// fails is journalled and undone).
fn on_close(kind: Target, name: &str, state: &mut SessionState) {
    match kind {
        Target::Statement => state.closed(name),
        Target::Portal => state.portal_closed(name),
    }
}
