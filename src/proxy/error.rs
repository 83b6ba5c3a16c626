//! Why a session ended, and which side was at fault. That decides the log
//! level and what, if anything, the client is told.

use crate::auth::ScramError;
use crate::protocol::ProtocolError;

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("client i/o: {0}")]
    ClientIo(#[source] std::io::Error),
    #[error("client protocol violation: {0}")]
    ClientProtocol(#[from] ProtocolError),
    #[error("client authentication: {0}")]
    Auth(#[from] ScramError),
    #[error("client did not complete startup in time")]
    StartupTimeout,
    #[error("upstream: {0}")]
    Upstream(#[from] super::upstream::UpstreamError),
    #[error("tls handshake with client: {0}")]
    Tls(#[source] std::io::Error),
}
