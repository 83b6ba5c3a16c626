//! `[tables.*]` and `[schemas.*]`: operations, columns, scope and value
//! limits of each table rule.

use super::super::analyze::Access;
use super::super::builtin;
use super::super::catalog::Catalog;
use super::super::names::{QualifiedName, fold_config};
use super::super::{ActiveWindow, ScopeValue, TableRule, ValueLimit};
use super::controls::active_window;
use super::{CompileError, Ctx, RawRules, RawTable, check_relation, operations};
use foldhash::{HashMap, HashSet};
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// `[tables.*]`: one rule per table; their `active_hours` are added to
/// `time_windows`.
pub(super) fn table_rules(
    ctx: &Ctx<'_>,
    raw: &RawRules,
    default_schema: &str,
    catalog: Option<&Catalog>,
    denied_tables: &HashSet<QualifiedName>,
    time_zone: &str,
    time_windows: &mut Vec<ActiveWindow>,
) -> Result<HashMap<QualifiedName, TableRule>, CompileError> {
    let mut tables = HashMap::default();
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
pub(super) struct ColumnRules {
    allowed: Option<BTreeSet<String>>,
    denied: BTreeSet<String>,
    writable: Option<BTreeSet<String>>,
}

/// `columns`, `deny_columns` and `write_columns` of table `q`.
pub(super) fn column_rules(
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
            report_missing_column(ctx, catalog, q, c.span(), &col, "column");
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

/// Reports a rule naming column `col` of `q` that the live catalog knows
/// `q` does not have (`what`: how the rule names it).
fn report_missing_column(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    span: std::ops::Range<usize>,
    col: &str,
    what: &str,
) {
    if let Some(cat) = catalog
        && cat.has_relation(q)
        && !cat.has_column(q, col)
    {
        ctx.report(span, format!("{what} {col:?} does not exist in {q}"));
    }
}

/// `scope` of table `q`: each column's literal or `{{claims.NAME}}`.
pub(super) fn scope_rule(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    rule: &RawTable,
) -> Result<BTreeMap<String, ScopeValue>, CompileError> {
    let mut scope = BTreeMap::new();
    for (col, value) in &rule.scope {
        let c = fold_config(col.get_ref());
        report_missing_column(ctx, catalog, q, col.span(), &c, "scope column");
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
pub(super) fn value_limits(
    ctx: &Ctx<'_>,
    catalog: Option<&Catalog>,
    q: &QualifiedName,
    rule: &RawTable,
) -> Result<BTreeMap<String, ValueLimit>, CompileError> {
    let mut limits = BTreeMap::new();
    for (col, raw) in &rule.limits {
        let c = fold_config(col.get_ref());
        report_missing_column(ctx, catalog, q, col.span(), &c, "limit column");
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
pub(super) fn schema_rules(
    ctx: &Ctx<'_>,
    raw: &RawRules,
) -> Result<HashMap<String, TableRule>, CompileError> {
    let mut schemas = HashMap::default();
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
