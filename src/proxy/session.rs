//! One client connection from its first byte to the start of the relay:
//! TLS negotiation, cancel requests, the StartupMessage, agent
//! authentication and the upstream connection. No upstream connection is
//! ever opened for a client that has not authenticated.

mod login;

use super::Gateway;
use super::admission::Admission;
use super::cancel::UpstreamKey;
use super::error::SessionError;
use super::relay::current::CurrentPolicy;
use super::relay::{Relay, SessionEnd};
use super::stream::MaybeTls;
use super::upstream::{self, UpstreamError};
use crate::audit::AuditEvent;
use crate::policy::Policy;
use crate::protocol::ProtocolError;
use crate::protocol::backend::{
    BackendMessage, ErrorFields, Severity, TransactionStatus, auth, encode_authentication,
    encode_backend_key_data, encode_ready_for_query,
};
use crate::protocol::startup::{MAX_STARTUP_PACKET_BYTES, Startup, StartupPacket, decode_startup};
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tracing::{Instrument, debug, info, info_span, warn};

/// Serves one accepted connection until it closes. It holds `admission`
/// (a slot for connections waiting to log in, traded for a session slot at
/// login) until then. `hard_stop` turns true when the server's shutdown
/// grace period is over.
pub async fn handle_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    gateway: Arc<Gateway>,
    admission: Admission,
    hard_stop: watch::Receiver<bool>,
) {
    let session_id = next_session_id();
    let span =
        info_span!("session", id = session_id, client = %peer, agent = tracing::field::Empty);
    async move {
        let _ = tcp.set_nodelay(true);
        match run(tcp, peer, session_id, &gateway, admission, hard_stop).await {
            Ok(end) => info!(reason = ?end, "session ended"),
            Err(e) => match &e {
                SessionError::ClientIo(_) | SessionError::StartupTimeout => {
                    debug!(error = %e, "session ended")
                }
                _ => warn!(error = %e, "session failed"),
            },
        }
    }
    .instrument(span)
    .await
}

fn next_session_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// What the startup phase produced.
struct Authenticated {
    agent: String,
    database: String,
    startup: Startup,
    policy: Arc<Policy>,
    token: Option<Arc<crate::token::VerifiedToken>>,
}

async fn run(
    tcp: TcpStream,
    peer: SocketAddr,
    session_id: u64,
    gateway: &Gateway,
    mut admission: Admission,
    hard_stop: watch::Receiver<bool>,
) -> Result<SessionEnd, SessionError> {
    let mut buf = BytesMut::with_capacity(8192);
    let (mut stream, authed) = match login(tcp, peer, session_id, gateway, &mut buf).await? {
        Login::Authenticated(stream, authed) => (stream, *authed),
        Login::Ended(end) => return Ok(end),
    };
    if let Some(fatal) = admit(gateway, &authed, &mut admission, session_id, peer) {
        send_fatal(&mut stream, &fatal).await;
        return Ok(SessionEnd::Refused);
    }
    let upstream = open_upstream(gateway, &authed, session_id, peer, &mut stream).await?;
    let cancel = gateway.cancels.register(UpstreamKey {
        process_id: upstream.process_id,
        secret_key: upstream.secret_key,
    });
    let mut out = BytesMut::with_capacity(1024);
    encode_authentication(&mut out, auth::OK, &[]);
    for frame in &upstream.greeting {
        out.extend_from_slice(&frame.raw);
    }
    encode_backend_key_data(&mut out, cancel.process_id, cancel.secret_key);
    encode_ready_for_query(&mut out, TransactionStatus::Idle);
    stream
        .write_all(&out)
        .await
        .map_err(SessionError::ClientIo)?;
    info!(database = %authed.database, "session started");

    let relay = Relay {
        gateway,
        agent: &authed.agent,
        database: &authed.database,
        policy: CurrentPolicy::new(authed.policy.clone()),
        // Replaced by the session's own copy at the first message, which
        // refreshes everything to the generation in force.
        analysis: gateway.analysis_context(&authed.database).into(),
        // Refreshed to the rules in force at the first message.
        generation: Default::default(),
        counts: gateway.metrics.agent(&authed.agent),
        session_id,
        client_addr: peer.to_string(),
        capability: authed
            .token
            .clone()
            .map(|t| Arc::new(super::capability::TokenCapability::new(t)) as _),
        token: authed.token.clone(),
        violations: Default::default(),
        deferred: Default::default(),
        reuses: Default::default(),
        session_line: Default::default(),
        statement_memo: Default::default(),
        revocations: super::relay::Revocations::watch(gateway, authed.token.as_deref()).into(),
        read_only_at_start: upstream.greeting.iter().find_map(
            |f| match BackendMessage::decode_parts(f.tag, f.body()) {
                Ok(BackendMessage::ParameterStatus {
                    name: "default_transaction_read_only",
                    value,
                }) => Some(value.to_owned()),
                _ => None,
            },
        ),
    };
    let _registered = gateway.register_session(crate::proxy::SessionInfo {
        id: session_id,
        agent: authed.agent.clone(),
        subject: authed.token.as_ref().map(|t| t.claims.subject.clone()),
        database: authed.database.clone(),
        client_addr: peer.to_string(),
        started_at: jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or_else(|_| jiff::Timestamp::now())
            .to_string(),
    });
    let end = relay.run(stream, buf, upstream, hard_stop).await;
    drop(cancel);
    end
}

/// How the login phase ended.
enum Login {
    Authenticated(MaybeTls, Box<Authenticated>),
    /// A cancel request, or a refused login (its FATAL was sent).
    Ended(SessionEnd),
}

/// TLS negotiation, the StartupMessage and the agent's credential
/// exchange, each bounded by the startup timeout.
async fn login(
    tcp: TcpStream,
    peer: SocketAddr,
    session_id: u64,
    gateway: &Gateway,
    buf: &mut BytesMut,
) -> Result<Login, SessionError> {
    let timeout = gateway.config.limits.startup_timeout;
    let (mut stream, startup) =
        tokio::time::timeout(timeout, negotiate(MaybeTls::Plain(tcp), buf, gateway))
            .await
            .map_err(|_| SessionError::StartupTimeout)??;
    let Some(startup) = startup else {
        return Ok(Login::Ended(SessionEnd::CancelRequest));
    };
    if let Some(bad) = refuse_startup(&startup) {
        send_fatal(&mut stream, &bad).await;
        return Ok(Login::Ended(SessionEnd::Refused));
    }
    let authed = match tokio::time::timeout(
        timeout,
        login::authenticate(&mut stream, buf, gateway, startup, peer),
    )
    .await
    {
        Err(_) => return Err(SessionError::StartupTimeout),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(Err((fatal, user, reason)))) => {
            info!(code = fatal.code, reason, "login refused");
            audit_login(
                gateway,
                "login_failed",
                &user,
                session_id,
                peer,
                Some(reason),
            );
            send_fatal(&mut stream, &fatal).await;
            return Ok(Login::Ended(SessionEnd::Refused));
        }
        Ok(Ok(Ok(authed))) => authed,
    };
    Ok(Login::Authenticated(stream, Box::new(authed)))
}

/// Whether an authenticated agent may open a session now: not while it
/// is suspended, over the connection limit, or while the audit log cannot
/// be written (`[audit] on_failure = "block"`). `Some`: the FATAL to send.
fn admit(
    gateway: &Gateway,
    authed: &Authenticated,
    admission: &mut Admission,
    session_id: u64,
    peer: SocketAddr,
) -> Option<ErrorFields> {
    let subject = authed.token.as_ref().map(|t| t.claims.subject.as_str());
    if let Some(suspension) = gateway.suspension(&authed.agent, subject) {
        info!(agent = %authed.agent, "login refused: agent suspended");
        audit_login(
            gateway,
            "login_failed",
            &authed.agent,
            session_id,
            peer,
            Some("suspended"),
        );
        let fatal = ErrorFields::new(Severity::Fatal, "28000", suspension.message())
            .with_hint(crate::controls::Suspension::HINT);
        return Some(fatal);
    }
    if admission.promote().is_err() {
        info!(agent = %authed.agent, "login refused: connection limit reached");
        audit_login(
            gateway,
            "login_failed",
            &authed.agent,
            session_id,
            peer,
            Some("too_many_connections"),
        );
        let fatal = ErrorFields::new(Severity::Fatal, "53300", "sorry, too many clients already");
        return Some(fatal);
    }
    tracing::Span::current().record("agent", authed.agent.as_str());
    if let Some(why) = gateway.audit.refusal() {
        // [audit] on_failure = "block": a session that cannot be audited
        // is not opened. 57P03, as PostgreSQL refuses sessions it cannot
        // serve yet: clients and pools retry.
        info!(reason = %why, "login refused: the audit log cannot be written");
        gateway.audit.record(&login_event(
            authed,
            "login_failed",
            session_id,
            peer,
            Some("audit_unavailable"),
            Some(why.clone()),
        ));
        let fatal = ErrorFields::new(
            Severity::Fatal,
            "57P03",
            format!("actgate cannot open a session now: it cannot be audited ({why})"),
        )
        .with_hint("retry later; the operator sees why in actgate's /readyz");
        return Some(fatal);
    }
    None
}

/// Opens the agent's upstream session and audits how the login ended.
async fn open_upstream(
    gateway: &Gateway,
    authed: &Authenticated,
    session_id: u64,
    peer: SocketAddr,
    stream: &mut MaybeTls,
) -> Result<upstream::Upstream, SessionError> {
    let cfg = &gateway.config;
    // The whole upstream handshake is bounded, not only the TCP connect: a
    // server that accepts and then says nothing must not hang the agent.
    let identity = session_identity(authed);
    let connect = upstream::connect(
        &cfg.upstream,
        gateway.upstream_tls.as_ref(),
        &authed.database,
        &authed.startup.params,
        &identity,
        cfg.limits.max_backend_message_bytes,
    );
    let handshake_timeout = cfg.upstream.connect_timeout + cfg.limits.startup_timeout;
    let connected = match tokio::time::timeout(handshake_timeout, connect).await {
        Ok(r) => r,
        Err(_) => Err(UpstreamError::ConnectTimeout {
            addr: format!("{}:{}", cfg.upstream.host, cfg.upstream.port),
        }),
    };
    gateway
        .upstream_health
        .observe(connected.as_ref().map(|_| ()));
    let upstream = match connected {
        Ok(u) => u,
        Err(e) => {
            gateway
                .metrics
                .upstream_errors_total
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            warn!(error = %e, "upstream connection failed");
            // The login ends here: audited as failed, with the cause.
            gateway.audit.record(&login_event(
                authed,
                "login_failed",
                session_id,
                peer,
                Some("upstream_connect_failed"),
                Some(e.to_string()),
            ));
            relay_upstream_refusal(stream, &e).await;
            return Err(e.into());
        }
    };
    // Only now is the session open: audited as succeeded.
    gateway.audit.record(&login_event(
        authed,
        "login_succeeded",
        session_id,
        peer,
        None,
        None,
    ));
    Ok(upstream)
}

/// The `actgate.*` settings of an agent's upstream session: the agent, and
/// for token logins the subject, token id and every claim (as
/// `actgate.claim_<name>`, for names that are plain identifiers).
fn session_identity(authed: &Authenticated) -> Vec<(String, String)> {
    let mut out = vec![("actgate.agent".to_owned(), authed.agent.clone())];
    if let Some(t) = &authed.token {
        out.push(("actgate.subject".into(), t.claims.subject.clone()));
        out.push(("actgate.token_id".into(), t.claims.token_id.clone()));
        for (name, value) in &t.claims.custom {
            let plain = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if plain {
                out.push((format!("actgate.claim_{name}"), value.clone()));
            }
        }
    }
    out
}

/// Reads the first packets: answers SSLRequest/GSSENCRequest, serves a
/// CancelRequest (returning `None`), or returns the StartupMessage.
async fn negotiate(
    mut stream: MaybeTls,
    buf: &mut BytesMut,
    gateway: &Gateway,
) -> Result<(MaybeTls, Option<Startup>), SessionError> {
    let mut tls_done = false;
    let mut gss_done = false;
    loop {
        let packet = loop {
            match decode_startup(buf, MAX_STARTUP_PACKET_BYTES) {
                Ok(Some(p)) => break p,
                Ok(None) => {}
                Err(e) => {
                    send_fatal(&mut stream, &protocol_violation(&e)).await;
                    return Err(e.into());
                }
            }
            if stream.read_buf(buf).await.map_err(SessionError::ClientIo)? == 0 {
                return Err(SessionError::ClientIo(
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
        };
        match packet {
            StartupPacket::SslRequest if !tls_done => {
                tls_done = true;
                // Bytes sent after SSLRequest but before the handshake would
                // be processed outside TLS: refuse them (CVE-2021-23214).
                if !buf.is_empty() {
                    return Err(ProtocolError::Malformed {
                        what: "SSLRequest",
                        detail: "unencrypted data after SSL request",
                    }
                    .into());
                }
                match (&gateway.tls_acceptor, stream) {
                    (Some(acceptor), MaybeTls::Plain(mut tcp)) => {
                        tcp.write_all(b"S").await.map_err(SessionError::ClientIo)?;
                        let tls = acceptor.accept(tcp).await.map_err(SessionError::Tls)?;
                        stream = MaybeTls::ServerTls(Box::new(tls));
                    }
                    (_, mut other) => {
                        other
                            .write_all(b"N")
                            .await
                            .map_err(SessionError::ClientIo)?;
                        stream = other;
                    }
                }
            }
            StartupPacket::GssEncRequest if !gss_done => {
                gss_done = true;
                stream
                    .write_all(b"N")
                    .await
                    .map_err(SessionError::ClientIo)?;
            }
            StartupPacket::SslRequest | StartupPacket::GssEncRequest => {
                let e = ProtocolError::Malformed {
                    what: "startup packet",
                    detail: "duplicate encryption request",
                };
                send_fatal(&mut stream, &protocol_violation(&e)).await;
                return Err(e.into());
            }
            StartupPacket::Cancel {
                process_id,
                secret_key,
            } => {
                match gateway.cancels.lookup(process_id, secret_key) {
                    Some(key) => {
                        info!("cancel request forwarded");
                        if let Err(e) = upstream::send_cancel(
                            &gateway.config.upstream,
                            gateway.upstream_tls.as_ref(),
                            key.process_id,
                            key.secret_key,
                        )
                        .await
                        {
                            warn!(error = %e, "cancel request failed");
                        }
                    }
                    None => info!("cancel request with unknown key ignored"),
                }
                return Ok((stream, None));
            }
            StartupPacket::Startup(s) => return Ok((stream, Some(s))),
        }
    }
}

/// Startup parameters actgate refuses outright.
fn refuse_startup(s: &Startup) -> Option<ErrorFields> {
    if let Some(v) = s.param("replication")
        && !matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "off" | "no" | "0"
        )
    {
        return Some(ErrorFields::new(
            Severity::Fatal,
            "42501",
            "replication connections are not allowed through actgate",
        ));
    }
    if s.param("user").is_none_or(str::is_empty) {
        return Some(ErrorFields::new(
            Severity::Fatal,
            "28000",
            "no PostgreSQL user name specified in startup packet",
        ));
    }
    None
}

fn audit_login(
    gateway: &Gateway,
    event: &'static str,
    agent: &str,
    session_id: u64,
    peer: SocketAddr,
    reason: Option<&'static str>,
) {
    gateway.audit.record(&AuditEvent {
        event,
        agent: Some(agent.into()),
        session_id: Some(session_id),
        client_addr: Some(peer.to_string().into()),
        reason,
        ..AuditEvent::default()
    });
}

/// The event closing an authenticated agent's login attempt.
fn login_event<'a>(
    authed: &'a Authenticated,
    event: &'static str,
    session_id: u64,
    peer: SocketAddr,
    reason: Option<&'static str>,
    message: Option<String>,
) -> AuditEvent<'a> {
    let token = authed.token.as_ref().map(|t| &t.claims);
    AuditEvent {
        event,
        agent: Some(authed.agent.as_str().into()),
        session_id: Some(session_id),
        client_addr: Some(peer.to_string().into()),
        database: Some(authed.database.as_str().into()),
        reason,
        message: message.map(Into::into),
        token_id: token.map(|c| c.token_id.as_str().into()),
        subject: token.map(|c| c.subject.as_str().into()),
        chain: token.map(|c| c.chain.as_slice().into()).unwrap_or_default(),
        ..AuditEvent::default()
    }
}

/// FATAL 08P01 for a framing error.
pub(super) fn protocol_violation(e: &ProtocolError) -> ErrorFields {
    ErrorFields::new(Severity::Fatal, "08P01", e.to_string())
}

/// Best effort: the connection is closing anyway.
pub(super) async fn send_fatal(stream: &mut MaybeTls, e: &ErrorFields) {
    let mut out = BytesMut::new();
    e.encode(&mut out);
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}

/// Tells the agent why its session could not be opened upstream.
async fn relay_upstream_refusal(stream: &mut MaybeTls, e: &UpstreamError) {
    let fatal = match e {
        // The server's own refusal (too many connections, shutting down…)
        // is relayed as is, except credential failures, which are actgate's
        // configuration problem and must not reveal the upstream role.
        UpstreamError::Refused {
            sqlstate, frame, ..
        } if !sqlstate.starts_with("28") => {
            let _ = stream.write_all(&frame.raw).await;
            let _ = stream.shutdown().await;
            return;
        }
        UpstreamError::Refused { .. } | UpstreamError::Auth(_) | UpstreamError::NoPassword => {
            ErrorFields::new(
                Severity::Fatal,
                "08006",
                "actgate could not authenticate to the upstream database",
            )
            .with_hint("this is a gateway configuration problem; contact the operator")
        }
        _ => ErrorFields::new(
            Severity::Fatal,
            "08006",
            "actgate could not connect to the upstream database",
        )
        .with_detail(e.to_string()),
    };
    send_fatal(stream, &fatal).await;
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
