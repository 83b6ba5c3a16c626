//! `actgate suggest`: proposes a least-privilege rules file for one agent
//! from the statements it was recorded running (typically in monitor
//! mode), for a DBA to review.
//!
//! Every recorded statement that ran is re-analysed; the proposal allows
//! exactly the statement classes, tables with their operations, columns
//! read and written (when the analysis can name them), functions and
//! settings seen, with comments counting the statements behind each
//! entry. The proposal is then loaded with the rules loader and every
//! statement it was built from is decided under it; anything still
//! denied (e.g. what no policy can allow) is listed in a comment, as is
//! every event that could not be used (truncated, unparseable, no SQL).

use super::record::{self, Log, Record, RecordError};
use super::{CatalogLoadError, RUNTIME_REASONS, analyze_recorded, catalog_for, decide};
use crate::policy::analyze::{Access, Class, ColumnAccess, ColumnName, SettingAction};
use crate::policy::builtin;
use crate::policy::catalog::Catalog;
use crate::policy::names::QualifiedName;
use crate::policy::{Capability, SessionState, Verdict};
use crate::rules::RulesError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

mod render;

use render::{comment, render};

/// A verifier in the valid format that no secret matches (its keys are
/// zero): the proposal loads, and nobody can log in until the DBA puts a
/// real one from `actgate secret` in its place.
pub const PLACEHOLDER_VERIFIER: &str = "SCRAM-SHA-256$4096:RURJVC1NRS1wbGFjZWhvbGRlcg==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error(transparent)]
    Audit(#[from] RecordError),
    #[error(transparent)]
    Catalog(#[from] CatalogLoadError),
    #[error("the audit log has no statement events of agent {0:?} that ran")]
    NoStatements(String),
    #[error("agent {0:?}: no recorded statement names its database")]
    NoDatabase(String),
    /// The proposal does not load: a bug in `suggest`, reported rather
    /// than printed.
    #[error("the suggested rules do not load: {0}")]
    Invalid(#[from] RulesError),
}

/// What to read, for whom.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub audit: &'a Path,
    pub agent: &'a str,
    /// Load the live catalog of this database (`postgres://…`) to expand `*`.
    pub database_url: Option<&'a str>,
    pub search_path: &'a [String],
}

/// A proposed rules file and what it was checked against.
#[derive(Debug, Clone)]
pub struct Suggestion {
    /// The rules file (TOML, with review comments).
    pub toml: String,
    /// Audit lines of the statements it was built from.
    pub used: Vec<usize>,
    /// Statements it was built from that it still denies: (line, reason).
    pub uncovered: Vec<(usize, String)>,
}

/// Reads the log (and the catalog) and proposes a policy.
pub async fn run(opts: &Options<'_>) -> Result<Suggestion, SuggestError> {
    let log = record::read(opts.audit)?;
    let catalogs = match opts.database_url {
        Some(url) => super::load_catalog(url, opts.search_path).await?,
        None => HashMap::new(),
    };
    let source = opts.audit.display().to_string();
    super::on_big_stack(|| suggest(&log, &source, opts.agent, &catalogs, opts.search_path))
}

/// Why an event was not used.
#[derive(Default)]
struct Skipped {
    blocked_enforce: usize,
    no_sql: Vec<usize>,
    truncated: Vec<usize>,
    unparseable: Vec<(usize, String)>,
}

#[derive(Default)]
struct TableSeen {
    statements: usize,
    operations: BTreeMap<Access, usize>,
    read: BTreeSet<String>,
    written: BTreeSet<String>,
    /// Statements using `*` (or a whole row) whose columns are unknown.
    read_unknown: usize,
    write_unknown: usize,
}

#[derive(Default)]
struct Seen {
    databases: BTreeMap<String, usize>,
    classes: BTreeMap<Class, usize>,
    tables: BTreeMap<QualifiedName, TableSeen>,
    functions: BTreeMap<String, usize>,
    settings: BTreeMap<String, usize>,
    missing_where: usize,
    token_sessions: usize,
    secret_sessions: usize,
    claim_names: BTreeSet<String>,
    allowed: usize,
    monitor_blocked: usize,
}

/// Proposes a policy for `agent` from `log`; `source` names the log in
/// the header comment.
pub fn suggest(
    log: &Log,
    source: &str,
    agent: &str,
    catalogs: &HashMap<String, Arc<Catalog>>,
    search_path: &[String],
) -> Result<Suggestion, SuggestError> {
    let default_schema = search_path.first().map(String::as_str).unwrap_or("public");
    let mut seen = Seen::default();
    let mut skipped = Skipped::default();
    let mut used: Vec<(usize, &Record)> = Vec::new();
    for (line, r) in &log.records {
        if !r.is_statement() || r.agent.as_deref() != Some(agent) {
            continue;
        }
        // Refused at run time (a budget, a window, an approval hold) after
        // the policy allowed it: the agent needs what it used.
        let runtime = r.was_blocked()
            && r.reason
                .as_deref()
                .is_some_and(|x| RUNTIME_REASONS.contains(&x));
        if r.was_blocked() && !r.monitor() && !runtime {
            // It never ran: widening the policy to it is replay's question.
            skipped.blocked_enforce += 1;
            continue;
        }
        let Some(sql) = r.sql.as_deref() else {
            skipped.no_sql.push(*line);
            continue;
        };
        if r.sql_truncated == Some(true) {
            skipped.truncated.push(*line);
            continue;
        }
        let database = r.database.as_deref();
        let analysis = match analyze_recorded(sql, database, search_path, catalogs) {
            Ok(a) => a,
            Err(e) => {
                skipped.unparseable.push((*line, e.to_string()));
                continue;
            }
        };
        used.push((*line, r));
        if r.was_blocked() {
            seen.monitor_blocked += 1;
        } else {
            seen.allowed += 1;
        }
        if let Some(db) = database {
            *seen.databases.entry(db.to_owned()).or_default() += 1;
        }
        if r.token_session() {
            seen.token_sessions += 1;
            seen.claim_names
                .extend(r.claims.iter().flat_map(|c| c.keys().cloned()));
        } else {
            seen.secret_sessions += 1;
        }
        let catalog = catalog_for(database, catalogs);
        // What this one statement needs; counted once per statement.
        let mut classes = BTreeSet::new();
        let mut functions = BTreeSet::new();
        let mut settings = BTreeSet::new();
        let mut tables: BTreeMap<QualifiedName, TableSeen> = BTreeMap::new();
        let mut missing_where = false;
        for st in &analysis.statements {
            for c in &st.classes {
                // Allowed without listing them (driver_profile stays on).
                let implicit = *c == Class::Transaction
                    || *c == Class::Session
                    || st.housekeeping
                    || crate::policy::implied(st, *c);
                if !implicit {
                    classes.insert(*c);
                }
            }
            for s in &st.settings {
                let custom = s.name.contains('.');
                let needed = match s.action {
                    SettingAction::Show => custom,
                    // Allowed without listing them (driver_profile stays
                    // on): narrowing the session, RESET ALL / DISCARD ALL.
                    SettingAction::Narrow => false,
                    SettingAction::Reset | SettingAction::Discard
                        if s.name == "all"
                            || builtin::NARROWABLE_SETTINGS.contains(&s.name.as_str()) =>
                    {
                        false
                    }
                    _ => custom || !builtin::SETTINGS.contains(&s.name.as_str()),
                };
                if needed {
                    settings.insert(s.name.clone());
                }
            }
            for f in &st.functions {
                let builtin = (f.schema == "pg_catalog"
                    && (builtin::is_builtin_function(&f.name)
                        || builtin::is_driver_function(&f.name)))
                    || builtin::is_driver_qualified_function(&f.schema, &f.name);
                if !builtin {
                    functions.insert(f.to_string());
                }
            }
            for rel in &st.relations {
                let system =
                    rel.name.schema == "pg_catalog" || rel.name.schema == "information_schema";
                if system
                    && rel.access == Access::Read
                    && builtin::listed(builtin::DRIVER_RELATIONS, &rel.name.schema, &rel.name.name)
                {
                    continue;
                }
                let t = tables.entry(rel.name.clone()).or_default();
                t.operations.insert(rel.access, 1);
            }
            let mut column = |relation: &QualifiedName, column: &ColumnName, access| {
                let Some(t) = tables.get_mut(relation) else {
                    return;
                };
                let names: Option<Vec<String>> = match column {
                    ColumnName::Named(n) => Some(vec![n.clone()]),
                    ColumnName::All => catalog
                        .and_then(|c| c.columns(relation))
                        .map(|c| c.to_vec()),
                };
                match (names, access) {
                    (Some(n), ColumnAccess::Read) => t.read.extend(n),
                    (Some(n), ColumnAccess::Write) => t.written.extend(n),
                    (None, ColumnAccess::Read) => t.read_unknown = 1,
                    (None, ColumnAccess::Write) => t.write_unknown = 1,
                }
            };
            for c in &st.columns {
                column(&c.relation, &c.column, c.access);
            }
            for a in &st.ambiguous {
                for (t, c) in &a.candidates {
                    column(t, c, ColumnAccess::Read);
                }
            }
            missing_where |= st.missing_where;
        }
        for c in classes {
            *seen.classes.entry(c).or_default() += 1;
        }
        for f in functions {
            *seen.functions.entry(f).or_default() += 1;
        }
        for s in settings {
            *seen.settings.entry(s).or_default() += 1;
        }
        seen.missing_where += usize::from(missing_where);
        for (name, t) in tables {
            let all = seen.tables.entry(name).or_default();
            all.statements += 1;
            for (op, n) in t.operations {
                *all.operations.entry(op).or_default() += n;
            }
            all.read.extend(t.read);
            all.written.extend(t.written);
            all.read_unknown += t.read_unknown;
            all.write_unknown += t.write_unknown;
        }
    }
    if used.is_empty() {
        return Err(SuggestError::NoStatements(agent.to_owned()));
    }
    if seen.databases.is_empty() {
        return Err(SuggestError::NoDatabase(agent.to_owned()));
    }
    let mut toml = render(
        &seen,
        &skipped,
        source,
        agent,
        default_schema,
        !catalogs.is_empty(),
    );

    // The proposal must load, and allow what it was built from.
    let compiled =
        crate::rules::parse_agent(&toml, Path::new("suggested.toml"), search_path, catalogs)?;
    let mut sessions: HashMap<Option<u64>, SessionState> = HashMap::new();
    let mut uncovered = Vec::new();
    for (line, r) in &used {
        let database = r.database.as_deref();
        let analysis = analyze_recorded(
            r.sql.as_deref().unwrap_or_default(),
            database,
            search_path,
            catalogs,
        );
        let session = sessions.entry(r.session_id).or_default();
        let capability = r.capability();
        let verdict = decide(
            &compiled.policy,
            &analysis,
            catalog_for(database, catalogs),
            session,
            capability.as_ref().map(|c| c as &dyn Capability),
        );
        match (&verdict, &analysis) {
            (Verdict::Allow, Ok(a)) => session.executed(a),
            (Verdict::Deny(d), _) => {
                uncovered.push((*line, format!("{}: {}", d.reason, d.message)))
            }
            _ => {}
        }
    }
    if !uncovered.is_empty() {
        let _ = writeln!(
            toml,
            "\n# NOT COVERED: {} recorded statement(s) this policy still denies (no rules file can allow them, or they need a claim or catalog this replay lacks):",
            uncovered.len()
        );
        for (line, why) in &uncovered {
            let _ = writeln!(toml, "#   line {line}: {}", comment(why));
        }
    }
    Ok(Suggestion {
        toml,
        used: used.iter().map(|(l, _)| *l).collect(),
        uncovered,
    })
}

#[cfg(test)]
mod tests;
