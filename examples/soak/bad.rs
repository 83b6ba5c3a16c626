//! Bad clients: garbage, oversized messages (before and after login),
//! clients that never authenticate, and clients that go away in the
//! middle of a statement. actgate must close each of them (or, for the
//! ones that leave, notice) without ever leaving a read waiting.

use crate::ordinary::PIPELINE;
use crate::raw::{self, RawConn, RawError, bind, execute, parse, query};
use crate::{Ctx, Rng};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Random bytes instead of a startup message.
    Garbage,
    /// A startup message claiming 2 GiB.
    OversizedStartup,
    /// An 8 MiB SASL response before authentication.
    OversizedSasl,
    /// Connects, sends a startup message, never answers the SASL request.
    NeverAuthenticates,
    /// Connects and sends nothing at all.
    Silent,
    /// After login: a 4 MiB Query.
    OversizedQuery,
    /// After login: a message type that does not exist.
    UnknownMessage,
    /// After login: a statement, then gone without reading.
    LeavesMidStatement,
    /// After login: half a message, then gone.
    LeavesMidMessage,
    /// After login: a server error without Sync and a Query, then gone.
    LeavesMidBatch,
}

const KINDS: [Kind; 10] = [
    Kind::Garbage,
    Kind::OversizedStartup,
    Kind::OversizedSasl,
    Kind::NeverAuthenticates,
    Kind::Silent,
    Kind::OversizedQuery,
    Kind::UnknownMessage,
    Kind::LeavesMidStatement,
    Kind::LeavesMidMessage,
    Kind::LeavesMidBatch,
];

/// A message header claiming `len` bytes, and the first `send` of them.
fn oversized(tag: u8, len: u32, send: usize) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend(std::iter::repeat_n(b'x', send));
    out
}

/// Runs one bad client; `Err(Hung)` if actgate left a read waiting.
async fn run(ctx: &Ctx, id: u32, kind: Kind, rng: &mut Rng) -> Result<(), RawError> {
    let addr = ctx.addr;
    match kind {
        Kind::Garbage => {
            let mut conn = RawConn::connect(addr).await?;
            let junk: Vec<u8> = (0..1 + rng.below(300))
                .map(|_| rng.below(256) as u8)
                .collect();
            // actgate may close before all of it is written.
            let _ = conn.send(&junk).await;
            conn.until_closed().await
        }
        Kind::OversizedStartup => {
            let mut conn = RawConn::connect(addr).await?;
            let mut msg = 0x7fff_fff0u32.to_be_bytes().to_vec();
            msg.extend_from_slice(&196_608u32.to_be_bytes());
            msg.extend(std::iter::repeat_n(b'u', 4096));
            let _ = conn.send(&msg).await;
            conn.until_closed().await
        }
        Kind::OversizedSasl => {
            let mut conn = RawConn::connect(addr).await?;
            conn.startup(PIPELINE.0).await?;
            conn.auth_request().await?;
            let _ = conn.send(&oversized(b'p', 8 << 20, 64 * 1024)).await;
            conn.until_closed().await
        }
        Kind::NeverAuthenticates => {
            let mut conn = RawConn::connect(addr).await?;
            conn.startup(PIPELINE.0).await?;
            conn.until_closed().await
        }
        Kind::Silent => {
            let mut conn = RawConn::connect(addr).await?;
            conn.until_closed().await
        }
        _ => after_login(ctx, id, kind, rng).await,
    }
}

async fn after_login(ctx: &Ctx, id: u32, kind: Kind, rng: &mut Rng) -> Result<(), RawError> {
    let mut conn = RawConn::login(ctx.addr, PIPELINE).await?;
    ctx.stats.logins_ok.inc();
    match kind {
        Kind::OversizedQuery => {
            // An ordinary error, answered at once; the rest of the body is
            // thrown away unread, and the session goes on.
            ctx.stats.statements.add(2);
            let (len, sent) = (4usize << 20, 64 * 1024);
            conn.send(&oversized(b'Q', len as u32, sent)).await?;
            let first = conn.until_ready().await?;
            let e = first.iter().find_map(raw::Message::error);
            if e.as_ref().map(|e| e.code.as_str()) != Some("54000") {
                return Err(RawError::Protocol(format!(
                    "an oversized Query was answered with {:?}",
                    raw::shape(&first)
                )));
            }
            conn.send(&vec![b'x'; len - 4 - sent]).await?;
            let next = conn
                .until_ready_after(&query("SELECT id FROM orders ORDER BY id LIMIT 3"))
                .await?;
            if raw::shape(&next) != ["T", "D", "D", "D", "C", "ZI"] {
                return Err(RawError::Protocol(format!(
                    "after an oversized Query, a Query was answered with {:?}",
                    raw::shape(&next)
                )));
            }
            Ok(())
        }
        Kind::UnknownMessage => {
            let _ = conn.send(&raw::message(b'!', b"what")).await;
            conn.until_closed().await
        }
        Kind::LeavesMidStatement => {
            ctx.stats.statements.inc();
            let update = crate::update(id, 4);
            let sql = [
                "SELECT pg_sleep(0.2)",
                "SELECT id FROM orders ORDER BY id",
                &update,
            ][rng.below(3)];
            conn.send(&query(sql)).await
        }
        Kind::LeavesMidMessage => {
            let whole = query("SELECT id FROM orders ORDER BY id LIMIT 3");
            conn.send(&whole[..whole.len() / 2]).await
        }
        _ => {
            ctx.stats.statements.add(2);
            let out = [
                parse("SELECT id / (id - id) FROM orders"),
                bind(),
                execute(),
                query("SELECT id FROM orders ORDER BY id"),
            ]
            .concat();
            conn.send(&out).await?;
            if rng.below(2) == 0 {
                // Let the error arrive first, sometimes.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(())
        }
    }
}

/// One bad client until the deadline.
pub async fn client(ctx: Arc<Ctx>, id: u32) {
    let mut rng = Rng::new(0xbad0_0000 + u64::from(id));
    while ctx.running() {
        let kind = KINDS[rng.below(KINDS.len())];
        ctx.stats.bad_runs.inc();
        let label = format!("bad client: {kind:?}");
        match run(&ctx, id, kind, &mut rng).await {
            Ok(()) | Err(RawError::Closed) => {}
            Err(RawError::Hung) => ctx.stats.hung(
                &label,
                format!("bad client {id}: {kind:?}: actgate neither answered nor closed"),
            ),
            Err(RawError::Refused(e)) => ctx.stats.login_refused(
                &format!("{label}: {}", e.code),
                format!("bad client {id}: {kind:?}: {e:?}"),
            ),
            Err(RawError::Protocol(e)) => ctx
                .stats
                .unexpected(&label, format!("bad client {id}: {kind:?}: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(100 + rng.below(900) as u64)).await;
    }
}
