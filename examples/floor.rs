//! The floor of a relay built as actgate's is, for `benches/pgbench.sh`
//! (`FLOOR=1`): a transparent TCP forwarder on the same runtime layout
//! (one single-threaded tokio runtime per worker thread, each session one
//! task on one of them, plain sockets with TCP_NODELAY, both directions
//! polled in the session's task) that checks nothing, parses nothing and
//! audits nothing. Measured next to PgBouncer and actgate in one run, it
//! tells what the runtime and the kernel cost (the floor) from what
//! actgate's own work per message adds.
//!
//! `cargo run --release --example floor -- LISTEN UPSTREAM [WORKERS]`,
//! e.g. `127.0.0.1:6433 127.0.0.1:5432 2`. Not a product: no limits, no
//! TLS, no authentication of its own (the client logs in to PostgreSQL
//! through it).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Handle};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || std::io::Error::other("usage: floor LISTEN UPSTREAM [WORKERS]");
    let listen: SocketAddr = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(usage)?;
    let upstream: SocketAddr = args.get(1).and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let workers = match args.get(2) {
        Some(n) => n.parse().map_err(|_| usage())?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let handles = (0..usize::max(workers, 1))
        .map(|i| {
            let runtime = Builder::new_current_thread().enable_io().build()?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name(format!("floor-worker-{i}"))
                .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
            Ok(handle)
        })
        .collect::<std::io::Result<Vec<Handle>>>()?;
    let next = AtomicUsize::new(0);
    Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(async {
            let listener = TcpListener::bind(listen).await?;
            loop {
                let (client, _) = listener.accept().await?;
                let client = client.into_std()?;
                let worker = &handles[next.fetch_add(1, Ordering::Relaxed) % handles.len()];
                worker.spawn(async move {
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
