//! Transaction modes and cursor movement as real drivers send them, through
//! actgate (issue 12, items 2, 3 and 6): asyncpg's
//! `transaction(isolation=, readonly=, deferrable=)` and `Cursor.forward()`
//! as the demo `analytics` agent; psycopg 3's `isolation_level`,
//! `read_only` and `set_deferrable()` and its named cursor's `scroll()`,
//! all as `analytics`. Each script's output is compared exactly, and the
//! audit log must show no blocked statement.
//!
//! python3 and the driver packages come from `PATH` and
//! scripts/ensure-drivers.sh (run by scripts/test.sh).

mod common;

use common::{ANALYTICS, Proxy};
use std::process::{Command, Output};
use std::time::Duration;

const RUN_TIMEOUT: Duration = Duration::from_secs(120);

use common::clients::drivers_dir;

fn python() -> Command {
    common::clients::command(
        "python3",
        "scripts/test.sh installs it and the drivers (scripts/ensure-drivers.sh)",
    )
}

async fn run(cmd: Command) -> Output {
    common::clients::run(cmd, RUN_TIMEOUT).await
}

async fn require_python_module(module: &str) {
    common::clients::require_python(
        python(),
        &format!("import {module}"),
        module,
        "scripts/test.sh installs it (scripts/ensure-drivers.sh)",
        RUN_TIMEOUT,
    )
    .await;
}

/// Runs `script` with the proxy URLs of `agents` as arguments and checks
/// its exact output and that actgate blocked only `denied`, in order.
async fn run_script(script: &str, agents: &[(&str, &str)], expected: &str, denied: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let mut cmd = python();
    cmd.arg(drivers_dir().join(script));
    for agent in agents {
        cmd.arg(proxy.url(*agent, "shop"));
    }
    let output = run(cmd).await;
    proxy.stop().await;

    let is_blocked = |l: &&serde_json::Value| l["event"] == "statement_blocked";
    let blocked: Vec<(String, String)> = common::audit_events_when(&audit, |events| {
        events.iter().filter(is_blocked).count() >= denied.len()
    })
    .await
    .iter()
    .filter(is_blocked)
    .map(|b| {
        (
            b["sql"].as_str().unwrap_or_default().to_owned(),
            format!("{}: {}", b["reason"], b["message"]),
        )
    })
    .collect();
    let context = common::clients::blocked_context(&output, &format!("{blocked:#?}"));
    common::clients::assert_output(&output, script, expected, &context);
    let blocked_sql: Vec<&str> = blocked.iter().map(|(sql, _)| sql.as_str()).collect();
    assert_eq!(blocked_sql, denied, "{context}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg_transaction_modes_and_cursor_forward() {
    require_python_module("asyncpg").await;
    run_script(
        "txmodes_asyncpg.py",
        &[ANALYTICS],
        "serializable read-only deferrable: serializable on on\n\
         in transaction: True\n\
         after commit: False\n\
         set transaction: repeatable read on on\n\
         default transaction: read committed off off\n\
         cursor forward: moved 5, then id is the 6th: True\n\
         forward past the end: moved 194, then None\n\
         session read-only deferrable: on on\n\
         read-write again: off\n\
         after reset: off\n\
         still usable: 200\n\
         closed\n",
        &[],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_transaction_characteristics_and_scroll() {
    require_python_module("psycopg").await;
    run_script(
        "txmodes_psycopg.py",
        &[ANALYTICS, ANALYTICS],
        "serializable read-only deferrable: serializable on on\n\
         orders: 200\n\
         read-write not deferrable: read committed off off\n\
         defaults: read committed off off\n\
         session read-only: on\n\
         read-write again: off\n\
         after default: off\n\
         scroll 5: True\n\
         scroll -3: True\n\
         absolute 0: True\n\
         fetch: True True True\n\
         rest: True\n\
         closed\n",
        &[],
    )
    .await;
}
