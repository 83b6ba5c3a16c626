//! Webhook alerts end to end: a local HTTP server receives high-risk
//! statements, approval requests and suspensions as JSON; the audit event
//! that raised each alert names it, and `alert_sent` / `alert_failed`
//! record its fate. A webhook that never answers fills only its own
//! bounded queue: queries keep running and the overflow is counted.

mod common;

use common::{Proxy, SUPPORT_BOT};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook that records every POSTed body and answers 204.
async fn receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/actgate", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let sink = sink.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = tcp.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "webhook request cut short");
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        assert!(head.starts_with("POST /hooks/actgate HTTP/1.1"), "{head}");
                        assert!(head.contains("Content-Type: application/json"), "{head}");
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .unwrap()
                            .parse()
                            .unwrap();
                        if body.len() >= len {
                            break body[..len].to_owned();
                        }
                    }
                };
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap());
                tcp.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    .await
                    .unwrap();
            });
        }
    });
    (url, got)
}

/// A webhook that accepts connections and never answers.
async fn black_hole() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            held.push(tcp);
        }
    });
    url
}

/// A port nobody listens on.
fn refused() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/", l.local_addr().unwrap())
}

/// Waits (bounded) until `done` holds for the audit log.
async fn audit_until(
    path: &std::path::Path,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    for _ in 0..200 {
        let events = common::audit_events(path);
        if done(&events) {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = common::audit_events(path);
    panic!("audit never reached the expected state: {events:#?}");
}

#[tokio::test]
async fn alerts_reach_the_webhook_and_their_fate_is_audited() {
    let (url, got) = receiver().await;
    let dead = refused();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config = common::config_with(
        "",
        &format!(
            "\n[audit]\npath = {:?}\n\n[alerts]\nwebhooks = [{url:?}, {dead:?}]\nmin_risk = 6\nmax_attempts = 3\nbackoff_ms = 10\ntimeout_ms = 2000\n",
            audit.display().to_string()
        ),
    );
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(SUPPORT_BOT).await;

    // Low risk: no alert.
    client
        .batch_execute("SELECT id FROM products LIMIT 1")
        .await
        .unwrap();
    // Denied with a tautology: 3 + 3 = 6, at the threshold.
    let e = client
        .batch_execute("SELECT * FROM staff_users WHERE 1 = 1 OR 1 = 1")
        .await
        .unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "42501");
    // An approval request always alerts.
    let order: i64 = client
        .query_one("SELECT id FROM orders WHERE customer_id = 42 LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    let e = client
        .batch_execute(&format!(
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({order}, 45000, 'alerted', 'kpatel')"
        ))
        .await
        .unwrap_err();
    let approval_hint = e.as_db_error().unwrap().message().to_owned();
    // So does a suspension.
    proxy.gateway.suspend(
        "order-assistant",
        None,
        jiff::SignedDuration::from_secs(60),
        "test".into(),
    );

    for _ in 0..200 {
        if got.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let alerts = got.lock().unwrap().clone();
    assert_eq!(alerts.len(), 3, "{alerts:#?}");
    let kind = |k: &str| {
        alerts
            .iter()
            .find(|a| a["kind"] == k)
            .unwrap_or_else(|| panic!("no {k} alert in {alerts:#?}"))
            .clone()
    };
    let risky = kind("high_risk_statement");
    assert_eq!(risky["agent"], "support-desk");
    assert_eq!(risky["risk_score"], 6);
    assert_eq!(risky["reason"], "table_denied");
    assert!(risky["sql"].as_str().unwrap().contains("1 = 1"));
    let approval = kind("approval_requested");
    let id = approval["approval_id"].as_str().unwrap();
    assert!(approval_hint.contains(id), "{approval_hint}");
    assert_eq!(approval["reason"], "approval_required");
    let suspended = kind("agent_suspended");
    assert_eq!(suspended["agent"], "order-assistant");

    // Each raising event names its alert; the good webhook got it, the
    // dead one failed after its retries.
    let events = audit_until(&audit, |ev| {
        ev.iter().filter(|e| e["event"] == "alert_sent").count() == 3
            && ev.iter().filter(|e| e["event"] == "alert_failed").count() == 3
    })
    .await;
    for alert in &alerts {
        let alert_id = alert["alert_id"].as_str().unwrap();
        let raised: Vec<_> = events
            .iter()
            .filter(|e| e["alert_id"] == alert_id && e["alert"] == "queued")
            .collect();
        assert_eq!(raised.len(), 1, "{alert_id}: {events:#?}");
        let failed = events
            .iter()
            .find(|e| e["event"] == "alert_failed" && e["alert_id"] == alert_id)
            .unwrap();
        assert_eq!(failed["count"], 3, "three attempts: {failed}");
        assert!(
            failed["message"].as_str().unwrap().contains(&dead[7..]),
            "{failed}"
        );
    }
    let quiet = events
        .iter()
        .find(|e| e["sql"] == "SELECT id FROM products LIMIT 1")
        .unwrap();
    assert!(quiet.get("alert").is_none(), "{quiet}");
    let metrics = proxy.gateway.render_metrics();
    assert!(
        metrics.contains("actgate_alerts_total{outcome=\"sent\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("actgate_alerts_total{outcome=\"failed\"} 3"),
        "{metrics}"
    );
    proxy.gateway.resume("order-assistant", None);
}

#[tokio::test]
async fn a_webhook_that_never_answers_does_not_hold_up_queries() {
    let hole = black_hole().await;
    // Every alert would wait a minute for the black hole: if the data path
    // waited on it, the statements below could not finish in this test's
    // lifetime. Its queue holds two alerts; the rest are dropped and counted.
    let config = common::config_with(
        "",
        &format!(
            "\n[alerts]\nwebhooks = [{hole:?}]\nmin_risk = 0\nqueue_capacity = 2\ntimeout_ms = 60000\nmax_attempts = 1\n"
        ),
    );
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(SUPPORT_BOT).await;
    for _ in 0..50 {
        client
            .batch_execute("SELECT id FROM products LIMIT 1")
            .await
            .unwrap();
    }
    let metrics = proxy.gateway.render_metrics();
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("actgate_alerts_total{outcome=\"dropped\"} "))
        .unwrap()
        .parse()
        .unwrap();
    let queued: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("actgate_alerts_total{outcome=\"queued\"} "))
        .unwrap()
        .parse()
        .unwrap();
    // One alert is being delivered, two wait, the rest are dropped.
    assert_eq!(queued + dropped, 50, "{metrics}");
    assert!((2..=3).contains(&queued), "{metrics}");
}

#[tokio::test]
async fn https_webhooks_are_verified_against_the_configured_ca() {
    // A certificate for 127.0.0.1, trusted as its own CA by the alert
    // sender only through alerts.ca_file.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "hook.key",
            "-out",
            "hook.crt",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("this test needs the openssl CLI: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acceptor =
        actgate::tls::load_acceptor(&dir.path().join("hook.crt"), &dir.path().join("hook.key"))
            .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, sink) = (acceptor.clone(), sink.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 16 * 1024];
                let mut text = String::new();
                while !text.contains("}") {
                    let n = tls.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    text.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
                sink.lock().unwrap().push(text);
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    let audit_dir = tempfile::tempdir().unwrap();
    let audit = audit_dir.path().join("audit.jsonl");
    let config = common::config_with(
        "",
        &format!(
            "\n[audit]\npath = {:?}\n\n[alerts]\nwebhooks = [\"https://127.0.0.1:{port}/tls-hook\"]\nca_file = {:?}\nmin_risk = 0\nmax_attempts = 1\n",
            audit.display().to_string(),
            dir.path().join("hook.crt").display().to_string()
        ),
    );
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(SUPPORT_BOT).await;
    client
        .batch_execute("SELECT id FROM products LIMIT 1")
        .await
        .unwrap();
    let events = audit_until(&audit, |ev| ev.iter().any(|e| e["event"] == "alert_sent")).await;
    assert!(
        !events.iter().any(|e| e["event"] == "alert_failed"),
        "{events:#?}"
    );
    let received = got.lock().unwrap().clone();
    assert!(
        received
            .iter()
            .any(|r| r.starts_with("POST /tls-hook HTTP/1.1") && r.contains("high_risk_statement")),
        "{received:?}"
    );
    drop(client);
    proxy.stop().await;

    // Trusting another CA, the same webhook is refused: nothing is sent.
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.crt",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = audit_dir.path().join("audit-other.jsonl");
    let config = common::config_with(
        "",
        &format!(
            "\n[audit]\npath = {:?}\n\n[alerts]\nwebhooks = [\"https://127.0.0.1:{port}/tls-hook\"]\nca_file = {:?}\nmin_risk = 0\nmax_attempts = 1\n",
            audit.display().to_string(),
            dir.path().join("other.crt").display().to_string()
        ),
    );
    let sent_before = got.lock().unwrap().len();
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(SUPPORT_BOT).await;
    client
        .batch_execute("SELECT id FROM products LIMIT 1")
        .await
        .unwrap();
    let events = audit_until(&audit, |ev| ev.iter().any(|e| e["event"] == "alert_failed")).await;
    let failed = events
        .iter()
        .find(|e| e["event"] == "alert_failed")
        .unwrap();
    assert!(
        failed["message"].as_str().unwrap().contains("certificate"),
        "{failed}"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "alert_sent"),
        "{events:#?}"
    );
    assert_eq!(
        got.lock().unwrap().len(),
        sent_before,
        "nothing reached the webhook"
    );
}
