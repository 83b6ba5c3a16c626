//! The untagged first packet of a connection: StartupMessage, SSLRequest,
//! GSSENCRequest or CancelRequest.

use super::{ProtocolError, Reader, put_cstr};
use bytes::{BufMut, BytesMut};

/// Postgres refuses startup packets longer than this (MAX_STARTUP_PACKET_LENGTH).
pub const MAX_STARTUP_PACKET_BYTES: usize = 10_000;

/// Largest credential message (PasswordMessage, SASLInitialResponse,
/// SASLResponse; the value of its length word) read before a client has
/// authenticated. A SCRAM message is a few hundred bytes and a capability
/// token at most 8 KiB; PostgreSQL's own bound
/// is 65535 (PG_MAX_AUTH_TOKEN_LENGTH). Anything larger is refused from its
/// length word, so a stranger never makes actgate hold more than this.
pub const MAX_AUTH_MESSAGE_BYTES: usize = 16 * 1024;

const SSL_REQUEST: i32 = 80877103;
const GSSENC_REQUEST: i32 = 80877104;
const CANCEL_REQUEST: i32 = 80877102;

/// A decoded first packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupPacket {
    SslRequest,
    GssEncRequest,
    Cancel { process_id: i32, secret_key: i32 },
    Startup(Startup),
}

/// A StartupMessage: protocol version and parameters in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Startup {
    pub major: u16,
    pub minor: u16,
    pub params: Vec<(String, String)>,
}

impl Startup {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Protocol options (`_pq_.*`) the client asked for; actgate supports none.
    pub fn protocol_options(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .filter(|(k, _)| k.starts_with("_pq_."))
            .map(|(k, _)| k.as_str())
    }
}

/// Splits the first packet off `buf`; `Ok(None)` when more bytes are needed.
pub fn decode_startup(
    buf: &mut BytesMut,
    limit: usize,
) -> Result<Option<StartupPacket>, ProtocolError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if length < 8 || length as usize > limit {
        return Err(ProtocolError::StartupLength { length });
    }
    let length = length as usize;
    if buf.len() < length {
        return Ok(None);
    }
    let packet = buf.split_to(length);
    let mut r = Reader::new(&packet[4..], "startup packet");
    let code = r.i32()?;
    let decoded = match code {
        SSL_REQUEST => {
            r.finish()?;
            StartupPacket::SslRequest
        }
        GSSENC_REQUEST => {
            r.finish()?;
            StartupPacket::GssEncRequest
        }
        CANCEL_REQUEST => {
            let process_id = r.i32()?;
            let secret_key = r.i32()?;
            r.finish()?;
            StartupPacket::Cancel {
                process_id,
                secret_key,
            }
        }
        version => {
            let major = (version >> 16) as u16;
            let minor = (version & 0xffff) as u16;
            if major != 3 {
                return Err(ProtocolError::UnsupportedVersion { major, minor });
            }
            let mut params = Vec::new();
            loop {
                let key = r.cstr()?;
                if key.is_empty() {
                    break;
                }
                let value = r.cstr()?;
                params.push((key.to_owned(), value.to_owned()));
            }
            r.finish()?;
            StartupPacket::Startup(Startup {
                major,
                minor,
                params,
            })
        }
    };
    Ok(Some(decoded))
}

/// Encodes a protocol 3.0 StartupMessage with the given parameters.
pub fn encode_startup(out: &mut BytesMut, params: &[(&str, &str)]) {
    let at = out.len();
    out.put_i32(0);
    out.put_i32(3 << 16);
    for (k, v) in params {
        put_cstr(out, k);
        put_cstr(out, v);
    }
    out.put_u8(0);
    let len = (out.len() - at) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Encodes a CancelRequest for the upstream server.
pub fn encode_cancel(out: &mut BytesMut, process_id: i32, secret_key: i32) {
    out.put_i32(16);
    out.put_i32(CANCEL_REQUEST);
    out.put_i32(process_id);
    out.put_i32(secret_key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_round_trips() {
        let mut buf = BytesMut::new();
        encode_startup(&mut buf, &[("user", "bot"), ("database", "shop")]);
        let p = decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES)
            .unwrap()
            .unwrap();
        let StartupPacket::Startup(s) = p else {
            panic!("not a startup")
        };
        assert_eq!(s.param("user"), Some("bot"));
        assert_eq!(s.param("database"), Some("shop"));
        assert!(buf.is_empty());
    }

    #[test]
    fn ssl_request_is_recognised() {
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f][..]);
        assert_eq!(
            decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES),
            Ok(Some(StartupPacket::SslRequest))
        );
    }

    #[test]
    fn cancel_round_trips() {
        let mut buf = BytesMut::new();
        encode_cancel(&mut buf, 7, -9);
        assert_eq!(
            decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES),
            Ok(Some(StartupPacket::Cancel {
                process_id: 7,
                secret_key: -9
            }))
        );
    }

    #[test]
    fn oversized_startup_is_refused_before_reading_it() {
        let mut buf = BytesMut::from(&[0, 0, 0x30, 0x00][..]);
        assert_eq!(
            decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES),
            Err(ProtocolError::StartupLength { length: 0x3000 })
        );
    }

    #[test]
    fn protocol_two_is_refused() {
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0, 2, 0, 0][..]);
        assert_eq!(
            decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES),
            Err(ProtocolError::UnsupportedVersion { major: 2, minor: 0 })
        );
    }

    #[test]
    fn startup_missing_final_terminator_is_refused() {
        let mut buf = BytesMut::new();
        buf.put_i32(4 + 4 + 9);
        buf.put_i32(3 << 16);
        buf.put_slice(b"user\0bot\0");
        assert!(decode_startup(&mut buf, MAX_STARTUP_PACKET_BYTES).is_err());
    }
}
