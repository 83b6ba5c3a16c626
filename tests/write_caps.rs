//! Write caps (`max_affected_rows`): an UPDATE or DELETE that changes more
//! rows than allowed leaves no effect at all; inside the agent's own
//! transaction its earlier work survives.

mod common;

use common::Proxy;

const CAPPED: (&str, &str) = ("capped", "capped-secret");

fn reason(e: &tokio_postgres::Error) -> String {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("expected a server error: {e}"));
    assert_eq!(db.code().code(), "42501", "{db:?}");
    db.detail()
        .and_then(|d| d.strip_prefix("reason: "))
        .and_then(|d| d.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

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
    assert_eq!(reason(&e), "write_cap_exceeded");
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

#[tokio::test]
async fn inside_a_transaction_earlier_work_survives() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = proxy.connect(CAPPED).await;
    let (customer, orders) = busy_customer(&admin).await;
    let ids: Vec<i64> = admin
        .query(
            "SELECT id FROM orders WHERE customer_id = $1 ORDER BY id",
            &[&customer],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    client.batch_execute("BEGIN").await.unwrap();
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-early' WHERE id = {}",
            ids[0]
        ))
        .await
        .unwrap();
    let e = client
        .simple_query(&format!(
            "DELETE FROM orders WHERE customer_id = {customer}"
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "write_cap_exceeded");
    // The transaction goes on, as after a rolled-back savepoint.
    client
        .simple_query(&format!(
            "UPDATE orders SET notes = 'cap-late' WHERE id = {}",
            ids[1]
        ))
        .await
        .unwrap();
    client.batch_execute("COMMIT").await.unwrap();
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, orders, "the over-cap DELETE left every row in place");
    assert_eq!(count_notes(&admin, customer, "cap-early").await, 1);
    assert_eq!(count_notes(&admin, customer, "cap-late").await, 1);
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
    assert_eq!(reason(&e), "write_cap_exceeded");
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM orders WHERE customer_id = $1",
            &[&customer],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, orders);
    // Within the cap it works; in an explicit transaction it is refused
    // (the batch could not be undone alone).
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
    client.batch_execute("BEGIN").await.unwrap();
    let e = client
        .execute(
            "UPDATE orders SET notes = $1 WHERE id = $2",
            &[&"cap-tx", &id],
        )
        .await
        .unwrap_err();
    assert_eq!(reason(&e), "write_cap_in_transaction");
    client.batch_execute("ROLLBACK").await.unwrap();
    client.simple_query("SELECT 1").await.unwrap();
}
