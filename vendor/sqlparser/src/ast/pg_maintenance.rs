// actgate patch: pg_maintenance
//! PostgreSQL's maintenance statements over relations: `VACUUM` and
//! `ANALYZE` with option lists and several tables, `REINDEX`, `CLUSTER`.

#[cfg(not(feature = "std"))]
use alloc::vec::Vec;
use core::fmt;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

#[cfg(feature = "visitor")]
use sqlparser_derive::{Visit, VisitMut};

use super::{display_comma_separated, Ident, ObjectName, UtilityOption};

/// One table of a PostgreSQL `VACUUM` or `ANALYZE`: `name [(column, …)]`.
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct PgVacuumTarget {
    /// The table.
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub name: ObjectName,
    /// The columns, when listed.
    pub columns: Vec<Ident>,
}

impl fmt::Display for PgVacuumTarget {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.columns.is_empty() {
            write!(f, " ({})", display_comma_separated(&self.columns))?;
        }
        Ok(())
    }
}

/// PostgreSQL's `VACUUM` and `ANALYZE`:
/// ```sql
/// VACUUM [ ( option [, ...] ) ] [ table_and_columns [, ...] ]
/// VACUUM [ FULL ] [ FREEZE ] [ VERBOSE ] [ ANALYZE ] [ table_and_columns [, ...] ]
/// ANALYZE [ ( option [, ...] ) ] [ table_and_columns [, ...] ]
/// ANALYZE [ VERBOSE ] [ table_and_columns [, ...] ]
/// ```
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct PgVacuum {
    /// `ANALYZE` (or `ANALYSE`) rather than `VACUUM`.
    pub analyze: bool,
    /// The parenthesised option list.
    pub options: Option<Vec<UtilityOption>>,
    /// The older option keywords (`FULL`, `FREEZE`, `VERBOSE`, `ANALYZE`), in order.
    pub keywords: Vec<Ident>,
    /// The tables; none means every table of the database.
    pub tables: Vec<PgVacuumTarget>,
}

impl fmt::Display for PgVacuum {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.analyze { "ANALYZE" } else { "VACUUM" })?;
        if let Some(options) = &self.options {
            write!(f, " ({})", display_comma_separated(options))?;
        }
        for k in &self.keywords {
            write!(f, " {k}")?;
        }
        if !self.tables.is_empty() {
            write!(f, " {}", display_comma_separated(&self.tables))?;
        }
        Ok(())
    }
}

/// What a `REINDEX` rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub enum ReindexObject {
    /// `INDEX name`
    Index,
    /// `TABLE name`
    Table,
    /// `SCHEMA name`
    Schema,
    /// `DATABASE [name]`
    Database,
    /// `SYSTEM [name]`
    System,
}

impl fmt::Display for ReindexObject {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            ReindexObject::Index => "INDEX",
            ReindexObject::Table => "TABLE",
            ReindexObject::Schema => "SCHEMA",
            ReindexObject::Database => "DATABASE",
            ReindexObject::System => "SYSTEM",
        })
    }
}

/// PostgreSQL's `REINDEX`:
/// ```sql
/// REINDEX [ ( option [, ...] ) ] { INDEX | TABLE } [ CONCURRENTLY ] name
/// REINDEX [ ( option [, ...] ) ] { SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ] [ name ]
/// ```
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct Reindex {
    /// The parenthesised option list.
    pub options: Option<Vec<UtilityOption>>,
    /// What is rebuilt.
    pub object_type: ReindexObject,
    /// `CONCURRENTLY`
    pub concurrently: bool,
    /// The index or table (`INDEX`, `TABLE`).
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub relation: Option<ObjectName>,
    /// The schema or database (`SCHEMA`, `DATABASE`, `SYSTEM`).
    pub name: Option<ObjectName>,
}

impl fmt::Display for Reindex {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("REINDEX")?;
        if let Some(options) = &self.options {
            write!(f, " ({})", display_comma_separated(options))?;
        }
        write!(f, " {}", self.object_type)?;
        if self.concurrently {
            f.write_str(" CONCURRENTLY")?;
        }
        if let Some(n) = self.relation.as_ref().or(self.name.as_ref()) {
            write!(f, " {n}")?;
        }
        Ok(())
    }
}

/// PostgreSQL's `CLUSTER`:
/// ```sql
/// CLUSTER [ ( option [, ...] ) ] [ VERBOSE ] [ table_name [ USING index_name ] ]
/// CLUSTER [ VERBOSE ] index_name ON table_name
/// ```
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct PgCluster {
    /// The parenthesised option list.
    pub options: Option<Vec<UtilityOption>>,
    /// `VERBOSE`
    pub verbose: bool,
    /// The table.
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub table: Option<ObjectName>,
    /// The index.
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub index: Option<ObjectName>,
    /// The older `index ON table` order.
    pub index_on_table: bool,
}

impl fmt::Display for PgCluster {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CLUSTER")?;
        if let Some(options) = &self.options {
            write!(f, " ({})", display_comma_separated(options))?;
        }
        if self.verbose {
            f.write_str(" VERBOSE")?;
        }
        match (&self.table, &self.index, self.index_on_table) {
            (Some(t), Some(i), true) => write!(f, " {i} ON {t}"),
            (Some(t), Some(i), false) => write!(f, " {t} USING {i}"),
            (Some(t), None, _) => write!(f, " {t}"),
            _ => Ok(()),
        }
    }
}
