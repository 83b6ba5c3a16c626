//! tokio-postgres through actgate: for allowed traffic the relay must be
//! indistinguishable from a direct connection.

mod common;

use common::{Proxy, TESTER};
use futures_util::{SinkExt, StreamExt, TryStreamExt};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls, SimpleQueryMessage};

fn simple_values(rows: &[SimpleQueryMessage]) -> Vec<String> {
    rows.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_else(|| format!("not a db error: {e}"))
}

/// A unique scratch table name for one test.
fn scratch(name: &str) -> String {
    format!("t_{name}_{:08x}", rand_suffix())
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::process::id().wrapping_mul(7919) ^ N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn simple_query_round_trips() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let rows = client
        .simple_query("SELECT 1 AS one; SELECT 'two'")
        .await
        .unwrap();
    assert_eq!(simple_values(&rows), vec!["1", "two"]);
}

#[tokio::test]
async fn extended_query_with_binary_parameters() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let row = client
        .query_one(
            "SELECT $1::int4 + 1, $2::text || '!', $3::float8 * 2, $4::bytea, $5::int8",
            &[&41i32, &"héllo", &1.25f64, &vec![0u8, 1, 255], &None::<i64>],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 42);
    assert_eq!(row.get::<_, String>(1), "héllo!");
    assert_eq!(row.get::<_, f64>(2), 2.5);
    assert_eq!(row.get::<_, Vec<u8>>(3), vec![0u8, 1, 255]);
    assert_eq!(row.get::<_, Option<i64>>(4), None);
    let orders = client
        .query(
            "SELECT id, status FROM orders WHERE customer_id = $1 ORDER BY id",
            &[&1i64],
        )
        .await;
    let direct = common::connect_direct().await;
    let expected = direct
        .query(
            "SELECT id, status FROM orders WHERE customer_id = $1 ORDER BY id",
            &[&1i64],
        )
        .await;
    match (orders, expected) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.get::<_, String>(1), y.get::<_, String>(1));
            }
        }
        (Err(a), Err(b)) => assert_eq!(code(&a), code(&b)),
        (a, b) => panic!("proxy and direct disagree: {a:?} vs {b:?}"),
    }
}

#[tokio::test]
async fn prepared_statement_reused_many_times() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let stmt = client.prepare("SELECT $1::int4 * 2").await.unwrap();
    for i in 0..500i32 {
        let row = client.query_one(&stmt, &[&i]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), i * 2);
    }
}

#[tokio::test]
async fn pipelined_queries_keep_their_order() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let stmt = client.prepare("SELECT $1::int4").await.unwrap();
    let futures = (0..200i32).map(|i| {
        let client = &client;
        let stmt = &stmt;
        async move {
            client
                .query_one(stmt, &[&i])
                .await
                .map(|r| r.get::<_, i32>(0))
        }
    });
    let results: Vec<i32> = futures_util::future::try_join_all(futures).await.unwrap();
    assert_eq!(results, (0..200).collect::<Vec<_>>());
}

#[tokio::test]
async fn transactions_commit_rollback_and_fail() {
    let proxy = Proxy::start().await;
    let mut client = proxy.connect(TESTER).await;
    let table = scratch("tx");
    client
        .batch_execute(&format!("CREATE TABLE {table} (v int)"))
        .await
        .unwrap();

    let tx = client.transaction().await.unwrap();
    tx.execute(&format!("INSERT INTO {table} VALUES (1)"), &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let tx = client.transaction().await.unwrap();
    tx.execute(&format!("INSERT INTO {table} VALUES (2)"), &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    // An error inside a transaction fails it until ROLLBACK.
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute(&format!("INSERT INTO {table} VALUES (3)"), &[])
        .await
        .unwrap();
    let e = client.batch_execute("SELECT 1/0").await.unwrap_err();
    assert_eq!(code(&e), "22012");
    let e = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();

    let rows = client
        .query(&format!("SELECT v FROM {table} ORDER BY v"), &[])
        .await
        .unwrap();
    let values: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(values, vec![1]);
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn copy_in_and_out() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let table = scratch("copy");
    client
        .batch_execute(&format!("CREATE TABLE {table} (id int, name text)"))
        .await
        .unwrap();
    let sink = client
        .copy_in(&format!("COPY {table} FROM STDIN"))
        .await
        .unwrap();
    futures_util::pin_mut!(sink);
    let mut data = String::new();
    for i in 0..10_000 {
        data.push_str(&format!("{i}\tname {i}\n"));
    }
    for chunk in data.as_bytes().chunks(7_000) {
        sink.send(bytes::Bytes::copy_from_slice(chunk))
            .await
            .unwrap();
    }
    let copied = sink.finish().await.unwrap();
    assert_eq!(copied, 10_000);

    let stream = client
        .copy_out(&format!(
            "COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT"
        ))
        .await
        .unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    let out: Vec<u8> = chunks.concat();
    assert_eq!(String::from_utf8(out).unwrap(), data);
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

/// Connects with access to the connection's asynchronous messages.
async fn connect_with_messages(
    proxy: &Proxy,
) -> (
    tokio_postgres::Client,
    tokio::sync::mpsc::UnboundedReceiver<AsyncMessage>,
) {
    let (client, mut conn) = tokio_postgres::connect(&proxy.url(TESTER, "shop"), NoTls)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            let _ = tx.send(m);
        }
    });
    (client, rx)
}

#[tokio::test]
async fn listen_notify_is_delivered() {
    let proxy = Proxy::start().await;
    let (listener, mut messages) = connect_with_messages(&proxy).await;
    listener.batch_execute("LISTEN actgate_test").await.unwrap();
    let notifier = proxy.connect(TESTER).await;
    notifier
        .batch_execute("NOTIFY actgate_test, 'hello agents'")
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), messages.recv())
        .await
        .expect("notification within 10 s")
        .expect("connection alive");
    match m {
        AsyncMessage::Notification(n) => {
            assert_eq!(n.channel(), "actgate_test");
            assert_eq!(n.payload(), "hello agents");
        }
        other => panic!("expected a notification, got {other:?}"),
    }
}

#[tokio::test]
async fn notice_is_delivered() {
    let proxy = Proxy::start().await;
    let (client, mut messages) = connect_with_messages(&proxy).await;
    client
        .batch_execute("DROP TABLE IF EXISTS no_such_table_for_notice")
        .await
        .unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), messages.recv())
        .await
        .expect("notice within 10 s")
        .expect("connection alive");
    match m {
        AsyncMessage::Notice(n) => assert_eq!(
            n.message(),
            "table \"no_such_table_for_notice\" does not exist, skipping"
        ),
        other => panic!("expected a notice, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_reaches_the_upstream_backend() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let token = client.cancel_token();
    let query = tokio::spawn(async move {
        let r = client.batch_execute("SELECT pg_sleep(30)").await;
        (client, r)
    });
    // Cancel until the query reports it was cancelled; the first cancel can
    // arrive before the query starts.
    let (client, result) = loop {
        token.cancel_query(NoTls).await.unwrap();
        match tokio::time::timeout(Duration::from_millis(500), async {
            while !query.is_finished() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        {
            Ok(()) => break query.await.unwrap(),
            Err(_) => continue,
        }
    };
    let e = result.expect_err("the sleep must be cancelled");
    assert_eq!(code(&e), "57014");
    // The session is still usable.
    let rows = client.simple_query("SELECT 'alive'").await.unwrap();
    assert_eq!(simple_values(&rows), vec!["alive"]);
}

#[tokio::test]
async fn cancel_with_a_wrong_key_does_nothing() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    // Forge a cancel with a registered process id but a wrong secret.
    assert_eq!(proxy.gateway.cancels.len(), 1);
    let mut raw = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = bytes::BytesMut::new();
    actgate::protocol::startup::encode_cancel(&mut buf, 12345, 678);
    raw.write_all(&buf).await.unwrap();
    let mut sink = Vec::new();
    raw.read_to_end(&mut sink).await.unwrap();
    assert!(sink.is_empty(), "actgate never answers a cancel request");
    let rows = client.simple_query("SELECT 'unaffected'").await.unwrap();
    assert_eq!(simple_values(&rows), vec!["unaffected"]);
}

#[tokio::test]
async fn large_result_is_relayed_completely() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    let rows = client
        .query(
            "SELECT g, repeat('x', 100) || g FROM generate_series(1, 100000) g",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 100_000);
    let sum: i64 = rows.iter().map(|r| r.get::<_, i32>(0) as i64).sum();
    assert_eq!(sum, 100_000 * 100_001 / 2);
    assert_eq!(
        rows[99_999].get::<_, String>(1),
        format!("{}100000", "x".repeat(100))
    );
}

#[tokio::test]
async fn oversized_statement_is_an_error_not_a_disconnect() {
    let proxy = Proxy::start_with(common::config("max_message_bytes = 4096")).await;
    let client = proxy.connect(TESTER).await;
    let just_under = format!("SELECT '{}'", "a".repeat(4096 - 20));
    let rows = client.simple_query(&just_under).await.unwrap();
    assert_eq!(simple_values(&rows)[0].len(), 4096 - 20);
    let just_over = format!("SELECT '{}'", "a".repeat(4096));
    let e = client.simple_query(&just_over).await.unwrap_err();
    assert_eq!(code(&e), "54000");
    // Extended protocol: the Parse is refused the same way.
    let e = client.prepare(&just_over).await.unwrap_err();
    assert_eq!(code(&e), "54000");
    let rows = client.simple_query("SELECT 'still here'").await.unwrap();
    assert_eq!(simple_values(&rows), vec!["still here"]);
}

#[tokio::test]
async fn refusal_inside_a_transaction_fails_it_upstream_too() {
    let proxy = Proxy::start_with(common::config("max_message_bytes = 4096")).await;
    let client = proxy.connect(TESTER).await;
    let table = scratch("refused");
    client
        .batch_execute(&format!("CREATE TABLE {table} (v int)"))
        .await
        .unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .batch_execute(&format!("INSERT INTO {table} VALUES (1)"))
        .await
        .unwrap();
    let e = client
        .simple_query(&format!("SELECT '{}'", "a".repeat(5000)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "54000");
    // Exactly as after a Postgres error: the transaction is failed and
    // COMMIT cannot save the insert.
    let e = client.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("COMMIT").await.unwrap();
    let n: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "a refused statement must roll the transaction back");
    client
        .batch_execute(&format!("DROP TABLE {table}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn refusal_in_a_pipeline_answers_in_place() {
    let proxy = Proxy::start_with(common::config("max_message_bytes = 4096")).await;
    let client = proxy.connect(TESTER).await;
    let big = format!("SELECT '{}'", "b".repeat(5000));
    let (a, b, c) = tokio::join!(
        client.query_one("SELECT 1::int4", &[]),
        client.prepare(&big),
        client.query_one("SELECT 3::int4", &[]),
    );
    assert_eq!(a.unwrap().get::<_, i32>(0), 1);
    assert_eq!(code(&b.unwrap_err()), "54000");
    assert_eq!(c.unwrap().get::<_, i32>(0), 3);
}

#[tokio::test]
async fn pinned_parameters_cannot_drift() {
    // The policy denies SET and set_config of these settings, so the drift
    // watch is the second wall: a function allowed by a DBA that changes
    // them from inside must still end the session.
    let admin = common::connect_direct().await;
    admin
        .batch_execute(
            "CREATE OR REPLACE FUNCTION public.drift_setting(name text, value text) RETURNS text \
             LANGUAGE sql AS $$ SELECT set_config(name, value, false) $$; \
             GRANT EXECUTE ON FUNCTION public.drift_setting(text, text) TO PUBLIC",
        )
        .await
        .unwrap();
    let rules = tempfile::tempdir().unwrap();
    let verifier = actgate::auth::Verifier::generate("drifter-secret");
    std::fs::write(
        rules.path().join("drifter.toml"),
        format!(
            "[agent]\nname = \"drifter\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{verifier}\"\n\n\
             [policy]\nstatements = [\"read\"]\nfunctions = [\"public.drift_setting\"]\n"
        ),
    )
    .unwrap();
    let mut config = common::config("");
    config.rules_dir = rules.path().to_owned();
    let proxy = Proxy::start_with(config).await;
    for (name, value) in [
        ("client_encoding", "LATIN1"),
        ("standard_conforming_strings", "off"),
    ] {
        let client = proxy.connect(("drifter", "drifter-secret")).await;
        let sql = format!("SELECT drift_setting('{name}', '{value}')");
        let e = match client.batch_execute(&sql).await {
            Err(e) => e,
            Ok(()) => client.batch_execute("SELECT 1").await.unwrap_err(),
        };
        let closed = client.is_closed() || client.batch_execute("SELECT 1").await.is_err();
        assert!(closed, "{name}: the session must end");
        let db = e
            .as_db_error()
            .unwrap_or_else(|| panic!("{name}: expected the FATAL, got {e}"));
        assert_eq!(db.code().code(), "08P01", "{name}");
        assert!(db.message().contains(name), "{}", db.message());
        assert!(db.message().contains("changed to"), "{}", db.message());
    }
}

#[tokio::test]
async fn upstream_session_is_pinned() {
    let proxy = Proxy::start().await;
    // The agent's `options` must not reach upstream.
    let url = format!(
        "{}?options=-c%20search_path%3Dpg_temp&application_name=agent-7",
        proxy.url(TESTER, "shop")
    );
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client
        .simple_query(
            "SELECT current_setting('search_path'), current_setting('client_encoding'), \
             current_setting('standard_conforming_strings'), current_setting('application_name'), \
             current_user",
        )
        .await
        .unwrap();
    let row = rows
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .expect("one row");
    assert_eq!(row.get(0), Some("public"));
    assert_eq!(row.get(1), Some("UTF8"));
    assert_eq!(row.get(2), Some("on"));
    assert_eq!(row.get(3), Some("agent-7"));
    assert_eq!(row.get(4), Some(actgate::demo::UPSTREAM_ROLE));
}

#[tokio::test]
async fn idle_session_times_out_with_a_fatal() {
    let proxy = Proxy::start_with(common::config("idle_timeout_ms = 200")).await;
    let (client, mut messages) = connect_with_messages(&proxy).await;
    client.batch_execute("SELECT 1").await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), messages.recv()).await;
    // tokio-postgres reports the FATAL as the connection's error; the
    // session must be closed either way.
    let _ = m;
    tokio::time::timeout(Duration::from_secs(10), async {
        while !client.is_closed() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("idle session closed");
    let e = client.batch_execute("SELECT 1").await.unwrap_err();
    assert!(e.is_closed(), "{e}");
}

#[tokio::test]
async fn connection_limit_is_enforced() {
    let proxy = Proxy::start_with(common::config("max_connections = 2")).await;
    let _a = proxy.connect(TESTER).await;
    let _b = proxy.connect(TESTER).await;
    let e = proxy.try_connect(TESTER, "shop").await.unwrap_err();
    assert_eq!(code(&e), "53300");
}

#[tokio::test]
async fn shutdown_stops_accepting_and_closes_sessions_after_grace() {
    let proxy = Proxy::start_with(common::config("shutdown_grace_ms = 200")).await;
    let client = proxy.connect(TESTER).await;
    let addr = proxy.addr;
    tokio::time::timeout(Duration::from_secs(15), proxy.stop())
        .await
        .expect("shutdown finishes after the grace period");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed"
    );
    let e = client.batch_execute("SELECT 1").await.unwrap_err();
    assert!(e.is_closed() || code(&e) == "57P01", "{e}");
}

#[tokio::test]
async fn gssenc_and_ssl_requests_are_declined_and_startup_continues() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = Proxy::start().await;
    let mut raw = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    for code in [80877104i32, 80877103] {
        let mut req = Vec::new();
        req.extend_from_slice(&8i32.to_be_bytes());
        req.extend_from_slice(&code.to_be_bytes());
        raw.write_all(&req).await.unwrap();
        let mut answer = [0u8; 1];
        raw.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer[0], b'N', "request {code}");
    }
    let mut startup = bytes::BytesMut::new();
    actgate::protocol::startup::encode_startup(
        &mut startup,
        &[("user", TESTER.0), ("database", "shop")],
    );
    raw.write_all(&startup).await.unwrap();
    let mut tag = [0u8; 1];
    raw.read_exact(&mut tag).await.unwrap();
    assert_eq!(tag[0], b'R', "an authentication request follows");
}

/// Statements of one shape sent as text with other literals, as an agent
/// sends them. Once the session holds an allowed decision about the
/// shape's template (the third statement learns it, the fourth keeps the
/// decision), each later one is carried out without deciding or filling
/// in its literals: it still reaches the server with its own literal, is
/// audited with its own text and the shape's facts, and a statement of
/// the shape the policy refuses is still refused. (Debug builds, which
/// the tests are, also fill and decide each such statement afresh and
/// require the same decision.)
#[tokio::test]
async fn a_shape_decided_once_is_carried_out_statement_by_statement() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let client = proxy.connect(common::ANALYTICS).await;
    let sql = |n: u32| format!("SELECT id, country FROM customers WHERE id = {n}");
    for n in 1..=8 {
        let rows = client.simple_query(&sql(n)).await.expect("an allowed read");
        let ids: Vec<String> = rows
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [n.to_string()], "{}", sql(n));
    }
    // The same shape on a column the policy hides: refused every time.
    for n in 1..=4 {
        let e = client
            .simple_query(&format!("SELECT email FROM customers WHERE id = {n}"))
            .await
            .unwrap_err();
        assert_eq!(common::denial_reason(&e), "column_denied");
    }
    proxy.stop().await;
    let events = common::audit_events_when(&audit, |events| {
        events.iter().filter(|e| e["sql"].is_string()).count() >= 12
    })
    .await;
    let allowed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "statement_allowed")
        .collect();
    assert_eq!(allowed.len(), 8);
    for (n, e) in (1..=8).zip(&allowed) {
        assert_eq!(e["sql"], sql(n));
        assert_eq!(e["tables"], serde_json::json!(["public.customers"]));
        assert_eq!(e["statement_class"], "read");
        assert_eq!(e["fingerprint"], allowed[0]["fingerprint"]);
    }
    let blocked = events
        .iter()
        .filter(|e| e["event"] == "statement_blocked")
        .count();
    assert_eq!(blocked, 4);
}
