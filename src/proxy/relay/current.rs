//! The session's policy as the relay reads it for every message.

use crate::policy::{Mode, Policy};
use arc_swap::ArcSwap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Row limits are enforced.
const ROW_LIMITS: u8 = 1;
/// Write caps are enforced.
const WRITE_CAPS: u8 = 2;

/// The agent's policy in the rules generation the session runs under,
/// and beside it what the relay asks of it for most messages (whether
/// row limits and write caps are enforced): a reload replaces both
/// ([`CurrentPolicy::store`]). Reading a flag is one load, where asking
/// the policy takes a reference to it and walks its tables.
pub struct CurrentPolicy {
    policy: ArcSwap<Policy>,
    flags: AtomicU8,
}

impl CurrentPolicy {
    pub fn new(policy: Arc<Policy>) -> CurrentPolicy {
        CurrentPolicy {
            flags: AtomicU8::new(flags_of(&policy)),
            policy: ArcSwap::new(policy),
        }
    }

    /// The policy now.
    pub fn load(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.policy.load()
    }

    /// The policy now, as a reference of its own.
    pub fn load_full(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// Moves the session to `policy`.
    pub fn store(&self, policy: Arc<Policy>) {
        self.flags.store(flags_of(&policy), Ordering::Relaxed);
        self.policy.store(policy);
    }

    /// [`Policy::enforces_row_limits`] of the policy now.
    pub fn row_limits_on(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & ROW_LIMITS != 0
    }

    /// [`Policy::enforces_write_caps`] of the policy now.
    pub fn write_caps_on(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & WRITE_CAPS != 0
    }
}

fn flags_of(policy: &Policy) -> u8 {
    let mut flags = 0;
    if policy.enforces_row_limits() {
        flags |= ROW_LIMITS;
    }
    if policy.enforces_write_caps() {
        flags |= WRITE_CAPS;
    }
    debug_assert!(flags == 0 || policy.mode == Mode::Enforce);
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: &str, table: &str) -> Arc<Policy> {
        let rules = format!(
            "[agent]\nname = \"desk\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n\
             [policy]\nmode = \"{mode}\"\nstatements = [\"read\", \"update\"]\n\n\
             [tables.orders]\noperations = [\"select\", \"update\"]\n{table}\n"
        );
        crate::rules::parse_agent(
            &rules,
            std::path::Path::new("/etc/actgate/rules/desk.toml"),
            &["public".to_string()],
            &std::collections::HashMap::new(),
        )
        .unwrap()
        .policy
    }

    #[test]
    fn the_flags_follow_the_policy_stored() {
        let cases = [
            ("enforce", ""),
            ("enforce", "max_rows = 5"),
            ("enforce", "max_affected_rows = 2"),
            ("enforce", "max_rows = 5\nmax_affected_rows = 2"),
            ("monitor", "max_rows = 5\nmax_affected_rows = 2"),
        ];
        let current = CurrentPolicy::new(policy("enforce", ""));
        for (mode, table) in cases {
            let p = policy(mode, table);
            for view in [&CurrentPolicy::new(p.clone()), &current] {
                view.store(p.clone());
                assert_eq!(
                    view.row_limits_on(),
                    p.enforces_row_limits(),
                    "{mode} {table}"
                );
                assert_eq!(
                    view.write_caps_on(),
                    p.enforces_write_caps(),
                    "{mode} {table}"
                );
                assert!(Arc::ptr_eq(&view.load_full(), &p));
            }
        }
        let some = cases.map(|(m, t)| policy(m, t));
        assert!(some.iter().any(|p| p.enforces_row_limits()));
        assert!(some.iter().any(|p| p.enforces_write_caps()));
        assert!(some.iter().any(|p| !p.enforces_row_limits()));
    }
}
