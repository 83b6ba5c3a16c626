//! The admin endpoint over real HTTP: probes answer anyone, everything else
//! needs the bearer token; `/metrics` parses as Prometheus text and counts
//! what the proxy did; sessions are listed; an operator suspends and resumes
//! an agent.

mod common;

use common::{ANALYTICS, Proxy};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "test-admin-token-0123456789";

async fn start_admin(proxy: &Proxy) -> SocketAddr {
    common::start_admin(proxy, TOKEN).await
}

/// Sends one request; returns the status code and the body.
async fn request(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    common::admin_request(addr, method, path, token).await
}

/// Every sample line of a Prometheus text exposition: name{labels} → value.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("sample line {l:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("sample value in {l:?}"));
            (name.to_owned(), value)
        })
        .collect()
}

fn sample(samples: &[(String, f64)], name: &str) -> f64 {
    samples
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no sample {name} in {samples:?}"))
}

#[tokio::test]
async fn probes_answer_anyone_and_the_rest_needs_the_token() {
    let proxy = Proxy::start().await;
    let admin = start_admin(&proxy).await;
    assert_eq!(
        request(admin, "GET", "/healthz", None).await,
        (200, "ok\n".into())
    );
    assert_eq!(request(admin, "GET", "/readyz", None).await.0, 200);
    for path in ["/metrics", "/sessions", "/suspensions"] {
        assert_eq!(request(admin, "GET", path, None).await.0, 401, "{path}");
        assert_eq!(
            request(admin, "GET", path, Some("wrong-token")).await.0,
            401,
            "{path}"
        );
        assert_eq!(
            request(admin, "GET", path, Some(TOKEN)).await.0,
            200,
            "{path}"
        );
    }
    let (status, _) = request(admin, "POST", "/agents/analytics/suspend?seconds=60", None).await;
    assert_eq!(status, 401);
    assert!(proxy.gateway.suspension("analytics", None).is_none());
    assert_eq!(request(admin, "GET", "/nope", Some(TOKEN)).await.0, 404);
    assert_eq!(request(admin, "POST", "/metrics", Some(TOKEN)).await.0, 405);
    assert_eq!(
        request(admin, "POST", "/agents/analytics/suspend", Some(TOKEN))
            .await
            .0,
        400
    );
    // Garbage instead of HTTP.
    let mut tcp = tokio::net::TcpStream::connect(admin).await.unwrap();
    tcp.write_all(b"\xff\xfe\r\n\r\n").await.unwrap();
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response:?}");
}

#[tokio::test]
async fn metrics_count_sessions_and_decisions() {
    let proxy = Proxy::start().await;
    let admin = start_admin(&proxy).await;
    let client = proxy.connect(ANALYTICS).await;
    client
        .simple_query("SELECT id FROM orders WHERE id = 1")
        .await
        .unwrap();
    client
        .simple_query("SELECT id FROM staff_users")
        .await
        .unwrap_err();

    let (status, body) = request(admin, "GET", "/metrics", Some(TOKEN)).await;
    assert_eq!(status, 200);
    let s = samples(&body);
    assert_eq!(sample(&s, "actgate_sessions_active"), 1.0);
    assert_eq!(sample(&s, "actgate_sessions_total"), 1.0);
    assert!(
        sample(
            &s,
            "actgate_statements_total{agent=\"analytics\",verdict=\"allowed\",reason=\"\"}"
        ) >= 1.0
    );
    assert_eq!(
        sample(
            &s,
            "actgate_statements_total{agent=\"analytics\",verdict=\"denied\",reason=\"table_denied\"}"
        ),
        1.0
    );
    // One decision in 8 is timed on each worker, the first included.
    assert!(sample(&s, "actgate_policy_decision_seconds_count") >= 1.0);
    assert_eq!(
        sample(&s, "actgate_policy_decision_seconds_count"),
        sample(&s, "actgate_policy_decision_seconds_bucket{le=\"+Inf\"}")
    );
    assert_eq!(sample(&s, "actgate_audit_dropped_total"), 0.0);

    let (_, body) = request(admin, "GET", "/sessions", Some(TOKEN)).await;
    let sessions: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    assert_eq!(sessions[0]["agent"], "analytics");
    assert_eq!(sessions[0]["database"], "shop");

    drop(client);
    for _ in 0..100 {
        let (_, body) = request(admin, "GET", "/metrics", Some(TOKEN)).await;
        if sample(&samples(&body), "actgate_sessions_active") == 0.0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the ended session is still counted as active");
}

#[tokio::test]
async fn an_operator_suspends_and_resumes_an_agent() {
    let proxy = Proxy::start().await;
    let admin = start_admin(&proxy).await;
    let client = proxy.connect(ANALYTICS).await;

    let (status, body) = request(
        admin,
        "POST",
        "/agents/analytics/suspend?seconds=600",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..100 {
        if client.is_closed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(client.is_closed(), "the live session was not ended");
    let Err(e) = proxy.try_connect(ANALYTICS, "shop").await else {
        panic!("a suspended agent logged in");
    };
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(db.code().code(), "28000");
    assert!(db.message().contains("suspended by an operator"), "{db:?}");
    let (_, body) = request(admin, "GET", "/suspensions", Some(TOKEN)).await;
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list[0]["agent"], "analytics", "{list}");

    let (status, body) = request(admin, "POST", "/agents/analytics/resume", Some(TOKEN)).await;
    assert_eq!((status, body.as_str()), (200, "{\"resumed\":true}"));
    let client = proxy.connect(ANALYTICS).await;
    client
        .simple_query("SELECT id FROM orders WHERE id = 1")
        .await
        .unwrap();
}
