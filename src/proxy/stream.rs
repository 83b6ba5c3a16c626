//! A TCP stream that may have been upgraded to TLS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Either side's transport after negotiation.
pub enum MaybeTls {
    Plain(TcpStream),
    ServerTls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    ClientTls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// The reading half of a [`MaybeTls`] split between the relay's two
/// halves ([`MaybeTls::split`]).
pub enum ReadHalf<'a> {
    /// A plain socket's two directions are independent: no lock between
    /// them.
    Plain(tokio::net::tcp::ReadHalf<'a>),
    /// A TLS session is one state for both directions: tokio's split
    /// locks it for each read and write.
    Tls(tokio::io::ReadHalf<&'a mut MaybeTls>),
}

/// The writing half of a [`MaybeTls`] split.
pub enum WriteHalf<'a> {
    Plain(tokio::net::tcp::WriteHalf<'a>),
    Tls(tokio::io::WriteHalf<&'a mut MaybeTls>),
}

impl MaybeTls {
    pub fn is_tls(&self) -> bool {
        !matches!(self, MaybeTls::Plain(_))
    }

    /// Splits the stream for the relay's two halves, which run in one
    /// task: a plain socket by direction (every message's reads and writes
    /// then take no lock), TLS through tokio's locked split.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        match self {
            MaybeTls::Plain(s) => {
                let (r, w) = s.split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            tls => {
                let (r, w) = tokio::io::split(tls);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
        }
    }
}

/// Implements tokio's `AsyncRead` for an enum of streams by passing each
/// call to the stream its variant holds (a `Box` reads as what it holds).
macro_rules! forward_read {
    ($ty:ty: $($variant:path),+) => {
        impl AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }
    };
}

/// [`forward_read!`] for tokio's `AsyncWrite`.
macro_rules! forward_write {
    ($ty:ty: $($variant:path),+) => {
        impl AsyncWrite for $ty {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_write(cx, buf),)+
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_flush(cx),)+
                }
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $($variant(s) => Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

forward_read!(MaybeTls: MaybeTls::Plain, MaybeTls::ServerTls, MaybeTls::ClientTls);
forward_write!(MaybeTls: MaybeTls::Plain, MaybeTls::ServerTls, MaybeTls::ClientTls);
forward_read!(ReadHalf<'_>: ReadHalf::Plain, ReadHalf::Tls);
forward_write!(WriteHalf<'_>: WriteHalf::Plain, WriteHalf::Tls);
