//! Runs each statement through actgate's analysis and decision.

use crate::corpus::Statement;
use actgate::policy::analyze::{AnalysisError, AnalysisLimits, analyze};
use actgate::policy::names::Resolver;
use actgate::policy::{Policy, SessionState, Verdict, referee};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// What actgate made of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Allowed,
    /// Analysed, then denied by the decision (a built-in refusal such as
    /// `DROP ROLE` or a server-side `COPY`): counts as analysable.
    Denied {
        reason: String,
        message: String,
    },
    /// The analysis failed: `parse_error`, `unsupported_statement` or
    /// `statement_too_long`, with the analysis error.
    Failed {
        reason: String,
        error: String,
    },
    /// actgate panicked (a bug: the proxy would drop the connection).
    Panicked(String),
}

impl Outcome {
    pub fn analysable(&self) -> bool {
        matches!(self, Outcome::Allowed | Outcome::Denied { .. })
    }

    /// The reason code (`allow` when allowed).
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Allowed => "allow",
            Outcome::Denied { reason, .. } | Outcome::Failed { reason, .. } => reason,
            Outcome::Panicked(_) => "panic",
        }
    }

    /// The failure grouped: the parse error without its position (so the
    /// expected and found tokens remain), the unsupported construct, the
    /// denial's reason.
    pub fn group(&self) -> String {
        match self {
            Outcome::Allowed => "allow".into(),
            Outcome::Denied { reason, .. } => reason.clone(),
            Outcome::Failed { reason, error } => format!("{reason}: {}", group_error(error)),
            Outcome::Panicked(m) => format!("panic: {m}"),
        }
    }

    /// The full text for the failures file.
    pub fn detail(&self) -> String {
        match self {
            Outcome::Allowed => "allow".into(),
            Outcome::Denied { reason, message } => format!("{reason}: {message}"),
            Outcome::Failed { reason, error } => format!("{reason}: {error}"),
            Outcome::Panicked(m) => format!("panic: {m}"),
        }
    }
}

/// The analysis error without the parser's prefix and position.
fn group_error(error: &str) -> String {
    let e = error
        .strip_prefix("could not parse the statement: ")
        .unwrap_or(error);
    let e = e.strip_prefix("sql parser error: ").unwrap_or(e);
    let e = e
        .strip_prefix("could not analyse the statement: ")
        .and_then(|e| e.strip_suffix(" is not supported"))
        .unwrap_or(e);
    let e = match e.rfind(" at Line: ") {
        Some(i) => &e[..i],
        None => e,
    };
    // `relation list_parted in this position`: one group whatever the name.
    match e
        .strip_prefix("relation ")
        .and_then(|r| r.split_once(" in "))
    {
        Some((_, rest)) => format!("relation … in {rest}"),
        None => e.to_owned(),
    }
}

/// One statement's outcome and how long its analysis and decision took.
pub struct Measured {
    pub outcome: Outcome,
    pub analysis: Duration,
    pub decision: Duration,
    /// The referee alone (PostgreSQL's parser reading the statement again
    /// and the comparison), on statements the analysis read; part of
    /// `analysis`, measured a second time on its own.
    pub referee: Option<Duration>,
}

/// Analyses and decides `statement` as a simple Query from the
/// allow-everything agent in a fresh session, without a catalog.
pub fn measure(policy: &Policy, statement: &Statement) -> Measured {
    let search_path = crate::rules::search_path();
    let resolver = Resolver {
        search_path: &search_path,
        catalog: None,
        database: Some("regression"),
    };
    let session = SessionState::default();
    let mut analysis_time = Duration::ZERO;
    let mut decision_time = Duration::ZERO;
    let mut referee_time = None;
    let run = catch_unwind(AssertUnwindSafe(|| {
        let start = Instant::now();
        let analysis = analyze(&statement.sql, &resolver, AnalysisLimits::default());
        analysis_time = start.elapsed();
        if let Ok(a) = &analysis {
            let start = Instant::now();
            let _ = referee::check(&statement.sql, a);
            referee_time = Some(start.elapsed());
        }
        let start = Instant::now();
        let verdict = policy.decide(&analysis, None, &session, None);
        decision_time = start.elapsed();
        (analysis.err(), verdict)
    }));
    let outcome = match run {
        Err(payload) => Outcome::Panicked(panic_message(payload.as_ref())),
        Ok((Some(e), Verdict::Deny(d))) => Outcome::Failed {
            reason: d.reason.to_owned(),
            error: error_text(&e),
        },
        Ok((_, Verdict::Deny(d))) => Outcome::Denied {
            reason: d.reason.to_owned(),
            message: d.message,
        },
        Ok((_, Verdict::Allow)) => Outcome::Allowed,
    };
    Measured {
        outcome,
        analysis: analysis_time,
        decision: decision_time,
        referee: referee_time,
    }
}

fn error_text(e: &AnalysisError) -> String {
    e.to_string()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}
