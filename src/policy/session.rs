//! What a session holds that later messages are decided against and held
//! to: one record per prepared statement ([`PreparedStatement`]) and one
//! per bound portal ([`Portal`]), kept as PostgreSQL keeps them.

use super::*;
use std::sync::Arc;

/// The prepared statements and portals of one session.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    statements: Named<PreparedStatement>,
    portals: Named<Portal>,
    /// The server reported `default_transaction_read_only = off` when the
    /// session started: setting it back to off (pgjdbc's `setReadOnly(false)`
    /// after `setReadOnly(true)`) returns to the start value, like RESET.
    read_write_at_start: bool,
}

/// Records by the name the client gave them. The unnamed one (`""`) is
/// kept apart, as PostgreSQL keeps its unnamed statement and portal: it is
/// what most drivers use for every query, so its lookups hash and compare
/// nothing (and no key is ever an empty string, whose comparison some
/// vectorised `memcmp`s make expensive).
#[derive(Debug, Clone)]
struct Named<T> {
    unnamed: Option<T>,
    /// Keyed by names the client chose: foldhash, seeded at random.
    named: foldhash::HashMap<String, T>,
}

impl<T> Default for Named<T> {
    fn default() -> Self {
        Named {
            unnamed: None,
            named: foldhash::HashMap::default(),
        }
    }
}

impl<T> Named<T> {
    fn get(&self, name: &str) -> Option<&T> {
        if name.is_empty() {
            self.unnamed.as_ref()
        } else {
            self.named.get(name)
        }
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut T> {
        if name.is_empty() {
            self.unnamed.as_mut()
        } else {
            self.named.get_mut(name)
        }
    }

    /// Records `record` under `name`, replacing what was there.
    fn put(&mut self, name: &str, record: T) {
        if name.is_empty() {
            self.unnamed = Some(record);
        } else if let Some(r) = self.named.get_mut(name) {
            *r = record;
        } else {
            self.named.insert(name.to_owned(), record);
        }
    }

    /// Records what `make` gives under `name`, unless it is taken.
    fn put_if_absent(&mut self, name: &str, make: impl FnOnce() -> T) {
        if name.is_empty() {
            self.unnamed.get_or_insert_with(make);
        } else if !self.named.contains_key(name) {
            self.named.insert(name.to_owned(), make());
        }
    }

    fn remove(&mut self, name: &str) {
        if name.is_empty() {
            self.unnamed = None;
        } else {
            self.named.remove(name);
        }
    }

    fn clear(&mut self) {
        self.unnamed = None;
        self.named.clear();
    }
}

/// How a statement was prepared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Origin {
    /// By Parse: its Binds are held to its checks, limits and approvals.
    #[default]
    Parse,
    /// By SQL `PREPARE`, judged whole when prepared (its `EXECUTE` carries
    /// none of a Parse's conditions; actgate refuses such a PREPARE when
    /// it would need them).
    Sql,
}

/// One prepared statement, as actgate decided it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreparedStatement {
    pub origin: Origin,
    /// Conditions on its parameters, checked at every Bind.
    pub checks: Vec<ParamCheck>,
    /// The rules generation it was decided under: after a reload it is
    /// decided again at its next Bind or EXECUTE.
    pub generation: u64,
    /// Its text (for a SQL `PREPARE`, the message that prepared it).
    pub sql: Arc<str>,
    /// A COPY … FROM STDIN: executing it puts the server in copy-in mode,
    /// where it ignores Sync and Flush.
    pub copy_in: bool,
    /// Row limit and write cap (when enforced).
    pub limit: Option<RowLimit>,
    pub cap: Option<WriteCap>,
    /// Budgets and time windows, charged at the first Execute of a portal.
    pub controls: Option<RuntimeControls>,
    /// Approval rules it may fall under, decided at Bind.
    pub approvals: Option<Arc<[ApprovalNeed]>>,
    /// Parameter type OIDs, declared in Parse or reported by the server's
    /// ParameterDescription (to decode binary Bind values).
    pub param_types: Vec<u32>,
}

/// One bound portal: what its Execute is held to.
#[derive(Debug, Clone, Default)]
pub struct Portal {
    pub limit: Option<RowLimit>,
    pub cap: Option<WriteCap>,
    /// Budgets and time windows not yet charged (at its first Execute),
    /// with the rules it was bound under.
    pub controls: Option<(Arc<Policy>, RuntimeControls)>,
    /// Bound to a COPY … FROM STDIN.
    pub copy_in: bool,
}

impl PartialEq for Portal {
    /// The same conditions (rules compared by identity).
    fn eq(&self, other: &Portal) -> bool {
        self.limit == other.limit
            && self.cap == other.cap
            && self.copy_in == other.copy_in
            && match (&self.controls, &other.controls) {
                (None, None) => true,
                (Some((p, c)), Some((q, d))) => Arc::ptr_eq(p, q) && c == d,
                _ => false,
            }
    }
}

impl PreparedStatement {
    /// Records the parameter types the server reported for it: declared
    /// types win; the server fills in the rest.
    pub fn described(&mut self, reported: Vec<u32>) {
        for (i, oid) in reported.into_iter().enumerate() {
            match self.param_types.get_mut(i) {
                Some(t) if *t != 0 => {}
                Some(t) => *t = oid,
                None => self.param_types.push(oid),
            }
        }
    }
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
        self.prepare(
            statement,
            PreparedStatement {
                checks,
                ..PreparedStatement::default()
            },
        );
    }

    /// Records an allowed Parse with everything it is held to.
    pub fn prepare(&mut self, statement: &str, record: PreparedStatement) {
        self.statements.put(statement, record);
    }

    /// The record of `statement`.
    pub fn statement(&self, statement: &str) -> Option<&PreparedStatement> {
        self.statements.get(statement)
    }

    pub fn statement_mut(&mut self, statement: &str) -> Option<&mut PreparedStatement> {
        self.statements.get_mut(statement)
    }

    /// Puts back the record of `statement` as it was (`None`: none).
    pub fn restore_statement(&mut self, statement: &str, record: Option<PreparedStatement>) {
        match record {
            Some(r) => self.prepare(statement, r),
            None => self.closed(statement),
        }
    }

    /// The conditions a Bind of `statement` must meet.
    pub fn checks(&self, statement: &str) -> &[ParamCheck] {
        self.statements
            .get(statement)
            .map(|r| r.checks.as_slice())
            .unwrap_or_default()
    }

    /// Records a Close of a statement (or its failed Parse).
    pub fn closed(&mut self, statement: &str) {
        self.statements.remove(statement);
    }

    /// Records the effects of an allowed simple Query.
    pub fn executed(&mut self, analysis: &Analysis) {
        self.executed_in(analysis, "", 0);
    }

    /// Records what an allowed Query did to prepared statements, as
    /// PostgreSQL does it: `PREPARE` of a free name records the statement
    /// (of a taken one fails, keeping the old one and its checks),
    /// `DEALLOCATE` forgets, `DISCARD ALL` forgets all. `sql` and
    /// `generation` are the message's and its rules'.
    pub fn executed_in(&mut self, analysis: &Analysis, sql: &str, generation: u64) {
        for st in &analysis.statements {
            self.executed_statement_in(st, sql, generation);
        }
    }

    pub(super) fn executed_statement(&mut self, st: &StatementInfo) {
        self.executed_statement_in(st, "", 0);
    }

    fn executed_statement_in(&mut self, st: &StatementInfo, sql: &str, generation: u64) {
        for p in &st.prepared {
            match p {
                PreparedRef::Prepare(n) => {
                    self.statements.put_if_absent(n, || PreparedStatement {
                        origin: Origin::Sql,
                        generation,
                        sql: Arc::from(sql),
                        ..PreparedStatement::default()
                    });
                }
                PreparedRef::Deallocate(Some(n)) => self.closed(n),
                PreparedRef::Deallocate(None) => self.statements.clear(),
                PreparedRef::Execute(_) => {}
            }
        }
        if st.discards_all() {
            self.statements.clear();
        }
    }

    pub fn is_prepared(&self, statement: &str) -> bool {
        self.statements.get(statement).is_some()
    }

    /// Whether `statement` was prepared by an allowed SQL `PREPARE`.
    pub fn is_sql_prepared(&self, statement: &str) -> bool {
        self.statements
            .get(statement)
            .is_some_and(|r| r.origin == Origin::Sql)
    }

    /// Records a bound portal (replacing one of the same name).
    pub fn bind(&mut self, portal: &str, record: Portal) {
        self.portals.put(portal, record);
    }

    pub fn portal(&self, portal: &str) -> Option<&Portal> {
        self.portals.get(portal)
    }

    pub fn portal_mut(&mut self, portal: &str) -> Option<&mut Portal> {
        self.portals.get_mut(portal)
    }

    /// Records a Close of a portal (or a refused Bind of its name).
    pub fn portal_closed(&mut self, portal: &str) {
        self.portals.remove(portal);
    }

    /// Puts back the record of `portal` as it was (`None`: none).
    pub fn restore_portal(&mut self, portal: &str, record: Option<Portal>) {
        match record {
            Some(p) => self.bind(portal, p),
            None => self.portal_closed(portal),
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
