//! The final cross-check of the walk with sqlparser's own visitor reports.

use super::super::names::{QualifiedName, parts};
use super::syntax_calls::{is_syntax_call, plain_keyword_call};
use super::{AnalysisError, Walker, unsupported};
use sqlparser::ast::{Expr, Ident, ObjectName, Query, Statement, TableFactor, Visit, Visitor};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Every function call anywhere in a statement. What PostgreSQL's
/// grammar reads as syntax, not as a call, is not one: a row constructor
/// `ROW(…)`, the SQL/XML and SQL/JSON constructors (`syntax_calls`) and
/// the strategy of `CREATE TABLE … PARTITION BY RANGE (…)` (sqlparser
/// shows them as calls); what they contain still is.
#[derive(Default)]
pub(super) struct FunctionCollector {
    pub(super) found: Vec<ObjectName>,
    /// The `PARTITION BY` expression of the statement being visited.
    strategy: Option<*const Expr>,
}

/// The function PostgreSQL calls for an ordinary call that sqlparser reads
/// as syntax of its own: `substr(a, 2)`, `substring(a, 2, 3)` (the comma
/// forms; `SUBSTRING(a FROM 2)` is the grammar's own `pg_catalog.substring`),
/// `ceil(x)` and `floor(x)`. PostgreSQL resolves these names on the
/// search_path like any call, so they are calls here too.
fn call_as_syntax(e: &Expr) -> Option<&'static str> {
    match e {
        Expr::Substring {
            shorthand: true, ..
        } => Some("substr"),
        Expr::Substring { special: true, .. } => Some("substring"),
        Expr::Ceil { .. } => Some("ceil"),
        Expr::Floor { .. } => Some("floor"),
        _ => None,
    }
}

impl Visitor for FunctionCollector {
    type Break = ();
    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if let Statement::CreateTable(ct) = s {
            self.strategy = ct.partition_by.as_deref().map(|e| e as *const Expr);
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let strategy = self.strategy.is_some_and(|p| std::ptr::eq(p, e))
                && plain_keyword_call(f, &["range", "list", "hash"]);
            if !strategy && !is_syntax_call(f) {
                self.found.push(f.name.clone());
            }
        } else if let Some(name) = call_as_syntax(e) {
            self.found.push(ObjectName::from(vec![Ident::new(name)]));
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        match tf {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.found.push(name.clone()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Every relation sqlparser's visitor reports, and how many query nodes
/// it meets.
pub(super) struct RelationCollector {
    found: Vec<ObjectName>,
    queries: usize,
}

impl Visitor for RelationCollector {
    type Break = ();
    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        self.found.push(r.clone());
        ControlFlow::Continue(())
    }
    fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.queries += 1;
        ControlFlow::Continue(())
    }
}

impl Walker<'_> {
    /// Cross-checks the walk with sqlparser's own reports: every relation
    /// the visitor sees must be one the walk accounted for (a table, a CTE
    /// reference or a table function), the walk must have entered every
    /// query node (a subquery in a position it does not know fails closed),
    /// and every function call is recorded.
    pub(super) fn cross_check(&mut self, st: &Statement) -> Result<(), AnalysisError> {
        let mut funcs = FunctionCollector::default();
        let _ = st.visit(&mut funcs);
        for f in funcs.found {
            self.function(&f)?;
        }
        let mut rels = RelationCollector {
            found: Vec::new(),
            queries: 0,
        };
        let _ = st.visit(&mut rels);
        if rels.queries != self.queries_walked {
            return unsupported("a subquery in this position");
        }
        let known: BTreeSet<&QualifiedName> = self.info.relations.iter().map(|r| &r.name).collect();
        for r in rels.found {
            let Some(p) = parts(&r) else {
                return unsupported(format!("relation name {r}"));
            };
            if self.table_functions.contains(&p) || self.cte_refs.contains(&p) {
                continue;
            }
            let resolved = self.resolver.relation(&r).ok();
            if !resolved.as_ref().is_some_and(|q| known.contains(q)) {
                return unsupported(format!("relation {r} in this position"));
            }
        }
        Ok(())
    }
}
