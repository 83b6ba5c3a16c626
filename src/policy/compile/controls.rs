//! Runtime controls: active hours, rate limits, approvals and the circuit
//! breaker.

use super::super::analyze::Access;
use super::super::catalog::Catalog;
use super::super::names::{QualifiedName, fold_config};
use super::super::{ActiveWindow, ApprovalRule, CircuitBreaker, RateLimit};
use super::{
    CompileError, Ctx, RawApproval, RawCircuitBreaker, RawPolicy, RawRateLimit, check_relation,
    operations,
};
use std::collections::HashSet;
use toml::Spanned;

/// `policy.time_zone` (default UTC): the zone of every `active_hours`.
pub(super) fn time_zone(ctx: &Ctx<'_>, p: &RawPolicy) -> Result<String, CompileError> {
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
pub(super) fn active_window(
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

/// `[circuit_breaker]`.
pub(super) fn circuit_breaker(
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

pub(super) fn rate_limits(
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
pub(super) fn entry_name(
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

pub(super) fn approvals(
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
pub(super) fn per_subject(
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
