//! Where budgets are counted. One instance keeps them in memory; the
//! [`ControlStore`] trait is the seam for a store shared by replicas.

use super::budget::{Budget, Window};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Whose budget, for which rule. Counters are kept per key; the budget
/// itself is part of the key, so a rule whose budget changes on reload
/// starts a fresh count.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BudgetKey {
    pub agent: String,
    /// The token's end user, for per-subject budgets.
    pub subject: Option<String>,
    /// The rule that declared the budget (`tables.refunds.rate_limits.insert`).
    pub rule: String,
    pub budget: Budget,
}

/// A budget that had no room left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted {
    /// Index into the charges passed to [`ControlStore::charge`].
    pub index: usize,
    /// When the next event fits again.
    pub resets_at: Timestamp,
}

/// Why a store shared by replicas could not answer (its database is
/// unreachable, a query failed): the statement that needed it is refused
/// with `control_state_unavailable`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateUnavailable(pub String);

/// Why a charge was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeError {
    /// A budget had no room left; nothing was charged.
    Exhausted(Exhausted),
    /// The store could not be asked; nothing was charged.
    Unavailable(StateUnavailable),
}

/// What [`ControlStore::charge`] returns: ready at once in memory, a round
/// trip for a shared store.
pub type ChargeFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ChargeError>> + Send + 'a>>;

/// Where budgets are counted: [`MemoryStore`] for one instance, a store in
/// PostgreSQL (`crate::state`) for replicas sharing them.
pub trait ControlStore: Send + Sync {
    /// Counts one event against every budget, or against none: if any
    /// budget is exhausted nothing is charged and the first exhausted one
    /// is returned. Calendar windows use `tz`. Atomic across every user of
    /// the store.
    fn charge<'a>(
        &'a self,
        keys: &'a [BudgetKey],
        now: Timestamp,
        tz: &'a TimeZone,
    ) -> ChargeFuture<'a>;
}

#[derive(Debug)]
enum Counter {
    /// The times of the counted events still inside the window, oldest
    /// first; never more than the budget's limit.
    Rolling(VecDeque<Timestamp>),
    /// Events counted in the period starting at `start`.
    Calendar { start: Timestamp, count: u32 },
}

impl Counter {
    fn new(window: &Window) -> Counter {
        match window {
            Window::Rolling(_) => Counter::Rolling(VecDeque::new()),
            Window::Calendar(_) => Counter::Calendar {
                start: Timestamp::MIN,
                count: 0,
            },
        }
    }

    /// Drops what has left the window; returns when `n` more events fit,
    /// or `None` if they fit now.
    fn refresh(
        &mut self,
        budget: &Budget,
        now: Timestamp,
        tz: &TimeZone,
        n: usize,
    ) -> Option<Timestamp> {
        let limit = budget.limit as usize;
        // Keys include the budget, so a counter always matches its window;
        // should one not, it starts over rather than guess.
        let matching = matches!(
            (&*self, budget.window),
            (Counter::Rolling(_), Window::Rolling(_))
                | (Counter::Calendar { .. }, Window::Calendar(_))
        );
        if !matching {
            *self = Counter::new(&budget.window);
        }
        match (self, budget.window) {
            (Counter::Rolling(times), Window::Rolling(length)) => {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= length)
                {
                    times.pop_front();
                }
                if times.len() + n <= limit {
                    return None;
                }
                // The event that must age out for `n` to fit; when `n`
                // alone exceeds the limit, nothing ever fits and the answer
                // is a full window from now.
                let free = (times.len() + n - limit).min(times.len());
                let from = match (n <= limit, free.checked_sub(1)) {
                    (true, Some(k)) => times.get(k).copied().unwrap_or(now),
                    _ => now,
                };
                Some(from.checked_add(length).unwrap_or(Timestamp::MAX))
            }
            (Counter::Calendar { start, count }, window) => {
                // A period the clock cannot place denies rather than counts
                // from nothing.
                let Some((period, end)) = window.period(now, tz) else {
                    return Some(Timestamp::MAX);
                };
                if *start != period {
                    *start = period;
                    *count = 0;
                }
                (*count as usize + n > limit).then_some(end)
            }
            // Made to match above.
            (Counter::Rolling(_), Window::Calendar(_)) => Some(Timestamp::MAX),
        }
    }

    fn record(&mut self, now: Timestamp) {
        match self {
            Counter::Rolling(times) => times.push_back(now),
            Counter::Calendar { count, .. } => *count = count.saturating_add(1),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Counter::Rolling(times) => times.is_empty(),
            Counter::Calendar { count, .. } => *count == 0,
        }
    }
}

/// Budgets of one actgate instance. Counters whose window has passed are
/// dropped every [`PRUNE_EVERY`] charges, so end users who come and go do
/// not accumulate.
#[derive(Debug, Default)]
pub struct MemoryStore {
    counters: Mutex<Counters>,
}

/// Charges between two sweeps of stale counters.
pub const PRUNE_EVERY: u32 = 4096;

#[derive(Debug, Default)]
struct Counters {
    by_key: HashMap<BudgetKey, Counter>,
    since_prune: u32,
}

impl Counters {
    fn prune(&mut self, now: Timestamp, tz: &TimeZone) {
        self.by_key.retain(|key, counter| {
            counter.refresh(&key.budget, now, tz, 0);
            !counter.is_empty()
        });
        self.since_prune = 0;
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl ControlStore for MemoryStore {
    fn charge<'a>(
        &'a self,
        keys: &'a [BudgetKey],
        now: Timestamp,
        tz: &'a TimeZone,
    ) -> ChargeFuture<'a> {
        let charged = MemoryStore::charge(self, keys, now, tz).map_err(ChargeError::Exhausted);
        Box::pin(std::future::ready(charged))
    }
}

impl MemoryStore {
    /// See [`ControlStore::charge`].
    pub fn charge(
        &self,
        keys: &[BudgetKey],
        now: Timestamp,
        tz: &TimeZone,
    ) -> Result<(), Exhausted> {
        let mut guard = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        guard.since_prune += 1;
        if guard.since_prune >= PRUNE_EVERY {
            guard.prune(now, tz);
        }
        let counters = &mut guard.by_key;
        for (index, key) in keys.iter().enumerate() {
            // A key listed several times needs that many slots at once.
            if keys[..index].contains(key) {
                continue;
            }
            let n = keys[index..].iter().filter(|k| *k == key).count();
            let counter = counters
                .entry(key.clone())
                .or_insert_with(|| Counter::new(&key.budget.window));
            if let Some(resets_at) = counter.refresh(&key.budget, now, tz, n) {
                return Err(Exhausted { index, resets_at });
            }
        }
        for key in keys {
            if let Some(counter) = counters.get_mut(key) {
                counter.record(now);
            }
        }
        Ok(())
    }

    /// Counts one event unconditionally and returns how many the window
    /// now holds, at most the budget's limit (for tripping a breaker).
    pub fn record(&self, key: &BudgetKey, now: Timestamp, tz: &TimeZone) -> u32 {
        let mut guard = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let counter = guard
            .by_key
            .entry(key.clone())
            .or_insert_with(|| Counter::new(&key.budget.window));
        counter.refresh(&key.budget, now, tz, 0);
        counter.record(now);
        match counter {
            Counter::Rolling(times) => {
                while times.len() > key.budget.limit as usize {
                    times.pop_front();
                }
                times.len() as u32
            }
            Counter::Calendar { count, .. } => {
                *count = (*count).min(key.budget.limit);
                *count
            }
        }
    }

    /// Forgets one counter (a tripped breaker starts counting afresh).
    pub fn forget(&self, key: &BudgetKey) {
        let mut guard = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        guard.by_key.remove(key);
    }

    /// Forgets counters with nothing left in their window; returns how many
    /// remain.
    pub fn prune(&self, now: Timestamp, tz: &TimeZone) -> usize {
        let mut guard = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        guard.prune(now, tz);
        guard.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn key(agent: &str, subject: Option<&str>, budget: &str) -> BudgetKey {
        BudgetKey {
            agent: agent.into(),
            subject: subject.map(Into::into),
            rule: "tables.refunds.rate_limits.insert".into(),
            budget: budget.parse().unwrap(),
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_rolling_budget_frees_one_slot_as_the_oldest_event_ages_out() {
        let store = MemoryStore::new();
        let k = [key("bot", None, "3/hour")];
        let tz = TimeZone::UTC;
        assert!(store.charge(&k, at("2026-11-25T10:00:00Z"), &tz).is_ok());
        assert!(store.charge(&k, at("2026-11-25T10:20:00Z"), &tz).is_ok());
        assert!(store.charge(&k, at("2026-11-25T10:40:00Z"), &tz).is_ok());
        let e = store
            .charge(&k, at("2026-11-25T10:59:59Z"), &tz)
            .unwrap_err();
        assert_eq!(e.index, 0);
        assert_eq!(e.resets_at, at("2026-11-25T11:00:00Z"));
        // Exactly one hour after the first event, its slot is free again…
        assert!(store.charge(&k, at("2026-11-25T11:00:00Z"), &tz).is_ok());
        // …but only that one.
        let e = store
            .charge(&k, at("2026-11-25T11:10:00Z"), &tz)
            .unwrap_err();
        assert_eq!(e.resets_at, at("2026-11-25T11:20:00Z"));
    }

    #[test]
    fn a_calendar_budget_resets_whole_at_midnight_in_the_time_zone() {
        let store = MemoryStore::new();
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let k = [key("bot", Some("customer-42"), "2/calendar-day")];
        // 22:30 and 22:45 Berlin time.
        assert!(store.charge(&k, at("2026-11-25T21:30:00Z"), &tz).is_ok());
        assert!(store.charge(&k, at("2026-11-25T21:45:00Z"), &tz).is_ok());
        let e = store
            .charge(&k, at("2026-11-25T22:59:00Z"), &tz)
            .unwrap_err();
        assert_eq!(e.resets_at, at("2026-11-25T23:00:00Z"));
        // Midnight in Berlin: both slots at once.
        assert!(store.charge(&k, at("2026-11-25T23:00:00Z"), &tz).is_ok());
        assert!(store.charge(&k, at("2026-11-25T23:00:01Z"), &tz).is_ok());
        assert!(store.charge(&k, at("2026-11-25T23:00:02Z"), &tz).is_err());
    }

    #[test]
    fn budgets_are_kept_per_agent_and_subject() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let now = at("2026-11-25T10:00:00Z");
        let a = [key("bot", Some("customer-1"), "1/day")];
        let b = [key("bot", Some("customer-2"), "1/day")];
        let c = [key("other-bot", Some("customer-1"), "1/day")];
        assert!(store.charge(&a, now, &tz).is_ok());
        assert!(store.charge(&a, now, &tz).is_err());
        assert!(store.charge(&b, now, &tz).is_ok());
        assert!(store.charge(&c, now, &tz).is_ok());
    }

    #[test]
    fn an_exhausted_budget_charges_none_of_the_others() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let now = at("2026-11-25T10:00:00Z");
        let statements = key("bot", None, "10/second");
        let refunds = key("bot", None, "1/day");
        let both = [statements.clone(), refunds.clone()];
        assert!(store.charge(&both, now, &tz).is_ok());
        let e = store.charge(&both, now, &tz).unwrap_err();
        assert_eq!(e.index, 1);
        // The statement budget was charged once, not twice: nine more fit.
        for _ in 0..9 {
            assert!(
                store
                    .charge(std::slice::from_ref(&statements), now, &tz)
                    .is_ok()
            );
        }
        assert!(store.charge(&[statements], now, &tz).is_err());
    }

    #[test]
    fn a_key_listed_twice_needs_two_slots() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let now = at("2026-11-25T10:00:00Z");
        let k = key("bot", None, "3/hour");
        assert!(store.charge(&[k.clone(), k.clone()], now, &tz).is_ok());
        let e = store.charge(&[k.clone(), k.clone()], now, &tz).unwrap_err();
        assert_eq!(e.resets_at, at("2026-11-25T11:00:00Z"));
        assert!(store.charge(std::slice::from_ref(&k), now, &tz).is_ok());
        // More than the whole budget never fits.
        let later = at("2026-11-25T12:00:00Z");
        assert!(
            store
                .charge(&[k.clone(), k.clone(), k.clone(), k.clone()], later, &tz)
                .is_err()
        );
        let c = key("bot", None, "1/calendar-day");
        assert!(store.charge(&[c.clone(), c.clone()], now, &tz).is_err());
        assert!(store.charge(&[c], now, &tz).is_ok());
    }

    #[test]
    fn stale_counters_are_swept_while_charging() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let now = at("2026-11-25T10:00:00Z");
        for i in 0..PRUNE_EVERY - 1 {
            let k = key("bot", Some(&format!("customer-{i}")), "1/second");
            assert!(store.charge(&[k], now, &tz).is_ok());
        }
        let later = at("2026-11-25T10:00:05Z");
        assert!(
            store
                .charge(&[key("bot", None, "1/second")], later, &tz)
                .is_ok()
        );
        // The sweep ran before that charge: only its own counter is left.
        let len = store.counters.lock().unwrap().by_key.len();
        assert_eq!(len, 1);
    }

    #[test]
    fn record_counts_what_the_window_holds() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let k = key("bot", None, "3/minute");
        assert_eq!(store.record(&k, at("2026-11-25T10:00:00Z"), &tz), 1);
        assert_eq!(store.record(&k, at("2026-11-25T10:00:30Z"), &tz), 2);
        assert_eq!(store.record(&k, at("2026-11-25T10:00:40Z"), &tz), 3);
        assert_eq!(store.record(&k, at("2026-11-25T10:00:50Z"), &tz), 3);
        // The first two aged out.
        assert_eq!(store.record(&k, at("2026-11-25T10:01:35Z"), &tz), 3);
        assert_eq!(store.record(&k, at("2026-11-25T10:03:00Z"), &tz), 1);
    }

    #[test]
    fn prune_forgets_counters_whose_window_has_passed() {
        let store = MemoryStore::new();
        let tz = TimeZone::UTC;
        let now = at("2026-11-25T10:00:00Z");
        assert!(
            store
                .charge(&[key("a", None, "5/second")], now, &tz)
                .is_ok()
        );
        assert!(store.charge(&[key("b", None, "5/day")], now, &tz).is_ok());
        assert_eq!(store.prune(now, &tz), 2);
        let later = now.checked_add(SignedDuration::from_secs(2)).unwrap();
        assert_eq!(store.prune(later, &tz), 1);
        let next_day = now.checked_add(SignedDuration::from_hours(24)).unwrap();
        assert_eq!(store.prune(next_day, &tz), 0);
    }
}
