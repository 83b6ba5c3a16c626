//! Generations: one version of the rules and the catalogs they were
//! checked against, swapped in as one.

use super::analysis::AnalysisContext;
use crate::policy::analyze::AnalysisLimits;
use crate::policy::catalog::Catalog;
use crate::rules::RuleSet;
use std::collections::HashMap;
use std::sync::Arc;

/// One version of the rules and the catalogs they were checked against.
pub struct Generation {
    /// 1 at startup, +1 per reload.
    pub number: u64,
    pub rules: Arc<RuleSet>,
    pub(super) contexts: HashMap<String, Arc<AnalysisContext>>,
}

impl Generation {
    /// The analysis context for `database` (without a catalog if none was
    /// loaded for it).
    pub fn context(
        &self,
        database: &str,
        search_path: &Arc<Vec<String>>,
        limits: AnalysisLimits,
    ) -> Arc<AnalysisContext> {
        match self.contexts.get(database) {
            Some(c) => c.clone(),
            None => Arc::new(AnalysisContext {
                database: database.to_owned(),
                search_path: search_path.clone(),
                catalog: None,
                limits,
                generation: self.number,
            }),
        }
    }
}

pub(super) fn contexts_for(
    catalogs: HashMap<String, Arc<Catalog>>,
    search_path: &Arc<Vec<String>>,
    limits: AnalysisLimits,
    generation: u64,
) -> HashMap<String, Arc<AnalysisContext>> {
    catalogs
        .into_iter()
        .map(|(db, catalog)| {
            let ctx = AnalysisContext {
                database: db.clone(),
                search_path: search_path.clone(),
                catalog: Some(catalog),
                limits,
                generation,
            };
            (db, Arc::new(ctx))
        })
        .collect()
}

/// Why a rules directory could not be loaded as the next generation (at
/// startup or on reload).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Rules(#[from] crate::rules::RulesError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog_load::CatalogError),
    #[error("an agent logs in with capability tokens but [tokens] public_keys is not configured")]
    TokensNotConfigured,
    #[error(
        "agent {agent:?} may use database {database:?}, where actgate keeps its shared state ([state] url): agents must never reach it; give the state a database of its own"
    )]
    StateDatabase { agent: String, database: String },
}

/// The live catalog of every database `snapshot`'s rules name, read over
/// actgate's own upstream connection.
pub async fn load_catalogs(
    config: &crate::config::Config,
    upstream_tls: Option<&tokio_rustls::TlsConnector>,
    snapshot: &crate::rules::RulesSnapshot,
) -> Result<HashMap<String, Arc<Catalog>>, LoadError> {
    let search_path = config.upstream.search_path_list();
    let mut catalogs = HashMap::new();
    for db in snapshot.databases(&search_path)? {
        let catalog = crate::catalog_load::load(
            &config.upstream,
            upstream_tls,
            &db,
            config.limits.max_backend_message_bytes,
        )
        .await?;
        catalogs.insert(db, Arc::new(catalog));
    }
    Ok(catalogs)
}

/// Compiles `snapshot` against `catalogs` and checks it as a whole: rules
/// that log agents in with capability tokens need `[tokens]`.
pub fn compile_rules(
    config: &crate::config::Config,
    snapshot: &crate::rules::RulesSnapshot,
    catalogs: &HashMap<String, Arc<Catalog>>,
) -> Result<RuleSet, LoadError> {
    let search_path = config.upstream.search_path_list();
    let rules = RuleSet::load_snapshot(snapshot, &search_path, catalogs)?;
    if rules.uses_tokens() && config.tokens.is_none() {
        return Err(LoadError::TokensNotConfigured);
    }
    // Compared by name whatever the host, so no spelling of the same server
    // lets an agent in.
    if let crate::config::StateConfig::Postgres(state) = &config.state
        && let Some(agent) = rules
            .agents()
            .find(|a| a.databases.contains(&state.database))
    {
        return Err(LoadError::StateDatabase {
            agent: agent.name.clone(),
            database: state.database.clone(),
        });
    }
    Ok(rules)
}
