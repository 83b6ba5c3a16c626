use super::*;
use crate::rules::parse_agent;

fn sp() -> Vec<String> {
    vec!["public".into()]
}

fn event(event: &str, mode: &str, sql: &str) -> String {
    serde_json::json!({
        "v": 1, "event": event, "agent": "watcher", "session_id": 3,
        "database": "shop", "mode": mode, "sql": sql, "sql_truncated": false,
    })
    .to_string()
}

fn suggest_from(lines: &[String]) -> Suggestion {
    let log = record::parse(&lines.join("\n"));
    suggest(&log, "audit.jsonl", "watcher", &HashMap::new(), &sp()).unwrap()
}

#[test]
fn the_proposal_loads_and_allows_what_it_was_built_from() {
    let s = suggest_from(&[
        event(
            "statement_allowed",
            "monitor",
            "SELECT id, status FROM orders WHERE id = 1",
        ),
        event(
            "statement_blocked",
            "monitor",
            "UPDATE orders SET status = 'paid' WHERE id = 1",
        ),
        event(
            "statement_blocked",
            "monitor",
            "SELECT count(*) FROM customers",
        ),
        event(
            "statement_blocked",
            "monitor",
            "SELECT public.order_total(1)",
        ),
        event("statement_allowed", "monitor", "BEGIN"),
    ]);
    assert!(s.uncovered.is_empty(), "{}", s.toml);
    assert_eq!(s.used, vec![1, 2, 3, 4, 5]);
    let agent = parse_agent(&s.toml, Path::new("s.toml"), &sp(), &HashMap::new()).unwrap();
    let p = &agent.policy;
    let names: Vec<&str> = p.classes.iter().map(|c| c.name()).collect();
    assert_eq!(names, vec!["read", "update"], "{}", s.toml);
    let orders = &p.tables[&QualifiedName::new("public", "orders")];
    let cols: Vec<&str> = orders
        .columns
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(cols, vec!["id", "status"], "{}", s.toml);
    let written: Vec<&str> = orders
        .write_columns
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    assert_eq!(written, vec!["status"], "{}", s.toml);
    assert!(
        p.functions
            .contains(&QualifiedName::new("public", "order_total")),
        "{}",
        s.toml
    );
    assert!(s.toml.contains("EDIT ME"), "{}", s.toml);
}

#[test]
fn star_without_a_catalog_omits_columns_and_says_why() {
    let s = suggest_from(&[event(
        "statement_allowed",
        "monitor",
        "SELECT * FROM orders",
    )]);
    assert!(s.toml.contains("# columns omitted"), "{}", s.toml);
    assert!(!s.toml.contains("columns = "), "{}", s.toml);
    assert!(s.uncovered.is_empty(), "{}", s.toml);
}

#[test]
fn unusable_events_are_reported_not_dropped() {
    let truncated = serde_json::json!({
        "event": "statement_allowed", "agent": "watcher", "database": "shop",
        "mode": "monitor", "sql": "SELECT id FRO", "sql_truncated": true,
    })
    .to_string();
    let s = suggest_from(&[
        event("statement_allowed", "monitor", "SELECT id FROM orders"),
        truncated,
        event("statement_allowed", "monitor", "SELEC nonsense"),
        event("statement_blocked", "enforce", "DELETE FROM orders"),
        event(
            "statement_blocked",
            "monitor",
            "COPY orders TO '/tmp/orders.csv'",
        ),
    ]);
    assert!(
        s.toml.contains("truncated SQL (sql_truncated), line(s) 2"),
        "{}",
        s.toml
    );
    assert!(s.toml.contains("#   line 3: "), "{}", s.toml);
    assert!(
        s.toml.contains("1 statement(s) blocked in enforce mode"),
        "{}",
        s.toml
    );
    // A server-side COPY is refused whatever the rules say.
    assert_eq!(s.uncovered.len(), 1, "{}", s.toml);
    assert_eq!(s.uncovered[0].0, 5);
    assert!(
        s.uncovered[0].1.starts_with("copy_server_side"),
        "{:?}",
        s.uncovered
    );
    assert!(s.toml.contains("# NOT COVERED: 1"), "{}", s.toml);
    parse_agent(&s.toml, Path::new("s.toml"), &sp(), &HashMap::new()).unwrap();
}

#[test]
fn token_sessions_make_a_token_agent() {
    let e = serde_json::json!({
        "event": "statement_allowed", "agent": "watcher", "database": "shop",
        "mode": "monitor", "sql": "SELECT id FROM orders WHERE customer_id = 42",
        "subject": "customer-42", "token_id": "t1", "claims": {"customer_id": "42"},
    })
    .to_string();
    let s = suggest_from(&[e]);
    assert!(s.toml.contains("auth = \"token\""), "{}", s.toml);
    assert!(!s.toml.contains("secret_verifier"), "{}", s.toml);
    assert!(s.toml.contains("claims customer_id"), "{}", s.toml);
}

#[test]
fn statements_refused_at_run_time_count_as_used() {
    let held = serde_json::json!({
        "event": "statement_blocked", "agent": "watcher", "database": "shop",
        "mode": "enforce", "reason": "rate_limited",
        "sql": "SELECT id FROM products WHERE id = 1",
    })
    .to_string();
    let s = suggest_from(&[held]);
    assert!(s.toml.contains("[tables.products]"), "{}", s.toml);
    assert!(s.uncovered.is_empty(), "{}", s.toml);
}

#[test]
fn no_statements_is_an_error() {
    let log = record::parse(
        &event("statement_allowed", "monitor", "SELECT 1").replace("watcher", "other"),
    );
    assert!(matches!(
        suggest(&log, "a", "watcher", &HashMap::new(), &sp()),
        Err(SuggestError::NoStatements(_))
    ));
}

fn setting(name: &str, action: SettingAction) -> SettingUse {
    SettingUse {
        name: name.to_owned(),
        action,
    }
}

#[test]
fn settings_a_rules_file_must_list() {
    // Built-in settings drivers send, narrowing and RESET/DISCARD ALL: no.
    assert!(!setting_needed(&setting(
        "application_name",
        SettingAction::Set
    )));
    assert!(!setting_needed(&setting(
        "application_name",
        SettingAction::Show
    )));
    assert!(!setting_needed(&setting(
        "default_transaction_read_only",
        SettingAction::Narrow
    )));
    assert!(!setting_needed(&setting("all", SettingAction::Reset)));
    assert!(!setting_needed(&setting("all", SettingAction::Discard)));
    assert!(!setting_needed(&setting(
        "default_transaction_read_only",
        SettingAction::Reset
    )));
    // Custom settings, and other settings changed: yes.
    assert!(setting_needed(&setting("app.tenant", SettingAction::Show)));
    assert!(setting_needed(&setting("app.tenant", SettingAction::Set)));
    assert!(!setting_needed(&setting("work_mem", SettingAction::Set)));
    assert!(setting_needed(&setting("search_path", SettingAction::Set)));
    assert!(setting_needed(&setting(
        "search_path",
        SettingAction::Reset
    )));
    assert!(!setting_needed(&setting(
        "search_path",
        SettingAction::Show
    )));
}

#[test]
fn builtin_and_driver_functions_are_never_listed() {
    assert!(builtin_function(&QualifiedName::new("pg_catalog", "count")));
    assert!(builtin_function(&QualifiedName::new(
        "pg_catalog",
        "format_type"
    )));
    assert!(builtin_function(&QualifiedName::new(
        "information_schema",
        "_pg_expandarray"
    )));
    assert!(!builtin_function(&QualifiedName::new("public", "count")));
    assert!(!builtin_function(&QualifiedName::new(
        "pg_catalog",
        "pg_read_file"
    )));
}
