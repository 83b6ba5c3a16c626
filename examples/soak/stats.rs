//! What the soak counts, and the final table.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples kept per kind of finding, for the report.
const SAMPLES: usize = 8;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters every client and chore writes to.
#[derive(Default)]
pub struct Stats {
    pub statements: Counter,
    pub allowed_ok: Counter,
    pub refused_ok: Counter,
    pub wrong_decisions: Counter,
    pub rows_past_limit: Counter,
    pub hung: Counter,
    pub unexpected: Counter,
    pub logins_ok: Counter,
    pub logins_refused: Counter,
    pub bad_runs: Counter,
    pub pipelines: Counter,
    pub writes_in_place: Counter,
    pub writes_renamed: Counter,
    /// In-place writes whose pause between chunks reached the settle
    /// interval (the machine stalled the writer): outside what actgate
    /// promises for files written in place.
    pub stalled_writes: Counter,
    pub reload_requests: Counter,
    pub rotations: Counter,
    pub reopens_unseen: Counter,
    /// Statements answered by actgate whose SQL carries a marker: each must
    /// be in the audit log (`client << 32 | seq`).
    pub answered: Mutex<HashSet<u64>>,
    samples: Mutex<Vec<(&'static str, String)>>,
    /// Bad findings by kind and short label.
    tally: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl Stats {
    /// Records a finding of `kind` with a description (a few are kept).
    pub fn sample(&self, kind: &'static str, what: String) {
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if s.iter().filter(|(k, _)| *k == kind).count() < SAMPLES {
            s.push((kind, what));
        }
    }

    /// Counts a bad finding under `label` and keeps a sample of it.
    fn finding(&self, kind: &'static str, label: &str, what: String) {
        *self
            .tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((kind, label.to_owned()))
            .or_default() += 1;
        self.sample(kind, what);
    }

    pub fn wrong(&self, label: &str, what: String) {
        self.wrong_decisions.inc();
        self.finding("wrong decision", label, what);
    }

    pub fn unexpected(&self, label: &str, what: String) {
        self.unexpected.inc();
        self.finding("unexpected reply", label, what);
    }

    pub fn hung(&self, label: &str, what: String) {
        self.hung.inc();
        self.finding("hung session", label, what);
    }

    pub fn login_refused(&self, label: &str, what: String) {
        self.logins_refused.inc();
        self.finding("login refused", label, what);
    }

    pub fn answered(&self, marker: u64) {
        self.answered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(marker);
    }

    pub fn samples(&self) -> Vec<(&'static str, String)> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// What the audit files held, summed over every rotated file and the last.
#[derive(Default, Debug)]
pub struct AuditTally {
    pub files: u64,
    pub lines: u64,
    pub unreadable_lines: u64,
    pub statement_events: u64,
    /// Sum of `count` of `audit_events_dropped` lines.
    pub drops_recorded: u64,
    /// Sum of `count` of `audit_log_reopened` lines (events that may have
    /// gone to a deleted file).
    pub reopen_gaps: u64,
    pub reopened_lines: u64,
    /// `rules_reload_failed` lines, and of those `rules_still_changing`.
    pub reload_failures: u64,
    pub reload_failures_changing: u64,
    pub markers: HashSet<u64>,
}

/// Everything measured outside the clients.
#[derive(Default)]
pub struct Figures {
    pub minutes: f64,
    pub clients: (usize, usize, usize),
    pub fds: (usize, usize, usize),
    pub sessions_left: usize,
    pub backends_left: i64,
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub generation: u64,
    pub rss_mb: (u64, u64, u64),
    pub log_lines: (u64, u64),
    pub audit_reopened: u64,
    pub audit_dropped: u64,
    pub audit_unreported: u64,
    pub audit_closed: bool,
    pub audit: AuditTally,
}

impl Figures {
    /// Marked statements that were answered but are not in the log.
    pub fn missing(&self, stats: &Stats) -> u64 {
        let answered = stats.answered.lock().unwrap_or_else(|p| p.into_inner());
        answered
            .iter()
            .filter(|m| !self.audit.markers.contains(m))
            .count() as u64
    }

    /// Lost audit events that no `audit_events_dropped` line accounts for.
    pub fn lost_unrecorded(&self, stats: &Stats) -> u64 {
        let recorded = self.audit.drops_recorded + self.audit.reopen_gaps;
        self.missing(stats).saturating_sub(recorded) + self.audit_unreported
    }

    pub fn fd_growth(&self) -> i64 {
        self.fds.2 as i64 - self.fds.0 as i64
    }
}

/// Prints the table; returns whether every bad counter is zero.
pub fn report(stats: &Stats, f: &Figures) -> bool {
    let answered = stats.answered.lock().map(|a| a.len()).unwrap_or(0) as u64;
    let missing = f.missing(stats);
    let lost = f.lost_unrecorded(stats);
    let bad = [
        ("wrong decisions", stats.wrong_decisions.get()),
        ("rows past a limit", stats.rows_past_limit.get()),
        ("hung sessions", stats.hung.get()),
        ("unexpected replies", stats.unexpected.get()),
        ("fd growth", f.fd_growth().max(0) as u64),
        ("upstream backends left", f.backends_left.max(0) as u64),
        ("sessions left", f.sessions_left as u64),
        ("audit events lost without a record", lost),
        ("unreadable audit lines", f.audit.unreadable_lines),
    ];
    let (ordinary, pipeline, bad_clients) = f.clients;
    println!();
    println!(
        "actgate soak: {:.1} min, {} clients ({ordinary} ordinary, {pipeline} raw pipelines, {bad_clients} bad)",
        f.minutes,
        ordinary + pipeline + bad_clients
    );
    let row = |name: &str, value: String| println!("  {name:<52} {value}");
    row("statements sent", stats.statements.get().to_string());
    row(
        "  allowed as expected / refused as expected",
        format!("{} / {}", stats.allowed_ok.get(), stats.refused_ok.get()),
    );
    row("  raw pipelines run", stats.pipelines.get().to_string());
    row("  bad-client runs", stats.bad_runs.get().to_string());
    row(
        "logins ok / refused",
        format!("{} / {}", stats.logins_ok.get(), stats.logins_refused.get()),
    );
    row("wrong decisions", stats.wrong_decisions.get().to_string());
    row(
        "rows past a limit (row-limited agent, > 5 rows)",
        stats.rows_past_limit.get().to_string(),
    );
    row(
        "hung sessions (a read waiting > 30 s)",
        stats.hung.get().to_string(),
    );
    row(
        "unexpected replies (not what PostgreSQL would send)",
        stats.unexpected.get().to_string(),
    );
    row(
        "fds: start / after warm-up / end",
        format!("{} / {} / {}", f.fds.0, f.fds.1, f.fds.2),
    );
    row("fd growth (end - start)", f.fd_growth().to_string());
    row(
        "RSS MB: start / after warm-up / end",
        format!("{} / {} / {}", f.rss_mb.0, f.rss_mb.1, f.rss_mb.2),
    );
    row(
        "sessions / upstream backends left at end",
        format!("{} / {}", f.sessions_left, f.backends_left),
    );
    row(
        "audit: marked statements answered / in the log",
        format!("{answered} / {}", answered - missing),
    );
    row(
        "audit: lines read (files) / statement events",
        format!(
            "{} ({}) / {}",
            f.audit.lines, f.audit.files, f.audit.statement_events
        ),
    );
    row(
        "audit: drops counted by actgate / recorded in the log",
        format!("{} / {}", f.audit_dropped, f.audit.drops_recorded),
    );
    row(
        "audit: unreported drops at close",
        format!(
            "{}{}",
            f.audit_unreported,
            if f.audit_closed {
                ""
            } else {
                " (log not closed)"
            }
        ),
    );
    row("audit events lost without a record", lost.to_string());
    row(
        "unreadable audit lines",
        f.audit.unreadable_lines.to_string(),
    );
    row(
        "rules writes: in place / by rename (stalled ≥ settle)",
        format!(
            "{} / {} ({})",
            stats.writes_in_place.get(),
            stats.writes_renamed.get(),
            stats.stalled_writes.get()
        ),
    );
    row(
        "rules reloads: ok / refused (still changing) / requested",
        format!(
            "{} / {} ({}) / {}",
            f.reloads_ok,
            f.reloads_failed,
            f.audit.reload_failures_changing,
            stats.reload_requests.get()
        ),
    );
    row("rules generation at end", f.generation.to_string());
    row(
        "audit rotations / reopens (not seen)",
        format!(
            "{} / {} ({})",
            stats.rotations.get(),
            f.audit_reopened,
            stats.reopens_unseen.get()
        ),
    );
    row(
        "actgate log: WARN / ERROR lines",
        format!("{} / {}", f.log_lines.0, f.log_lines.1),
    );
    let failed: Vec<_> = bad.iter().filter(|(_, v)| *v > 0).collect();
    println!(
        "  {:<52} {}",
        "result",
        if failed.is_empty() {
            "PASS".to_owned()
        } else {
            format!(
                "FAIL ({})",
                failed
                    .iter()
                    .map(|(n, v)| format!("{n}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let tally = stats.tally.lock().unwrap_or_else(|p| p.into_inner());
    if !tally.is_empty() {
        println!("\nby kind:");
        for ((kind, label), n) in tally.iter() {
            println!("  {n:>8}  {kind}: {label}");
        }
    }
    let samples = stats.samples();
    if !samples.is_empty() {
        println!("\nsamples:");
        for (kind, what) in samples {
            println!("  [{kind}] {what}");
        }
    }
    failed.is_empty()
}
