//! actgate's own log as operators read it: `actgate serve` with standard
//! error redirected (as under Docker or systemd) writes no ANSI colour, and
//! with `[log] format = "json"` one JSON object per line, the session's
//! span fields (session id, client address, agent) included.

mod common;

use common::ServeProcess;
use std::time::Duration;

/// Runs `actgate serve` with `extra_tables`, one session of `tester`
/// running a statement, then SIGTERM; returns what it wrote to stderr.
async fn serve_log(extra_tables: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let (text, _) = common::config_text_in(
        &common::rules_dir(),
        &format!("127.0.0.1:{port}"),
        "rules_poll_ms = 0",
        extra_tables,
    );
    let config = dir.path().join("actgate.toml");
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("stderr.log");
    let child = ServeProcess::spawn(&config, std::fs::File::create(&log).unwrap().into());
    let url = format!("postgres://tester:tester-secret@127.0.0.1:{port}/shop");
    let client = common::connect_when_up(&url).await;
    client.simple_query("SELECT 1").await.unwrap();
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = child.terminate();
    assert!(status.success(), "actgate serve exited with {status}");
    std::fs::read_to_string(&log).unwrap()
}

#[tokio::test]
async fn text_logs_carry_no_colour_when_not_on_a_terminal() {
    let log = serve_log("").await;
    assert!(log.contains("actgate listening"), "{log}");
    assert!(log.contains("session started"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a redirected log:\n{log}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_session_fields() {
    let log = serve_log("\n[log]\nformat = \"json\"\n").await;
    assert!(!log.contains('\u{1b}'), "{log}");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "actgate listening"),
        "{log}"
    );
    let started = lines
        .iter()
        .find(|l| l["fields"]["message"] == "session started")
        .unwrap_or_else(|| panic!("no session started line:\n{log}"));
    assert_eq!(started["level"], "INFO");
    let span = &started["span"];
    assert_eq!(span["name"], "session", "{started}");
    assert!(span["id"].is_u64() || span["id"].is_string(), "{started}");
    assert!(
        span["client"]
            .as_str()
            .is_some_and(|c| c.starts_with("127.0.0.1:")),
        "{started}"
    );
    assert_eq!(span["agent"], "tester", "{started}");
}
