//! Transaction modes and cursor movement, with and without the driver
//! profile.

use super::*;

/// Transaction modes as drivers send them (psycopg and asyncpg
/// `deferrable=True`, pgx `BeginTx`): per-transaction modes are the
/// transaction class; session defaults are settings, where only READ ONLY
/// narrows the pinned `default_transaction_read_only` and READ WRITE stays
/// refused, whatever else the statement says (issue 12, items 2 and 6).
#[test]
fn transaction_modes() {
    check(&[
        (
            A,
            "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
            "allow",
        ),
        (
            A,
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            "allow",
        ),
        (A, "BEGIN TRANSACTION NOT DEFERRABLE", "allow"),
        (A, "BEGIN WORK READ ONLY DEFERRABLE", "allow"),
        (A, "START TRANSACTION READ ONLY, DEFERRABLE", "allow"),
        (
            A,
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, NOT DEFERRABLE",
            "allow",
        ),
        (
            A,
            "BEGIN READ ONLY, DEFERRABLE; SELECT count(*) FROM orders; COMMIT",
            "allow",
        ),
        (
            A,
            "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE",
            "allow",
        ),
        (A, "SET TRANSACTION NOT DEFERRABLE", "allow"),
        (A, "SET LOCAL TRANSACTION READ ONLY", "allow"),
        (A, "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "allow"),
        (A, "SET CONSTRAINTS ALL DEFERRED", "allow"),
        (
            A,
            "SET CONSTRAINTS orders_customer_id_fkey IMMEDIATE",
            "allow",
        ),
        (S, "SET CONSTRAINTS ALL IMMEDIATE", "allow"),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE",
            "allow",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION DEFERRABLE",
            "allow",
        ),
        (
            S,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY NOT DEFERRABLE",
            "allow",
        ),
        // Per-transaction READ WRITE is SET transaction_read_only = off,
        // which the driver profile allows (as before): it opens no class
        // the rules do not allow.
        (A, "BEGIN READ WRITE", "allow"),
        (A, "SET TRANSACTION READ WRITE", "allow"),
        (
            A,
            "BEGIN READ WRITE, DEFERRABLE; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "START TRANSACTION READ ONLY, DEFERRABLE; SELECT email FROM customers",
            "column_denied",
        ),
        // Widening the session default stays pinned, in any company.
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE, DEFERRABLE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION DEFERRABLE READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, READ WRITE",
            "setting_pinned",
        ),
        (
            T,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE",
            "setting_pinned",
        ),
        // Not PostgreSQL, or not understood: refused.
        (A, "BEGIN ISOLATION LEVEL SNAPSHOT", "parse_error"),
        (A, "BEGIN TRAN", "parse_error"),
        (A, "BEGIN DEFERRED", "parse_error"),
        (A, "BEGIN READ ONLY,", "parse_error"),
        (A, "SET TRANSACTION", "parse_error"),
        (A, "SET TRANSACTION SNAPSHOT 1", "parse_error"),
        (
            A,
            "SET LOCAL CHARACTERISTICS AS TRANSACTION READ WRITE",
            "deny",
        ),
        (A, "SET CONSTRAINTS ALL", "parse_error"),
        (A, "SET constraints = 'all'", "setting_denied"),
    ]);
}

/// FETCH and MOVE in every direction PostgreSQL accepts (asyncpg
/// `Cursor.forward()`, psycopg named-cursor `scroll()`). MOVE returns no
/// rows and moves only the session's own cursor: housekeeping, like CLOSE
/// (issue 12, item 3).
#[test]
fn cursor_movement() {
    let mut cases = Vec::new();
    for direction in [
        "",
        "FROM ",
        "IN ",
        "NEXT ",
        "NEXT FROM ",
        "PRIOR FROM ",
        "FIRST IN ",
        "LAST ",
        "ABSOLUTE 3 FROM ",
        "ABSOLUTE -1 FROM ",
        "RELATIVE -2 ",
        "RELATIVE +2 IN ",
        "5 FROM ",
        "-5 FROM ",
        "ALL ",
        "ALL FROM ",
        "FORWARD ",
        "FORWARD 10 FROM ",
        "FORWARD ALL IN ",
        "BACKWARD FROM ",
        "BACKWARD 2 ",
        "BACKWARD ALL FROM ",
    ] {
        for cursor in ["c", "\"C 1\""] {
            cases.push((A, format!("MOVE {direction}{cursor}"), "allow"));
            cases.push((S, format!("MOVE {direction}{cursor}"), "allow"));
            cases.push((T, format!("FETCH {direction}{cursor}"), "allow"));
        }
    }
    let cases: Vec<(&str, &str, &str)> =
        cases.iter().map(|(a, s, e)| (*a, s.as_str(), *e)).collect();
    check(&cases);
    check(&[
        (A, "MOVE FORWARD 3 \"__asyncpg_cursor_1__\"", "allow"),
        (A, "MOVE ABSOLUTE 5 FROM \"pg3_cursor\"", "allow"),
        (A, "MOVE 1 FROM c; CLOSE c", "allow"),
        // Moving is no licence for anything else in the message.
        (
            A,
            "MOVE 1 FROM c; DELETE FROM orders WHERE id = 1",
            "statement_class_denied",
        ),
        (
            A,
            "MOVE 1 FROM c; SELECT * FROM staff_users",
            "table_denied",
        ),
        // FETCH … INTO and other non-PostgreSQL shapes are refused.
        (T, "FETCH 1 FROM c INTO x", "parse_error"),
        (A, "MOVE 1 FROM c INTO x", "parse_error"),
        (A, "MOVE", "parse_error"),
        (A, "MOVE 1.5 FROM c", "parse_error"),
        (A, "MOVE 99999999999 FROM c", "parse_error"),
        (A, "MOVE 1 FROM s.c", "parse_error"),
        (T, "FETCH FROM", "parse_error"),
    ]);
}

/// Without the driver profile, MOVE and transaction statements need their
/// classes, as before; narrowing the session still needs nothing.
#[test]
fn transaction_modes_without_the_driver_profile() {
    use actgate::policy::analyze::{AnalysisLimits, analyze};
    use actgate::policy::names::Resolver;
    use actgate::policy::{SessionState, Verdict};
    let dir = tempfile::tempdir().unwrap();
    let text = "[agent]\nname = \"strict\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n\
                [policy]\nstatements = [\"read\"]\ndriver_profile = false\n";
    std::fs::write(dir.path().join("strict.toml"), text).unwrap();
    let rules = actgate::rules::RuleSet::load_dir(dir.path(), &["public".into()]).unwrap();
    let search_path = vec!["public".to_string()];
    let outcome = |sql: &str| {
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: Some("shop"),
        };
        let analysis = analyze(sql, &resolver, AnalysisLimits::default());
        let policy = &rules.agent("strict").unwrap().policy;
        match policy.decide(&analysis, None, &SessionState::default(), None) {
            Verdict::Allow => "allow".to_string(),
            Verdict::Deny(d) => d.reason.to_string(),
        }
    };
    for (sql, expected) in [
        ("MOVE FORWARD 1 FROM c", "statement_class_denied"),
        ("BEGIN READ ONLY, DEFERRABLE", "statement_class_denied"),
        ("SET CONSTRAINTS ALL DEFERRED", "statement_class_denied"),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "allow",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE",
            "setting_denied",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
    ] {
        assert_eq!(outcome(sql), expected, "{sql}");
    }
}
