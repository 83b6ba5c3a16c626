use super::*;
use crate::rules::parse_agent;

const VERIFIER: &str = "SCRAM-SHA-256$4096:8KwgthCCVYh5FX1IFo9YwQ==$+aaZKqOWGfp6oc8iQTpv34zTqy7Jp/lCrAkbFTJ2dtI=:GQJEfM66DEdPh+OEpEqK1NbGrPtmB2v2C2vzN3fiDEg=";

fn sp() -> Vec<String> {
    vec!["public".into()]
}

fn rules(files: &[&str]) -> RuleSet {
    let mut set = RuleSet::default();
    for (i, text) in files.iter().enumerate() {
        let path = format!("candidate/{i}.toml");
        set.add(parse_agent(text, Path::new(&path), &sp(), &HashMap::new()).unwrap())
            .unwrap();
    }
    set
}

fn analytics(extra: &str) -> String {
    format!(
        "[agent]\nname = \"analytics\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{VERIFIER}\"\n[policy]\nstatements = [\"read\"]\n[tables.orders]\noperations = [\"select\"]\n{extra}"
    )
}

fn event(event: &str, sql: &str) -> String {
    serde_json::json!({
        "v": 1, "event": event, "agent": "analytics", "session_id": 1,
        "database": "shop", "mode": "enforce", "sql": sql, "sql_truncated": false,
    })
    .to_string()
}

#[test]
fn verdicts_are_compared_with_the_recorded_ones() {
    let log = record::parse(
        &[
            event("statement_allowed", "SELECT id FROM orders"),
            event("statement_allowed", "SELECT name FROM products"),
            event("statement_blocked", "SELECT id FROM refunds"),
            event("statement_blocked", "DELETE FROM orders WHERE id = 1"),
        ]
        .join("\n"),
    );
    let set = rules(&[&analytics("[tables.refunds]\noperations = [\"select\"]\n")]);
    let report = replay(&log, &set, &HashMap::new(), &sp(), None);
    let counts = &report.agents["analytics"];
    assert_eq!(counts.unchanged_allowed, 1);
    assert_eq!(counts.unchanged_blocked, 1);
    assert_eq!(report.newly_blocked.len(), 1);
    assert_eq!(report.newly_blocked[0].line, 2);
    assert_eq!(
        report.newly_blocked[0].reason.as_deref(),
        Some("table_not_allowed")
    );
    assert_eq!(report.newly_allowed.len(), 1);
    assert_eq!(report.newly_allowed[0].line, 3);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn what_cannot_be_replayed_is_listed_with_why() {
    let truncated = serde_json::json!({
        "event": "statement_allowed", "agent": "analytics", "sql": "SELECT id FR",
        "sql_truncated": true,
    });
    let bind = serde_json::json!({
        "event": "statement_blocked", "agent": "analytics", "reason": "unknown_prepared_statement",
    });
    let ghost = serde_json::json!({
        "event": "statement_allowed", "agent": "ghost", "sql": "SELECT 1",
    });
    let budget = serde_json::json!({
        "event": "statement_blocked", "agent": "analytics", "sql": "SELECT id FROM orders",
        "reason": "rate_limited",
    });
    let login = serde_json::json!({"event": "login_succeeded", "agent": "analytics"});
    let log = record::parse(&format!(
        "{truncated}\n{bind}\n{ghost}\n{budget}\n{login}\n{{oops\n"
    ));
    let report = replay(
        &log,
        &rules(&[&analytics("")]),
        &HashMap::new(),
        &sp(),
        None,
    );
    let kinds: Vec<(usize, &str)> = report
        .not_replayable
        .iter()
        .map(|u| (u.line, u.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![(1, "sql_truncated"), (2, "no_sql"), (3, "unknown_agent")]
    );
    // The budget refusal is replayed as the policy's allow.
    assert_eq!(report.agents["analytics"].unchanged_allowed, 1);
    assert_eq!(report.other_events, 1);
    assert_eq!(report.malformed.len(), 1);
    assert_eq!(report.malformed[0].line, 6);
    assert_eq!(report.exit_code(), 0);
    let text = render_text(&report);
    assert!(text.contains("line 6: "), "{text}");
    assert!(text.contains("not replayable: 3"), "{text}");
}

#[test]
fn claims_scope_rows_and_their_absence_is_explained() {
    let scoped = "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nauth = \"token\"\n[policy]\nstatements = [\"read\"]\n[tables.orders]\noperations = [\"select\"]\nscope = { customer_id = \"{{claims.customer_id}}\" }\n";
    let with = serde_json::json!({
        "event": "statement_allowed", "agent": "bot", "database": "shop",
        "subject": "customer-42", "token_id": "t1", "claims": {"customer_id": "42"},
        "sql": "SELECT id FROM orders WHERE customer_id = 42",
    });
    let other = serde_json::json!({
        "event": "statement_allowed", "agent": "bot", "database": "shop",
        "subject": "customer-42", "token_id": "t1", "claims": {"customer_id": "42"},
        "sql": "SELECT id FROM orders WHERE customer_id = 7",
    });
    let without = serde_json::json!({
        "event": "statement_allowed", "agent": "bot", "database": "shop",
        "subject": "customer-42", "token_id": "t1",
        "sql": "SELECT id FROM orders WHERE customer_id = 42",
    });
    let log = record::parse(&format!("{with}\n{other}\n{without}"));
    let report = replay(&log, &rules(&[scoped]), &HashMap::new(), &sp(), None);
    assert_eq!(report.agents["bot"].unchanged_allowed, 1);
    let blocked: Vec<(usize, Option<&str>)> = report
        .newly_blocked
        .iter()
        .map(|c| (c.line, c.reason.as_deref()))
        .collect();
    assert_eq!(
        blocked,
        vec![(2, Some("scope_violation")), (3, Some("claim_missing"))]
    );
    assert!(
        report.newly_blocked[1]
            .note
            .as_deref()
            .is_some_and(|n| n.contains("no claims")),
        "{:?}",
        report.newly_blocked[1]
    );
    assert_eq!(report.without_claims, 1);
}

#[test]
fn a_prepared_statement_is_seen_by_its_execute_in_the_same_session() {
    let policy = analytics("").replace(
        "statements = [\"read\"]",
        "statements = [\"read\", \"prepare\", \"execute\"]",
    );
    let log = record::parse(
        &[
            event("statement_allowed", "PREPARE q AS SELECT id FROM orders"),
            event("statement_allowed", "EXECUTE q"),
        ]
        .join("\n"),
    );
    let report = replay(&log, &rules(&[&policy]), &HashMap::new(), &sp(), None);
    assert_eq!(
        report.agents["analytics"].unchanged_allowed, 2,
        "{report:?}"
    );
}

#[test]
fn a_database_the_candidate_drops_blocks_its_statements() {
    let log = record::parse(&event("statement_allowed", "SELECT id FROM orders"));
    let moved = analytics("").replace("[\"shop\"]", "[\"warehouse\"]");
    let report = replay(&log, &rules(&[&moved]), &HashMap::new(), &sp(), None);
    assert_eq!(
        report.newly_blocked[0].reason.as_deref(),
        Some("database_not_allowed")
    );
}

#[test]
fn notes_on_newly_blocked_statements() {
    let note = |reason, no_claims, capability, mode, runtime| {
        newly_blocked_note(reason, no_claims, capability, mode, runtime).unwrap_or_default()
    };
    assert!(note("claim_missing", true, true, Mode::Enforce, None).contains("records no claims"));
    assert!(note("claim_missing", false, false, Mode::Enforce, None).contains("secret login"));
    // A token session with its claims recorded: no claims note.
    assert_eq!(note("claim_missing", false, true, Mode::Enforce, None), "");
    assert!(note("table_denied", false, true, Mode::Monitor, None).contains("monitor mode"));
    assert!(
        note(
            "table_denied",
            false,
            true,
            Mode::Enforce,
            Some("rate_limited")
        )
        .contains("refused at run time (rate_limited)")
    );
    assert_eq!(note("table_denied", false, true, Mode::Enforce, None), "");
}
