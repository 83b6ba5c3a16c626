//! The raw serde types of `actgate.toml`: unknown keys are rejected,
//! defaults filled in; [`super::Config::from_toml`] validates them.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) tls: Option<RawTls>,
    pub(super) upstream: RawUpstream,
    #[serde(default)]
    pub(super) audit: Option<RawAudit>,
    #[serde(default)]
    pub(super) tokens: Option<RawTokens>,
    #[serde(default)]
    pub(super) controls: RawControls,
    #[serde(default)]
    pub(super) admin: Option<RawAdmin>,
    #[serde(default)]
    pub(super) alerts: Option<RawAlerts>,
    #[serde(default)]
    pub(super) state: Option<RawState>,
    #[serde(default)]
    pub(super) log: RawLog,
}

/// `[log]`: the process log's format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    #[serde(default)]
    pub(super) format: crate::logging::LogFormat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAlerts {
    pub(super) webhooks: Vec<String>,
    #[serde(default = "default_min_risk")]
    pub(super) min_risk: u8,
    #[serde(default = "default_alert_queue")]
    pub(super) queue_capacity: usize,
    #[serde(default = "default_alert_timeout")]
    pub(super) timeout_ms: u64,
    #[serde(default = "default_alert_attempts")]
    pub(super) max_attempts: u32,
    #[serde(default = "default_alert_backoff")]
    pub(super) backoff_ms: u64,
    #[serde(default)]
    pub(super) ca_file: Option<String>,
}

pub(super) fn default_min_risk() -> u8 {
    7
}
pub(super) fn default_alert_queue() -> usize {
    1024
}
pub(super) fn default_alert_timeout() -> u64 {
    5000
}
pub(super) fn default_alert_attempts() -> u32 {
    5
}
pub(super) fn default_alert_backoff() -> u64 {
    500
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    pub(super) listen: String,
    pub(super) token_file: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawControls {
    /// IANA time zone of calendar budgets (`5/calendar-day`).
    #[serde(default)]
    pub(super) time_zone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokens {
    #[serde(default)]
    pub(super) public_keys: Vec<String>,
    /// `[[tokens.keys]]`: keys bound to agents.
    #[serde(default)]
    pub(super) keys: Vec<RawTokenKey>,
    #[serde(default)]
    pub(super) revocation_file: Option<String>,
    #[serde(default = "default_revocation_poll")]
    pub(super) revocation_poll_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTokenKey {
    pub(super) public_key: String,
    pub(super) agents: Vec<String>,
}

pub(super) fn default_revocation_poll() -> u64 {
    250
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAudit {
    pub(super) path: String,
    #[serde(default = "default_audit_queue")]
    pub(super) queue_capacity: usize,
    #[serde(default = "default_audit_sql")]
    pub(super) sql_max_bytes: usize,
    #[serde(default)]
    pub(super) on_failure: AuditOnFailure,
}

pub(super) fn default_audit_queue() -> usize {
    65_536
}
pub(super) fn default_audit_sql() -> usize {
    2_048
}

/// `[state]`: where the controls replicas share are kept.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    #[serde(default = "default_store")]
    pub(super) store: String,
    pub(super) url: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<String>,
    #[serde(default)]
    pub(super) tls: UpstreamTls,
    pub(super) ca_file: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub(super) connect_timeout_ms: u64,
}

fn default_store() -> String {
    "memory".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawServer {
    pub(super) listen: String,
    pub(super) rules_dir: String,
    pub(super) max_connections: usize,
    pub(super) max_unauthenticated_connections: usize,
    pub(super) max_message_bytes: usize,
    pub(super) max_backend_message_bytes: usize,
    pub(super) max_sql_bytes: Option<usize>,
    pub(super) startup_timeout_ms: u64,
    pub(super) idle_timeout_ms: u64,
    pub(super) shutdown_grace_ms: u64,
    pub(super) allow_cleartext_without_tls: bool,
    pub(super) rules_poll_ms: u64,
    pub(super) rules_settle_ms: u64,
    pub(super) workers: usize,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: "127.0.0.1:6432".into(),
            rules_dir: "rules".into(),
            max_connections: 500,
            max_unauthenticated_connections: 128,
            max_message_bytes: 1 << 20,
            max_backend_message_bytes: 256 << 20,
            max_sql_bytes: None,
            startup_timeout_ms: 10_000,
            idle_timeout_ms: 0,
            shutdown_grace_ms: 30_000,
            allow_cleartext_without_tls: false,
            rules_poll_ms: 1_000,
            rules_settle_ms: DEFAULT_RULES_SETTLE_MS,
            workers: 0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert_file: String,
    pub(super) key_file: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpstream {
    #[serde(default = "default_host")]
    pub(super) host: String,
    #[serde(default = "default_port")]
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub(super) connect_timeout_ms: u64,
    #[serde(default = "default_search_path")]
    pub(super) search_path: String,
    #[serde(default)]
    pub(super) tls: UpstreamTls,
    pub(super) ca_file: Option<String>,
}

pub(super) fn default_host() -> String {
    "127.0.0.1".into()
}
pub(super) fn default_port() -> u16 {
    5432
}
pub(super) fn default_connect_timeout() -> u64 {
    5_000
}
pub(super) fn default_search_path() -> String {
    "public".into()
}
