//! The proposal as a TOML rules file with review comments.

use super::{PLACEHOLDER_VERIFIER, Seen, Skipped, TableSeen};
use crate::policy::analyze::Access;
use crate::policy::names::QualifiedName;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A TOML key: bare when TOML allows it.
fn toml_key(s: &str) -> String {
    let bare = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare { s.to_owned() } else { quoted(s) }
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(quoted).collect();
    format!("[{}]", items.join(", "))
}

/// Text safe inside a `#` comment line.
pub(super) fn comment(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn counted<K: std::fmt::Display>(m: &BTreeMap<K, usize>) -> String {
    m.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn lines(v: &[usize]) -> String {
    v.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn render(
    seen: &Seen,
    skipped: &Skipped,
    source: &str,
    agent: &str,
    default_schema: &str,
    catalog: bool,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    header(w, seen, skipped, source, agent);
    agent_section(w, seen, agent);
    policy_section(w, seen);
    for (name, t) in &seen.tables {
        table_section(w, name, t, default_schema, catalog);
    }
    out
}

/// What the proposal was built from and which events were not used.
fn header(w: &mut String, seen: &Seen, skipped: &Skipped, source: &str, agent: &str) {
    let _ = writeln!(
        w,
        "# Suggested by `actgate suggest` for agent {agent:?} from {}.",
        comment(source)
    );
    let _ = writeln!(
        w,
        "# Built from {} recorded statement(s): {} allowed, {} blocked in monitor mode (they ran).",
        seen.allowed + seen.monitor_blocked,
        seen.allowed,
        seen.monitor_blocked
    );
    if skipped.blocked_enforce > 0 {
        let _ = writeln!(
            w,
            "# Not used: {} statement(s) blocked in enforce mode (they never ran; check them with `actgate replay`).",
            skipped.blocked_enforce
        );
    }
    if !skipped.truncated.is_empty() {
        let _ = writeln!(
            w,
            "# NOT ANALYSED: {} statement(s) with truncated SQL (sql_truncated), line(s) {}: raise [audit] sql_max_bytes or review them by hand.",
            skipped.truncated.len(),
            lines(&skipped.truncated)
        );
    }
    if !skipped.no_sql.is_empty() {
        let _ = writeln!(
            w,
            "# NOT ANALYSED: {} event(s) without SQL, line(s) {}.",
            skipped.no_sql.len(),
            lines(&skipped.no_sql)
        );
    }
    if !skipped.unparseable.is_empty() {
        let _ = writeln!(
            w,
            "# NOT ANALYSED: {} statement(s) actgate cannot parse (it denies them under any policy):",
            skipped.unparseable.len()
        );
        for (line, e) in &skipped.unparseable {
            let _ = writeln!(w, "#   line {line}: {}", comment(e));
        }
    }
    let _ = writeln!(
        w,
        "# Review every entry: this is what the agent did, not necessarily what it should do."
    );
}

/// `[agent]`: the databases and the way the agent logs in.
fn agent_section(w: &mut String, seen: &Seen, agent: &str) {
    let _ = writeln!(w, "\n[agent]");
    let _ = writeln!(w, "name = {}", quoted(agent));
    let _ = writeln!(
        w,
        "databases = {}   # statements per database: {}",
        list(seen.databases.keys().map(String::as_str)),
        counted(&seen.databases)
    );
    if seen.token_sessions > 0 {
        let _ = writeln!(
            w,
            "auth = \"token\"   # {} statement(s) came from capability-token sessions",
            seen.token_sessions
        );
        if seen.secret_sessions > 0 {
            let _ = writeln!(
                w,
                "# NOTE: {} statement(s) came from secret logins; an agent has one way to log in.",
                seen.secret_sessions
            );
        }
    } else {
        let _ = writeln!(
            w,
            "# EDIT ME: a placeholder that no secret matches; replace it with the output of `actgate secret`."
        );
        let _ = writeln!(w, "secret_verifier = {}", quoted(PLACEHOLDER_VERIFIER));
    }
}

/// `[policy]`: statement classes, functions, settings, require_where and
/// a hint at the claims the tokens carried.
fn policy_section(w: &mut String, seen: &Seen) {
    let _ = writeln!(w, "\n[policy]");
    let _ = writeln!(
        w,
        "# mode = \"monitor\"   # to trial this policy first: evaluate and audit, never block"
    );
    let _ = writeln!(
        w,
        "statements = {}   # statements per class: {}",
        list(seen.classes.keys().map(|c| c.name())),
        counted(
            &seen
                .classes
                .iter()
                .map(|(c, n)| (c.name(), *n))
                .collect::<BTreeMap<_, _>>()
        )
    );
    if !seen.functions.is_empty() {
        let _ = writeln!(
            w,
            "functions = {}   # beyond the built-in allow-list; statements per function: {}",
            list(seen.functions.keys().map(String::as_str)),
            counted(&seen.functions)
        );
    }
    if !seen.settings.is_empty() {
        let _ = writeln!(
            w,
            "settings = {}   # statements per setting: {}",
            list(seen.settings.keys().map(String::as_str)),
            counted(&seen.settings)
        );
    }
    if seen.missing_where > 0 {
        let _ = writeln!(
            w,
            "require_where = false   # WARNING: {} UPDATE/DELETE statement(s) without a WHERE clause were seen",
            seen.missing_where
        );
    }
    if seen.token_sessions > 0 && !seen.claim_names.is_empty() {
        let names: Vec<&str> = seen.claim_names.iter().map(String::as_str).collect();
        let _ = writeln!(
            w,
            "# The tokens carried the claims {}: consider `scope = {{ <column> = \"{{{{claims.NAME}}}}\" }}` on tables holding end users' rows.",
            names.join(", ")
        );
    }
}

/// `[tables.NAME]`: its operations, columns and write columns.
fn table_section(
    w: &mut String,
    name: &QualifiedName,
    t: &TableSeen,
    default_schema: &str,
    catalog: bool,
) {
    let key = if name.schema == default_schema {
        crate::policy::names::quote_if_needed(&name.name)
    } else {
        name.to_string()
    };
    let _ = writeln!(w, "\n[tables.{}]", toml_key(&key));
    let ops = t
        .operations
        .iter()
        .map(|(a, n)| format!("{} {n}", a.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(w, "# used by {} statement(s): {ops}", t.statements);
    let _ = writeln!(
        w,
        "operations = {}",
        list(t.operations.keys().map(|a| a.name()))
    );
    let writes = t
        .operations
        .keys()
        .any(|a| matches!(a, Access::Insert | Access::Update));
    let unknown_why = if catalog {
        "not in the catalog"
    } else {
        "unknown without a catalog (pass --database to expand *)"
    };
    if t.read_unknown > 0 || t.write_unknown > 0 {
        let _ = writeln!(
            w,
            "# columns omitted: {} statement(s) used * or a whole row, whose columns are {unknown_why}",
            t.read_unknown + t.write_unknown
        );
    } else if t.read.is_empty() && t.written.is_empty() {
        let _ = writeln!(w, "# no column of it was named");
    } else {
        // `columns` bounds reads and writes alike.
        let all: BTreeSet<&str> = t
            .read
            .iter()
            .chain(&t.written)
            .map(String::as_str)
            .collect();
        let _ = writeln!(w, "columns = {}", list(all));
    }
    if writes {
        if t.write_unknown > 0 {
            let _ = writeln!(
                w,
                "# write_columns omitted: an INSERT without a column list writes columns {unknown_why}"
            );
        } else {
            let _ = writeln!(
                w,
                "write_columns = {}",
                list(t.written.iter().map(String::as_str))
            );
        }
    }
}
