//! A rules file's policy sections: raw serde types (unknown keys are
//! errors) compiled into a [`Policy`]. Compilation is strict: unknown
//! statement classes, operations, tables or columns (against the live
//! catalog when there is one) and contradictory rules are errors naming the
//! file and line.

use super::analyze::{Access, Class};
use super::builtin;
use super::catalog::Catalog;
use super::names::{QualifiedName, fold_config};
use super::{
    ActiveWindow, ApprovalRule, CatalogAccess, CircuitBreaker, Mode, Policy, RateLimit, ScopeValue,
    TableRule, ValueLimit,
};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
    #[serde(default)]
    pub require_where: Option<bool>,
    #[serde(default)]
    pub functions: Vec<Spanned<String>>,
    #[serde(default)]
    pub settings: Vec<Spanned<String>>,
    #[serde(default)]
    pub catalog: Option<Spanned<String>>,
    #[serde(default)]
    pub driver_profile: Option<bool>,
    /// Most rows one statement may return to the agent.
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// "error" (default) or "truncate".
    #[serde(default)]
    pub on_row_limit: Option<Spanned<String>>,
    /// The agent may run statements only inside this window
    /// (`"Mon-Fri 09:00-17:00"`).
    #[serde(default)]
    pub active_hours: Option<Spanned<String>>,
    /// IANA time zone of every `active_hours` in the file (default UTC).
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// Tables whose use raises an event's risk score (`sensitive_table`).
    #[serde(default)]
    pub sensitive_tables: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    #[serde(default)]
    pub columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub deny_columns: Vec<Spanned<String>>,
    #[serde(default)]
    pub write_columns: Option<Vec<Spanned<String>>>,
    /// Row scoping: column → value or `{{claims.NAME}}`.
    #[serde(default)]
    pub scope: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Value limits: column → { min, max, in, domain }.
    #[serde(default)]
    pub limits: BTreeMap<Spanned<String>, Spanned<RawLimit>>,
    /// Most rows a statement reading this table may return.
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// Most rows one UPDATE or DELETE may change.
    #[serde(default)]
    pub max_affected_rows: Option<u64>,
    /// The table may be used only inside this window.
    #[serde(default)]
    pub active_hours: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default, rename = "in")]
    pub allowed: Option<Vec<String>>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// A whole schema: every relation in it without its own table rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchema {
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeny {
    #[serde(default)]
    pub tables: Vec<Spanned<String>>,
    #[serde(default)]
    pub functions: Vec<Spanned<String>>,
    /// Statement classes never allowed, even when listed or implied by the
    /// driver profile (`cursor`, `copy`, `explain`, `prepare`, …).
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
}

/// One `[[rate_limits]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// `COUNT/UNIT`, e.g. `"5/calendar-day"` or `"20/second"`.
    pub budget: Spanned<String>,
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    /// "agent" (default) or "subject".
    #[serde(default)]
    pub per: Option<Spanned<String>>,
}

/// One `[[approvals]]` entry: statements held for a human.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    pub table: Spanned<String>,
    /// Default: insert, update, delete.
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    /// Only when the value written to this column is above `above`.
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    #[serde(default)]
    pub above: Option<Spanned<f64>>,
    /// How long a request waits for a decision, and an approval stays
    /// usable, in seconds (default 3600).
    #[serde(default)]
    pub ttl_s: Option<Spanned<u64>>,
}

/// `[circuit_breaker]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// Denials that trip it, as a budget: `"5/minute"` trips at the 5th
    /// denial within a minute.
    pub trip_after: Spanned<String>,
    /// How long a suspension lasts, in seconds.
    pub suspend_for_s: Spanned<u64>,
    /// "agent" (default) or "subject".
    #[serde(default)]
    pub per: Option<Spanned<String>>,
}

/// Everything of a rules file that is policy.
#[derive(Debug, Default)]
pub struct RawRules {
    pub approvals: Vec<RawApproval>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    pub rate_limits: Vec<RawRateLimit>,
    pub policy: RawPolicy,
    pub tables: BTreeMap<Spanned<String>, RawTable>,
    pub schemas: BTreeMap<Spanned<String>, RawSchema>,
    pub deny: RawDeny,
}

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
    let mut settings = HashSet::new();
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
    let mut denied_functions = HashSet::new();
    for f in &raw.deny.functions {
        denied_functions.insert(QualifiedName::from_config(f.get_ref(), "pg_catalog"));
    }
    let mut functions = HashSet::new();
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
    let mut denied_tables = HashSet::new();
    for t in &raw.deny.tables {
        let q = QualifiedName::from_config(t.get_ref(), default_schema);
        check_relation(ctx, catalog, &q, t.span());
        denied_tables.insert(q);
    }
    denied_tables
}

/// `policy.time_zone` (default UTC): the zone of every `active_hours`.
fn time_zone(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<String, CompileError> {
    match &p.time_zone {
        None => Ok("UTC".to_owned()),
        Some(tz) => {
            if jiff::tz::TimeZone::get(tz.get_ref()).is_err() {
                return ctx.err(
                    tz.span(),
                    format!(
                        "policy.time_zone {:?} is not a known IANA time zone (e.g. \"Europe/Berlin\", \"UTC\")",
                        tz.get_ref()
                    ),
                );
            }
            Ok(tz.get_ref().clone())
        }
    }
}

/// An `active_hours` of the file (`rule` names it), in `time_zone`.
fn active_window(
    ctx: &Ctx<'_>,
    time_zone: &str,
    text: &Spanned<String>,
    rule: String,
    table: Option<QualifiedName>,
) -> Result<ActiveWindow, CompileError> {
    let window = crate::controls::TimeWindow::parse(text.get_ref(), time_zone)
        .or_else(|e| ctx.err(text.span(), format!("{rule}: {e}")))?;
    Ok(ActiveWindow {
        rule,
        window,
        table,
    })
}

/// `[tables.*]`: one rule per table; their `active_hours` are added to
/// `time_windows`.
fn table_rules(
    ctx: &Ctx<'_>,
    raw: &RawRules,
    default_schema: &str,
    catalog: Option<&Catalog>,
    denied_tables: &HashSet<QualifiedName>,
    time_zone: &str,
    time_windows: &mut Vec<ActiveWindow>,
) -> Result<HashMap<QualifiedName, TableRule>, CompileError> {
    let mut tables = HashMap::new();
    for (name, rule) in &raw.tables {
        let q = QualifiedName::from_config(name.get_ref(), default_schema);
        if let Some(w) = &rule.active_hours {
            time_windows.push(active_window(
                ctx,
                time_zone,
                w,
                format!("tables.{}.active_hours", name.get_ref()),
                Some(q.clone()),
            )?);
        }
        if denied_tables.contains(&q) {
            ctx.report(name.span(), format!("table {q} is both allowed and denied"));
        }
        if builtin::listed(builtin::CREDENTIAL_RELATIONS, &q.schema, &q.name) {
            return ctx.err(
                name.span(),
                format!("{q} exposes credentials and can never be allowed"),
            );
        }
        check_relation(ctx, catalog, &q, name.span());
        let operations = operations(ctx, &rule.operations, &q.to_string())?;
        if operations.is_empty() {
            return ctx.err(
                name.span(),
                format!(
                    "table {q} allows no operations; list them, or deny the table under [deny]"
                ),
            );
        }
        let columns = column_rules(ctx, catalog, &q, name, rule, &operations)?;
        let scope = scope_rule(ctx, catalog, &q, rule)?;
        let limits = value_limits(ctx, catalog, &q, rule)?;
        tables.insert(
            q,
            TableRule {
                rule: format!("tables.{}", name.get_ref()),
                operations,
                columns: columns.allowed,
                deny_columns: columns.denied,
                write_columns: columns.writable,
                scope,
                limits,
                max_rows: rule.max_rows,
                max_affected_rows: rule.max_affected_rows,
            },
        );
    }
    Ok(tables)
}

/// The column lists of one `[tables.*]` rule.
struct ColumnRules {
    allowed: Option<BTreeSet<String>>,
    denied: BTreeSet<String>,
    writable: Option<BTreeSet<String>>,
}

/// `columns`, `deny_columns` and `write_columns` of table `q`.
fn column_rules(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    name: &Spanned<String>,
    rule: &RawTable,
    operations: &BTreeSet<Access>,
) -> Result<ColumnRules, CompileError> {
    let columns = |list: &[Spanned<String>]| -> Result<BTreeSet<String>, CompileError> {
        let mut out = BTreeSet::new();
        for c in list {
            let col = fold_config(c.get_ref());
            if let Some(cat) = catalog
                && cat.has_relation(q)
                && !cat.has_column(q, &col)
            {
                ctx.report(c.span(), format!("column {col:?} does not exist in {q}"));
            }
            out.insert(col);
        }
        Ok(out)
    };
    let allowed = rule.columns.as_deref().map(columns).transpose()?;
    let denied = columns(&rule.deny_columns)?;
    let writable = rule.write_columns.as_deref().map(columns).transpose()?;
    if let Some(a) = &allowed {
        for both in a.intersection(&denied) {
            let span = rule
                .deny_columns
                .iter()
                .find(|c| fold_config(c.get_ref()) == *both)
                .map(|c| c.span())
                .unwrap_or(name.span());
            ctx.report(
                span,
                format!("column {both:?} of {q} is both allowed and denied"),
            );
        }
    }
    if let Some(w) = &writable {
        for c in w {
            let readable = allowed.as_ref().is_none_or(|a| a.contains(c)) && !denied.contains(c);
            if !readable {
                let span = rule
                    .write_columns
                    .iter()
                    .flatten()
                    .find(|s| fold_config(s.get_ref()) == *c)
                    .map(|s| s.span())
                    .unwrap_or(name.span());
                ctx.report(
                    span,
                    format!("write column {c:?} of {q} is not an allowed column"),
                );
            }
        }
        if !operations.contains(&Access::Insert) && !operations.contains(&Access::Update) {
            ctx.report(
                name.span(),
                format!("write_columns on {q} need the insert or update operation"),
            );
        }
    }
    Ok(ColumnRules {
        allowed,
        denied,
        writable,
    })
}

/// `scope` of table `q`: each column's literal or `{{claims.NAME}}`.
fn scope_rule(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    rule: &RawTable,
) -> Result<BTreeMap<String, ScopeValue>, CompileError> {
    let mut scope = BTreeMap::new();
    for (col, value) in &rule.scope {
        let c = fold_config(col.get_ref());
        if let Some(cat) = catalog
            && cat.has_relation(q)
            && !cat.has_column(q, &c)
        {
            ctx.report(
                col.span(),
                format!("scope column {c:?} does not exist in {q}"),
            );
        }
        let v = ScopeValue::parse(value.get_ref());
        if let ScopeValue::Claim(name) = &v
            && name.is_empty()
        {
            return ctx.err(value.span(), "empty claim name in {{claims.}}");
        }
        if value.get_ref().contains("{{") && matches!(v, ScopeValue::Literal(_)) {
            return ctx.err(
                value.span(),
                format!(
                    "scope value {:?}: write {{{{claims.NAME}}}} or a literal",
                    value.get_ref()
                ),
            );
        }
        scope.insert(c, v);
    }
    Ok(scope)
}

/// `limits` of table `q`: bounds on the values written to each column.
fn value_limits(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    rule: &RawTable,
) -> Result<BTreeMap<String, ValueLimit>, CompileError> {
    let mut limits = BTreeMap::new();
    for (col, raw) in &rule.limits {
        let c = fold_config(col.get_ref());
        if let Some(cat) = catalog
            && cat.has_relation(q)
            && !cat.has_column(q, &c)
        {
            ctx.report(
                col.span(),
                format!("limit column {c:?} does not exist in {q}"),
            );
        }
        let l = raw.get_ref();
        if l.min.is_none() && l.max.is_none() && l.allowed.is_none() && l.domain.is_none() {
            return ctx.err(
                raw.span(),
                format!("limit on {c:?} sets none of min, max, in, domain"),
            );
        }
        if let (Some(min), Some(max)) = (l.min, l.max)
            && min > max
        {
            return ctx.err(
                raw.span(),
                format!("limit on {c:?}: min {min} is above max {max}"),
            );
        }
        limits.insert(
            c,
            ValueLimit {
                min: l.min,
                max: l.max,
                allowed: l.allowed.clone(),
                domain: l.domain.clone(),
            },
        );
    }
    Ok(limits)
}

/// `[schemas.*]`: operations on every relation of a schema.
fn schema_rules(ctx: &Ctx<'_>, raw: &RawRules) -> Result<HashMap<String, TableRule>, CompileError> {
    let mut schemas = HashMap::new();
    for (name, rule) in &raw.schemas {
        let schema = fold_config(name.get_ref());
        if schema == "pg_catalog" || schema == "information_schema" {
            return ctx.err(
                name.span(),
                format!("schema {schema} is governed by policy.catalog"),
            );
        }
        let ops = operations(ctx, &rule.operations, &format!("schema {schema}"))?;
        if ops.is_empty() {
            return ctx.err(name.span(), format!("schema {schema} allows no operations"));
        }
        schemas.insert(
            schema,
            TableRule {
                rule: format!("schemas.{}", name.get_ref()),
                operations: ops,
                columns: None,
                deny_columns: BTreeSet::new(),
                write_columns: None,
                scope: BTreeMap::new(),
                limits: BTreeMap::new(),
                max_rows: None,
                max_affected_rows: None,
            },
        );
    }
    Ok(schemas)
}

/// `[circuit_breaker]`.
fn circuit_breaker(
    ctx: &Ctx<'_>,
    raw: Option<&RawCircuitBreaker>,
) -> Result<Option<CircuitBreaker>, CompileError> {
    let Some(b) = raw else {
        return Ok(None);
    };
    let trip = b
        .trip_after
        .get_ref()
        .parse::<crate::controls::Budget>()
        .or_else(|e| {
            ctx.err(
                b.trip_after.span(),
                format!("circuit_breaker.trip_after: {e}"),
            )
        })?;
    let seconds = *b.suspend_for_s.get_ref();
    if !(1..=30 * 86_400).contains(&seconds) {
        return ctx.err(
            b.suspend_for_s.span(),
            "circuit_breaker.suspend_for_s must be between 1 and 2592000 (30 days)",
        );
    }
    let per_subject = per_subject(ctx, b.per.as_ref(), "circuit_breaker")?;
    Ok(Some(CircuitBreaker {
        trip,
        suspend_for: jiff::SignedDuration::from_secs(seconds as i64),
        per_subject,
    }))
}

/// `policy.sensitive_tables`.
fn sensitive_tables(
    ctx: &Ctx<'_>,
    p: &RawPolicy,
    default_schema: &str,
    catalog: Option<&Catalog>,
) -> HashSet<QualifiedName> {
    let mut sensitive_tables = HashSet::new();
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

fn rate_limits(
    ctx: &Ctx<'_>,
    raw: &[RawRateLimit],
    default_schema: &str,
    catalog: Option<&Catalog>,
) -> Result<Vec<RateLimit>, CompileError> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, r) in raw.iter().enumerate() {
        let rule = match &r.name {
            Some(n) => {
                entry_name(ctx, n, "rate limit", &mut names)?;
                format!("rate_limits.{}", n.get_ref())
            }
            None => format!("rate_limits[{i}]"),
        };
        let budget = r
            .budget
            .get_ref()
            .parse::<crate::controls::Budget>()
            .or_else(|e| ctx.err(r.budget.span(), e.to_string()))?;
        let table = match &r.table {
            Some(t) => {
                let q = QualifiedName::from_config(t.get_ref(), default_schema);
                check_relation(ctx, catalog, &q, t.span());
                Some(q)
            }
            None => None,
        };
        let operations = operations(ctx, &r.operations, &rule)?;
        let per_subject = per_subject(ctx, r.per.as_ref(), &rule)?;
        out.push(RateLimit {
            rule,
            budget,
            table,
            operations,
            per_subject,
        });
    }
    Ok(out)
}

/// A `[[rules]]`-style entry name: letters, digits, `_` and `-`, unique
/// within its section.
fn entry_name(
    ctx: &Ctx<'_>,
    name: &Spanned<String>,
    what: &str,
    seen: &mut HashSet<String>,
) -> Result<(), CompileError> {
    let n = name.get_ref();
    let plain = !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !plain {
        return ctx.err(
            name.span(),
            format!("{what} name {n:?}: use letters, digits, _ and -"),
        );
    }
    if !seen.insert(n.clone()) {
        return ctx.err(name.span(), format!("{what} {n:?} is defined twice"));
    }
    Ok(())
}

fn approvals(
    ctx: &Ctx<'_>,
    raw: &[RawApproval],
    default_schema: &str,
    catalog: Option<&Catalog>,
) -> Result<Vec<ApprovalRule>, CompileError> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, r) in raw.iter().enumerate() {
        let rule = match &r.name {
            Some(n) => {
                entry_name(ctx, n, "approval", &mut names)?;
                format!("approvals.{}", n.get_ref())
            }
            None => format!("approvals[{i}]"),
        };
        let table = QualifiedName::from_config(r.table.get_ref(), default_schema);
        check_relation(ctx, catalog, &table, r.table.span());
        let mut operations = operations(ctx, &r.operations, &rule)?;
        if operations.is_empty() {
            operations = [Access::Insert, Access::Update, Access::Delete].into();
        }
        let threshold = match (&r.column, &r.above) {
            (None, None) => None,
            (Some(c), Some(a)) => {
                let column = fold_config(c.get_ref());
                if let Some(cat) = catalog
                    && cat.has_relation(&table)
                    && !cat.has_column(&table, &column)
                {
                    ctx.report(
                        c.span(),
                        format!("column {column:?} of {table} does not exist in the database"),
                    );
                }
                if !a.get_ref().is_finite() {
                    return ctx.err(a.span(), format!("{rule}.above must be a finite number"));
                }
                if r.operations.is_empty() {
                    operations.remove(&Access::Delete);
                } else if operations.contains(&Access::Delete) {
                    return ctx.err(
                        c.span(),
                        format!("{rule}: a DELETE writes no values; approve deletes without column/above"),
                    );
                }
                Some((column, *a.get_ref()))
            }
            (Some(c), None) => {
                return ctx.err(c.span(), format!("{rule}: column needs `above`"));
            }
            (None, Some(a)) => {
                return ctx.err(a.span(), format!("{rule}: above needs `column`"));
            }
        };
        let ttl = match &r.ttl_s {
            None => 3600,
            Some(t) if (1..=30 * 86_400).contains(t.get_ref()) => *t.get_ref(),
            Some(t) => {
                return ctx.err(
                    t.span(),
                    format!("{rule}.ttl_s must be between 1 and 2592000 (30 days)"),
                );
            }
        };
        out.push(ApprovalRule {
            rule,
            table,
            operations,
            threshold,
            ttl: jiff::SignedDuration::from_secs(ttl as i64),
        });
    }
    Ok(out)
}

/// `per = "agent"` (the default) or `"subject"` (one count per end user).
fn per_subject(
    ctx: &Ctx<'_>,
    per: Option<&Spanned<String>>,
    rule: &str,
) -> Result<bool, CompileError> {
    match per.map(|p| (p.get_ref().as_str(), p.span())) {
        None | Some(("agent", _)) => Ok(false),
        Some(("subject", _)) => Ok(true),
        Some((other, span)) => ctx.err(
            span,
            format!("{rule}.per {other:?}: expected \"agent\" or \"subject\""),
        ),
    }
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
