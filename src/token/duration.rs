//! Durations as written on the command line: `30s`, `15m`, `2h`, `1d`, or
//! a sum such as `1h30m`.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (write e.g. 30s, 15m, 2h, 1d or 1h30m)")]
pub struct DurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Parses `<number><unit>` pairs (units `s`, `m`, `h`, `d`) into a positive
/// duration.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("it is empty"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err("expected a number"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| err("number too large"))?;
        let unit = rest[digits..]
            .chars()
            .next()
            .ok_or_else(|| err("missing unit"))?;
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(err("unknown unit")),
        };
        total = number
            .checked_mul(scale)
            .and_then(|n| total.checked_add(n))
            .ok_or_else(|| err("too large"))?;
        rest = &rest[digits + unit.len_utf8()..];
    }
    if total == 0 {
        return Err(err("it must be positive"));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        let s = Duration::from_secs;
        assert_eq!(parse_duration("30s").unwrap(), s(30));
        assert_eq!(parse_duration("15m").unwrap(), s(900));
        assert_eq!(parse_duration("2h").unwrap(), s(7200));
        assert_eq!(parse_duration("1d").unwrap(), s(86_400));
        assert_eq!(parse_duration(" 1h30m ").unwrap(), s(5400));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "15",
            "m",
            "15x",
            "-5m",
            "1.5h",
            "0s",
            "1 h",
            "15mm",
            "99999999999999999999s",
            "999999999999999d",
            "5é",
        ] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid duration"), "{err}");
        }
    }
}
