//! Circuit breaker state: agents (or one end user of an agent) suspended
//! until a time, after too many denials.

use jiff::Timestamp;
use std::collections::HashMap;

/// One suspension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    pub agent: String,
    /// `None` suspends every session of the agent.
    pub subject: Option<String>,
    pub until: Timestamp,
    /// Why, worded for the agent (`5 denials within 1 minute`).
    pub cause: String,
}

impl Suspension {
    /// The hint sent with [`Suspension::message`].
    pub const HINT: &'static str =
        "an operator can resume the agent early; otherwise wait until the suspension ends";

    /// The message a refused login or an ended session gets.
    pub fn message(&self) -> String {
        let who = match &self.subject {
            Some(s) => format!("agent \"{}\" acting for {s:?}", self.agent),
            None => format!("agent \"{}\"", self.agent),
        };
        format!(
            "{who} is suspended by actgate until {} ({})",
            self.until.round(jiff::Unit::Second).unwrap_or(self.until),
            self.cause
        )
    }
}

/// Every suspension in force (or expired but not yet swept).
#[derive(Debug, Clone, Default)]
pub struct Suspensions {
    by_key: HashMap<(String, Option<String>), Suspension>,
}

impl Suspensions {
    /// The suspension that holds for `agent` acting for `subject` at `now`:
    /// the agent's own, or the subject's.
    pub fn find(&self, agent: &str, subject: Option<&str>, now: Timestamp) -> Option<&Suspension> {
        let whole = self.by_key.get(&(agent.to_owned(), None));
        let one = subject.and_then(|s| self.by_key.get(&(agent.to_owned(), Some(s.to_owned()))));
        whole.into_iter().chain(one).find(|s| s.until > now)
    }

    /// Adds (or extends) a suspension; drops expired ones.
    pub fn insert(&mut self, suspension: Suspension, now: Timestamp) {
        self.by_key.retain(|_, s| s.until > now);
        let key = (suspension.agent.clone(), suspension.subject.clone());
        self.by_key.insert(key, suspension);
    }

    /// Lifts a suspension early; returns whether there was one.
    pub fn remove(&mut self, agent: &str, subject: Option<&str>) -> bool {
        self.by_key
            .remove(&(agent.to_owned(), subject.map(str::to_owned)))
            .is_some()
    }

    pub fn list(&self, now: Timestamp) -> Vec<&Suspension> {
        self.by_key.values().filter(|s| s.until > now).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn suspension(subject: Option<&str>, until: &str) -> Suspension {
        Suspension {
            agent: "bot".into(),
            subject: subject.map(Into::into),
            until: at(until),
            cause: "3 denials within 1 minute".into(),
        }
    }

    #[test]
    fn a_subject_suspension_holds_only_for_that_subject_and_expires() {
        let now = at("2026-11-25T10:00:00Z");
        let mut all = Suspensions::default();
        all.insert(suspension(Some("customer-1"), "2026-11-25T10:10:00Z"), now);
        assert!(all.find("bot", Some("customer-1"), now).is_some());
        assert!(all.find("bot", Some("customer-2"), now).is_none());
        assert!(all.find("bot", None, now).is_none());
        assert!(all.find("other", Some("customer-1"), now).is_none());
        let later = at("2026-11-25T10:10:00Z");
        assert!(all.find("bot", Some("customer-1"), later).is_none());
    }

    #[test]
    fn an_agent_suspension_holds_for_every_subject_until_lifted() {
        let now = at("2026-11-25T10:00:00Z");
        let mut all = Suspensions::default();
        all.insert(suspension(None, "2026-11-25T11:00:00Z"), now);
        let s = all.find("bot", Some("anyone"), now).unwrap();
        assert!(
            s.message().contains("until 2026-11-25T11:00:00Z"),
            "{}",
            s.message()
        );
        assert_eq!(all.list(now).len(), 1);
        assert!(all.remove("bot", None));
        assert!(all.find("bot", None, now).is_none());
        assert!(!all.remove("bot", None));
    }
}
