//! Row scoping, value limits and the capability token's own checks.

use super::*;
use params::same_value;

/// What a scoping rule requires of one use of a table.
struct ScopeTarget<'a> {
    relation: &'a QualifiedName,
    column: &'a str,
    required: &'a str,
    rule: String,
}

impl ScopeTarget<'_> {
    pub(super) fn deny(&self, reason: &'static str, message: String) -> Denial {
        Denial::new(reason, self.rule.clone(), message).hint(format!(
            "add `WHERE {} = {}` for every use of {} (INSERTs must set it)",
            self.column,
            sql_literal(self.required),
            self.relation
        ))
    }

    /// The pinned value must be the required one; parameters are checked
    /// at Bind.
    pub(super) fn require(
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

    /// One use of the table against the scope: by how it accesses the table.
    fn occurrence(
        &self,
        o: &analyze::Occurrence,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        match o.access {
            Access::Insert => self.inserted(o, checks),
            Access::Read | Access::Update | Access::Delete => self.pinned(o, checks),
            _ => Err(self.deny(
                "scope_unverifiable",
                format!(
                    "actgate denied {} on {}: the table is scoped by {} and actgate cannot verify the scope of this statement",
                    o.access.name(),
                    o.relation,
                    self.column
                ),
            )),
        }
    }

    /// An INSERT must write the required value in every row.
    fn inserted(
        &self,
        o: &analyze::Occurrence,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        let column = self.column;
        let Some(rows) = &o.rows else {
            return Err(self.deny(
                "scope_unverifiable",
                format!(
                    "actgate denied INSERT into {}: the table is scoped by {column} and only INSERT … VALUES with evident values can be verified",
                    o.relation
                ),
            ));
        };
        for row in rows {
            match row.iter().find(|(c, _)| c == column) {
                Some((_, Some(v))) => self.require(v, checks)?,
                Some((_, None)) | None => {
                    return Err(self.deny(
                        "scope_missing",
                        format!(
                            "actgate denied INSERT into {}: every row must set {column} = {}",
                            o.relation,
                            sql_literal(self.required)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A read, UPDATE or DELETE must not write the scope column and must
    /// be pinned by its WHERE to the required value.
    fn pinned(
        &self,
        o: &analyze::Occurrence,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        let column = self.column;
        if o.written.iter().any(|(c, _)| c == column) {
            return Err(self.deny(
                "scope_column_write",
                format!(
                    "actgate denied UPDATE of {column} on {}: the table is scoped by that column",
                    o.relation
                ),
            ));
        }
        match o.pins.iter().find(|p| *p.column == *column) {
            Some(p) => self.require(&p.value, checks),
            None => Err(self.deny(
                "scope_missing",
                format!(
                    "actgate denied access to {}: every use of it must be limited by a top-level `{column} = {}` condition in its WHERE clause",
                    o.relation,
                    sql_literal(self.required)
                ),
            )),
        }
    }
}

impl Policy {
    /// Row scoping and value limits: each use of a scoped table must be
    /// pinned by its WHERE to the required values, INSERTs must write them,
    /// UPDATEs may not change them, and written values must be within the
    /// column limits. Parameters become checks run at Bind (`checks`; for
    /// a simple Query there are no parameters, so `None` denies them).
    pub(super) fn scoping(
        &self,
        st: &StatementInfo,
        capability: Option<&dyn Capability>,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        for o in &st.occurrences {
            let Some(rule) = self.tables.get(&o.relation) else {
                continue;
            };
            for (column, want) in &rule.scope {
                let required = self.required_value(o, rule, column, want, capability)?;
                let target = ScopeTarget {
                    relation: &o.relation,
                    column,
                    required: &required,
                    rule: self.rule_id(rule, "scope", column),
                };
                target.occurrence(o, checks)?;
            }
            for (column, limit) in &rule.limits {
                self.value_limit(o, rule, column, limit, checks)?;
            }
        }
        Ok(())
    }

    /// `file: tables.NAME.what.column`, the rule key of a scope or limit.
    fn rule_id(&self, rule: &TableRule, what: &str, column: &str) -> String {
        format!("{}: {}.{what}.{column}", self.file(), rule.rule)
    }

    /// The value a scope rule requires: a literal, or a claim the
    /// session's credentials must carry.
    fn required_value(
        &self,
        o: &analyze::Occurrence,
        rule: &TableRule,
        column: &str,
        want: &ScopeValue,
        capability: Option<&dyn Capability>,
    ) -> Result<String, Denial> {
        match want {
            ScopeValue::Literal(v) => Ok(v.clone()),
            ScopeValue::Claim(name) => match capability.and_then(|c| c.claim(name)) {
                Some(v) => Ok(v.to_owned()),
                None => Err(Denial::new(
                    "claim_missing",
                    self.rule_id(rule, "scope", column),
                    format!(
                        "actgate denied access to {}: its rule needs the claim {name:?}, which this session's credentials do not carry",
                        o.relation
                    ),
                )
                .hint("connect with a capability token that carries the claim")),
            },
        }
    }

    /// The values one use of a table writes to a column with value
    /// limits, each checked against the limit.
    fn value_limit(
        &self,
        o: &analyze::Occurrence,
        rule: &TableRule,
        column: &str,
        limit: &ValueLimit,
        checks: &mut Option<&mut Vec<ParamCheck>>,
    ) -> Result<(), Denial> {
        let values: Vec<&Option<analyze::PinValue>> = match o.access {
            Access::Insert => match &o.rows {
                Some(rows) => rows
                    .iter()
                    .flat_map(|r| r.iter().filter(|(c, _)| c == column).map(|(_, v)| v))
                    .collect(),
                None => {
                    return Err(Denial::new(
                        "value_unverifiable",
                        self.rule_id(rule, "limits", column),
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
                &self.rule_id(rule, "limits", column),
                checks,
            )?;
        }
        Ok(())
    }

    /// The capability token's own checks, for every user table touched.
    pub(super) fn token(
        &self,
        st: &StatementInfo,
        capability: Option<&dyn Capability>,
    ) -> Result<(), Denial> {
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
}

#[cfg(test)]
#[path = "scoping_tests.rs"]
mod tests;
