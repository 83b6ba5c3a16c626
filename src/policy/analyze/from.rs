//! FROM items: tables, CTE references, derived tables, table functions
//! and joins, each becoming a [`Source`] of the scope.

use super::super::names::{QualifiedName, fold, parts};
use super::scope::{Env, Scope, Source, SourceKind};
use super::{Access, AnalysisError, ColumnName, Walker, first_words, last_part, unsupported};
use sqlparser::ast::{
    self, Expr, ObjectName, Query, SelectItem, SetExpr, TableFactor, TableWithJoins,
};

/// A derived table, function or CTE reference: its own columns only.
pub(super) fn other_source(alias: &Option<ast::TableAlias>) -> Source {
    Source::new(
        alias.as_ref().map(|a| fold(&a.name)).unwrap_or_default(),
        SourceKind::Other(alias_columns(alias)),
    )
}

/// The folded name of a FROM item's alias.
pub(super) fn alias_of(alias: &Option<ast::TableAlias>) -> Option<String> {
    alias.as_ref().map(|a| fold(&a.name))
}

/// The relations a `JOIN … USING (…) AS alias` merges columns of: only
/// base relations (and groups of them) are understood.
fn join_alias_tables(sources: &[Source]) -> Result<Vec<QualifiedName>, AnalysisError> {
    let mut tables = Vec::new();
    for s in sources {
        match &s.kind {
            SourceKind::Table(t) => tables.push(t.clone()),
            SourceKind::Group(g) => tables.extend(g.iter().cloned()),
            SourceKind::Other(_) => {
                return unsupported("JOIN USING … AS over a subquery or function");
            }
        }
    }
    Ok(tables)
}

pub(super) fn alias_columns(alias: &Option<ast::TableAlias>) -> Option<Vec<String>> {
    alias
        .as_ref()
        .filter(|a| !a.columns.is_empty())
        .map(|a| a.columns.iter().map(|c| fold(&c.name)).collect())
}

/// Output column names of a query, when they are evident.
pub(super) fn output_columns(q: &Query) -> Option<Vec<String>> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(fold(i)),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(is)) => is.last().map(fold),
            _ => None,
        })
        .collect()
}

impl Walker<'_> {
    /// Adds one FROM item (with its joins) to `scope`.
    /// Adds one FROM factor. A parenthesised join without an alias keeps
    /// its tables' names visible, so its items join the scope one by one.
    pub(super) fn add_factor(
        &mut self,
        tf: &TableFactor,
        scope: &mut Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        if let TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } = tf
        {
            return self.add_from_item(table_with_joins, scope, env);
        }
        let source = self.table_factor(tf, scope, env)?;
        scope.sources.push(source);
        Ok(())
    }

    pub(super) fn add_from_item(
        &mut self,
        twj: &TableWithJoins,
        scope: &mut Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let first = scope.sources.len();
        self.add_factor(&twj.relation, scope, env)?;
        for join in &twj.joins {
            if join.global {
                return unsupported("GLOBAL JOIN");
            }
            self.add_factor(&join.relation, scope, env)?;
            use ast::JoinOperator as J;
            let constraint = match &join.join_operator {
                J::Join(c)
                | J::Inner(c)
                | J::Left(c)
                | J::LeftOuter(c)
                | J::Right(c)
                | J::RightOuter(c)
                | J::FullOuter(c)
                | J::CrossJoin(c) => c,
                other => return unsupported(format!("join {other:?}")),
            };
            match constraint {
                ast::JoinConstraint::On(e) => self.expr(e, scope, env)?,
                ast::JoinConstraint::UsingAlias(cols, alias) => {
                    for c in cols {
                        let name = last_part(c)?;
                        self.unqualified_column(&name, scope);
                    }
                    // `alias.col` names a merged join column: modelled as a
                    // column of every relation joined so far (a superset of
                    // what PostgreSQL reads). The joined names stay visible.
                    let joined = join_alias_tables(&scope.sources[first..])?;
                    scope
                        .sources
                        .push(Source::new(fold(alias), SourceKind::Group(joined)));
                }
                ast::JoinConstraint::Using(cols) => {
                    for c in cols {
                        let name = last_part(c)?;
                        self.unqualified_column(&name, scope);
                    }
                }
                ast::JoinConstraint::Natural => {
                    // NATURAL joins compare every common column.
                    let kinds: Vec<SourceKind> =
                        scope.sources.iter().map(|s| s.kind.clone()).collect();
                    for k in kinds {
                        self.whole_row(&k);
                    }
                }
                ast::JoinConstraint::None => {}
            }
        }
        Ok(())
    }

    pub(super) fn table_factor(
        &mut self,
        tf: &TableFactor,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                partitions,
                json_path,
                index_directives,
                sample,
                ..
            } => {
                if !with_hints.is_empty()
                    || version.is_some()
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || !index_directives.is_empty()
                {
                    return unsupported("table hints");
                }
                self.named_factor(name, alias, args.as_ref(), sample.as_ref(), scope, env)
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return unsupported("TABLESAMPLE on a subquery");
                }
                self.derived_table(*lateral, subquery, alias, scope, env)
            }
            TableFactor::Function {
                name, args, alias, ..
            } => {
                self.function(name)?;
                if let Some(p) = parts(name) {
                    self.table_functions.insert(p);
                }
                let lateral = scope.lateral();
                self.set_config(name, args, &lateral)?;
                for a in args {
                    self.function_arg(a, &lateral, env)?;
                }
                Ok(other_source(alias))
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                ..
            } => {
                if *with_offset {
                    return unsupported("UNNEST WITH OFFSET");
                }
                self.info
                    .functions
                    .push(QualifiedName::new("pg_catalog", "unnest"));
                let lateral = scope.lateral();
                for e in array_exprs {
                    self.expr(e, &lateral, env)?;
                }
                Ok(other_source(alias))
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => self.nested_join(table_with_joins, alias, scope, env),
            TableFactor::RowsFrom {
                functions, alias, ..
            } => self.rows_from(functions, alias, scope, env),
            TableFactor::XmlTable { columns, alias, .. } => {
                // Always lateral in PostgreSQL; every expression inside
                // (row and column paths, PASSING, DEFAULT, namespaces) is
                // walked; column names and types are labels.
                let lateral = scope.lateral();
                self.visit_exprs(tf, &lateral, env)?;
                let names = columns.iter().map(|c| fold(&c.name)).collect();
                Ok(Source::new(
                    alias_of(alias).unwrap_or_else(|| "xmltable".to_owned()),
                    SourceKind::Other(alias_columns(alias).or(Some(names))),
                ))
            }
            TableFactor::TableFunction { expr, alias } => {
                let lateral = scope.lateral();
                self.expr(expr, &lateral, env)?;
                Ok(other_source(alias))
            }
            other => unsupported(format!("FROM item {}", first_words(&other.to_string()))),
        }
    }

    /// A name in FROM: a function called with arguments, a CTE, or a
    /// relation (with its TABLESAMPLE expressions).
    fn named_factor(
        &mut self,
        name: &ObjectName,
        alias: &Option<ast::TableAlias>,
        args: Option<&ast::TableFunctionArgs>,
        sample: Option<&ast::TableSampleKind>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        let folded =
            parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("name {name}")))?;
        if let Some(args) = args {
            // A function in FROM: `FROM generate_series(1, 3)`.
            self.function(name)?;
            self.table_functions.insert(folded.clone());
            let lateral = scope.lateral();
            self.set_config(name, &args.args, &lateral)?;
            for a in &args.args {
                self.function_arg(a, &lateral, env)?;
            }
            let default = folded.last().cloned().unwrap_or_default();
            return Ok(Source::new(
                alias_of(alias).unwrap_or(default),
                SourceKind::Other(alias_columns(alias)),
            ));
        }
        if let Some(sample) = sample {
            // TABLESAMPLE arguments are expressions, subqueries included.
            self.visit_exprs(sample, scope, env)?;
        }
        if folded.len() == 1 && env.has(&folded[0]) {
            self.cte_refs.insert(folded.clone());
            return Ok(Source::new(
                alias_of(alias).unwrap_or_else(|| folded[0].clone()),
                SourceKind::Other(alias_columns(alias)),
            ));
        }
        let q = self.relation(name, Access::Read)?;
        let occurrence = self.occurrence(&q, Access::Read);
        let mut source = Source::new(
            alias_of(alias).unwrap_or_else(|| q.name.clone()),
            SourceKind::Table(q),
        );
        source.renames = alias_columns(alias).unwrap_or_default();
        source.occurrence = Some(occurrence);
        Ok(source)
    }

    /// A subquery in FROM: its columns, and the relations it reads (which
    /// a row lock on it locks).
    fn derived_table(
        &mut self,
        lateral: bool,
        subquery: &Query,
        alias: &Option<ast::TableAlias>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        let before = self.info.relations.len();
        if lateral {
            let lateral_scope = scope.lateral();
            self.query(subquery, Some(&lateral_scope), env)?;
        } else {
            self.query(subquery, scope.parent, env)?;
        }
        let mut source = Source::new(
            alias_of(alias).unwrap_or_default(),
            SourceKind::Other(alias_columns(alias).or_else(|| output_columns(subquery))),
        );
        source.bases = self.info.relations[before..]
            .iter()
            .filter(|r| r.access == Access::Read)
            .map(|r| r.name.clone())
            .collect();
        Ok(source)
    }

    /// A parenthesised join as one FROM item: its single item, or a group
    /// of its tables under the alias.
    fn nested_join(
        &mut self,
        table_with_joins: &TableWithJoins,
        alias: &Option<ast::TableAlias>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        let mut inner = Scope::new(scope.parent);
        inner.sources = scope.sources.clone();
        let before = inner.sources.len();
        self.add_from_item(table_with_joins, &mut inner, env)?;
        let added: Vec<Source> = inner.sources.split_off(before);
        match alias {
            None if added.len() == 1 => Ok(added.into_iter().next().expect("one source")),
            _ => {
                let tables: Vec<QualifiedName> = added
                    .iter()
                    .flat_map(|s| match &s.kind {
                        SourceKind::Table(t) => vec![t.clone()],
                        SourceKind::Group(g) => g.clone(),
                        SourceKind::Other(_) => vec![],
                    })
                    .collect();
                // Without an alias the inner names stay visible;
                // model that as a group reachable by each name.
                let renames = alias_columns(alias).unwrap_or_default();
                let rename_targets =
                    self.join_rename_targets(table_with_joins, &added, &tables, renames.len());
                let mut source = Source::new(
                    alias_of(alias).unwrap_or_default(),
                    SourceKind::Group(tables),
                );
                source.renames = renames;
                source.rename_targets = rename_targets;
                Ok(source)
            }
        }
    }
}

/// Whether a join merges columns (USING, NATURAL), here or in a
/// parenthesised join inside: its output columns are then no longer its
/// items' columns side by side.
fn merges_columns(twj: &TableWithJoins) -> bool {
    let nested = |tf: &TableFactor| match tf {
        TableFactor::NestedJoin {
            table_with_joins, ..
        } => merges_columns(table_with_joins),
        _ => false,
    };
    nested(&twj.relation)
        || twj.joins.iter().any(|j| {
            use ast::JoinOperator as J;
            let constraint = match &j.join_operator {
                J::Join(c)
                | J::Inner(c)
                | J::Left(c)
                | J::LeftOuter(c)
                | J::Right(c)
                | J::RightOuter(c)
                | J::FullOuter(c)
                | J::CrossJoin(c) => Some(c),
                _ => None,
            };
            nested(&j.relation)
                || !matches!(
                    constraint,
                    Some(ast::JoinConstraint::On(_) | ast::JoinConstraint::None)
                )
        })
}

impl Walker<'_> {
    /// What each of the first `n` columns of a parenthesised join renamed
    /// by `AS j(c1, …)` denotes. By position when every item is a table
    /// whose columns the catalog lists (in attnum order) and no join merges
    /// columns; otherwise every column of every table joined, a superset.
    fn join_rename_targets(
        &self,
        twj: &TableWithJoins,
        added: &[Source],
        tables: &[QualifiedName],
        n: usize,
    ) -> Vec<Vec<(QualifiedName, ColumnName)>> {
        let all: Vec<(QualifiedName, ColumnName)> = tables
            .iter()
            .map(|t| (t.clone(), ColumnName::All))
            .collect();
        let mut positions = Vec::new();
        let mut known = !merges_columns(twj);
        for s in added {
            let columns = match &s.kind {
                SourceKind::Table(t) => self
                    .resolver
                    .catalog
                    .and_then(|c| c.columns(t))
                    .filter(|cols| !cols.is_empty())
                    .map(|cols| (t, cols)),
                _ => None,
            };
            match columns {
                Some((t, cols)) => positions.extend(
                    cols.iter()
                        .map(|c| (t.clone(), ColumnName::Named(c.clone()))),
                ),
                None => known = false,
            }
        }
        (0..n)
            .map(|i| match positions.get(i) {
                Some(p) if known => vec![p.clone()],
                _ => all.clone(),
            })
            .collect()
    }
}
