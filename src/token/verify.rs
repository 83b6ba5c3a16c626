//! Checking a presented token ([`verify`]) and each access it is used for
//! ([`VerifiedToken::authorize`]).

use super::{
    MAX_CLOCK_SKEW, PublicKeys, RevocationList, TokenError, authorizer_limits, date_term, decode,
    describe, format_time, hex,
};
use biscuit_auth::builder::{boolean, fact, string};
use biscuit_auth::error::{FailedCheck, Format, Logic, Token};
use biscuit_auth::{Authorizer, AuthorizerBuilder, Biscuit, UnverifiedBiscuit};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// What a verified token says about its holder.
#[derive(Debug, Clone)]
pub struct Claims {
    pub token_id: String,
    pub agent: String,
    pub subject: String,
    pub tenant: Option<String>,
    pub custom: BTreeMap<String, String>,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// One entry per appended block: its contents (checks) as Datalog source.
    pub chain: Vec<String>,
    /// Every block's revocation identifier (hex), the authority block first.
    pub revocation_ids: Vec<String>,
}

impl Claims {
    /// `{{claims.NAME}}` lookup: `subject`, `tenant`, `agent`, `token_id`,
    /// then custom claims by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        match name {
            "subject" => Some(&self.subject),
            "tenant" => self.tenant.as_deref(),
            "agent" => Some(&self.agent),
            "token_id" => Some(&self.token_id),
            _ => self.custom.get(name).map(String::as_str),
        }
    }
}

/// A token whose signature chain checked out against a trusted key.
#[derive(Clone)]
pub struct VerifiedToken {
    pub claims: Claims,
    biscuit: Biscuit,
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("claims", &self.claims)
            .field("blocks", &self.biscuit.block_count())
            .finish()
    }
}

/// Authorizer rules copying the authority block's facts into two
/// predicates, so claims come out in three queries. Authorizer rules only
/// trust the authority block, so appended blocks cannot forge claims.
const CLAIM_RULES: &str = r#"
actgate_str("token_id", $v) <- token_id($v);
actgate_str("agent", $v) <- agent($v);
actgate_str("subject", $v) <- subject($v);
actgate_str("tenant", $v) <- tenant($v);
actgate_date("issued_at", $v) <- issued_at($v);
actgate_date("expires_at", $v) <- expires_at($v);
actgate_date("not_before", $v) <- not_before($v);
"#;

fn limit_or_malformed(context: &str) -> impl Fn(Token) -> TokenError + '_ {
    move |e| match e {
        Token::RunLimit(limit) => TokenError::Denied {
            reason: format!("{context}: datalog limits exceeded: {limit}"),
        },
        other => TokenError::Malformed(format!("{context}: {}", describe(&other))),
    }
}

fn single<T: Clone>(name: &str, values: Vec<&T>) -> Result<Option<T>, TokenError> {
    match values.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        more => Err(TokenError::Malformed(format!(
            "the authority block has {} {name} facts",
            more.len()
        ))),
    }
}

fn required<T>(name: &str, value: Option<T>) -> Result<T, TokenError> {
    value.ok_or_else(|| TokenError::MissingClaim(name.to_owned()))
}

/// Claims from the authority block of a verified token.
fn extract_claims(biscuit: &Biscuit) -> Result<(Claims, Option<SystemTime>), TokenError> {
    let context = "reading the token's claims";
    let mut authorizer = AuthorizerBuilder::new()
        .set_limits(authorizer_limits())
        .code(CLAIM_RULES)
        .and_then(|b| b.build(biscuit))
        .map_err(limit_or_malformed(context))?;
    let strings: Vec<(String, String)> = authorizer
        .query("data($k, $v) <- actgate_str($k, $v)")
        .map_err(limit_or_malformed(context))?;
    let dates: Vec<(String, SystemTime)> = authorizer
        .query("data($k, $v) <- actgate_date($k, $v)")
        .map_err(limit_or_malformed(context))?;
    let custom: Vec<(String, String)> = authorizer
        .query("data($n, $v) <- claim($n, $v)")
        .map_err(limit_or_malformed(context))?;

    let string = |name: &str| {
        single(
            name,
            strings
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v)
                .collect(),
        )
    };
    let date = |name: &str| {
        single(
            name,
            dates
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v)
                .collect(),
        )
    };
    let mut custom_map = BTreeMap::new();
    for (name, value) in custom {
        if custom_map.insert(name.clone(), value).is_some() {
            return Err(TokenError::Malformed(format!(
                "the authority block has several values for claim {name:?}"
            )));
        }
    }

    let mut chain = Vec::new();
    for i in 1..biscuit.block_count() {
        chain.push(
            biscuit
                .print_block_source(i)
                .map_err(limit_or_malformed("printing a block"))?,
        );
    }
    let claims = Claims {
        token_id: required("token_id", string("token_id")?)?,
        agent: required("agent", string("agent")?)?,
        subject: required("subject", string("subject")?)?,
        tenant: string("tenant")?,
        custom: custom_map,
        issued_at: required("issued_at", date("issued_at")?)?,
        expires_at: required("expires_at", date("expires_at")?)?,
        chain,
        revocation_ids: biscuit
            .revocation_identifiers()
            .iter()
            .map(|id| hex(id))
            .collect(),
    };
    Ok((claims, date("not_before")?))
}

/// Size first (before decoding), then the signature chain against the
/// keys that may sign for `expected_agent` (a token that only another key
/// verifies is [`TokenError::KeyNotAllowed`]), then the authority facts:
/// the agent must equal
/// `expected_agent`, `issued_at` must not lie more than [`MAX_CLOCK_SKEW`]
/// in the future and `not_before` (if any) not in the future
/// (NotYetValid), and `now < expires_at` (Expired).
pub fn verify(
    token: &str,
    keys: &PublicKeys,
    expected_agent: &str,
    now: SystemTime,
) -> Result<VerifiedToken, TokenError> {
    let bytes = decode(token)?;
    let unverified = UnverifiedBiscuit::from(&bytes).map_err(|e| match e {
        Token::Format(Format::Signature(s)) => TokenError::Signature(s.to_string()),
        other => TokenError::Malformed(describe(&other)),
    })?;
    if keys.is_empty() {
        return Err(TokenError::Signature(
            "no verification keys are configured".into(),
        ));
    }
    let mut last_error = None;
    let mut verified = None;
    let mut candidates = 0;
    for key in keys.signing_for(expected_agent, true) {
        candidates += 1;
        match unverified.clone().verify(*key) {
            Ok(biscuit) => {
                verified = Some(biscuit);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let Some(biscuit) = verified else {
        // Each key is tried once: those bound to other agents only now,
        // to tell a misdirected key from a forgery.
        if keys
            .signing_for(expected_agent, false)
            .any(|key| unverified.clone().verify(*key).is_ok())
        {
            return Err(TokenError::KeyNotAllowed {
                agent: expected_agent.to_owned(),
            });
        }
        let detail = last_error
            .map(|e| format!(": {}", describe(&biscuit_auth::error::Token::Format(e))))
            .unwrap_or_default();
        return Err(TokenError::Signature(format!(
            "no trusted key verifies the token ({candidates} of {} configured may sign for agent {expected_agent:?}){detail}",
            keys.len()
        )));
    };

    let (claims, not_before) = extract_claims(&biscuit)?;
    if claims.agent != expected_agent {
        return Err(TokenError::WrongAgent {
            expected: expected_agent.to_owned(),
            found: claims.agent,
        });
    }
    if now
        .checked_add(MAX_CLOCK_SKEW)
        .is_some_and(|latest| claims.issued_at > latest)
    {
        return Err(TokenError::NotYetValid {
            issued_at: format_time(claims.issued_at),
        });
    }
    if let Some(not_before) = not_before
        && not_before > now
    {
        return Err(TokenError::NotYetValid {
            issued_at: format_time(not_before),
        });
    }
    if now >= claims.expires_at {
        return Err(TokenError::Expired {
            expires_at: format_time(claims.expires_at),
        });
    }
    Ok(VerifiedToken { claims, biscuit })
}

fn describe_checks(checks: &[FailedCheck]) -> String {
    let parts: Vec<String> = checks
        .iter()
        .map(|c| match c {
            FailedCheck::Block(b) if b.block_id == 0 => {
                format!("authority check failed: {}", b.rule)
            }
            FailedCheck::Block(b) => {
                format!("check in block {} failed: {}", b.block_id, b.rule)
            }
            FailedCheck::Authorizer(a) => format!("gateway check failed: {}", a.rule),
        })
        .collect();
    if parts.is_empty() {
        "no policy matched".into()
    } else {
        parts.join("; ")
    }
}

fn denial(e: Token) -> TokenError {
    let reason = match e {
        Token::FailedLogic(Logic::Unauthorized { checks, .. })
        | Token::FailedLogic(Logic::NoMatchingPolicy { checks }) => describe_checks(&checks),
        Token::RunLimit(limit) => format!("datalog limits exceeded: {limit}"),
        other => format!("evaluation failed: {other}"),
    };
    TokenError::Denied { reason }
}

impl VerifiedToken {
    /// Runs the token's checks (authority and every appended block) for one
    /// access. Facts provided: `table($t)` (schema-qualified, e.g.
    /// `"public.orders"`) or, for a statement touching no table,
    /// `no_table(true)`; `operation($op)` (see [`super::OPERATIONS`]);
    /// `time($now)`. Evaluation runs under [`authorizer_limits`].
    /// `now >= expires_at` gives Expired before anything else runs.
    pub fn authorize(
        &self,
        table: Option<&str>,
        operation: &str,
        now: SystemTime,
    ) -> Result<(), TokenError> {
        if now >= self.claims.expires_at {
            return Err(TokenError::Expired {
                expires_at: format_time(self.claims.expires_at),
            });
        }
        let time = date_term(now, "now").map_err(|e| TokenError::Denied {
            reason: e.to_string(),
        })?;
        let access = match table {
            Some(t) => fact("table", &[string(t)]),
            None => fact("no_table", &[boolean(true)]),
        };
        let mut authorizer = AuthorizerBuilder::new()
            .set_limits(authorizer_limits())
            .fact(access)
            .and_then(|b| b.fact(fact("operation", &[string(operation)])))
            .and_then(|b| b.fact(fact("time", &[time])))
            .and_then(|b| b.policy("allow if true"))
            .and_then(|b| b.build(&self.biscuit))
            .map_err(denial)?;
        authorizer.authorize().map(|_| ()).map_err(denial)
    }

    /// True if the token id or any block's revocation id is in the list.
    pub fn is_revoked(&self, list: &RevocationList) -> bool {
        list.contains(&self.claims.token_id)
            || self
                .claims
                .revocation_ids
                .iter()
                .any(|id| list.contains(id))
    }

    /// [`TokenError::Revoked`] (with the matching id) if the list revokes
    /// this token.
    pub fn ensure_not_revoked(&self, list: &RevocationList) -> Result<(), TokenError> {
        match self.revoked_by(list) {
            Some(id) => Err(TokenError::Revoked { id: id.to_owned() }),
            None => Ok(()),
        }
    }

    /// The first listed id (token id or block revocation id) that revokes
    /// this token.
    pub fn revoked_by(&self, list: &RevocationList) -> Option<&str> {
        std::iter::once(&self.claims.token_id)
            .chain(self.claims.revocation_ids.iter())
            .find(|id| list.contains(id))
            .map(String::as_str)
    }

    /// The verified Biscuit.
    pub fn biscuit(&self) -> &Biscuit {
        &self.biscuit
    }

    /// A ready authorizer over the whole token without any policy, for
    /// callers that want to run their own Datalog queries; it has
    /// [`authorizer_limits`].
    pub fn authorizer(&self) -> Result<Authorizer, TokenError> {
        AuthorizerBuilder::new()
            .set_limits(authorizer_limits())
            .build(&self.biscuit)
            .map_err(denial)
    }
}

#[cfg(test)]
mod tests;
