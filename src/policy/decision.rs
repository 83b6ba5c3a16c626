//! Where a statement is decided: one pure function per protocol moment.
//!
//! [`Policy::decide_query`], [`Policy::decide_parse`] and
//! [`Policy::decide_bind`] return a [`Decision`]: every refusal, in the
//! order the checks run, each at its [`Stage`]; the conditions a Parse
//! defers to each Bind; and the [`Obligations`] only the running session
//! can carry out (an approval hold, windows and budgets, a row limit or a
//! write cap). The proxy carries a decision out stage by stage
//! (`proxy::relay`), and `actgate test`, `explain`, `replay`, `suggest`
//! and the policy case tables read the same decision
//! ([`Decision::offline_verdict`]), so they cannot disagree with it.

use super::analyze::{Analysis, AnalysisError, PreparedRef};
use super::catalog::Catalog;
use super::{
    ApprovalNeed, ApprovalStatus, Capability, Denial, Mode, ParamCheck, ParamCheckKind, Policy,
    RowLimit, RuntimeControls, SessionState, Verdict, WriteCap, analysis_denial, refusals,
};

/// What the proxy knows, besides the SQL, when it decides a message.
#[derive(Clone, Copy)]
pub struct Situation<'a> {
    /// The live catalog of the session's database (`None` offline).
    pub catalog: Option<&'a Catalog>,
    pub session: &'a SessionState,
    pub capability: Option<&'a dyn Capability>,
    /// Why the audit log cannot record an event now, when
    /// `[audit] on_failure = "block"`.
    pub audit_unavailable: Option<&'a str>,
    /// The id of the session's capability token, if it was revoked.
    pub revoked_token: Option<&'a str>,
    /// No transaction open and nothing in flight: a row-limited message
    /// may open (and commit) a block of its own.
    pub idle: bool,
}

impl<'a> Situation<'a> {
    /// A session with nothing but its SQL state: offline tools.
    pub fn offline(
        catalog: Option<&'a Catalog>,
        session: &'a SessionState,
        capability: Option<&'a dyn Capability>,
    ) -> Situation<'a> {
        Situation {
            catalog,
            session,
            capability,
            audit_unavailable: None,
            revoked_token: None,
            idle: true,
        }
    }
}

/// Where in the order of checks a refusal was found. The proxy carries
/// out the approval hold after the [`Stage::Approval`] refusals and the
/// windows and budgets after the [`Stage::Controls`] ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// The message itself: a prepared statement name already in use.
    Message,
    /// The audit log cannot record the statement.
    Audit,
    /// The session (its token was revoked) or the protocol (a fast-path
    /// FunctionCall, an over-long message) forbids it.
    Session,
    /// The agent's rules and its token's claims.
    Rules,
    /// An approval rule a SQL `PREPARE` cannot be held to.
    Approval,
    /// A budget or time window a SQL `PREPARE` cannot be held to.
    Controls,
    /// A row limit or write cap the protocol cannot honour (enforce mode).
    Limits,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Message,
        Stage::Audit,
        Stage::Session,
        Stage::Rules,
        Stage::Approval,
        Stage::Controls,
        Stage::Limits,
    ];

    /// Refused in monitor mode too (monitor mode only audits the rest).
    pub fn binding(self) -> bool {
        !matches!(self, Stage::Rules | Stage::Approval | Stage::Controls)
    }

    /// Counts against the agent (risk score, circuit breaker).
    pub fn violation(self) -> bool {
        !matches!(self, Stage::Message | Stage::Audit)
    }
}

/// One refusal of a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub stage: Stage,
    pub denial: Denial,
}

/// What only the running session can carry out for an allowed message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Obligations {
    /// Approval rules the statement falls under (a Parse stores them for
    /// its Binds; a Bind lists those its bound values meet).
    pub approvals: Vec<ApprovalNeed>,
    /// Time windows and budgets, checked and charged when it runs.
    pub controls: RuntimeControls,
    pub row_limit: Option<RowLimit>,
    pub write_cap: Option<WriteCap>,
}

/// The decision about one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// In the order found. In enforce mode the first one ends the
    /// decision; in monitor mode only a binding one does.
    pub refusals: Vec<Refusal>,
    /// The statement passed the agent's rules: it is audited as allowed
    /// unless something else was recorded for it.
    pub passed_rules: bool,
    /// Conditions on parameters that each Bind must meet (Parse).
    pub param_checks: Vec<ParamCheck>,
    pub obligations: Obligations,
}

impl Decision {
    /// A decision that is one refusal.
    pub fn refused(stage: Stage, denial: Denial) -> Decision {
        Decision {
            refusals: vec![Refusal { stage, denial }],
            ..Decision::default()
        }
    }

    /// Records a refusal; whether deciding goes on under `mode`.
    fn refuse(&mut self, stage: Stage, denial: Denial, mode: Mode) -> bool {
        self.refusals.push(Refusal { stage, denial });
        mode == Mode::Monitor && !stage.binding()
    }

    /// The refusals found at `stage`.
    pub fn at(&self, stage: Stage) -> impl Iterator<Item = &Refusal> {
        self.refusals.iter().filter(move |r| r.stage == stage)
    }

    /// The verdict where nothing that runs can be consulted (`actgate
    /// test`, `explain`, `replay`): the first refusal in the order the
    /// proxy checks, whatever the mode; in enforce mode an approval hold
    /// at its place refuses (no operator approves here); windows and
    /// budgets pass.
    /// `approval_id` names the request in that refusal; `None` lets a
    /// statement that needs approval pass (as if approved: `replay`).
    pub fn offline_verdict(&self, policy: &Policy, approval_id: Option<&str>) -> Verdict {
        for stage in Stage::ALL {
            if let Some(r) = self.at(stage).next() {
                return Verdict::Deny(r.denial.clone());
            }
            if stage == Stage::Approval
                && policy.mode == Mode::Enforce
                && let Some(approval_id) = approval_id
                && let Some(need) = self.obligations.approvals.first()
            {
                return Verdict::Deny(policy.approval_denial(
                    need.index,
                    approval_id,
                    ApprovalStatus::Requested,
                    None,
                ));
            }
        }
        Verdict::Allow
    }
}

/// Whether a decision about `analysis` reads nothing of the session's
/// state: no statement of it names a prepared statement (`PREPARE`,
/// `EXECUTE`, `DEALLOCATE`, whose checks ask which names the session
/// holds) or changes a setting (whose check asks the value the session
/// started with). Its [`Policy::decide_query`] is then a function of the
/// policy, the analysis, the catalog, the capability and the
/// [`Situation`]'s flags, and its [`Policy::decide_prepared`] of all of
/// those but `idle`: a session may reuse either for the same analysis
/// under the same rules, while the audit log can record, if it has no
/// capability token (whose own checks read the clock).
/// (`tests/common/policy.rs` decides every policy case that says so in
/// two different sessions and requires the same decision.)
pub fn reads_no_session_state(analysis: &Analysis) -> bool {
    analysis
        .statements
        .iter()
        .all(|st| st.prepared.is_empty() && st.settings.is_empty())
}

impl Policy {
    /// Whether deciding `analysis` reads the literal values of its
    /// statements: the values a WHERE pins, an UPDATE sets and an INSERT
    /// writes, which are all an analysis holds of its literals (its
    /// occurrences; its [`Facts`](super::analyze::Facts) hold nothing that
    /// depends on them). Only a scope or a value limit on a table it uses
    /// and an approval rule on one read them. When none does, every
    /// analysis of the same shape (the same statement but for its
    /// literals, filled from one template) is decided the same way as
    /// this one: a session may reuse the decision for all of them.
    /// (`tests/common/policy.rs` decides every policy case that says so
    /// with other literals and requires the same decision.)
    pub fn reads_values(&self, analysis: &Analysis) -> bool {
        analysis
            .statements
            .iter()
            .flat_map(|st| &st.occurrences)
            .any(|o| {
                self.tables
                    .get(&*o.relation)
                    .is_some_and(|r| !r.scope.is_empty() || !r.limits.is_empty())
                    || self.approvals.iter().any(|a| a.table == *o.relation)
            })
    }
}

impl Policy {
    /// The verdict about `analysis` sent as a simple Query in `session`
    /// with nothing at runtime to consult: [`Policy::decide_query`] read
    /// by [`Decision::offline_verdict`], a statement that needs approval
    /// passing as if approved. For tests and benchmarks.
    pub fn decide(
        &self,
        analysis: &Result<Analysis, AnalysisError>,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
    ) -> Verdict {
        let situation = Situation::offline(catalog, session, capability);
        self.decide_query(analysis, &situation)
            .offline_verdict(self, None)
    }

    /// Decides a simple Query: every statement of the message, then what
    /// the simple protocol needs to hold it to its approvals, controls,
    /// row limit and write cap.
    pub fn decide_query(
        &self,
        analysis: &Result<Analysis, AnalysisError>,
        s: &Situation<'_>,
    ) -> Decision {
        let mut d = Decision::default();
        let Some(a) = self.decide_rules(analysis, s, None, &mut d) else {
            return d;
        };
        if !self.decide_held(a, &mut d) {
            return d;
        }
        self.decide_limits(a, s, &mut d);
        d
    }

    /// Decides a Parse of `statement`: its conditions on parameters go to
    /// [`Decision::param_checks`], its approvals, controls, row limit and
    /// write cap to the obligations its Binds and Executes are held to.
    pub fn decide_parse(
        &self,
        statement: &str,
        analysis: &Result<Analysis, AnalysisError>,
        s: &Situation<'_>,
    ) -> Decision {
        if !statement.is_empty() && s.session.is_prepared(statement) {
            // PostgreSQL refuses to replace a named statement and keeps
            // the old one; recording the new one would hold the old one
            // to the new one's checks.
            return Decision::refused(Stage::Message, refusals::statement_exists(statement));
        }
        self.decide_prepared(analysis, s)
    }

    /// Decides a prepared statement (again, after a rules reload) as its
    /// Parse would be decided, its name aside.
    pub fn decide_prepared(
        &self,
        analysis: &Result<Analysis, AnalysisError>,
        s: &Situation<'_>,
    ) -> Decision {
        let mut d = Decision::default();
        let mut checks = Vec::new();
        let Some(a) = self.decide_rules(analysis, s, Some(&mut checks), &mut d) else {
            return d;
        };
        d.param_checks = checks;
        if !self.decide_held(a, &mut d) {
            return d;
        }
        // Over the extended protocol a limit is always honoured: a Parse
        // is one statement, so neither can be refused here.
        if self.enforces_row_limits() {
            d.obligations.row_limit = self.row_limit(a, false).ok().flatten();
        }
        if self.enforces_write_caps() {
            d.obligations.write_cap = self.write_cap(a).ok().flatten();
        }
        d
    }

    /// Decides a Bind: the statement must be one this session prepared,
    /// and its parameters must meet the conditions found at Parse.
    /// `param` gives parameter `n` (1-based) as text, if it can be told;
    /// `approvals` are those stored at Parse, of which the decision keeps
    /// the ones the bound values meet.
    pub fn decide_bind(
        &self,
        statement: &str,
        session: &SessionState,
        param: &dyn Fn(usize) -> Option<String>,
        approvals: &[ApprovalNeed],
    ) -> Decision {
        let mut d = Decision::default();
        if let Err(denial) = self.bind_checks(statement, session, param) {
            d.refuse(Stage::Rules, denial, self.mode);
            return d;
        }
        d.obligations.approvals = approvals
            .iter()
            .filter(|n| self.approval_applies(n, n.param.and_then(param).as_deref()))
            .copied()
            .collect();
        d
    }

    /// The audit log and the session's token, then the agent's rules.
    /// `Some` with the analysis when deciding goes on.
    fn decide_rules<'a>(
        &self,
        analysis: &'a Result<Analysis, AnalysisError>,
        s: &Situation<'_>,
        checks: Option<&mut Vec<ParamCheck>>,
        d: &mut Decision,
    ) -> Option<&'a Analysis> {
        if let Some(why) = s.audit_unavailable {
            d.refuse(Stage::Audit, refusals::audit_unavailable(why), self.mode);
            return None;
        }
        if let Some(token_id) = s.revoked_token {
            // The watcher ends the session; until then nothing runs.
            d.refuse(Stage::Session, refusals::token_revoked(token_id), self.mode);
            return None;
        }
        let a = match analysis {
            Ok(a) => a,
            Err(e) => {
                d.refuse(Stage::Rules, analysis_denial(e), self.mode);
                return None;
            }
        };
        match self.evaluate_with(a, s.catalog, s.session, s.capability, checks) {
            Verdict::Allow => d.passed_rules = true,
            Verdict::Deny(denial) => {
                if !d.refuse(Stage::Rules, denial, self.mode) {
                    return None;
                }
            }
        }
        Some(a)
    }

    /// Approvals and runtime controls: what they hold the statement to,
    /// or the refusal of a SQL `PREPARE` they cannot hold. Whether
    /// deciding goes on.
    fn decide_held(&self, a: &Analysis, d: &mut Decision) -> bool {
        if self.has_approvals() {
            match self.approvals_needed(a) {
                Ok(needs) => d.obligations.approvals = needs,
                Err(denial) => {
                    if !d.refuse(Stage::Approval, denial, self.mode) {
                        return false;
                    }
                }
            }
        }
        if self.has_runtime_controls() {
            match self.runtime_controls(a) {
                Ok(controls) => d.obligations.controls = controls,
                Err(denial) => {
                    if !d.refuse(Stage::Controls, denial, self.mode) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// The row limit and write cap of a simple Query, or why the simple
    /// protocol cannot honour them (enforce mode).
    fn decide_limits(&self, a: &Analysis, s: &Situation<'_>, d: &mut Decision) {
        if self.enforces_row_limits() {
            match self.row_limit(a, true) {
                Ok(limit) => d.obligations.row_limit = limit,
                Err(denial) => {
                    d.refuse(Stage::Limits, denial, self.mode);
                    return;
                }
            }
        }
        if self.enforces_write_caps() {
            match self.write_cap(a) {
                Ok(cap) => d.obligations.write_cap = cap,
                Err(denial) => {
                    d.refuse(Stage::Limits, denial, self.mode);
                    return;
                }
            }
        }
        if let Some(l) = d.obligations.row_limit.as_ref().filter(|l| l.block)
            && !s.idle
        {
            let denial = self.row_limit_block_refusal(l);
            d.refuse(Stage::Limits, denial, self.mode);
        }
    }

    /// Every statement of a message against the rules; for a Parse,
    /// conditions on parameters are collected into `checks` (to run at
    /// each Bind) instead of denying.
    fn evaluate_with(
        &self,
        analysis: &Analysis,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
        mut checks: Option<&mut Vec<ParamCheck>>,
    ) -> Verdict {
        // Statements of one message see each other's PREPARE/DEALLOCATE.
        let mut local: Option<SessionState> = None;
        for st in &analysis.statements {
            let state = local.as_ref().unwrap_or(session);
            // The $n of a PREPARE are its EXECUTE's arguments, not the
            // message's Bind parameters: no Bind-time checks for them.
            let prepares = st
                .prepared
                .iter()
                .any(|p| matches!(p, PreparedRef::Prepare(_)));
            let mut no_checks = None;
            let sink = if prepares {
                &mut no_checks
            } else {
                &mut checks
            };
            if let Err(d) = self
                .statement(st, catalog, state)
                .and_then(|()| self.setting_params(st, sink))
                .and_then(|()| self.scoping(st, capability, sink))
                .and_then(|()| self.token(st, capability))
                .and_then(|()| self.deferred_controls(st))
            {
                return Verdict::Deny(d);
            }
            if !st.prepared.is_empty() {
                local
                    .get_or_insert_with(|| session.clone())
                    .executed_statement(st);
            }
        }
        Verdict::Allow
    }

    /// The conditions a Bind must meet.
    fn bind_checks(
        &self,
        statement: &str,
        session: &SessionState,
        param: &dyn Fn(usize) -> Option<String>,
    ) -> Result<(), Denial> {
        if !session.is_prepared(statement) {
            return Err(refusals::unknown_prepared_statement(statement));
        }
        for check in session.checks(statement) {
            let value = param(check.param);
            match &check.kind {
                ParamCheckKind::Setting(action) => {
                    self.bound_setting(check.param, *action, value.as_deref())?
                }
                _ => check.check(value.as_deref())?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
