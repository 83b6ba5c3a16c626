//! The hints that statement refusals carry: what the agent may do instead.

use super::super::*;

impl Policy {
    pub(in crate::policy) fn tables_hint(&self) -> String {
        let mut names: Vec<String> = self
            .tables
            .iter()
            .map(|(n, r)| {
                let ops: Vec<&str> = r.operations.iter().map(|a| a.name()).collect();
                format!("{n} ({})", ops.join(", "))
            })
            .collect();
        names.sort();
        if names.is_empty() {
            "this agent may use no tables".into()
        } else {
            format!("tables this agent may use: {}", names.join("; "))
        }
    }

    /// The refusal of a `roles` or `ownership` statement by an agent
    /// whose rules do not list the class.
    pub(in crate::policy) fn role_management_denial(&self, class: Class) -> Denial {
        let what = match class {
            Class::Roles => {
                "it creates, alters or drops a role, user or group, grants or revokes role membership or changes default privileges"
            }
            _ => {
                "it hands an object to another role or makes code run with its owner's rights (OWNER TO, AUTHORIZATION, SECURITY DEFINER)"
            }
        };
        Denial::new(
            "role_management_denied",
            format!("{}: policy.statements", self.file()),
            format!(
                "actgate denied this statement: {what}, and the {} statement class is not allowed for agent {:?}",
                class.name(),
                self.agent
            ),
        )
        .hint(format!(
            "only rules that list \"{}\" under [policy] statements allow this",
            class.name()
        ))
    }

    pub(in crate::policy) fn classes_hint(&self) -> String {
        let mut names: Vec<&str> = self.classes.iter().map(|c| c.name()).collect();
        if self.driver_profile && !self.classes.contains(&Class::Transaction) {
            names.push("transaction");
        }
        format!("allowed statement classes: {}", names.join(", "))
    }

    pub(in crate::policy) fn settings_hint(&self) -> String {
        let mut names: Vec<String> = self.settings.iter().cloned().collect();
        if self.driver_profile {
            names.extend(builtin::SETTINGS.iter().map(|s| s.to_string()));
        }
        names.sort();
        if names.is_empty() {
            return "none".to_owned();
        }
        names.join(", ")
    }

    /// What an agent can do instead of changing a pinned setting.
    pub(in crate::policy) fn pinned_hint(&self, name: &str) -> String {
        let instead = match name {
            "search_path" => {
                "the search_path actgate set is in effect; qualify names with their schema (public.orders) to reach another schema"
            }
            "role" | "session_authorization" => {
                "the session's role is fixed by actgate and cannot be changed"
            }
            "default_transaction_read_only" => {
                "only making the session read-only passes: SET default_transaction_read_only = on, or RESET it (or SET it back to off when the session started read-write)"
            }
            _ => "the value actgate set is already in effect; leave it as it is",
        };
        format!(
            "{instead}; settings this agent may change: {}",
            self.settings_hint()
        )
    }

    pub(in crate::policy) fn columns_hint(&self, rule: &TableRule) -> String {
        match &rule.columns {
            Some(cols) => cols
                .iter()
                .filter(|c| !rule.deny_columns.contains(*c))
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            None => format!(
                "all except {}",
                rule.deny_columns
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}
