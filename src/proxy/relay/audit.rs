//! Auditing statement events: every denial and allowed statement of the
//! session, with its risk score, and the alert it raises.
//!
//! An allowed statement's event is recorded after the statement is
//! written upstream ([`Relay::audit_allowed`], [`Relay::record_deferred`]):
//! serialising it is as much of actgate's work on a statement as the
//! analysis and the decision together, and the statement need not wait
//! for it (unless `on_failure = "block"` makes it a condition of the
//! next). Every other event is recorded at once, after the deferred ones,
//! so the log keeps the session's order.

use super::shared::lock;
use super::{Held, Relay};
use crate::audit::{AuditEvent, Claims, SessionLine, StatementLine};
use crate::config::AuditOnFailure;
use crate::policy::analyze::{Analysis, FactsKey};
use crate::policy::{Denial, Mode, Policy};
use crate::proxy::analysis::AnalysisResult;
use std::ops::Range;
use std::sync::atomic::Ordering;

/// Allowed statements decided and not yet audited: their analyses, and
/// their SQL as ranges of one buffer (kept between batches, so that
/// deferring allocates nothing once warm).
#[derive(Default)]
pub struct Deferred {
    sql: String,
    allowed: Vec<(AnalysisResult, Range<usize>)>,
}

/// Bytes of SQL the deferred buffer keeps between batches.
const DEFERRED_KEPT_BYTES: usize = 64 * 1024;

impl Relay<'_> {
    /// Every denial passes here: it is counted for the risk score and the
    /// circuit breaker, and audited.
    pub(super) fn audit_denial(
        &self,
        denial: &Denial,
        analysis: Option<&Analysis>,
        sql: Option<&str>,
    ) {
        self.violations.fetch_add(1, Ordering::Relaxed);
        // What the breaker records comes after the statements before.
        self.record_deferred();
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

    /// An allowed statement's event, recorded by the next
    /// [`Relay::record_deferred`] (after the flush of the batch it is
    /// in, or before any other event).
    ///
    /// Under `[audit] on_failure = "block"` it is recorded at once: a
    /// statement may then run only if its event found room in the queue,
    /// and the next statement's check must see it there.
    pub(super) fn audit_allowed(&self, analysis: &AnalysisResult, sql: &str) {
        if self.gateway.audit.on_failure() == AuditOnFailure::Block {
            let a = analysis.as_ref().as_ref().ok();
            return self.audit_statement("statement_allowed", None, a, sql);
        }
        let mut deferred = self.deferred();
        let start = deferred.sql.len();
        deferred.sql.push_str(sql);
        let end = deferred.sql.len();
        deferred.allowed.push((analysis.clone(), start..end));
    }

    /// Records the deferred events, in the order they were decided. They
    /// are taken out of the lock first, so that recording them is
    /// [`Relay::audit_statement_with`] like any other event, and their
    /// buffers are put back for the next batch (nothing is deferred while
    /// they are recorded).
    pub(super) fn record_deferred(&self) {
        let mut pending = {
            let mut deferred = self.deferred();
            if deferred.allowed.is_empty() {
                return;
            }
            std::mem::take(&mut *deferred)
        };
        for (analysis, range) in pending.allowed.drain(..) {
            let a = analysis.as_ref().as_ref().ok();
            let sql = &pending.sql[range];
            self.audit_statement_with("statement_allowed", None, a, sql, Held::default());
        }
        pending.sql.clear();
        if pending.sql.capacity() > DEFERRED_KEPT_BYTES {
            pending.sql = String::new();
        }
        let mut deferred = self.deferred();
        if deferred.allowed.is_empty() {
            *deferred = pending;
        }
    }

    fn deferred(&self) -> std::sync::MutexGuard<'_, Deferred> {
        self.deferred.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn audit_statement(
        &self,
        event: &'static str,
        denial: Option<&Denial>,
        analysis: Option<&Analysis>,
        sql: &str,
    ) {
        self.audit_statement_with(event, denial, analysis, sql, Held::default());
    }

    /// Audits one statement event, after the deferred ones, and raises its
    /// alert: always for `held` alerts, otherwise when its risk score
    /// reaches `[alerts] min_risk`.
    pub(super) fn audit_statement_with(
        &self,
        event: &'static str,
        denial: Option<&Denial>,
        analysis: Option<&Analysis>,
        sql: &str,
        held: Held,
    ) {
        self.record_deferred();
        self.counts.count(denial.map(|d| d.reason));
        let audit = &self.gateway.audit;
        let alerter = &self.gateway.alerter;
        if !audit.enabled() && !alerter.enabled() {
            return;
        }
        let policy = self.policy();
        // An allowed statement with an analysis says what the last one of
        // its facts said under the same rules (see StatementMemo); any
        // other event renders its own.
        let allowed = match (denial, analysis) {
            (None, Some(a)) => Some(a),
            _ => None,
        };
        let generation = self.generation.load(Ordering::Relaxed);
        let mut memo = lock(&self.statement_memo);
        let same = allowed.is_some_and(|a| {
            memo.as_ref()
                .is_some_and(|m| m.generation == generation && m.key.matches(a))
        });
        let (risk, risk_score) = match memo.as_ref() {
            Some(m) if same => (m.risk.clone(), m.risk_score),
            _ => self.risk(&policy, denial, analysis),
        };
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
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
                subject: subject.map(str::to_owned),
                session_id: Some(self.session_id),
                risk_score: Some(risk_score),
                risk: risk.clone(),
                reason: denial.map(|d| d.reason),
                rule: denial.map(|d| d.rule.clone()),
                sql: (!sql.is_empty()).then(|| sql_text.to_owned()),
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
        let token = self.token.as_ref().map(|t| &t.claims);
        let mut event = AuditEvent {
            event,
            agent: Some(self.agent.into()),
            session_id: Some(self.session_id),
            client_addr: Some(self.client_addr.as_str().into()),
            database: Some(self.database.into()),
            statement_class: analysis.and_then(|a| a.primary_class()).map(|c| c.name()),
            tables: analysis.map(|a| a.tables()).unwrap_or_default(),
            reason: denial.map(|d| d.reason),
            rule: denial.map(|d| d.rule.as_str().into()),
            mode: Some(policy.mode.name()),
            risk,
            risk_score: Some(risk_score),
            fingerprint: analysis.map(|a| (*a.fingerprint).into()),
            sql: (!sql.is_empty()).then_some(sql_text.into()),
            sql_truncated: (!sql.is_empty()).then_some(truncated),
            message: denial.map(|d| d.message.as_str().into()),
            count: None,
            token_id: token.map(|c| c.token_id.as_str().into()),
            subject: subject.map(Into::into),
            chain: token.map(|c| c.chain.as_slice().into()).unwrap_or_default(),
            claims: token
                .map(|c| Claims::new(&c.custom, c.tenant.as_deref()))
                .unwrap_or_default(),
            approval_id: held.approval_id.map(Into::into),
            alert,
            alert_id: alert_id.map(Into::into),
            session_line: None,
            statement_line: None,
        };
        // (The session's fields are the same in every event: rendered once.)
        event.session_line = Some(self.session_line.get_or_init(|| SessionLine::of(&event)));
        if let Some(a) = allowed {
            if !same {
                *memo = Some(StatementMemo {
                    key: a.facts_key(),
                    generation,
                    line: StatementLine::of(&event),
                    risk: event.risk.clone(),
                    risk_score,
                });
            }
            event.statement_line = memo.as_ref().map(|m| &m.line);
        }
        audit.record(&event);
    }

    /// A statement event's risk factors and score.
    fn risk(
        &self,
        policy: &Policy,
        denial: Option<&Denial>,
        analysis: Option<&Analysis>,
    ) -> (Vec<&'static str>, u8) {
        let mut risk = analysis.map(|a| a.risk_factors()).unwrap_or_default();
        if let Some(a) = analysis
            && policy.touches_sensitive(a)
        {
            risk.push("sensitive_table");
        }
        if denial.is_some() {
            risk.push("denied");
            if self.violations.load(Ordering::Relaxed) >= crate::policy::risk::REPEATED_VIOLATIONS {
                risk.push("repeated_violations");
            }
        }
        let score = crate::policy::risk::score(&risk);
        (risk, score)
    }
}

/// What the last allowed statement event of a session said about its
/// statement, and for which facts under which rules. An allowed statement
/// with the same facts ([`FactsKey`]: the same analysis, or one filled
/// from the same template) under the same rules has the same class,
/// tables, risk and fingerprint, so its event reuses the rendering.
pub struct StatementMemo {
    key: FactsKey,
    generation: u64,
    line: StatementLine,
    risk: Vec<&'static str>,
    risk_score: u8,
}
