//! At its open-file limit actgate still answers: a login it has no file
//! descriptor for gets FATAL 53300 "too many open files in actgate" instead
//! of hanging in the accept backlog, and logins work again once
//! descriptors are free. The real `actgate serve` runs under bash's
//! `ulimit -n` (soft and hard limit: actgate cannot raise it), so the limit
//! of this test process is untouched.

mod common;

use common::TESTER;
use common::raw::RawConn;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The open-file limit actgate runs under: room for its runtime, listener
/// and a few dozen connections.
const FD_LIMIT: usize = 64;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `actgate serve` as a child process, killed when dropped, with its log
/// collected as it is written.
struct Served {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Runs `actgate serve --config <config>` after the bash `ulimit`
    /// commands `limits` (e.g. "-n 64").
    fn start(config: &Path, limits: &[&str]) -> Served {
        let ulimits: String = limits.iter().map(|l| format!("ulimit {l} && ")).collect();
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(format!("{ulimits}exec \"$0\" serve --config \"$1\""))
            .arg(env!("CARGO_BIN_EXE_actgate"))
            .arg(config)
            .env("RUST_LOG", "actgate=info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bash runs actgate serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Served { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for the log line saying actgate listens.
    async fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.log().contains("actgate listening") {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("actgate serve exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "actgate serve not listening after 60 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn try_login(addr: SocketAddr) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let url = format!(
        "postgres://{}:{}@{}:{}/shop",
        TESTER.0,
        TESTER.1,
        addr.ip(),
        addr.port()
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn db_error(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not an error from the server: {e:?}"));
    (db.code().code().to_owned(), db.message().to_owned())
}

/// A config for `actgate serve` on a free port, in `dir`; returns its
/// path and the address. Its slots are far above what the descriptors
/// of these tests allow, so descriptors run out first.
fn write_config(dir: &Path) -> (std::path::PathBuf, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let (text, _) = common::config_text_in(
        &common::rules_dir(),
        &addr.to_string(),
        "max_connections = 100\nmax_unauthenticated_connections = 100\n\
         startup_timeout_ms = 600000\nrules_poll_ms = 0",
        "",
    );
    let config = dir.join("actgate.toml");
    std::fs::write(&config, text).unwrap();
    (config, addr)
}

/// Connects and sends a StartupMessage; returns the connection and the
/// first answer.
async fn start_login(addr: SocketAddr) -> (RawConn, common::raw::Message) {
    let mut conn = RawConn::connect(addr).await;
    conn.startup(&[("user", TESTER.0), ("database", "shop")])
        .await;
    let m = conn
        .recv()
        .await
        .expect("connection closed without an answer");
    (conn, m)
}

#[tokio::test]
async fn the_soft_limit_is_raised_to_the_hard_limit_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (config, addr) = write_config(dir.path());
    let mut served = Served::start(&config, &["-Sn 64", "-Hn 1024"]);
    served.wait_listening().await;
    let log = served.log();
    assert!(log.contains("open-file limit raised"), "{log}");
    assert!(log.contains("from=64 to=1024"), "{log}");
    // 100 sessions and 100 waiting logins fit in 1024 descriptors.
    assert!(!log.contains("the open-file limit cannot hold"), "{log}");
    // More connections than 64 descriptors could hold are served.
    let mut waiting = Vec::new();
    for _ in 0..FD_LIMIT + 16 {
        let (conn, m) = start_login(addr).await;
        assert!(m.auth_code().is_some(), "unexpected {m:?}: {:?}", m.error());
        waiting.push(conn);
    }
    let client = try_login(addr).await.expect("a login");
    client.simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn a_login_at_the_open_file_limit_gets_a_clear_error_and_logins_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (config, addr) = write_config(dir.path());
    let mut served = Served::start(&config, &[&format!("-n {FD_LIMIT}")]);
    served.wait_listening().await;

    // max_connections cannot fit in 64 descriptors: said at start.
    let log = served.log();
    assert!(
        log.contains("the open-file limit cannot hold max_connections sessions"),
        "{log}"
    );

    // A login works.
    let first = try_login(addr).await.expect("login below the limit");
    first.simple_query("SELECT 1").await.unwrap();

    // Connections waiting to authenticate (one descriptor each) until
    // actgate has none left: the next one is told so, not left hanging.
    let mut waiting = Vec::new();
    let refusal = loop {
        assert!(
            waiting.len() < FD_LIMIT,
            "{} connections accepted under a limit of {FD_LIMIT} descriptors",
            waiting.len()
        );
        let (mut conn, m) = start_login(addr).await;
        if m.tag == b'E' {
            let e = m.error().unwrap();
            conn.expect_closed().await;
            break e;
        }
        assert!(m.auth_code().is_some(), "unexpected {m:?}");
        waiting.push(conn);
    };
    assert_eq!(refusal.severity, "FATAL", "{refusal:?}");
    assert_eq!(refusal.code, "53300", "{refusal:?}");
    assert_eq!(refusal.message, "too many open files in actgate");

    // A driver's login is refused the same way, and the open session
    // keeps working.
    let e = try_login(addr)
        .await
        .expect_err("login with no descriptor left");
    assert_eq!(
        db_error(&e),
        ("53300".into(), "too many open files in actgate".into())
    );
    first.simple_query("SELECT 1").await.unwrap();

    // Once the waiting connections close, logins work again. (actgate
    // closes its ends as it notices: retry, every refusal being a clear
    // error.)
    drop(waiting);
    let mut attempts = 0;
    let again = loop {
        match try_login(addr).await {
            Ok(client) => break client,
            Err(e) => {
                let (code, message) = db_error(&e);
                assert!(
                    code == "53300" || code == "08006",
                    "unexpected refusal {code} {message}"
                );
                attempts += 1;
                assert!(attempts < 200, "no login after the connections closed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    again.simple_query("SELECT 1").await.unwrap();
    first.simple_query("SELECT 1").await.unwrap();

    let log = served.log();
    assert!(
        log.contains("connection refused: too many open files"),
        "{log}"
    );
}
