//! SQL analysis: parse with sqlparser (PostgreSqlDialect), classify each
//! statement from its AST, and extract every relation (with how it is
//! accessed), function, column, row lock, setting and COPY endpoint.
//!
//! Pure and synchronous. Anything not understood is an error, which the
//! policy turns into a denial: the analysis handles the shapes PostgreSQL
//! accepts and refuses the rest rather than guessing.
//!
//! Relations are extracted by a scope-aware walk of the query structure
//! (FROM items, joins, CTEs with Postgres' visibility rules, set
//! operations, `TABLE x`, subqueries anywhere in expressions). Expressions
//! are traversed with sqlparser's derived visitor so that no expression
//! position is missed; nested queries met there are handed back to the
//! scope-aware walk. A final pass cross-checks the statement with the
//! visitor's own relation and function reports, so a relation in a position
//! this walker does not know fails closed.

use super::builtin;
use super::names::{QualifiedName, Resolver, fold, parts};
use super::utility::{self, Parsed};
pub use super::utility::{CursorRef, Direction};
use sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectName, Query, Select,
    SelectItem, SetExpr, Statement, TableFactor, TableWithJoins, Visit, Visitor,
};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// Bounds on the work one statement text may cause.
#[derive(Debug, Clone, Copy)]
pub struct AnalysisLimits {
    pub max_sql_bytes: usize,
    pub recursion_limit: usize,
}

impl Default for AnalysisLimits {
    fn default() -> Self {
        AnalysisLimits {
            max_sql_bytes: 256 * 1024,
            recursion_limit: 64,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    #[error("statement of {length} bytes exceeds the analysis limit of {limit} bytes")]
    TooLong { length: usize, limit: usize },
    #[error("could not parse the statement: {0}")]
    Parse(String),
    #[error("could not analyse the statement: {0} is not supported")]
    Unsupported(String),
}

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
    /// [`super::ownership`]). Always on top of
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
    pub relation: QualifiedName,
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
    pub column: String,
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
    /// [`builtin::narrows`](super::builtin::narrows)).
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

/// Everything the policy needs to know about one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementInfo {
    /// A condition that is always true (see [`has_tautology`]).
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
    /// Every use of a relation, in order, with its WHERE pins.
    pub occurrences: Vec<Occurrence>,
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
}

impl StatementInfo {
    /// `DISCARD ALL`: the session's prepared statements are gone too.
    pub fn discards_all(&self) -> bool {
        self.settings
            .iter()
            .any(|s| s.action == SettingAction::Discard && s.name == "all")
    }

    pub fn primary_class(&self) -> Option<Class> {
        self.classes.first().copied()
    }

    fn class(&mut self, c: Class) {
        if !self.classes.contains(&c) {
            self.classes.push(c);
        }
    }

    fn wrapper(&mut self, c: Class) {
        if !self.wrappers.contains(&c) {
            self.wrappers.push(c);
        }
    }

    fn finish(&mut self) {
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
    /// See [`super::fingerprint`].
    pub fingerprint: String,
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
    pub fn tables(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .statements
            .iter()
            .flat_map(|s| s.relations.iter().map(|r| r.name.to_string()))
            .collect();
        set.into_iter().collect()
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

/// Parses and analyses `sql`.
///
/// Deep expression trees recurse in the visitor and in `Drop`; callers
/// must run this where the stack is large enough for `limits.max_sql_bytes`
/// (the proxy runs long statements on threads with large stacks).
pub fn analyze(
    sql: &str,
    resolver: &Resolver<'_>,
    limits: AnalysisLimits,
) -> Result<Analysis, AnalysisError> {
    if sql.len() > limits.max_sql_bytes {
        return Err(AnalysisError::TooLong {
            length: sql.len(),
            limit: limits.max_sql_bytes,
        });
    }
    let statements = utility::parse(sql, limits.recursion_limit)?;
    let (fingerprint, comments) = super::fingerprint::fingerprint_and_comments(sql);
    let mut analysis = Analysis {
        statements: Vec::new(),
        fingerprint,
        comments,
    };
    for parsed in &statements {
        let statement = match parsed {
            Parsed::Sql(statement) => &**statement,
            Parsed::Utility(u) => {
                analysis.statements.push(u.info());
                continue;
            }
        };
        let mut walker = Walker {
            resolver,
            info: StatementInfo::default(),
            table_functions: BTreeSet::new(),
            cte_refs: BTreeSet::new(),
            queries_walked: 0,
        };
        walker.statement(statement, &Env::default())?;
        walker.cross_check(statement)?;
        walker.info.returns_rows = returns_rows(statement);
        walker.info.tautology = has_tautology(statement);
        walker.info.finish();
        analysis.statements.push(walker.info);
    }
    Ok(analysis)
}

/// Whether a condition in the statement is true whatever the data: equal
/// operands (`1 = 1`, `'a' = 'a'`, `id = id`) or `OR TRUE`, the shape of a
/// classic injection. A risk signal, never a denial by itself.
fn has_tautology(st: &Statement) -> bool {
    use sqlparser::ast::{BinaryOperator, Value};
    use std::ops::ControlFlow;
    let always_true = |e: &Expr| match e {
        Expr::Value(v) => matches!(v.value, Value::Boolean(true)),
        Expr::BinaryOp { left, op, right } => {
            *op == BinaryOperator::Eq
                && left == right
                && matches!(
                    **left,
                    Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
                )
        }
        _ => false,
    };
    let found = sqlparser::ast::visit_expressions(st, |e| match e {
        Expr::BinaryOp { left, op, right }
            if *op == BinaryOperator::Or && (always_true(left) || always_true(right)) =>
        {
            ControlFlow::Break(())
        }
        e if always_true(e) && !matches!(e, Expr::Value(_)) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

fn returns_rows(st: &Statement) -> bool {
    match st {
        Statement::Query(_)
        | Statement::Fetch { .. }
        | Statement::Explain { .. }
        | Statement::ShowVariable { .. }
        | Statement::Execute { .. } => true,
        Statement::Insert(i) => i.returning.is_some(),
        Statement::Update(u) => u.returning.is_some(),
        Statement::Delete(d) => d.returning.is_some(),
        Statement::Copy { to, .. } => *to,
        _ => false,
    }
}

/// Whether an EXPLAIN runs its statement: `ANALYZE`, or an `ANALYZE`
/// option that is not explicitly false.
fn explain_runs(analyze: bool, options: Option<&[ast::UtilityOption]>) -> bool {
    analyze
        || options.unwrap_or_default().iter().any(|o| {
            o.name.value.eq_ignore_ascii_case("analyze")
                && !o.arg.as_ref().is_some_and(|a| {
                    let text = match a {
                        Expr::Value(v) => match &v.value {
                            ast::Value::Boolean(b) => b.to_string(),
                            ast::Value::Number(n, _) => n.clone(),
                            ast::Value::SingleQuotedString(s) => s.clone(),
                            _ => return false,
                        },
                        Expr::Identifier(i) => i.value.clone(),
                        _ => return false,
                    };
                    matches!(
                        text.to_ascii_lowercase().as_str(),
                        "false" | "off" | "0" | "no"
                    )
                })
        })
}

/// The statements PostgreSQL's PREPARE accepts.
fn preparable(st: &Statement) -> bool {
    matches!(
        st,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update(_)
            | Statement::Delete(_)
            | Statement::Merge(_)
    )
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, AnalysisError> {
    Err(AnalysisError::Unsupported(what.into()))
}

/// CTE names visible at a point of a query.
#[derive(Debug, Clone, Default)]
struct Env {
    ctes: Vec<String>,
}

impl Env {
    fn with(&self, names: impl IntoIterator<Item = String>) -> Env {
        let mut ctes = self.ctes.clone();
        ctes.extend(names);
        Env { ctes }
    }

    fn has(&self, name: &str) -> bool {
        self.ctes.iter().any(|c| c == name)
    }
}

/// What a FROM item contributes to column resolution.
#[derive(Debug, Clone)]
enum SourceKind {
    /// A base relation.
    Table(QualifiedName),
    /// An aliased join: its columns come from these relations.
    Group(Vec<QualifiedName>),
    /// A derived table, CTE or function: its own columns (if known).
    Other(Option<Vec<String>>),
}

#[derive(Debug, Clone)]
struct Source {
    alias: String,
    kind: SourceKind,
    /// Column aliases on a table (`customers AS c(a, b)`): they rename
    /// the table's first columns, whose own names are then hidden.
    renames: Vec<String>,
    /// For derived tables: the base relations read inside (row locks on
    /// the derived table lock their rows).
    bases: Vec<QualifiedName>,
    /// Index into `StatementInfo::occurrences` for a base table.
    occurrence: Option<usize>,
}

impl Source {
    fn new(alias: String, kind: SourceKind) -> Source {
        Source {
            alias,
            kind,
            renames: Vec::new(),
            bases: Vec::new(),
            occurrence: None,
        }
    }
}

/// The FROM items visible at one query level, and the enclosing levels.
struct Scope<'p> {
    sources: Vec<Source>,
    parent: Option<&'p Scope<'p>>,
}

impl<'p> Scope<'p> {
    fn new(parent: Option<&'p Scope<'p>>) -> Self {
        Scope {
            sources: Vec::new(),
            parent,
        }
    }

    fn levels(&self) -> impl Iterator<Item = &Scope<'p>> {
        std::iter::successors(Some(self), |s| s.parent)
    }

    /// The FROM items so far, visible to a LATERAL item or function.
    fn lateral(&self) -> Scope<'p> {
        Scope {
            sources: self.sources.clone(),
            parent: self.parent,
        }
    }

    fn find_alias(&self, alias: &str) -> Option<&Source> {
        self.levels()
            .flat_map(|l| l.sources.iter().rev())
            .find(|s| s.alias == alias)
    }
}

struct Walker<'r> {
    resolver: &'r Resolver<'r>,
    info: StatementInfo,
    /// Names used as table functions (the visitor reports them as relations).
    table_functions: BTreeSet<Vec<String>>,
    /// Names the walk resolved to CTEs.
    cte_refs: BTreeSet<Vec<String>>,
    /// Query nodes the walk entered (cross-checked with the visitor's count).
    queries_walked: usize,
}

impl Walker<'_> {
    fn relation(
        &mut self,
        name: &ObjectName,
        access: Access,
    ) -> Result<QualifiedName, AnalysisError> {
        let q = self
            .resolver
            .relation(name)
            .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
        self.info.relations.push(RelationUse {
            name: q.clone(),
            access,
        });
        Ok(q)
    }

    fn function(&mut self, name: &ObjectName) -> Result<(), AnalysisError> {
        let q = self
            .resolver
            .function(name)
            .map_err(|e| AnalysisError::Unsupported(format!("function name {}", e.0)))?;
        self.info.functions.push(q);
        Ok(())
    }

    fn column(&mut self, relation: &QualifiedName, column: ColumnName, access: ColumnAccess) {
        self.info.columns.push(ColumnUse {
            relation: relation.clone(),
            column,
            access,
        });
    }

    /// The rows of an INSERT … VALUES with their columns (by the column
    /// list, or the catalog's order for a positional INSERT).
    fn insert_rows(
        &self,
        ins: &ast::Insert,
        target: &QualifiedName,
    ) -> Result<Option<Vec<Row>>, AnalysisError> {
        let Some(source) = &ins.source else {
            return Ok(None);
        };
        let SetExpr::Values(values) = source.body.as_ref() else {
            return Ok(None);
        };
        let columns: Vec<String> = if ins.columns.is_empty() {
            match self.resolver.catalog.and_then(|c| c.columns(target)) {
                Some(cols) if !cols.is_empty() => cols.to_vec(),
                _ => return Ok(None),
            }
        } else {
            ins.columns
                .iter()
                .map(first_part)
                .collect::<Result<_, _>>()?
        };
        let mut rows = Vec::new();
        for row in &values.rows {
            if row.content.len() > columns.len() {
                return Ok(None);
            }
            rows.push(
                columns
                    .iter()
                    .zip(row.content.iter())
                    .map(|(c, e)| (c.clone(), pin_value(e)))
                    .collect(),
            );
        }
        Ok(Some(rows))
    }

    /// Records a use of a relation; returns its index.
    fn occurrence(&mut self, relation: &QualifiedName, access: Access) -> usize {
        self.info.occurrences.push(Occurrence {
            relation: relation.clone(),
            access,
            pins: Vec::new(),
            written: Vec::new(),
            rows: None,
        });
        self.info.occurrences.len() - 1
    }

    /// Attaches the `column = value` conjuncts at the top of `selection`
    /// to the relations of this query level (only AND counts: OR, NOT and
    /// anything else pins nothing).
    fn pin(&mut self, selection: &Expr, scope: &Scope<'_>) {
        let mut conjuncts = Vec::new();
        flatten_and(selection, &mut conjuncts);
        for c in conjuncts {
            let (column, value) = match c {
                Expr::BinaryOp {
                    left,
                    op: ast::BinaryOperator::Eq,
                    right,
                } => match (pin_value(left), pin_value(right)) {
                    (None, Some(v)) => (left.as_ref(), v),
                    (Some(v), None) => (right.as_ref(), v),
                    _ => continue,
                },
                Expr::In {
                    expr,
                    target: ast::InTarget::List(list),
                    negated: false,
                    ..
                } => match list.iter().map(pin_value).collect::<Option<Vec<_>>>() {
                    Some(values) if !values.is_empty() => (expr.as_ref(), PinValue::Set(values)),
                    _ => continue,
                },
                Expr::AnyOp {
                    left,
                    compare_op: ast::BinaryOperator::Eq,
                    right,
                    ..
                } => match any_array(right) {
                    Some(value) => (left.as_ref(), value),
                    None => continue,
                },
                _ => continue,
            };
            let Some((source, name)) = self.pinned_source(column, scope) else {
                continue;
            };
            let (Some(idx), SourceKind::Table(t)) = (source.occurrence, &source.kind) else {
                continue;
            };
            if let Some(ColumnName::Named(actual)) = self.table_column(&source, t, &name) {
                self.info.occurrences[idx].pins.push(Pin {
                    column: actual,
                    value,
                });
            }
        }
    }

    /// The FROM item of this level (not outer ones) a column reference in a
    /// pin denotes, with the column's visible name.
    fn pinned_source(&self, e: &Expr, scope: &Scope<'_>) -> Option<(Source, String)> {
        let e = strip_nested(e);
        match e {
            Expr::Identifier(i) => {
                let name = fold(i);
                let having: Vec<&Source> = scope
                    .sources
                    .iter()
                    .filter(|s| match &s.kind {
                        SourceKind::Table(t) => self.table_column(s, t, &name).is_some(),
                        SourceKind::Group(_) => true,
                        SourceKind::Other(cols) => cols.as_ref().is_none_or(|c| c.contains(&name)),
                    })
                    .collect();
                match having.as_slice() {
                    [one] => Some(((*one).clone(), name)),
                    _ => None,
                }
            }
            Expr::CompoundIdentifier(is) if is.len() == 2 => {
                let alias = fold(&is[0]);
                let src = scope.sources.iter().rev().find(|s| s.alias == alias)?;
                Some((src.clone(), fold(&is[1])))
            }
            _ => None,
        }
    }

    /// `set_config(name, value, is_local)` changes a setting like SET: the
    /// name must be a literal so the setting rules can judge it. Called for
    /// every call of a function `name` with `args`, in expressions and as a
    /// table function in FROM alike.
    fn set_config(
        &mut self,
        name: &ObjectName,
        args: &[FunctionArg],
        scope: &Scope<'_>,
    ) -> Result<(), AnalysisError> {
        let Ok(q) = self.resolver.function(name) else {
            return Ok(());
        };
        let action = match (q.schema.as_str(), q.name.as_str()) {
            ("pg_catalog", "set_config") => SettingAction::Set,
            // current_setting reads a setting: judged like SHOW.
            ("pg_catalog", "current_setting") => SettingAction::Show,
            _ => return Ok(()),
        };
        let first = args.first();
        let literal = match first {
            Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => {
                    Some(s.clone())
                }
                _ => None,
            },
            _ => None,
        };
        let Some(name) = literal else {
            if let Some(param) = first.and_then(text_param) {
                // The bound name is judged at Bind like this literal form.
                self.info.class(Class::Session);
                self.info
                    .setting_params
                    .push(SettingParam { param, action });
                return Ok(());
            }
            if action == SettingAction::Show && first.is_some_and(|a| listed_setting(a, scope)) {
                // Reads the `setting` of the pg_settings row it names: the
                // FROM clause reads the relation, and a column rule on it
                // covers the value too.
                self.column(
                    &QualifiedName::new("pg_catalog", "pg_settings"),
                    ColumnName::Named("setting".into()),
                    ColumnAccess::Read,
                );
                return Ok(());
            }
            return unsupported(format!(
                "{} with a setting name that is not a literal",
                q.name
            ));
        };
        self.info.class(Class::Session);
        self.info.settings.push(SettingUse {
            name: normalise_setting(&name.trim().to_ascii_lowercase()),
            action,
        });
        Ok(())
    }

    /// A whole schema as the object of DDL: recorded as `schema.*`, which
    /// only a `[schemas.<name>]` rule with `ddl` allows.
    fn schema_object(&mut self, name: &ObjectName) -> Result<(), AnalysisError> {
        let p =
            parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("schema name {name}")))?;
        let [schema] = p.as_slice() else {
            return unsupported(format!("schema name {name}"));
        };
        self.info.relations.push(RelationUse {
            name: QualifiedName::new(schema.clone(), "*"),
            access: Access::Ddl,
        });
        Ok(())
    }

    // ----- statements -------------------------------------------------

    fn statement(&mut self, st: &Statement, env: &Env) -> Result<(), AnalysisError> {
        self.statement_classes(st, env)?;
        // After the statement's own class, which stays its primary one.
        if super::ownership::hands_over(st) {
            self.info.class(Class::Ownership);
        }
        Ok(())
    }

    fn statement_classes(&mut self, st: &Statement, env: &Env) -> Result<(), AnalysisError> {
        match st {
            Statement::Query(q) => {
                self.info.class(Class::Read);
                self.query(q, None, env)
            }
            Statement::Insert(ins) => self.insert(ins, env),
            Statement::Update(u) => self.update(u, env),
            Statement::Delete(d) => self.delete(d, env),
            Statement::Merge(m) => self.merge(m, env),
            Statement::Truncate(t) => {
                self.info.class(Class::Truncate);
                for target in &t.table_names {
                    self.relation(&target.name, Access::Truncate)?;
                }
                Ok(())
            }
            Statement::Copy {
                source,
                to,
                target,
                payload,
                ..
            } => self.copy(source, *to, target, payload.is_some(), env),
            Statement::Explain {
                analyze,
                statement,
                options,
                ..
            } => {
                self.info.class(Class::Explain);
                // EXPLAIN ANALYZE runs the statement: its class stays one
                // the agent must have.
                if !explain_runs(*analyze, options.as_deref()) {
                    self.info.wrapper(Class::Explain);
                }
                self.statement(statement, env)
            }
            Statement::Prepare {
                name, statement, ..
            } => {
                self.info.class(Class::Prepare);
                self.info.prepared.push(PreparedRef::Prepare(fold(name)));
                if preparable(statement) {
                    self.info.wrapper(Class::Prepare);
                    self.info.deferred_rows = returns_rows(statement);
                }
                self.statement(statement, env)
            }
            Statement::Execute {
                name,
                parameters,
                immediate,
                into,
                using,
                output,
                default,
                ..
            } => {
                if *immediate || !into.is_empty() || !using.is_empty() || *output || *default {
                    return unsupported("this form of EXECUTE");
                }
                self.info.class(Class::Execute);
                // Runs a statement judged when it was prepared.
                self.info.wrapper(Class::Execute);
                let Some(name) = name.as_ref().and_then(parts) else {
                    return unsupported("EXECUTE without a statement name");
                };
                self.info
                    .prepared
                    .push(PreparedRef::Execute(name.join(".")));
                let scope = Scope::new(None);
                for p in parameters {
                    self.expr(p, &scope, env)?;
                }
                Ok(())
            }
            Statement::Deallocate { name, .. } => {
                self.info.class(Class::Deallocate);
                self.info.housekeeping = true;
                let n = fold(name);
                self.info.prepared.push(PreparedRef::Deallocate(
                    (!(name.quote_style.is_none() && n == "all")).then_some(n),
                ));
                Ok(())
            }
            Statement::Declare { stmts, .. } => {
                self.info.class(Class::Cursor);
                for d in stmts {
                    if let Some(q) = &d.for_query {
                        self.info.class(Class::Read);
                        self.info.wrapper(Class::Cursor);
                        self.info.deferred_rows = true;
                        self.query(q, None, env)?;
                    }
                }
                if let [d] = stmts.as_slice()
                    && let [name] = d.names.as_slice()
                {
                    self.info.cursor = Some(CursorRef::Declare {
                        name: fold(name),
                        scroll: d.scroll == Some(true),
                        hold: d.hold == Some(true),
                    });
                }
                Ok(())
            }
            Statement::Fetch { into, .. } => {
                if into.is_some() {
                    return unsupported("FETCH … INTO");
                }
                // Reads a cursor whose query was judged at DECLARE.
                self.info.class(Class::Cursor);
                self.info.wrapper(Class::Cursor);
                Ok(())
            }
            Statement::Close { cursor } => {
                self.info.class(Class::Cursor);
                self.info.housekeeping = true;
                self.info.cursor = Some(CursorRef::Close(match cursor {
                    ast::CloseCursor::All => None,
                    ast::CloseCursor::Specific { name } => Some(fold(name)),
                }));
                Ok(())
            }
            Statement::Call(f) => {
                self.info.class(Class::Call);
                self.function(&f.name)?;
                let scope = Scope::new(None);
                self.function_args(&f.args, &scope, env)
            }
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. } => {
                self.info.class(Class::Transaction);
                self.info.transaction = Some(match st {
                    Statement::StartTransaction { .. } => TransactionControl::Begin,
                    Statement::Commit { chain: false, .. } => TransactionControl::Commit,
                    _ => TransactionControl::Other,
                });
                Ok(())
            }
            Statement::Set(set) => self.set(set, env),
            Statement::Reset(r) => {
                self.info.class(Class::Session);
                let name = match &r.reset {
                    ast::Reset::ALL => "all".to_owned(),
                    ast::Reset::SessionAuthorization => "session_authorization".to_owned(),
                    ast::Reset::ConfigurationParameter(n) => setting_name(n)?,
                };
                self.info.settings.push(SettingUse {
                    name,
                    action: SettingAction::Reset,
                });
                Ok(())
            }
            Statement::ShowVariable { variable } => {
                self.info.class(Class::Session);
                let words: Vec<String> = variable
                    .iter()
                    .map(|i| i.value.to_ascii_lowercase())
                    .collect();
                let spaced = words.join(" ");
                // Multi-word forms are SQL-standard spellings; any other
                // multi-part name is a dotted custom setting.
                let name = match spaced.as_str() {
                    "time zone" | "transaction isolation level" | "session authorization" => {
                        normalise_setting(&spaced)
                    }
                    _ => words.join("."),
                };
                self.info.settings.push(SettingUse {
                    name,
                    action: SettingAction::Show,
                });
                Ok(())
            }
            Statement::Discard { object_type } => {
                self.info.class(Class::Session);
                self.info.settings.push(SettingUse {
                    name: object_type.to_string().to_ascii_lowercase(),
                    action: SettingAction::Discard,
                });
                Ok(())
            }
            Statement::Analyze(a) => {
                self.info.class(Class::Analyze);
                if let Some(t) = &a.table_name {
                    self.relation(t, Access::Read)?;
                }
                Ok(())
            }
            Statement::Vacuum(v) => {
                self.info.class(Class::Vacuum);
                if let Some(t) = &v.table_name {
                    self.relation(t, Access::Read)?;
                }
                Ok(())
            }
            Statement::Lock(l) => {
                self.info.class(Class::Lock);
                for t in &l.tables {
                    self.relation(&t.name, Access::Lock)?;
                }
                Ok(())
            }
            Statement::LISTEN { .. } => {
                self.info.class(Class::Listen);
                Ok(())
            }
            Statement::UNLISTEN { .. } => {
                self.info.class(Class::Listen);
                self.info.housekeeping = true;
                Ok(())
            }
            Statement::NOTIFY { .. } => {
                self.info.class(Class::Notify);
                Ok(())
            }
            Statement::Grant(_) | Statement::Revoke(_) => {
                self.info.class(Class::Dcl);
                self.ddl_functions(st)
            }
            Statement::AlterDefaultPrivileges(_) => {
                self.info.class(Class::Dcl);
                self.info.class(Class::Roles);
                self.ddl_functions(st)
            }
            Statement::GrantRole(_)
            | Statement::RevokeRole(_)
            | Statement::CreateRole(_)
            | Statement::AlterRole { .. }
            | Statement::CreateUser(_)
            | Statement::AlterUser(_) => {
                self.info.class(Class::Roles);
                self.ddl_functions(st)
            }
            Statement::CreatePolicy(ast::CreatePolicy { table_name, .. })
            | Statement::AlterPolicy(ast::AlterPolicy { table_name, .. })
            | Statement::DropPolicy(ast::DropPolicy { table_name, .. }) => {
                self.info.class(Class::Dcl);
                self.relation(table_name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            Statement::CreateTable(ct) => {
                self.info.class(Class::Ddl);
                self.relation(&ct.name, Access::Ddl)?;
                if let Some(q) = &ct.query {
                    self.info.class(Class::Read);
                    self.query(q, None, env)?;
                }
                self.ddl_functions(st)
            }
            Statement::CreateView(v) => {
                self.info.class(Class::Ddl);
                self.relation(&v.name, Access::Ddl)?;
                self.query(&v.query, None, env)?;
                self.ddl_functions(st)
            }
            Statement::CreateIndex(ci) => {
                self.info.class(Class::Ddl);
                self.relation(&ci.table_name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            Statement::AlterTable(at) => {
                self.info.class(Class::Ddl);
                self.relation(&at.name, Access::Ddl)?;
                self.ddl_functions(st)
            }
            Statement::Drop {
                object_type, names, ..
            } => {
                use ast::ObjectType as O;
                if matches!(object_type, O::Role | O::User | O::Group) {
                    self.info.class(Class::Roles);
                    return Ok(());
                }
                self.info.class(Class::Ddl);
                match object_type {
                    O::Table
                    | O::View
                    | O::MaterializedView
                    | O::ForeignTable
                    | O::Index
                    | O::Sequence
                    | O::Type
                    | O::Collation => {
                        for n in names {
                            self.relation(n, Access::Ddl)?;
                        }
                    }
                    O::Schema => {
                        for n in names {
                            self.schema_object(n)?;
                        }
                    }
                    _ => self.info.cluster_level = true,
                }
                Ok(())
            }
            Statement::CreateSchema { schema_name, .. } => {
                self.info.class(Class::Ddl);
                match schema_name {
                    ast::SchemaName::Simple(n) | ast::SchemaName::NamedAuthorization(n, _) => {
                        self.schema_object(n)
                    }
                    ast::SchemaName::UnnamedAuthorization(_) => {
                        self.info.cluster_level = true;
                        Ok(())
                    }
                }
            }
            Statement::CreateDatabase { .. }
            | Statement::CreateExtension(_)
            | Statement::DropExtension(_)
            | Statement::CreateServer(_)
            | Statement::CreateForeignDataWrapper(_)
            | Statement::CreateUserMapping(_) => {
                self.info.class(Class::Ddl);
                self.info.cluster_level = true;
                Ok(())
            }
            Statement::Comment { .. }
            | Statement::CreateFunction(_)
            | Statement::CreateProcedure { .. }
            | Statement::CreateTrigger(_)
            | Statement::DropTrigger(_)
            | Statement::DropFunction(_)
            | Statement::DropProcedure { .. }
            | Statement::CreateSequence { .. }
            | Statement::CreateType { .. }
            | Statement::CreateDomain(_)
            | Statement::DropDomain(_)
            | Statement::AlterSchema(_)
            | Statement::AlterIndex { .. }
            | Statement::AlterView(_)
            | Statement::AlterType(_)
            | Statement::AlterFunction(_)
            | Statement::AlterTrigger(_)
            | Statement::CreateRule(_)
            | Statement::DropRule(_)
            | Statement::CreateAggregate(_)
            | Statement::CreateOperator(_)
            | Statement::CreateCollation(_)
            | Statement::CreateTextSearch(_)
            | Statement::AlterTextSearch(_)
            | Statement::AlterCollation(_)
            | Statement::AlterOperator(_)
            | Statement::DropOperator(_)
            | Statement::CreateForeignTable(_) => {
                self.info.class(Class::Ddl);
                self.ddl_functions(st)
            }
            other => unsupported(statement_kind(other)),
        }
    }

    /// DDL carries expressions (defaults, checks, index expressions): the
    /// class gate decides, but functions in them are still recorded.
    fn ddl_functions(&mut self, st: &Statement) -> Result<(), AnalysisError> {
        let mut v = FunctionCollector { found: Vec::new() };
        let _ = st.visit(&mut v);
        for f in v.found {
            self.function(&f)?;
        }
        Ok(())
    }

    fn set(&mut self, set: &ast::Set, env: &Env) -> Result<(), AnalysisError> {
        self.info.class(Class::Session);
        let scope = Scope::new(None);
        let push = |this: &mut Self, name: String| {
            this.info.settings.push(SettingUse {
                name,
                action: SettingAction::Set,
            });
        };
        let assign = |this: &mut Self, name: String, values: &[Expr]| {
            let action = set_action(&name, values);
            this.info.settings.push(SettingUse { name, action });
        };
        match set {
            ast::Set::SingleAssignment {
                variable, values, ..
            } => {
                assign(self, setting_name(variable)?, values);
                for v in values {
                    self.setting_value(v, &scope, env)?;
                }
            }
            ast::Set::ParenthesizedAssignments { variables, values } => {
                for v in variables {
                    push(self, setting_name(v)?);
                }
                for v in values {
                    self.setting_value(v, &scope, env)?;
                }
            }
            ast::Set::MultipleAssignments { assignments } => {
                for a in assignments {
                    assign(self, setting_name(&a.name)?, std::slice::from_ref(&a.value));
                    self.setting_value(&a.value, &scope, env)?;
                }
            }
            ast::Set::SetRole { .. } => push(self, "role".into()),
            ast::Set::SetSessionAuthorization(_) => push(self, "session_authorization".into()),
            ast::Set::SetTimeZone { value, .. } => {
                push(self, "timezone".into());
                self.setting_value(value, &scope, env)?;
            }
            ast::Set::SetNames { .. } | ast::Set::SetNamesDefault {} => {
                push(self, "client_encoding".into())
            }
            // Every PostgreSQL form of SET TRANSACTION and SET SESSION
            // CHARACTERISTICS is read by super::utility first.
            other => return unsupported(format!("SET form {other}")),
        }
        Ok(())
    }

    /// `SET x = value`: bare words are values, not column references.
    fn setting_value(
        &mut self,
        v: &Expr,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        match v {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => Ok(()),
            other => self.expr(other, scope, env),
        }
    }

    fn insert(&mut self, ins: &ast::Insert, env: &Env) -> Result<(), AnalysisError> {
        if ins.or.is_some()
            || ins.ignore
            || ins.overwrite
            || ins.partitioned.is_some()
            || !ins.after_columns.is_empty()
            || ins.replace_into
            || ins.priority.is_some()
            || ins.insert_alias.is_some()
            || ins.settings.is_some()
            || ins.format_clause.is_some()
            || !ins.assignments.is_empty()
            || ins.output.is_some()
            || ins.multi_table_insert_type.is_some()
        {
            return unsupported("this form of INSERT");
        }
        self.info.class(Class::Insert);
        let ast::TableObject::TableName(name) = &ins.table else {
            return unsupported("INSERT into a table function");
        };
        let target = self.relation(name, Access::Insert)?;
        let insert_idx = self.occurrence(&target, Access::Insert);
        self.info.occurrences[insert_idx].rows = self.insert_rows(ins, &target)?;
        if ins.columns.is_empty() {
            self.column(&target, ColumnName::All, ColumnAccess::Write);
        }
        for c in &ins.columns {
            let col = first_part(c)?;
            self.column(&target, ColumnName::Named(col), ColumnAccess::Write);
        }
        if let Some(q) = &ins.source {
            self.query(q, None, env)?;
        }
        let alias = ins
            .table_alias
            .as_ref()
            .map(|a| fold(&a.alias))
            .unwrap_or_else(|| target.name.clone());
        let mut scope = Scope::new(None);
        scope
            .sources
            .push(Source::new(alias, SourceKind::Table(target.clone())));
        match &ins.on {
            None => {}
            Some(ast::OnInsert::OnConflict(oc)) => {
                if let Some(ast::ConflictTarget::Columns { columns: cols, .. }) =
                    &oc.conflict_target
                {
                    for c in cols {
                        self.column(&target, ColumnName::Named(fold(c)), ColumnAccess::Read);
                    }
                }
                if let ast::OnConflictAction::DoUpdate(du) = &oc.action {
                    self.info.class(Class::Update);
                    self.info.relations.push(RelationUse {
                        name: target.clone(),
                        access: Access::Update,
                    });
                    let idx = self.occurrence(&target, Access::Update);
                    scope.sources[0].occurrence = Some(idx);
                    scope.sources.push(Source::new(
                        "excluded".into(),
                        SourceKind::Table(target.clone()),
                    ));
                    self.assignments(&target, &du.assignments, &scope, env)?;
                    self.info.occurrences[idx].written = written_values(&du.assignments)?;
                    if let Some(w) = &du.selection {
                        self.expr(w, &scope, env)?;
                        self.pin(w, &scope);
                    }
                }
            }
            Some(_) => return unsupported("ON DUPLICATE KEY"),
        }
        if let Some(items) = &ins.returning {
            self.select_items(items, &scope, env)?;
        }
        Ok(())
    }

    fn assignments(
        &mut self,
        target: &QualifiedName,
        assignments: &[ast::Assignment],
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        for a in assignments {
            let names: Vec<&ObjectName> = match &a.target {
                ast::AssignmentTarget::ColumnName(n) => vec![n],
                ast::AssignmentTarget::Tuple(ns) => ns.iter().collect(),
            };
            for n in names {
                // `SET col.field = …` assigns to `col`.
                let col = first_part(n)?;
                self.column(target, ColumnName::Named(col), ColumnAccess::Write);
            }
            self.expr(&a.value, scope, env)?;
        }
        Ok(())
    }

    fn update(&mut self, u: &ast::Update, env: &Env) -> Result<(), AnalysisError> {
        if u.on_cluster.is_some()
            || u.output.is_some()
            || u.or.is_some()
            || !u.order_by.is_empty()
            || u.limit.is_some()
            || u.settings.is_some()
            || !u.table.joins.is_empty()
        {
            return unsupported("this form of UPDATE");
        }
        self.info.class(Class::Update);
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &u.table.relation
        else {
            return unsupported("UPDATE of something other than a table");
        };
        let (target, occurrence, mut scope) = self.dml_target(name, alias, Access::Update)?;
        match &u.from {
            None => {}
            Some(ast::UpdateTableFromKind::AfterSet(from)) => {
                for twj in from {
                    self.add_from_item(twj, &mut scope, env)?;
                }
            }
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return unsupported("UPDATE FROM … SET");
            }
        }
        self.assignments(&target, &u.assignments, &scope, env)?;
        self.info.occurrences[occurrence].written = written_values(&u.assignments)?;
        self.dml_tail(u.selection.as_ref(), u.returning.as_deref(), &scope, env)
    }

    fn delete(&mut self, d: &ast::Delete, env: &Env) -> Result<(), AnalysisError> {
        if !d.tables.is_empty()
            || d.on_cluster.is_some()
            || d.output.is_some()
            || !d.order_by.is_empty()
            || d.limit.is_some()
            || d.settings.is_some()
        {
            return unsupported("this form of DELETE");
        }
        self.info.class(Class::Delete);
        let ast::FromTable::WithFromKeyword(from) = &d.from else {
            return unsupported("DELETE without FROM");
        };
        let [target_item] = from.as_slice() else {
            return unsupported("DELETE from several tables");
        };
        if !target_item.joins.is_empty() {
            return unsupported("DELETE from a join");
        }
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &target_item.relation
        else {
            return unsupported("DELETE from something other than a table");
        };
        let (_, _, mut scope) = self.dml_target(name, alias, Access::Delete)?;
        if let Some(using) = &d.using {
            for twj in using {
                self.add_from_item(twj, &mut scope, env)?;
            }
        }
        self.dml_tail(d.selection.as_ref(), d.returning.as_deref(), &scope, env)
    }

    /// The target of an UPDATE or DELETE: the relation, its use, and a
    /// scope holding it under its alias.
    fn dml_target(
        &mut self,
        name: &ObjectName,
        alias: &Option<ast::TableAlias>,
        access: Access,
    ) -> Result<(QualifiedName, usize, Scope<'static>), AnalysisError> {
        let target = self.relation(name, access)?;
        let occurrence = self.occurrence(&target, access);
        let mut source = Source::new(
            alias
                .as_ref()
                .map(|a| fold(&a.name))
                .unwrap_or_else(|| target.name.clone()),
            SourceKind::Table(target.clone()),
        );
        source.occurrence = Some(occurrence);
        let mut scope = Scope::new(None);
        scope.sources.push(source);
        Ok((target, occurrence, scope))
    }

    /// WHERE (pinning the target's scope) and RETURNING of UPDATE/DELETE.
    fn dml_tail(
        &mut self,
        selection: Option<&Expr>,
        returning: Option<&[SelectItem]>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        match selection {
            Some(w) => {
                self.expr(w, scope, env)?;
                self.pin(w, scope);
            }
            None => self.info.missing_where = true,
        }
        if let Some(items) = returning {
            self.select_items(items, scope, env)?;
        }
        Ok(())
    }

    fn merge(&mut self, m: &ast::Merge, env: &Env) -> Result<(), AnalysisError> {
        if m.output.is_some() {
            return unsupported("MERGE … OUTPUT");
        }
        self.info.class(Class::Merge);
        let TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } = &m.table
        else {
            return unsupported("MERGE into something other than a table");
        };
        let target = self
            .resolver
            .relation(name)
            .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
        let mut scope = Scope::new(None);
        scope.sources.push(Source::new(
            alias
                .as_ref()
                .map(|a| fold(&a.name))
                .unwrap_or_else(|| target.name.clone()),
            SourceKind::Table(target.clone()),
        ));
        self.info.relations.push(RelationUse {
            name: target.clone(),
            access: Access::Read,
        });
        let source = TableWithJoins {
            relation: m.source.clone(),
            joins: vec![],
        };
        self.add_from_item(&source, &mut scope, env)?;
        self.expr(&m.on, &scope, env)?;
        for clause in &m.clauses {
            if let Some(p) = &clause.predicate {
                self.expr(p, &scope, env)?;
            }
            let access = match &clause.action {
                ast::MergeAction::Insert(ins) => {
                    self.info.class(Class::Insert);
                    if ins.columns.is_empty() {
                        self.column(&target, ColumnName::All, ColumnAccess::Write);
                    }
                    for c in &ins.columns {
                        self.column(
                            &target,
                            ColumnName::Named(last_part(c)?),
                            ColumnAccess::Write,
                        );
                    }
                    if let ast::MergeInsertKind::Values(v) = &ins.kind {
                        for row in &v.rows {
                            for e in &row.content {
                                self.expr(e, &scope, env)?;
                            }
                        }
                    }
                    if ins.insert_predicate.is_some() {
                        return unsupported("MERGE INSERT predicate");
                    }
                    Access::Insert
                }
                ast::MergeAction::Update(up) => {
                    self.info.class(Class::Update);
                    if up.update_predicate.is_some() || up.delete_predicate.is_some() {
                        return unsupported("MERGE UPDATE predicates");
                    }
                    let ast::MergeUpdateKind::Set(assignments) = &up.kind else {
                        return unsupported("MERGE UPDATE *");
                    };
                    self.assignments(&target, assignments, &scope, env)?;
                    Access::Update
                }
                ast::MergeAction::Delete { .. } => {
                    self.info.class(Class::Delete);
                    Access::Delete
                }
                ast::MergeAction::DoNothing { .. } => continue,
            };
            self.info.relations.push(RelationUse {
                name: target.clone(),
                access,
            });
            self.occurrence(&target, access);
        }
        Ok(())
    }

    fn copy(
        &mut self,
        source: &ast::CopySource,
        to: bool,
        target: &ast::CopyTarget,
        payload: bool,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.info.class(Class::Copy);
        let endpoint = match target {
            ast::CopyTarget::Stdin | ast::CopyTarget::Stdout => CopyEndpoint::Client,
            ast::CopyTarget::File { .. } => CopyEndpoint::File,
            ast::CopyTarget::Program { .. } => CopyEndpoint::Program,
        };
        self.info.copy = Some(CopyInfo {
            direction: if to {
                CopyDirection::To
            } else {
                CopyDirection::From
            },
            endpoint,
            inline_payload: payload,
        });
        // COPY … TO STDOUT is a read, judged as one; COPY … FROM STDIN
        // stays a write of its own class.
        if to && endpoint == CopyEndpoint::Client && !payload {
            self.info.wrapper(Class::Copy);
        }
        match source {
            ast::CopySource::Table {
                table_name,
                columns,
            } => {
                let (access, col_access) = if to {
                    self.info.class(Class::Read);
                    (Access::Read, ColumnAccess::Read)
                } else {
                    (Access::Insert, ColumnAccess::Write)
                };
                let t = self.relation(table_name, access)?;
                self.occurrence(&t, access);
                if columns.is_empty() {
                    self.column(&t, ColumnName::All, col_access);
                }
                for c in columns {
                    self.column(&t, ColumnName::Named(fold(c)), col_access);
                }
                Ok(())
            }
            ast::CopySource::Query(q) => {
                if !to {
                    return unsupported("COPY (query) FROM");
                }
                self.info.class(Class::Read);
                self.query(q, None, env)
            }
        }
    }

    // ----- queries ----------------------------------------------------

    fn query(
        &mut self,
        q: &Query,
        parent: Option<&Scope<'_>>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.queries_walked += 1;
        if q.for_clause.is_some()
            || q.settings.is_some()
            || q.format_clause.is_some()
            || !q.pipe_operators.is_empty()
        {
            return unsupported("this query clause");
        }
        let mut env = env.clone();
        if let Some(with) = &q.with {
            let names: Vec<String> = with
                .cte_tables
                .iter()
                .map(|c| fold(&c.alias.name))
                .collect();
            for (i, cte) in with.cte_tables.iter().enumerate() {
                if cte.from.is_some() {
                    return unsupported("CTE … FROM");
                }
                // A CTE sees the CTEs before it, and itself only if RECURSIVE.
                let visible = if with.recursive {
                    env.with(names[..=i].iter().cloned())
                } else {
                    env.with(names[..i].iter().cloned())
                };
                self.query(&cte.query, parent, &visible)?;
            }
            env = env.with(names);
        }
        let tail = QueryTail {
            order_by: q.order_by.as_ref(),
            limit: q.limit_clause.as_ref(),
            fetch: q.fetch.as_ref(),
            locks: &q.locks,
        };
        self.set_expr(&q.body, parent, &env, Some(tail))
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        parent: Option<&Scope<'_>>,
        env: &Env,
        tail: Option<QueryTail<'_>>,
    ) -> Result<(), AnalysisError> {
        match body {
            SetExpr::Select(s) => self.select(s, parent, env, tail),
            other => {
                match other {
                    SetExpr::Query(q) => self.query(q, parent, env)?,
                    SetExpr::SetOperation { left, right, .. } => {
                        self.set_expr(left, parent, env, None)?;
                        self.set_expr(right, parent, env, None)?;
                    }
                    SetExpr::Values(v) => {
                        let scope = Scope::new(parent);
                        for row in &v.rows {
                            for e in &row.content {
                                self.expr(e, &scope, env)?;
                            }
                        }
                    }
                    SetExpr::Insert(st)
                    | SetExpr::Update(st)
                    | SetExpr::Delete(st)
                    | SetExpr::Merge(st) => self.statement(st, env)?,
                    SetExpr::Table(t) => {
                        let Some(table) = &t.table_name else {
                            return unsupported("TABLE without a name");
                        };
                        let mut name = Vec::new();
                        if let Some(s) = &t.schema_name {
                            name.push(s.clone());
                        }
                        name.push(table.clone());
                        let obj = ObjectName::from(name);
                        let folded = parts(&obj).unwrap_or_default();
                        if folded.len() == 1 && env.has(&folded[0]) {
                            self.cte_refs.insert(folded);
                        } else {
                            let q = self.relation(&obj, Access::Read)?;
                            self.occurrence(&q, Access::Read);
                            self.column(&q, ColumnName::All, ColumnAccess::Read);
                        }
                    }
                    SetExpr::Select(_) => unreachable!("handled above"),
                }
                // ORDER BY/LIMIT of a set operation see only output columns.
                if let Some(tail) = tail {
                    let scope = Scope::new(parent);
                    self.tail(tail, &scope, env)?;
                }
                Ok(())
            }
        }
    }

    fn tail(
        &mut self,
        tail: QueryTail<'_>,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        if let Some(ob) = tail.order_by {
            self.visit_exprs(ob, scope, env)?;
        }
        if let Some(l) = tail.limit {
            self.visit_exprs(l, scope, env)?;
        }
        if let Some(f) = tail.fetch {
            self.visit_exprs(f, scope, env)?;
        }
        if !tail.locks.is_empty() {
            self.info.row_locks = true;
            for lock in tail.locks {
                match &lock.of {
                    Some(of) => {
                        let q = self.resolver.relation(of).map_err(|e| {
                            AnalysisError::Unsupported(format!("relation name {}", e.0))
                        })?;
                        let target = scope.sources.iter().find(|s| s.alias == q.name).cloned();
                        match target {
                            Some(Source {
                                kind: SourceKind::Table(t),
                                ..
                            }) => self.lock_relation(t),
                            Some(Source {
                                kind: SourceKind::Group(g),
                                ..
                            }) => g.into_iter().for_each(|t| self.lock_relation(t)),
                            Some(src) => src.bases.into_iter().for_each(|t| self.lock_relation(t)),
                            None => self.lock_relation(q),
                        }
                    }
                    None => {
                        let tables: Vec<QualifiedName> = scope
                            .sources
                            .iter()
                            .flat_map(|s| match &s.kind {
                                SourceKind::Table(t) => vec![t.clone()],
                                SourceKind::Group(g) => g.clone(),
                                SourceKind::Other(_) => s.bases.clone(),
                            })
                            .collect();
                        for t in tables {
                            self.lock_relation(t);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn lock_relation(&mut self, name: QualifiedName) {
        self.info.relations.push(RelationUse {
            name,
            access: Access::Lock,
        });
    }

    fn select(
        &mut self,
        s: &Select,
        parent: Option<&Scope<'_>>,
        env: &Env,
        tail: Option<QueryTail<'_>>,
    ) -> Result<(), AnalysisError> {
        if s.top.is_some()
            || s.exclude.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.connect_by.is_empty()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || s.value_table_mode.is_some()
            || !s.optimizer_hints.is_empty()
            || s.select_modifiers.is_some()
        {
            return unsupported("this SELECT clause");
        }
        let mut scope = Scope::new(parent);
        for twj in &s.from {
            self.add_from_item(twj, &mut scope, env)?;
        }
        if let Some(into) = &s.into {
            // SELECT … INTO creates a table.
            self.info.class(Class::Ddl);
            for t in &into.targets {
                let name = match t {
                    Expr::Identifier(i) => ObjectName::from(vec![i.clone()]),
                    Expr::CompoundIdentifier(is) => ObjectName::from(is.clone()),
                    _ => return unsupported("SELECT INTO target"),
                };
                self.relation(&name, Access::Ddl)?;
            }
        }
        if let Some(ast::Distinct::On(exprs)) = &s.distinct {
            for e in exprs {
                self.expr(e, &scope, env)?;
            }
        }
        self.select_items(&s.projection, &scope, env)?;
        if let Some(w) = &s.selection {
            self.expr(w, &scope, env)?;
            self.pin(w, &scope);
        }
        self.visit_exprs(&s.group_by, &scope, env)?;
        if let Some(h) = &s.having {
            self.expr(h, &scope, env)?;
        }
        for w in &s.named_window {
            self.visit_exprs(w, &scope, env)?;
        }
        if let Some(tail) = tail {
            self.tail(tail, &scope, env)?;
        }
        Ok(())
    }

    fn select_items(
        &mut self,
        items: &[SelectItem],
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        for item in items {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e, scope, env)?
                }
                SelectItem::ExprWithAliases { expr, .. } => self.expr(expr, scope, env)?,
                SelectItem::Wildcard(opts) => {
                    if wildcard_has_options(opts) {
                        return unsupported("wildcard options");
                    }
                    for source in scope.sources.clone() {
                        self.whole_row(&source.kind);
                    }
                }
                SelectItem::QualifiedWildcard(kind, opts) => {
                    if wildcard_has_options(opts) {
                        return unsupported("wildcard options");
                    }
                    match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                            self.qualified_wildcard(name, scope)?
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => {
                            self.expr(e, scope, env)?
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn qualified_wildcard(
        &mut self,
        name: &ObjectName,
        scope: &Scope<'_>,
    ) -> Result<(), AnalysisError> {
        let p =
            parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("wildcard {name}")))?;
        let found = match p.as_slice() {
            [alias] => scope.find_alias(alias).map(|s| s.kind.clone()),
            _ => {
                let q = self
                    .resolver
                    .relation(name)
                    .map_err(|e| AnalysisError::Unsupported(format!("relation name {}", e.0)))?;
                scope
                    .levels()
                    .flat_map(|l| l.sources.iter())
                    .find(|s| matches!(&s.kind, SourceKind::Table(t) if *t == q))
                    .map(|s| s.kind.clone())
            }
        };
        match found {
            Some(kind) => {
                self.whole_row(&kind);
                Ok(())
            }
            None => unsupported(format!("wildcard {name} that names no FROM item")),
        }
    }

    fn whole_row(&mut self, kind: &SourceKind) {
        match kind {
            SourceKind::Table(t) => self.column(t, ColumnName::All, ColumnAccess::Read),
            SourceKind::Group(g) => {
                for t in g {
                    self.column(t, ColumnName::All, ColumnAccess::Read);
                }
            }
            SourceKind::Other(_) => {}
        }
    }

    /// Adds one FROM item (with its joins) to `scope`.
    /// Adds one FROM factor. A parenthesised join without an alias keeps
    /// its tables' names visible, so its items join the scope one by one.
    fn add_factor(
        &mut self,
        tf: &TableFactor,
        scope: &mut Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        if let TableFactor::NestedJoin {
            table_with_joins,
            alias: None,
        } = tf
        {
            return self.add_from_item(table_with_joins, scope, env);
        }
        let source = self.table_factor(tf, scope, env)?;
        scope.sources.push(source);
        Ok(())
    }

    fn add_from_item(
        &mut self,
        twj: &TableWithJoins,
        scope: &mut Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        self.add_factor(&twj.relation, scope, env)?;
        for join in &twj.joins {
            if join.global {
                return unsupported("GLOBAL JOIN");
            }
            self.add_factor(&join.relation, scope, env)?;
            use ast::JoinOperator as J;
            let constraint = match &join.join_operator {
                J::Join(c)
                | J::Inner(c)
                | J::Left(c)
                | J::LeftOuter(c)
                | J::Right(c)
                | J::RightOuter(c)
                | J::FullOuter(c)
                | J::CrossJoin(c) => c,
                other => return unsupported(format!("join {other:?}")),
            };
            match constraint {
                ast::JoinConstraint::On(e) => self.expr(e, scope, env)?,
                ast::JoinConstraint::UsingAlias(..) => return unsupported("JOIN USING … AS"),
                ast::JoinConstraint::Using(cols) => {
                    for c in cols {
                        let name = last_part(c)?;
                        self.unqualified_column(&name, scope);
                    }
                }
                ast::JoinConstraint::Natural => {
                    // NATURAL joins compare every common column.
                    let kinds: Vec<SourceKind> =
                        scope.sources.iter().map(|s| s.kind.clone()).collect();
                    for k in kinds {
                        self.whole_row(&k);
                    }
                }
                ast::JoinConstraint::None => {}
            }
        }
        Ok(())
    }

    fn table_factor(
        &mut self,
        tf: &TableFactor,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<Source, AnalysisError> {
        let alias_of = |alias: &Option<ast::TableAlias>| alias.as_ref().map(|a| fold(&a.name));
        match tf {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                partitions,
                json_path,
                index_directives,
                sample,
                ..
            } => {
                if !with_hints.is_empty()
                    || version.is_some()
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || !index_directives.is_empty()
                {
                    return unsupported("table hints");
                }
                let folded = parts(name)
                    .ok_or_else(|| AnalysisError::Unsupported(format!("name {name}")))?;
                if let Some(args) = args {
                    // A function in FROM: `FROM generate_series(1, 3)`.
                    self.function(name)?;
                    self.table_functions.insert(folded.clone());
                    let lateral = scope.lateral();
                    self.set_config(name, &args.args, &lateral)?;
                    for a in &args.args {
                        self.function_arg(a, &lateral, env)?;
                    }
                    let default = folded.last().cloned().unwrap_or_default();
                    return Ok(Source::new(
                        alias_of(alias).unwrap_or(default),
                        SourceKind::Other(alias_columns(alias)),
                    ));
                }
                if let Some(sample) = sample {
                    // TABLESAMPLE arguments are expressions, subqueries included.
                    self.visit_exprs(sample, scope, env)?;
                }
                if folded.len() == 1 && env.has(&folded[0]) {
                    self.cte_refs.insert(folded.clone());
                    return Ok(Source::new(
                        alias_of(alias).unwrap_or_else(|| folded[0].clone()),
                        SourceKind::Other(alias_columns(alias)),
                    ));
                }
                let q = self.relation(name, Access::Read)?;
                let occurrence = self.occurrence(&q, Access::Read);
                let mut source = Source::new(
                    alias_of(alias).unwrap_or_else(|| q.name.clone()),
                    SourceKind::Table(q),
                );
                source.renames = alias_columns(alias).unwrap_or_default();
                source.occurrence = Some(occurrence);
                Ok(source)
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return unsupported("TABLESAMPLE on a subquery");
                }
                let before = self.info.relations.len();
                if *lateral {
                    let lateral_scope = scope.lateral();
                    self.query(subquery, Some(&lateral_scope), env)?;
                } else {
                    self.query(subquery, scope.parent, env)?;
                }
                let mut source = Source::new(
                    alias_of(alias).unwrap_or_default(),
                    SourceKind::Other(alias_columns(alias).or_else(|| output_columns(subquery))),
                );
                source.bases = self.info.relations[before..]
                    .iter()
                    .filter(|r| r.access == Access::Read)
                    .map(|r| r.name.clone())
                    .collect();
                Ok(source)
            }
            TableFactor::Function {
                name, args, alias, ..
            } => {
                self.function(name)?;
                if let Some(p) = parts(name) {
                    self.table_functions.insert(p);
                }
                let lateral = scope.lateral();
                self.set_config(name, args, &lateral)?;
                for a in args {
                    self.function_arg(a, &lateral, env)?;
                }
                Ok(other_source(alias))
            }
            TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset,
                ..
            } => {
                if *with_offset {
                    return unsupported("UNNEST WITH OFFSET");
                }
                self.info
                    .functions
                    .push(QualifiedName::new("pg_catalog", "unnest"));
                let lateral = scope.lateral();
                for e in array_exprs {
                    self.expr(e, &lateral, env)?;
                }
                Ok(other_source(alias))
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) {
                    return unsupported("column aliases on a parenthesised join");
                }
                let mut inner = Scope::new(scope.parent);
                inner.sources = scope.sources.clone();
                let before = inner.sources.len();
                self.add_from_item(table_with_joins, &mut inner, env)?;
                let added: Vec<Source> = inner.sources.split_off(before);
                match alias {
                    None if added.len() == 1 => Ok(added.into_iter().next().expect("one source")),
                    _ => {
                        let tables = added
                            .iter()
                            .flat_map(|s| match &s.kind {
                                SourceKind::Table(t) => vec![t.clone()],
                                SourceKind::Group(g) => g.clone(),
                                SourceKind::Other(_) => vec![],
                            })
                            .collect();
                        // Without an alias the inner names stay visible;
                        // model that as a group reachable by each name.
                        Ok(Source::new(
                            alias_of(alias).unwrap_or_default(),
                            SourceKind::Group(tables),
                        ))
                    }
                }
            }
            TableFactor::TableFunction { expr, alias } => {
                let lateral = scope.lateral();
                self.expr(expr, &lateral, env)?;
                Ok(other_source(alias))
            }
            other => unsupported(format!("FROM item {}", first_words(&other.to_string()))),
        }
    }

    // ----- expressions ------------------------------------------------

    fn expr(&mut self, e: &Expr, scope: &Scope<'_>, env: &Env) -> Result<(), AnalysisError> {
        self.visit_exprs(e, scope, env)
    }

    /// Walks every expression inside `node` in `scope`.
    fn visit_exprs<V: Visit>(
        &mut self,
        node: &V,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let mut v = ExprVisitor {
            walker: self,
            scope,
            env,
            nested: 0,
        };
        match node.visit(&mut v) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(e) => Err(e),
        }
    }

    fn function_args(
        &mut self,
        args: &FunctionArguments,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        match args {
            FunctionArguments::None => Ok(()),
            FunctionArguments::Subquery(q) => self.query(q, Some(scope), env),
            FunctionArguments::List(list) => {
                for a in &list.args {
                    self.function_arg(a, scope, env)?;
                }
                for c in &list.clauses {
                    self.visit_exprs(c, scope, env)?;
                }
                Ok(())
            }
        }
    }

    fn function_arg(
        &mut self,
        a: &FunctionArg,
        scope: &Scope<'_>,
        env: &Env,
    ) -> Result<(), AnalysisError> {
        let arg = match a {
            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => arg,
            FunctionArg::Unnamed(arg) => arg,
        };
        match arg {
            FunctionArgExpr::Expr(e) => self.expr(e, scope, env),
            FunctionArgExpr::QualifiedWildcard(name) => self.qualified_wildcard(name, scope),
            FunctionArgExpr::Wildcard => Ok(()),
            FunctionArgExpr::WildcardWithOptions(_) => unsupported("wildcard options"),
        }
    }

    /// The column of `table` that the visible name `name` of `source`
    /// denotes; `None` if the source has no such column (known only with a
    /// catalog that knows the table).
    fn table_column(
        &self,
        source: &Source,
        table: &QualifiedName,
        name: &str,
    ) -> Option<ColumnName> {
        // An empty column list is an unknown one (a relation the catalog
        // names without columns).
        let columns = self
            .resolver
            .catalog
            .and_then(|c| c.columns(table))
            .filter(|cols| !cols.is_empty());
        if let Some(i) = source.renames.iter().position(|r| r == name) {
            return match columns {
                Some(cols) => cols.get(i).map(|c| ColumnName::Named(c.clone())),
                // Renamed, and the original name is unknown: count it all.
                None => Some(ColumnName::All),
            };
        }
        match columns {
            Some(cols) => cols
                .iter()
                .skip(source.renames.len())
                .any(|c| c == name)
                .then(|| ColumnName::Named(name.to_owned())),
            None => Some(ColumnName::Named(name.to_owned())),
        }
    }

    /// Attributes an unqualified column reference.
    fn unqualified_column(&mut self, name: &str, scope: &Scope<'_>) {
        let catalog = self.resolver.catalog;
        if catalog.is_none()
            && let Some(source) = scope.find_alias(name)
        {
            // Without a catalog a name that matches a FROM item may be a
            // whole-row reference (`SELECT c FROM customers c`): count it
            // as one, on top of any column it might also be.
            let kind = source.kind.clone();
            self.whole_row(&kind);
        }
        let mut candidates: Vec<(QualifiedName, ColumnName)> = Vec::new();
        for level in scope.levels() {
            let mut found = Vec::new();
            let mut other_has_it = false;
            let mut other_unknown = false;
            for src in &level.sources {
                match &src.kind {
                    SourceKind::Table(t) => {
                        if let Some(c) = self.table_column(src, t, name) {
                            found.push((t.clone(), c));
                        }
                    }
                    SourceKind::Group(g) => {
                        for t in g {
                            let has =
                                catalog.is_none_or(|c| !c.has_relation(t) || c.has_column(t, name));
                            if has {
                                found.push((t.clone(), ColumnName::Named(name.to_owned())));
                            }
                        }
                    }
                    SourceKind::Other(Some(cols)) => other_has_it |= cols.iter().any(|c| c == name),
                    SourceKind::Other(None) => other_unknown = true,
                }
            }
            let certain = catalog.is_some() || level.sources.len() == 1;
            if found.len() == 1
                && certain
                && !other_has_it
                && !other_unknown
                && candidates.is_empty()
            {
                let (t, c) = found.remove(0);
                self.column(&t, c, ColumnAccess::Read);
                return;
            }
            candidates.extend(found);
            if other_has_it || (catalog.is_some() && !candidates.is_empty() && !other_unknown) {
                break;
            }
        }
        // With a catalog, a name that is no column but names a FROM item is
        // a whole-row reference (`SELECT c FROM customers c`).
        if catalog.is_some()
            && candidates.is_empty()
            && let Some(source) = scope.find_alias(name)
        {
            let kind = source.kind.clone();
            self.whole_row(&kind);
        }
        candidates.sort();
        candidates.dedup();
        match candidates.len() {
            0 => {}
            1 => {
                let (t, c) = candidates.remove(0);
                self.column(&t, c, ColumnAccess::Read);
            }
            _ => self.info.ambiguous.push(AmbiguousColumn {
                column: name.into(),
                candidates,
            }),
        }
    }

    /// Attributes a qualified column reference. Postgres reads `a.b.c` as
    /// schema.table.column before table.column.field, and `d.a.b.c` as
    /// database.schema.table.column.
    fn compound_column(
        &mut self,
        idents: &[ast::Ident],
        scope: &Scope<'_>,
    ) -> Result<(), AnalysisError> {
        let p: Vec<String> = idents.iter().map(fold).collect();
        let schema_table = |schema: &str, table: &str| -> Option<Source> {
            scope
                .levels()
                .flat_map(|l| l.sources.iter())
                .find(|s| {
                    s.alias == table
                        && matches!(&s.kind, SourceKind::Table(t) if t.schema == schema && t.name == table)
                })
                .cloned()
        };
        match p.as_slice() {
            [] => Ok(()),
            [one] => {
                self.unqualified_column(one, scope);
                Ok(())
            }
            [a, b] => {
                match scope.find_alias(a).cloned() {
                    Some(src) => self.qualified_source_column(&src, b)?,
                    // `(col).field`: the first part is a column.
                    None => self.unqualified_column(a, scope),
                }
                Ok(())
            }
            [a, b, c, ..] => {
                let four = p.len() == 4 && self.resolver.database.is_none_or(|d| d == a);
                let hit = match p.len() {
                    3 => schema_table(a, b).map(|s| (s, c.clone())),
                    4 if four => schema_table(b, c).map(|s| (s, p[3].clone())),
                    _ => None,
                };
                if let Some((src, column)) = hit {
                    return self.qualified_source_column(&src, &column);
                }
                match scope.find_alias(a).cloned() {
                    // table.column.field
                    Some(src) => self.qualified_source_column(&src, b),
                    None => unsupported(format!("column reference {}", p.join("."))),
                }
            }
        }
    }

    /// `alias.name`: a column of that FROM item, or, if the table has no
    /// such column, attribute notation for a function of the whole row
    /// (`c.to_json` is `to_json(c)`).
    fn qualified_source_column(&mut self, src: &Source, name: &str) -> Result<(), AnalysisError> {
        match &src.kind {
            SourceKind::Table(t) => match self.table_column(src, t, name) {
                Some(c) => self.column(t, c, ColumnAccess::Read),
                // Row metadata: no column rule covers it, and the read of
                // the table is judged already.
                None if self.system_column(name) => {}
                None => {
                    self.whole_row(&src.kind);
                    self.function(&ObjectName::from(vec![ast::Ident::new(name)]))?;
                }
            },
            SourceKind::Group(g) => {
                let catalog = self.resolver.catalog;
                let mut candidates: Vec<(QualifiedName, ColumnName)> = g
                    .iter()
                    .filter(|t| catalog.is_none_or(|c| !c.has_relation(t) || c.has_column(t, name)))
                    .map(|t| (t.clone(), ColumnName::Named(name.to_owned())))
                    .collect();
                candidates.sort();
                candidates.dedup();
                match candidates.len() {
                    0 => {}
                    1 => {
                        let (t, c) = candidates.remove(0);
                        self.column(&t, c, ColumnAccess::Read);
                    }
                    _ => self.info.ambiguous.push(AmbiguousColumn {
                        column: name.into(),
                        candidates,
                    }),
                }
            }
            SourceKind::Other(_) => {}
        }
        Ok(())
    }

    /// Whether `alias.name`, where `name` is no column of a table whose
    /// columns the catalog knows (it lists no system columns), is a system
    /// column rather than attribute notation. PostgreSQL takes the system
    /// column on a table; a view has none, and there the name calls a
    /// function of the row: a function of that name keeps the call.
    fn system_column(&self, name: &str) -> bool {
        builtin::SYSTEM_COLUMNS.contains(&name)
            && self.resolver.catalog.is_some_and(|c| {
                !c.has_function(&QualifiedName::new("pg_catalog", name))
                    && !self
                        .resolver
                        .search_path
                        .iter()
                        .any(|s| c.has_function(&QualifiedName::new(s.clone(), name)))
            })
    }

    /// Cross-checks the walk with sqlparser's own reports: every relation
    /// the visitor sees must be one the walk accounted for (a table, a CTE
    /// reference or a table function), the walk must have entered every
    /// query node (a subquery in a position it does not know fails closed),
    /// and every function call is recorded.
    fn cross_check(&mut self, st: &Statement) -> Result<(), AnalysisError> {
        let mut funcs = FunctionCollector { found: Vec::new() };
        let _ = st.visit(&mut funcs);
        for f in funcs.found {
            self.function(&f)?;
        }
        let mut rels = RelationCollector {
            found: Vec::new(),
            queries: 0,
        };
        let _ = st.visit(&mut rels);
        if rels.queries != self.queries_walked {
            return unsupported("a subquery in this position");
        }
        let known: BTreeSet<&QualifiedName> = self.info.relations.iter().map(|r| &r.name).collect();
        for r in rels.found {
            let Some(p) = parts(&r) else {
                return unsupported(format!("relation name {r}"));
            };
            if self.table_functions.contains(&p) || self.cte_refs.contains(&p) {
                continue;
            }
            let resolved = self.resolver.relation(&r).ok();
            if !resolved.as_ref().is_some_and(|q| known.contains(q)) {
                return unsupported(format!("relation {r} in this position"));
            }
        }
        Ok(())
    }
}

/// ORDER BY, LIMIT, FETCH and locking clauses of a query.
#[derive(Clone, Copy)]
struct QueryTail<'q> {
    order_by: Option<&'q ast::OrderBy>,
    limit: Option<&'q ast::LimitClause>,
    fetch: Option<&'q ast::Fetch>,
    locks: &'q [ast::LockClause],
}

/// Visits expressions at one query level: column references and function
/// calls are recorded; a nested query is handed to the scope-aware walk
/// and skipped by this visitor.
struct ExprVisitor<'w, 'r, 's, 'p> {
    walker: &'w mut Walker<'r>,
    scope: &'s Scope<'p>,
    env: &'s Env,
    nested: usize,
}

impl Visitor for ExprVisitor<'_, '_, '_, '_> {
    type Break = AnalysisError;

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<AnalysisError> {
        if self.nested == 0
            && let Err(e) = self.walker.query(q, Some(self.scope), self.env)
        {
            return ControlFlow::Break(e);
        }
        self.nested += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _q: &Query) -> ControlFlow<AnalysisError> {
        self.nested -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<AnalysisError> {
        if self.nested > 0 {
            return ControlFlow::Continue(());
        }
        let result = match e {
            Expr::Identifier(i) => {
                self.walker.unqualified_column(&fold(i), self.scope);
                Ok(())
            }
            Expr::CompoundIdentifier(is) => self.walker.compound_column(is, self.scope),
            Expr::Function(f) => {
                let mut r = self.walker.function(&f.name);
                if r.is_ok() {
                    let args = match &f.args {
                        FunctionArguments::List(list) => &list.args[..],
                        _ => &[],
                    };
                    r = self.walker.set_config(&f.name, args, self.scope);
                }
                if r.is_ok()
                    && let FunctionArguments::List(list) = &f.args
                {
                    for a in &list.args {
                        let arg = match a {
                            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => {
                                arg
                            }
                            FunctionArg::Unnamed(arg) => arg,
                        };
                        match arg {
                            FunctionArgExpr::QualifiedWildcard(name) => {
                                r = self.walker.qualified_wildcard(name, self.scope);
                            }
                            FunctionArgExpr::WildcardWithOptions(_) => {
                                r = unsupported("wildcard options");
                            }
                            _ => {}
                        }
                        if r.is_err() {
                            break;
                        }
                    }
                }
                r
            }
            Expr::QualifiedWildcard(name, _) => self.walker.qualified_wildcard(name, self.scope),
            Expr::Wildcard(_) => unsupported("a bare * in an expression"),
            _ => Ok(()),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// Every function call anywhere in a statement.
struct FunctionCollector {
    found: Vec<ObjectName>,
}

impl Visitor for FunctionCollector {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            self.found.push(f.name.clone());
        }
        ControlFlow::Continue(())
    }
    fn pre_visit_table_factor(&mut self, tf: &TableFactor) -> ControlFlow<()> {
        match tf {
            TableFactor::Table {
                name,
                args: Some(_),
                ..
            }
            | TableFactor::Function { name, .. } => self.found.push(name.clone()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Every relation sqlparser's visitor reports, and how many query nodes
/// it meets.
struct RelationCollector {
    found: Vec<ObjectName>,
    queries: usize,
}

impl Visitor for RelationCollector {
    type Break = ();
    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        self.found.push(r.clone());
        ControlFlow::Continue(())
    }
    fn pre_visit_query(&mut self, _q: &Query) -> ControlFlow<()> {
        self.queries += 1;
        ControlFlow::Continue(())
    }
}

/// Whether a function argument is `alias.name` of pg_catalog.pg_settings
/// (without column aliases, which could rename another column to `name`):
/// a setting pg_settings lists, as in psql's `\dconfig`
/// (`current_setting(s.name) FROM pg_settings s`). pg_settings lists no
/// custom placeholder settings, so this reads nothing pg_settings hides.
fn listed_setting(arg: &FunctionArg, scope: &Scope<'_>) -> bool {
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::CompoundIdentifier(is))) = arg else {
        return false;
    };
    let [alias, column] = is.as_slice() else {
        return false;
    };
    fold(column) == "name"
        && scope.find_alias(&fold(alias)).is_some_and(|s| {
            s.renames.is_empty()
                && matches!(&s.kind, SourceKind::Table(t)
                    if t.schema == "pg_catalog" && t.name == "pg_settings")
        })
}

fn first_part(name: &ObjectName) -> Result<String, AnalysisError> {
    parts(name)
        .and_then(|p| p.first().cloned())
        .ok_or_else(|| AnalysisError::Unsupported(format!("column name {name}")))
}

fn last_part(name: &ObjectName) -> Result<String, AnalysisError> {
    parts(name)
        .and_then(|p| p.last().cloned())
        .ok_or_else(|| AnalysisError::Unsupported(format!("column name {name}")))
}

/// The columns an UPDATE … SET assigns, with their evident values.
fn written_values(
    assignments: &[ast::Assignment],
) -> Result<Vec<(String, Option<PinValue>)>, AnalysisError> {
    let mut out = Vec::new();
    for a in assignments {
        match &a.target {
            ast::AssignmentTarget::ColumnName(n) => out.push((first_part(n)?, pin_value(&a.value))),
            ast::AssignmentTarget::Tuple(ns) => {
                // (a, b) = (1, 2) or = (SELECT …): values by position when evident.
                let values: Vec<Option<PinValue>> = match strip_nested(&a.value) {
                    Expr::Tuple(es) if es.len() == ns.len() => es.iter().map(pin_value).collect(),
                    _ => vec![None; ns.len()],
                };
                for (n, v) in ns.iter().zip(values) {
                    out.push((first_part(n)?, v));
                }
            }
        }
    }
    Ok(out)
}

fn strip_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// The conjuncts of a chain of ANDs.
fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match strip_nested(e) {
        Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            flatten_and(left, out);
            flatten_and(right, out);
        }
        other => out.push(other),
    }
}

/// A literal or parameter whose value is evident, looking through casts.
fn pin_value(e: &Expr) -> Option<PinValue> {
    match strip_nested(e) {
        Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Some(PinValue::Literal(n.clone())),
            ast::Value::SingleQuotedString(s) => Some(PinValue::Literal(s.clone())),
            ast::Value::Placeholder(p) => p
                .strip_prefix('$')
                .and_then(|n| n.parse().ok())
                .map(PinValue::Param),
            _ => None,
        },
        // Only casts that cannot change the value count: `'42'::bit(3)::int`
        // is 2, `42::numeric(2,-1)` is 40.
        Expr::Cast {
            expr,
            data_type,
            format: None,
            ..
        } if value_preserving(data_type) => pin_value(expr),
        Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => match pin_value(expr) {
            Some(PinValue::Literal(n)) if n.parse::<f64>().is_ok() && !n.starts_with('-') => {
                Some(PinValue::Literal(format!("-{n}")))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The right side of `col = ANY(…)` when every element is evident: an
/// `ARRAY[…]` of literals and parameters, or a parameter holding the whole
/// array (`ANY($1)`, `ANY($1::int[])`), looking through casts that keep
/// the values.
fn any_array(e: &Expr) -> Option<PinValue> {
    match strip_nested(e) {
        Expr::Array(ast::Array { elem, .. }) => {
            match elem.iter().map(pin_value).collect::<Option<Vec<_>>>() {
                Some(values) if !values.is_empty() => Some(PinValue::Set(values)),
                _ => None,
            }
        }
        Expr::Value(v) => match &v.value {
            ast::Value::Placeholder(p) => placeholder(p).map(PinValue::ParamArray),
            _ => None,
        },
        Expr::Cast {
            expr,
            data_type:
                ast::DataType::Array(
                    ast::ArrayElemTypeDef::SquareBracket(elem, None)
                    | ast::ArrayElemTypeDef::AngleBracket(elem)
                    | ast::ArrayElemTypeDef::Parenthesis(elem),
                ),
            format: None,
            ..
        } if value_preserving(elem) => any_array(expr),
        _ => None,
    }
}

/// `$n` as its 1-based number.
fn placeholder(p: &str) -> Option<usize> {
    p.strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
}

/// A function argument that is a parameter, bare or cast to an unbounded
/// text type (`$1`, `$1::VARCHAR`, `$1::text`): a setting name bound at
/// Bind, whose value is the name used.
fn text_param(arg: &FunctionArg) -> Option<usize> {
    use ast::DataType as T;
    let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg else {
        return None;
    };
    let mut e = strip_nested(e);
    loop {
        match e {
            Expr::Value(v) => {
                return match &v.value {
                    ast::Value::Placeholder(p) => placeholder(p),
                    _ => None,
                };
            }
            Expr::Cast {
                expr,
                data_type: T::Text | T::Varchar(None) | T::CharacterVarying(None),
                format: None,
                ..
            } => e = strip_nested(expr),
            _ => return None,
        }
    }
}

/// Casts that keep a literal's value (or fail): integer types, unbounded
/// numeric and unbounded text types.
fn value_preserving(t: &ast::DataType) -> bool {
    use ast::DataType as T;
    matches!(
        t,
        T::SmallInt(None)
            | T::Int2(None)
            | T::Int(None)
            | T::Int4(None)
            | T::Integer(None)
            | T::Int8(None)
            | T::BigInt(None)
            | T::Numeric(ast::ExactNumberInfo::None)
            | T::Decimal(ast::ExactNumberInfo::None)
            | T::Text
            | T::Varchar(None)
            | T::CharacterVarying(None)
    )
}

/// Setting names are case-insensitive in Postgres, quoted or not.
fn setting_name(name: &ObjectName) -> Result<String, AnalysisError> {
    let p =
        parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("setting name {name}")))?;
    Ok(normalise_setting(&p.join(".").to_ascii_lowercase()))
}

/// What `SET name = values` does: `TO DEFAULT` is RESET; a single value
/// that can only make the session more restrictive narrows it; anything
/// else is a SET.
fn set_action(name: &str, values: &[Expr]) -> SettingAction {
    let [value] = values else {
        return SettingAction::Set;
    };
    let text = match value {
        Expr::Identifier(i)
            if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") =>
        {
            return SettingAction::Reset;
        }
        Expr::Identifier(i) => i.value.clone(),
        Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s.clone(),
            ast::Value::Boolean(b) => b.to_string(),
            ast::Value::Number(n, _) => n.to_string(),
            _ => return SettingAction::Set,
        },
        _ => return SettingAction::Set,
    };
    if super::builtin::narrows(name, &text) {
        SettingAction::Narrow
    } else {
        SettingAction::Set
    }
}

/// Canonical names for settings with SQL-standard spellings.
pub(super) fn normalise_setting(name: &str) -> String {
    match name {
        "time zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "session authorization" => "session_authorization".into(),
        "names" => "client_encoding".into(),
        other => other.to_owned(),
    }
}

/// A derived table, function or CTE reference: its own columns only.
fn other_source(alias: &Option<ast::TableAlias>) -> Source {
    Source::new(
        alias.as_ref().map(|a| fold(&a.name)).unwrap_or_default(),
        SourceKind::Other(alias_columns(alias)),
    )
}

fn alias_columns(alias: &Option<ast::TableAlias>) -> Option<Vec<String>> {
    alias
        .as_ref()
        .filter(|a| !a.columns.is_empty())
        .map(|a| a.columns.iter().map(|c| fold(&c.name)).collect())
}

/// Output column names of a query, when they are evident.
fn output_columns(q: &Query) -> Option<Vec<String>> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    s.projection
        .iter()
        .map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => Some(fold(i)),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(is)) => is.last().map(fold),
            _ => None,
        })
        .collect()
}

fn wildcard_has_options(o: &ast::WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
}

fn first_words(s: &str) -> String {
    s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn statement_kind(st: &Statement) -> String {
    let text = st.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    format!("the statement kind {}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn tautology(sql: &str) -> bool {
        let statements = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
            .unwrap();
        statements.iter().any(has_tautology)
    }

    /// `o.xmin` on a table is the system column (no function call, no
    /// column use); with a function of that name on the path it stays
    /// attribute notation, as on a view without such a column.
    #[test]
    fn system_columns_unless_a_function_has_the_name() {
        use super::super::catalog::Catalog;
        let path = vec!["public".to_string()];
        let first = |catalog: &Catalog, sql: &str| {
            let resolver = Resolver {
                search_path: &path,
                catalog: Some(catalog),
                database: None,
            };
            analyze(sql, &resolver, AnalysisLimits::default())
                .unwrap()
                .statements
                .remove(0)
        };
        let mut catalog = Catalog::default();
        let orders = QualifiedName::new("public", "orders");
        catalog.add_relation(orders.clone(), vec!["id".into()]);
        let st = first(&catalog, "SELECT o.xmin, o.ctid, o.id FROM orders o");
        assert!(st.functions.is_empty(), "{st:?}");
        assert_eq!(st.columns.len(), 1, "{st:?}");
        assert_eq!(st.columns[0].column, ColumnName::Named("id".into()));
        let st = first(&catalog, "SELECT o.pg_sleep FROM orders o");
        assert_eq!(
            st.functions,
            vec![QualifiedName::new("pg_catalog", "pg_sleep")]
        );
        catalog.add_function(QualifiedName::new("public", "xmin"));
        let st = first(&catalog, "SELECT o.xmin FROM orders o");
        assert_eq!(st.functions, vec![QualifiedName::new("public", "xmin")]);
    }

    /// psql's `\dconfig`: current_setting of pg_settings' own names reads
    /// their `setting` (so a column rule on pg_settings covers it); a
    /// computed name is not judged and stays unsupported.
    #[test]
    fn current_setting_of_a_listed_name_reads_pg_settings() {
        use super::super::catalog::Catalog;
        let path = vec!["public".to_string()];
        let catalog = Catalog::default();
        let resolver = Resolver {
            search_path: &path,
            catalog: Some(&catalog),
            database: None,
        };
        let sql = "SELECT s.name, current_setting(s.name) FROM pg_catalog.pg_settings s";
        let st = analyze(sql, &resolver, AnalysisLimits::default())
            .unwrap()
            .statements
            .remove(0);
        let settings = QualifiedName::new("pg_catalog", "pg_settings");
        assert!(
            st.columns
                .iter()
                .any(|c| c.relation == settings && c.column == ColumnName::Named("setting".into())),
            "{st:?}"
        );
        assert!(st.settings.is_empty(), "{st:?}");
        let sql = "SELECT current_setting(s.name || '') FROM pg_catalog.pg_settings s";
        assert!(matches!(
            analyze(sql, &resolver, AnalysisLimits::default()),
            Err(AnalysisError::Unsupported(_))
        ));
    }

    /// Wrapper classes that only wrap another statement, and the forms
    /// that stay classes of their own (EXPLAIN ANALYZE, COPY FROM).
    #[test]
    fn wrappers_of_reads() {
        let path = vec!["public".to_string()];
        let resolver = Resolver {
            search_path: &path,
            catalog: None,
            database: None,
        };
        let first = |sql: &str| {
            analyze(sql, &resolver, AnalysisLimits::default())
                .unwrap()
                .statements
                .remove(0)
        };
        for (sql, classes, wrappers, deferred) in [
            (
                "DECLARE c CURSOR FOR SELECT 1",
                vec![Class::Cursor, Class::Read],
                vec![Class::Cursor],
                true,
            ),
            (
                "FETCH 10 FROM c",
                vec![Class::Cursor],
                vec![Class::Cursor],
                false,
            ),
            (
                "COPY orders TO STDOUT",
                vec![Class::Copy, Class::Read],
                vec![Class::Copy],
                false,
            ),
            (
                "COPY (SELECT 1) TO STDOUT",
                vec![Class::Copy, Class::Read],
                vec![Class::Copy],
                false,
            ),
            ("COPY orders FROM STDIN", vec![Class::Copy], vec![], false),
            (
                "COPY orders TO '/tmp/x'",
                vec![Class::Copy, Class::Read],
                vec![],
                false,
            ),
            (
                "EXPLAIN SELECT 1",
                vec![Class::Explain, Class::Read],
                vec![Class::Explain],
                false,
            ),
            (
                "EXPLAIN (ANALYZE off) SELECT 1",
                vec![Class::Explain, Class::Read],
                vec![Class::Explain],
                false,
            ),
            (
                "EXPLAIN ANALYZE SELECT 1",
                vec![Class::Explain, Class::Read],
                vec![],
                false,
            ),
            (
                "EXPLAIN (ANALYZE) SELECT 1",
                vec![Class::Explain, Class::Read],
                vec![],
                false,
            ),
            (
                "EXPLAIN (ANALYZE f) SELECT 1",
                vec![Class::Explain, Class::Read],
                vec![],
                false,
            ),
            (
                "PREPARE p AS SELECT 1",
                vec![Class::Prepare, Class::Read],
                vec![Class::Prepare],
                true,
            ),
            (
                "PREPARE p AS DELETE FROM orders",
                vec![Class::Prepare, Class::Delete],
                vec![Class::Prepare],
                false,
            ),
            (
                "EXECUTE p",
                vec![Class::Execute],
                vec![Class::Execute],
                false,
            ),
        ] {
            let st = first(sql);
            assert_eq!(st.classes, classes, "{sql}");
            assert_eq!(st.wrappers, wrappers, "{sql}");
            assert_eq!(st.deferred_rows, deferred, "{sql}");
        }
    }

    #[test]
    fn tautologies_are_noticed() {
        for sql in [
            "SELECT * FROM orders WHERE id = 5 OR 1 = 1",
            "SELECT * FROM orders WHERE name = '' OR 'a' = 'a'",
            "DELETE FROM orders WHERE id = id",
            "UPDATE orders SET x = 1 WHERE id = 2 OR true",
        ] {
            assert!(tautology(sql), "{sql}");
        }
        for sql in [
            "SELECT * FROM orders WHERE id = 5",
            "SELECT * FROM orders WHERE a = b OR c = 1",
            "SELECT true",
        ] {
            assert!(!tautology(sql), "{sql}");
        }
    }
}
