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
