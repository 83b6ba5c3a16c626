//! `actgate replay` and `actgate suggest` on hand-written audit logs in
//! the real schema (tests/fixtures/audit/): what changes under candidate
//! rules, exit statuses, and suggestions that load and allow what they
//! were built from.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn actgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_actgate"))
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/audit").join(name)
}

fn replay(audit: &Path, rules: &Path, extra: &[&str]) -> Output {
    actgate()
        .arg("replay")
        .arg("--audit")
        .arg(audit)
        .arg("--rules")
        .arg(rules)
        .args(extra)
        .output()
        .unwrap()
}

/// `actgate suggest --audit tests/fixtures/audit/monitor.jsonl ARGS`.
fn suggest_monitor(args: &[&str]) -> Output {
    actgate()
        .arg("suggest")
        .arg("--audit")
        .arg(fixture("monitor.jsonl"))
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// (line, reason) of each listed change.
fn changes(report: &Value, list: &str, reason_field: &str) -> Vec<(u64, String)> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["line"].as_u64().unwrap(),
                c[reason_field].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn replay_under_the_recording_rules_changes_nothing() {
    let out = replay(
        &fixture("recorded.jsonl"),
        &root().join("rules"),
        &["--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["newly_blocked"], Value::Array(vec![]));
    assert_eq!(r["newly_allowed"], Value::Array(vec![]));
    assert_eq!(r["agents"]["analytics"]["unchanged_allowed"], 3);
    assert_eq!(r["agents"]["analytics"]["unchanged_blocked"], 2);
    assert_eq!(r["agents"]["support-bot"]["unchanged_allowed"], 2);
    assert_eq!(r["agents"]["support-bot"]["unchanged_blocked"], 2);
    // The shipped support-bot holds refunds above 200.00 for an operator:
    // allowed by the policy, listed apart, not newly blocked.
    let held = r["held_for_approval"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{r}");
    assert_eq!(held[0]["line"], 10);
    assert!(
        held[0]["rule"]
            .as_str()
            .unwrap()
            .ends_with("support-bot.toml: approvals.large_refunds"),
        "{r}"
    );
}

#[test]
fn replay_reports_exactly_what_candidate_rules_change_and_exits_1() {
    let out = replay(
        &fixture("recorded.jsonl"),
        &fixture("candidate"),
        &["--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(
        changes(&r, "newly_blocked", "reason"),
        vec![
            (3, "column_denied".to_owned()),
            (4, "table_not_allowed".to_owned()),
            (10, "value_limit".to_owned()),
        ]
    );
    let refund = &r["newly_blocked"][2];
    assert_eq!(refund["agent"], "support-bot");
    assert!(
        refund["rule"]
            .as_str()
            .unwrap()
            .ends_with("support-bot.toml: tables.refunds.limits.amount_cents"),
        "{refund}"
    );
    assert!(
        refund["message"].as_str().unwrap().contains("20000"),
        "{refund}"
    );
    assert_eq!(
        changes(&r, "newly_allowed", "recorded_reason"),
        vec![(12, "column_denied".to_owned())]
    );
    let skipped: Vec<(u64, &str)> = r["not_replayable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["line"].as_u64().unwrap(), u["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        vec![(7, "sql_truncated"), (13, "no_sql"), (14, "unknown_agent")]
    );
    assert_eq!(r["malformed"][0]["line"], 15);
    assert_eq!(r["other_events"], 3);
    assert_eq!(r["agents"]["analytics"]["newly_blocked"], 2);
    assert_eq!(r["agents"]["support-bot"]["newly_allowed"], 1);
}

#[test]
fn replay_text_names_the_changes_and_the_malformed_line() {
    let out = replay(&fixture("recorded.jsonl"), &fixture("candidate"), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("newly blocked: 3"), "{text}");
    assert!(
        text.contains(
            "  line 3: analytics, session 1 (recorded allowed)\n    sql:     SELECT country, count(*) FROM customers GROUP BY country\n    now:     denied: column_denied"
        ),
        "{text}"
    );
    assert!(text.contains("newly allowed: 1"), "{text}");
    assert!(text.contains("not replayable: 3"), "{text}");
    assert!(text.contains("malformed lines: 1\n  line 15: "), "{text}");
    assert!(
        text.contains("result: 3 statement(s) would be newly blocked (exit status 1)"),
        "{text}"
    );
}

#[test]
fn replay_of_one_agent_leaves_the_others_out() {
    let out = replay(
        &fixture("recorded.jsonl"),
        &fixture("candidate"),
        &["--json", "--agent", "support-bot"],
    );
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(
        changes(&r, "newly_blocked", "reason"),
        vec![(10, "value_limit".to_owned())]
    );
    let agents: Vec<&String> = r["agents"].as_object().unwrap().keys().collect();
    assert_eq!(agents, vec!["support-bot"]);
    assert_eq!(r["filtered_out"], 7);
}

#[test]
fn replay_without_recorded_claims_denies_scoped_statements_and_says_why() {
    let out = replay(
        &fixture("no-claims.jsonl"),
        &root().join("rules"),
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let r = json(&out);
    assert_eq!(
        changes(&r, "newly_blocked", "reason"),
        vec![(1, "claim_missing".to_owned())]
    );
    assert!(
        r["newly_blocked"][0]["note"]
            .as_str()
            .unwrap()
            .contains("records no claims"),
        "{r}"
    );
    assert_eq!(r["without_claims"], 1);
}

#[test]
fn replay_bad_input_exits_2() {
    let out = replay(&fixture("no-such-file.jsonl"), &root().join("rules"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read audit log"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[agent]\nname = 1\n").unwrap();
    let out = replay(&fixture("recorded.jsonl"), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn suggest_output_loads_and_allows_every_recorded_statement() {
    let out = suggest_monitor(&["--agent", "watcher"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("statements = [\"read\", \"update\"]"),
        "{text}"
    );
    assert!(text.contains("[tables.orders]"), "{text}");
    assert!(
        text.contains("columns = [\"created_at\", \"customer_id\", \"id\", \"notes\", \"status\", \"total_cents\"]"),
        "{text}"
    );
    assert!(text.contains("write_columns = [\"notes\"]"), "{text}");
    assert!(text.contains("[tables.products]\n# used by 1 statement(s): select 1\noperations = [\"select\"]\n# columns omitted"), "{text}");
    // Unusable events are reported, not dropped.
    assert!(
        text.contains("with truncated SQL (sql_truncated), line(s) 10"),
        "{text}"
    );
    assert!(
        text.contains(
            "#   line 11: the statement is not valid PostgreSQL: syntax error at or near \"SELEC\""
        ),
        "{text}"
    );
    assert!(!text.contains("NOT COVERED"), "{text}");
    // The driver's catalog read and BEGIN/COMMIT need no entry.
    assert!(!text.contains("pg_type"), "{text}");
    assert!(!text.contains("transaction"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("watcher.toml"), &text).unwrap();
    let rules = actgate::rules::RuleSet::load_dir(dir.path(), &["public".to_owned()])
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(rules.agent("watcher").is_some());

    let out = replay(
        &fixture("monitor.jsonl"),
        dir.path(),
        &["--json", "--agent", "watcher"],
    );
    assert_eq!(out.status.code(), Some(0));
    let r = json(&out);
    let watcher = &r["agents"]["watcher"];
    assert_eq!(r["newly_blocked"], Value::Array(vec![]));
    // Everything that ran is allowed; what was blocked in monitor mode is
    // now allowed, except the statement no policy can allow (unparseable).
    assert_eq!(watcher["unchanged_allowed"], 5);
    assert_eq!(watcher["newly_allowed"], 3);
    assert_eq!(watcher["unchanged_blocked"], 1);
    assert_eq!(watcher["not_replayable"], 1);
}

#[test]
fn suggest_for_an_agent_without_statements_fails() {
    let out = suggest_monitor(&["--agent", "nobody"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no statement events of agent \"nobody\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn with_a_live_catalog_star_expands_into_columns() {
    let db = actgate::demo::DemoDatabase::start(&["shop"]).unwrap_or_else(|e| {
        panic!("this test needs PostgreSQL (scripts/test.sh installs it): {e}")
    });
    let url = db.pg.url("shop");
    let out = suggest_monitor(&["--agent", "watcher", "--database", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[tables.products]\n# used by 1 statement(s): select 1\noperations = [\"select\"]\ncolumns = [\"active\", \"category\", \"created_at\", \"id\", \"name\", \"price_cents\", \"sku\", \"stock_qty\"]\n"),
        "{text}"
    );
    assert!(!text.contains("NOT COVERED"), "{text}");

    // Checked against the live catalog too: the tables and columns exist
    // and every statement that ran is allowed.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("watcher.toml"), &text).unwrap();
    let out = replay(
        &fixture("monitor.jsonl"),
        dir.path(),
        &["--json", "--agent", "watcher", "--database", &url],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&out);
    assert_eq!(r["catalog"], true);
    assert_eq!(r["agents"]["watcher"]["unchanged_allowed"], 5);
    assert_eq!(r["agents"]["watcher"]["newly_allowed"], 3);
}

/// The whole loop on a log actgate itself wrote: an agent in monitor mode
/// does its work through the proxy; `suggest` turns the audit log into a
/// policy that loads, under which `replay` blocks nothing the agent did.
#[tokio::test]
async fn suggest_and_replay_on_a_log_recorded_through_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = common::Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let client = proxy.connect(("watcher", "watcher-secret")).await;
    let work = [
        "SELECT id, status FROM orders WHERE customer_id = 42",
        "SELECT p.name, i.quantity FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = 7",
        "UPDATE orders SET notes = 'called the customer' WHERE id = 7",
        "SELECT full_name, email FROM customers WHERE id = 42",
    ];
    for sql in work {
        // Monitor mode: everything runs (the UPDATE is rolled back).
        client.batch_execute("BEGIN").await.unwrap();
        client.batch_execute(sql).await.unwrap();
        client.batch_execute("ROLLBACK").await.unwrap();
    }
    drop(client);
    proxy.stop().await;
    // The audit writer runs behind a queue.
    for _ in 0..200 {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if work.iter().all(|sql| text.contains(*sql)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }

    let out = actgate()
        .args(["suggest", "--agent", "watcher", "--audit"])
        .arg(&audit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proposal = String::from_utf8(out.stdout).unwrap();
    for table in ["orders", "order_items", "products", "customers"] {
        assert!(
            proposal.contains(&format!("[tables.{table}]")),
            "{proposal}"
        );
    }
    assert!(proposal.contains("\"update\""), "{proposal}");
    assert!(!proposal.contains("payment_methods"), "{proposal}");

    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("watcher.toml"), &proposal).unwrap();
    actgate::rules::RuleSet::load_dir(rules.path(), &["public".into()])
        .unwrap_or_else(|e| panic!("the proposal does not load: {e}\n{proposal}"));
    let out = replay(&audit, rules.path(), &["--agent", "watcher"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{proposal}");
    assert!(text.contains("nothing would be newly blocked"), "{text}");
}
