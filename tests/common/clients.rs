//! Real client programs (psql, Python, Node.js, Java, Go) run against
//! actgate by the tests: found on `PATH`, started in tests/drivers with no
//! ambient connection settings, and run off the async runtime with a
//! deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// tests/drivers: the client scripts and their shared helpers.
pub fn drivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/drivers")
}

/// Finds a program on `PATH`, or fails the test with `install_hint`.
pub fn program(name: &str, install_hint: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} not found on PATH: {install_hint}"))
}

/// `name` run in tests/drivers with no ambient PostgreSQL connection
/// settings (libpq, node-postgres and pgx read `PG*` variables), no
/// start-up options of the runtimes, unbuffered byte-exact output, and
/// stdout and stderr piped.
pub fn command(name: &str, install_hint: &str) -> Command {
    let mut cmd = Command::new(program(name, install_hint));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
    cmd.current_dir(drivers_dir())
        .env("PGPASSFILE", "/dev/null")
        .env("PGSYSCONFDIR", "/nonexistent")
        .env("PGCONNECT_TIMEOUT", "10")
        .env("PYTHONPATH", drivers_dir())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env_remove("PYTHONSTARTUP")
        .env_remove("PSQLRC")
        .env_remove("DATABASE_URI")
        .env_remove("NODE_OPTIONS")
        .env_remove("JAVA_TOOL_OPTIONS")
        .env_remove("_JAVA_OPTIONS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` to completion off the async runtime (the proxy serving it
/// runs on that runtime), killing it after `timeout`.
pub async fn run(cmd: Command, timeout: Duration) -> Output {
    tokio::task::spawn_blocking(move || super::run_blocking(cmd, timeout))
        .await
        .expect("client runner panicked")
}

/// A capability token of the demo agent `support-bot` for customer 42,
/// valid for an hour.
pub fn support_bot_token() -> String {
    super::mint(
        "support-bot",
        "customer-42",
        &[("customer_id", "42")],
        Duration::from_secs(3600),
    )
    .0
}

/// A connection string for `support-bot` as customer 42 through `proxy`.
pub fn support_bot_url(proxy: &super::Proxy) -> String {
    actgate::token::connection_string(
        "support-bot",
        &support_bot_token(),
        "127.0.0.1",
        proxy.addr.port(),
        "shop",
    )
}

/// Fails the test unless `python` (a python3 [`command`]) runs `code`,
/// which imports `what`; `install_hint` says how to get it.
pub async fn require_python(
    mut python: Command,
    code: &str,
    what: &str,
    install_hint: &str,
    timeout: Duration,
) {
    python.arg("-c").arg(code);
    let output = run(python, timeout).await;
    assert!(
        output.status.success(),
        "python3 cannot import {what}: {install_hint}\n{}",
        super::describe(&output)
    );
}

/// The context for assertion messages about a client script's run: its
/// status and output, then `blocked`, the statements actgate blocked.
pub fn blocked_context(output: &Output, blocked: &str) -> String {
    format!(
        "{}\n--- statements actgate blocked ---\n{blocked}",
        super::describe(output)
    )
}

/// Asserts that `script` exited successfully and printed exactly
/// `expected`, with `context` in the failure messages.
pub fn assert_output(output: &Output, script: &str, expected: &str, context: &str) {
    assert!(output.status.success(), "{script} failed\n{context}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        expected,
        "{script} output\n{context}"
    );
}
