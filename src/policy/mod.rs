//! Policy decisions: pure and synchronous. Given what an agent asked for,
//! return a [`Verdict`]. This module never touches sockets or tokio; the
//! proxy calls [`Policy::evaluate`] for every Query, Parse, Bind and
//! Execute and carries out the verdict.
//!
//! The SQL firewall itself (statement analysis and TOML policies) plugs in
//! here; until then every well-framed statement is allowed.

pub mod analyze;
pub mod catalog;
pub mod names;

/// What the agent asked the database to do, as seen by the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// A simple-protocol Query (possibly several statements).
    Query { sql: &'a str },
    /// An extended-protocol Parse.
    Parse { statement: &'a str, sql: &'a str },
    /// An extended-protocol Bind of a prepared statement.
    Bind { portal: &'a str, statement: &'a str },
    /// An extended-protocol Execute of a portal.
    Execute { portal: &'a str },
}

/// Who is asking.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub agent: &'a str,
    pub database: &'a str,
}

/// A refusal, worded for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// SQLSTATE sent with the error (42501 for policy denials).
    pub sqlstate: &'static str,
    pub message: String,
    /// Stable machine-readable reason code (sent as DETAIL).
    pub reason: &'static str,
    /// What would be allowed instead (sent as HINT).
    pub hint: Option<String>,
}

/// The outcome of one policy evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(Denial),
}

/// An agent's compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {}

impl Policy {
    /// Decides one request. Framing-level refusals (FunctionCall, invalid
    /// UTF-8, oversized messages) never reach here.
    pub fn evaluate(&self, _ctx: &Context<'_>, _request: &Request<'_>) -> Verdict {
        Verdict::Allow
    }
}
