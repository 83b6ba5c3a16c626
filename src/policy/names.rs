//! Identifiers as PostgreSQL reads them: unquoted names fold to lower case
//! (ASCII only, as Postgres does for UTF-8), quoted names are exact, and
//! unqualified relation names resolve against a pinned search_path with
//! `pg_catalog` searched first.

use super::catalog::Catalog;
use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use std::fmt;

/// Folds one identifier the way the Postgres lexer does.
pub fn fold(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_ascii_lowercase(),
    }
}

/// Folds an identifier written in a rules file (`Orders` and `orders` are
/// the same table; write `"Orders"` for a quoted name).
pub fn fold_config(name: &str) -> String {
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        name[1..name.len() - 1].replace("\"\"", "\"")
    } else {
        name.to_ascii_lowercase()
    }
}

/// A schema-qualified name after folding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// Parses `name` or `schema.name` from a rules file, folding each part;
    /// unqualified names take `default_schema`.
    pub fn from_config(s: &str, default_schema: &str) -> QualifiedName {
        match split_config(s) {
            (Some(schema), name) => QualifiedName::new(fold_config(schema), fold_config(name)),
            (None, name) => QualifiedName::new(default_schema, fold_config(name)),
        }
    }
}

/// Splits `schema.name` at the first dot outside double quotes.
fn split_config(s: &str) -> (Option<&str>, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => return (Some(&s[..i]), &s[i + 1..]),
            _ => {}
        }
    }
    (None, s)
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            quote_if_needed(&self.schema),
            quote_if_needed(&self.name)
        )
    }
}

/// Renders an identifier so that Postgres would read it back unchanged.
pub fn quote_if_needed(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        s.to_owned()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// The parts of an object name, folded. `None` if a part is not a plain
/// identifier (dialect-specific name functions).
pub fn parts(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(fold(i)),
            _ => None,
        })
        .collect()
}

/// Resolves relation and function names against the pinned search_path.
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    pub search_path: &'a [String],
    pub catalog: Option<&'a Catalog>,
    /// The connected database, accepted as a three-part name's first part.
    pub database: Option<&'a str>,
}

/// A name that can't be resolved: too many parts or another database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadName(pub String);

impl Resolver<'_> {
    /// Resolves a relation name. Unqualified names are looked up in
    /// `pg_catalog` first, then the search_path; without a catalog, names of
    /// known system relations go to `pg_catalog` and everything else to the
    /// first schema of the search_path.
    pub fn relation(&self, name: &ObjectName) -> Result<QualifiedName, BadName> {
        let parts = parts(name).ok_or_else(|| BadName(name.to_string()))?;
        match parts.as_slice() {
            [n] => Ok(self.resolve_unqualified(n)),
            [s, n] => Ok(QualifiedName::new(s.clone(), n.clone())),
            [db, s, n] if self.database.is_none_or(|d| d == db) => {
                Ok(QualifiedName::new(s.clone(), n.clone()))
            }
            _ => Err(BadName(name.to_string())),
        }
    }

    fn resolve_unqualified(&self, n: &str) -> QualifiedName {
        let first = self
            .search_path
            .first()
            .map(String::as_str)
            .unwrap_or("public");
        match self.catalog {
            Some(cat) => {
                if cat.has_relation(&QualifiedName::new("pg_catalog", n)) {
                    return QualifiedName::new("pg_catalog", n);
                }
                for s in self.search_path {
                    let q = QualifiedName::new(s.clone(), n);
                    if cat.has_relation(&q) {
                        return q;
                    }
                }
                QualifiedName::new(first, n)
            }
            None if super::catalog::is_system_relation(n) => QualifiedName::new("pg_catalog", n),
            None => QualifiedName::new(first, n),
        }
    }

    /// Resolves a function name: unqualified names are `pg_catalog`
    /// functions if the built-in allow-list or catalog knows them, else
    /// they belong to the first search_path schema.
    pub fn function(&self, name: &ObjectName) -> Result<QualifiedName, BadName> {
        let parts = parts(name).ok_or_else(|| BadName(name.to_string()))?;
        match parts.as_slice() {
            [n] => {
                let first = self
                    .search_path
                    .first()
                    .map(String::as_str)
                    .unwrap_or("public");
                let user_defined = self.catalog.is_some_and(|c| {
                    !c.has_function(&QualifiedName::new("pg_catalog", n))
                        && self
                            .search_path
                            .iter()
                            .any(|s| c.has_function(&QualifiedName::new(s.clone(), n)))
                });
                if user_defined {
                    Ok(QualifiedName::new(first, n.clone()))
                } else {
                    Ok(QualifiedName::new("pg_catalog", n.clone()))
                }
            }
            [s, n] => Ok(QualifiedName::new(s.clone(), n.clone())),
            _ => Err(BadName(name.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(v: &str, quoted: bool) -> Ident {
        if quoted {
            Ident::with_quote('"', v)
        } else {
            Ident::new(v)
        }
    }

    #[test]
    fn unquoted_names_fold_quoted_do_not() {
        assert_eq!(fold(&ident("SeCrEt", false)), "secret");
        assert_eq!(fold(&ident("SeCrEt", true)), "SeCrEt");
    }

    #[test]
    fn config_names_fold_like_sql() {
        assert_eq!(
            QualifiedName::from_config("Orders", "public"),
            QualifiedName::new("public", "orders")
        );
        assert_eq!(
            QualifiedName::from_config("\"Shop\".\"Orders\"", "public"),
            QualifiedName::new("Shop", "Orders")
        );
        assert_eq!(
            QualifiedName::from_config("pg_catalog.pg_class", "public"),
            QualifiedName::new("pg_catalog", "pg_class")
        );
    }

    #[test]
    fn display_quotes_when_needed() {
        assert_eq!(
            QualifiedName::new("public", "orders").to_string(),
            "public.orders"
        );
        assert_eq!(
            QualifiedName::new("public", "Orders").to_string(),
            "public.\"Orders\""
        );
    }

    #[test]
    fn system_relations_resolve_to_pg_catalog_first() {
        let sp = vec!["public".to_string()];
        let r = Resolver {
            search_path: &sp,
            catalog: None,
            database: None,
        };
        let name = ObjectName::from(vec![ident("PG_AUTHID", false)]);
        assert_eq!(
            r.relation(&name).unwrap(),
            QualifiedName::new("pg_catalog", "pg_authid")
        );
        let name = ObjectName::from(vec![ident("orders", false)]);
        assert_eq!(
            r.relation(&name).unwrap(),
            QualifiedName::new("public", "orders")
        );
    }
}
