//! Signed agent tokens (Biscuit, Ed25519): mint, attenuate, inspect, verify,
//! authorize, revoke. Pure and synchronous; files are only touched by the
//! key and revocation-list helpers.
//!
//! A token's authority block, signed with the operator's private key, holds
//! the facts `token_id("…")`, `agent("…")`, `subject("…")`, an optional
//! `tenant("…")`, `claim("name", "value")` per custom claim,
//! `issued_at(<date>)`, `expires_at(<date>)` (and `not_before(<date>)` when
//! given) plus the check `check if time($t), $t < <expires_at>`. Whoever
//! holds a token can append blocks of checks without any key
//! ([`attenuate`]); such blocks can only narrow what the token allows, and
//! [`VerifiedToken::authorize`] runs every check of every block.
//!
//! Tokens travel as unpadded base64url (they fit in the password field of a
//! connection string); padded input is accepted too.
//!
//! Layout:
//! - this file: errors, limits, encoding helpers.
//! - `mint`: [`mint`], [`attenuate`], [`inspect`].
//! - `verify`: [`verify`], [`Claims`], [`VerifiedToken::authorize`].
//! - `keys`: [`keygen`], [`load_private_key`], [`PublicKeys`] and the
//!   agents each key may sign for ([`KeyBinding`], [`AgentPattern`]).
//! - `revocation`: [`RevocationList`], [`revoke`].
//! - `duration`: [`parse_duration`] for `15m`, `30s`, `2h`, `1d`.

mod duration;
mod keys;
mod mint;
mod revocation;
mod verify;

pub use duration::{DurationError, parse_duration};
pub use keys::{AgentPattern, KeyBinding, PublicKeys, keygen, load_private_key};
pub use mint::{Attenuation, MintRequest, attenuate, connection_string, inspect, mint};
pub use revocation::{RevocationList, revoke};
pub use verify::{Claims, VerifiedToken, verify};

pub use biscuit_auth::{KeyPair, PublicKey};

use crate::hex::encode as hex;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use biscuit_auth::AuthorizerLimits;
use biscuit_auth::builder::Term;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest accepted token, in bytes of its base64 text. Checked before
/// anything is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// How far in the future a token's `issued_at` may lie (clock skew between
/// the minting host and the gateway).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The operations [`VerifiedToken::authorize`] is asked about and
/// [`attenuate`] accepts.
pub const OPERATIONS: [&str; 7] = [
    "select", "insert", "update", "delete", "truncate", "ddl", "lock",
];

/// Claim names that [`Claims::get`] answers from the token's own facts; a
/// custom claim cannot use them.
pub const RESERVED_CLAIMS: [&str; 4] = ["agent", "subject", "tenant", "token_id"];

/// Datalog limits for every evaluation of a token (claims extraction and
/// authorization). A token whose rules exceed them is refused.
pub fn authorizer_limits() -> AuthorizerLimits {
    AuthorizerLimits {
        max_facts: 1000,
        max_iterations: 100,
        // Facts and iterations bound the work; the wall-clock limit only
        // backstops them and must not fail honest tokens on a loaded
        // machine (a token evaluates in ~15 µs, ~120 µs unoptimised).
        max_time: Duration::from_millis(50),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is too large: {length} bytes (limit {limit})")]
    TooLarge { length: usize, limit: usize },
    #[error("malformed token: {0}")]
    Malformed(String),
    /// A bad argument to [`mint`], [`attenuate`] or [`revoke`] (never
    /// returned by [`verify`] or [`VerifiedToken::authorize`]).
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("invalid token signature: {0}")]
    Signature(String),
    #[error("token expired at {expires_at}")]
    Expired { expires_at: String },
    #[error("token is not valid before {issued_at}")]
    NotYetValid { issued_at: String },
    #[error("token was issued for agent {found:?}, not {expected:?}")]
    WrongAgent { expected: String, found: String },
    /// The signature is good, but no key that verifies it may sign
    /// tokens for the agent (`[[tokens.keys]]`).
    #[error("token is signed by a key that may not sign tokens for agent {agent:?}")]
    KeyNotAllowed { agent: String },
    #[error("token has no {0} claim")]
    MissingClaim(String),
    #[error("token is revoked (id {id})")]
    Revoked { id: String },
    #[error("token denies this access: {reason}")]
    Denied { reason: String },
    #[error("key error: {0}")]
    Key(String),
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Unpadded base64url out; padded or unpadded base64url in.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn check_size(token: &str) -> Result<(), TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge {
            length: token.len(),
            limit: MAX_TOKEN_BYTES,
        });
    }
    Ok(())
}

/// Size check, then base64url decoding.
fn decode(token: &str) -> Result<Vec<u8>, TokenError> {
    check_size(token)?;
    if token.is_empty() {
        return Err(TokenError::Malformed("the token is empty".into()));
    }
    B64.decode(token)
        .map_err(|e| TokenError::Malformed(format!("bad base64url: {e}")))
}

/// Encodes and enforces [`MAX_TOKEN_BYTES`] on tokens we produce.
fn encode(bytes: &[u8]) -> Result<String, TokenError> {
    let token = B64.encode(bytes);
    check_size(&token)?;
    Ok(token)
}

/// Seconds since the epoch (floored); times before the epoch are refused
/// instead of panicking inside biscuit.
fn epoch_secs(t: SystemTime, what: &str) -> Result<u64, TokenError> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| TokenError::Invalid(format!("{what} lies before 1970")))
}

fn date_term(t: SystemTime, what: &str) -> Result<Term, TokenError> {
    epoch_secs(t, what).map(Term::Date)
}

/// RFC 3339 (UTC) rendering of a time, as Datalog prints dates.
pub fn format_time(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Term::Date(d.as_secs()).to_string(),
        Err(_) => "<before 1970>".into(),
    }
}

/// A biscuit error with the detail its `Display` leaves out.
fn describe(e: &biscuit_auth::error::Token) -> String {
    use biscuit_auth::error::{Format, Token};
    match e {
        Token::Format(f) => match f {
            Format::DeserializationError(s)
            | Format::BlockDeserializationError(s)
            | Format::SignatureDeserializationError(s)
            | Format::BlockSignatureDeserializationError(s)
            | Format::InvalidKey(s) => format!("{f} ({s})"),
            Format::Signature(s) => format!("{f}: {s}"),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

fn add_time(t: SystemTime, d: Duration, what: &str) -> Result<SystemTime, TokenError> {
    t.checked_add(d)
        .ok_or_else(|| TokenError::Invalid(format!("{what} overflows")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_accepts_padding() {
        let bytes = b"\xfb\xff\x00ab";
        let text = encode(bytes).unwrap();
        assert_eq!(text, "-_8AYWI");
        assert_eq!(decode(&text).unwrap(), bytes);
        assert_eq!(decode("-_8AYWI=").unwrap(), bytes);
        assert!(matches!(decode("a+b/"), Err(TokenError::Malformed(_))));
        assert!(matches!(decode(""), Err(TokenError::Malformed(_))));
    }

    #[test]
    fn size_is_checked_before_decoding() {
        // Not base64 at all: only the size check can have rejected it.
        let junk = "!".repeat(MAX_TOKEN_BYTES + 1);
        match decode(&junk) {
            Err(TokenError::TooLarge { length, limit }) => {
                assert_eq!(length, MAX_TOKEN_BYTES + 1);
                assert_eq!(limit, MAX_TOKEN_BYTES);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn times_format_as_rfc3339() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(format_time(t), "2023-11-14T22:13:20Z");
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert!(epoch_secs(UNIX_EPOCH - Duration::from_secs(1), "now").is_err());
    }
}
