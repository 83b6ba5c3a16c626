//! `[state] store = "postgres"`: three actgate instances (each its own
//! gateway, control plane and listener, sharing nothing in memory) in
//! front of one PostgreSQL count one budget together, also when hammered
//! concurrently; a state database that cannot be reached refuses only the
//! statements that need it, with `control_state_unavailable`, and
//! everything recovers by itself when it is back.

mod common;

use actgate::controls::ManualClock;
use common::Proxy;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::NoTls;

const AGENT: &str = "shared-budget";

/// A token agent that may read products 5 times per calendar day, in all.
const RULES: &str = r#"
[agent]
name = "shared-budget"
databases = ["shop"]
auth = "token"

[policy]
statements = ["read"]

[tables.products]
operations = ["select"]

[[rate_limits]]
name = "product-reads"
table = "products"
operations = ["select"]
budget = "5/calendar-day"
"#;

/// The same agent with a circuit breaker: three denials within a minute
/// suspend it for ten minutes.
const BREAKER: &str = r#"
[circuit_breaker]
trip_after = "3/minute"
suspend_for_s = 600
"#;

/// A fresh state database on the test cluster, owned by actgate's role.
fn state_database(name: &str) -> String {
    let pg = &common::database().pg;
    pg.psql(
        "postgres",
        &format!(
            "DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} OWNER {};",
            actgate::demo::UPSTREAM_ROLE
        ),
    )
    .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    name.to_owned()
}

/// A private rules directory with `agent_rules` as the agent's file, and
/// the `[state]` table of an instance keeping its state in `database` on
/// the test cluster, as actgate's own role.
struct Setup {
    rules: tempfile::TempDir,
    state: String,
}

impl Setup {
    fn new(agent_rules: &str, database: &str) -> Setup {
        let rules = common::rules_copy();
        std::fs::write(rules.path().join("shared-budget.toml"), agent_rules).unwrap();
        let password_file = common::database()
            .write_password_file(rules.path())
            .unwrap();
        let pg = &common::database().pg;
        let state = format!(
            "\n[state]\nstore = \"postgres\"\nurl = \"postgres://{}@{}:{}/{database}\"\npassword_file = {:?}\n",
            actgate::demo::UPSTREAM_ROLE,
            pg.host(),
            pg.port(),
            password_file.display().to_string()
        );
        Setup { rules, state }
    }

    /// The configuration (text and loaded) of an instance on `listen`.
    fn config(&self, listen: &str, extra_server: &str) -> (String, actgate::config::Config) {
        common::config_text_in(self.rules.path(), listen, extra_server, &self.state)
    }

    /// What starting an instance with this setup fails with.
    async fn start_error(&self) -> String {
        match actgate::build_gateway(self.config("127.0.0.1:0", "").1).await {
            Ok(_) => panic!("the instance started"),
            Err(e) => e.to_string(),
        }
    }
}

/// `count` instances sharing the state in `database`, with the rules above
/// and one manual clock.
async fn instances(database: &str, count: usize, clock: &Arc<ManualClock>) -> (Vec<Proxy>, Setup) {
    let (proxies, setup, _) = instances_with_config(RULES, database, count, clock).await;
    (proxies, setup)
}

/// Like [`instances`], with the path of a config file for the CLI.
async fn instances_with_config(
    agent_rules: &str,
    database: &str,
    count: usize,
    clock: &Arc<ManualClock>,
) -> (Vec<Proxy>, Setup, (tempfile::TempDir, std::path::PathBuf)) {
    let setup = Setup::new(agent_rules, database);
    // Not in the rules directory, where every *.toml is a rules file.
    let config_dir = tempfile::tempdir().unwrap();
    let config_path = config_dir.path().join("actgate.toml");
    std::fs::write(&config_path, setup.config("127.0.0.1:0", "").0).unwrap();
    let mut proxies = Vec::new();
    for _ in 0..count {
        let proxy = Proxy::start_with(setup.config("127.0.0.1:0", "").1).await;
        proxy.gateway.set_clock(clock.clone());
        proxies.push(proxy);
    }
    (proxies, setup, (config_dir, config_path))
}

/// `n` reads on `client`: `allowed` or the refusal's reason, each.
async fn reads(client: &tokio_postgres::Client, n: usize) -> Vec<String> {
    let mut outcomes = Vec::new();
    for _ in 0..n {
        outcomes.push(match client.query(READ, &[]).await {
            Ok(_) => "allowed".to_owned(),
            Err(e) => common::refusal(&e).1,
        });
    }
    outcomes
}

/// What concurrent readers got: `total` reads, exactly 5 allowed (the
/// budget), every other one `rate_limited`.
async fn assert_exactly_five(mut tasks: tokio::task::JoinSet<Vec<String>>, total: usize) {
    let mut all = Vec::new();
    while let Some(outcomes) = tasks.join_next().await {
        all.extend(outcomes.unwrap());
    }
    assert_eq!(all.len(), total);
    assert_eq!(all.iter().filter(|o| *o == "allowed").count(), 5, "{all:?}");
    assert!(
        all.iter().all(|o| o == "allowed" || o == "rate_limited"),
        "{all:?}"
    );
}

async fn connect(proxy: &Proxy) -> tokio_postgres::Client {
    let (token, _) = common::mint(AGENT, "customer-1", &[], Duration::from_secs(600));
    try_connect(proxy, &token)
        .await
        .unwrap_or_else(|e| panic!("connect as {AGENT}: {e}"))
}

async fn try_connect(
    proxy: &Proxy,
    token: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let url =
        actgate::token::connection_string(AGENT, token, "127.0.0.1", proxy.addr.port(), "shop");
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Whether `client`'s session ends within a second.
async fn ends_within_a_second(client: &tokio_postgres::Client) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while tokio::time::Instant::now() < deadline {
        if client.is_closed() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.is_closed()
}

const READ: &str = "SELECT count(*) FROM products";

fn noon() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2026-12-01T12:00:00Z".parse().unwrap()))
}

#[tokio::test]
async fn one_budget_is_shared_by_every_replica_in_turn() {
    let db = state_database("actgate_state_turns");
    let clock = noon();
    let (proxies, _setup) = instances(&db, 3, &clock).await;
    let mut clients = Vec::new();
    for p in &proxies {
        clients.push(connect(p).await);
    }
    for i in 0..5 {
        clients[i % 3]
            .query(READ, &[])
            .await
            .unwrap_or_else(|e| panic!("read {i} on replica {}: {e}", i % 3));
    }
    for (i, c) in clients.iter().enumerate() {
        let e = c.query(READ, &[]).await.expect_err("the budget is used up");
        assert_eq!(
            common::refusal(&e),
            ("42501".into(), "rate_limited".into()),
            "replica {i}"
        );
    }
    // The next calendar day, the budget is whole again, for everyone.
    clock.set("2026-12-02T00:00:01Z".parse().unwrap());
    clients[2].query(READ, &[]).await.unwrap();
    drop(clients);
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_budget_hammered_on_three_replicas_at_once_allows_exactly_its_limit() {
    let db = state_database("actgate_state_hammer");
    let clock = noon();
    let (proxies, _setup) = instances(&db, 3, &clock).await;
    let mut tasks = tokio::task::JoinSet::new();
    for p in &proxies {
        for _ in 0..4 {
            let client = connect(p).await;
            tasks.spawn(async move { reads(&client, 5).await });
        }
    }
    assert_exactly_five(tasks, 60).await;
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test]
async fn an_unreachable_state_store_refuses_budgeted_statements_only_and_recovers() {
    let db = state_database("actgate_state_outage");
    let clock = noon();
    let (proxies, _setup) = instances(&db, 1, &clock).await;
    let proxy = &proxies[0];
    let client = connect(proxy).await;
    client.query(READ, &[]).await.unwrap();
    assert_eq!(proxy.gateway.state_health().map(|h| h.up), Some(true));

    // The state database goes away: no new connections, the live one ends.
    let pg = &common::database().pg;
    pg.psql(
        "postgres",
        &format!(
            "ALTER DATABASE {db} ALLOW_CONNECTIONS false;\
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';"
        ),
    )
    .unwrap();
    // Reads that slipped through before the store noticed are counted.
    let mut charged = 1;
    let e = loop {
        match client.query(READ, &[]).await {
            Ok(_) => charged += 1,
            Err(e) => break e,
        }
        assert!(charged <= 5, "the outage was never noticed");
    };
    assert_eq!(
        common::refusal(&e),
        ("58030".into(), "control_state_unavailable".into())
    );
    // What needs no shared state keeps flowing, in the same session.
    let row = client.query_one("SELECT 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
    let health = proxy.gateway.state_health().unwrap();
    assert!(!health.up);
    let readiness = proxy.gateway.readiness().await;
    assert!(readiness.ready, "{}", readiness.text);
    assert!(
        readiness
            .text
            .contains("shared state store cannot be reached"),
        "{}",
        readiness.text
    );
    let metrics = proxy.gateway.render_metrics();
    assert!(metrics.contains("actgate_state_up 0"), "{metrics}");
    assert!(
        !metrics.contains("actgate_state_unavailable_total 0"),
        "{metrics}"
    );

    // Back: the store reconnects by itself, and the budget counts on from
    // where it was (nothing was charged while it was away).
    pg.psql(
        "postgres",
        &format!("ALTER DATABASE {db} ALLOW_CONNECTIONS true;"),
    )
    .unwrap();
    eventually(|| async { client.query(READ, &[]).await.ok() }).await;
    charged += 1;
    while charged < 5 {
        client.query(READ, &[]).await.unwrap();
        charged += 1;
    }
    let e = client.query(READ, &[]).await.expect_err("5 reads counted");
    assert_eq!(common::refusal(&e).1, "rate_limited");
    assert_eq!(proxy.gateway.state_health().map(|h| h.up), Some(true));
    drop(client);
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test]
async fn a_breaker_trip_on_one_replica_ends_sessions_everywhere_and_resume_anywhere_lifts_it() {
    let db = state_database("actgate_state_breaker");
    let clock = noon();
    let rules = format!("{RULES}{BREAKER}");
    let (proxies, _setup, _) = instances_with_config(&rules, &db, 3, &clock).await;
    let on_a = connect(&proxies[0]).await;
    let on_b = connect(&proxies[1]).await;
    let on_c = connect(&proxies[2]).await;
    // Three denials on A within a minute trip A's breaker.
    for i in 0..3 {
        let e = on_a.query("SELECT * FROM orders", &[]).await.unwrap_err();
        if i < 2 {
            assert_eq!(common::refusal(&e).0, "42501");
        }
    }
    // Every session ends within a second, A's too: its end is local, but
    // it is a task on a worker like any other, and on a loaded machine it
    // may come after the store has told B and C.
    assert!(ends_within_a_second(&on_a).await, "A's session lives on");
    assert!(ends_within_a_second(&on_b).await, "B's session lives on");
    assert!(ends_within_a_second(&on_c).await, "C's session lives on");
    let refused = connect_error(&proxies[2]).await;
    assert!(refused.contains("suspended"), "{refused}");

    // An operator resumes the agent on C: it is back in everywhere.
    assert!(proxies[2].gateway.resume(AGENT, None));
    let again = eventually(|| async {
        let (token, _) = common::mint(AGENT, "customer-1", &[], Duration::from_secs(600));
        try_connect(&proxies[0], &token).await.ok()
    })
    .await;
    again.query(READ, &[]).await.unwrap();
    connect(&proxies[1]).await.query(READ, &[]).await.unwrap();
    drop(again);
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test]
async fn a_token_revoked_in_the_store_is_refused_everywhere_and_its_sessions_end() {
    let db = state_database("actgate_state_revoke");
    let clock = noon();
    let (proxies, _setup, (_dir, config)) = instances_with_config(RULES, &db, 3, &clock).await;
    let (token, token_id) = common::mint(AGENT, "customer-7", &[], Duration::from_secs(600));
    let mut sessions = Vec::new();
    for p in &proxies {
        sessions.push(try_connect(p, &token).await.unwrap());
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_actgate"))
        .args(["token", "revoke", &token_id, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, s) in sessions.iter().enumerate() {
        assert!(
            ends_within_a_second(s).await,
            "the session on replica {i} lives on"
        );
    }
    for p in &proxies {
        let Err(e) = try_connect(p, &token).await else {
            panic!("a revoked token logs in");
        };
        // Refused as any invalid credential is.
        let code = e.as_db_error().map(|d| d.code().code().to_owned());
        assert_eq!(code.as_deref(), Some("28P01"), "{e}");
    }
    // Other tokens of the agent are untouched.
    connect(&proxies[1]).await.query(READ, &[]).await.unwrap();
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test]
async fn held_on_one_replica_approved_on_another_runs_once_on_a_third() {
    let db = state_database("actgate_state_approvals");
    let clock = noon();
    let (proxies, _setup) = instances(&db, 3, &clock).await;
    let on_a = proxies[0].connect(common::SUPPORT_BOT).await;
    let on_c = proxies[2].connect(common::SUPPORT_BOT).await;
    let direct = common::connect_direct().await;
    let order: i64 = direct
        .query_one("SELECT min(id) FROM orders WHERE customer_id = 42", &[])
        .await
        .unwrap()
        .get(0);
    let sql = format!(
        "INSERT INTO refunds (order_id, amount_cents, reason, created_by) \
         VALUES ({order}, 30000, 'shared-approval', 'kpatel')"
    );
    let written = || async {
        direct
            .query_one(
                "SELECT count(*) FROM refunds WHERE reason = 'shared-approval'",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };

    // Held on A.
    let e = on_a.batch_execute(&sql).await.unwrap_err();
    let id = approval_id(&e);
    // Approved through B's admin endpoint.
    const TOKEN: &str = "shared-state-admin-token";
    let admin_b = common::start_admin(&proxies[1], TOKEN).await;
    let path = format!("/approvals/{id}/approve?by=ops");
    let (status, body) = common::admin_request(admin_b, "POST", &path, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"approved\""), "{body}");
    let (status, body) = common::admin_request(admin_b, "POST", &path, Some(TOKEN)).await;
    assert_eq!(status, 409, "decided twice: {body}");
    // Retried on C: runs, once.
    on_c.batch_execute(&sql).await.unwrap();
    assert_eq!(written().await, 1);
    // A second retry anywhere is held again, as a new request.
    let again = on_a.batch_execute(&sql).await.unwrap_err();
    assert_ne!(approval_id(&again), id);
    assert_eq!(written().await, 1);
    // Every replica lists the used request.
    for p in &proxies {
        eventually(|| async {
            p.gateway
                .approvals()
                .iter()
                .any(|a| a.id == id && a.state == actgate::controls::ApprovalState::Used)
                .then_some(())
        })
        .await;
    }
    drop((on_a, on_c));
    for p in proxies {
        p.stop().await;
    }
}

#[tokio::test]
async fn a_state_schema_newer_than_this_build_refuses_to_start() {
    let db = state_database("actgate_state_newer");
    let clock = noon();
    // A first start creates the schema at this build's version.
    let (proxies, setup, _) = instances_with_config(RULES, &db, 1, &clock).await;
    for p in proxies {
        p.stop().await;
    }
    let pg = &common::database().pg;
    let newer = actgate::state::schema::current_version() + 1;
    pg.psql(
        &db,
        &format!("UPDATE actgate.schema_version SET version = {newer};"),
    )
    .unwrap();
    let e = setup.start_error().await;
    assert!(
        e.contains(&format!("schema version {newer}")) && e.contains("upgrade actgate"),
        "{e}"
    );
}

/// Three `actgate serve` processes, one rolling budget: hammered
/// concurrently, exactly its limit runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_share_a_rolling_budget() {
    let db = state_database("actgate_state_processes");
    let setup = Setup::new(&RULES.replace("5/calendar-day", "5/hour"), &db);
    let dir = tempfile::tempdir().unwrap();
    let mut processes = Vec::new();
    let mut ports = Vec::new();
    for i in 0..3 {
        let port = common::free_port();
        let (text, _) = setup.config(&format!("127.0.0.1:{port}"), "rules_poll_ms = 0");
        let config = dir.path().join(format!("actgate-{i}.toml"));
        std::fs::write(&config, text).unwrap();
        processes.push(common::ServeProcess::spawn(
            &config,
            std::process::Stdio::null(),
        ));
        ports.push(port);
    }
    let (token, _) = common::mint(AGENT, "customer-1", &[], Duration::from_secs(600));
    let mut tasks = tokio::task::JoinSet::new();
    for &port in &ports {
        let url = actgate::token::connection_string(AGENT, &token, "127.0.0.1", port, "shop");
        for _ in 0..3 {
            let url = url.clone();
            tasks.spawn(async move { reads(&common::connect_when_up(&url).await, 4).await });
        }
    }
    assert_exactly_five(tasks, 36).await;
    drop(processes);
}

#[tokio::test]
async fn a_state_database_that_stops_answering_refuses_after_the_request_timeout() {
    let db = state_database("actgate_state_hung");
    let clock = noon();
    let (proxies, _rules) = instances(&db, 1, &clock).await;
    let client = connect(&proxies[0]).await;
    client.query(READ, &[]).await.unwrap();
    // Someone holds the budget table: the next charge cannot finish.
    let pg = &common::database().pg;
    let (locker, conn) = tokio_postgres::connect(&pg.url(&db), NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    locker
        .batch_execute("BEGIN; LOCK TABLE actgate.budget_periods IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let e = client.query(READ, &[]).await.unwrap_err();
    assert_eq!(
        common::refusal(&e),
        ("58030".into(), "control_state_unavailable".into())
    );
    assert!(
        started.elapsed() >= actgate::state::REQUEST_TIMEOUT,
        "refused before the timeout"
    );
    // What needs no shared state still flows.
    client.query_one("SELECT 1", &[]).await.unwrap();
    // The lock goes: the store (on a new connection) answers again.
    locker.batch_execute("ROLLBACK").await.unwrap();
    eventually(|| async { client.query(READ, &[]).await.ok() }).await;
    drop(client);
    for p in proxies {
        p.stop().await;
    }
}

/// The approval request id a held statement's refusal names.
fn approval_id(e: &tokio_postgres::Error) -> String {
    let (code, reason) = common::refusal(e);
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("42501", "approval_required")
    );
    let msg = e.as_db_error().unwrap().message();
    let at = msg
        .find("apr-")
        .unwrap_or_else(|| panic!("no id in {msg:?}"));
    msg[at..at + 20].to_owned()
}

/// The error a login as the agent gets.
async fn connect_error(proxy: &Proxy) -> String {
    let (token, _) = common::mint(AGENT, "customer-1", &[], Duration::from_secs(600));
    match try_connect(proxy, &token).await {
        Ok(_) => panic!("the login was accepted"),
        Err(e) => actgate::state::describe(&e),
    }
}

#[tokio::test]
async fn rules_that_name_the_state_database_are_refused() {
    let db = state_database("actgate_state_named");
    let named = RULES.replace(
        "databases = [\"shop\"]",
        &format!("databases = [\"shop\", \"{db}\"]"),
    );
    let e = Setup::new(&named, &db).start_error().await;
    assert!(e.contains("shared state") && e.contains(&db), "{e}");
}

/// Polls `probe` (every 50 ms, for up to 10 s) until it gives a value.
async fn eventually<T, F, Fut>(mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no change within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
