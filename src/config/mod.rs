//! `actgate.toml`: raw serde types (unknown keys rejected), validated once
//! into a ready-to-use [`Config`]. Relative paths resolve against the
//! directory of the config file.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod raw;
mod state;
pub use state::{StateConfig, StatePostgres};

use raw::{RawConfig, RawTokens};

/// `server.rules_settle_ms` when not set.
pub const DEFAULT_RULES_SETTLE_MS: u64 = 1_000;
/// The most session worker threads `server.workers` may ask for.
const MAX_WORKERS: usize = 1024;

/// What `server.rules_settle_ms` may be: short enough for `POST /reload`
/// to answer while the client waits.
pub const RULES_SETTLE_MS: std::ops::RangeInclusive<u64> = 10..=30_000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("upstream password: {0}")]
    Password(String),
}

/// Whether actgate uses TLS towards PostgreSQL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamTls {
    #[default]
    Disable,
    Require,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub rules_dir: PathBuf,
    /// How often the rules directory is checked for changes (`None`: only
    /// SIGHUP and the admin endpoint reload).
    pub rules_poll: Option<Duration>,
    /// How long the rules directory must hold still before any reload
    /// (watcher, SIGHUP, admin) loads it.
    pub rules_settle: Duration,
    /// Session worker threads (`server.workers`; 0 there: one per core).
    pub workers: usize,
    pub limits: Limits,
    pub allow_cleartext_without_tls: bool,
    pub tls: Option<TlsFiles>,
    pub upstream: UpstreamConfig,
    pub audit: Option<AuditConfig>,
    pub tokens: Option<TokensConfig>,
    /// The time zone calendar budgets count days, weeks and months in.
    pub time_zone: jiff::tz::TimeZone,
    pub admin: Option<AdminConfig>,
    pub alerts: Option<AlertsConfig>,
    /// `[state]`: where budgets shared by replicas are kept.
    pub state: StateConfig,
    /// `[log] format`: text or JSON lines.
    pub log_format: crate::logging::LogFormat,
}

/// Webhook alerts (`[alerts]`).
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// `http://` or `https://` URLs each alert is POSTed to.
    pub webhooks: Vec<String>,
    /// Statement events with at least this risk score alert.
    pub min_risk: u8,
    /// Alerts waiting per webhook before new ones are dropped (and counted).
    pub queue_capacity: usize,
    pub timeout_ms: u64,
    pub max_attempts: u32,
    /// First retry delay; it doubles with every attempt.
    pub backoff_ms: u64,
    /// CA certificates for `https://` webhooks (default: the system's).
    pub ca_file: Option<PathBuf>,
}

/// The admin HTTP endpoint.
#[derive(Clone)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// The bearer token every request but the probes must present.
    pub token: String,
}

impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("listen", &self.listen)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// Capability-token verification.
#[derive(Debug, Clone)]
pub struct TokensConfig {
    /// Public keys that may sign tokens for every agent (several: key
    /// rotation).
    pub public_keys: Vec<PathBuf>,
    /// Public keys that may sign tokens only for some agents.
    pub bound_keys: Vec<crate::token::KeyBinding>,
    /// Token ids to refuse, one per line; watched for changes.
    pub revocation_file: Option<PathBuf>,
    pub revocation_poll: Duration,
}

/// Where audit events go.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    pub path: PathBuf,
    pub queue_capacity: usize,
    pub sql_max_bytes: usize,
    pub on_failure: AuditOnFailure,
}

/// What happens while an event cannot be audited (`[audit] on_failure`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOnFailure {
    /// Serve on; lost events are counted and reported in the log.
    #[default]
    Continue,
    /// Fail closed: refuse logins and statements, and say not ready.
    Block,
}

impl AuditOnFailure {
    pub fn name(self) -> &'static str {
        match self {
            AuditOnFailure::Continue => "continue",
            AuditOnFailure::Block => "block",
        }
    }
}

/// Bounds on what one client may make actgate do.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// Connections that have not authenticated yet, counted apart from
    /// `max_connections`.
    pub max_unauthenticated_connections: usize,
    pub max_message_bytes: usize,
    pub max_backend_message_bytes: usize,
    /// Longest statement text that is analysed; longer ones are denied.
    pub max_sql_bytes: usize,
    pub startup_timeout: Duration,
    /// `None` disables the idle timeout.
    pub idle_timeout: Option<Duration>,
    pub shutdown_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How to reach the real database. The password never appears in rules.
#[derive(Clone)]
pub struct UpstreamConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub connect_timeout: Duration,
    pub search_path: String,
    pub tls: UpstreamTls,
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("search_path", &self.search_path)
            .field("tls", &self.tls)
            .finish()
    }
}

impl UpstreamConfig {
    /// The pinned search_path as a list of schemas.
    pub fn search_path_list(&self) -> Vec<String> {
        self.search_path
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect()
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(&text, path, base)
    }

    /// Parses and validates config text; `path` names it in errors and
    /// `base` anchors relative paths.
    pub fn from_toml(text: &str, path: &Path, base: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let listen = raw
            .server
            .listen
            .parse()
            .map_err(|e| invalid(format!("server.listen {:?}: {e}", raw.server.listen)))?;
        let s = &raw.server;
        let max_sql_bytes = check_server(s).map_err(invalid)?;
        let u = raw.upstream;
        check_upstream(&u).map_err(invalid)?;
        let password = upstream_password(&u, base)?;
        let admin = match raw.admin {
            None => None,
            Some(a) => Some(admin_config(a, base).map_err(invalid)?),
        };
        let alerts = match raw.alerts {
            None => None,
            Some(a) => Some(alerts_config(a, base).map_err(invalid)?),
        };
        let state = state::state_config(raw.state, path, base)?;
        Ok(Config {
            log_format: raw.log.format,
            state,
            alerts,
            admin,
            listen,
            rules_dir: base.join(&s.rules_dir),
            rules_poll: (s.rules_poll_ms > 0).then(|| Duration::from_millis(s.rules_poll_ms.max(50))),
            rules_settle: Duration::from_millis(s.rules_settle_ms),
            workers: match s.workers {
                0 => crate::workers::default_count(),
                n => n,
            },
            limits: Limits {
                max_connections: s.max_connections,
                max_unauthenticated_connections: s.max_unauthenticated_connections,
                max_message_bytes: s.max_message_bytes,
                max_backend_message_bytes: s.max_backend_message_bytes,
                max_sql_bytes,
                startup_timeout: Duration::from_millis(s.startup_timeout_ms),
                idle_timeout: (s.idle_timeout_ms > 0)
                    .then(|| Duration::from_millis(s.idle_timeout_ms)),
                shutdown_grace: Duration::from_millis(s.shutdown_grace_ms),
            },
            allow_cleartext_without_tls: s.allow_cleartext_without_tls,
            tls: raw.tls.map(|t| TlsFiles {
                cert_file: base.join(t.cert_file),
                key_file: base.join(t.key_file),
            }),
            tokens: match raw.tokens {
                None => None,
                Some(t) => Some(tokens_config(t, base).map_err(invalid)?),
            },
            time_zone: match raw.controls.time_zone.as_deref() {
                None => jiff::tz::TimeZone::UTC,
                Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| {
                    invalid(format!(
                        "controls.time_zone {name:?} is not a known IANA time zone (e.g. \"Europe/Berlin\", \"UTC\")"
                    ))
                })?,
            },
            audit: raw.audit.map(|a| AuditConfig {
                path: base.join(a.path),
                queue_capacity: a.queue_capacity,
                sql_max_bytes: a.sql_max_bytes,
                on_failure: a.on_failure,
            }),
            upstream: UpstreamConfig {
                host: u.host,
                port: u.port,
                user: u.user,
                password,
                connect_timeout: Duration::from_millis(u.connect_timeout_ms),
                search_path: u.search_path,
                tls: u.tls,
                ca_file: u.ca_file.map(|f| base.join(f)),
            },
        })
    }
}

/// The `[server]` limits that need checking; returns `max_sql_bytes`
/// (defaulted from `max_message_bytes`).
fn check_server(s: &raw::RawServer) -> Result<usize, String> {
    if s.max_connections == 0 {
        return Err("server.max_connections must be at least 1".into());
    }
    if s.max_unauthenticated_connections == 0 {
        return Err("server.max_unauthenticated_connections must be at least 1".into());
    }
    for (name, v) in [
        ("server.max_message_bytes", s.max_message_bytes),
        (
            "server.max_backend_message_bytes",
            s.max_backend_message_bytes,
        ),
    ] {
        if !(1024..=crate::protocol::HARD_MAX_MESSAGE_BYTES).contains(&v) {
            return Err(format!(
                "{name} {v} must be between 1024 and {}",
                crate::protocol::HARD_MAX_MESSAGE_BYTES
            ));
        }
    }
    let max_sql_bytes = match s.max_sql_bytes {
        None => (256 * 1024).min(s.max_message_bytes),
        Some(n) if n == 0 || n > s.max_message_bytes => {
            return Err(format!(
                "server.max_sql_bytes {n} must be between 1 and server.max_message_bytes ({})",
                s.max_message_bytes
            ));
        }
        Some(n) => n,
    };
    if !RULES_SETTLE_MS.contains(&s.rules_settle_ms) {
        return Err(format!(
            "server.rules_settle_ms {} must be between {} and {}",
            s.rules_settle_ms,
            RULES_SETTLE_MS.start(),
            RULES_SETTLE_MS.end()
        ));
    }
    if s.workers > MAX_WORKERS {
        return Err(format!(
            "server.workers {} must be at most {MAX_WORKERS} (0: one per core)",
            s.workers
        ));
    }
    if s.startup_timeout_ms == 0 {
        return Err("server.startup_timeout_ms must be positive".into());
    }
    Ok(max_sql_bytes)
}

/// `[upstream]`: one password source, a plain search_path.
fn check_upstream(u: &raw::RawUpstream) -> Result<(), String> {
    if u.password_env.is_some() && u.password_file.is_some() {
        return Err("upstream: set password_env or password_file, not both".into());
    }
    if !u
        .search_path
        .split(',')
        .all(|p| is_plain_identifier(p.trim()))
    {
        return Err(format!(
            "upstream.search_path {:?} must be a comma-separated list of lower-case identifiers",
            u.search_path
        ));
    }
    Ok(())
}

/// The upstream password, from its environment variable or file.
fn upstream_password(u: &raw::RawUpstream, base: &Path) -> Result<Option<String>, ConfigError> {
    password_from(&u.password_env, &u.password_file, base)
}

/// A password from an environment variable or a file (its trailing line
/// break dropped), for whichever section names one.
fn password_from(
    env: &Option<String>,
    file: &Option<String>,
    base: &Path,
) -> Result<Option<String>, ConfigError> {
    Ok(match (env, file) {
        (Some(var), None) => Some(std::env::var(var).map_err(|_| {
            ConfigError::Password(format!("environment variable {var} is not set"))
        })?),
        (None, Some(file)) => {
            let p = base.join(file);
            let text = std::fs::read_to_string(&p)
                .map_err(|e| ConfigError::Password(format!("cannot read {}: {e}", p.display())))?;
            Some(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        _ => None,
    })
}

/// `[admin]`: its listen address and bearer token (read from its file).
fn admin_config(a: raw::RawAdmin, base: &Path) -> Result<AdminConfig, String> {
    let listen = a
        .listen
        .parse()
        .map_err(|e| format!("admin.listen {:?}: {e}", a.listen))?;
    let p = base.join(&a.token_file);
    let token = std::fs::read_to_string(&p)
        .map_err(|e| format!("admin.token_file {}: {e}", p.display()))?
        .trim()
        .to_owned();
    if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
        return Err(format!(
            "admin.token_file {}: the token must be at least {MIN_ADMIN_TOKEN_CHARS} characters",
            p.display()
        ));
    }
    Ok(AdminConfig { listen, token })
}

/// `[alerts]`: webhooks and delivery limits.
fn alerts_config(a: raw::RawAlerts, base: &Path) -> Result<AlertsConfig, String> {
    if a.webhooks.is_empty() {
        return Err("alerts.webhooks: list at least one URL".into());
    }
    for url in &a.webhooks {
        if let Err(e) = crate::http::HttpUrl::parse(url) {
            return Err(format!("alerts.webhooks {url:?}: {e}"));
        }
    }
    if a.min_risk > crate::policy::risk::MAX {
        return Err(format!(
            "alerts.min_risk {}: scores go from 0 to {}",
            a.min_risk,
            crate::policy::risk::MAX
        ));
    }
    if !(1..=1_000_000).contains(&a.queue_capacity) {
        return Err("alerts.queue_capacity must be 1 to 1000000".into());
    }
    if !(1..=100).contains(&a.max_attempts) {
        return Err("alerts.max_attempts must be 1 to 100".into());
    }
    if !(1..=600_000).contains(&a.timeout_ms) {
        return Err("alerts.timeout_ms must be 1 to 600000".into());
    }
    Ok(AlertsConfig {
        webhooks: a.webhooks,
        min_risk: a.min_risk,
        queue_capacity: a.queue_capacity,
        timeout_ms: a.timeout_ms,
        max_attempts: a.max_attempts,
        backoff_ms: a.backoff_ms.min(600_000),
        ca_file: a.ca_file.map(|f| base.join(f)),
    })
}

fn tokens_config(t: RawTokens, base: &Path) -> Result<TokensConfig, String> {
    if t.public_keys.is_empty() && t.keys.is_empty() {
        return Err(
            "[tokens] must name at least one key file in public_keys or [[tokens.keys]]".into(),
        );
    }
    let mut bound_keys = Vec::new();
    for (i, k) in t.keys.into_iter().enumerate() {
        if k.agents.is_empty() {
            return Err(format!(
                "tokens.keys[{i}].agents must name at least one agent or pattern (\"support-*\")"
            ));
        }
        let agents = k
            .agents
            .iter()
            .map(|a| crate::token::AgentPattern::parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("tokens.keys[{i}].agents: {e}"))?;
        bound_keys.push(crate::token::KeyBinding {
            public_key: base.join(k.public_key),
            agents,
        });
    }
    Ok(TokensConfig {
        public_keys: t.public_keys.iter().map(|k| base.join(k)).collect(),
        bound_keys,
        revocation_file: t.revocation_file.map(|f| base.join(f)),
        revocation_poll: Duration::from_millis(t.revocation_poll_ms.max(10)),
    })
}

/// A lower-case unquoted identifier, safe to place in a startup parameter.
fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests;
