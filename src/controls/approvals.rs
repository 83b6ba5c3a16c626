//! Human approvals: statements held until an operator approves them.
//!
//! A held statement is identified by a key over what must be identical for
//! an approval to apply: the agent, the end user, the statement text and
//! its parameters. Nothing waits: the statement is refused with the
//! request's id, the operator decides later, and the agent sends the same
//! statement again. An approval is used once, within its TTL.
//!
//! [`ApprovalStore`] is the interface a shared store can implement so
//! several replicas honour one approval; one instance uses
//! [`MemoryApprovals`].

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// Requests kept at most (waiting, decided or used, until they expire).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// Requests one agent acting for one end user may have waiting at once, so
/// that a looping agent cannot crowd out everyone else's.
pub const MAX_PENDING_PER_REQUESTER: usize = 100;

/// What must be identical for an approval to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ApprovalKey([u8; 32]);

impl ApprovalKey {
    /// The digest, as a shared store keeps it.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key a shared store kept (any other length than 32 bytes is padded
    /// or cut, and then matches nothing a statement hashes to).
    pub fn from_bytes(bytes: &[u8]) -> ApprovalKey {
        let mut key = [0u8; 32];
        let n = bytes.len().min(32);
        key[..n].copy_from_slice(&bytes[..n]);
        ApprovalKey(key)
    }

    /// `params` are the bound parameters as sent (format code and bytes;
    /// `None` for NULL).
    pub fn new(
        agent: &str,
        subject: Option<&str>,
        sql: &str,
        params: &[(i16, Option<&[u8]>)],
    ) -> ApprovalKey {
        let mut h = Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_be_bytes());
            h.update(b);
        };
        field(agent.as_bytes());
        match subject {
            Some(s) => {
                field(b"s");
                field(s.as_bytes());
            }
            None => field(b"-"),
        }
        field(sql.as_bytes());
        for (format, value) in params {
            field(&format.to_be_bytes());
            match value {
                Some(v) => {
                    field(b"v");
                    field(v);
                }
                None => field(b"null"),
            }
        }
        ApprovalKey(h.finalize().into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    /// Approved and used by the statement it was for.
    Used,
}

impl ApprovalState {
    pub fn name(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Used => "used",
        }
    }
}

/// One request, as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    pub id: String,
    pub agent: String,
    pub subject: Option<String>,
    /// The rule that held it (`approvals.large_refunds`).
    pub rule: String,
    pub sql: String,
    /// The bound parameters, as text where actgate can decode them.
    pub params: Vec<Option<String>>,
    pub state: ApprovalState,
    pub requested_at: Timestamp,
    /// A pending request lapses, and an approval stops being usable, then.
    pub expires_at: Timestamp,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    #[serde(skip)]
    pub key: ApprovalKey,
    #[serde(skip)]
    pub ttl: SignedDuration,
}

/// A statement to hold, before it has an id.
#[derive(Debug, Clone)]
pub struct ApprovalRequest {
    pub key: ApprovalKey,
    pub agent: String,
    pub subject: Option<String>,
    pub rule: String,
    pub sql: String,
    pub params: Vec<Option<String>>,
    pub ttl: SignedDuration,
}

/// What a held statement gets.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// An approval for exactly this statement was used up: it runs.
    Approved(Approval),
    /// A new request was made.
    Requested(Approval),
    /// The same statement is already waiting.
    Pending(Approval),
    /// An operator rejected the same statement.
    Rejected(Approval),
    /// Too many requests are kept; nothing was recorded.
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("no approval request {0:?} (it may have expired)")]
    NotFound(String),
    #[error("approval request {id} is already {state}")]
    AlreadyDecided { id: String, state: &'static str },
    #[error("the shared state store cannot be reached: {0}")]
    Unavailable(String),
}

/// A store's answer, ready at once in memory, a round trip for a shared
/// store (which may not be reachable).
pub type ApprovalFuture<'a, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, super::StateUnavailable>> + Send + 'a>,
>;

/// Where approval requests live: [`MemoryApprovals`] for one instance, a
/// store in PostgreSQL (`crate::state`) for replicas sharing them.
pub trait ApprovalStore: Send + Sync {
    /// Looks up a held statement: uses an approval (once, across every
    /// user of the store), reports a waiting or rejected request, or
    /// records a new one.
    fn gate(&self, request: ApprovalRequest, now: Timestamp) -> ApprovalFuture<'_, Gate>;
    /// An operator's decision on a pending request.
    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: Timestamp,
    ) -> ApprovalFuture<'a, Result<Approval, ApprovalError>>;
    /// Every request not yet expired, oldest first (a shared store answers
    /// from what it last read, at most a second old).
    fn list(&self, now: Timestamp) -> Vec<Approval>;
}

/// Requests in memory, for one instance.
#[derive(Debug)]
pub struct MemoryApprovals {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, Approval>,
    /// The live request for each key.
    by_key: HashMap<ApprovalKey, String>,
}

impl Inner {
    fn sweep(&mut self, now: Timestamp) {
        self.by_id.retain(|_, a| a.expires_at > now);
        let by_id = &self.by_id;
        self.by_key.retain(|_, id| by_id.contains_key(id));
    }
}

impl MemoryApprovals {
    pub fn new(capacity: usize) -> MemoryApprovals {
        MemoryApprovals {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryApprovals {
    fn default() -> Self {
        MemoryApprovals::new(DEFAULT_CAPACITY)
    }
}

/// A new request id: `apr-` and 16 hex digits.
pub fn new_id() -> String {
    format!("apr-{}", crate::hex::random::<8>())
}

impl ApprovalStore for MemoryApprovals {
    fn gate(&self, request: ApprovalRequest, now: Timestamp) -> ApprovalFuture<'_, Gate> {
        let gate = MemoryApprovals::gate(self, request, now);
        Box::pin(std::future::ready(Ok(gate)))
    }

    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: Timestamp,
    ) -> ApprovalFuture<'a, Result<Approval, ApprovalError>> {
        let decided = MemoryApprovals::decide(self, id, approve, by, now);
        Box::pin(std::future::ready(Ok(decided)))
    }

    fn list(&self, now: Timestamp) -> Vec<Approval> {
        MemoryApprovals::list(self, now)
    }
}

impl MemoryApprovals {
    /// See [`ApprovalStore::gate`].
    pub fn gate(&self, request: ApprovalRequest, now: Timestamp) -> Gate {
        let mut inner = self.lock();
        inner.sweep(now);
        if let Some(id) = inner.by_key.get(&request.key).cloned()
            && let Some(a) = inner.by_id.get_mut(&id)
        {
            match a.state {
                ApprovalState::Approved => {
                    a.state = ApprovalState::Used;
                    let used = a.clone();
                    inner.by_key.remove(&request.key);
                    return Gate::Approved(used);
                }
                ApprovalState::Pending => return Gate::Pending(a.clone()),
                ApprovalState::Rejected => return Gate::Rejected(a.clone()),
                ApprovalState::Used => {
                    inner.by_key.remove(&request.key);
                }
            }
        }
        if inner.by_id.len() >= self.capacity {
            return Gate::Full;
        }
        let waiting = inner
            .by_id
            .values()
            .filter(|a| {
                a.state == ApprovalState::Pending
                    && a.agent == request.agent
                    && a.subject == request.subject
            })
            .count();
        if waiting >= MAX_PENDING_PER_REQUESTER {
            return Gate::Full;
        }
        let approval = Approval {
            id: new_id(),
            agent: request.agent,
            subject: request.subject,
            rule: request.rule,
            sql: request.sql,
            params: request.params,
            state: ApprovalState::Pending,
            requested_at: now,
            expires_at: now.saturating_add(request.ttl).unwrap_or(now),
            decided_by: None,
            decided_at: None,
            key: request.key,
            ttl: request.ttl,
        };
        inner.by_key.insert(request.key, approval.id.clone());
        inner.by_id.insert(approval.id.clone(), approval.clone());
        Gate::Requested(approval)
    }

    /// See [`ApprovalStore::decide`].
    pub fn decide(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        now: Timestamp,
    ) -> Result<Approval, ApprovalError> {
        let mut inner = self.lock();
        inner.sweep(now);
        let a = inner
            .by_id
            .get_mut(id)
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        if a.state != ApprovalState::Pending {
            return Err(ApprovalError::AlreadyDecided {
                id: id.to_owned(),
                state: a.state.name(),
            });
        }
        a.state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Rejected
        };
        a.decided_by = Some(by.to_owned());
        a.decided_at = Some(now);
        if approve {
            // The agent gets the whole TTL from the approval on.
            a.expires_at = now.saturating_add(a.ttl).unwrap_or(now);
        }
        Ok(a.clone())
    }

    /// See [`ApprovalStore::list`].
    pub fn list(&self, now: Timestamp) -> Vec<Approval> {
        let mut inner = self.lock();
        inner.sweep(now);
        let mut all: Vec<Approval> = inner.by_id.values().cloned().collect();
        all.sort_by(|a, b| (a.requested_at, &a.id).cmp(&(b.requested_at, &b.id)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn request(sql: &str, amount: &[u8]) -> ApprovalRequest {
        ApprovalRequest {
            key: ApprovalKey::new("bot", Some("c-42"), sql, &[(0, Some(amount))]),
            agent: "bot".into(),
            subject: Some("c-42".into()),
            rule: "approvals.big".into(),
            sql: sql.into(),
            params: vec![Some(String::from_utf8_lossy(amount).into_owned())],
            ttl: SignedDuration::from_secs(60),
        }
    }

    const SQL: &str = "INSERT INTO refunds (amount_cents) VALUES ($1)";

    #[test]
    fn approved_statement_passes_once() {
        let store = MemoryApprovals::default();
        let Gate::Requested(a) = store.gate(request(SQL, b"30000"), t(0)) else {
            panic!("expected a new request");
        };
        assert!(a.id.starts_with("apr-") && a.id.len() == 20);
        assert!(
            matches!(store.gate(request(SQL, b"30000"), t(1)), Gate::Pending(p) if p.id == a.id)
        );
        let decided = store.decide(&a.id, true, "ops", t(2)).unwrap();
        assert_eq!(decided.state, ApprovalState::Approved);
        assert_eq!(decided.expires_at, t(62));
        assert!(
            matches!(store.gate(request(SQL, b"30000"), t(3)), Gate::Approved(u) if u.id == a.id)
        );
        // Used once: the next identical statement is a new request.
        assert!(
            matches!(store.gate(request(SQL, b"30000"), t(4)), Gate::Requested(n) if n.id != a.id)
        );
    }

    #[test]
    fn other_parameters_subject_or_text_do_not_match() {
        let store = MemoryApprovals::default();
        let Gate::Requested(a) = store.gate(request(SQL, b"30000"), t(0)) else {
            panic!()
        };
        store.decide(&a.id, true, "ops", t(1)).unwrap();
        assert!(matches!(
            store.gate(request(SQL, b"30001"), t(2)),
            Gate::Requested(_)
        ));
        let mut other = request(SQL, b"30000");
        other.key = ApprovalKey::new("bot", Some("c-43"), SQL, &[(0, Some(b"30000"))]);
        assert!(matches!(store.gate(other, t(2)), Gate::Requested(_)));
        let text = format!("{SQL} ");
        assert!(matches!(
            store.gate(request(&text, b"30000"), t(2)),
            Gate::Requested(_)
        ));
        assert!(matches!(
            store.gate(request(SQL, b"30000"), t(3)),
            Gate::Approved(_)
        ));
    }

    #[test]
    fn requests_and_approvals_expire() {
        let store = MemoryApprovals::default();
        let Gate::Requested(a) = store.gate(request(SQL, b"1"), t(0)) else {
            panic!()
        };
        assert_eq!(
            store.decide(&a.id, true, "ops", t(60)),
            Err(ApprovalError::NotFound(a.id.clone()))
        );
        let Gate::Requested(b) = store.gate(request(SQL, b"1"), t(61)) else {
            panic!()
        };
        store.decide(&b.id, true, "ops", t(70)).unwrap();
        assert!(matches!(
            store.gate(request(SQL, b"1"), t(130)),
            Gate::Requested(_)
        ));
        assert_eq!(store.list(t(130)).len(), 1);
    }

    #[test]
    fn rejected_stays_rejected_and_decisions_are_final() {
        let store = MemoryApprovals::default();
        let Gate::Requested(a) = store.gate(request(SQL, b"1"), t(0)) else {
            panic!()
        };
        store.decide(&a.id, false, "ops", t(1)).unwrap();
        assert!(matches!(
            store.gate(request(SQL, b"1"), t(2)),
            Gate::Rejected(_)
        ));
        assert_eq!(
            store.decide(&a.id, true, "ops", t(3)),
            Err(ApprovalError::AlreadyDecided {
                id: a.id.clone(),
                state: "rejected"
            })
        );
    }

    #[test]
    fn the_store_is_bounded() {
        let store = MemoryApprovals::new(2);
        assert!(matches!(
            store.gate(request(SQL, b"1"), t(0)),
            Gate::Requested(_)
        ));
        assert!(matches!(
            store.gate(request(SQL, b"2"), t(0)),
            Gate::Requested(_)
        ));
        assert_eq!(store.gate(request(SQL, b"3"), t(0)), Gate::Full);
        // Expired requests make room.
        assert!(matches!(
            store.gate(request(SQL, b"3"), t(61)),
            Gate::Requested(_)
        ));
    }

    #[test]
    fn one_requester_cannot_fill_the_store() {
        let store = MemoryApprovals::default();
        for i in 0..MAX_PENDING_PER_REQUESTER {
            let amount = i.to_string();
            assert!(matches!(
                store.gate(request(SQL, amount.as_bytes()), t(0)),
                Gate::Requested(_)
            ));
        }
        assert_eq!(store.gate(request(SQL, b"x"), t(0)), Gate::Full);
        let mut other = request(SQL, b"x");
        other.subject = Some("c-43".into());
        assert!(matches!(store.gate(other, t(0)), Gate::Requested(_)));
    }

    #[test]
    fn keys_separate_fields() {
        let a = ApprovalKey::new("ab", None, "c", &[]);
        let b = ApprovalKey::new("a", None, "bc", &[]);
        assert_ne!(a, b);
        let null = ApprovalKey::new("a", None, "q", &[(0, None)]);
        let empty = ApprovalKey::new("a", None, "q", &[(0, Some(b""))]);
        assert_ne!(null, empty);
        assert_ne!(
            ApprovalKey::new("a", None, "q", &[]),
            ApprovalKey::new("a", Some(""), "q", &[])
        );
    }
}
