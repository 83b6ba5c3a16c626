//! Ordinary clients: tokio-postgres sessions of three agents, sending
//! statements whose verdict the soak knows, over the simple protocol, the
//! extended protocol, and prepared once and run twice.
//!
//! Every statement carries a marker comment (`/* soak C.N */`): each one
//! actgate answered must be found in the audit log.

use crate::{Ctx, Rng};
use futures_util::{StreamExt, pin_mut};
use std::time::Duration;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

pub const ANALYTICS: (&str, &str) = ("analytics", "analytics-demo-secret");
/// tests/rules/pipeline.toml: max_rows = 5 (error mode), write cap 3.
pub const PIPELINE: (&str, &str) = ("pipeline", "pipeline-secret");
/// The agent whose file the reloader rewrites (`crate::chores`).
pub const GUARDED: (&str, &str) = ("guarded", "tester-secret");

/// The row limit of the pipeline agent.
pub const MAX_ROWS: usize = 5;

#[derive(Debug, Clone, Copy)]
enum Expect {
    Allow,
    /// Refused by actgate with this reason.
    Refuse(&'static str),
}

/// A statement of the soak.
#[derive(Debug, Clone, Copy)]
enum Sql {
    Text(&'static str),
    /// `UPDATE orders` of this many of the client's own rows
    /// ([`crate::update`]): the write cap is 3.
    Update(u32),
}

impl Sql {
    fn text(self, id: u32) -> String {
        match self {
            Sql::Text(t) => t.to_owned(),
            Sql::Update(rows) => crate::update(id, rows),
        }
    }
}

use Expect::{Allow, Refuse};
use Sql::{Text, Update};

const ANALYTICS_CASES: &[(Sql, Expect)] = &[
    (Text("SELECT count(*) FROM orders"), Allow),
    (
        Text("SELECT id, country FROM customers ORDER BY id LIMIT 3"),
        Allow,
    ),
    (
        Text("SELECT id, name FROM products WHERE price_cents > 1000 ORDER BY id LIMIT 5"),
        Allow,
    ),
    (
        Text(
            "SELECT o.id, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id < 4",
        ),
        Allow,
    ),
    (
        Text("SELECT email FROM customers LIMIT 1"),
        Refuse("column_denied"),
    ),
    (
        Text("SELECT username FROM staff_users"),
        Refuse("table_denied"),
    ),
    (
        Text("DELETE FROM orders WHERE id = -1"),
        Refuse("statement_class_denied"),
    ),
];

const PIPELINE_CASES: &[(Sql, Expect)] = &[
    (Text("SELECT id FROM orders ORDER BY id LIMIT 3"), Allow),
    (Update(2), Allow),
    (Text("SELECT pg_sleep(0.01)"), Allow),
    (
        Text("SELECT id FROM orders ORDER BY id"),
        Refuse("row_limit_exceeded"),
    ),
    (
        Text("SELECT id FROM orders WHERE id > 20 ORDER BY id DESC"),
        Refuse("row_limit_exceeded"),
    ),
    (
        Text("SELECT email FROM customers"),
        Refuse("table_not_allowed"),
    ),
    (Update(4), Refuse("write_cap_exceeded")),
    (
        Text("DELETE FROM orders WHERE id = -1"),
        Refuse("statement_class_denied"),
    ),
];

const GUARDED_CASES: &[(Sql, Expect)] = &[
    (
        Text("SELECT id, country FROM customers ORDER BY id LIMIT 3"),
        Allow,
    ),
    (
        Text("SELECT email FROM customers LIMIT 1"),
        Refuse("column_denied"),
    ),
];

/// How one statement ended.
enum Outcome {
    Rows(usize),
    Refused { reason: String, rows: usize },
}

/// How one statement failed to end as a statement does.
enum Failure {
    Hung,
    Closed(String),
    Other(String),
}

#[derive(Debug, Clone, Copy)]
enum Protocol {
    Simple,
    Extended,
    /// Prepared once, executed twice.
    Prepared,
}

fn classify(e: tokio_postgres::Error, rows: usize) -> Result<Outcome, Failure> {
    if let Some(db) = e.as_db_error() {
        let detail = db.detail().unwrap_or_default();
        if db.code().code() == "42501"
            && let Some(rest) = detail.strip_prefix("reason: ")
        {
            let reason = rest.split(';').next().unwrap_or(rest).to_owned();
            return Ok(Outcome::Refused { reason, rows });
        }
        return Err(Failure::Other(format!(
            "{} {} ({detail})",
            db.code().code(),
            db.message()
        )));
    }
    if e.is_closed() {
        return Err(Failure::Closed(e.to_string()));
    }
    Err(Failure::Other(e.to_string()))
}

async fn simple(client: &Client, sql: &str) -> Result<Outcome, Failure> {
    let stream = match client.simple_query_raw(sql).await {
        Ok(s) => s,
        Err(e) => return classify(e, 0),
    };
    pin_mut!(stream);
    let mut rows = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(SimpleQueryMessage::Row(_)) => rows += 1,
            Ok(_) => {}
            Err(e) => return classify(e, rows),
        }
    }
    Ok(Outcome::Rows(rows))
}

async fn extended<T>(client: &Client, statement: &T) -> Result<Outcome, Failure>
where
    T: ?Sized + tokio_postgres::ToStatement,
{
    let stream = match client.query_raw(statement, std::iter::empty::<i32>()).await {
        Ok(s) => s,
        Err(e) => return classify(e, 0),
    };
    pin_mut!(stream);
    let mut rows = 0;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => rows += 1,
            Err(e) => return classify(e, rows),
        }
    }
    Ok(Outcome::Rows(rows))
}

async fn bounded(
    f: impl std::future::Future<Output = Result<Outcome, Failure>>,
) -> Result<Outcome, Failure> {
    tokio::time::timeout(crate::HUNG_AFTER, f)
        .await
        .unwrap_or(Err(Failure::Hung))
}

/// Runs one statement (twice when prepared); every run bounded.
async fn run(client: &Client, protocol: Protocol, sql: &str) -> Vec<Result<Outcome, Failure>> {
    match protocol {
        Protocol::Simple => vec![bounded(simple(client, sql)).await],
        Protocol::Extended => vec![bounded(extended(client, sql)).await],
        Protocol::Prepared => {
            let prepared = tokio::time::timeout(crate::HUNG_AFTER, client.prepare(sql)).await;
            let statement = match prepared {
                Err(_) => return vec![Err(Failure::Hung)],
                Ok(Err(e)) => return vec![classify(e, 0)],
                Ok(Ok(s)) => s,
            };
            let mut out = Vec::new();
            for _ in 0..2 {
                let r = bounded(extended(client, &statement)).await;
                let stop = r.is_err();
                out.push(r);
                if stop {
                    break;
                }
            }
            out
        }
    }
}

/// Connects as `agent`; `None` (counted) when the login fails.
async fn connect(ctx: &Ctx, (agent, secret): (&str, &str), id: u32) -> Option<Client> {
    let url = format!(
        "postgres://{agent}:{secret}@{}:{}/shop?application_name=soak-{id}",
        ctx.addr.ip(),
        ctx.addr.port()
    );
    match tokio::time::timeout(crate::HUNG_AFTER, tokio_postgres::connect(&url, NoTls)).await {
        Err(_) => {
            ctx.stats
                .hung("login", format!("client {id}: login as {agent}"));
            None
        }
        Ok(Err(e)) => {
            let code = e.code().map_or("-", |c| c.code());
            ctx.stats.login_refused(
                &format!("tokio-postgres login: {code}"),
                format!("client {id} as {agent}: {e}"),
            );
            None
        }
        Ok(Ok((client, conn))) => {
            ctx.stats.logins_ok.inc();
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Some(client)
        }
    }
}

/// One ordinary client until the deadline: sessions of `agent`, each of
/// a random number of statements, with short random pauses.
pub async fn client(ctx: std::sync::Arc<Ctx>, id: u32, agent: (&'static str, &'static str)) {
    let cases = match agent.0 {
        "analytics" => ANALYTICS_CASES,
        "pipeline" => PIPELINE_CASES,
        _ => GUARDED_CASES,
    };
    let limited = agent.0 == "pipeline";
    let mut rng = Rng::new(0x5eed_0000 + u64::from(id));
    let mut seq: u32 = 0;
    while ctx.running() {
        let Some(client) = connect(&ctx, agent, id).await else {
            tokio::time::sleep(Duration::from_millis(200 + rng.below(800) as u64)).await;
            continue;
        };
        for _ in 0..(20 + rng.below(200)) {
            if !ctx.running() {
                break;
            }
            let (sql, expect) = cases[rng.below(cases.len())];
            let protocol = match rng.below(3) {
                0 => Protocol::Simple,
                1 => Protocol::Extended,
                _ => Protocol::Prepared,
            };
            seq += 1;
            let marker = (u64::from(id) << 32) | u64::from(seq);
            let text = sql.text(id);
            let one = One {
                ctx: &ctx,
                id,
                label: format!("{} {protocol:?} {sql:?}", agent.0),
                text: &text,
            };
            let mut ended = false;
            for result in run(&client, protocol, &format!("/* soak {id}.{seq} */ {text}")).await {
                ctx.stats.statements.inc();
                match result {
                    Ok(outcome) => {
                        ctx.stats.answered(marker);
                        one.check(limited, expect, &outcome);
                    }
                    Err(Failure::Hung) => {
                        one.finding(Finding::Hung, "no answer".into());
                        ended = true;
                    }
                    Err(Failure::Closed(e)) => {
                        one.finding(Finding::Unexpected, format!("connection closed: {e}"));
                        ended = true;
                    }
                    Err(Failure::Other(e)) => one.finding(Finding::Unexpected, e),
                }
            }
            if ended || client.is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(rng.below(25) as u64)).await;
        }
    }
}

enum Finding {
    Wrong,
    Unexpected,
    Hung,
}

/// One statement of one client, for the checks and the findings.
struct One<'a> {
    ctx: &'a Ctx,
    id: u32,
    label: String,
    text: &'a str,
}

impl One<'_> {
    /// Records a finding; its label is the statement's kind and the first
    /// word of `what` (the SQLSTATE of an error).
    fn finding(&self, kind: Finding, what: String) {
        let first = what.split(' ').next().unwrap_or_default();
        let label = format!("{}: {first}", self.label);
        let detail = format!("client {}: {:?}: {what}", self.id, self.text);
        let stats = &self.ctx.stats;
        match kind {
            Finding::Wrong => stats.wrong(&label, detail),
            Finding::Unexpected => stats.unexpected(&label, detail),
            Finding::Hung => stats.hung(&label, detail),
        }
    }

    fn check(&self, limited: bool, expect: Expect, outcome: &Outcome) {
        let stats = &self.ctx.stats;
        let rows = match outcome {
            Outcome::Rows(n) | Outcome::Refused { rows: n, .. } => *n,
        };
        if limited && rows > MAX_ROWS {
            stats.rows_past_limit.add((rows - MAX_ROWS) as u64);
            stats.sample("rows past a limit", format!("{}: {rows} rows", self.label));
        }
        match (expect, outcome) {
            (Allow, Outcome::Rows(_)) => stats.allowed_ok.inc(),
            (Allow, Outcome::Refused { reason, .. }) => {
                self.finding(
                    Finding::Wrong,
                    format!("refused ({reason}), must be allowed"),
                );
            }
            (Refuse(want), Outcome::Refused { reason, .. }) => {
                stats.refused_ok.inc();
                if reason != want {
                    self.finding(
                        Finding::Unexpected,
                        format!("refused-for-{reason} (not {want})"),
                    );
                }
            }
            (Refuse(want), Outcome::Rows(n)) => self.finding(
                Finding::Wrong,
                format!("allowed ({n} rows), must be refused ({want})"),
            ),
        }
    }
}
