//! `actgate explain`: a human-readable account of what a statement does
//! and what the agent's policy says about it. Pure formatting.

use super::analyze::{
    Analysis, AnalysisError, ColumnAccess, ColumnName, RelationUse, SettingAction,
};
use super::catalog::Catalog;
use super::{Capability, Policy, SessionState, Situation, Verdict};
use std::fmt::Write;

/// Explains `analysis` under `policy`.
pub fn explain(
    policy: &Policy,
    analysis: &Result<Analysis, AnalysisError>,
    catalog: Option<&Catalog>,
    capability: Option<&dyn Capability>,
) -> String {
    let mut out = String::new();
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
    match analysis {
        Err(e) => {
            let _ = writeln!(out, "analysis: failed: {e}");
        }
        Ok(a) => {
            let _ = writeln!(out, "fingerprint: {}", a.fingerprint);
            if a.statements.is_empty() {
                let _ = writeln!(out, "(empty statement)");
            }
            for (i, st) in a.statements.iter().enumerate() {
                let classes: Vec<&str> = st.classes.iter().map(|c| c.name()).collect();
                let _ = writeln!(out, "statement {}: {}", i + 1, classes.join(" + "));
                for r in &grouped(&st.relations) {
                    let _ = writeln!(out, "  relation  {} ({})", r.0, r.1.join(", "));
                }
                for f in &st.functions {
                    let _ = writeln!(out, "  function  {f}");
                }
                for c in &st.columns {
                    let name = match &c.column {
                        ColumnName::Named(n) => n.clone(),
                        ColumnName::All => "*".into(),
                    };
                    let access = match c.access {
                        ColumnAccess::Read => "read",
                        ColumnAccess::Write => "write",
                    };
                    let _ = writeln!(out, "  column    {}.{name} ({access})", c.relation);
                }
                for amb in &st.ambiguous {
                    let cands: Vec<String> = amb
                        .candidates
                        .iter()
                        .map(|(t, c)| match c {
                            ColumnName::Named(n) => format!("{t}.{n}"),
                            ColumnName::All => format!("{t}.*"),
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "  column    {} (ambiguous: {})",
                        amb.column,
                        cands.join(" or ")
                    );
                }
                for s in &st.settings {
                    let verb = match s.action {
                        SettingAction::Set => "set",
                        SettingAction::Narrow => "set, narrowing",
                        SettingAction::Reset => "reset",
                        SettingAction::Show => "show",
                        SettingAction::Discard => "discard",
                    };
                    let _ = writeln!(out, "  setting   {} ({verb})", s.name);
                }
                for p in &st.setting_params {
                    let verb = match p.action {
                        SettingAction::Show => "show",
                        _ => "set",
                    };
                    let _ = writeln!(
                        out,
                        "  setting   named by ${} ({verb}, checked at Bind)",
                        p.param
                    );
                }
                if let Some(c) = &st.copy {
                    let _ = writeln!(
                        out,
                        "  copy      {:?} {:?}{}",
                        c.direction,
                        c.endpoint,
                        if c.inline_payload {
                            " with inline data"
                        } else {
                            ""
                        }
                    );
                }
                for o in &st.occurrences {
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
                    let _ = writeln!(out, "{line}");
                    if let Some(rule) = policy.tables.get(&o.relation) {
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
                            && matches!(
                                o.access,
                                super::analyze::Access::Update | super::analyze::Access::Delete
                            )
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
                }
                if st.row_locks {
                    let _ = writeln!(out, "  row locks (FOR UPDATE/SHARE)");
                }
                if st.missing_where {
                    let _ = writeln!(out, "  no WHERE clause");
                }
            }
            let mut risk = a.risk_factors();
            if policy.touches_sensitive(a) {
                risk.push("sensitive_table");
            }
            if !risk.is_empty() {
                let _ = writeln!(out, "risk:     {}", risk.join(", "));
            }
        }
    }
    let session = SessionState::default();
    let situation = Situation::offline(catalog, &session, capability);
    let decision = policy.decide_query(analysis, &situation);
    match decision.offline_verdict(policy, Some("(none: actgate explain)")) {
        Verdict::Allow => {
            let _ = writeln!(out, "verdict:  ALLOW");
            if let Ok(a) = analysis {
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
                runtime_controls(&mut out, policy, a);
            }
        }
        Verdict::Deny(d) => {
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
    }
    out
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
