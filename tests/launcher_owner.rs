//! A throwaway PostgreSQL must never outlive the process that started it,
//! even when that process is SIGKILLed or exits without dropping a
//! `static` [`TempPostgres`].
//!
//! This target has no libtest harness (`harness = false`): the same binary
//! is both the parent that runs the checks and, re-executed with
//! [`OWNER_MODE_ENV`] set, the owner child that starts the cluster and then
//! dies. It prints a libtest-style summary line so CI sees the count.

use std::io::{self, BufRead, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use actgate::launcher::{BIN_DIR_ENV, LaunchOptions, TempPostgres, find_bin_dir};

/// Set (to `kill` or `exit`) in the child: start a cluster, report, die.
const OWNER_MODE_ENV: &str = "ACTGATE_LAUNCHER_OWNER_MODE";
const READY_MARKER: &str = "ACTGATE_OWNER_READY ";
const READY_TIMEOUT: Duration = Duration::from_secs(60);
const GONE_TIMEOUT: Duration = Duration::from_secs(30);

type Check = fn() -> Result<(), String>;

const CHECKS: &[(&str, Check)] = &[
    ("server_stops_when_owner_is_killed", || {
        assert_server_dies_with_owner("kill")
    }),
    ("server_stops_when_owner_exits_without_dropping", || {
        assert_server_dies_with_owner("exit")
    }),
];

fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(OWNER_MODE_ENV) {
        return owner_child(&mode);
    }

    // Enough of libtest's command line for `cargo test <filter>`, `--exact`,
    // `--list` and `--ignored` (there are no ignored checks) to behave as
    // usual; other flags (`--nocapture`, `--test-threads`...) do not apply.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let filters: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .collect();
    let selected: Vec<&(&str, Check)> = CHECKS
        .iter()
        .filter(|_| !flag("--ignored"))
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if flag("--exact") {
                        name == f
                    } else {
                        name.contains(f)
                    }
                })
        })
        .collect();
    let filtered_out = CHECKS.len() - selected.len();
    if flag("--list") {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }

    println!();
    let count = selected.len();
    println!("running {count} test{}", if count == 1 { "" } else { "s" });
    let mut failures = Vec::new();
    for (name, check) in &selected {
        let started = Instant::now();
        // A panic inside a check counts as a failure, not a crash of the run.
        let outcome = std::panic::catch_unwind(*check)
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
        match outcome {
            Ok(()) => println!("test {name} ... ok ({:.1?})", started.elapsed()),
            Err(message) => {
                println!("test {name} ... FAILED");
                failures.push((*name, message));
            }
        }
    }

    if !failures.is_empty() {
        println!();
        println!("failures:");
        for (name, message) in &failures {
            println!();
            println!("---- {name} ----");
            println!("{message}");
        }
        println!();
        println!("failures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    let failed = failures.len();
    let passed = selected.len() - failed;
    println!();
    println!(
        "test result: {}. {passed} passed; {failed} failed; 0 ignored; 0 measured; \
         {filtered_out} filtered out",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    println!();
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// The child: starts a cluster it never drops, reports `port pid dir`, then
/// either exits at once (`exit`) or waits to be SIGKILLed (`kill`).
fn owner_child(mode: &str) -> ExitCode {
    static OWNED: OnceLock<TempPostgres> = OnceLock::new();
    let pg = match TempPostgres::start(&LaunchOptions::default()) {
        Ok(pg) => OWNED.get_or_init(|| pg),
        Err(e) => {
            // Not a pass: the parent reports this as the failure reason.
            eprintln!(
                "owner child could not start a throwaway PostgreSQL (install the server, \
                 e.g. run scripts/test.sh as root, or set {BIN_DIR_ENV}): {e}"
            );
            return ExitCode::from(2);
        }
    };
    let pid_file = pg.data_dir().join("postmaster.pid");
    let pid = match std::fs::read_to_string(&pid_file) {
        Ok(text) => text.lines().next().unwrap_or_default().trim().to_owned(),
        Err(e) => {
            eprintln!("owner child: reading {}: {e}", pid_file.display());
            return ExitCode::from(3);
        }
    };
    println!(
        "{READY_MARKER}{} {pid} {}",
        pg.port(),
        pg.root_dir().display()
    );
    let _ = io::stdout().flush();
    match mode {
        // Exit without running any destructor: statics are never dropped anyway.
        "exit" => std::process::exit(0),
        // Wait to be SIGKILLed by the parent.
        _ => loop {
            thread::sleep(Duration::from_secs(1));
        },
    }
}

/// Kills and reaps the child on every early return, so a failed check never
/// leaves its owner (and with it the cluster) running.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn assert_server_dies_with_owner(mode: &str) -> Result<(), String> {
    // Fail up front, and clearly, when there is no PostgreSQL at all.
    find_bin_dir().map_err(|e| {
        format!(
            "PostgreSQL is required (install the server, e.g. run scripts/test.sh as root, \
             or set {BIN_DIR_ENV}): {e}"
        )
    })?;
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(&exe)
        .env(OWNER_MODE_ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(Reap)
        .map_err(|e| format!("spawning the owner child {}: {e}", exe.display()))?;

    // Read the child's output on threads so a stuck child cannot hang the check.
    let (tx, rx) = mpsc::channel();
    let stdout = child.0.stdout.take().expect("piped stdout");
    let stderr = child.0.stderr.take().expect("piped stderr");
    for (stream, reader) in [
        ("stdout", Box::new(stdout) as Box<dyn io::Read + Send>),
        ("stderr", Box::new(stderr)),
    ] {
        let tx = tx.clone();
        thread::spawn(move || {
            for line in io::BufReader::new(reader).lines().map_while(Result::ok) {
                if tx.send((stream, line)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let deadline = Instant::now() + READY_TIMEOUT;
    let mut seen = Vec::new();
    let ready = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(("stdout", line)) if line.starts_with(READY_MARKER) => {
                break line[READY_MARKER.len()..].to_owned();
            }
            Ok((stream, line)) => seen.push(format!("[{stream}] {line}")),
            Err(e) => {
                let status = child.0.try_wait().ok().flatten();
                return Err(format!(
                    "owner child ({mode}) never became ready ({e}; exit status {status:?}); \
                     its output:\n{}",
                    seen.join("\n")
                ));
            }
        }
    };

    let mut parts = ready.splitn(3, ' ');
    let (Some(port), Some(pid), Some(dir)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("malformed ready line: {ready:?}"));
    };
    let port: u16 = port
        .parse()
        .map_err(|e| format!("bad port in {ready:?}: {e}"))?;
    let pid = pid.to_owned();
    let dir = PathBuf::from(dir);
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));

    // Control: the server is really up before its owner goes away.
    let listening = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
    if !proc_dir.exists() || !listening || !dir.exists() {
        return Err(format!(
            "server not running while its owner lives ({mode}): pid {pid} alive={} \
             listening={listening} dir_exists={}",
            proc_dir.exists(),
            dir.exists()
        ));
    }

    if mode == "kill" {
        // SIGKILL: no destructors, no atexit.
        child
            .0
            .kill()
            .map_err(|e| format!("killing the owner child: {e}"))?;
    }
    let status = child
        .0
        .wait()
        .map_err(|e| format!("waiting for the owner child: {e}"))?;
    if mode == "exit" && !status.success() {
        return Err(format!("owner child exited with {status}"));
    }

    let deadline = Instant::now() + GONE_TIMEOUT;
    loop {
        let listening = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
        let alive = proc_dir.exists();
        let dir_exists = Path::new(&dir).exists();
        if !listening && !alive && !dir_exists {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "postgres outlived its owner ({mode}) for {GONE_TIMEOUT:?}: port {port} \
                 listening={listening}, pid {pid} alive={alive}, {} exists={dir_exists}",
                dir.display()
            ));
        }
        thread::sleep(Duration::from_millis(100));
    }
}
