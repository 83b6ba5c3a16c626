//! Row limits (`max_rows`): counted on the DataRow messages coming back,
//! never by rewriting SQL. The agent never receives row max_rows+1; in
//! error mode the statement fails as a Postgres error would (the
//! transaction with it), in truncate mode the result ends at the limit
//! with a NOTICE and a correct command tag.

mod common;

use common::Proxy;
use futures_util::{StreamExt, pin_mut};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls, SimpleQueryMessage};

const LIMITED: (&str, &str) = ("limited", "limited-secret");
const TRUNCATING: (&str, &str) = ("limited-trunc", "limited-trunc-secret");

fn code(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.code().code().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn extended_protocol_never_delivers_row_six() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    let stream = client
        .query_raw(
            "SELECT id FROM orders ORDER BY id",
            std::iter::empty::<i32>(),
        )
        .await
        .unwrap();
    pin_mut!(stream);
    let mut rows = 0;
    let mut error = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => rows += 1,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(rows <= 5, "received {rows} rows");
    assert_eq!(
        common::denial_reason(&error.expect("the statement must fail")),
        "row_limit_exceeded"
    );
    // Within the limit everything arrives; the session is usable.
    let rows = client
        .query("SELECT id FROM orders ORDER BY id LIMIT 5", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    // A table's own, smaller limit applies.
    let e = client
        .query("SELECT id FROM products", &[])
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    assert_eq!(
        client
            .query("SELECT id FROM products LIMIT 3", &[])
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn simple_protocol_fails_the_statement_and_its_transaction() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    let e = client
        .simple_query("SELECT id FROM orders ORDER BY id")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let ok = client
        .simple_query("SELECT id FROM orders ORDER BY id LIMIT 2")
        .await
        .unwrap();
    let rows = ok
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(rows, 2);

    // Inside a transaction the failure fails the transaction, on both
    // sides: the next statement gets 25P02 from the server.
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .simple_query("SELECT id FROM orders")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    client.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn extended_protocol_failure_fails_the_transaction_too() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .query("SELECT id FROM orders", &[])
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let e = client.query("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    // Pipelined: the limited query fails, its neighbours are answered.
    let (a, b, c) = tokio::join!(
        client.query_one("SELECT 1::int4", &[]),
        client.query("SELECT id FROM orders", &[]),
        client.query_one("SELECT 3::int4", &[]),
    );
    assert_eq!(a.unwrap().get::<_, i32>(0), 1);
    assert_eq!(common::denial_reason(&b.unwrap_err()), "row_limit_exceeded");
    assert_eq!(c.unwrap().get::<_, i32>(0), 3);
}

#[tokio::test]
async fn truncate_mode_returns_exactly_the_limit_with_a_notice() {
    let proxy = Proxy::start().await;
    let (client, mut conn) = tokio_postgres::connect(&proxy.url(TRUNCATING, "shop"), NoTls)
        .await
        .unwrap();
    let (tx, mut notices) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            let _ = tx.send(m);
        }
    });
    let msgs = client
        .simple_query("SELECT id FROM orders ORDER BY id")
        .await
        .unwrap();
    let rows = msgs
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(rows, 5);
    let tag = msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::CommandComplete(n) => Some(*n),
        _ => None,
    });
    assert_eq!(tag, Some(5), "the command tag says what was delivered");
    let notice = tokio::time::timeout(Duration::from_secs(5), notices.recv())
        .await
        .expect("a notice")
        .expect("connection alive");
    match notice {
        AsyncMessage::Notice(n) => assert!(
            n.message().contains("truncated the result to 5 rows"),
            "{}",
            n.message()
        ),
        other => panic!("expected a notice, got {other:?}"),
    }
    // Extended protocol too, and the session goes on.
    let rows = client.query("SELECT id FROM orders", &[]).await.unwrap();
    assert_eq!(rows.len(), 5);
    let rows = client.query("SELECT id FROM products", &[]).await.unwrap();
    assert_eq!(rows.len(), 3);
}

#[tokio::test]
async fn copy_to_is_limited_too() {
    use futures_util::TryStreamExt;
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    let stream = client
        .copy_out("COPY (SELECT id FROM orders ORDER BY id LIMIT 5) TO STDOUT")
        .await
        .unwrap();
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    assert_eq!(chunks.concat().iter().filter(|b| **b == b'\n').count(), 5);
    let e = client
        .copy_out("COPY (SELECT id FROM orders) TO STDOUT")
        .await;
    let e = match e {
        Err(e) => e,
        Ok(stream) => stream
            .try_collect::<Vec<_>>()
            .await
            .expect_err("over the limit"),
    };
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    client.simple_query("SELECT 1").await.unwrap();
}

/// A write with RETURNING under a row limit in error mode, sent with the
/// simple protocol (issue 12 item 10): within the limit it runs and
/// commits; over it, it leaves no effect and fails as a PostgreSQL error
/// would, its implicit transaction or the agent's explicit one.
#[tokio::test]
async fn simple_protocol_write_with_returning_is_undone_over_the_limit() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(("limited-writer", "limited-secret")).await;
    let notes = |n: &'static str| {
        let admin = &admin;
        async move {
            admin
                .query_one("SELECT count(*) FROM orders WHERE notes = $1", &[&n])
                .await
                .unwrap()
                .get::<_, i64>(0)
        }
    };
    // Within the limit: the rows come back and the change is committed.
    let rows = client
        .simple_query("UPDATE orders SET notes = 'ret-ok' WHERE id <= 3 RETURNING id")
        .await
        .unwrap();
    let returned = rows
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
        .count();
    assert_eq!(returned, 3);
    let completions = rows
        .iter()
        .filter(|m| matches!(m, SimpleQueryMessage::CommandComplete(_)))
        .count();
    assert_eq!(
        completions, 1,
        "actgate's own BEGIN and COMMIT are not seen"
    );
    assert_eq!(notes("ret-ok").await, 3);
    // Over it: refused after the fact, and nothing changed.
    let e = client
        .simple_query("UPDATE orders SET notes = 'ret-over' WHERE id <= 20 RETURNING id")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    assert_eq!(notes("ret-over").await, 0);
    client.simple_query("SELECT 1").await.unwrap();
    // Inside the agent's transaction: undone, and the transaction fails.
    client.batch_execute("BEGIN").await.unwrap();
    client
        .simple_query("UPDATE orders SET notes = 'ret-tx' WHERE id = 4 RETURNING id")
        .await
        .unwrap();
    let e = client
        .simple_query("UPDATE orders SET notes = 'ret-tx' WHERE id <= 20 RETURNING id")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(notes("ret-tx").await, 0);
    client.simple_query("SELECT 1").await.unwrap();
}

/// A simple-protocol message of reads, alone or in a block it opens
/// (`BEGIN; SELECT …; COMMIT`), under a row limit in error mode: it fails
/// as in PostgreSQL when a statement goes over, with nothing after it
/// answered, and a block it opened is left open and failed.
#[tokio::test]
async fn simple_protocol_messages_of_reads_fail_as_postgres_fails_them() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(LIMITED).await;
    let count = |msgs: &[SimpleQueryMessage]| {
        msgs.iter()
            .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
            .count()
    };
    // Within the limit, in a block and without.
    let ok = client
        .simple_query("BEGIN; SELECT id FROM orders ORDER BY id LIMIT 2; COMMIT")
        .await
        .unwrap();
    assert_eq!(count(&ok), 2);
    let ok = client
        .simple_query("SELECT id FROM orders LIMIT 1; SELECT id FROM products LIMIT 2")
        .await
        .unwrap();
    assert_eq!(count(&ok), 3);
    // Over it in a block: the block stays open and failed.
    let e = client
        .simple_query("BEGIN; SELECT id FROM orders; COMMIT")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    // Over it without a block: its implicit transaction ends.
    let e = client
        .simple_query("SELECT id FROM orders LIMIT 1; SELECT id FROM orders; SELECT 2")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    client.simple_query("SELECT 1").await.unwrap();
    // Inside the agent's own transaction a message that commits is refused
    // (its COMMIT would commit earlier work a failure must not); reads
    // alone fail the transaction.
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .simple_query("BEGIN; SELECT id FROM orders LIMIT 1; COMMIT")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_side_effects");
    client.batch_execute("ROLLBACK").await.unwrap();
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .simple_query("SELECT id FROM orders LIMIT 1; SELECT id FROM orders")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "row_limit_exceeded");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    client.simple_query("SELECT 1").await.unwrap();
}
