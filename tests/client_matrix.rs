//! The client matrix beyond Python (issue 12): pgjdbc, pgx, node-postgres
//! with pg-cursor, postgres.js, Kysely, tokio-postgres and sqlx, each
//! through actgate with its defaults, doing what it normally does:
//! introspection, simple and parameterised queries, prepared statements
//! past the driver's threshold, a transaction, an error then rollback, a
//! refused statement (42501 with message, DETAIL and HINT, the connection
//! still usable), streaming, its pool and read-only mode, as the
//! `analytics` secret agent and the `support-bot` token agent.
//!
//! One program start per client; each prints a line per check and the
//! test compares the output exactly, then checks that actgate blocked
//! nothing but the program's own refusals. Java and Go sources are
//! compiled at test time into target/tmp; the toolchains and driver
//! packages come from scripts/ensure-drivers.sh (run by scripts/test.sh).
//! Driver features (DEFERRABLE, named cursors, capped writes in a
//! transaction, read-only modes) run from tests/drivers/features/.

mod common;

#[path = "client_matrix/rust_clients.rs"]
mod rust_clients;

use common::Proxy;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// A client program still running after this long is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

const INSTALL_HINT: &str = "scripts/test.sh installs them (scripts/ensure-drivers.sh: \
     Debian's default-jdk-headless and libpostgresql-jdbc-java, golang-go and \
     golang-github-jackc-pgx-v4-dev; pg, pg-cursor, postgres and kysely from npm into \
     tests/drivers/node_modules)";

use common::clients::drivers_dir;

/// Where compiled test programs are cached between runs.
fn build_dir(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("client-matrix")
        .join(what);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A client command (see [`common::clients::command`]).
fn command(name: &str) -> Command {
    common::clients::command(name, INSTALL_HINT)
}

async fn run(cmd: Command) -> Output {
    common::clients::run(cmd, RUN_TIMEOUT).await
}

/// Runs `cmd` to completion and fails the test unless it succeeded.
async fn run_ok(cmd: Command, what: &str) -> Output {
    let output = run(cmd).await;
    assert!(
        output.status.success(),
        "{what} failed: {INSTALL_HINT}\n{}",
        common::describe(&output)
    );
    output
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `output` is missing or older than any of `sources`.
fn stale(output: &Path, sources: &[PathBuf]) -> bool {
    let Some(built) = modified(output) else {
        return true;
    };
    sources
        .iter()
        .any(|s| modified(s).is_none_or(|m| m > built))
}

/// An actgate with an audit log, the analytics agent's URL and a
/// support-bot token for customer 42.
struct Gate {
    proxy: Proxy,
    _dir: tempfile::TempDir,
    audit: PathBuf,
    token: String,
}

impl Gate {
    async fn start() -> Gate {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let proxy =
            Proxy::start_with(common::config_with_audit(&audit, "sql_max_bytes = 65536")).await;
        let token = common::clients::support_bot_token();
        Gate {
            proxy,
            _dir: dir,
            audit,
            token,
        }
    }

    fn port(&self) -> String {
        self.proxy.addr.port().to_string()
    }

    fn analytics_url(&self) -> String {
        self.proxy.url(common::ANALYTICS, "shop")
    }

    fn token_url(&self) -> String {
        actgate::token::connection_string(
            "support-bot",
            &self.token,
            "127.0.0.1",
            self.proxy.addr.port(),
            "shop",
        )
    }

    /// Stops actgate; returns `sql (reason)` for every statement it
    /// blocked, once the audit log has stopped growing.
    async fn blocked(self) -> Vec<String> {
        self.proxy.stop().await;
        let mut last = usize::MAX;
        let mut events = Vec::new();
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            events = common::audit_events(&self.audit);
            if !events.is_empty() && events.len() == last {
                break;
            }
            last = events.len();
        }
        events
            .iter()
            .filter(|e| e["event"] == "statement_blocked")
            .map(|e| {
                format!(
                    "{} ({})",
                    e["sql"].as_str().unwrap_or_default(),
                    e["reason"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }
}

/// Checks a client program's exact output, and that actgate blocked
/// exactly `denied` (`sql (reason)`, in order).
fn check(what: &str, output: &Output, blocked: &[String], expected: &str, denied: &[&str]) {
    let context = common::clients::blocked_context(output, &blocked.join("\n"));
    common::clients::assert_output(output, what, expected, &context);
    assert_eq!(
        blocked, denied,
        "actgate blocked statements other than {what}'s own refusals\n{context}"
    );
}

// ---------------------------------------------------------------------------
// Java: pgjdbc
// ---------------------------------------------------------------------------

/// Debian's libpostgresql-jdbc-java.
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// Compiles tests/drivers/java/NAME.java (or `source`) against pgjdbc into
/// target/tmp, unless the class there is newer; returns the classpath.
async fn javac(source: &Path, class: &str) -> String {
    assert!(
        Path::new(PGJDBC_JAR).is_file(),
        "{PGJDBC_JAR} is missing: {INSTALL_HINT}"
    );
    let out = build_dir("java");
    if stale(&out.join(format!("{class}.class")), &[source.to_path_buf()]) {
        let mut cmd = command("javac");
        cmd.args(["-nowarn", "-cp", PGJDBC_JAR, "-d"])
            .arg(&out)
            .arg(source);
        run_ok(cmd, "javac").await;
    }
    format!("{PGJDBC_JAR}:{}", out.display())
}

/// pgjdbc with its defaults, `prepareThreshold=1` and both read-only
/// modes, `DatabaseMetaData`, `setFetchSize` streaming, and the token
/// agent's scoped reads and capped writes (also in a transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc() {
    let classpath = javac(&drivers_dir().join("java/JdbcDriver.java"), "JdbcDriver").await;
    let gate = Gate::start().await;
    let mut cmd = command("java");
    cmd.args(["-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", &classpath])
        .args(["JdbcDriver", "127.0.0.1", &gate.port(), "shop", &gate.token]);
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    check(
        "pgjdbc",
        &output,
        &blocked,
        "connected: PostgreSQL true PostgreSQL JDBC Driver\n\
         aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
         prepared: [30, 30, 20, 80, 30, 20, 30] server-prepared=true\n\
         tables: customers order_items orders payment_methods products refunds staff_users\n\
         orders columns: id:int8 customer_id:int8 status:text total_cents:int4 currency:bpchar \
         shipping_country:bpchar notes:text created_at:timestamptz updated_at:timestamptz\n\
         orders primary key: id\n\
         orders indexes: orders_pkey(id) orders_customer_id_idx(customer_id) \
         orders_status_created_at_idx(status) orders_status_created_at_idx(created_at)\n\
         denied: 42501 reason: table_denied message: true hint: true\n\
         after denial: 200\n\
         transaction: true\n\
         error in transaction: 22012\n\
         after rollback: 20\n\
         denied in transaction: 42501 reason: table_denied message: true hint: true\n\
         streamed: 200 rows, sum 20100\n\
         still usable: 1\n\
         prepareThreshold=1: true true server-prepared=true\n\
         denied prepared: 42501 reason: column_denied message: true hint: true\n\
         after denial: 30\n\
         read-only transaction: on true\n\
         readOnlyMode=always: true on 30\n\
         read-only session: on 30\n\
         token read-only: on 6\n\
         token agent: [6, 6, 6, 6, 6, 6]\n\
         token denied: 42501 reason: scope_violation message: true hint: true\n\
         token after denial: 1\n\
         token write: 1\n\
         token write elsewhere: 0\n\
         token write in transaction: 1\n\
         closed\n",
        &[
            "SELECT password_hash FROM staff_users (table_denied)",
            "SELECT card_token FROM payment_methods (table_denied)",
            "SELECT email FROM customers WHERE id = $1 (column_denied)",
            "SELECT count(*) FROM orders WHERE customer_id = 7 (scope_violation)",
        ],
    );
}

// ---------------------------------------------------------------------------
// Go: pgx v4
// ---------------------------------------------------------------------------

/// Debian's golang-github-jackc-pgx-v4-dev and its dependencies.
const GOPATH: &str = "/usr/share/gocode";

/// Builds tests/drivers/go/pgx_driver.go (or `source`) in GOPATH mode
/// against Debian's Go packages, offline, into target/tmp unless the
/// binary there is newer; returns the binary.
async fn go_build(source: &Path, name: &str) -> PathBuf {
    assert!(
        Path::new(GOPATH)
            .join("src/github.com/jackc/pgx/v4/pgxpool")
            .is_dir(),
        "pgx v4 is missing from {GOPATH}: {INSTALL_HINT}"
    );
    let out = build_dir("go");
    let binary = out.join(name);
    if stale(&binary, &[source.to_path_buf()]) {
        let mut cmd = command("go");
        cmd.current_dir(source.parent().unwrap())
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOFLAGS", "")
            .env("GOPROXY", "off")
            .env("GOTOOLCHAIN", "local")
            .args(["build", "-o"])
            .arg(&binary)
            .arg(source);
        // Go needs a build cache: HOME's, or one in target/tmp.
        if std::env::var_os("GOCACHE").is_none() && std::env::var_os("HOME").is_none() {
            cmd.env("GOCACHE", out.join("cache"));
        }
        run_ok(cmd, "go build").await;
    }
    binary
}

/// pgx with its default statement cache, `statement_cache_mode=describe`
/// and `prefer_simple_protocol`, `BeginTx` with an isolation level and
/// read-only access, streaming rows, and pgxpool as both agents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgx() {
    let binary = go_build(&drivers_dir().join("go/pgx_driver.go"), "pgx_driver").await;
    let gate = Gate::start().await;
    let mut cmd = command(binary.to_str().unwrap());
    cmd.arg(gate.analytics_url()).arg(gate.token_url());
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    let refusal = "42501 reason: table_denied message: true hint: true";
    let statuses = "[30 30 20 80 30 20 30]";
    check(
        "pgx",
        &output,
        &blocked,
        &format!(
            "connected: true\n\
             aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
             denied: {refusal}\n\
             after denial: 200\n\
             streamed: 200 rows, sum 20100\n\
             read-only repeatable read: on true\n\
             error in transaction: 22012\n\
             denied in transaction: {refusal}\n\
             after rollback: 2\n\
             statement cache: {statuses} denied: {refusal} after: 30\n\
             describe: {statuses} denied: {refusal} after: 30\n\
             simple protocol: {statuses} denied: {refusal} after: 30\n\
             pool analytics: [30 30 30 30 30 30] denied: 42501 reason: column_denied \
             message: true hint: true after: 30\n\
             pool token: [6 6 6 6 6 6] denied: 42501 reason: scope_violation \
             message: true hint: true after: 6\n\
             closed\n"
        ),
        &[
            "SELECT password_hash FROM staff_users (table_denied)",
            "SELECT card_token FROM payment_methods WHERE customer_id = $1 (table_denied)",
            "SELECT password_hash FROM staff_users WHERE id = $1 (table_denied)",
            "SELECT password_hash FROM staff_users WHERE id = $1 (table_denied)",
            // prefer_simple_protocol: pgx puts the value into the text.
            "SELECT password_hash FROM staff_users WHERE id = 1 (table_denied)",
            "SELECT email FROM customers WHERE id = $1 (column_denied)",
            // Decided at Bind: the audit event has no SQL text.
            " (scope_violation)",
        ],
    );
}

// ---------------------------------------------------------------------------
// Node: node-postgres with pg-cursor, postgres.js, Kysely
// ---------------------------------------------------------------------------

/// node-postgres' pg-cursor and token pool, postgres.js and Kysely
/// (tests/drivers/node_clients.js; node_pg_driver.js in tests/drivers.rs
/// covers node-postgres itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_clients() {
    let mut probe = command("node");
    probe.args([
        "-e",
        "for (const m of ['pg', 'pg-cursor', 'postgres', 'kysely']) require(m)",
    ]);
    run_ok(
        probe,
        "node require('pg', 'pg-cursor', 'postgres', 'kysely')",
    )
    .await;
    let gate = Gate::start().await;
    let mut cmd = command("node");
    cmd.arg(drivers_dir().join("node_clients.js"))
        .arg(gate.analytics_url())
        .arg(gate.token_url());
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    let table_denied = "42501 reason: table_denied message: true hint: true";
    let scope = "42501 reason: scope_violation message: true hint: true";
    check(
        "node clients",
        &output,
        &blocked,
        &format!(
            "pg-cursor: 4 batches, sum 20100\n\
             pg read-only transaction: on\n\
             pg token pool: 6 6 6 6 denied: {scope} after: 1\n\
             postgres.js pipelined: 30 30 20 80 30 20 30\n\
             postgres.js denied: {table_denied}\n\
             postgres.js after denial: 30\n\
             postgres.js cursor: 3 batches, sum 20100\n\
             postgres.js read-only transaction: on true\n\
             postgres.js error then rollback: 22012 denied in transaction: 42501 reason: \
             column_denied message: true hint: true after: 2\n\
             postgres.js token: 6 6 6 denied: {scope}\n\
             kysely tables: customers order_items orders payment_methods products refunds \
             staff_users\n\
             kysely orders columns: id:int8 customer_id:int8 status:text total_cents:int4 \
             currency:bpchar shipping_country:bpchar notes:text created_at:timestamptz \
             updated_at:timestamptz\n\
             kysely aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 \
             shipped=30\n\
             kysely stream: 200\n\
             kysely denied: {table_denied} transaction: 30 denied in transaction: {table_denied}\n\
             closed\n"
        ),
        &[
            // Decided at Bind: the audit event has no SQL text.
            " (scope_violation)",
            "SELECT password_hash FROM staff_users (table_denied)",
            "SELECT email FROM customers WHERE id = $1 (column_denied)",
            " (scope_violation)",
            "select * from \"staff_users\" (table_denied)",
            "SELECT card_token FROM payment_methods (table_denied)",
        ],
    );
}

/// tests/drivers/features/JdbcFeatures.java: item 6 (pgjdbc readOnlyMode=always
/// then setAutoCommit(false) / setReadOnly(false) sends SET SESSION
/// CHARACTERISTICS AS TRANSACTION READ WRITE: setting_pinned today).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_read_only_always_then_a_transaction() {
    let source = drivers_dir().join("features/JdbcFeatures.java");
    let classpath = javac(&source, "JdbcFeatures").await;
    let gate = Gate::start().await;
    let mut cmd = command("java");
    cmd.args(["-cp", &classpath]).args([
        "JdbcFeatures",
        "127.0.0.1",
        &gate.port(),
        "shop",
        &gate.token,
    ]);
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    check(
        "pgjdbc features",
        &output,
        &blocked,
        "readOnlyMode=always then a transaction: ok on off\n",
        &[],
    );
}

/// tests/drivers/features/pgx_features.go: item 2 (BeginTx DEFERRABLE), item 9
/// (capped write in a transaction, BEGIN acknowledged first), item 8 (named
/// cursor).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgx_deferrable_capped_write_and_named_cursor() {
    let binary = go_build(
        &drivers_dir().join("features/pgx_features.go"),
        "pgx_features",
    )
    .await;
    let gate = Gate::start().await;
    let mut cmd = command(binary.to_str().unwrap());
    cmd.arg(gate.analytics_url()).arg(gate.token_url());
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    check(
        "pgx features",
        &output,
        &blocked,
        "BeginTx deferrable: ok on\n\
         capped write in a transaction: ok 1\n\
         named cursor: ok 10\n",
        &[],
    );
}
