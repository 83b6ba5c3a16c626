//! Backend (server → client) messages: the few actgate reads, and the ones
//! it writes itself (authentication, errors, session parameters).

use super::{Frame, ProtocolError, Reader, put_cstr, put_message};
use bytes::{BufMut, BytesMut};

/// Typed views of the backend messages actgate interprets. Everything else
/// is relayed as raw bytes without being decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendMessage<'a> {
    Authentication { code: i32, data: &'a [u8] },
    ParameterStatus { name: &'a str, value: &'a str },
    BackendKeyData { process_id: i32, secret_key: i32 },
    ReadyForQuery { status: TransactionStatus },
    ErrorResponse(Fields<'a>),
    NoticeResponse(Fields<'a>),
    NegotiateProtocolVersion { newest_minor: i32 },
    Other { tag: u8 },
}

/// The transaction status byte of ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    Idle,
    InTransaction,
    Failed,
}

impl TransactionStatus {
    pub fn byte(self) -> u8 {
        match self {
            TransactionStatus::Idle => b'I',
            TransactionStatus::InTransaction => b'T',
            TransactionStatus::Failed => b'E',
        }
    }

    /// The status a ReadyForQuery byte reports; an unknown byte is neither
    /// idle nor failed.
    pub fn from_byte(byte: u8) -> TransactionStatus {
        match byte {
            b'I' => TransactionStatus::Idle,
            b'E' => TransactionStatus::Failed,
            _ => TransactionStatus::InTransaction,
        }
    }
}

/// The fields of an ErrorResponse or NoticeResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields<'a> {
    raw: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The value of field `code` ('C' SQLSTATE, 'M' message, 'V' severity…).
    pub fn get(&self, code: u8) -> Option<&'a str> {
        let mut r = Reader::new(self.raw, "ErrorResponse");
        loop {
            let c = r.u8().ok()?;
            if c == 0 {
                return None;
            }
            let v = r.cstr().ok()?;
            if c == code {
                return Some(v);
            }
        }
    }

    pub fn sqlstate(&self) -> Option<&'a str> {
        self.get(b'C')
    }
}

/// Authentication request codes.
pub mod auth {
    pub const OK: i32 = 0;
    pub const CLEARTEXT_PASSWORD: i32 = 3;
    pub const MD5_PASSWORD: i32 = 5;
    pub const SASL: i32 = 10;
    pub const SASL_CONTINUE: i32 = 11;
    pub const SASL_FINAL: i32 = 12;
}

impl<'a> BackendMessage<'a> {
    /// Decodes the message types actgate interprets; others become `Other`.
    pub fn decode(frame: &'a Frame) -> Result<Self, ProtocolError> {
        Self::decode_parts(frame.tag, frame.body())
    }

    /// Decodes a message given its tag and body.
    pub fn decode_parts(tag: u8, body: &'a [u8]) -> Result<Self, ProtocolError> {
        Ok(match tag {
            b'R' => {
                let mut r = Reader::new(body, "Authentication");
                let code = r.i32()?;
                BackendMessage::Authentication {
                    code,
                    data: r.rest(),
                }
            }
            b'S' => {
                let mut r = Reader::new(body, "ParameterStatus");
                let name = r.cstr()?;
                let value = r.cstr()?;
                r.finish()?;
                BackendMessage::ParameterStatus { name, value }
            }
            b'K' => {
                let mut r = Reader::new(body, "BackendKeyData");
                let process_id = r.i32()?;
                let secret_key = r.i32()?;
                r.finish()?;
                BackendMessage::BackendKeyData {
                    process_id,
                    secret_key,
                }
            }
            b'Z' => {
                let mut r = Reader::new(body, "ReadyForQuery");
                let status = match r.u8()? {
                    b'I' => TransactionStatus::Idle,
                    b'T' => TransactionStatus::InTransaction,
                    b'E' => TransactionStatus::Failed,
                    _ => {
                        return Err(ProtocolError::Malformed {
                            what: "ReadyForQuery",
                            detail: "unknown transaction status",
                        });
                    }
                };
                r.finish()?;
                BackendMessage::ReadyForQuery { status }
            }
            b'E' => BackendMessage::ErrorResponse(Fields { raw: body }),
            b'N' => BackendMessage::NoticeResponse(Fields { raw: body }),
            b'v' => {
                let mut r = Reader::new(body, "NegotiateProtocolVersion");
                BackendMessage::NegotiateProtocolVersion {
                    newest_minor: r.i32()?,
                }
            }
            tag => BackendMessage::Other { tag },
        })
    }
}

/// Severity of an error actgate raises itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Notice,
    Error,
    Fatal,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "NOTICE",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }
}

/// An error actgate sends in its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFields {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl ErrorFields {
    pub fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Self {
        ErrorFields {
            severity,
            code,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Appends this error as an ErrorResponse (a NoticeResponse for
    /// notices).
    pub fn encode(&self, out: &mut BytesMut) {
        let tag = match self.severity {
            Severity::Notice => b'N',
            _ => b'E',
        };
        put_message(out, tag, |b| {
            for (code, value) in [
                (b'S', Some(self.severity.as_str())),
                (b'V', Some(self.severity.as_str())),
                (b'C', Some(self.code)),
                (b'M', Some(self.message.as_str())),
                (b'D', self.detail.as_deref()),
                (b'H', self.hint.as_deref()),
            ] {
                if let Some(v) = value {
                    b.put_u8(code);
                    put_cstr(b, v);
                }
            }
            b.put_u8(0);
        });
    }
}

pub fn encode_authentication(out: &mut BytesMut, code: i32, data: &[u8]) {
    put_message(out, b'R', |b| {
        b.put_i32(code);
        b.put_slice(data);
    });
}

/// AuthenticationSASL listing the offered mechanisms.
pub fn encode_auth_sasl(out: &mut BytesMut, mechanisms: &[&str]) {
    put_message(out, b'R', |b| {
        b.put_i32(auth::SASL);
        for m in mechanisms {
            put_cstr(b, m);
        }
        b.put_u8(0);
    });
}

pub fn encode_parameter_status(out: &mut BytesMut, name: &str, value: &str) {
    put_message(out, b'S', |b| {
        put_cstr(b, name);
        put_cstr(b, value);
    });
}

pub fn encode_backend_key_data(out: &mut BytesMut, process_id: i32, secret_key: i32) {
    put_message(out, b'K', |b| {
        b.put_i32(process_id);
        b.put_i32(secret_key);
    });
}

pub fn encode_ready_for_query(out: &mut BytesMut, status: TransactionStatus) {
    put_message(out, b'Z', |b| b.put_u8(status.byte()));
}

/// NegotiateProtocolVersion: we speak 3.0 and none of the options asked for.
pub fn encode_negotiate_protocol_version<'a>(
    out: &mut BytesMut,
    newest_minor: i32,
    unsupported: impl ExactSizeIterator<Item = &'a str>,
) {
    put_message(out, b'v', |b| {
        b.put_i32(newest_minor);
        b.put_i32(unsupported.len() as i32);
        for o in unsupported {
            put_cstr(b, o);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::decode_frame;

    #[test]
    fn error_round_trips_through_fields() {
        let mut out = BytesMut::new();
        ErrorFields::new(Severity::Error, "42501", "permission denied")
            .with_hint("ask a DBA")
            .encode(&mut out);
        let f = decode_frame(&mut out, 1 << 20).unwrap().unwrap();
        let BackendMessage::ErrorResponse(fields) = BackendMessage::decode(&f).unwrap() else {
            panic!("not an error");
        };
        assert_eq!(fields.sqlstate(), Some("42501"));
        assert_eq!(fields.get(b'M'), Some("permission denied"));
        assert_eq!(fields.get(b'H'), Some("ask a DBA"));
        assert_eq!(fields.get(b'D'), None);
    }

    #[test]
    fn ready_for_query_status_is_read() {
        let mut out = BytesMut::new();
        encode_ready_for_query(&mut out, TransactionStatus::Failed);
        let f = decode_frame(&mut out, 1 << 20).unwrap().unwrap();
        assert_eq!(
            BackendMessage::decode(&f).unwrap(),
            BackendMessage::ReadyForQuery {
                status: TransactionStatus::Failed
            }
        );
    }
}
