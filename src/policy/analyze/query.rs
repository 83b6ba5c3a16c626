//! Queries: WITH, set operations, SELECT and its tail (ORDER BY, LIMIT,
//! row locks), select lists and wildcards.

use super::super::names::{QualifiedName, fold, parts};
use super::scope::{Env, Scope, Source, SourceKind};
use super::{
    Access, AnalysisError, Class, ColumnAccess, ColumnName, RelationUse, Walker, unsupported,
};
use sqlparser::ast::{self, Expr, ObjectName, Query, Select, SelectItem, SetExpr};

/// ORDER BY, LIMIT, FETCH and locking clauses of a query.
#[derive(Clone, Copy)]
pub(super) struct QueryTail<'q> {
    order_by: Option<&'q ast::OrderBy>,
    limit: Option<&'q ast::LimitClause>,
    fetch: Option<&'q ast::Fetch>,
    locks: &'q [ast::LockClause],
}

pub(super) fn wildcard_has_options(o: &ast::WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
}

impl Walker<'_> {
    pub(super) fn query(
        &mut self,
        q: &Query,
        parent: Option<&Scope<'_>>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.queries_walked += 1;
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return unsupported("this query clause");
        }
        let mut env = env.clone();
        if let Some(with) = &q.with {
            let names: Vec<String> = with
                .cte_tables
                .iter()
                .map(|c| fold(&c.alias.name))
                .collect();
            for (i, cte) in with.cte_tables.iter().enumerate() {
                if cte.from.is_some() {
                    return unsupported("CTE … FROM");
                }
                // A CTE sees the CTEs before it, and itself only if RECURSIVE.
                let visible = if with.recursive {
                    env.with(names[..=i].iter().cloned())
                } else {
                    env.with(names[..i].iter().cloned())
                };
                self.query(&cte.query, parent, &visible)?;
                self.cte_clauses(cte, parent, &visible)?;
            }
            env = env.with(names);
        }
        let tail = QueryTail {
            order_by: q.order_by.as_ref(),
            limit: q.limit_clause.as_ref(),
            fetch: q.fetch.as_ref(),
            locks: &q.locks,
        };
        self.set_expr(&q.body, parent, &env, Some(tail))
    }

    pub(super) fn set_expr(
        &mut self,
        body: &SetExpr,
        parent: Option<&Scope<'_>>,
        env: &Env,
        tail: Option<QueryTail<'_>>,
    ) -> Result<(), AnalysisError> {
        match body {
            SetExpr::Select(s) => self.select(s, parent, env, tail),
            other => {
                let before = self.info.relations.len();
                let mut table = None;
                match other {
                    SetExpr::Query(q) => self.query(q, parent, env)?,
                    SetExpr::SetOperation { left, right, .. } => {
                        self.set_expr(left, parent, env, None)?;
                        self.set_expr(right, parent, env, None)?;
                    }
                    SetExpr::Values(v) => {
                        let scope = Scope::new(parent);
                        for row in &v.rows {
                            for e in &row.content {
                                self.expr(e, &scope, env)?;
                            }
                        }
                    }
                    SetExpr::Insert(st)
                    | SetExpr::Update(st)
                    | SetExpr::Delete(st)
                    | SetExpr::Merge(st) => self.statement(st, env)?,
                    SetExpr::Table(t) => table = self.table_body(t, env)?,
                    SetExpr::Select(_) => unreachable!("handled above"),
                }
                // ORDER BY/LIMIT of a set operation see only output columns;
                // a row lock (`TABLE t FOR UPDATE`, `(SELECT …) FOR UPDATE`)
                // locks the rows of what the body reads.
                if let Some(tail) = tail {
                    let mut scope = Scope::new(parent);
                    let source = table.unwrap_or_else(|| {
                        let mut s = Source::new(String::new(), SourceKind::Other(None));
                        s.bases = self.info.relations[before..]
                            .iter()
                            .filter(|r| r.access == Access::Read)
                            .map(|r| r.name.clone())
                            .collect();
                        s
                    });
                    scope.sources.push(source);
                    self.tail(tail, &scope, env)?;
                }
                Ok(())
            }
        }
    }

    /// `TABLE t`: every column of the relation, or a CTE reference. The
    /// relation is returned as the FROM item a row lock applies to.
    fn table_body(&mut self, t: &ast::Table, env: &Env) -> Result<Option<Source>, AnalysisError> {
        let Some(table) = &t.table_name else {
            return unsupported("TABLE without a name");
        };
        let mut name = Vec::new();
        if let Some(s) = &t.schema_name {
            name.push(s.clone());
        }
        name.push(table.clone());
        let obj = ObjectName::from(name);
        let folded = parts(&obj).unwrap_or_default();
        if folded.len() == 1 && env.has(&folded[0]) {
            self.cte_refs.insert(folded);
            return Ok(None);
        }
        let q = self.relation(&obj, Access::Read)?;
        self.occurrence(&q, Access::Read);
        self.column(&q, ColumnName::All, ColumnAccess::Read);
        Ok(Some(Source::new(q.name.clone(), SourceKind::Table(q))))
    }

    pub(super) fn tail(
        &mut self,
        tail: QueryTail<'_>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        if let Some(ob) = tail.order_by {
            self.visit_exprs(ob, scope, env)?;
        }
        if let Some(l) = tail.limit {
            self.visit_exprs(l, scope, env)?;
        }
        if let Some(f) = tail.fetch {
            self.visit_exprs(f, scope, env)?;
        }
        if !tail.locks.is_empty() {
            self.info.row_locks = true;
            for lock in tail.locks {
                match &lock.of {
                    Some(of) => {
                        let q = self.resolver.relation(of).map_err(|e| {
                            AnalysisError::Unsupported(format!("relation name {}", e.0))
                        })?;
                        let target = scope.sources.iter().find(|s| s.alias == q.name).cloned();
                        match target {
                            Some(Source {
                                kind: SourceKind::Table(t),
                                ..
                            }) => self.lock_relation(t),
                            Some(Source {
                                kind: SourceKind::Group(g),
                                ..
                            }) => g.into_iter().for_each(|t| self.lock_relation(t)),
                            Some(src) => src.bases.into_iter().for_each(|t| self.lock_relation(t)),
                            None => self.lock_relation(q),
                        }
                    }
                    None => {
                        let tables: Vec<QualifiedName> = scope
                            .sources
                            .iter()
                            .flat_map(|s| match &s.kind {
                                SourceKind::Table(t) => vec![t.clone()],
                                SourceKind::Group(g) => g.clone(),
                                SourceKind::Other(_) => s.bases.clone(),
                            })
                            .collect();
                        for t in tables {
                            self.lock_relation(t);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn lock_relation(&mut self, name: QualifiedName) {
        self.info.relations.push(RelationUse {
            name,
            access: Access::Lock,
        });
    }

    pub(super) fn select(
        &mut self,
        s: &Select,
        parent: Option<&Scope<'_>>,
        env: &Env,
        tail: Option<QueryTail<'_>>,
    ) -> Result<(), AnalysisError> {
        if s.top.is_some()
            || s.exclude.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || !s.optimizer_hints.is_empty()
            || s.select_modifiers.is_some()
        {
            return unsupported("this SELECT clause");
        }
        let mut scope = Scope::new(parent);
        for twj in &s.from {
            self.add_from_item(twj, &mut scope, env)?;
        }
        if let Some(into) = &s.into {
            // SELECT … INTO creates a table.
            self.info.class(Class::Ddl);
            for t in &into.targets {
                let name = match t {
                    Expr::Identifier(i) => ObjectName::from(vec![i.clone()]),
                    Expr::CompoundIdentifier(is) => ObjectName::from(is.clone()),
                    _ => return unsupported("SELECT INTO target"),
                };
                self.relation(&name, Access::Ddl)?;
            }
        }
        if let Some(ast::Distinct::On(exprs)) = &s.distinct {
            for e in exprs {
                self.expr(e, &scope, env)?;
            }
        }
        self.select_items(&s.projection, &scope, env)?;
        if let Some(w) = &s.selection {
            self.expr(w, &scope, env)?;
            self.pin(w, &scope);
        }
        self.visit_exprs(&s.group_by, &scope, env)?;
        if let Some(h) = &s.having {
            self.expr(h, &scope, env)?;
        }
        for w in &s.named_window {
            self.visit_exprs(w, &scope, env)?;
        }
        if let Some(tail) = tail {
            self.tail(tail, &scope, env)?;
        }
        Ok(())
    }

    pub(super) fn select_items(
        &mut self,
        items: &[SelectItem],
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e, scope, env)?
                }
                SelectItem::ExprWithAliases { expr, .. } => self.expr(expr, scope, env)?,
                SelectItem::Wildcard(opts) => {
                    if wildcard_has_options(opts) {
                        return unsupported("wildcard options");
                    }
                    for source in scope.sources.clone() {
                        self.whole_row(&source.kind);
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    if wildcard_has_options(opts) {
                        return unsupported("wildcard options");
                    }
                    match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                            self.qualified_wildcard(name, scope)?
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => {
                            self.expr(e, scope, env)?
                        }
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn qualified_wildcard(
        &mut self,
        name: &ObjectName,
        scope: &Scope<'_>,
    ) -> Result<(), AnalysisError> {
        let p =
            parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("wildcard {name}")))?;
        let found = match p.as_slice() {
            [alias] => scope
                .find_alias(alias)
                .cloned()
                .or_else(|| self.rule_source(alias))
                .map(|s| s.kind),
            _ => {
                let q = self
                    .resolver
                    .relation(name)
                    .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
                scope
                    .levels()
                    .flat_map(|l| l.sources.iter())
                    .find(|s| matches!(&s.kind, SourceKind::Table(t) if *t == q))
                    .map(|s| s.kind.clone())
            }
        };
        match found {
            Some(kind) => {
                self.whole_row(&kind);
                Ok(())
            }
            None => unsupported(format!("wildcard {name} that names no FROM item")),
        }
    }

    pub(super) fn whole_row(&mut self, kind: &SourceKind) {
        match kind {
            SourceKind::Table(t) => self.column(t, ColumnName::All, ColumnAccess::Read),
            SourceKind::Group(g) => {
                for t in g {
                    self.column(t, ColumnName::All, ColumnAccess::Read);
                }
            }
            SourceKind::Other(_) => {}
        }
    }
}
