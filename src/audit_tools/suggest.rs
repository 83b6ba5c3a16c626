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
use crate::policy::analyze::{
    Access, Analysis, Class, ColumnAccess, ColumnName, SettingAction, SettingUse, StatementInfo,
};
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
    let (seen, skipped, used) = collect(log, agent, catalogs, search_path);
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
    let uncovered = still_denied(&toml, &used, catalogs, search_path)?;
    append_uncovered(&mut toml, &uncovered);
    Ok(Suggestion {
        toml,
        used: used.iter().map(|(l, _)| *l).collect(),
        uncovered,
    })
}

/// Reads `agent`'s recorded statements: what those that ran need, why
/// the others were not used, and the (line, record) of each one used.
fn collect<'a>(
    log: &'a Log,
    agent: &str,
    catalogs: &HashMap<String, Arc<Catalog>>,
    search_path: &[String],
) -> (Seen, Skipped, Vec<(usize, &'a Record)>) {
    let mut seen = Seen::default();
    let mut skipped = Skipped::default();
    let mut used: Vec<(usize, &Record)> = Vec::new();
    for (line, r) in &log.records {
        if !r.is_statement() || r.agent.as_deref() != Some(agent) {
            continue;
        }
        let Some(sql) = skipped.usable_sql(*line, r) else {
            continue;
        };
        let database = r.database.as_deref();
        let analysis = match analyze_recorded(sql, database, search_path, catalogs) {
            Ok(a) => a,
            Err(e) => {
                skipped.unparseable.push((*line, e.to_string()));
                continue;
            }
        };
        used.push((*line, r));
        seen.statement(r, database);
        seen.add(Needs::of(&analysis, catalog_for(database, catalogs)));
    }
    (seen, skipped, used)
}

impl Skipped {
    /// The SQL of a recorded statement that ran; `None` (counted here,
    /// under the reason) when it cannot be used.
    fn usable_sql<'r>(&mut self, line: usize, r: &'r Record) -> Option<&'r str> {
        // Refused at run time (a budget, a window, an approval hold) after
        // the policy allowed it: the agent needs what it used.
        let runtime = r.was_blocked()
            && r.reason
                .as_deref()
                .is_some_and(|x| RUNTIME_REASONS.contains(&x));
        if r.was_blocked() && !r.monitor() && !runtime {
            // It never ran: widening the policy to it is replay's question.
            self.blocked_enforce += 1;
            return None;
        }
        let Some(sql) = r.sql.as_deref() else {
            self.no_sql.push(line);
            return None;
        };
        if r.sql_truncated == Some(true) {
            self.truncated.push(line);
            return None;
        }
        Some(sql)
    }
}

impl Seen {
    /// Counts a used statement: how it was decided, its database and the
    /// way its session logged in.
    fn statement(&mut self, r: &Record, database: Option<&str>) {
        if r.was_blocked() {
            self.monitor_blocked += 1;
        } else {
            self.allowed += 1;
        }
        if let Some(db) = database {
            *self.databases.entry(db.to_owned()).or_default() += 1;
        }
        if r.token_session() {
            self.token_sessions += 1;
            self.claim_names
                .extend(r.claims.iter().flat_map(|c| c.keys().cloned()));
        } else {
            self.secret_sessions += 1;
        }
    }

    /// Adds what one statement needs.
    fn add(&mut self, needs: Needs) {
        for c in needs.classes {
            *self.classes.entry(c).or_default() += 1;
        }
        for f in needs.functions {
            *self.functions.entry(f).or_default() += 1;
        }
        for s in needs.settings {
            *self.settings.entry(s).or_default() += 1;
        }
        self.missing_where += usize::from(needs.missing_where);
        for (name, t) in needs.tables {
            let all = self.tables.entry(name).or_default();
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
}

/// What one recorded statement needs; counted once per statement.
#[derive(Default)]
struct Needs {
    classes: BTreeSet<Class>,
    functions: BTreeSet<String>,
    settings: BTreeSet<String>,
    tables: BTreeMap<QualifiedName, TableSeen>,
    missing_where: bool,
}

impl Needs {
    fn of(analysis: &Analysis, catalog: Option<&Catalog>) -> Needs {
        let mut needs = Needs::default();
        for st in &analysis.statements {
            for c in &st.classes {
                if class_needed(st, *c) {
                    needs.classes.insert(*c);
                }
            }
            for s in &st.settings {
                if setting_needed(s) {
                    needs.settings.insert(s.name.clone());
                }
            }
            for f in &st.functions {
                if !builtin_function(f) {
                    needs.functions.insert(f.to_string());
                }
            }
            needs.tables_of(st, catalog);
            needs.missing_where |= st.missing_where;
        }
        needs
    }

    /// The tables `st` uses, with their operations and columns.
    fn tables_of(&mut self, st: &StatementInfo, catalog: Option<&Catalog>) {
        let tables = &mut self.tables;
        for rel in &st.relations {
            let system = rel.name.schema == "pg_catalog" || rel.name.schema == "information_schema";
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
    }
}

/// Whether the rules file must list class `c` of `st`: transaction and
/// session statements, housekeeping and implied classes are allowed
/// without listing them (driver_profile stays on).
fn class_needed(st: &StatementInfo, c: Class) -> bool {
    let implicit = c == Class::Transaction
        || c == Class::Session
        || st.housekeeping
        || crate::policy::implied(st, c);
    !implicit
}

/// Whether the rules file must list the setting `s` uses.
fn setting_needed(s: &SettingUse) -> bool {
    let custom = s.name.contains('.');
    match s.action {
        SettingAction::Show => custom,
        // Allowed without listing them (driver_profile stays
        // on): narrowing the session, RESET ALL / DISCARD ALL.
        SettingAction::Narrow => false,
        SettingAction::Reset | SettingAction::Discard
            if s.name == "all" || builtin::NARROWABLE_SETTINGS.contains(&s.name.as_str()) =>
        {
            false
        }
        _ => custom || !builtin::SETTINGS.contains(&s.name.as_str()),
    }
}

/// A function on the built-in or driver allow-list: never listed.
fn builtin_function(f: &QualifiedName) -> bool {
    (f.schema == "pg_catalog"
        && (builtin::is_builtin_function(&f.name) || builtin::is_driver_function(&f.name)))
        || builtin::is_driver_qualified_function(&f.schema, &f.name)
}

/// Loads the proposal and decides under it every statement it was built
/// from: those it still denies, as (line, reason).
fn still_denied(
    toml: &str,
    used: &[(usize, &Record)],
    catalogs: &HashMap<String, Arc<Catalog>>,
    search_path: &[String],
) -> Result<Vec<(usize, String)>, SuggestError> {
    let compiled =
        crate::rules::parse_agent(toml, Path::new("suggested.toml"), search_path, catalogs)?;
    let mut sessions: HashMap<Option<u64>, SessionState> = HashMap::new();
    let mut uncovered = Vec::new();
    for (line, r) in used {
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
    Ok(uncovered)
}

/// Lists the statements the proposal still denies in a closing comment.
fn append_uncovered(toml: &mut String, uncovered: &[(usize, String)]) {
    if !uncovered.is_empty() {
        let _ = writeln!(
            toml,
            "\n# NOT COVERED: {} recorded statement(s) this policy still denies (no rules file can allow them, or they need a claim or catalog this replay lacks):",
            uncovered.len()
        );
        for (line, why) in uncovered {
            let _ = writeln!(toml, "#   line {line}: {}", comment(why));
        }
    }
}

#[cfg(test)]
mod tests;
