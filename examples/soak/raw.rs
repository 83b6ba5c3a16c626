//! A raw PostgreSQL wire-protocol client (adapted from tests/common/raw.rs)
//! for clients that send what no driver would. Nothing panics: every
//! outcome is a [`RawError`], and every read is bounded by
//! [`crate::HUNG_AFTER`], past which the session counts as hung.

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::frontend;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One backend message: its tag and body (after the length word).
#[derive(Debug, Clone)]
pub struct Message {
    pub tag: u8,
    pub body: Bytes,
}

/// The fields of an ErrorResponse that the soak looks at.
#[derive(Debug, Clone, Default)]
pub struct ErrorInfo {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: String,
}

impl ErrorInfo {
    /// The `reason` of an actgate denial (SQLSTATE 42501, detail
    /// `reason: …; rule: …`), if it is one.
    pub fn denial_reason(&self) -> Option<&str> {
        if self.code != "42501" {
            return None;
        }
        let rest = self.detail.strip_prefix("reason: ")?;
        Some(rest.split(';').next().unwrap_or(rest))
    }
}

impl Message {
    /// The fields of an ErrorResponse ('E').
    pub fn error(&self) -> Option<ErrorInfo> {
        if self.tag != b'E' {
            return None;
        }
        let mut info = ErrorInfo::default();
        let mut rest = &self.body[..];
        while let Some((&code, tail)) = rest.split_first() {
            if code == 0 {
                break;
            }
            let end = tail.iter().position(|&b| b == 0)?;
            let value = String::from_utf8_lossy(&tail[..end]).into_owned();
            rest = &tail[end + 1..];
            match code {
                b'V' => info.severity = value,
                b'S' if info.severity.is_empty() => info.severity = value,
                b'C' => info.code = value,
                b'M' => info.message = value,
                b'D' => info.detail = value,
                _ => {}
            }
        }
        Some(info)
    }

    fn auth_code(&self) -> Option<i32> {
        (self.tag == b'R' && self.body.len() >= 4)
            .then(|| i32::from_be_bytes([self.body[0], self.body[1], self.body[2], self.body[3]]))
    }
}

/// Why a raw exchange ended.
#[derive(Debug)]
pub enum RawError {
    /// A read waited longer than [`crate::HUNG_AFTER`].
    Hung,
    /// The server closed the connection (EOF or reset).
    Closed,
    /// The login was refused with this error.
    Refused(ErrorInfo),
    /// Something the protocol does not allow.
    Protocol(String),
}

/// Frames `body` as a tagged message: tag, length word, body.
pub fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(tag);
    out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// A simple-protocol Query message.
pub fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

/// A Parse of the unnamed statement, without parameter types.
pub fn parse(sql: &str) -> Vec<u8> {
    let mut body = vec![0];
    body.extend_from_slice(sql.as_bytes());
    body.extend_from_slice(&[0, 0, 0]);
    message(b'P', &body)
}

/// Bind of the unnamed portal to the unnamed statement, no parameters.
pub fn bind() -> Vec<u8> {
    message(b'B', &[0, 0, 0, 0, 0, 0, 0, 0])
}

/// Execute of the unnamed portal, no row limit.
pub fn execute() -> Vec<u8> {
    message(b'E', &[0, 0, 0, 0, 0])
}

pub fn sync() -> Vec<u8> {
    message(b'S', &[])
}

/// A raw connection to actgate.
pub struct RawConn {
    stream: TcpStream,
    buf: BytesMut,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> Result<RawConn, RawError> {
        let stream = tokio::time::timeout(crate::HUNG_AFTER, TcpStream::connect(addr))
            .await
            .map_err(|_| RawError::Hung)?
            .map_err(|_| RawError::Closed)?;
        let _ = stream.set_nodelay(true);
        Ok(RawConn {
            stream,
            buf: BytesMut::with_capacity(8192),
        })
    }

    /// Connects and logs in with SCRAM-SHA-256, up to ReadyForQuery.
    pub async fn login(
        addr: SocketAddr,
        (agent, secret): (&str, &str),
    ) -> Result<RawConn, RawError> {
        let mut conn = RawConn::connect(addr).await?;
        conn.startup(agent).await?;
        conn.authenticate(secret).await?;
        Ok(conn)
    }

    /// Writes raw bytes; a connection the server closed is `Closed`.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), RawError> {
        tokio::time::timeout(crate::HUNG_AFTER, self.stream.write_all(bytes))
            .await
            .map_err(|_| RawError::Hung)?
            .map_err(|_| RawError::Closed)
    }

    /// A protocol 3.0 StartupMessage for `user` on the shop database.
    pub async fn startup(&mut self, user: &str) -> Result<(), RawError> {
        let mut buf = BytesMut::new();
        frontend::startup_message([("user", user), ("database", "shop")], &mut buf)
            .map_err(|e| RawError::Protocol(e.to_string()))?;
        self.send(&buf).await
    }

    /// The server's first authentication request after a StartupMessage.
    pub async fn auth_request(&mut self) -> Result<i32, RawError> {
        let m = self.recv().await?;
        if let Some(e) = m.error() {
            return Err(RawError::Refused(e));
        }
        m.auth_code()
            .ok_or_else(|| RawError::Protocol(format!("expected R, got {:?}", m.tag as char)))
    }

    /// The SCRAM-SHA-256 exchange, up to ReadyForQuery.
    pub async fn authenticate(&mut self, secret: &str) -> Result<(), RawError> {
        let mut scram: Option<ScramSha256> = None;
        let bad = |what: &str| RawError::Protocol(what.to_owned());
        loop {
            let m = self.recv().await?;
            let mut out = BytesMut::new();
            match m.tag {
                b'E' => return Err(RawError::Refused(m.error().unwrap_or_default())),
                b'Z' => return Ok(()),
                b'S' | b'K' | b'N' | b'v' => continue,
                b'R' => {}
                other => return Err(bad(&format!("unexpected {:?} in login", other as char))),
            }
            let data = &m.body[4..];
            match m.auth_code() {
                Some(0) => {}
                Some(10) => {
                    let s = ScramSha256::new(secret.as_bytes(), ChannelBinding::unsupported());
                    frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)
                        .map_err(|_| bad("sasl initial response"))?;
                    scram = Some(s);
                }
                Some(11) => {
                    let s = scram.as_mut().ok_or_else(|| bad("SASLContinue first"))?;
                    s.update(data).map_err(|_| bad("server-first-message"))?;
                    frontend::sasl_response(s.message(), &mut out)
                        .map_err(|_| bad("sasl response"))?;
                }
                Some(12) => {
                    scram
                        .as_mut()
                        .ok_or_else(|| bad("SASLFinal first"))?
                        .finish(data)
                        .map_err(|_| bad("server signature does not verify"))?;
                }
                other => return Err(bad(&format!("authentication request {other:?}"))),
            }
            if !out.is_empty() {
                self.send(&out).await?;
            }
        }
    }

    /// The next backend message.
    pub async fn recv(&mut self) -> Result<Message, RawError> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                if len < 4 {
                    return Err(RawError::Protocol(format!("backend length {len}")));
                }
                let total = len as usize + 1;
                if self.buf.len() >= total {
                    let mut raw = self.buf.split_to(total);
                    let tag = raw[0];
                    raw.advance(5);
                    return Ok(Message {
                        tag,
                        body: raw.freeze(),
                    });
                }
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), RawError> {
        let n = tokio::time::timeout(crate::HUNG_AFTER, self.stream.read_buf(&mut self.buf))
            .await
            .map_err(|_| RawError::Hung)?;
        match n {
            Ok(0) | Err(_) => Err(RawError::Closed),
            Ok(_) => Ok(()),
        }
    }

    /// Reads (and discards) until the server closes the connection.
    /// `Err(Hung)` if it neither closes nor says anything for too long.
    pub async fn until_closed(&mut self) -> Result<(), RawError> {
        loop {
            self.buf.clear();
            match self.fill().await {
                Ok(()) => {}
                Err(RawError::Closed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Collects messages up to and including the next ReadyForQuery,
    /// leaving out what may come at any time (notices, parameter status,
    /// notifications).
    pub async fn until_ready(&mut self) -> Result<Vec<Message>, RawError> {
        let mut out = Vec::new();
        loop {
            let m = self.recv().await?;
            if matches!(m.tag, b'N' | b'S' | b'A') {
                continue;
            }
            let done = m.tag == b'Z';
            out.push(m);
            if done {
                return Ok(out);
            }
        }
    }
}

impl RawConn {
    /// Sends `bytes` and collects the reply up to ReadyForQuery.
    pub async fn until_ready_after(&mut self, bytes: &[u8]) -> Result<Vec<Message>, RawError> {
        self.send(bytes).await?;
        self.until_ready().await
    }
}

/// A reply stream as comparable text: one entry per message,
/// ReadyForQuery with its transaction status.
pub fn shape(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m.tag {
            b'Z' => format!("Z{}", m.body.first().map_or('?', |&b| b as char)),
            t => (t as char).to_string(),
        })
        .collect()
}
