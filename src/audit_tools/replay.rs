//! `actgate replay`: re-decides every statement recorded in an audit log
//! under a candidate rules set and reports what would change — newly
//! blocked, newly allowed, unchanged (per agent) — and, separately, every
//! event that cannot be replayed and every malformed line.
//!
//! The recorded verdict is the event: `statement_blocked` was blocked, or
//! in monitor mode would have been. The new verdict is the policy's
//! decision (see [`super::decide`]), whatever the candidate's mode.

use super::record::{self, Log, Malformed, Record, RecordError};
use super::{CatalogLoadError, RUNTIME_REASONS, analyze_recorded, catalog_for, decide};
use crate::policy::analyze::{Analysis, AnalysisError};
use crate::policy::catalog::Catalog;
use crate::policy::{Capability, Mode, SessionState, Verdict, refusals};
use crate::rules::{Agent, RuleSet, RulesError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

mod render;

pub use render::render_text;

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Audit(#[from] RecordError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Catalog(#[from] CatalogLoadError),
}

/// What to replay, and against what.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub audit: &'a Path,
    pub rules_dir: &'a Path,
    /// Only this agent's events.
    pub agent: Option<&'a str>,
    /// Load the live catalog of this database (`postgres://…`).
    pub database_url: Option<&'a str>,
    pub search_path: &'a [String],
}

/// Counts for one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentCounts {
    pub unchanged_allowed: usize,
    pub unchanged_blocked: usize,
    pub newly_blocked: usize,
    pub newly_allowed: usize,
    pub not_replayable: usize,
}

/// A statement whose verdict changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Line of the event in the audit log (1-based).
    pub line: usize,
    pub agent: String,
    pub session_id: Option<u64>,
    pub database: Option<String>,
    pub sql: String,
    /// Mode the event was recorded in (`enforce`, `monitor`).
    pub recorded_mode: Option<String>,
    /// For a newly allowed statement: why it was blocked.
    pub recorded_reason: Option<String>,
    pub recorded_rule: Option<String>,
    /// For a newly blocked statement: the candidate rules' denial.
    pub reason: Option<String>,
    pub rule: Option<String>,
    pub message: Option<String>,
    pub hint: Option<String>,
    /// The candidate agent's mode (`monitor`: it would be audited, not blocked).
    pub candidate_mode: &'static str,
    /// Why the verdict may not be what a live session would get.
    pub note: Option<String>,
}

/// An event that cannot be replayed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreplayable {
    pub line: usize,
    pub agent: Option<String>,
    /// `sql_truncated`, `no_sql`, `unknown_agent`, `no_agent`.
    pub kind: &'static str,
    pub detail: String,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub audit: String,
    pub rules: String,
    /// Whether a live catalog was loaded (`*` expanded).
    pub catalog: bool,
    pub statement_events: usize,
    /// Logins, suspensions, drop reports: not statements, not replayed.
    pub other_events: usize,
    /// Statement events of other agents, left out by `--agent`.
    pub filtered_out: usize,
    /// Token-session events replayed without recorded claims: rules that
    /// need claims deny them, as for a secret login.
    pub without_claims: usize,
    pub agents: BTreeMap<String, AgentCounts>,
    pub newly_blocked: Vec<Change>,
    pub newly_allowed: Vec<Change>,
    /// Allowed statements the candidate's `[[approvals]]` would hold for
    /// an operator (not counted as newly blocked: they run once approved).
    pub held_for_approval: Vec<Change>,
    pub not_replayable: Vec<Unreplayable>,
    pub malformed: Vec<Malformed>,
}

impl Report {
    /// 1 if some statement would be newly blocked, else 0.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.newly_blocked.is_empty())
    }
}

/// Reads the log, loads the rules (and the catalog) and replays.
pub async fn run(opts: &Options<'_>) -> Result<Report, ReplayError> {
    let log = record::read(opts.audit)?;
    let catalogs = match opts.database_url {
        Some(url) => super::load_catalog(url, opts.search_path).await?,
        None => HashMap::new(),
    };
    let rules = RuleSet::load_dir_with(opts.rules_dir, opts.search_path, &catalogs)?;
    let mut report =
        super::on_big_stack(|| replay(&log, &rules, &catalogs, opts.search_path, opts.agent));
    report.audit = opts.audit.display().to_string();
    report.rules = opts.rules_dir.display().to_string();
    Ok(report)
}

/// Replays `log` under `rules`. Events are decided in log order, with
/// one session state per recorded session (so a SQL `EXECUTE` sees the
/// `PREPARE` before it).
pub fn replay(
    log: &Log,
    rules: &RuleSet,
    catalogs: &HashMap<String, Arc<Catalog>>,
    search_path: &[String],
    only_agent: Option<&str>,
) -> Report {
    let mut replayer = Replayer {
        rules,
        catalogs,
        search_path,
        sessions: HashMap::new(),
        report: Report {
            catalog: !catalogs.is_empty(),
            malformed: log.malformed.clone(),
            ..Report::default()
        },
    };
    for (line, r) in &log.records {
        if !r.is_statement() {
            replayer.report.other_events += 1;
            continue;
        }
        if only_agent.is_some_and(|a| r.agent.as_deref() != Some(a)) {
            replayer.report.filtered_out += 1;
            continue;
        }
        replayer.report.statement_events += 1;
        replayer.statement(*line, r);
    }
    replayer.report
}

/// A replay under way: the candidate rules, one session state per
/// recorded session, and the report so far.
struct Replayer<'a> {
    rules: &'a RuleSet,
    catalogs: &'a HashMap<String, Arc<Catalog>>,
    search_path: &'a [String],
    sessions: HashMap<(String, Option<u64>), SessionState>,
    report: Report,
}

impl Replayer<'_> {
    /// Re-decides the statement event on `line` and reports the outcome.
    fn statement(&mut self, line: usize, r: &Record) {
        let report = &mut self.report;
        let Some(agent_name) = r.agent.clone() else {
            report.not_replayable.push(Unreplayable {
                line,
                agent: None,
                kind: "no_agent",
                detail: "the event names no agent".into(),
            });
            return;
        };
        let counts = report.agents.entry(agent_name.clone()).or_default();
        // Refused at run time (a budget, a window, an approval hold, the
        // token's state) after the policy allowed it: the policy's part is
        // replayed as an allowed statement; the run-time part is not.
        let runtime = r
            .reason
            .as_deref()
            .filter(|reason| r.was_blocked() && RUNTIME_REASONS.contains(reason));
        let was_blocked = r.was_blocked() && runtime.is_none();
        if let Some((kind, detail)) = unreplayable(r, &agent_name, self.rules) {
            counts.not_replayable += 1;
            report.not_replayable.push(Unreplayable {
                line,
                agent: Some(agent_name.clone()),
                kind,
                detail,
            });
            return;
        }
        let agent = self.rules.agent(&agent_name).expect("checked above");
        let sql = r.sql.as_deref().unwrap_or_default();
        let database = r.database.as_deref();
        let catalog = catalog_for(database, self.catalogs);
        let analysis = analyze_recorded(sql, database, self.search_path, self.catalogs);
        let session = self
            .sessions
            .entry((agent_name.clone(), r.session_id))
            .or_default();
        let capability = r.capability();
        let verdict = match database.filter(|d| !agent.may_use_database(d)) {
            Some(db) => database_denial(agent, &agent_name, db),
            None => decide(
                &agent.policy,
                &analysis,
                catalog,
                session,
                capability.as_ref().map(|c| c as &dyn Capability),
            ),
        };
        let held = approvals_holding(agent, &verdict, &analysis);
        if let (Verdict::Allow, Ok(a)) = (&verdict, &analysis) {
            session.executed(a);
        }
        let no_claims = r.token_session() && r.claims.is_none();
        if no_claims {
            report.without_claims += 1;
        }
        let change = |r: &Record| change(line, &agent_name, sql, r, agent);
        if !held.is_empty() {
            report.held_for_approval.push(Change {
                rule: Some(format!("{}: {}", agent.policy.file(), held.join(", "))),
                note: was_blocked.then(|| "recorded blocked".to_owned()),
                ..change(r)
            });
        }
        match (was_blocked, verdict) {
            (false, Verdict::Allow) => counts.unchanged_allowed += 1,
            (true, Verdict::Deny(_)) => counts.unchanged_blocked += 1,
            (false, Verdict::Deny(d)) => {
                counts.newly_blocked += 1;
                let note = newly_blocked_note(
                    d.reason,
                    no_claims,
                    capability.is_some(),
                    agent.policy.mode,
                    runtime,
                );
                report.newly_blocked.push(Change {
                    reason: Some(d.reason.to_owned()),
                    rule: Some(d.rule),
                    message: Some(d.message),
                    hint: d.hint,
                    note,
                    ..change(r)
                });
            }
            (true, Verdict::Allow) => {
                counts.newly_allowed += 1;
                report.newly_allowed.push(Change {
                    recorded_reason: r.reason.clone(),
                    recorded_rule: r.rule.clone(),
                    ..change(r)
                });
            }
        }
    }
}

/// Why the event of `agent_name` cannot be replayed under `rules`, as
/// (kind, detail); `None` when it can.
fn unreplayable(r: &Record, agent_name: &str, rules: &RuleSet) -> Option<(&'static str, String)> {
    if r.sql.is_none() {
        Some((
            "no_sql",
            match (r.was_blocked(), r.reason.as_deref()) {
                (true, Some(reason)) => {
                    format!("a Bind or protocol-level denial recorded without SQL ({reason})")
                }
                _ => "the event records no SQL".into(),
            },
        ))
    } else if r.sql_truncated == Some(true) {
        Some((
            "sql_truncated",
            "the recorded SQL was cut at the audit log's sql_max_bytes".into(),
        ))
    } else if rules.agent(agent_name).is_none() {
        Some((
            "unknown_agent",
            format!("agent {agent_name:?} is not in the candidate rules"),
        ))
    } else {
        None
    }
}

/// The candidate rules do not let the agent connect to the event's database.
fn database_denial(agent: &Agent, agent_name: &str, db: &str) -> Verdict {
    Verdict::Deny(refusals::database_not_allowed(
        &agent.policy.file(),
        agent_name,
        db,
    ))
}

/// The approval rules whose need does not depend on a Bind value.
fn approvals_holding<'a>(
    agent: &'a Agent,
    verdict: &Verdict,
    analysis: &Result<Analysis, AnalysisError>,
) -> Vec<&'a str> {
    match (verdict, analysis) {
        (Verdict::Allow, Ok(a)) if agent.policy.has_approvals() => agent
            .policy
            .approvals_needed(a)
            .unwrap_or_default()
            .iter()
            .filter(|n| n.param.is_none())
            .filter_map(|n| agent.policy.approvals.get(n.index))
            .map(|r| r.rule.as_str())
            .collect(),
        _ => Vec::new(),
    }
}

/// A change of the statement on `line`, without the verdicts.
fn change(line: usize, agent_name: &str, sql: &str, r: &Record, agent: &Agent) -> Change {
    Change {
        line,
        agent: agent_name.to_owned(),
        session_id: r.session_id,
        database: r.database.clone(),
        sql: sql.to_owned(),
        recorded_mode: r.mode.clone(),
        recorded_reason: None,
        recorded_rule: None,
        reason: None,
        rule: None,
        message: None,
        hint: None,
        candidate_mode: agent.policy.mode.name(),
        note: None,
    }
}

/// Why a newly blocked statement may not be what a live session would
/// get: claims the event lacks, a candidate in monitor mode, or a
/// run-time refusal (`runtime`) that is not replayed.
fn newly_blocked_note(
    reason: &str,
    no_claims: bool,
    capability: bool,
    mode: Mode,
    runtime: Option<&str>,
) -> Option<String> {
    match (reason, no_claims, capability) {
        ("claim_missing", true, _) => Some(
            "the event records no claims (an older log, or a token without custom claims): replayed with the subject and token id only".to_owned(),
        ),
        ("claim_missing", _, false) => Some(
            "a secret login carries no claims: rules that need claims deny it".to_owned(),
        ),
        _ if mode == Mode::Monitor => Some(
            "the candidate agent is in monitor mode: this would be audited, not blocked".to_owned(),
        ),
        _ => runtime.map(|reason| {
            format!(
                "recorded as allowed by the policy, then refused at run time ({reason}); the run-time control is not replayed"
            )
        }),
    }
}

#[cfg(test)]
mod tests;
