//! actgate: a SQL-aware database firewall for AI agents.
//!
//! An agent connects with an ordinary Postgres connection string; actgate
//! authenticates it, opens its own session to the real PostgreSQL with
//! credentials the agent never sees, checks every statement against the
//! agent's policy and relays the conversation byte for byte.
//!
//! Module map (layers point one way: `proxy` uses `protocol` and `policy`;
//! `policy` and `protocol` never do I/O):
//! - [`protocol`]: strict wire-protocol framing, no I/O.
//! - [`proxy`]: sessions, agent login, upstream connection, relay, cancel.
//! - [`policy`]: pure, synchronous decisions returning a [`policy::Verdict`].
//! - [`auth`]: agent credentials (SCRAM-SHA-256 verifiers).
//! - [`rules`]: the rules directory (one TOML file per agent).
//! - [`config`]: `actgate.toml`, validated into a ready-to-use [`config::Config`].
//! - [`server`]: listener, connection limit, graceful shutdown.
//! - [`tls`]: certificates for agents and trust anchors for upstream.
//! - [`launcher`]: throwaway PostgreSQL clusters for the demo and tests.
//! - [`demo`]: `actgate demo`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod demo;
pub mod launcher;
pub mod policy;
pub mod protocol;
pub mod proxy;
pub mod rules;
pub mod server;
pub mod tls;

use std::sync::Arc;

/// Errors building a [`proxy::Gateway`] from configuration.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Rules(#[from] rules::RulesError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("upstream.tls = \"require\" needs upstream.ca_file")]
    UpstreamTlsWithoutCa,
}

/// Loads rules and TLS material for a validated config.
pub fn build_gateway(config: config::Config) -> Result<Arc<proxy::Gateway>, StartError> {
    let rules = rules::RuleSet::load_dir(&config.rules_dir)?;
    let acceptor = config
        .tls
        .as_ref()
        .map(|t| tls::load_acceptor(&t.cert_file, &t.key_file))
        .transpose()?;
    let upstream_tls = match (config.upstream.tls, &config.upstream.ca_file) {
        (config::UpstreamTls::Disable, _) => None,
        (config::UpstreamTls::Require, Some(ca)) => Some(tls::load_connector(ca)?),
        (config::UpstreamTls::Require, None) => return Err(StartError::UpstreamTlsWithoutCa),
    };
    Ok(Arc::new(proxy::Gateway::new(
        config,
        rules,
        acceptor,
        upstream_tls,
    )))
}
