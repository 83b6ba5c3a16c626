//! The allow-everything agent: every statement class, every operation on
//! every schema the corpus names, every catalog, every function it calls
//! and every setting it sets (except those actgate pins, which no rules
//! file may allow).

use crate::corpus::Corpus;
use actgate::policy::Policy;
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;

const CLASSES: &str = r#""read", "insert", "update", "delete", "merge", "truncate", "ddl", "dcl",
  "transaction", "session", "copy", "vacuum", "analyze", "lock", "listen", "notify", "prepare",
  "execute", "deallocate", "cursor", "call", "explain", "roles", "ownership""#;

const OPERATIONS: &str = r#"["select", "insert", "update", "delete", "truncate", "ddl", "lock"]"#;

/// The search_path statements are resolved with.
pub fn search_path() -> Vec<String> {
    vec!["public".to_string()]
}

/// The rules file's text.
pub fn text(corpus: &Corpus) -> String {
    let mut t = String::new();
    t.push_str(
        "[agent]\nname = \"everything\"\ndatabases = [\"regression\"]\nauth = \"token\"\n\n",
    );
    t.push_str("[policy]\nrequire_where = false\ncatalog = \"all\"\n");
    let _ = writeln!(t, "statements = [{CLASSES}]");
    let mut functions = Vec::new();
    for f in &corpus.functions {
        functions.push(f.clone());
        if !f.contains('.') {
            // Unqualified: pg_catalog's if built in, else the search_path's.
            functions.push(format!("public.{f}"));
        }
    }
    let _ = writeln!(t, "functions = {}", list(&functions));
    let mut settings: Vec<String> = corpus
        .settings
        .iter()
        .filter(|s| !actgate::policy::builtin::is_pinned_setting(s))
        .cloned()
        .collect();
    settings.push("all".into());
    let _ = writeln!(t, "settings = {}", list(&settings));
    let mut schemas: Vec<&str> = corpus.schemas.iter().map(String::as_str).collect();
    schemas.push("public");
    schemas.sort_unstable();
    schemas.dedup();
    for s in schemas {
        if s.starts_with("pg_") || s == "information_schema" {
            continue; // `[policy] catalog = "all"`
        }
        let _ = write!(t, "\n[schemas.{}]\noperations = {OPERATIONS}\n", quote(s));
    }
    t
}

/// Compiles the agent, offline (no catalog).
pub fn policy(corpus: &Corpus) -> Result<Arc<Policy>, String> {
    let text = text(corpus);
    let agent = actgate::rules::parse_agent(
        &text,
        Path::new("everything.toml"),
        &search_path(),
        &HashMap::new(),
    )
    .map_err(|e| format!("the allow-everything rules do not load: {e}"))?;
    Ok(agent.policy)
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
