//! Tools for whoever maintains the rules: `actgate check` validates a rules
//! directory (and, given a database, checks it against the live catalog);
//! `actgate test` runs policy test files against it.
//!
//! Both reuse what `serve` and `explain` do rather than re-implementing it:
//! the rules loader and compiler find the problems, the policy decides the
//! statements. This module only collects, lints and reports.

pub mod check;
pub mod policy_tests;

use crate::catalog_load::CatalogError;
use crate::explain::ExplainError;
use crate::policy::catalog::Catalog;
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
        crate::catalog_load::load(&cfg, None, &database, MAX_CATALOG_MESSAGE_BYTES).await?;
    Ok((database, Arc::new(catalog)))
}

/// Errors that stop `actgate test` before any case runs.
#[derive(Debug, thiserror::Error)]
pub enum TestRunError {
    #[error(transparent)]
    Database(#[from] DatabaseError),
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
    #[error(transparent)]
    Tests(#[from] policy_tests::TestError),
}

/// `actgate check`: checks `rules_dir`, against the live catalog of the
/// database `database_url` names when given.
pub async fn check(
    rules_dir: &std::path::Path,
    database_url: Option<&str>,
    search_path: &[String],
) -> Result<check::Report, DatabaseError> {
    let database = match database_url {
        Some(url) => Some(load_catalog(url, search_path).await?),
        None => None,
    };
    Ok(check::check_dir(
        rules_dir,
        search_path,
        database.as_ref().map(|(db, c)| (db.as_str(), c)),
    ))
}

/// `actgate test`: runs the test files of `tests_dir` (by default
/// `rules_dir/tests`) against `rules_dir`, analysing statements with the
/// live catalog of the database `database_url` names when given.
pub async fn test(
    rules_dir: &std::path::Path,
    tests_dir: Option<&std::path::Path>,
    database_url: Option<&str>,
    search_path: &[String],
) -> Result<policy_tests::TestRun, TestRunError> {
    let database = match database_url {
        Some(url) => Some(load_catalog(url, search_path).await?),
        None => None,
    };
    let catalogs = database
        .iter()
        .map(|(db, c)| (db.clone(), Arc::clone(c)))
        .collect();
    let rules = crate::rules::RuleSet::load_dir_with(rules_dir, search_path, &catalogs)?;
    let default_dir = rules_dir.join("tests");
    let files = policy_tests::load_dir(tests_dir.unwrap_or(&default_dir))?;
    Ok(policy_tests::run(
        &rules,
        &files,
        search_path,
        database.as_ref().map(|(db, c)| (db.as_str(), c.as_ref())),
    ))
}
