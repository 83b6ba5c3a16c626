use super::*;

#[test]
fn the_current_batch_is_the_next_ready_for_query_and_fails_once_its_error_is_seen() {
    let shared = Shared::new();
    assert_eq!(shared.current_batch(), 1);
    assert!(!shared.failed_in_current_batch());
    shared.batch_failed.store(1, Ordering::Release);
    assert!(shared.failed_in_current_batch());
    shared.sent.fetch_add(1, Ordering::AcqRel);
    assert_eq!(shared.current_batch(), 2);
    assert!(!shared.failed_in_current_batch());
}

#[test]
fn closes_are_counted_per_batch() {
    let shared = Shared::new();
    assert_eq!(shared.closes_sent_in(1), 0);
    shared.note_close_sent(1);
    shared.note_close_sent(1);
    assert_eq!(shared.closes_sent_in(1), 2);
    assert_eq!(shared.closes_sent_in(2), 0);
    shared.note_close_sent(2);
    assert_eq!(shared.closes_sent_in(2), 1);
    assert_eq!(shared.closes_sent_in(1), 0);
}

#[test]
fn only_the_probes_own_close_complete_answers_it() {
    let shared = Shared::new();
    assert!(!shared.probe_answered(1, 1));
    *lock(&shared.probe) = Probe::Waiting { batch: 3, index: 2 };
    assert!(!shared.probe_answered(3, 1));
    assert!(!shared.probe_answered(2, 2));
    assert_eq!(*lock(&shared.probe), Probe::Waiting { batch: 3, index: 2 });
    assert!(shared.probe_answered(3, 2));
    assert_eq!(*lock(&shared.probe), Probe::Answered);
    assert!(!shared.probe_answered(3, 2));
}

#[test]
fn completed_before_error_is_known_only_for_the_batch_that_failed() {
    let shared = Shared::new();
    assert_eq!(shared.completed_before_error(1), None);
    *lock(&shared.first_error) = (4, 2);
    assert_eq!(shared.completed_before_error(4), Some(2));
    assert_eq!(shared.completed_before_error(3), None);
}

#[test]
fn idle_means_every_answer_in_and_no_transaction() {
    let shared = Shared::new();
    assert!(shared.idle());
    shared.sent.fetch_add(1, Ordering::AcqRel);
    assert!(!shared.idle());
    shared.received.fetch_add(1, Ordering::AcqRel);
    assert!(shared.idle());
    shared.status.set(TransactionStatus::InTransaction);
    assert!(!shared.idle());
}

#[test]
fn what_is_swallowed_of_each_kind_of_batch() {
    let shared = Shared::new();
    shared.swallow(1, Swallow::Ready);
    shared.swallow(2, Swallow::All);
    shared.swallow(3, Swallow::AllButErrorsAndReady);
    for tag in [b'C', b'E', b'T', b'D'] {
        assert!(!shared.swallows(1, tag));
        assert!(shared.swallows(2, tag));
        assert_eq!(shared.swallows(3, tag), tag != b'E');
        assert!(!shared.swallows(4, tag));
    }
    assert!(shared.swallows_ready(1));
    assert!(shared.swallows_ready(2));
    assert!(!shared.swallows_ready(3));
    assert!(!shared.swallows_ready(4));
    // A batch is over at its ReadyForQuery: nothing of it is swallowed
    // after.
    assert!(!shared.swallows_ready(1));
    assert!(!shared.swallows(2, b'C'));
}

#[test]
fn a_catch_up_is_carried_out_once() {
    let shared = Shared::new();
    assert_eq!(shared.catch_up.take(), CatchUp::Nothing);
    shared.catch_up.demand(CatchUp::ReopenAndFail);
    assert_eq!(shared.catch_up.take(), CatchUp::ReopenAndFail);
    assert_eq!(shared.catch_up.take(), CatchUp::Nothing);
    shared.catch_up.demand(CatchUp::Fail);
    assert_eq!(shared.catch_up.take(), CatchUp::Fail);
}

#[tokio::test]
async fn a_signal_stays_set_until_taken_and_wakes_its_waiter() {
    let signal = std::sync::Arc::new(Signal::default());
    // Set before anyone waits: the next wait takes it at once.
    signal.notify();
    signal.taken().await;
    // Unset, a wait is pending (and dropping it changes nothing); a
    // pending wait is woken by the signal.
    {
        let mut dropped = std::pin::pin!(signal.taken());
        assert!(futures_util::poll!(dropped.as_mut()).is_pending());
    }
    let waiter = tokio::spawn({
        let signal = signal.clone();
        async move { signal.taken().await }
    });
    tokio::task::yield_now().await;
    signal.notify();
    tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
        .await
        .expect("woken")
        .expect("joined");
    // Taken once: the next wait waits.
    let mut next = std::pin::pin!(signal.taken());
    assert!(futures_util::poll!(next.as_mut()).is_pending());
}

#[tokio::test]
async fn progress_wakes_the_waits_begun_before_it_and_counts_them() {
    let shared = Shared::new();
    // Nobody waits: nothing to wake, no lock.
    shared.progress.notify();
    {
        let waiter = shared.progress.waiter();
        assert_eq!(shared.progress.waiting.load(Ordering::SeqCst), 1);
        let notified = waiter.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        shared.progress.notify();
        tokio::time::timeout(std::time::Duration::from_secs(5), notified)
            .await
            .expect("woken by the notification");
    }
    assert_eq!(shared.progress.waiting.load(Ordering::SeqCst), 0);
}
