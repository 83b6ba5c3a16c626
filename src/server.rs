//! The listener: accept loop, connection limits and graceful shutdown.
//!
//! [`run`] takes an already-bound listener and a shutdown future, so tests
//! bind `127.0.0.1:0` and run the real server in-process.
//!
//! A connection is refused at accept, with a FATAL it can read, when
//! `max_unauthenticated_connections` connections are already waiting to log
//! in, or when actgate has no file descriptor left for it (the spare
//! descriptor of [`crate::fds::SpareFd`] lets it accept that connection to
//! say so). `max_connections` is enforced at login.

use crate::config::Limits;
use crate::fds::{SpareFd, is_fd_exhaustion};
use crate::protocol::backend::{ErrorFields, Severity};
use crate::proxy::{Admission, Gateway, Slots, handle_connection};
use crate::workers::Workers;
use bytes::BytesMut;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn};

/// Repeated warnings (accept errors, refusals) are logged at most this
/// often, with the number held back since the last one.
const WARN_INTERVAL: Duration = Duration::from_secs(1);

/// Pause after an accept error that no spare descriptor can help with.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How long a refused connection is read from after its FATAL, and how
/// much: closing a socket with unread input resets it, which could lose
/// the FATAL before the client reads it.
const REFUSAL_DRAIN: Duration = Duration::from_millis(500);
const REFUSAL_DRAIN_BYTES: usize = 16 * 1024;

/// Serves until `shutdown` resolves, then stops accepting, lets sessions
/// finish for up to the configured grace period, and closes the rest.
pub async fn run(listener: TcpListener, gateway: Arc<Gateway>, shutdown: impl Future<Output = ()>) {
    let limits = gateway.config.limits.clone();
    let mut gate = Gate::new(&limits);
    let (hard_stop_tx, hard_stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    let workers = match Workers::start(gateway.config.workers) {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(error = %e, "cannot start the session workers; sessions run on the main runtime");
            None
        }
    };
    let revocation_watch = tokio::spawn(gateway.clone().watch_revocations());
    let rules_watch = tokio::spawn(gateway.clone().watch_rules());
    let state_sync = tokio::spawn(gateway.clone().sync_shared_state());
    tokio::pin!(shutdown);
    info!(
        addr = ?listener.local_addr().ok(),
        workers = workers.as_ref().map_or(0, Workers::len),
        "actgate listening"
    );
    loop {
        gate.spare.refill();
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        gate.accept_failed(&e).await;
                        continue;
                    }
                };
                match gate.admit(peer) {
                    Ok(admission) => {
                        let gateway = gateway.clone();
                        let hard_stop = hard_stop_rx.clone();
                        serve(&mut sessions, workers.as_ref(), tcp, peer, move |tcp| {
                            handle_connection(tcp, peer, gateway, admission, hard_stop)
                        });
                    }
                    Err(fatal) => {
                        sessions.spawn(refuse(tcp, fatal));
                    }
                }
            }
        }
    }
    drop(listener);
    info!(
        sessions = sessions.len(),
        grace_ms = limits.shutdown_grace.as_millis() as u64,
        "shutting down"
    );
    let drain = async { while sessions.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_grace, drain)
        .await
        .is_err()
    {
        info!(
            sessions = sessions.len(),
            "grace period over; closing sessions"
        );
        let _ = hard_stop_tx.send(true);
        let close = async { while sessions.join_next().await.is_some() {} };
        if tokio::time::timeout(std::time::Duration::from_secs(5), close)
            .await
            .is_err()
        {
            sessions.abort_all();
        }
    }
    revocation_watch.abort();
    rules_watch.abort();
    state_sync.abort();
    drop(workers);
    info!("actgate stopped");
}

/// Runs an admitted connection's session on a worker (its socket moves to
/// that worker's reactor), or here when there are no workers.
fn serve<F, S>(
    sessions: &mut JoinSet<()>,
    workers: Option<&Workers>,
    tcp: TcpStream,
    peer: SocketAddr,
    session: S,
) where
    S: FnOnce(TcpStream) -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let Some(workers) = workers else {
        sessions.spawn(session(tcp));
        return;
    };
    let tcp = match tcp.into_std() {
        Ok(tcp) => tcp,
        Err(e) => {
            warn!(error = %e, %peer, "cannot hand an accepted connection to a worker");
            return;
        }
    };
    workers.spawn(sessions, async move {
        match TcpStream::from_std(tcp) {
            Ok(tcp) => session(tcp).await,
            Err(e) => warn!(error = %e, %peer, "cannot register an accepted connection"),
        }
    });
}

/// What decides whether an accepted connection is served: its slots, the
/// spare descriptor, and the throttles of the warnings about both.
struct Gate {
    slots: Slots,
    spare: SpareFd,
    accept_errors: Throttle,
    no_fd_refusals: Throttle,
    waiting_refusals: Throttle,
}

impl Gate {
    fn new(limits: &Limits) -> Gate {
        Gate {
            slots: Slots::new(limits),
            spare: SpareFd::new(),
            accept_errors: Throttle::new(WARN_INTERVAL),
            no_fd_refusals: Throttle::new(WARN_INTERVAL),
            waiting_refusals: Throttle::new(WARN_INTERVAL),
        }
    }

    /// After a failed accept: frees the spare descriptor when descriptors
    /// ran out (the connection waiting is then accepted, to be refused), or
    /// backs off instead of spinning.
    async fn accept_failed(&mut self, e: &std::io::Error) {
        if let Some(held_back) = self.accept_errors.tick(Instant::now()) {
            warn!(error = %e, held_back, "accept failed");
        }
        if is_fd_exhaustion(e) && self.spare.release() {
            return;
        }
        // Errors of one connection that is gone need no pause.
        use std::io::ErrorKind as K;
        if !matches!(
            e.kind(),
            K::ConnectionAborted | K::ConnectionReset | K::Interrupted
        ) {
            tokio::time::sleep(ACCEPT_BACKOFF).await;
        }
    }

    /// The slot of an accepted connection, or the FATAL that refuses it.
    fn admit(&mut self, peer: SocketAddr) -> Result<Admission, ErrorFields> {
        if self.spare.take_released() {
            if let Some(held_back) = self.no_fd_refusals.tick(Instant::now()) {
                warn!(client = %peer, held_back, "connection refused: too many open files");
            }
            return Err(ErrorFields::new(
                Severity::Fatal,
                "53300",
                "too many open files in actgate",
            )
            .with_hint("actgate is at its open-file limit; try again later"));
        }
        self.slots.admit().ok_or_else(|| {
            if let Some(held_back) = self.waiting_refusals.tick(Instant::now()) {
                warn!(
                    client = %peer,
                    held_back,
                    "connection refused: too many connections waiting to log in"
                );
            }
            ErrorFields::new(
                Severity::Fatal,
                "53300",
                "sorry, too many clients waiting to log in",
            )
        })
    }
}

/// Sends `fatal` to a connection actgate will not serve and closes it,
/// first reading (and discarding) what the client sends for a moment, so
/// the close does not reset the connection under the FATAL.
async fn refuse(mut tcp: TcpStream, fatal: ErrorFields) {
    let mut out = BytesMut::new();
    fatal.encode(&mut out);
    let _ = tokio::time::timeout(REFUSAL_DRAIN, async {
        tcp.write_all(&out).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 1024];
        let mut read = 0;
        while read < REFUSAL_DRAIN_BYTES {
            match tcp.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Lets a repeated warning through at most once per interval.
#[derive(Debug)]
struct Throttle {
    interval: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Throttle {
    fn new(interval: Duration) -> Throttle {
        Throttle {
            interval,
            last: None,
            held_back: 0,
        }
    }

    /// One occurrence at `now`: `Some(n)` when it is to be logged, `n`
    /// being the occurrences held back since the last one logged.
    fn tick(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_logs_once_per_interval_and_counts_the_rest() {
        let mut t = Throttle::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(t.tick(start), Some(0));
        for i in 1..20 {
            assert_eq!(t.tick(start + Duration::from_millis(50 * i)), None);
        }
        assert_eq!(t.tick(start + Duration::from_millis(1000)), Some(19));
        assert_eq!(t.tick(start + Duration::from_millis(1500)), None);
        assert_eq!(t.tick(start + Duration::from_millis(3000)), Some(1));
    }
}
