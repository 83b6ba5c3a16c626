//! Hostile and broken clients against a real PostgreSQL: every bad input
//! gets a precise ErrorResponse, a FATAL one closes only the offending
//! connection, nothing smuggled reaches the server, no upstream session is
//! opened for a refused login, and a healthy client opened beforehand keeps
//! working throughout.

mod common;

use common::raw::{self, RawConn};
use common::{ANALYTICS, Proxy, SUPPORT_BOT, TESTER};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// Tests that count upstream sessions take this exclusively; every other
/// test holds it shared, so no test opens upstream sessions while a count
/// is being compared. (Sessions of finished tests may still be closing;
/// they can only disappear, which the comparisons allow for.)
static UPSTREAM_COUNT: RwLock<()> = RwLock::const_new(());

/// Bound for the polling loops (upstream clean-up, smuggled statements).
const SETTLE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// A tokio-postgres session through actgate, opened before the bad client.
async fn healthy(proxy: &Proxy) -> tokio_postgres::Client {
    let client = proxy.connect(TESTER).await;
    assert_healthy(&client).await;
    client
}

async fn assert_healthy(client: &tokio_postgres::Client) {
    let row = client
        .query_one("SELECT 1", &[])
        .await
        .expect("the healthy client must keep working");
    assert_eq!(row.get::<_, i32>(0), 1);
}

/// Logs in raw as the broad test agent with a recognisable
/// application_name, which actgate passes through to the upstream session.
async fn raw_login(proxy: &Proxy, application_name: &str) -> RawConn {
    RawConn::login_with(
        proxy.addr,
        TESTER,
        &[("database", "shop"), ("application_name", application_name)],
    )
    .await
}

/// Sends `bytes` after login and expects FATAL 08P01 with exactly
/// `message`, then the end of the connection.
async fn assert_protocol_violation(proxy: &Proxy, bytes: &[u8], message: &str) {
    let mut bad = raw_login(proxy, "bad-input-violation").await;
    bad.send(bytes).await;
    let e = bad.expect_fatal().await;
    assert_eq!(e.code, "08P01", "{e:?}");
    assert_eq!(e.message, message, "{e:?}");
}

/// Upstream backends of actgate's role.
async fn upstream_pids(admin: &tokio_postgres::Client) -> BTreeSet<i32> {
    admin
        .query(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1",
            &[&actgate::demo::UPSTREAM_ROLE],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Upstream backends whose application_name is `name`.
async fn sessions_named(admin: &tokio_postgres::Client, name: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

/// Polls until no upstream session is named `name`, failing after SETTLE.
async fn wait_until_gone(admin: &tokio_postgres::Client, name: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let n = sessions_named(admin, name).await;
        if n == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{n} upstream session(s) named {name:?} still open after {SETTLE:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Snapshot of upstream sessions to prove a refused login opened none.
struct UpstreamSnapshot {
    count: i64,
    pids: BTreeSet<i32>,
}

impl UpstreamSnapshot {
    async fn take(admin: &tokio_postgres::Client) -> Self {
        UpstreamSnapshot {
            count: common::upstream_sessions(admin).await,
            pids: upstream_pids(admin).await,
        }
    }

    /// No upstream backend appeared since the snapshot. (Backends of tests
    /// that finished earlier may have exited meanwhile.)
    async fn assert_none_opened(&self, admin: &tokio_postgres::Client, what: &str) {
        let count = common::upstream_sessions(admin).await;
        let pids = upstream_pids(admin).await;
        let new: Vec<_> = pids.difference(&self.pids).collect();
        assert!(
            new.is_empty(),
            "{what}: upstream session(s) {new:?} were opened (count {} -> {count})",
            self.count
        );
        assert!(
            count <= self.count,
            "{what}: upstream sessions {} -> {count}",
            self.count
        );
    }
}

// 1. Garbage instead of a startup packet.
#[tokio::test]
async fn http_request_instead_of_startup_packet_is_fatal() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    let mut bad = RawConn::connect(proxy.addr).await;
    bad.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    let e = bad.expect_fatal().await;
    assert_eq!(e.code, "08P01", "{e:?}");
    // "GET " read as a big-endian length.
    assert_eq!(
        e.message,
        format!(
            "invalid length of startup packet: {}",
            u32::from_be_bytes(*b"GET ")
        )
    );

    assert_healthy(&client).await;
}

// 2. A declared length of 2^31 (and the largest u32) after login.
#[tokio::test]
async fn absurd_message_length_is_fatal_without_waiting_for_the_body() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    for length in [0x8000_0000u32, u32::MAX] {
        // Only the five header bytes are sent: the refusal must come from
        // the header alone, before any body is read or buffer reserved.
        let mut header = vec![b'Q'];
        header.extend_from_slice(&length.to_be_bytes());
        assert_protocol_violation(
            &proxy,
            &header,
            &format!("invalid message length {length} for message type 'Q'"),
        )
        .await;
        assert_healthy(&client).await;
    }
}

// 3. A frame whose declared body is shorter than its own structure.
#[tokio::test]
async fn truncated_parse_is_fatal() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    // Parse: unnamed statement, two parameters announced, one type OID sent.
    let mut body = Vec::new();
    body.extend_from_slice(b"\0SELECT $1::int4 + $2::int4\0");
    body.extend_from_slice(&2i16.to_be_bytes());
    body.extend_from_slice(&23u32.to_be_bytes());
    let mut bytes = raw::message(b'P', &body);
    bytes.extend_from_slice(&raw::message(b'S', b""));
    assert_protocol_violation(&proxy, &bytes, "malformed Parse message: truncated body").await;

    assert_healthy(&client).await;
}

// 4. A second Query smuggled inside the frame of a first one.
#[tokio::test]
async fn query_with_trailing_bytes_is_fatal_and_the_smuggled_statement_never_runs() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;
    let admin = common::connect_direct().await;

    // Control: the agent may create tables, so the smuggled statement would
    // take effect if it ever reached the server.
    client
        .batch_execute("CREATE TABLE bad_input_control (id int); DROP TABLE bad_input_control")
        .await
        .expect("the test agent can create tables");

    let app = "bad-input-smuggler";
    let mut bad = raw_login(&proxy, app).await;
    let mut body = b"SELECT 1\0".to_vec();
    body.extend_from_slice(&raw::query("CREATE TABLE smuggled_by_bad_input (id int)"));
    bad.send(&raw::message(b'Q', &body)).await;
    let e = bad.expect_fatal().await;
    assert_eq!(e.code, "08P01", "{e:?}");
    assert_eq!(
        e.message,
        "malformed Query message: trailing bytes after message body"
    );

    // Once the upstream session is gone, nothing it was sent can still run.
    wait_until_gone(&admin, app).await;
    let exists: bool = admin
        .query_one(
            "SELECT to_regclass('public.smuggled_by_bad_input') IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "the smuggled CREATE TABLE ran");

    assert_healthy(&client).await;
}

// 5. A message type that does not exist.
#[tokio::test]
async fn unknown_message_type_is_fatal() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    assert_protocol_violation(
        &proxy,
        &raw::message(b'!', b""),
        "unexpected message type '!' (0x21)",
    )
    .await;

    assert_healthy(&client).await;
}

// 5b. A password message after login is not forwarded: the session ends
// as PostgreSQL would end it.
#[tokio::test]
async fn a_password_message_after_login_is_fatal() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    assert_protocol_violation(
        &proxy,
        &raw::message(b'p', b"SELECT 1\0"),
        "unexpected message type 'p' (0x70)",
    )
    .await;

    assert_healthy(&client).await;
}

// 6. The fast-path FunctionCall is refused as an ordinary error.
#[tokio::test]
async fn function_call_is_an_error_and_the_session_stays_usable() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    let mut conn = raw_login(&proxy, "bad-input-fastpath").await;
    // FunctionCall: oid 1, no argument formats, no arguments, text result.
    let mut body = Vec::new();
    body.extend_from_slice(&1u32.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    conn.send(&raw::message(b'F', &body)).await;
    let reply = conn.until_ready().await;
    let tags: Vec<u8> = reply.iter().map(|m| m.tag).collect();
    assert_eq!(tags, b"EZ", "{reply:?}");
    let e = reply[0].error().unwrap();
    assert_eq!(e.severity, "ERROR", "{e:?}");
    assert_eq!(e.code, "42501", "{e:?}");
    assert_eq!(
        e.message,
        "the fast-path FunctionCall message is not allowed through actgate"
    );
    assert_eq!(
        &reply[1].body[..],
        b"I",
        "still idle, not in a failed state"
    );

    let reply = conn.simple_query("SELECT 41 + 1").await;
    assert_eq!(raw::rows(&reply), vec![vec![Some("42".to_owned())]]);

    assert_healthy(&client).await;
}

// 7. Replication connections are refused before authentication.
#[tokio::test]
async fn replication_startup_is_refused_without_an_upstream_session() {
    let _exclusive = UPSTREAM_COUNT.write().await;
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = healthy(&proxy).await;
    let before = UpstreamSnapshot::take(&admin).await;

    let mut bad = RawConn::connect(proxy.addr).await;
    bad.startup(&[
        ("user", SUPPORT_BOT.0),
        ("database", "shop"),
        ("replication", "database"),
    ])
    .await;
    let e = bad.expect_fatal().await;
    assert_eq!(e.code, "42501", "{e:?}");
    assert_eq!(
        e.message,
        "replication connections are not allowed through actgate"
    );

    before
        .assert_none_opened(&admin, "replication startup")
        .await;
    assert_healthy(&client).await;
}

// 8. A startup packet longer than PostgreSQL's own limit.
#[tokio::test]
async fn oversized_startup_packet_is_fatal_before_it_is_read() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;

    let mut bad = RawConn::connect(proxy.addr).await;
    // Length word and protocol version only: the refusal must not wait for
    // the 20000 bytes announced.
    let mut header = 20_000u32.to_be_bytes().to_vec();
    header.extend_from_slice(&(3u32 << 16).to_be_bytes());
    bad.send(&header).await;
    let e = bad.expect_fatal().await;
    assert_eq!(e.code, "08P01", "{e:?}");
    assert_eq!(e.message, "invalid length of startup packet: 20000");

    assert_healthy(&client).await;
}

// 9. A client that vanishes in the middle of a long query.
#[tokio::test]
async fn client_disconnect_mid_query_ends_the_upstream_session() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start().await;
    let client = healthy(&proxy).await;
    let admin = common::connect_direct().await;

    let app = "bad-input-vanisher";
    let mut conn = raw_login(&proxy, app).await;
    conn.send(&raw::query("SELECT pg_sleep(30)")).await;
    let deadline = Instant::now() + SETTLE;
    loop {
        let running: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND state = 'active' \
                 AND query = 'SELECT pg_sleep(30)'",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        if running == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the query never started upstream"
        );
        tokio::time::sleep(POLL).await;
    }

    drop(conn);
    wait_until_gone(&admin, app).await;

    assert_healthy(&client).await;
}

// 10. Refused logins: wrong secret, unknown agent, forbidden database.
#[tokio::test]
async fn refused_logins_are_indistinguishable_and_open_no_upstream_session() {
    let _exclusive = UPSTREAM_COUNT.write().await;
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let client = healthy(&proxy).await;
    let before = UpstreamSnapshot::take(&admin).await;

    let refusal = |agent: (&'static str, &'static str), database: &'static str| {
        let proxy = &proxy;
        async move {
            let e = proxy
                .try_connect(agent, database)
                .await
                .err()
                .unwrap_or_else(|| panic!("{agent:?} logged in to {database}"));
            let db = e
                .as_db_error()
                .unwrap_or_else(|| panic!("not a server error: {e:?}"))
                .clone();
            assert_eq!(db.severity(), "FATAL", "{db:?}");
            db
        }
    };

    let wrong = refusal((SUPPORT_BOT.0, "not-the-secret"), "shop").await;
    assert_eq!(wrong.code().code(), "28P01", "{wrong:?}");
    assert_eq!(
        wrong.message(),
        "password authentication failed for user \"support-desk\""
    );

    // An agent with another agent's secret fails the same way.
    let swapped = refusal((ANALYTICS.0, SUPPORT_BOT.1), "shop").await;
    assert_eq!(swapped.code().code(), "28P01", "{swapped:?}");
    assert_eq!(
        swapped.message(),
        "password authentication failed for user \"analytics\""
    );

    let unknown = refusal(("no-such-agent", "whatever"), "shop").await;
    assert_eq!(unknown.code().code(), "28P01", "{unknown:?}");
    assert_eq!(
        unknown.message(),
        "password authentication failed for user \"no-such-agent\""
    );
    // Nothing else tells an unknown agent from a wrong secret.
    assert_eq!(
        (unknown.detail(), unknown.hint()),
        (wrong.detail(), wrong.hint())
    );

    let forbidden = refusal(SUPPORT_BOT, "postgres").await;
    assert_eq!(forbidden.code().code(), "3D000", "{forbidden:?}");
    assert_eq!(forbidden.message(), "database \"postgres\" does not exist");

    before.assert_none_opened(&admin, "refused logins").await;
    assert_healthy(&client).await;
}

// 10b. The same refusals against an upstream that records every dial: none
// may even connect. A successful login is the control that it would notice.
#[tokio::test]
async fn refused_logins_never_dial_upstream() {
    let _shared = UPSTREAM_COUNT.read().await;
    let tripwire = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    tripwire.set_nonblocking(true).unwrap();
    let mut config = common::config("");
    config.upstream.port = tripwire.local_addr().unwrap().port();
    let proxy = Proxy::start_offline(config).await;
    let dialed = || match tripwire.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(e) => panic!("tripwire accept: {e}"),
    };

    for (agent, database, code) in [
        ((SUPPORT_BOT.0, "not-the-secret"), "shop", "28P01"),
        (("no-such-agent", "whatever"), "shop", "28P01"),
        (SUPPORT_BOT, "postgres", "3D000"),
    ] {
        let e = proxy.try_connect(agent, database).await.err().unwrap();
        let db = e.as_db_error().unwrap();
        assert_eq!(db.code().code(), code, "{db:?}");
        assert!(!dialed(), "{agent:?} to {database} dialed upstream");
    }

    let mut bad = RawConn::connect(proxy.addr).await;
    bad.startup(&[("user", SUPPORT_BOT.0), ("replication", "true")])
        .await;
    assert_eq!(bad.expect_fatal().await.code, "42501");
    assert!(!dialed(), "replication startup dialed upstream");

    // Control: a good login does dial. The tripwire then hangs up, which
    // the agent must hear about as FATAL 08006.
    let login = tokio::spawn({
        let url = proxy.url(SUPPORT_BOT, "shop");
        async move { tokio_postgres::connect(&url, tokio_postgres::NoTls).await }
    });
    let deadline = Instant::now() + SETTLE;
    while !dialed() {
        assert!(Instant::now() < deadline, "a good login never dialed");
        tokio::time::sleep(POLL).await;
    }
    let e = tokio::time::timeout(SETTLE, login)
        .await
        .expect("login hung after upstream hung up")
        .unwrap()
        .err()
        .expect("login succeeded without an upstream");
    assert_eq!(e.as_db_error().unwrap().code().code(), "08006", "{e:?}");
}

// 11. Upstream down: a prompt, clear FATAL, and the proxy keeps serving.
#[tokio::test]
async fn upstream_down_is_a_prompt_fatal_08006() {
    let _shared = UPSTREAM_COUNT.read().await;
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = common::config("");
    config.upstream.port = closed_port;
    let proxy = Proxy::start_offline(config).await;

    for attempt in 1..=2 {
        let result = tokio::time::timeout(
            Duration::from_secs(15),
            proxy.try_connect(SUPPORT_BOT, "shop"),
        )
        .await
        .unwrap_or_else(|_| panic!("login attempt {attempt} hung with the upstream down"));
        let e = result.expect_err("login succeeded with the upstream down");
        let db = e
            .as_db_error()
            .unwrap_or_else(|| panic!("not a server error: {e:?}"));
        assert_eq!(db.severity(), "FATAL", "{db:?}");
        assert_eq!(db.code().code(), "08006", "{db:?}");
        assert_eq!(
            db.message(),
            "actgate could not connect to the upstream database"
        );
        let detail = db.detail().unwrap_or_default();
        assert!(
            detail.contains(&format!("127.0.0.1:{closed_port}")),
            "the detail names the upstream address: {db:?}"
        );
    }
}

// 11b. An upstream that accepts the connection and then says nothing: the
// whole upstream handshake is bounded, so the agent still gets a prompt,
// clear FATAL instead of hanging.
#[tokio::test]
async fn silent_upstream_is_a_bounded_fatal_08006() {
    let _shared = UPSTREAM_COUNT.read().await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let (accepted_tx, mut accepted_rx) = tokio::sync::mpsc::unbounded_channel();
    // Accepts and holds every socket open without writing a byte; dropped
    // (closing them) only when the test ends.
    let _holder = AbortOnDrop(tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = silent.accept().await.expect("silent upstream accept");
            held.push(socket);
            let _ = accepted_tx.send(());
        }
    }));

    let mut config = common::config("startup_timeout_ms = 1000");
    config.upstream.port = silent_port;
    config.upstream.connect_timeout = Duration::from_millis(500);
    let proxy = Proxy::start_offline(config).await;

    let result = tokio::time::timeout(Duration::from_secs(15), proxy.try_connect(TESTER, "shop"))
        .await
        .unwrap_or_else(|_| panic!("login hung for 15 s against a silent upstream"));
    let e = result.expect_err("login succeeded against a silent upstream");
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e:?}"));
    assert_eq!(db.severity(), "FATAL", "{db:?}");
    assert_eq!(db.code().code(), "08006", "{db:?}");
    assert_eq!(
        db.message(),
        "actgate could not connect to the upstream database"
    );
    let detail = db.detail().unwrap_or_default();
    assert!(
        detail.contains(&format!("127.0.0.1:{silent_port}")),
        "the detail names the upstream address: {db:?}"
    );
    // Control: the FATAL came from the silent upstream timing out, not
    // from a refused connection.
    assert!(
        accepted_rx.try_recv().is_ok(),
        "actgate never connected to the silent upstream"
    );
}

/// Aborts a spawned task when dropped, so it cannot outlive its test.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A Query message of exactly `length` bytes on the wire after the tag
/// (the value of its length word) that returns `length`.
fn query_of_length(length: usize) -> Vec<u8> {
    let mut sql = format!("SELECT {length} AS length -- ");
    // length word (4) + SQL text + NUL terminator
    let pad = length - 4 - 1 - sql.len();
    sql.extend(std::iter::repeat_n('x', pad));
    let q = raw::query(&sql);
    assert_eq!(q.len(), length + 1);
    q
}

// 12. Statements over max_message_bytes are ordinary errors.
#[tokio::test]
async fn query_over_max_message_bytes_is_an_error_and_the_session_stays_usable() {
    let _shared = UPSTREAM_COUNT.read().await;
    let proxy = Proxy::start_with(common::config("max_message_bytes = 4096")).await;
    let client = healthy(&proxy).await;
    let mut conn = raw_login(&proxy, "bad-input-oversized").await;

    // At the limit: runs.
    conn.send(&query_of_length(4096)).await;
    let reply = conn.until_ready().await;
    assert_eq!(raw::rows(&reply), vec![vec![Some("4096".to_owned())]]);

    // One byte over: ERROR 54000, the session stays idle and usable. The
    // next Query is pipelined in the same write, right behind the
    // discarded body.
    let mut bytes = query_of_length(4097);
    bytes.extend_from_slice(&raw::query("SELECT 'after'"));
    conn.send(&bytes).await;
    let reply = conn.until_ready().await;
    let tags: Vec<u8> = reply.iter().map(|m| m.tag).collect();
    assert_eq!(tags, b"EZ", "{reply:?}");
    let e = reply[0].error().unwrap();
    assert_eq!(e.severity, "ERROR", "{e:?}");
    assert_eq!(e.code, "54000", "{e:?}");
    assert_eq!(
        e.message,
        "statement message of 4097 bytes exceeds actgate's limit of 4096 bytes"
    );
    assert_eq!(&reply[1].body[..], b"I");
    let reply = conn.until_ready().await;
    assert_eq!(raw::rows(&reply), vec![vec![Some("after".to_owned())]]);

    // Far over (several reads' worth of body to skip): the same.
    conn.send(&query_of_length(300_000)).await;
    let e = conn.recv_error().await;
    assert_eq!((e.severity.as_str(), e.code.as_str()), ("ERROR", "54000"));
    assert_eq!(
        e.message,
        "statement message of 300000 bytes exceeds actgate's limit of 4096 bytes"
    );
    let rest = conn.until_ready().await;
    assert_eq!(rest.len(), 1, "{rest:?}");
    let reply = conn.simple_query("SELECT 'still usable'").await;
    assert_eq!(
        raw::rows(&reply),
        vec![vec![Some("still usable".to_owned())]]
    );

    // The same through tokio-postgres.
    let err = client
        .simple_query(&"SELECT 1 -- ".repeat(400))
        .await
        .expect_err("an oversized statement must be refused");
    let db = err.as_db_error().unwrap();
    assert_eq!((db.severity(), db.code().code()), ("ERROR", "54000"));
    assert_healthy(&client).await;
}
