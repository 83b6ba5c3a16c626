//! The small pieces of HTTP/1.1 that webhook alerts and the operator's
//! CLI share: URLs and status lines.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("expected an http:// or https:// URL")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("invalid port {0:?}")]
    Port(String),
}

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl HttpUrl {
    pub fn parse(url: &str) -> Result<HttpUrl, UrlError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(UrlError::Scheme);
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_owned()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_owned()),
        };
        if authority.contains('@') {
            return Err(UrlError::NoHost);
        }
        let default = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or(UrlError::NoHost)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| UrlError::Port(p.to_owned()))?,
                None => default,
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_owned(),
                    p.parse().map_err(|_| UrlError::Port(p.to_owned()))?,
                ),
                None => (authority.to_owned(), default),
            }
        };
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        Ok(HttpUrl {
            tls,
            host,
            port,
            path,
        })
    }
}

impl std::fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}{}", self.host, self.port, self.path)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.path)
        }
    }
}

/// The status code of a response head (`HTTP/1.x NNN …`).
pub fn status_code(head: &str) -> Option<u16> {
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    let code = parts.next()?;
    (version.starts_with("HTTP/1.") && code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let u = HttpUrl::parse("http://127.0.0.1:9000/hooks/actgate?x=1").unwrap();
        assert_eq!(
            u,
            HttpUrl {
                tls: false,
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/hooks/actgate?x=1".into()
            }
        );
        let u = HttpUrl::parse("https://hooks.example.com").unwrap();
        assert_eq!((u.port, u.path.as_str(), u.tls), (443, "/", true));
        let u = HttpUrl::parse("http://[::1]:81?a").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 81, "/?a")
        );
        assert_eq!(u.to_string(), "http://[::1]:81/?a");
        assert!(matches!(HttpUrl::parse("ftp://x"), Err(UrlError::Scheme)));
        assert!(matches!(
            HttpUrl::parse("http://:80/"),
            Err(UrlError::NoHost)
        ));
        assert!(matches!(
            HttpUrl::parse("http://u:p@h/"),
            Err(UrlError::NoHost)
        ));
        assert!(matches!(
            HttpUrl::parse("http://h:x/"),
            Err(UrlError::Port(_))
        ));
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code("HTTP/1.1 204 No Content\r\nX: y"), Some(204));
        assert_eq!(status_code("HTTP/1.0 401 Unauthorized"), Some(401));
        assert_eq!(status_code("SSH-2.0 nope"), None);
        assert_eq!(status_code(""), None);
    }
}
