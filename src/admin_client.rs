//! The operator's side of the admin endpoint, for `actgate approve`,
//! `reject`, `approvals`, `suspend`, `resume` and `status`: one blocking
//! HTTP/1.1 request per call.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AdminClientError {
    #[error("admin URL {0:?}: expected http://HOST:PORT")]
    Url(String),
    #[error("cannot read the admin token from {path}: {source}")]
    Token {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "no admin token: pass --token-file, or set ACTGATE_ADMIN_TOKEN or ACTGATE_ADMIN_TOKEN_FILE"
    )]
    NoToken,
    #[error("cannot reach the admin endpoint at {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("the admin endpoint answered with something that is not HTTP")]
    BadResponse,
    #[error("{status}: {body}")]
    Status { status: u16, body: String },
}

/// Where the admin endpoint is and how to authenticate.
#[derive(Debug, Clone)]
pub struct AdminClient {
    authority: String,
    token: String,
    timeout: Duration,
}

impl AdminClient {
    /// `url` is `http://HOST:PORT` (the `[admin] listen` address).
    pub fn new(url: &str, token: String) -> Result<AdminClient, AdminClientError> {
        let parsed = crate::http::HttpUrl::parse(url)
            .ok()
            .filter(|u| !u.tls && u.path == "/")
            .ok_or_else(|| AdminClientError::Url(url.to_owned()))?;
        let authority = if parsed.host.contains(':') {
            format!("[{}]:{}", parsed.host, parsed.port)
        } else {
            format!("{}:{}", parsed.host, parsed.port)
        };
        Ok(AdminClient {
            authority,
            token,
            timeout: Duration::from_secs(10),
        })
    }

    /// Waits up to `timeout` to connect and for each read of the answer
    /// (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> AdminClient {
        self.timeout = timeout;
        self
    }

    /// The token from `file`, else `ACTGATE_ADMIN_TOKEN`.
    pub fn token(file: Option<&Path>) -> Result<String, AdminClientError> {
        if let Some(f) = file {
            return std::fs::read_to_string(f)
                .map(|t| t.trim().to_owned())
                .map_err(|source| AdminClientError::Token {
                    path: f.display().to_string(),
                    source,
                });
        }
        match std::env::var("ACTGATE_ADMIN_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
            _ => Err(AdminClientError::NoToken),
        }
    }

    /// `GET path`: the body of a 2xx answer.
    pub fn get(&self, path: &str) -> Result<String, AdminClientError> {
        self.request("GET", path)
    }

    /// `POST path` without a body.
    pub fn post(&self, path: &str) -> Result<String, AdminClientError> {
        self.request("POST", path)
    }

    fn request(&self, method: &str, path: &str) -> Result<String, AdminClientError> {
        let connect_err = |source| AdminClientError::Connect {
            addr: self.authority.clone(),
            source,
        };
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(connect_err)?
            .next()
            .ok_or_else(|| AdminClientError::Url(self.authority.clone()))?;
        let mut tcp = TcpStream::connect_timeout(&addr, self.timeout).map_err(connect_err)?;
        tcp.set_read_timeout(Some(self.timeout))
            .map_err(connect_err)?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.authority, self.token
        );
        tcp.write_all(request.as_bytes()).map_err(connect_err)?;
        let mut raw = Vec::new();
        tcp.take(16 * 1024 * 1024)
            .read_to_end(&mut raw)
            .map_err(connect_err)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or(AdminClientError::BadResponse)?;
        let status = crate::http::status_code(head).ok_or(AdminClientError::BadResponse)?;
        if (200..300).contains(&status) {
            Ok(body.to_owned())
        } else {
            Err(AdminClientError::Status {
                status,
                body: body.trim().to_owned(),
            })
        }
    }
}

/// A path segment or query value, percent-encoded.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_encoding() {
        assert!(AdminClient::new("http://127.0.0.1:9187", "t".into()).is_ok());
        assert!(AdminClient::new("http://127.0.0.1:9187/", "t".into()).is_ok());
        assert!(AdminClient::new("https://x:1", "t".into()).is_err());
        assert!(AdminClient::new("http://x:1/path", "t".into()).is_err());
        assert_eq!(encode("customer 42/ä"), "customer%2042%2F%C3%A4");
    }
}
