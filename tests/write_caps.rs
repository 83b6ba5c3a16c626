//! Write caps (`max_affected_rows`): an UPDATE or DELETE that changes more
//! rows than allowed leaves no effect at all; inside the agent's own
//! transaction it fails that transaction exactly as a PostgreSQL error
//! would, in the simple and the extended protocol alike.

mod common;

use common::Proxy;

const CAPPED: (&str, &str) = ("capped", "capped-secret");

/// A customer with more than 3 orders, and its order count.
async fn busy_customer(admin: &tokio_postgres::Client) -> (i64, i64) {
    let row = admin
        .query_one(
            "SELECT customer_id, count(*) FROM orders GROUP BY customer_id HAVING count(*) > 3 ORDER BY customer_id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// How many orders `customer` has.
async fn count_orders(admin: &tokio_postgres::Client, customer: i64) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap()
        .get(0)
}

async fn count_notes(admin: &tokio_postgres::Client, customer: i64, notes: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = $1 AND notes = $2",
            &[&customer, &notes],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn simple_protocol_over_the_cap_leaves_no_effect() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let (customer, _) = busy_customer(&admin).await;
    let e = client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-simple' WHERE customer_id = {customer}"
        ))
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_exceeded");
    assert_eq!(
        count_notes(&admin, customer, "cap-simple").await,
        0,
        "nothing changed"
    );
    // Within the cap it is committed, and the session is not left in a
    // transaction of actgate's.
    let id: i64 = admin
        .query_one(
            "SELECT min(id) FROM orders WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap()
        .get(0);
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-one' WHERE id = {id}"
        ))
        .await
        .unwrap();
    assert_eq!(count_notes(&admin, customer, "cap-one").await, 1);
    client.batch_execute("BEGIN").await.unwrap();
    client.batch_execute("COMMIT").await.unwrap();
}

/// The ids of a busy customer's orders, and that customer and count.
async fn busy_orders(admin: &tokio_postgres::Client) -> (i64, i64, Vec<i64>) {
    let (customer, orders) = busy_customer(admin).await;
    let ids = admin
        .query(
            "SELECT id FROM orders WHERE customer_id = $1 ORDER BY id",
            &[&customer],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    (customer, orders, ids)
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .unwrap_or_else(|| panic!("expected a server error: {e}"))
        .code()
        .code()
        .to_owned()
}

/// Over the cap inside the agent's transaction: no effect, and the
/// transaction fails as after any error (25P02 until it ends); the agent's
/// own savepoint keeps its earlier work, as in PostgreSQL.
#[tokio::test]
async fn inside_a_transaction_an_over_cap_statement_fails_it_like_an_error() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let (customer, orders, ids) = busy_orders(&admin).await;
    client.batch_execute("BEGIN").await.unwrap();
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-early' WHERE id = {}",
            ids[0]
        ))
        .await
        .unwrap();
    client.batch_execute("SAVEPOINT mine").await.unwrap();
    let e = client
        .simple_query(&format!(
            "DELETE FROM orders WHERE customer_id = {customer}"
        ))
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_exceeded");
    let e = client.simple_query("SELECT 1").await.unwrap_err();
    assert_eq!(sqlstate(&e), "25P02", "the transaction failed: {e}");
    client
        .batch_execute("ROLLBACK TO SAVEPOINT mine")
        .await
        .unwrap();
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-late' WHERE id = {}",
            ids[1]
        ))
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    let left = count_orders(&admin, customer).await;
    assert_eq!(left, orders, "the over-cap DELETE left every row in place");
    assert_eq!(count_notes(&admin, customer, "cap-early").await, 1);
    assert_eq!(count_notes(&admin, customer, "cap-late").await, 1);
    // Without a savepoint, COMMIT of the failed transaction rolls back.
    client.batch_execute("BEGIN").await.unwrap();
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-lost' WHERE id = {}",
            ids[2]
        ))
        .await
        .unwrap();
    let e = client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-lost' WHERE customer_id = {customer}"
        ))
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_exceeded");
    let rows = client.simple_query("COMMIT").await.unwrap();
    assert!(
        rows.iter()
            .any(|m| matches!(m, tokio_postgres::SimpleQueryMessage::CommandComplete(0))),
        "COMMIT of a failed transaction completes as ROLLBACK"
    );
    assert_eq!(count_notes(&admin, customer, "cap-lost").await, 0);
}

/// Parameterised writes in an explicit transaction, as every modern driver
/// sends them: the cap holds there too, with BEGIN acknowledged first or
/// pipelined in front of the write.
#[tokio::test]
async fn extended_protocol_in_a_transaction_is_capped() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let (customer, orders, ids) = busy_orders(&admin).await;
    // BEGIN acknowledged, then a write within the cap and one over it.
    client.execute("BEGIN", &[]).await.unwrap();
    let n = client
        .execute(
            "UPDATE orders SET notes = $1 WHERE id = $2",
            &[&"cap-tx", &ids[0]],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let e = client
        .execute("DELETE FROM orders WHERE customer_id = $1", &[&customer])
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_exceeded");
    let e = client.execute("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(sqlstate(&e), "25P02", "the transaction failed: {e}");
    client.execute("ROLLBACK", &[]).await.unwrap();
    assert_eq!(count_notes(&admin, customer, "cap-tx").await, 0);
    // Within the cap it commits.
    client.execute("BEGIN", &[]).await.unwrap();
    client
        .execute(
            "UPDATE orders SET notes = $1 WHERE id = $2",
            &[&"cap-tx", &ids[0]],
        )
        .await
        .unwrap();
    client.execute("COMMIT", &[]).await.unwrap();
    assert_eq!(count_notes(&admin, customer, "cap-tx").await, 1);
    // BEGIN pipelined in front of the over-cap write (tokio-postgres
    // sends both before reading either answer).
    let begin = client.execute("BEGIN", &[]);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&customer];
    let delete = client.execute("DELETE FROM orders WHERE customer_id = $1", &params);
    let (begun, deleted) = tokio::join!(begin, delete);
    begun.unwrap();
    assert_eq!(
        common::denial_reason(&deleted.unwrap_err()),
        "write_cap_exceeded"
    );
    client.execute("COMMIT", &[]).await.unwrap();
    let left = count_orders(&admin, customer).await;
    assert_eq!(left, orders, "the over-cap DELETE left every row in place");
    client.simple_query("SELECT 1").await.unwrap();
}

/// A capped write with RETURNING executed a few rows at a time cannot be
/// counted before its rows are changed: it is undone and its transaction
/// fails, rather than committed unchecked.
#[tokio::test]
async fn a_capped_write_executed_in_parts_is_undone() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let mut client = proxy.connect(CAPPED).await;
    let (customer, _, _) = busy_orders(&admin).await;
    let tx = client.transaction().await.unwrap();
    let stmt = tx
        .prepare("UPDATE orders SET notes = 'cap-part' WHERE customer_id = $1 RETURNING id")
        .await
        .unwrap();
    // A portal fetched one row at a time.
    let portal = tx.bind(&stmt, &[&customer]).await.unwrap();
    let e = tx.query_portal(&portal, 1).await.unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_partial_execute");
    // COMMIT of the failed transaction completes as ROLLBACK.
    tx.commit().await.unwrap();
    assert_eq!(count_notes(&admin, customer, "cap-part").await, 0);
    client.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn extended_protocol_over_the_cap_leaves_no_effect() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let (customer, orders) = busy_customer(&admin).await;
    let e = client
        .execute("DELETE FROM orders WHERE customer_id = $1", &[&customer])
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "write_cap_exceeded");
    let left = count_orders(&admin, customer).await;
    assert_eq!(left, orders);
    // Within the cap it works.
    let id: i64 = admin
        .query_one(
            "SELECT max(id) FROM orders WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap()
        .get(0);
    let n = client
        .execute(
            "UPDATE orders SET notes = $1 WHERE id = $2",
            &[&"cap-ext", &id],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    client.simple_query("SELECT 1").await.unwrap();
}
