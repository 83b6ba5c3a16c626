//! Raw extended-protocol pipelines of the row-limited agent, with errors
//! raised by the server (a division by zero, an unknown portal) before a
//! simple Query that PostgreSQL ignores until Sync. Every reply stream is
//! compared, message by message, with what PostgreSQL sends for it.

use crate::ordinary::{MAX_ROWS, PIPELINE};
use crate::raw::{self, Message, RawConn, RawError, bind, execute, parse, query, shape, sync};
use crate::{Ctx, Rng};
use std::sync::Arc;
use std::time::Duration;

/// Fails in the server when executed.
const EXEC_ERROR: &str = "SELECT id / (id - id) FROM orders";
/// Over the row limit (200 rows).
const OVER_LIMIT: &str = "SELECT id FROM orders ORDER BY id";
const ROWS: &str = "SELECT id FROM orders ORDER BY id LIMIT 3";
const DENIED: &str = "SELECT email FROM customers";

/// What the first ErrorResponse of a reply must say.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    /// No actgate denial.
    Allow,
    /// Refused by actgate for this reason.
    Refuse(&'static str),
    /// An error raised by the server (not a denial) with this SQLSTATE.
    ServerError(&'static str),
    /// Only the shape is checked.
    Any,
}

struct Scenario {
    /// What it is, for the findings' labels.
    kind: &'static str,
    name: String,
    bytes: Vec<u8>,
    expected: Vec<String>,
    statements: u64,
    verdict: Verdict,
}

fn shape_of(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn rows(n: usize) -> Vec<String> {
    vec!["D".to_owned(); n]
}

fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A scenario of client `id` (its UPDATEs touch only its own rows).
fn pick(rng: &mut Rng, id: u32) -> Scenario {
    let capped_over = crate::update(id, 4);
    let capped_ok = crate::update(id, 2);
    let limited = || {
        let mut s = shape_of(&["1", "2"]);
        s.extend(rows(MAX_ROWS));
        s.extend(shape_of(&["E", "ZI"]));
        s
    };
    match rng.below(10) {
        0..=2 => {
            // The sequence: a server error without Sync, a Query
            // the server ignores, then Sync.
            let ignored = [OVER_LIMIT, &capped_over, DENIED, ROWS][rng.below(4)];
            Scenario {
                kind: "server error, ignored Query, Sync",
                name: format!("server error, then ignored Query {ignored:?}, then Sync"),
                bytes: concat(&[parse(EXEC_ERROR), bind(), execute(), query(ignored), sync()]),
                expected: shape_of(&["1", "2", "E", "ZI"]),
                statements: 2,
                verdict: Verdict::ServerError("22012"),
            }
        }
        3 => Scenario {
            kind: "no portal, ignored Query, Sync",
            name: "Execute of no portal, ignored Query, Sync".into(),
            bytes: concat(&[execute(), query(OVER_LIMIT), sync()]),
            expected: shape_of(&["E", "ZI"]),
            statements: 1,
            verdict: Verdict::ServerError("34000"),
        },
        4 => {
            let mut expected = shape_of(&["T"]);
            expected.extend(rows(MAX_ROWS));
            expected.extend(shape_of(&["E", "ZI"]));
            Scenario {
                kind: "simple over the row limit",
                name: "simple Query over the row limit".into(),
                bytes: query(OVER_LIMIT),
                expected,
                statements: 1,
                verdict: Verdict::Refuse("row_limit_exceeded"),
            }
        }
        5 => Scenario {
            kind: "extended over the row limit",
            name: "extended over the row limit".into(),
            bytes: concat(&[parse(OVER_LIMIT), bind(), execute(), sync()]),
            expected: limited(),
            statements: 1,
            verdict: Verdict::Refuse("row_limit_exceeded"),
        },
        6 => {
            let extended = rng.below(2) == 0;
            Scenario {
                kind: "denied",
                name: format!("denied (extended: {extended})"),
                bytes: if extended {
                    concat(&[parse(DENIED), bind(), execute(), sync()])
                } else {
                    query(DENIED)
                },
                expected: shape_of(&["E", "ZI"]),
                statements: 1,
                verdict: Verdict::Refuse("table_not_allowed"),
            }
        }
        7 => Scenario {
            kind: "simple within the limit",
            name: "simple Query within the limit".into(),
            bytes: query(ROWS),
            expected: shape_of(&["T", "D", "D", "D", "C", "ZI"]),
            statements: 1,
            verdict: Verdict::Allow,
        },
        8 => {
            let over = rng.below(2) == 0;
            Scenario {
                kind: "UPDATE and the write cap",
                name: format!("UPDATE, over the write cap: {over}"),
                bytes: query(if over { &capped_over } else { &capped_ok }),
                expected: shape_of(if over { &["E", "ZI"] } else { &["C", "ZI"] }),
                statements: 1,
                verdict: if over {
                    Verdict::Refuse("write_cap_exceeded")
                } else {
                    Verdict::Allow
                },
            }
        }
        _ => {
            // Three batches in one write: rows, a denial, over the limit.
            let mut expected = shape_of(&["1", "2", "D", "D", "D", "C", "ZI", "E", "ZI"]);
            expected.extend(limited());
            Scenario {
                kind: "three batches in one write",
                name: "three batches in one write".into(),
                bytes: concat(&[
                    parse(ROWS),
                    bind(),
                    execute(),
                    sync(),
                    query(DENIED),
                    parse(OVER_LIMIT),
                    bind(),
                    execute(),
                    sync(),
                ]),
                expected,
                statements: 3,
                verdict: Verdict::Any,
            }
        }
    }
}

/// Sends a scenario and reads one ReadyForQuery per Sync or Query that
/// the server answers.
async fn exchange(conn: &mut RawConn, s: &Scenario) -> Result<Vec<Message>, RawError> {
    conn.send(&s.bytes).await?;
    let readies = s.expected.iter().filter(|m| m.starts_with('Z')).count();
    let mut out = Vec::new();
    for _ in 0..readies {
        out.extend(conn.until_ready().await?);
    }
    Ok(out)
}

/// Checks a reply; returns whether the session is still in step.
fn check(ctx: &Ctx, id: u32, s: &Scenario, replies: &[Message]) -> bool {
    let stats = &ctx.stats;
    let data_rows = replies.iter().filter(|m| m.tag == b'D').count();
    let most = s
        .expected
        .iter()
        .filter(|m| *m == "D")
        .count()
        .max(MAX_ROWS);
    if data_rows > most {
        stats.rows_past_limit.add((data_rows - most) as u64);
        stats.sample(
            "rows past a limit",
            format!("pipeline {id}: {}: {data_rows} rows", s.name),
        );
    }
    let error = replies.iter().find_map(Message::error);
    let denial = error.as_ref().and_then(|e| e.denial_reason());
    match (s.verdict, &error) {
        (Verdict::Allow, _) if denial.is_some() => stats.wrong(
            &format!("pipeline: {}: allowed one refused", s.kind),
            format!(
                "pipeline {id}: {}: must be allowed, refused ({error:?})",
                s.name
            ),
        ),
        (Verdict::Allow, None) => stats.allowed_ok.inc(),
        (Verdict::Refuse(_), None) => stats.wrong(
            &format!("pipeline: {}: refused one allowed", s.kind),
            format!("pipeline {id}: {}: must be refused, allowed", s.name),
        ),
        (Verdict::Refuse(want), Some(e)) => match denial {
            Some(reason) if reason == want => stats.refused_ok.inc(),
            _ => {
                // Refused, but not as it must be: a stale reason, or the
                // server's error instead of actgate's.
                stats.refused_ok.inc();
                stats.unexpected(
                    &format!("pipeline: {}: refused with {}", s.kind, e.code),
                    format!(
                        "pipeline {id}: {}: refused with {} {:?} ({}), not {want}",
                        s.name, e.code, e.message, e.detail
                    ),
                );
            }
        },
        (Verdict::ServerError(code), Some(e)) if e.code != code => stats.unexpected(
            &format!("pipeline: {}: error {}", s.kind, e.code),
            format!(
                "pipeline {id}: {}: error {} {:?}, not {code}",
                s.name, e.code, e.message
            ),
        ),
        _ => {}
    }
    let got = shape(replies);
    if got != s.expected {
        stats.unexpected(
            &format!("pipeline: {}: reply stream", s.kind),
            format!(
                "pipeline {id}: {}: got {got:?}, PostgreSQL sends {:?}; errors {:?}",
                s.name,
                s.expected,
                replies
                    .iter()
                    .filter_map(Message::error)
                    .collect::<Vec<_>>()
            ),
        );
        return false;
    }
    true
}

/// One raw pipeline client until the deadline.
pub async fn client(ctx: Arc<Ctx>, id: u32) {
    let mut rng = Rng::new(0x9199_0000 + u64::from(id));
    while ctx.running() {
        let mut conn = match RawConn::login(ctx.addr, PIPELINE).await {
            Ok(c) => {
                ctx.stats.logins_ok.inc();
                c
            }
            Err(RawError::Hung) => {
                ctx.stats.hung("login", format!("pipeline {id}: login"));
                continue;
            }
            Err(e) => {
                let code = match &e {
                    RawError::Refused(e) => e.code.clone(),
                    other => format!("{other:?}"),
                };
                ctx.stats.login_refused(
                    &format!("raw login: {code}"),
                    format!("pipeline {id}: {e:?}"),
                );
                tokio::time::sleep(Duration::from_millis(200 + rng.below(800) as u64)).await;
                continue;
            }
        };
        for _ in 0..(20 + rng.below(150)) {
            if !ctx.running() {
                break;
            }
            let s = pick(&mut rng, id);
            ctx.stats.statements.add(s.statements);
            ctx.stats.pipelines.inc();
            match exchange(&mut conn, &s).await {
                Ok(replies) => {
                    if !check(&ctx, id, &s, &replies) {
                        break;
                    }
                }
                Err(RawError::Hung) => {
                    ctx.stats.hung(
                        &format!("pipeline: {}", s.kind),
                        format!("pipeline {id}: {}", s.name),
                    );
                    break;
                }
                Err(e) => {
                    let what = match &e {
                        RawError::Closed => "closed".to_owned(),
                        other => format!("{other:?}"),
                    };
                    ctx.stats.unexpected(
                        &format!(
                            "pipeline: {}: {}",
                            s.kind,
                            what.split(' ').next().unwrap_or_default()
                        ),
                        format!("pipeline {id}: {}: {what}", s.name),
                    );
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(rng.below(30) as u64)).await;
        }
        // A clean goodbye most of the time; sometimes just drop the socket.
        if rng.below(2) == 0 {
            let _ = conn.send(&raw::message(b'X', &[])).await;
        }
    }
}
