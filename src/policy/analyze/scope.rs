//! What is visible at a point of a query: CTE names ([`Env`]) and FROM
//! items ([`Scope`] of [`Source`]s).

use super::super::names::QualifiedName;
use super::ColumnName;

/// CTE names visible at a point of a query.
#[derive(Debug, Clone, Default)]
pub(super) struct Env {
    ctes: Vec<String>,
}

impl Env {
    pub(super) fn with(&self, names: impl IntoIterator<Item = String>) -> Env {
        let mut ctes = self.ctes.clone();
        ctes.extend(names);
        Env { ctes }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.ctes.iter().any(|c| c == name)
    }
}

/// What a FROM item contributes to column resolution.
#[derive(Debug, Clone)]
pub(super) enum SourceKind {
    /// A base relation.
    Table(QualifiedName),
    /// An aliased join: its columns come from these relations.
    Group(Vec<QualifiedName>),
    /// A derived table, CTE or function: its own columns (if known).
    Other(Option<Vec<String>>),
}

#[derive(Debug, Clone)]
pub(super) struct Source {
    pub(super) alias: String,
    pub(super) kind: SourceKind,
    /// Column aliases on a table (`customers AS c(a, b)`): they rename
    /// the table's first columns, whose own names are then hidden.
    pub(super) renames: Vec<String>,
    /// For derived tables: the base relations read inside (row locks on
    /// the derived table lock their rows).
    pub(super) bases: Vec<QualifiedName>,
    /// For an aliased join with column aliases (`(a JOIN b) AS j(x, y)`):
    /// what each name of `renames` denotes, in the tables joined.
    pub(super) rename_targets: Vec<Vec<(QualifiedName, ColumnName)>>,
    /// Index into `StatementInfo::occurrences` for a base table.
    pub(super) occurrence: Option<usize>,
}

impl Source {
    pub(super) fn new(alias: String, kind: SourceKind) -> Source {
        Source {
            alias,
            kind,
            renames: Vec::new(),
            rename_targets: Vec::new(),
            bases: Vec::new(),
            occurrence: None,
        }
    }
}

/// The FROM items visible at one query level, and the enclosing levels.
pub(super) struct Scope<'p> {
    pub(super) sources: Vec<Source>,
    pub(super) parent: Option<&'p Scope<'p>>,
}

impl<'p> Scope<'p> {
    pub(super) fn new(parent: Option<&'p Scope<'p>>) -> Self {
        Scope {
            sources: Vec::new(),
            parent,
        }
    }

    pub(super) fn levels(&self) -> impl Iterator<Item = &Scope<'p>> {
        std::iter::successors(Some(self), |s| s.parent)
    }

    /// The FROM items so far, visible to a LATERAL item or function.
    pub(super) fn lateral(&self) -> Scope<'p> {
        Scope {
            sources: self.sources.clone(),
            parent: self.parent,
        }
    }

    pub(super) fn find_alias(&self, alias: &str) -> Option<&Source> {
        self.levels()
            .flat_map(|l| l.sources.iter().rev())
            .find(|s| s.alias == alias)
    }
}
