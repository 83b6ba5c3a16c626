//! The circuit breaker end to end, with a manual clock: the third denial
//! within a minute suspends the end user, ends their live sessions and
//! refuses their logins, leaves other end users alone, and lifts after the
//! suspension or when an operator resumes them.

mod common;

use actgate::controls::ManualClock;
use common::Proxy;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

async fn login(
    proxy: &Proxy,
    subject: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (token, _) = common::mint("breaker", subject, &[], Duration::from_secs(3600));
    let url = actgate::token::connection_string(
        "breaker",
        &token,
        "127.0.0.1",
        proxy.addr.port(),
        "shop",
    );
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// Waits (bounded) for the server to close the client's connection.
async fn closed(client: &tokio_postgres::Client) -> bool {
    for _ in 0..100 {
        if client.is_closed() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

const DENIED: &str = "SELECT id FROM staff_users";
const ALLOWED: &str = "SELECT count(*) FROM products";

#[tokio::test]
async fn the_breaker_suspends_ends_sessions_refuses_logins_and_lifts() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = Proxy::start().await;
    proxy.gateway.set_clock(clock.clone());

    let alice = login(&proxy, "customer-1").await.unwrap();
    let alice_too = login(&proxy, "customer-1").await.unwrap();
    let bob = login(&proxy, "customer-2").await.unwrap();

    // Two denials: still serving.
    for _ in 0..2 {
        let e = alice.simple_query(DENIED).await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().code().code(), "42501");
    }
    alice.simple_query(ALLOWED).await.unwrap();
    // Denials older than the window do not count towards the third.
    clock.advance(Duration::from_secs(61));
    alice.simple_query(DENIED).await.unwrap_err();
    alice.simple_query(DENIED).await.unwrap_err();
    alice.simple_query(ALLOWED).await.unwrap();

    // The third within a minute trips it: both of alice's sessions end.
    alice.simple_query(DENIED).await.unwrap_err();
    assert!(closed(&alice).await, "alice's session was not ended");
    assert!(
        closed(&alice_too).await,
        "alice's other session was not ended"
    );
    let e = alice_too.simple_query(ALLOWED).await.unwrap_err();
    assert!(e.is_closed(), "{e:?}");

    // Bob is another end user.
    bob.simple_query(ALLOWED).await.unwrap();

    // Alice's logins are refused with the reason and the end.
    let Err(e) = login(&proxy, "customer-1").await else {
        panic!("a suspended end user logged in");
    };
    let db = e.as_db_error().unwrap_or_else(|| panic!("{e:?}"));
    assert_eq!(db.code().code(), "28000", "{db:?}");
    assert!(
        db.message()
            .contains("suspended by actgate until 2026-11-25T10:11:01Z"),
        "{db:?}"
    );
    assert!(db.message().contains("circuit breaker"), "{db:?}");

    // Ten minutes later she may log in again.
    clock.advance(Duration::from_secs(600));
    let alice = login(&proxy, "customer-1").await.unwrap();
    alice.simple_query(ALLOWED).await.unwrap();
}

#[tokio::test]
async fn an_operator_can_resume_a_suspended_end_user() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = Proxy::start().await;
    proxy.gateway.set_clock(clock.clone());
    let carol = login(&proxy, "customer-3").await.unwrap();
    for _ in 0..3 {
        let _ = carol.simple_query(DENIED).await;
    }
    assert!(closed(&carol).await);
    assert!(login(&proxy, "customer-3").await.is_err());
    assert!(
        proxy
            .gateway
            .suspension("breaker", Some("customer-3"))
            .is_some()
    );

    assert!(proxy.gateway.resume("breaker", Some("customer-3")));
    let carol = login(&proxy, "customer-3").await.unwrap();
    carol.simple_query(ALLOWED).await.unwrap();
    // The count started afresh: one more denial does not trip it again.
    carol.simple_query(DENIED).await.unwrap_err();
    carol.simple_query(ALLOWED).await.unwrap();
}

#[test]
fn bad_breakers_are_rejected_with_file_and_line() {
    let cases = [
        ("trip_after = \"3/minute\"", "missing field `suspend_for_s`"),
        (
            "trip_after = \"3/fortnight\"\nsuspend_for_s = 60",
            "circuit_breaker.trip_after",
        ),
        (
            "trip_after = \"3/minute\"\nsuspend_for_s = 0",
            "between 1 and",
        ),
        (
            "trip_after = \"3/minute\"\nsuspend_for_s = 60\nper = \"tenant\"",
            "circuit_breaker.per",
        ),
        (
            "trip_after = \"3/minute\"\nsuspend_for_s = 60\nsuspend = 1",
            "unknown field `suspend`",
        ),
    ];
    for (entry, expected) in cases {
        let e = common::rules_error(&format!("[circuit_breaker]\n{entry}"));
        assert!(e.contains(expected), "{entry}: {e}");
    }
}
