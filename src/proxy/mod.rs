//! Sessions: one task per client. Startup and agent authentication,
//! the upstream connection, the message relay and cancel requests.
//!
//! The proxy carries out decisions ([`crate::policy::Decision`]); it never
//! makes policy decisions itself, and words no refusal.

mod admission;
pub mod analysis;
mod cancel;
mod capability;
mod clock_cache;
pub mod control_plane;
mod error;
pub mod generation;
pub mod health;
mod relay;
pub mod reload;
mod session;
mod shared_sync;
mod stream;
pub(crate) mod upstream;

pub use admission::{Admission, Slots};
pub use cancel::CancelRegistry;
pub use control_plane::{ControlPlane, ControlServices};
pub use error::SessionError;
pub use generation::Generation;
use generation::contexts_for;
pub use session::handle_connection;
pub use stream::MaybeTls;

use crate::audit::AuditLog;
use crate::config::Config;
use crate::controls::{Clock, MemoryStore, Suspension, Suspensions, SystemClock};
use crate::policy::analyze::AnalysisLimits;
use crate::policy::catalog::Catalog;
use crate::policy::{Policy, Verdict};
use crate::rules::RuleSet;
use analysis::{AnalysisContext, Analyzer};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// State shared by every session of one running actgate.
pub struct Gateway {
    pub config: Config,
    /// The rules in force and the catalogs they were checked against,
    /// swapped as one by a reload.
    generation: arc_swap::ArcSwap<Generation>,
    /// That generation's number, stored after it: what a session compares
    /// its own with before every message, one atomic load.
    generation_number: std::sync::atomic::AtomicU64,
    /// Announces every new generation's number.
    generations: tokio::sync::watch::Sender<u64>,
    /// Whether catalogs are loaded (and reloaded) from the database.
    online: bool,
    reload: reload::ReloadState,
    pub cancels: CancelRegistry,
    pub tls_acceptor: Option<TlsAcceptor>,
    pub upstream_tls: Option<TlsConnector>,
    pub analyzer: Analyzer,
    search_path: Arc<Vec<String>>,
    pub audit: Arc<AuditLog>,
    pub alerter: Arc<crate::alerts::Alerter>,
    /// Statements held for human approval (the store the control plane
    /// decides in).
    pub approvals: Arc<dyn crate::controls::ApprovalStore>,
    /// Keys capability tokens may be signed with.
    pub token_keys: Option<crate::token::PublicKeys>,
    revocations: tokio::sync::watch::Sender<Arc<crate::token::RevocationList>>,
    /// What the list in force is the union of: the revocation file's ids
    /// and the shared store's.
    revocation_sources: std::sync::Mutex<RevocationSources>,
    /// Key for the mock SCRAM salts of unknown agents.
    mock_key: [u8; 32],
    /// Suspensions, budgets, approvals and the clock they read.
    controls: ControlPlane,
    pub metrics: Arc<crate::metrics::Metrics>,
    sessions: std::sync::Mutex<std::collections::BTreeMap<u64, SessionInfo>>,
    /// The upstream server as last seen, for `/readyz`.
    upstream_health: health::UpstreamHealth,
    /// The shared state store, when `[state] store = "postgres"`.
    state: Option<Arc<crate::state::PgState>>,
}

/// A live agent session, for the admin endpoint.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub id: u64,
    pub agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub database: String,
    pub client_addr: String,
    pub started_at: String,
}

/// Removes a session from the registry when it ends.
pub struct SessionGuard<'a> {
    gateway: &'a Gateway,
    id: u64,
}

impl Drop for SessionGuard<'_> {
    fn drop(&mut self) {
        self.gateway
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.gateway
            .metrics
            .sessions_active
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What a [`Gateway`] is built from: the configuration, the rules and
/// catalogs loaded at startup, and the services already opened.
pub struct GatewayParts {
    pub config: Config,
    pub rules: RuleSet,
    /// The live catalog of every database the rules name; empty when
    /// actgate runs offline (then reloads load no catalogs either).
    pub catalogs: HashMap<String, Arc<Catalog>>,
    pub tls_acceptor: Option<TlsAcceptor>,
    pub upstream_tls: Option<TlsConnector>,
    pub audit: Arc<AuditLog>,
    pub alerter: crate::alerts::Alerter,
    pub token_keys: Option<crate::token::PublicKeys>,
    pub revocations: crate::token::RevocationList,
    /// The shared state store (`[state] store = "postgres"`); budgets are
    /// counted in memory without one.
    pub state: Option<Arc<crate::state::PgState>>,
}

/// Where revoked token ids come from.
#[derive(Debug, Clone, Copy)]
pub enum RevocationSource {
    /// `[tokens] revocation_file`.
    File,
    /// The shared `[state]` store (`actgate token revoke --config`).
    Store,
}

#[derive(Debug, Default)]
struct RevocationSources {
    file: crate::token::RevocationList,
    store: crate::token::RevocationList,
}

impl Gateway {
    pub fn new(parts: GatewayParts) -> Gateway {
        let GatewayParts {
            config,
            rules,
            catalogs,
            tls_acceptor,
            upstream_tls,
            audit,
            alerter,
            token_keys,
            revocations,
            state,
        } = parts;
        let search_path = Arc::new(config.upstream.search_path_list());
        let limits = AnalysisLimits {
            max_sql_bytes: config.limits.max_sql_bytes,
            ..AnalysisLimits::default()
        };
        let online = !catalogs.is_empty();
        let contexts = contexts_for(catalogs, &search_path, limits, 1);
        let alerter = Arc::new(alerter);
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let approvals: Arc<dyn crate::controls::ApprovalStore> = match &state {
            Some(s) => s.clone(),
            None => Arc::new(crate::controls::MemoryApprovals::default()),
        };
        let controls = ControlPlane::new(ControlServices {
            time_zone: config.time_zone.clone(),
            clock: Arc::new(SystemClock),
            budgets: match &state {
                Some(s) => s.clone(),
                None => Arc::new(MemoryStore::new()),
            },
            approvals: approvals.clone(),
            audit: audit.clone(),
            alerter: alerter.clone(),
            metrics: metrics.clone(),
            shared: state.clone(),
        });
        Gateway {
            config,
            generation: arc_swap::ArcSwap::from_pointee(Generation {
                number: 1,
                rules: Arc::new(rules),
                contexts,
            }),
            generation_number: std::sync::atomic::AtomicU64::new(1),
            generations: tokio::sync::watch::Sender::new(1),
            online,
            reload: reload::ReloadState::started(),
            cancels: CancelRegistry::default(),
            tls_acceptor,
            upstream_tls,
            analyzer: Analyzer::default(),
            search_path,
            audit,
            alerter,
            approvals,
            token_keys,
            revocation_sources: std::sync::Mutex::new(RevocationSources {
                file: revocations.clone(),
                store: Default::default(),
            }),
            revocations: tokio::sync::watch::Sender::new(Arc::new(revocations)),
            mock_key: rand::random(),
            controls,
            metrics,
            sessions: Default::default(),
            upstream_health: Default::default(),
            state,
        }
    }

    /// Registers a live session until the guard is dropped.
    pub fn register_session(&self, info: SessionInfo) -> SessionGuard<'_> {
        use std::sync::atomic::Ordering;
        self.metrics.sessions_total.fetch_add(1, Ordering::Relaxed);
        self.metrics.sessions_active.fetch_add(1, Ordering::Relaxed);
        let id = info.id;
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, info);
        SessionGuard { gateway: self, id }
    }

    /// The live sessions, oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The shared state store's health; `None` with the memory store.
    pub fn state_health(&self) -> Option<crate::state::StateHealth> {
        self.state.as_ref().map(|s| s.health())
    }

    /// `/metrics`.
    pub fn render_metrics(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let a = &self.alerter.stats;
        self.metrics.render(crate::metrics::Gauges {
            audit_dropped: self.audit.dropped(),
            audit_unreported: self.audit.unreported(),
            audit_failing: self.audit.health() != crate::audit::AuditHealth::Writing,
            audit_reopened: self.audit.reopened(),
            suspensions_active: self.suspensions().len(),
            approvals_pending: self
                .approvals()
                .iter()
                .filter(|a| a.state == crate::controls::ApprovalState::Pending)
                .count(),
            alerts: [
                a.queued.load(Relaxed),
                a.sent.load(Relaxed),
                a.failed.load(Relaxed),
                a.dropped.load(Relaxed),
            ],
            state_up: self.state_health().map(|h| h.up),
        })
    }

    /// The control plane: suspensions, budgets, approvals, the clock.
    pub fn controls(&self) -> &ControlPlane {
        &self.controls
    }

    /// See [`ControlPlane::suspensions`].
    pub fn suspensions(&self) -> Vec<Suspension> {
        self.controls.suspensions()
    }

    /// See [`ControlPlane::suspend`].
    pub fn suspend(
        &self,
        agent: &str,
        subject: Option<&str>,
        duration: jiff::SignedDuration,
        cause: String,
    ) -> Suspension {
        self.controls.suspend(agent, subject, duration, cause)
    }

    /// See [`ControlPlane::suspension`].
    pub fn suspension(&self, agent: &str, subject: Option<&str>) -> Option<Suspension> {
        self.controls.suspension(agent, subject)
    }

    /// See [`ControlPlane::subscribe_suspensions`].
    pub fn subscribe_suspensions(&self) -> tokio::sync::watch::Receiver<Arc<Suspensions>> {
        self.controls.subscribe_suspensions()
    }

    /// See [`ControlPlane::violation`].
    pub fn violation(&self, policy: &Policy, subject: Option<&str>) -> Option<Suspension> {
        self.controls.violation(policy, subject)
    }

    /// See [`ControlPlane::resume`].
    pub fn resume(&self, agent: &str, subject: Option<&str>) -> bool {
        self.controls.resume(agent, subject)
    }

    /// See [`ControlPlane::approvals`].
    pub fn approvals(&self) -> Vec<crate::controls::Approval> {
        self.controls.approvals()
    }

    /// See [`ControlPlane::decide_approval`].
    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<crate::controls::Approval, crate::controls::ApprovalError> {
        self.controls.decide_approval(id, approve, by).await
    }

    /// See [`ControlPlane::clock`].
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.controls.clock()
    }

    /// See [`ControlPlane::set_clock`].
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        self.controls.set_clock(clock)
    }

    /// See [`ControlPlane::charge_budgets`].
    pub async fn charge_budgets(
        &self,
        policy: &Policy,
        subject: Option<&str>,
        indices: &[usize],
    ) -> Verdict {
        self.controls.charge_budgets(policy, subject, indices).await
    }

    /// Replaces the revocation file's ids or the shared store's, and puts
    /// their union in force (sessions of newly revoked tokens end).
    pub fn set_revocations(&self, source: RevocationSource, list: crate::token::RevocationList) {
        let mut sources = self
            .revocation_sources
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match source {
            RevocationSource::File => sources.file = list,
            RevocationSource::Store => sources.store = list,
        }
        let union = sources.file.union(&sources.store);
        if *self.revocations.borrow().as_ref() != union {
            self.revocations.send_replace(Arc::new(union));
        }
    }

    /// The current revocation list.
    pub fn revocations(&self) -> Arc<crate::token::RevocationList> {
        self.revocations.borrow().clone()
    }

    /// Notified whenever the revocation list changes.
    pub fn subscribe_revocations(
        &self,
    ) -> tokio::sync::watch::Receiver<Arc<crate::token::RevocationList>> {
        self.revocations.subscribe()
    }

    /// Reloads the revocation file when it changes, until dropped. A file
    /// that cannot be read keeps the previous list (a bad file never
    /// replaces a good one).
    pub async fn watch_revocations(self: Arc<Self>) {
        let Some(tokens) = self.config.tokens.clone() else {
            return;
        };
        let Some(path) = tokens.revocation_file else {
            return;
        };
        let stamp = |p: &std::path::Path| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        };
        let mut last = stamp(&path);
        let mut tick = tokio::time::interval(tokens.revocation_poll);
        loop {
            tick.tick().await;
            let now = stamp(&path);
            if now == last {
                continue;
            }
            last = now;
            // Reported (log and audit) by reload_revocations; the list in
            // force stays.
            let _ = self.reload_revocations();
        }
    }

    /// The rule set new sessions authenticate against.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.generation.load().rules.clone()
    }

    /// The rules and catalogs in force.
    pub fn generation(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    /// The number of the generation in force (a session that sees a
    /// newer one than its own loads it with [`Gateway::generation`]).
    pub fn generation_number(&self) -> u64 {
        self.generation_number
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Notified with the number of every new generation.
    pub fn subscribe_generations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generations.subscribe()
    }

    /// Swaps in a complete, already validated rule set (the catalogs stay).
    pub fn replace_rules(&self, rules: RuleSet) {
        let current = self.generation.load();
        self.install(Arc::new(rules), current.contexts.clone());
    }

    /// Makes `rules` and `contexts` the next generation, atomically for
    /// every session's next statement.
    fn install(&self, rules: Arc<RuleSet>, contexts: HashMap<String, Arc<AnalysisContext>>) {
        let number = self.generation_number() + 1;
        let contexts = contexts
            .into_iter()
            .map(|(db, c)| {
                let mut c = (*c).clone();
                c.generation = number;
                (db, Arc::new(c))
            })
            .collect();
        self.generation.store(Arc::new(Generation {
            number,
            rules,
            contexts,
        }));
        // The caches are emptied before any session can move to the new
        // generation: none of them then finds an analysis of the old
        // catalogs.
        self.analyzer.reset(number);
        self.generation_number
            .store(number, std::sync::atomic::Ordering::Release);
        self.generations.send_replace(number);
    }

    /// What analyses for `database` depend on (its catalog, if loaded).
    pub fn analysis_context(&self, database: &str) -> Arc<AnalysisContext> {
        self.analysis_context_in(&self.generation(), database)
    }

    /// The analysis context for `database` in `generation`.
    pub fn analysis_context_in(
        &self,
        generation: &Generation,
        database: &str,
    ) -> Arc<AnalysisContext> {
        generation.context(
            database,
            &self.search_path,
            AnalysisLimits {
                max_sql_bytes: self.config.limits.max_sql_bytes,
                ..AnalysisLimits::default()
            },
        )
    }
}
