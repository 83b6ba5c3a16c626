//! The raw serde types of a rules file's policy sections; unknown keys are
//! errors.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    #[serde(default)]
    pub mode: Option<Spanned<String>>,
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
    #[serde(default)]
    pub require_where: Option<bool>,
    #[serde(default)]
    pub functions: Vec<Spanned<String>>,
    #[serde(default)]
    pub settings: Vec<Spanned<String>>,
    #[serde(default)]
    pub catalog: Option<Spanned<String>>,
    #[serde(default)]
    pub driver_profile: Option<bool>,
    /// Most rows one statement may return to the agent.
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// "error" (default) or "truncate".
    #[serde(default)]
    pub on_row_limit: Option<Spanned<String>>,
    /// The agent may run statements only inside this window
    /// (`"Mon-Fri 09:00-17:00"`).
    #[serde(default)]
    pub active_hours: Option<Spanned<String>>,
    /// IANA time zone of every `active_hours` in the file (default UTC).
    #[serde(default)]
    pub time_zone: Option<Spanned<String>>,
    /// Tables whose use raises an event's risk score (`sensitive_table`).
    #[serde(default)]
    pub sensitive_tables: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTable {
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    #[serde(default)]
    pub columns: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub deny_columns: Vec<Spanned<String>>,
    #[serde(default)]
    pub write_columns: Option<Vec<Spanned<String>>>,
    /// Row scoping: column → value or `{{claims.NAME}}`.
    #[serde(default)]
    pub scope: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Value limits: column → { min, max, in, domain }.
    #[serde(default)]
    pub limits: BTreeMap<Spanned<String>, Spanned<RawLimit>>,
    /// Most rows a statement reading this table may return.
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// Most rows one UPDATE or DELETE may change.
    #[serde(default)]
    pub max_affected_rows: Option<u64>,
    /// The table may be used only inside this window.
    #[serde(default)]
    pub active_hours: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimit {
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default, rename = "in")]
    pub allowed: Option<Vec<String>>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// A whole schema: every relation in it without its own table rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchema {
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeny {
    #[serde(default)]
    pub tables: Vec<Spanned<String>>,
    #[serde(default)]
    pub functions: Vec<Spanned<String>>,
    /// Statement classes never allowed, even when listed or implied by the
    /// driver profile (`cursor`, `copy`, `explain`, `prepare`, …).
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
}

/// One `[[rate_limits]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// `COUNT/UNIT`, e.g. `"5/calendar-day"` or `"20/second"`.
    pub budget: Spanned<String>,
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    /// "agent" (default) or "subject".
    #[serde(default)]
    pub per: Option<Spanned<String>>,
}

/// One `[[approvals]]` entry: statements held for a human.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    #[serde(default)]
    pub name: Option<Spanned<String>>,
    pub table: Spanned<String>,
    /// Default: insert, update, delete.
    #[serde(default)]
    pub operations: Vec<Spanned<String>>,
    /// Only when the value written to this column is above `above`.
    #[serde(default)]
    pub column: Option<Spanned<String>>,
    #[serde(default)]
    pub above: Option<Spanned<f64>>,
    /// How long a request waits for a decision, and an approval stays
    /// usable, in seconds (default 3600).
    #[serde(default)]
    pub ttl_s: Option<Spanned<u64>>,
}

/// `[circuit_breaker]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// Denials that trip it, as a budget: `"5/minute"` trips at the 5th
    /// denial within a minute.
    pub trip_after: Spanned<String>,
    /// How long a suspension lasts, in seconds.
    pub suspend_for_s: Spanned<u64>,
    /// "agent" (default) or "subject".
    #[serde(default)]
    pub per: Option<Spanned<String>>,
}

/// Everything of a rules file that is policy.
#[derive(Debug, Default)]
pub struct RawRules {
    pub approvals: Vec<RawApproval>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    pub rate_limits: Vec<RawRateLimit>,
    pub policy: RawPolicy,
    pub tables: BTreeMap<Spanned<String>, RawTable>,
    pub schemas: BTreeMap<Spanned<String>, RawSchema>,
    pub deny: RawDeny,
}
