use super::*;
use crate::proxy::relay::shared::Probe;

fn half() -> ServerHalf {
    ServerHalf {
        limits_on: false,
        last_was_fatal: false,
        counting: Counting::default(),
        closes_seen: 0,
        completed: 0,
    }
}

#[test]
fn parameter_description_reads_as_many_oids_as_it_declares() {
    let mut body = vec![0, 2];
    body.extend_from_slice(&23u32.to_be_bytes());
    body.extend_from_slice(&25u32.to_be_bytes());
    assert_eq!(parameter_description(&body), vec![23, 25]);
    // A count larger than the body, a truncated OID, a negative count and
    // an empty body give what is there, never a panic.
    let mut long = vec![0, 3];
    long.extend_from_slice(&23u32.to_be_bytes());
    long.extend_from_slice(&[0, 0]);
    assert_eq!(parameter_description(&long), vec![23]);
    assert_eq!(
        parameter_description(&[0xff, 0xff, 0, 0, 0, 23]),
        Vec::<u32>::new()
    );
    assert_eq!(parameter_description(&[]), Vec::<u32>::new());
}

#[test]
fn a_described_statement_keeps_its_declared_types_and_gets_the_rest() {
    let shared = Shared::new();
    let mut state = crate::policy::SessionState::default();
    state.prepare(
        "s",
        crate::policy::PreparedStatement {
            param_types: vec![0, 20],
            ..Default::default()
        },
    );
    shared.describes.lock().push_back((1, "s".into()));
    let mut body = vec![0, 3];
    for oid in [23u32, 25, 16] {
        body.extend_from_slice(&oid.to_be_bytes());
    }
    on_parameter_description(&body, &shared);
    assert!(shared.describes.lock().is_empty());
    shared.record_described(&mut state);
    assert_eq!(state.statement("s").unwrap().param_types, vec![23, 20, 16]);
    assert!(lock(&shared.described).is_empty());
}

#[test]
fn a_parameter_description_of_another_batch_is_not_recorded() {
    let shared = Shared::new();
    shared.describes.lock().push_back((2, "s".into()));
    on_parameter_description(&[0, 1, 0, 0, 0, 23], &shared);
    assert!(lock(&shared.described).is_empty());
    assert_eq!(shared.describes.lock().len(), 1);
}

#[test]
fn the_probe_is_known_by_the_position_of_its_close_complete() {
    let shared = Shared::new();
    *lock(&shared.probe) = Probe::Waiting { batch: 1, index: 2 };
    let mut half = half();
    assert!(matches!(
        on_close_complete(&mut half, &shared),
        Out::Forward
    ));
    assert!(matches!(on_close_complete(&mut half, &shared), Out::Drop));
    assert!(matches!(
        on_close_complete(&mut half, &shared),
        Out::Forward
    ));
}

#[test]
fn set_status_rewrites_the_status_byte_and_leaves_an_empty_body_alone() {
    let mut body = [TransactionStatus::InTransaction.byte()];
    set_status(&mut body, TransactionStatus::Failed);
    assert_eq!(body, [TransactionStatus::Failed.byte()]);
    set_status(&mut [], TransactionStatus::Failed);
}
