//! Decisions a session reuses: the same analysis, decided again under the
//! same rules, is decided the same way.
//!
//! A driver that sends the same text again (the extended protocol's
//! Parse before every execution, `SELECT 1` as a health check, an ORM's
//! fixed queries) gets the very same analysis back from the exact cache:
//! the same `Arc`. When its decision reads nothing of the session's state
//! ([`reads_no_session_state`]) and it allowed the statement, the session
//! keeps it next to that analysis, keyed by what else it depends on (the
//! rules generation, and for a Query whether the session was idle), and
//! carries it out again instead of deciding again. Only the decision is
//! reused: what it obliges the session to (approvals, windows, budgets,
//! row limits, write caps) is carried out every time, and the statement
//! is audited every time.
//!
//! An entry holds its analysis, so its address cannot be taken by another
//! analysis while it is kept; a new analysis of the same text (after an
//! eviction from the cache, or a reload) is another address, and misses.

use super::Relay;
use super::shared::lock;
use crate::policy::{Decision, Policy, SessionState, Situation, reads_no_session_state};
use crate::proxy::analysis::{AnalysisContext, AnalysisResult};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The protocol moment a decision was made for, with what of the
/// situation it reads besides the analysis and the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// A simple Query ([`Policy::decide_query`]), the session idle or not.
    Query { idle: bool },
    /// A Parse of a name the session does not hold
    /// ([`Policy::decide_prepared`]).
    Parse,
}

/// A session's reusable decisions, by rules generation and moment.
pub type Reuses = Reused<(u64, Moment), Decision>;

impl Relay<'_> {
    /// Decides `analysis` at `moment` with `decide`, or carries out again
    /// the allowed decision this session made about this very analysis at
    /// the same moment under the same rules, when the decision reads
    /// nothing of the session's state and the audit log and the token
    /// stand (see the module comment).
    pub(super) fn decide_reusing(
        &self,
        context: &AnalysisContext,
        state: &SessionState,
        moment: Moment,
        analysis: &AnalysisResult,
        decide: impl FnOnce(&Policy, &Situation<'_>) -> Decision,
    ) -> Decision {
        let idle = moment == Moment::Query { idle: true };
        let audit_unavailable = self.gateway.audit.refusal();
        let situation = self.situation(context, state, idle, audit_unavailable.as_deref());
        let reusable = situation.audit_unavailable.is_none()
            && situation.revoked_token.is_none()
            && reusable(analysis);
        let key = (self.generation.load(Ordering::Relaxed), moment);
        if reusable && let Some(decision) = lock(&self.reuses).get(key, analysis) {
            return decision;
        }
        let decision = self.timed(|policy| decide(policy, &situation));
        if reusable && decision.refusals.is_empty() {
            lock(&self.reuses).put(key, analysis, decision.clone());
        }
        decision
    }
}

/// Entries a session keeps: a driver's handful of hot statements.
const SLOTS: usize = 8;

struct Entry<K, V> {
    key: K,
    analysis: AnalysisResult,
    value: V,
}

/// A session's reusable decisions of one kind, `V`, keyed by `K` and the
/// identity of their analysis; the oldest entry is replaced first.
pub struct Reused<K, V> {
    entries: Vec<Entry<K, V>>,
    /// The slot the next entry replaces, once all are taken.
    next: usize,
}

impl<K, V> Default for Reused<K, V> {
    fn default() -> Self {
        Reused {
            entries: Vec::new(),
            next: 0,
        }
    }
}

/// Whether a decision about `analysis` may be kept for reuse.
pub fn reusable(analysis: &AnalysisResult) -> bool {
    analysis.as_ref().as_ref().is_ok_and(reads_no_session_state)
}

impl<K: Eq + Copy, V: Clone> Reused<K, V> {
    /// The value kept for `analysis` (this very analysis) under `key`.
    pub fn get(&self, key: K, analysis: &AnalysisResult) -> Option<V> {
        self.entries
            .iter()
            .find(|e| e.key == key && Arc::ptr_eq(&e.analysis, analysis))
            .map(|e| e.value.clone())
    }

    /// Keeps `value` for `analysis` under `key`.
    pub fn put(&mut self, key: K, analysis: &AnalysisResult, value: V) {
        let entry = Entry {
            key,
            analysis: analysis.clone(),
            value,
        };
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.key == key && Arc::ptr_eq(&e.analysis, analysis))
        {
            *e = entry;
        } else if self.entries.len() < SLOTS {
            self.entries.push(entry);
        } else {
            self.entries[self.next] = entry;
            self.next = (self.next + 1) % SLOTS;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::analyze::{AnalysisLimits, analyze};
    use crate::policy::names::Resolver;

    fn analysed(sql: &str) -> AnalysisResult {
        let search_path = vec!["public".to_string()];
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: Some("shop"),
        };
        Arc::new(analyze(sql, &resolver, AnalysisLimits::default()))
    }

    #[test]
    fn only_the_same_analysis_under_the_same_key_is_found() {
        let a = analysed("SELECT 1");
        let same_text = analysed("SELECT 1");
        let mut reused = Reused::<(u64, bool), &str>::default();
        reused.put((1, true), &a, "kept");
        assert_eq!(reused.get((1, true), &a), Some("kept"));
        assert_eq!(reused.get((1, false), &a), None, "another key");
        assert_eq!(reused.get((2, true), &a), None, "another generation");
        assert_eq!(reused.get((1, true), &same_text), None, "another analysis");
        reused.put((1, true), &a, "replaced");
        assert_eq!(reused.get((1, true), &a), Some("replaced"));
        assert_eq!(reused.entries.len(), 1);
    }

    #[test]
    fn the_oldest_entry_makes_room() {
        let analyses: Vec<_> = (0..=SLOTS)
            .map(|i| analysed(&format!("SELECT {i}")))
            .collect();
        let mut reused = Reused::<u64, usize>::default();
        for (i, a) in analyses.iter().enumerate() {
            reused.put(1, a, i);
        }
        assert_eq!(reused.entries.len(), SLOTS);
        assert_eq!(reused.get(1, &analyses[0]), None, "the oldest went");
        for (i, a) in analyses.iter().enumerate().skip(1) {
            assert_eq!(reused.get(1, a), Some(i));
        }
    }

    #[test]
    fn decisions_that_read_the_sessions_state_are_not_kept() {
        for (sql, expected) in [
            ("SELECT id FROM orders WHERE id = 1", true),
            ("SELECT 1; SELECT 2", true),
            ("PREPARE p AS SELECT 1", false),
            ("EXECUTE p", false),
            ("DEALLOCATE p", false),
            ("SET default_transaction_read_only = off", false),
            ("SELECT 1; SET search_path = public", false),
            ("SELEC 1", false),
        ] {
            assert_eq!(reusable(&analysed(sql)), expected, "{sql}");
        }
    }
}
