//! Agent credentials: `secret`, `keygen` and `token …`.

use super::parse_claim;
use anyhow::Context;
use clap::Subcommand;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Subcommand)]
pub enum TokenCommand {
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
        #[arg(long, required_unless_present = "config", conflicts_with = "config")]
        file: Option<PathBuf>,
        /// actgate.toml whose `[state] store = "postgres"` every replica
        /// shares: the token is revoked there, and every replica ends its
        /// sessions within a second.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// `actgate secret`.
pub fn secret(secret: Option<String>) -> anyhow::Result<()> {
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

/// `actgate keygen`.
pub fn keygen(private: &Path, public: &Path) -> anyhow::Result<()> {
    actgate::token::keygen(private, public)?;
    println!(
        "wrote private key {} (mode 0600) and public key {}",
        private.display(),
        public.display()
    );
    Ok(())
}

/// `actgate token …`.
pub fn token(command: TokenCommand) -> anyhow::Result<()> {
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
        TokenCommand::Revoke { id, file, config } => match (file, config) {
            (Some(file), _) => {
                token::revoke(&file, &id)?;
                println!("revoked {} (listed in {})", id.trim(), file.display());
                Ok(())
            }
            (None, Some(config)) => revoke_in_store(&config, &id),
            (None, None) => anyhow::bail!("revoke needs --file or --config"),
        },
    }
}

/// `actgate token revoke ID --config actgate.toml`: in the shared store.
fn revoke_in_store(config: &std::path::Path, id: &str) -> anyhow::Result<()> {
    let config = actgate::config::Config::load(config)?;
    let actgate::config::StateConfig::Postgres(state) = &config.state else {
        anyhow::bail!(
            "{} keeps its state in memory; revoke with --file, or configure [state] store = \"postgres\"",
            "the configuration"
        );
    };
    let id = id.trim().to_ascii_lowercase();
    anyhow::ensure!(!id.is_empty(), "the token id must not be empty");
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let new = runtime.block_on(async {
        let store = actgate::state::PgState::open(state).await?;
        Ok::<_, anyhow::Error>(store.revoke(&id, jiff::Timestamp::now()).await?)
    })?;
    println!(
        "revoked {id} in the shared state database {:?}{}",
        state.database,
        if new { "" } else { " (it already was)" }
    );
    Ok(())
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
