//! Table-driven policy cases: (agent, SQL) → "allow" or the reason code of
//! the denial. Offline: the shipped rules, tests/rules and a hand-built
//! catalog of the demo shop (tests/common/policy.rs).
//!
//! An expectation is `"allow"`, one reason code, several reason codes
//! separated by `|` (any of them), or `"deny"` (any denial at all, for
//! syntax whose fate depends on the parser: it must never be allowed).
//!
//! The attack classes come from SECURITY.md; each is covered by several
//! variants, not just its textbook example. Semantics were checked against
//! PostgreSQL 15 where the difference matters (noted at the case).

#[path = "../common/mod.rs"]
mod common;

use common::policy::outcome;

/// Whether `got` satisfies `expected` (see the module comment).
fn matches(expected: &str, got: &str) -> bool {
    match expected {
        "deny" => got != "allow",
        _ => expected.split('|').any(|e| e == got),
    }
}

/// Runs a table and reports every mismatch at once.
fn check(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (agent, sql, expected) in cases {
        let got = outcome(agent, sql);
        if !matches(expected, &got) {
            failures.push(format!(
                "  [{agent}] {sql}\n      expected {expected}, got {got}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const A: &str = "analytics";
const S: &str = "support-desk";
const T: &str = "tester";

mod bind_time;
mod columns;
mod driver_profile;
mod functions;
mod grammar_ddl;
mod grammar_exprs;
mod grammar_jsonxml;
mod grammar_objects;
mod grammar_operators;
mod grammar_queries;
mod grammar_tables;
mod grammar_tables2;
mod names;
mod privileges;
mod reads;
mod referee;
mod rule_names;
mod scoping;
mod settings;
mod statements;
mod transactions;
mod value_limits;
mod wrappers;
mod writes;
