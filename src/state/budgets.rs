//! Budgets in the state database: one `actgate.charge(…)` call per
//! charge, which locks the keys involved (in one order, so replicas never
//! deadlock), checks every budget and records the event in all of them or
//! in none, in one transaction.

use super::PgState;
use crate::controls::{
    BudgetKey, ChargeError, ChargeFuture, ControlStore, Exhausted, StateUnavailable, Window,
};
use jiff::Timestamp;
use jiff::tz::TimeZone;

pub(super) const CHARGE_SQL: &str =
    "SELECT exhausted, resets_at FROM actgate.charge($1, $2, $3, $4, $5, $6)";

/// The text a key is stored under: every part of it, the budget included
/// (a rule whose budget changes starts a fresh count, as in memory).
fn stored_key(key: &BudgetKey) -> String {
    let subject = match &key.subject {
        Some(s) => format!("+{s}"),
        None => "-".into(),
    };
    format!(
        "{}\u{1f}{subject}\u{1f}{}\u{1f}{}",
        key.agent, key.rule, key.budget
    )
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn timestamp(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::MAX)
}

/// The arguments of one charge: each key with its limit and window.
struct Charge {
    keys: Vec<String>,
    limits: Vec<i32>,
    rolling_us: Vec<i64>,
    period_start: Vec<i64>,
    period_end: Vec<i64>,
}

impl Charge {
    /// `Err` with the first calendar budget whose period the clock cannot
    /// place (nothing is charged then, as in memory).
    fn of(keys: &[BudgetKey], now: Timestamp, tz: &TimeZone) -> Result<Charge, Exhausted> {
        let mut c = Charge {
            keys: Vec::with_capacity(keys.len()),
            limits: Vec::with_capacity(keys.len()),
            rolling_us: Vec::with_capacity(keys.len()),
            period_start: Vec::with_capacity(keys.len()),
            period_end: Vec::with_capacity(keys.len()),
        };
        for (index, key) in keys.iter().enumerate() {
            let (rolling, start, end) = match key.budget.window {
                Window::Rolling(length) => (
                    i64::try_from(length.as_micros()).unwrap_or(i64::MAX).max(1),
                    0,
                    0,
                ),
                Window::Calendar(_) => match key.budget.window.period(now, tz) {
                    Some((start, end)) => (0, micros(start), micros(end)),
                    None => {
                        return Err(Exhausted {
                            index,
                            resets_at: Timestamp::MAX,
                        });
                    }
                },
            };
            c.keys.push(stored_key(key));
            c.limits
                .push(i32::try_from(key.budget.limit).unwrap_or(i32::MAX));
            c.rolling_us.push(rolling);
            c.period_start.push(start);
            c.period_end.push(end);
        }
        Ok(c)
    }
}

impl ControlStore for PgState {
    fn charge<'a>(
        &'a self,
        keys: &'a [BudgetKey],
        now: Timestamp,
        tz: &'a TimeZone,
    ) -> ChargeFuture<'a> {
        Box::pin(async move {
            let charge = Charge::of(keys, now, tz).map_err(ChargeError::Exhausted)?;
            let conn = self.connected().map_err(ChargeError::Unavailable)?;
            let now_us = micros(now);
            let request = async {
                conn.client
                    .query(
                        &conn.charge,
                        &[
                            &charge.keys,
                            &charge.limits,
                            &charge.rolling_us,
                            &charge.period_start,
                            &charge.period_end,
                            &now_us,
                        ],
                    )
                    .await
                    .map_err(|e| {
                        StateUnavailable(format!(
                            "charging a budget in the state database: {}",
                            super::describe(&e)
                        ))
                    })
            };
            let rows = self
                .bounded(request)
                .await
                .map_err(ChargeError::Unavailable)?;
            match rows.first() {
                None => Ok(()),
                Some(row) => {
                    let index: i32 = row.get(0);
                    let resets_at: i64 = row.get(1);
                    Err(ChargeError::Exhausted(Exhausted {
                        index: usize::try_from(index).unwrap_or(0),
                        resets_at: timestamp(resets_at),
                    }))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_keep_every_part_apart() {
        let key = |subject: Option<&str>, budget: &str| BudgetKey {
            agent: "bot".into(),
            subject: subject.map(Into::into),
            rule: "rate_limits.refunds".into(),
            budget: budget.parse().unwrap(),
        };
        let all = [
            stored_key(&key(None, "5/calendar-day")),
            stored_key(&key(Some(""), "5/calendar-day")),
            stored_key(&key(Some("-"), "5/calendar-day")),
            stored_key(&key(Some("c1"), "5/calendar-day")),
            stored_key(&key(Some("c1"), "6/calendar-day")),
            stored_key(&key(Some("c1"), "5/day")),
        ];
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len(), "{all:?}");
    }
}
