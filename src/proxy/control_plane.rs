//! The control plane: suspensions (and the circuit breaker that trips
//! them), budgets, held statements awaiting approval, and the clock they
//! all read. [`super::Gateway`] hands its sessions and the admin endpoint
//! to it.

use crate::alerts::Alerter;
use crate::audit::AuditLog;
use crate::controls::{
    ApprovalStore, BudgetKey, ChargeError, Clock, ControlStore, MemoryStore, Suspension,
    Suspensions,
};
use crate::metrics::Metrics;
use crate::policy::{Policy, Verdict};
use crate::state::PgState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// Pause between two attempts to share a suspension change.
const SHARE_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// A suspension change to write to the shared store.
enum SharedChange {
    Suspend(Suspension),
    Resume {
        agent: String,
        subject: Option<String>,
    },
}

/// Runtime controls shared by every session: what they count and hold,
/// and the services they report to.
pub struct ControlPlane {
    /// The zone calendar budget windows are counted in.
    time_zone: jiff::tz::TimeZone,
    clock: RwLock<Arc<dyn Clock>>,
    /// Agents and end users suspended by their circuit breaker.
    suspensions: tokio::sync::watch::Sender<Arc<Suspensions>>,
    /// Where budgets are counted.
    budgets: Arc<dyn ControlStore>,
    /// Where this instance counts denials towards circuit breakers.
    breaker_counts: MemoryStore,
    /// Statements held for human approval.
    approvals: Arc<dyn ApprovalStore>,
    audit: Arc<AuditLog>,
    alerter: Arc<Alerter>,
    metrics: Arc<Metrics>,
    /// The store replicas share suspensions through, if any.
    shared: Option<Arc<PgState>>,
    /// Suspension changes of this replica not yet written to `shared`:
    /// while any is on its way, what the store says is not yet the whole
    /// truth, and is not taken over.
    writing: Arc<AtomicUsize>,
}

/// The services a [`ControlPlane`] reports to and keeps its state in.
pub struct ControlServices {
    pub time_zone: jiff::tz::TimeZone,
    pub clock: Arc<dyn Clock>,
    pub budgets: Arc<dyn ControlStore>,
    pub approvals: Arc<dyn ApprovalStore>,
    pub audit: Arc<AuditLog>,
    pub alerter: Arc<Alerter>,
    pub metrics: Arc<Metrics>,
    pub shared: Option<Arc<PgState>>,
}

impl ControlPlane {
    /// A control plane with nothing suspended.
    pub fn new(services: ControlServices) -> ControlPlane {
        let ControlServices {
            time_zone,
            clock,
            budgets,
            approvals,
            audit,
            alerter,
            metrics,
            shared,
        } = services;
        ControlPlane {
            time_zone,
            clock: RwLock::new(clock),
            suspensions: tokio::sync::watch::Sender::new(Arc::new(Suspensions::default())),
            budgets,
            breaker_counts: MemoryStore::new(),
            approvals,
            audit,
            alerter,
            metrics,
            shared,
            writing: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Writes a suspension change to the shared store, retrying until it
    /// lands (or the suspension would be over); the other replicas hear of
    /// it through the store.
    fn share(&self, change: SharedChange) {
        let Some(store) = self.shared.clone() else {
            return;
        };
        self.writing.fetch_add(1, Ordering::AcqRel);
        let writing = self.writing.clone();
        let clock = self.clock();
        tokio::spawn(async move {
            loop {
                let written = match &change {
                    SharedChange::Suspend(s) => store.bounded(store.put_suspension(s)).await,
                    SharedChange::Resume { agent, subject } => store
                        .bounded(store.lift_suspension(agent, subject.as_deref()))
                        .await
                        .map(drop),
                };
                match written {
                    Ok(()) => break,
                    Err(e) => {
                        if let SharedChange::Suspend(s) = &change
                            && s.until <= clock.now()
                        {
                            break;
                        }
                        tracing::warn!(error = %e, "suspension change not shared yet; retrying");
                        tokio::time::sleep(SHARE_RETRY).await;
                    }
                }
            }
            writing.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Takes over the suspensions the shared store holds (called by the
    /// sync task), unless a change of this replica is still on its way.
    pub fn adopt_shared_suspensions(&self, list: Vec<Suspension>) {
        if self.writing.load(Ordering::Acquire) > 0 {
            return;
        }
        let now = self.clock().now();
        let mut next = Suspensions::default();
        for s in list {
            next.insert(s, now);
        }
        let changed = {
            let current = self.suspensions.borrow();
            let mut a: Vec<_> = current.list(now);
            let mut b: Vec<_> = next.list(now);
            let key = |s: &&Suspension| (s.agent.clone(), s.subject.clone());
            a.sort_by_key(key);
            b.sort_by_key(key);
            a != b
        };
        if changed {
            self.suspensions.send_replace(Arc::new(next));
        }
    }

    /// The suspensions in force.
    pub fn suspensions(&self) -> Vec<Suspension> {
        let now = self.clock().now();
        self.suspensions
            .borrow()
            .list(now)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Suspends `agent` (or one end user) for `duration`, ending their
    /// sessions and refusing their logins until it ends or is lifted.
    pub fn suspend(
        &self,
        agent: &str,
        subject: Option<&str>,
        duration: jiff::SignedDuration,
        cause: String,
    ) -> Suspension {
        let now = self.clock().now();
        let suspension = Suspension {
            agent: agent.to_owned(),
            subject: subject.map(str::to_owned),
            until: now.checked_add(duration).unwrap_or(jiff::Timestamp::MAX),
            cause,
        };
        let mut next = (**self.suspensions.borrow()).clone();
        next.insert(suspension.clone(), now);
        self.suspensions.send_replace(Arc::new(next));
        self.share(SharedChange::Suspend(suspension.clone()));
        tracing::warn!(agent = %suspension.agent, until = %suspension.until, "agent suspended");
        let status = self.alerter.raise(crate::alerts::Alert {
            kind: "agent_suspended",
            agent: Some(suspension.agent.clone()),
            subject: suspension.subject.clone(),
            message: Some(suspension.message()),
            ..Default::default()
        });
        let (alert, alert_id) = status.audit_fields();
        self.audit.record(&crate::audit::AuditEvent {
            event: "agent_suspended",
            agent: Some(suspension.agent.as_str().into()),
            subject: suspension.subject.as_deref().map(Into::into),
            message: Some(suspension.message().into()),
            alert,
            alert_id: alert_id.map(Into::into),
            ..Default::default()
        });
        suspension
    }

    /// The suspension that holds for `agent` acting for `subject` now.
    pub fn suspension(&self, agent: &str, subject: Option<&str>) -> Option<Suspension> {
        let now = self.clock().now();
        self.suspensions.borrow().find(agent, subject, now).cloned()
    }

    /// Notified whenever a suspension is added or lifted.
    pub fn subscribe_suspensions(&self) -> tokio::sync::watch::Receiver<Arc<Suspensions>> {
        self.suspensions.subscribe()
    }

    /// Counts a denial against `policy`'s circuit breaker; when it trips,
    /// suspends the agent (or the end user), which ends their sessions.
    pub fn violation(&self, policy: &Policy, subject: Option<&str>) -> Option<Suspension> {
        let breaker = policy.circuit_breaker.as_ref()?;
        let subject = breaker
            .per_subject
            .then(|| subject.unwrap_or_default().to_owned());
        let key = BudgetKey {
            agent: policy.agent.clone(),
            subject: subject.clone(),
            rule: "circuit_breaker".into(),
            budget: breaker.trip,
        };
        let now = self.clock().now();
        let tz = &self.time_zone;
        if self.breaker_counts.record(&key, now, tz) < breaker.trip.limit {
            return None;
        }
        // A fresh count after the suspension.
        self.breaker_counts.forget(&key);
        Some(self.suspend(
            &policy.agent,
            subject.as_deref(),
            breaker.suspend_for,
            format!(
                "circuit breaker: {} denials within the window of {}",
                breaker.trip.limit, breaker.trip
            ),
        ))
    }

    /// Lifts a suspension before it ends; returns whether there was one.
    pub fn resume(&self, agent: &str, subject: Option<&str>) -> bool {
        let mut next = (**self.suspensions.borrow()).clone();
        let removed = next.remove(agent, subject);
        // Lifted in the store even if this replica has not heard of it yet.
        self.share(SharedChange::Resume {
            agent: agent.to_owned(),
            subject: subject.map(str::to_owned),
        });
        if removed {
            self.suspensions.send_replace(Arc::new(next));
            self.audit.record(&crate::audit::AuditEvent {
                event: "agent_resumed",
                agent: Some(agent.into()),
                subject: subject.map(Into::into),
                ..Default::default()
            });
        }
        removed
    }

    /// The approval requests not yet expired, oldest first.
    pub fn approvals(&self) -> Vec<crate::controls::Approval> {
        self.approvals.list(self.clock().now())
    }

    /// An operator's decision on a held statement, audited.
    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<crate::controls::Approval, crate::controls::ApprovalError> {
        let now = self.clock().now();
        let decided = self
            .approvals
            .decide(id, approve, by, now)
            .await
            .map_err(|e| crate::controls::ApprovalError::Unavailable(e.0))??;
        tracing::info!(approval_id = %decided.id, agent = %decided.agent, state = decided.state.name(), "approval decided");
        self.metrics.approval(decided.state.name());
        self.audit.record(&crate::audit::AuditEvent {
            event: if approve {
                "approval_approved"
            } else {
                "approval_rejected"
            },
            agent: Some(decided.agent.as_str().into()),
            subject: decided.subject.as_deref().map(Into::into),
            rule: Some(decided.rule.as_str().into()),
            sql: Some(self.audit.sql(&decided.sql).0.into()),
            message: Some(format!("decided by {by}").into()),
            approval_id: Some(decided.id.as_str().into()),
            ..Default::default()
        });
        Ok(decided)
    }

    /// The clock runtime controls read.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Replaces the clock (tests drive budgets with a [`crate::controls::ManualClock`]).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self
            .clock
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = clock;
    }

    /// Counts one allowed message against the budgets `indices` of
    /// `policy` (see [`Policy::runtime_controls`]); all or none are charged.
    /// A store that cannot answer refuses (`control_state_unavailable`).
    pub async fn charge_budgets(
        &self,
        policy: &Policy,
        subject: Option<&str>,
        indices: &[usize],
    ) -> Verdict {
        if indices.is_empty() {
            return Verdict::Allow;
        }
        let keys: Vec<BudgetKey> = indices
            .iter()
            .filter_map(|&i| policy.rate_limits.get(i))
            .map(|limit| BudgetKey {
                agent: policy.agent.clone(),
                subject: limit
                    .per_subject
                    .then(|| subject.unwrap_or_default().to_owned()),
                rule: limit.rule.clone(),
                budget: limit.budget,
            })
            .collect();
        let now = self.clock().now();
        match self.budgets.charge(&keys, now, &self.time_zone).await {
            Ok(()) => Verdict::Allow,
            Err(ChargeError::Unavailable(e)) => {
                tracing::warn!(error = %e, agent = %policy.agent, "budget store unavailable");
                self.metrics.state_unavailable();
                Verdict::Deny(crate::policy::refusals::control_state_unavailable("budget"))
            }
            Err(ChargeError::Exhausted(e)) => Verdict::Deny(policy.rate_limit_denial(
                indices.get(e.index).copied().unwrap_or(usize::MAX),
                now,
                e.resets_at,
                subject,
            )),
        }
    }
}
