//! The listener: accept loop, connection limit and graceful shutdown.
//!
//! [`run`] takes an already-bound listener and a shutdown future, so tests
//! bind `127.0.0.1:0` and run the real server in-process.

use crate::protocol::backend::{ErrorFields, Severity};
use crate::proxy::{Gateway, handle_connection};
use bytes::BytesMut;
use std::future::Future;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

/// Serves until `shutdown` resolves, then stops accepting, lets sessions
/// finish for up to the configured grace period, and closes the rest.
pub async fn run(listener: TcpListener, gateway: Arc<Gateway>, shutdown: impl Future<Output = ()>) {
    let limits = gateway.config.limits.clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (hard_stop_tx, hard_stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    let revocation_watch = tokio::spawn(gateway.clone().watch_revocations());
    let rules_watch = tokio::spawn(gateway.clone().watch_rules());
    tokio::pin!(shutdown);
    info!(addr = ?listener.local_addr().ok(), "actgate listening");
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => {
                let (mut tcp, peer) = match accepted {
                    Ok(v) => v,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    warn!(client = %peer, "connection limit reached");
                    sessions.spawn(async move {
                        let mut out = BytesMut::new();
                        ErrorFields::new(Severity::Fatal, "53300", "sorry, too many clients already")
                            .encode(&mut out);
                        let _ = tcp.write_all(&out).await;
                        let _ = tcp.shutdown().await;
                    });
                    continue;
                };
                let gateway = gateway.clone();
                let hard_stop = hard_stop_rx.clone();
                sessions.spawn(async move {
                    handle_connection(tcp, peer, gateway, hard_stop).await;
                    drop(permit);
                });
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
    info!("actgate stopped");
}
