use super::line::{line_at, timestamp};
use super::*;
use std::time::{Duration, UNIX_EPOCH};

#[test]
fn timestamps_are_rfc3339() {
    let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_micros(42);
    assert_eq!(timestamp(t), "2026-11-18T11:06:40.000042Z");
    assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
    // The text up to the second is kept per thread: the same second with
    // other microseconds, the next second, and back.
    let later = |us| timestamp(t + Duration::from_micros(us));
    assert_eq!(later(999_957), "2026-11-18T11:06:40.999999Z");
    assert_eq!(later(999_958), "2026-11-18T11:06:41.000000Z");
    assert_eq!(later(86_400_000_000), "2026-11-19T11:06:40.000042Z");
    assert_eq!(later(0), "2026-11-18T11:06:40.000042Z");
}

/// The line schema byte for byte: field order, names, omitted empties,
/// escaping. Any change here is a change of the documented schema.
#[test]
fn a_line_is_the_documented_schema_byte_for_byte() {
    let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_micros(42);
    let mut claims = std::collections::BTreeMap::new();
    claims.insert("region".to_owned(), "eu".to_owned());
    claims.insert("zone".to_owned(), "a\"b".to_owned());
    let event = AuditEvent {
        event: "statement_blocked",
        agent: Some("support-bot".into()),
        session_id: Some(7),
        client_addr: Some("127.0.0.1:5000".into()),
        database: Some("shop".into()),
        statement_class: Some("select"),
        tables: vec!["public.orders".into(), "\"Odd\"".into()].into(),
        reason: Some("table_not_allowed"),
        rule: Some("agents.support-bot.tables".into()),
        mode: Some("enforce"),
        risk: vec!["denied", "writes"],
        risk_score: Some(6),
        fingerprint: Some("abc123".into()),
        sql: Some("SELECT 'é\n\u{1}' FROM \"Odd\"".into()),
        sql_truncated: Some(false),
        message: Some("no".into()),
        count: Some(3),
        token_id: Some("tok".into()),
        subject: Some("user-1".into()),
        chain: vec!["check a".into()].into(),
        claims: Claims::new(&claims, Some("acme")),
        approval_id: Some("ap-1".into()),
        alert: Some("queued"),
        alert_id: Some("al-1".into()),
        session_line: None,
        statement_line: None,
    };
    let expected = concat!(
        r#"{"v":1,"ts":"2026-11-18T11:06:40.000042Z","event":"statement_blocked","#,
        r#""agent":"support-bot","session_id":7,"client_addr":"127.0.0.1:5000","#,
        r#""database":"shop","statement_class":"select","#,
        r#""tables":["public.orders","\"Odd\""],"reason":"table_not_allowed","#,
        r#""rule":"agents.support-bot.tables","mode":"enforce","risk":["denied","writes"],"#,
        r#""risk_score":6,"fingerprint":"abc123","sql":"SELECT 'é\n\u0001' FROM \"Odd\"","#,
        r#""sql_truncated":false,"message":"no","count":3,"token_id":"tok","#,
        r#""subject":"user-1","chain":["check a"],"#,
        r#""claims":{"region":"eu","tenant":"acme","zone":"a\"b"},"#,
        r#""approval_id":"ap-1","alert":"queued","alert_id":"al-1"}"#,
        "\n"
    );
    assert_eq!(String::from_utf8(line_at(&event, t)).unwrap(), expected);
    let bare = AuditEvent {
        event: "rules_reloaded",
        ..AuditEvent::default()
    };
    assert_eq!(
        String::from_utf8(line_at(&bare, UNIX_EPOCH)).unwrap(),
        "{\"v\":1,\"ts\":\"1970-01-01T00:00:00.000000Z\",\"event\":\"rules_reloaded\"}\n"
    );
}

/// A custom claim named `tenant` is shadowed by the token's tenant, as
/// the decision sees it; without a tenant it is written as it is.
#[test]
fn the_tenant_claim_takes_the_place_of_a_custom_one() {
    let mut custom = std::collections::BTreeMap::new();
    custom.insert("tenant".to_owned(), "custom".to_owned());
    custom.insert("a".to_owned(), "1".to_owned());
    let json = |c: Claims<'_>| serde_json::to_string(&c).unwrap();
    assert_eq!(
        json(Claims::new(&custom, Some("t"))),
        r#"{"a":"1","tenant":"t"}"#
    );
    assert_eq!(
        json(Claims::new(&custom, None)),
        r#"{"a":"1","tenant":"custom"}"#
    );
    let none = std::collections::BTreeMap::new();
    assert_eq!(json(Claims::new(&none, Some("t"))), r#"{"tenant":"t"}"#);
    assert!(Claims::new(&none, None).is_empty());
}

/// The line is written by hand (src/audit/line.rs); the derived
/// serialisation of [`AuditEvent`] is the schema. They agree byte for
/// byte on every field, set and unset, on every ASCII byte and on UTF-8
/// in every string, and on the claims with and without a tenant.
#[test]
fn the_written_line_is_the_derived_serialisation() {
    let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000) + Duration::from_micros(42);
    let odd: String = (0u8..0x80).map(char::from).chain("é€𝄞".chars()).collect();
    let mut custom = std::collections::BTreeMap::new();
    custom.insert("tenant".to_owned(), odd.clone());
    custom.insert(odd.clone(), "v".to_owned());
    custom.insert("zz".to_owned(), "\u{7f}\"".to_owned());
    let empty = std::collections::BTreeMap::new();
    let full = AuditEvent {
        event: "statement_blocked",
        agent: Some(odd.as_str().into()),
        session_id: Some(u64::MAX),
        client_addr: Some(odd.as_str().into()),
        database: Some("".into()),
        statement_class: Some("select"),
        tables: vec![odd.clone(), String::new()].into(),
        reason: Some("table_not_allowed"),
        rule: Some(odd.as_str().into()),
        mode: Some("monitor"),
        risk: vec!["denied"],
        risk_score: Some(0),
        fingerprint: Some(odd.as_str().into()),
        sql: Some(odd.as_str().into()),
        sql_truncated: Some(true),
        message: Some(odd.as_str().into()),
        count: Some(0),
        token_id: Some(odd.as_str().into()),
        subject: Some(odd.as_str().into()),
        chain: vec![odd.clone()].into(),
        claims: Claims::new(&custom, Some("acme")),
        approval_id: Some(odd.as_str().into()),
        alert: Some("dropped"),
        alert_id: Some(odd.as_str().into()),
        session_line: None,
        statement_line: None,
    };
    let events = [
        full.clone(),
        AuditEvent {
            claims: Claims::new(&custom, None),
            sql_truncated: Some(false),
            session_id: Some(10),
            ..full.clone()
        },
        AuditEvent {
            claims: Claims::new(&empty, Some(&odd)),
            ..full.clone()
        },
        AuditEvent {
            event: "statement_allowed",
            claims: Claims::new(&empty, None),
            session_id: Some(1_234_567_890),
            sql: Some("SELECT abalance FROM pgbench_accounts WHERE aid = 7;".into()),
            ..AuditEvent::default()
        },
        AuditEvent {
            event: "rules_reloaded",
            ..AuditEvent::default()
        },
    ];
    for event in &events {
        let mut derived = br#"{"v":1,"ts":"2026-11-18T11:06:40.000042Z","#.to_vec();
        derived.extend_from_slice(&serde_json::to_vec(event).unwrap()[1..]);
        derived.push(b'\n');
        assert_eq!(
            String::from_utf8(line_at(event, t)).unwrap(),
            String::from_utf8(derived.clone()).unwrap()
        );
        // The session's fields rendered once give the same line.
        let session = SessionLine::of(event);
        let with_session = AuditEvent {
            session_line: Some(&session),
            ..event.clone()
        };
        assert_eq!(line_at(&with_session, t), derived);
        // So do the statement's.
        let statement = StatementLine::of(event);
        let with_both = AuditEvent {
            statement_line: Some(&statement),
            ..with_session
        };
        assert_eq!(line_at(&with_both, t), derived);
    }
}

#[test]
fn events_are_written_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, 16, 8).unwrap();
    let (sql, truncated) = log.sql("SELECT * FROM orders");
    log.record(&AuditEvent {
        event: "statement_allowed",
        agent: Some("bot".into()),
        sql: Some(sql.into()),
        sql_truncated: Some(truncated),
        ..AuditEvent::default()
    });
    log.close();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let opened: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(opened["event"], "audit_log_opened");
    let v: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(v["event"], "statement_allowed");
    assert_eq!(v["agent"], "bot");
    assert_eq!(v["sql"], "SELECT *");
    assert_eq!(v["sql_truncated"], true);
    assert_eq!(v["v"], 1);
}

#[test]
fn a_full_queue_drops_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, 1, 64).unwrap();
    for _ in 0..10_000 {
        log.record(&AuditEvent {
            event: "statement_allowed",
            ..AuditEvent::default()
        });
    }
    let dropped = log.dropped();
    log.close();
    let events = read(&path);
    let written = events
        .iter()
        .filter(|e| e["event"] == "statement_allowed")
        .count() as u64;
    assert_eq!(written + dropped, 10_000);
    assert_eq!(reported(&events, "queue_full"), dropped);
    assert_eq!(reported(&events, "write_failed"), 0);
    assert_eq!(log.dropped_by(DropCause::QueueFull), dropped);
    assert_eq!(log.unreported(), 0);
}

fn read(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect()
}

/// The drops `audit_events_dropped` lines account for, for `reason`.
fn reported(events: &[serde_json::Value], reason: &str) -> u64 {
    events
        .iter()
        .filter(|e| e["event"] == "audit_events_dropped" && e["reason"] == reason)
        .map(|e| e["count"].as_u64().unwrap())
        .sum()
}

fn event<'a>(name: &'static str, message: &'a str) -> AuditEvent<'a> {
    AuditEvent {
        event: name,
        message: Some(message.into()),
        ..AuditEvent::default()
    }
}

/// Waits (bounded) until `done`.
fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what}");
}

fn contains(path: &Path, text: &str) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| t.contains(text))
}

/// A full disk: the path is a symlink to /dev/full, where every write
/// fails with ENOSPC.
fn full_disk(dir: &Path) -> PathBuf {
    let path = dir.join("audit.jsonl");
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    path
}

/// Frees the disk: a regular file takes the symlink's place.
fn free_disk(path: &Path) {
    let fresh = path.with_extension("fresh");
    std::fs::write(&fresh, "").unwrap();
    std::fs::rename(&fresh, path).unwrap();
}

#[test]
fn failed_writes_are_counted_by_cause_and_reported_once_a_report_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = full_disk(dir.path());
    let mut log = AuditLog::open(&path, 64, 64).unwrap();
    // The opening line could not be written.
    assert!(
        matches!(&log.health(), AuditHealth::Failing { error } if error.contains("No space left")),
        "{:?}",
        log.health()
    );
    assert_eq!(log.dropped_by(DropCause::WriteFailed), 1);
    for i in 0..5 {
        log.record(&event("statement_allowed", &format!("lost {i}")));
    }
    until("the five events are lost", || log.dropped() == 6);
    assert_eq!(log.dropped_by(DropCause::QueueFull), 0);
    // No report could be written: none counts as reported.
    assert_eq!(log.unreported(), 6);
    // Continue mode: still accepting.
    assert!(log.accepting());

    free_disk(&path);
    log.record(&event("statement_allowed", "kept"));
    until("the disk is written again", || {
        log.health() == AuditHealth::Writing && log.unreported() == 0
    });
    log.close();
    let events = read(&path);
    assert_eq!(reported(&events, "write_failed"), 6, "{events:#?}");
    assert_eq!(reported(&events, "queue_full"), 0);
    let reopened = events
        .iter()
        .find(|e| e["event"] == "audit_log_reopened")
        .expect("the reopen is recorded");
    assert_eq!(reopened["reason"], "replaced");
    let drop = events
        .iter()
        .find(|e| e["event"] == "audit_events_dropped")
        .unwrap();
    assert!(
        drop["message"].as_str().unwrap().contains("No space left"),
        "{drop}"
    );
    assert!(events.iter().any(|e| e["message"] == "kept"));
    assert!(!events.iter().any(|e| e["message"] == "lost 0"));
}

#[test]
fn a_deleted_file_is_made_again_and_the_gap_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut log = AuditLog::open(&path, 64, 64).unwrap();
    log.record(&event("statement_allowed", "before"));
    until("the first event is written", || contains(&path, "before"));
    std::fs::remove_file(&path).unwrap();
    log.record(&event("statement_allowed", "after"));
    log.close();
    let events = read(&path);
    assert_eq!(events[0]["event"], "audit_log_reopened", "{events:#?}");
    assert_eq!(events[0]["reason"], "deleted");
    assert!(events.iter().any(|e| e["message"] == "after"));
    assert_eq!(log.reopened(), 1);
}

#[test]
fn a_reopen_follows_a_rotation_by_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let rotated = dir.path().join("audit.jsonl.1");
    let mut log = AuditLog::open(&path, 64, 64).unwrap();
    log.record(&event("statement_allowed", "one"));
    until("written", || contains(&path, "\"one\""));
    std::fs::rename(&path, &rotated).unwrap();
    // Until the reopen, events still land in the renamed file.
    log.record(&event("statement_allowed", "two"));
    until("written to the renamed file", || {
        contains(&rotated, "\"two\"")
    });
    assert!(!path.exists());
    log.reopen();
    log.record(&event("statement_allowed", "three"));
    log.close();
    let old = read(&rotated);
    let new = read(&path);
    assert_eq!(new[0]["event"], "audit_log_reopened", "{new:#?}");
    assert_eq!(new[0]["reason"], "requested");
    assert!(new[0]["count"].is_null(), "nothing lost: {new:#?}");
    assert!(new.iter().any(|e| e["message"] == "three"));
    assert!(!old.iter().any(|e| e["message"] == "three"));
    assert!(old.iter().any(|e| e["message"] == "two"));
    assert_eq!(log.dropped(), 0);
}

#[test]
fn with_block_an_unwritable_log_refuses_and_a_writable_one_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let full = AuditLog::open_with(&full_disk(dir.path()), 64, 64, AuditOnFailure::Block).unwrap();
    assert!(!full.accepting());
    let why = full.refusal().unwrap();
    assert!(why.contains("No space left on device"), "{why}");

    let fine = AuditLog::open_with(
        &dir.path().join("fine.jsonl"),
        64,
        64,
        AuditOnFailure::Block,
    )
    .unwrap();
    assert!(fine.accepting());
    assert!(AuditLog::disabled().accepting());
}
