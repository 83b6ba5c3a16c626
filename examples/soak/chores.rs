//! What runs beside the clients: rules rewritten in slow chunks and
//! reloaded, and the audit log rotated; and the scan of the audit files.

use crate::Ctx;
use crate::stats::AuditTally;
use actgate::proxy::Gateway;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `[server] rules_settle_ms` of the soak.
pub const SETTLE_MS: u64 = 2_000;
/// How long an in-place writer pauses between its chunks: well under the
/// settle interval, as README ("Publishing rules") requires of writers
/// that do not rename.
const IN_PLACE_PAUSE: Duration = Duration::from_millis(150);
/// How long a renaming writer pauses: longer than the settle interval,
/// which must not matter.
const RENAMED_PAUSE: Duration = Duration::from_millis(2_500);
/// Between two rules writes.
const RELOAD_EVERY: Duration = Duration::from_secs(3);
/// Between two audit rotations.
const ROTATE_EVERY: Duration = Duration::from_secs(30);

/// The `guarded` agent's file in two chunks: customers readable without
/// `email`, cut just before its `columns` restriction. The first chunk
/// alone is valid TOML that would let the agent read every column.
pub fn guarded(verifier: &str, version: u64) -> (String, &'static str) {
    (
        format!(
            "# soak version {version}\n[agent]\nname = \"guarded\"\ndatabases = [\"shop\"]\n\
             {verifier}\n\n[policy]\nstatements = [\"read\"]\n\n[tables.customers]\n\
             operations = [\"select\"]\n"
        ),
        "columns = [\"id\", \"country\"]\n",
    )
}

fn sighup(gateway: &Arc<Gateway>) -> tokio::task::JoinHandle<()> {
    let g = gateway.clone();
    // What the SIGHUP handler runs (Gateway::reload_on_sighup), minus the
    // audit reopen, which the rotator asks for on its own schedule.
    tokio::spawn(async move {
        let _ = g.reload_rules("sighup").await;
    })
}

/// Rewrites guarded.toml every few seconds until the deadline: in place
/// in two chunks with a SIGHUP-equivalent reload between them, or into a
/// hidden file in two slow chunks and renamed into place (then reloaded
/// by SIGHUP or left to the watcher).
pub async fn reloader(ctx: Arc<Ctx>, gateway: Arc<Gateway>, rules: PathBuf, verifier: String) {
    let path = rules.join("guarded.toml");
    let mut version = 1;
    while ctx.running() {
        tokio::time::sleep(RELOAD_EVERY).await;
        if !ctx.running() {
            break;
        }
        version += 1;
        let (first, rest) = guarded(&verifier, version);
        let handle = tokio::runtime::Handle::current();
        let g = gateway.clone();
        let (path, tmp) = (path.clone(), rules.join(".guarded.toml.tmp"));
        let in_place = version % 2 == 0;
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
            let _enter = handle.enter();
            if in_place {
                let mut f = std::fs::File::create(&path)?;
                f.write_all(first.as_bytes())?;
                let started = Instant::now();
                let reload = sighup(&g);
                std::thread::sleep(IN_PLACE_PAUSE);
                f.write_all(rest.as_bytes())?;
                Ok((started.elapsed(), vec![reload]))
            } else {
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(first.as_bytes())?;
                let mut reloads = vec![sighup(&g)];
                std::thread::sleep(RENAMED_PAUSE);
                f.write_all(rest.as_bytes())?;
                drop(f);
                std::fs::rename(&tmp, &path)?;
                if version % 4 == 1 {
                    reloads.push(sighup(&g));
                }
                Ok((Duration::ZERO, reloads))
            }
        })
        .await;
        match written {
            Ok(Ok((paused, reloads))) => {
                if in_place {
                    ctx.stats.writes_in_place.inc();
                } else {
                    ctx.stats.writes_renamed.inc();
                }
                if paused >= Duration::from_millis(SETTLE_MS) {
                    ctx.stats.stalled_writes.inc();
                }
                ctx.stats.reload_requests.add(reloads.len() as u64);
                for r in reloads {
                    let _ = r.await;
                }
            }
            Ok(Err(e)) => ctx.stats.sample("rules write failed", e.to_string()),
            Err(e) => ctx.stats.sample("rules write failed", e.to_string()),
        }
    }
}

/// Rotates the audit log every [`ROTATE_EVERY`] until the deadline: renames
/// it, asks actgate to reopen (as SIGHUP does), waits until the new file
/// starts with `audit_log_reopened`, then scans the old one and deletes
/// it (the disk is small).
pub async fn rotator(ctx: Arc<Ctx>, gateway: Arc<Gateway>, audit: PathBuf) -> AuditTally {
    let mut tally = AuditTally::default();
    let mut n = 0;
    loop {
        let next = tokio::time::Instant::now() + ROTATE_EVERY;
        while ctx.running() && tokio::time::Instant::now() < next {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if !ctx.running() {
            return tally;
        }
        n += 1;
        let rotated = audit.with_extension(format!("jsonl.{n}"));
        if let Err(e) = std::fs::rename(&audit, &rotated) {
            ctx.stats.sample("audit rotation failed", e.to_string());
            continue;
        }
        gateway.audit.reopen();
        ctx.stats.rotations.inc();
        let mut seen = false;
        for _ in 0..100 {
            if first_event(&audit).as_deref() == Some("audit_log_reopened") {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !seen {
            ctx.stats.reopens_unseen.inc();
            // Scanned at the end instead, when the writer has stopped.
            continue;
        }
        let file = rotated.clone();
        let part = tokio::task::spawn_blocking(move || scan(&file))
            .await
            .unwrap_or_default();
        merge(&mut tally, part);
        let _ = std::fs::remove_file(&rotated);
    }
}

fn first_event(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    let v: serde_json::Value = serde_json::from_str(&line).ok()?;
    v["event"].as_str().map(str::to_owned)
}

pub fn merge(into: &mut AuditTally, part: AuditTally) {
    into.files += part.files;
    into.lines += part.lines;
    into.unreadable_lines += part.unreadable_lines;
    into.statement_events += part.statement_events;
    into.drops_recorded += part.drops_recorded;
    into.reopen_gaps += part.reopen_gaps;
    into.reopened_lines += part.reopened_lines;
    into.reload_failures += part.reload_failures;
    into.reload_failures_changing += part.reload_failures_changing;
    into.markers.extend(part.markers);
}

/// The marker `/* soak C.N */` of a statement's SQL.
fn marker(sql: &str) -> Option<u64> {
    let rest = sql.split_once("/* soak ")?.1;
    let (id, rest) = rest.split_once('.')?;
    let seq = rest.split_once(' ')?.0;
    Some((id.parse::<u64>().ok()? << 32) | seq.parse::<u64>().ok()?)
}

/// Tallies one audit file.
pub fn scan(path: &Path) -> AuditTally {
    let mut t = AuditTally::default();
    let Ok(file) = std::fs::File::open(path) else {
        return t;
    };
    t.files = 1;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let Ok(line) = line else { break };
        t.lines += 1;
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
            t.unreadable_lines += 1;
            continue;
        };
        let event = v["event"].as_str().unwrap_or_default();
        let count = v["count"].as_u64().unwrap_or(0);
        match event {
            "audit_events_dropped" => t.drops_recorded += count,
            "audit_log_reopened" => {
                t.reopened_lines += 1;
                t.reopen_gaps += count;
            }
            "rules_reload_failed" => {
                t.reload_failures += 1;
                if v["reason"] == "rules_still_changing" {
                    t.reload_failures_changing += 1;
                }
            }
            e if e.starts_with("statement_") => {
                t.statement_events += 1;
                if let Some(m) = v["sql"].as_str().and_then(marker) {
                    t.markers.insert(m);
                }
            }
            _ => {}
        }
    }
    t
}
