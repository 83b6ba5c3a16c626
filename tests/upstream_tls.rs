//! TLS towards the upstream database (`[upstream] tls = "require"` with
//! `ca_file`): sessions and the startup catalog load run over TLS verified
//! against the configured CA, and every failure is fail-closed: wrong CA,
//! wrong name, a server that refuses TLS, a missing `ca_file`.
//!
//! This binary's throwaway cluster gets SSL switched on at first use, with a
//! throwaway CA and a server certificate for IP 127.0.0.1 made by the
//! `openssl` CLI.

mod common;

use actgate::StartError;
use actgate::config::{Config, UpstreamTls};
use common::{Proxy, TESTER};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::NoTls;

/// Extensions for the throwaway certificates. The server certificate names
/// IP 127.0.0.1 (what `upstream.host` is) and a DNS name no test connects
/// to, but not `localhost`, so name verification can be tested.
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = actgate upstream test CA

[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:upstream.actgate.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// The TLS material, in a directory under the cluster's root (removed with
/// the cluster when the test process exits).
struct TlsFiles {
    /// Holds `ca.pem` (signed the server certificate), `rogue-ca.pem` (a CA
    /// with the very same subject but another key), the server's
    /// certificate and key, and the upstream password file.
    dir: PathBuf,
    password_file: PathBuf,
}

static TLS: OnceLock<TlsFiles> = OnceLock::new();

/// Switches SSL on in this binary's cluster (once) and returns the files.
fn tls() -> &'static TlsFiles {
    TLS.get_or_init(enable_ssl)
}

/// Runs `openssl` with the whitespace-separated `args` in `work`.
fn openssl(work: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(work)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("these tests need the openssl CLI: {e}"));
    assert!(
        out.status.success(),
        "openssl {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn id(args: &[&str]) -> u32 {
    let out = Command::new("id").args(args).output().expect("id");
    assert!(out.status.success(), "id {args:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

fn make_ca(work: &Path, key: &str, cert: &str) {
    openssl(
        work,
        &format!(
            "req -config req.cnf -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
             -keyout {key} -out {cert} -days 2 -extensions ca_ext"
        ),
    );
}

fn enable_ssl() -> TlsFiles {
    let pg = &common::database().pg;
    // CA keys and the CSR stay in a scratch directory removed right away.
    let work = tempfile::tempdir().expect("scratch dir");
    let w = work.path();
    std::fs::write(w.join("req.cnf"), OPENSSL_CNF).unwrap();
    make_ca(w, "ca.key", "ca.pem");
    // Same subject as the real CA: only the signature tells them apart.
    make_ca(w, "rogue-ca.key", "rogue-ca.pem");
    openssl(
        w,
        "req -config req.cnf -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
         -keyout server.key -out server.csr -subj /CN=127.0.0.1",
    );
    openssl(
        w,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
         -extfile req.cnf -extensions server_ext -out server.crt",
    );

    let dir = pg.root_dir().join("upstream-tls");
    std::fs::create_dir(&dir).unwrap();
    for f in ["ca.pem", "rogue-ca.pem", "server.crt", "server.key"] {
        std::fs::copy(w.join(f), dir.join(f)).unwrap();
    }
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // As root the server runs as the postgres user (see launcher.rs), and
    // PostgreSQL wants its key owned by itself with mode 0600.
    if id(&["-u"]) == 0 {
        let (uid, gid) = (id(&["-u", "postgres"]), id(&["-g", "postgres"]));
        for p in [dir.clone(), dir.join("server.crt"), dir.join("server.key")] {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
        }
    }
    let password_file = common::database()
        .write_password_file(&dir)
        .expect("password file");

    let literal = |p: PathBuf| format!("'{}'", p.display().to_string().replace('\'', "''"));
    pg.psql(
        "postgres",
        &format!(
            "ALTER SYSTEM SET ssl_cert_file = {};\n\
             ALTER SYSTEM SET ssl_key_file = {};\n\
             ALTER SYSTEM SET ssl = on;\n\
             SELECT pg_reload_conf();\n",
            literal(dir.join("server.crt")),
            literal(dir.join("server.key")),
        ),
    )
    .expect("enable ssl");

    // The reload is asynchronous: wait until libpq gets a verified SSL
    // session (verify-full: chain and the IP address in the certificate).
    let conninfo = format!(
        "host={} port={} user={} dbname=postgres sslmode=verify-full sslrootcert={} \
         connect_timeout=5",
        pg.host(),
        pg.port(),
        pg.superuser(),
        dir.join("ca.pem").display()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = Command::new(pg.psql_bin())
            .args(["-X", "-q", "-A", "-t", "-w", "-c"])
            .arg("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .arg(format!("--dbname={conninfo}"))
            .env("PGPASSWORD", pg.superuser_password())
            .env("PGPASSFILE", "/dev/null")
            .env_remove("PGSSLMODE")
            .stdin(Stdio::null())
            .output()
            .expect("psql");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && stdout.trim() == "t" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SSL did not come up on the test cluster: {stdout}{}\nserver log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            pg.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    TlsFiles { dir, password_file }
}

/// actgate's config as an operator writes it, with `tls = "require"` and
/// `ca_file` relative to the config's directory.
fn tls_config(ca_file: &str) -> Config {
    let files = tls();
    let text =
        common::database().config_toml("127.0.0.1:0", &common::rules_dir(), &files.password_file);
    let text = text.replacen(
        "[upstream]\n",
        &format!("[upstream]\ntls = \"require\"\nca_file = {ca_file:?}\n"),
        1,
    );
    let mut config = Config::from_toml(&text, Path::new("actgate.toml"), &files.dir)
        .unwrap_or_else(|e| panic!("config: {e}\n{text}"));
    // The shipped rules include a token agent: trust the tests' token key.
    config.tokens = common::config("").tokens;
    assert_eq!(config.upstream.tls, UpstreamTls::Require);
    assert_eq!(config.upstream.ca_file, Some(files.dir.join(ca_file)));
    config
}

async fn connect_as(proxy: &Proxy, application_name: &str) -> tokio_postgres::Client {
    let url = format!(
        "{}?application_name={application_name}",
        proxy.url(TESTER, "shop")
    );
    let (client, conn) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect through actgate: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

#[tokio::test]
async fn sessions_reach_upstream_over_verified_tls() {
    // build_gateway loads the catalog of "shop" over TLS first.
    let proxy = Proxy::start_with(tls_config("ca.pem")).await;
    let client = connect_as(&proxy, "tls_session_check").await;
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let orders: i64 = client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0);
    assert!(orders > 0);

    // pg_stat_ssl is not readable through the policy; look from the side.
    let admin = common::connect_direct().await;
    let row = admin
        .query_one(
            "SELECT s.ssl, s.version, a.usename::text, a.application_name \
             FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE pid = $1",
            &[&pid],
        )
        .await
        .unwrap();
    let (ssl, version, user, app): (bool, Option<String>, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(user, actgate::demo::UPSTREAM_ROLE);
    assert_eq!(app, "tls_session_check");
    assert!(ssl, "actgate's upstream session is not encrypted");
    let version = version.unwrap_or_default();
    assert!(version.starts_with("TLSv1."), "{version}");

    // The same check is able to say no: the direct connection is plain.
    let direct_ssl: bool = admin
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!direct_ssl);
}

#[tokio::test]
async fn cancel_works_with_tls_upstream() {
    let proxy = Proxy::start_with(tls_config("ca.pem")).await;
    let client = connect_as(&proxy, "tls_cancel_check").await;
    let token = client.cancel_token();
    let query = tokio::spawn(async move { client.simple_query("SELECT pg_sleep(30)").await });

    let admin = common::connect_direct().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let running: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = 'tls_cancel_check' AND state = 'active' \
                 AND query LIKE '%pg_sleep%'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if running == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "pg_sleep never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel_query(NoTls).await.expect("cancel request");
    let result = tokio::time::timeout(Duration::from_secs(20), query)
        .await
        .expect("the cancel did not reach the server")
        .unwrap();
    let e = result.expect_err("pg_sleep must be cancelled");
    assert_eq!(
        e.as_db_error().map(|d| d.code().code()),
        Some("57014"),
        "{e}"
    );
}

fn start_error(result: Result<impl Sized, StartError>) -> StartError {
    match result {
        Ok(_) => panic!("build_gateway must fail"),
        Err(e) => e,
    }
}

/// A login through `proxy` fails with FATAL 08006 whose detail contains
/// `needle`; returns the detail.
async fn assert_login_fails(proxy: &Proxy, needle: &str) -> String {
    let e = match proxy.try_connect(TESTER, "shop").await {
        Ok(_) => panic!("login must fail"),
        Err(e) => e,
    };
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("a FATAL from actgate, got {e}"));
    assert_eq!(db.code().code(), "08006", "{db:?}");
    assert_eq!(db.severity(), "FATAL");
    assert!(
        db.message()
            .contains("could not connect to the upstream database"),
        "{}",
        db.message()
    );
    let detail = db.detail().unwrap_or_default().to_owned();
    assert!(detail.contains(needle), "{detail}");
    detail
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    // At start: the catalog load is refused, so actgate does not start.
    let e = start_error(actgate::build_gateway(tls_config("rogue-ca.pem")).await);
    assert!(matches!(e, StartError::Catalog(_)), "{e:?}");
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");

    // Per session (started without the catalog check).
    let proxy = Proxy::start_offline(tls_config("rogue-ca.pem")).await;
    assert_login_fails(&proxy, "invalid peer certificate").await;
}

#[tokio::test]
async fn a_server_certificate_for_another_name_is_refused() {
    // localhost reaches the same server, but its certificate does not name it.
    let mut config = tls_config("ca.pem");
    config.upstream.host = "localhost".into();
    let e = start_error(actgate::build_gateway(config.clone()).await);
    assert!(matches!(e, StartError::Catalog(_)), "{e:?}");
    assert!(e.to_string().contains("not valid for name"), "{e}");

    let proxy = Proxy::start_offline(config).await;
    assert_login_fails(&proxy, "not valid for name").await;
}

#[tokio::test]
async fn a_server_that_refuses_tls_gets_nothing_in_cleartext() {
    // A fake upstream that answers the SSLRequest with 'N' and then records
    // whatever the client sends next.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut req = [0u8; 8];
        sock.read_exact(&mut req).await.unwrap();
        assert_eq!(req, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "an SSLRequest");
        sock.write_all(b"N").await.unwrap();
        let mut after = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut after)).await;
        after
    });

    let mut config = tls_config("ca.pem");
    config.upstream.host = addr.ip().to_string();
    config.upstream.port = addr.port();
    let proxy = Proxy::start_offline(config).await;
    assert_login_fails(&proxy, "refused TLS").await;
    let after = fake.await.unwrap();
    assert!(
        after.is_empty(),
        "actgate fell back to cleartext: {after:?}"
    );
}

#[tokio::test]
async fn tls_require_without_ca_file_is_rejected() {
    let mut config = common::config("");
    config.upstream.tls = UpstreamTls::Require;
    config.upstream.ca_file = None;
    let e = start_error(actgate::build_gateway(config.clone()).await);
    assert!(matches!(e, StartError::UpstreamTlsWithoutCa), "{e:?}");
    assert!(e.to_string().contains("ca_file"), "{e}");
    let e = start_error(actgate::build_gateway_offline(config));
    assert!(matches!(e, StartError::UpstreamTlsWithoutCa), "{e:?}");
}

#[tokio::test]
async fn an_unreadable_or_empty_ca_file_is_rejected() {
    let mut config = tls_config("ca.pem");
    config.upstream.ca_file = Some(tls().dir.join("no-such-ca.pem"));
    let e = start_error(actgate::build_gateway_offline(config.clone()));
    assert!(matches!(e, StartError::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("no-such-ca.pem"), "{e}");

    // A PEM file without a certificate (the password file will do).
    config.upstream.ca_file = Some(tls().password_file.clone());
    let e = start_error(actgate::build_gateway_offline(config));
    assert!(matches!(e, StartError::Tls(_)), "{e:?}");
    assert!(e.to_string().contains("contains no PEM certificate"), "{e}");
}
