//! Policy decisions: pure and synchronous. Given an agent's compiled
//! [`Policy`] and the [`analyze::Analysis`] of what it sent, return a
//! [`Verdict`]. This module never touches sockets or tokio; the proxy asks
//! it about every Query, Parse and Bind and carries out the answer.
//!
//! Default deny: a statement is allowed only if every class it belongs to,
//! every relation it touches (with the operation it performs), every column
//! it reads or writes, every function it calls and every setting it changes
//! is allowed. An explicit deny always wins.

pub mod analyze;
mod approvals;
pub mod arrays;
pub mod builtin;
pub mod catalog;
pub mod compile;
mod controls;
pub mod decision;
pub mod explain;
pub mod fingerprint;
mod limits;
pub mod names;
pub mod ownership;
mod params;
pub mod referee;
pub mod refusals;
pub mod risk;
pub mod rls;
mod scoping;
mod session;
mod statement;
#[cfg(test)]
mod tests;
pub mod utility;
mod verdict;

pub use approvals::{ApprovalNeed, ApprovalRule, ApprovalStatus};
pub use controls::{ActiveWindow, CircuitBreaker, RateLimit, RuntimeControls};
pub use decision::{Decision, Obligations, Refusal, Situation, Stage, reads_no_session_state};
pub use limits::{RowLimit, WriteCap};
pub use params::{ParamCheck, ParamCheckKind, ScopeValue, ValueLimit};
pub use session::{Origin, Portal, PreparedStatement, SessionState};
pub use verdict::{Capability, CapabilityDenial, Denial, StaticClaims, Verdict, denial_detail};

use analyze::{
    Access, Analysis, AnalysisError, Class, ColumnAccess, ColumnName, CopyEndpoint, PreparedRef,
    SettingAction, StatementInfo,
};
use catalog::Catalog;
use names::QualifiedName;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Enforce, or evaluate and audit without blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Monitor,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// Which system catalogs an agent may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogAccess {
    /// None, except tables listed explicitly.
    None,
    /// The read-only catalogs drivers introspect (the default).
    Drivers,
    /// Every catalog except those exposing credentials.
    All,
}

/// Per-table permissions.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRule {
    /// The rule's id in its file (`tables.orders`).
    pub rule: String,
    pub operations: BTreeSet<Access>,
    /// Allow-list of columns (read and write); `None` allows all.
    pub columns: Option<BTreeSet<String>>,
    pub deny_columns: BTreeSet<String>,
    /// Columns that may be written; `None` means the readable ones.
    pub write_columns: Option<BTreeSet<String>>,
    /// Row scoping: every use of the table must be pinned by its WHERE to
    /// these values (`customer_id = "{{claims.customer_id}}"`).
    pub scope: BTreeMap<String, ScopeValue>,
    /// Limits on values written to columns.
    pub limits: BTreeMap<String, ValueLimit>,
    /// Most rows a statement reading this table may return.
    pub max_rows: Option<u64>,
    /// Most rows one UPDATE or DELETE may change.
    pub max_affected_rows: Option<u64>,
}

/// An agent's compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub agent: String,
    pub source: PathBuf,
    pub mode: Mode,
    pub classes: BTreeSet<Class>,
    /// `deny.statements`: never allowed, listed or implied.
    pub denied_classes: BTreeSet<Class>,
    pub require_where: bool,
    pub tables: foldhash::HashMap<QualifiedName, TableRule>,
    /// Operations on every relation of a schema that has no table rule.
    pub schemas: foldhash::HashMap<String, TableRule>,
    pub denied_tables: foldhash::HashSet<QualifiedName>,
    /// Allowed functions beyond the built-in list (`pg_catalog.x` entries
    /// from unqualified names also match user functions named `x`).
    pub functions: foldhash::HashSet<QualifiedName>,
    pub denied_functions: foldhash::HashSet<QualifiedName>,
    pub settings: foldhash::HashSet<String>,
    pub catalog_access: CatalogAccess,
    pub driver_profile: bool,
    /// Most rows one statement may return (`policy.max_rows`).
    pub max_rows: Option<u64>,
    /// Cut results at the limit (a NOTICE says so) instead of failing the
    /// statement.
    pub truncate_rows: bool,
    /// Budgets (`[[rate_limits]]`), in file order.
    pub rate_limits: Vec<RateLimit>,
    /// `active_hours` of the policy and of tables.
    pub time_windows: Vec<ActiveWindow>,
    pub circuit_breaker: Option<CircuitBreaker>,
    /// `[[approvals]]`, in file order.
    pub approvals: Vec<ApprovalRule>,
    /// `policy.sensitive_tables`: their use adds the `sensitive_table`
    /// risk factor.
    pub sensitive_tables: foldhash::HashSet<QualifiedName>,
}

fn token_denial(d: CapabilityDenial, table: Option<&QualifiedName>, op: &str) -> Denial {
    let what = match table {
        Some(t) => format!("{op} on {t}"),
        None => "this statement".to_owned(),
    };
    let hint = match d.reason {
        "token_expired" => "mint a new token and reconnect",
        _ => "the capability token (or one it was attenuated from) does not allow this",
    };
    Denial::new(
        d.reason,
        "token",
        format!("actgate denied {what}: {}", d.message),
    )
    .hint(hint)
}

/// Whether class `c` of a statement follows, under the driver profile,
/// from what the statement wraps (whose own classes are checked as well):
/// [`StatementInfo::wrappers`], and every cursor statement (DECLARE is
/// judged by its query; FETCH, MOVE and CLOSE only use a cursor so
/// declared).
pub fn implied(st: &StatementInfo, c: Class) -> bool {
    st.wrappers.contains(&c) || c == Class::Cursor
}

/// A value as SQL would write it, for hints.
fn sql_literal(v: &str) -> String {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "''"))
    }
}

/// What passes where actgate's parser or analysis gave up (the HINT of a
/// `parse_error` or `unsupported_statement` denial).
const PLAINER_FORMS: &str = "plain SELECT, INSERT, UPDATE and DELETE in standard syntax pass \
(SELECT … FROM … WHERE … with ordinary joins, subqueries, CTEs and functions)";

/// The denial for a statement that could not be analysed (fail closed).
/// A parse failure is actgate's limit, not necessarily the agent's error:
/// the statement may well be valid PostgreSQL, so the agent is told so
/// and what plainer form passes, not that its syntax is wrong.
pub fn analysis_denial(e: &AnalysisError) -> Denial {
    let (reason, message, hint) = match e {
        AnalysisError::TooLong { limit, .. } => (
            "statement_too_long",
            format!("actgate denied this statement: {e}"),
            format!("send statements shorter than {limit} bytes"),
        ),
        AnalysisError::Parse(why) => (
            "parse_error",
            format!(
                "actgate denied this statement: its SQL parser could not read it, though it may well be valid PostgreSQL (the parser does not cover every PostgreSQL form; it stopped at: {})",
                why.strip_prefix("sql parser error: ").unwrap_or(why)
            ),
            format!(
                "rewrite the statement without the construct at that position (PostgreSQL-specific syntax, an unusual clause or operator); {PLAINER_FORMS}"
            ),
        ),
        AnalysisError::ParserGap(why) => (
            "parse_error",
            format!(
                "actgate denied this statement: PostgreSQL's parser accepts it, but actgate's SQL parser cannot read it, and actgate forwards only SQL it has checked (actgate's parser stopped at: {})",
                why.strip_prefix("sql parser error: ").unwrap_or(why)
            ),
            format!(
                "PostgreSQL would run this statement, but actgate cannot check it, so it is refused: rewrite it without the construct at that position (PostgreSQL-specific syntax, an unusual clause or operator); {PLAINER_FORMS}"
            ),
        ),
        AnalysisError::Invalid(postgres) => (
            "parse_error",
            format!(
                "actgate denied this statement: it is not valid PostgreSQL (PostgreSQL's own parser rejects it: {postgres})"
            ),
            "correct the syntax at that position and send the statement again".to_owned(),
        ),
        AnalysisError::Disagreement(d) => (
            "parser_disagreement",
            format!(
                "actgate denied this statement: actgate's SQL parser and PostgreSQL's read it differently, so what PostgreSQL would run is not what actgate checked: {d}"
            ),
            format!(
                "write the statement plainly (no unusual quoting, escapes or comments inside names and strings, one statement per message); {PLAINER_FORMS}"
            ),
        ),
        AnalysisError::Unsupported(what) => (
            "unsupported_statement",
            format!(
                "actgate denied this statement: its analysis does not support {what}, though the statement may well be valid PostgreSQL; actgate forwards only SQL it fully understands"
            ),
            format!("rewrite the statement without {what}; {PLAINER_FORMS}"),
        ),
    };
    Denial::new(reason, "builtin.analysis", message).hint(hint)
}

impl Policy {
    /// Whether a statement uses one of `policy.sensitive_tables`.
    pub fn touches_sensitive(&self, analysis: &Analysis) -> bool {
        !self.sensitive_tables.is_empty()
            && analysis
                .statements
                .iter()
                .flat_map(|s| &s.relations)
                .any(|r| self.sensitive_tables.contains(&r.name))
    }

    /// The rules file as refusals name it: relative to the rules
    /// directory (agent files sit directly in it), never the server's
    /// absolute path.
    pub fn file(&self) -> String {
        match self.source.file_name() {
            Some(name) => name.to_string_lossy().into_owned(),
            None => self.source.display().to_string(),
        }
    }

    /// Settings named by a parameter (`current_setting($1)`,
    /// `set_config($1, …)`) become checks of the bound name at Bind; with
    /// no Bind to come (a simple Query, SQL PREPARE) they are refused.
    fn setting_params(
        &self,
        st: &StatementInfo,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        for p in &st.setting_params {
            let Some(sink) = checks else {
                return Err(Denial::new(
                    "setting_parameter",
                    format!("{}: policy.settings", self.file()),
                    format!(
                        "actgate denied this statement: the setting it reads or sets is named by parameter ${}, which cannot be checked here",
                        p.param
                    ),
                )
                .hint("name the setting with a string literal, or bind the parameter over the extended protocol"));
            };
            let function = match p.action {
                SettingAction::Show => "current_setting",
                _ => "set_config",
            };
            sink.push(ParamCheck {
                param: p.param,
                relation: QualifiedName::new("pg_catalog", function),
                column: "setting_name".into(),
                rule: format!("{}: policy.settings", self.file()),
                kind: ParamCheckKind::Setting(p.action),
            });
        }
        Ok(())
    }

    /// Judges the setting name bound to parameter `param` as the literal
    /// form would be: `current_setting('name')` or `set_config('name', …)`.
    fn bound_setting(
        &self,
        param: usize,
        action: SettingAction,
        value: Option<&str>,
    ) -> Result<(), Denial> {
        let Some(name) = value else {
            return Err(Denial::new(
                "parameter_unverifiable",
                format!("{}: policy.settings", self.file()),
                format!(
                    "actgate denied Bind: parameter ${param} names a setting and is NULL or in a format actgate cannot check"
                ),
            )
            .hint("send it in text format, or declare its type in Parse"));
        };
        self.setting(&analyze::SettingUse {
            // Not trimmed: PostgreSQL looks the name up as bound.
            name: analyze::normalise_setting(&name.to_ascii_lowercase()),
            action,
        })
    }
}
