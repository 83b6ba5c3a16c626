//! Runs SQL analysis for sessions: bounded caches keyed by database and
//! statement text or shape (analysis does not depend on the agent), one
//! set per thread shard, and, for long statements, a thread with a large
//! stack, because a deep expression tree
//! recurses in the visitor and in `Drop` and must not overflow a runtime
//! worker's stack and abort the process.

use super::clock_cache::ClockCache;
use crate::policy::analyze::shape::{self, Lifted, Template};
use crate::policy::analyze::{Analysis, AnalysisError, AnalysisLimits, analyze};
use crate::policy::catalog::Catalog;
use crate::policy::names::Resolver;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Statements up to this size are analysed on the calling thread: their
/// trees cannot be deep enough to matter on a 2 MiB stack.
const INLINE_SQL_BYTES: usize = 2 * 1024;
/// Stack for analysing long statements. Reserved, not committed: only the
/// pages a deep tree touches are used.
const BIG_STACK_BYTES: usize = 1024 * 1024 * 1024;
/// Entries per database in each cache of a shard, and the bytes of their
/// keys (a process holds at most [`SHARDS`] times this; only threads that
/// analyse, the session workers, fill a shard).
const CACHE_ENTRIES: usize = 4096;
const CACHE_KEY_BYTES: usize = 4 * 1024 * 1024;
/// Cache shards. Each thread keeps to one ([`shard_index`]): a session
/// worker's lookups take a lock no other worker takes, and the lock's and
/// the entries' cache lines stay with that worker's core instead of
/// passing between the workers on every statement. Workers share a shard
/// only when there are more of them than shards.
const SHARDS: usize = 8;
/// Longer statements are rarely repeated; they are not cached (nor
/// shaped), so they cannot evict hot short ones.
const CACHED_SQL_BYTES: usize = INLINE_SQL_BYTES * 8;

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

impl AnalysisContext {
    /// A copy of `shared` for one session to hold. A session takes a
    /// reference to its context for every statement; on a context shared
    /// by every session that count is one cache line the worker threads
    /// pass back and forth. (The catalog and search path stay shared.)
    pub fn for_session(shared: &AnalysisContext) -> Arc<AnalysisContext> {
        Arc::new(shared.clone())
    }
}

/// What is known about a statement shape (see [`shape`]).
#[derive(Clone)]
enum ShapeEntry {
    /// Statements of this shape are analysed by filling the template;
    /// with the template's own analysis as a result ([`ShapeHit::canaries`]).
    Template(Arc<Template>, AnalysisResult),
    /// Statements of this shape are analysed from their text.
    Exact,
    /// Seen once: a template is learnt (one more analysis, of the canary
    /// text) when the shape comes back, so a stream of one-off statements
    /// costs one analysis each, not two.
    Seen,
}

/// One database's caches.
struct Caches {
    /// By exact text: any statement, a hit allocates nothing.
    exact: ClockCache<AnalysisResult>,
    /// By shape: statements whose literals differ from one seen before.
    shapes: ClockCache<ShapeEntry>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            exact: ClockCache::new(CACHE_ENTRIES, CACHE_KEY_BYTES),
            shapes: ClockCache::new(CACHE_ENTRIES, CACHE_KEY_BYTES),
        }
    }
}

/// A statement the caches did not have: whether it may be cached, its
/// shape, and what is known about that shape.
pub struct Miss {
    cacheable: bool,
    lifted: Option<Lifted>,
    known: Option<ShapeEntry>,
}

/// What a decision about an analysis holds for: this very analysis (from
/// the exact cache, or analysed from the text), or every analysis filled
/// from one template (the same statement but for the literal values of
/// its occurrences), when the decision reads no such value
/// ([`crate::policy::Policy::reads_values`]).
#[derive(Clone)]
pub enum Source {
    Analysis(AnalysisResult),
    Template(Arc<Template>),
}

impl Source {
    /// Whether the two are the same analysis, or the same template.
    pub fn same(&self, other: &Source) -> bool {
        match (self, other) {
            (Source::Analysis(a), Source::Analysis(b)) => Arc::ptr_eq(a, b),
            (Source::Template(a), Source::Template(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A statement's analysis as a session looks it up: ready, or a shape
/// hit whose literal values are not filled in yet.
pub enum Lookup {
    Ready(AnalysisResult, Source),
    Shape(ShapeHit),
}

/// A statement whose shape has a template, its literals lifted but not
/// filled in ([`Analyzer::fill`] does that). A session that carries out
/// again a decision it made about the template, one its policy made
/// without reading any literal value ([`crate::policy::Policy::reads_values`]),
/// needs nothing of them, and records the statement with the template's
/// own analysis instead ([`ShapeHit::canaries`]): no copy of the analysis
/// is made and freed for the statement.
pub struct ShapeHit {
    template: Arc<Template>,
    canaries: AnalysisResult,
    lifted: Lifted,
    cacheable: bool,
}

impl ShapeHit {
    /// What a decision about the statement holds for: the template.
    pub fn source(&self) -> Source {
        Source::Template(self.template.clone())
    }

    /// The template's own analysis (of the canary text): the statement's
    /// facts, the very records every analysis filled from the template
    /// shares (classes, relations, columns, risk, fingerprint), but the
    /// canaries' literal values in its occurrences. Never to be decided
    /// on: only for what reads no literal value.
    pub fn canaries(&self) -> &AnalysisResult {
        &self.canaries
    }
}

/// How a statement's analysis was found, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Exact,
    Shape,
    Analysed,
}

/// One shard's caches by database, on cache lines of its own.
#[derive(Default)]
#[repr(align(128))]
struct Shard(Mutex<foldhash::HashMap<String, Caches>>);

impl Shard {
    fn lock(&self) -> std::sync::MutexGuard<'_, foldhash::HashMap<String, Caches>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The calling thread's shard: threads take shards in turn as they first
/// analyse, and keep theirs.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

/// Analyses by database, then by statement text or shape.
#[derive(Default)]
pub struct Analyzer {
    shards: [Shard; SHARDS],
    /// Analyses of older generations (older catalogs) are not cached.
    generation: AtomicU64,
}

impl Analyzer {
    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// Looks in `ctx`'s database's caches of this thread's shard; `None`
    /// when there are none, and when `ctx` is not of the generation the
    /// caches hold (a session that has not moved to the newest rules
    /// yet analyses from the text).
    fn with_caches<T>(&self, ctx: &AnalysisContext, f: impl FnOnce(&mut Caches) -> T) -> Option<T> {
        if !self.holds(ctx.generation) {
            return None;
        }
        self.shard().lock().get_mut(&ctx.database).map(f)
    }

    /// Whether the caches hold analyses of `generation`.
    fn holds(&self, generation: u64) -> bool {
        let current = self.generation.load(Ordering::Acquire);
        current == 0 || current == generation
    }

    /// Forgets every cached analysis: the catalogs changed. The generation
    /// moves first, so that no analysis of the old one is stored into a
    /// shard after it was cleared.
    pub fn reset(&self, generation: u64) {
        self.generation.store(generation, Ordering::Release);
        for shard in &self.shards {
            shard.lock().clear();
        }
    }

    /// Stores into `database`'s caches, unless the generation moved on.
    fn store(&self, generation: u64, database: &str, f: impl FnOnce(&mut Caches)) {
        let mut cache = self.shard().lock();
        if !self.holds(generation) {
            return;
        }
        let caches = match cache.get_mut(database) {
            Some(c) => c,
            None => cache.entry(database.to_owned()).or_default(),
        };
        f(caches);
    }

    /// Analyses `sql`, from the caches when possible.
    pub async fn analyze(&self, ctx: &AnalysisContext, sql: &str) -> AnalysisResult {
        self.analyze_found(ctx, sql).await.0
    }

    /// [`Analyzer::analyze`], and how the analysis was found.
    pub async fn analyze_found(&self, ctx: &AnalysisContext, sql: &str) -> (AnalysisResult, Found) {
        match self.cached(ctx, sql) {
            Ok(hit) => hit,
            Err(miss) => self.analyze_missed(ctx, sql, miss).await,
        }
    }

    /// The analysis of `sql` from the caches, without waiting: an exact
    /// hit, or a shape hit filled from its template. On a miss, what the
    /// full analysis needs to know to fill the caches.
    pub fn cached(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
    ) -> Result<(AnalysisResult, Found), Miss> {
        self.cached_sourced(ctx, sql)
            .map(|(result, found, _)| (result, found))
    }

    /// [`Analyzer::analyze`], and what a decision about the analysis
    /// holds for.
    pub async fn analyze_sourced(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
    ) -> (AnalysisResult, Source) {
        match self.lookup(ctx, sql).await {
            Lookup::Ready(result, source) => (result, source),
            Lookup::Shape(hit) => self.fill(ctx, sql, hit).await,
        }
    }

    /// [`Analyzer::analyze_sourced`], leaving a shape hit's literals to be
    /// filled in by [`Analyzer::fill`] when they are needed.
    pub async fn lookup(&self, ctx: &AnalysisContext, sql: &str) -> Lookup {
        match self.cached_lookup(ctx, sql) {
            Ok(found) => found,
            Err(miss) => {
                let (result, source) = self.analysed(ctx, sql, miss).await;
                Lookup::Ready(result, source)
            }
        }
    }

    /// The analysis of `hit`, the shape hit of `sql`: its template filled
    /// with its literals (or, should they not fit, analysed from the text).
    pub async fn fill(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
        hit: ShapeHit,
    ) -> (AnalysisResult, Source) {
        match Self::filled(hit, sql) {
            Ok((result, _, source)) => (result, source),
            Err(miss) => self.analysed(ctx, sql, miss).await,
        }
    }

    /// `sql` analysed from its text, as a decision about it holds for.
    async fn analysed(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
        miss: Miss,
    ) -> (AnalysisResult, Source) {
        let (result, _) = self.analyze_missed(ctx, sql, miss).await;
        let source = Source::Analysis(result.clone());
        (result, source)
    }

    fn cached_sourced(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
    ) -> Result<(AnalysisResult, Found, Source), Miss> {
        match self.cached_lookup(ctx, sql)? {
            Lookup::Ready(hit, source) => Ok((hit, Found::Exact, source)),
            Lookup::Shape(hit) => Self::filled(hit, sql),
        }
    }

    /// An exact hit, or a shape hit not filled in yet.
    fn cached_lookup(&self, ctx: &AnalysisContext, sql: &str) -> Result<Lookup, Miss> {
        let cacheable = sql.len() <= CACHED_SQL_BYTES && sql.len() <= ctx.limits.max_sql_bytes;
        let lift = || {
            cacheable
                .then(|| shape::lift(sql).filter(|l| !l.is_empty()))
                .flatten()
        };
        // Both caches under one lock (the shard is this thread's).
        let cached = self.with_caches(ctx, |c| match c.exact.get(sql) {
            Some(hit) => Err(hit),
            None => {
                let lifted = lift();
                let known = lifted.as_ref().and_then(|l| c.shapes.get(l.key.as_str()));
                Ok((lifted, known))
            }
        });
        let (lifted, known) = match cached {
            Some(Err(hit)) => {
                let source = Source::Analysis(hit.clone());
                return Ok(Lookup::Ready(hit, source));
            }
            Some(Ok(found)) => found,
            None => (lift(), None),
        };
        match (lifted, known) {
            (Some(lifted), Some(ShapeEntry::Template(template, canaries))) => {
                Ok(Lookup::Shape(ShapeHit {
                    template,
                    canaries,
                    lifted,
                    cacheable,
                }))
            }
            (lifted, known) => Err(Miss {
                cacheable,
                lifted,
                known,
            }),
        }
    }

    /// `hit` filled in; a miss to analyse from the text if its literals
    /// do not fit the template.
    fn filled(hit: ShapeHit, sql: &str) -> Result<(AnalysisResult, Found, Source), Miss> {
        match hit.template.fill(&hit.lifted, sql) {
            Some(analysis) => {
                let source = Source::Template(hit.template);
                Ok((Arc::new(Ok(analysis)), Found::Shape, source))
            }
            None => Err(Miss {
                cacheable: hit.cacheable,
                lifted: Some(hit.lifted),
                known: Some(ShapeEntry::Template(hit.template, hit.canaries)),
            }),
        }
    }

    /// Analyses `sql` from its text and fills the caches as `miss` says.
    async fn analyze_missed(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
        miss: Miss,
    ) -> (AnalysisResult, Found) {
        let Miss {
            cacheable,
            lifted,
            known,
        } = miss;
        let sql: Arc<str> = Arc::from(sql);
        let result = if sql.len() <= INLINE_SQL_BYTES {
            Arc::new(run(ctx, &sql))
        } else {
            run_on_big_stack(ctx.clone(), sql.clone()).await
        };
        let shape = match (&lifted, known) {
            (Some(_), None) => Some(ShapeEntry::Seen),
            (Some(l), Some(ShapeEntry::Seen)) => {
                Some(self.learn_shape(ctx, &sql, l, &result).await)
            }
            _ => None,
        };
        if cacheable {
            let key = lifted.map(|l| Arc::<str>::from(l.key));
            self.store(ctx.generation, &ctx.database, |c| {
                c.exact.insert(sql, result.clone());
                if let (Some(key), Some(entry)) = (key, shape) {
                    c.shapes.insert(key, entry);
                }
            });
        }
        (result, Found::Analysed)
    }

    /// What the shape of `sql`, analysed as `result`, is: a template
    /// when one can be derived (one more analysis, of the canary text).
    async fn learn_shape(
        &self,
        ctx: &AnalysisContext,
        sql: &str,
        lifted: &Lifted,
        result: &AnalysisResult,
    ) -> ShapeEntry {
        let Ok(analysis) = result.as_ref() else {
            return ShapeEntry::Exact;
        };
        let canary: Arc<str> = Arc::from(lifted.canary_text(sql));
        let canaries = if canary.len() <= INLINE_SQL_BYTES {
            Arc::new(run(ctx, &canary))
        } else {
            run_on_big_stack(ctx.clone(), canary).await
        };
        match canaries.as_ref() {
            Ok(c) => match Template::derive(lifted, sql, analysis, c) {
                Some(t) => ShapeEntry::Template(Arc::new(t), canaries.clone()),
                None => ShapeEntry::Exact,
            },
            Err(_) => ShapeEntry::Exact,
        }
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

    #[tokio::test]
    async fn a_statement_whose_literals_differ_is_a_shape_hit() {
        let analyzer = Analyzer::default();
        let ctx = ctx(1 << 20);
        let sql = |n: u32| format!("SELECT name FROM customers WHERE id = {n} AND name = 'x{n}'");
        // Seen once, then learnt the second time.
        for n in 1..3 {
            let (first, found) = analyzer.analyze_found(&ctx, &sql(n)).await;
            assert_eq!(found, Found::Analysed);
            assert!(first.is_ok());
        }
        for n in 3..50 {
            let (hit, found) = analyzer.analyze_found(&ctx, &sql(n)).await;
            assert_eq!(found, Found::Shape, "{}", sql(n));
            assert_eq!(*hit, run(&ctx, &sql(n)), "{}", sql(n));
        }
        let (_, found) = analyzer.analyze_found(&ctx, &sql(1)).await;
        assert_eq!(found, Found::Exact);
    }

    #[tokio::test]
    async fn only_a_context_of_the_generation_the_caches_hold_uses_them() {
        let analyzer = Analyzer::default();
        let old = ctx(1 << 20);
        let sql = "SELECT name FROM customers WHERE id = 1";
        analyzer.analyze(&old, sql).await;
        assert_eq!(analyzer.analyze_found(&old, sql).await.1, Found::Exact);
        // A reload: a session still on the old generation analyses from
        // the text and stores nothing; one on the new finds nothing of
        // the old.
        analyzer.reset(old.generation + 1);
        for _ in 0..2 {
            assert_eq!(analyzer.analyze_found(&old, sql).await.1, Found::Analysed);
        }
        let new = AnalysisContext {
            generation: old.generation + 1,
            ..old.clone()
        };
        assert_eq!(analyzer.analyze_found(&new, sql).await.1, Found::Analysed);
        assert_eq!(analyzer.analyze_found(&new, sql).await.1, Found::Exact);
    }

    #[tokio::test]
    async fn shapes_that_judge_their_literals_are_analysed_from_text() {
        let analyzer = Analyzer::default();
        let ctx = ctx(1 << 20);
        for sql in [
            "SELECT set_config('search_path', 'a', false)",
            "SELECT set_config('search_path', 'b', false)",
            "SELECT id FROM customers WHERE 1 = 2",
            "SELECT id FROM customers WHERE 1 = 1",
            "SELECT set_config('search_path', 'c', false)",
            "SELECT id FROM customers WHERE 1 = 3",
            "SET statement_timeout = 10",
            "SET statement_timeout = 20",
            "SET statement_timeout = 30",
        ] {
            let (result, found) = analyzer.analyze_found(&ctx, sql).await;
            assert_eq!(found, Found::Analysed, "{sql}");
            assert_eq!(*result, run(&ctx, sql), "{sql}");
        }
    }
}
