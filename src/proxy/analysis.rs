//! Runs SQL analysis for sessions: a bounded cache keyed by database and
//! statement text (analysis does not depend on the agent), and, for long
//! statements, a thread with a large stack, because a deep expression tree
//! recurses in the visitor and in `Drop` and must not overflow a runtime
//! worker's stack and abort the process.

use crate::policy::analyze::{Analysis, AnalysisError, AnalysisLimits, analyze};
use crate::policy::catalog::Catalog;
use crate::policy::names::Resolver;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Statements up to this size are analysed on the calling thread: their
/// trees cannot be deep enough to matter on a 2 MiB stack.
const INLINE_SQL_BYTES: usize = 2 * 1024;
/// Stack for analysing long statements. Reserved, not committed: only the
/// pages a deep tree touches are used.
const BIG_STACK_BYTES: usize = 1024 * 1024 * 1024;
const CACHE_ENTRIES: usize = 4096;

pub type AnalysisResult = Arc<Result<Analysis, AnalysisError>>;

/// What one database's analyses depend on.
#[derive(Clone)]
pub struct AnalysisContext {
    pub database: String,
    pub search_path: Arc<Vec<String>>,
    pub catalog: Option<Arc<Catalog>>,
    pub limits: AnalysisLimits,
    /// The rules generation whose catalog this is.
    pub generation: u64,
}

/// Analyses by database, then by statement text. Lookups borrow the text:
/// a cache hit allocates nothing.
#[derive(Default)]
pub struct Analyzer {
    cache: Mutex<HashMap<String, HashMap<Arc<str>, AnalysisResult>>>,
    /// Analyses of older generations (older catalogs) are not cached.
    generation: std::sync::atomic::AtomicU64,
}

impl Analyzer {
    fn cached(&self, database: &str, sql: &str) -> Option<AnalysisResult> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(database)?.get(sql).cloned()
    }

    /// Forgets every cached analysis: the catalogs changed.
    pub fn reset(&self, generation: u64) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        self.generation
            .store(generation, std::sync::atomic::Ordering::Release);
        cache.clear();
    }

    fn store(&self, generation: u64, database: &str, sql: Arc<str>, result: AnalysisResult) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.generation.load(std::sync::atomic::Ordering::Acquire);
        if current != 0 && generation != current {
            return;
        }
        let entries = match cache.get_mut(database) {
            Some(e) => e,
            None => cache.entry(database.to_owned()).or_default(),
        };
        if entries.len() >= CACHE_ENTRIES {
            // Crude but bounded; hot statements come straight back.
            entries.clear();
        }
        entries.insert(sql, result);
    }

    /// Analyses `sql`, from the cache when possible.
    pub async fn analyze(&self, ctx: &AnalysisContext, sql: &str) -> AnalysisResult {
        if let Some(hit) = self.cached(&ctx.database, sql) {
            return hit;
        }
        let sql: Arc<str> = Arc::from(sql);
        let result = if sql.len() <= INLINE_SQL_BYTES {
            Arc::new(run(ctx, &sql))
        } else {
            run_on_big_stack(ctx.clone(), sql.clone()).await
        };
        // Long statements are rarely repeated verbatim; don't let them
        // evict hot short ones.
        if sql.len() <= INLINE_SQL_BYTES * 8 {
            self.store(ctx.generation, &ctx.database, sql, result.clone());
        }
        result
    }
}

fn run(ctx: &AnalysisContext, sql: &str) -> Result<Analysis, AnalysisError> {
    let resolver = Resolver {
        search_path: &ctx.search_path,
        catalog: ctx.catalog.as_deref(),
        database: Some(&ctx.database),
    };
    analyze(sql, &resolver, ctx.limits)
}

async fn run_on_big_stack(ctx: AnalysisContext, sql: Arc<str>) -> AnalysisResult {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("actgate-analyze".into())
        .stack_size(BIG_STACK_BYTES)
        .spawn(move || {
            let result = Arc::new(run(&ctx, &sql));
            let _ = tx.send(result);
        });
    if spawned.is_err() {
        return Arc::new(Err(AnalysisError::Unsupported(
            "analysis of a long statement (no thread available)".into(),
        )));
    }
    rx.await.unwrap_or_else(|_| {
        Arc::new(Err(AnalysisError::Unsupported(
            "analysis of this statement (the analyser failed)".into(),
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(max_sql_bytes: usize) -> AnalysisContext {
        AnalysisContext {
            database: "shop".into(),
            search_path: Arc::new(vec!["public".into()]),
            catalog: None,
            limits: AnalysisLimits {
                max_sql_bytes,
                ..AnalysisLimits::default()
            },
            generation: 1,
        }
    }

    #[tokio::test]
    async fn a_forty_thousand_term_or_chain_cannot_crash_the_process() {
        let mut sql = String::from("SELECT id FROM orders WHERE ");
        for i in 0..40_000 {
            if i > 0 {
                sql.push_str(" OR ");
            }
            sql.push_str(&format!("id = {i}"));
        }
        assert!(sql.len() > 500_000);
        // Within the size limit it is analysed (on a large stack) and
        // dropped without overflowing anything.
        let analyzer = Analyzer::default();
        let result = analyzer.analyze(&ctx(1 << 20), &sql).await;
        let analysis = result.as_ref().as_ref().expect("analysed");
        assert_eq!(analysis.statements.len(), 1);
        // Over the limit it is refused before parsing.
        let result = analyzer.analyze(&ctx(256 * 1024), &sql).await;
        assert!(matches!(
            result.as_ref(),
            Err(AnalysisError::TooLong { .. })
        ));
    }

    #[tokio::test]
    async fn results_are_cached_by_text() {
        let analyzer = Analyzer::default();
        let a = analyzer.analyze(&ctx(1 << 20), "SELECT 1").await;
        let b = analyzer.analyze(&ctx(1 << 20), "SELECT 1").await;
        assert!(Arc::ptr_eq(&a, &b));
    }
}
