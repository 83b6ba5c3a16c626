//! A raw PostgreSQL wire-protocol client for tests that need to send bytes
//! no well-behaved driver would: it does the startup and SCRAM-SHA-256
//! login itself, then lets the test write anything. Every read is bounded
//! by [`IO_TIMEOUT`], so a proxy that wedges fails the test instead of
//! hanging it.

use bytes::{Buf, Bytes, BytesMut};
use postgres_protocol::authentication::sasl::{ChannelBinding, SCRAM_SHA_256, ScramSha256};
use postgres_protocol::message::frontend;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest any single read may take before the test fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One backend message: its tag and body (after the length word).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub tag: u8,
    pub body: Bytes,
}

impl Message {
    /// The Authentication request code of an 'R' message.
    pub fn auth_code(&self) -> Option<i32> {
        (self.tag == b'R' && self.body.len() >= 4)
            .then(|| i32::from_be_bytes([self.body[0], self.body[1], self.body[2], self.body[3]]))
    }

    /// The fields of an ErrorResponse ('E') or NoticeResponse ('N').
    pub fn error(&self) -> Option<ErrorInfo> {
        if !matches!(self.tag, b'E' | b'N') {
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
                b'D' => info.detail = Some(value),
                b'H' => info.hint = Some(value),
                _ => {}
            }
        }
        Some(info)
    }

    /// The text columns of a DataRow ('D'); NULL is `None`.
    pub fn data_row(&self) -> Option<Vec<Option<String>>> {
        if self.tag != b'D' {
            return None;
        }
        let mut b = &self.body[..];
        let n = b.get_i16();
        let mut cols = Vec::new();
        for _ in 0..n {
            let len = b.get_i32();
            if len < 0 {
                cols.push(None);
            } else {
                let (v, tail) = b.split_at(len as usize);
                cols.push(Some(String::from_utf8_lossy(v).into_owned()));
                b = tail;
            }
        }
        Some(cols)
    }
}

/// The interesting fields of an ErrorResponse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The non-localized severity ('V'), else the localized one ('S').
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
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
    let mut buf = BytesMut::new();
    frontend::query(sql, &mut buf).expect("query message");
    buf.to_vec()
}

/// A raw connection to actgate (or any PostgreSQL-speaking server).
pub struct RawConn {
    stream: TcpStream,
    buf: BytesMut,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream,
            buf: BytesMut::with_capacity(8192),
        }
    }

    /// Connects and logs in with SCRAM-SHA-256, reading up to the first
    /// ReadyForQuery. Panics if the login is refused.
    pub async fn login(addr: SocketAddr, agent: (&str, &str), database: &str) -> RawConn {
        RawConn::login_with(addr, agent, &[("database", database)]).await
    }

    /// [`RawConn::login`] with extra startup parameters (`database`,
    /// `application_name`…) besides `user`.
    pub async fn login_with(
        addr: SocketAddr,
        (agent, secret): (&str, &str),
        params: &[(&str, &str)],
    ) -> RawConn {
        let mut conn = RawConn::connect(addr).await;
        let mut all = vec![("user", agent)];
        all.extend_from_slice(params);
        conn.startup(&all).await;
        if let Err(e) = conn.authenticate(secret).await {
            panic!("login as {agent} refused: {e:?}");
        }
        conn
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(IO_TIMEOUT, self.stream.write_all(bytes))
            .await
            .expect("write timed out")
            .expect("write");
    }

    /// Sends a protocol 3.0 StartupMessage.
    pub async fn startup(&mut self, params: &[(&str, &str)]) {
        let mut buf = BytesMut::new();
        frontend::startup_message(params.iter().copied(), &mut buf).expect("startup message");
        self.send(&buf).await;
    }

    /// Runs the SCRAM-SHA-256 exchange (or sends a cleartext token) after a
    /// StartupMessage and reads up to ReadyForQuery. `Err` carries the ErrorResponse that refused it.
    pub async fn authenticate(&mut self, secret: &str) -> Result<(), ErrorInfo> {
        let mut scram: Option<ScramSha256> = None;
        loop {
            let m = self.recv().await.expect("connection closed during login");
            match m.tag {
                b'E' => return Err(m.error().expect("error fields")),
                b'R' => {
                    let data = &m.body[4..];
                    let mut out = BytesMut::new();
                    match m.auth_code() {
                        Some(0) => {}
                        // Cleartext: how capability tokens are presented.
                        Some(3) => {
                            frontend::password_message(secret.as_bytes(), &mut out)
                                .expect("password message");
                        }
                        Some(10) => {
                            assert!(
                                data.split(|&b| b == 0)
                                    .any(|x| x == SCRAM_SHA_256.as_bytes()),
                                "server does not offer SCRAM-SHA-256: {data:?}"
                            );
                            let s =
                                ScramSha256::new(secret.as_bytes(), ChannelBinding::unsupported());
                            frontend::sasl_initial_response(SCRAM_SHA_256, s.message(), &mut out)
                                .expect("sasl initial response");
                            scram = Some(s);
                        }
                        Some(11) => {
                            let s = scram.as_mut().expect("SASLContinue before SASL");
                            s.update(data).expect("server-first-message");
                            frontend::sasl_response(s.message(), &mut out).expect("sasl response");
                        }
                        Some(12) => {
                            scram
                                .as_mut()
                                .expect("SASLFinal before SASL")
                                .finish(data)
                                .expect("server signature must verify");
                        }
                        other => panic!("unexpected authentication request {other:?}"),
                    }
                    if !out.is_empty() {
                        self.send(&out).await;
                    }
                }
                b'Z' => return Ok(()),
                b'S' | b'K' | b'N' | b'v' => {}
                other => panic!("unexpected message {:?} during login", other as char),
            }
        }
    }

    /// The next backend message, or `None` once the server has closed the
    /// connection (EOF or reset) with nothing left to read.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                assert!(len >= 4, "backend sent invalid length {len}");
                let total = len as usize + 1;
                if self.buf.len() >= total {
                    let mut raw = self.buf.split_to(total);
                    let tag = raw[0];
                    raw.advance(5);
                    return Some(Message {
                        tag,
                        body: raw.freeze(),
                    });
                }
            }
            let n = tokio::time::timeout(IO_TIMEOUT, self.stream.read_buf(&mut self.buf))
                .await
                .expect("read timed out: the server neither answered nor closed");
            match n {
                Ok(0) | Err(_) => {
                    assert!(
                        self.buf.is_empty(),
                        "connection closed inside a message: {:?}",
                        &self.buf[..]
                    );
                    return None;
                }
                Ok(_) => {}
            }
        }
    }

    /// Reads messages until an ErrorResponse and returns its fields.
    pub async fn recv_error(&mut self) -> ErrorInfo {
        loop {
            let m = self
                .recv()
                .await
                .expect("connection closed without an ErrorResponse");
            if let Some(e) = m.error().filter(|_| m.tag == b'E') {
                return e;
            }
        }
    }

    /// Asserts the server has closed the connection with nothing more to say.
    pub async fn expect_closed(&mut self) {
        if let Some(m) = self.recv().await {
            panic!("expected the connection to be closed, got {m:?}");
        }
    }

    /// Expects a FATAL ErrorResponse as the very next message followed by
    /// the end of the connection, and returns the error.
    pub async fn expect_fatal(&mut self) -> ErrorInfo {
        let m = self
            .recv()
            .await
            .expect("connection closed without an ErrorResponse");
        let e = m
            .error()
            .filter(|_| m.tag == b'E')
            .unwrap_or_else(|| panic!("expected an ErrorResponse, got {m:?}"));
        assert_eq!(e.severity, "FATAL", "{e:?}");
        self.expect_closed().await;
        e
    }

    /// Sends a simple Query and collects every message up to and including
    /// ReadyForQuery.
    pub async fn simple_query(&mut self, sql: &str) -> Vec<Message> {
        self.send(&query(sql)).await;
        self.until_ready().await
    }

    /// Collects messages up to and including the next ReadyForQuery.
    pub async fn until_ready(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let m = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("connection closed before ReadyForQuery: {out:?}"));
            let done = m.tag == b'Z';
            out.push(m);
            if done {
                return out;
            }
        }
    }
}

/// The DataRows of a response, as text.
pub fn rows(messages: &[Message]) -> Vec<Vec<Option<String>>> {
    messages.iter().filter_map(Message::data_row).collect()
}
