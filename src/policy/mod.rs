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
pub mod arrays;
pub mod builtin;
pub mod catalog;
pub mod compile;
pub mod explain;
pub mod fingerprint;
mod limits;
pub mod names;
pub mod ownership;
pub mod risk;
pub mod rls;
pub mod utility;

pub use limits::{RowLimit, WriteCap};

use analyze::{
    Access, Analysis, AnalysisError, Class, ColumnAccess, ColumnName, CopyEndpoint, PreparedRef,
    SettingAction, StatementInfo,
};
use catalog::Catalog;
use names::QualifiedName;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// A refusal, worded for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// SQLSTATE sent with the error (42501 for policy denials).
    pub sqlstate: &'static str,
    /// Stable machine-readable reason code.
    pub reason: &'static str,
    /// Which rule decided (`tables.orders`, `policy.statements`, `default_deny`…).
    pub rule: String,
    pub message: String,
    /// What would be allowed instead.
    pub hint: Option<String>,
}

impl Denial {
    fn new(reason: &'static str, rule: impl Into<String>, message: impl Into<String>) -> Denial {
        Denial {
            sqlstate: "42501",
            reason,
            rule: rule.into(),
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Denial {
        self.hint = Some(hint.into());
        self
    }

    /// The DETAIL sent with the error (and nowhere else worded).
    pub fn detail(&self) -> String {
        denial_detail(self.reason, &self.rule)
    }
}

/// The DETAIL of an actgate refusal: `reason: CODE; rule: RULE`. Every
/// refusal the agent reads, decided by the policy or while a statement
/// runs (row limits, write caps), is worded by this one function.
pub fn denial_detail(reason: &str, rule: &str) -> String {
    format!("reason: {reason}; rule: {rule}")
}

/// The outcome of one policy evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(Denial),
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// What an agent's capability token grants, as the policy sees it. The
/// proxy implements it over a verified token (with the current time);
/// secret logins have none, so rules that need claims deny.
pub trait Capability {
    /// A claim by name (`{{claims.NAME}}` in rules).
    fn claim(&self, name: &str) -> Option<&str>;
    /// The token's own checks (attenuation, expiry) for one access; `table`
    /// is `None` for a statement that touches no user table.
    fn authorize(&self, table: Option<&str>, operation: &str) -> Result<(), CapabilityDenial>;
}

/// Claims without a token's checks: for `actgate explain --claim` and
/// tests.
#[derive(Debug, Clone, Default)]
pub struct StaticClaims(pub BTreeMap<String, String>);

impl Capability for StaticClaims {
    fn claim(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn authorize(&self, _table: Option<&str>, _operation: &str) -> Result<(), CapabilityDenial> {
        Ok(())
    }
}

/// Why a token's checks refused an access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityDenial {
    /// `token_expired` or `token_check_failed`.
    pub reason: &'static str,
    pub message: String,
}

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

/// Limits on the values written to a column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueLimit {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Allowed values (compared as text).
    pub allowed: Option<Vec<String>>,
    /// Allowed e-mail domain (`user@domain`).
    pub domain: Option<String>,
}

impl ValueLimit {
    /// Checks one written value; a parameter becomes a Bind-time check.
    fn check(
        &self,
        value: Option<&analyze::PinValue>,
        relation: &QualifiedName,
        column: &str,
        rule: &str,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        match value {
            Some(analyze::PinValue::Literal(v)) => self.check_text(v).map_err(|why| {
                Denial::new(
                    "value_limit",
                    rule,
                    format!("actgate denied writing {column} = {} to {relation}: {why}", sql_literal(v)),
                )
                .hint(self.describe())
            }),
            Some(analyze::PinValue::Param(n)) => match checks {
                Some(sink) => {
                    sink.push(ParamCheck {
                        param: *n,
                        relation: relation.clone(),
                        column: column.to_owned(),
                        rule: rule.to_owned(),
                        kind: ParamCheckKind::Limit(self.clone()),
                    });
                    Ok(())
                }
                None => Err(Denial::new(
                    "value_unverifiable",
                    rule,
                    format!("actgate denied writing {column} of {relation}: parameter ${n} cannot be checked"),
                )),
            },
            _ => Err(Denial::new(
                "value_unverifiable",
                rule,
                format!(
                    "actgate denied writing {column} of {relation}: the value is not a literal or parameter, so its limits cannot be checked"
                ),
            )
            .hint(self.describe())),
        }
    }

    /// `Err(why)` if `v` is outside the limits.
    pub fn check_text(&self, v: &str) -> Result<(), String> {
        if self.min.is_some() || self.max.is_some() {
            let n: f64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{v:?} is not a number"))?;
            if !n.is_finite() {
                return Err(format!("{v:?} is not a finite number"));
            }
            if let Some(min) = self.min
                && n < min
            {
                return Err(format!("below the minimum {min}"));
            }
            if let Some(max) = self.max
                && n > max
            {
                return Err(format!("above the maximum {max}"));
            }
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == v)
        {
            return Err("not one of the allowed values".into());
        }
        if let Some(domain) = &self.domain {
            let ok = v
                .rsplit_once('@')
                .is_some_and(|(user, d)| !user.is_empty() && d.eq_ignore_ascii_case(domain));
            if !ok {
                return Err(format!("not an address at {domain}"));
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = self.min {
            parts.push(format!("at least {m}"));
        }
        if let Some(m) = self.max {
            parts.push(format!("at most {m}"));
        }
        if let Some(a) = &self.allowed {
            parts.push(format!("one of {}", a.join(", ")));
        }
        if let Some(d) = &self.domain {
            parts.push(format!("an address at {d}"));
        }
        format!("allowed values: {}", parts.join(", "))
    }
}

/// A condition on a Bind parameter, found when the Parse was evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCheck {
    /// 1-based parameter number.
    pub param: usize,
    pub relation: QualifiedName,
    pub column: String,
    pub rule: String,
    pub kind: ParamCheckKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamCheckKind {
    /// Row scoping: the parameter must equal this value.
    Equals(String),
    /// Row scoping by `col = ANY($n)`: the parameter is a one-dimensional
    /// array whose every element equals this value (NULL elements, which
    /// match no row, and an empty array, which selects nothing, pass).
    EveryElementEquals(String),
    Limit(ValueLimit),
    /// `current_setting($n)` / `set_config($n, …)`: the bound setting name
    /// must be one the policy lets this statement read or set, judged by
    /// [`Policy::evaluate_bind`] like the literal form.
    Setting(analyze::SettingAction),
}

impl ParamCheck {
    /// Checks a bound value (as text; `None` for NULL or a value actgate
    /// cannot decode).
    pub fn check(&self, value: Option<&str>) -> Result<(), Denial> {
        let Some(v) = value else {
            return Err(Denial::new(
                "parameter_unverifiable",
                self.rule.clone(),
                format!(
                    "actgate denied Bind: parameter ${} (for {} of {}) is NULL or in a format actgate cannot check",
                    self.param, self.column, self.relation
                ),
            )
            .hint("send it in text format, or declare its type in Parse"));
        };
        match &self.kind {
            ParamCheckKind::Equals(required) => {
                if same_value(v, required) {
                    Ok(())
                } else {
                    Err(Denial::new(
                        "scope_violation",
                        self.rule.clone(),
                        format!(
                            "actgate denied access to {} where {} = {}: this agent may only use rows where {} = {}",
                            self.relation,
                            self.column,
                            sql_literal(v),
                            self.column,
                            sql_literal(required)
                        ),
                    )
                    .hint(format!("bind ${} to {}", self.param, sql_literal(required))))
                }
            }
            ParamCheckKind::EveryElementEquals(required) => {
                let Some(elements) = arrays::parse_text_array(v) else {
                    return Err(Denial::new(
                        "parameter_unverifiable",
                        self.rule.clone(),
                        format!(
                            "actgate denied Bind: parameter ${} (for {} of {}) is not a one-dimensional array actgate can read",
                            self.param, self.column, self.relation
                        ),
                    )
                    .hint(format!(
                        "bind ${} to a one-dimensional array such as {{{}}}",
                        self.param, required
                    )));
                };
                match elements
                    .iter()
                    .flatten()
                    .find(|e| !same_value(e, required))
                {
                    None => Ok(()),
                    Some(e) => Err(Denial::new(
                        "scope_violation",
                        self.rule.clone(),
                        format!(
                            "actgate denied access to {} where {} = ANY(${}) with the element {}: this agent may only use rows where {} = {}",
                            self.relation,
                            self.column,
                            self.param,
                            sql_literal(e),
                            self.column,
                            sql_literal(required)
                        ),
                    )
                    .hint(format!(
                        "bind ${} to an array whose elements are all {}",
                        self.param,
                        sql_literal(required)
                    ))),
                }
            }
            // Needs the policy's setting rules: decided by
            // `Policy::evaluate_bind`, never here.
            ParamCheckKind::Setting(_) => Err(Denial::new(
                "parameter_unverifiable",
                self.rule.clone(),
                format!(
                    "actgate denied Bind: parameter ${} names a setting and was not checked",
                    self.param
                ),
            )),
            ParamCheckKind::Limit(limit) => limit.check_text(v).map_err(|why| {
                Denial::new(
                    "value_limit",
                    self.rule.clone(),
                    format!(
                        "actgate denied writing {} = {} to {}: {why}",
                        self.column,
                        sql_literal(v),
                        self.relation
                    ),
                )
                .hint(limit.describe())
            }),
        }
    }
}

/// Equal as Postgres would compare a literal with the column: numbers by
/// value (`042` = `42`), everything else as text.
fn same_value(a: &str, b: &str) -> bool {
    match (a.trim().parse::<i128>(), b.trim().parse::<i128>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// What a scoping rule requires of one use of a table.
struct ScopeTarget<'a> {
    relation: &'a QualifiedName,
    column: &'a str,
    required: &'a str,
    rule: String,
}

impl ScopeTarget<'_> {
    fn deny(&self, reason: &'static str, message: String) -> Denial {
        Denial::new(reason, self.rule.clone(), message).hint(format!(
            "add `WHERE {} = {}` for every use of {} (INSERTs must set it)",
            self.column,
            sql_literal(self.required),
            self.relation
        ))
    }

    /// The pinned value must be the required one; parameters are checked
    /// at Bind.
    fn require(
        &self,
        value: &analyze::PinValue,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        match value {
            analyze::PinValue::Literal(v) if same_value(v, self.required) => Ok(()),
            analyze::PinValue::Literal(v) => Err(self.deny(
                "scope_violation",
                format!(
                    "actgate denied access to {} where {} = {}: this agent may only use rows where {} = {}",
                    self.relation,
                    self.column,
                    sql_literal(v),
                    self.column,
                    sql_literal(self.required)
                ),
            )),
            analyze::PinValue::Set(vs) => vs.iter().try_for_each(|v| self.require(v, checks)),
            analyze::PinValue::Param(n) | analyze::PinValue::ParamArray(n) => match checks {
                Some(sink) => {
                    let required = self.required.to_owned();
                    sink.push(ParamCheck {
                        param: *n,
                        relation: self.relation.clone(),
                        column: self.column.to_owned(),
                        rule: self.rule.clone(),
                        kind: match value {
                            analyze::PinValue::ParamArray(_) => {
                                ParamCheckKind::EveryElementEquals(required)
                            }
                            _ => ParamCheckKind::Equals(required),
                        },
                    });
                    Ok(())
                }
                None => Err(self.deny(
                    "scope_parameter",
                    format!(
                        "actgate denied access to {}: {} is compared with parameter ${n}, which cannot be checked here",
                        self.relation, self.column
                    ),
                )),
            },
        }
    }
}

/// The value a scoped column must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeValue {
    Literal(String),
    /// `{{claims.NAME}}`
    Claim(String),
}

impl ScopeValue {
    /// Parses a rules-file value: `{{claims.NAME}}` or a literal.
    pub fn parse(s: &str) -> ScopeValue {
        let t = s.trim();
        match t
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
            .map(str::trim)
            .and_then(|r| r.strip_prefix("claims."))
        {
            Some(name) => ScopeValue::Claim(name.trim().to_owned()),
            None => ScopeValue::Literal(s.to_owned()),
        }
    }
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
    pub tables: HashMap<QualifiedName, TableRule>,
    /// Operations on every relation of a schema that has no table rule.
    pub schemas: HashMap<String, TableRule>,
    pub denied_tables: HashSet<QualifiedName>,
    /// Allowed functions beyond the built-in list (`pg_catalog.x` entries
    /// from unqualified names also match user functions named `x`).
    pub functions: HashSet<QualifiedName>,
    pub denied_functions: HashSet<QualifiedName>,
    pub settings: HashSet<String>,
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
    pub sensitive_tables: HashSet<QualifiedName>,
}

/// A statement's need for approval: rule `index`, always or when bound
/// parameter `param` is above the rule's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalNeed {
    pub index: usize,
    pub param: Option<usize>,
}

/// Where a held statement's request stands, for its refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStatus {
    /// Just requested.
    Requested,
    /// Requested before, still waiting.
    Pending,
    Rejected,
    /// Too many requests waiting.
    Unavailable,
}

/// A written value above an approval threshold; a value that is not a
/// number is treated as above (fail closed).
fn above_threshold(text: &str, above: f64) -> bool {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => n > above,
        _ => true,
    }
}

/// One `[[approvals]]` entry: matching statements run only after a human
/// approved them.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalRule {
    /// `approvals.NAME` (or the entry's position when unnamed).
    pub rule: String,
    pub table: QualifiedName,
    pub operations: BTreeSet<Access>,
    /// Only when the value written to this column is above this number.
    pub threshold: Option<(String, f64)>,
    /// How long a request waits, and an approval stays usable.
    pub ttl: jiff::SignedDuration,
}

/// `[circuit_breaker]`: suspend the agent (or the end user) after too many
/// denials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Trips at the `limit`-th denial within the window.
    pub trip: crate::controls::Budget,
    pub suspend_for: jiff::SignedDuration,
    pub per_subject: bool,
}

/// An `active_hours` window: outside it, statements (touching `table`, or
/// all of them) are denied.
#[derive(Debug, Clone)]
pub struct ActiveWindow {
    /// `policy.active_hours` or `tables.NAME.active_hours`.
    pub rule: String,
    pub window: crate::controls::TimeWindow,
    pub table: Option<QualifiedName>,
}

/// The runtime controls one statement is under: indices into
/// [`Policy::rate_limits`] (once per matching statement) and
/// [`Policy::time_windows`]. They are checked when it runs (Query,
/// Execute), not when it is prepared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeControls {
    pub budgets: Vec<usize>,
    pub windows: Vec<usize>,
}

impl RuntimeControls {
    pub fn is_empty(&self) -> bool {
        self.budgets.is_empty() && self.windows.is_empty()
    }

    pub fn extend(&mut self, other: &RuntimeControls) {
        self.budgets.extend_from_slice(&other.budgets);
        for w in &other.windows {
            if !self.windows.contains(w) {
                self.windows.push(*w);
            }
        }
    }
}

/// One `[[rate_limits]]` entry: a budget for the statements it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// `rate_limits.NAME` (or the entry's position when unnamed).
    pub rule: String,
    pub budget: crate::controls::Budget,
    /// Only statements touching this table; `None` is every statement.
    pub table: Option<QualifiedName>,
    /// Only these operations (on `table`, or on any table); empty is all.
    pub operations: BTreeSet<Access>,
    /// One budget per end user (the token's subject) instead of one for
    /// the whole agent.
    pub per_subject: bool,
}

impl RateLimit {
    /// Whether one statement counts against this budget.
    fn matches(&self, statement: &StatementInfo) -> bool {
        if self.table.is_none() && self.operations.is_empty() {
            return true;
        }
        statement.relations.iter().any(|r| {
            self.table.as_ref().is_none_or(|t| *t == r.name)
                && (self.operations.is_empty() || self.operations.contains(&r.access))
        })
    }
}

/// Prepared statements a session created through allowed Parse or PREPARE:
/// a Bind or EXECUTE may only use these.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    prepared: HashSet<String>,
    /// Those of `prepared` made by SQL `PREPARE` (judged whole when
    /// prepared), not by Parse (whose Binds have checks and limits that a
    /// SQL `EXECUTE` would not be held to).
    sql_prepared: HashSet<String>,
    /// Conditions on the parameters of prepared statements, checked at
    /// every Bind.
    checks: HashMap<String, Vec<ParamCheck>>,
    /// The server reported `default_transaction_read_only = off` when the
    /// session started: setting it back to off (pgjdbc's `setReadOnly(false)`
    /// after `setReadOnly(true)`) returns to the start value, like RESET.
    read_write_at_start: bool,
}

impl SessionState {
    /// A session whose server reported `default_transaction_read_only`
    /// as `start` (its ParameterStatus at startup; `None` if it did not).
    pub fn starting_with_read_only(start: Option<&str>) -> SessionState {
        SessionState {
            read_write_at_start: start.is_some_and(|v| v.eq_ignore_ascii_case("off")),
            ..SessionState::default()
        }
    }

    /// Whether a change of `setting` can only return the session to (or
    /// narrow it from) the value it started with: any SET of
    /// `default_transaction_read_only` when it started read-write.
    fn within_start(&self, setting: &analyze::SettingUse) -> bool {
        self.read_write_at_start
            && setting.name == "default_transaction_read_only"
            && setting.action == SettingAction::Set
    }

    /// Records an allowed Parse and the conditions its Binds must meet.
    pub fn parsed(&mut self, statement: &str, checks: Vec<ParamCheck>) {
        self.prepared.insert(statement.to_owned());
        self.sql_prepared.remove(statement);
        if checks.is_empty() {
            self.checks.remove(statement);
        } else {
            self.checks.insert(statement.to_owned(), checks);
        }
    }

    /// The conditions a Bind of `statement` must meet.
    pub fn checks(&self, statement: &str) -> &[ParamCheck] {
        self.checks
            .get(statement)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Records a Close of a statement.
    pub fn closed(&mut self, statement: &str) {
        self.prepared.remove(statement);
        self.sql_prepared.remove(statement);
        self.checks.remove(statement);
    }

    /// Records the effects of an allowed simple Query.
    pub fn executed(&mut self, analysis: &Analysis) {
        for st in &analysis.statements {
            self.executed_statement(st);
        }
    }

    fn executed_statement(&mut self, st: &StatementInfo) {
        {
            for p in &st.prepared {
                match p {
                    // PostgreSQL refuses to replace an existing statement
                    // (42P05) and keeps it: so do its checks.
                    PreparedRef::Prepare(n) => {
                        if self.prepared.insert(n.clone()) {
                            self.checks.remove(n);
                            self.sql_prepared.insert(n.clone());
                        }
                    }
                    PreparedRef::Deallocate(Some(n)) => {
                        self.prepared.remove(n);
                        self.sql_prepared.remove(n);
                        self.checks.remove(n);
                    }
                    PreparedRef::Deallocate(None) => {
                        self.prepared.clear();
                        self.sql_prepared.clear();
                        self.checks.clear();
                    }
                    PreparedRef::Execute(_) => {}
                }
            }
            if st.discards_all() {
                self.prepared.clear();
                self.sql_prepared.clear();
            }
        }
    }

    pub fn is_prepared(&self, statement: &str) -> bool {
        self.prepared.contains(statement)
    }

    /// Whether `statement` was prepared by an allowed SQL `PREPARE`.
    pub fn is_sql_prepared(&self, statement: &str) -> bool {
        self.sql_prepared.contains(statement)
    }

    /// What the session holds about `statement`, to put back with
    /// [`SessionState::restore`] if the server never saw the message that
    /// changed it.
    pub fn snapshot(&self, statement: &str) -> StatementSnapshot {
        StatementSnapshot {
            prepared: self.prepared.contains(statement),
            sql_prepared: self.sql_prepared.contains(statement),
            checks: self.checks.get(statement).cloned(),
        }
    }

    pub fn restore(&mut self, statement: &str, snapshot: StatementSnapshot) {
        if snapshot.prepared {
            self.prepared.insert(statement.to_owned());
        } else {
            self.prepared.remove(statement);
        }
        if snapshot.sql_prepared {
            self.sql_prepared.insert(statement.to_owned());
        } else {
            self.sql_prepared.remove(statement);
        }
        match snapshot.checks {
            Some(c) => self.checks.insert(statement.to_owned(), c),
            None => self.checks.remove(statement),
        };
    }
}

/// One prepared statement's entry in a [`SessionState`].
#[derive(Debug, Clone, PartialEq)]
pub struct StatementSnapshot {
    prepared: bool,
    sql_prepared: bool,
    checks: Option<Vec<ParamCheck>>,
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
    /// Decides the outcome of an analysis: an analysis error is a denial.
    pub fn decide(
        &self,
        analysis: &Result<Analysis, AnalysisError>,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
    ) -> Verdict {
        self.decide_with(analysis, catalog, session, capability, None)
    }

    /// Like [`Policy::decide`], collecting parameter conditions (Parse).
    pub fn decide_with(
        &self,
        analysis: &Result<Analysis, AnalysisError>,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
        checks: Option<&mut Vec<ParamCheck>>,
    ) -> Verdict {
        match analysis {
            Ok(a) => self.evaluate_with(a, catalog, session, capability, checks),
            Err(e) => Verdict::Deny(analysis_denial(e)),
        }
    }

    /// Decides a Query. Every statement must be allowed.
    pub fn evaluate(
        &self,
        analysis: &Analysis,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
    ) -> Verdict {
        self.evaluate_with(analysis, catalog, session, capability, None)
    }

    /// Like [`Policy::evaluate`]; for a Parse, conditions on parameters are
    /// collected into `checks` (to run at each Bind) instead of denying.
    pub fn evaluate_with(
        &self,
        analysis: &Analysis,
        catalog: Option<&Catalog>,
        session: &SessionState,
        capability: Option<&dyn Capability>,
        mut checks: Option<&mut Vec<ParamCheck>>,
    ) -> Verdict {
        // Statements of one message see each other's PREPARE/DEALLOCATE.
        let mut local: Option<SessionState> = None;
        for st in &analysis.statements {
            let state = local.as_ref().unwrap_or(session);
            // The $n of a PREPARE are its EXECUTE's arguments, not the
            // message's Bind parameters: no Bind-time checks for them.
            let prepares = st
                .prepared
                .iter()
                .any(|p| matches!(p, PreparedRef::Prepare(_)));
            let mut no_checks = None;
            let sink = if prepares {
                &mut no_checks
            } else {
                &mut checks
            };
            if let Err(d) = self
                .statement(st, catalog, state)
                .and_then(|()| self.setting_params(st, sink))
                .and_then(|()| self.scoping(st, capability, sink))
                .and_then(|()| self.token(st, capability))
                .and_then(|()| self.deferred_controls(st))
            {
                return Verdict::Deny(d);
            }
            if !st.prepared.is_empty() {
                local
                    .get_or_insert_with(|| session.clone())
                    .executed_statement(st);
            }
        }
        Verdict::Allow
    }

    /// Whether any budget or time window is configured.
    pub fn has_runtime_controls(&self) -> bool {
        !self.rate_limits.is_empty() || !self.time_windows.is_empty()
    }

    /// The budgets and time windows an allowed message is under.
    ///
    /// A SQL-level `PREPARE` of a statement under a table or operation
    /// control is refused: its later `EXECUTE`s could not be matched.
    pub fn runtime_controls(&self, analysis: &Analysis) -> Result<RuntimeControls, Denial> {
        let mut out = RuntimeControls::default();
        for statement in &analysis.statements {
            let prepares = statement
                .prepared
                .iter()
                .any(|p| matches!(p, PreparedRef::Prepare(_)));
            let refuse = |rule: &str, what: String| {
                Denial::new(
                    "runtime_control_prepare",
                    format!("{}: {rule}", self.file()),
                    format!(
                        "actgate denied this PREPARE: the statement is under {what} ({rule}), which SQL-level prepared statements cannot be held to"
                    ),
                )
                .hint("run the statement directly, or prepare it with your driver (extended protocol)")
            };
            for (i, limit) in self.rate_limits.iter().enumerate() {
                if !limit.matches(statement) {
                    continue;
                }
                if prepares && (limit.table.is_some() || !limit.operations.is_empty()) {
                    return Err(refuse(
                        &limit.rule,
                        format!("the rate limit {}", limit.budget),
                    ));
                }
                out.budgets.push(i);
            }
            for (i, w) in self.time_windows.iter().enumerate() {
                let matches = match &w.table {
                    None => true,
                    Some(t) => statement.relations.iter().any(|r| r.name == *t),
                };
                if !matches {
                    continue;
                }
                if prepares && w.table.is_some() {
                    return Err(refuse(&w.rule, format!("the time window {}", w.window)));
                }
                if !out.windows.contains(&i) {
                    out.windows.push(i);
                }
            }
        }
        Ok(out)
    }

    /// Denies a statement under a time window that is closed at `now`.
    pub fn evaluate_windows(&self, windows: &[usize], now: jiff::Timestamp) -> Verdict {
        for w in windows.iter().filter_map(|&i| self.time_windows.get(i)) {
            if w.window.contains(now) {
                continue;
            }
            let what = match &w.table {
                Some(t) => format!("{t} may be used"),
                None => format!("agent {:?} may run statements", self.agent),
            };
            let next = match w.window.next_opening(now) {
                Some(t) => format!("the window opens again at {t}"),
                None => "the window does not open again".to_owned(),
            };
            return Verdict::Deny(
                Denial::new(
                    "outside_time_window",
                    format!("{}: {}", self.file(), w.rule),
                    format!(
                        "actgate denied this statement: {what} only during {}",
                        w.window
                    ),
                )
                .hint(format!("{next}; do not retry before then")),
            );
        }
        Verdict::Allow
    }

    /// The refusal for budget `index` used up at `now`, which frees again
    /// at `resets_at`.
    pub fn rate_limit_denial(
        &self,
        index: usize,
        now: jiff::Timestamp,
        resets_at: jiff::Timestamp,
        subject: Option<&str>,
    ) -> Denial {
        let Some(limit) = self.rate_limits.get(index) else {
            return Denial::new(
                "rate_limited",
                format!("{}: rate_limits", self.file()),
                "actgate denied this statement: a rate limit is used up",
            );
        };
        let whose = match (limit.per_subject, subject) {
            (true, Some(s)) => format!("end user {s:?} of agent {:?}", self.agent),
            _ => format!("agent {:?}", self.agent),
        };
        let ops: Vec<&str> = limit.operations.iter().map(|a| a.name()).collect();
        let ops = if ops.is_empty() {
            "statements".to_owned()
        } else {
            ops.join("/")
        };
        let what = match &limit.table {
            Some(t) => format!("{ops} on {t}"),
            None => ops,
        };
        let wait = resets_at.duration_since(now).as_secs().max(1);
        Denial::new(
            "rate_limited",
            format!("{}: {}", self.file(), limit.rule),
            format!(
                "actgate denied this statement: the budget of {} {what} for {whose} is used up",
                limit.budget
            ),
        )
        .hint(format!(
            "the budget frees again at {} (in {wait} s); do not retry before then",
            resets_at.round(jiff::Unit::Second).unwrap_or(resets_at)
        ))
    }

    /// The refusal the proxy gives an allowed statement whatever the time,
    /// history or bound values: a SQL-level `PREPARE` of a statement that
    /// may need approval or is under a budget or time window (as the proxy
    /// checks them: approvals first).
    pub fn prepare_refusal(&self, analysis: &Analysis) -> Option<Denial> {
        if self.has_approvals()
            && let Err(d) = self.approvals_needed(analysis)
        {
            return Some(d);
        }
        if self.has_runtime_controls()
            && let Err(d) = self.runtime_controls(analysis)
        {
            return Some(d);
        }
        None
    }

    /// The refusal the proxy gives an allowed simple Query before it runs,
    /// whatever the time or history: [`Policy::prepare_refusal`], and in
    /// enforce mode a row limit or write cap the simple protocol cannot
    /// honour.
    pub fn query_refusal(&self, analysis: &Analysis) -> Option<Denial> {
        let enforce = self.mode == Mode::Enforce;
        self.prepare_refusal(analysis)
            .or_else(|| {
                (enforce && self.has_row_limits())
                    .then(|| self.row_limit(analysis, true).err())
                    .flatten()
            })
            .or_else(|| {
                (enforce && self.has_write_caps())
                    .then(|| self.write_cap(analysis).err())
                    .flatten()
            })
    }

    /// Whether a statement uses one of `policy.sensitive_tables`.
    pub fn touches_sensitive(&self, analysis: &Analysis) -> bool {
        !self.sensitive_tables.is_empty()
            && analysis
                .statements
                .iter()
                .flat_map(|s| &s.relations)
                .any(|r| self.sensitive_tables.contains(&r.name))
    }

    /// Whether any `[[approvals]]` rule is configured.
    pub fn has_approvals(&self) -> bool {
        !self.approvals.is_empty()
    }

    /// The approval rules an allowed statement falls under. A need with a
    /// parameter applies only if that parameter's bound value is above the
    /// rule's threshold ([`Policy::approval_applies`]). A value actgate
    /// cannot see (an expression, INSERT … SELECT) needs approval.
    ///
    /// A SQL-level `PREPARE` of such a statement is refused: its later
    /// `EXECUTE` with other values could not be held.
    pub fn approvals_needed(&self, analysis: &Analysis) -> Result<Vec<ApprovalNeed>, Denial> {
        let mut out = Vec::new();
        for statement in &analysis.statements {
            let prepares = statement
                .prepared
                .iter()
                .any(|p| matches!(p, PreparedRef::Prepare(_)));
            for (index, rule) in self.approvals.iter().enumerate() {
                let mut needs = Vec::new();
                for o in &statement.occurrences {
                    if o.relation != rule.table || !rule.operations.contains(&o.access) {
                        continue;
                    }
                    let Some((column, above)) = &rule.threshold else {
                        needs.push(ApprovalNeed { index, param: None });
                        continue;
                    };
                    let values: Vec<Option<&analyze::PinValue>> = match (o.access, &o.rows) {
                        (Access::Insert, Some(rows)) => rows
                            .iter()
                            .filter_map(|r| r.iter().find(|(c, _)| c == column))
                            .map(|(_, v)| v.as_ref())
                            .collect(),
                        (Access::Insert, None) => vec![None],
                        _ => o
                            .written
                            .iter()
                            .filter(|(c, _)| c == column)
                            .map(|(_, v)| v.as_ref())
                            .collect(),
                    };
                    for v in values {
                        match v {
                            Some(analyze::PinValue::Literal(text)) => {
                                if above_threshold(text, *above) {
                                    needs.push(ApprovalNeed { index, param: None });
                                }
                            }
                            Some(analyze::PinValue::Param(n)) => needs.push(ApprovalNeed {
                                index,
                                param: Some(*n),
                            }),
                            _ => needs.push(ApprovalNeed { index, param: None }),
                        }
                    }
                }
                if prepares && !needs.is_empty() {
                    return Err(Denial::new(
                        "runtime_control_prepare",
                        format!("{}: {}", self.file(), rule.rule),
                        format!(
                            "actgate denied this PREPARE: the statement may need human approval ({}), which SQL-level prepared statements cannot be held to",
                            rule.rule
                        ),
                    )
                    .hint("run the statement directly, or prepare it with your driver (extended protocol)"));
                }
                for n in needs {
                    if !out.contains(&n) {
                        out.push(n);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether a need holds for the bound parameter text (`None`: NULL or
    /// undecodable, which needs approval).
    pub fn approval_applies(&self, need: &ApprovalNeed, param: Option<&str>) -> bool {
        match (need.param, self.approvals.get(need.index)) {
            (None, _) => true,
            (
                Some(_),
                Some(ApprovalRule {
                    threshold: Some((_, above)),
                    ..
                }),
            ) => param.is_none_or(|v| above_threshold(v, *above)),
            (Some(_), _) => true,
        }
    }

    /// The refusal of a statement held for approval. `state` says where
    /// its request stands.
    pub fn approval_denial(
        &self,
        index: usize,
        id: &str,
        state: ApprovalStatus,
        subject: Option<&str>,
    ) -> Denial {
        let (rule, ttl) = match self.approvals.get(index) {
            Some(r) => (r.rule.clone(), r.ttl.as_secs()),
            None => ("approvals".to_owned(), 0),
        };
        let what = match self.approvals.get(index) {
            Some(ApprovalRule {
                table,
                threshold: Some((column, above)),
                ..
            }) => format!("writing {column} above {above} to {table}"),
            Some(r) => {
                let ops: Vec<&str> = r.operations.iter().map(|a| a.name()).collect();
                format!("{} on {}", ops.join("/"), r.table)
            }
            None => "this statement".to_owned(),
        };
        let whose = match subject {
            Some(s) => format!("agent {:?} acting for {s:?}", self.agent),
            None => format!("agent {:?}", self.agent),
        };
        let rule_id = format!("{}: {rule}", self.file());
        match state {
            ApprovalStatus::Requested | ApprovalStatus::Pending => Denial::new(
                "approval_required",
                rule_id,
                format!(
                    "actgate is holding this statement for human approval: {what} by {whose} needs an operator's approval (approval id {id})"
                ),
            )
            .hint(format!(
                "an operator approves it with `actgate approve {id}`; then send exactly the same statement with the same parameters again, within {ttl} s. Do not retry before then"
            )),
            ApprovalStatus::Rejected => Denial::new(
                "approval_rejected",
                rule_id,
                format!(
                    "actgate denied this statement: an operator rejected it (approval id {id})"
                ),
            )
            .hint("do not retry this statement; tell the user it was rejected"),
            ApprovalStatus::Unavailable => Denial::new(
                "approval_unavailable",
                rule_id,
                format!(
                    "actgate denied this statement: {what} needs human approval, and too many requests are already waiting"
                ),
            )
            .hint("wait until an operator has decided the waiting requests; do not send new ones"),
        }
    }

    /// Decides a Bind: the statement must be one this session prepared,
    /// and its parameters must meet the conditions found at Parse.
    /// `param` gives parameter `n` (1-based) as text, if it can be told.
    pub fn evaluate_bind(
        &self,
        statement: &str,
        session: &SessionState,
        param: &dyn Fn(usize) -> Option<String>,
    ) -> Verdict {
        if session.is_prepared(statement) {
            for check in session.checks(statement) {
                let value = param(check.param);
                let result = match &check.kind {
                    ParamCheckKind::Setting(action) => {
                        self.bound_setting(check.param, *action, value.as_deref())
                    }
                    _ => check.check(value.as_deref()),
                };
                if let Err(d) = result {
                    return Verdict::Deny(d);
                }
            }
            Verdict::Allow
        } else {
            Verdict::Deny(
                Denial::new(
                    "unknown_prepared_statement",
                    "default_deny",
                    format!(
                        "actgate denied Bind of prepared statement {statement:?}: it was not prepared by an allowed statement in this session"
                    ),
                )
                .hint("Parse the statement first; only statements actgate allowed can be bound"),
            )
        }
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

    fn statement(
        &self,
        st: &StatementInfo,
        catalog: Option<&Catalog>,
        session: &SessionState,
    ) -> Result<(), Denial> {
        let class_name = st.primary_class().map(Class::name).unwrap_or("empty");
        // Explicit and built-in denials first: they always win.
        if let Some(copy) = &st.copy {
            if copy.endpoint != CopyEndpoint::Client {
                return Err(Denial::new(
                    "copy_server_side",
                    "builtin.copy",
                    "actgate denied COPY to or from a server-side file or program",
                )
                .hint("use COPY … FROM STDIN or COPY … TO STDOUT"));
            }
            if copy.inline_payload {
                return Err(Denial::new(
                    "copy_inline_data",
                    "builtin.copy",
                    "actgate denied COPY with inline data in the statement text",
                )
                .hint("send COPY data with the COPY sub-protocol (CopyData messages)"));
            }
        }
        for r in &st.relations {
            if self.denied_tables.contains(&r.name) {
                return Err(Denial::new(
                    "table_denied",
                    format!("{}: deny.tables", self.file()),
                    format!(
                        "actgate denied access to table {} for agent {:?}",
                        r.name, self.agent
                    ),
                )
                .hint(self.tables_hint()));
            }
            if builtin::listed(builtin::CREDENTIAL_RELATIONS, &r.name.schema, &r.name.name) {
                return Err(Denial::new(
                    "credential_catalog",
                    "builtin.credential_catalogs",
                    format!(
                        "actgate denied access to {}: it exposes credentials",
                        r.name
                    ),
                )
                .hint(format!(
                    "{}; relations that expose credentials are never readable, whatever the rules say",
                    builtin::credential_alternative(&r.name.schema, &r.name.name)
                )));
            }
        }
        for f in &st.functions {
            if self.function_listed(&self.denied_functions, f) {
                return Err(Denial::new(
                    "function_denied",
                    format!("{}: deny.functions", self.file()),
                    format!("actgate denied calling function {f}"),
                ));
            }
        }

        // CLOSE, DEALLOCATE and UNLISTEN only release what the session
        // holds (pool resets send them): no class deny stops them.
        if let Some(c) = st
            .classes
            .iter()
            .find(|c| !st.housekeeping && self.denied_classes.contains(c))
        {
            return Err(Denial::new(
                "statement_class_denied",
                format!("{}: deny.statements", self.file()),
                format!(
                    "actgate denied this {} statement: {} statements are denied for agent {:?}",
                    class_name.to_uppercase(),
                    c.name(),
                    self.agent
                ),
            ));
        }

        // Before the other classes: an attempt to manage roles is named as
        // such, whatever else the agent may or may not do.
        for c in [Class::Roles, Class::Ownership] {
            if st.classes.contains(&c) && !self.classes.contains(&c) {
                return Err(self.role_management_denial(c));
            }
        }
        for c in &st.classes {
            let allowed = self.classes.contains(c)
                || (*c == Class::Transaction && self.driver_profile)
                || (st.housekeeping && self.driver_profile)
                || self.implied(st, *c, session)
                || *c == Class::Session;
            if !allowed {
                return Err(Denial::new(
                    "statement_class_denied",
                    format!("{}: policy.statements", self.file()),
                    format!(
                        "actgate denied this {} statement: {} statements are not allowed for agent {:?}",
                        class_name.to_uppercase(),
                        c.name(),
                        self.agent
                    ),
                )
                .hint(self.classes_hint()));
            }
        }
        if st.cluster_level {
            return Err(Denial::new(
                "cluster_object_denied",
                "builtin.cluster_objects",
                "actgate denied DDL on databases, extensions, servers or other cluster-wide objects",
            ));
        }
        for p in &st.prepared {
            if let PreparedRef::Execute(name) = p
                && !session.is_prepared(name)
            {
                return Err(Denial::new(
                    "unknown_prepared_statement",
                    "default_deny",
                    format!(
                        "actgate denied EXECUTE {name}: it was not prepared by an allowed PREPARE in this session"
                    ),
                ));
            }
        }
        for s in &st.settings {
            if !session.within_start(s) {
                self.setting(s)?;
            }
        }
        for r in &st.relations {
            self.relation(&r.name, r.access)?;
        }
        for c in &st.columns {
            self.column(&c.relation, &c.column, c.access, catalog)?;
        }
        for a in &st.ambiguous {
            for (t, col) in &a.candidates {
                if self.column(t, col, ColumnAccess::Read, catalog).is_err() {
                    return Err(Denial::new(
                        "ambiguous_column",
                        self.tables
                            .get(t)
                            .map(|r| format!("{}: {}.columns", self.file(), r.rule))
                            .unwrap_or_else(|| "default_deny".into()),
                        format!(
                            "actgate could not tell which table column {:?} belongs to, and reading it from {t} is not allowed",
                            a.column
                        ),
                    )
                    .hint("qualify the column with its table or alias"));
                }
            }
        }
        for f in &st.functions {
            self.function(f)?;
        }
        if st.missing_where && self.require_where {
            return Err(Denial::new(
                "missing_where",
                format!("{}: policy.require_where", self.file()),
                format!(
                    "actgate denied this {} without a WHERE clause",
                    class_name.to_uppercase()
                ),
            )
            .hint("add a WHERE clause that selects the rows to change"));
        }
        Ok(())
    }

    /// Whether the driver profile implies class `c` of a statement from
    /// what the statement wraps (see [`implied`]). A SQL `EXECUTE` is
    /// implied only for statements prepared by SQL `PREPARE`: one prepared
    /// by Parse is held at Bind to checks and limits EXECUTE would skip.
    fn implied(&self, st: &StatementInfo, c: Class, session: &SessionState) -> bool {
        self.driver_profile
            && implied(st, c)
            && (c != Class::Execute
                || st.prepared.iter().all(|p| match p {
                    // (An unknown one is refused as such below.)
                    PreparedRef::Execute(name) => {
                        session.is_sql_prepared(name) || !session.is_prepared(name)
                    }
                    _ => true,
                }))
    }

    /// Refuses a PREPARE or DECLARE whose later EXECUTE or FETCH could
    /// not be held to the statement's own row limit or write cap: an
    /// EXECUTE carries no table (and a Bind of a SQL-level prepared
    /// statement no limit at all), a FETCH only the agent's `max_rows`.
    fn deferred_controls(&self, st: &StatementInfo) -> Result<(), Denial> {
        let prepares = st
            .prepared
            .iter()
            .any(|p| matches!(p, PreparedRef::Prepare(_)));
        let table_limit = |r: &analyze::RelationUse| {
            self.tables
                .get(&r.name)
                .and_then(|t| t.max_rows.map(|m| (m, t)))
        };
        if prepares {
            let refuse = |rule: String, what: &str| {
                Denial::new(
                    "runtime_control_prepare",
                    format!("{}: {rule}", self.file()),
                    format!(
                        "actgate denied this PREPARE: the statement is under {what} ({rule}), which SQL-level prepared statements cannot be held to"
                    ),
                )
                .hint("run the statement directly, or prepare it with your driver (extended protocol)")
            };
            for r in &st.relations {
                if matches!(r.access, Access::Update | Access::Delete)
                    && let Some(t) = self.tables.get(&r.name)
                    && t.max_affected_rows.is_some()
                {
                    return Err(refuse(
                        format!("{}.max_affected_rows", t.rule),
                        "a write cap",
                    ));
                }
            }
            if st.deferred_rows {
                if let Some((_, t)) = st.relations.iter().find_map(table_limit) {
                    return Err(refuse(format!("{}.max_rows", t.rule), "a row limit"));
                }
                if self.max_rows.is_some() {
                    return Err(refuse("policy.max_rows".into(), "a row limit"));
                }
            }
        } else if st.deferred_rows
            && let Some((max, t)) = st
                .relations
                .iter()
                .filter_map(table_limit)
                .min_by_key(|(m, _)| *m)
            && self.max_rows.is_none_or(|m| max < m)
        {
            return Err(Denial::new(
                "row_limit_cursor",
                format!("{}: {}.max_rows", self.file(), t.rule),
                format!(
                    "actgate denied this cursor: it reads {} under a row limit of {max} ({}.max_rows), which FETCH from a cursor cannot be held to",
                    t.rule.trim_start_matches("tables."),
                    t.rule
                ),
            )
            .hint("run the query directly, as a plain SELECT"));
        }
        Ok(())
    }

    /// Row scoping and value limits: each use of a scoped table must be
    /// pinned by its WHERE to the required values, INSERTs must write them,
    /// UPDATEs may not change them, and written values must be within the
    /// column limits. Parameters become checks run at Bind (`checks`; for
    /// a simple Query there are no parameters, so `None` denies them).
    fn scoping(
        &self,
        st: &StatementInfo,
        capability: Option<&dyn Capability>,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        for o in &st.occurrences {
            let Some(rule) = self.tables.get(&o.relation) else {
                continue;
            };
            let rule_id = |what: &str, column: &str| {
                format!("{}: {}.{what}.{column}", self.file(), rule.rule)
            };
            for (column, want) in &rule.scope {
                let required = match want {
                    ScopeValue::Literal(v) => v.clone(),
                    ScopeValue::Claim(name) => match capability.and_then(|c| c.claim(name)) {
                        Some(v) => v.to_owned(),
                        None => {
                            return Err(Denial::new(
                                "claim_missing",
                                rule_id("scope", column),
                                format!(
                                    "actgate denied access to {}: its rule needs the claim {name:?}, which this session's credentials do not carry",
                                    o.relation
                                ),
                            )
                            .hint("connect with a capability token that carries the claim"));
                        }
                    },
                };
                let target = ScopeTarget {
                    relation: &o.relation,
                    column,
                    required: &required,
                    rule: rule_id("scope", column),
                };
                match o.access {
                    Access::Insert => {
                        let Some(rows) = &o.rows else {
                            return Err(target.deny(
                                "scope_unverifiable",
                                format!(
                                    "actgate denied INSERT into {}: the table is scoped by {column} and only INSERT … VALUES with evident values can be verified",
                                    o.relation
                                ),
                            ));
                        };
                        for row in rows {
                            match row.iter().find(|(c, _)| c == column) {
                                Some((_, Some(v))) => target.require(v, checks)?,
                                Some((_, None)) | None => {
                                    return Err(target.deny(
                                        "scope_missing",
                                        format!(
                                            "actgate denied INSERT into {}: every row must set {column} = {}",
                                            o.relation,
                                            sql_literal(&required)
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                    Access::Read | Access::Update | Access::Delete => {
                        if o.written.iter().any(|(c, _)| c == column) {
                            return Err(target.deny(
                                "scope_column_write",
                                format!(
                                    "actgate denied UPDATE of {column} on {}: the table is scoped by that column",
                                    o.relation
                                ),
                            ));
                        }
                        match o.pins.iter().find(|p| p.column == *column) {
                            Some(p) => target.require(&p.value, checks)?,
                            None => {
                                return Err(target.deny(
                                    "scope_missing",
                                    format!(
                                        "actgate denied access to {}: every use of it must be limited by a top-level `{column} = {}` condition in its WHERE clause",
                                        o.relation,
                                        sql_literal(&required)
                                    ),
                                ));
                            }
                        }
                    }
                    _ => {
                        return Err(target.deny(
                            "scope_unverifiable",
                            format!(
                                "actgate denied {} on {}: the table is scoped by {column} and actgate cannot verify the scope of this statement",
                                o.access.name(),
                                o.relation
                            ),
                        ));
                    }
                }
            }
            for (column, limit) in &rule.limits {
                let values: Vec<&Option<analyze::PinValue>> = match o.access {
                    Access::Insert => match &o.rows {
                        Some(rows) => rows
                            .iter()
                            .flat_map(|r| r.iter().filter(|(c, _)| c == column).map(|(_, v)| v))
                            .collect(),
                        None => {
                            return Err(Denial::new(
                                "value_unverifiable",
                                rule_id("limits", column),
                                format!(
                                    "actgate denied INSERT into {}: {column} has value limits and only INSERT … VALUES with evident values can be verified",
                                    o.relation
                                ),
                            ));
                        }
                    },
                    _ => o
                        .written
                        .iter()
                        .filter(|(c, _)| c == column)
                        .map(|(_, v)| v)
                        .collect(),
                };
                for v in values {
                    limit.check(
                        v.as_ref(),
                        &o.relation,
                        column,
                        &rule_id("limits", column),
                        checks,
                    )?;
                }
            }
        }
        Ok(())
    }

    /// The capability token's own checks, for every user table touched.
    fn token(&self, st: &StatementInfo, capability: Option<&dyn Capability>) -> Result<(), Denial> {
        let Some(cap) = capability else {
            return Ok(());
        };
        let user = |r: &&analyze::RelationUse| {
            r.name.schema != "pg_catalog" && r.name.schema != "information_schema"
        };
        let mut checked = false;
        for r in st.relations.iter().filter(user) {
            checked = true;
            cap.authorize(
                Some(&format!("{}.{}", r.name.schema, r.name.name)),
                r.access.name(),
            )
            .map_err(|d| token_denial(d, Some(&r.name), r.access.name()))?;
        }
        if !checked {
            cap.authorize(None, "select")
                .map_err(|d| token_denial(d, None, "select"))?;
        }
        Ok(())
    }

    fn setting(&self, s: &analyze::SettingUse) -> Result<(), Denial> {
        let custom = s.name.contains('.');
        let deny = |reason, message: String| {
            Err(
                Denial::new(reason, format!("{}: policy.settings", self.file()), message).hint(
                    format!("settings this agent may change: {}", self.settings_hint()),
                ),
            )
        };
        match s.action {
            SettingAction::Show => {
                if custom && !self.settings.contains(&s.name) {
                    return deny("setting_denied", format!("actgate denied SHOW {}", s.name));
                }
                Ok(())
            }
            SettingAction::Set
            | SettingAction::Narrow
            | SettingAction::Reset
            | SettingAction::Discard => {
                let verb = match s.action {
                    SettingAction::Set | SettingAction::Narrow => "SET",
                    SettingAction::Reset => "RESET",
                    _ => "DISCARD",
                };
                // Making the session more restrictive, or RESETting such a
                // setting back to the start value actgate let the session
                // begin with, never widens it.
                let narrowable = builtin::NARROWABLE_SETTINGS.contains(&s.name.as_str())
                    && matches!(s.action, SettingAction::Narrow | SettingAction::Reset);
                if narrowable {
                    return Ok(());
                }
                if builtin::is_pinned_setting(&s.name) {
                    return Err(Denial::new(
                        "setting_pinned",
                        "builtin.pinned_settings",
                        format!(
                            "actgate denied {verb} {}: actgate pins this setting",
                            s.name
                        ),
                    )
                    .hint(self.pinned_hint(&s.name)));
                }
                let discard_other = s.action == SettingAction::Discard && s.name != "all";
                // RESET ALL / DISCARD ALL (pool resets) return every
                // setting to the session's start values, which hold the
                // pinned and identity ones (set in the startup packet or
                // never changeable): part of the driver profile.
                let reset_all = s.name == "all"
                    && matches!(s.action, SettingAction::Reset | SettingAction::Discard);
                let allowed = self.settings.contains(&s.name)
                    || (reset_all && self.driver_profile)
                    || (self.driver_profile
                        && !custom
                        && builtin::SETTINGS.contains(&s.name.as_str()))
                    || (discard_other && self.classes.contains(&Class::Session));
                if allowed {
                    Ok(())
                } else {
                    deny(
                        "setting_denied",
                        format!("actgate denied {verb} {}", s.name),
                    )
                }
            }
        }
    }

    fn relation(&self, name: &QualifiedName, access: Access) -> Result<(), Denial> {
        if let Some(rule) = self
            .tables
            .get(name)
            .or_else(|| self.schemas.get(&name.schema))
        {
            let ok = rule.operations.contains(&access)
                || (access == Access::Lock && rule.operations.contains(&Access::Update));
            if ok {
                return Ok(());
            }
            let ops: Vec<&str> = rule.operations.iter().map(|a| a.name()).collect();
            return Err(Denial::new(
                "operation_not_allowed",
                format!("{}: {}.operations", self.file(), rule.rule),
                format!(
                    "actgate denied {} on table {name} for agent {:?}",
                    access.name(),
                    self.agent
                ),
            )
            .hint(format!("allowed on {name}: {}", ops.join(", "))));
        }
        let system = name.schema == "pg_catalog" || name.schema == "information_schema";
        if system {
            if access != Access::Read {
                return Err(Denial::new(
                    "catalog_write",
                    "builtin.catalog",
                    format!("actgate denied {} on system catalog {name}", access.name()),
                ));
            }
            let allowed = match self.catalog_access {
                CatalogAccess::All => true,
                CatalogAccess::Drivers => {
                    self.driver_profile
                        && builtin::listed(builtin::DRIVER_RELATIONS, &name.schema, &name.name)
                }
                CatalogAccess::None => false,
            };
            if allowed {
                return Ok(());
            }
            return Err(Denial::new(
                "catalog_denied",
                format!("{}: policy.catalog", self.file()),
                format!(
                    "actgate denied reading system catalog {name} for agent {:?}",
                    self.agent
                ),
            )
            .hint(
                "drivers' catalog queries are allowed; add the catalog under [tables] to read it",
            ));
        }
        Err(Denial::new(
            "table_not_allowed",
            "default_deny",
            format!(
                "actgate denied {} on table {name}: no rule allows agent {:?} to use it",
                access.name(),
                self.agent
            ),
        )
        .hint(self.tables_hint()))
    }

    fn column(
        &self,
        relation: &QualifiedName,
        column: &ColumnName,
        access: ColumnAccess,
        catalog: Option<&Catalog>,
    ) -> Result<(), Denial> {
        let Some(rule) = self.tables.get(relation) else {
            // Relations without a table rule were already decided as a whole.
            return Ok(());
        };
        let restricted = rule.columns.is_some()
            || !rule.deny_columns.is_empty()
            || (access == ColumnAccess::Write && rule.write_columns.is_some());
        if !restricted {
            return Ok(());
        }
        let names: Vec<String> = match column {
            ColumnName::Named(c) => vec![c.clone()],
            ColumnName::All => match catalog.and_then(|c| c.columns(relation)) {
                Some(cols) => cols.to_vec(),
                None => {
                    return Err(Denial::new(
                        "column_expansion_unavailable",
                        format!("{}: {}.columns", self.file(), rule.rule),
                        format!(
                            "actgate denied * on {relation}: the table has column rules and its columns are unknown"
                        ),
                    )
                    .hint(format!("name the columns; allowed: {}", self.columns_hint(rule))));
                }
            },
        };
        let star = matches!(column, ColumnName::All);
        for c in names {
            let readable = rule.columns.as_ref().is_none_or(|a| a.contains(&c))
                && !rule.deny_columns.contains(&c);
            let writable = match access {
                ColumnAccess::Read => true,
                ColumnAccess::Write => rule.write_columns.as_ref().is_none_or(|w| w.contains(&c)),
            };
            if !readable || !writable {
                let what = if star {
                    format!("* (which includes column {c:?})")
                } else {
                    format!("column {c:?}")
                };
                let verb = match access {
                    ColumnAccess::Read => "reading",
                    ColumnAccess::Write => "writing",
                };
                let hint = match access {
                    ColumnAccess::Write if readable => format!(
                        "writable columns of {relation}: {}",
                        rule.write_columns
                            .as_ref()
                            .map(|w| w.iter().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default()
                    ),
                    _ => format!("allowed columns of {relation}: {}", self.columns_hint(rule)),
                };
                // The key that refused the column: a denied column is
                // named by deny_columns, one outside the allow-list by
                // columns, a readable one that may not be written by
                // write_columns.
                let key = if rule.deny_columns.contains(&c) {
                    "deny_columns"
                } else if !readable {
                    "columns"
                } else {
                    "write_columns"
                };
                return Err(Denial::new(
                    "column_denied",
                    format!("{}: {}.{key}", self.file(), rule.rule),
                    format!(
                        "actgate denied {verb} {what} of {relation} for agent {:?}",
                        self.agent
                    ),
                )
                .hint(hint));
            }
        }
        Ok(())
    }

    fn function_listed(&self, set: &HashSet<QualifiedName>, f: &QualifiedName) -> bool {
        set.contains(f) || set.contains(&QualifiedName::new("pg_catalog", f.name.clone()))
    }

    fn function(&self, f: &QualifiedName) -> Result<(), Denial> {
        let builtin = (f.schema == "pg_catalog"
            && (builtin::is_builtin_function(&f.name)
                || (self.driver_profile && builtin::is_driver_function(&f.name))))
            || (self.driver_profile && builtin::is_driver_qualified_function(&f.schema, &f.name));
        if builtin || self.function_listed(&self.functions, f) {
            return Ok(());
        }
        Err(Denial::new(
            "function_not_allowed",
            "builtin.functions",
            format!("actgate denied calling function {f}: it is not on the allow-list for agent {:?}", self.agent),
        )
        .hint("ordinary functions (aggregates, string, date, math, JSON) are allowed; ask a DBA to add others to policy.functions"))
    }

    fn tables_hint(&self) -> String {
        let mut names: Vec<String> = self
            .tables
            .iter()
            .map(|(n, r)| {
                let ops: Vec<&str> = r.operations.iter().map(|a| a.name()).collect();
                format!("{n} ({})", ops.join(", "))
            })
            .collect();
        names.sort();
        if names.is_empty() {
            "this agent may use no tables".into()
        } else {
            format!("tables this agent may use: {}", names.join("; "))
        }
    }

    /// The refusal of a `roles` or `ownership` statement by an agent
    /// whose rules do not list the class.
    fn role_management_denial(&self, class: Class) -> Denial {
        let what = match class {
            Class::Roles => {
                "it creates, alters or drops a role, user or group, grants or revokes role membership or changes default privileges"
            }
            _ => {
                "it hands an object to another role or makes code run with its owner's rights (OWNER TO, AUTHORIZATION, SECURITY DEFINER)"
            }
        };
        Denial::new(
            "role_management_denied",
            format!("{}: policy.statements", self.file()),
            format!(
                "actgate denied this statement: {what}, and the {} statement class is not allowed for agent {:?}",
                class.name(),
                self.agent
            ),
        )
        .hint(format!(
            "only rules that list \"{}\" under [policy] statements allow this",
            class.name()
        ))
    }

    fn classes_hint(&self) -> String {
        let mut names: Vec<&str> = self.classes.iter().map(|c| c.name()).collect();
        if self.driver_profile && !self.classes.contains(&Class::Transaction) {
            names.push("transaction");
        }
        format!("allowed statement classes: {}", names.join(", "))
    }

    fn settings_hint(&self) -> String {
        let mut names: Vec<String> = self.settings.iter().cloned().collect();
        if self.driver_profile {
            names.extend(builtin::SETTINGS.iter().map(|s| s.to_string()));
        }
        names.sort();
        if names.is_empty() {
            return "none".to_owned();
        }
        names.join(", ")
    }

    /// What an agent can do instead of changing a pinned setting.
    fn pinned_hint(&self, name: &str) -> String {
        let instead = match name {
            "search_path" => {
                "the search_path actgate set is in effect; qualify names with their schema (public.orders) to reach another schema"
            }
            "role" | "session_authorization" => {
                "the session's role is fixed by actgate and cannot be changed"
            }
            "default_transaction_read_only" => {
                "only making the session read-only passes: SET default_transaction_read_only = on, or RESET it (or SET it back to off when the session started read-write)"
            }
            _ => "the value actgate set is already in effect; leave it as it is",
        };
        format!(
            "{instead}; settings this agent may change: {}",
            self.settings_hint()
        )
    }

    fn columns_hint(&self, rule: &TableRule) -> String {
        match &rule.columns {
            Some(cols) => cols
                .iter()
                .filter(|c| !rule.deny_columns.contains(*c))
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            None => format!(
                "all except {}",
                rule.deny_columns
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;

    fn analysis(sql: &str) -> Analysis {
        let search_path = vec!["public".to_string()];
        let resolver = names::Resolver {
            search_path: &search_path,
            catalog: None,
            database: None,
        };
        analyze::analyze(sql, &resolver, Default::default()).unwrap()
    }

    #[test]
    fn a_prepare_of_an_existing_name_keeps_its_checks() {
        let mut state = SessionState::default();
        let check = ParamCheck {
            param: 1,
            relation: QualifiedName::from_config("orders", "public"),
            column: "customer_id".into(),
            rule: "tables.orders.scope".into(),
            kind: ParamCheckKind::Equals("42".into()),
        };
        state.parsed("s", vec![check.clone()]);
        // PostgreSQL refuses this PREPARE (42P05): "s" stays what it was.
        state.executed(&analysis("PREPARE s AS SELECT 1"));
        assert_eq!(state.checks("s"), [check]);
        // After DEALLOCATE the name is free, and the new statement has none.
        state.executed(&analysis("DEALLOCATE s; PREPARE s AS SELECT 1"));
        assert!(state.checks("s").is_empty());
        assert!(state.is_prepared("s"));
    }
}

#[cfg(test)]
mod denial_tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    const RULES: &str = r#"
[agent]
name = "shop"
databases = ["shop"]
auth = "token"

[policy]
statements = ["read", "update"]
max_rows = 50

[tables.orders]
operations = ["select", "update"]
columns = ["id", "status", "customer_id"]
write_columns = ["status"]
scope = { customer_id = "7" }
max_rows = 10
max_affected_rows = 3

[tables.products]
operations = ["select"]
deny_columns = ["cost"]
max_rows = 50
"#;

    fn policy() -> Arc<Policy> {
        crate::rules::parse_agent(
            RULES,
            Path::new("/etc/actgate/rules/shop.toml"),
            &["public".to_string()],
            &HashMap::new(),
        )
        .unwrap()
        .policy
    }

    fn analysis(sql: &str) -> Result<Analysis, AnalysisError> {
        let search_path = vec!["public".to_string()];
        let resolver = names::Resolver {
            search_path: &search_path,
            catalog: None,
            database: None,
        };
        analyze::analyze(sql, &resolver, Default::default())
    }

    fn denial(sql: &str) -> Denial {
        match policy().decide(&analysis(sql), None, &SessionState::default(), None) {
            Verdict::Deny(d) => d,
            Verdict::Allow => panic!("{sql} was allowed"),
        }
    }

    /// Read-write again is a return to the start value only when the
    /// server said the session started read-write; a session that started
    /// read-only (a DBA's `ALTER ROLE … SET default_transaction_read_only
    /// = on`) or whose start is unknown may only narrow or RESET.
    #[test]
    fn read_write_again_only_when_the_session_started_so() {
        let widen = [
            "SET default_transaction_read_only = off",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        ];
        for sql in widen {
            for start in [None, Some("on"), Some("ON")] {
                let state = SessionState::starting_with_read_only(start);
                match policy().decide(&analysis(sql), None, &state, None) {
                    Verdict::Deny(d) => assert_eq!(d.reason, "setting_pinned", "{sql} {start:?}"),
                    Verdict::Allow => panic!("{sql} allowed with start {start:?}"),
                }
            }
            let state = SessionState::starting_with_read_only(Some("off"));
            let verdict = policy().decide(&analysis(sql), None, &state, None);
            assert!(verdict.is_allow(), "{sql}: {verdict:?}");
        }
        // Other pinned settings stay pinned whatever the start.
        let state = SessionState::starting_with_read_only(Some("off"));
        let verdict = policy().decide(&analysis("SET search_path = evil"), None, &state, None);
        assert!(!verdict.is_allow());
    }

    #[test]
    fn detail_is_worded_once() {
        assert_eq!(
            denial_detail("row_limit_exceeded", "a.toml: policy.max_rows"),
            "reason: row_limit_exceeded; rule: a.toml: policy.max_rows"
        );
        let d = denial("SELECT * FROM secrets");
        assert_eq!(d.detail(), "reason: table_not_allowed; rule: default_deny");
    }

    #[test]
    fn a_parse_failure_is_actgates_limit_not_the_agents_error() {
        let d = denial("SELEC 1");
        assert_eq!(d.reason, "parse_error");
        assert_eq!(d.rule, "builtin.analysis");
        assert!(
            d.message.starts_with(
                "actgate denied this statement: its SQL parser could not read it, though it may well be valid PostgreSQL"
            ),
            "{}",
            d.message
        );
        // The parser's own words name where it stopped, without its prefix.
        assert!(d.message.contains("SELEC"), "{}", d.message);
        assert!(!d.message.contains("sql parser error"), "{}", d.message);
        let hint = d.hint.unwrap();
        assert!(!hint.contains("check the syntax"), "{hint}");
        assert!(
            hint.contains("plain SELECT, INSERT, UPDATE and DELETE in standard syntax pass"),
            "{hint}"
        );
    }

    #[test]
    fn an_unsupported_statement_names_what_to_avoid() {
        let d = analysis_denial(&AnalysisError::Unsupported("DELETE from a join".into()));
        assert_eq!(d.reason, "unsupported_statement");
        assert_eq!(
            d.message,
            "actgate denied this statement: its analysis does not support DELETE from a join, though the statement may well be valid PostgreSQL; actgate forwards only SQL it fully understands"
        );
        assert!(
            d.hint
                .unwrap()
                .starts_with("rewrite the statement without DELETE from a join; plain SELECT")
        );
    }

    #[test]
    fn rules_are_named_by_the_key_that_decided_relative_to_the_rules_directory() {
        let p = policy();
        assert_eq!(p.file(), "shop.toml");
        for (sql, reason, rule) in [
            (
                "SELECT total FROM orders WHERE customer_id = 7",
                "column_denied",
                "shop.toml: tables.orders.columns",
            ),
            (
                "SELECT cost FROM products",
                "column_denied",
                "shop.toml: tables.products.deny_columns",
            ),
            (
                "UPDATE orders SET id = 1 WHERE customer_id = 7",
                "column_denied",
                "shop.toml: tables.orders.write_columns",
            ),
            (
                "SELECT cost FROM orders, products WHERE customer_id = 7",
                "ambiguous_column",
                "shop.toml: tables.orders.columns",
            ),
            (
                "SELECT id FROM orders",
                "scope_missing",
                "shop.toml: tables.orders.scope.customer_id",
            ),
            (
                "SELECT id FROM orders WHERE customer_id = 8",
                "scope_violation",
                "shop.toml: tables.orders.scope.customer_id",
            ),
            (
                "UPDATE products SET cost = 1 WHERE id = 1",
                "operation_not_allowed",
                "shop.toml: tables.products.operations",
            ),
        ] {
            let d = denial(sql);
            assert_eq!((d.reason, d.rule.as_str()), (reason, rule), "{sql}");
            assert!(!d.detail().contains("/etc/actgate"), "{sql}");
        }
    }

    #[test]
    fn row_limits_and_write_caps_name_the_rule_that_set_them() {
        let p = policy();
        let limit = |sql: &str| {
            let a = analysis(sql).unwrap();
            let l = p.row_limit(&a, false).unwrap().unwrap();
            (l.max, l.rule.to_string())
        };
        assert_eq!(
            limit("SELECT id FROM orders WHERE customer_id = 7"),
            (10, "shop.toml: tables.orders.max_rows".into())
        );
        // A table's limit equal to the agent's: the table's rule is named.
        assert_eq!(
            limit("SELECT id FROM products"),
            (50, "shop.toml: tables.products.max_rows".into())
        );
        assert_eq!(limit("SELECT 1"), (50, "shop.toml: policy.max_rows".into()));
        let a = analysis("UPDATE orders SET status = 'x' WHERE customer_id = 7").unwrap();
        assert_eq!(
            p.write_cap(&a).unwrap(),
            Some(WriteCap {
                max: 3,
                rule: "shop.toml: tables.orders.max_affected_rows".into()
            })
        );
        let a = analysis("SELECT 1; UPDATE orders SET status = 'x' WHERE customer_id = 7").unwrap();
        assert_eq!(
            p.write_cap(&a).unwrap_err().rule,
            "shop.toml: tables.orders.max_affected_rows"
        );
    }

    #[test]
    fn pinned_settings_and_credential_catalogs_say_what_to_do_instead() {
        let d = denial("SET search_path = other");
        assert_eq!(d.reason, "setting_pinned");
        let hint = d.hint.unwrap();
        assert!(hint.contains("qualify names with their schema"), "{hint}");
        assert!(hint.contains("settings this agent may change: "), "{hint}");
        let d = denial("SET standard_conforming_strings = off");
        assert!(
            d.hint
                .unwrap()
                .starts_with("the value actgate set is already in effect")
        );
        for (sql, instead) in [
            ("SELECT * FROM pg_authid", "read pg_roles instead"),
            ("SELECT * FROM pg_shadow", "read pg_user"),
            ("SELECT * FROM pg_user_mappings", "pg_foreign_server"),
            ("SELECT * FROM pg_statistic", "pg_stats"),
        ] {
            let d = denial(sql);
            assert_eq!(d.reason, "credential_catalog", "{sql}");
            let hint = d.hint.unwrap();
            assert!(hint.contains(instead), "{sql}: {hint}");
        }
    }
}
