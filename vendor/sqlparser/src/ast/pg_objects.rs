// actgate patch: pg_statistics, pg_publication
//! PostgreSQL's extended statistics objects (`CREATE`/`ALTER STATISTICS`)
//! and publications (`CREATE`/`ALTER PUBLICATION`).

#[cfg(not(feature = "std"))]
use alloc::{boxed::Box, vec::Vec};
use core::fmt;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

#[cfg(feature = "visitor")]
use sqlparser_derive::{Visit, VisitMut};

use super::{display_comma_separated, Expr, Ident, ObjectName, Owner, SequenceOptions, SqlOption};

/// ```sql
/// CREATE STATISTICS [ [ IF NOT EXISTS ] name ] [ ( kind [, ...] ) ]
///     ON { column_name | ( expression ) } [, ...] FROM table_name
/// ```
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct CreateStatistics {
    /// `IF NOT EXISTS`
    pub if_not_exists: bool,
    /// The statistics object's name (PostgreSQL picks one when omitted).
    pub name: Option<ObjectName>,
    /// The statistics kinds (`ndistinct`, `dependencies`, `mcv`).
    pub kinds: Vec<Ident>,
    /// The columns and expressions.
    pub exprs: Vec<Expr>,
    /// The table.
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub table: ObjectName,
}

impl fmt::Display for CreateStatistics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CREATE STATISTICS")?;
        if self.if_not_exists {
            f.write_str(" IF NOT EXISTS")?;
        }
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        if !self.kinds.is_empty() {
            write!(f, " ({})", display_comma_separated(&self.kinds))?;
        }
        write!(
            f,
            " ON {} FROM {}",
            display_comma_separated(&self.exprs),
            self.table
        )
    }
}

/// What an `ALTER STATISTICS` or `ALTER PUBLICATION` does to its object.
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub enum AlterPgObjectOperation {
    /// `RENAME TO name`
    RenameTo(Ident),
    /// `OWNER TO role`
    OwnerTo(Owner),
    /// `SET SCHEMA schema`
    SetSchema(Ident),
    /// `SET STATISTICS { target | DEFAULT }` (statistics; `None` is DEFAULT)
    SetStatistics(Option<Expr>),
    /// `SET ( option [, ...] )` (publications)
    SetOptions(Vec<SqlOption>),
    /// `{ ADD | SET | DROP } publication_object [, ...]` (publications)
    Objects {
        /// `ADD`, `SET` or `DROP`.
        action: Ident,
        /// The tables and schemas.
        objects: Vec<PublicationObject>,
    },
}

impl fmt::Display for AlterPgObjectOperation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            AlterPgObjectOperation::RenameTo(n) => write!(f, "RENAME TO {n}"),
            AlterPgObjectOperation::OwnerTo(o) => write!(f, "OWNER TO {o}"),
            AlterPgObjectOperation::SetSchema(s) => write!(f, "SET SCHEMA {s}"),
            AlterPgObjectOperation::SetStatistics(Some(e)) => write!(f, "SET STATISTICS {e}"),
            AlterPgObjectOperation::SetStatistics(None) => write!(f, "SET STATISTICS DEFAULT"),
            AlterPgObjectOperation::SetOptions(o) => {
                write!(f, "SET ({})", display_comma_separated(o))
            }
            AlterPgObjectOperation::Objects { action, objects } => {
                write!(f, "{action} {}", display_comma_separated(objects))
            }
        }
    }
}

/// `ALTER STATISTICS [ IF EXISTS ] name operation`
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct AlterStatistics {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// The statistics object.
    pub name: ObjectName,
    /// What is changed.
    pub operation: AlterPgObjectOperation,
}

impl fmt::Display for AlterStatistics {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("ALTER STATISTICS ")?;
        if self.if_exists {
            f.write_str("IF EXISTS ")?;
        }
        write!(f, "{} {}", self.name, self.operation)
    }
}

/// One object of a publication.
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub enum PublicationObject {
    /// `[TABLE] [ONLY] name [*] [( column [, ...] )] [WHERE ( expression )]`
    Table {
        /// `TABLE` was written (a later item of the list may omit it).
        keyword: bool,
        /// `ONLY`
        only: bool,
        /// The table.
        #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
        name: ObjectName,
        /// `*` after the name.
        star: bool,
        /// The published columns.
        columns: Vec<Ident>,
        /// The row filter.
        filter: Option<Box<Expr>>,
    },
    /// `[TABLES IN SCHEMA] { schema | CURRENT_SCHEMA }` (`None` is CURRENT_SCHEMA).
    Schema {
        /// `TABLES IN SCHEMA` was written.
        keyword: bool,
        /// The schema.
        name: Option<Ident>,
    },
}

impl fmt::Display for PublicationObject {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PublicationObject::Table {
                keyword,
                only,
                name,
                star,
                columns,
                filter,
            } => {
                if *keyword {
                    f.write_str("TABLE ")?;
                }
                if *only {
                    f.write_str("ONLY ")?;
                }
                write!(f, "{name}")?;
                if *star {
                    f.write_str(" *")?;
                }
                if !columns.is_empty() {
                    write!(f, " ({})", display_comma_separated(columns))?;
                }
                if let Some(filter) = filter {
                    write!(f, " WHERE ({filter})")?;
                }
                Ok(())
            }
            PublicationObject::Schema { keyword, name } => {
                if *keyword {
                    f.write_str("TABLES IN SCHEMA ")?;
                }
                match name {
                    Some(n) => write!(f, "{n}"),
                    None => f.write_str("CURRENT_SCHEMA"),
                }
            }
        }
    }
}

/// ```sql
/// CREATE PUBLICATION name
///     [ FOR ALL TABLES | FOR publication_object [, ...] ]
///     [ WITH ( publication_parameter [= value] [, ... ] ) ]
/// ```
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct CreatePublication {
    /// The publication.
    pub name: Ident,
    /// `FOR ALL TABLES`
    pub all_tables: bool,
    /// The objects after `FOR`.
    pub objects: Vec<PublicationObject>,
    /// The `WITH` options.
    pub with_options: Vec<SqlOption>,
}

impl fmt::Display for CreatePublication {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CREATE PUBLICATION {}", self.name)?;
        if self.all_tables {
            f.write_str(" FOR ALL TABLES")?;
        } else if !self.objects.is_empty() {
            write!(f, " FOR {}", display_comma_separated(&self.objects))?;
        }
        if !self.with_options.is_empty() {
            write!(f, " WITH ({})", display_comma_separated(&self.with_options))?;
        }
        Ok(())
    }
}

/// `ALTER PUBLICATION name operation`
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct AlterPublication {
    /// The publication.
    pub name: Ident,
    /// What is changed.
    pub operation: AlterPgObjectOperation,
}

impl fmt::Display for AlterPublication {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ALTER PUBLICATION {} {}", self.name, self.operation)
    }
}

// actgate patch: pg_alter_sequence
/// What an `ALTER SEQUENCE` changes.
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub enum AlterSequenceOperation {
    /// Sequence options, and `RESTART [[WITH] value]` among them.
    Options {
        /// The options as `CREATE SEQUENCE` takes them.
        options: Vec<SequenceOptions>,
        /// `RESTART`: `Some(None)` without a value.
        restart: Option<Option<Expr>>,
        /// `WITH` after `RESTART`.
        restart_with: bool,
    },
    /// `SET LOGGED` (`true`) or `SET UNLOGGED`.
    SetLogged(bool),
    /// `RENAME TO`, `OWNER TO`, `SET SCHEMA`.
    Common(AlterPgObjectOperation),
}

/// `ALTER SEQUENCE [ IF EXISTS ] name operation`
#[derive(Debug, Clone, PartialEq, PartialOrd, Eq, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "visitor", derive(Visit, VisitMut))]
pub struct AlterSequence {
    /// `IF EXISTS`
    pub if_exists: bool,
    /// The sequence.
    #[cfg_attr(feature = "visitor", visit(with = "visit_relation"))]
    pub name: ObjectName,
    /// What is changed.
    pub operation: AlterSequenceOperation,
}

impl fmt::Display for AlterSequence {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("ALTER SEQUENCE ")?;
        if self.if_exists {
            f.write_str("IF EXISTS ")?;
        }
        write!(f, "{}", self.name)?;
        match &self.operation {
            AlterSequenceOperation::Options {
                options,
                restart,
                restart_with,
            } => {
                for o in options {
                    // Each option prints its own leading space.
                    write!(f, "{o}")?;
                }
                match (restart, restart_with) {
                    (Some(Some(v)), true) => write!(f, " RESTART WITH {v}"),
                    (Some(Some(v)), false) => write!(f, " RESTART {v}"),
                    (Some(None), _) => f.write_str(" RESTART"),
                    (None, _) => Ok(()),
                }
            }
            AlterSequenceOperation::SetLogged(true) => f.write_str(" SET LOGGED"),
            AlterSequenceOperation::SetLogged(false) => f.write_str(" SET UNLOGGED"),
            AlterSequenceOperation::Common(op) => write!(f, " {op}"),
        }
    }
}
