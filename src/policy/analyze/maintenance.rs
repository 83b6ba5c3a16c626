//! Maintenance statements: ANALYZE, VACUUM, REINDEX, CLUSTER and LOCK.

use super::{Access, AnalysisError, Class, Walker, unsupported};
use sqlparser::ast::{self, Statement};

impl Walker<'_> {
    /// ANALYZE, VACUUM, REINDEX, CLUSTER and LOCK.
    pub(super) fn maintenance_statement(&mut self, st: &Statement) -> Result<bool, AnalysisError> {
        match st {
            Statement::Analyze(a) => {
                self.info.class(Class::Analyze);
                if let Some(t) = &a.table_name {
                    self.relation(t, Access::Read)?;
                }
                Ok(())
            }
            Statement::Vacuum(v) => {
                self.info.class(Class::Vacuum);
                if let Some(t) = &v.table_name {
                    self.relation(t, Access::Read)?;
                }
                Ok(())
            }
            Statement::PgVacuum(v) => {
                self.info.class(if v.analyze {
                    Class::Analyze
                } else {
                    Class::Vacuum
                });
                for t in &v.tables {
                    self.relation(&t.name, Access::Read)?;
                }
                self.ddl_functions(st)
            }
            Statement::Reindex(r) => {
                use ast::ReindexObject as R;
                self.info.class(Class::Ddl);
                match (r.object_type, &r.relation, &r.name) {
                    (R::Index | R::Table, Some(rel), _) => {
                        self.relation(rel, Access::Ddl)?;
                    }
                    (R::Schema, _, Some(schema)) => self.schema_object(schema)?,
                    (R::Database | R::System, _, _) => self.info.cluster_level = true,
                    _ => return unsupported("this form of REINDEX"),
                }
                self.ddl_functions(st)
            }
            // Rewrites the table in index order (an exclusive lock, a new
            // file): DDL on the table and the index; without a table, every
            // table clustered before, database-wide.
            Statement::PgCluster(c) => {
                self.info.class(Class::Ddl);
                match &c.table {
                    Some(t) => {
                        self.relation(t, Access::Ddl)?;
                    }
                    None => self.info.cluster_level = true,
                }
                if let Some(i) = &c.index {
                    self.relation(i, Access::Ddl)?;
                }
                self.ddl_functions(st)
            }
            Statement::Lock(l) => {
                self.info.class(Class::Lock);
                for t in &l.tables {
                    self.relation(&t.name, Access::Lock)?;
                }
                Ok(())
            }
            _ => return Ok(false),
        }?;
        Ok(true)
    }
}
