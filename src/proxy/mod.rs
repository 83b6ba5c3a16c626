//! Sessions: one task per client. Startup and agent authentication,
//! the upstream connection, the message relay and cancel requests.
//!
//! The proxy carries out verdicts; it never makes policy decisions itself.

mod cancel;
mod error;
mod relay;
mod session;
mod stream;
mod upstream;

pub use cancel::CancelRegistry;
pub use error::SessionError;
pub use session::handle_connection;
pub use stream::MaybeTls;

use crate::config::Config;
use crate::policy::Policy;
use crate::rules::RuleSet;
use std::sync::{Arc, RwLock};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// State shared by every session of one running actgate.
pub struct Gateway {
    pub config: Config,
    rules: RwLock<Arc<RuleSet>>,
    pub policy: Policy,
    pub cancels: CancelRegistry,
    pub tls_acceptor: Option<TlsAcceptor>,
    pub upstream_tls: Option<TlsConnector>,
    /// Key for the mock SCRAM salts of unknown agents.
    mock_key: [u8; 32],
}

impl Gateway {
    pub fn new(
        config: Config,
        rules: RuleSet,
        tls_acceptor: Option<TlsAcceptor>,
        upstream_tls: Option<TlsConnector>,
    ) -> Gateway {
        Gateway {
            config,
            rules: RwLock::new(Arc::new(rules)),
            policy: Policy::default(),
            cancels: CancelRegistry::default(),
            tls_acceptor,
            upstream_tls,
            mock_key: rand::random(),
        }
    }

    /// The rule set new sessions authenticate against.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.rules
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a complete, already validated rule set.
    pub fn replace_rules(&self, rules: RuleSet) {
        *self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(rules);
    }
}
