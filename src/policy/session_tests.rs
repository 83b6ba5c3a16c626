//! Unit tests of the session's statement and portal records.

use super::*;

fn analysis(sql: &str) -> Analysis {
    crate::policy::analyze::analyze_in_public(sql, None).unwrap()
}

#[test]
fn prepare_deallocate_and_discard_all_act_on_one_record_as_postgres_does() {
    let mut state = SessionState::default();
    let message: Arc<str> = Arc::from("PREPARE p AS SELECT 1");
    state.executed_in(&analysis(&message), &message, 7);
    let p = state.statement("p").unwrap();
    assert_eq!(
        (p.origin, p.generation, &*p.sql),
        (Origin::Sql, 7, &*message)
    );
    assert!(state.is_sql_prepared("p"));
    // A Parse of another name is a Parse record; DISCARD ALL forgets both.
    state.parsed("q", Vec::new());
    assert!(state.is_prepared("q") && !state.is_sql_prepared("q"));
    state.executed(&analysis("DEALLOCATE p"));
    assert!(!state.is_prepared("p") && state.is_prepared("q"));
    state.executed(&analysis("DISCARD ALL"));
    assert!(!state.is_prepared("q"));
}

#[test]
fn declared_parameter_types_win_over_described_ones() {
    let mut p = PreparedStatement {
        param_types: vec![0, 20],
        ..PreparedStatement::default()
    };
    p.described(vec![23, 25, 16]);
    assert_eq!(p.param_types, [23, 20, 16]);
}

#[test]
fn portals_are_restored_as_they_were() {
    let mut state = SessionState::default();
    let portal = Portal {
        copy_in: true,
        ..Portal::default()
    };
    state.bind("c", portal.clone());
    let before = state.portal("c").cloned();
    state.bind("c", Portal::default());
    assert_ne!(state.portal("c"), before.as_ref());
    state.restore_portal("c", before);
    assert_eq!(state.portal("c"), Some(&portal));
    state.restore_portal("c", None);
    assert!(state.portal("c").is_none());
}

#[test]
fn the_unnamed_statement_and_portal_are_records_like_any_other() {
    let mut state = SessionState::default();
    let record = |sql: &str| PreparedStatement {
        sql: Arc::from(sql),
        ..PreparedStatement::default()
    };
    state.prepare("", record("SELECT 1"));
    state.prepare("s", record("SELECT 2"));
    assert_eq!(&*state.statement("").unwrap().sql, "SELECT 1");
    assert_eq!(&*state.statement("s").unwrap().sql, "SELECT 2");
    // A new Parse of the unnamed statement replaces it, and only it.
    state.prepare("", record("SELECT 3"));
    assert_eq!(&*state.statement("").unwrap().sql, "SELECT 3");
    assert_eq!(&*state.statement("s").unwrap().sql, "SELECT 2");
    state.statement_mut("").unwrap().generation = 4;
    assert_eq!(state.statement("").unwrap().generation, 4);
    state.closed("");
    assert!(!state.is_prepared("") && state.is_prepared("s"));
    state.restore_statement("", Some(record("SELECT 4")));
    assert!(state.is_prepared(""));
    // DEALLOCATE ALL forgets every record, the unnamed one too.
    state.executed(&analysis("DEALLOCATE ALL"));
    assert!(!state.is_prepared("") && !state.is_prepared("s"));

    let portal = |copy_in| Portal {
        copy_in,
        ..Portal::default()
    };
    state.bind("", portal(true));
    state.bind("p", portal(false));
    assert!(state.portal("").unwrap().copy_in && !state.portal("p").unwrap().copy_in);
    state.portal_mut("").unwrap().copy_in = false;
    state.portal_closed("p");
    assert!(state.portal("p").is_none() && state.portal("").is_some_and(|p| !p.copy_in));
    state.restore_portal("", None);
    assert!(state.portal("").is_none());
}
