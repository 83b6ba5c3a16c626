//! Asking the policy: the situation a message is decided in (its
//! catalog, session state, capability, the audit log's health and the
//! token's revocation), the decision histogram's sampled timing, and the
//! decisions a session reuses.
//!
//! A session does not decide the same thing twice. A driver that sends
//! the same text again (the extended protocol's Parse before every
//! execution, `SELECT 1` as a health check, an ORM's fixed queries) gets
//! the very same analysis back from the exact cache: the same `Arc`. An
//! agent that sends the same statement with other literals gets an
//! analysis filled from the same shape template. When the decision reads
//! nothing of the session's state ([`reads_no_session_state`]), and, for
//! a template, none of the literal values ([`Policy::reads_values`]), and
//! it allowed the statement, in a session without a capability token
//! (whose own checks read the clock: its expiry and any time its
//! attenuations name, so a token session decides every statement), the
//! session keeps it next to that analysis or template ([`Source`]), keyed
//! by what else it depends on (the rules generation, and for a Query
//! whether the session was idle), and carries it out again instead of
//! deciding again. Only the decision is reused: what it obliges the
//! session to (approvals, windows, budgets, row limits, write caps) is
//! carried out every time, and the statement is audited every time, with
//! its own analysis; a Query whose template holds a kept decision is not
//! even filled in ([`Relay::reused_for_shape`]): it is audited with the
//! template's own analysis, whose facts are the statement's.
//!
//! An entry holds its analysis or template, so its address cannot be
//! taken by another while it is kept; a new analysis of the same text
//! (after an eviction from the cache, or a reload) is another address,
//! and misses.

use super::Relay;
use super::shared::lock;
use crate::policy::analyze::Analysis;
use crate::policy::{
    Capability, Decision, Policy, SessionState, Situation, reads_no_session_state,
};
use crate::proxy::analysis::{AnalysisContext, AnalysisResult, ShapeHit, Source};
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

impl Moment {
    /// A Query sent while the session was idle (the situation's `idle`).
    pub fn idle(self) -> bool {
        self == Moment::Query { idle: true }
    }
}

/// A session's reusable decisions, by rules generation and moment (shared
/// with the statements that carry them out: taken without copying).
pub type Reuses = Reused<(u64, Moment), Arc<Decision>>;

impl Relay<'_> {
    /// The decision inputs besides the SQL.
    pub(super) fn decide_in<T>(
        &self,
        context: &AnalysisContext,
        state: &SessionState,
        idle: bool,
        decide: impl FnOnce(&Policy, &Situation<'_>) -> T,
    ) -> T {
        let audit_unavailable = self.gateway.audit.refusal();
        let situation = self.situation(context, state, idle, audit_unavailable.as_deref());
        self.timed(|policy| decide(policy, &situation))
    }

    /// What the decision knows besides the SQL: `audit_unavailable` is
    /// the audit log's refusal, asked by the caller.
    fn situation<'s>(
        &'s self,
        context: &'s AnalysisContext,
        state: &'s SessionState,
        idle: bool,
        audit_unavailable: Option<&'s str>,
    ) -> Situation<'s> {
        Situation {
            catalog: context.catalog.as_deref(),
            session: state,
            capability: self.capability.as_deref().map(|c| c as &dyn Capability),
            audit_unavailable,
            revoked_token: self.revoked_token().map(|t| t.claims.token_id.as_str()),
            idle,
        }
    }

    /// Decides under the session's policy, sampled for the decision
    /// histogram.
    fn timed<T>(&self, decide: impl FnOnce(&Policy) -> T) -> T {
        let started = crate::metrics::Metrics::decision_timer();
        let out = decide(&self.policy());
        if let Some(started) = started {
            self.gateway.metrics.decision(started.elapsed());
        }
        out
    }

    /// Decides `analysis` at `moment` with `decide`, or carries out again
    /// the allowed decision this session made about this very analysis at
    /// the same moment under the same rules, when the decision reads
    /// nothing of the session's state or the clock and the audit log can
    /// record (see the module comment).
    pub(super) fn decide_reusing(
        &self,
        context: &AnalysisContext,
        state: &SessionState,
        moment: Moment,
        (analysis, source): (&AnalysisResult, &Source),
        decide: impl FnOnce(&Policy, &Situation<'_>) -> Decision,
    ) -> Arc<Decision> {
        let audit_unavailable = self.gateway.audit.refusal();
        let situation = self.situation(context, state, moment.idle(), audit_unavailable.as_deref());
        let a = reusable(&situation, analysis);
        let key = self.reuse_key(moment);
        if a.is_some()
            && let Some(decision) = lock(&self.reuses).get(key, source)
        {
            return decision;
        }
        // A template stands for analyses whose literals differ.
        let (decision, keep) = self.timed(|policy| {
            let keep =
                matches!(source, Source::Analysis(_)) || a.is_some_and(|a| !policy.reads_values(a));
            (Arc::new(decide(policy, &situation)), keep)
        });
        if a.is_some() && keep && decision.refusals.is_empty() {
            lock(&self.reuses).put(key, source, decision.clone());
        }
        decision
    }

    /// What a decision at `moment` is kept under: the rules generation and
    /// the moment.
    fn reuse_key(&self, moment: Moment) -> (u64, Moment) {
        (self.generation.load(Ordering::Relaxed), moment)
    }

    /// The decision [`Relay::decide_reusing`] would carry out again for
    /// `hit` without deciding, if there is one: asked with the template's
    /// own analysis, before the statement's literals are filled in (a
    /// decision kept for a template read none of them).
    pub(super) fn reused_for_shape(
        &self,
        context: &AnalysisContext,
        state: &SessionState,
        moment: Moment,
        hit: &ShapeHit,
    ) -> Option<Arc<Decision>> {
        // (A token session decides every statement, see `reusable`: known
        // before the situation is asked.)
        if self.capability.is_some() {
            return None;
        }
        let audit_unavailable = self.gateway.audit.refusal();
        let situation = self.situation(context, state, moment.idle(), audit_unavailable.as_deref());
        reusable(&situation, hit.canaries())?;
        lock(&self.reuses).get(self.reuse_key(moment), &hit.source())
    }
}

/// `analysis`, when a decision about it made in `situation` may be kept
/// and carried out again: it reads nothing of the session's state, the
/// audit log can record, and the session's token is neither revoked nor
/// there at all (a capability token's own checks read the clock, its
/// expiry and any time its attenuations name, so a token session decides
/// every statement; a token's checks cost more than a decision anyway).
fn reusable<'a>(situation: &Situation<'_>, analysis: &'a AnalysisResult) -> Option<&'a Analysis> {
    let fit = situation.audit_unavailable.is_none()
        && situation.revoked_token.is_none()
        && situation.capability.is_none();
    analysis
        .as_ref()
        .as_ref()
        .ok()
        .filter(|a| fit && reads_no_session_state(a))
}

/// Entries a session keeps: a driver's handful of hot statements.
const SLOTS: usize = 8;

struct Entry<K, V> {
    key: K,
    source: Source,
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

impl<K: Eq + Copy, V: Clone> Reused<K, V> {
    /// The value kept for `source` (this very analysis or template)
    /// under `key`.
    pub fn get(&self, key: K, source: &Source) -> Option<V> {
        self.entries
            .iter()
            .find(|e| e.key == key && e.source.same(source))
            .map(|e| e.value.clone())
    }

    /// Keeps `value` for `source` under `key`.
    pub fn put(&mut self, key: K, source: &Source, value: V) {
        let entry = Entry {
            key,
            source: source.clone(),
            value,
        };
        if let Some(e) = self
            .entries
            .iter_mut()
            .find(|e| e.key == key && e.source.same(source))
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
    use crate::policy::analyze::analyze_in_public;

    fn analysed(sql: &str) -> Source {
        Source::Analysis(Arc::new(analyze_in_public(sql, Some("shop"))))
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
        ] {
            let Source::Analysis(a) = analysed(sql) else {
                unreachable!()
            };
            let a = a.as_ref().as_ref().expect(sql);
            assert_eq!(reads_no_session_state(a), expected, "{sql}");
        }
    }
}
