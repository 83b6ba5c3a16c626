//! `actgate explain`: a human-readable account of what a statement does
//! and what the agent's policy says about it. Pure formatting.

use super::analyze::{
    Access, AmbiguousColumn, Analysis, AnalysisError, ColumnAccess, ColumnName, ColumnUse,
    CopyInfo, Occurrence, RelationUse, SettingAction, SettingParam, SettingUse, StatementInfo,
};
use super::catalog::Catalog;
use super::{Capability, Denial, Policy, SessionState, Situation, TableRule, Verdict};
use std::fmt::Write;

/// Explains `analysis` under `policy`.
pub fn explain(
    policy: &Policy,
    analysis: &Result<Analysis, AnalysisError>,
    catalog: Option<&Catalog>,
    capability: Option<&dyn Capability>,
) -> String {
    let mut out = String::new();
    header(&mut out, policy, catalog);
    match analysis {
        Err(e) => {
            let _ = writeln!(out, "analysis: failed: {e}");
        }
        Ok(a) => analysis_section(&mut out, policy, a),
    }
    let session = SessionState::default();
    let situation = Situation::offline(catalog, &session, capability);
    let decision = policy.decide_query(analysis, &situation);
    match decision.offline_verdict(policy, Some("(none: actgate explain)")) {
        Verdict::Allow => {
            let _ = writeln!(out, "verdict:  ALLOW");
            if let Ok(a) = analysis {
                row_limit(&mut out, policy, a);
                runtime_controls(&mut out, policy, a);
            }
        }
        Verdict::Deny(d) => denial(&mut out, policy, &d),
    }
    out
}

/// The agent, its mode and source, and whether a live catalog is used.
fn header(out: &mut String, policy: &Policy, catalog: Option<&Catalog>) {
    let _ = writeln!(
        out,
        "agent:    {} ({} mode, {})",
        policy.agent,
        policy.mode.name(),
        policy.source.display()
    );
    let _ = writeln!(
        out,
        "catalog:  {}",
        if catalog.is_some() {
            "live (columns expanded)"
        } else {
            "none (offline: * and whole-row references are not expanded)"
        }
    );
}

/// The fingerprint, each statement, and the risk factors.
fn analysis_section(out: &mut String, policy: &Policy, a: &Analysis) {
    let _ = writeln!(out, "fingerprint: {}", a.fingerprint);
    if a.statements.is_empty() {
        let _ = writeln!(out, "(empty statement)");
    }
    for (i, st) in a.statements.iter().enumerate() {
        statement(out, policy, i + 1, st);
    }
    let mut risk = a.risk_factors();
    if policy.touches_sensitive(a) {
        risk.push("sensitive_table");
    }
    if !risk.is_empty() {
        let _ = writeln!(out, "risk:     {}", risk.join(", "));
    }
}

/// One statement: its classes and everything it touches, in a fixed order.
fn statement(out: &mut String, policy: &Policy, number: usize, st: &StatementInfo) {
    let classes: Vec<&str> = st.classes.iter().map(|c| c.name()).collect();
    let _ = writeln!(out, "statement {number}: {}", classes.join(" + "));
    for r in &grouped(&st.relations) {
        let _ = writeln!(out, "  relation  {} ({})", r.0, r.1.join(", "));
    }
    for f in &st.functions {
        let _ = writeln!(out, "  function  {f}");
    }
    for c in &st.columns {
        let _ = writeln!(out, "{}", column_line(c));
    }
    for amb in &st.ambiguous {
        let _ = writeln!(out, "{}", ambiguous_line(amb));
    }
    for s in &st.settings {
        let _ = writeln!(out, "{}", setting_line(s));
    }
    for p in &st.setting_params {
        let _ = writeln!(out, "{}", setting_param_line(p));
    }
    if let Some(c) = &st.copy {
        let _ = writeln!(out, "{}", copy_line(c));
    }
    for o in &st.occurrences {
        let _ = writeln!(out, "{}", use_line(o));
        if let Some(rule) = policy.tables.get(&o.relation) {
            table_rule_lines(out, rule, o.access);
        }
    }
    if st.row_locks {
        let _ = writeln!(out, "  row locks (FOR UPDATE/SHARE)");
    }
    if st.missing_where {
        let _ = writeln!(out, "  no WHERE clause");
    }
}

fn column_line(c: &ColumnUse) -> String {
    let name = match &c.column {
        ColumnName::Named(n) => n.clone(),
        ColumnName::All => "*".into(),
    };
    let access = match c.access {
        ColumnAccess::Read => "read",
        ColumnAccess::Write => "write",
    };
    format!("  column    {}.{name} ({access})", c.relation)
}

fn ambiguous_line(amb: &AmbiguousColumn) -> String {
    let cands: Vec<String> = amb
        .candidates
        .iter()
        .map(|(t, c)| match c {
            ColumnName::Named(n) => format!("{t}.{n}"),
            ColumnName::All => format!("{t}.*"),
        })
        .collect();
    format!(
        "  column    {} (ambiguous: {})",
        amb.column,
        cands.join(" or ")
    )
}

fn setting_line(s: &SettingUse) -> String {
    let verb = match s.action {
        SettingAction::Set => "set",
        SettingAction::Narrow => "set, narrowing",
        SettingAction::Reset => "reset",
        SettingAction::Show => "show",
        SettingAction::Discard => "discard",
    };
    format!("  setting   {} ({verb})", s.name)
}

fn setting_param_line(p: &SettingParam) -> String {
    let verb = match p.action {
        SettingAction::Show => "show",
        _ => "set",
    };
    format!(
        "  setting   named by ${} ({verb}, checked at Bind)",
        p.param
    )
}

fn copy_line(c: &CopyInfo) -> String {
    format!(
        "  copy      {:?} {:?}{}",
        c.direction,
        c.endpoint,
        if c.inline_payload {
            " with inline data"
        } else {
            ""
        }
    )
}

/// One use of a relation, with its pins, written values and row count.
fn use_line(o: &Occurrence) -> String {
    let pins: Vec<String> = o
        .pins
        .iter()
        .map(|p| format!("{} = {}", p.column, pin_text(&p.value)))
        .collect();
    let written: Vec<String> = o
        .written
        .iter()
        .map(|(c, v)| {
            format!(
                "{c} := {}",
                v.as_ref()
                    .map(pin_text)
                    .unwrap_or_else(|| "(not evident)".into())
            )
        })
        .collect();
    let mut line = format!("  use       {} ({})", o.relation, o.access.name());
    if !pins.is_empty() {
        line.push_str(&format!(" where {}", pins.join(" and ")));
    }
    if !written.is_empty() {
        line.push_str(&format!(" sets {}", written.join(", ")));
    }
    if let Some(rows) = &o.rows {
        line.push_str(&format!(" ({} row(s))", rows.len()));
    }
    line
}

/// The table rule's scope, write cap and value limits that apply to a use.
fn table_rule_lines(out: &mut String, rule: &TableRule, access: Access) {
    for (col, v) in &rule.scope {
        let v = match v {
            super::ScopeValue::Literal(l) => l.clone(),
            super::ScopeValue::Claim(c) => format!("{{{{claims.{c}}}}}"),
        };
        let _ = writeln!(
            out,
            "            scope rule: {col} = {v} ({}.scope.{col})",
            rule.rule
        );
    }
    if let Some(cap) = rule.max_affected_rows
        && matches!(access, Access::Update | Access::Delete)
    {
        let _ = writeln!(
            out,
            "            write cap: at most {cap} rows changed ({}.max_affected_rows)",
            rule.rule
        );
    }
    for col in rule.limits.keys() {
        let _ = writeln!(
            out,
            "            value limit on {col} ({}.limits.{col})",
            rule.rule
        );
    }
}

/// The row limit an allowed statement's result is held to.
fn row_limit(out: &mut String, policy: &Policy, a: &Analysis) {
    match policy.row_limit(a, true) {
        Ok(Some(l)) => {
            let mode = if l.truncate { "truncated" } else { "an error" };
            let _ = writeln!(
                out,
                "  rows     at most {}; more is {mode} ({})",
                l.max, l.rule
            );
        }
        Ok(None) => {}
        Err(d) => {
            let _ = writeln!(
                out,
                "  rows     simple protocol: {} ({})",
                d.message, d.reason
            );
        }
    }
}

/// The verdict section of a refused statement.
fn denial(out: &mut String, policy: &Policy, d: &Denial) {
    let enforced = match policy.mode {
        super::Mode::Enforce => "DENY",
        super::Mode::Monitor => "DENY (monitor mode: audited, not blocked)",
    };
    let _ = writeln!(out, "verdict:  {enforced}");
    let _ = writeln!(out, "  reason   {}", d.reason);
    let _ = writeln!(out, "  rule     {}", d.rule);
    let _ = writeln!(out, "  message  {}", d.message);
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "  hint     {h}");
    }
}

/// The budgets and time windows the statement is held to when it runs.
fn runtime_controls(out: &mut String, policy: &Policy, analysis: &Analysis) {
    match policy.runtime_controls(analysis) {
        Err(d) => {
            let _ = writeln!(out, "  controls {} ({})", d.message, d.reason);
        }
        Ok(c) => {
            let mut budgets = c.budgets.clone();
            budgets.dedup();
            for limit in budgets.iter().filter_map(|&i| policy.rate_limits.get(i)) {
                let per = if limit.per_subject {
                    "per end user"
                } else {
                    "for the agent"
                };
                let _ = writeln!(out, "  budget   {} {per} ({})", limit.budget, limit.rule);
            }
            for w in c.windows.iter().filter_map(|&i| policy.time_windows.get(i)) {
                let _ = writeln!(out, "  window   only during {} ({})", w.window, w.rule);
            }
        }
    }
    match policy.approvals_needed(analysis) {
        Err(d) => {
            let _ = writeln!(out, "  approval {} ({})", d.message, d.reason);
        }
        Ok(needs) => {
            for n in needs {
                let Some(rule) = policy.approvals.get(n.index) else {
                    continue;
                };
                let when = match (&rule.threshold, n.param) {
                    (Some((column, above)), Some(p)) => {
                        format!("if ${p} (written to {column}) is above {above}")
                    }
                    _ => "always".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "  approval needs an operator's approval {when} ({}; valid {} s)",
                    rule.rule,
                    rule.ttl.as_secs()
                );
            }
        }
    }
}

/// Relations with every way the statement accesses each.
fn grouped(relations: &[RelationUse]) -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&'static str>)> = Vec::new();
    for r in relations {
        let name = r.name.to_string();
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, accesses)) => accesses.push(r.access.name()),
            None => out.push((name, vec![r.access.name()])),
        }
    }
    out
}

fn pin_text(v: &super::analyze::PinValue) -> String {
    match v {
        super::analyze::PinValue::Literal(l) => format!("'{l}'"),
        super::analyze::PinValue::Param(n) => format!("${n} (checked at Bind)"),
        super::analyze::PinValue::ParamArray(n) => {
            format!("every element of ${n} (checked at Bind)")
        }
        super::analyze::PinValue::Set(vs) => {
            format!(
                "any of ({})",
                vs.iter().map(pin_text).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
