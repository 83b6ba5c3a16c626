//! Session workers: one single-threaded runtime per thread, each serving
//! the sessions handed to it from accept to close.
//!
//! A session is two sockets and a policy check between them: every
//! statement is a read, a few microseconds of analysis and a write. On a
//! work-stealing runtime each of those wakeups may land on another thread,
//! and idle threads are woken to look for work that one thread would have
//! done sooner; on a small machine that costs more than the check itself.
//! So sessions live where PgBouncer's do, on a thread of their own that
//! sleeps in `epoll_wait` until one of its sockets is ready, with one such
//! thread per core (`server.workers`) and each new session given to the
//! worker with the fewest. The accept loop, the admin endpoint and the
//! watchers stay on the main runtime; channels and wakers work across the
//! two.
//!
//! What a worker runs is bounded like any task: a long analysis delays the
//! other sessions of its worker, never those of the others.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinSet};

/// The worker threads of one server; stopping them (on drop) cancels what
/// still runs on them.
pub struct Workers {
    workers: Vec<Worker>,
}

struct Worker {
    handle: Handle,
    /// Sessions on this worker now.
    load: Arc<AtomicUsize>,
    /// Dropped or sent: the worker's runtime stops.
    _stop: oneshot::Sender<()>,
}

/// Counts a session on its worker until dropped.
struct Load(Arc<AtomicUsize>);

impl Drop for Load {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Workers {
    /// Starts `count` worker threads (at least one).
    pub fn start(count: usize) -> std::io::Result<Workers> {
        let mut workers = Vec::with_capacity(count.max(1));
        for i in 0..count.max(1) {
            // Sockets and timers. (Whatever is enabled, tokio puts the
            // drivers of the features compiled in under the I/O driver:
            // the signal driver's check on each park is one flag; the
            // process driver, which would try a lock shared by every
            // runtime on each park, is not compiled in, see Cargo.toml.)
            let runtime = Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()?;
            let handle = runtime.handle().clone();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("actgate-worker-{i}"))
                .spawn(move || {
                    runtime.block_on(async {
                        let _ = stop_rx.await;
                    });
                })?;
            workers.push(Worker {
                handle,
                load: Arc::new(AtomicUsize::new(0)),
                _stop: stop_tx,
            });
        }
        Ok(Workers { workers })
    }

    /// How many worker threads there are.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Never: [`Workers::start`] starts at least one.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Runs `session` on the worker with the fewest sessions, in `set`.
    pub fn spawn<F>(&self, set: &mut JoinSet<()>, session: F) -> AbortHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let worker = self
            .workers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
            .expect("at least one worker");
        worker.load.fetch_add(1, Ordering::Relaxed);
        let load = Load(worker.load.clone());
        set.spawn_on(
            async move {
                let _load = load;
                session.await;
            },
            &worker.handle,
        )
    }

    /// Sessions per worker, for tests and diagnostics.
    pub fn loads(&self) -> Vec<usize> {
        self.workers
            .iter()
            .map(|w| w.load.load(Ordering::Relaxed))
            .collect()
    }
}

/// One worker per core the process may use.
pub fn default_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_go_to_the_least_loaded_worker_and_run_off_the_caller() {
        let workers = Workers::start(2).unwrap();
        assert_eq!(workers.len(), 2);
        let mut set = JoinSet::new();
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let caller = std::thread::current().id();
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
        for _ in 0..4 {
            let mut release = release_rx.clone();
            let seen = seen_tx.clone();
            workers.spawn(&mut set, async move {
                let me = std::thread::current();
                seen.send((me.id(), me.name().map(str::to_owned))).unwrap();
                let _ = release.wait_for(|r| *r).await;
            });
        }
        let mut names = Vec::new();
        for _ in 0..4 {
            let (id, name) = seen_rx.recv().await.unwrap();
            assert_ne!(id, caller, "a session ran on the accepting thread");
            names.push(name.unwrap());
        }
        names.sort();
        assert_eq!(
            names,
            [
                "actgate-worker-0",
                "actgate-worker-0",
                "actgate-worker-1",
                "actgate-worker-1"
            ]
        );
        assert_eq!(workers.loads(), [2, 2]);
        release_tx.send(true).unwrap();
        while set.join_next().await.is_some() {}
        assert_eq!(workers.loads(), [0, 0]);
    }
}
