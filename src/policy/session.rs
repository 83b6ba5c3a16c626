//! What a session holds that later statements are decided against: its
//! prepared statements and their Bind-time checks.

use super::*;

/// Prepared statements a session created through allowed Parse or PREPARE:
/// a Bind or EXECUTE may only use these.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    prepared: HashSet<String>,
    /// Those of `prepared` made by SQL `PREPARE` (judged whole when
    /// prepared), not by Parse (whose Binds have checks and limits that a
    /// SQL `EXECUTE` would not be held to).
    sql_prepared: HashSet<String>,
    /// Conditions on the parameters of prepared statements, checked at
    /// every Bind.
    checks: HashMap<String, Vec<ParamCheck>>,
    /// The server reported `default_transaction_read_only = off` when the
    /// session started: setting it back to off (pgjdbc's `setReadOnly(false)`
    /// after `setReadOnly(true)`) returns to the start value, like RESET.
    read_write_at_start: bool,
}

impl SessionState {
    /// A session whose server reported `default_transaction_read_only`
    /// as `start` (its ParameterStatus at startup; `None` if it did not).
    pub fn starting_with_read_only(start: Option<&str>) -> SessionState {
        SessionState {
            read_write_at_start: start.is_some_and(|v| v.eq_ignore_ascii_case("off")),
            ..SessionState::default()
        }
    }

    /// Whether a change of `setting` can only return the session to (or
    /// narrow it from) the value it started with: any SET of
    /// `default_transaction_read_only` when it started read-write.
    pub(super) fn within_start(&self, setting: &analyze::SettingUse) -> bool {
        self.read_write_at_start
            && setting.name == "default_transaction_read_only"
            && setting.action == SettingAction::Set
    }

    /// Records an allowed Parse and the conditions its Binds must meet.
    pub fn parsed(&mut self, statement: &str, checks: Vec<ParamCheck>) {
        self.prepared.insert(statement.to_owned());
        self.sql_prepared.remove(statement);
        if checks.is_empty() {
            self.checks.remove(statement);
        } else {
            self.checks.insert(statement.to_owned(), checks);
        }
    }

    /// The conditions a Bind of `statement` must meet.
    pub fn checks(&self, statement: &str) -> &[ParamCheck] {
        self.checks
            .get(statement)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Records a Close of a statement.
    pub fn closed(&mut self, statement: &str) {
        self.prepared.remove(statement);
        self.sql_prepared.remove(statement);
        self.checks.remove(statement);
    }

    /// Records the effects of an allowed simple Query.
    pub fn executed(&mut self, analysis: &Analysis) {
        for st in &analysis.statements {
            self.executed_statement(st);
        }
    }

    pub(super) fn executed_statement(&mut self, st: &StatementInfo) {
        {
            for p in &st.prepared {
                match p {
                    // PostgreSQL refuses to replace an existing statement
                    // (42P05) and keeps it: so do its checks.
                    PreparedRef::Prepare(n) => {
                        if self.prepared.insert(n.clone()) {
                            self.checks.remove(n);
                            self.sql_prepared.insert(n.clone());
                        }
                    }
                    PreparedRef::Deallocate(Some(n)) => {
                        self.prepared.remove(n);
                        self.sql_prepared.remove(n);
                        self.checks.remove(n);
                    }
                    PreparedRef::Deallocate(None) => {
                        self.prepared.clear();
                        self.sql_prepared.clear();
                        self.checks.clear();
                    }
                    PreparedRef::Execute(_) => {}
                }
            }
            if st.discards_all() {
                self.prepared.clear();
                self.sql_prepared.clear();
            }
        }
    }

    pub fn is_prepared(&self, statement: &str) -> bool {
        self.prepared.contains(statement)
    }

    /// Whether `statement` was prepared by an allowed SQL `PREPARE`.
    pub fn is_sql_prepared(&self, statement: &str) -> bool {
        self.sql_prepared.contains(statement)
    }

    /// What the session holds about `statement`, to put back with
    /// [`SessionState::restore`] if the server never saw the message that
    /// changed it.
    pub fn snapshot(&self, statement: &str) -> StatementSnapshot {
        StatementSnapshot {
            prepared: self.prepared.contains(statement),
            sql_prepared: self.sql_prepared.contains(statement),
            checks: self.checks.get(statement).cloned(),
        }
    }

    pub fn restore(&mut self, statement: &str, snapshot: StatementSnapshot) {
        if snapshot.prepared {
            self.prepared.insert(statement.to_owned());
        } else {
            self.prepared.remove(statement);
        }
        if snapshot.sql_prepared {
            self.sql_prepared.insert(statement.to_owned());
        } else {
            self.sql_prepared.remove(statement);
        }
        match snapshot.checks {
            Some(c) => self.checks.insert(statement.to_owned(), c),
            None => self.checks.remove(statement),
        };
    }
}

/// One prepared statement's entry in a [`SessionState`].
#[derive(Debug, Clone, PartialEq)]
pub struct StatementSnapshot {
    prepared: bool,
    sql_prepared: bool,
    checks: Option<Vec<ParamCheck>>,
}
