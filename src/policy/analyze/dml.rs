//! INSERT, UPDATE, DELETE, MERGE and COPY: their targets, written columns
//! and values.

use super::super::names::{QualifiedName, fold};
use super::pins::{pin_value, strip_nested};
use super::scope::{Env, Scope, Source, SourceKind};
use super::{
    Access, AnalysisError, Class, ColumnAccess, ColumnName, CopyDirection, CopyEndpoint, CopyInfo,
    PinValue, RelationUse, Row, Walker, first_part, last_part, unsupported,
};
use sqlparser::ast::{self, Expr, ObjectName, SelectItem, SetExpr, TableFactor, TableWithJoins};

/// The columns an UPDATE … SET assigns, with their evident values.
pub(super) fn written_values(
    assignments: &[ast::Assignment],
) -> Result<Vec<(String, Option<PinValue>)>, AnalysisError> {
    let mut out = Vec::new();
    for a in assignments {
        match &a.target {
            ast::AssignmentTarget::ColumnName(n) => out.push((first_part(n)?, pin_value(&a.value))),
            // `SET a[1] = v` writes an element: the column's new value is not `v`.
            ast::AssignmentTarget::Subscripted { column, .. } => {
                out.push((first_part(column)?, None))
            }
            ast::AssignmentTarget::Tuple(ns) => {
                // (a, b) = (1, 2) or = (SELECT …): values by position when evident.
                let values: Vec<Option<PinValue>> = match strip_nested(&a.value) {
                    Expr::Tuple(es) if es.len() == ns.len() => es.iter().map(pin_value).collect(),
                    _ => vec![None; ns.len()],
                };
                for (n, v) in ns.iter().zip(values) {
                    out.push((first_part(n)?, v));
                }
            }
        }
    }
    Ok(out)
}

impl Walker<'_> {
    /// The rows of an INSERT … VALUES with their columns (by the column
    /// list, or the catalog's order for a positional INSERT).
    pub(super) fn insert_rows(
        &self,
        ins: &ast::Insert,
        target: &QualifiedName,
    ) -> Result<Option<Vec<Row>>, AnalysisError> {
        let Some(source) = &ins.source else {
            return Ok(None);
        };
        let SetExpr::Values(values) = source.body.as_ref() else {
            return Ok(None);
        };
        let columns: Vec<String> = if ins.columns.is_empty() {
            match self.resolver.catalog.and_then(|c| c.columns(target)) {
                Some(cols) if !cols.is_empty() => cols.to_vec(),
                _ => return Ok(None),
            }
        } else {
            ins.columns
                .iter()
                .map(first_part)
                .collect::<Result<_, _>>()?
        };
        // `(a[1], …)` writes an element of `a`: its value is not the column's.
        let whole = |i: usize| ins.column_indirection.get(i).is_none_or(Vec::is_empty);
        let mut rows = Vec::new();
        for row in &values.rows {
            if row.content.len() > columns.len() {
                return Ok(None);
            }
            rows.push(
                columns
                    .iter()
                    .zip(row.content.iter())
                    .enumerate()
                    .map(|(i, (c, e))| (c.clone(), if whole(i) { pin_value(e) } else { None }))
                    .collect(),
            );
        }
        Ok(Some(rows))
    }

    pub(super) fn insert(&mut self, ins: &ast::Insert, env: &Env) -> Result<(), AnalysisError> {
        if ins.or.is_some()
            || ins.ignore
            || ins.overwrite
            || ins.partitioned.is_some()
            || !ins.after_columns.is_empty()
            || ins.replace_into
            || ins.priority.is_some()
            || ins.insert_alias.is_some()
            || ins.settings.is_some()
            || ins.format_clause.is_some()
            || !ins.assignments.is_empty()
            || ins.output.is_some()
            || ins.multi_table_insert_type.is_some()
        {
            return unsupported("this form of INSERT");
        }
        self.info.class(Class::Insert);
        let ast::TableObject::TableName(name) = &ins.table else {
            return unsupported("INSERT into a table function");
        };
        let target = self.relation(name, Access::Insert)?;
        let insert_idx = self.occurrence(&target, Access::Insert);
        self.info.occurrences[insert_idx].rows = self.insert_rows(ins, &target)?;
        if ins.columns.is_empty() {
            self.column(&target, ColumnName::All, ColumnAccess::Write);
        }
        for c in &ins.columns {
            let col = first_part(c)?;
            self.column(&target, ColumnName::Named(col), ColumnAccess::Write);
        }
        // Subscripts of target columns see no table's columns.
        for indirection in &ins.column_indirection {
            self.indirection(indirection, &Scope::new(None), env)?;
        }
        if let Some(q) = &ins.source {
            self.query(q, None, env)?;
        }
        let alias = ins
            .table_alias
            .as_ref()
            .map(|a| fold(&a.alias))
            .unwrap_or_else(|| target.name.clone());
        let mut scope = Scope::new(None);
        scope
            .sources
            .push(Source::new(alias, SourceKind::Table(target.clone())));
        match &ins.on {
            None => {}
            Some(ast::OnInsert::OnConflict(oc)) => {
                self.conflict_target(&target, oc.conflict_target.as_ref(), &scope, env)?;
                if let ast::OnConflictAction::DoUpdate(du) = &oc.action {
                    self.info.class(Class::Update);
                    self.info.relations.push(RelationUse {
                        name: target.clone(),
                        access: Access::Update,
                    });
                    let idx = self.occurrence(&target, Access::Update);
                    scope.sources[0].occurrence = Some(idx);
                    scope.sources.push(Source::new(
                        "excluded".into(),
                        SourceKind::Table(target.clone()),
                    ));
                    self.assignments(&target, &du.assignments, &scope, env)?;
                    self.info.occurrences[idx].written = written_values(&du.assignments)?;
                    if let Some(w) = &du.selection {
                        self.expr(w, &scope, env)?;
                        self.pin(w, &scope);
                    }
                }
            }
            Some(_) => return unsupported("ON DUPLICATE KEY"),
        }
        if let Some(items) = &ins.returning {
            self.select_items(items, &scope, env)?;
        }
        Ok(())
    }

    /// The subscripts and field names after a target column (`a[i].f`):
    /// each subscript is an expression in `scope`; a field names no column.
    fn indirection(
        &mut self,
        indirection: &[ast::AccessExpr],
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        for access in indirection {
            match access {
                ast::AccessExpr::Subscript(s) => self.visit_exprs(s, scope, env)?,
                ast::AccessExpr::Dot(Expr::Identifier(_)) => {}
                ast::AccessExpr::Dot(_) => return unsupported("this field of a target column"),
            }
        }
        Ok(())
    }

    /// The arbiter of ON CONFLICT: columns, or index expressions and the
    /// index predicate, all over the target's columns.
    fn conflict_target(
        &mut self,
        target: &QualifiedName,
        conflict: Option<&ast::ConflictTarget>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let predicate = match conflict {
            None | Some(ast::ConflictTarget::OnConstraint(_)) => None,
            Some(ast::ConflictTarget::Columns { columns, predicate }) => {
                for c in columns {
                    self.column(target, ColumnName::Named(fold(c)), ColumnAccess::Read);
                }
                predicate.as_ref()
            }
            Some(ast::ConflictTarget::IndexElements {
                elements,
                predicate,
            }) => {
                for e in elements {
                    if e.column.with_fill.is_some() {
                        return unsupported("WITH FILL in ON CONFLICT");
                    }
                    self.expr(&e.column.expr, scope, env)?;
                }
                predicate.as_ref()
            }
        };
        match predicate {
            Some(p) => self.expr(p, scope, env),
            None => Ok(()),
        }
    }

    pub(super) fn assignments(
        &mut self,
        target: &QualifiedName,
        assignments: &[ast::Assignment],
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        for a in assignments {
            let names: Vec<&ObjectName> = match &a.target {
                ast::AssignmentTarget::ColumnName(n) => vec![n],
                ast::AssignmentTarget::Tuple(ns) => ns.iter().collect(),
                ast::AssignmentTarget::Subscripted {
                    column,
                    indirection,
                } => {
                    self.indirection(indirection, scope, env)?;
                    vec![column]
                }
            };
            for n in names {
                // `SET col.field = …` assigns to `col`.
                let col = first_part(n)?;
                self.column(target, ColumnName::Named(col), ColumnAccess::Write);
            }
            self.expr(&a.value, scope, env)?;
        }
        Ok(())
    }

    pub(super) fn update(&mut self, u: &ast::Update, env: &Env) -> Result<(), AnalysisError> {
        if u.on_cluster.is_some()
            || u.output.is_some()
            || u.or.is_some()
            || !u.order_by.is_empty()
            || u.limit.is_some()
            || u.settings.is_some()
            || !u.table.joins.is_empty()
        {
            return unsupported("this form of UPDATE");
        }
        self.info.class(Class::Update);
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &u.table.relation
        else {
            return unsupported("UPDATE of something other than a table");
        };
        let (target, occurrence, mut scope) = self.dml_target(name, alias, Access::Update)?;
        match &u.from {
            None => {}
            Some(ast::UpdateTableFromKind::AfterSet(from)) => {
                for twj in from {
                    self.add_from_item(twj, &mut scope, env)?;
                }
            }
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return unsupported("UPDATE FROM … SET");
            }
        }
        self.assignments(&target, &u.assignments, &scope, env)?;
        self.info.occurrences[occurrence].written = written_values(&u.assignments)?;
        self.dml_tail(u.selection.as_ref(), u.returning.as_deref(), &scope, env)
    }

    pub(super) fn delete(&mut self, d: &ast::Delete, env: &Env) -> Result<(), AnalysisError> {
        if !d.tables.is_empty()
            || d.on_cluster.is_some()
            || d.output.is_some()
            || !d.order_by.is_empty()
            || d.limit.is_some()
            || d.settings.is_some()
        {
            return unsupported("this form of DELETE");
        }
        self.info.class(Class::Delete);
        let ast::FromTable::WithFromKeyword(from) = &d.from else {
            return unsupported("DELETE without FROM");
        };
        let [target_item] = from.as_slice() else {
            return unsupported("DELETE from several tables");
        };
        if !target_item.joins.is_empty() {
            return unsupported("DELETE from a join");
        }
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &target_item.relation
        else {
            return unsupported("DELETE from something other than a table");
        };
        let (_, _, mut scope) = self.dml_target(name, alias, Access::Delete)?;
        if let Some(using) = &d.using {
            for twj in using {
                self.add_from_item(twj, &mut scope, env)?;
            }
        }
        self.dml_tail(d.selection.as_ref(), d.returning.as_deref(), &scope, env)
    }

    /// The target of an UPDATE or DELETE: the relation, its use, and a
    /// scope holding it under its alias.
    pub(super) fn dml_target(
        &mut self,
        name: &ObjectName,
        alias: &Option<ast::TableAlias>,
        access: Access,
    ) -> Result<(QualifiedName, usize, Scope<'static>), AnalysisError> {
        let target = self.relation(name, access)?;
        let occurrence = self.occurrence(&target, access);
        let mut source = Source::new(
            alias
                .as_ref()
                .map(|a| fold(&a.name))
                .unwrap_or_else(|| target.name.clone()),
            SourceKind::Table(target.clone()),
        );
        source.occurrence = Some(occurrence);
        let mut scope = Scope::new(None);
        scope.sources.push(source);
        Ok((target, occurrence, scope))
    }

    /// WHERE (pinning the target's scope) and RETURNING of UPDATE/DELETE.
    pub(super) fn dml_tail(
        &mut self,
        selection: Option<&Expr>,
        returning: Option<&[SelectItem]>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        match selection {
            Some(w) => {
                self.expr(w, scope, env)?;
                self.pin(w, scope);
            }
            None => self.info.missing_where = true,
        }
        if let Some(items) = returning {
            self.select_items(items, scope, env)?;
        }
        Ok(())
    }

    /// `COPY table FROM … WHERE condition`: the condition is evaluated on
    /// each incoming row, its columns the table's; walked like any
    /// expression (a function in it is a call).
    pub(super) fn copy_where(
        &mut self,
        source: &ast::CopySource,
        condition: &Expr,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let ast::CopySource::Table { table_name, .. } = source else {
            return unsupported("COPY (query) … WHERE");
        };
        let target = self
            .resolver
            .relation(table_name)
            .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
        let mut scope = Scope::new(None);
        scope.sources.push(Source::new(
            target.name.clone(),
            SourceKind::Table(target.clone()),
        ));
        self.expr(condition, &scope, env)
    }

    pub(super) fn merge(&mut self, m: &ast::Merge, env: &Env) -> Result<(), AnalysisError> {
        if m.output.is_some() {
            return unsupported("MERGE … OUTPUT");
        }
        self.info.class(Class::Merge);
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &m.table
        else {
            return unsupported("MERGE into something other than a table");
        };
        let target = self
            .resolver
            .relation(name)
            .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
        let mut scope = Scope::new(None);
        scope.sources.push(Source::new(
            alias
                .as_ref()
                .map(|a| fold(&a.name))
                .unwrap_or_else(|| target.name.clone()),
            SourceKind::Table(target.clone()),
        ));
        self.info.relations.push(RelationUse {
            name: target.clone(),
            access: Access::Read,
        });
        let source = TableWithJoins {
            relation: m.source.clone(),
            joins: vec![],
        };
        self.add_from_item(&source, &mut scope, env)?;
        self.expr(&m.on, &scope, env)?;
        for clause in &m.clauses {
            if let Some(p) = &clause.predicate {
                self.expr(p, &scope, env)?;
            }
            let access = match &clause.action {
                ast::MergeAction::Insert(ins) => {
                    self.info.class(Class::Insert);
                    if ins.columns.is_empty() {
                        self.column(&target, ColumnName::All, ColumnAccess::Write);
                    }
                    for c in &ins.columns {
                        self.column(
                            &target,
                            ColumnName::Named(last_part(c)?),
                            ColumnAccess::Write,
                        );
                    }
                    if let ast::MergeInsertKind::Values(v) = &ins.kind {
                        for row in &v.rows {
                            for e in &row.content {
                                self.expr(e, &scope, env)?;
                            }
                        }
                    }
                    if ins.insert_predicate.is_some() {
                        return unsupported("MERGE INSERT predicate");
                    }
                    Access::Insert
                }
                ast::MergeAction::Update(up) => {
                    self.info.class(Class::Update);
                    if up.update_predicate.is_some() || up.delete_predicate.is_some() {
                        return unsupported("MERGE UPDATE predicates");
                    }
                    let ast::MergeUpdateKind::Set(assignments) = &up.kind else {
                        return unsupported("MERGE UPDATE *");
                    };
                    self.assignments(&target, assignments, &scope, env)?;
                    Access::Update
                }
                ast::MergeAction::Delete { .. } => {
                    self.info.class(Class::Delete);
                    Access::Delete
                }
                ast::MergeAction::DoNothing { .. } => continue,
            };
            self.info.relations.push(RelationUse {
                name: target.clone(),
                access,
            });
            self.occurrence(&target, access);
        }
        Ok(())
    }

    pub(super) fn copy(
        &mut self,
        source: &ast::CopySource,
        to: bool,
        target: &ast::CopyTarget,
        payload: bool,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.info.class(Class::Copy);
        let endpoint = match target {
            ast::CopyTarget::Stdin | ast::CopyTarget::Stdout => CopyEndpoint::Client,
            ast::CopyTarget::File { .. } => CopyEndpoint::File,
            ast::CopyTarget::Program { .. } => CopyEndpoint::Program,
        };
        self.info.copy = Some(CopyInfo {
            direction: if to {
                CopyDirection::To
            } else {
                CopyDirection::From
            },
            endpoint,
            inline_payload: payload,
        });
        // COPY … TO STDOUT is a read, judged as one; COPY … FROM STDIN
        // stays a write of its own class.
        if to && endpoint == CopyEndpoint::Client && !payload {
            self.info.wrapper(Class::Copy);
        }
        match source {
            ast::CopySource::Table {
                table_name,
                columns,
            } => {
                let (access, col_access) = if to {
                    self.info.class(Class::Read);
                    (Access::Read, ColumnAccess::Read)
                } else {
                    (Access::Insert, ColumnAccess::Write)
                };
                let t = self.relation(table_name, access)?;
                self.occurrence(&t, access);
                if columns.is_empty() {
                    self.column(&t, ColumnName::All, col_access);
                }
                for c in columns {
                    self.column(&t, ColumnName::Named(fold(c)), col_access);
                }
                Ok(())
            }
            ast::CopySource::Query(q) => {
                if !to {
                    return unsupported("COPY (query) FROM");
                }
                self.info.class(Class::Read);
                self.query(q, None, env)
            }
        }
    }
}
