//! Server side of SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL runs it:
//! pure computation, the session does the I/O.
//!
//! actgate offers only `SCRAM-SHA-256` (no channel binding), ignores the
//! user name inside the SCRAM messages as Postgres does, and runs a mock
//! exchange for unknown agents so that a client cannot tell an unknown
//! agent from a wrong secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const MECHANISM: &str = "SCRAM-SHA-256";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScramError {
    #[error("invalid SCRAM verifier: {0}")]
    InvalidVerifier(&'static str),
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("unsupported SASL mechanism {0:?}")]
    UnsupportedMechanism(String),
    #[error("SCRAM proof does not match")]
    WrongProof,
}

/// A stored SCRAM-SHA-256 verifier: `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    stored_key: [u8; 32],
    server_key: [u8; 32],
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(<redacted>)")
    }
}

impl Verifier {
    pub fn parse(s: &str) -> Result<Verifier, ScramError> {
        let bad = ScramError::InvalidVerifier;
        let rest = s
            .strip_prefix("SCRAM-SHA-256$")
            .ok_or(bad("must start with SCRAM-SHA-256$"))?;
        let (iter_salt, keys) = rest
            .split_once('$')
            .ok_or(bad("expected <iterations>:<salt>$<StoredKey>:<ServerKey>"))?;
        let (iter, salt) = iter_salt
            .split_once(':')
            .ok_or(bad("expected <iterations>:<salt>"))?;
        let (stored, server) = keys
            .split_once(':')
            .ok_or(bad("expected <StoredKey>:<ServerKey>"))?;
        let iterations: u32 = iter.parse().map_err(|_| bad("iteration count"))?;
        if iterations == 0 {
            return Err(bad("iteration count must be positive"));
        }
        let salt = B64.decode(salt).map_err(|_| bad("salt is not base64"))?;
        let key = |k: &str| -> Result<[u8; 32], ScramError> {
            B64.decode(k)
                .ok()
                .and_then(|v| v.try_into().ok())
                .ok_or(bad("keys must be 32 bytes of base64"))
        };
        Ok(Verifier {
            iterations,
            salt,
            stored_key: key(stored)?,
            server_key: key(server)?,
        })
    }

    /// Makes a verifier for `secret` (what `actgate secret` prints).
    pub fn generate(secret: &str) -> String {
        postgres_protocol::password::scram_sha_256(secret.as_bytes())
    }

    /// A plausible verifier for an unknown agent: stable per name, derived
    /// from a per-process key so it reveals nothing.
    pub fn mock(name: &str, mock_key: &[u8; 32]) -> Verifier {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(mock_key).expect("any key length");
        mac.update(name.as_bytes());
        let digest = mac.finalize().into_bytes();
        Verifier {
            iterations: 4096,
            salt: digest[..16].to_vec(),
            stored_key: [0; 32],
            server_key: [0; 32],
        }
    }
}

/// State after the client-first message.
pub struct ScramExchange {
    verifier: Verifier,
    client_first_bare: String,
    server_first: String,
    gs2_header: String,
    nonce: String,
    /// Fail the exchange at the end regardless of the proof (unknown agent).
    doomed: bool,
}

impl ScramExchange {
    /// Handles SASLInitialResponse (mechanism name + client-first-message)
    /// and returns the server-first-message to send.
    pub fn start(
        verifier: Verifier,
        doomed: bool,
        mechanism: &str,
        client_first: &[u8],
        server_nonce: &str,
    ) -> Result<(ScramExchange, String), ScramError> {
        if mechanism != MECHANISM {
            return Err(ScramError::UnsupportedMechanism(mechanism.into()));
        }
        let client_first = std::str::from_utf8(client_first)
            .map_err(|_| ScramError::Malformed("client-first-message is not UTF-8"))?;
        // gs2-header: "n,," (no binding) or "y,," (client supports it, we
        // did not offer it); "p=" would ask for binding we never offered.
        let (gs2_header, bare) = match client_first.as_bytes().first() {
            Some(b'n') | Some(b'y') => {
                let mut parts = client_first.splitn(3, ',');
                let flag = parts.next().unwrap_or_default();
                let authzid = parts.next().ok_or(ScramError::Malformed("gs2 header"))?;
                let bare = parts.next().ok_or(ScramError::Malformed("gs2 header"))?;
                if flag.len() != 1 || !authzid.is_empty() {
                    return Err(ScramError::Malformed("gs2 header"));
                }
                (format!("{flag},,"), bare)
            }
            _ => return Err(ScramError::Malformed("channel binding not offered")),
        };
        let mut cnonce = None;
        for attr in bare.split(',') {
            if let Some(v) = attr.strip_prefix("r=") {
                cnonce = Some(v);
            } else if attr.starts_with("m=") {
                return Err(ScramError::Malformed("mandatory extension"));
            }
        }
        let cnonce = cnonce.ok_or(ScramError::Malformed("missing client nonce"))?;
        if cnonce.is_empty()
            || !cnonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(ScramError::Malformed("invalid client nonce"));
        }
        let nonce = format!("{cnonce}{server_nonce}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            ScramExchange {
                verifier,
                client_first_bare: bare.to_owned(),
                server_first: server_first.clone(),
                gs2_header,
                nonce,
                doomed,
            },
            server_first,
        ))
    }

    /// Handles the client-final-message; on success returns the
    /// server-final-message (`v=…`).
    pub fn finish(self, client_final: &[u8]) -> Result<String, ScramError> {
        let client_final = std::str::from_utf8(client_final)
            .map_err(|_| ScramError::Malformed("client-final-message is not UTF-8"))?;
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("missing proof"))?;
        let mut channel = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            if let Some(v) = attr.strip_prefix("c=") {
                channel = Some(v);
            } else if let Some(v) = attr.strip_prefix("r=") {
                nonce = Some(v);
            }
        }
        let expected_channel = B64.encode(self.gs2_header.as_bytes());
        if channel != Some(expected_channel.as_str()) {
            return Err(ScramError::Malformed("channel binding data does not match"));
        }
        if nonce != Some(self.nonce.as_str()) {
            return Err(ScramError::Malformed("nonce does not match"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("proof is not base64"))?;
        if proof.len() != 32 {
            return Err(ScramError::Malformed("proof has the wrong length"));
        }
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let client_signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature.iter())
            .map(|(p, s)| p ^ s)
            .collect();
        let computed: [u8; 32] = Sha256::digest(&client_key).into();
        let matches: bool = computed.ct_eq(&self.verifier.stored_key).into();
        if !matches || self.doomed {
            return Err(ScramError::WrongProof);
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Parses SASLInitialResponse: mechanism, then Int32 length and data.
pub fn parse_initial_response(body: &[u8]) -> Result<(&str, &[u8]), ScramError> {
    let end = body
        .iter()
        .position(|&b| b == 0)
        .ok_or(ScramError::Malformed("SASLInitialResponse mechanism"))?;
    let mechanism = std::str::from_utf8(&body[..end])
        .map_err(|_| ScramError::Malformed("SASLInitialResponse mechanism"))?;
    let rest = &body[end + 1..];
    if rest.len() < 4 {
        return Err(ScramError::Malformed("SASLInitialResponse length"));
    }
    let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let data = &rest[4..];
    if len < 0 || len as usize != data.len() {
        return Err(ScramError::Malformed("SASLInitialResponse length"));
    }
    Ok((mechanism, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};

    fn run(secret_stored: &str, secret_sent: &str, doomed: bool) -> Result<(), ScramError> {
        let verifier = Verifier::parse(&Verifier::generate(secret_stored)).unwrap();
        let mut client = ScramSha256::new(secret_sent.as_bytes(), ChannelBinding::unsupported());
        let (ex, server_first) = ScramExchange::start(
            verifier,
            doomed,
            MECHANISM,
            client.message(),
            "servernonce123",
        )?;
        client.update(server_first.as_bytes()).unwrap();
        let server_final = ex.finish(client.message())?;
        client
            .finish(server_final.as_bytes())
            .map_err(|_| ScramError::WrongProof)
    }

    #[test]
    fn right_secret_authenticates_both_ways() {
        assert_eq!(run("s3cret", "s3cret", false), Ok(()));
    }

    #[test]
    fn wrong_secret_is_refused() {
        assert_eq!(run("s3cret", "guess", false), Err(ScramError::WrongProof));
    }

    #[test]
    fn doomed_exchange_fails_even_with_the_right_secret() {
        assert_eq!(run("s3cret", "s3cret", true), Err(ScramError::WrongProof));
    }

    #[test]
    fn verifier_parse_rejects_garbage() {
        assert!(Verifier::parse("md5abc").is_err());
        assert!(Verifier::parse("SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB").is_err());
    }

    #[test]
    fn mock_verifier_is_stable_per_name() {
        let key = [7u8; 32];
        assert_eq!(
            Verifier::mock("a", &key).salt,
            Verifier::mock("a", &key).salt
        );
        assert_ne!(
            Verifier::mock("a", &key).salt,
            Verifier::mock("b", &key).salt
        );
    }

    #[test]
    fn channel_binding_request_is_refused() {
        let v = Verifier::parse(&Verifier::generate("x")).unwrap();
        assert!(
            ScramExchange::start(
                v,
                false,
                MECHANISM,
                b"p=tls-server-end-point,,n=,r=abc",
                "s"
            )
            .is_err()
        );
    }
}
