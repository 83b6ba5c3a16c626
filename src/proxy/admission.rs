//! Connection slots. A connection that has not authenticated holds one of
//! `max_unauthenticated_connections` slots; when its agent has logged in it
//! trades it for one of `max_connections` session slots. Strangers that
//! never log in therefore cannot take session slots from agents, and what
//! they can make actgate hold is bounded by their own limit.

use crate::config::Limits;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Both pools of slots of one running server.
#[derive(Debug, Clone)]
pub struct Slots {
    unauthenticated: Arc<Semaphore>,
    sessions: Arc<Semaphore>,
}

impl Slots {
    pub fn new(limits: &Limits) -> Slots {
        Slots {
            unauthenticated: Arc::new(Semaphore::new(limits.max_unauthenticated_connections)),
            sessions: Arc::new(Semaphore::new(limits.max_connections)),
        }
    }

    /// A slot for a newly accepted connection; `None` when
    /// `max_unauthenticated_connections` connections are already waiting to
    /// log in.
    pub fn admit(&self) -> Option<Admission> {
        let permit = self.unauthenticated.clone().try_acquire_owned().ok()?;
        Some(Admission {
            slot: Slot::Unauthenticated { _permit: permit },
            sessions: self.sessions.clone(),
        })
    }
}

/// The slot one connection holds, released when it is dropped.
#[derive(Debug)]
pub struct Admission {
    slot: Slot,
    sessions: Arc<Semaphore>,
}

#[derive(Debug)]
enum Slot {
    Unauthenticated {
        _permit: OwnedSemaphorePermit,
    },
    Session {
        _permit: OwnedSemaphorePermit,
    },
    /// Refused a session slot: the connection is being closed.
    None,
}

/// Every one of `max_connections` session slots is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionsFull;

impl Admission {
    /// After a successful login: gives up the unauthenticated slot and
    /// takes a session slot. On `Err` the connection holds no slot any more
    /// and must be closed.
    pub fn promote(&mut self) -> Result<(), SessionsFull> {
        if matches!(self.slot, Slot::Session { .. }) {
            return Ok(());
        }
        // The unauthenticated slot is released first, refused or not, so a
        // refused agent never holds one while its FATAL is being sent.
        self.slot = Slot::None;
        match self.sessions.clone().try_acquire_owned() {
            Ok(permit) => {
                self.slot = Slot::Session { _permit: permit };
                Ok(())
            }
            Err(_) => Err(SessionsFull),
        }
    }

    /// Whether the connection holds a session slot (it has logged in).
    pub fn is_session(&self) -> bool {
        matches!(self.slot, Slot::Session { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(unauthenticated: usize, sessions: usize) -> Slots {
        Slots {
            unauthenticated: Arc::new(Semaphore::new(unauthenticated)),
            sessions: Arc::new(Semaphore::new(sessions)),
        }
    }

    #[test]
    fn waiting_connections_take_no_session_slot() {
        let s = slots(3, 1);
        let mut waiting: Vec<_> = (0..3).map(|_| s.admit().expect("a slot")).collect();
        assert!(s.admit().is_none(), "the fourth waits over the limit");
        assert_eq!(waiting[0].promote(), Ok(()));
        assert!(waiting[0].is_session());
        // Its unauthenticated slot is free again.
        let mut fourth = s.admit().expect("a freed slot");
        // Only one session slot: the next login is refused and holds nothing.
        assert_eq!(waiting[1].promote(), Err(SessionsFull));
        assert!(!waiting[1].is_session());
        assert!(s.admit().is_some(), "a refused login released its slot");
        drop(waiting.remove(0));
        assert_eq!(fourth.promote(), Ok(()));
    }
}
