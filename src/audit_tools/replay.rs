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
use crate::policy::catalog::Catalog;
use crate::policy::{Capability, Mode, SessionState, Verdict};
use crate::rules::{RuleSet, RulesError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

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
    let mut report = Report {
        catalog: !catalogs.is_empty(),
        malformed: log.malformed.clone(),
        ..Report::default()
    };
    let mut sessions: HashMap<(String, Option<u64>), SessionState> = HashMap::new();
    for (line, r) in &log.records {
        if !r.is_statement() {
            report.other_events += 1;
            continue;
        }
        if only_agent.is_some_and(|a| r.agent.as_deref() != Some(a)) {
            report.filtered_out += 1;
            continue;
        }
        report.statement_events += 1;
        let line = *line;
        let Some(agent_name) = r.agent.clone() else {
            report.not_replayable.push(Unreplayable {
                line,
                agent: None,
                kind: "no_agent",
                detail: "the event names no agent".into(),
            });
            continue;
        };
        let counts = report.agents.entry(agent_name.clone()).or_default();
        let skip = |kind, detail: String| Unreplayable {
            line,
            agent: Some(agent_name.clone()),
            kind,
            detail,
        };
        // Refused at run time (a budget, a window, an approval hold, the
        // token's state) after the policy allowed it: the policy's part is
        // replayed as an allowed statement; the run-time part is not.
        let runtime = r
            .reason
            .as_deref()
            .filter(|reason| r.was_blocked() && RUNTIME_REASONS.contains(reason));
        let was_blocked = r.was_blocked() && runtime.is_none();
        let unreplayable = if r.sql.is_none() {
            Some(skip(
                "no_sql",
                match (r.was_blocked(), r.reason.as_deref()) {
                    (true, Some(reason)) => {
                        format!("a Bind or protocol-level denial recorded without SQL ({reason})")
                    }
                    _ => "the event records no SQL".into(),
                },
            ))
        } else if r.sql_truncated == Some(true) {
            Some(skip(
                "sql_truncated",
                "the recorded SQL was cut at the audit log's sql_max_bytes".into(),
            ))
        } else if rules.agent(&agent_name).is_none() {
            Some(skip(
                "unknown_agent",
                format!("agent {agent_name:?} is not in the candidate rules"),
            ))
        } else {
            None
        };
        if let Some(u) = unreplayable {
            counts.not_replayable += 1;
            report.not_replayable.push(u);
            continue;
        }
        let agent = rules.agent(&agent_name).expect("checked above");
        let sql = r.sql.as_deref().unwrap_or_default();
        let database = r.database.as_deref();
        let catalog = catalog_for(database, catalogs);
        let analysis = analyze_recorded(sql, database, search_path, catalogs);
        let session = sessions
            .entry((agent_name.clone(), r.session_id))
            .or_default();
        let capability = r.capability();
        let verdict = match database.filter(|d| !agent.may_use_database(d)) {
            Some(db) => Verdict::Deny(crate::policy::Denial {
                sqlstate: "3D000",
                reason: "database_not_allowed",
                rule: format!("{}: agent.databases", agent.policy.file()),
                message: format!(
                    "agent {agent_name:?} may not connect to database {db:?} under the candidate rules"
                ),
                hint: None,
            }),
            None => decide(
                &agent.policy,
                &analysis,
                catalog,
                session,
                capability.as_ref().map(|c| c as &dyn Capability),
            ),
        };
        // The approval rules whose need does not depend on a Bind value.
        let held: Vec<&str> = match (&verdict, &analysis) {
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
        };
        if let (Verdict::Allow, Ok(a)) = (&verdict, &analysis) {
            session.executed(a);
        }
        let no_claims = r.token_session() && r.claims.is_none();
        if no_claims {
            report.without_claims += 1;
        }
        let change = |r: &Record| Change {
            line,
            agent: agent_name.clone(),
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
        };
        if !held.is_empty() {
            report.held_for_approval.push(Change {
                rule: Some(format!("{}: {}", agent.policy.file(), held.join(", "))),
                note: was_blocked.then(|| "recorded blocked".to_owned()),
                ..change(r)
            });
        }
        let runtime_note = runtime.map(|reason| {
            format!(
                "recorded as allowed by the policy, then refused at run time ({reason}); the run-time control is not replayed"
            )
        });
        match (was_blocked, verdict) {
            (false, Verdict::Allow) => counts.unchanged_allowed += 1,
            (true, Verdict::Deny(_)) => counts.unchanged_blocked += 1,
            (false, Verdict::Deny(d)) => {
                counts.newly_blocked += 1;
                let note = match (d.reason, no_claims, capability.is_some()) {
                    ("claim_missing", true, _) => Some(
                        "the event records no claims (an older log, or a token without custom claims): replayed with the subject and token id only".to_owned(),
                    ),
                    ("claim_missing", _, false) => Some(
                        "a secret login carries no claims: rules that need claims deny it".to_owned(),
                    ),
                    _ if agent.policy.mode == Mode::Monitor => Some(
                        "the candidate agent is in monitor mode: this would be audited, not blocked".to_owned(),
                    ),
                    _ => runtime_note,
                };
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
    report
}

/// One line of SQL for the text report.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The human-readable report.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "replayed {} statement events from {} under {} (catalog: {})",
        report.statement_events,
        report.audit,
        report.rules,
        if report.catalog {
            "live"
        } else {
            "none, * is not expanded"
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>14} {:>14} {:>15}",
        "agent", "allowed", "blocked", "newly blocked", "newly allowed", "not replayable"
    );
    for (agent, c) in &report.agents {
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>10} {:>14} {:>14} {:>15}",
            agent,
            c.unchanged_allowed,
            c.unchanged_blocked,
            c.newly_blocked,
            c.newly_allowed,
            c.not_replayable
        );
    }
    let _ = writeln!(
        out,
        "(allowed, blocked: unchanged; blocked includes monitor-mode events that would have been blocked)"
    );
    if !report.newly_blocked.is_empty() {
        let _ = writeln!(out, "\nnewly blocked: {}", report.newly_blocked.len());
        for c in &report.newly_blocked {
            let _ = writeln!(
                out,
                "  line {}: {}{} (recorded allowed{})",
                c.line,
                c.agent,
                session(c.session_id),
                mode(&c.recorded_mode)
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
            let _ = writeln!(
                out,
                "    now:     denied: {} ({})",
                c.reason.as_deref().unwrap_or_default(),
                c.rule.as_deref().unwrap_or_default()
            );
            if let Some(m) = &c.message {
                let _ = writeln!(out, "    message: {m}");
            }
            if let Some(n) = &c.note {
                let _ = writeln!(out, "    note:    {n}");
            }
        }
    }
    if !report.newly_allowed.is_empty() {
        let _ = writeln!(out, "\nnewly allowed: {}", report.newly_allowed.len());
        for c in &report.newly_allowed {
            let _ = writeln!(
                out,
                "  line {}: {}{} (recorded blocked{}: {})",
                c.line,
                c.agent,
                session(c.session_id),
                mode(&c.recorded_mode),
                c.recorded_reason.as_deref().unwrap_or("no reason recorded")
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
        }
    }
    if !report.held_for_approval.is_empty() {
        let _ = writeln!(
            out,
            "\nheld for approval (allowed, but an operator must approve each run): {}",
            report.held_for_approval.len()
        );
        for c in &report.held_for_approval {
            let _ = writeln!(
                out,
                "  line {}: {}{} ({})",
                c.line,
                c.agent,
                session(c.session_id),
                c.rule.as_deref().unwrap_or_default()
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
        }
    }
    if !report.not_replayable.is_empty() {
        let _ = writeln!(out, "\nnot replayable: {}", report.not_replayable.len());
        for u in &report.not_replayable {
            let _ = writeln!(
                out,
                "  line {}: {}: {}: {}",
                u.line,
                u.agent.as_deref().unwrap_or("(no agent)"),
                u.kind,
                u.detail
            );
        }
    }
    if !report.malformed.is_empty() {
        let _ = writeln!(out, "\nmalformed lines: {}", report.malformed.len());
        for m in &report.malformed {
            let _ = writeln!(out, "  line {}: {}", m.line, m.error);
        }
    }
    let _ = writeln!(out);
    if report.without_claims > 0 {
        let _ = writeln!(
            out,
            "{} token-session events record no claims: rules that need claims deny them, as for a secret login",
            report.without_claims
        );
    }
    if report.other_events > 0 {
        let _ = writeln!(
            out,
            "{} other events (logins, suspensions, drop reports) are not statements and were not replayed",
            report.other_events
        );
    }
    if report.filtered_out > 0 {
        let _ = writeln!(
            out,
            "{} statement events of other agents were left out (--agent)",
            report.filtered_out
        );
    }
    let _ = match report.newly_blocked.len() {
        0 => writeln!(
            out,
            "result: nothing would be newly blocked (exit status 0)"
        ),
        n => writeln!(
            out,
            "result: {n} statement(s) would be newly blocked (exit status 1)"
        ),
    };
    out
}

fn session(id: Option<u64>) -> String {
    id.map(|s| format!(", session {s}")).unwrap_or_default()
}

fn mode(m: &Option<String>) -> String {
    match m.as_deref() {
        Some("monitor") => " in monitor mode".into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_agent;

    const VERIFIER: &str = "SCRAM-SHA-256$4096:8KwgthCCVYh5FX1IFo9YwQ==$+aaZKqOWGfp6oc8iQTpv34zTqy7Jp/lCrAkbFTJ2dtI=:GQJEfM66DEdPh+OEpEqK1NbGrPtmB2v2C2vzN3fiDEg=";

    fn sp() -> Vec<String> {
        vec!["public".into()]
    }

    fn rules(files: &[&str]) -> RuleSet {
        let mut set = RuleSet::default();
        for (i, text) in files.iter().enumerate() {
            let path = format!("candidate/{i}.toml");
            set.add(parse_agent(text, Path::new(&path), &sp(), &HashMap::new()).unwrap())
                .unwrap();
        }
        set
    }

    fn analytics(extra: &str) -> String {
        format!(
            "[agent]\nname = \"analytics\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{VERIFIER}\"\n[policy]\nstatements = [\"read\"]\n[tables.orders]\noperations = [\"select\"]\n{extra}"
        )
    }

    fn event(event: &str, sql: &str) -> String {
        serde_json::json!({
            "v": 1, "event": event, "agent": "analytics", "session_id": 1,
            "database": "shop", "mode": "enforce", "sql": sql, "sql_truncated": false,
        })
        .to_string()
    }

    #[test]
    fn verdicts_are_compared_with_the_recorded_ones() {
        let log = record::parse(
            &[
                event("statement_allowed", "SELECT id FROM orders"),
                event("statement_allowed", "SELECT name FROM products"),
                event("statement_blocked", "SELECT id FROM refunds"),
                event("statement_blocked", "DELETE FROM orders WHERE id = 1"),
            ]
            .join("\n"),
        );
        let set = rules(&[&analytics("[tables.refunds]\noperations = [\"select\"]\n")]);
        let report = replay(&log, &set, &HashMap::new(), &sp(), None);
        let counts = &report.agents["analytics"];
        assert_eq!(counts.unchanged_allowed, 1);
        assert_eq!(counts.unchanged_blocked, 1);
        assert_eq!(report.newly_blocked.len(), 1);
        assert_eq!(report.newly_blocked[0].line, 2);
        assert_eq!(
            report.newly_blocked[0].reason.as_deref(),
            Some("table_not_allowed")
        );
        assert_eq!(report.newly_allowed.len(), 1);
        assert_eq!(report.newly_allowed[0].line, 3);
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn what_cannot_be_replayed_is_listed_with_why() {
        let truncated = serde_json::json!({
            "event": "statement_allowed", "agent": "analytics", "sql": "SELECT id FR",
            "sql_truncated": true,
        });
        let bind = serde_json::json!({
            "event": "statement_blocked", "agent": "analytics", "reason": "unknown_prepared_statement",
        });
        let ghost = serde_json::json!({
            "event": "statement_allowed", "agent": "ghost", "sql": "SELECT 1",
        });
        let budget = serde_json::json!({
            "event": "statement_blocked", "agent": "analytics", "sql": "SELECT id FROM orders",
            "reason": "rate_limited",
        });
        let login = serde_json::json!({"event": "login_succeeded", "agent": "analytics"});
        let log = record::parse(&format!(
            "{truncated}\n{bind}\n{ghost}\n{budget}\n{login}\n{{oops\n"
        ));
        let report = replay(
            &log,
            &rules(&[&analytics("")]),
            &HashMap::new(),
            &sp(),
            None,
        );
        let kinds: Vec<(usize, &str)> = report
            .not_replayable
            .iter()
            .map(|u| (u.line, u.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![(1, "sql_truncated"), (2, "no_sql"), (3, "unknown_agent")]
        );
        // The budget refusal is replayed as the policy's allow.
        assert_eq!(report.agents["analytics"].unchanged_allowed, 1);
        assert_eq!(report.other_events, 1);
        assert_eq!(report.malformed.len(), 1);
        assert_eq!(report.malformed[0].line, 6);
        assert_eq!(report.exit_code(), 0);
        let text = render_text(&report);
        assert!(text.contains("line 6: "), "{text}");
        assert!(text.contains("not replayable: 3"), "{text}");
    }

    #[test]
    fn claims_scope_rows_and_their_absence_is_explained() {
        let scoped = "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nauth = \"token\"\n[policy]\nstatements = [\"read\"]\n[tables.orders]\noperations = [\"select\"]\nscope = { customer_id = \"{{claims.customer_id}}\" }\n";
        let with = serde_json::json!({
            "event": "statement_allowed", "agent": "bot", "database": "shop",
            "subject": "customer-42", "token_id": "t1", "claims": {"customer_id": "42"},
            "sql": "SELECT id FROM orders WHERE customer_id = 42",
        });
        let other = serde_json::json!({
            "event": "statement_allowed", "agent": "bot", "database": "shop",
            "subject": "customer-42", "token_id": "t1", "claims": {"customer_id": "42"},
            "sql": "SELECT id FROM orders WHERE customer_id = 7",
        });
        let without = serde_json::json!({
            "event": "statement_allowed", "agent": "bot", "database": "shop",
            "subject": "customer-42", "token_id": "t1",
            "sql": "SELECT id FROM orders WHERE customer_id = 42",
        });
        let log = record::parse(&format!("{with}\n{other}\n{without}"));
        let report = replay(&log, &rules(&[scoped]), &HashMap::new(), &sp(), None);
        assert_eq!(report.agents["bot"].unchanged_allowed, 1);
        let blocked: Vec<(usize, Option<&str>)> = report
            .newly_blocked
            .iter()
            .map(|c| (c.line, c.reason.as_deref()))
            .collect();
        assert_eq!(
            blocked,
            vec![(2, Some("scope_violation")), (3, Some("claim_missing"))]
        );
        assert!(
            report.newly_blocked[1]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("no claims")),
            "{:?}",
            report.newly_blocked[1]
        );
        assert_eq!(report.without_claims, 1);
    }

    #[test]
    fn a_prepared_statement_is_seen_by_its_execute_in_the_same_session() {
        let policy = analytics("").replace(
            "statements = [\"read\"]",
            "statements = [\"read\", \"prepare\", \"execute\"]",
        );
        let log = record::parse(
            &[
                event("statement_allowed", "PREPARE q AS SELECT id FROM orders"),
                event("statement_allowed", "EXECUTE q"),
            ]
            .join("\n"),
        );
        let report = replay(&log, &rules(&[&policy]), &HashMap::new(), &sp(), None);
        assert_eq!(
            report.agents["analytics"].unchanged_allowed, 2,
            "{report:?}"
        );
    }

    #[test]
    fn a_database_the_candidate_drops_blocks_its_statements() {
        let log = record::parse(&event("statement_allowed", "SELECT id FROM orders"));
        let moved = analytics("").replace("[\"shop\"]", "[\"warehouse\"]");
        let report = replay(&log, &rules(&[&moved]), &HashMap::new(), &sp(), None);
        assert_eq!(
            report.newly_blocked[0].reason.as_deref(),
            Some("database_not_allowed")
        );
    }
}
