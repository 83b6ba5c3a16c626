//! `actgate check`: validates a rules directory and reports every problem
//! it can find, each with its file, line and column when known.
//!
//! Errors are what would stop `serve` from starting: files that do not
//! parse, unknown keys, invalid values, contradictions, duplicate agents
//! and, against a live catalog, tables, columns and functions that do not
//! exist. They come from the rules loader and compiler themselves
//! ([`crate::rules::parse_agent_all`]), so `check` and `serve` cannot
//! disagree. Warnings are rules that load but can never take effect; they
//! fail the check only in strict mode.

use crate::policy::analyze::Class;
use crate::policy::catalog::Catalog;
use crate::rules::{self, RuleSet, RulesError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The rules would not load.
    Error,
    /// The rules load, but part of them can never take effect.
    Warning,
}

/// One problem, located in its file when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: PathBuf,
    /// Line and column, 1-based, when known.
    pub location: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: error: message` (or `path: error: message`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, column)) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, ": {severity}: {}", self.message)
    }
}

impl Diagnostic {
    fn error(path: &Path, location: Option<(usize, usize)>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.to_owned(),
            location,
            message: message.into(),
        }
    }

    /// The diagnostic for a loader error.
    fn from_rules_error(e: RulesError, fallback: &Path) -> Diagnostic {
        match e {
            RulesError::Parse {
                path,
                location,
                brief,
                ..
            } => Diagnostic::error(&path, location, brief),
            RulesError::Compile(c) => {
                Diagnostic::error(&c.path, Some((c.line, c.column)), c.message)
            }
            RulesError::Invalid { path, message } => Diagnostic::error(&path, None, message),
            RulesError::ReadFile { path, source } => {
                Diagnostic::error(&path, None, format!("cannot read: {source}"))
            }
            RulesError::Duplicate { path, name, first } => Diagnostic::error(
                &path,
                None,
                format!("agent {name:?} is already defined in {}", first.display()),
            ),
            other => Diagnostic::error(fallback, None, other.to_string()),
        }
    }
}

/// The outcome of checking a rules directory.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In file order; within a file, by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Agent files read.
    pub files: usize,
    /// Agents that loaded.
    pub agents: usize,
    /// The database whose catalog the rules were checked against.
    pub database: Option<String>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    /// No errors (and, when `strict`, no warnings).
    pub fn passed(&self, strict: bool) -> bool {
        self.errors() == 0 && (!strict || self.warnings() == 0)
    }

    /// Every diagnostic on its own line, then the summary line.
    pub fn render(&self, strict: bool) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            out.push_str(&d.to_string());
            out.push('\n');
        }
        let against = match &self.database {
            Some(db) => format!(" against the catalog of database {db:?}"),
            None => " (no database: tables, columns and functions not checked)".to_owned(),
        };
        out.push_str(&format!(
            "check {}: {} agent file{}, {} agent{} loaded{against}; {} error{}, {} warning{}\n",
            if self.passed(strict) { "ok" } else { "FAILED" },
            self.files,
            plural(self.files),
            self.agents,
            plural(self.agents),
            self.errors(),
            plural(self.errors()),
            self.warnings(),
            plural(self.warnings()),
        ));
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Checks every agent file of `dir`. With `catalog` (the live catalog of
/// `database`), every agent is checked against it, whatever databases it
/// names, so a staging copy under another name can stand in.
pub fn check_dir(
    dir: &Path,
    search_path: &[String],
    catalog: Option<(&str, &Arc<Catalog>)>,
) -> Report {
    let mut report = Report {
        database: catalog.map(|(db, _)| db.to_owned()),
        ..Report::default()
    };
    let files = match rules::agent_files(dir) {
        Ok(files) => files,
        Err(e) => {
            report
                .diagnostics
                .push(Diagnostic::from_rules_error(e, dir));
            return report;
        }
    };
    let mut set = RuleSet::default();
    for path in files {
        report.files += 1;
        let mut found = check_file(&path, search_path, catalog, &mut set);
        found.sort_by_key(|d| (d.location, d.severity));
        report.diagnostics.extend(found);
    }
    report.agents = set.agents().count();
    if report.files == 0 {
        report.diagnostics.push(Diagnostic::error(
            dir,
            None,
            "the rules directory has no agent files (*.toml)",
        ));
    }
    report
}

fn check_file(
    path: &Path,
    search_path: &[String],
    catalog: Option<(&str, &Arc<Catalog>)>,
    set: &mut RuleSet,
) -> Vec<Diagnostic> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(source) => {
            return vec![Diagnostic::error(
                path,
                None,
                format!("cannot read: {source}"),
            )];
        }
    };
    // Keys the loader does not know are its business; this lenient view
    // only serves the warnings below and the catalog lookup.
    let lint: Option<LintFile> = toml::from_str(&text).ok();
    let mut catalogs = HashMap::new();
    if let (Some((_, cat)), Some(lint)) = (catalog, &lint) {
        for db in &lint.agent.databases {
            catalogs.insert(db.clone(), Arc::clone(cat));
        }
    }
    let mut found = Vec::new();
    if let Some(lint) = &lint {
        warnings(lint, &text, path, &mut found);
    }
    match rules::parse_agent_all(&text, path, search_path, &catalogs) {
        Err(problems) => found.extend(
            problems
                .into_iter()
                .map(|e| Diagnostic::from_rules_error(e, path)),
        ),
        Ok(agent) => {
            if let Err(e) = set.add(agent) {
                found.push(Diagnostic::from_rules_error(e, path));
            }
        }
    }
    found
}

/// The parts of an agent file the warnings look at; other keys are
/// ignored here (the loader rejects unknown ones).
#[derive(Debug, Default, Deserialize)]
struct LintFile {
    #[serde(default)]
    agent: LintAgent,
    #[serde(default)]
    policy: LintPolicy,
    #[serde(default)]
    tables: BTreeMap<Spanned<String>, LintTable>,
    #[serde(default)]
    schemas: BTreeMap<String, toml::Value>,
    #[serde(default)]
    approvals: Vec<LintApproval>,
}

#[derive(Debug, Default, Deserialize)]
struct LintApproval {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    table: Option<Spanned<String>>,
    #[serde(default)]
    operations: Vec<String>,
    #[serde(default)]
    column: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LintPolicy {
    #[serde(default)]
    statements: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LintAgent {
    #[serde(default)]
    name: String,
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    databases: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LintTable {
    #[serde(default)]
    operations: Vec<Spanned<String>>,
    #[serde(default)]
    scope: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// Statement classes under which a table operation can occur. Reads
/// happen inside many kinds of statement, so `select` is generous.
fn classes_using(operation: &str) -> &'static [Class] {
    match operation {
        "select" => &[
            Class::Read,
            Class::Insert,
            Class::Update,
            Class::Delete,
            Class::Merge,
            Class::Copy,
            Class::Cursor,
            Class::Ddl,
            Class::Explain,
        ],
        "insert" => &[Class::Insert, Class::Merge, Class::Copy],
        "update" => &[Class::Update, Class::Merge],
        "delete" => &[Class::Delete, Class::Merge],
        "truncate" => &[Class::Truncate],
        "ddl" => &[Class::Ddl],
        "lock" => &[Class::Lock, Class::Read],
        _ => &[],
    }
}

/// Rules that can never take effect. Computed from the file alone, so
/// they are reported next to the errors of a file that does not load.
fn warnings(lint: &LintFile, text: &str, path: &Path, out: &mut Vec<Diagnostic>) {
    let at =
        |span: std::ops::Range<usize>| Some(crate::policy::compile::line_col(text, span.start));
    let classes: Vec<Class> = lint
        .policy
        .statements
        .iter()
        .filter_map(|s| Class::from_name(s))
        .collect();
    for (table, rule) in &lint.tables {
        for op in &rule.operations {
            let needed = classes_using(op.get_ref());
            if !needed.is_empty() && !needed.iter().any(|c| classes.contains(c)) {
                let names: Vec<&str> = needed.iter().map(|c| c.name()).collect();
                out.push(Diagnostic {
                    severity: Severity::Warning,
                    path: path.to_owned(),
                    location: at(op.span()),
                    message: format!(
                        "operation {:?} on tables.{} can never be used: policy.statements \
                         allows none of {}",
                        op.get_ref(),
                        table.get_ref(),
                        names.join(", ")
                    ),
                });
            }
        }
        if lint.agent.auth.as_deref() == Some("token") {
            continue;
        }
        for (column, value) in &rule.scope {
            if let crate::policy::ScopeValue::Claim(claim) =
                crate::policy::ScopeValue::parse(value.get_ref())
            {
                out.push(Diagnostic {
                    severity: Severity::Warning,
                    path: path.to_owned(),
                    location: at(column.span()),
                    message: format!(
                        "scope on tables.{} uses {{{{claims.{claim}}}}}, but agent {:?} logs in \
                         with a secret and has no claims: every use of the table is denied",
                        table.get_ref(),
                        lint.agent.name
                    ),
                });
            }
        }
    }
    approval_warnings(lint, path, &at, out);
}

/// An `[[approvals]]` entry for a table or operation the policy never
/// allows can never hold anything. (Skipped when `[schemas]` may allow the
/// table.)
fn approval_warnings(
    lint: &LintFile,
    path: &Path,
    at: &dyn Fn(std::ops::Range<usize>) -> Option<(usize, usize)>,
    out: &mut Vec<Diagnostic>,
) {
    if !lint.schemas.is_empty() {
        return;
    }
    let plain = |name: &str| {
        let name = name.to_lowercase();
        name.strip_prefix("public.")
            .map(str::to_owned)
            .unwrap_or(name)
    };
    for (i, a) in lint.approvals.iter().enumerate() {
        let Some(table) = &a.table else { continue };
        let ops: Vec<&str> = if a.operations.is_empty() {
            if a.column.is_some() {
                vec!["insert", "update"]
            } else {
                vec!["insert", "update", "delete"]
            }
        } else {
            a.operations.iter().map(String::as_str).collect()
        };
        let allowed: Vec<&str> = lint
            .tables
            .iter()
            .filter(|(t, _)| plain(t.get_ref()) == plain(table.get_ref()))
            .flat_map(|(_, r)| r.operations.iter().map(|o| o.get_ref().as_str()))
            .collect();
        if ops.iter().any(|op| allowed.contains(op)) {
            continue;
        }
        let name = a
            .name
            .as_ref()
            .map(|n| format!("approvals.{n}"))
            .unwrap_or_else(|| format!("approvals[{i}]"));
        out.push(Diagnostic {
            severity: Severity::Warning,
            path: path.to_owned(),
            location: at(table.span()),
            message: format!(
                "{name} holds {} on {}, which the policy never allows: it can never hold anything",
                ops.join("/"),
                table.get_ref()
            ),
        });
    }
}

#[cfg(test)]
mod tests;
