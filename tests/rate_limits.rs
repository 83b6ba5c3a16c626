//! Rate limits (`[[rate_limits]]`) and time windows (`active_hours`) end to
//! end through actgate, driven by a manual clock. Windows open and close
//! for statements as they run, prepared or not; calendar budgets per end user reset at midnight in the
//! configured time zone, rolling budgets per agent free one slot at a time,
//! and a used-up budget is an ordinary 42501 error that leaves the session
//! usable (and fails an open transaction as Postgres would).

mod common;

use actgate::controls::ManualClock;
use common::Proxy;
use common::raw::{self, RawConn};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

async fn budgeted(proxy: &Proxy, subject: &str) -> tokio_postgres::Client {
    let (token, _) = common::mint("budgeted", subject, &[], Duration::from_secs(600));
    let url = actgate::token::connection_string(
        "budgeted",
        &token,
        "127.0.0.1",
        proxy.addr.port(),
        "shop",
    );
    let (client, conn) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect as budgeted: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// The reason code and hint of a denial.
fn denial(e: &tokio_postgres::Error) -> (String, String) {
    let reason = common::denial_reason(e);
    let hint = e.as_db_error().and_then(|db| db.hint()).unwrap_or_default();
    (reason, hint.to_owned())
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

async fn start(clock: &Arc<ManualClock>) -> Proxy {
    let config = common::config_with("", "\n[controls]\ntime_zone = \"Europe/Berlin\"\n");
    let proxy = Proxy::start_with(config).await;
    proxy.gateway.set_clock(clock.clone());
    proxy
}

const INSERT: &str =
    "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1, $2, $3, $4)";

/// An order and a staff user a refund may name.
async fn refund_target(admin: &tokio_postgres::Client) -> (i64, String) {
    let row = admin
        .query_one(
            "SELECT (SELECT min(id) FROM orders), (SELECT min(username) FROM staff_users)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn refund(
    client: &impl tokio_postgres::GenericClient,
    (order, staff): &(i64, String),
    tag: &str,
) -> Result<u64, tokio_postgres::Error> {
    client.execute(INSERT, &[order, &100i32, &tag, staff]).await
}

async fn count_refunds(admin: &tokio_postgres::Client, tag: &str) -> i64 {
    admin
        .query_one("SELECT count(*) FROM refunds WHERE reason = $1", &[&tag])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_calendar_budget_per_end_user_resets_at_local_midnight() {
    // 22:00 in Berlin.
    let clock = Arc::new(ManualClock::new(at("2026-11-25T21:00:00Z")));
    let proxy = start(&clock).await;
    let admin = common::connect_direct().await;
    let target = refund_target(&admin).await;
    let tag = "rate-limit-test-calendar";

    let alice = budgeted(&proxy, "customer-1").await;
    let bob = budgeted(&proxy, "customer-2").await;
    assert_eq!(refund(&alice, &target, tag).await.unwrap(), 1);
    assert_eq!(refund(&alice, &target, tag).await.unwrap(), 1);
    clock.set(at("2026-11-25T22:59:59Z"));
    let e = refund(&alice, &target, tag).await.unwrap_err();
    let (reason, hint) = denial(&e);
    assert_eq!(reason, "rate_limited");
    assert!(
        hint.contains("2026-11-25T23:00:00Z") && hint.contains("in 1 s"),
        "{hint}"
    );
    assert!(
        e.as_db_error()
            .unwrap()
            .message()
            .contains("2/calendar-day"),
        "{e:?}"
    );
    // The denied refund never reached the database.
    assert_eq!(count_refunds(&admin, tag).await, 2);
    // Another end user of the same agent has a budget of their own, and the
    // denied session is still usable.
    assert_eq!(refund(&bob, &target, tag).await.unwrap(), 1);
    let n: i64 = alice
        .query_one("SELECT count(*) FROM products", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n > 0);

    // Midnight in Berlin: the whole budget is back.
    clock.set(at("2026-11-25T23:00:00Z"));
    assert_eq!(refund(&alice, &target, tag).await.unwrap(), 1);
    assert_eq!(refund(&alice, &target, tag).await.unwrap(), 1);
    let (reason, _) = denial(&refund(&alice, &target, tag).await.unwrap_err());
    assert_eq!(reason, "rate_limited");
    assert_eq!(count_refunds(&admin, tag).await, 5);

    admin
        .execute("DELETE FROM refunds WHERE reason = $1", &[&tag])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_used_up_budget_fails_an_open_transaction() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = start(&clock).await;
    let admin = common::connect_direct().await;
    let target = refund_target(&admin).await;
    let tag = "rate-limit-test-transaction";
    let mut carol = budgeted(&proxy, "customer-3").await;

    let tx = carol.transaction().await.unwrap();
    assert_eq!(refund(&tx, &target, tag).await.unwrap(), 1);
    assert_eq!(refund(&tx, &target, tag).await.unwrap(), 1);
    let (reason, _) = denial(&refund(&tx, &target, tag).await.unwrap_err());
    assert_eq!(reason, "rate_limited");
    let e = tx.query_one("SELECT 1", &[]).await.unwrap_err();
    assert_eq!(
        e.as_db_error().map(|d| d.code().code()),
        Some("25P02"),
        "{e:?}"
    );
    tx.rollback().await.unwrap();
    assert_eq!(count_refunds(&admin, tag).await, 0);
    // Rolled back refunds were still counted: budgets count statements
    // actgate let through, not commits.
    let (reason, _) = denial(&refund(&carol, &target, tag).await.unwrap_err());
    assert_eq!(reason, "rate_limited");
}

#[tokio::test]
async fn a_rolling_budget_per_agent_frees_one_slot_at_a_time() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = start(&clock).await;
    let first = budgeted(&proxy, "customer-1").await;
    let second = budgeted(&proxy, "customer-2").await;
    let read = "SELECT id FROM products ORDER BY id LIMIT 1";

    // Statements on other tables do not count.
    first.simple_query("SELECT 1").await.unwrap();
    first.simple_query(read).await.unwrap();
    clock.advance(Duration::from_secs(20));
    first.simple_query(read).await.unwrap();
    // The budget is the agent's: the second session shares it, through
    // the extended protocol too.
    second.query(read, &[]).await.unwrap();
    let e = second.query(read, &[]).await.unwrap_err();
    let (reason, hint) = denial(&e);
    assert_eq!(reason, "rate_limited");
    assert!(hint.contains("in 40 s"), "{hint}");
    let (reason, _) = denial(&first.simple_query(read).await.unwrap_err());
    assert_eq!(reason, "rate_limited");

    // A minute after the first read, exactly one slot is free.
    clock.advance(Duration::from_secs(40));
    first.simple_query(read).await.unwrap();
    let (reason, _) = denial(&first.simple_query(read).await.unwrap_err());
    assert_eq!(reason, "rate_limited");
}

#[tokio::test]
async fn a_pipelined_portal_counts_once_per_execution() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = start(&clock).await;
    let client = budgeted(&proxy, "customer-1").await;
    let statement = client
        .prepare("SELECT id FROM products ORDER BY id LIMIT 1")
        .await
        .unwrap();
    // Three executions of one prepared statement, pipelined.
    let (a, b, c) = tokio::join!(
        client.query(&statement, &[]),
        client.query(&statement, &[]),
        client.query(&statement, &[]),
    );
    for r in [a, b, c] {
        assert_eq!(r.unwrap().len(), 1);
    }
    let (reason, _) = denial(&client.query(&statement, &[]).await.unwrap_err());
    assert_eq!(reason, "rate_limited");
}

#[tokio::test]
async fn sql_execute_of_a_protocol_prepared_statement_counts() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = start(&clock).await;
    let (token, _) = common::mint("budgeted", "customer-1", &[], Duration::from_secs(600));
    let mut conn = RawConn::login(proxy.addr, ("budgeted", &token), "shop").await;
    let mut parse = b"reads\0SELECT id FROM products ORDER BY id LIMIT 1\0".to_vec();
    parse.extend_from_slice(&0i16.to_be_bytes());
    let mut bytes = raw::message(b'P', &parse);
    bytes.extend_from_slice(&raw::message(b'S', b""));
    conn.send(&bytes).await;
    let answer = conn.until_ready().await;
    assert!(answer.iter().all(|m| m.error().is_none()), "{answer:?}");
    // Parsing alone counts nothing; each EXECUTE counts once.
    for _ in 0..3 {
        let answer = conn.simple_query("EXECUTE reads").await;
        assert_eq!(raw::rows(&answer).len(), 1, "{answer:?}");
    }
    let answer = conn.simple_query("EXECUTE reads").await;
    let error = answer
        .iter()
        .find_map(|m| m.error())
        .unwrap_or_else(|| panic!("a fourth EXECUTE was let through: {answer:?}"));
    assert_eq!(error.code, "42501");
    assert!(
        error
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("reason: rate_limited"),
        "{error:?}"
    );
}

#[tokio::test]
async fn sql_prepare_of_a_budgeted_statement_is_refused() {
    let clock = Arc::new(ManualClock::new(at("2026-11-25T10:00:00Z")));
    let proxy = start(&clock).await;
    let client = budgeted(&proxy, "customer-1").await;
    let e = client
        .simple_query("PREPARE p AS SELECT id FROM products")
        .await
        .unwrap_err();
    let (reason, _) = denial(&e);
    assert_eq!(reason, "runtime_control_prepare");
    // A statement under no budget may still be prepared and executed.
    client
        .simple_query("PREPARE q AS SELECT 1; EXECUTE q")
        .await
        .unwrap();
}

#[test]
fn bad_rate_limits_are_rejected_with_file_and_line() {
    let cases = [
        ("budget = \"5/fortnight\"", "unknown unit \"fortnight\""),
        ("budget = \"0/day\"", "between 1 and"),
        (
            "budget = \"5/day\"\nper = \"tenant\"",
            "expected \"agent\" or \"subject\"",
        ),
        (
            "budget = \"5/day\"\noperations = [\"upsert\"]",
            "unknown operation \"upsert\"",
        ),
        (
            "budget = \"5/day\"\nwindow = \"rolling\"",
            "unknown field `window`",
        ),
    ];
    for (entry, expected) in cases {
        let e = common::rules_error(&format!("[[rate_limits]]\n{entry}"));
        assert!(e.contains(expected), "{entry}: {e}");
        assert!(e.contains("x.toml:"), "{entry}: {e}");
    }
}

#[tokio::test]
async fn a_time_window_opens_and_closes_for_the_statements_it_covers() {
    // Wednesday 08:59 in Berlin.
    let clock = Arc::new(ManualClock::new(at("2026-11-25T07:59:00Z")));
    let proxy = start(&clock).await;
    let client = budgeted(&proxy, "customer-1").await;
    let items = "SELECT count(*) FROM order_items";

    let e = client.simple_query(items).await.unwrap_err();
    let (reason, hint) = denial(&e);
    assert_eq!(reason, "outside_time_window");
    assert!(
        hint.contains("opens again at 2026-11-25T08:00:00Z"),
        "{hint}"
    );
    assert!(
        e.as_db_error()
            .unwrap()
            .message()
            .contains("Mon-Fri 09:00-17:00 (Europe/Berlin)"),
        "{e:?}"
    );

    // 09:00: open, for simple and prepared statements alike.
    clock.advance(Duration::from_secs(60));
    client.simple_query(items).await.unwrap();
    let prepared = client.prepare(items).await.unwrap();
    client.query_one(&prepared, &[]).await.unwrap();

    // 17:00: closed again, also for the statement prepared while open.
    clock.set(at("2026-11-25T16:00:00Z"));
    let (reason, hint) = denial(&client.query_one(&prepared, &[]).await.unwrap_err());
    assert_eq!(reason, "outside_time_window");
    assert!(
        hint.contains("opens again at 2026-11-26T08:00:00Z"),
        "{hint}"
    );
    let (reason, _) = denial(&client.simple_query(items).await.unwrap_err());
    assert_eq!(reason, "outside_time_window");
    // Tables without a window are not affected.
    client
        .simple_query("SELECT count(*) FROM refunds")
        .await
        .unwrap();

    // Saturday: closed until Monday 09:00.
    clock.set(at("2026-11-28T11:00:00Z"));
    let (_, hint) = denial(&client.simple_query(items).await.unwrap_err());
    assert!(
        hint.contains("opens again at 2026-11-30T08:00:00Z"),
        "{hint}"
    );
}

#[test]
fn bad_time_windows_are_rejected_with_file_and_line() {
    let cases = [
        (
            "[policy]\nactive_hours = \"Mon-Fri 9-17\"",
            "is not a time of day",
        ),
        (
            "[policy]\nactive_hours = \"Weekdays 09:00-17:00\"",
            "unknown day",
        ),
        (
            "[policy]\ntime_zone = \"Europe/Berlinn\"\nactive_hours = \"Mon 09:00-10:00\"",
            "not a known IANA time zone",
        ),
        (
            "[tables.orders]\noperations = [\"select\"]\nactive_hours = \"Mon 10:00-10:00\"",
            "tables.orders.active_hours",
        ),
    ];
    for (entry, expected) in cases {
        let e = common::rules_error(entry);
        assert!(e.contains(expected), "{entry}: {e}");
        assert!(e.contains("x.toml:"), "{entry}: {e}");
    }
}
