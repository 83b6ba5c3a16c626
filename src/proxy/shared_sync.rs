//! Keeps this replica's suspensions and revocation list in step with the
//! shared `[state]` store: at once when the store notifies a change, and
//! every [`POLL`] in any case (a notification lost with a connection is
//! made up for within a second).

use super::{Gateway, RevocationSource};
use std::sync::Arc;
use std::time::Duration;

/// How often the store is read without a notification.
pub const POLL: Duration = Duration::from_secs(1);

impl Gateway {
    /// Runs until the server stops; returns at once without a shared store.
    pub async fn sync_shared_state(self: Arc<Self>) {
        let Some(state) = self.state.clone() else {
            return;
        };
        let mut changes = state.subscribe();
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = tick.tick() => {}
            }
            let now = self.clock().now();
            // While the store is down what is in force stays in force.
            if let Ok(list) = state.bounded(state.suspensions(now)).await {
                self.controls.adopt_shared_suspensions(list);
            }
            // Refreshes what the approval store lists.
            let _ = state.bounded(state.read_approvals(now)).await;
            if let Ok(ids) = state.bounded(state.revocations()).await {
                let list = crate::token::RevocationList::from_ids(ids.iter().map(String::as_str));
                self.set_revocations(RevocationSource::Store, list);
            }
        }
    }
}
