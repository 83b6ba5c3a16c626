//! Reads through driver features are reads (issue 12, item 8): real
//! drivers through actgate as the demo `analytics` agent (rules/analytics.toml,
//! `statements = ["read"]`, driver profile on). psycopg 3 named cursors
//! (plain and WITH HOLD), `cur.copy("COPY … TO STDOUT")`, EXPLAIN, SQL
//! PREPARE/EXECUTE and SQLAlchemy's `stream_results`; psql's `\copy … to
//! stdout` and EXPLAIN. Each is judged by the statement it wraps: what the
//! query may read passes, what it may not is refused with the query's
//! reason, and the audit log shows no other refusal.
//!
//! python3 (psycopg, sqlalchemy) and psql come from `PATH` (scripts/test.sh
//! installs them); when one is missing the test fails and says so.

mod common;

use common::{ANALYTICS, Proxy};
use std::process::{Command, Output};
use std::time::Duration;

/// A client still running after this long is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A client command (see [`common::clients::command`]).
fn command(name: &str) -> Command {
    common::clients::command(
        name,
        "scripts/test.sh installs the clients these tests run \
         (psql from postgresql-client; psycopg[binary] and sqlalchemy from PyPI)",
    )
}

async fn run(cmd: Command) -> Output {
    common::clients::run(cmd, RUN_TIMEOUT).await
}

/// Runs `cmd` (given the analytics agent's URL) through an audited
/// actgate; checks its exit status, its exact output and that the only
/// statements actgate blocked are `denied` (SQL, reason), in order.
async fn run_reads(cmd: impl FnOnce(String) -> Command, expected: &str, denied: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "sql_max_bytes = 65536")).await;
    let output = run(cmd(proxy.url(ANALYTICS, "shop"))).await;
    let blocked_of = |events: &[serde_json::Value]| -> Vec<(String, String)> {
        events
            .iter()
            .filter(|l| l["event"] == "statement_blocked")
            .map(|b| {
                (
                    b["sql"].as_str().unwrap_or_default().to_owned(),
                    b["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let events = common::audit_events_when(&audit, |e| blocked_of(e).len() >= denied.len()).await;
    proxy.stop().await;
    let blocked = blocked_of(&events);
    let report = blocked
        .iter()
        .map(|(sql, reason)| format!("- {reason}: {sql}"))
        .collect::<Vec<_>>()
        .join("\n");
    let context = common::clients::blocked_context(&output, &report);
    common::clients::assert_output(&output, "client", expected, &context);
    let denied: Vec<(String, String)> = denied
        .iter()
        .map(|(s, r)| (s.to_string(), r.to_string()))
        .collect();
    assert_eq!(
        blocked, denied,
        "actgate blocked other statements\n{context}"
    );
}

/// psycopg 3 and SQLAlchemy (on psycopg 3) reading through named cursors,
/// COPY TO STDOUT, EXPLAIN and SQL PREPARE/EXECUTE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg3_and_sqlalchemy_read_through_driver_features() {
    run_reads(
        |url| {
            let mut cmd = command("python3");
            cmd.arg("psycopg_reads.py").arg(url);
            cmd
        },
        "named cursor: 20 rows, first 1, last 20\n\
         transaction: INTRANS\n\
         with hold after commit: 401\n\
         named cursor over email: 42501 reason: column_denied\n\
         copy query: 200 rows, first 1\n\
         copy table: 20 lines\n\
         copy payment_methods: 42501 reason: table_denied\n\
         explain: True\n\
         explain json: list True\n\
         explain analyze: 42501 reason: statement_class_denied\n\
         execute: 30\n\
         prepare delete: 42501 reason: statement_class_denied\n\
         still usable: 200\n\
         sqlalchemy stream_results: 200 rows\n\
         sqlalchemy after stream: 20\n\
         closed\n",
        &[
            (
                "DECLARE \"bad\" CURSOR FOR SELECT email FROM customers",
                "column_denied",
            ),
            (
                "COPY (SELECT * FROM payment_methods) TO STDOUT",
                "table_denied",
            ),
            (
                "EXPLAIN ANALYZE SELECT id FROM orders",
                "statement_class_denied",
            ),
            (
                "PREPARE gone AS DELETE FROM orders WHERE id = 1",
                "statement_class_denied",
            ),
        ],
    )
    .await;
}

/// The demo shop's product SKUs (demo/shop.sql), one per line.
const SKUS: &str = "TEE-CLS-BLK\nTEE-CLS-WHT\nHOOD-ZIP-GRY\nCAP-LOGO-NVY\nMUG-CER-12\n\
     BTL-STL-750\nBAG-TOTE-CNV\nBAG-BPK-20L\nNB-DOT-A5\nPEN-GEL-3PK\nSOCK-WOOL-M\nSOCK-WOOL-L\n\
     LAMP-DSK-LED\nPLNT-POT-S\nCNDL-SOY-CED\nHDPH-WRL-BLK\nCBL-USBC-2M\nCHRG-65W-GAN\n\
     UMB-CMP-BLK\nGIFT-CARD-50\n";

/// psql: `\copy (query) to stdout`, `\copy table (columns) to stdout`, and
/// EXPLAIN; `\copy` of a denied table is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copy_to_stdout_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("reads.sql");
    let skus = dir.path().join("skus.txt");
    std::fs::write(
        &script,
        format!(
            "\\copy (select id, status from orders where id <= 3 order by id) to stdout\n\
             \\copy (select count(*) from products) to stdout with (format csv)\n\
             \\copy products (sku) to '{}'\n\
             \\copy customers (id, email) to stdout\n\
             EXPLAIN (COSTS off) SELECT status FROM orders;\n\
             \\copy staff_users to stdout\n\
             SELECT count(*) FROM orders;\n",
            skus.display()
        ),
    )
    .unwrap();
    let script = script.display().to_string();
    run_reads(
        |url| {
            let mut cmd = command("psql");
            cmd.args(["-X", "-A", "-t", "-q", "-d"])
                .arg(url)
                .arg("-f")
                .arg(&script);
            cmd
        },
        "1\tpending\n2\tpaid\n3\tpaid\n20\nSeq Scan on orders\n200\n",
        &[
            ("COPY  customers ( id, email ) TO STDOUT ", "column_denied"),
            ("COPY  staff_users TO STDOUT ", "table_denied"),
        ],
    )
    .await;
    let mut copied: Vec<String> = std::fs::read_to_string(&skus)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    copied.sort();
    let mut expected: Vec<&str> = SKUS.lines().collect();
    expected.sort();
    assert_eq!(copied, expected, "\\copy products (sku) to a file");
}

/// Rows of a simple-protocol answer.
fn rows(messages: &[tokio_postgres::SimpleQueryMessage]) -> usize {
    messages
        .iter()
        .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
        .count()
}

/// Write caps and row limits follow a statement into its wrapper, or the
/// wrapper is refused: EXPLAIN of a capped UPDATE runs nothing, a PREPARE
/// of it is refused; FETCH is held to the agent's row limit, and a cursor
/// over a table with a tighter one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_follow_the_wrapped_statement() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let before: i64 = admin
        .query_one("SELECT count(*) FROM orders WHERE notes = 'explained'", &[])
        .await
        .unwrap()
        .get(0);
    let capped = proxy.connect(("capped", "capped-secret")).await;
    let plan = capped
        .simple_query("EXPLAIN UPDATE orders SET notes = 'explained' WHERE id > 0")
        .await
        .unwrap();
    assert!(rows(&plan) >= 1, "{plan:?}");
    let after: i64 = admin
        .query_one("SELECT count(*) FROM orders WHERE notes = 'explained'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, before, "EXPLAIN without ANALYZE ran the UPDATE");
    let e = capped
        .simple_query("PREPARE p AS UPDATE orders SET notes = 'explained' WHERE id > 0")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "runtime_control_prepare");
    let e = capped
        .simple_query("EXPLAIN ANALYZE UPDATE orders SET notes = 'explained' WHERE id > 0")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "statement_class_denied");
    let limited = proxy.connect(("limited", "limited-secret")).await;
    let e = limited
        .simple_query("DECLARE p CURSOR WITH HOLD FOR SELECT id FROM products")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_cursor");
    limited
        .simple_query("BEGIN; DECLARE c CURSOR FOR SELECT id FROM orders ORDER BY id")
        .await
        .unwrap();
    let fetched = limited.simple_query("FETCH 5 FROM c").await.unwrap();
    assert_eq!(rows(&fetched), 5);
    let e = limited.simple_query("FETCH 6 FROM c").await.unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    limited.simple_query("ROLLBACK").await.unwrap();
    let n = limited.simple_query("SELECT 1").await.unwrap();
    assert_eq!(rows(&n), 1);
    drop((capped, limited));
    proxy.stop().await;
}
