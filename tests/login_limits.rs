//! Before login a stranger costs little: a credential message is refused
//! from its length word when it is larger than any real login needs (the
//! body is never waited for, so no large buffer is held), and connections
//! that have not authenticated count against their own limit,
//! `max_unauthenticated_connections`, not against `max_connections`.

mod common;

use common::raw::{ErrorInfo, RawConn};
use common::{Proxy, TESTER};
use std::time::Duration;

/// The largest credential message actgate reads before login (the value of
/// its length word).
const AUTH_LIMIT: u32 = 16 * 1024;

/// Connects and sends a StartupMessage for `user`; returns once actgate
/// asks for credentials, so the connection is known to be waiting to
/// authenticate.
async fn waiting_to_authenticate(proxy: &Proxy, user: &str) -> RawConn {
    let mut conn = RawConn::connect(proxy.addr).await;
    conn.startup(&[("user", user), ("database", "shop")]).await;
    let m = conn
        .recv()
        .await
        .expect("connection closed instead of asking for credentials");
    assert!(
        m.auth_code().is_some(),
        "expected an authentication request, got {m:?} ({:?})",
        m.error()
    );
    conn
}

/// The header of a PasswordMessage / SASL message whose length word is
/// `length`, followed by `first` bytes of its body (and nothing more).
fn partial_password_message(length: u32, first: &[u8]) -> Vec<u8> {
    let mut m = vec![b'p'];
    m.extend_from_slice(&length.to_be_bytes());
    m.extend_from_slice(first);
    m
}

/// A complete PasswordMessage whose length word is `length`: a password of
/// `length - 5` bytes and its NUL.
fn password_message_of_length(length: u32) -> Vec<u8> {
    let mut m = vec![b'p'];
    m.extend_from_slice(&length.to_be_bytes());
    m.extend(std::iter::repeat_n(b'A', length as usize - 5));
    m.push(0);
    m
}

async fn assert_serves(client: &tokio_postgres::Client) {
    let row = client.query_one("SELECT 1", &[]).await.expect("SELECT 1");
    assert_eq!(row.get::<_, i32>(0), 1);
}

fn sqlstate(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e:?}"));
    (db.code().code().to_owned(), db.message().to_owned())
}

// Many strangers each announce a SASLInitialResponse far larger than SCRAM
// needs (but below max_message_bytes, 1 MiB) and send only its first bytes:
// each is refused from the length word alone.
#[tokio::test]
async fn an_oversized_sasl_message_before_login_is_refused_from_its_length_word() {
    let proxy = Proxy::start().await;
    let mut strangers = Vec::new();
    for _ in 0..20 {
        strangers.push(waiting_to_authenticate(&proxy, TESTER.0).await);
    }
    let header = partial_password_message(1_000_000, b"SCRAM-SHA-256\0");
    for conn in &mut strangers {
        conn.send(&header).await;
    }
    for conn in &mut strangers {
        let e = conn.expect_fatal().await;
        assert_eq!(e.code, "08P01", "{e:?}");
        assert_eq!(
            e.message,
            "SASL message of 1000000 bytes exceeds actgate's limit of 16384 bytes before login"
        );
    }
    // The agent itself logs in as usual.
    assert_serves(&proxy.connect(TESTER).await).await;
}

// A capability token arrives as a cleartext password: one at the limit is
// read (and refused as a token: too large), one byte more is not read.
#[tokio::test]
async fn a_password_message_is_read_up_to_the_limit_and_refused_beyond_it() {
    let proxy = Proxy::start().await;

    let mut at_limit = waiting_to_authenticate(&proxy, "budgeted").await;
    at_limit.send(&password_message_of_length(AUTH_LIMIT)).await;
    let e = at_limit.expect_fatal().await;
    assert_eq!(e.code, "28P01", "{e:?}");
    assert_eq!(
        e.message,
        "password authentication failed for user \"budgeted\""
    );

    let mut over = waiting_to_authenticate(&proxy, "budgeted").await;
    over.send(&partial_password_message(AUTH_LIMIT + 1, b"AAAA"))
        .await;
    let e = over.expect_fatal().await;
    assert_eq!(e.code, "08P01", "{e:?}");
    assert_eq!(
        e.message,
        "password message of 16385 bytes exceeds actgate's limit of 16384 bytes before login"
    );
}

// Strangers that never log in do not take max_connections from agents;
// they have their own limit, and the one over it is refused at once.
#[tokio::test]
async fn connections_waiting_to_log_in_have_their_own_limit() {
    let proxy = Proxy::start_with(common::config(
        "max_connections = 2\nmax_unauthenticated_connections = 6\nstartup_timeout_ms = 600000",
    ))
    .await;

    // More strangers than max_connections, none of them logging in.
    let mut strangers = Vec::new();
    for _ in 0..5 {
        strangers.push(waiting_to_authenticate(&proxy, "nobody").await);
    }
    // Agents still log in, up to max_connections.
    let a = proxy.connect(TESTER).await;
    let b = proxy.connect(TESTER).await;
    assert_serves(&a).await;
    assert_serves(&b).await;
    let e = proxy.try_connect(TESTER, "shop").await.unwrap_err();
    assert_eq!(
        sqlstate(&e),
        ("53300".into(), "sorry, too many clients already".into())
    );

    // The sixth stranger fills the slots for connections waiting to log
    // in; the seventh is refused before it can send anything more.
    strangers.push(waiting_to_authenticate(&proxy, "nobody").await);
    let mut over = RawConn::connect(proxy.addr).await;
    over.startup(&[("user", "nobody"), ("database", "shop")])
        .await;
    let e: ErrorInfo = over.expect_fatal().await;
    assert_eq!(e.code, "53300", "{e:?}");
    assert_eq!(e.message, "sorry, too many clients waiting to log in");

    // The sessions opened before are untouched.
    assert_serves(&a).await;
    assert_serves(&b).await;

    // Once strangers leave, their slots are free again: a session slot is
    // freed too, and an agent logs in. (The server notices the closed
    // sockets asynchronously: retry, each refusal being the clear one.)
    drop(strangers);
    drop(b);
    let mut attempts = 0;
    let c = loop {
        match proxy.try_connect(TESTER, "shop").await {
            Ok(c) => break c,
            Err(e) => {
                let (code, _) = sqlstate(&e);
                assert_eq!(code, "53300", "{e:?}");
                attempts += 1;
                assert!(attempts < 200, "no slot freed after the strangers left");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_serves(&c).await;
    assert_serves(&a).await;
}
