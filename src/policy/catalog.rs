//! What the database contains: relations with their columns, and function
//! names. Plain data; the proxy loads it from upstream at start. Used to
//! expand `*` and whole-row references, attribute unqualified columns, and
//! check rules files against reality.

use super::names::QualifiedName;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    relations: HashMap<QualifiedName, Vec<String>>,
    functions: HashSet<QualifiedName>,
}

impl Catalog {
    pub fn add_relation(&mut self, name: QualifiedName, columns: Vec<String>) {
        self.relations.insert(name, columns);
    }

    pub fn add_function(&mut self, name: QualifiedName) {
        self.functions.insert(name);
    }

    pub fn has_relation(&self, name: &QualifiedName) -> bool {
        self.relations.contains_key(name)
    }

    pub fn has_function(&self, name: &QualifiedName) -> bool {
        self.functions.contains(name)
    }

    /// The columns of a relation, in order.
    pub fn columns(&self, name: &QualifiedName) -> Option<&[String]> {
        self.relations.get(name).map(Vec::as_slice)
    }

    pub fn has_column(&self, relation: &QualifiedName, column: &str) -> bool {
        self.columns(relation)
            .is_some_and(|cols| cols.iter().any(|c| c == column))
    }

    /// Adds everything `other` knows.
    pub fn merge(&mut self, other: &Catalog) {
        for (k, v) in &other.relations {
            self.relations.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self.functions.extend(other.functions.iter().cloned());
    }

    pub fn relation_count(&self) -> usize {
        self.relations.len()
    }
}

/// Without a catalog: whether an unqualified `name` is taken to be a
/// pg_catalog relation (searched before the search_path). Every system
/// relation starts with `pg_`; taking an unknown `pg_` name as a system
/// one only makes the policy stricter, since catalog access is narrower.
pub fn is_system_relation(name: &str) -> bool {
    name.starts_with("pg_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_looked_up_by_qualified_name() {
        let mut c = Catalog::default();
        let orders = QualifiedName::new("public", "orders");
        c.add_relation(orders.clone(), vec!["id".into(), "status".into()]);
        assert!(c.has_column(&orders, "status"));
        assert!(!c.has_column(&orders, "Status"));
        assert!(!c.has_relation(&QualifiedName::new("other", "orders")));
    }

    #[test]
    fn pg_prefix_is_system() {
        assert!(is_system_relation("pg_authid"));
        assert!(is_system_relation("pg_whatever"));
        assert!(!is_system_relation("orders"));
    }
}
