//! Runtime controls: budgets (`[[rate_limits]]`), time windows
//! (`active_hours`) and the circuit breaker, and the refusals they give.

use super::*;

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
    pub(super) fn matches(&self, statement: &StatementInfo) -> bool {
        if self.table.is_none() && self.operations.is_empty() {
            return true;
        }
        statement.relations.iter().any(|r| {
            self.table.as_ref().is_none_or(|t| *t == r.name)
                && (self.operations.is_empty() || self.operations.contains(&r.access))
        })
    }
}

impl Policy {
    /// Whether any budget or time window is configured.
    pub(crate) fn has_runtime_controls(&self) -> bool {
        !self.rate_limits.is_empty() || !self.time_windows.is_empty()
    }

    /// The budgets and time windows an allowed message is under.
    ///
    /// A SQL-level `PREPARE` of a statement under a table or operation
    /// control is refused: its later `EXECUTE`s could not be matched.
    pub(crate) fn runtime_controls(&self, analysis: &Analysis) -> Result<RuntimeControls, Denial> {
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
}
