//! The floor of any relay, for `benches/pgbench.sh` (`FLOOR=epoll`): a
//! transparent TCP forwarder on one thread around one `epoll` instance
//! (mio, edge-triggered), as PgBouncer is built, with no async runtime:
//! each readable socket is read into one buffer and written straight to
//! its peer. It checks nothing, parses nothing and audits nothing, so what
//! it costs is what the kernel's TCP path, the wakeups and one event loop
//! cost. Measured next to PgBouncer, actgate and `examples/floor.rs` (the
//! same forwarding on actgate's tokio workers) in one run, it tells what
//! any forwarder pays on the machine from what a runtime adds and what
//! actgate's checks add.
//!
//! `cargo run --release --example floor_epoll -- LISTEN UPSTREAM`, e.g.
//! `127.0.0.1:6434 127.0.0.1:5432`. Not a product: no limits, no TLS, no
//! authentication of its own (the client logs in to PostgreSQL through it);
//! it connects upstream with a blocking connect as it accepts.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;

/// The listener's token; a connection's is its index in the slab.
const LISTENER: Token = Token(usize::MAX);

/// One socket of a forwarded pair.
struct End {
    sock: TcpStream,
    /// The slab index of the other socket of the pair.
    peer: usize,
    /// Bytes read from the peer that this socket could not take yet.
    owed: Vec<u8>,
    closed: bool,
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || std::io::Error::other("usage: floor_epoll LISTEN UPSTREAM");
    let listen: SocketAddr = args
        .first()
        .and_then(|a| a.parse().ok())
        .ok_or_else(usage)?;
    let upstream: SocketAddr = args.get(1).and_then(|a| a.parse().ok()).ok_or_else(usage)?;
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(listen)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut ends: Vec<Option<End>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                accept_all(&listener, upstream, &poll, &mut ends, &mut free);
                continue;
            }
            let i = event.token().0;
            if event.is_writable() {
                pay_owed(&mut ends, i);
            }
            if event.is_readable() {
                forward(&mut ends, i, &mut buf);
            }
            if pair_closed(&ends, i) {
                close_pair(&poll, &mut ends, &mut free, i);
            }
        }
    }
}

/// Accepts every pending client and connects it upstream.
fn accept_all(
    listener: &TcpListener,
    upstream: SocketAddr,
    poll: &Poll,
    ends: &mut Vec<Option<End>>,
    free: &mut Vec<usize>,
) {
    while let Ok((client, _)) = listener.accept() {
        if let Err(e) = pair(client, upstream, poll, ends, free) {
            eprintln!("floor_epoll: session not started: {e}");
        }
    }
}

fn pair(
    mut client: TcpStream,
    upstream: SocketAddr,
    poll: &Poll,
    ends: &mut Vec<Option<End>>,
    free: &mut Vec<usize>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let server = std::net::TcpStream::connect(upstream)?;
    server.set_nodelay(true)?;
    server.set_nonblocking(true)?;
    let mut server = TcpStream::from_std(server);
    let mut slot = || {
        free.pop().unwrap_or_else(|| {
            ends.push(None);
            ends.len() - 1
        })
    };
    let (a, b) = (slot(), slot());
    let both = Interest::READABLE | Interest::WRITABLE;
    poll.registry().register(&mut client, Token(a), both)?;
    poll.registry().register(&mut server, Token(b), both)?;
    let end = |sock, peer| End {
        sock,
        peer,
        owed: Vec::new(),
        closed: false,
    };
    ends[a] = Some(end(client, b));
    ends[b] = Some(end(server, a));
    Ok(())
}

/// Writes what socket `i` still owes its reader.
fn pay_owed(ends: &mut [Option<End>], i: usize) {
    let Some(end) = ends[i].as_mut() else { return };
    while !end.owed.is_empty() {
        match end.sock.write(&end.owed) {
            Ok(n) => {
                end.owed.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(_) => {
                end.closed = true;
                return;
            }
        }
    }
}

/// Reads socket `i` until it has nothing more and writes each read to its
/// peer (what the peer cannot take now is kept until it is writable).
fn forward(ends: &mut [Option<End>], i: usize, buf: &mut [u8]) {
    loop {
        let Some(end) = ends[i].as_mut() else { return };
        let peer = end.peer;
        let n = match end.sock.read(buf) {
            Ok(0) => {
                end.closed = true;
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(_) => {
                end.closed = true;
                return;
            }
        };
        let Some(to) = ends[peer].as_mut() else {
            return;
        };
        let mut sent = 0;
        while to.owed.is_empty() && sent < n {
            match to.sock.write(&buf[sent..n]) {
                Ok(w) => sent += w,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    to.closed = true;
                    return;
                }
            }
        }
        to.owed.extend_from_slice(&buf[sent..n]);
        // A short read emptied the socket: the next data brings a new
        // edge (as tokio reads, without the read that says so).
        if n < buf.len() {
            return;
        }
    }
}

/// Whether socket `i` or its peer has closed (or failed).
fn pair_closed(ends: &[Option<End>], i: usize) -> bool {
    let Some(end) = ends[i].as_ref() else {
        return false;
    };
    end.closed || ends[end.peer].as_ref().is_some_and(|p| p.closed)
}

/// Closes socket `i` and its peer.
fn close_pair(poll: &Poll, ends: &mut [Option<End>], free: &mut Vec<usize>, i: usize) {
    let peer = ends[i].as_ref().map(|e| e.peer);
    for k in std::iter::once(i).chain(peer) {
        if let Some(mut end) = ends[k].take() {
            let _ = poll.registry().deregister(&mut end.sock);
            free.push(k);
        }
    }
}
