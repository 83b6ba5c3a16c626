//! The connection to the real PostgreSQL: opened only after the agent has
//! authenticated, with actgate's own credentials and a startup packet that
//! actgate builds itself, so session-state parameters that change how SQL
//! is lexed are pinned.

use super::stream::MaybeTls;
use crate::config::{UpstreamConfig, UpstreamTls};
use crate::protocol::backend::{BackendMessage, auth};
use crate::protocol::startup::{encode_cancel, encode_startup};
use crate::protocol::{Frame, ProtocolError, decode_frame, put_cstr, put_message};
use bytes::{BufMut, BytesMut};
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Client startup parameters that may pass through to upstream (lower-case
/// GUC names). Everything else, `options` included, is dropped.
const PASS_THROUGH: &[&str] = &[
    "application_name",
    "datestyle",
    "intervalstyle",
    "timezone",
    "extra_float_digits",
];

/// Parameters actgate pins and watches for drift.
pub const PINNED: &[(&str, &str)] = &[
    ("client_encoding", "UTF8"),
    ("standard_conforming_strings", "on"),
];

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("connecting to {addr} timed out")]
    ConnectTimeout { addr: String },
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("protocol violation: {0}")]
    Protocol(#[from] ProtocolError),
    #[error("server refused TLS")]
    TlsRefused,
    #[error("upstream.tls = \"require\" but no trust anchors are loaded")]
    TlsUnconfigured,
    #[error("invalid TLS server name {0:?}")]
    TlsName(String),
    #[error("tls handshake: {0}")]
    Tls(#[source] std::io::Error),
    #[error("authentication: {0}")]
    Auth(String),
    #[error("server requires a password and none is configured")]
    NoPassword,
    #[error("unexpected message {0:?} during startup")]
    Unexpected(char),
    /// The server sent an ErrorResponse during startup (raw frame kept so it
    /// can be relayed).
    #[error("server refused the session: {sqlstate} {message}")]
    Refused {
        sqlstate: String,
        message: String,
        frame: Frame,
    },
    #[error("server closed the connection during startup")]
    Closed,
}

/// An authenticated upstream session, ready for queries.
pub struct Upstream {
    pub stream: MaybeTls,
    /// Bytes already read past the first ReadyForQuery.
    pub leftover: BytesMut,
    /// ParameterStatus (and NoticeResponse) frames to replay to the client.
    pub greeting: Vec<Frame>,
    pub process_id: i32,
    pub secret_key: i32,
}

/// Builds the upstream startup parameters for an agent's session.
pub fn startup_params<'a>(
    cfg: &'a UpstreamConfig,
    database: &'a str,
    client: &'a [(String, String)],
    identity: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("user", cfg.user.as_str()),
        ("database", database),
        ("search_path", cfg.search_path.as_str()),
    ];
    params.extend_from_slice(PINNED);
    for (k, v) in client {
        if PASS_THROUGH.contains(&k.to_ascii_lowercase().as_str()) {
            params.push((k.as_str(), v.as_str()));
        }
    }
    // actgate's own `actgate.*` settings (agent, token claims), which
    // agents can never change: row-level security can key on them.
    params.extend(identity.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    params
}

fn addr(cfg: &UpstreamConfig) -> String {
    format!("{}:{}", cfg.host, cfg.port)
}

async fn connect_tcp(cfg: &UpstreamConfig) -> Result<TcpStream, UpstreamError> {
    let addr = addr(cfg);
    let tcp = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(&addr))
        .await
        .map_err(|_| UpstreamError::ConnectTimeout { addr: addr.clone() })?
        .map_err(|source| UpstreamError::Connect { addr, source })?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// Opens the transport: TCP, then TLS when configured. Never falls back
/// to plaintext.
pub(crate) async fn open(
    cfg: &UpstreamConfig,
    tls: Option<&TlsConnector>,
) -> Result<MaybeTls, UpstreamError> {
    let mut tcp = connect_tcp(cfg).await?;
    match (cfg.tls, tls) {
        (UpstreamTls::Disable, _) => Ok(MaybeTls::Plain(tcp)),
        (UpstreamTls::Require, None) => Err(UpstreamError::TlsUnconfigured),
        (UpstreamTls::Require, Some(connector)) => {
            let mut req = BytesMut::new();
            req.put_i32(8);
            req.put_i32(80877103);
            tcp.write_all(&req).await?;
            let mut answer = [0u8; 1];
            tcp.read_exact(&mut answer).await?;
            if answer[0] != b'S' {
                return Err(UpstreamError::TlsRefused);
            }
            let name = rustls::pki_types::ServerName::try_from(cfg.host.clone())
                .map_err(|_| UpstreamError::TlsName(cfg.host.clone()))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(UpstreamError::Tls)?;
            Ok(MaybeTls::ClientTls(Box::new(tls)))
        }
    }
}

/// Connects, negotiates TLS if configured and authenticates.
pub async fn connect(
    cfg: &UpstreamConfig,
    tls: Option<&TlsConnector>,
    database: &str,
    client_params: &[(String, String)],
    identity: &[(String, String)],
    max_message_bytes: usize,
) -> Result<Upstream, UpstreamError> {
    let mut stream = open(cfg, tls).await?;

    let mut out = BytesMut::new();
    encode_startup(
        &mut out,
        &startup_params(cfg, database, client_params, identity),
    );
    stream.write_all(&out).await?;

    let mut buf = BytesMut::with_capacity(8192);
    let mut scram: Option<ScramSha256> = None;
    let mut greeting = Vec::new();
    let mut key = (0, 0);
    loop {
        let frame = read_frame(&mut stream, &mut buf, max_message_bytes).await?;
        match BackendMessage::decode(&frame)? {
            BackendMessage::Authentication { code, data } => {
                out.clear();
                match code {
                    auth::OK => {}
                    auth::CLEARTEXT_PASSWORD => {
                        let pw = cfg.password.as_deref().ok_or(UpstreamError::NoPassword)?;
                        put_message(&mut out, b'p', |b| put_cstr(b, pw));
                    }
                    auth::MD5_PASSWORD => {
                        let pw = cfg.password.as_deref().ok_or(UpstreamError::NoPassword)?;
                        let salt: [u8; 4] = data
                            .try_into()
                            .map_err(|_| UpstreamError::Auth("md5 salt must be 4 bytes".into()))?;
                        let hash = postgres_protocol::authentication::md5_hash(
                            cfg.user.as_bytes(),
                            pw.as_bytes(),
                            salt,
                        );
                        put_message(&mut out, b'p', |b| put_cstr(b, &hash));
                    }
                    auth::SASL => {
                        let pw = cfg.password.as_deref().ok_or(UpstreamError::NoPassword)?;
                        let offers_scram = data
                            .split(|&b| b == 0)
                            .any(|m| m == SCRAM_SHA_256.as_bytes());
                        if !offers_scram {
                            return Err(UpstreamError::Auth(
                                "server offers no SCRAM-SHA-256".into(),
                            ));
                        }
                        let s = ScramSha256::new(pw.as_bytes(), ChannelBinding::unsupported());
                        put_message(&mut out, b'p', |b| {
                            put_cstr(b, SCRAM_SHA_256);
                            b.put_i32(s.message().len() as i32);
                            b.put_slice(s.message());
                        });
                        scram = Some(s);
                    }
                    auth::SASL_CONTINUE => {
                        let s = scram
                            .as_mut()
                            .ok_or(UpstreamError::Auth("SASLContinue before SASL".into()))?;
                        s.update(data)
                            .map_err(|e| UpstreamError::Auth(e.to_string()))?;
                        put_message(&mut out, b'p', |b| b.put_slice(s.message()));
                    }
                    auth::SASL_FINAL => {
                        let s = scram
                            .as_mut()
                            .ok_or(UpstreamError::Auth("SASLFinal before SASL".into()))?;
                        s.finish(data)
                            .map_err(|e| UpstreamError::Auth(e.to_string()))?;
                    }
                    other => {
                        return Err(UpstreamError::Auth(format!(
                            "unsupported authentication request {other}"
                        )));
                    }
                }
                if !out.is_empty() {
                    stream.write_all(&out).await?;
                }
            }
            BackendMessage::ParameterStatus { .. } | BackendMessage::NoticeResponse(_) => {
                greeting.push(frame.clone());
            }
            BackendMessage::BackendKeyData {
                process_id,
                secret_key,
            } => key = (process_id, secret_key),
            BackendMessage::ReadyForQuery { .. } => {
                return Ok(Upstream {
                    stream,
                    leftover: buf,
                    greeting,
                    process_id: key.0,
                    secret_key: key.1,
                });
            }
            BackendMessage::ErrorResponse(fields) => {
                return Err(UpstreamError::Refused {
                    sqlstate: fields.sqlstate().unwrap_or("XX000").to_owned(),
                    message: fields.get(b'M').unwrap_or_default().to_owned(),
                    frame: frame.clone(),
                });
            }
            BackendMessage::NegotiateProtocolVersion { .. } => {}
            BackendMessage::Other { tag } => return Err(UpstreamError::Unexpected(tag as char)),
        }
    }
}

async fn read_frame(
    stream: &mut MaybeTls,
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Frame, UpstreamError> {
    loop {
        if let Some(frame) = decode_frame(buf, limit)? {
            return Ok(frame);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(UpstreamError::Closed);
        }
    }
}

/// Sends a CancelRequest for an upstream backend, over TLS when sessions
/// use it (the key must not cross the network in the clear). Postgres
/// never answers.
pub async fn send_cancel(
    cfg: &UpstreamConfig,
    tls: Option<&TlsConnector>,
    process_id: i32,
    secret_key: i32,
) -> Result<(), UpstreamError> {
    let mut tcp = open(cfg, tls).await?;
    let mut out = BytesMut::new();
    encode_cancel(&mut out, process_id, secret_key);
    tcp.write_all(&out).await?;
    // Wait for the server to close, so the cancel has been delivered.
    let mut sink = [0u8; 1];
    let _ = tokio::time::timeout(cfg.connect_timeout, tcp.read(&mut sink)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cfg() -> UpstreamConfig {
        UpstreamConfig {
            host: "127.0.0.1".into(),
            port: 5432,
            user: "actgate".into(),
            password: None,
            connect_timeout: Duration::from_secs(1),
            search_path: "public".into(),
            tls: UpstreamTls::Disable,
            ca_file: None,
        }
    }

    #[test]
    fn startup_params_pin_lexing_and_drop_options() {
        let c = cfg();
        let client = vec![
            ("user".to_string(), "bot".to_string()),
            (
                "options".to_string(),
                "-c standard_conforming_strings=off".to_string(),
            ),
            ("client_encoding".to_string(), "SJIS".to_string()),
            ("search_path".to_string(), "evil".to_string()),
            ("application_name".to_string(), "psql".to_string()),
            ("DateStyle".to_string(), "ISO".to_string()),
        ];
        let p = startup_params(&c, "shop", &client, &[]);
        assert!(p.contains(&("user", "actgate")));
        assert!(p.contains(&("database", "shop")));
        assert!(p.contains(&("client_encoding", "UTF8")));
        assert!(p.contains(&("standard_conforming_strings", "on")));
        assert!(p.contains(&("search_path", "public")));
        assert!(p.contains(&("application_name", "psql")));
        assert!(p.contains(&("DateStyle", "ISO")));
        assert!(!p.iter().any(|(k, _)| *k == "options"));
        assert!(!p.contains(&("client_encoding", "SJIS")));
        assert!(!p.contains(&("search_path", "evil")));
        assert!(!p.contains(&("user", "bot")));
    }
}
