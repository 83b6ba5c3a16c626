//! actgate: a SQL-aware database firewall for AI agents.
//!
//! An agent connects with an ordinary Postgres connection string; actgate
//! authenticates it, opens its own session to the real PostgreSQL with
//! credentials the agent never sees, checks every statement against the
//! agent's policy and relays the conversation byte for byte.
//!
//! **Where a statement is decided:** [`policy::decision`] —
//! `Policy::decide_query`, `decide_parse` and `decide_bind` return a
//! [`policy::Decision`] (every refusal, by stage; the Bind-time checks; the
//! obligations only a running session can carry out). Every refusal is
//! worded in `policy` ([`policy::refusals`] for those no rule decides).
//! **Where the decision is carried out:** `proxy::relay`'s `decisions`
//! module (`on_query`, `on_parse`, `on_bind`, `on_execute`, `on_close`),
//! stage by stage; the rest of the relay keeps the wire exact. `actgate
//! test`, `explain`, `replay`, `suggest` and the policy case tables read the
//! same [`policy::Decision`].
//!
//! Module map (layers point one way: `proxy` uses `protocol` and `policy`;
//! `policy` and `protocol` never do I/O):
//! - [`protocol`]: strict wire-protocol framing, no I/O.
//! - [`proxy`]: sessions, agent login, upstream connection, relay, cancel.
//! - [`policy`]: pure, synchronous decisions returning a [`policy::Verdict`].
//! - [`catalog_load`]: reads a database's live catalog (for the proxy and the offline tools).
//! - [`auth`]: agent credentials (SCRAM-SHA-256 verifiers).
//! - [`token`]: signed agent tokens (Biscuit): mint, attenuate, verify, revoke.
//! - [`rules`]: the rules directory (one TOML file per agent).
//! - [`config`]: `actgate.toml`, validated into a ready-to-use [`config::Config`].
//! - [`controls`]: runtime controls (budgets, time windows) over an injectable clock.
//! - [`server`]: listener, connection limits, graceful shutdown.
//! - [`state`]: the state replicas share in PostgreSQL (`[state] store = "postgres"`).
//! - [`workers`]: the session worker threads (one single-threaded runtime each).
//! - [`fds`]: the open-file limit and the spare descriptor of the accept loop.
//! - [`tls`]: certificates for agents and trust anchors for upstream.
//! - [`admin`]: the admin HTTP endpoint (health, metrics, sessions, suspensions).
//! - [`audit`]: the JSON-lines audit log and its non-blocking writer.
//! - [`metrics`]: counters for the admin endpoint's `/metrics`.
//! - [`logging`]: the process log (text or JSON, colour only on a terminal).
//! - [`launcher`]: throwaway PostgreSQL clusters for the demo and tests.
//! - [`dba`]: `actgate check` and `actgate test` for whoever maintains the rules.
//! - [`demo`]: `actgate demo`.
//! - [`explain`]: `actgate explain`.
//! - [`audit_tools`]: `actgate replay` and `actgate suggest`, from the audit log.
#![forbid(unsafe_code)]

pub mod admin;
pub mod admin_client;
pub mod alerts;
pub mod audit;
pub mod audit_tools;
pub mod auth;
pub mod catalog_load;
pub mod config;
pub mod controls;
pub mod dba;
pub mod demo;
pub mod explain;
pub mod fds;
pub mod hex;
pub mod http;
pub mod launcher;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod protocol;
pub mod proxy;
pub mod rules;
pub mod server;
pub mod state;
pub mod tls;
pub mod token;
pub mod workers;

use std::collections::HashMap;
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
    #[error(transparent)]
    Catalog(#[from] catalog_load::CatalogError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error("alerts: {0}")]
    Alerts(#[from] alerts::AlertError),
    #[error(transparent)]
    Token(#[from] token::TokenError),
    #[error("an agent logs in with capability tokens but [tokens] public_keys is not configured")]
    TokensNotConfigured,
    #[error(transparent)]
    State(Box<state::StateError>),
    #[error(transparent)]
    Load(proxy::generation::LoadError),
}

impl From<proxy::generation::LoadError> for StartError {
    fn from(e: proxy::generation::LoadError) -> Self {
        use proxy::generation::LoadError;
        match e {
            LoadError::Rules(e) => StartError::Rules(e),
            LoadError::Catalog(e) => StartError::Catalog(e),
            LoadError::TokensNotConfigured => StartError::TokensNotConfigured,
            e @ LoadError::StateDatabase { .. } => StartError::Load(e),
        }
    }
}

fn upstream_tls(config: &config::Config) -> Result<Option<tokio_rustls::TlsConnector>, StartError> {
    match (config.upstream.tls, &config.upstream.ca_file) {
        (config::UpstreamTls::Disable, _) => Ok(None),
        (config::UpstreamTls::Require, Some(ca)) => Ok(Some(tls::load_connector(ca)?)),
        (config::UpstreamTls::Require, None) => Err(StartError::UpstreamTlsWithoutCa),
    }
}

/// Loads rules, the live catalog of every database the rules name (rules
/// are checked against it), TLS material and the audit log.
pub async fn build_gateway(config: config::Config) -> Result<Arc<proxy::Gateway>, StartError> {
    let upstream_tls = upstream_tls(&config)?;
    // Read once: the files whose databases are loaded are the files compiled.
    let snapshot = rules::RulesSnapshot::read(&config.rules_dir)?;
    let catalogs =
        proxy::generation::load_catalogs(&config, upstream_tls.as_ref(), &snapshot).await?;
    let state = match &config.state {
        config::StateConfig::Memory => None,
        config::StateConfig::Postgres(pg) => Some(
            state::PgState::open(pg)
                .await
                .map_err(|e| StartError::State(Box::new(e)))?,
        ),
    };
    finish_gateway(config, snapshot, catalogs, upstream_tls, state)
}

/// Like [`build_gateway`] without contacting the database: rules are
/// checked for structure only and `*` cannot be expanded.
pub fn build_gateway_offline(config: config::Config) -> Result<Arc<proxy::Gateway>, StartError> {
    let upstream_tls = upstream_tls(&config)?;
    let snapshot = rules::RulesSnapshot::read(&config.rules_dir)?;
    finish_gateway(config, snapshot, HashMap::new(), upstream_tls, None)
}

fn finish_gateway(
    config: config::Config,
    snapshot: rules::RulesSnapshot,
    catalogs: HashMap<String, Arc<policy::catalog::Catalog>>,
    upstream_tls: Option<tokio_rustls::TlsConnector>,
    state: Option<Arc<state::PgState>>,
) -> Result<Arc<proxy::Gateway>, StartError> {
    // The watcher reloads any change made since the snapshot was read.
    let fingerprint = Some(snapshot.fingerprint());
    let rules = proxy::generation::compile_rules(&config, &snapshot, &catalogs)?;
    let acceptor = config
        .tls
        .as_ref()
        .map(|t| tls::load_acceptor(&t.cert_file, &t.key_file))
        .transpose()?;
    let (token_keys, revocations) = match &config.tokens {
        Some(t) => (
            Some(token::PublicKeys::load_with_bindings(
                &t.public_keys,
                &t.bound_keys,
            )?),
            match &t.revocation_file {
                Some(path) => token::RevocationList::load(path)?,
                None => token::RevocationList::default(),
            },
        ),
        None => (None, token::RevocationList::default()),
    };
    if let Some(keys) = &token_keys {
        for agent in rules.agents() {
            if matches!(agent.credential, auth::Credential::Token)
                && keys.signing_for(&agent.name, true).next().is_none()
            {
                tracing::warn!(
                    agent = %agent.name,
                    "no token key may sign for this agent; its logins will be refused"
                );
            }
        }
    }
    let audit = Arc::new(match &config.audit {
        Some(a) => {
            audit::AuditLog::open_with(&a.path, a.queue_capacity, a.sql_max_bytes, a.on_failure)?
        }
        None => audit::AuditLog::disabled(),
    });
    let alerter = match &config.alerts {
        Some(a) => alerts::Alerter::start(a, audit.clone())?,
        None => alerts::Alerter::disabled(),
    };
    let gateway = Arc::new(proxy::Gateway::new(proxy::GatewayParts {
        config,
        rules,
        catalogs,
        tls_acceptor: acceptor,
        upstream_tls,
        audit,
        alerter,
        token_keys,
        revocations,
        state,
    }));
    gateway.note_rules_fingerprint(fingerprint);
    Ok(gateway)
}
