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
}
