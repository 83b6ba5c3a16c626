//! Time windows: a rule that is active only at certain hours, such as
//! `"Mon-Fri 09:00-17:00"` in a named time zone.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeWindowError {
    #[error(
        "time window {0:?} is not DAYS HH:MM-HH:MM (e.g. \"Mon-Fri 09:00-17:00\", \"Sat,Sun 10:00-14:00\")"
    )]
    Syntax(String),
    #[error(
        "time window {text:?}: unknown day {day:?}; days are Mon, Tue, Wed, Thu, Fri, Sat, Sun"
    )]
    Day { text: String, day: String },
    #[error("time window {text:?}: {time:?} is not a time of day HH:MM")]
    Time { text: String, time: String },
    #[error("time window {0:?} starts and ends at the same time")]
    Empty(String),
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Days of the week and a span of local time. A span that ends before it
/// starts (`22:00-06:00`) runs overnight and belongs to the day it starts.
#[derive(Debug, Clone)]
pub struct TimeWindow {
    text: String,
    /// Monday first.
    days: [bool; 7],
    start: Time,
    /// `None` is 24:00.
    end: Option<Time>,
    tz: TimeZone,
}

impl TimeWindow {
    /// Parses `text` as a window in the IANA time zone `tz`.
    pub fn parse(text: &str, tz: &str) -> Result<TimeWindow, TimeWindowError> {
        let tz = TimeZone::get(tz).map_err(|_| TimeWindowError::TimeZone(tz.to_owned()))?;
        let syntax = || TimeWindowError::Syntax(text.to_owned());
        let (days_text, span) = text
            .trim()
            .split_once(char::is_whitespace)
            .ok_or_else(syntax)?;
        let (start_text, end_text) = span.trim().split_once('-').ok_or_else(syntax)?;
        let mut days = [false; 7];
        for part in days_text.split(',') {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let first = day_index(first, text)?;
            let last = day_index(last, text)?;
            let mut d = first;
            loop {
                days[d] = true;
                if d == last {
                    break;
                }
                d = (d + 1) % 7;
            }
        }
        let start = time_of_day(start_text, text)?.ok_or_else(syntax)?;
        let end = time_of_day(end_text, text)?;
        if end == Some(start) {
            return Err(TimeWindowError::Empty(text.to_owned()));
        }
        Ok(TimeWindow {
            text: text.trim().to_owned(),
            days,
            start,
            end,
            tz,
        })
    }

    /// Whether the window is open at `now`.
    pub fn contains(&self, now: Timestamp) -> bool {
        let local = now.to_zoned(self.tz.clone());
        let day = monday_zero(local.weekday());
        let t = local.time();
        match self.end {
            Some(end) if end < self.start => {
                let yesterday = (day + 6) % 7;
                (self.days[day] && t >= self.start) || (self.days[yesterday] && t < end)
            }
            end => self.days[day] && t >= self.start && end.is_none_or(|e| t < e),
        }
    }

    /// The next time the window opens after `now`.
    pub fn next_opening(&self, now: Timestamp) -> Option<Timestamp> {
        let today = now.to_zoned(self.tz.clone()).date();
        (0..=7i64).find_map(|i| {
            let date = today.checked_add(i.days()).ok()?;
            if !self.days[monday_zero(date.weekday())] {
                return None;
            }
            let opens = self.tz.to_zoned(date.to_datetime(self.start)).ok()?;
            (opens.timestamp() > now).then(|| opens.timestamp())
        })
    }

    pub fn time_zone_name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.text, self.time_zone_name())
    }
}

fn monday_zero(day: Weekday) -> usize {
    day.to_monday_zero_offset() as usize
}

fn day_index(day: &str, text: &str) -> Result<usize, TimeWindowError> {
    let lower = day.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| *d == lower)
        .ok_or_else(|| TimeWindowError::Day {
            text: text.to_owned(),
            day: day.trim().to_owned(),
        })
}

/// `HH:MM`; `24:00` is the end of the day (`None`).
fn time_of_day(s: &str, text: &str) -> Result<Option<Time>, TimeWindowError> {
    let bad = || TimeWindowError::Time {
        text: text.to_owned(),
        time: s.trim().to_owned(),
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i8 = h.parse().map_err(|_| bad())?;
    let m: i8 = m.parse().map_err(|_| bad())?;
    if (h, m) == (24, 0) {
        return Ok(None);
    }
    Time::new(h, m, 0, 0).map(Some).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn office_hours_open_and_close_in_their_time_zone() {
        let w = TimeWindow::parse("Mon-Fri 09:00-17:00", "Europe/Berlin").unwrap();
        // Wednesday 2026-11-25; Berlin is UTC+1.
        let cases = [
            ("2026-11-25T07:59:59Z", false),
            ("2026-11-25T08:00:00Z", true),
            ("2026-11-25T15:59:59Z", true),
            ("2026-11-25T16:00:00Z", false),
            // Saturday noon.
            ("2026-11-28T11:00:00Z", false),
        ];
        for (now, open) in cases {
            assert_eq!(w.contains(at(now)), open, "{now}");
        }
        // Friday evening: next opening is Monday 09:00 Berlin.
        assert_eq!(
            w.next_opening(at("2026-11-27T17:00:00Z")),
            Some(at("2026-11-30T08:00:00Z"))
        );
        assert_eq!(w.to_string(), "Mon-Fri 09:00-17:00 (Europe/Berlin)");
    }

    #[test]
    fn overnight_windows_belong_to_the_day_they_start() {
        let w = TimeWindow::parse("Fri 22:00-06:00", "UTC").unwrap();
        assert!(!w.contains(at("2026-11-27T21:59:00Z")));
        assert!(w.contains(at("2026-11-27T22:00:00Z")));
        assert!(w.contains(at("2026-11-28T05:59:00Z")));
        assert!(!w.contains(at("2026-11-28T06:00:00Z")));
        assert!(!w.contains(at("2026-11-28T23:00:00Z")));
        // Thursday night is not Friday's window.
        assert!(!w.contains(at("2026-11-27T03:00:00Z")));
    }

    #[test]
    fn day_lists_ranges_and_end_of_day() {
        let w = TimeWindow::parse("sat,Sun 00:00-24:00", "UTC").unwrap();
        assert!(w.contains(at("2026-11-28T00:00:00Z")));
        assert!(w.contains(at("2026-11-29T23:59:59Z")));
        assert!(!w.contains(at("2026-11-30T00:00:00Z")));
        let wrap = TimeWindow::parse("Fri-Mon 10:00-11:00", "UTC").unwrap();
        assert!(wrap.contains(at("2026-11-30T10:30:00Z")), "Monday");
        assert!(!wrap.contains(at("2026-11-25T10:30:00Z")), "Wednesday");
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        type Case = (&'static str, &'static str, fn(&TimeWindowError) -> bool);
        let cases: &[Case] = &[
            ("09:00-17:00", "UTC", |e| {
                matches!(e, TimeWindowError::Syntax(_))
            }),
            ("Mon-Fri 0900-1700", "UTC", |e| {
                matches!(e, TimeWindowError::Time { .. })
            }),
            ("Mon-Fri 09:00", "UTC", |e| {
                matches!(e, TimeWindowError::Syntax(_))
            }),
            ("Mon-Fry 09:00-17:00", "UTC", |e| {
                matches!(e, TimeWindowError::Day { .. })
            }),
            ("Mon 25:00-26:00", "UTC", |e| {
                matches!(e, TimeWindowError::Time { .. })
            }),
            ("Mon 09:00-09:00", "UTC", |e| {
                matches!(e, TimeWindowError::Empty(_))
            }),
            ("Mon 09:00-17:00", "Mars/Olympus", |e| {
                matches!(e, TimeWindowError::TimeZone(_))
            }),
        ];
        for (text, tz, expected) in cases {
            let e = TimeWindow::parse(text, tz).unwrap_err();
            assert!(expected(&e), "{text}: {e}");
        }
    }
}
