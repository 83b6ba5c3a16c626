use super::*;
use Direction as D;
use IsolationLevel as L;
use TransactionMode as M;

fn read(sql: &str) -> Result<Vec<Parsed>, AnalysisError> {
    parse(sql, 50)
}

fn one(sql: &str) -> Utility {
    match read(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .as_slice()
    {
        [Parsed::Utility(u)] => u.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn refused(sql: &str) {
    assert!(
        matches!(read(sql), Err(AnalysisError::Parse(_))),
        "{sql}: {:?}",
        read(sql)
    );
}

fn moved(sql: &str) -> (String, Direction) {
    match one(sql) {
        Utility::Cursor(CursorRef::Fetch { name, direction })
        | Utility::Cursor(CursorRef::Move { name, direction }) => (name, direction),
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn begin_and_start_with_every_mode() {
    assert_eq!(one("BEGIN"), Utility::Begin(vec![]));
    assert_eq!(one("begin work"), Utility::Begin(vec![]));
    assert_eq!(one("BEGIN TRANSACTION"), Utility::Begin(vec![]));
    assert_eq!(one("START TRANSACTION"), Utility::Begin(vec![]));
    assert_eq!(
        one("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE"),
        Utility::Begin(vec![
            M::Isolation(L::Serializable),
            M::ReadOnly,
            M::Deferrable
        ])
    );
    assert_eq!(
        one("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ WRITE NOT DEFERRABLE"),
        Utility::Begin(vec![
            M::Isolation(L::RepeatableRead),
            M::ReadWrite,
            M::NotDeferrable
        ])
    );
    assert_eq!(
        one("start transaction read only, deferrable"),
        Utility::Begin(vec![M::ReadOnly, M::Deferrable])
    );
    assert_eq!(
        one("BEGIN WORK ISOLATION LEVEL READ COMMITTED"),
        Utility::Begin(vec![M::Isolation(L::ReadCommitted)])
    );
    assert_eq!(
        one("BEGIN ISOLATION LEVEL READ UNCOMMITTED"),
        Utility::Begin(vec![M::Isolation(L::ReadUncommitted)])
    );
    for bad in [
        "BEGIN TRAN",
        "BEGIN DEFERRED",
        "BEGIN READ",
        "BEGIN ISOLATION LEVEL SNAPSHOT",
        "BEGIN ISOLATION LEVEL",
        "BEGIN , READ ONLY",
        "BEGIN READ ONLY,",
        "BEGIN READ ONLY,, DEFERRABLE",
        "BEGIN \"READ\" ONLY",
        "START",
        "START READ ONLY",
        "BEGIN; SELECT 1 FROM",
        "BEGIN READ ONLY SELECT 1",
    ] {
        refused(bad);
    }
}

#[test]
fn set_transaction_forms() {
    assert_eq!(
        one("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"),
        Utility::SetTransaction(vec![
            M::Isolation(L::Serializable),
            M::ReadOnly,
            M::Deferrable
        ])
    );
    assert_eq!(
        one("SET LOCAL TRANSACTION READ WRITE"),
        Utility::SetTransaction(vec![M::ReadWrite])
    );
    assert_eq!(
        one("SET SESSION TRANSACTION NOT DEFERRABLE"),
        Utility::SetTransaction(vec![M::NotDeferrable])
    );
    assert_eq!(
        one("SET TRANSACTION SNAPSHOT '00000003-0000001B-1'"),
        Utility::SetSnapshot
    );
    assert_eq!(
        one("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE"),
        Utility::SessionCharacteristics(vec![M::ReadOnly, M::Deferrable])
    );
    assert_eq!(
        one("set local session characteristics as transaction isolation level serializable"),
        Utility::SessionCharacteristics(vec![M::Isolation(L::Serializable)])
    );
    for sql in [
        "SET CONSTRAINTS ALL DEFERRED",
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET CONSTRAINTS orders_fk DEFERRED",
        "SET CONSTRAINTS public.orders_fk, \"Other\" IMMEDIATE",
    ] {
        assert_eq!(one(sql), Utility::SetConstraints, "{sql}");
    }
    for bad in [
        "SET TRANSACTION",
        "SET TRANSACTION = 'x'",
        "SET TRANSACTION SNAPSHOT",
        "SET TRANSACTION SNAPSHOT 1",
        "SET TRANSACTION SNAPSHOT 'a' READ ONLY",
        "SET SESSION CHARACTERISTICS READ ONLY",
        "SET SESSION CHARACTERISTICS AS TRANSACTION",
        "SET CONSTRAINTS DEFERRED",
        "SET CONSTRAINTS ALL",
        "SET CONSTRAINTS a b DEFERRED",
        "SET CONSTRAINTS a, DEFERRED",
        "SET CONSTRAINTS ALL, a DEFERRED",
    ] {
        refused(bad);
    }
    // Other SETs are sqlparser's.
    for sql in [
        "SET statement_timeout = 1000",
        "SET SESSION statement_timeout TO 5",
        "SET LOCAL work_mem = '1MB'",
        "SET constraints = 1",
    ] {
        assert!(
            matches!(read(sql).unwrap().as_slice(), [Parsed::Sql(_)]),
            "{sql}"
        );
    }
}

#[test]
fn fetch_and_move_in_every_direction() {
    let c = || "c".to_owned();
    for (sql, direction) in [
        ("FETCH c", D::Next),
        ("FETCH FROM c", D::Next),
        ("FETCH IN c", D::Next),
        ("FETCH NEXT c", D::Next),
        ("FETCH NEXT FROM c", D::Next),
        ("FETCH PRIOR FROM c", D::Prior),
        ("FETCH FIRST c", D::First),
        ("FETCH LAST IN c", D::Last),
        ("FETCH ABSOLUTE 3 FROM c", D::Absolute(3)),
        ("FETCH ABSOLUTE -1 FROM c", D::Absolute(-1)),
        ("FETCH RELATIVE +2 c", D::Relative(2)),
        ("FETCH RELATIVE 0 c", D::Relative(0)),
        ("FETCH 10 FROM c", D::Forward(10)),
        ("FETCH -5 c", D::Forward(-5)),
        ("FETCH ALL FROM c", D::ForwardAll),
        ("FETCH ALL c", D::ForwardAll),
        ("FETCH FORWARD c", D::Forward(1)),
        ("FETCH FORWARD 7 FROM c", D::Forward(7)),
        ("FETCH FORWARD ALL FROM c", D::ForwardAll),
        ("FETCH BACKWARD FROM c", D::Backward(1)),
        ("FETCH BACKWARD 2 IN c", D::Backward(2)),
        ("FETCH BACKWARD ALL c", D::BackwardAll),
        ("MOVE c", D::Next),
        ("MOVE FORWARD 5 c", D::Forward(5)),
        ("MOVE ABSOLUTE 0 FROM c", D::Absolute(0)),
        ("move -3 from c", D::Forward(-3)),
        ("MOVE 2147483647 FROM c", D::Forward(i32::MAX)),
        ("MOVE BACKWARD ALL IN c", D::BackwardAll),
        ("FETCH FORWARD 1 FROM C", D::Forward(1)),
    ] {
        assert_eq!(moved(sql), (c(), direction), "{sql}");
    }
    assert!(matches!(
        one("MOVE c"),
        Utility::Cursor(CursorRef::Move { .. })
    ));
    assert!(matches!(
        one("FETCH c"),
        Utility::Cursor(CursorRef::Fetch { .. })
    ));
    // Quoted names are exact; the directions are unreserved words, so a
    // lone one is the cursor's name.
    assert_eq!(moved(r#"FETCH FORWARD 1 FROM "C x""#).0, "C x");
    assert_eq!(
        moved(r#"MOVE FORWARD 3 "__asyncpg_cursor_1__""#).0,
        "__asyncpg_cursor_1__"
    );
    assert_eq!(moved("FETCH next"), ("next".into(), D::Next));
    assert_eq!(moved("FETCH next next"), ("next".into(), D::Next));
    assert_eq!(
        moved("FETCH prior from forward"),
        ("forward".into(), D::Prior)
    );
    for bad in [
        "FETCH",
        "MOVE",
        "FETCH FROM",
        "FETCH 1",
        "FETCH 1 FROM",
        "FETCH ALL",
        "FETCH 1.5 FROM c",
        "FETCH 1e3 FROM c",
        "MOVE 2147483648 FROM c",
        "FETCH ABSOLUTE FROM c",
        "FETCH FORWARD - FROM c",
        "FETCH \"NEXT\" c",
        "FETCH NEXT FROM FROM c",
        "FETCH c INTO x",
        "FETCH 1 FROM c, d",
        "FETCH 1 FROM s.c",
        "FETCH 1 FROM 'c'",
        "MOVE FORWARD 1 c SELECT 1",
    ] {
        refused(bad);
    }
}

#[test]
fn statements_around_them() {
    let parsed = read(
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE; \
         SELECT 1; ; FETCH FORWARD 10 FROM c ; MOVE c; COMMIT;",
    )
    .unwrap();
    let kinds: Vec<&str> = parsed
        .iter()
        .map(|p| match p {
            Parsed::Sql(_) => "sql",
            Parsed::Utility(_) => "utility",
        })
        .collect();
    assert_eq!(kinds, ["utility", "sql", "utility", "utility", "sql"]);
    // sqlparser would stop at END after a statement and drop the rest.
    refused("SELECT 1 END; SELECT 2");
    refused("SELECT 1 SELECT 2");
    assert!(read("").unwrap().is_empty());
    assert!(read(" ; ;").unwrap().is_empty());
}

/// DECLARE and CLOSE are sqlparser's; the analysis records their
/// cursor too.
#[test]
fn cursors_in_the_analysis() {
    use super::super::analyze::{AnalysisLimits, analyze};
    use super::super::names::Resolver;
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: None,
        database: None,
    };
    let cursors = |sql: &str| -> Vec<Option<CursorRef>> {
        analyze(sql, &resolver, AnalysisLimits::default())
            .unwrap()
            .statements
            .into_iter()
            .map(|s| s.cursor.clone())
            .collect()
    };
    assert_eq!(
        cursors(
            "DECLARE \"Big\" SCROLL CURSOR WITH HOLD FOR SELECT 1; \
             DECLARE c NO SCROLL CURSOR FOR SELECT 1; FETCH 2 FROM C; \
             MOVE LAST IN \"Big\"; CLOSE c; CLOSE ALL; SELECT 1"
        ),
        [
            Some(CursorRef::Declare {
                name: "Big".into(),
                scroll: true,
                hold: true
            }),
            Some(CursorRef::Declare {
                name: "c".into(),
                scroll: false,
                hold: false
            }),
            Some(CursorRef::Fetch {
                name: "c".into(),
                direction: D::Forward(2)
            }),
            Some(CursorRef::Move {
                name: "Big".into(),
                direction: D::Last
            }),
            Some(CursorRef::Close(Some("c".into()))),
            Some(CursorRef::Close(None)),
            None,
        ]
    );
}

#[test]
fn what_the_policy_sees() {
    let info = one("BEGIN READ ONLY, DEFERRABLE").info();
    assert_eq!(info.classes, [Class::Transaction]);
    assert!(info.settings.is_empty());
    let info = one("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, DEFERRABLE").info();
    assert_eq!(info.classes, [Class::Session]);
    let settings: Vec<(&str, SettingAction)> = info
        .settings
        .iter()
        .map(|s| (s.name.as_str(), s.action))
        .collect();
    assert_eq!(
        settings,
        [
            ("default_transaction_deferrable", SettingAction::Set),
            ("default_transaction_read_only", SettingAction::Narrow),
        ]
    );
    let info = one("FETCH 10 FROM c").info();
    assert_eq!(info.classes, [Class::Cursor]);
    assert!(info.returns_rows && !info.housekeeping);
    let info = one("MOVE 10 FROM c").info();
    assert!(!info.returns_rows && info.housekeeping);
    assert_eq!(info.cursor.as_ref().and_then(CursorRef::name), Some("c"));
    assert_eq!(D::Forward(-5).max_rows(), Some(5));
    assert_eq!(D::Forward(0).max_rows(), Some(1));
    assert_eq!(D::Backward(3).max_rows(), Some(3));
    assert_eq!(D::Absolute(-1).max_rows(), Some(1));
    assert_eq!(D::ForwardAll.max_rows(), None);
    assert_eq!(D::BackwardAll.max_rows(), None);
}
