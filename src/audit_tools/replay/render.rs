//! The human-readable replay report.

use super::Report;
use std::fmt::Write as _;

/// One line of SQL for the text report.
fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The human-readable report.
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    summary(&mut out, report);
    changes(&mut out, report);
    unreplayed(&mut out, report);
    footer(&mut out, report);
    out
}

/// What was replayed under what, and the counts per agent.
fn summary(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "replayed {} statement events from {} under {} (catalog: {})",
        report.statement_events,
        report.audit,
        report.rules,
        if report.catalog {
            "live"
        } else {
            "none, * is not expanded"
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>14} {:>14} {:>15}",
        "agent", "allowed", "blocked", "newly blocked", "newly allowed", "not replayable"
    );
    for (agent, c) in &report.agents {
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>10} {:>14} {:>14} {:>15}",
            agent,
            c.unchanged_allowed,
            c.unchanged_blocked,
            c.newly_blocked,
            c.newly_allowed,
            c.not_replayable
        );
    }
    let _ = writeln!(
        out,
        "(allowed, blocked: unchanged; blocked includes monitor-mode events that would have been blocked)"
    );
}

/// The statements newly blocked, newly allowed and held for approval.
fn changes(out: &mut String, report: &Report) {
    if !report.newly_blocked.is_empty() {
        let _ = writeln!(out, "\nnewly blocked: {}", report.newly_blocked.len());
        for c in &report.newly_blocked {
            let _ = writeln!(
                out,
                "  line {}: {}{} (recorded allowed{})",
                c.line,
                c.agent,
                session(c.session_id),
                mode(&c.recorded_mode)
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
            let _ = writeln!(
                out,
                "    now:     denied: {} ({})",
                c.reason.as_deref().unwrap_or_default(),
                c.rule.as_deref().unwrap_or_default()
            );
            if let Some(m) = &c.message {
                let _ = writeln!(out, "    message: {m}");
            }
            if let Some(n) = &c.note {
                let _ = writeln!(out, "    note:    {n}");
            }
        }
    }
    if !report.newly_allowed.is_empty() {
        let _ = writeln!(out, "\nnewly allowed: {}", report.newly_allowed.len());
        for c in &report.newly_allowed {
            let _ = writeln!(
                out,
                "  line {}: {}{} (recorded blocked{}: {})",
                c.line,
                c.agent,
                session(c.session_id),
                mode(&c.recorded_mode),
                c.recorded_reason.as_deref().unwrap_or("no reason recorded")
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
        }
    }
    if !report.held_for_approval.is_empty() {
        let _ = writeln!(
            out,
            "\nheld for approval (allowed, but an operator must approve each run): {}",
            report.held_for_approval.len()
        );
        for c in &report.held_for_approval {
            let _ = writeln!(
                out,
                "  line {}: {}{} ({})",
                c.line,
                c.agent,
                session(c.session_id),
                c.rule.as_deref().unwrap_or_default()
            );
            let _ = writeln!(out, "    sql:     {}", one_line(&c.sql));
        }
    }
}

/// The events that could not be replayed and the malformed lines.
fn unreplayed(out: &mut String, report: &Report) {
    if !report.not_replayable.is_empty() {
        let _ = writeln!(out, "\nnot replayable: {}", report.not_replayable.len());
        for u in &report.not_replayable {
            let _ = writeln!(
                out,
                "  line {}: {}: {}: {}",
                u.line,
                u.agent.as_deref().unwrap_or("(no agent)"),
                u.kind,
                u.detail
            );
        }
    }
    if !report.malformed.is_empty() {
        let _ = writeln!(out, "\nmalformed lines: {}", report.malformed.len());
        for m in &report.malformed {
            let _ = writeln!(out, "  line {}: {}", m.line, m.error);
        }
    }
}

/// Events not replayed, claims missing, and the result.
fn footer(out: &mut String, report: &Report) {
    let _ = writeln!(out);
    if report.without_claims > 0 {
        let _ = writeln!(
            out,
            "{} token-session events record no claims: rules that need claims deny them, as for a secret login",
            report.without_claims
        );
    }
    if report.other_events > 0 {
        let _ = writeln!(
            out,
            "{} other events (logins, suspensions, drop reports) are not statements and were not replayed",
            report.other_events
        );
    }
    if report.filtered_out > 0 {
        let _ = writeln!(
            out,
            "{} statement events of other agents were left out (--agent)",
            report.filtered_out
        );
    }
    let _ = match report.newly_blocked.len() {
        0 => writeln!(
            out,
            "result: nothing would be newly blocked (exit status 0)"
        ),
        n => writeln!(
            out,
            "result: {n} statement(s) would be newly blocked (exit status 1)"
        ),
    };
}

fn session(id: Option<u64>) -> String {
    id.map(|s| format!(", session {s}")).unwrap_or_default()
}

fn mode(m: &Option<String>) -> String {
    match m.as_deref() {
        Some("monitor") => " in monitor mode".into(),
        _ => String::new(),
    }
}
