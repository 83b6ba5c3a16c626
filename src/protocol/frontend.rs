//! Frontend (client → server) messages after startup.
//!
//! [`FrontendMessage::decode`] validates the complete structure of every
//! known message type, so what the policy inspects is exactly what the
//! server will parse. Unknown tags are refused here.

use super::{Frame, ProtocolError, Reader};

/// A typed, borrowed view of one frontend message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontendMessage<'a> {
    Query {
        sql: &'a str,
    },
    Parse {
        statement: &'a str,
        sql: &'a str,
        /// Declared parameter type OIDs, raw (Int32 each; 0 = unspecified).
        param_types: &'a [u8],
    },
    Bind(Bind<'a>),
    Execute {
        portal: &'a str,
        max_rows: i32,
    },
    Describe {
        kind: Target,
        name: &'a str,
    },
    Close {
        kind: Target,
        name: &'a str,
    },
    Sync,
    Flush,
    Terminate,
    CopyData {
        data: &'a [u8],
    },
    CopyDone,
    CopyFail {
        message: &'a [u8],
    },
    /// PasswordMessage, SASLInitialResponse and SASLResponse share this tag;
    /// only the authentication exchange knows which one it is.
    Password {
        data: &'a [u8],
    },
    /// The fast-path function call: never forwarded.
    FunctionCall,
}

/// Whether a Describe/Close names a prepared statement or a portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Statement,
    Portal,
}

/// A validated Bind message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind<'a> {
    pub portal: &'a str,
    pub statement: &'a str,
    /// Raw parameter format codes (each an Int16).
    pub param_formats: &'a [u8],
    /// Raw parameter values section, starting at the value count.
    params: &'a [u8],
    pub param_count: usize,
    pub result_formats: usize,
}

impl<'a> Bind<'a> {
    /// Parameter values in order; `None` is SQL NULL. The structure was
    /// validated when the message was decoded.
    pub fn params(&self) -> impl Iterator<Item = Option<&'a [u8]>> + 'a {
        let mut r = Reader::new(self.params, "Bind");
        (0..self.param_count).map(move |_| r.value().unwrap_or(None))
    }

    /// The format code (0 text, 1 binary) that applies to parameter `i`.
    pub fn param_format(&self, i: usize) -> i16 {
        let n = self.param_formats.len() / 2;
        let at = match n {
            0 => return 0,
            1 => 0,
            _ if i < n => i * 2,
            _ => return 0,
        };
        i16::from_be_bytes([self.param_formats[at], self.param_formats[at + 1]])
    }
}

/// The OIDs of a Parse message's declared parameter types.
pub fn param_type_oids(raw: &[u8]) -> Vec<u32> {
    raw.chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl<'a> FrontendMessage<'a> {
    /// Decodes and fully validates `frame`.
    pub fn decode(frame: &'a Frame) -> Result<Self, ProtocolError> {
        Self::decode_parts(frame.tag, frame.body())
    }

    /// Decodes and fully validates a message given its tag and body.
    pub fn decode_parts(tag: u8, body: &'a [u8]) -> Result<Self, ProtocolError> {
        let msg = match tag {
            b'Q' => {
                let mut r = Reader::new(body, "Query");
                let sql = r.cstr()?;
                r.finish()?;
                FrontendMessage::Query { sql }
            }
            b'P' => {
                let mut r = Reader::new(body, "Parse");
                let statement = r.cstr()?;
                let sql = r.cstr()?;
                let count = r.count16()?;
                let param_types = r.bytes(count * 4)?;
                r.finish()?;
                FrontendMessage::Parse {
                    statement,
                    sql,
                    param_types,
                }
            }
            b'B' => FrontendMessage::Bind(decode_bind(body)?),
            b'E' => {
                let mut r = Reader::new(body, "Execute");
                let portal = r.cstr()?;
                let max_rows = r.i32()?;
                r.finish()?;
                FrontendMessage::Execute { portal, max_rows }
            }
            b'D' | b'C' => {
                let what = if tag == b'D' { "Describe" } else { "Close" };
                let mut r = Reader::new(body, what);
                let kind = match r.u8()? {
                    b'S' => Target::Statement,
                    b'P' => Target::Portal,
                    _ => {
                        return Err(ProtocolError::Malformed {
                            what,
                            detail: "target must be 'S' or 'P'",
                        });
                    }
                };
                let name = r.cstr()?;
                r.finish()?;
                if tag == b'D' {
                    FrontendMessage::Describe { kind, name }
                } else {
                    FrontendMessage::Close { kind, name }
                }
            }
            b'S' => empty(body, "Sync", FrontendMessage::Sync)?,
            b'H' => empty(body, "Flush", FrontendMessage::Flush)?,
            b'X' => empty(body, "Terminate", FrontendMessage::Terminate)?,
            b'c' => empty(body, "CopyDone", FrontendMessage::CopyDone)?,
            b'd' => FrontendMessage::CopyData { data: body },
            b'f' => {
                let mut r = Reader::new(body, "CopyFail");
                let message = r.cstr_bytes()?;
                r.finish()?;
                FrontendMessage::CopyFail { message }
            }
            b'p' => FrontendMessage::Password { data: body },
            b'F' => FrontendMessage::FunctionCall,
            other => {
                return Err(ProtocolError::UnknownType {
                    tag: other as char,
                    byte: other,
                });
            }
        };
        Ok(msg)
    }

    /// The protocol name of the message, for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            FrontendMessage::Query { .. } => "Query",
            FrontendMessage::Parse { .. } => "Parse",
            FrontendMessage::Bind(_) => "Bind",
            FrontendMessage::Execute { .. } => "Execute",
            FrontendMessage::Describe { .. } => "Describe",
            FrontendMessage::Close { .. } => "Close",
            FrontendMessage::Sync => "Sync",
            FrontendMessage::Flush => "Flush",
            FrontendMessage::Terminate => "Terminate",
            FrontendMessage::CopyData { .. } => "CopyData",
            FrontendMessage::CopyDone => "CopyDone",
            FrontendMessage::CopyFail { .. } => "CopyFail",
            FrontendMessage::Password { .. } => "PasswordMessage",
            FrontendMessage::FunctionCall => "FunctionCall",
        }
    }
}

fn empty<'a>(
    body: &[u8],
    what: &'static str,
    msg: FrontendMessage<'a>,
) -> Result<FrontendMessage<'a>, ProtocolError> {
    Reader::new(body, what).finish()?;
    Ok(msg)
}

fn decode_bind(body: &[u8]) -> Result<Bind<'_>, ProtocolError> {
    let mut r = Reader::new(body, "Bind");
    let portal = r.cstr()?;
    let statement = r.cstr()?;
    let nformats = r.count16()?;
    let param_formats = r.bytes(nformats * 2)?;
    for pair in param_formats.chunks_exact(2) {
        if !matches!(i16::from_be_bytes([pair[0], pair[1]]), 0 | 1) {
            return Err(ProtocolError::Malformed {
                what: "Bind",
                detail: "parameter format code must be 0 or 1",
            });
        }
    }
    let params_start = body.len() - r.remaining();
    let param_count = r.count16()?;
    if nformats > 1 && nformats != param_count {
        return Err(ProtocolError::Malformed {
            what: "Bind",
            detail: "parameter format count does not match parameter count",
        });
    }
    for _ in 0..param_count {
        r.value()?;
    }
    let params_end = body.len() - r.remaining();
    let result_formats = r.count16()?;
    r.bytes(result_formats * 2)?;
    r.finish()?;
    Ok(Bind {
        portal,
        statement,
        param_formats,
        // Skip the Int16 count itself; `params()` reads the values.
        params: &body[params_start + 2..params_end],
        param_count,
        result_formats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{BufMut, BytesMut};

    fn frame(tag: u8, body: &[u8]) -> Frame {
        let mut b = BytesMut::new();
        b.put_u8(tag);
        b.put_i32(body.len() as i32 + 4);
        b.put_slice(body);
        Frame {
            tag,
            raw: b.freeze(),
        }
    }

    #[test]
    fn query_decodes() {
        let f = frame(b'Q', b"select 1\0");
        assert_eq!(
            FrontendMessage::decode(&f).unwrap(),
            FrontendMessage::Query { sql: "select 1" }
        );
    }

    #[test]
    fn query_with_trailing_bytes_is_refused() {
        // pgwire-style decoders would read the trailing bytes as a second message.
        let f = frame(b'Q', b"select 1\0Q\0\0\0\x0dselect 2\0");
        assert!(matches!(
            FrontendMessage::decode(&f),
            Err(ProtocolError::Malformed {
                detail: "trailing bytes after message body",
                ..
            })
        ));
    }

    #[test]
    fn query_without_terminator_is_refused() {
        let f = frame(b'Q', b"select 1");
        assert!(FrontendMessage::decode(&f).is_err());
    }

    #[test]
    fn query_must_be_utf8() {
        let f = frame(b'Q', b"select '\xff'\0");
        assert_eq!(
            FrontendMessage::decode(&f),
            Err(ProtocolError::InvalidUtf8 { what: "Query" })
        );
    }

    #[test]
    fn truncated_parse_is_refused() {
        // Declares two parameter types but carries one.
        let f = frame(b'P', b"s1\0select $1, $2\0\0\x02\0\0\0\x17");
        assert!(matches!(
            FrontendMessage::decode(&f),
            Err(ProtocolError::Malformed { what: "Parse", .. })
        ));
    }

    #[test]
    fn bind_exposes_parameters() {
        let mut body = BytesMut::new();
        body.put_slice(b"p\0s\0");
        body.put_i16(1);
        body.put_i16(0);
        body.put_i16(2);
        body.put_i32(2);
        body.put_slice(b"42");
        body.put_i32(-1);
        body.put_i16(0);
        let f = frame(b'B', &body);
        let FrontendMessage::Bind(b) = FrontendMessage::decode(&f).unwrap() else {
            panic!("not a bind");
        };
        assert_eq!(b.portal, "p");
        assert_eq!(b.statement, "s");
        let params: Vec<_> = b.params().collect();
        assert_eq!(params, vec![Some(&b"42"[..]), None]);
        assert_eq!(b.param_format(1), 0);
    }

    #[test]
    fn bind_with_value_past_the_end_is_refused() {
        let mut body = BytesMut::new();
        body.put_slice(b"\0\0");
        body.put_i16(0);
        body.put_i16(1);
        body.put_i32(100);
        body.put_slice(b"short");
        let f = frame(b'B', &body);
        assert!(FrontendMessage::decode(&f).is_err());
    }

    #[test]
    fn unknown_type_is_refused() {
        let f = frame(b'!', b"");
        assert_eq!(
            FrontendMessage::decode(&f),
            Err(ProtocolError::UnknownType {
                tag: '!',
                byte: b'!'
            })
        );
    }

    #[test]
    fn sync_with_body_is_refused() {
        assert!(FrontendMessage::decode(&frame(b'S', b"x")).is_err());
        assert_eq!(
            FrontendMessage::decode(&frame(b'S', b"")),
            Ok(FrontendMessage::Sync)
        );
    }

    #[test]
    fn function_call_is_recognised_for_refusal() {
        let f = frame(b'F', b"\0\0\0\x01");
        assert_eq!(
            FrontendMessage::decode(&f),
            Ok(FrontendMessage::FunctionCall)
        );
    }
}
