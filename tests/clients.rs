//! Real PostgreSQL client programs through actgate: psql running a script
//! (multi-statement queries, `\copy` in both directions, a rolled-back
//! transaction) and pgbench in every query mode. Also checks that the
//! documented example config at the repository root is valid.
//!
//! The programs come from `PATH`; when one is missing the test fails and
//! says so (scripts/test.sh installs them).

mod common;

use common::{ANALYTICS, Proxy, TESTER};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// `PGCONNECT_TIMEOUT` for every client program, in seconds.
const CONNECT_TIMEOUT_SECS: &str = "10";
/// A client program still running after this long is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// Finds a client program on `PATH`, or fails the test saying how to get it.
fn client_program(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} not found on PATH: these tests run the real PostgreSQL client programs \
                 psql and pgbench through actgate; scripts/test.sh installs them \
                 (on Debian/Ubuntu psql is in postgresql-client, pgbench in postgresql)"
            )
        })
}

/// A command for a client program with a connect timeout and no ambient
/// connection settings (service files, password files, psqlrc).
fn client(name: &str) -> Command {
    let mut cmd = Command::new(client_program(name));
    cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .env("PGPASSFILE", "/dev/null")
        .env("PGSYSCONFDIR", "/nonexistent")
        .env_remove("PGSERVICE")
        .env_remove("PGSERVICEFILE")
        .env_remove("PGOPTIONS")
        .env_remove("PGSSLMODE")
        .env_remove("PSQLRC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a command to completion off the async runtime (the proxy serving
/// it runs on that runtime), killing it after [`RUN_TIMEOUT`].
async fn run(cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || common::run_blocking(cmd, RUN_TIMEOUT))
        .await
        .expect("client program runner panicked")
}

fn unique_suffix() -> String {
    format!("{}_{:08x}", std::process::id(), rand::random::<u32>())
}

// ---------------------------------------------------------------------------
// psql
// ---------------------------------------------------------------------------

/// Rows written with `\copy from` and expected back byte for byte from
/// `\copy to`: formatted exactly as PostgreSQL writes CSV (quotes only where
/// needed, NULL as an empty unquoted field, `""` for an empty string).
fn copy_csv(generated_rows: u32) -> String {
    let mut csv = String::from(
        "id,name,note\n\
         1,plain,\n\
         2,\"comma, inside\",\"quote \"\" inside\"\n\
         3,\"multi\nline\",ünïcødé ✓\n\
         4,\"\",back\\slash; semi\n",
    );
    for i in 5..5 + generated_rows {
        csv.push_str(&format!(
            "{i},name {i},note {}\n",
            "x".repeat((i % 50) as usize)
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_script_with_multi_statements_copy_and_transaction() {
    let mut psql = client("psql");
    let proxy = Proxy::start().await;
    let dir = tempfile::tempdir().unwrap();
    let csv_in = dir.path().join("in.csv");
    let csv_out = dir.path().join("out.csv");
    let script = dir.path().join("script.sql");
    let table = format!("clients_copy_{}", unique_suffix());
    const GENERATED: u32 = 3000;
    let rows = 4 + GENERATED;
    let input = copy_csv(GENERATED);
    std::fs::write(&csv_in, &input).unwrap();
    std::fs::write(
        &script,
        format!(
            "SELECT 1 AS one; SELECT 'two' AS two;\n\
             SELECT 3 \\; SELECT 'four';\n\
             CREATE TABLE {table} (id int PRIMARY KEY, name text NOT NULL, note text);\n\
             \\copy {table} from '{csv_in}' with (format csv, header true)\n\
             SELECT count(*), count(note), sum(length(name)) FROM {table};\n\
             \\copy (SELECT id, name, note FROM {table} ORDER BY id) to '{csv_out}' with (format csv, header true)\n\
             BEGIN;\n\
             INSERT INTO {table} VALUES (0, 'rolled back', NULL);\n\
             SELECT count(*) FROM {table};\n\
             ROLLBACK;\n\
             SELECT count(*), min(id) FROM {table};\n\
             DROP TABLE {table};\n",
            csv_in = csv_in.display(),
            csv_out = csv_out.display(),
        ),
    )
    .unwrap();

    psql.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d"])
        .arg(proxy.url(TESTER, "shop"))
        .arg("-f")
        .arg(&script);
    let output = run(psql).await;
    assert!(
        output.status.success(),
        "psql failed\n{}",
        common::describe(&output)
    );
    assert!(
        output.stderr.is_empty(),
        "psql wrote to stderr\n{}",
        common::describe(&output)
    );

    // length(name) summed: the four hand-written names, then "name {i}".
    let name_lengths: usize = ["plain", "comma, inside", "multi\nline", ""]
        .iter()
        .map(|n| n.len())
        .chain((5..5 + GENERATED).map(|i| format!("name {i}").len()))
        .sum();
    let expected = format!(
        "1\n\
         two\n\
         3\n\
         four\n\
         CREATE TABLE\n\
         COPY {rows}\n\
         {rows}|{rows_with_note}|{name_lengths}\n\
         COPY {rows}\n\
         BEGIN\n\
         INSERT 0 1\n\
         {rows_plus_one}\n\
         ROLLBACK\n\
         {rows}|1\n\
         DROP TABLE\n",
        rows_with_note = rows - 1,
        rows_plus_one = rows + 1,
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        expected,
        "psql output\n{}",
        common::describe(&output)
    );
    let copied = std::fs::read_to_string(&csv_out).unwrap();
    assert!(
        copied == input,
        "\\copy to wrote {} bytes, expected the {} bytes loaded; first difference at line {:?}",
        copied.len(),
        input.len(),
        copied
            .lines()
            .zip(input.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
    );

    // The table is gone and the session ended cleanly: nothing left behind.
    let admin = common::connect_direct().await;
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = $1",
            &[&table],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "{table} still exists");
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_reports_errors_and_keeps_the_session_usable() {
    let mut psql = client("psql");
    let proxy = Proxy::start().await;
    // Without ON_ERROR_STOP psql carries on after an error: the session must
    // still work, including after a failed transaction is rolled back.
    psql.args(["-X", "-A", "-t", "-d"])
        .arg(proxy.url(TESTER, "shop"))
        .args([
            "-c",
            "SELECT 1/0",
            "-c",
            "BEGIN",
            "-c",
            "SELECT no_such_column FROM orders",
            "-c",
            "SELECT 1",
            "-c",
            "ROLLBACK",
            "-c",
            "SELECT count(*) FROM orders",
        ]);
    let output = run(psql).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stdout,
        "BEGIN\nROLLBACK\n200\n",
        "{}",
        common::describe(&output)
    );
    assert!(
        stderr.contains("division by zero")
            && stderr.contains("no_such_column")
            && stderr.contains("current transaction is aborted"),
        "{}",
        common::describe(&output)
    );
    proxy.stop().await;
}

/// psql 15's describe commands, each with a line of its output: the whole
/// `\d` family, including those whose catalog reads the driver profile
/// allows (system columns such as `tableoid`, pg_cast, pg_opfamily,
/// pg_get_functiondef, …).
const PSQL_DESCRIBE_COMMANDS: &[(&str, &str)] = &[
    ("\\d", "List of relations"),
    ("\\d+ orders", "Table \"public.orders\""),
    ("\\dt", "order_items"),
    ("\\di", "orders_customer_id_idx"),
    ("\\dv", "clients_order_totals"),
    ("\\df", "List of functions"),
    ("\\df+", "List of functions"),
    ("\\dn", "public"),
    ("\\du", "List of roles"),
    ("\\l", "shop"),
    ("\\l+", "shop"),
    ("\\db", "pg_default"),
    (
        "\\sf pg_catalog.lower(text)",
        "CREATE OR REPLACE FUNCTION pg_catalog.lower(text)",
    ),
    ("\\do", "List of operators"),
    ("\\dy", "List of event triggers"),
    ("\\dF", "english"),
    ("\\dd", "Object descriptions"),
    ("\\dC", "(binary coercible)"),
    ("\\dc", "List of conversions"),
    ("\\dconfig", "List of non-default configuration parameters"),
    ("\\dL", "plpgsql"),
    ("\\dx", "plpgsql"),
    ("\\dT", "List of data types"),
];

/// A view for `\dv` to list (the demo schema has none), made once per
/// test binary as the superuser.
fn describe_fixture() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        common::database()
            .pg
            .psql(
                "shop",
                "CREATE VIEW clients_order_totals AS \
                 SELECT status, count(*) AS orders FROM orders GROUP BY status;",
            )
            .expect("creating the view \\dv lists");
    });
}

/// Splits psql output at `\echo` markers `==> NAME`: each marker's name
/// and the output up to the next one.
fn sections(stdout: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("==> ") {
            out.push((name.to_owned(), String::new()));
        } else if let Some((_, text)) = out.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    out
}

/// Runs `script` in one psql session as the analytics agent through an
/// audited actgate (psql carries on after errors); returns psql's output
/// and the SQL of every statement actgate blocked.
async fn psql_as_analytics(script: &str) -> (Output, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let path = dir.path().join("script.sql");
    std::fs::write(&path, script).unwrap();
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "sql_max_bytes = 65536")).await;
    let mut psql = client("psql");
    psql.args(["-X", "-d"])
        .arg(proxy.url(ANALYTICS, "shop"))
        .arg("-f")
        .arg(&path);
    let output = run(psql).await;
    proxy.stop().await;
    // The script ends with COMMIT: once that is logged, so is the rest.
    let blocked = common::audit_events_when(&audit, |events| {
        events.iter().any(|e| e["sql"] == "COMMIT;")
    })
    .await
    .iter()
    .filter(|e| e["event"] == "statement_blocked")
    .map(|e| {
        format!(
            "{} ({})",
            e["sql"].as_str().unwrap_or_default(),
            e["reason"]
        )
    })
    .collect();
    (output, blocked)
}

/// The `\d` family, a refused statement (ERROR, DETAIL and HINT on
/// stderr) and ordinary queries after it, all in one psql session as the
/// analytics agent: nothing but the script's own refusal is blocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describe_commands_and_a_refusal_as_the_analytics_agent() {
    tokio::task::spawn_blocking(describe_fixture).await.unwrap();
    let mut script = String::new();
    // Markers by number: psql reads backslashes in `\echo` arguments.
    for (i, (command, _)) in PSQL_DESCRIBE_COMMANDS.iter().enumerate() {
        script.push_str(&format!("\\echo '==> {i}'\n{command}\n"));
    }
    script.push_str(
        "\\echo '==> refused'\n\
         SELECT password_hash FROM staff_users;\n\
         \\echo '==> after'\n\
         SELECT count(*) AS orders FROM orders WHERE status = 'paid';\n\
         \\echo '==> transaction'\n\
         BEGIN;\n\
         SELECT sum(total_cents) > 0 AS revenue FROM orders;\n\
         COMMIT;\n",
    );
    let (output, blocked) = psql_as_analytics(&script).await;
    let context = format!(
        "{}\n--- blocked ---\n{}",
        common::describe(&output),
        blocked.join("\n")
    );
    assert!(output.status.success(), "psql failed\n{context}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let found = sections(&stdout);
    let mut failures = Vec::new();
    for (i, (command, expected)) in PSQL_DESCRIBE_COMMANDS.iter().enumerate() {
        match found.iter().find(|(name, _)| *name == i.to_string()) {
            Some((_, text)) if text.contains(expected) => {}
            other => failures.push(format!("{command}: expected {expected:?} in {other:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} describe commands failed:\n{}\n{context}",
        failures.len(),
        PSQL_DESCRIBE_COMMANDS.len(),
        failures.join("\n")
    );
    let tail: Vec<&(String, String)> = found.iter().rev().take(3).collect();
    assert_eq!(tail[2], &("refused".to_owned(), String::new()), "{context}");
    assert_eq!(
        tail[1],
        &(
            "after".to_owned(),
            " orders \n--------\n     30\n(1 row)\n\n".to_owned()
        ),
        "{context}"
    );
    assert_eq!(
        tail[0].1, "BEGIN\n revenue \n---------\n t\n(1 row)\n\nCOMMIT\n",
        "{context}"
    );
    // The refusal, as psql shows it: the only thing on stderr.
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{context}");
    assert!(
        lines[0].contains("ERROR:  actgate denied access to table public.staff_users")
            && lines[0].contains("staff_users"),
        "{context}"
    );
    assert!(
        lines[1].starts_with("DETAIL:  reason: table_denied"),
        "{context}"
    );
    assert!(lines[2].starts_with("HINT:  "), "{context}");
    assert_eq!(
        blocked,
        ["SELECT password_hash FROM staff_users; (\"table_denied\")"],
        "{context}"
    );
}

// ---------------------------------------------------------------------------
// pgbench
// ---------------------------------------------------------------------------

const PGBENCH_CLIENTS: u32 = 4;
const PGBENCH_TRANSACTIONS: u32 = 200;

fn pgbench_major_version() -> u32 {
    let output = common::run_blocking(
        {
            let mut c = client("pgbench");
            c.arg("--version");
            c
        },
        RUN_TIMEOUT,
    );
    assert!(output.status.success(), "{}", common::describe(&output));
    // "pgbench (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find_map(|w| w.split('.').next()?.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the pgbench version from {text:?}"))
}

/// Creates the pgbench tables (scale 1) in `shop`, once per test binary,
/// directly as the superuser, and lets actgate's upstream role use them.
fn pgbench_tables() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let db = common::database();
        let mut init = client("pgbench");
        init.args(["-i", "-s", "1", "-q"]).arg(db.pg.url("shop"));
        let output = common::run_blocking(init, RUN_TIMEOUT);
        assert!(
            output.status.success(),
            "pgbench -i failed\n{}",
            common::describe(&output)
        );
        let role = actgate::demo::UPSTREAM_ROLE;
        db.pg
            .psql(
                "shop",
                &format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON pgbench_accounts, pgbench_branches, \
                     pgbench_tellers, pgbench_history TO {role};"
                ),
            )
            .expect("granting the pgbench tables");
    });
}

/// A custom pgbench script an analytics agent might run: a parameterised
/// lookup and an aggregate over the demo shop, read-only.
const PGBENCH_READ_SCRIPT: &str = "\\set id random(1, 200)\n\
     SELECT status, total_cents FROM orders WHERE id = :id;\n\
     SELECT count(*), sum(total_cents) FROM orders WHERE customer_id = :id % 50 + 1;\n";

/// Transactions per client for the short read-only runs.
const PGBENCH_READ_TRANSACTIONS: u32 = 50;

/// One pgbench run through `proxy` as `agent`; checks that every
/// transaction went through with no failure, and that pgbench names
/// `script` (the built-in script's title, or the custom file) and `mode`.
async fn pgbench_run(
    proxy: &Proxy,
    agent: (&str, &str),
    mode: &str,
    script_args: &[&str],
    script: &str,
    transactions: u32,
    major: u32,
) {
    let mut bench = client("pgbench");
    bench
        .args(["-n", "-c", &PGBENCH_CLIENTS.to_string(), "-j", "2"])
        .args(["-t", &transactions.to_string(), "-M", mode])
        .args(script_args)
        .arg(proxy.url(agent, "shop"));
    let output = run(bench).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let what = format!("pgbench -M {mode} {}", script_args.join(" "));
    assert!(
        output.status.success(),
        "{what} failed\n{}",
        common::describe(&output)
    );
    assert!(
        stdout.contains(script),
        "{what}: {script:?} expected\n{}",
        common::describe(&output)
    );
    assert!(
        stdout.contains(&format!("query mode: {mode}\n")),
        "{what}\n{}",
        common::describe(&output)
    );
    let total = PGBENCH_CLIENTS * transactions;
    assert!(
        stdout.contains(&format!(
            "number of transactions actually processed: {total}/{total}\n"
        )),
        "{what}\n{}",
        common::describe(&output)
    );
    // pgbench 15 counts failed transactions; older versions abort instead.
    if major >= 15 {
        assert!(
            stdout.contains("number of failed transactions: 0 (0.000%)\n"),
            "{what}\n{}",
            common::describe(&output)
        );
    }
    assert!(
        !stdout.contains("number of failed transactions: ") || major >= 15,
        "{what}\n{}",
        common::describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("error") && !stderr.contains("ERROR"),
        "{what}\n{}",
        common::describe(&output)
    );
}

/// pgbench in query mode `mode`: its default TPC-B-like script and `-S`
/// (select-only) as the tester agent over the pgbench tables, and a custom
/// read script as the analytics agent over the demo shop.
async fn pgbench_through_actgate(mode: &str) {
    tokio::task::spawn_blocking(pgbench_tables).await.unwrap();
    let major = tokio::task::spawn_blocking(pgbench_major_version)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let read_script = dir.path().join("shop-read.sql");
    std::fs::write(&read_script, PGBENCH_READ_SCRIPT).unwrap();
    let read_script = read_script.display().to_string();
    let proxy = Proxy::start().await;
    pgbench_run(
        &proxy,
        TESTER,
        mode,
        &[],
        "TPC-B (sort of)",
        PGBENCH_TRANSACTIONS,
        major,
    )
    .await;
    pgbench_run(
        &proxy,
        TESTER,
        mode,
        &["-S"],
        "<builtin: select only>",
        PGBENCH_READ_TRANSACTIONS,
        major,
    )
    .await;
    pgbench_run(
        &proxy,
        ANALYTICS,
        mode,
        &["-f", &read_script],
        &read_script,
        PGBENCH_READ_TRANSACTIONS,
        major,
    )
    .await;
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_simple_protocol() {
    pgbench_through_actgate("simple").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_extended_protocol() {
    pgbench_through_actgate("extended").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_prepared_statements() {
    pgbench_through_actgate("prepared").await;
}

// ---------------------------------------------------------------------------
// actgate.example.toml
// ---------------------------------------------------------------------------

/// The variable the example config reads the upstream password from.
const EXAMPLE_PASSWORD_ENV: &str = "ACTGATE_UPSTREAM_PASSWORD";

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("actgate.example.toml")
}

/// Every key `actgate.toml` accepts, as `table.key`.
const CONFIG_KEYS: &[&str] = &[
    "server.listen",
    "server.rules_dir",
    "server.rules_poll_ms",
    "server.rules_settle_ms",
    "server.workers",
    "server.max_connections",
    "server.max_unauthenticated_connections",
    "server.max_message_bytes",
    "server.max_backend_message_bytes",
    "server.max_sql_bytes",
    "server.startup_timeout_ms",
    "server.idle_timeout_ms",
    "server.shutdown_grace_ms",
    "server.allow_cleartext_without_tls",
    "tls.cert_file",
    "tls.key_file",
    "upstream.host",
    "upstream.port",
    "upstream.user",
    "upstream.password_env",
    "upstream.password_file",
    "upstream.connect_timeout_ms",
    "upstream.search_path",
    "upstream.tls",
    "upstream.ca_file",
    "audit.path",
    "audit.queue_capacity",
    "audit.sql_max_bytes",
    "audit.on_failure",
    "tokens.public_keys",
    "tokens.revocation_file",
    "tokens.revocation_poll_ms",
    "tokens.keys.public_key",
    "tokens.keys.agents",
    "controls.time_zone",
    "admin.listen",
    "admin.token_file",
    "alerts.webhooks",
    "alerts.min_risk",
    "alerts.queue_capacity",
    "alerts.timeout_ms",
    "alerts.max_attempts",
    "alerts.backoff_ms",
    "alerts.ca_file",
    "state.store",
    "state.url",
    "state.password_env",
    "state.password_file",
    "state.tls",
    "state.ca_file",
    "state.connect_timeout_ms",
    "log.format",
];

/// The table a line opens, set (`[name]`) or commented out (`# [name]`);
/// an array of tables (`[[name]]`) too.
fn table_header(line: &str) -> Option<&str> {
    let inner = line
        .strip_prefix("# ")
        .unwrap_or(line)
        .strip_prefix('[')?
        .strip_suffix(']')?;
    Some(
        inner
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .unwrap_or(inner),
    )
}

/// The key of a `key = value` line, set or commented out, and whether it
/// is commented out.
fn key_line(line: &str) -> Option<(&str, bool)> {
    let (rest, commented) = match line.strip_prefix("# ") {
        Some(rest) => (rest, true),
        None => (line, false),
    };
    let (key, _) = rest.split_once(" = ")?;
    (!key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .then_some((key, commented))
}

/// The example with its commented-out `[table]` switched on: the header and
/// its commented-out `key = value` lines, up to the next table.
fn uncomment_table(text: &str, table: &str) -> String {
    let mut inside = false;
    text.lines()
        .map(|line| {
            if let Some(t) = table_header(line) {
                inside = t == table;
            }
            let commented = table_header(line).is_some() || key_line(line).is_some_and(|(_, c)| c);
            match line.strip_prefix("# ") {
                Some(rest) if inside && commented => rest.to_owned(),
                _ => line.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn example_config_is_valid_and_documents_every_key() {
    let path = example_path();
    let text = std::fs::read_to_string(&path).expect("actgate.example.toml at the repository root");
    let password_line = format!("password_env = \"{EXAMPLE_PASSWORD_ENV}\"");
    assert!(
        text.lines().any(|l| l == password_line),
        "the example reads the upstream password from {EXAMPLE_PASSWORD_ENV}"
    );

    // Every key appears in its table, set or commented out, with a comment
    // above it; and the example shows no key that does not exist.
    let lines: Vec<&str> = text.lines().collect();
    let mut table = "";
    let mut seen = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(t) = table_header(line) {
            table = t;
        } else if let Some((key, _)) = key_line(line) {
            let full = format!("{table}.{key}");
            assert!(
                CONFIG_KEYS.contains(&full.as_str()),
                "the example shows {full}, which is not a config key"
            );
            assert!(
                i > 0 && lines[i - 1].starts_with('#') && key_line(lines[i - 1]).is_none(),
                "{full} has no comment above it"
            );
            seen.push(full);
        }
    }
    for key in CONFIG_KEYS {
        assert!(seen.iter().any(|s| s == key), "{key} is not in the example");
    }

    // Config::load reads the real file; the password variable is the only
    // thing it can miss (reading the environment needs no unsafe code).
    match actgate::config::Config::load(&path) {
        Err(actgate::config::ConfigError::Password(message)) => {
            assert!(message.contains(EXAMPLE_PASSWORD_ENV), "{message}")
        }
        Err(e) => panic!("actgate.example.toml is invalid: {e}"),
        Ok(config) => assert_eq!(
            config.upstream.password.as_deref(),
            std::env::var(EXAMPLE_PASSWORD_ENV).ok().as_deref()
        ),
    }

    // With the password from a file instead, it loads, and the values it
    // shows are the defaults it claims they are.
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("upstream-password");
    std::fs::write(&password_file, "s3cret\n").unwrap();
    let with_file = text.replace(
        &password_line,
        &format!("password_file = {:?}", password_file.display().to_string()),
    );
    let base = path.parent().unwrap();
    let parse = |text: &str| {
        actgate::config::Config::from_toml(text, &path, base)
            .unwrap_or_else(|e| panic!("{e}\n--- config ---\n{text}"))
    };
    let example = parse(&with_file);
    let defaults = parse(&format!(
        "[upstream]\nuser = {:?}\n\n[audit]\npath = \"audit.jsonl\"\n",
        example.upstream.user
    ));
    assert_eq!(example.upstream.password.as_deref(), Some("s3cret"));
    assert_eq!(example.listen, defaults.listen);
    assert_eq!(example.rules_dir, defaults.rules_dir);
    assert_eq!(example.rules_dir, base.join("rules"));
    assert_eq!(example.rules_settle, defaults.rules_settle);
    assert!(example.rules_dir.is_dir(), "the example points at rules/");
    let (e, d) = (&example.limits, &defaults.limits);
    assert_eq!(e.max_connections, d.max_connections);
    assert_eq!(
        e.max_unauthenticated_connections,
        d.max_unauthenticated_connections
    );
    assert_eq!(e.max_message_bytes, d.max_message_bytes);
    assert_eq!(e.max_backend_message_bytes, d.max_backend_message_bytes);
    assert_eq!(e.max_sql_bytes, d.max_sql_bytes);
    assert_eq!(e.startup_timeout, d.startup_timeout);
    assert_eq!(e.idle_timeout, d.idle_timeout);
    assert_eq!(e.shutdown_grace, d.shutdown_grace);
    assert_eq!(
        example.allow_cleartext_without_tls,
        defaults.allow_cleartext_without_tls
    );
    assert!(example.tls.is_none(), "[tls] is commented out");
    assert!(example.audit.is_none(), "[audit] is commented out");
    let (e, d) = (&example.upstream, &defaults.upstream);
    assert_eq!(e.host, d.host);
    assert_eq!(e.port, d.port);
    assert_eq!(e.connect_timeout, d.connect_timeout);
    assert_eq!(e.search_path, d.search_path);
    assert_eq!(e.tls, d.tls);
    assert_eq!(e.ca_file, d.ca_file);
    // The rules the example points at load.
    actgate::rules::RuleSet::load_dir(&example.rules_dir, &example.upstream.search_path_list())
        .expect("rules/ loads");

    // Each commented-out key of a set table is valid once switched on (the
    // password_file line is already switched on above), and shows the
    // default where there is one.
    let with_lines: Vec<&str> = with_file.lines().collect();
    let mut table = "";
    for (i, line) in with_lines.iter().enumerate() {
        if let Some(t) = table_header(line) {
            table = if line.starts_with('#') { "" } else { t };
            continue;
        }
        let Some((key, true)) = key_line(line) else {
            continue;
        };
        if table.is_empty() || (table == "upstream" && key == "password_file") {
            continue;
        }
        let mut edited = with_lines.clone();
        edited[i] = &line[2..];
        let config = parse(&edited.join("\n"));
        if key == "max_sql_bytes" {
            assert_eq!(config.limits.max_sql_bytes, defaults.limits.max_sql_bytes);
        }
    }

    // The commented-out [tls] and [audit] tables are valid too once switched
    // on, and [audit] shows the defaults.
    let uncommented = uncomment_table(&uncomment_table(&with_file, "tls"), "audit");
    let config = parse(&uncommented);
    let tls = config.tls.expect("[tls] switched on");
    assert!(tls.cert_file.starts_with(base), "{tls:?}");
    assert!(tls.key_file.starts_with(base), "{tls:?}");
    let audit = config.audit.expect("[audit] switched on");
    let default_audit = defaults.audit.unwrap();
    assert!(audit.path.starts_with(base), "{audit:?}");
    assert_eq!(audit.queue_capacity, default_audit.queue_capacity);
    assert_eq!(audit.sql_max_bytes, default_audit.sql_max_bytes);
    assert_eq!(audit.on_failure, default_audit.on_failure);
    // [tokens] and its [[tokens.keys]] switched on: one key for every
    // agent, one bound to some.
    let tokens = parse(&uncomment_table(
        &uncomment_table(&with_file, "tokens"),
        "tokens.keys",
    ))
    .tokens
    .expect("[tokens] switched on");
    assert_eq!(tokens.public_keys.len(), 1);
    assert_eq!(tokens.bound_keys.len(), 1, "{tokens:?}");
    assert_eq!(tokens.bound_keys[0].agents.len(), 2, "{tokens:?}");
    // [controls] switched on shows the default time zone.
    let controls = parse(&uncomment_table(&with_file, "controls"));
    assert_eq!(controls.time_zone, defaults.time_zone);
    assert_eq!(controls.time_zone, jiff::tz::TimeZone::UTC);
}

/// `\copy (query) to stdout` and `\copy table to stdout` as the analytics
/// agent; today both are statement_class_denied (copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copy_to_stdout_as_the_analytics_agent() {
    let (output, blocked) = psql_as_analytics(
        "\\copy (SELECT id, status FROM orders WHERE id <= 3 ORDER BY id) to stdout\n\
         \\copy products (sku) to stdout\n\
         \\copy (SELECT email FROM customers) to stdout\n\
         SELECT 1 AS still_usable;\n\
         BEGIN;\nCOMMIT;\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("1\tpaid\n") || stdout.starts_with("1\t"),
        "{}",
        common::describe(&output)
    );
    // The denied column stays denied inside COPY.
    assert_eq!(
        blocked,
        ["COPY  ( SELECT email FROM customers ) TO STDOUT  (\"column_denied\")"]
    );
}
