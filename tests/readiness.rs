//! `/readyz` says whether a new session could be served, and every login
//! attempt has a closing audit event: `login_succeeded` once the upstream
//! session is open, `login_failed` (with the cause) when PostgreSQL cannot
//! be reached or refuses the session.

mod common;

use actgate::launcher::UpstreamAuth;
use common::{Proxy, TESTER};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A TCP relay to the real PostgreSQL on a port of its own: stopping it
/// is PostgreSQL going away, for actgate.
struct Link {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Link {
    async fn up(port: u16) -> Link {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let pg = &common::database().pg;
        let target: SocketAddr = format!("{}:{}", pg.host(), pg.port()).parse().unwrap();
        let task = tokio::spawn(async move {
            // Dropped with the task: every relayed connection ends too.
            let mut relays = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                relays.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Link { port, task }
    }

    async fn down(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn readyz_when(
    admin: SocketAddr,
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
    panic!("{what}: {:#?}", common::audit_events(path));
}

/// The login events, as (event, reason).
fn logins(events: &[serde_json::Value]) -> Vec<(String, String)> {
    events
        .iter()
        .filter(|e| e["event"].as_str().is_some_and(|n| n.starts_with("login_")))
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn readyz_follows_postgresql_going_away_and_coming_back() {
    let link = Link::up(0).await;
    let port = link.port;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut config = common::config_with_audit(&audit, "");
    config.upstream.port = port;
    let proxy = Proxy::start_with(config).await;
    let admin = common::start_admin(&proxy, "readiness-admin-token-0123").await;
    let (status, body) = common::admin_request(admin, "GET", "/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    proxy
        .connect(TESTER)
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();

    link.down().await;
    let (_, body) = readyz_when(admin, "not ready while PostgreSQL is away", |s, _| s == 503).await;
    assert!(
        body.starts_with("not ready") && body.contains("upstream PostgreSQL cannot be reached"),
        "{body}"
    );
    // A login now fails, and is audited as failed with the cause.
    let Err(e) = proxy.try_connect(TESTER, "shop").await else {
        panic!("no upstream: the login was let in");
    };
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(db.code().code(), "08006", "{db:?}");
    let events = events_when(&audit, "the failed login is audited", |ev| {
        logins(ev).len() == 2
    })
    .await;
    assert_eq!(
        logins(&events),
        vec![
            ("login_succeeded".to_owned(), String::new()),
            (
                "login_failed".to_owned(),
                "upstream_connect_failed".to_owned()
            ),
        ]
    );
    let failed = events
        .iter()
        .find(|e| e["event"] == "login_failed")
        .unwrap();
    assert_eq!(failed["agent"], "tester");
    assert_eq!(failed["database"], "shop");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{failed}"
    );

    let link = Link::up(port).await;
    readyz_when(admin, "ready once PostgreSQL is back", |s, _| s == 200).await;
    proxy
        .connect(TESTER)
        .await
        .simple_query("SELECT 1")
        .await
        .unwrap();
    link.down().await;
}

#[tokio::test]
async fn a_session_postgresql_refuses_at_its_connection_limit_is_audited_as_failed() {
    let pg = &common::database().pg;
    let role = "gw_no_slots";
    let password = "pw-no-slots";
    pg.create_role(role, password, UpstreamAuth::Scram).unwrap();
    pg.psql("postgres", &format!("ALTER ROLE {role} CONNECTION LIMIT 0"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut config = common::config_with_audit(&audit, "");
    config.upstream.user = role.into();
    config.upstream.password = Some(password.into());
    let proxy = Proxy::start_offline(config).await;
    let admin = common::start_admin(&proxy, "readiness-admin-token-0123").await;

    let Err(e) = proxy.try_connect(TESTER, "shop").await else {
        panic!("refused: the login was let in");
    };
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(db.code().code(), "53300", "{db:?}");
    let events = events_when(&audit, "the login is closed", |ev| !logins(ev).is_empty()).await;
    assert_eq!(
        logins(&events),
        vec![(
            "login_failed".to_owned(),
            "upstream_connect_failed".to_owned()
        )]
    );
    let failed = events
        .iter()
        .find(|e| e["event"] == "login_failed")
        .unwrap();
    assert!(
        failed["message"].as_str().unwrap().contains("53300"),
        "{failed}"
    );
    // No session can be served: not ready, and why.
    let (status, body) = common::admin_request(admin, "GET", "/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("too many connections"), "{body}");
}
