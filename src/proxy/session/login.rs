//! The agent's login: its credential exchange (password, SCRAM or
//! capability token), the refusals it can end in, and reading the
//! credential message before login.

use super::{Authenticated, protocol_violation, send_fatal};
use crate::auth::scram::{self, ScramExchange};
use crate::auth::{Credential, Verifier};
use crate::protocol::backend::{
    ErrorFields, Severity, auth, encode_auth_sasl, encode_authentication,
    encode_negotiate_protocol_version,
};
use crate::protocol::startup::{MAX_AUTH_MESSAGE_BYTES, Startup};
use crate::protocol::{Frame, ProtocolError, decode_frame};
use crate::proxy::Gateway;
use crate::proxy::error::SessionError;
use crate::proxy::stream::MaybeTls;
use base64::Engine;
use bytes::BytesMut;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, info};

fn password_failed(user: &str) -> ErrorFields {
    ErrorFields::new(
        Severity::Fatal,
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    )
}

/// A refused login: the FATAL to send, the user name tried, and the
/// precise reason (for the log and audit only).
type Refusal = (ErrorFields, String, &'static str);

/// Runs the agent's credential exchange. The outer `Result` is an I/O or
/// protocol failure; the inner `Err` is a refusal to send as FATAL.
pub(super) async fn authenticate(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    gateway: &Gateway,
    startup: Startup,
    peer: SocketAddr,
) -> Result<Result<Authenticated, Refusal>, SessionError> {
    let user = startup.param("user").unwrap_or_default().to_owned();
    let database = startup
        .param("database")
        .filter(|d| !d.is_empty())
        .unwrap_or(&user)
        .to_owned();
    let mut out = BytesMut::new();
    if startup.minor > 0 || startup.protocol_options().next().is_some() {
        let opts: Vec<&str> = startup.protocol_options().collect();
        encode_negotiate_protocol_version(&mut out, 0, opts.into_iter());
    }
    let rules = gateway.rules();
    let agent = rules.agent(&user);
    let (verifier, doomed) = match agent.map(|a| &a.credential) {
        Some(Credential::ScramSecret(v)) => (v.clone(), false),
        Some(Credential::Token) => {
            let agent = agent.expect("matched Some");
            return token_login(
                stream, buf, gateway, out, agent, user, database, startup, peer,
            )
            .await;
        }
        // An unknown agent gets a mock exchange: SCRAM, or, when some agents
        // use tokens, for about half the names (stable per name) a
        // cleartext request, so that the method asked for does not tell
        // which names exist.
        None if gateway.token_keys.is_some() && mock_asks_cleartext(&user, &gateway.mock_key) => {
            return mock_token_login(stream, buf, gateway, out, user, peer).await;
        }
        None => (Verifier::mock(&user, &gateway.mock_key), true),
    };

    encode_auth_sasl(&mut out, &[scram::MECHANISM]);
    stream
        .write_all(&out)
        .await
        .map_err(SessionError::ClientIo)?;
    let limit = auth_message_limit(gateway);

    let first = read_password_message(stream, buf, limit, "SASL").await?;
    let (mechanism, client_first) = scram::parse_initial_response(first.body())?;
    let server_nonce = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 18]>());
    let (exchange, server_first) =
        match ScramExchange::start(verifier, doomed, mechanism, client_first, &server_nonce) {
            Ok(v) => v,
            Err(e) => {
                debug!(error = %e, "scram exchange refused");
                return Ok(Err((
                    password_failed(&user),
                    user,
                    "scram_exchange_refused",
                )));
            }
        };
    out.clear();
    encode_authentication(&mut out, auth::SASL_CONTINUE, server_first.as_bytes());
    stream
        .write_all(&out)
        .await
        .map_err(SessionError::ClientIo)?;

    let last = read_password_message(stream, buf, limit, "SASL").await?;
    let server_final = match exchange.finish(last.body()) {
        Ok(v) => v,
        Err(e) => {
            debug!(error = %e, "scram exchange failed");
            let reason = if doomed {
                "unknown_agent"
            } else {
                "wrong_secret"
            };
            return Ok(Err((password_failed(&user), user, reason)));
        }
    };
    let agent = agent.expect("a doomed exchange never succeeds");
    if !agent.may_use_database(&database) {
        return Ok(Err(database_refusal(&database, user)));
    }
    out.clear();
    encode_authentication(&mut out, auth::SASL_FINAL, server_final.as_bytes());
    stream
        .write_all(&out)
        .await
        .map_err(SessionError::ClientIo)?;
    Ok(Ok(Authenticated {
        agent: agent.name.clone(),
        database,
        startup,
        policy: agent.policy.clone(),
        token: None,
    }))
}

/// Whether the mock login for an unknown `user` asks for a cleartext
/// password: a keyed, stable choice per name.
fn mock_asks_cleartext(user: &str, key: &[u8; 32]) -> bool {
    Verifier::mock(user, key).salt[0] & 1 == 1
}

/// The token login an unknown agent gets: the same requests and refusals
/// as for a token agent, ending in the same FATAL as a wrong token.
async fn mock_token_login(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    gateway: &Gateway,
    out: BytesMut,
    user: String,
    peer: SocketAddr,
) -> Result<Result<Authenticated, Refusal>, SessionError> {
    if cleartext_password(stream, buf, gateway, out, peer)
        .await?
        .is_none()
    {
        return Ok(Err((cleartext_refusal(), user, "cleartext_without_tls")));
    }
    Ok(Err((password_failed(&user), user, "unknown_agent")))
}

/// Asks for a cleartext password (a capability token) and reads it; `None`
/// when cleartext is not allowed on this connection. Real and unknown
/// token agents go through the same steps, so they cannot be told apart.
async fn cleartext_password(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    gateway: &Gateway,
    mut out: BytesMut,
    peer: SocketAddr,
) -> Result<Option<Frame>, SessionError> {
    let cfg = &gateway.config;
    if !crate::auth::cleartext_allowed(stream.is_tls(), peer.ip(), cfg.allow_cleartext_without_tls)
    {
        return Ok(None);
    }
    encode_authentication(&mut out, auth::CLEARTEXT_PASSWORD, &[]);
    stream
        .write_all(&out)
        .await
        .map_err(SessionError::ClientIo)?;
    read_password_message(stream, buf, auth_message_limit(gateway), "password")
        .await
        .map(Some)
}

fn cleartext_refusal() -> ErrorFields {
    ErrorFields::new(
        Severity::Fatal,
        "28000",
        "capability token login requires TLS (sslmode=require) or a loopback connection",
    )
}

/// Token login: the agent sends its capability token as a cleartext
/// password (only over TLS or loopback unless the operator allowed it).
#[allow(clippy::too_many_arguments)]
async fn token_login(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    gateway: &Gateway,
    out: BytesMut,
    agent: &crate::rules::Agent,
    user: String,
    database: String,
    startup: Startup,
    peer: SocketAddr,
) -> Result<Result<Authenticated, Refusal>, SessionError> {
    let Some(frame) = cleartext_password(stream, buf, gateway, out, peer).await? else {
        return Ok(Err((cleartext_refusal(), user, "cleartext_without_tls")));
    };
    let body = frame.body();
    let token = match body.split_last() {
        Some((0, text)) if !text.contains(&0) => std::str::from_utf8(text).ok(),
        _ => None,
    };
    let Some(token) = token else {
        return Err(ProtocolError::Malformed {
            what: "PasswordMessage",
            detail: "password must be one NUL-terminated UTF-8 string",
        }
        .into());
    };
    let Some(keys) = gateway.token_keys.as_ref() else {
        return Ok(Err((password_failed(&user), user, "tokens_not_configured")));
    };
    let verified =
        match crate::token::verify(token, keys, &agent.name, std::time::SystemTime::now()) {
            Ok(v) => v,
            Err(e) => {
                info!(error = %e, "token refused");
                return Ok(Err((
                    password_failed(&user),
                    user,
                    token_refusal_reason(&e),
                )));
            }
        };
    if verified.is_revoked(&gateway.revocations()) {
        return Ok(Err((password_failed(&user), user, "token_revoked")));
    }
    if !agent.may_use_database(&database) {
        return Ok(Err(database_refusal(&database, user)));
    }
    Ok(Ok(Authenticated {
        agent: agent.name.clone(),
        database,
        startup,
        policy: agent.policy.clone(),
        token: Some(Arc::new(verified)),
    }))
}

/// A database the agent may not use is reported as Postgres reports a
/// missing one.
fn database_refusal(database: &str, user: String) -> Refusal {
    (
        ErrorFields::new(
            Severity::Fatal,
            "3D000",
            format!("database \"{database}\" does not exist"),
        ),
        user,
        "database_not_allowed",
    )
}

/// The audit reason for a refused token (the client only ever sees 28P01).
fn token_refusal_reason(e: &crate::token::TokenError) -> &'static str {
    use crate::token::TokenError as E;
    match e {
        E::TooLarge { .. } => "token_too_large",
        E::Malformed(_) => "token_malformed",
        E::Signature(_) => "token_signature",
        E::Expired { .. } => "token_expired",
        E::NotYetValid { .. } => "token_not_yet_valid",
        E::WrongAgent { .. } => "token_wrong_agent",
        E::KeyNotAllowed { .. } => "token_key_not_allowed",
        E::Revoked { .. } => "token_revoked",
        _ => "token_invalid",
    }
}

// A capability token at its size limit, its NUL and the length word fit.
const _: () = assert!(crate::token::MAX_TOKEN_BYTES + 1 + 4 <= MAX_AUTH_MESSAGE_BYTES);

/// The largest credential message read before login: a stranger never
/// makes actgate hold `max_message_bytes` for it.
fn auth_message_limit(gateway: &Gateway) -> usize {
    MAX_AUTH_MESSAGE_BYTES.min(gateway.config.limits.max_message_bytes)
}

/// Reads the next message, which must be a PasswordMessage ('p') of at
/// most `limit` bytes; a longer one is refused from its length word.
async fn read_password_message(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    limit: usize,
    expected: &'static str,
) -> Result<Frame, SessionError> {
    loop {
        match decode_frame(buf, limit) {
            Ok(Some(frame)) if frame.tag == b'p' => return Ok(frame),
            Ok(Some(frame)) => {
                let e = ErrorFields::new(
                    Severity::Fatal,
                    "08P01",
                    format!(
                        "expected {expected} response, got message type {}",
                        frame.tag
                    ),
                );
                send_fatal(stream, &e).await;
                return Err(ProtocolError::UnknownType {
                    tag: frame.tag as char,
                    byte: frame.tag,
                }
                .into());
            }
            Ok(None) => {}
            Err(e) => {
                let fatal = match e {
                    ProtocolError::TooLong { length, limit, .. } => ErrorFields::new(
                        Severity::Fatal,
                        "08P01",
                        format!(
                            "{expected} message of {length} bytes exceeds actgate's limit of {limit} bytes before login"
                        ),
                    ),
                    _ => protocol_violation(&e),
                };
                send_fatal(stream, &fatal).await;
                return Err(e.into());
            }
        }
        if stream.read_buf(buf).await.map_err(SessionError::ClientIo)? == 0 {
            return Err(SessionError::ClientIo(
                std::io::ErrorKind::UnexpectedEof.into(),
            ));
        }
    }
}
