//! The Rust clients of the matrix, in-process: tokio-postgres and sqlx's
//! pool, as the analytics agent and the support-bot token agent.

use super::Gate;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::Row;
use sqlx::postgres::{PgDatabaseError, PgPoolOptions};
use tokio_postgres::{IsolationLevel, NoTls};

/// A refusal as tokio-postgres surfaces it: SQLSTATE, the reason in
/// DETAIL, whether the message names actgate and a HINT is there.
fn refusal(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        return format!("not a server error: {e}");
    };
    describe(db.code().code(), db.message(), db.detail(), db.hint())
}

fn describe(code: &str, message: &str, detail: Option<&str>, hint: Option<&str>) -> String {
    let reason = detail
        .and_then(|d| d.strip_prefix("reason: "))
        .and_then(|d| d.split(';').next())
        .unwrap_or("?");
    format!(
        "{code} reason: {reason} message: {} hint: {}",
        message.starts_with("actgate"),
        hint.is_some_and(|h| !h.is_empty())
    )
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("tokio-postgres through actgate: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// tokio-postgres: simple and extended queries, a statement prepared once
/// and run many times, a read-only repeatable-read transaction, an error
/// then rollback, a refusal in and out of a transaction, a portal read in
/// batches, and the token agent's scoped read (its capped write in a
/// transaction waits for item 9: tests/drivers/pending/).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres() {
    let gate = Gate::start().await;
    let mut c = connect(&gate.analytics_url()).await;
    let mut out = Vec::new();

    let rows = c
        .simple_query("SELECT count(*) FROM orders; SELECT 'two'")
        .await
        .unwrap();
    out.push(format!("simple: {} messages", rows.len()));
    let paid: i64 = c
        .query_one("SELECT count(*) FROM orders WHERE status = $1", &[&"paid"])
        .await
        .unwrap()
        .get(0);
    out.push(format!("parameterised: {paid}"));
    let statement = c
        .prepare("SELECT count(*) FROM order_items WHERE order_id <= $1")
        .await
        .unwrap();
    let mut counts = Vec::new();
    for id in [10_i64, 20, 10, 30, 10, 20] {
        let n: i64 = c.query_one(&statement, &[&id]).await.unwrap().get(0);
        counts.push(n);
    }
    out.push(format!(
        "prepared: {}",
        counts[0] == counts[2] && counts[1] == counts[5] && counts[3] >= counts[1]
    ));
    let e = c
        .query("SELECT password_hash FROM staff_users", &[])
        .await
        .unwrap_err();
    out.push(format!("denied: {}", refusal(&e)));
    let n: i64 = c
        .query_one("SELECT count(*) FROM refunds", &[])
        .await
        .unwrap()
        .get(0);
    out.push(format!("after denial: {n}"));

    let tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .unwrap();
    let ro: String = tx
        .query_one("SHOW transaction_read_only", &[])
        .await
        .unwrap()
        .get(0);
    // A portal read 50 rows at a time.
    let portal = tx
        .bind(
            "SELECT id FROM orders WHERE total_cents >= $1 ORDER BY id",
            &[&0_i32],
        )
        .await
        .unwrap();
    let mut batches = 0;
    let mut sum = 0_i64;
    loop {
        let rows = tx.query_portal(&portal, 50).await.unwrap();
        if rows.is_empty() {
            break;
        }
        batches += 1;
        sum += rows.iter().map(|r| r.get::<_, i64>(0)).sum::<i64>();
    }
    tx.commit().await.unwrap();
    out.push(format!(
        "read-only transaction: {ro} portal: {batches} batches, sum {sum}"
    ));

    let tx = c.transaction().await.unwrap();
    let e = tx
        .query("SELECT 1 / (count(*) - count(*)) FROM orders", &[])
        .await
        .unwrap_err();
    out.push(format!(
        "error in transaction: {}",
        e.code().map(|c| c.code()).unwrap_or("?")
    ));
    tx.rollback().await.unwrap();
    let tx = c.transaction().await.unwrap();
    let e = tx
        .query("SELECT card_token FROM payment_methods", &[])
        .await
        .unwrap_err();
    out.push(format!("denied in transaction: {}", refusal(&e)));
    tx.rollback().await.unwrap();
    let n: i64 = c.query_one(&statement, &[&10_i64]).await.unwrap().get(0);
    out.push(format!("after rollback: {}", n == counts[0]));

    let t = connect(&gate.token_url()).await;
    let mine: i64 = t
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = $1",
            &[&42_i64],
        )
        .await
        .unwrap()
        .get(0);
    let e = t
        .query(
            "SELECT count(*) FROM orders WHERE customer_id = $1",
            &[&7_i64],
        )
        .await
        .unwrap_err();
    out.push(format!("token: {mine} denied: {}", refusal(&e)));
    drop((c, t));
    let blocked = gate.blocked().await;
    assert_eq!(
        out.join("\n"),
        "simple: 6 messages\n\
         parameterised: 30\n\
         prepared: true\n\
         denied: 42501 reason: table_denied message: true hint: true\n\
         after denial: 30\n\
         read-only transaction: on portal: 4 batches, sum 20100\n\
         error in transaction: 22012\n\
         denied in transaction: 42501 reason: table_denied message: true hint: true\n\
         after rollback: true\n\
         token: 6 denied: 42501 reason: scope_violation message: true hint: true",
        "blocked: {blocked:#?}"
    );
    assert_eq!(
        blocked,
        [
            "SELECT password_hash FROM staff_users (table_denied)",
            "SELECT card_token FROM payment_methods (table_denied)",
            // Decided at Bind: the audit event has no SQL text.
            " (scope_violation)",
        ]
    );
}

fn sqlx_refusal(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(db) => match db.try_downcast_ref::<PgDatabaseError>() {
            Some(pg) => describe(pg.code(), pg.message(), pg.detail(), pg.hint()),
            None => format!("not a PostgreSQL error: {e}"),
        },
        None => format!("not a server error: {e}"),
    }
}

/// sqlx's pool (its statement cache, `fetch` streaming, `begin`) as the
/// analytics agent and as the token agent, concurrently over several
/// connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_pool() {
    let gate = Gate::start().await;
    let mut out = Vec::new();
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(&gate.analytics_url())
        .await
        .unwrap_or_else(|e| panic!("sqlx pool through actgate: {e}"));

    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(&pool)
        .await
        .unwrap();
    out.push(format!("connected: {}", version.starts_with("PostgreSQL")));
    // Concurrent parameterised queries: each is prepared on its
    // connection and then reused from the statement cache.
    let statuses = [
        "paid",
        "shipped",
        "pending",
        "delivered",
        "paid",
        "refunded",
        "paid",
        "paid",
    ];
    let counts = futures_util::future::try_join_all(statuses.iter().map(|s| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders WHERE status = $1")
            .bind(*s)
            .fetch_one(&pool)
    }))
    .await
    .unwrap();
    out.push(format!("cached: {counts:?}"));
    let e = sqlx::query("SELECT password_hash FROM staff_users")
        .fetch_all(&pool)
        .await
        .unwrap_err();
    out.push(format!("denied: {}", sqlx_refusal(&e)));
    let mut rows = sqlx::query("SELECT id, total_cents FROM orders WHERE id > $1 ORDER BY id")
        .bind(0_i64)
        .fetch(&pool);
    let (mut n, mut sum) = (0, 0_i64);
    while let Some(row) = rows.try_next().await.unwrap() {
        n += 1;
        sum += row.get::<i64, _>(0);
    }
    drop(rows);
    out.push(format!("streamed: {n} rows, sum {sum}"));

    let mut tx = pool.begin().await.unwrap();
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let e = sqlx::query("SELECT 1 / (count(*) - count(*)) FROM orders")
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    out.push(format!(
        "transaction: {products} error: {}",
        e.as_database_error()
            .and_then(|d| d.code())
            .unwrap_or_default()
    ));
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let e = sqlx::query("SELECT email FROM customers WHERE id = $1")
        .bind(1_i64)
        .fetch_one(&mut *tx)
        .await
        .unwrap_err();
    out.push(format!("denied in transaction: {}", sqlx_refusal(&e)));
    tx.rollback().await.unwrap();
    let all = futures_util::stream::iter(0..6)
        .then(|_| sqlx::query_scalar::<_, i64>("SELECT count(*) FROM refunds").fetch_one(&pool))
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    out.push(format!("pool after rollback: {all:?}"));
    pool.close().await;

    let tokens = PgPoolOptions::new()
        .max_connections(2)
        .connect(&gate.token_url())
        .await
        .unwrap_or_else(|e| panic!("sqlx pool as the token agent: {e}"));
    let mine = futures_util::future::try_join_all((0..4).map(|_| {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM orders WHERE customer_id = $1")
            .bind(42_i64)
            .fetch_one(&tokens)
    }))
    .await
    .unwrap();
    let e = sqlx::query("SELECT * FROM orders WHERE customer_id = $1")
        .bind(7_i64)
        .fetch_all(&tokens)
        .await
        .unwrap_err();
    out.push(format!("token pool: {mine:?} denied: {}", sqlx_refusal(&e)));
    tokens.close().await;

    let blocked = gate.blocked().await;
    assert_eq!(
        out.join("\n"),
        "connected: true\n\
         cached: [30, 30, 20, 80, 30, 20, 30, 30]\n\
         denied: 42501 reason: table_denied message: true hint: true\n\
         streamed: 200 rows, sum 20100\n\
         transaction: 20 error: 22012\n\
         denied in transaction: 42501 reason: column_denied message: true hint: true\n\
         pool after rollback: [30, 30, 30, 30, 30, 30]\n\
         token pool: [6, 6, 6, 6] denied: 42501 reason: scope_violation message: true hint: true",
        "blocked: {blocked:#?}"
    );
    assert_eq!(
        blocked,
        [
            "SELECT password_hash FROM staff_users (table_denied)",
            "SELECT email FROM customers WHERE id = $1 (column_denied)",
            " (scope_violation)",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_capped_write_in_a_transaction() {
    let gate = Gate::start().await;
    let mut t = connect(&gate.token_url()).await;
    let tx = t.transaction().await.unwrap();
    let n = tx
        .execute(
            "UPDATE orders SET notes = NULL WHERE id = $1 AND customer_id = $2",
            &[&164_i64, &42_i64],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 1);
    drop(t);
    assert_eq!(gate.blocked().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_capped_write_in_a_transaction() {
    let gate = Gate::start().await;
    let tokens = PgPoolOptions::new()
        .max_connections(2)
        .connect(&gate.token_url())
        .await
        .unwrap();
    let mut tx = tokens.begin().await.unwrap();
    let updated = sqlx::query("UPDATE orders SET notes = NULL WHERE id = $1 AND customer_id = $2")
        .bind(94_i64)
        .bind(42_i64)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    assert_eq!(updated, 1);
    tokens.close().await;
    assert_eq!(gate.blocked().await, Vec::<String>::new());
}
