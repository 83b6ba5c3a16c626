//! What a decision says: a [`Verdict`], and a [`Denial`] worded for the agent.

use super::*;

/// A refusal, worded for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// SQLSTATE sent with the error (42501 for policy denials).
    pub sqlstate: &'static str,
    /// Stable machine-readable reason code.
    pub reason: &'static str,
    /// Which rule decided (`tables.orders`, `policy.statements`, `default_deny`…).
    pub rule: String,
    pub message: String,
    /// What would be allowed instead.
    pub hint: Option<String>,
}

impl Denial {
    pub(super) fn new(
        reason: &'static str,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Denial {
        Denial {
            sqlstate: "42501",
            reason,
            rule: rule.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub(super) fn hint(mut self, hint: impl Into<String>) -> Denial {
        self.hint = Some(hint.into());
        self
    }

    /// The DETAIL sent with the error (and nowhere else worded).
    pub fn detail(&self) -> String {
        denial_detail(self.reason, &self.rule)
    }
}

/// The DETAIL of an actgate refusal: `reason: CODE; rule: RULE`. Every
/// refusal the agent reads, decided by the policy or while a statement
/// runs (row limits, write caps), is worded by this one function.
pub fn denial_detail(reason: &str, rule: &str) -> String {
    format!("reason: {reason}; rule: {rule}")
}

/// The outcome of one policy evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(Denial),
}

impl Verdict {
    pub fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
}

/// What an agent's capability token grants, as the policy sees it. The
/// proxy implements it over a verified token (with the current time);
/// secret logins have none, so rules that need claims deny.
pub trait Capability {
    /// A claim by name (`{{claims.NAME}}` in rules).
    fn claim(&self, name: &str) -> Option<&str>;
    /// The token's own checks (attenuation, expiry) for one access; `table`
    /// is `None` for a statement that touches no user table.
    fn authorize(&self, table: Option<&str>, operation: &str) -> Result<(), CapabilityDenial>;
}

/// Claims without a token's checks: for `actgate explain --claim` and
/// tests.
#[derive(Debug, Clone, Default)]
pub struct StaticClaims(pub BTreeMap<String, String>);

impl Capability for StaticClaims {
    fn claim(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn authorize(&self, _table: Option<&str>, _operation: &str) -> Result<(), CapabilityDenial> {
        Ok(())
    }
}

/// Why a token's checks refused an access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityDenial {
    /// `token_expired` or `token_check_failed`.
    pub reason: &'static str,
    pub message: String,
}
