//! Human approval end to end: a refund above the threshold is refused with
//! `approval_required` and an approval id; an operator approves it through
//! the admin API or the CLI; the identical statement (same text, same
//! parameters, same agent and end user) then runs exactly once, within the
//! TTL. Rejections stick; requests are audited; nothing waits.

mod common;

use actgate::controls::ManualClock;
use common::{Proxy, SUPPORT_BOT};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "approvals-admin-token-0123456789";

async fn start_admin(proxy: &Proxy) -> SocketAddr {
    common::start_admin(proxy, TOKEN).await
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    common::admin_request(addr, method, path, Some(TOKEN)).await
}

/// The approval id in a refusal, checking it is an approval refusal.
fn held(e: &tokio_postgres::Error, reason: &str) -> String {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e}"));
    assert_eq!(db.code().code(), "42501", "{db:?}");
    assert!(
        db.detail()
            .unwrap_or_default()
            .contains(&format!("reason: {reason};")),
        "{db:?}"
    );
    let msg = db.message();
    let at = msg
        .find("apr-")
        .unwrap_or_else(|| panic!("no approval id in {msg:?}"));
    let id = msg[at..at + 20].to_owned();
    assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{msg}");
    if reason == "approval_required" {
        assert!(
            db.hint()
                .unwrap_or_default()
                .contains(&format!("actgate approve {id}")),
            "{db:?}"
        );
    }
    id
}

async fn an_order_of(client: &tokio_postgres::Client, customer: i64) -> i64 {
    client
        .query_one(
            &format!("SELECT id FROM orders WHERE customer_id = {customer} ORDER BY id LIMIT 1"),
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

async fn refunds_with(direct: &tokio_postgres::Client, reason: &str) -> i64 {
    direct
        .query_one("SELECT count(*) FROM refunds WHERE reason = $1", &[&reason])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_held_refund_runs_once_after_approval_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let admin = start_admin(&proxy).await;
    let client = proxy.connect(SUPPORT_BOT).await;
    let direct = common::connect_direct().await;
    let order = an_order_of(&client, 42).await;
    let sql = format!(
        "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({order}, 30000, 'api-approval', 'kpatel')"
    );

    // Held: refused with an id, and nothing is written.
    let e = client.batch_execute(&sql).await.unwrap_err();
    let id = held(&e, "approval_required");
    // Asking again while it waits gives the same request.
    let again = client.batch_execute(&sql).await.unwrap_err();
    assert_eq!(held(&again, "approval_required"), id);
    assert_eq!(refunds_with(&direct, "api-approval").await, 0);
    // Small refunds are not held, and the session is fine.
    client
        .batch_execute(&format!(
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({order}, 1500, 'api-small', 'kpatel')"
        ))
        .await
        .unwrap();

    // The operator sees it and approves it.
    let (status, body) = request(admin, "GET", "/approvals").await;
    assert_eq!(status, 200, "{body}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let entry = list
        .iter()
        .find(|a| a["id"] == id.as_str())
        .expect("listed");
    assert_eq!(entry["state"], "pending");
    assert_eq!(entry["agent"], "support-desk");
    assert_eq!(entry["rule"], "approvals.large_refunds");
    assert_eq!(entry["sql"], sql.as_str());
    let (status, body) = request(admin, "POST", &format!("/approvals/{id}/approve?by=alice")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"approved\""), "{body}");
    // A decision is final.
    assert_eq!(
        request(admin, "POST", &format!("/approvals/{id}/reject"))
            .await
            .0,
        409
    );
    assert_eq!(
        request(admin, "POST", "/approvals/apr-0000000000000000/approve")
            .await
            .0,
        404
    );

    // A different amount is not what was approved.
    let other = sql.replace("30000", "30001");
    let e = client.batch_execute(&other).await.unwrap_err();
    assert_ne!(held(&e, "approval_required"), id);
    // The identical statement runs, once.
    client.batch_execute(&sql).await.unwrap();
    assert_eq!(refunds_with(&direct, "api-approval").await, 1);
    let e = client.batch_execute(&sql).await.unwrap_err();
    let next = held(&e, "approval_required");
    assert_ne!(next, id);
    assert_eq!(refunds_with(&direct, "api-approval").await, 1);

    // Requests and decisions are audited with the id.
    drop(client);
    proxy.stop().await;
    // The last retry was held again: its event is the last one written.
    let events = common::audit_events_when(&audit, |events| {
        events
            .iter()
            .filter(|e| e["event"] == "approval_requested" && e["sql"] == sql.as_str())
            .count()
            >= 2
    })
    .await;
    let with_id = |event: &str| {
        events
            .iter()
            .filter(|e| e["event"] == event && e["approval_id"] == id.as_str())
            .count()
    };
    assert_eq!(with_id("approval_requested"), 1, "{events:#?}");
    assert_eq!(with_id("approval_approved"), 1, "{events:#?}");
    assert_eq!(with_id("approval_used"), 1, "{events:#?}");
    assert_eq!(with_id("statement_blocked"), 1, "{events:#?}");
    // One event per decision: a held or approved statement is not also
    // recorded as allowed.
    let same_sql = |event: &str| {
        events
            .iter()
            .filter(|e| e["event"] == event && e["sql"] == sql.as_str())
            .count()
    };
    assert_eq!(same_sql("statement_allowed"), 0, "{events:#?}");
    assert_eq!(same_sql("approval_requested"), 2, "{events:#?}");
    let requested = events
        .iter()
        .find(|e| e["event"] == "approval_requested" && e["approval_id"] == id.as_str())
        .unwrap();
    assert_eq!(requested["reason"], "approval_required");
    assert_eq!(requested["sql"], sql.as_str());
    let approved = events
        .iter()
        .find(|e| e["event"] == "approval_approved")
        .unwrap();
    assert_eq!(approved["message"], "decided by alice");
    direct
        .batch_execute("DELETE FROM refunds WHERE reason IN ('api-approval', 'api-small')")
        .await
        .unwrap();
}

/// Runs `actgate ARGS` against the admin endpoint.
async fn cli(
    admin: SocketAddr,
    token_file: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_actgate"));
    cmd.args(args)
        .arg("--admin-url")
        .arg(format!("http://{admin}"))
        .arg("--token-file")
        .arg(token_file)
        .env_remove("ACTGATE_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    tokio::task::spawn_blocking(move || common::run_blocking(cmd, Duration::from_secs(30)))
        .await
        .unwrap()
}

async fn token_client(proxy: &Proxy, subject: &str, customer: &str) -> tokio_postgres::Client {
    common::connect_token(proxy, "support-bot", subject, &[("customer_id", customer)]).await
}

#[tokio::test]
async fn prepared_statements_are_approved_and_rejected_through_the_cli() {
    let proxy = Proxy::start().await;
    let admin = start_admin(&proxy).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let direct = common::connect_direct().await;
    let client = token_client(&proxy, "customer-42", "42").await;
    let order = an_order_of(&client, 42).await;
    let insert = "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, 'kpatel')";
    let amount = 25_000i32;

    // Extended protocol: held at Bind, by the bound amount.
    let e = client
        .execute(insert, &[&order, &amount, &"cli-approval"])
        .await
        .unwrap_err();
    let id = held(&e, "approval_required");
    client
        .execute(insert, &[&order, &500i32, &"cli-small"])
        .await
        .unwrap();

    let out = cli(admin, &token_file, &["approvals"]).await;
    assert!(out.status.success(), "{}", common::describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&id) && text.contains("pending"), "{text}");
    assert!(text.contains("25000"), "parameters are listed: {text}");

    let out = cli(admin, &token_file, &["approve", &id, "--by", "bob"]).await;
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("approved by bob"),
        "{}",
        common::describe(&out)
    );

    // Another end user sending the very same statement is not approved.
    let other = token_client(&proxy, "customer-43", "43").await;
    let e = other
        .execute(insert, &[&order, &amount, &"cli-approval"])
        .await
        .unwrap_err();
    assert_ne!(held(&e, "approval_required"), id);
    // The end user it was approved for: once.
    assert_eq!(
        client
            .execute(insert, &[&order, &amount, &"cli-approval"])
            .await
            .unwrap(),
        1
    );
    assert_eq!(refunds_with(&direct, "cli-approval").await, 1);

    // Rejection: the retry is refused as rejected, and stays so.
    let e = client
        .execute(insert, &[&order, &26_000i32, &"cli-rejected"])
        .await
        .unwrap_err();
    let rejected = held(&e, "approval_required");
    let out = cli(admin, &token_file, &["reject", &rejected]).await;
    assert!(out.status.success(), "{}", common::describe(&out));
    for _ in 0..2 {
        let e = client
            .execute(insert, &[&order, &26_000i32, &"cli-rejected"])
            .await
            .unwrap_err();
        assert_eq!(held(&e, "approval_rejected"), rejected);
    }
    assert_eq!(refunds_with(&direct, "cli-rejected").await, 0);

    // Unknown ids and a wrong token fail with a clear message.
    let out = cli(admin, &token_file, &["approve", "apr-0123456789abcdef"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no approval request"),
        "{}",
        common::describe(&out)
    );
    std::fs::write(&token_file, "wrong-token-wrong-token").unwrap();
    let out = cli(admin, &token_file, &["approvals"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        common::describe(&out)
    );

    direct
        .batch_execute("DELETE FROM refunds WHERE reason LIKE 'cli-%'")
        .await
        .unwrap();
}

#[tokio::test]
async fn requests_and_approvals_last_their_ttl() {
    let proxy = Proxy::start().await;
    let clock = Arc::new(ManualClock::new("2026-11-26T10:00:00Z".parse().unwrap()));
    proxy.gateway.set_clock(clock.clone());
    let client = proxy.connect(SUPPORT_BOT).await;
    let order = an_order_of(&client, 42).await;
    let sql = format!(
        "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({order}, 40000, 'ttl', 'kpatel')"
    );
    let first = held(
        &client.batch_execute(&sql).await.unwrap_err(),
        "approval_required",
    );
    // An unanswered request lapses after ttl_s (3600 s).
    clock.advance(Duration::from_secs(3601));
    assert!(
        proxy
            .gateway
            .decide_approval(&first, true, "late")
            .await
            .is_err()
    );
    let second = held(
        &client.batch_execute(&sql).await.unwrap_err(),
        "approval_required",
    );
    assert_ne!(first, second);
    // An approval unused for ttl_s lapses too.
    proxy
        .gateway
        .decide_approval(&second, true, "ops")
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3601));
    let third = held(
        &client.batch_execute(&sql).await.unwrap_err(),
        "approval_required",
    );
    assert_ne!(third, second);
    // Within it, the statement runs, in a transaction too.
    proxy
        .gateway
        .decide_approval(&third, true, "ops")
        .await
        .unwrap();
    clock.advance(Duration::from_secs(3000));
    client
        .batch_execute(&format!("BEGIN; {sql}; ROLLBACK"))
        .await
        .expect_err("a multi-statement string is one text, not the approved one");
    client.batch_execute("BEGIN").await.unwrap();
    client.batch_execute(&sql).await.unwrap();
    client.batch_execute("ROLLBACK").await.unwrap();
    // A held statement inside a transaction fails it as Postgres would.
    client.batch_execute("BEGIN").await.unwrap();
    let e = client.batch_execute(&sql).await.unwrap_err();
    held(&e, "approval_required");
    let e = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(e.as_db_error().unwrap().code().code(), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    client.batch_execute("SELECT 1").await.unwrap();
}

#[test]
fn bad_approval_rules_are_refused_with_their_line() {
    let cases = [
        (
            "table = \"refunds\"\ncolumn = \"amount_cents\"",
            "column needs `above`",
        ),
        ("table = \"refunds\"\nabove = 5", "above needs `column`"),
        (
            "table = \"refunds\"\nttl_s = 0",
            "ttl_s must be between 1 and 2592000",
        ),
        (
            "table = \"refunds\"\noperations = [\"delete\"]\ncolumn = \"amount_cents\"\nabove = 1",
            "a DELETE writes no values",
        ),
        (
            "table = \"refunds\"\nname = \"big refunds\"",
            "use letters, digits, _ and -",
        ),
        (
            "table = \"refunds\"\nwhen = \"always\"",
            "unknown field `when`",
        ),
        (
            "column = \"amount_cents\"\nabove = 1",
            "missing field `table`",
        ),
        (
            "table = \"refunds\"\noperations = [\"upsert\"]",
            "unknown operation \"upsert\"",
        ),
    ];
    for (entry, expected) in cases {
        let e = common::rules_error(&format!("[[approvals]]\n{entry}"));
        assert!(e.contains(expected), "{entry}: {e}");
    }
    let e = common::rules_error(
        "[[approvals]]\nname = \"a\"\ntable = \"t\"\n\n[[approvals]]\nname = \"a\"\ntable = \"t\"",
    );
    assert!(e.contains("approval \"a\" is defined twice"), "{e}");
}

#[test]
fn which_statements_need_approval() {
    let rules =
        actgate::rules::RuleSet::load_dir(&common::rules_dir(), &["public".into()]).unwrap();
    let policy = rules.agent("support-desk").unwrap().policy.clone();
    let search_path = vec!["public".to_string()];
    let resolver = actgate::policy::names::Resolver {
        search_path: &search_path,
        catalog: None,
        database: Some("shop"),
    };
    let analyze =
        |sql: &str| actgate::policy::analyze::analyze(sql, &resolver, Default::default()).unwrap();
    let needs = |sql: &str| policy.approvals_needed(&analyze(sql)).unwrap();
    let insert = |amount: &str| {
        format!(
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, {amount}, 'x', 'kpatel')"
        )
    };
    // At or below the threshold: no; above, or not evident: yes.
    assert!(needs(&insert("20000")).is_empty());
    assert_eq!(needs(&insert("20001")).len(), 1);
    assert_eq!(needs(&insert("'20000.5'")).len(), 1);
    assert_eq!(needs(&insert("10000 * 3")).len(), 1);
    assert_eq!(
        needs("INSERT INTO refunds (order_id, amount_cents, reason, created_by) SELECT 1, 1, 'x', 'kpatel'").len(),
        1
    );
    // Every row counts.
    assert_eq!(
        needs("INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 5, 'x', 'k'), (2, 90000, 'y', 'k')").len(),
        1
    );
    // A parameter is decided at Bind.
    let p = needs(
        "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, $4)",
    );
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].param, Some(2));
    assert!(!policy.approval_applies(&p[0], Some("20000")));
    assert!(policy.approval_applies(&p[0], Some("20000.01")));
    assert!(policy.approval_applies(&p[0], None));
    assert!(policy.approval_applies(&p[0], Some("lots")));
    // Other tables and reads: no.
    assert!(needs("SELECT * FROM refunds WHERE amount_cents > 90000").is_empty());
    assert!(needs("UPDATE orders SET notes = 'x' WHERE id = 1").is_empty());
    // A SQL PREPARE of a held statement is refused.
    let e = policy
        .approvals_needed(&analyze(&format!("PREPARE r AS {}", insert("$1"))))
        .unwrap_err();
    assert_eq!(e.reason, "runtime_control_prepare");
}

/// A statement approved at its Bind is audited as what the Bind knows (its
/// text and the approval): the statement fields of the session's event
/// before it (the Parse's, allowed) are not its own.
#[tokio::test]
async fn an_approval_used_at_bind_is_audited_with_its_own_fields() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let admin = start_admin(&proxy).await;
    let client = proxy.connect(SUPPORT_BOT).await;
    let order = an_order_of(&client, 42).await;
    let insert = "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, 'kpatel')";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&order, &30_000i32, &"bind-approval"];
    let e = client.execute(insert, &params).await.unwrap_err();
    let id = held(&e, "approval_required");
    let (status, body) = request(admin, "POST", &format!("/approvals/{id}/approve")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(client.execute(insert, &params).await.unwrap(), 1);

    drop(client);
    proxy.stop().await;
    let events = common::audit_events_when(&audit, |events| {
        events.iter().any(|e| e["event"] == "approval_used")
    })
    .await;
    let used: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "approval_used" && e["approval_id"] == id.as_str())
        .collect();
    assert_eq!(used.len(), 1, "{events:#?}");
    assert_eq!(used[0]["sql"], insert, "{used:#?}");
    assert!(
        used[0].get("tables").is_none() && used[0].get("fingerprint").is_none(),
        "a Bind has no analysis of its own: {used:#?}"
    );
}
