//! actgate's own login to PostgreSQL: every authentication method the
//! server may ask for, and TLS towards agents.

mod common;

use actgate::launcher::UpstreamAuth;
use common::{Proxy, SUPPORT_BOT};
use tokio_postgres::SimpleQueryMessage;

fn first_value(rows: &[SimpleQueryMessage]) -> String {
    rows.iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("one row")
}

#[tokio::test]
async fn upstream_login_works_with_every_auth_method() {
    let pg = &common::database().pg;
    for method in UpstreamAuth::ALL {
        let role = format!("gw_{}", method.hba_method().replace('-', "_"));
        let password = format!("pw-{role}");
        pg.create_role(&role, &password, method).unwrap();
        pg.psql("shop", &format!("GRANT SELECT ON orders TO {role};"))
            .unwrap();

        let mut config = common::config("");
        config.upstream.user = role.clone();
        config.upstream.password = (method != UpstreamAuth::Trust).then(|| password.clone());
        let proxy = Proxy::start_with(config).await;
        let client = proxy.connect(SUPPORT_BOT).await;
        let rows = client
            .simple_query("SELECT current_user || ':' || count(*) FROM orders")
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert!(
            first_value(&rows).starts_with(&format!("{role}:")),
            "{method}: {rows:?}"
        );
    }
}

#[tokio::test]
async fn wrong_upstream_password_is_reported_without_leaking_the_role() {
    let mut config = common::config("");
    config.upstream.password = Some("not-the-password".into());
    let proxy = Proxy::start_offline(config).await;
    let e = proxy.try_connect(SUPPORT_BOT, "shop").await.unwrap_err();
    let db = e.as_db_error().expect("a FATAL from actgate");
    assert_eq!(db.code().code(), "08006");
    assert!(
        db.message()
            .contains("could not authenticate to the upstream database"),
        "{}",
        db.message()
    );
    assert!(!db.message().contains(actgate::demo::UPSTREAM_ROLE));
}

/// A self-signed certificate made with the openssl CLI.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl CLI is needed to make a test certificate");
    assert!(status.success(), "openssl failed");
    (cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_can_use_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let mut config = common::config("");
    config.tls = Some(actgate::config::TlsFiles {
        cert_file: cert,
        key_file: key,
    });
    let proxy = Proxy::start_with(config).await;
    let url = format!("{}?sslmode=require", proxy.url(SUPPORT_BOT, "shop"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args(["-X", "-A", "-t", "-c"])
            .arg("SELECT 'over tls'")
            .arg(&url)
            .output()
            .expect("psql is needed (scripts/test.sh installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "psql over TLS failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "over tls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_refused_without_a_certificate() {
    let proxy = Proxy::start().await;
    let url = format!("{}?sslmode=require", proxy.url(SUPPORT_BOT, "shop"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args(["-X", "-c", "SELECT 1"])
            .arg(&url)
            .output()
            .expect("psql is needed (scripts/test.sh installs it)")
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("server does not support SSL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
