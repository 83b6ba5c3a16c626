//! Row scoping and value limits through actgate: parameters are checked at
//! every Bind against the token's claims (binary and text formats), and
//! literal statements as they are parsed.

mod common;

use common::Proxy;

async fn token_client(proxy: &Proxy, customer: &str) -> tokio_postgres::Client {
    common::connect_token(
        proxy,
        "order-assistant",
        &format!("customer-{customer}"),
        &[("customer_id", customer)],
    )
    .await
}

#[tokio::test]
async fn a_prepared_statement_is_checked_at_every_bind() {
    let proxy = Proxy::start().await;
    let client = token_client(&proxy, "42").await;
    let stmt = client
        .prepare("SELECT count(*) FROM orders WHERE customer_id = $1")
        .await
        .expect("the Parse is allowed: the parameter is checked at Bind");
    // Binary int8, bound to the right customer…
    let n: i64 = client.query_one(&stmt, &[&42i64]).await.unwrap().get(0);
    assert!(n > 0);
    // …then to another one: refused at this Bind only.
    let e = client.query_one(&stmt, &[&43i64]).await.unwrap_err();
    assert_eq!(common::denial_reason(&e), "scope_violation");
    let n2: i64 = client.query_one(&stmt, &[&42i64]).await.unwrap().get(0);
    assert_eq!(n, n2, "the session and the statement stay usable");
}

#[tokio::test]
async fn text_format_parameters_are_checked_too() {
    let proxy = Proxy::start().await;
    let client = token_client(&proxy, "42").await;
    // A text parameter: `query_typed`'s string values go as text for an
    // unknown-typed comparison, so use the simple casting form.
    let rows = client
        .query(
            "SELECT count(*) FROM orders WHERE customer_id = $1::text::bigint",
            &[&"42"],
        )
        .await;
    match rows {
        Ok(r) => assert!(r[0].get::<_, i64>(0) > 0),
        Err(e) => panic!("text parameter for the right customer refused: {e}"),
    }
    let e = client
        .query(
            "SELECT count(*) FROM orders WHERE customer_id = $1::text::bigint",
            &[&"43"],
        )
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "scope_violation");
}

#[tokio::test]
async fn writes_are_scoped_and_limited() {
    let proxy = Proxy::start().await;
    let client = token_client(&proxy, "42").await;
    let admin = common::connect_direct().await;
    let id: i64 = admin
        .query_one("SELECT min(id) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    // The agent may update notes of its own orders, with the scope as a
    // parameter checked at Bind.
    let updated = client
        .execute(
            "UPDATE orders SET notes = $1 WHERE customer_id = $2 AND id = $3",
            &[&"from the assistant", &42i64, &id],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
    let e = client
        .execute(
            "UPDATE orders SET notes = $1 WHERE customer_id = $2 AND id = $3",
            &[&"sneaky", &43i64, &id],
        )
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "scope_violation");
    // Another customer's order cannot be touched by literal either.
    let e = client
        .simple_query("UPDATE orders SET notes = 'x' WHERE customer_id = 43")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "scope_violation");
    let notes: Option<String> = admin
        .query_one("SELECT notes FROM orders WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes.as_deref(), Some("from the assistant"));
}

/// A session reuses decisions about statements of one shape only where
/// the literals cannot change them: a value limit's literal is judged
/// every time, however often the shape was seen (its template learnt,
/// its decisions allowed). (A secret login: a token session decides every
/// statement anyway, its token's checks reading the clock.)
#[tokio::test]
async fn each_literal_of_a_shape_seen_many_times_is_judged() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(("scoped", "scoped-secret")).await;
    for n in 0..6 {
        client
            .simple_query(&format!(
                "UPDATE customers SET email = 'agent{n}@example.com' WHERE id = -1"
            ))
            .await
            .expect("an address the limit allows");
    }
    let e = client
        .simple_query("UPDATE customers SET email = 'agent@elsewhere.test' WHERE id = -1")
        .await
        .unwrap_err();
    assert_eq!(common::denial_reason(&e), "value_limit");
    client
        .simple_query("UPDATE customers SET email = 'agent9@example.com' WHERE id = -1")
        .await
        .expect("the session stays usable, the limit's values allowed");
}
