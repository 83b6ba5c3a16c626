//! Refusals that no rule of the agent's decides: the protocol, the
//! session and the process around the policy. Worded here, like every
//! other refusal, so that the proxy only carries them out.

use super::Denial;
use super::decision::{Decision, Stage};

/// A Parse of a statement name the session already uses (PostgreSQL's
/// own 42P05).
pub fn statement_exists(statement: &str) -> Denial {
    Denial {
        sqlstate: "42P05",
        reason: "statement_exists",
        rule: "builtin.protocol".into(),
        message: format!("prepared statement \"{statement}\" already exists"),
        hint: Some("close it first (Close or DEALLOCATE), or use another name".into()),
    }
}

/// A Bind of a statement no allowed Parse or PREPARE created.
pub fn unknown_prepared_statement(statement: &str) -> Denial {
    Denial::new(
        "unknown_prepared_statement",
        "default_deny",
        format!(
            "actgate denied Bind of prepared statement {statement:?}: it was not prepared by an allowed statement in this session"
        ),
    )
    .hint("Parse the statement first; only statements actgate allowed can be bound")
}

/// With `[audit] on_failure = "block"`, a statement that cannot be
/// audited now. SQLSTATE 58030 (io_error, class 58: a failure outside the
/// database): the session stays usable and the agent may retry later.
pub fn audit_unavailable(why: &str) -> Denial {
    Denial {
        sqlstate: "58030",
        reason: "audit_unavailable",
        rule: "audit.on_failure".into(),
        message: format!("actgate refused this statement: it cannot be audited ({why})"),
        hint: Some(
            "the statement did not run; retry once the operator has fixed the audit log".into(),
        ),
    }
}

/// A statement that needs state shared by actgate's replicas (a budget,
/// an approval) while the `[state]` store cannot be reached. Like
/// `audit_unavailable`, SQLSTATE 58030: nothing ran, the session stays
/// usable, and the same statement may succeed once the store is back.
pub fn control_state_unavailable(what: &str) -> Denial {
    Denial {
        sqlstate: "58030",
        reason: "control_state_unavailable",
        rule: "state".into(),
        message: format!(
            "actgate refused this statement: its {what} is kept in actgate's shared state, which cannot be reached now"
        ),
        hint: Some(
            "the statement did not run and nothing was counted; retry in a few seconds".into(),
        ),
    }
}

/// Any statement of a session whose capability token was revoked.
pub fn token_revoked(token_id: &str) -> Denial {
    Denial::new(
        "token_revoked",
        "token",
        format!("actgate denied this statement: capability token {token_id} was revoked"),
    )
    .hint("ask the orchestrator for a new token")
}

/// Any statement of a session whose agent a rules reload removed, or
/// took `database` from.
pub fn agent_removed(agent: &str, database: &str) -> Denial {
    Denial::new(
        "agent_removed",
        "rules",
        format!(
            "actgate denied this statement: agent {agent:?} may no longer use database {database:?} (the rules were reloaded)"
        ),
    )
    .hint("reconnect; ask the DBA if access should still be granted")
}

/// `actgate replay`: an event on a database the candidate rules
/// (`rules_file`) no longer let the agent connect to. (The proxy itself
/// refuses such a connection at startup, as PostgreSQL refuses a missing
/// database.)
pub fn database_not_allowed(rules_file: &str, agent: &str, database: &str) -> Denial {
    Denial {
        sqlstate: "3D000",
        reason: "database_not_allowed",
        rule: format!("{rules_file}: agent.databases"),
        message: format!(
            "agent {agent:?} may not connect to database {database:?} under the candidate rules"
        ),
        hint: None,
    }
}

/// A statement message longer than `server.max_message_bytes`.
pub fn message_too_long(length: usize, limit: usize) -> Denial {
    Denial {
        sqlstate: "54000",
        reason: "message_too_long",
        rule: "server.max_message_bytes".into(),
        message: format!(
            "statement message of {length} bytes exceeds actgate's limit of {limit} bytes"
        ),
        hint: Some(format!("send statements shorter than {limit} bytes")),
    }
}

/// The decision about a fast-path FunctionCall message: refused, since
/// it names a function by OID, outside any SQL actgate could check.
pub fn decide_function_call() -> Decision {
    Decision::refused(
        Stage::Session,
        Denial::new(
            "function_call_message",
            "builtin.protocol",
            "the fast-path FunctionCall message is not allowed through actgate",
        )
        .hint("call functions from SQL, e.g. SELECT f(...)"),
    )
}

#[cfg(test)]
#[path = "refusals_tests.rs"]
mod tests;
