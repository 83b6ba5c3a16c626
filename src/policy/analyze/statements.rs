//! The walk of one statement: its classes, and the handler for each kind.

use super::super::names::fold;
use super::cross_check::FunctionCollector;
use super::scope::{Env, Scope};
use super::settings::normalise_setting;
use super::settings::setting_name;
use super::{
    Access, AnalysisError, Class, CursorRef, PreparedRef, SettingAction, SettingUse,
    TransactionControl, Walker, returns_rows, statement_kind, unsupported,
};
use sqlparser::ast::{self, Expr, Statement, Visit};

/// Whether an EXPLAIN runs its statement: `ANALYZE`, or an `ANALYZE`
/// option that is not explicitly false.
pub(super) fn explain_runs(analyze: bool, options: Option<&[ast::UtilityOption]>) -> bool {
    analyze
        || options.unwrap_or_default().iter().any(|o| {
            o.name.value.eq_ignore_ascii_case("analyze")
                && !o.arg.as_ref().is_some_and(|a| {
                    let text = match a {
                        Expr::Value(v) => match &v.value {
                            ast::Value::Boolean(b) => b.to_string(),
                            ast::Value::Number(n, _) => n.clone(),
                            ast::Value::SingleQuotedString(s) => s.clone(),
                            _ => return false,
                        },
                        Expr::Identifier(i) => i.value.clone(),
                        _ => return false,
                    };
                    matches!(
                        text.to_ascii_lowercase().as_str(),
                        "false" | "off" | "0" | "no"
                    )
                })
        })
}

/// The statements PostgreSQL's PREPARE accepts.
pub(super) fn preparable(st: &Statement) -> bool {
    matches!(
        st,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
    )
}

impl Walker<'_> {
    pub(super) fn statement(&mut self, st: &Statement, env: &Env) -> Result<(), AnalysisError> {
        self.statement_classes(st, env)?;
        // After the statement's own class, which stays its primary one.
        if super::super::ownership::hands_over(st) {
            self.info.class(Class::Ownership);
        }
        Ok(())
    }

    /// The statement's classes and what it touches. Each group below
    /// handles its own statement kinds and answers whether `st` is one of
    /// them; a kind no group handles is unsupported.
    pub(super) fn statement_classes(
        &mut self,
        st: &Statement,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let handled = self.data_statement(st, env)?
            || self.wrapper_statement(st, env)?
            || self.cursor_statement(st, env)?
            || self.session_statement(st, env)?
            || self.maintenance_statement(st)?
            || self.privilege_statement(st)?
            || self.object_ddl(st, env)?
            || self.relation_ddl(st, env)?
            || self.other_ddl(st, env)?;
        if handled {
            Ok(())
        } else {
            unsupported(statement_kind(st))
        }
    }

    /// Queries and the statements that read or write rows: SELECT, INSERT,
    /// UPDATE, DELETE, MERGE, TRUNCATE, COPY and CALL.
    fn data_statement(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::Query(q) => {
                self.info.class(Class::Read);
                self.query(q, None, env)
            }
            Statement::Insert(ins) => self.insert(ins, env),
            Statement::Update(u) => self.update(u, env),
            Statement::Delete(d) => self.delete(d, env),
            Statement::Merge(m) => self.merge(m, env),
            Statement::Truncate(t) => {
                self.info.class(Class::Truncate);
                for target in &t.table_names {
                    self.relation(&target.name, Access::Truncate)?;
                }
                Ok(())
            }
            Statement::Copy {
                source,
                to,
                target,
                payload,
                where_clause,
                ..
            } => {
                self.copy(source, *to, target, payload.is_some(), env)?;
                match where_clause {
                    Some(condition) => self.copy_where(source, condition, env),
                    None => Ok(()),
                }
            }
            Statement::Call(f) => {
                self.info.class(Class::Call);
                self.function(&f.name)?;
                let scope = Scope::new(None);
                self.function_args(&f.args, &scope, env)
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// EXPLAIN, PREPARE, EXECUTE and DEALLOCATE: statements that wrap, run or
    /// drop another statement.
    fn wrapper_statement(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::Explain {
                analyze,
                statement,
                options,
                ..
            } => {
                self.info.class(Class::Explain);
                // EXPLAIN ANALYZE runs the statement: its class stays one
                // the agent must have.
                if !explain_runs(*analyze, options.as_deref()) {
                    self.info.wrapper(Class::Explain);
                }
                self.statement(statement, env)
            }
            Statement::Prepare {
                name, statement, ..
            } => {
                self.info.class(Class::Prepare);
                self.info.prepared.push(PreparedRef::Prepare(fold(name)));
                if preparable(statement) {
                    self.info.wrapper(Class::Prepare);
                    self.info.deferred_rows = returns_rows(statement);
                }
                self.statement(statement, env)
            }
            Statement::Execute {
                name,
                parameters,
                immediate,
                into,
                using,
                output,
                default,
                ..
            } => {
                if *immediate || !into.is_empty() || !using.is_empty() || *output || *default {
                    return unsupported("this form of EXECUTE");
                }
                self.info.class(Class::Execute);
                // Runs a statement judged when it was prepared.
                self.info.wrapper(Class::Execute);
                self.execute_prepared(name.as_ref(), parameters, env)
            }
            Statement::Deallocate { name, .. } => {
                self.info.class(Class::Deallocate);
                self.info.housekeeping = true;
                let n = fold(name);
                self.info.prepared.push(PreparedRef::Deallocate(
                    (!(name.quote_style.is_none() && n == "all")).then_some(n),
                ));
                Ok(())
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// DECLARE, FETCH and CLOSE.
    fn cursor_statement(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::Declare { stmts, .. } => {
                self.info.class(Class::Cursor);
                for d in stmts {
                    if let Some(q) = &d.for_query {
                        self.info.class(Class::Read);
                        self.info.wrapper(Class::Cursor);
                        self.info.deferred_rows = true;
                        self.query(q, None, env)?;
                    }
                }
                if let [d] = stmts.as_slice()
                    && let [name] = d.names.as_slice()
                {
                    self.info.cursor = Some(CursorRef::Declare {
                        name: fold(name),
                        scroll: d.scroll == Some(true),
                        hold: d.hold == Some(true),
                    });
                }
                Ok(())
            }
            Statement::Fetch { into, .. } => {
                if into.is_some() {
                    return unsupported("FETCH … INTO");
                }
                // Reads a cursor whose query was judged at DECLARE.
                self.info.class(Class::Cursor);
                self.info.wrapper(Class::Cursor);
                Ok(())
            }
            Statement::Close { cursor } => {
                self.info.class(Class::Cursor);
                self.info.housekeeping = true;
                self.info.cursor = Some(CursorRef::Close(match cursor {
                    ast::CloseCursor::All => None,
                    ast::CloseCursor::Specific { name } => Some(fold(name)),
                }));
                Ok(())
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// Transaction control, settings (SET, RESET, SHOW, DISCARD) and
    /// LISTEN/UNLISTEN/NOTIFY.
    fn session_statement(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => {
                self.info.class(Class::Transaction);
                self.info.transaction = Some(match st {
                    Statement::StartTransaction { .. } => TransactionControl::Begin,
                    Statement::Commit { chain: false, .. } => TransactionControl::Commit,
                    _ => TransactionControl::Other,
                });
                Ok(())
            }
            Statement::Set(set) => self.set(set, env),
            Statement::Reset(r) => {
                self.info.class(Class::Session);
                let name = match &r.reset {
                    ast::Reset::ALL => "all".to_owned(),
                    ast::Reset::SessionAuthorization => "session_authorization".to_owned(),
                    ast::Reset::ConfigurationParameter(n) => setting_name(n)?,
                };
                self.info.settings.push(SettingUse {
                    name,
                    action: SettingAction::Reset,
                });
                Ok(())
            }
            Statement::ShowVariable { variable } => {
                self.info.class(Class::Session);
                let words: Vec<String> = variable
                    .iter()
                    .map(|i| i.value.to_ascii_lowercase())
                    .collect();
                let spaced = words.join(" ");
                // Multi-word forms are SQL-standard spellings; any other
                // multi-part name is a dotted custom setting.
                let name = match spaced.as_str() {
                    "time zone" | "transaction isolation level" | "session authorization" => {
                        normalise_setting(&spaced)
                    }
                    _ => words.join("."),
                };
                self.info.settings.push(SettingUse {
                    name,
                    action: SettingAction::Show,
                });
                Ok(())
            }
            Statement::Discard { object_type } => {
                self.info.class(Class::Session);
                self.info.settings.push(SettingUse {
                    name: object_type.to_string().to_ascii_lowercase(),
                    action: SettingAction::Discard,
                });
                Ok(())
            }
            Statement::LISTEN { .. } => {
                self.info.class(Class::Listen);
                Ok(())
            }
            Statement::UNLISTEN { .. } => {
                self.info.class(Class::Listen);
                self.info.housekeeping = true;
                Ok(())
            }
            Statement::NOTIFY { .. } => {
                self.info.class(Class::Notify);
                Ok(())
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// GRANT and REVOKE, roles, default privileges and row-level security
    /// policies.
    fn privilege_statement(&mut self, st: &Statement) -> Result<bool, AnalysisError> {
        match st {
            Statement::Grant(_) | Statement::Revoke(_) => {
                self.info.class(Class::Dcl);
                self.ddl_functions(st)
            }
            Statement::AlterDefaultPrivileges(_) => {
                self.info.class(Class::Dcl);
                self.info.class(Class::Roles);
                self.ddl_functions(st)
            }
            Statement::GrantRole(_)
            | Statement::RevokeRole(_)
            | Statement::CreateRole(_)
            | Statement::AlterRole { .. }
            | Statement::CreateUser(_)
            | Statement::AlterUser(_) => {
                self.info.class(Class::Roles);
                self.ddl_functions(st)
            }
            Statement::DropPolicy(ast::DropPolicy { table_name, .. }) => {
                self.info.class(Class::Dcl);
                self.relation(table_name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// DDL on relations: CREATE TABLE/VIEW/INDEX, ALTER TABLE and DROP.
    fn relation_ddl(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::CreateTable(ct) => self.create_table(ct, st, env),
            Statement::CreateView(v) => {
                self.info.class(Class::Ddl);
                self.relation(&v.name, Access::Ddl)?;
                self.query(&v.query, None, env)?;
                self.ddl_functions(st)
            }
            // Rewrites the view's rows with its stored query (run as the
            // view's owner); PostgreSQL requires owning the view: DDL.
            Statement::RefreshMaterializedView(r) => {
                self.info.class(Class::Ddl);
                self.relation(&r.name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            Statement::CreateIndex(ci) => {
                self.info.class(Class::Ddl);
                self.relation(&ci.table_name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            Statement::AlterTable(at) => {
                use ast::AlterTableOperation as Op;
                self.info.class(Class::Ddl);
                let table = self.relation(&at.name, Access::Ddl)?;
                // Another table joins or leaves this one's hierarchy: its
                // rows become (or stop being) rows of this table.
                for op in &at.operations {
                    match op {
                        Op::AttachPartitionOf { partition, .. }
                        | Op::DetachPartitionOf { partition, .. }
                        | Op::Inherit { parent: partition }
                        | Op::NoInherit { parent: partition }
                        | Op::ClusterOn { index: partition } => {
                            self.relation(partition, Access::Ddl)?;
                        }
                        Op::RenameTable { table_name } => {
                            let (ast::RenameTableNameKind::To(new)
                            | ast::RenameTableNameKind::As(new)) = table_name;
                            self.renamed_to(&table, new)?;
                        }
                        Op::AddConstraint { constraint, .. } => {
                            self.referenced_tables([], [constraint])?;
                        }
                        Op::AddColumn { column_def, .. } => {
                            self.referenced_tables([column_def], [])?;
                        }
                        _ => {}
                    }
                }
                self.ddl_functions(st)
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                use ast::ObjectType as O;
                if matches!(object_type, O::Role | O::User | O::Group) {
                    self.info.class(Class::Roles);
                    return Ok(true);
                }
                self.info.class(Class::Ddl);
                match object_type {
                    O::Table
                    | O::View
                    | O::MaterializedView
                    | O::ForeignTable
                    | O::Index
                    | O::Sequence
                    | O::Type
                    | O::Statistics
                    | O::Collation => {
                        for n in names {
                            self.relation(n, Access::Ddl)?;
                        }
                    }
                    O::Schema => {
                        for n in names {
                            self.schema_object(n)?;
                        }
                    }
                    _ => self.info.cluster_level = true,
                }
                Ok(())
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// DDL on schemas, cluster-wide objects (databases, extensions, servers,
    /// …) and every other kind of object.
    fn other_ddl(&mut self, st: &Statement, env: &Env) -> Result<bool, AnalysisError> {
        match st {
            Statement::CreateSchema {
                schema_name,
                elements,
                ..
            } => {
                self.info.class(Class::Ddl);
                match schema_name {
                    ast::SchemaName::Simple(n) | ast::SchemaName::NamedAuthorization(n, _) => {
                        self.schema_object(n)?
                    }
                    ast::SchemaName::UnnamedAuthorization(_) => self.info.cluster_level = true,
                }
                // Each element is judged as the statement it is (its
                // unqualified names resolve on the search path here, where
                // PostgreSQL would create them in the new schema: one more
                // relation to be allowed, never one less).
                for e in elements {
                    if !matches!(
                        e,
                        Statement::CreateTable(_)
                            | Statement::CreateView(_)
                            | Statement::CreateIndex(_)
                            | Statement::CreateSequence { .. }
                            | Statement::CreateTrigger(_)
                            | Statement::Grant(_)
                    ) {
                        return unsupported("this schema element");
                    }
                    self.statement(e, env)?;
                }
                Ok(())
            }
            Statement::CreateDatabase { .. }
            | Statement::CreateExtension(_)
            | Statement::DropExtension(_)
            | Statement::CreateServer(_)
            | Statement::CreateForeignDataWrapper(_)
            | Statement::CreateUserMapping(_) => {
                self.info.class(Class::Ddl);
                self.info.cluster_level = true;
                Ok(())
            }
            Statement::CreateFunction(cf) => {
                self.info.class(Class::Ddl);
                self.routine_body(cf, env)?;
                self.ddl_functions(st)
            }
            Statement::CreateProcedure { .. }
            | Statement::DropFunction(_)
            | Statement::DropProcedure { .. }
            | Statement::CreateType { .. }
            | Statement::CreateDomain(_)
            | Statement::DropDomain(_)
            | Statement::AlterSchema(_)
            | Statement::AlterType(_)
            | Statement::AlterFunction(_)
            | Statement::CreateAggregate(_)
            | Statement::CreateCollation(_)
            | Statement::CreateTextSearch(_)
            | Statement::AlterTextSearch(_)
            | Statement::AlterCollation(_)
            | Statement::AlterDomain(_) => {
                self.info.class(Class::Ddl);
                self.ddl_functions(st)
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }

    /// DDL carries expressions (defaults, checks, index expressions): the
    /// class gate decides, but functions in them are still recorded.
    pub(super) fn ddl_functions(&mut self, st: &Statement) -> Result<(), AnalysisError> {
        let mut v = FunctionCollector::default();
        let _ = st.visit(&mut v);
        for f in v.found {
            self.function(&f)?;
        }
        Ok(())
    }
}
