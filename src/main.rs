//! The `actgate` binary: parse the command line, set up tracing, run.

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

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
    /// Print a SCRAM-SHA-256 verifier for an agent secret (for `secret_verifier`).
    Secret {
        /// The secret; read from standard input when omitted.
        secret: Option<String>,
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
    }
}

/// `name=value` for `--claim`.
fn parse_claim(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

fn serve(config_path: PathBuf) -> anyhow::Result<()> {
    let config = actgate::config::Config::load(&config_path)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let gateway = actgate::build_gateway(config).await?;
        let addr = gateway.config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
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
