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

mod binaries;
mod hba;
mod process;
mod quote;

pub use binaries::find_bin_dir;
use binaries::find_on_path;
use binaries::{find_client, server_version_major};
pub use hba::UpstreamAuth;
use hba::hba_conf;
use process::{
    RunAs, ServerProcess, WATCHDOG_SCRIPT, command_failed, free_port, is_port_conflict, log_tail,
    run_psql, wait_ready, write_owned,
};
use quote::{
    check_name, concat_os, conninfo_quote, percent_encode, quote_ident, quote_literal, shell_quote,
};

/// The demo e-commerce schema and data (`demo/shop.sql`).
pub const SHOP_SQL: &str = include_str!("../../demo/shop.sql");

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
        let psql_bin = find_client(&bin_dir, "psql")?;
        let version_major = server_version_major(&postgres_bin)?;
        let run_as = RunAs::detect()?;
        let cluster = Cluster::init(&run_as, &bin_dir, version_major)?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let log_offset = fs::metadata(&cluster.log_path)
                .map(|m| m.len())
                .unwrap_or(0);
            let mut server = cluster.spawn(&run_as, &postgres_bin, port)?;
            match wait_ready(
                &mut server,
                &psql_bin,
                port,
                &cluster.password,
                &cluster.name,
                &cluster.log_path,
                log_offset,
            ) {
                Ok(()) => {
                    let pg = TempPostgres {
                        _server: server,
                        port,
                        password: cluster.password,
                        bin_dir,
                        psql_bin,
                        data_dir: cluster.data_dir,
                        log_path: cluster.log_path,
                        version_major,
                        dir: cluster.dir,
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

/// An initialised cluster directory, before its server runs.
struct Cluster {
    dir: TempDir,
    root: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    password: String,
    /// `cluster_name`, which tells our server from another on a reused port.
    name: String,
}

impl Cluster {
    /// Creates the cluster directory (owned by whoever the server runs as),
    /// runs `initdb` with a random superuser password, and writes `pg_hba.conf`.
    fn init(run_as: &RunAs, bin_dir: &Path, version_major: u32) -> Result<Cluster, LaunchError> {
        let initdb_bin = bin_dir.join("initdb");
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
        write_owned(run_as, &pwfile, format!("{password}\n").as_bytes(), 0o600)?;
        write_owned(run_as, &log_path, b"", 0o600)?;

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
        write_owned(run_as, &hba_path, hba_conf(version_major).as_bytes(), 0o600)?;

        let cluster_name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "actgate".to_owned());

        Ok(Cluster {
            dir,
            root,
            data_dir,
            log_path,
            password,
            name: cluster_name,
        })
    }

    /// Starts `postgres` on `port` under its watchdog, logging to the cluster's log.
    fn spawn(
        &self,
        run_as: &RunAs,
        postgres_bin: &Path,
        port: u16,
    ) -> Result<ServerProcess, LaunchError> {
        let Cluster {
            root,
            data_dir,
            log_path,
            name: cluster_name,
            ..
        } = self;
        let mut server_cmd: Vec<OsString> = vec![
            "sh".into(),
            "-c".into(),
            WATCHDOG_SCRIPT.into(),
            "actgate-pg-watchdog".into(),
            log_path.clone().into(),
            root.clone().into(),
            postgres_bin.into(),
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
            .open(log_path)
            .map_err(|e| LaunchError::io(format!("opening {}", log_path.display()), e))?;
        let mut cmd = run_as.command(&server_cmd);
        cmd.current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            // Keep terminal signals (Ctrl-C) away from the server: it stops when we do.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| LaunchError::io("spawning the postgres watchdog (sh)", e))?;
        let pipe = child.stdin.take();
        Ok(ServerProcess {
            child,
            pipe,
            stopped: false,
        })
    }
}

fn random_password() -> Result<String, LaunchError> {
    let mut bytes = [0u8; 18];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| LaunchError::io("reading /dev/urandom", e))?;
    Ok(crate::hex::encode(&bytes))
}

#[cfg(test)]
mod tests;
