use super::*;

fn parameter_status(name: &str, value: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(name.as_bytes());
    body.push(0);
    body.extend_from_slice(value.as_bytes());
    body.push(0);
    body
}

#[test]
fn a_pinned_parameter_moved_off_its_value_drifted() {
    assert_eq!(
        drifted(&parameter_status("client_encoding", "LATIN1")),
        Some(("client_encoding".into(), "LATIN1".into()))
    );
    assert_eq!(
        drifted(&parameter_status("Standard_Conforming_Strings", "off")),
        Some(("Standard_Conforming_Strings".into(), "off".into()))
    );
}

#[test]
fn pinned_values_in_any_case_and_other_parameters_do_not_drift() {
    assert_eq!(drifted(&parameter_status("client_encoding", "utf8")), None);
    assert_eq!(
        drifted(&parameter_status("standard_conforming_strings", "on")),
        None
    );
    assert_eq!(drifted(&parameter_status("TimeZone", "UTC")), None);
    assert_eq!(drifted(b"not a parameter status"), None);
}

/// Whether `rung` resolves within a moment (it is dropped if not, as the
/// relay's `select!` drops it when another branch wins).
async fn rings(doorbell: &mut Doorbell) -> bool {
    let wait = std::time::Duration::from_millis(50);
    tokio::time::timeout(wait, doorbell.rung()).await.is_ok()
}

#[tokio::test]
async fn the_doorbell_rings_at_start_on_each_change_and_once_when_its_watches_close() {
    let (tx, rx) = watch::channel(0u32);
    let mut doorbell = Doorbell::start(|bell| async move { ring_on_change(rx, &bell).await });
    assert!(rings(&mut doorbell).await, "no ring at the start");
    assert!(!rings(&mut doorbell).await, "rang with nothing changed");
    // Two changes before the relay looks: one ring, which checks both.
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert!(rings(&mut doorbell).await, "no ring for a change");
    assert!(!rings(&mut doorbell).await, "rang twice for one look");
    // A change and then the watch gone: the change is still answered.
    tx.send(3).unwrap();
    drop(tx);
    assert!(rings(&mut doorbell).await, "the last change was not rung");
    assert!(!rings(&mut doorbell).await, "rang after every watch closed");
    assert!(!rings(&mut doorbell).await, "rang after every watch closed");
}

#[tokio::test]
async fn a_panic_in_the_doorbells_task_goes_on_in_the_relay() {
    use futures_util::FutureExt;
    let mut doorbell = Doorbell::start(|_bell| async { panic!("the watcher failed") });
    let relay = std::panic::AssertUnwindSafe(async {
        for _ in 0..3 {
            doorbell.rung().await;
        }
    });
    let caught = relay.catch_unwind().await;
    let panic = caught.expect_err("the relay ran on with its watcher gone");
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"the watcher failed"));
}
