//! Unit tests of the session's statement and portal records.

use super::*;
use crate::policy::analyze::{AnalysisLimits, analyze};
use crate::policy::names::Resolver;

fn analysis(sql: &str) -> Analysis {
    let search_path = vec!["public".to_string()];
    let resolver = Resolver {
        search_path: &search_path,
        catalog: None,
        database: None,
    };
    analyze(sql, &resolver, AnalysisLimits::default()).unwrap()
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
