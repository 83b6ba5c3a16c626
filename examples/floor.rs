//! The floor of a relay built as actgate's is, for `benches/pgbench.sh`
//! (`FLOOR=1`): a transparent TCP forwarder on actgate's own session
//! workers ([`actgate::workers::Workers`]: one single-threaded tokio
//! runtime per worker thread, each session one task on the worker with
//! the fewest) with plain sockets, TCP_NODELAY and both directions polled
//! in the session's task, that checks nothing, parses nothing and audits
//! nothing. Measured next to PgBouncer and actgate in one run, it tells
//! what the runtime and the kernel cost (the floor) from what actgate's
//! own work per message adds.
//!
//! `cargo run --release --example floor -- LISTEN UPSTREAM [WORKERS]`,
//! e.g. `127.0.0.1:6433 127.0.0.1:5432 2`. Not a product: no limits, no
//! TLS, no authentication of its own (the client logs in to PostgreSQL
//! through it).

use actgate::workers::{self, Workers};
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || std::io::Error::other("usage: floor LISTEN UPSTREAM [WORKERS]");
    let listen: SocketAddr = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(usage)?;
    let upstream: SocketAddr = args.get(1).and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let count = match args.get(2) {
        Some(n) => n.parse().map_err(|_| usage())?,
        None => workers::default_count(),
    };
    let workers = Workers::start(count)?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let listener = TcpListener::bind(listen).await?;
            let mut sessions = JoinSet::new();
            loop {
                while sessions.try_join_next().is_some() {}
                // Handed over as actgate's accept loop hands it: out of
                // this runtime here, into the worker's there.
                let client = match listener.accept().await.and_then(|(c, _)| c.into_std()) {
                    Ok(client) => client,
                    Err(e) => {
                        eprintln!("floor: accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                workers.spawn(&mut sessions, async move {
                    if let Err(e) = relay(client, upstream).await {
                        eprintln!("floor: session ended: {e}");
                    }
                });
            }
        })
}

/// Forwards both directions until either side closes.
async fn relay(client: std::net::TcpStream, upstream: SocketAddr) -> std::io::Result<()> {
    let mut client = TcpStream::from_std(client)?;
    client.set_nodelay(true)?;
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
