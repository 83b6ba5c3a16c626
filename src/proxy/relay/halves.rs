//! The relay's two halves in one task, each polled only when it was woken.
//!
//! A session's halves share its task (and its worker thread), so a
//! wakeup for one used to poll both: every client statement re-polled
//! the server half's wait (its watchers, the local-answer signal and the
//! upstream read), and every answer re-polled the client half's read.
//! [`first`] gives each half a waker of its own that notes which half it
//! belongs to before it wakes the task, and polls only the halves noted.

use futures_util::task::AtomicWaker;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// One half's waker: marks the half, then wakes the task.
struct Half {
    woken: AtomicBool,
    /// The task's own waker, as last polled (taken by the first wake
    /// after a poll: the task is scheduled then, and registers it again
    /// when it runs).
    task: Arc<AtomicWaker>,
}

impl Wake for Half {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Runs `a` and `b` in the calling task until either completes, with its
/// output. A half is polled at first and then only after its own waker
/// fired (it is marked before it is polled, so a wakeup during its poll
/// polls it again). The task's waker is registered before the marks are
/// read: a half marked after that wakes the task; one marked before is
/// seen.
pub(super) async fn first<T>(a: impl Future<Output = T>, b: impl Future<Output = T>) -> T {
    let task = Arc::new(AtomicWaker::new());
    let halves = [0, 1].map(|_| {
        Arc::new(Half {
            woken: AtomicBool::new(true),
            task: task.clone(),
        })
    });
    let wakers = halves.clone().map(Waker::from);
    let (mut a, mut b) = (pin!(a), pin!(b));
    std::future::poll_fn(|cx| {
        task.register(cx.waker());
        if halves[0].woken.swap(false, Ordering::AcqRel)
            && let Poll::Ready(out) = a.as_mut().poll(&mut Context::from_waker(&wakers[0]))
        {
            return Poll::Ready(out);
        }
        if halves[1].woken.swap(false, Ordering::AcqRel)
            && let Poll::Ready(out) = b.as_mut().poll(&mut Context::from_waker(&wakers[1]))
        {
            return Poll::Ready(out);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its polls; ready once `open` is set, woken through a channel.
    async fn counted(polls: &AtomicUsize, mut open: tokio::sync::mpsc::Receiver<u32>) -> u32 {
        std::future::poll_fn(|cx| {
            polls.fetch_add(1, Ordering::Relaxed);
            open.poll_recv(cx).map(|v| v.unwrap_or(0))
        })
        .await
    }

    #[tokio::test]
    async fn only_the_woken_half_is_polled_and_the_first_to_finish_wins() {
        let (polls_a, polls_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (tx_a, rx_a) = tokio::sync::mpsc::channel(1);
        let (_tx_b, rx_b) = tokio::sync::mpsc::channel(1);
        let race = first(counted(&polls_a, rx_a), counted(&polls_b, rx_b));
        let sender = async {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            tx_a.send(7).await.unwrap();
        };
        let (out, ()) = tokio::join!(race, sender);
        assert_eq!(out, 7);
        // Both at first; then a once more, for its value. The sender's
        // yields woke the task, not b.
        assert_eq!(polls_a.load(Ordering::Relaxed), 2);
        assert_eq!(polls_b.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_half_woken_from_another_thread_is_polled() {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let never = std::future::pending::<u32>();
        let polls = AtomicUsize::new(0);
        let other = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.blocking_send(9).unwrap();
        });
        assert_eq!(first(never, counted(&polls, rx)).await, 9);
        other.join().unwrap();
    }
}
