//! PostgreSQL wire protocol v3 framing: pure, no I/O.
//!
//! This layer owns message boundaries. The proxy inspects exactly the
//! frames the server will see, so framing is strict: every declared length
//! is checked against a limit before anything is allocated, a message body
//! must be consumed exactly (no trailing bytes, no truncation), and SQL text
//! must be valid UTF-8. Frontend and backend messages are separate types
//! because the same tag letter means different things in each direction.
//!
//! A decoded [`Frame`] keeps its original bytes so an allowed message is
//! forwarded untouched; typed views ([`frontend::FrontendMessage`],
//! [`backend::BackendMessage`]) borrow from it.

pub mod backend;
pub mod frontend;
pub mod pipeline;
pub mod startup;
pub mod values;

use bytes::{Buf, Bytes, BytesMut};

/// Postgres' own ceiling for one message (MaxAllocSize - 1).
pub const HARD_MAX_MESSAGE_BYTES: usize = 0x3fff_ffff;

/// Errors produced while framing or decoding messages.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("invalid message length {length} for message type {tag:?}")]
    InvalidLength { tag: char, length: u32 },
    #[error("message length {length} exceeds limit {limit} for message type {tag:?}")]
    TooLong {
        tag: char,
        length: usize,
        limit: usize,
    },
    #[error("unexpected message type {tag:?} (0x{byte:02x})")]
    UnknownType { tag: char, byte: u8 },
    #[error("malformed {what} message: {detail}")]
    Malformed {
        what: &'static str,
        detail: &'static str,
    },
    #[error("invalid UTF-8 in {what} message")]
    InvalidUtf8 { what: &'static str },
    #[error("invalid length of startup packet: {length}")]
    StartupLength { length: u32 },
    #[error("unsupported frontend protocol {major}.{minor}")]
    UnsupportedVersion { major: u16, minor: u16 },
}

/// One framed message: its tag and the whole raw message (tag, length and
/// body) as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub tag: u8,
    pub raw: Bytes,
}

impl Frame {
    /// The message body, after the tag and the length word.
    pub fn body(&self) -> &[u8] {
        &self.raw[5..]
    }
}

/// What [`peek_header`] found at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub tag: u8,
    /// Total size of the message on the wire, tag included.
    pub total: usize,
}

/// Reads a tagged message header without consuming anything.
///
/// `Ok(None)` means not enough bytes for a header yet. The declared length
/// is validated against `limit` here, before any buffer grows for the body.
pub fn peek_header(buf: &[u8], limit: usize) -> Result<Option<Header>, ProtocolError> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let tag = buf[0];
    let length = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
    if length < 4 || length as usize > HARD_MAX_MESSAGE_BYTES {
        return Err(ProtocolError::InvalidLength {
            tag: tag as char,
            length,
        });
    }
    let length = length as usize;
    if length > limit {
        return Err(ProtocolError::TooLong {
            tag: tag as char,
            length,
            limit,
        });
    }
    Ok(Some(Header {
        tag,
        total: length + 1,
    }))
}

/// Splits one complete tagged message off the front of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed; the caller should reserve
/// at most the declared size (already bounded by `limit`).
pub fn decode_frame(buf: &mut BytesMut, limit: usize) -> Result<Option<Frame>, ProtocolError> {
    let Some(header) = peek_header(buf, limit)? else {
        return Ok(None);
    };
    if buf.len() < header.total {
        return Ok(None);
    }
    let raw = buf.split_to(header.total).freeze();
    Ok(Some(Frame {
        tag: header.tag,
        raw,
    }))
}

/// A strict cursor over a message body.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn malformed(&self, detail: &'static str) -> ProtocolError {
        ProtocolError::Malformed {
            what: self.what,
            detail,
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ProtocolError> {
        if self.buf.is_empty() {
            return Err(self.malformed("truncated body"));
        }
        let v = self.buf[0];
        self.buf.advance(1);
        Ok(v)
    }

    pub(crate) fn i16(&mut self) -> Result<i16, ProtocolError> {
        if self.buf.len() < 2 {
            return Err(self.malformed("truncated body"));
        }
        Ok(self.buf.get_i16())
    }

    pub(crate) fn i32(&mut self) -> Result<i32, ProtocolError> {
        if self.buf.len() < 4 {
            return Err(self.malformed("truncated body"));
        }
        Ok(self.buf.get_i32())
    }

    /// A count that must not be negative.
    pub(crate) fn count16(&mut self) -> Result<usize, ProtocolError> {
        let n = self.i16()?;
        if n < 0 {
            return Err(self.malformed("negative count"));
        }
        Ok(n as usize)
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], ProtocolError> {
        if self.buf.len() < n {
            return Err(self.malformed("truncated body"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// A NUL-terminated string that must be valid UTF-8.
    pub(crate) fn cstr(&mut self) -> Result<&'a str, ProtocolError> {
        // The unnamed statement and portal, in most extended messages.
        if let Some((&0, rest)) = self.buf.split_first() {
            self.buf = rest;
            return Ok("");
        }
        let raw = self.cstr_bytes()?;
        std::str::from_utf8(raw).map_err(|_| ProtocolError::InvalidUtf8 { what: self.what })
    }

    pub(crate) fn cstr_bytes(&mut self) -> Result<&'a [u8], ProtocolError> {
        let Some(end) = memchr::memchr(0, self.buf) else {
            return Err(self.malformed("missing string terminator"));
        };
        let s = &self.buf[..end];
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }

    /// A length-prefixed value (-1 is NULL).
    pub(crate) fn value(&mut self) -> Result<Option<&'a [u8]>, ProtocolError> {
        let n = self.i32()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(self.malformed("negative value length"));
        }
        self.bytes(n as usize).map(Some)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// The body must end exactly here.
    pub(crate) fn finish(self) -> Result<(), ProtocolError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes after message body"))
        }
    }
}

/// Appends a tagged message: tag, then the length word, then `body`.
pub(crate) fn put_message(out: &mut BytesMut, tag: u8, body: impl FnOnce(&mut BytesMut)) {
    use bytes::BufMut;
    out.put_u8(tag);
    let at = out.len();
    out.put_i32(0);
    body(out);
    let len = (out.len() - at) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

pub(crate) fn put_cstr(out: &mut BytesMut, s: &str) {
    use bytes::BufMut;
    out.put_slice(s.as_bytes());
    out.put_u8(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_needs_five_bytes() {
        assert_eq!(peek_header(b"Q\0\0\0", 100), Ok(None));
    }

    #[test]
    fn length_is_checked_before_the_body_arrives() {
        let buf = [b'Q', 0x80, 0, 0, 0];
        assert!(matches!(
            peek_header(&buf, 1 << 20),
            Err(ProtocolError::InvalidLength { .. })
        ));
        let buf = [b'Q', 0, 0x10, 0, 0];
        assert!(matches!(
            peek_header(&buf, 1024),
            Err(ProtocolError::TooLong {
                length: 0x100000,
                limit: 1024,
                ..
            })
        ));
    }

    #[test]
    fn length_below_four_is_invalid() {
        assert!(peek_header(&[b'S', 0, 0, 0, 3], 100).is_err());
    }

    #[test]
    fn frame_waits_for_the_whole_body() {
        let mut buf = BytesMut::from(&b"Q\0\0\0\x09SEL"[..]);
        assert_eq!(decode_frame(&mut buf, 100), Ok(None));
        buf.extend_from_slice(b"\0\0S\0\0\0\x04");
        let f = decode_frame(&mut buf, 100).unwrap().unwrap();
        assert_eq!(f.tag, b'Q');
        assert_eq!(f.body(), b"SEL\0\0");
        let s = decode_frame(&mut buf, 100).unwrap().unwrap();
        assert_eq!(s.tag, b'S');
        assert!(buf.is_empty());
    }

    #[test]
    fn strings_are_read_to_their_terminator() {
        let mut r = Reader::new(b"\0stmt\0\xff\0", "Bind");
        assert_eq!(r.cstr(), Ok(""));
        assert_eq!(r.cstr(), Ok("stmt"));
        assert_eq!(r.cstr(), Err(ProtocolError::InvalidUtf8 { what: "Bind" }));
        assert!(r.buf.is_empty());
        let mut r = Reader::new(b"no end", "Parse");
        assert!(matches!(r.cstr(), Err(ProtocolError::Malformed { .. })));
        assert!(matches!(
            Reader::new(b"", "Parse").cstr(),
            Err(ProtocolError::Malformed { .. })
        ));
    }

    #[test]
    fn put_message_fills_in_the_length() {
        let mut out = BytesMut::new();
        put_message(&mut out, b'Z', |b| b.extend_from_slice(b"I"));
        assert_eq!(&out[..], b"Z\0\0\0\x05I");
    }
}
