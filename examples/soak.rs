//! The soak driver run by `scripts/soak.sh` (not in CI): a throwaway
//! PostgreSQL with the demo shop database and actgate in-process in front
//! of it, 200 concurrent clients for `--minutes N` (10 by default), with
//! row limits on, the rules rewritten in slow chunks and reloaded every
//! few seconds, and the audit log rotated every 30 s. All traffic is on
//! 127.0.0.1; the run stops by itself.
//!
//! It prints a table of figures and exits non-zero if any of the bad ones
//! is not zero: wrong decisions, rows past a limit, hung sessions,
//! unexpected replies, fd growth, sessions or backends left behind, audit
//! events lost without an `audit_events_dropped` record.
//!
//! - ordinary clients ([`ordinary`]): tokio-postgres, simple and extended
//!   queries of three agents, allowed and refused ones, some over the row
//!   limit;
//! - raw pipelines ([`pipeline`]): server-raised errors in extended batches
//!   followed by a Query the server ignores, compared with PostgreSQL's
//!   own reply stream;
//! - bad clients ([`bad`]): garbage, oversized messages, never
//!   authenticating, leaving mid-statement;
//! - chores ([`chores`]): rules writes and reloads, audit rotation.

#[path = "soak/bad.rs"]
mod bad;
#[path = "soak/chores.rs"]
mod chores;
#[path = "soak/ordinary.rs"]
mod ordinary;
#[path = "soak/pipeline.rs"]
mod pipeline;
#[path = "soak/raw.rs"]
mod raw;
#[path = "soak/stats.rs"]
mod stats;

use actgate::config::Config;
use actgate::demo::DemoDatabase;
use stats::{Figures, Stats};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A client read that waits longer than this is a hung session.
pub const HUNG_AFTER: Duration = Duration::from_secs(30);

/// The clients: ordinary (analytics, pipeline, guarded), raw pipelines, bad.
const ORDINARY: [(usize, (&str, &str)); 3] = [
    (50, ordinary::ANALYTICS),
    (35, ordinary::PIPELINE),
    (25, ordinary::GUARDED),
];
const PIPELINES: usize = 40;
const BAD: usize = 50;
const CLIENTS: usize = ORDINARY[0].0 + ORDINARY[1].0 + ORDINARY[2].0 + PIPELINES + BAD;

/// What every client shares.
pub struct Ctx {
    pub addr: SocketAddr,
    pub stats: Stats,
    deadline: tokio::time::Instant,
}

impl Ctx {
    /// Whether the soak is still on.
    pub fn running(&self) -> bool {
        tokio::time::Instant::now() < self.deadline
    }
}

/// The first of the orders only client `id` updates: four of its own, so
/// that no two clients ever wait for each other's row locks (concurrent
/// multi-row UPDATEs of the same rows can deadlock in PostgreSQL).
const ORDERS_PER_CLIENT: u32 = 4;

/// `UPDATE orders` of `rows` (at most [`ORDERS_PER_CLIENT`]) of client
/// `id`'s own orders.
pub fn update(id: u32, rows: u32) -> String {
    let first = ORDERS_PER_CLIENT * (id - 1) + 1;
    format!(
        "UPDATE orders SET status = status WHERE id BETWEEN {first} AND {}",
        first + rows.min(ORDERS_PER_CLIENT) - 1
    )
}

/// A small deterministic generator (xorshift), one per client.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

struct Args {
    minutes: f64,
    log: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        minutes: 10.0,
        log: PathBuf::from("target/soak/actgate.log"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--minutes" => {
                out.minutes = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|m: &f64| *m > 0.0 && *m <= 24.0 * 60.0)
                    .ok_or("--minutes needs a number of minutes (up to a day)")?;
            }
            "--log" => out.log = it.next().ok_or("--log needs a path")?.into(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}\nusage: soak [--minutes N] [--log PATH]");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = args.log.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let log = match std::fs::File::create(&args.log) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("soak: cannot create {}: {e}", args.log.display());
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(log))
        .init();
    eprintln!("soak: starting a throwaway PostgreSQL…");
    let db = match DemoDatabase::start(&["shop"]) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("soak: cannot start PostgreSQL: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let passed = runtime.block_on(soak(&db, &args));
    drop(runtime);
    match passed {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

/// The soak's own rules directory: the row-limited pipeline agent, the
/// analytics agent, and the guarded agent the reloader rewrites.
fn rules_dir(scratch: &Path) -> Result<(PathBuf, String), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = scratch.join("rules");
    std::fs::create_dir(&rules).map_err(|e| e.to_string())?;
    for from in ["tests/rules/pipeline.toml", "rules/analytics.toml"] {
        let from = root.join(from);
        std::fs::copy(&from, rules.join(from.file_name().unwrap_or_default()))
            .map_err(|e| format!("{}: {e}", from.display()))?;
    }
    let tester =
        std::fs::read_to_string(root.join("tests/rules/tester.toml")).map_err(|e| e.to_string())?;
    let verifier = tester
        .lines()
        .find(|l| l.starts_with("secret_verifier"))
        .ok_or("no verifier in tests/rules/tester.toml")?
        .to_owned();
    let (first, rest) = chores::guarded(&verifier, 1);
    std::fs::write(rules.join("guarded.toml"), format!("{first}{rest}"))
        .map_err(|e| e.to_string())?;
    Ok((rules, verifier))
}

fn config(db: &DemoDatabase, scratch: &Path, rules: &Path, audit: &Path) -> Result<Config, String> {
    let password = db.write_password_file(scratch).map_err(|e| e.to_string())?;
    let mut text = db.config_toml("127.0.0.1:0", rules, &password);
    text = text.replacen(
        "[server]\n",
        &format!(
            "[server]\nrules_poll_ms = 500\nrules_settle_ms = {}\n",
            chores::SETTLE_MS
        ),
        1,
    );
    text.push_str(&format!(
        "\n[audit]\npath = {:?}\n",
        audit.display().to_string()
    ));
    Config::from_toml(&text, Path::new("soak.toml"), scratch).map_err(|e| e.to_string())
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// actgate's upstream sessions open on the server.
async fn backends(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
            &[&actgate::demo::UPSTREAM_ROLE],
        )
        .await
        .map_or(-1, |r| r.get(0))
}

/// actgate running in-process in front of the throwaway database.
struct Actgate {
    gateway: Arc<actgate::proxy::Gateway>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
    /// A superuser connection, for setup and for counting backends.
    admin: tokio_postgres::Client,
    rules: PathBuf,
    verifier: String,
    audit: PathBuf,
}

/// Starts actgate with the soak's rules and audit log, and gives every
/// client orders of its own to update (the shop has 200).
async fn start(db: &DemoDatabase, scratch: &Path) -> Result<Actgate, String> {
    let (rules, verifier) = rules_dir(scratch)?;
    let audit = scratch.join("audit.jsonl");
    let config = config(db, scratch, &rules, &audit)?;
    actgate::fds::raise_open_file_limit(&config.limits);
    let gateway = actgate::build_gateway(config)
        .await
        .map_err(|e| format!("gateway: {e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(actgate::server::run(listener, gateway.clone(), async {
        let _ = stopped.await;
    }));
    let (admin, conn) = tokio_postgres::connect(&db.pg.url("shop"), tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("superuser connection: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    admin
        .simple_query(&format!(
            "INSERT INTO orders (id, customer_id, shipping_country) \
             SELECT g, 1 + g % 50, 'US' FROM generate_series(201, {}) AS g",
            ORDERS_PER_CLIENT * CLIENTS as u32
        ))
        .await
        .map_err(|e| format!("adding orders: {e}"))?;
    Ok(Actgate {
        gateway,
        addr,
        server,
        stop,
        admin,
        rules,
        verifier,
        audit,
    })
}

/// Every client, its start staggered over the first seconds.
fn spawn_clients(ctx: &Arc<Ctx>) -> tokio::task::JoinSet<()> {
    let mut clients = tokio::task::JoinSet::new();
    let mut id = 0u32;
    let mut next = || {
        id += 1;
        (id, ctx.clone(), Duration::from_millis(u64::from(id) * 20))
    };
    for (n, agent) in ORDINARY {
        for _ in 0..n {
            let (id, ctx, after) = next();
            clients.spawn(async move {
                tokio::time::sleep(after).await;
                ordinary::client(ctx, id, agent).await
            });
        }
    }
    for _ in 0..PIPELINES {
        let (id, ctx, after) = next();
        clients.spawn(async move {
            tokio::time::sleep(after).await;
            pipeline::client(ctx, id).await
        });
    }
    for _ in 0..BAD {
        let (id, ctx, after) = next();
        clients.spawn(async move {
            tokio::time::sleep(after).await;
            bad::client(ctx, id).await
        });
    }
    clients
}

/// A line on stderr every minute.
fn progress(ctx: Arc<Ctx>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while ctx.running() {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let s = &ctx.stats;
            eprintln!(
                "soak: {} statements, {} wrong, {} rows past, {} hung, {} unexpected, {} fds",
                s.statements.get(),
                s.wrong_decisions.get(),
                s.rows_past_limit.get(),
                s.hung.get(),
                s.unexpected.get(),
                fds()
            );
        }
    })
}

async fn soak(db: &DemoDatabase, args: &Args) -> Result<bool, String> {
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let actgate = start(db, scratch.path()).await?;
    let mut figures = Figures {
        minutes: args.minutes,
        clients: (CLIENTS - PIPELINES - BAD, PIPELINES, BAD),
        ..Figures::default()
    };
    let start = (fds(), rss_mb());
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    let ctx = Arc::new(Ctx {
        addr: actgate.addr,
        stats: Stats::default(),
        deadline: tokio::time::Instant::now() + run_for,
    });
    eprintln!(
        "soak: actgate on {}, {CLIENTS} clients for {} min; actgate's log: {}",
        actgate.addr,
        args.minutes,
        args.log.display()
    );
    let mut clients = spawn_clients(&ctx);
    let gateway = &actgate.gateway;
    let reloader = tokio::spawn(chores::reloader(
        ctx.clone(),
        gateway.clone(),
        actgate.rules.clone(),
        actgate.verifier.clone(),
    ));
    let rotator = tokio::spawn(chores::rotator(
        ctx.clone(),
        gateway.clone(),
        actgate.audit.clone(),
    ));
    // Warm-up: a fifth of the run, at most a minute.
    tokio::time::sleep((run_for / 5).min(Duration::from_secs(60))).await;
    let warm = (fds(), rss_mb());
    eprintln!("soak: after warm-up: {} fds, {} MB", warm.0, warm.1);
    let progress = progress(ctx.clone());

    // Every client stops at the deadline; each read is bounded, so they
    // are all done well within HUNG_AFTER more (plus the bad clients'
    // wait for the startup timeout).
    let all_done = async { while clients.join_next().await.is_some() {} };
    if tokio::time::timeout(run_for + 4 * HUNG_AFTER, all_done)
        .await
        .is_err()
    {
        ctx.stats.hung(
            "clients still running after the deadline",
            format!("{} clients", clients.len()),
        );
        clients.abort_all();
    }
    progress.abort();
    let _ = reloader.await;
    let mut tally = rotator.await.unwrap_or_default();
    eprintln!("soak: clients done; waiting for actgate to let go of everything");

    // Drain: every session ends, every backend goes, fds come back down.
    let mut left = (usize::MAX, i64::MAX, usize::MAX);
    for _ in 0..120 {
        left = (
            gateway.sessions().len(),
            backends(&actgate.admin).await,
            fds(),
        );
        if left.0 == 0 && left.1 == 0 && left.2 <= start.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    (figures.sessions_left, figures.backends_left) = (left.0, left.1);
    figures.fds = (start.0, warm.0, left.2);
    figures.rss_mb = (start.1, warm.1, rss_mb());
    let status = gateway.reload_status();
    (
        figures.reloads_ok,
        figures.reloads_failed,
        figures.generation,
    ) = (status.reloads_ok, status.reloads_failed, status.generation);

    let _ = actgate.stop.send(());
    if tokio::time::timeout(Duration::from_secs(60), actgate.server)
        .await
        .is_err()
    {
        ctx.stats
            .hung("actgate's server did not stop", "not within 60 s".into());
    }
    close_audit(actgate.gateway, &mut figures).await;
    for entry in std::fs::read_dir(scratch.path()).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("audit.jsonl") {
            chores::merge(&mut tally, chores::scan(&path));
        }
    }
    figures.audit = tally;
    figures.log_lines = log_lines(&args.log);
    Ok(stats::report(&ctx.stats, &figures))
}

/// Stops the audit writer (it writes its last drop report when it stops)
/// and reads its counters.
async fn close_audit(gateway: Arc<actgate::proxy::Gateway>, figures: &mut Figures) {
    let mut audit = gateway.audit.clone();
    drop(gateway);
    for _ in 0..100 {
        match Arc::try_unwrap(audit) {
            Ok(mut log) => {
                log.close();
                figures.audit_closed = true;
                figures.audit_dropped = log.dropped();
                figures.audit_unreported = log.unreported();
                figures.audit_reopened = log.reopened();
                return;
            }
            Err(shared) => audit = shared,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Something still holds the gateway: give the writer time to drain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    figures.audit_dropped = audit.dropped();
    figures.audit_unreported = audit.unreported();
    figures.audit_reopened = audit.reopened();
}

/// WARN and ERROR lines in actgate's log.
fn log_lines(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let count = |level: &str| text.lines().filter(|l| l.contains(level)).count() as u64;
    (count(" WARN "), count(" ERROR "))
}
