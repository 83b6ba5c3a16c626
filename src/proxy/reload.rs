//! Hot reload of the rules directory (and, on SIGHUP, the revocation list).
//!
//! A reload loads the whole directory again — and, when actgate runs
//! against the live database, the catalogs of every database the new rules
//! name — and checks it exactly as startup does. Only a set that loads
//! completely is swapped in, as one new [`super::Generation`]; sessions
//! pick it up at their next statement. A set that fails leaves the old one
//! in force and is reported in the log, the audit log, `/metrics`
//! (`actgate_rules_reload_failing`), `/readyz` and `actgate status`.
//!
//! Whatever starts it (the watcher, SIGHUP, `actgate reload`, `POST
//! /reload`), a reload loads the directory only once it has held still:
//! it reads every file, waits `server.rules_settle_ms`, reads them again,
//! and goes on only if nothing changed (names, sizes, times, contents). It
//! compiles the files as read, and reads them once more before swapping
//! the set in. A directory that changed meanwhile is not loaded: an
//! explicit reload reports it, the watcher tries again.

use super::Gateway;
use super::generation::{LoadError, compile_rules, load_catalogs};
use crate::audit::AuditEvent;
use crate::rules::RulesSnapshot;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::Ordering;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The next generation could not be loaded (as at startup).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The directory changed while it was being read or loaded: it is
    /// being written, and nothing was loaded.
    #[error(
        "rules directory {} is still changing ({files} changed {during}); nothing was loaded. \
         Publish rules by writing each file elsewhere (or as a hidden .name.toml) and renaming it into place",
        dir.display()
    )]
    StillChanging {
        dir: PathBuf,
        files: String,
        during: String,
    },
}

impl From<crate::rules::RulesError> for ReloadError {
    fn from(e: crate::rules::RulesError) -> Self {
        ReloadError::Load(LoadError::Rules(e))
    }
}

impl ReloadError {
    fn still_changing(before: &RulesSnapshot, after: &RulesSnapshot, during: String) -> Self {
        let files = before.changed_files(after);
        ReloadError::StillChanging {
            dir: before.dir.clone(),
            files: if files.is_empty() {
                "its files".to_owned()
            } else {
                files.join(", ")
            },
            during,
        }
    }
}

/// A loaded rule set and its analysis contexts, ready to swap in.
type NextGeneration = (
    crate::rules::RuleSet,
    std::collections::HashMap<String, std::sync::Arc<super::analysis::AnalysisContext>>,
);

/// What `/status` and `/readyz` report about reloads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadStatus {
    /// The generation in force (1: as started).
    pub generation: u64,
    /// When it was loaded.
    pub loaded_at: Option<String>,
    pub agents: Vec<String>,
    pub last_attempt_at: Option<String>,
    /// Set while the last attempt failed: why.
    pub last_error: Option<String>,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    /// What started the last attempt: `watch`, `retry`, `sighup` or `admin`.
    pub last_trigger: Option<&'static str>,
    /// Whether a reload is waiting for the rules directory to hold still
    /// (`server.rules_settle_ms`) before it loads it.
    pub settling: bool,
}

/// Marks a reload as settling while it lives.
struct Settling<'a>(&'a Mutex<ReloadStatus>);

impl<'a> Settling<'a> {
    fn start(status: &'a Mutex<ReloadStatus>) -> Settling<'a> {
        status.lock().unwrap_or_else(|e| e.into_inner()).settling = true;
        Settling(status)
    }
}

impl Drop for Settling<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).settling = false;
    }
}

/// The reload bookkeeping of a gateway.
#[derive(Debug, Default)]
pub struct ReloadState {
    status: Mutex<ReloadStatus>,
    /// The rules directory's contents last tried (loaded or refused).
    fingerprint: Mutex<Option<[u8; 32]>>,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
}

impl ReloadState {
    /// The state of a gateway whose rules were just loaded.
    pub fn started() -> ReloadState {
        let state = ReloadState::default();
        state
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .loaded_at = Some(jiff::Timestamp::now().to_string());
        state
    }
}

impl Gateway {
    /// Records the rules directory's fingerprint taken before the rules in
    /// force were loaded, so the watcher sees any change made since.
    pub(crate) fn note_rules_fingerprint(&self, fingerprint: Option<[u8; 32]>) {
        *self
            .reload
            .fingerprint
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = fingerprint;
    }

    /// The reload status.
    pub fn reload_status(&self) -> ReloadStatus {
        let mut s = self
            .reload
            .status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let generation = self.generation();
        s.generation = generation.number;
        s.agents = generation.rules.agents().map(|a| a.name.clone()).collect();
        s
    }

    /// Loads the rules directory again once it holds still and, if it is
    /// valid, swaps it in. Returns the new generation's number.
    pub async fn reload_rules(&self, trigger: &'static str) -> Result<u64, ReloadError> {
        let _one = self.reload.running.lock().await;
        let dir = self.config.rules_dir.clone();
        if trigger == "watch" && self.tried_is_current() {
            // Loaded (or refused) by another trigger while this one waited.
            return Ok(self.generation().number);
        }
        let result = match self.settled_load().await {
            Err(e @ ReloadError::StillChanging { .. }) if matches!(trigger, "watch" | "retry") => {
                // Someone is writing: the watcher tries again at its next poll.
                tracing::info!(error = %e, trigger, "rules directory still changing; reload postponed");
                return Err(e);
            }
            other => other,
        };
        let now = jiff::Timestamp::now().to_string();
        let mut status = self.reload.status.lock().unwrap_or_else(|e| e.into_inner());
        status.last_attempt_at = Some(now.clone());
        status.last_trigger = Some(trigger);
        match result {
            Ok((rules, contexts)) => {
                let agents = rules.agents().count();
                self.install(std::sync::Arc::new(rules), contexts);
                let generation = self.generation().number;
                status.loaded_at = Some(now);
                status.last_error = None;
                status.reloads_ok += 1;
                drop(status);
                self.metrics.reloads_ok.fetch_add(1, Ordering::Relaxed);
                self.metrics.reload_failing.store(0, Ordering::Relaxed);
                tracing::info!(generation, agents, trigger, "rules reloaded");
                self.audit.record(&AuditEvent {
                    event: "rules_reloaded",
                    message: Some(
                        format!(
                            "generation {generation}: {agents} agents from {} ({trigger})",
                            dir.display()
                        )
                        .into(),
                    ),
                    count: Some(generation),
                    ..Default::default()
                });
                Ok(generation)
            }
            Err(e) => {
                status.last_error = Some(e.to_string());
                status.reloads_failed += 1;
                drop(status);
                self.metrics.reloads_failed.fetch_add(1, Ordering::Relaxed);
                self.metrics.reload_failing.store(1, Ordering::Relaxed);
                tracing::error!(error = %e, trigger, "rules reload failed; the previous rules stay in force");
                self.audit.record(&AuditEvent {
                    event: "rules_reload_failed",
                    reason: matches!(e, ReloadError::StillChanging { .. })
                        .then_some("rules_still_changing"),
                    message: Some(e.to_string().into()),
                    ..Default::default()
                });
                Err(e)
            }
        }
    }

    /// Waits for the rules directory to hold still, loads it, and checks
    /// that what was loaded is still what is there. Notes the contents
    /// tried, for the watcher (none when they were still changing or could
    /// not be read: the watcher then tries again).
    async fn settled_load(&self) -> Result<NextGeneration, ReloadError> {
        let dir = &self.config.rules_dir;
        let read = || RulesSnapshot::read(dir).inspect_err(|_| self.note_rules_fingerprint(None));
        let settle = self.config.rules_settle;
        let first = read()?;
        {
            let _settling = Settling::start(&self.reload.status);
            tokio::time::sleep(settle).await;
        }
        let second = read()?;
        if second != first {
            self.note_rules_fingerprint(None);
            return Err(ReloadError::still_changing(
                &first,
                &second,
                format!("during the {} ms settle interval", settle.as_millis()),
            ));
        }
        self.note_rules_fingerprint(Some(second.fingerprint()));
        let next = self.load_generation(&second).await?;
        let after = read()?;
        if after != second {
            self.note_rules_fingerprint(None);
            return Err(ReloadError::still_changing(
                &second,
                &after,
                "while it was loaded".to_owned(),
            ));
        }
        Ok(next)
    }

    /// Whether the rules directory holds what was last tried.
    fn tried_is_current(&self) -> bool {
        let tried = *self
            .reload
            .fingerprint
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        tried.is_some()
            && RulesSnapshot::read(&self.config.rules_dir)
                .ok()
                .map(|s| s.fingerprint())
                == tried
    }

    /// The next rules and catalogs, compiled from `snapshot` and checked
    /// as at startup.
    async fn load_generation(
        &self,
        snapshot: &RulesSnapshot,
    ) -> Result<NextGeneration, ReloadError> {
        let catalogs = if self.online {
            load_catalogs(&self.config, self.upstream_tls.as_ref(), snapshot).await?
        } else {
            std::collections::HashMap::new()
        };
        let rules = compile_rules(&self.config, snapshot, &catalogs)?;
        let limits = crate::policy::analyze::AnalysisLimits {
            max_sql_bytes: self.config.limits.max_sql_bytes,
            ..Default::default()
        };
        let contexts = super::generation::contexts_for(catalogs, &self.search_path, limits, 0);
        Ok((rules, contexts))
    }

    /// Reloads the rules whenever the directory's `*.toml` files change
    /// (polled every `server.rules_poll_ms`). The reload itself waits for
    /// the directory to hold still; while it does not, it is tried again at
    /// the next poll.
    pub async fn watch_rules(self: std::sync::Arc<Self>) {
        let Some(every) = self.config.rules_poll else {
            return;
        };
        let dir = self.config.rules_dir.clone();
        // A reload that failed because a database could not be reached is
        // retried, with backoff, until it loads or the contents change.
        let base = (every * 5).max(std::time::Duration::from_millis(100));
        let mut retry: Option<(tokio::time::Instant, std::time::Duration)> = None;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let seen = RulesSnapshot::read(&dir).ok().map(|s| s.fingerprint());
            let tried = *self
                .reload
                .fingerprint
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let (trigger, backoff) = if seen == tried {
                match retry {
                    Some((at, backoff))
                        if tokio::time::Instant::now() >= at
                            && self.reload_status().last_error.is_some() =>
                    {
                        ("retry", backoff)
                    }
                    Some(_) if self.reload_status().last_error.is_none() => {
                        // Reloaded meanwhile (SIGHUP, admin).
                        retry = None;
                        continue;
                    }
                    _ => continue,
                }
            } else {
                ("watch", base)
            };
            // Failures are reported by reload_rules.
            retry = match self.reload_rules(trigger).await {
                Err(ReloadError::Load(LoadError::Catalog(_))) => {
                    let next = (backoff * 2).min(std::time::Duration::from_secs(60));
                    Some((tokio::time::Instant::now() + backoff, next))
                }
                _ => None,
            };
        }
    }

    /// Reads the revocation file now (SIGHUP); a bad file keeps the list
    /// in force and is reported.
    pub fn reload_revocations(&self) -> Result<usize, crate::token::TokenError> {
        let Some(path) = self
            .config
            .tokens
            .as_ref()
            .and_then(|t| t.revocation_file.clone())
        else {
            return Ok(0);
        };
        match crate::token::RevocationList::load(&path) {
            Ok(list) => {
                let n = list.len();
                self.set_revocations(super::RevocationSource::File, list);
                tracing::info!(entries = n, "revocation list reloaded");
                Ok(n)
            }
            Err(e) => {
                tracing::error!(error = %e, "revocation list not reloaded; the previous list stays in force");
                self.audit.record(&AuditEvent {
                    event: "revocations_reload_failed",
                    message: Some(e.to_string().into()),
                    ..Default::default()
                });
                Err(e)
            }
        }
    }

    /// SIGHUP: reload the rules and the revocation list, and reopen the
    /// audit log (log rotation).
    #[cfg(unix)]
    pub async fn reload_on_sighup(self: std::sync::Arc<Self>) {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot install the SIGHUP handler; reload by editing the rules");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            self.audit.reopen();
            let _ = self.reload_revocations();
            let _ = self.reload_rules("sighup").await;
        }
    }
}
