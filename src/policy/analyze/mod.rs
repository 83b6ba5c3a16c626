//! SQL analysis: parse with sqlparser (PostgreSqlDialect), classify each
//! statement from its AST, and extract every relation (with how it is
//! accessed), function, column, row lock, setting and COPY endpoint.
//!
//! Pure and synchronous. Anything not understood is an error, which the
//! policy turns into a denial: the analysis handles the shapes PostgreSQL
//! accepts and refuses the rest rather than guessing.
//!
//! Relations are extracted by a scope-aware walk of the query structure
//! (FROM items, joins, CTEs with Postgres' visibility rules, set
//! operations, `TABLE x`, subqueries anywhere in expressions). Expressions
//! are traversed with sqlparser's derived visitor so that no expression
//! position is missed; nested queries met there are handed back to the
//! scope-aware walk. A final pass cross-checks the statement with the
//! visitor's own relation and function reports, so a relation in a position
//! this walker does not know fails closed.

mod columns;
mod create;
mod cross_check;
mod ddl;
mod dml;
mod from;
mod info;
mod maintenance;
mod pg_forms;
mod pins;
mod query;
mod scope;
mod settings;
pub mod shape;
mod statements;
mod syntax_calls;

pub use info::{
    Access, AmbiguousColumn, Analysis, Class, ColumnAccess, ColumnName, ColumnUse, CopyDirection,
    CopyEndpoint, CopyInfo, FactsKey, Occurrence, Pin, PinValue, PreparedRef, RelationUse, Row,
    SettingAction, SettingParam, SettingUse, StatementInfo, TransactionControl,
};
pub(super) use settings::normalise_setting;

use super::names::{QualifiedName, Resolver, parts};
use super::referee;
use super::utility::{self, Parsed};
pub use super::utility::{CursorRef, Direction};
use scope::Env;
use sqlparser::ast::{Expr, ObjectName, Statement};
use std::collections::BTreeSet;

/// Bounds on the work one statement text may cause.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisLimits {
    pub max_sql_bytes: usize,
    pub recursion_limit: usize,
}

impl Default for AnalysisLimits {
    fn default() -> Self {
        AnalysisLimits {
            max_sql_bytes: 256 * 1024,
            recursion_limit: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("statement of {length} bytes exceeds the analysis limit of {limit} bytes")]
    TooLong { length: usize, limit: usize },
    #[error("could not parse the statement: {0}")]
    Parse(String),
    /// actgate's parser cannot read a statement PostgreSQL's parser
    /// accepts (the referee's verdict on a [`AnalysisError::Parse`]).
    #[error("could not parse the statement, which PostgreSQL's parser accepts: {0}")]
    ParserGap(String),
    /// PostgreSQL's parser rejects the text: it is not valid PostgreSQL.
    #[error("the statement is not valid PostgreSQL: {0}")]
    Invalid(String),
    /// The two parsers read the text differently (see [`super::referee`]).
    #[error("actgate's parser and PostgreSQL's read the statement differently: {0}")]
    Disagreement(Box<super::referee::Disagreement>),
    #[error("could not analyse the statement: {0} is not supported")]
    Unsupported(String),
}

/// Parses and analyses `sql`.
///
/// Deep expression trees recurse in the visitor and in `Drop`; callers
/// must run this where the stack is large enough for `limits.max_sql_bytes`
/// (the proxy runs long statements on threads with large stacks).
pub fn analyze(
    sql: &str,
    resolver: &Resolver<'_>,
    limits: AnalysisLimits,
) -> Result<Analysis, AnalysisError> {
    if sql.len() > limits.max_sql_bytes {
        return Err(AnalysisError::TooLong {
            length: sql.len(),
            limit: limits.max_sql_bytes,
        });
    }
    let statements = match utility::parse(sql, limits.recursion_limit) {
        Ok(statements) => statements,
        Err(AnalysisError::Parse(why)) => return Err(unparsed(sql, why)),
        Err(other) => return Err(other),
    };
    let (fingerprint, comments) = super::fingerprint::fingerprint_and_comments(sql);
    let mut analysis = Analysis {
        statements: Vec::new(),
        fingerprint: fingerprint.into(),
        comments,
    };
    for parsed in &statements {
        let statement = match parsed {
            Parsed::Sql(statement) => &**statement,
            Parsed::Utility(u) => {
                analysis.statements.push(u.info());
                continue;
            }
        };
        let mut walker = Walker {
            resolver,
            info: StatementInfo::default(),
            table_functions: BTreeSet::new(),
            cte_refs: BTreeSet::new(),
            queries_walked: 0,
            rule_table: None,
        };
        walker.statement(statement, &Env::default())?;
        walker.cross_check(statement)?;
        walker.info.returns_rows = returns_rows(statement);
        walker.info.tautology = has_tautology(statement);
        walker.info.finish();
        analysis.statements.push(walker.info);
    }
    match referee::check(sql, &analysis) {
        Ok(()) => Ok(analysis),
        Err(Ok(disagreement)) => Err(AnalysisError::Disagreement(Box::new(disagreement))),
        Err(Err(postgres)) => Err(AnalysisError::Invalid(postgres)),
    }
}

/// A text actgate's parser could not read, as PostgreSQL's parser judges it.
fn unparsed(sql: &str, why: String) -> AnalysisError {
    match referee::postgres_reading(sql) {
        referee::Verdict::Accepts => AnalysisError::ParserGap(why),
        referee::Verdict::Rejects(postgres) => AnalysisError::Invalid(postgres),
    }
}

/// Whether a condition in the statement is true whatever the data: equal
/// operands (`1 = 1`, `'a' = 'a'`, `id = id`) or `OR TRUE`, the shape of a
/// classic injection. A risk signal, never a denial by itself.
fn has_tautology(st: &Statement) -> bool {
    use sqlparser::ast::{BinaryOperator, Value};
    use std::ops::ControlFlow;
    let always_true = |e: &Expr| match e {
        Expr::Value(v) => matches!(v.value, Value::Boolean(true)),
        Expr::BinaryOp { left, op, right } => {
            *op == BinaryOperator::Eq
                && left == right
                && matches!(
                    **left,
                    Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
                )
        }
        _ => false,
    };
    let found = sqlparser::ast::visit_expressions(st, |e| match e {
        Expr::BinaryOp { left, op, right }
            if *op == BinaryOperator::Or && (always_true(left) || always_true(right)) =>
        {
            ControlFlow::Break(())
        }
        e if always_true(e) && !matches!(e, Expr::Value(_)) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

fn returns_rows(st: &Statement) -> bool {
    match st {
        Statement::Query(_)
        | Statement::Fetch { .. }
        | Statement::Explain { .. }
        | Statement::ShowVariable { .. }
        | Statement::Execute { .. } => true,
        Statement::Insert(i) => i.returning.is_some(),
        Statement::Update(u) => u.returning.is_some(),
        Statement::Delete(d) => d.returning.is_some(),
        Statement::Copy { to, .. } => *to,
        _ => false,
    }
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, AnalysisError> {
    Err(AnalysisError::Unsupported(what.into()))
}

struct Walker<'r> {
    resolver: &'r Resolver<'r>,
    info: StatementInfo,
    /// Names used as table functions (the visitor reports them as relations).
    table_functions: BTreeSet<Vec<String>>,
    /// Names the walk resolved to CTEs.
    cte_refs: BTreeSet<Vec<String>>,
    /// Query nodes the walk entered (cross-checked with the visitor's count).
    queries_walked: usize,
    /// The table of the rule whose action is being walked (`NEW`, `OLD`).
    rule_table: Option<QualifiedName>,
}

impl Walker<'_> {
    fn relation(
        &mut self,
        name: &ObjectName,
        access: Access,
    ) -> Result<QualifiedName, AnalysisError> {
        let q = self
            .resolver
            .relation(name)
            .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
        self.info.relations.push(RelationUse {
            name: q.clone(),
            access,
        });
        Ok(q)
    }

    fn function(&mut self, name: &ObjectName) -> Result<(), AnalysisError> {
        let q = self
            .resolver
            .function(name)
            .map_err(|e| AnalysisError::Unsupported(format!("function name {}", e.0)))?;
        self.info.functions.push(q);
        Ok(())
    }

    fn column(&mut self, relation: &QualifiedName, column: ColumnName, access: ColumnAccess) {
        self.info.columns.push(ColumnUse {
            relation: relation.clone(),
            column,
            access,
        });
    }

    /// Records a use of a relation; returns its index.
    fn occurrence(&mut self, relation: &QualifiedName, access: Access) -> usize {
        self.info.occurrences.push(Occurrence {
            relation: std::sync::Arc::new(relation.clone()),
            access,
            pins: Vec::new(),
            written: Vec::new(),
            rows: None,
        });
        self.info.occurrences.len() - 1
    }

    /// The new name of a relation `ALTER … RENAME TO` renames: in the
    /// relation's own schema (PostgreSQL takes no schema there), and DDL on
    /// it, since the statement makes a relation of that name.
    fn renamed_to(&mut self, old: &QualifiedName, new: &ObjectName) -> Result<(), AnalysisError> {
        let p =
            parts(new).ok_or_else(|| AnalysisError::Unsupported(format!("relation name {new}")))?;
        let [name] = p.as_slice() else {
            return unsupported(format!("a schema-qualified new name {new}"));
        };
        self.info.relations.push(RelationUse {
            name: QualifiedName::new(old.schema.clone(), name.clone()),
            access: Access::Ddl,
        });
        Ok(())
    }

    /// A whole schema as the object of DDL: recorded as `schema.*`, which
    /// only a `[schemas.<name>]` rule with `ddl` allows.
    fn schema_object(&mut self, name: &ObjectName) -> Result<(), AnalysisError> {
        let p =
            parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("schema name {name}")))?;
        let [schema] = p.as_slice() else {
            return unsupported(format!("schema name {name}"));
        };
        self.info.relations.push(RelationUse {
            name: QualifiedName::new(schema.clone(), "*"),
            access: Access::Ddl,
        });
        Ok(())
    }
}

fn first_part(name: &ObjectName) -> Result<String, AnalysisError> {
    parts(name)
        .and_then(|p| p.first().cloned())
        .ok_or_else(|| AnalysisError::Unsupported(format!("column name {name}")))
}

fn last_part(name: &ObjectName) -> Result<String, AnalysisError> {
    parts(name)
        .and_then(|p| p.last().cloned())
        .ok_or_else(|| AnalysisError::Unsupported(format!("column name {name}")))
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// `sql` analysed for unit tests: default limits, no catalog, tables
/// resolved against `public`, in `database` (if named).
#[cfg(test)]
pub(crate) fn analyze_in_public(
    sql: &str,
    database: Option<&str>,
) -> Result<Analysis, AnalysisError> {
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: None,
        database,
    };
    analyze(sql, &resolver, AnalysisLimits::default())
}

fn statement_kind(st: &Statement) -> String {
    let text = st.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    format!("the statement kind {}", words.join(" "))
}

#[cfg(test)]
mod tests;
