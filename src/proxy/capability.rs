//! The policy's view of a verified capability token: its claims, and its
//! own checks evaluated at the current time.

use crate::policy::{Capability, CapabilityDenial};
use crate::token::{TokenError, VerifiedToken};
use std::sync::Arc;
use std::time::SystemTime;

pub struct TokenCapability {
    token: Arc<VerifiedToken>,
}

impl TokenCapability {
    pub fn new(token: Arc<VerifiedToken>) -> Self {
        TokenCapability { token }
    }
}

impl Capability for TokenCapability {
    fn claim(&self, name: &str) -> Option<&str> {
        self.token.claims.get(name)
    }

    fn authorize(&self, table: Option<&str>, operation: &str) -> Result<(), CapabilityDenial> {
        self.token
            .authorize(table, operation, SystemTime::now())
            .map_err(|e| CapabilityDenial {
                reason: match e {
                    TokenError::Expired { .. } => "token_expired",
                    _ => "token_check_failed",
                },
                message: e.to_string(),
            })
    }
}
