//! Unit tests of the decision: stages, monitor mode, obligations and the
//! offline reading.

use super::*;
use std::collections::HashMap;
use std::path::Path;

fn policy(mode: &str) -> std::sync::Arc<Policy> {
    let rules = format!(
        r#"
[agent]
name = "desk"
databases = ["shop"]
auth = "token"

[policy]
mode = "{mode}"
statements = ["read", "insert", "update", "prepare"]

[tables.orders]
operations = ["select", "update"]
max_affected_rows = 3

[tables.refunds]
operations = ["select", "insert"]

[[approvals]]
name = "large_refunds"
table = "refunds"
operations = ["insert"]
column = "amount_cents"
above = 20000

[[rate_limits]]
name = "order-updates"
table = "orders"
operations = ["update"]
budget = "5/minute"
"#
    );
    crate::rules::parse_agent(
        &rules,
        Path::new("/etc/actgate/rules/desk.toml"),
        &["public".to_string()],
        &HashMap::new(),
    )
    .unwrap()
    .policy
}

fn analysis(sql: &str) -> Result<Analysis, AnalysisError> {
    crate::policy::analyze::analyze_in_public(sql, None)
}

fn query(p: &Policy, sql: &str) -> Decision {
    let session = SessionState::default();
    p.decide_query(&analysis(sql), &Situation::offline(None, &session, None))
}

fn stages(d: &Decision) -> Vec<(Stage, &'static str)> {
    d.refusals
        .iter()
        .map(|r| (r.stage, r.denial.reason))
        .collect()
}

#[test]
fn enforce_mode_stops_at_the_first_refusal() {
    let p = policy("enforce");
    let d = query(&p, "DELETE FROM orders WHERE id = 1");
    assert_eq!(stages(&d), [(Stage::Rules, "statement_class_denied")]);
    assert!(!d.passed_rules);
}

#[test]
fn monitor_mode_goes_on_and_reports_every_refusal_in_order() {
    let p = policy("monitor");
    // Denied by the rules (DELETE), and a PREPARE under a rate limit: both
    // are reported, in the order the proxy audits them.
    let d = query(
        &p,
        "DELETE FROM orders WHERE id = 1; PREPARE u AS UPDATE orders SET status = 'x' WHERE id = 1",
    );
    assert_eq!(
        stages(&d),
        [
            (Stage::Rules, "statement_class_denied"),
            (Stage::Controls, "runtime_control_prepare"),
        ]
    );
    // Monitor mode enforces no row limit or write cap.
    assert_eq!(d.obligations.write_cap, None);
}

#[test]
fn obligations_of_an_allowed_query() {
    let p = policy("enforce");
    let d = query(&p, "UPDATE orders SET status = 'x' WHERE id = 1");
    assert!(d.refusals.is_empty() && d.passed_rules);
    assert_eq!(d.obligations.controls.budgets, [0]);
    assert_eq!(d.obligations.write_cap.as_ref().map(|c| c.max), Some(3));
    let d = query(&p, "UPDATE orders SET status = 'x' WHERE id = 1; SELECT 1");
    assert_eq!(stages(&d), [(Stage::Limits, "write_cap_multi_statement")]);
}

#[test]
fn binding_stages_refuse_in_monitor_mode_too() {
    let p = policy("monitor");
    let session = SessionState::default();
    let situation = Situation {
        audit_unavailable: Some("disk full"),
        ..Situation::offline(None, &session, None)
    };
    let d = p.decide_query(&analysis("SELECT 1"), &situation);
    assert_eq!(stages(&d), [(Stage::Audit, "audit_unavailable")]);
    assert!(Stage::Audit.binding() && !Stage::Audit.violation());
    assert!(!Stage::Rules.binding() && Stage::Rules.violation());
}

#[test]
fn a_parse_defers_its_hold_and_a_bind_keeps_the_needs_its_values_meet() {
    let p = policy("enforce");
    let mut session = SessionState::default();
    let sql = "INSERT INTO refunds (order_id, amount_cents) VALUES ($1, $2)";
    let d = p.decide_parse(
        "r",
        &analysis(sql),
        &Situation::offline(None, &session, None),
    );
    assert!(d.refusals.is_empty());
    assert_eq!(d.obligations.approvals.len(), 1);
    session.parsed("r", d.param_checks.clone());
    let small = |n: usize| Some(if n == 2 { "100" } else { "1" }.to_owned());
    let large = |n: usize| Some(if n == 2 { "90000" } else { "1" }.to_owned());
    let stored = &d.obligations.approvals;
    assert!(
        p.decide_bind("r", &session, &small, stored)
            .obligations
            .approvals
            .is_empty()
    );
    assert_eq!(
        p.decide_bind("r", &session, &large, stored)
            .obligations
            .approvals
            .len(),
        1
    );
    // A name in use is PostgreSQL's own 42P05, before any rule.
    let again = p.decide_parse(
        "r",
        &analysis(sql),
        &Situation::offline(None, &session, None),
    );
    assert_eq!(stages(&again), [(Stage::Message, "statement_exists")]);
    assert_eq!(again.refusals[0].denial.sqlstate, "42P05");
}

#[test]
fn offline_an_approval_hold_refuses_where_the_proxy_would_hold() {
    let p = policy("enforce");
    let d = query(
        &p,
        "INSERT INTO refunds (order_id, amount_cents) VALUES (1, 90000)",
    );
    assert!(d.refusals.is_empty());
    let held = d.offline_verdict(&p, Some("(none)"));
    assert!(matches!(held, Verdict::Deny(ref r) if r.reason == "approval_required"));
    assert_eq!(d.offline_verdict(&p, None), Verdict::Allow);
}

#[test]
fn a_decision_reads_literal_values_only_under_a_scope_a_limit_or_an_approval() {
    let p = policy("enforce");
    let reads = |sql: &str| p.reads_values(&analysis(sql).unwrap());
    // An approval rule on refunds (no scope, no limits): the amount decides
    // whether the statement is held, so two literals decide differently.
    let small = "INSERT INTO refunds (order_id, amount_cents) VALUES (1, 100)";
    let large = "INSERT INTO refunds (order_id, amount_cents) VALUES (1, 30000)";
    assert!(reads(small) && reads(large));
    assert_ne!(query(&p, small), query(&p, large));
    assert!(
        reads("SELECT id FROM refunds WHERE id = 7"),
        "a rule on the table"
    );
    // No rule on orders reads a value: any literal is decided alike.
    assert!(!reads("UPDATE orders SET status = 'x' WHERE id = 1"));
    assert_eq!(
        query(&p, "UPDATE orders SET status = 'x' WHERE id = 1"),
        query(&p, "UPDATE orders SET status = 'y' WHERE id = 2")
    );
    assert!(!reads("SELECT 1"));
}
