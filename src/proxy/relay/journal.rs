//! What the client half changed in its records for each message of the
//! current extended-protocol batch, so that what the server never saw can
//! be undone.
//!
//! actgate records a Parse, Bind or Close when it forwards it; the server
//! processes it only if no earlier message of its batch failed
//! ([`crate::protocol::pipeline`]). Within one batch that is harmless (if
//! a Parse was skipped, so is every later message of the batch), but
//! across a Sync it is not: a skipped Parse must not leave actgate holding
//! the statement the server kept to the checks of the one it skipped. So
//! each forwarded message of a batch is an entry; once the batch's
//! ReadyForQuery is in, the server half says how many of its messages
//! completed before the first error, and the entries from there on are
//! undone, in reverse order.

use super::{Prepared, RowLimits};
use crate::policy::{Policy, RowLimit, RuntimeControls, SessionState, StatementSnapshot, WriteCap};
use crate::protocol::frontend::{FrontendMessage, Target};
use std::collections::HashMap;
use std::sync::Arc;

/// How to put back what one message changed.
#[derive(Default)]
pub(super) enum Undo {
    /// It changed nothing that needs undoing.
    #[default]
    Nothing,
    /// A Parse or Close of a prepared statement.
    Statement {
        name: String,
        session: StatementSnapshot,
        prepared: Option<Prepared>,
        param_types: Option<Vec<u32>>,
    },
    /// A Bind or Close of a portal.
    Portal {
        name: String,
        limit: Option<Option<RowLimit>>,
        cap: Option<Option<WriteCap>>,
        controls: Option<(Arc<Policy>, RuntimeControls)>,
    },
}

impl Undo {
    /// What `msg` may change in the session's records, as they are before
    /// it. A re-Parse of the text a statement already has, with the same
    /// declared parameter types (what drivers do for the unnamed statement
    /// on every query), leaves the server's statement as it was whether or
    /// not the server skips it: no copy is taken.
    pub(super) fn before(
        msg: &FrontendMessage<'_>,
        state: &SessionState,
        limits: &RowLimits,
        param_types: &HashMap<String, Vec<u32>>,
    ) -> Undo {
        match *msg {
            FrontendMessage::Parse {
                statement,
                sql,
                param_types: declared,
            } if limits
                .prepared
                .get(statement)
                .is_some_and(|p| p.via_parse && *p.sql == *sql)
                && same_types(param_types.get(statement), declared) =>
            {
                Undo::Nothing
            }
            FrontendMessage::Parse { statement, .. }
            | FrontendMessage::Close {
                kind: Target::Statement,
                name: statement,
            } => Undo::statement(statement, state, limits, param_types),
            FrontendMessage::Bind(ref b) => Undo::portal(b.portal, limits),
            FrontendMessage::Close {
                kind: Target::Portal,
                name,
            } => Undo::portal(name, limits),
            _ => Undo::Nothing,
        }
    }

    /// The records of statement `name` as they are.
    pub(super) fn statement(
        name: &str,
        state: &SessionState,
        limits: &RowLimits,
        param_types: &HashMap<String, Vec<u32>>,
    ) -> Undo {
        Undo::Statement {
            name: name.to_owned(),
            session: state.snapshot(name),
            prepared: limits.prepared.get(name).cloned(),
            param_types: param_types.get(name).cloned(),
        }
    }

    /// The records of portal `name` as they are.
    pub(super) fn portal(name: &str, limits: &RowLimits) -> Undo {
        Undo::Portal {
            name: name.to_owned(),
            limit: limits.portals.get(name).cloned(),
            cap: limits.portal_caps.get(name).cloned(),
            controls: limits.portal_controls.get(name).cloned(),
        }
    }

    /// [`Undo::Nothing`] if the records are still as this snapshot has
    /// them (a driver re-parsing the same text, say).
    pub(super) fn unless_unchanged(
        self,
        state: &SessionState,
        limits: &RowLimits,
        param_types: &HashMap<String, Vec<u32>>,
    ) -> Undo {
        let unchanged = match &self {
            Undo::Nothing => true,
            Undo::Statement {
                name,
                session,
                prepared,
                param_types: types,
            } => {
                state.snapshot(name) == *session
                    && param_types.get(name) == types.as_ref()
                    && match (limits.prepared.get(name), prepared) {
                        (None, None) => true,
                        (Some(a), Some(b)) => a.same_as(b),
                        _ => false,
                    }
            }
            Undo::Portal {
                name,
                limit,
                cap,
                controls,
            } => {
                limits.portals.get(name) == limit.as_ref()
                    && limits.portal_caps.get(name) == cap.as_ref()
                    && controls.is_none()
                    && !limits.portal_controls.contains_key(name)
            }
        };
        if unchanged { Undo::Nothing } else { self }
    }

    fn apply(
        self,
        parse_failed: bool,
        state: &mut SessionState,
        limits: &mut RowLimits,
        param_types: &mut HashMap<String, Vec<u32>>,
    ) {
        match self {
            Undo::Nothing => {}
            // A Parse that failed in the server leaves no statement of its
            // name (PostgreSQL drops the unnamed one before parsing).
            Undo::Statement { name, .. } if parse_failed => {
                state.closed(&name);
                limits.prepared.remove(&name);
                param_types.remove(&name);
            }
            Undo::Statement {
                name,
                session,
                prepared,
                param_types: types,
            } => {
                state.restore(&name, session);
                match prepared {
                    Some(p) => limits.prepared.insert(name.clone(), p),
                    None => limits.prepared.remove(&name),
                };
                match types {
                    Some(t) => param_types.insert(name, t),
                    None => param_types.remove(&name),
                };
            }
            Undo::Portal {
                name,
                limit,
                cap,
                controls,
            } => {
                restore(&mut limits.portals, &name, limit);
                restore(&mut limits.portal_caps, &name, cap);
                restore(&mut limits.portal_controls, &name, controls);
            }
        }
    }
}

/// Whether a Parse's declared parameter types (raw Int32s) are those
/// recorded for the statement (0, unspecified, counts as recorded from the
/// server's ParameterDescription: then they may differ, so no).
fn same_types(recorded: Option<&Vec<u32>>, declared: &[u8]) -> bool {
    let recorded = recorded.map(Vec::as_slice).unwrap_or_default();
    declared.len() == recorded.len() * 4
        && declared
            .chunks_exact(4)
            .zip(recorded)
            .all(|(d, r)| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) == *r && *r != 0)
}

fn restore<T>(map: &mut HashMap<String, T>, name: &str, value: Option<T>) {
    match value {
        Some(v) => map.insert(name.to_owned(), v),
        None => map.remove(name),
    };
}

/// The entries of one batch, in the order the server sees the messages.
#[derive(Default)]
pub(super) struct Journal {
    /// The number of the ReadyForQuery that closes the batch.
    batch: u64,
    /// Each message's undo, and whether the message on the wire is a Parse
    /// of the statement the undo names (if it fails, no statement of that
    /// name is left).
    entries: Vec<(Undo, bool)>,
    /// Some entry has something to undo.
    undoable: bool,
}

impl Journal {
    /// Records one message sent in batch `batch` (every message the server
    /// answers with a completion, so that positions match).
    pub(super) fn push(&mut self, batch: u64, undo: Undo, parses_its_name: bool) {
        debug_assert!(self.entries.is_empty() || self.batch == batch);
        self.batch = batch;
        self.undoable |= !matches!(undo, Undo::Nothing);
        self.entries.push((undo, parses_its_name));
    }

    /// The batch whose outcome must be known before a message of batch
    /// `current` is decided: an earlier one with something to undo.
    pub(super) fn unresolved_before(&mut self, current: u64) -> Option<u64> {
        if self.entries.is_empty() || self.batch == current {
            return None;
        }
        if !self.undoable {
            self.clear();
            return None;
        }
        Some(self.batch)
    }

    /// Every message so far was processed without an error.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.undoable = false;
    }

    /// The batch is over; `completed` messages of it completed before the
    /// first error (`None`: no error). Undoes the rest.
    pub(super) fn resolve(
        &mut self,
        completed: Option<u64>,
        state: &mut SessionState,
        limits: &mut RowLimits,
        param_types: &mut HashMap<String, Vec<u32>>,
    ) {
        let entries = std::mem::take(&mut self.entries);
        self.undoable = false;
        let Some(completed) = completed else {
            return;
        };
        let first = usize::try_from(completed).unwrap_or(usize::MAX);
        for (i, (undo, parses)) in entries.into_iter().enumerate().skip(first).rev() {
            undo.apply(i == first && parses, state, limits, param_types);
        }
    }
}
