//! Carrying out a decision: its refusals stage by stage, the approval
//! hold and the windows and budgets at their stages
//! ([`Relay::carry_out_decision`]).

use super::{Held, Relay};
use crate::controls::{ApprovalKey, ApprovalRequest, Gate};
use crate::policy::analyze::Analysis;
use crate::policy::{
    ApprovalNeed, ApprovalStatus, Decision, Mode, Policy, RuntimeControls, Stage, Verdict,
};
use futures_util::future::Either;
use std::future::Future;
use tracing::info;

/// What a decision's carrying out came to.
pub(super) struct Carried {
    pub(super) verdict: Verdict,
    /// Something was audited for the message (then an allowed statement
    /// gets no `statement_allowed` event of its own).
    pub(super) recorded: bool,
    /// A refusal was found, even if monitor mode let the message pass.
    pub(super) refused: bool,
}

/// The approval hold a statement is under when it runs.
pub(super) struct Hold<'a> {
    pub(super) need: ApprovalNeed,
    pub(super) sql: &'a str,
    pub(super) params: &'a [(i16, Option<&'a [u8]>)],
    pub(super) param: &'a (dyn Fn(usize) -> Option<String> + Sync),
}

/// What one carrying out audits and runs.
pub(super) struct Run<'a> {
    pub(super) analysis: Option<&'a Analysis>,
    pub(super) sql: &'a str,
    pub(super) hold: Option<Hold<'a>>,
    pub(super) controls: Option<&'a RuntimeControls>,
}

impl Relay<'_> {
    /// Carries out a decision stage by stage: each refusal is audited and
    /// answers the message unless monitor mode lets it pass; the approval
    /// hold runs after the approval refusals, windows and budgets after
    /// the control refusals.
    ///
    /// A decision with no refusal, no hold and no window or budget (most
    /// statements) passes every stage with nothing done: it is answered
    /// at once, without setting up the stages (on the data path).
    pub(super) fn carry_out_decision<'a>(
        &'a self,
        decision: &'a Decision,
        run: Run<'a>,
    ) -> impl Future<Output = Carried> + 'a {
        let nothing = decision.refusals.is_empty()
            && run.hold.is_none()
            && run.controls.is_none_or(RuntimeControls::is_empty);
        if nothing {
            Either::Left(std::future::ready(Carried {
                verdict: Verdict::Allow,
                recorded: false,
                refused: false,
            }))
        } else {
            Either::Right(self.carry_out_stages(decision, run))
        }
    }

    async fn carry_out_stages(&self, decision: &Decision, run: Run<'_>) -> Carried {
        let mut recorded = false;
        let refused = !decision.refusals.is_empty();
        for stage in Stage::ALL {
            for r in decision.at(stage) {
                recorded = true;
                match stage {
                    Stage::Message => {
                        self.audit_statement("statement_blocked", Some(&r.denial), None, run.sql)
                    }
                    Stage::Audit => self.audit_statement(
                        "statement_blocked",
                        Some(&r.denial),
                        run.analysis,
                        run.sql,
                    ),
                    _ => self.audit_denial(&r.denial, run.analysis, Some(run.sql)),
                }
                // (The policy is loaded only for a refusal: an allowed
                // statement with nothing to hold or count passes every
                // stage without it.)
                if self.policy().mode == Mode::Enforce || stage.binding() {
                    return Carried {
                        verdict: Verdict::Deny(r.denial.clone()),
                        recorded,
                        refused: true,
                    };
                }
            }
            let verdict = match (stage, &run.hold, run.controls) {
                (Stage::Approval, Some(h), _) => {
                    recorded = true;
                    self.hold(h, run.analysis).await
                }
                (Stage::Controls, _, Some(c)) if !c.is_empty() => {
                    let (verdict, audited) = self
                        .run_controls(&self.policy(), c, run.analysis, Some(run.sql))
                        .await;
                    recorded |= audited;
                    verdict
                }
                _ => Verdict::Allow,
            };
            if !verdict.is_allow() {
                return Carried {
                    verdict,
                    recorded,
                    refused: true,
                };
            }
        }
        Carried {
            verdict: Verdict::Allow,
            recorded,
            refused,
        }
    }

    /// Holds a message that is about to run to its time windows, then
    /// counts it against its budgets; a closed window or a used-up budget is
    /// audited (the second value) and, in enforce mode, denies.
    pub(super) async fn run_controls(
        &self,
        policy: &Policy,
        controls: &RuntimeControls,
        analysis: Option<&Analysis>,
        sql: Option<&str>,
    ) -> (Verdict, bool) {
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        let mut verdict = Verdict::Allow;
        if !controls.windows.is_empty() {
            let now = self.gateway.clock().now();
            verdict = policy.evaluate_windows(&controls.windows, now);
        }
        if verdict.is_allow() {
            verdict = self
                .gateway
                .charge_budgets(policy, subject, &controls.budgets)
                .await;
        }
        let Verdict::Deny(d) = &verdict else {
            return (verdict, false);
        };
        self.audit_denial(d, analysis, sql);
        (self.enforce(verdict), true)
    }

    /// Holds a statement under `[[approvals]]`: it runs if an operator
    /// approved exactly this statement (text and parameters, agent and end
    /// user); otherwise it is refused with the request's id. Nothing
    /// waits. Every outcome is audited.
    async fn hold(&self, hold: &Hold<'_>, analysis: Option<&Analysis>) -> Verdict {
        let Hold {
            need,
            sql,
            params,
            param,
        } = *hold;
        let subject = self.token.as_ref().map(|t| t.claims.subject.as_str());
        let policy = self.policy();
        if policy.mode == Mode::Monitor {
            let d = policy.approval_denial(
                need.index,
                "(none: monitor mode)",
                ApprovalStatus::Requested,
                subject,
            );
            self.audit_statement("statement_blocked", Some(&d), analysis, sql);
            return Verdict::Allow;
        }
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
        let gate = match self.gateway.approvals.gate(request, now).await {
            Ok(gate) => gate,
            Err(e) => {
                tracing::warn!(error = %e, "approval store unavailable");
                self.gateway.metrics.state_unavailable();
                let d = crate::policy::refusals::control_state_unavailable("approval");
                self.audit_denial(&d, analysis, Some(sql));
                return Verdict::Deny(d);
            }
        };
        let (status, approval) = match gate {
            Gate::Approved(a) => {
                self.gateway.metrics.approval("used");
                info!(approval_id = %a.id, "approved statement released");
                let held = Held {
                    approval_id: Some(a.id),
                    alert: None,
                };
                self.audit_statement_with("approval_used", None, analysis, sql, held);
                return Verdict::Allow;
            }
            Gate::Requested(a) => (ApprovalStatus::Requested, Some(a)),
            Gate::Pending(a) => (ApprovalStatus::Pending, Some(a)),
            Gate::Rejected(a) => (ApprovalStatus::Rejected, Some(a)),
            Gate::Full => (ApprovalStatus::Unavailable, None),
        };
        let id = approval.as_ref().map(|a| a.id.clone());
        let d = policy.approval_denial(
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
                let held = Held {
                    approval_id: id,
                    alert: Some("approval_requested"),
                };
                self.audit_statement_with("approval_requested", Some(&d), analysis, sql, held);
            }
            ApprovalStatus::Pending => {
                let held = Held {
                    approval_id: id,
                    alert: None,
                };
                self.audit_statement_with("statement_blocked", Some(&d), analysis, sql, held);
            }
            // Retrying a rejected statement is a violation.
            ApprovalStatus::Rejected | ApprovalStatus::Unavailable => {
                self.audit_denial(&d, analysis, Some(sql))
            }
        }
        Verdict::Deny(d)
    }
}

impl<'a> Run<'a> {
    /// Audited with `analysis` and `sql`; no hold, no controls.
    pub(super) fn of(analysis: Option<&'a Analysis>, sql: &'a str) -> Run<'a> {
        Run {
            analysis,
            sql,
            hold: None,
            controls: None,
        }
    }
}
