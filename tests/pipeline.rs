//! The relay follows PostgreSQL's reply rule exactly: after an
//! ErrorResponse in the extended protocol, whoever raised it, the server
//! ignores every message (a simple Query included) until Sync.
//!
//! Each test sends the same messages through actgate and straight to
//! PostgreSQL and compares what comes back, message type by message type
//! (with the ReadyForQuery transaction status). A statement actgate refuses
//! is sent to PostgreSQL as one that fails at the same point, so the
//! streams must be identical. The property test does this for random
//! pipelines, and checks the model of the reply rule
//! (`actgate::protocol::pipeline::Batch`) against the real server.

mod common;

use actgate::protocol::pipeline::{Batch, Fate};
use common::Proxy;
use common::raw::{Message, RawConn, message, query};
use std::net::SocketAddr;

/// tests/rules/pipeline.toml: row limit 5 (error mode), write cap 3 on orders.
const PIPELINE: (&str, &str) = ("pipeline", "pipeline-secret");

/// What an unnamed statement does, through actgate and straight to
/// PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sql {
    /// Three rows.
    Rows,
    /// More rows than the limit: through actgate five rows then an error;
    /// straight, five rows then a division by zero.
    OverLimit,
    /// Fails in the server when executed.
    ExecError,
    /// Fails in the server when parsed.
    ParseError,
    /// Refused by actgate (straight: a syntax error).
    Denied,
    /// An UPDATE within the write cap.
    CappedOk,
    /// An UPDATE over the write cap (straight: fails when executed).
    CappedOver,
    /// Transaction control (sent as a simple Query only).
    Begin,
    Commit,
}

impl Sql {
    const ALL: [Sql; 7] = [
        Sql::Rows,
        Sql::OverLimit,
        Sql::ExecError,
        Sql::ParseError,
        Sql::Denied,
        Sql::CappedOk,
        Sql::CappedOver,
    ];

    /// (through actgate, straight to PostgreSQL)
    fn text(self) -> (&'static str, &'static str) {
        match self {
            Sql::Rows => (
                "SELECT id FROM orders ORDER BY id LIMIT 3",
                "SELECT id FROM orders ORDER BY id LIMIT 3",
            ),
            Sql::OverLimit => (
                "SELECT id FROM orders ORDER BY id",
                "SELECT CASE WHEN g > 5 THEN g / 0 ELSE g END FROM generate_series(1, 200) AS g",
            ),
            Sql::ExecError => (
                "SELECT id / (id - id) FROM orders",
                "SELECT id / (id - id) FROM orders",
            ),
            Sql::ParseError => (
                "SELECT id FROM orders WHERE id = 'abc'",
                "SELECT id FROM orders WHERE id = 'abc'",
            ),
            Sql::Denied => ("SELECT email FROM customers", "SELECT FROM WHERE"),
            Sql::CappedOk => (
                "UPDATE orders SET status = status WHERE id <= 2",
                "UPDATE orders SET status = status WHERE id <= 2",
            ),
            Sql::CappedOver => (
                "UPDATE orders SET status = status WHERE id <= 10",
                "UPDATE orders SET status = status WHERE id <= 10 AND id / (id - id) = 0",
            ),
            Sql::Begin => ("BEGIN", "BEGIN"),
            Sql::Commit => ("COMMIT", "COMMIT"),
        }
    }

    /// Whether a Parse of it fails (in the server or in actgate).
    fn parse_fails(self) -> bool {
        matches!(self, Sql::ParseError | Sql::Denied)
    }

    /// The answer to executing it: (rows, fails).
    fn result(self) -> (usize, bool) {
        match self {
            Sql::Rows => (3, false),
            Sql::OverLimit => (5, true),
            Sql::ExecError | Sql::CappedOver => (0, true),
            Sql::CappedOk => (0, false),
            Sql::ParseError | Sql::Denied | Sql::Begin | Sql::Commit => {
                unreachable!("never executed")
            }
        }
    }

    /// Whether the result has a RowDescription.
    fn has_rows(self) -> bool {
        matches!(self, Sql::Rows | Sql::OverLimit | Sql::ExecError)
    }
}

/// One message of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Parse(Sql),
    Bind,
    Execute,
    DescribeStatement,
    DescribePortal,
    Close,
    Flush,
    Sync,
    Query(Sql),
}

impl Step {
    fn bytes(self, straight: bool) -> Vec<u8> {
        let pick = |sql: Sql| {
            let (through, direct) = sql.text();
            if straight { direct } else { through }
        };
        match self {
            Step::Parse(sql) => {
                let mut body = vec![0];
                body.extend_from_slice(pick(sql).as_bytes());
                body.extend_from_slice(&[0, 0, 0]);
                message(b'P', &body)
            }
            Step::Bind => message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0]),
            Step::Execute => message(b'E', &[0, 0, 0, 0, 0]),
            Step::DescribeStatement => message(b'D', b"S\0"),
            Step::DescribePortal => message(b'D', b"P\0"),
            Step::Close => message(b'C', b"Sno_such_statement\0"),
            Step::Flush => message(b'H', &[]),
            Step::Sync => message(b'S', &[]),
            Step::Query(sql) => query(pick(sql)),
        }
    }

    fn tag(self) -> u8 {
        match self {
            Step::Parse(_) => b'P',
            Step::Bind => b'B',
            Step::Execute => b'E',
            Step::DescribeStatement | Step::DescribePortal => b'D',
            Step::Close => b'C',
            Step::Flush => b'H',
            Step::Sync => b'S',
            Step::Query(_) => b'Q',
        }
    }
}

/// The end of every pipeline: close it, leave no transaction open, and
/// show that both sides are in step.
fn tail() -> Vec<u8> {
    let mut out = Step::Sync.bytes(false);
    out.extend(query("ROLLBACK"));
    out.extend(query("SELECT 'pipeline end'"));
    out
}

/// A reply stream as comparable text: one entry per message, ReadyForQuery
/// with its status.
fn shape(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m.tag {
            b'Z' => format!("Z{}", m.body[0] as char),
            b'E' => "E".to_owned(),
            t => (t as char).to_string(),
        })
        .collect()
}

/// Sends `steps` (and the tail) and reads every answer up to the tail's
/// last ReadyForQuery.
async fn run(conn: &mut RawConn, steps: &[Step], straight: bool) -> Vec<Message> {
    let mut out: Vec<u8> = steps.iter().flat_map(|s| s.bytes(straight)).collect();
    out.extend(tail());
    conn.send(&out).await;
    let mut replies = Vec::new();
    loop {
        let m = conn
            .recv()
            .await
            .unwrap_or_else(|| panic!("connection closed in the middle of {steps:?}: {replies:?}"));
        let end = m.tag == b'D'
            && m.data_row()
                .is_some_and(|r| r[0].as_deref() == Some("pipeline end"));
        replies.push(m);
        if end {
            replies.extend(conn.until_ready().await);
            return replies;
        }
    }
}

/// What PostgreSQL answers, predicted from the model of its reply rule.
fn predict(steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    let mut batch = Batch::Closed;
    // The batch failed (in the server's eyes) since its last Sync.
    let mut failed = false;
    // The unnamed statement and the unnamed portal, if they exist.
    let mut statement: Option<Sql> = None;
    let mut portal: Option<Sql> = None;
    let mut exhausted = false;
    // The transaction is open (implicitly, by extended messages).
    for &step in steps.iter().chain(&[Step::Sync]) {
        let fate = match batch.fate(step.tag()) {
            Fate::Unknown if failed => {
                batch = batch.failed();
                Fate::Ignored
            }
            Fate::Unknown => {
                batch = batch.answered();
                Fate::Processed
            }
            f => f,
        };
        if fate == Fate::Ignored {
            continue;
        }
        batch = batch.sent(step.tag());
        let mut error = false;
        match step {
            Step::Parse(sql) => {
                statement = None;
                if sql.parse_fails() {
                    error = true;
                } else {
                    statement = Some(sql);
                    out.push("1".to_owned());
                }
            }
            Step::Bind => match statement {
                Some(sql) => {
                    portal = Some(sql);
                    exhausted = false;
                    out.push("2".to_owned());
                }
                None => error = true,
            },
            Step::Execute => match portal {
                // A SELECT portal run to completion has nothing more to
                // give; any other cannot be run again.
                Some(sql) if exhausted && sql.has_rows() => out.push("C".to_owned()),
                Some(_) if exhausted => error = true,
                Some(sql) => {
                    let (rows, fails) = sql.result();
                    out.extend(std::iter::repeat_n("D".to_owned(), rows));
                    if fails {
                        error = true;
                    } else {
                        exhausted = true;
                        out.push("C".to_owned());
                    }
                }
                None => error = true,
            },
            Step::DescribeStatement => match statement {
                Some(sql) => {
                    out.push("t".to_owned());
                    out.push(if sql.has_rows() { "T" } else { "n" }.to_owned());
                }
                None => error = true,
            },
            Step::DescribePortal => match portal {
                Some(sql) => out.push(if sql.has_rows() { "T" } else { "n" }.to_owned()),
                None => error = true,
            },
            Step::Close => out.push("3".to_owned()),
            Step::Flush => {}
            Step::Sync => {
                failed = false;
                // The portal does not outlive the (implicit) transaction.
                portal = None;
                out.push("ZI".to_owned());
            }
            Step::Query(sql) => {
                // A Query drops the unnamed statement and ends the
                // implicit transaction (portals go).
                statement = None;
                portal = None;
                if sql.parse_fails() {
                    out.push("E".to_owned());
                } else {
                    let (rows, fails) = sql.result();
                    if sql.has_rows() {
                        out.push("T".to_owned());
                    }
                    out.extend(std::iter::repeat_n("D".to_owned(), rows));
                    out.push(if fails { "E" } else { "C" }.to_owned());
                }
                out.push("ZI".to_owned());
            }
        }
        if error {
            out.push("E".to_owned());
            if step.tag() != b'Q' {
                failed = true;
                batch = batch.failed();
            }
        }
    }
    out
}

async fn direct() -> RawConn {
    let db = common::database();
    let addr: SocketAddr = format!("{}:{}", db.pg.host(), db.pg.port())
        .parse()
        .expect("server address");
    RawConn::login(
        addr,
        (actgate::demo::UPSTREAM_ROLE, &db.upstream_password),
        "shop",
    )
    .await
}

/// Runs one pipeline both ways and compares; returns the stream.
async fn compare(through: &mut RawConn, straight: &mut RawConn, steps: &[Step]) -> Vec<Message> {
    let expected = run(straight, steps, true).await;
    let got = run(through, steps, false).await;
    assert_eq!(
        shape(&got),
        shape(&expected),
        "through actgate and straight to PostgreSQL differ for {steps:?}"
    );
    got
}

/// A deterministic pseudo-random generator (xorshift), so a failure names
/// the seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn step(&mut self) -> Step {
        let sql = Sql::ALL[self.below(Sql::ALL.len())];
        match self.below(14) {
            12 => return Step::Query(Sql::Begin),
            13 => return Step::Query(Sql::Commit),
            _ => {}
        }
        match self.below(12) {
            0 | 1 => Step::Parse(sql),
            2 | 3 => Step::Bind,
            4 | 5 => Step::Execute,
            6 => Step::DescribeStatement,
            7 => Step::DescribePortal,
            8 => Step::Close,
            9 => Step::Flush,
            10 => Step::Sync,
            _ => Step::Query(sql),
        }
    }
}

#[tokio::test]
async fn a_query_after_a_server_error_is_ignored_as_postgres_ignores_it() {
    let proxy = Proxy::start().await;
    let mut through = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    let mut straight = direct().await;
    // The failing Execute, then a row-limited Query (which PostgreSQL
    // ignores: it is skipping to Sync), then Sync.
    for ignored in [Sql::OverLimit, Sql::CappedOver, Sql::Denied, Sql::Rows] {
        let steps = [
            Step::Parse(Sql::ExecError),
            Step::Bind,
            Step::Execute,
            Step::Query(ignored),
            Step::Sync,
        ];
        let got = compare(&mut through, &mut straight, &steps).await;
        assert_eq!(
            shape(&got[..4]),
            ["1", "2", "E", "ZI"],
            "the Query must go unanswered: {got:?}"
        );
    }
    // The row limit still holds afterwards, and a denial carries its own
    // reason (not a stale one, not the sentinel's syntax error).
    let replies = through
        .simple_query("SELECT id FROM orders ORDER BY id")
        .await;
    assert_eq!(
        replies.iter().filter(|m| m.tag == b'D').count(),
        5,
        "{replies:?}"
    );
    let e = replies
        .iter()
        .find_map(Message::error)
        .expect("row limit error");
    assert!(e.detail.unwrap_or_default().contains("row_limit_exceeded"));
    let replies = through.simple_query("SELECT email FROM customers").await;
    let e = replies.iter().find_map(Message::error).expect("denial");
    assert_eq!(e.code, "42501", "{e:?}");
    assert!(
        e.detail.unwrap_or_default().contains("table_not_allowed"),
        "{replies:?}"
    );
}

#[tokio::test]
async fn an_execute_of_an_unknown_portal_skips_to_sync() {
    let proxy = Proxy::start().await;
    let mut through = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    let mut straight = direct().await;
    let steps = [
        Step::Sync,
        Step::Execute,
        Step::Query(Sql::OverLimit),
        Step::Parse(Sql::Rows),
        Step::Bind,
        Step::Execute,
        Step::Sync,
        Step::Query(Sql::OverLimit),
    ];
    compare(&mut through, &mut straight, &steps).await;
}

/// Every error source followed by every message type (and a second one),
/// with row limits and the write cap on.
#[tokio::test]
async fn every_interleaving_of_an_error_and_the_next_message_matches_postgres() {
    let proxy = Proxy::start().await;
    let mut through = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    let mut straight = direct().await;
    let errors: [&[Step]; 6] = [
        // The server fails an Execute.
        &[Step::Parse(Sql::ExecError), Step::Bind, Step::Execute],
        // The server fails a Parse.
        &[Step::Parse(Sql::ParseError)],
        // actgate refuses a Parse.
        &[Step::Parse(Sql::Denied)],
        // actgate fails an Execute over the row limit.
        &[Step::Parse(Sql::OverLimit), Step::Bind, Step::Execute],
        // actgate fails an Execute over the write cap.
        &[Step::Parse(Sql::CappedOver), Step::Bind, Step::Execute],
        // The server fails a Bind (no statement).
        &[Step::Sync, Step::Bind],
    ];
    let next = [
        Step::Parse(Sql::Rows),
        Step::Bind,
        Step::Execute,
        Step::DescribeStatement,
        Step::DescribePortal,
        Step::Close,
        Step::Flush,
        Step::Sync,
        Step::Query(Sql::Rows),
        Step::Query(Sql::OverLimit),
        Step::Query(Sql::CappedOver),
        Step::Query(Sql::Denied),
    ];
    for error in errors {
        for a in next {
            for b in [Step::Query(Sql::OverLimit), Step::Execute, Step::Sync] {
                let mut steps = error.to_vec();
                steps.extend([a, b]);
                compare(&mut through, &mut straight, &steps).await;
            }
        }
    }
}

/// Random pipelines, both ways, and the model of the reply rule against
/// the real server. Bounded: `ACTGATE_PIPELINE_CASES` pipelines (300 by
/// default) of up to 12 messages.
#[tokio::test]
async fn random_pipelines_match_postgres_and_the_model() {
    let cases: u64 = std::env::var("ACTGATE_PIPELINE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let proxy = Proxy::start().await;
    let mut through = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    let mut straight = direct().await;
    let only: Option<u64> = std::env::var("ACTGATE_PIPELINE_SEED")
        .ok()
        .and_then(|v| v.parse().ok());
    for seed in 1..=cases {
        if only.is_some_and(|o| o != seed) {
            continue;
        }
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let len = 1 + rng.below(12);
        let mut steps: Vec<Step> = (0..len).map(|_| rng.step()).collect();
        // One known difference: an UPDATE that fails while it runs from a
        // simple Query inside a transaction leaves the unnamed portal it
        // ran in (failed) until the transaction ends, so a Describe of
        // portal "" answers NoData; actgate undoes an over-cap UPDATE and
        // fails the transaction without leaving that portal, so the
        // Describe answers 34000. Both are errors-then-skip for every
        // client; only a Describe of a portal nobody bound can tell.
        if steps.contains(&Step::Query(Sql::Begin)) {
            let mut leftover = false;
            for s in &mut steps {
                match *s {
                    Step::Query(Sql::CappedOver) => leftover = true,
                    Step::DescribePortal if leftover => *s = Step::DescribeStatement,
                    _ => {}
                }
            }
        }
        // The model, checked against the server (without the tail's
        // ROLLBACK and end query: NoticeResponse, CommandComplete,
        // ReadyForQuery; RowDescription, DataRow, CommandComplete,
        // ReadyForQuery).
        let expected = run(&mut straight, &steps, true).await;
        let shaped = shape(&expected);
        let body = &shaped[..shaped.len() - 7];
        // (The model knows no explicit transactions.)
        let explicit = steps
            .iter()
            .any(|s| matches!(s, Step::Query(Sql::Begin | Sql::Commit)));
        if !explicit {
            assert_eq!(
                body,
                predict(&steps),
                "seed {seed}: the model of the reply rule disagrees with PostgreSQL for {steps:?}"
            );
        }
        let got = run(&mut through, &steps, false).await;
        assert_eq!(
            shape(&got),
            shaped,
            "seed {seed}: through actgate and straight to PostgreSQL differ for {steps:?}; errors: {:?}",
            got.iter().filter_map(Message::error).collect::<Vec<_>>()
        );
    }
}

/// A Bind with one text parameter.
fn bind_text(value: &str) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0, 0, 1];
    body.extend_from_slice(&(value.len() as i32).to_be_bytes());
    body.extend_from_slice(value.as_bytes());
    body.extend_from_slice(&[0, 0]);
    message(b'B', &body)
}

fn parse_unnamed(sql: &str) -> Vec<u8> {
    let mut body = vec![0];
    body.extend_from_slice(sql.as_bytes());
    body.extend_from_slice(&[0, 0, 0]);
    message(b'P', &body)
}

/// A Parse the server skips (an earlier message of its batch failed) must
/// not replace what actgate holds the statement to: the server keeps the
/// old statement, and its Binds are checked as the old one.
#[tokio::test]
async fn a_parse_the_server_skipped_does_not_replace_the_checks_of_the_statement_it_kept() {
    let proxy = Proxy::start().await;
    let (token, _) = common::mint(
        "order-assistant",
        "user-42",
        &[("customer_id", "42")],
        std::time::Duration::from_secs(600),
    );
    let mut conn = RawConn::login(proxy.addr, ("order-assistant", &token), "shop").await;
    // The statement the server keeps: its $1 is the scoped customer.
    let mut out = parse_unnamed("SELECT id, customer_id FROM orders WHERE customer_id = $1");
    out.extend(Step::Sync.bytes(false));
    conn.send(&out).await;
    assert_eq!(shape(&conn.until_ready().await), ["1", "ZI"]);
    // A batch that fails first (no such portal), then a Parse the server
    // skips: its $1 is an order id, unchecked.
    let mut out = Step::Execute.bytes(false);
    out.extend(parse_unnamed(
        "SELECT id, customer_id FROM orders WHERE customer_id = 42 AND id = $1",
    ));
    out.extend(Step::Sync.bytes(false));
    conn.send(&out).await;
    assert_eq!(shape(&conn.until_ready().await), ["E", "ZI"]);
    // Binding 8 runs the kept statement for customer 8: actgate must refuse.
    let mut out = bind_text("8");
    out.extend(Step::Execute.bytes(false));
    out.extend(Step::Sync.bytes(false));
    conn.send(&out).await;
    let replies = conn.until_ready().await;
    let rows = common::raw::rows(&replies);
    assert!(
        rows.iter().all(|r| r[1].as_deref() == Some("42")),
        "another customer's rows came back: {rows:?}"
    );
    let e = replies
        .iter()
        .find_map(Message::error)
        .unwrap_or_else(|| panic!("the Bind must be refused: {replies:?}"));
    assert_eq!(e.code, "42501", "{e:?}");
    // The kept statement still works for the scoped customer.
    let mut out = bind_text("42");
    out.extend(Step::Execute.bytes(false));
    out.extend(Step::Sync.bytes(false));
    conn.send(&out).await;
    let replies = conn.until_ready().await;
    assert!(!common::raw::rows(&replies).is_empty(), "{replies:?}");
}

/// PostgreSQL ignores Sync in copy-in mode: a Sync sent between an Execute
/// of COPY … FROM STDIN and the copy data gets no ReadyForQuery, unless the
/// copy never started because its batch had failed.
#[tokio::test]
async fn a_sync_during_copy_in_is_ignored_as_postgres_ignores_it() {
    let proxy = Proxy::start().await;
    let mut through = RawConn::login(proxy.addr, common::TESTER, "shop").await;
    let mut straight = direct().await;
    for conn in [&mut through, &mut straight] {
        conn.simple_query("CREATE TABLE IF NOT EXISTS pipeline_copy (id int)")
            .await;
    }
    let copy = |fail_first: bool| {
        let mut out = Vec::new();
        if fail_first {
            out.extend(Step::Execute.bytes(false));
        }
        out.extend(parse_unnamed("COPY pipeline_copy FROM STDIN"));
        out.extend(message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0]));
        out.extend(Step::Execute.bytes(false));
        out.extend(Step::Sync.bytes(false));
        out
    };
    for fail_first in [false, true] {
        let mut replies = Vec::new();
        for conn in [&mut through, &mut straight] {
            conn.send(&copy(fail_first)).await;
            let mut got = Vec::new();
            if !fail_first {
                // Up to CopyInResponse, then the data, CopyDone and Sync.
                loop {
                    let m = conn.recv().await.expect("answer");
                    let done = m.tag == b'G';
                    got.push(m);
                    if done {
                        break;
                    }
                }
                let mut out = message(b'd', b"1\n2\n");
                out.extend(message(b'c', &[]));
                out.extend(Step::Sync.bytes(false));
                conn.send(&out).await;
            }
            got.extend(conn.until_ready().await);
            // In step afterwards: a row-limited-free query and its answer.
            got.extend(conn.simple_query("SELECT 1").await);
            replies.push(shape(&got));
        }
        assert_eq!(replies[0], replies[1], "fail_first {fail_first}");
        let expected: &[&str] = if fail_first {
            &["E", "ZI", "T", "D", "C", "ZI"]
        } else {
            &["1", "2", "G", "C", "ZI", "T", "D", "C", "ZI"]
        };
        assert_eq!(replies[0], expected, "fail_first {fail_first}");
    }
}

/// Where the server need not take part, a refusal leaves nothing in its
/// log; where it must (inside a transaction), what it logs says plainly
/// that actgate refused a statement.
#[tokio::test]
async fn a_refusal_outside_a_transaction_leaves_the_server_log_alone() {
    let proxy = Proxy::start().await;
    let log = common::database().pg.log_path().to_owned();
    let log_len = || std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let mut conn = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    let before = log_len();
    for _ in 0..3 {
        let replies = conn.simple_query("SELECT email FROM customers").await;
        assert_eq!(shape(&replies), ["E", "ZI"]);
        let e = replies.iter().find_map(Message::error).expect("denial");
        assert_eq!(e.code, "42501", "{e:?}");
    }
    // Pipelined with allowed statements, answers stay in order.
    let mut out = query("SELECT email FROM customers");
    out.extend(query("SELECT id FROM orders ORDER BY id LIMIT 1"));
    out.extend(query("SELECT email FROM customers"));
    conn.send(&out).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(conn.until_ready().await);
    }
    assert_eq!(shape(&got), ["E", "ZI", "T", "D", "C", "ZI", "E", "ZI"]);
    // An allowed query afterwards: the log grows only if something was
    // logged (nothing is, for a successful query).
    conn.simple_query("SELECT 1").await;
    let logged = std::fs::read(&log).unwrap_or_default();
    let new = String::from_utf8_lossy(&logged[before as usize..]).into_owned();
    assert!(
        !new.contains("syntax error"),
        "the refusals reached the server log:\n{new}"
    );
    // Inside a transaction the server must fail it: its log says why.
    let replies = conn.simple_query("BEGIN").await;
    assert_eq!(shape(&replies), ["C", "ZT"]);
    let replies = conn.simple_query("SELECT email FROM customers").await;
    assert_eq!(shape(&replies), ["E", "ZE"]);
    conn.simple_query("ROLLBACK").await;
    let mut seen = String::new();
    for _ in 0..50 {
        let logged = std::fs::read(&log).unwrap_or_default();
        seen = String::from_utf8_lossy(&logged[before as usize..]).into_owned();
        if seen.contains("actgate refused a statement") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server log does not say actgate refused a statement:\n{seen}");
}

/// A client that goes away while actgate waits for the server (here for a
/// row-limited statement's answer) ends its session: the statement is
/// cancelled and the backend freed, not left running to completion.
#[tokio::test]
async fn a_client_that_leaves_during_a_wait_frees_its_backend() {
    let proxy = Proxy::start().await;
    let admin = common::connect_direct().await;
    let running = || async {
        admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let mut conn = RawConn::login(proxy.addr, PIPELINE, "shop").await;
    conn.send(&query("SELECT pg_sleep(60), id FROM orders"))
        .await;
    for _ in 0..100 {
        if running().await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(running().await, 1, "the statement never started");
    drop(conn);
    // Bounded polling (not a timing assertion): the backend would
    // otherwise sleep its whole minute.
    for _ in 0..200 {
        if running().await == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the departed client's statement is still running");
}
