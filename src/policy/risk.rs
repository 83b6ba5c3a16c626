//! The risk score of an audited decision: a deterministic sum of weighted
//! factors, capped at 10. The same statement, verdict and session history
//! always score the same, so scores can be alerted on and compared.

/// Every factor and its weight.
pub const WEIGHTS: &[(&str, u8)] = &[
    // What the statement does.
    ("writes", 2),
    ("missing_where", 2),
    ("truncate", 4),
    ("ddl", 4),
    ("dcl", 5),
    ("session_state", 1),
    ("row_locks", 1),
    ("system_catalog", 1),
    ("ambiguous_columns", 1),
    // `policy.sensitive_tables`.
    ("sensitive_table", 2),
    // Injection signals.
    ("multi_statement", 2),
    ("comment", 1),
    ("tautology", 3),
    // The decision and the session's history.
    ("denied", 3),
    ("repeated_violations", 2),
];

/// The highest score.
pub const MAX: u8 = 10;

/// Denials in one session from which on `repeated_violations` counts.
pub const REPEATED_VIOLATIONS: u32 = 3;

/// The score of `factors`; unknown factors weigh nothing.
pub fn score(factors: &[&str]) -> u8 {
    let sum: u32 = factors
        .iter()
        .filter_map(|f| WEIGHTS.iter().find(|(name, _)| name == f))
        .map(|(_, w)| u32::from(*w))
        .sum();
    sum.min(u32::from(MAX)) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_weighted_sums_capped_at_ten() {
        assert_eq!(score(&[]), 0);
        assert_eq!(score(&["writes"]), 2);
        assert_eq!(score(&["writes", "missing_where"]), 4);
        assert_eq!(
            score(&["tautology", "multi_statement", "comment", "denied"]),
            9
        );
        assert_eq!(score(&["dcl", "ddl", "denied", "repeated_violations"]), MAX);
        assert_eq!(score(&["no_such_factor"]), 0);
    }

    #[test]
    fn every_weight_is_within_the_scale() {
        for (name, w) in WEIGHTS {
            assert!((1..=MAX).contains(w), "{name}");
        }
    }
}
