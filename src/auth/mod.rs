//! Agent credentials: what an agent proves at login. Pure; the session
//! drives the exchange over the wire.
//!
//! Today an agent proves a static secret through SCRAM-SHA-256. Capability
//! tokens arrive as a cleartext PasswordMessage (over TLS or loopback) and
//! will plug in as another [`Credential`] variant.

pub mod scram;

pub use scram::{ScramError, Verifier};

/// How an agent authenticates.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A static secret kept only as a SCRAM-SHA-256 verifier.
    ScramSecret(Verifier),
    /// A capability token (sent as a cleartext password over TLS or
    /// loopback), verified against the configured public keys.
    Token,
}

/// Whether a cleartext PasswordMessage (how capability tokens arrive) may
/// be accepted on this connection: over TLS, from loopback, or anywhere if
/// the operator explicitly allowed it (`server.allow_cleartext_without_tls`).
pub fn cleartext_allowed(tls: bool, peer: std::net::IpAddr, allow_without_tls: bool) -> bool {
    tls || peer.is_loopback() || allow_without_tls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleartext_needs_tls_loopback_or_explicit_consent() {
        let remote: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert!(cleartext_allowed(true, remote, false));
        assert!(cleartext_allowed(false, local, false));
        assert!(cleartext_allowed(false, "::1".parse().unwrap(), false));
        assert!(!cleartext_allowed(false, remote, false));
        assert!(cleartext_allowed(false, remote, true));
    }
}
