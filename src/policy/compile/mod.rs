//! A rules file's policy sections: raw serde types (unknown keys are
//! errors) compiled into a [`Policy`]. Compilation is strict: unknown
//! statement classes, operations, tables or columns (against the live
//! catalog when there is one) and contradictory rules are errors naming the
//! file and line.

mod controls;
mod raw;
mod tables;

pub use raw::{
    RawApproval, RawCircuitBreaker, RawDeny, RawLimit, RawPolicy, RawRateLimit, RawRules,
    RawSchema, RawTable,
};

use super::analyze::{Access, Class};
use super::builtin;
use super::catalog::Catalog;
use super::names::QualifiedName;
use super::{CatalogAccess, Mode, Policy};
use controls::{active_window, approvals, circuit_breaker, rate_limits, time_zone};
use foldhash::HashSet;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tables::{schema_rules, table_rules};
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct CompileError {
    pub path: PathBuf,
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
    /// Problems that do not stop compilation, so that one run reports
    /// them all (`actgate check`).
    problems: RefCell<Vec<CompileError>>,
}

impl Ctx<'_> {
    fn problem(&self, span: std::ops::Range<usize>, message: impl Into<String>) -> CompileError {
        let (line, column) = line_col(self.text, span.start);
        CompileError {
            path: self.path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, CompileError> {
        Err(self.problem(span, message))
    }

    /// Records a problem and lets compilation go on to find more.
    fn report(&self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let problem = self.problem(span, message);
        self.problems.borrow_mut().push(problem);
    }
}

/// Compiles one agent's rules. `catalog` is the live catalog of the
/// agent's database, when actgate could load it. The error is the first
/// problem found.
pub fn compile(
    agent: &str,
    raw: &RawRules,
    text: &str,
    path: &Path,
    search_path: &[String],
    catalog: Option<&Catalog>,
) -> Result<Policy, CompileError> {
    compile_all(agent, raw, text, path, search_path, catalog).map_err(|mut problems| {
        // compile_all never fails with an empty list.
        problems.swap_remove(0)
    })
}

/// Like [`compile`], reporting every problem it can find (in the order
/// found) instead of only the first: contradictions and names missing from
/// the catalog are collected; a malformed value still ends compilation.
pub fn compile_all(
    agent: &str,
    raw: &RawRules,
    text: &str,
    path: &Path,
    search_path: &[String],
    catalog: Option<&Catalog>,
) -> Result<Policy, Vec<CompileError>> {
    let ctx = Ctx {
        path,
        text,
        problems: RefCell::new(Vec::new()),
    };
    let result = compile_with(&ctx, agent, raw, search_path, catalog);
    let mut problems = ctx.problems.into_inner();
    match result {
        Ok(policy) if problems.is_empty() => Ok(policy),
        Ok(_) => Err(problems),
        Err(fatal) => {
            problems.push(fatal);
            Err(problems)
        }
    }
}

/// A list of statement classes: unknown or repeated names are errors.
fn class_set(ctx: &Ctx<'_>, names: &[Spanned<String>]) -> Result<BTreeSet<Class>, CompileError> {
    let mut classes = BTreeSet::new();
    for s in names {
        let Some(c) = Class::from_name(s.get_ref()) else {
            let known: Vec<&str> = Class::ALL.iter().map(|c| c.name()).collect();
            return ctx.err(
                s.span(),
                format!(
                    "unknown statement class {:?}; known: {}",
                    s.get_ref(),
                    known.join(", ")
                ),
            );
        };
        if !classes.insert(c) {
            return ctx.err(
                s.span(),
                format!("statement class {:?} listed twice", s.get_ref()),
            );
        }
    }
    Ok(classes)
}

/// Compiles the policy sections in the order their problems are reported:
/// each step checks one section (or one key of `[policy]`).
fn compile_with(
    ctx: &Ctx<'_>,
    agent: &str,
    raw: &RawRules,
    search_path: &[String],
    catalog: Option<&Catalog>,
) -> Result<Policy, CompileError> {
    let path = ctx.path;
    let default_schema = search_path.first().map(String::as_str).unwrap_or("public");
    let p = &raw.policy;

    let mode = policy_mode(ctx, p)?;
    let (classes, denied_classes) = class_lists(ctx, raw)?;
    let catalog_access = catalog_access(ctx, p)?;
    let settings = allowed_settings(ctx, p)?;
    let (functions, denied_functions) = function_lists(ctx, raw, catalog);
    let denied_tables = denied_tables(ctx, raw, default_schema, catalog);

    let time_zone = time_zone(ctx, p)?;
    let mut time_windows = Vec::new();
    if let Some(w) = &p.active_hours {
        time_windows.push(active_window(
            ctx,
            &time_zone,
            w,
            "policy.active_hours".into(),
            None,
        )?);
    }
    let tables = table_rules(
        ctx,
        raw,
        default_schema,
        catalog,
        &denied_tables,
        &time_zone,
        &mut time_windows,
    )?;
    let schemas = schema_rules(ctx, raw)?;

    let rate_limits = rate_limits(ctx, &raw.rate_limits, default_schema, catalog)?;
    let circuit_breaker = circuit_breaker(ctx, raw.circuit_breaker.as_ref())?;
    let approvals = approvals(ctx, &raw.approvals, default_schema, catalog)?;
    let sensitive_tables = sensitive_tables(ctx, p, default_schema, catalog);
    let truncate_rows = truncate_rows(ctx, p)?;

    Ok(Policy {
        approvals,
        sensitive_tables,
        circuit_breaker,
        rate_limits,
        time_windows,
        agent: agent.to_owned(),
        schemas,
        source: path.to_owned(),
        mode,
        classes,
        denied_classes,
        require_where: p.require_where.unwrap_or(true),
        tables,
        denied_tables,
        functions,
        denied_functions,
        settings,
        catalog_access,
        driver_profile: p.driver_profile.unwrap_or(true),
        max_rows: p.max_rows,
        truncate_rows,
    })
}

/// `policy.mode`: enforce (the default) or monitor.
fn policy_mode(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<Mode, CompileError> {
    match p.mode.as_ref().map(|m| (m.get_ref().as_str(), m.span())) {
        None | Some(("enforce", _)) => Ok(Mode::Enforce),
        Some(("monitor", _)) => Ok(Mode::Monitor),
        Some((other, span)) => ctx.err(
            span,
            format!("policy.mode {other:?}: expected \"enforce\" or \"monitor\""),
        ),
    }
}

/// `policy.statements` and `deny.statements`: allowed and denied classes.
fn class_lists(
    ctx: &Ctx<'_>,
    raw: &RawRules,
) -> Result<(BTreeSet<Class>, BTreeSet<Class>), CompileError> {
    let classes = class_set(ctx, &raw.policy.statements)?;
    let denied_classes = class_set(ctx, &raw.deny.statements)?;
    for s in &raw.deny.statements {
        if Class::from_name(s.get_ref()).is_some_and(|c| classes.contains(&c)) {
            ctx.report(
                s.span(),
                format!(
                    "statement class {:?} is both allowed and denied",
                    s.get_ref()
                ),
            );
        }
    }
    Ok((classes, denied_classes))
}

/// `policy.catalog`: drivers (the default), none or all.
fn catalog_access(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<CatalogAccess, CompileError> {
    match p.catalog.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
        None | Some(("drivers", _)) => Ok(CatalogAccess::Drivers),
        Some(("none", _)) => Ok(CatalogAccess::None),
        Some(("all", _)) => Ok(CatalogAccess::All),
        Some((other, span)) => ctx.err(
            span,
            format!("policy.catalog {other:?}: expected \"none\", \"drivers\" or \"all\""),
        ),
    }
}

/// `policy.settings`: settings actgate pins can never be allowed.
fn allowed_settings(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<HashSet<String>, CompileError> {
    let mut settings = HashSet::default();
    for s in &p.settings {
        let name = s.get_ref().to_ascii_lowercase();
        if builtin::is_pinned_setting(&name) {
            return ctx.err(
                s.span(),
                format!("setting {name:?} is pinned by actgate and can never be allowed"),
            );
        }
        settings.insert(name);
    }
    Ok(settings)
}

/// `policy.functions` and `deny.functions`: allowed and denied functions.
fn function_lists(
    ctx: &Ctx<'_>,
    raw: &RawRules,
    catalog: Option<&Catalog>,
) -> (HashSet<QualifiedName>, HashSet<QualifiedName>) {
    let mut denied_functions = HashSet::default();
    for f in &raw.deny.functions {
        denied_functions.insert(QualifiedName::from_config(f.get_ref(), "pg_catalog"));
    }
    let mut functions = HashSet::default();
    for f in &raw.policy.functions {
        let q = QualifiedName::from_config(f.get_ref(), "pg_catalog");
        if denied_functions.contains(&q) {
            ctx.report(f.span(), format!("function {q} is both allowed and denied"));
        }
        if let Some(cat) = catalog
            && cat.relation_count() > 0
            && !cat.has_function(&q)
        {
            ctx.report(
                f.span(),
                format!("function {q} does not exist in the database"),
            );
        }
        functions.insert(q);
    }
    (functions, denied_functions)
}

/// `deny.tables`.
fn denied_tables(
    ctx: &Ctx<'_>,
    raw: &RawRules,
    default_schema: &str,
    catalog: Option<&Catalog>,
) -> HashSet<QualifiedName> {
    let mut denied_tables = HashSet::default();
    for t in &raw.deny.tables {
        let q = QualifiedName::from_config(t.get_ref(), default_schema);
        check_relation(ctx, catalog, &q, t.span());
        denied_tables.insert(q);
    }
    denied_tables
}

/// `policy.sensitive_tables`.
fn sensitive_tables(
    ctx: &Ctx<'_>,
    p: &RawPolicy,
    default_schema: &str,
    catalog: Option<&Catalog>,
) -> HashSet<QualifiedName> {
    let mut sensitive_tables = HashSet::default();
    for t in &p.sensitive_tables {
        let q = QualifiedName::from_config(t.get_ref(), default_schema);
        check_relation(ctx, catalog, &q, t.span());
        sensitive_tables.insert(q);
    }
    sensitive_tables
}

/// `policy.on_row_limit`: error (the default) or truncate.
fn truncate_rows(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<bool, CompileError> {
    match p
        .on_row_limit
        .as_ref()
        .map(|m| (m.get_ref().as_str(), m.span()))
    {
        None | Some(("error", _)) => Ok(false),
        Some(("truncate", _)) => Ok(true),
        Some((other, span)) => ctx.err(
            span,
            format!("policy.on_row_limit {other:?}: expected \"error\" or \"truncate\""),
        ),
    }
}

fn operations(
    ctx: &Ctx<'_>,
    list: &[Spanned<String>],
    what: &str,
) -> Result<BTreeSet<Access>, CompileError> {
    let mut out = BTreeSet::new();
    for op in list {
        let access = match op.get_ref().as_str() {
            "select" => Access::Read,
            "insert" => Access::Insert,
            "update" => Access::Update,
            "delete" => Access::Delete,
            "truncate" => Access::Truncate,
            "ddl" => Access::Ddl,
            "lock" => Access::Lock,
            other => {
                return ctx.err(
                    op.span(),
                    format!(
                        "unknown operation {other:?} on {what}; known: select, insert, update, delete, truncate, ddl, lock"
                    ),
                );
            }
        };
        out.insert(access);
    }
    Ok(out)
}

fn check_relation(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    span: std::ops::Range<usize>,
) {
    if let Some(cat) = catalog
        && !cat.has_relation(q)
    {
        ctx.report(span, format!("table {q} does not exist in the database"));
    }
}

#[cfg(test)]
mod tests;
