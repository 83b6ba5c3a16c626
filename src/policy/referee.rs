//! The referee: every statement the analysis reads (cache misses only) is
//! parsed a second time with PostgreSQL's own grammar (libpg_query, through
//! the `pg_query` crate), and the two readings must agree on what the
//! statement does. A disagreement is denied (`parser_disagreement`): either
//! actgate's parser misread the text, or the text was crafted so that the
//! two parsers see different statements — the classic way past a firewall
//! that parses SQL differently from the server behind it.
//!
//! What is compared, from libpg_query's summary (statement types, relations
//! with their context, functions called) and its statement splitter:
//! - the number of statements;
//! - their kinds: every statement type PostgreSQL sees (nested ones
//!   included) must be one the analysis's classes account for;
//! - the relations: every relation PostgreSQL sees must be in the analysis,
//!   schema-qualified where the text qualifies it, and one PostgreSQL sees
//!   written (INSERT/UPDATE/DELETE/MERGE target) or altered (DDL, LOCK,
//!   TRUNCATE) must not be one the analysis only reads;
//! - the functions: every function PostgreSQL sees called must be in the
//!   analysis, except the `pg_catalog` functions PostgreSQL's grammar itself
//!   writes for SQL-standard syntax (`EXTRACT(… FROM …)` is
//!   `pg_catalog.extract`, `x AT TIME ZONE y` is `pg_catalog.timezone`, …).
//!
//! The comparison is one way: PostgreSQL's view must be contained in the
//! analysis. The analysis seeing more (a relation in a `DECLARE CURSOR`
//! query, `COALESCE` as a function, the source of a MERGE, which the summary
//! leaves out) only makes actgate check more, never less.

use super::analyze::{Access, Analysis, Class};
use super::names::QualifiedName;
use pg_query::protobuf::summary_result::Context;
use std::fmt::Write as _;

/// The functions PostgreSQL's grammar names itself (`SystemFuncName` in
/// gram.y, PostgreSQL 18) to implement SQL-standard syntax: they appear in
/// its reading as `pg_catalog.<name>` calls the text never spells.
const GRAMMAR_FUNCTIONS: &[&str] = &[
    "btrim",
    "extract",
    "is_normalized",
    "json_object",
    "like_escape",
    "ltrim",
    "normalize",
    "overlaps",
    "overlay",
    "pg_collation_for",
    "position",
    "rtrim",
    "similar_to_escape",
    "substring",
    "system_user",
    "timezone",
    "xmlexists",
];

/// How PostgreSQL's reading differs from the analysis, with both views
/// (audited with the denial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    /// What PostgreSQL sees that the analysis does not.
    pub what: String,
    /// The analysis's view, in the same terms.
    pub actgate: String,
    /// PostgreSQL's view.
    pub postgres: String,
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (actgate's parser: {}; PostgreSQL's parser: {})",
            self.what, self.actgate, self.postgres
        )
    }
}

/// What PostgreSQL's parser makes of a text the analysis could not parse.
pub enum Verdict {
    /// PostgreSQL accepts it: the gap is actgate's.
    Accepts,
    /// PostgreSQL rejects it too, with this message.
    Rejects(String),
}

/// Whether PostgreSQL's grammar accepts `sql`.
pub fn postgres_reading(sql: &str) -> Verdict {
    match pg_query::split_with_parser(sql) {
        Ok(_) => Verdict::Accepts,
        Err(e) => Verdict::Rejects(postgres_message(e)),
    }
}

/// Checks the analysis of `sql` against PostgreSQL's reading of it.
/// `Err(Ok(d))` is a disagreement; `Err(Err(message))` means PostgreSQL's
/// parser rejects the text outright.
pub fn check(sql: &str, analysis: &Analysis) -> Result<(), Result<Disagreement, String>> {
    let summary = pg_query::summary(sql, pg_query::ParserOptions::DEFAULT, -1)
        .map_err(|e| Err(postgres_message(e)))?;
    let view = View::of(&summary.protobuf);
    let count = statement_count(sql, analysis.statements.len()).map_err(Err)?;
    let disagree = |what: String| Err(Ok(view.disagreement(analysis, count, what)));
    if count != analysis.statements.len() {
        return disagree(format!(
            "PostgreSQL reads {count} statement(s) where actgate reads {}",
            analysis.statements.len()
        ));
    }
    let classes: Vec<Class> = analysis
        .statements
        .iter()
        .flat_map(|s| s.classes.iter().chain(&s.wrappers))
        .copied()
        .collect();
    if let Some(kind) = view.kinds.iter().find(|k| !accounted_for(k, &classes)) {
        return disagree(format!("PostgreSQL reads a {kind} that actgate does not"));
    }
    // GRANT and REVOKE are decided by their class (`dcl`), whatever they
    // name; the summary counts the objects as altered.
    let grants = view.kinds.iter().any(|k| k == "GrantStmt") && classes.contains(&Class::Dcl);
    for table in &view.tables {
        if grants && table.1 == Context::Ddl {
            continue;
        }
        if let Some(what) = relation_missing(table, analysis) {
            return disagree(what);
        }
    }
    for function in &view.functions {
        if !function_seen(function, analysis) {
            return disagree(format!(
                "PostgreSQL reads a call of function {} that actgate does not",
                function.display()
            ));
        }
    }
    Ok(())
}

/// The number of statements PostgreSQL reads in `sql`: its scanner's split
/// when that agrees with `expected` (the cheap common case), else its
/// parser's (exact: a `BEGIN ATOMIC` body holds semicolons).
fn statement_count(sql: &str, expected: usize) -> Result<usize, String> {
    let scanned = pg_query::split_with_scanner(sql).map_err(postgres_message)?;
    if scanned.len() == expected {
        return Ok(expected);
    }
    pg_query::split_with_parser(sql)
        .map(|s| s.len())
        .map_err(postgres_message)
}

fn postgres_message(e: pg_query::Error) -> String {
    match e {
        pg_query::Error::Parse(m) | pg_query::Error::Split(m) | pg_query::Error::Scan(m) => m,
        other => other.to_string(),
    }
}

/// A relation or function as PostgreSQL names it: the schema only when the
/// text gives one.
struct Name {
    schema: Option<String>,
    name: String,
}

impl Name {
    fn new(schema: &str, name: &str) -> Name {
        Name {
            schema: (!schema.is_empty()).then(|| schema.to_owned()),
            name: name.to_owned(),
        }
    }

    fn matches(&self, q: &QualifiedName) -> bool {
        q.name == self.name && self.schema.as_ref().is_none_or(|s| *s == q.schema)
    }

    fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// PostgreSQL's reading, in the terms the comparison uses.
struct View {
    kinds: Vec<String>,
    tables: Vec<(Name, Context)>,
    functions: Vec<Name>,
}

impl View {
    fn of(s: &pg_query::protobuf::SummaryResult) -> View {
        View {
            kinds: s.statement_types.clone(),
            tables: s
                .tables
                .iter()
                .map(|t| (Name::new(&t.schema_name, &t.table_name), t.context()))
                .collect(),
            functions: s
                .functions
                .iter()
                .filter(|f| f.context() == Context::Call)
                .map(|f| Name::new(&f.schema_name, &f.function_name))
                .filter(|f| !grammar_function(f))
                .collect(),
        }
    }

    fn disagreement(&self, analysis: &Analysis, count: usize, what: String) -> Disagreement {
        let mut postgres = format!("{count} statement(s): {}", self.kinds.join(", "));
        for (name, context) in &self.tables {
            let _ = write!(postgres, "; {} {}", context_name(*context), name.display());
        }
        for f in &self.functions {
            let _ = write!(postgres, "; calls {}", f.display());
        }
        Disagreement {
            what,
            actgate: actgate_view(analysis),
            postgres,
        }
    }
}

fn actgate_view(analysis: &Analysis) -> String {
    let mut out = format!("{} statement(s)", analysis.statements.len());
    for s in &analysis.statements {
        let classes: Vec<&str> = s.classes.iter().map(|c| c.name()).collect();
        let _ = write!(out, "; {}", classes.join("+"));
        for r in &s.relations {
            let _ = write!(out, "; {} {}", r.access.name(), r.name);
        }
        for f in &s.functions {
            let _ = write!(out, "; calls {f}");
        }
    }
    out
}

fn context_name(c: Context) -> &'static str {
    match c {
        Context::Select => "reads",
        Context::Dml => "writes",
        Context::Ddl => "alters",
        Context::Call => "calls",
        Context::None => "names",
    }
}

fn grammar_function(f: &Name) -> bool {
    f.schema.as_deref() == Some("pg_catalog") && GRAMMAR_FUNCTIONS.contains(&f.name.as_str())
}

/// Why PostgreSQL's `table` is not in the analysis as PostgreSQL uses it.
fn relation_missing((name, context): &(Name, Context), analysis: &Analysis) -> Option<String> {
    let uses = || {
        analysis
            .statements
            .iter()
            .flat_map(|s| &s.relations)
            .filter(|r| name.matches(&r.name))
    };
    if uses().next().is_none() {
        return Some(format!(
            "PostgreSQL reads relation {} that actgate does not",
            name.display()
        ));
    }
    // Maintenance (VACUUM, ANALYZE) and a MERGE whose actions write
    // nothing (`DO NOTHING`) are relation changes in the summary's terms
    // and reads in the analysis's, which decides them by their class.
    let classes = || analysis.statements.iter().flat_map(|s| &s.classes);
    let read_suffices = match context {
        Context::Ddl => classes().any(|c| matches!(c, Class::Vacuum | Class::Analyze)),
        Context::Dml => classes().any(|c| *c == Class::Merge),
        _ => true,
    };
    if !read_suffices && uses().all(|r| r.access == Access::Read) {
        return Some(format!(
            "PostgreSQL {} relation {} that actgate only reads",
            context_name(*context),
            name.display()
        ));
    }
    None
}

fn function_seen(f: &Name, analysis: &Analysis) -> bool {
    analysis
        .statements
        .iter()
        .flat_map(|s| &s.functions)
        .any(|q| f.matches(q))
}

/// Whether the analysis's classes account for a statement type PostgreSQL
/// reads (its parse node's name, `SelectStmt`, `InsertStmt`, …).
fn accounted_for(kind: &str, classes: &[Class]) -> bool {
    use Class::*;
    let any = |wanted: &[Class]| wanted.iter().any(|c| classes.contains(c));
    match kind {
        // A query can sit in nearly any statement; what it reads is
        // compared relation by relation.
        "SelectStmt" => true,
        "InsertStmt" => any(&[Insert, Ddl]),
        "UpdateStmt" => any(&[Update, Ddl]),
        "DeleteStmt" => any(&[Delete, Ddl]),
        "MergeStmt" => any(&[Merge]),
        "TransactionStmt" | "ConstraintsSetStmt" => any(&[Transaction]),
        "VariableSetStmt" => any(&[Session, Transaction]),
        "VariableShowStmt" => any(&[Session, Read]),
        "DiscardStmt" => any(&[Session]),
        "CopyStmt" => any(&[Copy]),
        "TruncateStmt" => any(&[Truncate]),
        "LockStmt" => any(&[Lock]),
        "VacuumStmt" => any(&[Vacuum, Analyze]),
        "ExplainStmt" => any(&[Explain]),
        "PrepareStmt" => any(&[Prepare]),
        "ExecuteStmt" => any(&[Execute]),
        "DeallocateStmt" => any(&[Deallocate]),
        "DeclareCursorStmt" | "FetchStmt" | "ClosePortalStmt" => any(&[Cursor]),
        "CallStmt" | "DoStmt" => any(&[Call]),
        "ListenStmt" | "UnlistenStmt" => any(&[Listen]),
        "NotifyStmt" => any(&[Notify]),
        "GrantStmt" => any(&[Dcl, Roles]),
        "GrantRoleStmt"
        | "CreateRoleStmt"
        | "AlterRoleStmt"
        | "AlterRoleSetStmt"
        | "DropRoleStmt"
        | "AlterDefaultPrivilegesStmt"
        | "ReassignOwnedStmt" => any(&[Roles, Dcl, Ddl]),
        // Everything else defines, alters or drops an object.
        _ => any(&[Ddl, Ownership, Roles, Dcl]),
    }
}

#[cfg(test)]
mod tests;
