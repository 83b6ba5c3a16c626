//! The server's rule for which messages of the extended query protocol it
//! answers: pure, no I/O.
//!
//! PostgreSQL's `PostgresMain` keeps two facts: whether the message being
//! processed belongs to the extended query protocol
//! (`doing_extended_query_message`: set by Parse, Bind, Execute, Describe,
//! Close and Flush; cleared by Query and Sync) and whether it is skipping
//! to the next Sync (`ignore_till_sync`). An ErrorResponse raised while
//! processing an extended-protocol message starts the skip; from then on
//! *every* message is read and ignored, unanswered (a simple Query
//! included), until Sync, which ends the skip and is answered with
//! ReadyForQuery. An error in a simple Query starts no skip.
//!
//! [`Batch`] is that state as the relay can know it. Whoever raised the
//! error (the server, or actgate through its sentinel), the server skips;
//! the relay learns of the server's own errors only from its answers, so
//! between sending an extended-protocol message and reading its answer the
//! state is [`Batch::Open`]: the server may or may not be skipping. A
//! message whose fate depends on that (a simple Query, which is answered
//! with its own ReadyForQuery only if the server is not skipping) must not
//! be sent until the state is known.

/// Where the server stands in the extended query protocol, as far as the
/// relay knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Batch {
    /// No extended-protocol message since the last Sync (or since a Query
    /// the server processed): the server processes the next message.
    #[default]
    Closed,
    /// Extended-protocol messages sent since then, none known to have
    /// failed: whether the server skips the next message depends on
    /// answers not yet read.
    Open,
    /// A message of this batch failed: the server ignores every message
    /// up to the next Sync.
    Skipping,
}

/// What the server does with one message, given a [`Batch`] state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// It processes (and answers) the message.
    Processed,
    /// It reads the message and ignores it: no answer.
    Ignored,
    /// It depends on whether an earlier message of the open batch failed.
    Unknown,
}

impl Batch {
    /// What the server will do with a message of type `tag` sent now.
    pub fn fate(self, tag: u8) -> Fate {
        match (self, tag) {
            // Sync ends any skip and is always answered; Terminate ends
            // the session either way.
            (_, b'S' | b'X') => Fate::Processed,
            (Batch::Closed, _) => Fate::Processed,
            (Batch::Skipping, _) => Fate::Ignored,
            (Batch::Open, _) => Fate::Unknown,
        }
    }

    /// The state after a message of type `tag` was sent and, where its fate
    /// was known, processed without an error (errors: [`Batch::failed`]).
    /// A Query may only be sent when its fate is known.
    pub fn sent(self, tag: u8) -> Batch {
        match (self, tag) {
            (_, b'S') => Batch::Closed,
            (Batch::Skipping, _) => Batch::Skipping,
            // Flush cannot fail: it opens nothing.
            (state, b'H') => state,
            (_, b'P' | b'B' | b'E' | b'D' | b'C') => Batch::Open,
            // A processed Query clears `doing_extended_query_message`.
            (Batch::Closed, b'Q') => Batch::Closed,
            (state, _) => state,
        }
    }

    /// The state once an error in the current batch is known: raised by
    /// the server for an extended-protocol message, or by actgate's own
    /// sentinel Parse.
    pub fn failed(self) -> Batch {
        Batch::Skipping
    }

    /// The state once the server is known not to be skipping (every
    /// message of the batch so far was answered without an error).
    pub fn answered(self) -> Batch {
        match self {
            Batch::Open => Batch::Closed,
            other => other,
        }
    }

    pub fn is_skipping(self) -> bool {
        self == Batch::Skipping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays a sequence of (tag, fails) through the model and returns
    /// which messages the server answers; an unknown fate is resolved the
    /// way the relay resolves it (it waits for the answers so far).
    fn answered(messages: &[(u8, bool)]) -> Vec<bool> {
        let mut state = Batch::Closed;
        let mut failed_in_batch = false;
        let mut out = Vec::new();
        for &(tag, fails) in messages {
            let fate = match state.fate(tag) {
                Fate::Unknown if failed_in_batch => {
                    state = state.failed();
                    Fate::Ignored
                }
                Fate::Unknown => {
                    state = state.answered();
                    Fate::Processed
                }
                f => f,
            };
            out.push(fate == Fate::Processed);
            if fate == Fate::Processed {
                state = state.sent(tag);
                if tag == b'S' {
                    failed_in_batch = false;
                }
                if fails && tag != b'Q' {
                    failed_in_batch = true;
                    state = state.failed();
                }
            }
        }
        out
    }

    #[test]
    fn an_error_in_the_extended_protocol_skips_everything_to_sync() {
        // Parse fails; Bind, Execute, a Query and a Flush are ignored;
        // Sync is answered and processing resumes.
        let got = answered(&[
            (b'P', true),
            (b'B', false),
            (b'E', false),
            (b'Q', false),
            (b'H', false),
            (b'S', false),
            (b'Q', false),
        ]);
        assert_eq!(got, [true, false, false, false, false, true, true]);
    }

    #[test]
    fn a_query_in_an_open_batch_without_an_error_is_processed() {
        let got = answered(&[(b'P', false), (b'Q', false), (b'B', true), (b'Q', false)]);
        assert_eq!(got, [true, true, true, false]);
    }

    #[test]
    fn an_error_in_a_simple_query_starts_no_skip() {
        let got = answered(&[(b'Q', true), (b'P', false), (b'S', false)]);
        assert_eq!(got, [true, true, true]);
    }

    #[test]
    fn sync_and_terminate_are_always_processed() {
        for state in [Batch::Closed, Batch::Open, Batch::Skipping] {
            assert_eq!(state.fate(b'S'), Fate::Processed);
            assert_eq!(state.fate(b'X'), Fate::Processed);
            assert_eq!(state.sent(b'S'), Batch::Closed);
        }
    }

    #[test]
    fn flush_neither_opens_nor_closes_a_batch() {
        assert_eq!(Batch::Closed.sent(b'H'), Batch::Closed);
        assert_eq!(Batch::Open.sent(b'H'), Batch::Open);
        assert_eq!(Batch::Skipping.sent(b'H'), Batch::Skipping);
    }
}
