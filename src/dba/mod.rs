//! Tools for whoever maintains the rules: `actgate check` validates a rules
//! directory (and, given a database, checks it against the live catalog);
//! `actgate test` runs policy test files against it.
//!
//! Both reuse what `serve` and `explain` do rather than re-implementing it:
//! the rules loader and compiler find the problems, the policy decides the
//! statements. This module only collects, lints and reports.

pub mod check;
pub mod policy_tests;

use crate::explain::ExplainError;
use crate::policy::catalog::Catalog;
use crate::proxy::catalog::CatalogError;
use std::sync::Arc;

/// Largest catalog message accepted from the server (as `explain`).
const MAX_CATALOG_MESSAGE_BYTES: usize = 256 << 20;

/// Errors reaching the database given with `--database`.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error(transparent)]
    Url(#[from] ExplainError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

/// Loads the live catalog of the database a
/// `postgres://user:password@host:port/database` URL names, the way
/// `explain --database-url` does. Returns the database name and catalog.
pub async fn load_catalog(
    url: &str,
    search_path: &[String],
) -> Result<(String, Arc<Catalog>), DatabaseError> {
    let (mut cfg, database) = crate::explain::parse_url(url)?;
    cfg.search_path = search_path.join(",");
    let catalog =
        crate::proxy::catalog::load(&cfg, None, &database, MAX_CATALOG_MESSAGE_BYTES).await?;
    Ok((database, Arc::new(catalog)))
}
