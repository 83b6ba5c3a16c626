//! Auditing statement events: every denial and allowed statement of the
//! session, with its risk score, and the alert it raises.

use super::{Held, Relay};
use crate::audit::{AuditEvent, Claims};
use crate::policy::analyze::Analysis;
use crate::policy::{Denial, Mode};
use std::sync::atomic::Ordering;

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

    pub(super) fn audit_statement(
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
    pub(super) fn audit_statement_with(
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
        audit.record(&AuditEvent {
            event,
            agent: Some(self.agent.into()),
            session_id: Some(self.session_id),
            client_addr: Some(self.client_addr.as_str().into()),
            database: Some(self.database.into()),
            statement_class: analysis.and_then(|a| a.primary_class()).map(|c| c.name()),
            tables: analysis.map(|a| a.tables()).unwrap_or_default(),
            reason: denial.map(|d| d.reason),
            rule: denial.map(|d| d.rule.as_str().into()),
            mode: Some(self.policy().mode.name()),
            risk,
            risk_score: Some(risk_score),
            fingerprint: analysis.map(|a| a.fingerprint.as_str().into()),
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
        });
    }
}
