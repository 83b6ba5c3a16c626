//! The `actgate` binary: parse the command line, set up tracing, run.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Parser)]
#[command(
    name = "actgate",
    version,
    about = "A SQL-aware database firewall for AI agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy.
    Serve {
        /// Path to actgate.toml.
        #[arg(long, default_value = "actgate.toml")]
        config: PathBuf,
    },
    /// Start a throwaway PostgreSQL with a demo shop database and actgate in front of it.
    Demo {
        /// Port for actgate (0 picks a free one).
        #[arg(long, default_value_t = 6432)]
        port: u16,
        /// Rules directory with the demo agents.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
    },
    /// Show how a statement is classified and what an agent's policy says about it.
    Explain {
        /// Rules directory.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// The agent whose policy applies.
        #[arg(long)]
        agent: String,
        /// Load the live catalog from this database (postgres://user:pw@host:port/db)
        /// to expand `*` and check columns.
        #[arg(long)]
        database_url: Option<String>,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
        /// A claim for rules that use `{{claims.NAME}}` (name=value; repeatable).
        #[arg(long = "claim", value_parser = parse_claim)]
        claims: Vec<(String, String)>,
        /// The SQL to explain.
        sql: String,
    },
    /// Print PostgreSQL row-level-security policies and GRANTs mirroring the rules' row scoping.
    Rls {
        /// Rules directory.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// The role actgate logs in as upstream.
        #[arg(long, default_value = "actgate_gateway")]
        role: String,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
    },
    /// Validate a rules directory: every problem as `path:line:col: error: message`,
    /// then a summary; exit status 1 if there are errors.
    Check {
        /// Rules directory.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Also check that every table, column and function named exists in
        /// this database (postgres://user:pw@host:port/db).
        #[arg(long)]
        database: Option<String>,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
        /// Fail on warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Run policy test files against a rules directory; exit status 1 if any fails.
    Test {
        /// Rules directory.
        #[arg(long, default_value = "rules")]
        rules: PathBuf,
        /// Directory of test files (default: RULES/tests).
        #[arg(long)]
        tests: Option<PathBuf>,
        /// Analyse with the live catalog of this database
        /// (postgres://user:pw@host:port/db), to expand `*`.
        #[arg(long)]
        database: Option<String>,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
        /// Also write the results as JUnit XML to this file.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
    /// Re-decide the statements of an audit log under candidate rules and report what would change.
    ///
    /// Exit status: 0 if nothing would be newly blocked, 1 if some statement
    /// would be, 2 on bad input (unreadable log, rules that do not load).
    Replay {
        /// The audit log (JSON lines).
        #[arg(long)]
        audit: PathBuf,
        /// The candidate rules directory.
        #[arg(long)]
        rules: PathBuf,
        /// Only this agent's statements.
        #[arg(long)]
        agent: Option<String>,
        /// Load the live catalog from this database (postgres://user:pw@host:port/db)
        /// to expand `*` and check columns.
        #[arg(long)]
        database: Option<String>,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Propose a least-privilege rules file for an agent from its recorded statements.
    Suggest {
        /// The audit log (JSON lines).
        #[arg(long)]
        audit: PathBuf,
        /// The agent whose statements to use.
        #[arg(long)]
        agent: String,
        /// Load the live catalog from this database (postgres://user:pw@host:port/db)
        /// to expand `*`.
        #[arg(long)]
        database: Option<String>,
        /// The pinned search_path (comma-separated).
        #[arg(long, default_value = "public")]
        search_path: String,
    },
    /// Print a SCRAM-SHA-256 verifier for an agent secret (for `secret_verifier`).
    Secret {
        /// The secret; read from standard input when omitted.
        secret: Option<String>,
    },
    /// Generate an Ed25519 key pair for signing agent tokens.
    Keygen {
        /// Where to write the private key (PEM, mode 0600).
        #[arg(long, default_value = "keys/actgate.key")]
        private: PathBuf,
        /// Where to write the public key (PEM).
        #[arg(long, default_value = "keys/actgate.pub")]
        public: PathBuf,
    },
    /// Mint, attenuate, inspect and revoke agent tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Show a running actgate's state: rules generation, last reload, sessions.
    /// Exits with status 1 while the last rules reload failed.
    Status {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reload the rules of a running actgate now (as SIGHUP does), once the
    /// rules directory holds still. Exits with status 1 if the rules were
    /// not loaded (invalid, or still being written).
    Reload {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List statements held for human approval (through the admin endpoint).
    Approvals {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Approve a held statement: the agent's identical retry then runs once.
    Approve {
        /// The approval id from the agent's error (apr-…).
        id: String,
        /// Who decided, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reject a held statement.
    Reject {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Suspend an agent (or one end user of it): its sessions end and logins are refused.
    Suspend {
        agent: String,
        /// How long, in seconds.
        #[arg(long)]
        seconds: u64,
        /// Only this end user (the token's subject).
        #[arg(long)]
        subject: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Lift a suspension early.
    Resume {
        agent: String,
        #[arg(long)]
        subject: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// How to reach a running actgate's admin endpoint.
#[derive(clap::Args)]
struct AdminArgs {
    /// The admin endpoint (`[admin] listen`).
    #[arg(
        long,
        env = "ACTGATE_ADMIN_URL",
        default_value = "http://127.0.0.1:9187"
    )]
    admin_url: String,
    /// File holding the admin bearer token (else ACTGATE_ADMIN_TOKEN).
    #[arg(long, env = "ACTGATE_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl AdminArgs {
    fn client(&self) -> anyhow::Result<actgate::admin_client::AdminClient> {
        let token = actgate::admin_client::AdminClient::token(self.token_file.as_deref())?;
        Ok(actgate::admin_client::AdminClient::new(
            &self.admin_url,
            token,
        )?)
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Sign a new token; prints the token, then a ready connection string.
    Mint {
        /// The agent (rules file) the token logs in as.
        #[arg(long)]
        agent: String,
        /// On whose behalf the agent acts.
        #[arg(long)]
        subject: String,
        #[arg(long)]
        tenant: Option<String>,
        /// A custom claim, NAME=VALUE (repeatable).
        #[arg(long = "claim", value_name = "NAME=VALUE", value_parser = parse_claim)]
        claims: Vec<(String, String)>,
        /// Lifetime, e.g. 30s, 15m, 2h, 1d.
        #[arg(long, value_parser = actgate::token::parse_duration)]
        ttl: Duration,
        /// The private signing key.
        #[arg(long, default_value = "keys/actgate.key")]
        key: PathBuf,
        /// Host for the printed connection string.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port for the printed connection string.
        #[arg(long, default_value_t = 6432)]
        port: u16,
        /// Database for the printed connection string.
        #[arg(long, default_value = "shop")]
        database: String,
    },
    /// Append restrictions to a token (no key needed); prints the new token.
    Attenuate {
        /// The token, or - to read it from standard input.
        token: String,
        /// Only these tables (comma-separated; unqualified means public.NAME).
        #[arg(long, value_delimiter = ',')]
        tables: Option<Vec<String>>,
        /// Only these operations (comma-separated: select, insert, update,
        /// delete, truncate, ddl, lock).
        #[arg(long, value_delimiter = ',')]
        ops: Option<Vec<String>>,
        /// A shorter lifetime from now, e.g. 5m.
        #[arg(long, value_parser = actgate::token::parse_duration)]
        ttl: Option<Duration>,
    },
    /// Show a token's facts and checks (the signature is NOT checked).
    Inspect {
        /// The token, or - to read it from standard input.
        token: String,
    },
    /// Add a token id or block revocation id to the revocation list.
    Revoke {
        /// Token id or revocation id (see `actgate token inspect`).
        id: String,
        /// The revocation list file (created if missing).
        #[arg(long)]
        file: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "actgate=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::Demo { port, rules } => actgate::demo::run(port, &rules).context("demo failed"),
        Command::Explain {
            rules,
            agent,
            database_url,
            search_path,
            claims,
            sql,
        } => {
            let search_path: Vec<String> = search_path
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let text = runtime.block_on(actgate::explain::run(
                &rules,
                &agent,
                &sql,
                database_url.as_deref(),
                &search_path,
                &claims,
            ))?;
            print!("{text}");
            Ok(())
        }
        Command::Rls {
            rules,
            role,
            search_path,
        } => {
            let search_path: Vec<String> = search_path
                .split(',')
                .map(|s| s.trim().to_owned())
                .collect();
            print!("{}", actgate::explain::rls(&rules, &search_path, &role)?);
            Ok(())
        }
        Command::Check {
            rules,
            database,
            search_path,
            strict,
        } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let report = runtime.block_on(actgate::dba::check(
                &rules,
                database.as_deref(),
                &split_search_path(&search_path),
            ))?;
            print!("{}", report.render(strict));
            if !report.passed(strict) {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Test {
            rules,
            tests,
            database,
            search_path,
            junit,
        } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let run = runtime.block_on(actgate::dba::test(
                &rules,
                tests.as_deref(),
                database.as_deref(),
                &split_search_path(&search_path),
            ))?;
            print!("{}", actgate::dba::policy_tests::render_text(&run));
            if let Some(path) = junit {
                std::fs::write(&path, actgate::dba::policy_tests::render_junit(&run))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if !run.passed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Replay {
            audit,
            rules,
            agent,
            database,
            search_path,
            json,
        } => {
            let search_path = split_search_path(&search_path);
            let options = actgate::audit_tools::replay::Options {
                audit: &audit,
                rules_dir: &rules,
                agent: agent.as_deref(),
                database_url: database.as_deref(),
                search_path: &search_path,
            };
            let report = tokio::runtime::Runtime::new()
                .context("starting the async runtime")
                .and_then(|rt| Ok(rt.block_on(actgate::audit_tools::replay::run(&options))?));
            let report = match report {
                Ok(r) => r,
                Err(e) => {
                    // Bad input is exit status 2: 1 means "newly blocked".
                    eprintln!("Error: {e}");
                    std::process::exit(2);
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", actgate::audit_tools::replay::render_text(&report));
            }
            std::process::exit(report.exit_code());
        }
        Command::Suggest {
            audit,
            agent,
            database,
            search_path,
        } => {
            let search_path = split_search_path(&search_path);
            let options = actgate::audit_tools::suggest::Options {
                audit: &audit,
                agent: &agent,
                database_url: database.as_deref(),
                search_path: &search_path,
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let suggestion = runtime.block_on(actgate::audit_tools::suggest::run(&options))?;
            print!("{}", suggestion.toml);
            if !suggestion.uncovered.is_empty() {
                eprintln!(
                    "warning: {} recorded statement(s) are still denied by the suggestion (listed at its end)",
                    suggestion.uncovered.len()
                );
            }
            Ok(())
        }
        Command::Secret { secret } => {
            let secret = match secret {
                Some(s) => s,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the secret from standard input")?;
                    line.trim_end_matches(['\n', '\r']).to_owned()
                }
            };
            anyhow::ensure!(!secret.is_empty(), "the secret must not be empty");
            println!("{}", actgate::auth::Verifier::generate(&secret));
            Ok(())
        }
        Command::Keygen { private, public } => {
            actgate::token::keygen(&private, &public)?;
            println!(
                "wrote private key {} (mode 0600) and public key {}",
                private.display(),
                public.display()
            );
            Ok(())
        }
        Command::Token { command } => token(command),
        Command::Status { admin } => {
            let body: serde_json::Value = serde_json::from_str(&admin.client()?.get("/status")?)?;
            let rules = &body["rules"];
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
            println!("actgate {}", s(&body["version"]));
            println!(
                "rules:        generation {} from {} (loaded {}), agents: {}",
                rules["generation"],
                s(&body["rules_dir"]),
                s(&rules["loaded_at"]),
                rules["agents"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
            println!(
                "reloads:      {} ok, {} failed; last attempt {} ({})",
                rules["reloads_ok"],
                rules["reloads_failed"],
                s(&rules["last_attempt_at"]),
                s(&rules["last_trigger"])
            );
            println!("sessions:     {}", body["sessions_active"]);
            println!("suspensions:  {}", body["suspensions"]);
            println!("approvals:    {} pending", body["approvals_pending"]);
            println!(
                "audit drops:  {} ({} not yet reported in the log)",
                body["audit_dropped"], body["audit"]["dropped_unreported"]
            );
            if let Some(e) = body["audit"]["error"].as_str() {
                println!(
                    "AUDIT LOG CANNOT BE WRITTEN (on_failure = {}): {e}",
                    s(&body["audit"]["on_failure"])
                );
            }
            if let Some(e) = rules["last_error"].as_str() {
                println!("LAST RELOAD FAILED (the previous rules are in force):\n{e}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Reload { admin } => {
            // The reload waits for the rules directory to hold still
            // (server.rules_settle_ms, at most 30 s), then loads catalogs.
            let client = admin.client()?.with_timeout(Duration::from_secs(120));
            let body: serde_json::Value = serde_json::from_str(&client.post("/reload")?)?;
            println!("rules reloaded: generation {}", body["generation"]);
            Ok(())
        }
        Command::Approvals { admin } => {
            let body = admin.client()?.get("/approvals")?;
            let list: Vec<serde_json::Value> = serde_json::from_str(&body)?;
            if list.is_empty() {
                println!("no approval requests");
            }
            for a in list {
                let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
                println!(
                    "{}  {:<8}  agent={} subject={} rule={} requested={} expires={}\n    {}{}",
                    s("id"),
                    s("state"),
                    s("agent"),
                    s("subject"),
                    s("rule"),
                    s("requested_at"),
                    s("expires_at"),
                    s("sql"),
                    match a["params"].as_array() {
                        Some(p) if !p.is_empty() => format!(
                            "\n    parameters: {}",
                            serde_json::to_string(p).unwrap_or_default()
                        ),
                        _ => String::new(),
                    }
                );
            }
            Ok(())
        }
        Command::Approve { id, by, admin } => decide(&admin, &id, "approve", by),
        Command::Reject { id, by, admin } => decide(&admin, &id, "reject", by),
        Command::Suspend {
            agent,
            seconds,
            subject,
            admin,
        } => {
            let mut path = format!(
                "/agents/{}/suspend?seconds={seconds}",
                actgate::admin_client::encode(&agent)
            );
            if let Some(s) = &subject {
                path.push_str(&format!("&subject={}", actgate::admin_client::encode(s)));
            }
            let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
            println!(
                "suspended {agent}{} until {}",
                subject
                    .map(|s| format!(" acting for {s}"))
                    .unwrap_or_default(),
                body["until"].as_str().unwrap_or("?")
            );
            Ok(())
        }
        Command::Resume {
            agent,
            subject,
            admin,
        } => {
            let mut path = format!("/agents/{}/resume", actgate::admin_client::encode(&agent));
            if let Some(s) = &subject {
                path.push_str(&format!("?subject={}", actgate::admin_client::encode(s)));
            }
            let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
            if body["resumed"].as_bool() == Some(true) {
                println!("resumed {agent}");
                Ok(())
            } else {
                anyhow::bail!("{agent} was not suspended")
            }
        }
    }
}

fn token(command: TokenCommand) -> anyhow::Result<()> {
    use actgate::token;
    match command {
        TokenCommand::Mint {
            agent,
            subject,
            tenant,
            claims,
            ttl,
            key,
            host,
            port,
            database,
        } => {
            let mut claim_map = BTreeMap::new();
            for (name, value) in claims {
                anyhow::ensure!(
                    claim_map.insert(name.clone(), value).is_none(),
                    "claim {name:?} is given twice"
                );
            }
            let key = token::load_private_key(&key)?;
            let now = SystemTime::now();
            let request = token::MintRequest {
                agent,
                subject,
                tenant,
                claims: claim_map,
                ttl,
                now,
                not_before: None,
            };
            let (text, id) = token::mint(&key, &request)?;
            println!("{text}");
            println!(
                "{}",
                token::connection_string(&request.agent, &text, &host, port, &database)
            );
            eprintln!("token id {id}, expires {}", token::format_time(now + ttl));
            Ok(())
        }
        TokenCommand::Attenuate {
            token: text,
            tables,
            ops,
            ttl,
        } => {
            let text = token_argument(text)?;
            let narrowed = token::attenuate(
                &text,
                &token::Attenuation {
                    tables,
                    operations: ops,
                    ttl,
                    now: SystemTime::now(),
                },
            )?;
            println!("{narrowed}");
            Ok(())
        }
        TokenCommand::Inspect { token: text } => {
            print!("{}", token::inspect(&token_argument(text)?)?);
            Ok(())
        }
        TokenCommand::Revoke { id, file } => {
            token::revoke(&file, &id)?;
            println!("revoked {} (listed in {})", id.trim(), file.display());
            Ok(())
        }
    }
}

/// A TOKEN argument: the token itself, or `-` for standard input.
fn token_argument(arg: String) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the token from standard input")?;
    Ok(text.trim().to_owned())
}

/// `name=value` for `--claim`.
fn parse_claim(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

/// `actgate approve|reject ID`.
fn decide(admin: &AdminArgs, id: &str, decision: &str, by: Option<String>) -> anyhow::Result<()> {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let path = format!(
        "/approvals/{}/{decision}?by={}",
        actgate::admin_client::encode(id),
        actgate::admin_client::encode(&by)
    );
    let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
    println!(
        "{id}: {} by {by} (agent {}, valid until {})",
        body["state"].as_str().unwrap_or("?"),
        body["agent"].as_str().unwrap_or("?"),
        body["expires_at"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// A comma-separated `--search-path`.
fn split_search_path(s: &str) -> Vec<String> {
    s.split(',').map(|s| s.trim().to_owned()).collect()
}

fn serve(config_path: PathBuf) -> anyhow::Result<()> {
    let config = actgate::config::Config::load(&config_path)?;
    // Before anything opens descriptors: the soft limit up to the hard one.
    actgate::fds::raise_open_file_limit(&config.limits);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let gateway = actgate::build_gateway(config).await?;
        let addr = gateway.config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        if let Some(admin) = gateway.config.admin.clone() {
            let admin_listener = tokio::net::TcpListener::bind(admin.listen)
                .await
                .with_context(|| format!("cannot listen on {} (admin)", admin.listen))?;
            tokio::spawn(actgate::admin::serve(
                admin_listener,
                gateway.clone(),
                admin.token,
                std::future::pending(),
            ));
        }
        #[cfg(unix)]
        tokio::spawn(gateway.clone().reload_on_sighup());
        actgate::server::run(listener, gateway, shutdown_signal()).await;
        Ok(())
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
