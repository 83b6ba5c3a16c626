//! Settings: SET/RESET/SHOW, `set_config` and `current_setting`, and how a
//! setting name and a SET value are read.

use super::super::names::{QualifiedName, fold, parts};
use super::pins::{placeholder, strip_nested};
use super::scope::{Env, Scope, SourceKind};
use super::{
    AnalysisError, Class, ColumnAccess, ColumnName, SettingAction, SettingParam, SettingUse,
    Walker, unsupported,
};
use sqlparser::ast::{self, Expr, FunctionArg, FunctionArgExpr, ObjectName};

/// Whether a function argument is `alias.name` of pg_catalog.pg_settings
/// (without column aliases, which could rename another column to `name`):
/// a setting pg_settings lists, as in psql's `\dconfig`
/// (`current_setting(s.name) FROM pg_settings s`). pg_settings lists no
/// custom placeholder settings, so this reads nothing pg_settings hides.
pub(super) fn listed_setting(arg: &FunctionArg, scope: &Scope<'_>) -> bool {
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

/// A function argument that is a parameter, bare or cast to an unbounded
/// text type (`$1`, `$1::VARCHAR`, `$1::text`): a setting name bound at
/// Bind, whose value is the name used.
pub(super) fn text_param(arg: &FunctionArg) -> Option<usize> {
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

/// Setting names are case-insensitive in Postgres, quoted or not.
pub(super) fn setting_name(name: &ObjectName) -> Result<String, AnalysisError> {
    let p =
        parts(name).ok_or_else(|| AnalysisError::Unsupported(format!("setting name {name}")))?;
    Ok(normalise_setting(&p.join(".").to_ascii_lowercase()))
}

/// What `SET name = values` does: `TO DEFAULT` is RESET; a single value
/// that can only make the session more restrictive narrows it; anything
/// else is a SET.
pub(super) fn set_action(name: &str, values: &[Expr]) -> SettingAction {
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
    if super::super::builtin::narrows(name, &text) {
        SettingAction::Narrow
    } else {
        SettingAction::Set
    }
}

/// Canonical names for settings with SQL-standard spellings.
pub(in crate::policy) fn normalise_setting(name: &str) -> String {
    match name {
        "time zone" => "timezone".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "session authorization" => "session_authorization".into(),
        "names" => "client_encoding".into(),
        other => other.to_owned(),
    }
}

impl Walker<'_> {
    /// `set_config(name, value, is_local)` changes a setting like SET: the
    /// name must be a literal so the setting rules can judge it. Called for
    /// every call of a function `name` with `args`, in expressions and as a
    /// table function in FROM alike.
    pub(super) fn set_config(
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

    pub(super) fn set(&mut self, set: &ast::Set, env: &Env) -> Result<(), AnalysisError> {
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
    pub(super) fn setting_value(
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
}
