//! The rules one statement is checked against: statement classes,
//! relations, columns, functions and settings, and the hints of their refusals.

use super::*;

mod hints;

impl Policy {
    /// Checks one statement against the rules, in a fixed order: the
    /// first refusal wins.
    pub(super) fn statement(
        &self,
        st: &StatementInfo,
        catalog: Option<&Catalog>,
        session: &SessionState,
    ) -> Result<(), Denial> {
        let class_name = st.primary_class().map(Class::name).unwrap_or("empty");
        // Explicit and built-in denials first: they always win.
        if let Some(copy) = &st.copy {
            copy_endpoint(copy)?;
        }
        code_block(st)?;
        two_phase(st)?;
        self.denied_relations(st)?;
        self.denied_functions(st)?;
        self.denied_classes(st, class_name)?;
        // Before the other classes: an attempt to manage roles is named as
        // such, whatever else the agent may or may not do.
        self.role_management(st)?;
        self.classes_allowed(st, session, class_name)?;
        cluster_objects(st)?;
        unknown_prepared(st, session)?;
        for s in &st.settings {
            if !session.within_start(s) {
                self.setting(s)?;
            }
        }
        for r in &st.relations {
            self.relation(&r.name, r.access)?;
        }
        for c in &st.columns {
            self.column(&c.relation, &c.column, c.access, catalog)?;
        }
        self.ambiguous_columns(st, catalog)?;
        for f in &st.functions {
            self.function(f)?;
        }
        self.where_required(st, class_name)
    }

    /// Tables named in `deny.tables`, and the built-in credential catalogs.
    fn denied_relations(&self, st: &StatementInfo) -> Result<(), Denial> {
        for r in &st.relations {
            if self.denied_tables.contains(&r.name) {
                return Err(Denial::new(
                    "table_denied",
                    format!("{}: deny.tables", self.file()),
                    format!(
                        "actgate denied access to table {} for agent {:?}",
                        r.name, self.agent
                    ),
                )
                .hint(self.tables_hint()));
            }
            if builtin::listed(builtin::CREDENTIAL_RELATIONS, &r.name.schema, &r.name.name) {
                return Err(Denial::new(
                    "credential_catalog",
                    "builtin.credential_catalogs",
                    format!(
                        "actgate denied access to {}: it exposes credentials",
                        r.name
                    ),
                )
                .hint(format!(
                    "{}; relations that expose credentials are never readable, whatever the rules say",
                    builtin::credential_alternative(&r.name.schema, &r.name.name)
                )));
            }
        }
        Ok(())
    }

    /// Functions named in `deny.functions`.
    fn denied_functions(&self, st: &StatementInfo) -> Result<(), Denial> {
        for f in &st.functions {
            if self.function_listed(&self.denied_functions, f) {
                return Err(Denial::new(
                    "function_denied",
                    format!("{}: deny.functions", self.file()),
                    format!("actgate denied calling function {f}"),
                ));
            }
        }
        Ok(())
    }

    /// Classes named in `deny.statements`. CLOSE, DEALLOCATE and UNLISTEN
    /// only release what the session holds (pool resets send them): no
    /// class deny stops them.
    fn denied_classes(&self, st: &StatementInfo, class_name: &str) -> Result<(), Denial> {
        if let Some(c) = st
            .classes
            .iter()
            .find(|c| !st.housekeeping && self.denied_classes.contains(c))
        {
            return Err(Denial::new(
                "statement_class_denied",
                format!("{}: deny.statements", self.file()),
                format!(
                    "actgate denied this {} statement: {} statements are denied for agent {:?}",
                    class_name.to_uppercase(),
                    c.name(),
                    self.agent
                ),
            ));
        }
        Ok(())
    }

    /// A `roles` or `ownership` statement the rules do not allow.
    fn role_management(&self, st: &StatementInfo) -> Result<(), Denial> {
        for c in [Class::Roles, Class::Ownership] {
            if st.classes.contains(&c) && !self.classes.contains(&c) {
                return Err(self.role_management_denial(c));
            }
        }
        Ok(())
    }

    /// Every class of the statement must be allowed by `policy.statements`,
    /// the driver profile, or be a session statement.
    fn classes_allowed(
        &self,
        st: &StatementInfo,
        session: &SessionState,
        class_name: &str,
    ) -> Result<(), Denial> {
        for c in &st.classes {
            let allowed = self.classes.contains(c)
                || (*c == Class::Transaction && self.driver_profile)
                || (st.housekeeping && self.driver_profile)
                || self.implied(st, *c, session)
                || *c == Class::Session;
            if !allowed {
                return Err(Denial::new(
                    "statement_class_denied",
                    format!("{}: policy.statements", self.file()),
                    format!(
                        "actgate denied this {} statement: {} statements are not allowed for agent {:?}",
                        class_name.to_uppercase(),
                        c.name(),
                        self.agent
                    ),
                )
                .hint(self.classes_hint()));
            }
        }
        Ok(())
    }

    /// A column reference that could belong to a table the agent may not
    /// read it from.
    fn ambiguous_columns(
        &self,
        st: &StatementInfo,
        catalog: Option<&Catalog>,
    ) -> Result<(), Denial> {
        for a in &st.ambiguous {
            for (t, col) in &a.candidates {
                if self.column(t, col, ColumnAccess::Read, catalog).is_err() {
                    return Err(Denial::new(
                        "ambiguous_column",
                        self.tables
                            .get(t)
                            .map(|r| format!("{}: {}.columns", self.file(), r.rule))
                            .unwrap_or_else(|| "default_deny".into()),
                        format!(
                            "actgate could not tell which table column {:?} belongs to, and reading it from {t} is not allowed",
                            a.column
                        ),
                    )
                    .hint("qualify the column with its table or alias"));
                }
            }
        }
        Ok(())
    }

    /// An UPDATE or DELETE without a WHERE clause, under `policy.require_where`.
    fn where_required(&self, st: &StatementInfo, class_name: &str) -> Result<(), Denial> {
        if st.missing_where && self.require_where {
            return Err(Denial::new(
                "missing_where",
                format!("{}: policy.require_where", self.file()),
                format!(
                    "actgate denied this {} without a WHERE clause",
                    class_name.to_uppercase()
                ),
            )
            .hint("add a WHERE clause that selects the rows to change"));
        }
        Ok(())
    }

    /// Whether the driver profile implies class `c` of a statement from
    /// what the statement wraps (see [`implied`]). A SQL `EXECUTE` is
    /// implied only for statements prepared by SQL `PREPARE`: one prepared
    /// by Parse is held at Bind to checks and limits EXECUTE would skip.
    pub(super) fn implied(&self, st: &StatementInfo, c: Class, session: &SessionState) -> bool {
        self.driver_profile
            && implied(st, c)
            && (c != Class::Execute
                || st.prepared.iter().all(|p| match p {
                    // (An unknown one is refused as such below.)
                    PreparedRef::Execute(name) => {
                        session.is_sql_prepared(name) || !session.is_prepared(name)
                    }
                    _ => true,
                }))
    }

    /// Refuses a PREPARE or DECLARE whose later EXECUTE or FETCH could
    /// not be held to the statement's own row limit or write cap: an
    /// EXECUTE carries no table (and a Bind of a SQL-level prepared
    /// statement no limit at all), a FETCH only the agent's `max_rows`.
    pub(super) fn deferred_controls(&self, st: &StatementInfo) -> Result<(), Denial> {
        let prepares = st
            .prepared
            .iter()
            .any(|p| matches!(p, PreparedRef::Prepare(_)));
        let table_limit = |r: &analyze::RelationUse| {
            self.tables
                .get(&r.name)
                .and_then(|t| t.max_rows.map(|m| (m, t)))
        };
        if prepares {
            let refuse = |rule: String, what: &str| {
                Denial::new(
                    "runtime_control_prepare",
                    format!("{}: {rule}", self.file()),
                    format!(
                        "actgate denied this PREPARE: the statement is under {what} ({rule}), which SQL-level prepared statements cannot be held to"
                    ),
                )
                .hint("run the statement directly, or prepare it with your driver (extended protocol)")
            };
            for r in &st.relations {
                if matches!(r.access, Access::Update | Access::Delete)
                    && let Some(t) = self.tables.get(&r.name)
                    && t.max_affected_rows.is_some()
                {
                    return Err(refuse(
                        format!("{}.max_affected_rows", t.rule),
                        "a write cap",
                    ));
                }
            }
            if st.deferred_rows {
                if let Some((_, t)) = st.relations.iter().find_map(table_limit) {
                    return Err(refuse(format!("{}.max_rows", t.rule), "a row limit"));
                }
                if self.max_rows.is_some() {
                    return Err(refuse("policy.max_rows".into(), "a row limit"));
                }
            }
        } else if st.deferred_rows
            && let Some((max, t)) = st
                .relations
                .iter()
                .filter_map(table_limit)
                .min_by_key(|(m, _)| *m)
            && self.max_rows.is_none_or(|m| max < m)
        {
            return Err(Denial::new(
                "row_limit_cursor",
                format!("{}: {}.max_rows", self.file(), t.rule),
                format!(
                    "actgate denied this cursor: it reads {} under a row limit of {max} ({}.max_rows), which FETCH from a cursor cannot be held to",
                    t.rule.trim_start_matches("tables."),
                    t.rule
                ),
            )
            .hint("run the query directly, as a plain SELECT"));
        }
        Ok(())
    }

    pub(super) fn setting(&self, s: &analyze::SettingUse) -> Result<(), Denial> {
        let custom = s.name.contains('.');
        let deny = |reason, message: String| {
            Err(
                Denial::new(reason, format!("{}: policy.settings", self.file()), message).hint(
                    format!("settings this agent may change: {}", self.settings_hint()),
                ),
            )
        };
        match s.action {
            SettingAction::Show => {
                if custom && !self.settings.contains(&s.name) {
                    return deny("setting_denied", format!("actgate denied SHOW {}", s.name));
                }
                Ok(())
            }
            SettingAction::Set
            | SettingAction::Narrow
            | SettingAction::Reset
            | SettingAction::Discard => {
                let verb = match s.action {
                    SettingAction::Set | SettingAction::Narrow => "SET",
                    SettingAction::Reset => "RESET",
                    _ => "DISCARD",
                };
                // Making the session more restrictive, or RESETting such a
                // setting back to the start value actgate let the session
                // begin with, never widens it.
                let narrowable = builtin::NARROWABLE_SETTINGS.contains(&s.name.as_str())
                    && matches!(s.action, SettingAction::Narrow | SettingAction::Reset);
                if narrowable {
                    return Ok(());
                }
                if builtin::is_pinned_setting(&s.name) {
                    return Err(Denial::new(
                        "setting_pinned",
                        "builtin.pinned_settings",
                        format!(
                            "actgate denied {verb} {}: actgate pins this setting",
                            s.name
                        ),
                    )
                    .hint(self.pinned_hint(&s.name)));
                }
                let discard_other = s.action == SettingAction::Discard && s.name != "all";
                // RESET ALL / DISCARD ALL (pool resets) return every
                // setting to the session's start values, which hold the
                // pinned and identity ones (set in the startup packet or
                // never changeable): part of the driver profile.
                let reset_all = s.name == "all"
                    && matches!(s.action, SettingAction::Reset | SettingAction::Discard);
                let allowed = self.settings.contains(&s.name)
                    || (reset_all && self.driver_profile)
                    || (self.driver_profile
                        && !custom
                        && builtin::SETTINGS.contains(&s.name.as_str()))
                    || (discard_other && self.classes.contains(&Class::Session));
                if allowed {
                    Ok(())
                } else {
                    deny(
                        "setting_denied",
                        format!("actgate denied {verb} {}", s.name),
                    )
                }
            }
        }
    }

    pub(super) fn relation(&self, name: &QualifiedName, access: Access) -> Result<(), Denial> {
        if let Some(rule) = self
            .tables
            .get(name)
            .or_else(|| self.schemas.get(&name.schema))
        {
            let ok = rule.operations.contains(&access)
                || (access == Access::Lock && rule.operations.contains(&Access::Update));
            if ok {
                return Ok(());
            }
            let ops: Vec<&str> = rule.operations.iter().map(|a| a.name()).collect();
            return Err(Denial::new(
                "operation_not_allowed",
                format!("{}: {}.operations", self.file(), rule.rule),
                format!(
                    "actgate denied {} on table {name} for agent {:?}",
                    access.name(),
                    self.agent
                ),
            )
            .hint(format!("allowed on {name}: {}", ops.join(", "))));
        }
        let system = name.schema == "pg_catalog" || name.schema == "information_schema";
        if system {
            if access != Access::Read {
                return Err(Denial::new(
                    "catalog_write",
                    "builtin.catalog",
                    format!("actgate denied {} on system catalog {name}", access.name()),
                ));
            }
            let allowed = match self.catalog_access {
                CatalogAccess::All => true,
                CatalogAccess::Drivers => {
                    self.driver_profile
                        && builtin::listed(builtin::DRIVER_RELATIONS, &name.schema, &name.name)
                }
                CatalogAccess::None => false,
            };
            if allowed {
                return Ok(());
            }
            return Err(Denial::new(
                "catalog_denied",
                format!("{}: policy.catalog", self.file()),
                format!(
                    "actgate denied reading system catalog {name} for agent {:?}",
                    self.agent
                ),
            )
            .hint(
                "drivers' catalog queries are allowed; add the catalog under [tables] to read it",
            ));
        }
        Err(Denial::new(
            "table_not_allowed",
            "default_deny",
            format!(
                "actgate denied {} on table {name}: no rule allows agent {:?} to use it",
                access.name(),
                self.agent
            ),
        )
        .hint(self.tables_hint()))
    }

    pub(super) fn column(
        &self,
        relation: &QualifiedName,
        column: &ColumnName,
        access: ColumnAccess,
        catalog: Option<&Catalog>,
    ) -> Result<(), Denial> {
        let Some(rule) = self.tables.get(relation) else {
            // Relations without a table rule were already decided as a whole.
            return Ok(());
        };
        let restricted = rule.columns.is_some()
            || !rule.deny_columns.is_empty()
            || (access == ColumnAccess::Write && rule.write_columns.is_some());
        if !restricted {
            return Ok(());
        }
        let names: Vec<String> = match column {
            ColumnName::Named(c) => vec![c.clone()],
            ColumnName::All => match catalog.and_then(|c| c.columns(relation)) {
                Some(cols) => cols.to_vec(),
                None => {
                    return Err(Denial::new(
                        "column_expansion_unavailable",
                        format!("{}: {}.columns", self.file(), rule.rule),
                        format!(
                            "actgate denied * on {relation}: the table has column rules and its columns are unknown"
                        ),
                    )
                    .hint(format!("name the columns; allowed: {}", self.columns_hint(rule))));
                }
            },
        };
        let star = matches!(column, ColumnName::All);
        for c in names {
            let readable = rule.columns.as_ref().is_none_or(|a| a.contains(&c))
                && !rule.deny_columns.contains(&c);
            let writable = match access {
                ColumnAccess::Read => true,
                ColumnAccess::Write => rule.write_columns.as_ref().is_none_or(|w| w.contains(&c)),
            };
            if !readable || !writable {
                let what = if star {
                    format!("* (which includes column {c:?})")
                } else {
                    format!("column {c:?}")
                };
                let verb = match access {
                    ColumnAccess::Read => "reading",
                    ColumnAccess::Write => "writing",
                };
                let hint = match access {
                    ColumnAccess::Write if readable => format!(
                        "writable columns of {relation}: {}",
                        rule.write_columns
                            .as_ref()
                            .map(|w| w.iter().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default()
                    ),
                    _ => format!("allowed columns of {relation}: {}", self.columns_hint(rule)),
                };
                // The key that refused the column: a denied column is
                // named by deny_columns, one outside the allow-list by
                // columns, a readable one that may not be written by
                // write_columns.
                let key = if rule.deny_columns.contains(&c) {
                    "deny_columns"
                } else if !readable {
                    "columns"
                } else {
                    "write_columns"
                };
                return Err(Denial::new(
                    "column_denied",
                    format!("{}: {}.{key}", self.file(), rule.rule),
                    format!(
                        "actgate denied {verb} {what} of {relation} for agent {:?}",
                        self.agent
                    ),
                )
                .hint(hint));
            }
        }
        Ok(())
    }

    pub(super) fn function_listed(
        &self,
        set: &foldhash::HashSet<QualifiedName>,
        f: &QualifiedName,
    ) -> bool {
        set.contains(f) || set.contains(&QualifiedName::new("pg_catalog", f.name.clone()))
    }

    pub(super) fn function(&self, f: &QualifiedName) -> Result<(), Denial> {
        let builtin = (f.schema == "pg_catalog"
            && (builtin::is_builtin_function(&f.name)
                || (self.driver_profile && builtin::is_driver_function(&f.name))))
            || (self.driver_profile && builtin::is_driver_qualified_function(&f.schema, &f.name));
        if builtin || self.function_listed(&self.functions, f) {
            return Ok(());
        }
        Err(Denial::new(
            "function_not_allowed",
            "builtin.functions",
            format!("actgate denied calling function {f}: it is not on the allow-list for agent {:?}", self.agent),
        )
        .hint("ordinary functions (aggregates, string, date, math, JSON) are allowed; ask a DBA to add others to policy.functions"))
    }
}

/// COPY to or from a server-side file or program, or with inline data.
fn copy_endpoint(copy: &analyze::CopyInfo) -> Result<(), Denial> {
    if copy.endpoint != CopyEndpoint::Client {
        return Err(Denial::new(
            "copy_server_side",
            "builtin.copy",
            "actgate denied COPY to or from a server-side file or program",
        )
        .hint("use COPY … FROM STDIN or COPY … TO STDOUT"));
    }
    if copy.inline_payload {
        return Err(Denial::new(
            "copy_inline_data",
            "builtin.copy",
            "actgate denied COPY with inline data in the statement text",
        )
        .hint("send COPY data with the COPY sub-protocol (CopyData messages)"));
    }
    Ok(())
}

/// An anonymous code block (`DO`): it runs procedural code whose reads,
/// writes and calls no analysis of the statement can see.
fn code_block(st: &StatementInfo) -> Result<(), Denial> {
    if st.code_block {
        return Err(Denial::new(
            "code_block_denied",
            "builtin.code_blocks",
            "actgate denied an anonymous code block (DO): the code it runs cannot be checked",
        )
        .hint("run the statements the block would run one by one"));
    }
    Ok(())
}

/// Two-phase commit: a prepared transaction outlives the session and
/// keeps its locks; COMMIT/ROLLBACK PREPARED finish any session's.
fn two_phase(st: &StatementInfo) -> Result<(), Denial> {
    if st.two_phase {
        return Err(Denial::new(
            "two_phase_commit_denied",
            "builtin.two_phase_commit",
            "actgate denied two-phase commit (PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED): a prepared transaction outlives the session and holds its locks",
        )
        .hint("use COMMIT or ROLLBACK"));
    }
    Ok(())
}

/// DDL on databases, extensions, servers and other cluster-wide objects.
fn cluster_objects(st: &StatementInfo) -> Result<(), Denial> {
    if st.cluster_level {
        return Err(Denial::new(
            "cluster_object_denied",
            "builtin.cluster_objects",
            "actgate denied DDL on databases, extensions, servers or other cluster-wide objects",
        ));
    }
    Ok(())
}

/// A SQL EXECUTE of a statement this session did not prepare.
fn unknown_prepared(st: &StatementInfo, session: &SessionState) -> Result<(), Denial> {
    for p in &st.prepared {
        if let PreparedRef::Execute(name) = p
            && !session.is_prepared(name)
        {
            return Err(Denial::new(
                "unknown_prepared_statement",
                "default_deny",
                format!(
                    "actgate denied EXECUTE {name}: it was not prepared by an allowed PREPARE in this session"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "statement_tests.rs"]
mod tests;
