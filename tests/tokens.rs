//! Capability tokens end to end: mint → connect → allowed query; every
//! way a token can be wrong; attenuation; claims reaching the rules; key
//! rotation; revocation ending live sessions; psql and psycopg with a token
//! in the URL.

mod common;

use common::Proxy;
use std::time::{Duration, SystemTime};
use tokio_postgres::{NoTls, SimpleQueryMessage};

const AGENT: &str = "order-assistant";

fn url(proxy: &Proxy, agent: &str, token: &str) -> String {
    actgate::token::connection_string(agent, token, "127.0.0.1", proxy.addr.port(), "shop")
}

async fn connect(
    proxy: &Proxy,
    token: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(&url(proxy, AGENT, token), NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a server error: {e}"))
}

fn reason(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .and_then(|d| d.detail())
        .and_then(|d| d.strip_prefix("reason: "))
        .and_then(|d| d.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

fn rows(msgs: &[SimpleQueryMessage]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn customer_token(id: &str, ttl: Duration) -> (String, String) {
    common::mint(
        AGENT,
        &format!("customer-{id}"),
        &[("customer_id", id)],
        ttl,
    )
}

/// Logs in with `token` and expects the same refusal as a wrong password.
async fn assert_refused(proxy: &Proxy, agent: &str, token: &str) {
    let r = tokio_postgres::connect(&url(proxy, agent, token), NoTls).await;
    let e = r.err().expect("login must be refused");
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("expected a FATAL, got {e}"));
    assert_eq!(db.code().code(), "28P01", "{db:?}");
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(
        db.message(),
        format!("password authentication failed for user \"{agent}\"")
    );
}

#[tokio::test]
async fn minted_token_connects_and_claims_scope_the_rows() {
    let proxy = Proxy::start().await;
    let (token, _id) = customer_token("42", Duration::from_secs(600));
    let client = connect(&proxy, &token).await.expect("token login");
    let admin = common::connect_direct().await;
    let expected: i64 = admin
        .query_one("SELECT count(*) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    let got = rows(
        &client
            .simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
            .await
            .unwrap(),
    );
    assert_eq!(got, vec![expected.to_string()]);
    // The same statement written for another customer is refused.
    let e = client
        .simple_query("SELECT count(*) FROM orders WHERE customer_id = 43")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "42501");
    assert_eq!(reason(&e), "scope_violation");
    // So is an unscoped one, with a hint that says what to add.
    let e = client
        .simple_query("SELECT count(*) FROM orders")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "scope_missing");
    assert!(
        e.as_db_error()
            .unwrap()
            .hint()
            .unwrap_or_default()
            .contains("customer_id = 42"),
        "{e:?}"
    );
    // A token for customer 43 gets customer 43's rows.
    let (token43, _) = customer_token("43", Duration::from_secs(600));
    let other = connect(&proxy, &token43).await.unwrap();
    other
        .simple_query("SELECT count(*) FROM orders WHERE customer_id = 43")
        .await
        .unwrap();
}

#[tokio::test]
async fn bad_tokens_are_refused_like_wrong_passwords() {
    let proxy = Proxy::start().await;
    let (good, _) = customer_token("42", Duration::from_secs(600));

    // Signed with a key actgate does not trust.
    let dir = tempfile::tempdir().unwrap();
    let (other_key, other_pub) = (dir.path().join("k"), dir.path().join("k.pub"));
    actgate::token::keygen(&other_key, &other_pub).unwrap();
    let forged = actgate::token::mint(
        &actgate::token::load_private_key(&other_key).unwrap(),
        &actgate::token::MintRequest {
            agent: AGENT.into(),
            subject: "customer-42".into(),
            tenant: None,
            claims: [("customer_id".to_string(), "42".to_string())].into(),
            ttl: Duration::from_secs(600),
            now: SystemTime::now(),
            not_before: None,
        },
    )
    .unwrap()
    .0;
    assert_refused(&proxy, AGENT, &forged).await;

    // Minted for another agent.
    let (other_agent, _) = common::mint(
        "someone-else",
        "x",
        &[("customer_id", "42")],
        Duration::from_secs(600),
    );
    assert_refused(&proxy, AGENT, &other_agent).await;

    // Not yet valid.
    let key = actgate::token::load_private_key(&common::private_key_path()).unwrap();
    let future = actgate::token::mint(
        &key,
        &actgate::token::MintRequest {
            agent: AGENT.into(),
            subject: "customer-42".into(),
            tenant: None,
            claims: [("customer_id".to_string(), "42".to_string())].into(),
            ttl: Duration::from_secs(7200),
            now: SystemTime::now(),
            not_before: Some(SystemTime::now() + Duration::from_secs(3600)),
        },
    )
    .unwrap()
    .0;
    assert_refused(&proxy, AGENT, &future).await;

    // Corrupted, truncated, oversized, garbage.
    let mut corrupted = good.clone().into_bytes();
    let mid = corrupted.len() / 2;
    corrupted[mid] = if corrupted[mid] == b'A' { b'B' } else { b'A' };
    assert_refused(&proxy, AGENT, &String::from_utf8(corrupted).unwrap()).await;
    assert_refused(&proxy, AGENT, &good[..good.len() - 10]).await;
    assert_refused(&proxy, AGENT, &"A".repeat(9000)).await;
    assert_refused(&proxy, AGENT, "not a token").await;

    // The good one still works: nothing above hurt the gateway.
    connect(&proxy, &good).await.expect("good token");
}

#[tokio::test]
async fn expired_tokens_are_refused_at_login_and_per_statement() {
    let proxy = Proxy::start().await;
    let (token, _) = customer_token("42", Duration::from_secs(2));
    let client = connect(&proxy, &token).await.expect("login while valid");
    client
        .simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Expiry is re-checked on every statement…
    let e = client
        .simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "42501");
    assert_eq!(reason(&e), "token_expired");
    // …and a new login with it is refused.
    assert_refused(&proxy, AGENT, &token).await;
}

#[tokio::test]
async fn an_attenuated_token_cannot_do_what_its_parent_could() {
    let proxy = Proxy::start().await;
    let (parent, _) = customer_token("42", Duration::from_secs(600));
    let child = actgate::token::attenuate(
        &parent,
        &actgate::token::Attenuation {
            tables: Some(vec!["orders".into()]),
            operations: Some(vec!["select".into()]),
            ttl: None,
            now: SystemTime::now(),
        },
    )
    .unwrap();
    // The parent may update notes and read the customer row.
    let p = connect(&proxy, &parent).await.unwrap();
    p.simple_query("UPDATE orders SET notes = 'parent' WHERE customer_id = 42 AND id = -1")
        .await
        .unwrap();
    p.simple_query("SELECT full_name FROM customers WHERE id = 42")
        .await
        .unwrap();
    // The child may only read orders.
    let c = connect(&proxy, &child).await.unwrap();
    c.simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
        .await
        .unwrap();
    for sql in [
        "UPDATE orders SET notes = 'child' WHERE customer_id = 42 AND id = -1",
        "SELECT full_name FROM customers WHERE id = 42",
    ] {
        let e = c.simple_query(sql).await.unwrap_err();
        assert_eq!(code(&e), "42501", "{sql}");
        assert_eq!(reason(&e), "token_check_failed", "{sql}");
    }
    // And attenuating again can never widen it back.
    let widened = actgate::token::attenuate(
        &child,
        &actgate::token::Attenuation {
            tables: Some(vec!["orders".into(), "customers".into()]),
            operations: Some(vec!["select".into(), "update".into()]),
            ttl: None,
            now: SystemTime::now(),
        },
    )
    .unwrap();
    let w = connect(&proxy, &widened).await.unwrap();
    let e = w
        .simple_query("SELECT full_name FROM customers WHERE id = 42")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "token_check_failed");
}

#[tokio::test]
async fn key_rotation_accepts_every_configured_key() {
    let dir = tempfile::tempdir().unwrap();
    let (new_key, new_pub) = (dir.path().join("new.key"), dir.path().join("new.pub"));
    actgate::token::keygen(&new_key, &new_pub).unwrap();
    let mut config = common::config("");
    let tokens = config.tokens.as_mut().expect("tests configure tokens");
    tokens.public_keys.push(new_pub.clone());
    let proxy = Proxy::start_with(config).await;
    let mint_with = |key: &std::path::Path| {
        actgate::token::mint(
            &actgate::token::load_private_key(key).unwrap(),
            &actgate::token::MintRequest {
                agent: AGENT.into(),
                subject: "customer-42".into(),
                tenant: None,
                claims: [("customer_id".to_string(), "42".to_string())].into(),
                ttl: Duration::from_secs(600),
                now: SystemTime::now(),
                not_before: None,
            },
        )
        .unwrap()
        .0
    };
    connect(&proxy, &mint_with(&common::private_key_path()))
        .await
        .expect("old key");
    connect(&proxy, &mint_with(&new_key))
        .await
        .expect("new key");
}

/// Issue 11, item 9: `[[tokens.keys]]` binds a key to agents, so one
/// team's signing key cannot mint tokens for another team's agents. Key A
/// (the tests' usual key) may sign for `budgeted` and `support-*`, key B
/// for `order-*` only.
#[tokio::test]
async fn a_key_bound_to_other_agents_cannot_sign_for_this_one() {
    let dir = tempfile::tempdir().unwrap();
    let (key_b, pub_b) = (dir.path().join("b.key"), dir.path().join("b.pub"));
    actgate::token::keygen(&key_b, &pub_b).unwrap();
    let key_a = common::private_key_path();
    let pub_a = key_a.with_file_name("actgate.pub");
    let audit = dir.path().join("audit.jsonl");
    let (text, _) = common::config_text_in(&common::rules_dir(), "127.0.0.1:0", "", "");
    let (head, _) = text
        .split_once("\n[tokens]\n")
        .expect("the test config has [tokens]");
    let text = format!(
        "{head}\n[tokens]\n\n\
         [[tokens.keys]]\npublic_key = {a:?}\nagents = [\"budgeted\", \"support-*\"]\n\n\
         [[tokens.keys]]\npublic_key = {b:?}\nagents = [\"order-*\"]\n\n\
         [audit]\npath = {audit:?}\n",
        a = pub_a.display().to_string(),
        b = pub_b.display().to_string(),
        audit = audit.display().to_string(),
    );
    let config =
        actgate::config::Config::from_toml(&text, std::path::Path::new("test.toml"), dir.path())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let proxy = Proxy::start_with(config).await;
    let mint_with = |key: &std::path::Path, agent: &str| {
        actgate::token::mint(
            &actgate::token::load_private_key(key).unwrap(),
            &actgate::token::MintRequest {
                agent: agent.into(),
                subject: "customer-42".into(),
                tenant: None,
                claims: [("customer_id".to_string(), "42".to_string())].into(),
                ttl: Duration::from_secs(600),
                now: SystemTime::now(),
                not_before: None,
            },
        )
        .unwrap()
        .0
    };

    // Key A minting for order-assistant: a good signature from a key that
    // may not sign for it is refused like any invalid token.
    assert_refused(&proxy, AGENT, &mint_with(&key_a, AGENT)).await;
    // Key B may.
    let client = connect(&proxy, &mint_with(&key_b, AGENT))
        .await
        .expect("key B signs for order-assistant");
    client.simple_query("SELECT 1").await.unwrap();
    // And the other way round for an agent bound to key A.
    let budgeted = |token: String| {
        let url = url(&proxy, "budgeted", &token);
        async move { tokio_postgres::connect(&url, NoTls).await.map(|_| ()) }
    };
    budgeted(mint_with(&key_a, "budgeted"))
        .await
        .expect("key A signs for budgeted");
    assert_refused(&proxy, "budgeted", &mint_with(&key_b, "budgeted")).await;

    // Each refusal is audited with its reason.
    let mut refused = Vec::new();
    for _ in 0..200 {
        refused = common::audit_events(&audit)
            .into_iter()
            .filter(|e| e["event"] == "login_failed")
            .map(|e| (e["agent"].to_string(), e["reason"].to_string()))
            .collect();
        if refused.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reason = "\"token_key_not_allowed\"".to_owned();
    assert_eq!(
        refused,
        vec![
            (format!("{AGENT:?}"), reason.clone()),
            ("\"budgeted\"".to_owned(), reason)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_ends_live_sessions_of_the_token_and_its_descendants() {
    let dir = tempfile::tempdir().unwrap();
    let revoked = dir.path().join("revoked.txt");
    std::fs::write(&revoked, "# revoked tokens\n").unwrap();
    let mut config = common::config("");
    let tokens = config.tokens.as_mut().unwrap();
    tokens.revocation_file = Some(revoked.clone());
    tokens.revocation_poll = Duration::from_millis(100);
    let proxy = Proxy::start_with(config).await;

    let (token, id) = customer_token("42", Duration::from_secs(600));
    let child = actgate::token::attenuate(
        &token,
        &actgate::token::Attenuation {
            tables: Some(vec!["orders".into()]),
            operations: None,
            ttl: None,
            now: SystemTime::now(),
        },
    )
    .unwrap();
    let (bystander_token, _) = customer_token("42", Duration::from_secs(600));
    let a = connect(&proxy, &token).await.unwrap();
    let b = connect(&proxy, &child).await.unwrap();
    let bystander = connect(&proxy, &bystander_token).await.unwrap();
    a.simple_query("SELECT 1").await.unwrap();

    actgate::token::revoke(&revoked, &id).unwrap();
    for (name, client) in [("token", &a), ("attenuated child", &b)] {
        tokio::time::timeout(Duration::from_secs(10), async {
            while !client.is_closed() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: session still open after revocation"));
    }
    assert_refused(&proxy, AGENT, &token).await;
    assert_refused(&proxy, AGENT, &child).await;
    // Another token of the same customer is unaffected.
    bystander
        .simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
        .await
        .unwrap();
}

#[tokio::test]
async fn token_sessions_are_audited_with_token_id_subject_and_chain() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let (token, id) = customer_token("42", Duration::from_secs(600));
    let child = actgate::token::attenuate(
        &token,
        &actgate::token::Attenuation {
            tables: Some(vec!["orders".into()]),
            operations: Some(vec!["select".into()]),
            ttl: None,
            now: SystemTime::now(),
        },
    )
    .unwrap();
    let c = connect(&proxy, &child).await.unwrap();
    c.simple_query("SELECT count(*) FROM orders WHERE customer_id = 42")
        .await
        .unwrap();
    drop(c);
    proxy.stop().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let login = lines
        .iter()
        .find(|l| l["event"] == "login_succeeded")
        .expect("login event");
    assert_eq!(login["token_id"], id.as_str());
    assert_eq!(login["subject"], "customer-42");
    let chain = login["chain"].as_array().expect("delegation chain");
    assert_eq!(chain.len(), 1);
    assert!(
        chain[0].as_str().unwrap().contains("public.orders"),
        "{chain:?}"
    );
    let allowed = lines
        .iter()
        .find(|l| l["event"] == "statement_allowed")
        .unwrap_or_else(|| panic!("statement event in {text}"));
    assert_eq!(allowed["token_id"], id.as_str(), "{text}");
    assert_eq!(allowed["subject"], "customer-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_and_psycopg_connect_with_a_token_in_the_url() {
    let proxy = Proxy::start().await;
    let (token, _) = customer_token("42", Duration::from_secs(600));
    let u = url(&proxy, AGENT, &token);
    let psql_url = u.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args([
                "-X",
                "-A",
                "-t",
                "-c",
                "SELECT count(*) > 0 FROM orders WHERE customer_id = 42",
            ])
            .arg(&psql_url)
            .output()
            .expect("psql is needed (scripts/test.sh installs it)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "t");

    let script = r#"
import sys, psycopg
with psycopg.connect(sys.argv[1]) as conn:
    print(conn.execute("SELECT count(*) > 0 FROM orders WHERE customer_id = 42").fetchone()[0])
    try:
        conn.execute("SELECT count(*) FROM orders WHERE customer_id = 43")
    except psycopg.errors.InsufficientPrivilege as e:
        print(e.sqlstate, e.diag.message_detail.split(";")[0])
    conn.rollback()
    # Server-side parameters, checked at Bind.
    print(conn.execute("SELECT count(*) > 0 FROM orders WHERE customer_id = %s", [42]).fetchone()[0])
    try:
        conn.execute("SELECT count(*) FROM orders WHERE customer_id = %s", [43])
    except psycopg.errors.InsufficientPrivilege as e:
        print(e.sqlstate, e.diag.message_detail.split(";")[0])
"#;
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(["-c", script, &u])
            .output()
            .expect("python3 is needed (scripts/ensure-drivers.sh installs psycopg)")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "psycopg failed (scripts/ensure-drivers.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "True\n42501 reason: scope_violation\nTrue\n42501 reason: scope_violation\n"
    );
}

/// The authentication request a login for `user` gets (3 cleartext, 10 SASL).
async fn auth_request(proxy: &Proxy, user: &str) -> i32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let mut startup = bytes::BytesMut::new();
    actgate::protocol::startup::encode_startup(
        &mut startup,
        &[("user", user), ("database", "shop")],
    );
    raw.write_all(&startup).await.unwrap();
    let mut head = [0u8; 9];
    raw.read_exact(&mut head).await.unwrap();
    assert_eq!(head[0], b'R');
    i32::from_be_bytes([head[5], head[6], head[7], head[8]])
}

#[tokio::test]
async fn unknown_names_cannot_be_told_from_token_or_secret_agents() {
    let proxy = Proxy::start().await;
    assert_eq!(
        auth_request(&proxy, AGENT).await,
        3,
        "token agents get cleartext"
    );
    assert_eq!(
        auth_request(&proxy, "analytics").await,
        10,
        "secret agents get SASL"
    );
    // Unknown names get either, stably per name.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..24 {
        let name = format!("ghost-{i}");
        let first = auth_request(&proxy, &name).await;
        assert_eq!(first, auth_request(&proxy, &name).await, "{name}: stable");
        seen.insert(first);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![3, 10]);
}

#[tokio::test]
async fn the_shipped_support_bot_is_scoped_to_its_tokens_customer() {
    let proxy = Proxy::start().await;
    let (token, _) = common::mint(
        "support-bot",
        "customer-42",
        &[("customer_id", "42")],
        Duration::from_secs(600),
    );
    let (client, conn) = tokio_postgres::connect(&url(&proxy, "support-bot", &token), NoTls)
        .await
        .expect("support-bot logs in with a token");
    tokio::spawn(conn);
    let mine = client
        .query(
            "SELECT id, status FROM orders WHERE customer_id = $1",
            &[&42i64],
        )
        .await
        .unwrap();
    assert!(!mine.is_empty());
    let e = client
        .query(
            "SELECT id, status FROM orders WHERE customer_id = $1",
            &[&43i64],
        )
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "scope_violation");
    let e = client
        .simple_query("SELECT full_name FROM customers WHERE id = 43")
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "scope_violation");
    // It may update its customer's order status, not to an unknown value.
    let id: i64 = mine[0].get(0);
    client
        .execute(
            "UPDATE orders SET status = 'cancelled' WHERE customer_id = $1 AND id = $2",
            &[&42i64, &id],
        )
        .await
        .unwrap();
    let e = client
        .simple_query(&format!(
            "UPDATE orders SET status = 'lost' WHERE customer_id = 42 AND id = {id}"
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "value_limit");
    // Refunds up to 500.00.
    let e = client
        .simple_query(&format!(
            "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({id}, 60000, 'x', 'kpatel')"
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "value_limit");
}
