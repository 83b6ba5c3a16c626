//! A simple Query: decided (a shape hit whose template holds a decision
//! the session keeps without filling in its literals, [`Relay::query_decision`]),
//! carried out, and its SQL `EXECUTE`s held to the prepared statements they
//! run (decided again first when prepared under older rules,
//! [`Relay::revalidate_executes`]).

use super::ask::Moment;
use super::carry::{Hold, Run};
use super::limits::Guard;
use super::{Action, Expect, Relay, Shared};
use crate::policy::analyze::{Analysis, PreparedRef};
use crate::policy::{Decision, Origin, SessionState, Verdict};
use crate::protocol::backend::TransactionStatus;
use crate::proxy::analysis::{AnalysisContext, AnalysisResult, Lookup};
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Relay<'_> {
    /// A simple Query: `Ok` with what to do when it goes ahead, `Err` with
    /// its refusal.
    pub(super) async fn on_query(
        &self,
        sql: &str,
        state: &mut SessionState,
        shared: &Shared,
    ) -> Result<Action, Verdict> {
        let context = self.analysis();
        let found = self.gateway.analyzer.lookup(&context, sql).await;
        // (A shape hit's facts are its template's: what is read before the
        // decision reads no literal value.)
        let facts = match &found {
            Lookup::Ready(analysis, _) => analysis,
            Lookup::Shape(hit) => hit.canaries(),
        };
        if let Ok(a) = facts.as_ref()
            && let Verdict::Deny(d) = self.revalidate_executes(a, state).await
        {
            return Err(Verdict::Deny(d));
        }
        let idle = shared.idle() && shared.status.get() == TransactionStatus::Idle;
        let moment = Moment::Query { idle };
        let (analysis, decision) = self
            .query_decision(&context, state, moment, sql, found)
            .await;
        let a = analysis.as_ref().as_ref().ok();
        let counts_rows = self.row_limits_on();
        // SQL EXECUTE of a statement prepared through Parse is held to
        // that statement's controls.
        let mut controls = decision.obligations.controls.clone();
        for name in a.iter().flat_map(|a| executed_names(a)) {
            if let Some(c) = state.statement(name).and_then(|p| p.controls.as_ref()) {
                controls.extend(c);
            }
        }
        let no_params = |_| None;
        let run = Run {
            analysis: a,
            sql,
            hold: decision.obligations.approvals.first().map(|&need| Hold {
                need,
                sql,
                params: &[],
                param: &no_params,
            }),
            controls: Some(&controls),
        };
        let carried = self.carry_out_decision(&decision, run).await;
        if decision.passed_rules && !carried.recorded {
            self.audit_allowed(&analysis, sql);
        }
        let (Verdict::Allow, Some(a)) = (&carried.verdict, a) else {
            return Err(carried.verdict);
        };
        state.executed_in(a, sql, self.generation.load(Ordering::Relaxed));
        let limit = decision.obligations.row_limit.clone();
        let cap = decision.obligations.write_cap.clone();
        if cap.is_some() || limit.as_ref().is_some_and(|l| l.undo) {
            return Ok(Action::GuardedQuery(Box::new(Guard { cap, limit })));
        }
        // Under row limits every Query's results are counted, to keep the
        // server half's expectations in step with the results.
        if !counts_rows {
            return Ok(Action::ForwardSync);
        }
        let seq = shared.current_batch();
        let wait = limit.as_ref().is_some_and(|l| !l.truncate);
        shared.expects.lock().push_back(Expect {
            seq,
            portal: None,
            limit,
            cap: None,
            guarded: false,
        });
        Ok(if wait {
            Action::ForwardSyncWait(seq)
        } else {
            Action::ForwardSync
        })
    }

    /// A Query's decision, and the analysis it is recorded with: a shape
    /// hit whose template holds a decision this session may carry out
    /// again is recorded with the template's own analysis, its literals
    /// never filled in (see [`Lookup`]); anything else is decided on its
    /// own analysis.
    async fn query_decision(
        &self,
        context: &AnalysisContext,
        state: &SessionState,
        moment: Moment,
        sql: &str,
        found: Lookup,
    ) -> (AnalysisResult, Arc<Decision>) {
        let analyzer = &self.gateway.analyzer;
        let (analysis, source) = match found {
            Lookup::Ready(analysis, source) => (analysis, source),
            Lookup::Shape(hit) => match self.reused_for_shape(context, state, moment, &hit) {
                Some(decision) => {
                    let canaries = hit.canaries().clone();
                    // Tests (debug builds) decide the filled analysis too.
                    #[cfg(debug_assertions)]
                    {
                        let (filled, _) = analyzer.fill(context, sql, hit).await;
                        let fresh = self.decide_in(context, state, moment.idle(), |p, s| {
                            p.decide_query(&filled, s)
                        });
                        assert_eq!(fresh, *decision, "a reused decision differs: {sql}");
                    }
                    return (canaries, decision);
                }
                None => analyzer.fill(context, sql, hit).await,
            },
        };
        let decision = self.decide_reusing(context, state, moment, (&analysis, &source), |p, s| {
            p.decide_query(&analysis, s)
        });
        (analysis, decision)
    }

    /// SQL `EXECUTE` of a statement prepared under older rules: the
    /// statement is decided again under the rules in force first.
    async fn revalidate_executes(&self, analysis: &Analysis, state: &mut SessionState) -> Verdict {
        let current = self.generation.load(Ordering::Relaxed);
        for name in executed_names(analysis) {
            let Some(p) = state.statement(name) else {
                continue;
            };
            if p.generation == current {
                continue;
            }
            let (sql, origin) = (p.sql.clone(), p.origin);
            let verdict = if origin == Origin::Parse {
                // (recorded anew by redecide_parse itself)
                match self.redecide_parse(name, &sql, state).await {
                    Ok(_) => Verdict::Allow,
                    Err(d) => Verdict::Deny(d),
                }
            } else {
                let context = self.analysis();
                let prepared = self.gateway.analyzer.analyze(&context, &sql).await;
                let decision = self.decide_in(&context, state, false, |p, s| {
                    p.decide_prepared(&prepared, s)
                });
                let a = prepared.as_ref().as_ref().ok();
                self.carry_out_decision(&decision, Run::of(a, &sql))
                    .await
                    .verdict
            };
            match verdict {
                Verdict::Allow => {
                    if let Some(p) = state.statement_mut(name) {
                        p.generation = current;
                    }
                }
                // Kept as it was: decided again at its next use.
                Verdict::Deny(d) => return Verdict::Deny(d),
            }
        }
        Verdict::Allow
    }
}

/// The statements a message runs by SQL `EXECUTE`.
fn executed_names(analysis: &Analysis) -> impl Iterator<Item = &str> {
    analysis
        .statements
        .iter()
        .flat_map(|st| &st.prepared)
        .filter_map(|p| match p {
            PreparedRef::Execute(name) => Some(name.as_str()),
            _ => None,
        })
}
