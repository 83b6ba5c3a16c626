//! Counters for `/metrics` (Prometheus text format). Updating them is a
//! few atomic operations on the data path: a session holds its agent's
//! counters, so an allowed statement is one atomic add; only denials take
//! a (per-agent) lock, for their reason label. The counters every
//! statement adds to are striped by thread ([`striped`]), so that workers
//! on different cores do not pass their cache lines back and forth.

mod striped;

use striped::Striped;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the policy-decision latency buckets, in microseconds.
pub const DECISION_BUCKETS_US: [u64; 9] = [5, 10, 25, 50, 100, 250, 500, 1000, 5000];

/// One decision in this many is timed, on each thread
/// ([`Metrics::decision_timer`]).
pub const DECISION_SAMPLE: u32 = 8;

/// One agent's decisions. Allowed statements (the hot path) are one
/// atomic add; denials, which carry a reason, take the agent's own lock.
#[derive(Debug, Default)]
pub struct AgentCounts {
    allowed: Striped<1>,
    /// reason → count.
    denied: Mutex<BTreeMap<&'static str, u64>>,
}

impl AgentCounts {
    /// Counts one decision: allowed (`reason` empty) or denied.
    pub fn count(&self, reason: Option<&'static str>) {
        match reason {
            None => {
                self.allowed.add(0, 1);
            }
            Some(r) => {
                *self
                    .denied
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(r)
                    .or_insert(0) += 1;
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub sessions_total: AtomicU64,
    pub sessions_active: AtomicU64,
    pub upstream_errors_total: AtomicU64,
    /// agent → its decision counts (looked up once per session).
    statements: Mutex<BTreeMap<String, std::sync::Arc<AgentCounts>>>,
    /// Decisions by the first bucket that holds them (not cumulative),
    /// then their count ([`DECISION_COUNT`]) and the sum of their
    /// nanoseconds ([`DECISION_SUM_NS`]).
    decisions: Striped<DECISION_COUNTERS>,
    /// Approval requests made, approved, rejected and used.
    approvals: [AtomicU64; APPROVAL_STATES.len()],
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    /// 1 while the last reload attempt failed (the previous rules serve).
    pub reload_failing: AtomicU64,
    /// Statements refused because the shared state could not be reached.
    state_unavailable: AtomicU64,
}

/// Where the decision count and the sum of decision nanoseconds are, after
/// the buckets.
const DECISION_COUNT: usize = DECISION_BUCKETS_US.len();
const DECISION_SUM_NS: usize = DECISION_COUNT + 1;
const DECISION_COUNTERS: usize = DECISION_SUM_NS + 1;

/// The approval events counted in `actgate_approvals_total`.
pub const APPROVAL_STATES: [&str; 4] = ["requested", "approved", "rejected", "used"];

/// Values that live elsewhere, read when `/metrics` is scraped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub audit_dropped: u64,
    /// Of those, how many no `audit_events_dropped` line accounts for yet.
    pub audit_unreported: u64,
    /// 1 while the audit log cannot be written.
    pub audit_failing: bool,
    /// Times the audit file was opened again (rotation, deletion).
    pub audit_reopened: u64,
    pub suspensions_active: usize,
    pub approvals_pending: usize,
    /// Whether the shared state store answers; `None` with the memory store.
    pub state_up: Option<bool>,
    /// Alerts queued, sent, failed (after every retry) and dropped.
    pub alerts: [u64; 4],
}

impl Metrics {
    /// The decision counters of `agent`; a session keeps them.
    pub fn agent(&self, agent: &str) -> std::sync::Arc<AgentCounts> {
        let mut map = self.statements.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(agent) {
            Some(c) => c.clone(),
            None => map.entry(agent.to_owned()).or_default().clone(),
        }
    }

    /// Counts one decision: `verdict` is `allowed` or `denied`.
    pub fn statement(&self, agent: &str, verdict: &'static str, reason: &'static str) {
        self.agent(agent)
            .count((verdict != "allowed").then_some(reason));
    }

    /// Counts one approval event (one of [`APPROVAL_STATES`]; `pending`
    /// counts as `requested`).
    pub fn approval(&self, state: &str) {
        let state = if state == "pending" {
            "requested"
        } else {
            state
        };
        if let Some(i) = APPROVAL_STATES.iter().position(|s| *s == state) {
            self.approvals[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A statement refused with `control_state_unavailable`.
    pub fn state_unavailable(&self) {
        self.state_unavailable.fetch_add(1, Ordering::Relaxed);
    }

    /// The start of a decision, for one decision in [`DECISION_SAMPLE`]
    /// on each thread (the first included); `None` for the others.
    ///
    /// Timing a decision takes two clock reads and three adds, a tenth of
    /// a shape hit's whole check, on the path every statement waits on; a
    /// sample gives the same distribution. The number of decisions is
    /// `actgate_statements_total`.
    pub fn decision_timer() -> Option<std::time::Instant> {
        thread_local! {
            static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
        }
        let n = NEXT.get();
        NEXT.set((n + 1) % DECISION_SAMPLE);
        (n == 0).then(std::time::Instant::now)
    }

    /// Records how long a timed decision took.
    pub fn decision(&self, took: Duration) {
        // One add in the first bucket that holds it (the exposition sums
        // them), in this thread's stripe: every statement passes here.
        let us = took.as_micros() as u64;
        if let Some(i) = DECISION_BUCKETS_US.iter().position(|bound| us <= *bound) {
            self.decisions.add(i, 1);
        }
        self.decisions.add(DECISION_COUNT, 1);
        self.decisions.add(DECISION_SUM_NS, took.as_nanos() as u64);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        self.render_scalars(&mut out, &gauges);
        self.render_labelled(&mut out, &gauges);
        self.render_statements(&mut out);
        self.render_decision_seconds(&mut out);
        out
    }

    /// One-value counters and gauges.
    fn render_scalars(&self, out: &mut String, gauges: &Gauges) {
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "actgate_sessions_total",
            "counter",
            "Agent sessions started.",
            self.sessions_total.load(Ordering::Relaxed),
        );
        metric(
            "actgate_sessions_active",
            "gauge",
            "Agent sessions being relayed.",
            self.sessions_active.load(Ordering::Relaxed),
        );
        metric(
            "actgate_upstream_errors_total",
            "counter",
            "Failed upstream connections.",
            self.upstream_errors_total.load(Ordering::Relaxed),
        );
        metric(
            "actgate_audit_dropped_total",
            "counter",
            "Audit events lost (queue full or write failed).",
            gauges.audit_dropped,
        );
        metric(
            "actgate_audit_dropped_unreported",
            "gauge",
            "Lost audit events not yet reported by an audit_events_dropped line in the log.",
            gauges.audit_unreported,
        );
        metric(
            "actgate_audit_failing",
            "gauge",
            "1 while the audit log cannot be written.",
            u64::from(gauges.audit_failing),
        );
        metric(
            "actgate_audit_reopened_total",
            "counter",
            "Times the audit log was opened again (rotation, deletion, replacement).",
            gauges.audit_reopened,
        );
        metric(
            "actgate_suspensions_active",
            "gauge",
            "Agents and end users suspended by a circuit breaker.",
            gauges.suspensions_active as u64,
        );
        metric(
            "actgate_approvals_pending",
            "gauge",
            "Statements held for human approval and not yet decided.",
            gauges.approvals_pending as u64,
        );
        metric(
            "actgate_state_unavailable_total",
            "counter",
            "Statements refused because the shared [state] store could not be reached.",
            self.state_unavailable.load(Ordering::Relaxed),
        );
        if let Some(up) = gauges.state_up {
            metric(
                "actgate_state_up",
                "gauge",
                "1 while the shared [state] store (store = \"postgres\") answers.",
                u64::from(up),
            );
        }
        metric(
            "actgate_rules_reload_failing",
            "gauge",
            "1 while the last rules reload failed and the previous rules are in force.",
            self.reload_failing.load(Ordering::Relaxed),
        );
    }

    /// Rules reloads, approvals and alerts, by label.
    fn render_labelled(&self, out: &mut String, gauges: &Gauges) {
        let _ = writeln!(
            out,
            "# HELP actgate_rules_reloads_total Rules reloads, by result.\n# TYPE actgate_rules_reloads_total counter\nactgate_rules_reloads_total{{result=\"ok\"}} {}\nactgate_rules_reloads_total{{result=\"failed\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_failed.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP actgate_approvals_total Approval events, by kind.\n# TYPE actgate_approvals_total counter"
        );
        for (i, state) in APPROVAL_STATES.iter().enumerate() {
            let _ = writeln!(
                out,
                "actgate_approvals_total{{event=\"{state}\"}} {}",
                self.approvals[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP actgate_alerts_total Webhook alerts, by outcome (dropped: the webhook's queue was full).\n# TYPE actgate_alerts_total counter"
        );
        for (i, outcome) in ["queued", "sent", "failed", "dropped"].iter().enumerate() {
            let _ = writeln!(
                out,
                "actgate_alerts_total{{outcome=\"{outcome}\"}} {}",
                gauges.alerts[i]
            );
        }
    }

    /// Policy decisions, by agent, verdict and reason.
    fn render_statements(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP actgate_statements_total Policy decisions, by agent, verdict and reason.\n# TYPE actgate_statements_total counter"
        );
        let map = self.statements.lock().unwrap_or_else(|e| e.into_inner());
        for (agent, counts) in map.iter() {
            let agent = escape(agent);
            let allowed = counts.allowed.get(0);
            if allowed > 0 {
                let _ = writeln!(
                    out,
                    "actgate_statements_total{{agent=\"{agent}\",verdict=\"allowed\",reason=\"\"}} {allowed}"
                );
            }
            let denied = counts.denied.lock().unwrap_or_else(|e| e.into_inner());
            for (reason, n) in denied.iter() {
                let _ = writeln!(
                    out,
                    "actgate_statements_total{{agent=\"{agent}\",verdict=\"denied\",reason=\"{reason}\"}} {n}"
                );
            }
        }
        drop(map);
    }

    /// The histogram of decision times.
    fn render_decision_seconds(&self, out: &mut String) {
        let name = "actgate_policy_decision_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time to decide one statement (one decision in {DECISION_SAMPLE} is timed, on each worker).\n# TYPE {name} histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in DECISION_BUCKETS_US.iter().enumerate() {
            cumulative += self.decisions.get(i);
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {cumulative}",
                *bound as f64 / 1e6,
            );
        }
        // Read after the buckets, it may lag a decision being counted.
        let count = self.decisions.get(DECISION_COUNT).max(cumulative);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.decisions.get(DECISION_SUM_NS) as f64 / 1e9
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// A label value as the exposition format wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_decision_in_the_sample_is_timed_on_each_thread_the_first_included() {
        let timed = |n: u32| {
            (0..n)
                .filter(|_| Metrics::decision_timer().is_some())
                .count()
        };
        // A fresh thread: its first decision is timed, then one in eight.
        let on_thread = std::thread::spawn(move || timed(3 * DECISION_SAMPLE + 1));
        assert_eq!(on_thread.join().unwrap(), 4);
    }

    #[test]
    fn the_exposition_has_every_family_and_cumulative_buckets() {
        let m = Metrics::default();
        m.statement("bot", "allowed", "");
        m.statement("bot", "allowed", "");
        m.statement("b\"ot", "denied", "table_denied");
        m.decision(Duration::from_micros(7));
        m.decision(Duration::from_micros(700));
        m.approval("pending");
        m.reloads_failed.fetch_add(1, Ordering::Relaxed);
        let text = m.render(Gauges {
            audit_dropped: 2,
            suspensions_active: 1,
            approvals_pending: 3,
            alerts: [4, 3, 1, 0],
            ..Gauges::default()
        });
        assert!(
            text.contains("actgate_approvals_total{event=\"requested\"} 1"),
            "{text}"
        );
        assert!(text.contains("actgate_approvals_pending 3"), "{text}");
        assert!(
            text.contains("actgate_alerts_total{outcome=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("actgate_rules_reloads_total{result=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "actgate_statements_total{agent=\"bot\",verdict=\"allowed\",reason=\"\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("agent=\"b\\\"ot\",verdict=\"denied\",reason=\"table_denied\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("actgate_policy_decision_seconds_bucket{le=\"0.00001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("actgate_policy_decision_seconds_bucket{le=\"0.001\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("actgate_policy_decision_seconds_bucket{le=\"+Inf\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("actgate_policy_decision_seconds_count 2"),
            "{text}"
        );
        assert!(text.contains("actgate_audit_dropped_total 2"), "{text}");
        assert!(text.contains("actgate_suspensions_active 1"), "{text}");
    }
}
