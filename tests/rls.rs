//! `actgate rls`: the generated row-level security applies cleanly, keys on
//! the `actgate.*` settings actgate sets on every upstream session, and
//! enforces the scoping by itself when actgate is bypassed. (This test
//! binary has its own cluster, so enabling RLS disturbs no other test.)

mod common;

use common::{ANALYTICS, Proxy};
use std::time::Duration;
use tokio_postgres::NoTls;

#[tokio::test]
async fn generated_rls_mirrors_the_scoping_and_keys_on_actgate_settings() {
    let db = common::database();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_actgate"))
        .arg("rls")
        .arg("--rules")
        .arg(common::rules_dir())
        .args(["--role", actgate::demo::UPSTREAM_ROLE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = String::from_utf8(out.stdout).unwrap();
    db.pg.psql("shop", &sql).expect("the generated SQL applies");

    let admin = common::connect_direct().await;
    let all: i64 = admin
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    let of_42: i64 = admin
        .query_one("SELECT count(*) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    assert!(of_42 > 0);

    // Through actgate a scoped token session sees its customer's rows: the
    // upstream session carries actgate.agent and the claim.
    let proxy = Proxy::start().await;
    let (token, _) = common::mint(
        "support-bot",
        "customer-42",
        &[("customer_id", "42")],
        Duration::from_secs(600),
    );
    let url = actgate::token::connection_string(
        "support-bot",
        &token,
        "127.0.0.1",
        proxy.addr.port(),
        "shop",
    );
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    let seen: i64 = client
        .query_one("SELECT count(*) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, of_42);
    // Unscoped agents are not affected.
    let analytics = proxy.connect(ANALYTICS).await;
    let seen: i64 = analytics
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, all);

    // Bypassing actgate with the upstream role and another customer's
    // claim, the database itself hides customer 42's rows.
    let direct = format!(
        "postgres://{}:{}@{}:{}/shop",
        actgate::demo::UPSTREAM_ROLE,
        db.upstream_password,
        db.pg.host(),
        db.pg.port()
    );
    let (raw, conn) = tokio_postgres::connect(&direct, NoTls).await.unwrap();
    tokio::spawn(conn);
    raw.batch_execute("SET actgate.agent = 'support-bot'; SET actgate.claim_customer_id = '43'")
        .await
        .unwrap();
    let leaked: i64 = raw
        .query_one("SELECT count(*) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0, "row-level security hides other customers' rows");
}
