//! DDL on objects that belong to a relation or name one: rules, triggers,
//! policies, comments, sequences, foreign tables, ALTER VIEW/INDEX, and
//! the operator objects (operators, families, classes).
//!
//! Every relation such a statement names is recorded with
//! [`Access::Ddl`]; what a rule's action or a policy's expression reads or
//! writes is walked like any query, so a denied table cannot hide in it.

use super::super::names::parts;
use super::scope::{Env, Scope, Source, SourceKind};
use super::{Access, AnalysisError, Class, Walker, unsupported};
use sqlparser::ast::{self, CommentObject, CreateRuleAction, ObjectName, Statement};

impl Walker<'_> {
    /// Rules, triggers, ALTER VIEW/INDEX, foreign tables, sequences and
    /// comments (then [`Self::catalog_object_ddl`]); answers whether `st`
    /// is one of the statements of this file.
    pub(super) fn object_ddl(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::CreateRule(r) => self.create_rule(r, env)?,
            Statement::DropRule(r) => {
                self.info.class(Class::Ddl);
                self.relation(&r.table_name, Access::Ddl)?;
            }
            Statement::CreateTrigger(t) => {
                self.info.class(Class::Ddl);
                self.relation(&t.table_name, Access::Ddl)?;
                if let Some(r) = &t.referenced_table_name {
                    self.relation(r, Access::Ddl)?;
                }
                // The function the trigger runs (not an expression: the
                // function collector does not see it).
                if let Some(body) = &t.exec_body {
                    self.function(&body.func_desc.name)?;
                }
                if t.statements.is_some() {
                    return unsupported("a trigger with a statement body");
                }
                self.ddl_functions(st)?;
            }
            Statement::DropTrigger(t) => {
                self.info.class(Class::Ddl);
                match &t.table_name {
                    Some(table) => {
                        self.relation(table, Access::Ddl)?;
                    }
                    None => return unsupported("DROP TRIGGER without ON table"),
                }
            }
            Statement::AlterTrigger(t) => {
                self.info.class(Class::Ddl);
                self.relation(&t.table_name, Access::Ddl)?;
            }
            Statement::AlterView(v) => {
                self.info.class(Class::Ddl);
                self.relation(&v.name, Access::Ddl)?;
                if let ast::AlterViewOperation::As { query, .. } = &v.operation {
                    self.query(query, None, env)?;
                }
                self.ddl_functions(st)?;
            }
            Statement::AlterIndex {
                name, operation, ..
            } => {
                self.info.class(Class::Ddl);
                self.relation(name, Access::Ddl)?;
                if let ast::AlterIndexOperation::AttachPartition { partition } = operation {
                    self.relation(partition, Access::Ddl)?;
                }
                self.ddl_functions(st)?;
            }
            Statement::CreateForeignTable(ft) => {
                self.info.class(Class::Ddl);
                self.relation(&ft.name, Access::Ddl)?;
                for parent in ft.partition_of.iter().chain(ft.inherits.iter().flatten()) {
                    self.relation(parent, Access::Ddl)?;
                }
                self.ddl_functions(st)?;
            }
            Statement::CreateSequence {
                name,
                sequence_options,
                ..
            } => {
                self.info.class(Class::Ddl);
                self.relation(name, Access::Ddl)?;
                for o in sequence_options {
                    if let ast::SequenceOptions::OwnedBy(Some(column)) = o {
                        self.column_owner(column)?;
                    }
                }
                self.ddl_functions(st)?;
            }
            Statement::Comment {
                object_type,
                object_name,
                on_table,
                ..
            } => {
                self.comment(*object_type, object_name)?;
                if let Some(on) = on_table {
                    self.relation(&on.table, Access::Ddl)?;
                }
            }
            _ => return self.catalog_object_ddl(st, env),
        }
        Ok(true)
    }

    /// Policies, extended statistics, publications, ALTER SEQUENCE and
    /// operators; answers whether `st` is one of them.
    fn catalog_object_ddl(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::CreatePolicy(ast::CreatePolicy {
                table_name,
                using,
                with_check,
                ..
            }) => self.policy(table_name, using.as_ref(), with_check.as_ref(), env)?,
            Statement::AlterPolicy(ast::AlterPolicy {
                table_name,
                operation,
                ..
            }) => match operation {
                ast::AlterPolicyOperation::Apply {
                    using, with_check, ..
                } => self.policy(table_name, using.as_ref(), with_check.as_ref(), env)?,
                ast::AlterPolicyOperation::Rename { .. } => {
                    self.policy(table_name, None, None, env)?
                }
            },
            // An extended statistics object lives in a schema beside the
            // table it describes: DDL on the table, and on the object's own
            // name (as a relation name: only a rule covering that name
            // allows it).
            Statement::CreateStatistics(cs) => {
                self.info.class(Class::Ddl);
                let table = self.relation(&cs.table, Access::Ddl)?;
                if let Some(name) = &cs.name {
                    self.relation(name, Access::Ddl)?;
                }
                let mut scope = Scope::new(None);
                scope
                    .sources
                    .push(Source::new(table.name.clone(), SourceKind::Table(table)));
                for e in &cs.exprs {
                    self.expr(e, &scope, env)?;
                }
            }
            Statement::AlterSequence(a) => {
                self.info.class(Class::Ddl);
                self.relation(&a.name, Access::Ddl)?;
                if let ast::AlterSequenceOperation::Options { options, .. } = &a.operation {
                    for o in options {
                        if let ast::SequenceOptions::OwnedBy(Some(column)) = o {
                            self.column_owner(column)?;
                        }
                    }
                }
                self.ddl_functions(st)?;
            }
            Statement::AlterStatistics(a) => {
                self.info.class(Class::Ddl);
                self.relation(&a.name, Access::Ddl)?;
                self.ddl_functions(st)?;
            }
            // A publication streams its tables' rows to any subscriber:
            // database-wide replication, never for an agent. Its tables
            // and row filters are recorded all the same.
            Statement::CreatePublication(ast::CreatePublication { objects, .. })
            | Statement::AlterPublication(ast::AlterPublication {
                operation: ast::AlterPgObjectOperation::Objects { objects, .. },
                ..
            }) => {
                self.info.class(Class::Ddl);
                self.info.cluster_level = true;
                for o in objects {
                    match o {
                        ast::PublicationObject::Table { name, filter, .. } => {
                            let table = self.relation(name, Access::Ddl)?;
                            if let Some(f) = filter {
                                let mut scope = Scope::new(None);
                                scope.sources.push(Source::new(
                                    table.name.clone(),
                                    SourceKind::Table(table),
                                ));
                                self.expr(f, &scope, env)?;
                            }
                        }
                        ast::PublicationObject::Schema { .. } => {}
                    }
                }
            }
            Statement::AlterPublication(_) => {
                self.info.class(Class::Ddl);
                self.info.cluster_level = true;
                self.ddl_functions(st)?;
            }
            // Operators and their families and classes: schema objects that
            // name functions and types, never a relation.
            Statement::CreateOperator(op) => {
                self.info.class(Class::Ddl);
                self.function(&op.function)?;
                self.ddl_functions(st)?;
            }
            Statement::CreateOperatorFamily(_)
            | Statement::CreateOperatorClass(_)
            | Statement::AlterOperator(_)
            | Statement::AlterOperatorFamily(_)
            | Statement::AlterOperatorClass(_)
            | Statement::DropOperator(_)
            | Statement::DropOperatorFamily(_)
            | Statement::DropOperatorClass(_) => {
                self.info.class(Class::Ddl);
                self.ddl_functions(st)?;
            }
            _ => return self.type_attribute_ddl(st),
        }
        Ok(true)
    }

    /// `ALTER TYPE` on a composite type's attributes; answers whether `st`
    /// is one.
    fn type_attribute_ddl(&mut self, st: &Statement) -> Result<bool, AnalysisError> {
        match st {
            // A composite type's attributes: PostgreSQL alters the type as
            // it alters a table (`AlterTableStmt`), so the type is DDL on a
            // relation of its name.
            Statement::AlterType(ast::AlterType {
                name,
                operation:
                    ast::AlterTypeOperation::Attributes(_)
                    | ast::AlterTypeOperation::RenameAttribute { .. },
            }) => {
                self.info.class(Class::Ddl);
                self.relation(name, Access::Ddl)?;
                self.ddl_functions(st)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `CREATE RULE … ON event TO table [WHERE cond] DO [ALSO|INSTEAD]
    /// action`: DDL on the table; the condition and the action run (as the
    /// table's owner) whenever the event fires, so what they read and write
    /// is recorded as if the agent ran them, with `NEW` and `OLD` naming
    /// the table's rows.
    fn create_rule(&mut self, r: &ast::CreateRule, env: &Env) -> Result<(), AnalysisError> {
        self.info.class(Class::Ddl);
        let table = self.relation(&r.table_name, Access::Ddl)?;
        let saved = self.rule_table.replace(table);
        let result = (|| {
            if let Some(cond) = &r.condition {
                self.expr(cond, &Scope::new(None), env)?;
            }
            let actions: &[Statement] = match &r.action {
                CreateRuleAction::Nothing => &[],
                CreateRuleAction::Statement(s) => std::slice::from_ref(&**s),
                CreateRuleAction::Statements(s) => s,
            };
            for a in actions {
                if !matches!(
                    a,
                    Statement::Query(_)
                        | Statement::Insert(_)
                        | Statement::Update(_)
                        | Statement::Delete(_)
                        | Statement::NOTIFY { .. }
                ) {
                    return unsupported("this rule action");
                }
                self.statement_classes(a, env)?;
            }
            Ok(())
        })();
        self.rule_table = saved;
        result
    }

    /// The `NEW` or `OLD` row of the rule being walked, as a FROM item.
    pub(super) fn rule_source(&self, alias: &str) -> Option<Source> {
        let table = self.rule_table.as_ref()?;
        matches!(alias, "new" | "old")
            .then(|| Source::new(alias.to_owned(), SourceKind::Table(table.clone())))
    }

    /// `CREATE/ALTER POLICY … ON table USING (…) WITH CHECK (…)`: DDL on
    /// the table; the expressions see the table's columns, and a subquery
    /// in them reads its tables.
    fn policy(
        &mut self,
        table_name: &ObjectName,
        using: Option<&ast::Expr>,
        with_check: Option<&ast::Expr>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.info.class(Class::Dcl);
        let table = self.relation(table_name, Access::Ddl)?;
        let mut scope = Scope::new(None);
        scope
            .sources
            .push(Source::new(table.name.clone(), SourceKind::Table(table)));
        for e in using.into_iter().chain(with_check) {
            self.expr(e, &scope, env)?;
        }
        Ok(())
    }

    /// `OWNED BY table.column`: DDL on the table (`OWNED BY NONE` is no
    /// name).
    fn column_owner(&mut self, column: &ObjectName) -> Result<(), AnalysisError> {
        let mut table = column.clone();
        if table.0.len() < 2 {
            return match parts(column).as_deref() {
                Some([none]) if none == "none" => Ok(()),
                _ => unsupported(format!("column name {column}")),
            };
        }
        table.0.pop();
        self.relation(&table, Access::Ddl).map(|_| ())
    }

    /// `COMMENT ON kind name IS …`: DDL on the object.
    fn comment(&mut self, kind: CommentObject, name: &ObjectName) -> Result<(), AnalysisError> {
        use CommentObject as C;
        self.info.class(Class::Ddl);
        match kind {
            C::Table | C::View | C::MaterializedView | C::ForeignTable | C::Index | C::Sequence => {
                self.relation(name, Access::Ddl)?;
            }
            C::Column => {
                let mut table = name.clone();
                if table.0.len() < 2 {
                    return unsupported(format!("column name {name}"));
                }
                table.0.pop();
                self.relation(&table, Access::Ddl)?;
            }
            C::Schema => self.schema_object(name)?,
            // Objects of the whole database or cluster, outside any schema.
            C::Database
            | C::Role
            | C::User
            | C::Extension
            | C::EventTrigger
            | C::ForeignDataWrapper
            | C::Server
            | C::LargeObject
            | C::Publication
            | C::Subscription => self.info.cluster_level = true,
            // Named by the object's own schema-qualified name, like a relation.
            C::Statistics => {
                self.relation(name, Access::Ddl)?;
            }
            // The table (`… ON table`) is recorded by the caller.
            C::Constraint | C::Trigger | C::Rule | C::Policy => {}
            // Schema objects named by their name (and argument types, or a
            // domain constraint's domain: a type, never a relation).
            C::Collation
            | C::Domain
            | C::Function
            | C::Procedure
            | C::Type
            | C::Conversion
            | C::Aggregate
            | C::Operator => {}
        }
        Ok(())
    }
}
