//! Conditions on values: column value limits, and the checks on bound
//! parameters (scoping, limits, settings) that a Parse defers to each Bind.

use super::*;

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
    pub(super) fn check(
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

    pub(super) fn describe(&self) -> String {
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
    /// [`Policy::decide_bind`] like the literal form.
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
            // `Policy::decide_bind`, never here.
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
pub(super) fn same_value(a: &str, b: &str) -> bool {
    match (a.trim().parse::<i128>(), b.trim().parse::<i128>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
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
