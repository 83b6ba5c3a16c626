//! Row limits and write caps: which limit holds a statement to how many
//! rows it may return or change, named by the rule that set it, and which
//! simple-protocol messages the relay can fail after the fact exactly.

use super::analyze::{self, Access, Analysis, Class, StatementInfo};
use super::{Denial, Policy, TableRule};
use std::sync::Arc;

/// How many rows a statement may return, and what happens beyond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowLimit {
    pub max: u64,
    pub truncate: bool,
    /// The rule that set `max`, as DETAIL names it
    /// (`analytics.toml: tables.orders.max_rows`).
    pub rule: Arc<str>,
    /// The statement has effects (a write with RETURNING in the simple
    /// protocol, error mode): it runs in a transaction or savepoint that
    /// is rolled back if it returns too many rows.
    pub undo: bool,
    /// A simple-protocol message of side-effect-free statements that opens
    /// a transaction block (`BEGIN; SELECT …; COMMIT`): exact only from a
    /// session outside any transaction, where a failure leaves the block
    /// open and failed, as PostgreSQL leaves it.
    pub block: bool,
}

/// Most rows one UPDATE or DELETE may change, and the rule that says so
/// (`capped.toml: tables.orders.max_affected_rows`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCap {
    pub max: u64,
    pub rule: Arc<str>,
}

impl RowLimit {
    /// The error that replaces the end of a result over this limit.
    pub fn exceeded(&self, agent: &str) -> Denial {
        Denial::new(
            "row_limit_exceeded",
            self.rule.to_string(),
            format!(
                "actgate stopped this statement: it returns more than {} rows, the row limit for agent {agent:?}",
                self.max
            ),
        )
        .hint(format!("add LIMIT {} or narrow the WHERE clause", self.max))
    }
}

impl WriteCap {
    /// The error that replaces the completion of a statement that changed
    /// `changed` rows, more than this cap (`None`: it was suspended before
    /// it completed, so its count cannot be known).
    pub fn exceeded(&self, agent: &str, changed: Option<u64>) -> Denial {
        match changed {
            Some(changed) => Denial::new(
                "write_cap_exceeded",
                self.rule.to_string(),
                format!(
                    "actgate undid this statement: it changed {changed} rows, more than the {} allowed for agent {agent:?}",
                    self.max
                ),
            )
            .hint("narrow the WHERE clause so that fewer rows change, or change them in smaller batches"),
            None => Denial::new(
                "write_cap_partial_execute",
                self.rule.to_string(),
                format!(
                    "actgate undid this statement: an UPDATE or DELETE with a write cap ({} rows for agent {agent:?}) must run to completion in one Execute to be checked",
                    self.max
                ),
            )
            .hint("execute it without a row count (fetch size 0), or drop RETURNING"),
        }
    }
}

impl Policy {
    /// Whether any write cap is configured.
    pub fn has_write_caps(&self) -> bool {
        self.tables.values().any(|t| t.max_affected_rows.is_some())
    }

    /// The write cap for a statement: the smallest `max_affected_rows` of
    /// the tables it updates or deletes from. A capped statement must be
    /// sent alone, since actgate wraps it to be able to undo it.
    pub fn write_cap(&self, analysis: &Analysis) -> Result<Option<WriteCap>, Denial> {
        let caps: Vec<(u64, &TableRule)> = analysis
            .statements
            .iter()
            // EXPLAIN without ANALYZE runs nothing.
            .filter(|s| !s.wrappers.contains(&Class::Explain))
            .flat_map(|s| s.relations.iter())
            .filter(|r| matches!(r.access, Access::Update | Access::Delete))
            .filter_map(|r| self.tables.get(&r.name))
            .filter_map(|t| t.max_affected_rows.map(|m| (m, t)))
            .collect();
        let Some((cap, rule)) = caps.iter().min_by_key(|(m, _)| *m) else {
            return Ok(None);
        };
        let rule = format!("{}: {}.max_affected_rows", self.file(), rule.rule);
        if analysis.statements.len() > 1 {
            return Err(Denial::new(
                "write_cap_multi_statement",
                rule,
                "actgate denied this message: a statement with a write cap must be sent on its own",
            )
            .hint("send the capped UPDATE or DELETE as a separate statement"));
        }
        Ok(Some(WriteCap {
            max: *cap,
            rule: rule.into(),
        }))
    }

    /// Whether row limits are enforced: configured, in enforce mode (the
    /// relay counts rows only then).
    pub fn enforces_row_limits(&self) -> bool {
        self.mode == super::Mode::Enforce && self.has_row_limits()
    }

    /// Whether write caps are enforced: configured, in enforce mode.
    pub fn enforces_write_caps(&self) -> bool {
        self.mode == super::Mode::Enforce && self.has_write_caps()
    }

    /// Whether any row limit is configured.
    pub fn has_row_limits(&self) -> bool {
        self.max_rows.is_some() || self.tables.values().any(|t| t.max_rows.is_some())
    }

    /// The row limit for an allowed statement: the smallest of the agent's
    /// and those of every table it reads. In error mode a simple-protocol
    /// message must be one statement: without side effects, or a single
    /// write (with RETURNING) that the relay runs so that it can be undone
    /// once the limit is found exceeded.
    pub fn row_limit(&self, analysis: &Analysis, simple: bool) -> Result<Option<RowLimit>, Denial> {
        if !analysis.statements.iter().any(|s| s.returns_rows) {
            return Ok(None);
        }
        // The smallest limit, and the rule that set it: a table's own limit
        // (the first in the statement) when it ties with the agent's.
        let tables = analysis
            .statements
            .iter()
            .flat_map(|s| s.relations.iter())
            .filter_map(|r| self.tables.get(&r.name))
            .filter_map(|t| t.max_rows.map(|m| (m, t.rule.as_str())));
        let agent = self.max_rows.map(|m| (m, "policy"));
        let Some((max, rule)) = tables.chain(agent).min_by_key(|(m, _)| *m) else {
            return Ok(None);
        };
        let limit = RowLimit {
            max,
            truncate: self.truncate_rows,
            rule: format!("{}: {rule}.max_rows", self.file()).into(),
            undo: false,
            block: false,
        };
        if limit.truncate || !simple {
            return Ok(Some(limit));
        }
        // Reads, COPY … TO, FETCH and EXPLAIN of reads change nothing.
        let pure_read = match analysis.statements.as_slice() {
            [] => true,
            [st] => {
                let copy_to = st
                    .copy
                    .is_none_or(|c| c.direction == analyze::CopyDirection::To);
                st.classes.iter().all(|c| {
                    matches!(
                        c,
                        Class::Read | Class::Copy | Class::Cursor | Class::Explain
                    )
                }) && copy_to
                    && !st.row_locks
            }
            _ => false,
        };
        // A single write with RETURNING can be undone if it returns too
        // many rows: the relay runs it in a transaction or savepoint.
        let undoable_write = match analysis.statements.as_slice() {
            [st] => {
                st.copy.is_none()
                    && st.classes.iter().all(|c| {
                        matches!(
                            c,
                            Class::Read
                                | Class::Insert
                                | Class::Update
                                | Class::Delete
                                | Class::Merge
                        )
                    })
            }
            _ => false,
        };
        if pure_read {
            Ok(Some(limit))
        } else if let Some(block) = reads_in_a_block(&analysis.statements) {
            Ok(Some(RowLimit { block, ..limit }))
        } else if undoable_write {
            Ok(Some(RowLimit {
                undo: true,
                ..limit
            }))
        } else {
            Err(Denial::new(
                "row_limit_side_effects",
                limit.rule.to_string(),
                format!(
                    "actgate denied this message: with a row limit of {max}, a simple-protocol message must be a single statement without side effects"
                ),
            )
            .hint("send the statements one at a time, use the extended protocol, or drop RETURNING"))
        }
    }

    /// A message that opens a block around its reads (`BEGIN; SELECT …;
    /// COMMIT`) under a row limit is exact only from outside a
    /// transaction: inside one its COMMIT would commit earlier work that a
    /// failure must leave uncommitted.
    pub(crate) fn row_limit_block_refusal(&self, limit: &RowLimit) -> Denial {
        Denial::new(
            "row_limit_side_effects",
            limit.rule.to_string(),
            format!(
                "actgate denied this message: with a row limit of {}, a message that opens and commits a transaction must be sent outside a transaction",
                limit.max
            ),
        )
        .hint("send the statements one at a time, or end the open transaction first")
    }
}

/// Whether a simple-protocol message of several statements changes
/// nothing, so that the relay can fail it after the fact exactly: reads
/// (and EXPLAIN of them), alone (`Some(false)`) or inside a block it opens
/// with its first statement and may close with its last (`BEGIN; SELECT
/// …; COMMIT`: `Some(true)`). No other transaction control.
fn reads_in_a_block(statements: &[StatementInfo]) -> Option<bool> {
    use analyze::TransactionControl as T;
    let read = |st: &StatementInfo| {
        st.copy.is_none()
            && !st.row_locks
            && st.transaction.is_none()
            && !st.classes.is_empty()
            && st
                .classes
                .iter()
                .all(|c| matches!(c, Class::Read | Class::Explain))
            && (!st.classes.contains(&Class::Explain) || st.wrappers.contains(&Class::Explain))
    };
    match statements {
        [first, rest @ ..] if first.transaction == Some(T::Begin) => {
            let body = match rest {
                [body @ .., last] if last.transaction == Some(T::Commit) => body,
                _ => rest,
            };
            body.iter().all(read).then_some(true)
        }
        _ => statements.iter().all(read).then_some(false),
    }
}
