use super::*;
use crate::policy::analyze::{CopyDirection, CopyInfo};

fn copy(endpoint: CopyEndpoint, inline_payload: bool) -> CopyInfo {
    CopyInfo {
        direction: CopyDirection::From,
        endpoint,
        inline_payload,
    }
}

#[test]
fn copy_over_the_client_connection_passes() {
    assert!(copy_endpoint(&copy(CopyEndpoint::Client, false)).is_ok());
}

#[test]
fn copy_to_a_server_file_or_program_is_refused_before_inline_data() {
    for endpoint in [CopyEndpoint::File, CopyEndpoint::Program] {
        let d = copy_endpoint(&copy(endpoint, true)).unwrap_err();
        assert_eq!(d.reason, "copy_server_side");
        assert_eq!(d.rule, "builtin.copy");
    }
}

#[test]
fn copy_with_inline_data_is_refused() {
    let d = copy_endpoint(&copy(CopyEndpoint::Client, true)).unwrap_err();
    assert_eq!(d.reason, "copy_inline_data");
}

#[test]
fn cluster_level_ddl_is_refused() {
    let mut st = StatementInfo::default();
    assert!(cluster_objects(&st).is_ok());
    st.cluster_level = true;
    assert_eq!(
        cluster_objects(&st).unwrap_err().reason,
        "cluster_object_denied"
    );
}

#[test]
fn execute_of_a_statement_the_session_did_not_prepare_is_refused() {
    let session = SessionState::default();
    let mut st = StatementInfo::default();
    st.prepared = vec![PreparedRef::Deallocate(None)];
    assert!(unknown_prepared(&st, &session).is_ok());
    st.prepared.push(PreparedRef::Execute("p1".into()));
    let d = unknown_prepared(&st, &session).unwrap_err();
    assert_eq!(d.reason, "unknown_prepared_statement");
    assert!(d.message.contains("EXECUTE p1"), "{}", d.message);
}
