//! Pool resets and read-only sessions through actgate, against the real
//! PostgreSQL (issue 12, items 6 and 7): asyncpg's release sequence and
//! DISCARD ALL work for token agents and leave every pinned setting at
//! actgate's value; a session may make itself read-only and reset that,
//! but never widen it.

mod common;

use common::Proxy;
use tokio_postgres::{Client, SimpleQueryMessage};

/// asyncpg's `Connection.reset()` on pool release (asyncpg 0.29–0.30).
const ASYNCPG_RESET: &str = "SELECT pg_advisory_unlock_all();\nCLOSE ALL;\nUNLISTEN *;\nRESET ALL;";

async fn support_bot(proxy: &Proxy) -> Client {
    common::connect_token(
        proxy,
        "support-bot",
        "customer-42",
        &[("customer_id", "42")],
    )
    .await
}

async fn show(client: &Client, name: &str) -> String {
    let rows = client
        .simple_query(&format!("SHOW {name}"))
        .await
        .unwrap_or_else(|e| panic!("SHOW {name}: {e}"));
    rows.iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| panic!("SHOW {name}: no row"))
}

/// The settings actgate pins in the upstream startup packet, as SHOW
/// reports them through the proxy.
async fn pinned(client: &Client) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for name in [
        "search_path",
        "client_encoding",
        "standard_conforming_strings",
        "default_transaction_read_only",
        "role",
        "session_authorization",
    ] {
        out.push((name, show(client, name).await));
    }
    out
}

#[tokio::test]
async fn asyncpg_pool_reset_works_for_a_token_agent_and_keeps_the_pins() {
    let proxy = Proxy::start().await;
    let client = support_bot(&proxy).await;
    let before = pinned(&client).await;
    assert_eq!(before[0], ("search_path", "public".to_owned()));
    assert_eq!(before[1], ("client_encoding", "UTF8".to_owned()));

    // What a checkout may have changed, that the reset must undo.
    client
        .batch_execute("SET statement_timeout = 4321; SET application_name = 'checkout-1'")
        .await
        .unwrap();
    client.batch_execute(ASYNCPG_RESET).await.unwrap();
    assert_eq!(show(&client, "statement_timeout").await, "0");
    assert_eq!(pinned(&client).await, before);

    // Each part on its own, and DISCARD ALL (pgbouncer-style pools).
    for sql in [
        "SELECT pg_advisory_unlock_all()",
        "CLOSE ALL",
        "UNLISTEN *",
        "RESET ALL",
        "DISCARD ALL",
    ] {
        client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    assert_eq!(pinned(&client).await, before);

    // The session is still the customer's, scoped as before.
    let rows = client
        .query("SELECT id FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap();
    assert!(!rows.is_empty());
    let e = client
        .simple_query("SELECT id FROM orders WHERE customer_id = 7")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "scope_violation");

    // Identity and lexing stay pinned around the reset.
    for sql in [
        "RESET ROLE",
        "RESET SESSION AUTHORIZATION",
        "SET SESSION AUTHORIZATION DEFAULT",
        "RESET search_path",
        "RESET ALL; SET search_path = evil",
    ] {
        let e = client.simple_query(sql).await.unwrap_err();
        assert_eq!(common::denial_reason(&e), "setting_pinned", "{sql}");
    }
    assert_eq!(pinned(&client).await, before);
}

#[tokio::test]
async fn a_session_may_make_itself_read_only_but_not_widen() {
    let proxy = Proxy::start().await;
    let client = support_bot(&proxy).await;
    assert_eq!(show(&client, "default_transaction_read_only").await, "off");

    // psycopg2 `conn.readonly = True` (autocommit), pgjdbc readOnlyMode.
    client
        .batch_execute("SET default_transaction_read_only TO on")
        .await
        .unwrap();
    assert_eq!(show(&client, "transaction_read_only").await, "on");
    // The session started read-write (the server said so at startup), so
    // the explicit way back only returns to the start value: pgjdbc's
    // setReadOnly(false). (A session that started read-only may not:
    // policy::denial_tests::read_write_again_only_when_the_session_started_so.)
    for sql in [
        "SET default_transaction_read_only = off",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
    ] {
        client.batch_execute(sql).await.unwrap();
        assert_eq!(show(&client, "default_transaction_read_only").await, "off");
        client
            .batch_execute("SET default_transaction_read_only TO on")
            .await
            .unwrap();
    }
    assert_eq!(show(&client, "default_transaction_read_only").await, "on");
    // RESET and DEFAULT return to the session's start value too.
    client
        .batch_execute("RESET default_transaction_read_only")
        .await
        .unwrap();
    assert_eq!(show(&client, "default_transaction_read_only").await, "off");

    // SQLAlchemy (pg8000) `postgresql_readonly`.
    client
        .batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        .await
        .unwrap();
    assert_eq!(show(&client, "default_transaction_read_only").await, "on");
    client
        .batch_execute("SET default_transaction_read_only TO DEFAULT")
        .await
        .unwrap();
    assert_eq!(show(&client, "default_transaction_read_only").await, "off");

    // A pool reset after a read-only checkout ends it too.
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    client.batch_execute(ASYNCPG_RESET).await.unwrap();
    assert_eq!(show(&client, "default_transaction_read_only").await, "off");
}
