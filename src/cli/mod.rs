//! The `actgate` command line: the commands, and one file per group of
//! them that carries them out.

mod admin;
mod audit;
mod rules;
mod serve;
mod token;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "actgate",
    version,
    about = "A SQL-aware database firewall for AI agents"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    Explain(rules::ExplainArgs),
    /// Print PostgreSQL row-level-security policies and GRANTs mirroring the rules' row scoping.
    Rls(rules::RlsArgs),
    /// Validate a rules directory: every problem as `path:line:col: error: message`,
    /// then a summary; exit status 1 if there are errors.
    Check(rules::CheckArgs),
    /// Run policy test files against a rules directory; exit status 1 if any fails.
    Test(rules::TestArgs),
    /// Re-decide the statements of an audit log under candidate rules and report what would change.
    ///
    /// Exit status: 0 if nothing would be newly blocked, 1 if some statement
    /// would be, 2 on bad input (unreadable log, rules that do not load).
    Replay(audit::ReplayArgs),
    /// Propose a least-privilege rules file for an agent from its recorded statements.
    Suggest(audit::SuggestArgs),
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
        command: token::TokenCommand,
    },
    /// Show a running actgate's state: rules generation, last reload, sessions.
    /// Exits with status 1 while the last rules reload failed.
    Status {
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// Reload the rules of a running actgate now (as SIGHUP does), once the
    /// rules directory holds still. Exits with status 1 if the rules were
    /// not loaded (invalid, or still being written).
    Reload {
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// List statements held for human approval (through the admin endpoint).
    Approvals {
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// Approve a held statement: the agent's identical retry then runs once.
    Approve {
        /// The approval id from the agent's error (apr-…).
        id: String,
        /// Who decided, for the audit log (default: $USER).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// Reject a held statement.
    Reject {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        admin: admin::AdminArgs,
    },
    /// Suspend an agent (or one end user of it): its sessions end and logins are refused.
    Suspend(admin::SuspendArgs),
    /// Lift a suspension early.
    Resume(admin::ResumeArgs),
}

/// Carries out `command`.
impl Command {
    /// The process log's format: `[log] format` of the configuration
    /// `serve` runs with; text for every other command.
    pub fn log_format(&self) -> actgate::logging::LogFormat {
        match self {
            Command::Serve { config } => actgate::logging::format_of(config),
            _ => actgate::logging::LogFormat::Text,
        }
    }
}

pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { config } => serve::serve(config),
        Command::Demo { port, rules } => actgate::demo::run(port, &rules).context("demo failed"),
        Command::Explain(args) => rules::explain(args),
        Command::Rls(args) => rules::rls(args),
        Command::Check(args) => rules::check(args),
        Command::Test(args) => rules::test(args),
        Command::Replay(args) => audit::replay(args),
        Command::Suggest(args) => audit::suggest(args),
        Command::Secret { secret } => token::secret(secret),
        Command::Keygen { private, public } => token::keygen(&private, &public),
        Command::Token { command } => token::token(command),
        Command::Status { admin } => admin::status(&admin),
        Command::Reload { admin } => admin::reload(&admin),
        Command::Approvals { admin } => admin::approvals(&admin),
        Command::Approve { id, by, admin } => admin::decide(&admin, &id, "approve", by),
        Command::Reject { id, by, admin } => admin::decide(&admin, &id, "reject", by),
        Command::Suspend(args) => admin::suspend(args),
        Command::Resume(args) => admin::resume(args),
    }
}

/// `name=value` for `--claim`.
fn parse_claim(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

/// A comma-separated `--search-path`.
fn split_search_path(s: &str) -> Vec<String> {
    s.split(',').map(|s| s.trim().to_owned()).collect()
}

/// A runtime for the commands that talk to a database.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}
