//! What CREATE TABLE and CREATE FUNCTION bring in besides the new object:
//! a parent, tables copied or referenced, a query or prepared statement
//! that fills the table, subqueries in a routine's body.

use super::super::names::parts;
use super::scope::{Env, Scope};
use super::{Access, AnalysisError, Class, PreparedRef, Walker, unsupported};
use sqlparser::ast::{self, Expr, Statement, Visit};

impl Walker<'_> {
    /// CREATE TABLE: DDL on the new table (and on a parent it joins); a
    /// table it copies (`LIKE`) or a query that fills it is read; `AS
    /// EXECUTE` runs a prepared statement.
    pub(super) fn create_table(
        &mut self,
        ct: &ast::CreateTable,
        st: &Statement,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.info.class(Class::Ddl);
        self.relation(&ct.name, Access::Ddl)?;
        // A partition or child changes its parent's definition
        // (PostgreSQL requires owning the parent): DDL on it too.
        for parent in ct.partition_of.iter().chain(ct.inherits.iter().flatten()) {
            self.relation(parent, Access::Ddl)?;
        }
        // `LIKE source` copies the source's columns (and with
        // INCLUDING, its defaults, constraints, comments …).
        if let Some(
            ast::CreateTableLikeKind::Parenthesized(like) | ast::CreateTableLikeKind::Plain(like),
        ) = &ct.like
        {
            self.relation(&like.name, Access::Read)?;
        }
        for element in &ct.like_elements {
            self.relation(&element.like.name, Access::Read)?;
        }
        self.referenced_tables(&ct.columns, &ct.constraints)?;
        if let Some(q) = &ct.query {
            self.info.class(Class::Read);
            self.query(q, None, env)?;
        }
        if let Some(execute) = &ct.execute {
            self.ctas_execute(execute, env)?;
        }
        self.ddl_functions(st)
    }

    /// The tables foreign keys reference: PostgreSQL requires the
    /// REFERENCES privilege on them, and the constraint tells which values
    /// exist there (an insert fails or not), so each is a read.
    pub(super) fn referenced_tables<'c>(
        &mut self,
        columns: impl IntoIterator<Item = &'c ast::ColumnDef>,
        constraints: impl IntoIterator<Item = &'c ast::TableConstraint>,
    ) -> Result<(), AnalysisError> {
        let in_columns = columns
            .into_iter()
            .flat_map(|c| &c.options)
            .filter_map(|o| match &o.option {
                ast::ColumnOption::ForeignKey(fk) => Some(fk),
                _ => None,
            });
        let in_constraints = constraints.into_iter().filter_map(|c| match c {
            ast::TableConstraint::ForeignKey(fk) => Some(fk),
            _ => None,
        });
        for fk in in_columns.chain(in_constraints) {
            self.relation(&fk.foreign_table, Access::Read)?;
        }
        Ok(())
    }

    /// `CREATE TABLE … AS EXECUTE name (…)` runs a statement prepared (and
    /// judged) before, as EXECUTE does: the agent needs `execute` too, and
    /// the name must be one this session prepared.
    fn ctas_execute(&mut self, execute: &Statement, env: &Env) -> Result<(), AnalysisError> {
        let Statement::Execute {
            name: Some(name),
            parameters,
            ..
        } = execute
        else {
            return unsupported("this form of CREATE TABLE … AS EXECUTE");
        };
        self.info.class(Class::Execute);
        self.execute_prepared(Some(name), parameters, env)
    }

    /// A SQL-standard body `RETURN expr` is parsed (and its relations
    /// resolved) when the routine is created: a subquery in it reads its
    /// tables, judged like any other read.
    pub(super) fn routine_body(
        &mut self,
        cf: &ast::CreateFunction,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let Some(ast::CreateFunctionBody::Return(body)) = &cf.function_body else {
            return Ok(());
        };
        let mut outer = OuterQueries::default();
        let _ = body.visit(&mut outer);
        for q in &outer.found {
            self.info.class(Class::Read);
            self.query(q, None, env)?;
        }
        Ok(())
    }

    /// Runs the statement `name` prepared (and judged) before, with
    /// `parameters` walked as expressions: EXECUTE, and CREATE TABLE …
    /// AS EXECUTE.
    pub(super) fn execute_prepared(
        &mut self,
        name: Option<&ast::ObjectName>,
        parameters: &[Expr],
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let Some(name) = name.and_then(parts) else {
            return unsupported("EXECUTE without a statement name");
        };
        self.info
            .prepared
            .push(PreparedRef::Execute(name.join(".")));
        let scope = Scope::new(None);
        for p in parameters {
            self.expr(p, &scope, env)?;
        }
        Ok(())
    }
}

/// The outermost queries of an expression (each walk enters its own
/// subqueries).
#[derive(Default)]
struct OuterQueries {
    found: Vec<ast::Query>,
    depth: usize,
}

impl ast::Visitor for OuterQueries {
    type Break = ();
    fn pre_visit_query(&mut self, q: &ast::Query) -> std::ops::ControlFlow<()> {
        if self.depth == 0 {
            self.found.push(q.clone());
        }
        self.depth += 1;
        std::ops::ControlFlow::Continue(())
    }
    fn post_visit_query(&mut self, _: &ast::Query) -> std::ops::ControlFlow<()> {
        self.depth -= 1;
        std::ops::ControlFlow::Continue(())
    }
}
