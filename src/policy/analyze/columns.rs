//! Expressions: the visitor that records column references and function
//! calls, and how a column reference is attributed to a relation.

use super::super::builtin;
use super::super::names::{QualifiedName, fold};
use super::scope::{Env, Scope, Source, SourceKind};
use super::syntax_calls::is_syntax_call;
use super::{AmbiguousColumn, AnalysisError, ColumnAccess, ColumnName, Walker, unsupported};
use sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, Query, Visit, Visitor,
};
use std::ops::ControlFlow;

/// Visits expressions at one query level: column references and function
/// calls are recorded; a nested query is handed to the scope-aware walk
/// and skipped by this visitor.
pub(super) struct ExprVisitor<'w, 'r, 's, 'p> {
    walker: &'w mut Walker<'r>,
    scope: &'s Scope<'p>,
    env: &'s Env,
    nested: usize,
}

impl Visitor for ExprVisitor<'_, '_, '_, '_> {
    type Break = AnalysisError;

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<AnalysisError> {
        if self.nested == 0
            && let Err(e) = self.walker.query(q, Some(self.scope), self.env)
        {
            return ControlFlow::Break(e);
        }
        self.nested += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<AnalysisError> {
        self.nested -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<AnalysisError> {
        if self.nested > 0 {
            return ControlFlow::Continue(());
        }
        let result = match e {
            Expr::Identifier(i) => {
                self.walker.unqualified_column(&fold(i), self.scope);
                Ok(())
            }
            Expr::CompoundIdentifier(is) => self.walker.compound_column(is, self.scope),
            Expr::Function(f) => {
                // A row, SQL/XML or SQL/JSON constructor calls nothing;
                // what it contains is walked.
                let mut r = if is_syntax_call(f) {
                    Ok(())
                } else {
                    self.walker.function(&f.name)
                };
                if r.is_ok() {
                    let args = match &f.args {
                        FunctionArguments::List(list) => &list.args[..],
                        _ => &[],
                    };
                    r = self.walker.set_config(&f.name, args, self.scope);
                }
                if r.is_ok()
                    && let FunctionArguments::List(list) = &f.args
                {
                    for a in &list.args {
                        let arg = match a {
                            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => {
                                arg
                            }
                            FunctionArg::Unnamed(arg) => arg,
                        };
                        match arg {
                            FunctionArgExpr::QualifiedWildcard(name) => {
                                r = self.walker.qualified_wildcard(name, self.scope);
                            }
                            FunctionArgExpr::WildcardWithOptions(_) => {
                                r = unsupported("wildcard options");
                            }
                            _ => {}
                        }
                        if r.is_err() {
                            break;
                        }
                    }
                }
                r
            }
            Expr::QualifiedWildcard(name, _) => self.walker.qualified_wildcard(name, self.scope),
            Expr::Wildcard(_) => unsupported("a bare * in an expression"),
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

impl Walker<'_> {
    pub(super) fn expr(
        &mut self,
        e: &Expr,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.visit_exprs(e, scope, env)
    }

    /// Walks every expression inside `node` in `scope`.
    pub(super) fn visit_exprs<V: Visit>(
        &mut self,
        node: &V,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let mut v = ExprVisitor {
            walker: self,
            scope,
            env,
            nested: 0,
        };
        match node.visit(&mut v) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(e) => Err(e),
        }
    }

    pub(super) fn function_args(
        &mut self,
        args: &FunctionArguments,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        match args {
            FunctionArguments::None => Ok(()),
            FunctionArguments::Subquery(q) => self.query(q, Some(scope), env),
            FunctionArguments::List(list) => {
                for a in &list.args {
                    self.function_arg(a, scope, env)?;
                }
                for c in &list.clauses {
                    self.visit_exprs(c, scope, env)?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn function_arg(
        &mut self,
        a: &FunctionArg,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let arg = match a {
            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => arg,
            FunctionArg::Unnamed(arg) => arg,
        };
        match arg {
            FunctionArgExpr::Expr(e) | FunctionArgExpr::Variadic(e) => self.expr(e, scope, env),
            FunctionArgExpr::QualifiedWildcard(name) => self.qualified_wildcard(name, scope),
            FunctionArgExpr::Wildcard => Ok(()),
            FunctionArgExpr::WildcardWithOptions(_) => unsupported("wildcard options"),
        }
    }

    /// The column of `table` that the visible name `name` of `source`
    /// denotes; `None` if the source has no such column (known only with a
    /// catalog that knows the table).
    pub(super) fn table_column(
        &self,
        source: &Source,
        table: &QualifiedName,
        name: &str,
    ) -> Option<ColumnName> {
        // An empty column list is an unknown one (a relation the catalog
        // names without columns).
        let columns = self
            .resolver
            .catalog
            .and_then(|c| c.columns(table))
            .filter(|cols| !cols.is_empty());
        if let Some(i) = source.renames.iter().position(|r| r == name) {
            return match columns {
                Some(cols) => cols.get(i).map(|c| ColumnName::Named(c.clone())),
                // Renamed, and the original name is unknown: count it all.
                None => Some(ColumnName::All),
            };
        }
        match columns {
            Some(cols) => cols
                .iter()
                .skip(source.renames.len())
                .any(|c| c == name)
                .then(|| ColumnName::Named(name.to_owned())),
            None => Some(ColumnName::Named(name.to_owned())),
        }
    }

    /// Attributes an unqualified column reference.
    pub(super) fn unqualified_column(&mut self, name: &str, scope: &Scope<'_>) {
        let catalog = self.resolver.catalog;
        if catalog.is_none()
            && let Some(source) = scope.find_alias(name)
        {
            // Without a catalog a name that matches a FROM item may be a
            // whole-row reference (`SELECT c FROM customers c`): count it
            // as one, on top of any column it might also be.
            let kind = source.kind.clone();
            self.whole_row(&kind);
        }
        let mut candidates: Vec<(QualifiedName, ColumnName)> = Vec::new();
        for level in scope.levels() {
            let mut found = Vec::new();
            let mut other_has_it = false;
            let mut other_unknown = false;
            for src in &level.sources {
                match &src.kind {
                    SourceKind::Table(t) => {
                        if let Some(c) = self.table_column(src, t, name) {
                            found.push((t.clone(), c));
                        }
                    }
                    SourceKind::Group(_) if src.renames.iter().any(|r| r == name) => {
                        found.extend(Self::renamed_join_column(src, name));
                    }
                    SourceKind::Group(g) => {
                        for t in g {
                            let has =
                                catalog.is_none_or(|c| !c.has_relation(t) || c.has_column(t, name));
                            if has {
                                found.push((t.clone(), ColumnName::Named(name.to_owned())));
                            }
                        }
                    }
                    SourceKind::Other(Some(cols)) => other_has_it |= cols.iter().any(|c| c == name),
                    SourceKind::Other(None) => other_unknown = true,
                }
            }
            let certain = catalog.is_some() || level.sources.len() == 1;
            if found.len() == 1
                && certain
                && !other_has_it
                && !other_unknown
                && candidates.is_empty()
            {
                let (t, c) = found.remove(0);
                self.column(&t, c, ColumnAccess::Read);
                return;
            }
            candidates.extend(found);
            if other_has_it || (catalog.is_some() && !candidates.is_empty() && !other_unknown) {
                break;
            }
        }
        // With a catalog, a name that is no column but names a FROM item is
        // a whole-row reference (`SELECT c FROM customers c`).
        if catalog.is_some()
            && candidates.is_empty()
            && let Some(source) = scope.find_alias(name)
        {
            let kind = source.kind.clone();
            self.whole_row(&kind);
        }
        self.read_one_of(name, candidates);
    }

    /// Attributes a qualified column reference. Postgres reads `a.b.c` as
    /// schema.table.column before table.column.field, and `d.a.b.c` as
    /// database.schema.table.column.
    pub(super) fn compound_column(
        &mut self,
        idents: &[ast::Ident],
        scope: &Scope<'_>,
    ) -> Result<(), AnalysisError> {
        let p: Vec<String> = idents.iter().map(fold).collect();
        let schema_table = |schema: &str, table: &str| -> Option<Source> {
            scope
                .levels()
                .flat_map(|l| l.sources.iter())
                .find(|s| {
                    s.alias == table
                        && matches!(&s.kind, SourceKind::Table(t) if t.schema == schema && t.name == table)
                })
                .cloned()
        };
        match p.as_slice() {
            [] => Ok(()),
            [one] => {
                self.unqualified_column(one, scope);
                Ok(())
            }
            [a, b] => {
                match scope.find_alias(a).cloned().or_else(|| self.rule_source(a)) {
                    Some(src) => self.qualified_source_column(&src, b)?,
                    // `(col).field`: the first part is a column.
                    None => self.unqualified_column(a, scope),
                }
                Ok(())
            }
            [a, b, c, ..] => {
                let four = p.len() == 4 && self.resolver.database.is_none_or(|d| d == a);
                let hit = match p.len() {
                    3 => schema_table(a, b).map(|s| (s, c.clone())),
                    4 if four => schema_table(b, c).map(|s| (s, p[3].clone())),
                    _ => None,
                };
                if let Some((src, column)) = hit {
                    return self.qualified_source_column(&src, &column);
                }
                match scope.find_alias(a).cloned() {
                    // table.column.field
                    Some(src) => self.qualified_source_column(&src, b),
                    None => unsupported(format!("column reference {}", p.join("."))),
                }
            }
        }
    }

    /// `alias.name`: a column of that FROM item, or, if the table has no
    /// such column, attribute notation for a function of the whole row
    /// (`c.to_json` is `to_json(c)`).
    pub(super) fn qualified_source_column(
        &mut self,
        src: &Source,
        name: &str,
    ) -> Result<(), AnalysisError> {
        match &src.kind {
            SourceKind::Table(t) => match self.table_column(src, t, name) {
                Some(c) => self.column(t, c, ColumnAccess::Read),
                // Row metadata: no column rule covers it, and the read of
                // the table is judged already.
                None if self.system_column(name) => {}
                None => {
                    self.whole_row(&src.kind);
                    self.function(&ObjectName::from(vec![ast::Ident::new(name)]))?;
                }
            },
            SourceKind::Group(_) if src.renames.iter().any(|r| r == name) => {
                let candidates = Self::renamed_join_column(src, name);
                self.read_one_of(name, candidates);
            }
            SourceKind::Group(g) => {
                let catalog = self.resolver.catalog;
                let candidates: Vec<(QualifiedName, ColumnName)> = g
                    .iter()
                    .filter(|t| catalog.is_none_or(|c| !c.has_relation(t) || c.has_column(t, name)))
                    .map(|t| (t.clone(), ColumnName::Named(name.to_owned())))
                    .collect();
                self.read_one_of(name, candidates);
            }
            SourceKind::Other(_) => {}
        }
        Ok(())
    }

    /// What column alias `name` of an aliased join (`(a JOIN b) AS j(x, y)`)
    /// denotes in the tables joined.
    fn renamed_join_column(src: &Source, name: &str) -> Vec<(QualifiedName, ColumnName)> {
        src.renames
            .iter()
            .position(|r| r == name)
            .and_then(|i| src.rename_targets.get(i))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `alias.name`, where `name` is no column of a table whose
    /// columns the catalog knows (it lists no system columns), is a system
    /// column rather than attribute notation. PostgreSQL takes the system
    /// column on a table; a view has none, and there the name calls a
    /// function of the row: a function of that name keeps the call.
    /// A read of column `name`, which is one of `candidates`: recorded as
    /// that column when there is one, as ambiguous (every candidate
    /// judged) when there are several.
    fn read_one_of(&mut self, name: &str, mut candidates: Vec<(QualifiedName, ColumnName)>) {
        candidates.sort();
        candidates.dedup();
        match candidates.len() {
            0 => {}
            1 => {
                let (t, c) = candidates.remove(0);
                self.column(&t, c, ColumnAccess::Read);
            }
            _ => self.info.ambiguous.push(AmbiguousColumn {
                column: name.into(),
                candidates,
            }),
        }
    }

    pub(super) fn system_column(&self, name: &str) -> bool {
        builtin::SYSTEM_COLUMNS.contains(&name)
            && self.resolver.catalog.is_some_and(|c| {
                !c.has_function(&QualifiedName::new("pg_catalog", name))
                    && !self
                        .resolver
                        .search_path
                        .iter()
                        .any(|s| c.has_function(&QualifiedName::new(s.clone(), name)))
            })
    }
}
