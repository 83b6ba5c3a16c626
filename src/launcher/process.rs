//! The server process: its watchdog, running programs as the `postgres`
//! user, waiting until it answers, and its log.

use super::*;

/// The watchdog run by `sh -c`. Arguments: `$1` server log, `$2` cluster directory, then
/// the `postgres` command line. Its stdin is a pipe held open by the owning process.
pub(super) const WATCHDOG_SCRIPT: &str = r#"
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

/// The watchdog process (`sh`, possibly under `runuser`) and the write end of its stdin.
pub(super) struct ServerProcess {
    pub(super) child: Child,
    pub(super) pipe: Option<ChildStdin>,
    pub(super) stopped: bool,
}

impl ServerProcess {
    /// Closes the pipe (the watchdog then fast-shuts-down postgres) and waits.
    pub(super) fn stop(&mut self) {
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
pub(super) enum RunAs {
    Current,
    Postgres { uid: u32, gid: u32, runuser: bool },
}

impl RunAs {
    pub(super) fn detect() -> Result<RunAs, LaunchError> {
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
    pub(super) fn command(&self, argv: &[OsString]) -> Command {
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
    pub(super) fn give(&self, path: &Path) -> Result<(), LaunchError> {
        match self {
            RunAs::Current => Ok(()),
            RunAs::Postgres { uid, gid, .. } => {
                std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                    .map_err(|e| LaunchError::io(format!("chown {OS_USER} {}", path.display()), e))
            }
        }
    }
}

pub(super) fn id_output(args: &[&str]) -> Result<u32, LaunchError> {
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
pub(super) fn wait_ready(
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

pub(super) fn is_port_conflict(err: &LaunchError) -> bool {
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

pub(super) fn run_psql(
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

pub(super) fn free_port() -> Result<u16, LaunchError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| LaunchError::io("binding 127.0.0.1:0 to pick a port", e))?;
    let port = listener
        .local_addr()
        .map_err(|e| LaunchError::io("reading the picked port", e))?
        .port();
    Ok(port)
}

/// Writes a file (replacing it) with `mode`, owned by whoever the server runs as.
pub(super) fn write_owned(
    run_as: &RunAs,
    path: &Path,
    contents: &[u8],
    mode: u32,
) -> Result<(), LaunchError> {
    fs::write(path, contents)
        .map_err(|e| LaunchError::io(format!("writing {}", path.display()), e))?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| LaunchError::io(format!("chmod {}", path.display()), e))?;
    run_as.give(path)
}

/// Last `lines` lines of the log from byte `offset` on.
pub(super) fn log_tail(path: &Path, offset: u64, lines: usize) -> String {
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

pub(super) fn command_failed(argv: &[OsString], output: &Output) -> LaunchError {
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
