//! `[[approvals]]`: which statements an operator must approve, and the
//! refusal of a statement held for approval.

use super::*;

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
pub(super) fn above_threshold(text: &str, above: f64) -> bool {
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

impl Policy {
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
                    if *o.relation != rule.table || !rule.operations.contains(&o.access) {
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
}
