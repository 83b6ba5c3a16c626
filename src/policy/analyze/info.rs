//! What the analysis reports: statement classes, relation and column uses,
//! settings, COPY endpoints, and the [`StatementInfo`] and [`Analysis`] that
//! hold them.

use super::super::names::QualifiedName;
use super::CursorRef;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Statement classes. A statement can belong to several (a SELECT with a
/// writable CTE is also a DELETE); the first is its primary class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Read,
    Insert,
    Update,
    Delete,
    Merge,
    Truncate,
    Ddl,
    Dcl,
    Transaction,
    Session,
    Copy,
    Vacuum,
    Analyze,
    Lock,
    Listen,
    Notify,
    Prepare,
    Execute,
    Deallocate,
    Cursor,
    Call,
    Explain,
    /// Role management: CREATE/ALTER/DROP ROLE, USER and GROUP, GRANT and
    /// REVOKE of role membership, ALTER DEFAULT PRIVILEGES. Roles are
    /// cluster-wide objects; no other class implies this one.
    Roles,
    /// Handing an object to another role or running code with its owner's
    /// rights: `ALTER … OWNER TO`, `CREATE SCHEMA … AUTHORIZATION`,
    /// `SECURITY DEFINER`, a function's `SET role` (see
    /// [`super::super::ownership`]). Always on top of
    /// the statement's own class.
    Ownership,
}

impl Class {
    pub const ALL: &'static [Class] = &[
        Class::Read,
        Class::Insert,
        Class::Update,
        Class::Delete,
        Class::Merge,
        Class::Truncate,
        Class::Ddl,
        Class::Dcl,
        Class::Transaction,
        Class::Session,
        Class::Copy,
        Class::Vacuum,
        Class::Analyze,
        Class::Lock,
        Class::Listen,
        Class::Notify,
        Class::Prepare,
        Class::Execute,
        Class::Deallocate,
        Class::Cursor,
        Class::Call,
        Class::Explain,
        Class::Roles,
        Class::Ownership,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Insert => "insert",
            Class::Update => "update",
            Class::Delete => "delete",
            Class::Merge => "merge",
            Class::Truncate => "truncate",
            Class::Ddl => "ddl",
            Class::Dcl => "dcl",
            Class::Transaction => "transaction",
            Class::Session => "session",
            Class::Copy => "copy",
            Class::Vacuum => "vacuum",
            Class::Analyze => "analyze",
            Class::Lock => "lock",
            Class::Listen => "listen",
            Class::Notify => "notify",
            Class::Prepare => "prepare",
            Class::Execute => "execute",
            Class::Deallocate => "deallocate",
            Class::Cursor => "cursor",
            Class::Call => "call",
            Class::Explain => "explain",
            Class::Roles => "roles",
            Class::Ownership => "ownership",
        }
    }

    pub fn from_name(s: &str) -> Option<Class> {
        Class::ALL.iter().copied().find(|c| c.name() == s)
    }
}

/// How a statement touches a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    Read,
    Insert,
    Update,
    Delete,
    Truncate,
    Ddl,
    /// Row locks (FOR UPDATE/SHARE) and LOCK TABLE.
    Lock,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::Read => "select",
            Access::Insert => "insert",
            Access::Update => "update",
            Access::Delete => "delete",
            Access::Truncate => "truncate",
            Access::Ddl => "ddl",
            Access::Lock => "lock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationUse {
    pub name: QualifiedName,
    pub access: Access,
}

/// One place a statement uses a relation, with the equality constraints
/// its WHERE clause provably puts on it (for row scoping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// Shared by the analyses a template fills (see [`super::shape`]).
    pub relation: Arc<QualifiedName>,
    pub access: Access,
    pub pins: Vec<Pin>,
    /// For UPDATE (and ON CONFLICT DO UPDATE): the columns set and the
    /// value each gets, when evident.
    pub written: Vec<(String, Option<PinValue>)>,
    /// For INSERT: each row's columns and values, when the source is a
    /// VALUES list whose columns are known; `None` otherwise.
    pub rows: Option<Vec<Row>>,
}

/// One written row: columns with their evident values.
pub type Row = Vec<(String, Option<PinValue>)>;

/// A top-level `column = value` conjunct of the WHERE clause at the
/// relation's own query level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// Shared by the analyses a template fills.
    pub column: Arc<str>,
    pub value: PinValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinValue {
    /// A literal, as text (numbers as written, strings unquoted).
    Literal(String),
    /// A `$n` parameter (1-based), known only at Bind.
    Param(usize),
    /// `col IN (…)` or `col = ANY(ARRAY[…])`: every value must qualify.
    Set(Vec<PinValue>),
    /// `col = ANY($n)`: an array parameter (1-based), every element of
    /// which must qualify, known only at Bind.
    ParamArray(usize),
}

/// A column, or every column (`*`, `t.*`, a whole-row reference, an INSERT
/// without a column list).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnName {
    Named(String),
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnAccess {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ColumnUse {
    pub relation: QualifiedName,
    pub column: ColumnName,
    pub access: ColumnAccess,
}

/// A column reference that could belong to more than one relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AmbiguousColumn {
    pub column: String,
    /// Each relation it may belong to, with the column it would be there.
    pub candidates: Vec<(QualifiedName, ColumnName)>,
}

/// What a transaction-control statement does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionControl {
    Begin,
    Commit,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SettingAction {
    Set,
    /// A SET that can only make the session more restrictive
    /// (`default_transaction_read_only = on`, `SET SESSION
    /// CHARACTERISTICS AS TRANSACTION READ ONLY`; see
    /// [`builtin::narrows`](super::super::builtin::narrows)).
    Narrow,
    /// RESET, and `SET … TO DEFAULT`, which is the same.
    Reset,
    Show,
    Discard,
}

/// A session setting touched by SET/RESET/SHOW/DISCARD. Names are folded;
/// `all` stands for RESET ALL / DISCARD ALL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettingUse {
    pub name: String,
    pub action: SettingAction,
}

/// `current_setting($n)` (a [`SettingAction::Show`]) or `set_config($n, …)`
/// (a [`SettingAction::Set`]): the setting is named by a parameter, so it
/// is judged at Bind with the bound name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettingParam {
    /// 1-based parameter number.
    pub param: usize,
    pub action: SettingAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyDirection {
    To,
    From,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEndpoint {
    /// STDIN/STDOUT: the data travels over the client connection.
    Client,
    /// A server-side file.
    File,
    /// A server-side program.
    Program,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyInfo {
    pub direction: CopyDirection,
    pub endpoint: CopyEndpoint,
    /// psql-style inline data after the statement: never legitimate on the wire.
    pub inline_payload: bool,
}

/// Names of SQL-level prepared statements and cursors a statement creates,
/// uses or drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreparedRef {
    Prepare(String),
    Execute(String),
    Deallocate(Option<String>),
}

/// Everything the policy needs to know about one statement: its
/// [`Facts`], shared, and its relations' occurrences with their values.
///
/// A shape template ([`super::shape`]) fills a statement's literals into
/// its occurrences only: the analyses it makes share one `Facts` (read
/// through `Deref`; changed through `DerefMut`, which copies it first if
/// it is shared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementInfo {
    facts: Arc<Facts>,
    /// Every use of a relation, in order, with its WHERE pins.
    pub occurrences: Vec<Occurrence>,
}

impl Deref for StatementInfo {
    type Target = Facts;

    fn deref(&self) -> &Facts {
        &self.facts
    }
}

impl DerefMut for StatementInfo {
    fn deref_mut(&mut self) -> &mut Facts {
        let facts = Arc::make_mut(&mut self.facts);
        // Whatever changes may change what was rendered from it.
        facts.rendered_tables = Memo::default();
        facts
    }
}

/// The very records an analysis's literal-free part is made of (its
/// fingerprint, whether it has comments, each statement's [`Facts`]), held
/// so that they cannot be freed and their addresses taken by others. An
/// analysis it [`matches`](FactsKey::matches) shares them: it is the same
/// analysis, or both were filled from one template. Everything computed
/// from those alone (classes, tables, risk factors, fingerprint) is then
/// the same for both, without comparing it.
#[derive(Debug, Clone)]
pub struct FactsKey {
    fingerprint: Arc<str>,
    comments: bool,
    facts: Vec<Arc<Facts>>,
}

impl FactsKey {
    /// Whether `analysis` is made of exactly these records.
    pub fn matches(&self, analysis: &Analysis) -> bool {
        Arc::ptr_eq(&self.fingerprint, &analysis.fingerprint)
            && self.comments == analysis.comments
            && self.facts.len() == analysis.statements.len()
            && self
                .facts
                .iter()
                .zip(&analysis.statements)
                .all(|(f, s)| Arc::ptr_eq(f, &s.facts))
    }
}

/// A value computed once from the facts it sits in, on first use. It is
/// no part of their identity: every two memos compare equal.
#[derive(Debug, Clone, Default)]
pub struct Memo<T>(std::sync::OnceLock<T>);

impl<T> PartialEq for Memo<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Memo<T> {}

/// What the policy knows about one statement besides its occurrences:
/// nothing here depends on the statement's literal values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// A condition that is always true (see [`has_tautology`](super::has_tautology)).
    pub tautology: bool,
    pub classes: Vec<Class>,
    pub relations: Vec<RelationUse>,
    pub functions: Vec<QualifiedName>,
    pub columns: Vec<ColumnUse>,
    pub ambiguous: Vec<AmbiguousColumn>,
    pub row_locks: bool,
    /// An UPDATE or DELETE without a WHERE clause.
    pub missing_where: bool,
    pub settings: Vec<SettingUse>,
    /// Settings named by a parameter, judged at Bind.
    pub setting_params: Vec<SettingParam>,
    pub copy: Option<CopyInfo>,
    pub prepared: Vec<PreparedRef>,
    /// DDL on cluster-wide objects (databases, extensions, servers, …):
    /// never for an agent. Roles have their own class, [`Class::Roles`].
    pub cluster_level: bool,
    /// An anonymous code block (`DO`): arbitrary procedural code, never
    /// for an agent.
    pub code_block: bool,
    /// Two-phase commit (`PREPARE TRANSACTION`, `COMMIT`/`ROLLBACK
    /// PREPARED`): a transaction that outlives the session and holds its
    /// locks, never for an agent.
    pub two_phase: bool,
    /// The statement sends rows back (SELECT, RETURNING, FETCH, COPY TO,
    /// EXPLAIN): row limits apply to it.
    pub returns_rows: bool,
    /// DEALLOCATE, CLOSE and UNLISTEN: they only drop the session's own
    /// prepared statements, cursors and listens, and drivers send them on
    /// their own (allowed by the driver profile); MOVE too.
    pub housekeeping: bool,
    /// The cursor a DECLARE, FETCH, MOVE or CLOSE names.
    pub cursor: Option<CursorRef>,
    /// Transaction control: BEGIN (or START TRANSACTION), COMMIT (or END),
    /// or another (ROLLBACK, SAVEPOINT, SET TRANSACTION, …).
    pub transaction: Option<TransactionControl>,
    /// The statement's own classes that only wrap another statement, judged
    /// by what they wrap (its classes are in `classes` too): `cursor` of
    /// DECLARE … CURSOR FOR a query and of FETCH, `copy` of COPY … TO
    /// STDOUT, `explain` of EXPLAIN without ANALYZE, `prepare` of PREPARE
    /// and `execute` of EXECUTE. The driver profile implies them.
    pub wrappers: Vec<Class>,
    /// The statement defines rows a later statement returns: the query of
    /// a cursor (FETCH) or of a prepared statement (EXECUTE).
    pub deferred_rows: bool,
    /// `relations` as the audit log names them, sorted, once each.
    rendered_tables: Memo<Vec<String>>,
}

impl StatementInfo {
    /// Every relation the statement uses, as the audit log names them
    /// (quoted where PostgreSQL would need it), sorted, once each;
    /// rendered once per shared [`Facts`].
    pub fn tables(&self) -> &[String] {
        self.facts.rendered_tables.0.get_or_init(|| {
            let mut tables: Vec<String> =
                self.relations.iter().map(|r| r.name.to_string()).collect();
            tables.sort_unstable();
            tables.dedup();
            tables
        })
    }

    /// `DISCARD ALL`: the session's prepared statements are gone too.
    pub fn discards_all(&self) -> bool {
        self.settings
            .iter()
            .any(|s| s.action == SettingAction::Discard && s.name == "all")
    }

    pub fn primary_class(&self) -> Option<Class> {
        self.classes.first().copied()
    }

    pub(super) fn class(&mut self, c: Class) {
        if !self.classes.contains(&c) {
            self.classes.push(c);
        }
    }

    pub(super) fn wrapper(&mut self, c: Class) {
        if !self.wrappers.contains(&c) {
            self.wrappers.push(c);
        }
    }

    pub(super) fn finish(&mut self) {
        fn dedup<T: Ord + Clone>(v: &mut Vec<T>) {
            let set: BTreeSet<T> = v.drain(..).collect();
            v.extend(set);
        }
        dedup(&mut self.relations);
        dedup(&mut self.functions);
        dedup(&mut self.columns);
        dedup(&mut self.ambiguous);
        dedup(&mut self.settings);
    }
}

/// The analysis of one Query or Parse message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub statements: Vec<StatementInfo>,
    /// See [`super::super::fingerprint`]. The same for every statement
    /// of a shape, so shared by the analyses a template fills.
    pub fingerprint: Arc<str>,
    /// The text contains SQL comments.
    pub comments: bool,
}

impl Analysis {
    /// The primary class of the first statement (for logs and audit).
    pub fn primary_class(&self) -> Option<Class> {
        self.statements
            .first()
            .and_then(StatementInfo::primary_class)
    }

    /// Every relation touched, once each.
    pub fn tables(&self) -> Cow<'_, [String]> {
        if let [one] = self.statements.as_slice() {
            return Cow::Borrowed(one.tables());
        }
        let mut tables: Vec<String> = self
            .statements
            .iter()
            .flat_map(|s| s.tables().iter().cloned())
            .collect();
        tables.sort_unstable();
        tables.dedup();
        Cow::Owned(tables)
    }

    /// What identifies this analysis's facts: see [`FactsKey`].
    pub fn facts_key(&self) -> FactsKey {
        FactsKey {
            fingerprint: self.fingerprint.clone(),
            comments: self.comments,
            facts: self.statements.iter().map(|s| s.facts.clone()).collect(),
        }
    }

    /// What makes the statement risky, for the audit log.
    pub fn risk_factors(&self) -> Vec<&'static str> {
        let mut risk = BTreeSet::new();
        if self.statements.len() > 1 {
            risk.insert("multi_statement");
        }
        if self.comments {
            risk.insert("comment");
        }
        for s in &self.statements {
            for c in &s.classes {
                match c {
                    Class::Insert | Class::Update | Class::Delete | Class::Merge | Class::Copy => {
                        risk.insert("writes");
                    }
                    Class::Truncate => {
                        risk.insert("truncate");
                    }
                    Class::Ddl => {
                        risk.insert("ddl");
                    }
                    Class::Dcl | Class::Roles | Class::Ownership => {
                        risk.insert("dcl");
                    }
                    Class::Session => {
                        risk.insert("session_state");
                    }
                    _ => {}
                }
            }
            if s.missing_where {
                risk.insert("missing_where");
            }
            if s.tautology {
                risk.insert("tautology");
            }
            if s.row_locks {
                risk.insert("row_locks");
            }
            if !s.ambiguous.is_empty() {
                risk.insert("ambiguous_columns");
            }
            if s.relations
                .iter()
                .any(|r| r.name.schema == "pg_catalog" || r.name.schema == "information_schema")
            {
                risk.insert("system_catalog");
            }
        }
        risk.into_iter().collect()
    }
}
