//! The sentinel: how a refusal, or a failure actgate decided, is carried
//! out in the server's stream (a statement that fails to parse, whose
//! error is replaced on the way back), and actgate's own injected
//! statements.

use super::shared::{Marker, Shared, Swallow, lock};
use super::{Protocol, Relay};
use crate::policy::Denial;
use crate::protocol::backend::{ErrorFields, Severity, TransactionStatus};
use crate::protocol::{put_cstr, put_message};
use crate::proxy::stream::WriteHalf;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::atomic::Ordering;
use tokio::io::AsyncWriteExt;

/// The statement text of both sentinels: one quoted identifier. Postgres
/// reports a syntax error at position 1 while parsing it, before touching
/// any statement, portal or transaction state, and its log line reads
/// `syntax error at or near ""actgate refused a statement; see its audit
/// log""` (under 64 bytes: no truncation notice). Sentinels are sent only
/// where the server must take part (a transaction, an extended batch,
/// answers in flight); other refusals are answered without it.
pub(super) const SENTINEL_SQL: &str = "\"actgate refused a statement; see its audit log\"";
/// A named statement, because a failed Parse of the unnamed statement would
/// first drop the client's unnamed statement (which only the refusal of a
/// Parse of the unnamed statement does, as PostgreSQL would).
pub(super) const SENTINEL_STATEMENT: &str = "actgate_denied";
pub(super) const SENTINEL_SQLSTATE: &str = "42601";
/// The statement a probe closes: it never exists (closing a statement that
/// does not exist is no error), so the probe has no effect.
pub(super) const PROBE_STATEMENT: &str = "actgate_probe";

impl Relay<'_> {
    /// Sends one of actgate's own simple queries; its answers are not
    /// forwarded (but for errors and ReadyForQuery when `swallow` says so).
    pub(super) async fn inject(
        &self,
        upstream: &mut WriteHalf<'_>,
        shared: &Shared,
        sql: &str,
        swallow: Swallow,
    ) -> std::io::Result<u64> {
        let seq = shared.sent.fetch_add(1, Ordering::AcqRel) + 1;
        shared.swallow(seq, swallow);
        let mut out = BytesMut::new();
        put_message(&mut out, b'Q', |b| put_cstr(b, sql));
        upstream.write_all(&out).await?;
        Ok(seq)
    }

    /// Makes the server fail the current transaction or batch, as it would
    /// have after the error actgate reported, with a sentinel whose error
    /// (and, for a Query, ReadyForQuery) is not forwarded.
    pub(super) async fn fail_upstream(
        &self,
        upstream: &mut WriteHalf<'_>,
        shared: &Shared,
        protocol: Protocol,
    ) -> std::io::Result<()> {
        send_sentinel(upstream, shared, protocol, Bytes::new(), true).await
    }

    /// Sends the sentinel in place of a denied message and arranges for its
    /// error to be replaced by `denial`.
    ///
    /// A simple-protocol denial in a session with nothing in flight, no
    /// transaction, no extended message since the last Sync and no unnamed
    /// statement (which a Query drops) (`alone`) needs no server: actgate
    /// answers it itself (ErrorResponse, then ReadyForQuery idle), as
    /// PostgreSQL would, and the server's log stays clean.
    pub(super) async fn deny(
        &self,
        upstream: &mut WriteHalf<'_>,
        shared: &Shared,
        denial: &Denial,
        protocol: Protocol,
        alone: bool,
    ) -> std::io::Result<()> {
        let mut replacement = BytesMut::new();
        error_fields(denial).encode(&mut replacement);
        if alone && matches!(protocol, Protocol::Simple) && shared.idle() {
            put_message(&mut replacement, b'Z', |b| {
                b.put_u8(TransactionStatus::Idle.byte())
            });
            lock(&shared.local).extend_from_slice(&replacement);
            shared.local_ready.notify();
            return Ok(());
        }
        send_sentinel(upstream, shared, protocol, replacement.freeze(), false).await
    }
}

/// Sends the side-effect-free sentinel that fails to parse, in the place of
/// a refused message (or to fail the server's transaction or batch), and
/// records that its error is to be replaced by `replacement` (nothing:
/// swallowed). With `swallow_rfq`, a Query sentinel's ReadyForQuery is not
/// forwarded either.
pub(super) async fn send_sentinel(
    upstream: &mut WriteHalf<'_>,
    shared: &Shared,
    protocol: Protocol,
    replacement: Bytes,
    swallow_rfq: bool,
) -> std::io::Result<()> {
    let mut sentinel = BytesMut::new();
    let seq = match protocol {
        Protocol::Simple => {
            put_message(&mut sentinel, b'Q', |b| put_cstr(b, SENTINEL_SQL));
            let seq = shared.sent.fetch_add(1, Ordering::AcqRel) + 1;
            if swallow_rfq {
                shared.swallow(seq, Swallow::Ready);
            }
            seq
        }
        Protocol::Extended | Protocol::UnnamedParse => {
            let name = match protocol {
                Protocol::UnnamedParse => "",
                _ => SENTINEL_STATEMENT,
            };
            put_message(&mut sentinel, b'P', |b| {
                put_cstr(b, name);
                put_cstr(b, SENTINEL_SQL);
                b.put_i16(0);
            });
            shared.sent.load(Ordering::Acquire) + 1
        }
    };
    shared.markers.lock().push_back(Marker { seq, replacement });
    upstream.write_all(&sentinel).await
}

/// The ErrorResponse that carries a refusal to the agent: every refusal,
/// decided before a statement runs or while it runs, is sent this way.
pub(super) fn error_fields(denial: &Denial) -> ErrorFields {
    let fields = ErrorFields::new(Severity::Error, denial.sqlstate, denial.message.clone())
        .with_detail(denial.detail());
    match &denial.hint {
        Some(h) => fields.with_hint(h.clone()),
        None => fields,
    }
}
