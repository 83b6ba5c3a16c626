//! Shared harness for the integration tests: one throwaway PostgreSQL per
//! test binary (with the demo shop database) and actgate running
//! in-process on 127.0.0.1:0 in front of it, governed by the shipped rules.
#![allow(dead_code)]

pub mod clients;
pub mod policy;
pub mod raw;

use actgate::config::Config;
use actgate::demo::DemoDatabase;
use actgate::proxy::Gateway;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// A secret-login agent with the support policy (tests/rules/support-desk.toml).
pub const SUPPORT_BOT: (&str, &str) = ("support-desk", "support-desk-secret");
pub const ANALYTICS: (&str, &str) = ("analytics", "analytics-demo-secret");
/// Test-only agent (tests/rules/tester.toml) with broad rights, for tests
/// of protocol behaviour rather than policy.
pub const TESTER: (&str, &str) = ("tester", "tester-secret");

struct Cluster {
    db: DemoDatabase,
    scratch: tempfile::TempDir,
    password_file: PathBuf,
    rules_dir: PathBuf,
    private_key: PathBuf,
    public_key: PathBuf,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let db = DemoDatabase::start(&["shop"]).unwrap_or_else(|e| {
            panic!(
                "integration tests need a PostgreSQL server (initdb/postgres on PATH or under \
                 /usr/lib/postgresql/*/bin; scripts/test.sh installs it): {e}"
            )
        });
        let scratch = tempfile::tempdir().expect("scratch dir");
        let password_file = db
            .write_password_file(scratch.path())
            .expect("password file");
        // The shipped rules plus the test-only agents.
        let rules_dir = scratch.path().join("rules");
        std::fs::create_dir(&rules_dir).expect("rules dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [root.join("rules"), root.join("tests/rules")] {
            for entry in std::fs::read_dir(&dir).expect("rules") {
                let path = entry.expect("rules entry").path();
                if path.extension().is_some_and(|e| e == "toml") {
                    std::fs::copy(&path, rules_dir.join(path.file_name().unwrap()))
                        .expect("copy rules");
                }
            }
        }
        let private_key = scratch.path().join("keys/actgate.key");
        let public_key = scratch.path().join("keys/actgate.pub");
        actgate::token::keygen(&private_key, &public_key).expect("token keys");
        Cluster {
            db,
            scratch,
            password_file,
            rules_dir,
            private_key,
            public_key,
        }
    })
}

/// The throwaway database behind the proxy.
pub fn database() -> &'static DemoDatabase {
    &cluster().db
}

/// The shipped rules plus tests/rules, as the tests run them.
pub fn rules_dir() -> PathBuf {
    cluster().rules_dir.clone()
}

/// The config the tests run actgate with; `extra_server` is appended to
/// the `[server]` table.
pub fn config(extra_server: &str) -> Config {
    config_with(extra_server, "")
}

/// Like [`config`], with more tables (e.g. `[audit]`) appended.
pub fn config_with(extra_server: &str, extra_tables: &str) -> Config {
    config_text_in(&rules_dir(), "127.0.0.1:0", extra_server, extra_tables).1
}

/// A private copy of the test rules directory, for tests that edit it.
pub fn rules_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("rules copy");
    for entry in std::fs::read_dir(rules_dir()).expect("rules") {
        let path = entry.expect("rules entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).expect("copy rules");
    }
    dir
}

/// The config text (and the parsed config) for a rules directory of the
/// test's own, listening on `listen`.
pub fn config_text_in(
    rules: &Path,
    listen: &str,
    extra_server: &str,
    extra_tables: &str,
) -> (String, Config) {
    let c = cluster();
    let mut text = c.db.config_toml(listen, rules, &c.password_file);
    text = text.replacen("[server]\n", &format!("[server]\n{extra_server}\n"), 1);
    text.push_str(&format!(
        "\n[tokens]\npublic_keys = [{:?}]\n",
        c.public_key.display().to_string()
    ));
    text.push_str(extra_tables);
    let config = Config::from_toml(&text, Path::new("test.toml"), c.scratch.path())
        .unwrap_or_else(|e| panic!("test config: {e}\n{text}"));
    (text, config)
}

/// A config whose audit log goes to `path`.
pub fn config_with_audit(path: &Path, extra_audit: &str) -> Config {
    config_with(
        "",
        &format!(
            "\n[audit]\npath = {:?}\n{extra_audit}\n",
            path.display().to_string()
        ),
    )
}

/// actgate running in-process.
pub struct Proxy {
    pub addr: SocketAddr,
    pub gateway: Arc<Gateway>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    pub async fn start() -> Proxy {
        Proxy::start_with(config("")).await
    }

    /// With the live catalog, as `actgate serve` runs.
    pub async fn start_with(config: Config) -> Proxy {
        let gateway = actgate::build_gateway(config)
            .await
            .unwrap_or_else(|e| panic!("gateway: {e}"));
        Proxy::serve(gateway).await
    }

    /// Without contacting the database at start (for an upstream that is
    /// down or fake).
    pub async fn start_offline(config: Config) -> Proxy {
        let gateway =
            actgate::build_gateway_offline(config).unwrap_or_else(|e| panic!("gateway: {e}"));
        Proxy::serve(gateway).await
    }

    async fn serve(gateway: Arc<Gateway>) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(actgate::server::run(listener, gateway.clone(), async {
            let _ = rx.await;
        }));
        Proxy {
            addr,
            gateway,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, (agent, secret): (&str, &str), database: &str) -> String {
        format!(
            "postgres://{agent}:{secret}@{}:{}/{database}",
            self.addr.ip(),
            self.addr.port()
        )
    }

    /// A tokio-postgres client through the proxy.
    pub async fn connect(&self, agent: (&str, &str)) -> tokio_postgres::Client {
        self.try_connect(agent, "shop")
            .await
            .unwrap_or_else(|e| panic!("connect through actgate: {e}"))
    }

    pub async fn try_connect(
        &self,
        agent: (&str, &str),
        database: &str,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, conn) =
            tokio_postgres::connect(&self.url(agent, database), tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Stops accepting and waits for the server task to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A tokio-postgres client straight to the database as the superuser.
pub async fn connect_direct() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&database().pg.url("shop"), tokio_postgres::NoTls)
        .await
        .expect("direct connection");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Sessions of the upstream role currently open on the server.
pub async fn upstream_sessions(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = $1",
            &[&actgate::demo::UPSTREAM_ROLE],
        )
        .await
        .unwrap()
        .get(0)
}

/// The signing key the test configs trust.
pub fn private_key_path() -> PathBuf {
    cluster().private_key.clone()
}

/// Mints a token for `agent` with the given claims, valid for `ttl`.
pub fn mint(
    agent: &str,
    subject: &str,
    claims: &[(&str, &str)],
    ttl: std::time::Duration,
) -> (String, String) {
    let key = actgate::token::load_private_key(&private_key_path()).expect("private key");
    actgate::token::mint(
        &key,
        &actgate::token::MintRequest {
            agent: agent.into(),
            subject: subject.into(),
            tenant: None,
            claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ttl,
            now: std::time::SystemTime::now(),
            not_before: None,
        },
    )
    .expect("mint")
}

/// Runs a client program to completion, blocking, and kills it after
/// `timeout` (async tests call it through `spawn_blocking`). Both pipes
/// are drained while it runs so a chatty program cannot block.
pub fn run_blocking(
    mut cmd: std::process::Command,
    timeout: std::time::Duration,
) -> std::process::Output {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let what = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("waiting for a client program") {
            Some(status) => break status,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let out = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
                let err = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
                panic!("{what} still running after {timeout:?}; killed\n{out}\n{err}");
            }
        }
    };
    std::process::Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A program's status and output, for assertion messages.
pub fn describe(output: &std::process::Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The SQLSTATE of an actgate refusal and the `reason: CODE` in its
/// DETAIL (58030 refusals carry one too).
pub fn refusal(e: &tokio_postgres::Error) -> (String, String) {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("expected a server error: {e}"));
    let reason = db
        .detail()
        .and_then(|d| d.strip_prefix("reason: "))
        .and_then(|d| d.split(';').next())
        .unwrap_or_default()
        .to_owned();
    (db.code().code().to_owned(), reason)
}

/// The `reason: CODE` in the DETAIL of an actgate refusal; asserts the
/// error is a server error with SQLSTATE 42501.
pub fn denial_reason(e: &tokio_postgres::Error) -> String {
    let (code, reason) = refusal(e);
    assert_eq!(code, "42501", "{:?}", e.as_db_error());
    reason
}

/// Loads a rules directory holding one token agent `x` whose file ends
/// with `sections`; returns the error, which must name the file.
pub fn rules_error(sections: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("[agent]\nname = \"x\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n{sections}\n");
    std::fs::write(dir.path().join("x.toml"), &text).unwrap();
    let e = actgate::rules::RuleSet::load_dir(dir.path(), &["public".into()])
        .err()
        .unwrap_or_else(|| panic!("accepted:\n{text}"))
        .to_string();
    assert!(e.contains("x.toml"), "{e}");
    e
}

/// Connects as token agent `agent` acting for `subject`, with `claims`
/// (a token valid for an hour).
pub async fn connect_token(
    proxy: &Proxy,
    agent: &str,
    subject: &str,
    claims: &[(&str, &str)],
) -> tokio_postgres::Client {
    let (token, _) = mint(agent, subject, claims, std::time::Duration::from_secs(3600));
    let url =
        actgate::token::connection_string(agent, &token, "127.0.0.1", proxy.addr.port(), "shop");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{agent} for {subject}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// The audit log's events written so far (the writer runs behind a
/// queue: poll for what must be there).
/// The audit log's events once `ready` holds for them (polled for up to
/// 10 s: the writer runs behind a queue), or as they are then.
pub async fn audit_events_when(
    path: &Path,
    ready: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let events = audit_events(path);
        if ready(&events) {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    audit_events(path)
}

pub fn audit_events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// The admin endpoint of `proxy`, in-process on 127.0.0.1:0, with bearer
/// token `token`.
pub async fn start_admin(proxy: &Proxy, token: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(actgate::admin::serve(
        listener,
        proxy.gateway.clone(),
        token.into(),
        std::future::pending(),
    ));
    addr
}

/// One admin request; returns the status code and the body.
pub async fn admin_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!("{method} {path} HTTP/1.1\r\nHost: admin\r\n{auth}\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad response {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A free TCP port on 127.0.0.1, for an `actgate serve` child process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `actgate serve --config CONFIG` as a child process, killed when dropped.
pub struct ServeProcess(std::process::Child);

impl ServeProcess {
    /// Started with its standard error going to `stderr`.
    pub fn spawn(config: &Path, stderr: std::process::Stdio) -> ServeProcess {
        ServeProcess(
            std::process::Command::new(env!("CARGO_BIN_EXE_actgate"))
                .args(["serve", "--config"])
                .arg(config)
                .env("RUST_LOG", "actgate=info")
                .env_remove("NO_COLOR")
                .stdout(std::process::Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("starting actgate serve"),
        )
    }

    /// Sends `signal` (`-HUP`, `-TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal}");
    }

    /// SIGTERM, then how it exited.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.0.wait().unwrap()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tokio-postgres client to `url`, retrying for up to 10 s while the
/// server comes up.
pub async fn connect_when_up(url: &str) -> tokio_postgres::Client {
    for _ in 0..400 {
        if let Ok((c, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            tokio::spawn(async move {
                let _ = conn.await;
            });
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{url}: nothing answers after 10 s");
}
