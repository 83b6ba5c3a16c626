//! The audit log under faults: rotation by rename (then SIGHUP, `actgate
//! reload` or `POST /reload`), a deleted or replaced file, a full disk
//! (the file is a symlink to /dev/full, where every write fails with
//! ENOSPC), and `[audit] on_failure = "block"`.

mod common;

use common::{Proxy, TESTER};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TOKEN: &str = "audit-admin-token-0123456789";

/// The audit events of `path` once `done` holds for them (bounded wait:
/// the writer runs behind a queue).
async fn events_when(
    path: &Path,
    what: &str,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    for _ in 0..400 {
        let events = common::audit_events(path);
        if done(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "{what}: {} has {:#?}",
        path.display(),
        common::audit_events(path)
    );
}

/// Whether an allowed statement's SQL contains `marker`.
fn has_statement(events: &[serde_json::Value], marker: &str) -> bool {
    events.iter().any(|e| {
        e["event"] == "statement_allowed" && e["sql"].as_str().is_some_and(|s| s.contains(marker))
    })
}

async fn run_marked(client: &tokio_postgres::Client, marker: &str) {
    client
        .simple_query(&format!("SELECT '{marker}'"))
        .await
        .unwrap_or_else(|e| panic!("{marker}: {e}"));
}

/// A full disk: the audit path is a symlink to /dev/full.
fn full_disk(dir: &Path) -> PathBuf {
    let path = dir.join("audit.jsonl");
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    path
}

/// The disk has room again: a regular file takes the symlink's place.
fn free_disk(path: &Path) {
    let fresh = path.with_extension("fresh");
    std::fs::write(&fresh, "").unwrap();
    std::fs::rename(&fresh, path).unwrap();
}

/// Polls `/readyz` until `done` holds for its status and body.
async fn readyz_when(
    admin: std::net::SocketAddr,
    what: &str,
    done: impl Fn(u16, &str) -> bool,
) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..400 {
        last = common::admin_request(admin, "GET", "/readyz", None).await;
        if done(last.0, &last.1) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: /readyz answers {last:?}");
}

#[tokio::test]
async fn sighup_after_a_rename_moves_the_audit_log_to_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let rotated = dir.path().join("audit.jsonl.1");
    let port = common::free_port();
    let (text, _) = common::config_text_in(
        &common::rules_dir(),
        &format!("127.0.0.1:{port}"),
        "rules_poll_ms = 0",
        &format!("\n[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    let config = dir.path().join("actgate.toml");
    std::fs::write(&config, text).unwrap();
    let child = common::ServeProcess::spawn(&config, std::process::Stdio::null());
    let url = format!("postgres://tester:tester-secret@127.0.0.1:{port}/shop");
    let client = common::connect_when_up(&url).await;
    run_marked(&client, "before-rotation").await;
    events_when(&audit, "the first statement is written", |ev| {
        has_statement(ev, "before-rotation")
    })
    .await;

    // logrotate without copytruncate: rename, then SIGHUP.
    std::fs::rename(&audit, &rotated).unwrap();
    run_marked(&client, "between").await;
    events_when(
        &rotated,
        "until SIGHUP, events go to the renamed file",
        |ev| has_statement(ev, "between"),
    )
    .await;
    child.signal("-HUP");
    events_when(&audit, "SIGHUP reopens the path", |ev| {
        ev.iter()
            .any(|e| e["event"] == "audit_log_reopened" && e["reason"] == "requested")
    })
    .await;
    run_marked(&client, "after-rotation").await;
    events_when(&audit, "the new file gets the new events", |ev| {
        has_statement(ev, "after-rotation")
    })
    .await;
    let old = common::audit_events(&rotated);
    assert!(has_statement(&old, "before-rotation"));
    assert!(!has_statement(&old, "after-rotation"), "{old:#?}");
    assert!(!has_statement(&common::audit_events(&audit), "between"));
}

#[tokio::test]
async fn post_reload_reopens_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let admin = common::start_admin(&proxy, TOKEN).await;
    let client = proxy.connect(TESTER).await;
    run_marked(&client, "one").await;
    events_when(&audit, "written", |ev| has_statement(ev, "one")).await;
    std::fs::rename(&audit, dir.path().join("audit.jsonl.1")).unwrap();

    let (status, body) = common::admin_request(admin, "POST", "/reload", Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    run_marked(&client, "two").await;
    let events = events_when(&audit, "the new file gets the new events", |ev| {
        has_statement(ev, "two")
    })
    .await;
    assert_eq!(events[0]["event"], "audit_log_reopened", "{events:#?}");
    assert_eq!(events[0]["reason"], "requested");
}

#[tokio::test]
async fn a_deleted_or_replaced_audit_log_is_reopened_and_that_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let client = proxy.connect(TESTER).await;
    run_marked(&client, "first").await;
    events_when(&audit, "written", |ev| has_statement(ev, "first")).await;

    // Deleted: made again at the path, with the deletion recorded.
    std::fs::remove_file(&audit).unwrap();
    run_marked(&client, "after-delete").await;
    let events = events_when(&audit, "a new file after the deletion", |ev| {
        has_statement(ev, "after-delete")
    })
    .await;
    assert_eq!(events[0]["event"], "audit_log_reopened", "{events:#?}");
    assert_eq!(events[0]["reason"], "deleted");

    // Replaced: another file put at the path is written from then on.
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, "").unwrap();
    std::fs::rename(&other, &audit).unwrap();
    run_marked(&client, "after-replace").await;
    let events = events_when(&audit, "the replacement is written", |ev| {
        has_statement(ev, "after-replace")
    })
    .await;
    assert_eq!(events[0]["event"], "audit_log_reopened", "{events:#?}");
    assert_eq!(events[0]["reason"], "replaced");
}

#[tokio::test]
async fn on_a_full_disk_lost_events_are_counted_and_reported_once_the_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let audit = full_disk(dir.path());
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let admin = common::start_admin(&proxy, TOKEN).await;
    // on_failure = "continue" (the default): sessions go on.
    let client = proxy.connect(TESTER).await;
    for i in 0..5 {
        run_marked(&client, &format!("lost-{i}")).await;
    }
    let (status, body) = readyz_when(admin, "readyz reports the audit log", |_, body| {
        body.contains("audit log cannot be written")
    })
    .await;
    assert_eq!(status, 200, "continue mode stays ready: {body}");
    assert!(body.contains("No space left on device"), "{body}");
    let (_, metrics) = common::admin_request(admin, "GET", "/metrics", Some(TOKEN)).await;
    assert!(metrics.contains("actgate_audit_failing 1"), "{metrics}");
    // The opening line, the login, five statements: all lost, counted.
    for _ in 0..400 {
        if proxy.gateway.audit.dropped() >= 7 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(proxy.gateway.audit.dropped() >= 7);

    free_disk(&audit);
    run_marked(&client, "kept").await;
    let events = events_when(&audit, "the disk is written again", |ev| {
        has_statement(ev, "kept")
    })
    .await;
    let reported: u64 = events
        .iter()
        .filter(|e| e["event"] == "audit_events_dropped")
        .map(|e| {
            assert_eq!(e["reason"], "write_failed", "{e}");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("No space left on device"),
                "{e}"
            );
            e["count"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(reported, proxy.gateway.audit.dropped(), "{events:#?}");
    let (_, metrics) = common::admin_request(admin, "GET", "/metrics", Some(TOKEN)).await;
    assert!(metrics.contains("actgate_audit_failing 0"), "{metrics}");
    assert!(
        metrics.contains("actgate_audit_dropped_unreported 0"),
        "{metrics}"
    );
    let (_, body) = readyz_when(admin, "ready", |s, _| s == 200).await;
    assert!(!body.contains("audit"), "{body}");
}

#[tokio::test]
async fn with_on_failure_block_an_unwritable_audit_log_refuses_sessions_and_readyz_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let audit = full_disk(dir.path());
    let proxy =
        Proxy::start_with(common::config_with_audit(&audit, "on_failure = \"block\"")).await;
    let admin = common::start_admin(&proxy, TOKEN).await;
    let (status, body) = common::admin_request(admin, "GET", "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.starts_with("not ready") && body.contains("audit log cannot be written"),
        "{body}"
    );
    assert!(body.contains("No space left on device"), "{body}");

    // A login is refused with an error pools retry; nothing runs.
    let Err(e) = proxy.try_connect(TESTER, "shop").await else {
        panic!("refused: the login was let in");
    };
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(db.code().code(), "57P03", "{db:?}");
    assert!(db.message().contains("cannot be audited"), "{db:?}");

    // Room again: ready, and sessions are served and audited.
    free_disk(&audit);
    readyz_when(admin, "ready again", |s, _| s == 200).await;
    let client = proxy.connect(TESTER).await;
    run_marked(&client, "audited").await;
    let events = events_when(&audit, "written", |ev| has_statement(ev, "audited")).await;
    let refused = proxy.gateway.audit.dropped();
    let reported: u64 = events
        .iter()
        .filter(|e| e["event"] == "audit_events_dropped")
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, refused, "{events:#?}");
}

#[tokio::test]
async fn with_on_failure_block_statements_are_refused_while_the_log_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy =
        Proxy::start_with(common::config_with_audit(&audit, "on_failure = \"block\"")).await;
    let admin = common::start_admin(&proxy, TOKEN).await;
    let client = proxy.connect(TESTER).await;
    run_marked(&client, "fine").await;
    events_when(&audit, "written", |ev| has_statement(ev, "fine")).await;

    // The disk fills up: the path now leads to /dev/full.
    let link = dir.path().join("full-link");
    std::os::unix::fs::symlink("/dev/full", &link).unwrap();
    std::fs::rename(&link, &audit).unwrap();
    readyz_when(admin, "not ready", |s, _| s == 503).await;
    for protocol in ["simple", "extended"] {
        let e = match protocol {
            "simple" => client.simple_query("SELECT 'refused'").await.err(),
            _ => client.query("SELECT 'refused'", &[]).await.err(),
        }
        .unwrap_or_else(|| panic!("{protocol}: a statement ran that could not be audited"));
        let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
        assert_eq!(db.code().code(), "58030", "{db:?}");
        assert!(db.message().contains("cannot be audited"), "{db:?}");
    }
    // The session stays usable: once the disk has room, it runs again.
    free_disk(&audit);
    readyz_when(admin, "ready", |s, _| s == 200).await;
    run_marked(&client, "after").await;
    let rows = client.query("SELECT 1", &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    events_when(&audit, "written", |ev| has_statement(ev, "after")).await;
}

/// A proxy auditing to a file in `dir`, and a raw session of the tester
/// agent through it.
async fn audited_raw_session(dir: &Path) -> (PathBuf, Proxy, common::raw::RawConn) {
    let audit = dir.join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let conn = common::raw::RawConn::login(proxy.addr, TESTER, "shop").await;
    (audit, proxy, conn)
}

/// A session's events are written in the order its statements were
/// decided: an allowed statement's event is recorded once the statement
/// is on its way upstream, a refusal's at once, and neither overtakes the
/// other (here all four arrive in one read).
#[tokio::test]
async fn a_sessions_events_keep_the_order_of_its_statements() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, _proxy, mut conn) = audited_raw_session(dir.path()).await;
    let statements = [
        "SELECT 'order first'",
        "SELECT pg_read_file('order second')",
        "SELECT 'order third'",
        "SELECT 'order fourth'",
    ];
    let pipelined: Vec<u8> = statements
        .iter()
        .flat_map(|sql| common::raw::query(sql))
        .collect();
    conn.send(&pipelined).await;
    let mut errors = Vec::new();
    for _ in &statements {
        errors.push(conn.until_ready().await.iter().any(|m| m.tag == b'E'));
    }
    assert_eq!(errors, [false, true, false, false]);

    let events = events_when(&audit, "all four recorded", |ev| {
        has_statement(ev, "order fourth")
    })
    .await;
    let decided: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["sql"].as_str().is_some_and(|s| s.contains("order ")))
        .map(|e| (e["event"].as_str().unwrap(), e["sql"].as_str().unwrap()))
        .collect();
    assert_eq!(
        decided,
        [
            ("statement_allowed", statements[0]),
            ("statement_blocked", statements[1]),
            ("statement_allowed", statements[2]),
            ("statement_allowed", statements[3]),
        ]
    );
}

/// A statement followed at once by the end of the session still has its
/// event: the session records what it deferred before it ends.
#[tokio::test]
async fn a_statement_sent_with_terminate_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (audit, _proxy, mut conn) = audited_raw_session(dir.path()).await;
    let mut last = common::raw::query("SELECT 'last words'");
    last.extend(common::raw::message(b'X', &[]));
    conn.send(&last).await;
    // (the answer may or may not come before the session closes)
    while conn.recv().await.is_some() {}
    events_when(&audit, "the last statement recorded", |ev| {
        has_statement(ev, "last words")
    })
    .await;
}
