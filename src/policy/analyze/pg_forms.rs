//! Query forms only PostgreSQL's grammar has (vendored sqlparser patches):
//! `ROWS FROM (…)` and column definition lists in FROM, and a recursive
//! CTE's `SEARCH`/`CYCLE` clauses. Each function, expression and subquery
//! inside is handed to the ordinary walk, so what they read or call is
//! judged like anywhere else.

use super::super::names::fold;
use super::from::alias_columns;
use super::scope::{Env, Scope, Source, SourceKind};
use super::{AnalysisError, Walker, unsupported};
use sqlparser::ast::{self, Expr, RowsFromFunction};

impl Walker<'_> {
    /// `ROWS FROM (f(x) [AS (a int, …)], …)`, or one function with a
    /// nameless column definition list (`f(x) AS (a int, …)`): every
    /// function is a call evaluated laterally, like any function in FROM.
    pub(super) fn rows_from(
        &mut self,
        functions: &[RowsFromFunction],
        alias: &Option<ast::TableAlias>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        let lateral = scope.lateral();
        for item in functions {
            let Expr::Function(f) = &item.function else {
                return unsupported("a ROWS FROM item that is not a function call");
            };
            // The ordinary expression walk records the call (and refuses a
            // function the policy does not know), its arguments and any
            // subquery in them.
            self.expr(&item.function, &lateral, env)?;
            if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
                return unsupported("a window or aggregate clause on a function in FROM");
            }
        }
        // The item's name is its alias, else that of its (first) function;
        // its columns are the alias's, else the column definitions.
        let name = match alias {
            Some(a) => fold(&a.name),
            None => functions
                .first()
                .and_then(|i| match &i.function {
                    Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(fold),
                    _ => None,
                })
                .unwrap_or_default(),
        };
        let defined: Vec<String> = functions
            .iter()
            .flat_map(|i| i.column_definitions.iter().map(|c| fold(&c.name)))
            .collect();
        let all_defined = functions.iter().all(|i| !i.column_definitions.is_empty());
        let columns = alias_columns(alias).or_else(|| all_defined.then_some(defined));
        Ok(Source::new(name, SourceKind::Other(columns)))
    }

    /// A CTE's `SEARCH … SET …` and `CYCLE … SET … [TO … DEFAULT …] USING
    /// …`: the column names name the CTE's own output columns (its query is
    /// walked already); the cycle mark values are expressions, walked like
    /// any other (PostgreSQL requires constants, but nothing is assumed).
    pub(super) fn cte_clauses(
        &mut self,
        cte: &ast::Cte,
        parent: Option<&Scope<'_>>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        if let Some(cycle) = &cte.cycle {
            let scope = Scope::new(parent);
            self.visit_exprs(cycle, &scope, env)?;
        }
        Ok(())
    }
}
