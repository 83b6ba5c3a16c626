//! Runtime controls: budgets (rate limits) and time windows, evaluated
//! against an injectable [`Clock`] and kept in a [`ControlStore`].
//!
//! This module is pure bookkeeping: it never touches sockets or tokio, and
//! it takes the current time as a value so tests can drive it with a
//! [`ManualClock`]. The store is a trait so that several actgate replicas
//! can later share one budget through a shared implementation; one
//! instance uses [`MemoryStore`].
//!
//! Two kinds of window are expressible, and the difference matters to a
//! DBA writing `refunds = "5/day"`:
//! - **rolling** (`5/day`, `50/hour`, `20/second`, `100/minute`): at most
//!   N events in any period of that length ending now. The budget frees one
//!   slot at a time, as the oldest counted event ages out.
//! - **calendar** (`5/calendar-day`, `/calendar-week`, `/calendar-month`):
//!   at most N events per calendar period in the configured time zone
//!   (weeks start on Monday). The whole budget resets at the period
//!   boundary.

mod approvals;
mod breaker;
mod budget;
mod store;
mod window;

pub use approvals::{
    Approval, ApprovalError, ApprovalFuture, ApprovalKey, ApprovalRequest, ApprovalState,
    ApprovalStore, Gate, MemoryApprovals, new_id as new_approval_id,
};
/// Bounds every approval store keeps to.
pub use approvals::{DEFAULT_CAPACITY as APPROVALS_CAPACITY, MAX_PENDING_PER_REQUESTER};
pub use breaker::{Suspension, Suspensions};
pub use budget::{Budget, BudgetError, CalendarUnit, Window};
pub use store::{
    BudgetKey, ChargeError, ChargeFuture, ControlStore, Exhausted, MemoryStore, StateUnavailable,
};
pub use window::{TimeWindow, TimeWindowError};

use jiff::Timestamp;
use std::sync::Mutex;

/// The source of "now" for every runtime control.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to: for tests and `actgate replay`.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Moves the clock forward by `by`; saturates at the end of time.
    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        let by = jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX);
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(std::time::Duration::from_secs(90));
        assert_eq!(clock.now(), "2026-11-25T10:01:30Z".parse().unwrap());
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
