//! DBA tools that work from the audit log: `actgate replay` (what a
//! candidate rules set would decide differently about recorded
//! statements) and `actgate suggest` (a least-privilege policy proposed
//! from what an agent was seen doing).
//!
//! Both re-analyse the recorded SQL with [`crate::policy::analyze`] and
//! decide it with [`crate::policy::Policy::decide_prepared`], exactly as the
//! proxy does at Query/Parse: this module owns no policy logic. What
//! depends on time or traffic (budgets, time windows, row limits, write
//! caps, token expiry and revocation, Bind parameters) is not replayed;
//! such events are reported as not replayable, never skipped silently.

pub mod record;
pub mod replay;
pub mod suggest;

use crate::policy::analyze::{Analysis, AnalysisError, AnalysisLimits, analyze};
use crate::policy::catalog::Catalog;
use crate::policy::names::Resolver;
use crate::policy::{Capability, Policy, SessionState, Verdict};
use std::collections::HashMap;
use std::sync::Arc;

/// Denial reasons decided when a statement runs, after the policy allowed
/// it (budgets, windows, row limits, write caps, the token's state, an
/// operator's approval): replay cannot reproduce them, so it replays such
/// an event as a statement the policy allowed, and `suggest` does not use
/// it (the statement did not run).
pub const RUNTIME_REASONS: &[&str] = &[
    "rate_limited",
    "outside_time_window",
    "row_limit_exceeded",
    "row_limit_side_effects",
    "write_cap_exceeded",
    // Recorded by earlier versions, which refused capped Executes in a
    // transaction.
    "write_cap_in_transaction",
    "write_cap_partial_execute",
    "write_cap_multi_statement",
    "token_expired",
    "token_revoked",
    "token_check_failed",
    "approval_required",
    "approval_rejected",
    "approval_unavailable",
];

/// Stack for analysing recorded SQL: the audit log holds whatever agents
/// sent, and a deeply nested statement recurses in the analyser (the
/// proxy analyses long statements on a stack this size too). Reserved,
/// not committed.
const BIG_STACK_BYTES: usize = 1024 * 1024 * 1024;

/// Errors loading the live catalog for `--database`.
#[derive(Debug, thiserror::Error)]
pub enum CatalogLoadError {
    #[error(transparent)]
    Url(#[from] crate::explain::ExplainError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog_load::CatalogError),
}

/// Loads the live catalog of the database a `postgres://` URL names, as
/// `actgate explain --database-url` does; returns it keyed by database.
pub async fn load_catalog(
    url: &str,
    search_path: &[String],
) -> Result<HashMap<String, Arc<Catalog>>, CatalogLoadError> {
    let (mut cfg, db) = crate::explain::parse_url(url)?;
    cfg.search_path = search_path.join(",");
    let catalog = crate::catalog_load::load(&cfg, None, &db, 256 << 20).await?;
    Ok(HashMap::from([(db, Arc::new(catalog))]))
}

/// Analyses recorded SQL as the proxy would for `database`.
pub(crate) fn analyze_recorded(
    sql: &str,
    database: Option<&str>,
    search_path: &[String],
    catalogs: &HashMap<String, Arc<Catalog>>,
) -> Result<Analysis, AnalysisError> {
    let resolver = Resolver {
        search_path,
        catalog: catalog_for(database, catalogs),
        database,
    };
    analyze(sql, &resolver, AnalysisLimits::default())
}

/// The live catalog of the event's database, if it was loaded.
pub(crate) fn catalog_for<'a>(
    database: Option<&str>,
    catalogs: &'a HashMap<String, Arc<Catalog>>,
) -> Option<&'a Catalog> {
    database.and_then(|d| catalogs.get(d)).map(|c| c.as_ref())
}

/// The policy's decision at Query/Parse: [`Policy::decide_prepared`] (the
/// decision of a Parse: parameter conditions deferred to Bind, as a
/// recorded `$n` statement came from a Parse), read as
/// [`crate::policy::Decision::offline_verdict`] with approvals passing.
pub(crate) fn decide(
    policy: &Policy,
    analysis: &Result<Analysis, AnalysisError>,
    catalog: Option<&Catalog>,
    session: &SessionState,
    capability: Option<&dyn Capability>,
) -> Verdict {
    let situation = crate::policy::Situation::offline(catalog, session, capability);
    policy
        .decide_prepared(analysis, &situation)
        .offline_verdict(policy, None)
}

/// Runs `f` on a thread with a large stack (see [`BIG_STACK_BYTES`]).
pub(crate) fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("actgate-audit-tools".into())
            .stack_size(BIG_STACK_BYTES)
            .spawn_scoped(scope, f)
            .expect("starting the analysis thread");
        match handle.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
