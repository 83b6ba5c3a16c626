//! Budgets as DBAs write them: `"5/day"`, `"20/second"`, `"5/calendar-day"`.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};
use std::fmt;
use std::str::FromStr;

/// The largest count a budget may allow. Rolling windows remember each
/// counted event, so this bounds their memory per key.
pub const MAX_BUDGET: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("budget {0:?} is not COUNT/UNIT (e.g. \"5/day\", \"20/second\", \"5/calendar-day\")")]
    Syntax(String),
    #[error("budget {text:?}: the count must be between 1 and {max}", max = MAX_BUDGET)]
    Count { text: String },
    #[error(
        "budget {text:?}: unknown unit {unit:?}; rolling units are second, minute, hour, day; \
         calendar units are calendar-day, calendar-week, calendar-month"
    )]
    Unit { text: String, unit: String },
}

/// A calendar period in the configured time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    Day,
    /// Monday 00:00 to the next Monday 00:00.
    Week,
    Month,
}

/// The period a budget counts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Any period of this length ending now.
    Rolling(SignedDuration),
    /// The calendar period containing now.
    Calendar(CalendarUnit),
}

impl Window {
    /// The calendar period containing `now`, as `[start, end)`; `None` for
    /// rolling windows.
    pub fn period(&self, now: Timestamp, tz: &TimeZone) -> Option<(Timestamp, Timestamp)> {
        let Window::Calendar(unit) = self else {
            return None;
        };
        let zoned = now.to_zoned(tz.clone());
        let day = zoned.start_of_day().ok()?;
        let start: Zoned = match unit {
            CalendarUnit::Day => day,
            CalendarUnit::Week => {
                let back = i64::from(zoned.weekday().to_monday_zero_offset());
                day.checked_sub(back.days()).ok()?.start_of_day().ok()?
            }
            CalendarUnit::Month => zoned.first_of_month().ok()?.start_of_day().ok()?,
        };
        let end = match unit {
            CalendarUnit::Day => start.tomorrow().ok()?,
            CalendarUnit::Week => start.checked_add(7.days()).ok()?,
            CalendarUnit::Month => start.checked_add(1.month()).ok()?,
        }
        .start_of_day()
        .ok()?;
        Some((start.timestamp(), end.timestamp()))
    }
}

/// At most `limit` events per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    pub limit: u32,
    pub window: Window,
}

impl FromStr for Budget {
    type Err = BudgetError;

    fn from_str(text: &str) -> Result<Budget, BudgetError> {
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| BudgetError::Syntax(text.to_owned()))?;
        let count = count.trim();
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BudgetError::Syntax(text.to_owned()));
        }
        let limit = count
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_BUDGET).contains(n))
            .ok_or_else(|| BudgetError::Count {
                text: text.to_owned(),
            })?;
        let window = match unit.trim() {
            "second" => Window::Rolling(SignedDuration::from_secs(1)),
            "minute" => Window::Rolling(SignedDuration::from_secs(60)),
            "hour" => Window::Rolling(SignedDuration::from_secs(3600)),
            "day" => Window::Rolling(SignedDuration::from_secs(86_400)),
            "calendar-day" => Window::Calendar(CalendarUnit::Day),
            "calendar-week" => Window::Calendar(CalendarUnit::Week),
            "calendar-month" => Window::Calendar(CalendarUnit::Month),
            other => {
                return Err(BudgetError::Unit {
                    text: text.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        Ok(Budget { limit, window })
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.window {
            Window::Rolling(d) => match d.as_secs() {
                1 => "second",
                60 => "minute",
                3600 => "hour",
                86_400 => "day",
                s => return write!(f, "{}/{s}s", self.limit),
            },
            Window::Calendar(CalendarUnit::Day) => "calendar-day",
            Window::Calendar(CalendarUnit::Week) => "calendar-week",
            Window::Calendar(CalendarUnit::Month) => "calendar-month",
        };
        write!(f, "{}/{unit}", self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_and_print_back() {
        for text in [
            "5/day",
            "50/hour",
            "20/second",
            "100/minute",
            "5/calendar-day",
            "7/calendar-week",
            "1/calendar-month",
        ] {
            let b: Budget = text.parse().unwrap();
            assert_eq!(b.to_string(), text);
        }
        let b: Budget = "5/day".parse().unwrap();
        assert_eq!(b.limit, 5);
        assert_eq!(b.window, Window::Rolling(SignedDuration::from_secs(86_400)));
    }

    #[test]
    fn bad_budgets_say_what_is_wrong() {
        type Case = (&'static str, fn(&BudgetError) -> bool);
        let cases: &[Case] = &[
            ("5", |e| matches!(e, BudgetError::Syntax(_))),
            ("five/day", |e| matches!(e, BudgetError::Syntax(_))),
            ("-1/day", |e| matches!(e, BudgetError::Syntax(_))),
            ("0/day", |e| matches!(e, BudgetError::Count { .. })),
            ("100001/day", |e| matches!(e, BudgetError::Count { .. })),
            ("99999999999/day", |e| {
                matches!(e, BudgetError::Count { .. })
            }),
            ("5/fortnight", |e| matches!(e, BudgetError::Unit { .. })),
            ("5/days", |e| matches!(e, BudgetError::Unit { .. })),
        ];
        for (text, expected) in cases {
            let e = text.parse::<Budget>().unwrap_err();
            assert!(expected(&e), "{text}: {e}");
        }
    }

    #[test]
    fn calendar_periods_follow_the_time_zone() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 02:30 UTC on the 26th is 21:30 on the 25th in New York.
        let now: Timestamp = "2026-11-26T02:30:00Z".parse().unwrap();
        let day = Window::Calendar(CalendarUnit::Day);
        let (start, end) = day.period(now, &tz).unwrap();
        assert_eq!(start, "2026-11-25T05:00:00Z".parse().unwrap());
        assert_eq!(end, "2026-11-26T05:00:00Z".parse().unwrap());

        // 2026-11-25 is a Wednesday: the week began Monday the 23rd.
        let week = Window::Calendar(CalendarUnit::Week);
        let (start, end) = week.period(now, &tz).unwrap();
        assert_eq!(start, "2026-11-23T05:00:00Z".parse().unwrap());
        assert_eq!(end, "2026-11-30T05:00:00Z".parse().unwrap());

        let month = Window::Calendar(CalendarUnit::Month);
        let (start, end) = month.period(now, &tz).unwrap();
        assert_eq!(start, "2026-11-01T04:00:00Z".parse().unwrap());
        assert_eq!(end, "2026-12-01T05:00:00Z".parse().unwrap());
    }

    #[test]
    fn a_calendar_day_across_a_dst_change_is_23_hours() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let now: Timestamp = "2026-03-29T12:00:00Z".parse().unwrap();
        let (start, end) = Window::Calendar(CalendarUnit::Day)
            .period(now, &tz)
            .unwrap();
        assert_eq!(end.duration_since(start), SignedDuration::from_hours(23));
    }

    #[test]
    fn rolling_windows_have_no_calendar_period() {
        let b: Budget = "5/day".parse().unwrap();
        assert_eq!(b.window.period(Timestamp::UNIX_EPOCH, &TimeZone::UTC), None);
    }
}
