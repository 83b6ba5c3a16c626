//! Throwaway PostgreSQL clusters for `actgate demo` and the integration tests.
//!
//! [`TempPostgres::start`] runs `initdb` into a fresh directory under `/tmp`, writes a
//! `pg_hba.conf` that routes roles to a chosen authentication method, and starts
//! `postgres` on a free TCP port on `127.0.0.1`.
//!
//! # Lifetime of the server
//!
//! The server must never outlive the process that started it, even when that process is
//! killed with `SIGKILL` or keeps the cluster in a `static` that is never dropped. Without
//! `unsafe` there is no `prctl(PR_SET_PDEATHSIG)`, so `postgres` runs under a small
//! `sh` watchdog whose standard input is a pipe whose write end only this process holds
//! (std creates it close-on-exec, so no other child inherits it). When this process
//! exits for any reason the kernel closes the pipe, the watchdog's `read` sees
//! end-of-file and it stops `postgres` (`SIGINT` fast shutdown, then `SIGQUIT`, then
//! `SIGKILL`) and removes the cluster directory. Dropping [`TempPostgres`] closes the
//! pipe the same way and waits for the watchdog to finish.
//!
//! # Running as root
//!
//! PostgreSQL refuses to run as root. When the effective uid is 0, the cluster directory
//! is chowned to the `postgres` user and `initdb` and the watchdog (and with it
//! `postgres`) run as that user through `runuser` (or `su` where there is no `runuser`).
//! Client programs (`psql`) keep running as the calling user over TCP.
//!
//! # Finding the binaries
//!
//! See [`find_bin_dir`]; the `ACTGATE_PG_BIN_DIR` environment variable overrides the
//! search.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The demo e-commerce schema and data (`demo/shop.sql`).
pub const SHOP_SQL: &str = include_str!("../demo/shop.sql");

/// Environment variable that, when set, names the directory holding `initdb`, `pg_ctl`
/// and `postgres`, bypassing the search done by [`find_bin_dir`].
pub const BIN_DIR_ENV: &str = "ACTGATE_PG_BIN_DIR";

const HOST: &str = "127.0.0.1";
const SUPERUSER: &str = "actgate_admin";
const OS_USER: &str = "postgres";
const VERSIONED_ROOT: &str = "/usr/lib/postgresql";
const SEARCHED: &str = "PATH and /usr/lib/postgresql/*/bin";
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const START_ATTEMPTS: u32 = 5;
const LOG_TAIL_LINES: usize = 40;

/// The watchdog run by `sh -c`. Arguments: `$1` server log, `$2` cluster directory, then
/// the `postgres` command line. Its stdin is a pipe held open by the owning process.
const WATCHDOG_SCRIPT: &str = r#"
log=$1
dir=$2
shift 2
exec 3<&0
"$@" </dev/null 3<&- >>"$log" 2>&1 &
pg=$!
(
  while read -r _line <&3; do :; done
  : >"$dir/.owner-gone"
  kill -INT "$pg" 2>/dev/null || exit 0
  n=0
  while kill -0 "$pg" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -eq 100 ]; then kill -QUIT "$pg" 2>/dev/null; fi
    if [ "$n" -ge 150 ]; then kill -KILL "$pg" 2>/dev/null; exit 0; fi
    sleep 0.1 2>/dev/null || sleep 1
  done
) </dev/null >/dev/null 2>&1 &
guard=$!
exec 3<&-
wait "$pg"
status=$?
kill "$guard" 2>/dev/null
if [ -e "$dir/.owner-gone" ]; then rm -rf -- "$dir"; fi
exit "$status"
"#;

/// Errors from finding, initialising, starting or talking to a throwaway cluster.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("initdb not found: searched {searched}")]
    BinariesNotFound { searched: String },
    #[error("{program} not found: searched {searched}")]
    ProgramNotFound {
        program: &'static str,
        searched: String,
    },
    #[error(
        "running as root but the {user} user is not usable ({detail}); create it or run as a non-root user"
    )]
    NoPostgresUser { user: &'static str, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("command failed ({status}): {command}\n{output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error(
        "postgres exited during startup on port {port} ({status}); server log tail:\n{log_tail}"
    )]
    ServerExited {
        port: u16,
        status: String,
        log_tail: String,
    },
    #[error(
        "postgres on port {port} not ready after {timeout_secs}s (last error: {last_error}); server log tail:\n{log_tail}"
    )]
    NotReady {
        port: u16,
        timeout_secs: u64,
        last_error: String,
        log_tail: String,
    },
    #[error("psql failed on database {database:?} as {user:?} ({status}): {stderr}")]
    Psql {
        database: String,
        user: String,
        status: String,
        stderr: String,
    },
    #[error("invalid {what} {value:?}: must be non-empty and contain no NUL bytes")]
    InvalidName { what: &'static str, value: String },
}

impl LaunchError {
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        LaunchError::Io {
            context: context.into(),
            source,
        }
    }
}

/// How a role created by [`TempPostgres::create_role`] authenticates over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamAuth {
    /// `scram-sha-256`, password stored as a SCRAM verifier.
    Scram,
    /// `md5`, password stored as an MD5 hash.
    Md5,
    /// `password` (cleartext on the wire), password stored as a SCRAM verifier.
    Password,
    /// `trust`, no password asked (one is still stored if given).
    Trust,
}

impl UpstreamAuth {
    /// Every variant, in declaration order.
    pub const ALL: [UpstreamAuth; 4] = [
        UpstreamAuth::Scram,
        UpstreamAuth::Md5,
        UpstreamAuth::Password,
        UpstreamAuth::Trust,
    ];

    /// The method keyword used in `pg_hba.conf`.
    pub fn hba_method(self) -> &'static str {
        match self {
            UpstreamAuth::Scram => "scram-sha-256",
            UpstreamAuth::Md5 => "md5",
            UpstreamAuth::Password => "password",
            UpstreamAuth::Trust => "trust",
        }
    }

    /// Role-name suffix that `pg_hba.conf` routes to this method (PostgreSQL 16+ only,
    /// older servers rely on the group membership granted by `create_role`). `None` for
    /// SCRAM, which is the default for every role.
    pub fn role_suffix(self) -> Option<&'static str> {
        match self {
            UpstreamAuth::Scram => None,
            UpstreamAuth::Md5 => Some("_md5"),
            UpstreamAuth::Password => Some("_password"),
            UpstreamAuth::Trust => Some("_trust"),
        }
    }

    /// NOLOGIN group role whose members `pg_hba.conf` routes to this method.
    pub fn group_role(self) -> &'static str {
        match self {
            UpstreamAuth::Scram => "actgate_hba_scram",
            UpstreamAuth::Md5 => "actgate_hba_md5",
            UpstreamAuth::Password => "actgate_hba_password",
            UpstreamAuth::Trust => "actgate_hba_trust",
        }
    }

    /// Value of `password_encryption` used when storing this role's password.
    fn password_encryption(self) -> &'static str {
        match self {
            UpstreamAuth::Md5 => "md5",
            _ => "scram-sha-256",
        }
    }
}

impl fmt::Display for UpstreamAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hba_method())
    }
}

/// Options for [`TempPostgres::start`].
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Databases created (owned by the superuser) once the server is up.
    pub database_names: Vec<String>,
}

/// A running throwaway cluster. Dropping it stops the server and deletes its directory;
/// if it is never dropped the server still stops when the process exits.
pub struct TempPostgres {
    // Declared first so it is dropped (server stopped) before the directory is removed.
    _server: ServerProcess,
    port: u16,
    password: String,
    bin_dir: PathBuf,
    psql_bin: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    version_major: u32,
    dir: TempDir,
}

impl fmt::Debug for TempPostgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TempPostgres")
            .field("host", &HOST)
            .field("port", &self.port)
            .field("superuser", &SUPERUSER)
            .field("bin_dir", &self.bin_dir)
            .field("dir", &self.dir.path())
            .field("version_major", &self.version_major)
            .finish_non_exhaustive()
    }
}

impl TempPostgres {
    /// Initialises and starts a new cluster, then creates `opts.database_names`.
    pub fn start(opts: &LaunchOptions) -> Result<TempPostgres, LaunchError> {
        for name in &opts.database_names {
            check_name("database name", name)?;
        }
        let bin_dir = find_bin_dir()?;
        let postgres_bin = bin_dir.join("postgres");
        let initdb_bin = bin_dir.join("initdb");
        let psql_bin = find_client(&bin_dir, "psql")?;
        let version_major = server_version_major(&postgres_bin)?;
        let run_as = RunAs::detect()?;

        let base = if Path::new("/tmp").is_dir() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("actgate-pg-")
            .tempdir_in(&base)
            .map_err(|e| LaunchError::io(format!("creating temp dir in {}", base.display()), e))?;
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
            .map_err(|e| LaunchError::io(format!("chmod 0700 {}", root.display()), e))?;
        run_as.give(&root)?;

        let data_dir = root.join("data");
        let log_path = root.join("server.log");
        let pwfile = root.join("pwfile");
        let password = random_password()?;
        write_owned(&run_as, &pwfile, format!("{password}\n").as_bytes(), 0o600)?;
        write_owned(&run_as, &log_path, b"", 0o600)?;

        let initdb_args: Vec<OsString> = vec![
            initdb_bin.clone().into(),
            "-D".into(),
            data_dir.clone().into(),
            "-U".into(),
            SUPERUSER.into(),
            "-A".into(),
            "scram-sha-256".into(),
            concat_os("--pwfile=", &pwfile),
            "-E".into(),
            "UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
        ];
        let mut initdb = run_as.command(&initdb_args);
        initdb.current_dir(&root).stdin(Stdio::null());
        let output = initdb
            .output()
            .map_err(|e| LaunchError::io(format!("running {}", initdb_bin.display()), e))?;
        let _ = fs::remove_file(&pwfile);
        if !output.status.success() {
            return Err(command_failed(&initdb_args, &output));
        }

        let hba_path = data_dir.join("pg_hba.conf");
        write_owned(
            &run_as,
            &hba_path,
            hba_conf(version_major).as_bytes(),
            0o600,
        )?;

        let cluster_name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "actgate".to_owned());

        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let log_offset = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
            let mut server_cmd: Vec<OsString> = vec![
                "sh".into(),
                "-c".into(),
                WATCHDOG_SCRIPT.into(),
                "actgate-pg-watchdog".into(),
                log_path.clone().into(),
                root.clone().into(),
                postgres_bin.clone().into(),
                "-D".into(),
                data_dir.clone().into(),
                "-p".into(),
                port.to_string().into(),
                "-k".into(),
                root.clone().into(),
            ];
            let settings = [
                ("listen_addresses", HOST.to_owned()),
                ("cluster_name", cluster_name.clone()),
                ("fsync", "off".to_owned()),
                ("synchronous_commit", "off".to_owned()),
                ("full_page_writes", "off".to_owned()),
                ("max_connections", "200".to_owned()),
                ("shared_buffers", "128MB".to_owned()),
                ("logging_collector", "off".to_owned()),
            ];
            for (name, value) in settings {
                server_cmd.push("-c".into());
                server_cmd.push(format!("{name}={value}").into());
            }
            let log_file = fs::OpenOptions::new()
                .append(true)
                .open(&log_path)
                .map_err(|e| LaunchError::io(format!("opening {}", log_path.display()), e))?;
            let mut cmd = run_as.command(&server_cmd);
            cmd.current_dir(&root)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                // Keep terminal signals (Ctrl-C) away from the server: it stops when we do.
                .process_group(0);
            let mut child = cmd
                .spawn()
                .map_err(|e| LaunchError::io("spawning the postgres watchdog (sh)", e))?;
            let pipe = child.stdin.take();
            let mut server = ServerProcess {
                child,
                pipe,
                stopped: false,
            };

            match wait_ready(
                &mut server,
                &psql_bin,
                port,
                &password,
                &cluster_name,
                &log_path,
                log_offset,
            ) {
                Ok(()) => {
                    let pg = TempPostgres {
                        _server: server,
                        port,
                        password,
                        bin_dir,
                        psql_bin,
                        data_dir,
                        log_path,
                        version_major,
                        dir,
                    };
                    pg.bootstrap(opts)?;
                    return Ok(pg);
                }
                Err(err @ LaunchError::ServerExited { .. }) if is_port_conflict(&err) => {
                    last_error = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| LaunchError::BinariesNotFound {
            searched: SEARCHED.to_owned(),
        }))
    }

    fn bootstrap(&self, opts: &LaunchOptions) -> Result<(), LaunchError> {
        let mut sql = String::new();
        for method in UpstreamAuth::ALL {
            sql.push_str(&format!(
                "CREATE ROLE {} NOLOGIN;\n",
                quote_ident(method.group_role())
            ));
        }
        self.psql("postgres", &sql)?;
        for name in &opts.database_names {
            self.create_database(name)?;
        }
        Ok(())
    }

    /// Always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        HOST
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bootstrap superuser (`actgate_admin`), authenticated with SCRAM.
    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    /// Directory holding `initdb`, `pg_ctl` and `postgres`.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The `psql` binary used by [`TempPostgres::psql`].
    pub fn psql_bin(&self) -> &Path {
        &self.psql_bin
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Directory holding the data directory, the Unix socket and the server log.
    pub fn root_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's stderr log.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log_path, 0, lines)
    }

    /// Major version of the server binary, e.g. `15`.
    pub fn version_major(&self) -> u32 {
        self.version_major
    }

    /// Runs SQL through the psql binary (-v ON_ERROR_STOP=1, -X, -q, -A -t) as the
    /// superuser over TCP, returns stdout.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, LaunchError> {
        self.psql_as(database, SUPERUSER, Some(&self.password), sql)
    }

    /// Like [`TempPostgres::psql`], but as `user` with `password` (`None` sends none:
    /// only `trust` roles get in).
    pub fn psql_as(
        &self,
        database: &str,
        user: &str,
        password: Option<&str>,
        sql: &str,
    ) -> Result<String, LaunchError> {
        run_psql(&self.psql_bin, self.port, user, password, database, sql)
    }

    pub fn create_database(&self, name: &str) -> Result<(), LaunchError> {
        check_name("database name", name)?;
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {};\n", quote_ident(name)),
        )
        .map(drop)
    }

    /// Creates a LOGIN role whose password is stored with the given method; pg_hba routes
    /// it to that method.
    ///
    /// Routing works through membership in [`UpstreamAuth::group_role`], so any name
    /// works; on PostgreSQL 16+ roles created by other means are also routed by the name
    /// suffixes `_md5`, `_password` and `_trust`. An empty password stores none.
    pub fn create_role(
        &self,
        name: &str,
        password: &str,
        method: UpstreamAuth,
    ) -> Result<(), LaunchError> {
        check_name("role name", name)?;
        if password.contains('\0') {
            return Err(LaunchError::InvalidName {
                what: "password",
                value: "<redacted>".to_owned(),
            });
        }
        let password_sql = if password.is_empty() {
            "NULL".to_owned()
        } else {
            quote_literal(password)
        };
        let sql = format!(
            "SET password_encryption = {};\nCREATE ROLE {} LOGIN PASSWORD {} IN ROLE {};\n",
            quote_literal(method.password_encryption()),
            quote_ident(name),
            password_sql,
            quote_ident(method.group_role()),
        );
        self.psql("postgres", &sql).map(drop)
    }

    /// `postgres://superuser:password@127.0.0.1:port/database`.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@{}:{}/{}",
            percent_encode(SUPERUSER),
            percent_encode(&self.password),
            HOST,
            self.port,
            percent_encode(database)
        )
    }

    /// Loads [`SHOP_SQL`] (the demo e-commerce schema and data) into `database`.
    pub fn load_shop(&self, database: &str) -> Result<(), LaunchError> {
        self.psql(database, SHOP_SQL).map(drop)
    }
}

/// The watchdog process (`sh`, possibly under `runuser`) and the write end of its stdin.
struct ServerProcess {
    child: Child,
    pipe: Option<ChildStdin>,
    stopped: bool,
}

impl ServerProcess {
    /// Closes the pipe (the watchdog then fast-shuts-down postgres) and waits.
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        drop(self.pipe.take());
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How to run server-side programs: directly, or as the `postgres` user when we are root.
enum RunAs {
    Current,
    Postgres { uid: u32, gid: u32, runuser: bool },
}

impl RunAs {
    fn detect() -> Result<RunAs, LaunchError> {
        if id_output(&["-u"])? != 0 {
            return Ok(RunAs::Current);
        }
        let not_usable = |e: LaunchError| LaunchError::NoPostgresUser {
            user: OS_USER,
            detail: e.to_string(),
        };
        let uid = id_output(&["-u", OS_USER]).map_err(not_usable)?;
        let gid = id_output(&["-g", OS_USER]).map_err(not_usable)?;
        if uid == 0 {
            return Err(LaunchError::NoPostgresUser {
                user: OS_USER,
                detail: "it has uid 0".to_owned(),
            });
        }
        let runuser = find_on_path("runuser").is_some();
        Ok(RunAs::Postgres { uid, gid, runuser })
    }

    /// A command running `argv` as the right user.
    fn command(&self, argv: &[OsString]) -> Command {
        match self {
            RunAs::Current => {
                let mut cmd = Command::new(&argv[0]);
                cmd.args(&argv[1..]);
                cmd
            }
            RunAs::Postgres { runuser: true, .. } => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", OS_USER, "--"]).args(argv);
                cmd
            }
            RunAs::Postgres { runuser: false, .. } => {
                let line = argv
                    .iter()
                    .map(|a| shell_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut cmd = Command::new("su");
                cmd.args([OS_USER, "-s", "/bin/sh", "-c"])
                    .arg(format!("exec {line}"));
                cmd
            }
        }
    }

    /// Makes `path` owned by the user the server runs as.
    fn give(&self, path: &Path) -> Result<(), LaunchError> {
        match self {
            RunAs::Current => Ok(()),
            RunAs::Postgres { uid, gid, .. } => {
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                    .map_err(|e| LaunchError::io(format!("chown {OS_USER} {}", path.display()), e))
            }
        }
    }
}

fn id_output(args: &[&str]) -> Result<u32, LaunchError> {
    let output = Command::new("id")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LaunchError::io(format!("running id {}", args.join(" ")), e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.trim().parse() {
        Ok(id) if output.status.success() => Ok(id),
        _ => Err(LaunchError::CommandFailed {
            command: format!("id {}", args.join(" ")),
            status: output.status.to_string(),
            output: format!("{}{}", stdout, String::from_utf8_lossy(&output.stderr)),
        }),
    }
}

/// Waits until our postgres answers `SHOW cluster_name` over TCP.
fn wait_ready(
    server: &mut ServerProcess,
    psql_bin: &Path,
    port: u16,
    password: &str,
    cluster_name: &str,
    log_path: &Path,
    log_offset: u64,
) -> Result<(), LaunchError> {
    let started = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut last_error = "no connection attempted yet".to_owned();
    loop {
        match server.child.try_wait() {
            Ok(Some(status)) => {
                server.stopped = true;
                return Err(LaunchError::ServerExited {
                    port,
                    status: status.to_string(),
                    log_tail: log_tail(log_path, log_offset, LOG_TAIL_LINES),
                });
            }
            Ok(None) => {}
            Err(e) => return Err(LaunchError::io("waiting for the postgres watchdog", e)),
        }
        if started.elapsed() > READY_TIMEOUT {
            // Read the log first: stopping the watchdog removes the cluster directory.
            let log_tail = log_tail(log_path, log_offset, LOG_TAIL_LINES);
            server.stop();
            return Err(LaunchError::NotReady {
                port,
                timeout_secs: READY_TIMEOUT.as_secs(),
                last_error,
                log_tail,
            });
        }
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(_) => match run_psql(
                psql_bin,
                port,
                SUPERUSER,
                Some(password),
                "postgres",
                "SHOW cluster_name;\n",
            ) {
                Ok(out) if out.trim() == cluster_name => return Ok(()),
                Ok(out) => {
                    last_error = format!(
                        "port {port} is answered by another server (cluster_name {:?})",
                        out.trim()
                    )
                }
                Err(e) => last_error = e.to_string(),
            },
            Err(e) => last_error = format!("connect {addr}: {e}"),
        }
        thread::sleep(Duration::from_millis(100));
    }
}

fn is_port_conflict(err: &LaunchError) -> bool {
    match err {
        LaunchError::ServerExited { log_tail, .. } => {
            log_tail.contains("could not bind")
                || log_tail.contains("Address already in use")
                || log_tail.contains("could not create any TCP/IP sockets")
                || log_tail.contains("could not create lock file")
                || log_tail.contains("is another postmaster")
        }
        _ => false,
    }
}

fn run_psql(
    psql_bin: &Path,
    port: u16,
    user: &str,
    password: Option<&str>,
    database: &str,
    sql: &str,
) -> Result<String, LaunchError> {
    let psql_error = |status: String, stderr: String| LaunchError::Psql {
        database: database.to_owned(),
        user: user.to_owned(),
        status,
        stderr,
    };
    let conninfo = format!(
        "host={HOST} port={port} user={} dbname={} connect_timeout=10 sslmode=disable application_name=actgate-launcher",
        conninfo_quote(user),
        conninfo_quote(database)
    );
    let mut cmd = Command::new(psql_bin);
    cmd.args([
        "-X",
        "-q",
        "-A",
        "-t",
        "-w",
        "-v",
        "ON_ERROR_STOP=1",
        "-f",
        "-",
    ])
    .arg(format!("--dbname={conninfo}"))
    .env("PGPASSFILE", "/dev/null")
    .env("PGCLIENTENCODING", "UTF8")
    .env_remove("PGSERVICE")
    .env_remove("PGSERVICEFILE")
    .env_remove("PGOPTIONS")
    .env_remove("PGSSLMODE")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    match password {
        Some(pw) => cmd.env("PGPASSWORD", pw),
        None => cmd.env_remove("PGPASSWORD"),
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| LaunchError::io(format!("running {}", psql_bin.display()), e))?;
    let mut stdin = child.stdin.take();
    let output = thread::scope(|scope| {
        scope.spawn(|| {
            if let Some(mut stdin) = stdin.take() {
                // psql may exit early (e.g. authentication failed); its stderr says why.
                let _ = stdin.write_all(sql.as_bytes());
            }
        });
        child.wait_with_output()
    })
    .map_err(|e| LaunchError::io(format!("waiting for {}", psql_bin.display()), e))?;
    if output.status.success() {
        String::from_utf8(output.stdout)
            .map_err(|e| psql_error("ok".to_owned(), format!("output is not UTF-8: {e}")))
    } else {
        Err(psql_error(
            output.status.to_string(),
            String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_owned(),
        ))
    }
}

/// Finds the directory holding the server binaries `initdb`, `pg_ctl` and `postgres`:
/// `$ACTGATE_PG_BIN_DIR` if set, else the first `initdb` on `PATH` (following symlinks to
/// the real installation), else the newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Result<PathBuf, LaunchError> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        let dir = PathBuf::from(dir);
        return if has_server_binaries(&dir) {
            Ok(dir)
        } else {
            Err(LaunchError::BinariesNotFound {
                searched: format!("{BIN_DIR_ENV}={}", dir.display()),
            })
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if !is_executable(&initdb) {
                continue;
            }
            // Prefer the real installation directory behind a symlink farm; skip wrappers
            // (e.g. Debian's pg_wrapper) that are not initdb itself.
            if let Ok(real) = fs::canonicalize(&initdb)
                && real.file_name() == Some(OsStr::new("initdb"))
                && let Some(parent) = real.parent()
                && has_server_binaries(parent)
            {
                return Ok(parent.to_path_buf());
            }
            if dir.is_absolute() && has_server_binaries(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(VERSIONED_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let version = name
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server_binaries(bin))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| LaunchError::BinariesNotFound {
            searched: SEARCHED.to_owned(),
        })
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|name| is_executable(&dir.join(name)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// A client program from `bin_dir`, else from `PATH`.
fn find_client(bin_dir: &Path, program: &'static str) -> Result<PathBuf, LaunchError> {
    let local = bin_dir.join(program);
    if is_executable(&local) {
        return Ok(local);
    }
    find_on_path(program).ok_or_else(|| LaunchError::ProgramNotFound {
        program,
        searched: format!("{} and PATH", bin_dir.display()),
    })
}

/// Parses the major version out of `postgres (PostgreSQL) 15.18 (Debian ...)`; 0 if odd.
fn server_version_major(postgres_bin: &Path) -> Result<u32, LaunchError> {
    let output = Command::new(postgres_bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LaunchError::io(format!("running {} --version", postgres_bin.display()), e))?;
    if !output.status.success() {
        return Err(command_failed(
            &[postgres_bin.as_os_str().to_owned(), "--version".into()],
            &output,
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .split_whitespace()
        .skip_while(|word| *word != "(PostgreSQL)")
        .nth(1)
        .and_then(|version| version.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|major| major.parse().ok())
        .unwrap_or(0))
}

/// `pg_hba.conf`: the superuser uses SCRAM; members of the per-method group roles (and,
/// on 16+, roles with the matching name suffix) use that method; everyone else SCRAM.
fn hba_conf(version_major: u32) -> String {
    let targets = [("local", ""), ("host", "127.0.0.1/32"), ("host", "::1/128")];
    let mut out = String::from(
        "# Generated by actgate's throwaway-cluster launcher.\n\
         # TYPE  DATABASE  USER  ADDRESS  METHOD\n",
    );
    let mut rule = |user: &str, method: &str| {
        for (kind, address) in targets {
            out.push_str(&format!(
                "{kind:<6} all {user:<24} {address:<14} {method}\n"
            ));
        }
    };
    rule(SUPERUSER, "scram-sha-256");
    for method in UpstreamAuth::ALL {
        rule(&format!("+{}", method.group_role()), method.hba_method());
    }
    if version_major >= 16 {
        for method in UpstreamAuth::ALL {
            if let Some(suffix) = method.role_suffix() {
                rule(&format!("/{suffix}$"), method.hba_method());
            }
        }
    }
    rule("all", "scram-sha-256");
    out
}

fn free_port() -> Result<u16, LaunchError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| LaunchError::io("binding 127.0.0.1:0 to pick a port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| LaunchError::io("reading the picked port", e))?
        .port();
    Ok(port)
}

fn random_password() -> Result<String, LaunchError> {
    let mut bytes = [0u8; 18];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| LaunchError::io("reading /dev/urandom", e))?;
    Ok(crate::hex::encode(&bytes))
}

/// Writes a file (replacing it) with `mode`, owned by whoever the server runs as.
fn write_owned(run_as: &RunAs, path: &Path, contents: &[u8], mode: u32) -> Result<(), LaunchError> {
    fs::write(path, contents)
        .map_err(|e| LaunchError::io(format!("writing {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| LaunchError::io(format!("chmod {}", path.display()), e))?;
    run_as.give(path)
}

/// Last `lines` lines of the log from byte `offset` on.
fn log_tail(path: &Path, offset: u64, lines: usize) -> String {
    let mut text = String::new();
    let read = fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(())
    });
    if let Err(e) = read {
        return format!("(could not read {}: {e})", path.display());
    }
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    if tail.is_empty() {
        "(server log is empty)".to_owned()
    } else {
        tail
    }
}

fn command_failed(argv: &[OsString], output: &Output) -> LaunchError {
    LaunchError::CommandFailed {
        command: argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim_end()
        .to_owned(),
    }
}

fn check_name(what: &'static str, value: &str) -> Result<(), LaunchError> {
    if value.is_empty() || value.contains('\0') {
        return Err(LaunchError::InvalidName {
            what,
            value: value.to_owned(),
        });
    }
    Ok(())
}

fn concat_os(prefix: &str, path: &Path) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(path);
    s
}

/// SQL identifier quoting: `"na""me"`.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// SQL string literal quoting (standard_conforming_strings = on): `'it''s'`.
fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// libpq conninfo value quoting: `'it\'s'`.
fn conninfo_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// POSIX shell single-quoting.
fn shell_quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Starts a cluster or fails the test loudly: a missing PostgreSQL is never a pass.
    fn start_or_panic(opts: &LaunchOptions) -> TempPostgres {
        TempPostgres::start(opts).unwrap_or_else(|e| {
            panic!(
                "could not start a throwaway PostgreSQL (install the server, e.g. run \
                 scripts/test.sh as root, or set {BIN_DIR_ENV}): {e}"
            )
        })
    }

    /// One cluster shared by the in-process tests. It lives in a static, so it is never
    /// dropped: the watchdog must stop it when the test process exits.
    fn shared() -> &'static TempPostgres {
        static CLUSTER: OnceLock<TempPostgres> = OnceLock::new();
        CLUSTER.get_or_init(|| {
            start_or_panic(&LaunchOptions {
                database_names: vec!["actgate_test".to_owned()],
            })
        })
    }

    #[test]
    fn finds_server_binaries() {
        let dir = find_bin_dir().unwrap_or_else(|e| panic!("PostgreSQL is required: {e}"));
        assert!(has_server_binaries(&dir), "{}", dir.display());
    }

    #[test]
    fn roles_for_every_auth_method_can_connect() {
        let pg = shared();
        assert_eq!(pg.host(), "127.0.0.1");
        assert_eq!(pg.superuser(), "actgate_admin");
        assert!(pg.superuser_password().len() >= 32);
        assert_eq!(pg.psql("actgate_test", "select 1").unwrap().trim(), "1");

        pg.create_database("auth_db").unwrap();
        // Log every authentication so the test can see which hba method was used.
        pg.psql(
            "postgres",
            "ALTER SYSTEM SET log_connections = on;\nSELECT pg_reload_conf();\n",
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while pg.psql("postgres", "show log_connections").unwrap().trim() != "on" {
            assert!(Instant::now() < deadline, "log_connections never turned on");
            thread::sleep(Duration::from_millis(50));
        }

        // Suffixed names (the convention) and one plain name routed only by membership.
        let mut roles: Vec<(String, UpstreamAuth)> = UpstreamAuth::ALL
            .iter()
            .map(|m| (format!("app{}", m.role_suffix().unwrap_or("_scram")), *m))
            .collect();
        roles.push(("plain_name".to_owned(), UpstreamAuth::Md5));

        for (role, method) in &roles {
            let password = format!("pw-{role}-'quote\"");
            pg.create_role(role, &password, *method).unwrap();

            let stored = pg
                .psql(
                    "postgres",
                    &format!(
                        "select rolpassword from pg_authid where rolname = {}",
                        quote_literal(role)
                    ),
                )
                .unwrap();
            let expected_prefix = if *method == UpstreamAuth::Md5 {
                "md5"
            } else {
                "SCRAM-SHA-256$"
            };
            assert!(
                stored.starts_with(expected_prefix),
                "{role}: stored {stored:?}"
            );

            // Connect with psql over TCP, password in PGPASSWORD.
            let output = Command::new(pg.psql_bin())
                .args(["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"])
                .args([
                    "-h",
                    pg.host(),
                    "-p",
                    &pg.port().to_string(),
                    "-U",
                    role,
                    "-d",
                    "auth_db",
                ])
                .args(["-c", "select 1"])
                .env("PGPASSWORD", &password)
                .env("PGPASSFILE", "/dev/null")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{role} ({method}) could not connect: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&output.stdout).trim(),
                "1",
                "{role}"
            );

            let wrong = pg.psql_as("auth_db", role, Some("wrong password"), "select 1");
            let none = pg.psql_as("auth_db", role, None, "select 1");
            if *method == UpstreamAuth::Trust {
                assert_eq!(wrong.unwrap().trim(), "1");
                assert_eq!(none.unwrap().trim(), "1");
            } else {
                let err = wrong
                    .expect_err("wrong password must be rejected")
                    .to_string();
                assert!(
                    err.contains("password authentication failed"),
                    "{role}: {err}"
                );
                assert!(none.is_err(), "{role}: connected without a password");
            }

            // The server log names the method pg_hba.conf picked (PostgreSQL 14+).
            if pg.version_major() >= 14 && *method != UpstreamAuth::Trust {
                let needle = format!("identity=\"{role}\" method={}", method.hba_method());
                let deadline = Instant::now() + Duration::from_secs(10);
                while !fs::read_to_string(pg.log_path()).unwrap().contains(&needle) {
                    assert!(
                        Instant::now() < deadline,
                        "log lacks {needle:?}:\n{}",
                        pg.log_tail(30)
                    );
                    thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    #[test]
    fn url_and_errors() {
        let pg = shared();
        let url = pg.url("actgate_test");
        assert_eq!(
            url,
            format!(
                "postgres://actgate_admin:{}@127.0.0.1:{}/actgate_test",
                pg.superuser_password(),
                pg.port()
            )
        );
        let err = pg
            .psql("actgate_test", "select 1/0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("division by zero"), "{err}");
        let err = pg.create_database("actgate_test").unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        // Identifiers are quoted, not interpolated.
        pg.create_database("we\"ird name").unwrap();
        assert_eq!(
            pg.psql("we\"ird name", "select current_database()")
                .unwrap()
                .trim(),
            "we\"ird name"
        );
    }

    #[test]
    fn shop_demo_loads() {
        let pg = shared();
        pg.create_database("shop").unwrap();
        pg.load_shop("shop").unwrap();
        let counts = pg
            .psql(
                "shop",
                "select (select count(*) from customers), (select count(*) from orders), \
                 (select count(*) from products), (select count(*) from payment_methods), \
                 (select count(*) from staff_users), (select count(*) > 0 from refunds), \
                 (select count(*) from orders o where total_cents <> \
                    (select sum(quantity * unit_price_cents) from order_items i where i.order_id = o.id))",
            )
            .unwrap();
        let fields: Vec<&str> = counts.trim().split('|').collect();
        assert_eq!(fields[0], "50", "{counts}");
        assert_eq!(fields[1], "200", "{counts}");
        assert!(fields[2].parse::<u32>().unwrap() >= 10, "{counts}");
        assert_eq!(fields[3], "60", "{counts}");
        assert!(fields[4].parse::<u32>().unwrap() >= 3, "{counts}");
        assert_eq!(fields[5], "t", "{counts}");
        assert_eq!(fields[6], "0", "order totals match their items: {counts}");
        let statuses = pg
            .psql(
                "shop",
                "select string_agg(distinct status, ',' order by status) from orders",
            )
            .unwrap();
        assert_eq!(
            statuses.trim(),
            "cancelled,delivered,paid,pending,refunded,shipped"
        );
    }

    #[test]
    fn hba_routes_by_group_and_suffix() {
        let v15 = hba_conf(15);
        assert!(v15.contains("+actgate_hba_md5"));
        assert!(!v15.contains("/_md5$"));
        let v16 = hba_conf(16);
        assert!(v16.contains("/_md5$"));
        assert!(v16.contains("/_password$"));
        assert!(v16.contains("/_trust$"));
        // The catch-all comes last.
        assert!(v16.trim_end().ends_with("::1/128        scram-sha-256"));
    }

    #[test]
    fn port_conflicts_are_retried() {
        let exited = |log: &str| LaunchError::ServerExited {
            port: 5432,
            status: "exit status: 1".to_owned(),
            log_tail: log.to_owned(),
        };
        let conflict = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                        FATAL:  could not create any TCP/IP sockets";
        assert!(is_port_conflict(&exited(conflict)));
        assert!(!is_port_conflict(&exited(
            "FATAL:  data directory has invalid permissions"
        )));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(conninfo_quote("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(shell_quote(OsStr::new("a b'c")), "'a b'\\''c'");
        assert_eq!(shell_quote(OsStr::new("/usr/bin/x")), "/usr/bin/x");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn drop_stops_server_and_removes_dir() {
        let pg = start_or_panic(&LaunchOptions::default());
        let port = pg.port();
        let dir = pg.root_dir().to_path_buf();
        assert_eq!(pg.psql("postgres", "select 1").unwrap().trim(), "1");
        drop(pg);
        assert!(!dir.exists(), "{} still exists", dir.display());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    }
}
