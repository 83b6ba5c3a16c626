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

use crate::policy::{Origin, Portal, PreparedStatement, SessionState};
use crate::protocol::frontend::{FrontendMessage, Target};

/// How to put back what one message changed. (The records are boxed:
/// every message of a batch has an entry, moved into the journal, and
/// most have nothing to undo.)
pub(super) enum Undo {
    /// It changed nothing that needs undoing.
    Nothing,
    /// A Parse or Close of a prepared statement: its record before.
    Statement {
        name: String,
        record: Option<Box<PreparedStatement>>,
    },
    /// A Bind or Close of a portal: its record before.
    Portal {
        name: String,
        record: Option<Box<Portal>>,
    },
}

/// The record a message may change, as it was before the message: held
/// on the stack and compared with the record after it ([`Before::undo`]).
/// Most messages leave their record as it was (a driver binding the
/// unnamed portal under the same conditions on every query), and then
/// nothing is copied to the heap or kept.
pub(super) enum Before<'m> {
    Nothing,
    Statement(&'m str, Option<PreparedStatement>),
    Portal(&'m str, Option<Portal>),
}

impl<'m> Before<'m> {
    /// What `msg` may change in the session's records, as they are before
    /// it. A re-Parse of the text a statement already has, with the same
    /// declared parameter types (what drivers do for the unnamed statement
    /// on every query), leaves the server's statement as it was whether or
    /// not the server skips it: no copy is taken.
    pub(super) fn of(msg: &FrontendMessage<'m>, state: &SessionState) -> Before<'m> {
        match *msg {
            FrontendMessage::Parse {
                statement,
                sql,
                param_types: declared,
            } if state.statement(statement).is_some_and(|p| {
                p.origin == Origin::Parse && *p.sql == *sql && same_types(&p.param_types, declared)
            }) =>
            {
                Before::Nothing
            }
            FrontendMessage::Parse { statement, .. }
            | FrontendMessage::Close {
                kind: Target::Statement,
                name: statement,
            } => Before::Statement(statement, state.statement(statement).cloned()),
            FrontendMessage::Bind(ref b) => {
                Before::Portal(b.portal, state.portal(b.portal).cloned())
            }
            FrontendMessage::Close {
                kind: Target::Portal,
                name,
            } => Before::Portal(name, state.portal(name).cloned()),
            _ => Before::Nothing,
        }
    }

    /// What puts the record back if the server skips the message:
    /// [`Undo::Nothing`] if it is still as it was.
    pub(super) fn undo(self, state: &SessionState) -> Undo {
        match self {
            Before::Statement(name, record) if state.statement(name) != record.as_ref() => {
                Undo::Statement {
                    name: name.to_owned(),
                    record: record.map(Box::new),
                }
            }
            Before::Portal(name, record) if state.portal(name) != record.as_ref() => Undo::Portal {
                name: name.to_owned(),
                record: record.map(Box::new),
            },
            _ => Undo::Nothing,
        }
    }
}

impl Undo {
    fn apply(self, parse_failed: bool, state: &mut SessionState) {
        match self {
            Undo::Nothing => {}
            // A Parse that failed in the server leaves no statement of its
            // name (PostgreSQL drops the unnamed one before parsing).
            Undo::Statement { name, .. } if parse_failed => state.closed(&name),
            Undo::Statement { name, record } => state.restore_statement(&name, record.map(|r| *r)),
            Undo::Portal { name, record } => state.restore_portal(&name, record.map(|r| *r)),
        }
    }
}

/// Whether a Parse's declared parameter types (raw Int32s) are those
/// recorded for the statement (0, unspecified, counts as recorded from the
/// server's ParameterDescription: then they may differ, so no).
fn same_types(recorded: &[u32], declared: &[u8]) -> bool {
    declared.len() == recorded.len() * 4
        && declared
            .chunks_exact(4)
            .zip(recorded)
            .all(|(d, r)| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) == *r && *r != 0)
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

    /// Whether entries of a batch before `current` are kept (then
    /// [`Journal::unresolved_before`] has something to look at).
    pub(super) fn has_entries_before(&self, current: u64) -> bool {
        !self.entries.is_empty() && self.batch != current
    }

    /// The batch whose outcome must be known before a message of batch
    /// `current` is decided: an earlier one with something to undo.
    pub(super) fn unresolved_before(&mut self, current: u64) -> Option<u64> {
        if !self.has_entries_before(current) {
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
    pub(super) fn resolve(&mut self, completed: Option<u64>, state: &mut SessionState) {
        self.undoable = false;
        if let Some(completed) = completed {
            let first = usize::try_from(completed)
                .unwrap_or(usize::MAX)
                .min(self.entries.len());
            // (drained, so that the entries keep their allocation)
            for (i, (undo, parses)) in self.entries.drain(first..).enumerate().rev() {
                undo.apply(i == 0 && parses, state);
            }
        }
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(portal: &str, statement: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for name in [portal, statement] {
            body.extend_from_slice(name.as_bytes());
            body.push(0);
        }
        // No parameter formats, no parameters, no result formats.
        body.extend_from_slice(&[0; 6]);
        body
    }

    fn close(kind: u8, name: &str) -> Vec<u8> {
        let mut body = vec![kind];
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body
    }

    fn copy_portal() -> Portal {
        Portal {
            copy_in: true,
            ..Portal::default()
        }
    }

    /// Sends `msg` (changing the records with `change`) and the batch
    /// fails at its first message: what the records are left as.
    fn skipped(
        state: &mut SessionState,
        tag: u8,
        body: &[u8],
        change: impl FnOnce(&mut SessionState),
    ) {
        let msg = FrontendMessage::decode_parts(tag, body).expect("a valid message");
        let before = Before::of(&msg, state);
        change(state);
        let mut journal = Journal::default();
        journal.push(1, before.undo(state), false);
        journal.resolve(Some(0), state);
    }

    #[test]
    fn a_bind_that_leaves_the_portal_as_it_was_keeps_nothing_to_undo() {
        let mut state = SessionState::default();
        state.bind("", Portal::default());
        let body = bind("", "");
        let msg = FrontendMessage::decode_parts(b'B', &body).unwrap();
        let before = Before::of(&msg, &state);
        state.bind("", Portal::default());
        assert!(matches!(before.undo(&state), Undo::Nothing));
    }

    #[test]
    fn a_skipped_bind_that_changed_the_portal_puts_the_old_one_back() {
        let mut state = SessionState::default();
        state.bind("p", Portal::default());
        skipped(&mut state, b'B', &bind("p", ""), |s| {
            s.bind("p", copy_portal())
        });
        assert_eq!(state.portal("p"), Some(&Portal::default()));
        // A portal that did not exist before is gone again.
        skipped(&mut state, b'B', &bind("q", ""), |s| {
            s.bind("q", copy_portal())
        });
        assert_eq!(state.portal("q"), None);
    }

    #[test]
    fn a_skipped_close_keeps_the_statement_and_the_portal() {
        let mut state = SessionState::default();
        state.parsed("s", Vec::new());
        state.bind("p", copy_portal());
        skipped(&mut state, b'C', &close(b'S', "s"), |s| s.closed("s"));
        assert!(state.is_prepared("s"));
        skipped(&mut state, b'C', &close(b'P', "p"), |s| {
            s.portal_closed("p")
        });
        assert_eq!(state.portal("p"), Some(&copy_portal()));
    }
}
