//! `actgate test`: runs policy test files — SQL an agent sends, with the
//! token claims it holds, and the verdict expected — against a rules
//! directory, and reports like a test runner (text and JUnit XML).
//!
//! Statements are decided as the proxy decides a simple-protocol Query
//! ([`decide_query`]): the same analysis and the same
//! [`Policy::decide_query`], read by
//! [`crate::policy::Decision::offline_verdict`] (a statement the proxy would
//! hold for approval is refused with `approval_required`). What depends on time or history is not
//! decided here: budgets, time windows, the circuit breaker, row counts.
//! The verdict is the policy's, also for agents in monitor mode (which
//! would audit a denial rather than block it). Without a live catalog,
//! `*` is not expanded, as in `actgate explain` without `--database-url`.

use crate::policy::analyze::{AnalysisLimits, analyze};
use crate::policy::catalog::Catalog;
use crate::policy::names::Resolver;
use crate::policy::{Capability, Policy, SessionState, StaticClaims, Verdict};
use crate::rules::RuleSet;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("cannot read tests directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("no test files (*.toml) in {path}")]
    Empty { path: PathBuf },
}

/// A test file: `[[case]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    case: Vec<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Spanned<String>,
    agent: String,
    /// Token claims (`{{claims.NAME}}` in rules).
    #[serde(default)]
    claims: BTreeMap<String, String>,
    /// The token's subject (the end user).
    #[serde(default)]
    subject: Option<String>,
    sql: String,
    expect: Expected,
    /// With `expect = "deny"`: the reason code expected.
    #[serde(default)]
    reason: Option<Spanned<String>>,
}

/// The verdict a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    Allow,
    Deny,
}

/// One test case, validated.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// Where its `name` is, 1-based.
    pub line: usize,
    pub agent: String,
    pub claims: BTreeMap<String, String>,
    pub subject: Option<String>,
    pub sql: String,
    pub expect: Expected,
    pub reason: Option<String>,
}

/// The cases of one file, in file order.
#[derive(Debug, Clone)]
pub struct TestFile {
    pub path: PathBuf,
    pub cases: Vec<Case>,
}

/// Parses a test file; `path` names it in errors.
pub fn parse_file(text: &str, path: &Path) -> Result<TestFile, TestError> {
    let invalid = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, column) = crate::policy::compile::line_col(text, span.map_or(0, |s| s.start));
        TestError::Invalid {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    };
    let raw: RawFile =
        toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_owned()))?;
    let mut names = HashSet::new();
    let mut cases = Vec::new();
    for c in raw.case {
        let name = c.name.get_ref().trim().to_owned();
        if name.is_empty() {
            return Err(invalid(Some(c.name.span()), "case name is empty".into()));
        }
        if !names.insert(name.clone()) {
            return Err(invalid(
                Some(c.name.span()),
                format!("case {name:?} is defined twice"),
            ));
        }
        if let (Expected::Allow, Some(r)) = (c.expect, &c.reason) {
            return Err(invalid(
                Some(r.span()),
                format!("case {name:?}: reason is only for expect = \"deny\""),
            ));
        }
        cases.push(Case {
            name,
            line: crate::policy::compile::line_col(text, c.name.span().start).0,
            agent: c.agent,
            claims: c.claims,
            subject: c.subject,
            sql: c.sql,
            expect: c.expect,
            reason: c.reason.map(Spanned::into_inner),
        });
    }
    if cases.is_empty() {
        return Err(invalid(None, "no [[case]] in the file".into()));
    }
    Ok(TestFile {
        path: path.to_owned(),
        cases,
    })
}

/// Reads every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<TestFile>, TestError> {
    let paths = crate::rules::toml_files(dir).map_err(|source| TestError::ReadDir {
        path: dir.to_owned(),
        source,
    })?;
    if paths.is_empty() {
        return Err(TestError::Empty {
            path: dir.to_owned(),
        });
    }
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).map_err(|source| TestError::ReadFile {
                path: path.clone(),
                source,
            })?;
            parse_file(&text, path)
        })
        .collect()
}

/// The verdict actgate gives `sql` from `policy`, sent as a simple Query in
/// a fresh session (see the module documentation for what is left out).
pub fn decide_query(
    policy: &Policy,
    sql: &str,
    search_path: &[String],
    database: Option<(&str, &Catalog)>,
    capability: Option<&dyn Capability>,
) -> Verdict {
    let catalog = database.map(|(_, c)| c);
    let resolver = Resolver {
        search_path,
        catalog,
        database: database.map(|(d, _)| d),
    };
    let analysis = analyze(sql, &resolver, AnalysisLimits::default());
    let session = SessionState::default();
    let situation = crate::policy::Situation::offline(catalog, &session, capability);
    // A statement the proxy would hold for a human is refused with
    // `approval_required` (no request is made here).
    policy
        .decide_query(&analysis, &situation)
        .offline_verdict(policy, Some("(none: actgate test)"))
}

/// What went wrong in a failed case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line: what was expected and what happened.
    pub summary: String,
    /// The verdict in detail (reason, rule, message, hint).
    pub details: Vec<(&'static str, String)>,
}

/// One case's outcome.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: Case,
    pub failure: Option<Failure>,
}

/// The outcome of one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    pub cases: Vec<CaseResult>,
}

impl FileResult {
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| c.failure.is_some()).count()
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Default)]
pub struct TestRun {
    pub files: Vec<FileResult>,
    /// The database whose catalog the statements were analysed with.
    pub database: Option<String>,
}

impl TestRun {
    pub fn total(&self) -> usize {
        self.files.iter().map(|f| f.cases.len()).sum()
    }

    pub fn failed(&self) -> usize {
        self.files.iter().map(FileResult::failed).sum()
    }

    pub fn passed(&self) -> bool {
        self.failed() == 0
    }
}

/// Runs every case of `files` against `rules`.
pub fn run(
    rules: &RuleSet,
    files: &[TestFile],
    search_path: &[String],
    database: Option<(&str, &Catalog)>,
) -> TestRun {
    let files = files
        .iter()
        .map(|f| FileResult {
            path: f.path.clone(),
            cases: f
                .cases
                .iter()
                .map(|case| CaseResult {
                    case: case.clone(),
                    failure: run_case(rules, case, search_path, database),
                })
                .collect(),
        })
        .collect();
    TestRun {
        files,
        database: database.map(|(d, _)| d.to_owned()),
    }
}

fn run_case(
    rules: &RuleSet,
    case: &Case,
    search_path: &[String],
    database: Option<(&str, &Catalog)>,
) -> Option<Failure> {
    let Some(agent) = rules.agent(&case.agent) else {
        return Some(Failure {
            summary: format!("no agent named {:?} in the rules", case.agent),
            details: Vec::new(),
        });
    };
    // As a token would: custom claims, plus the subject and agent.
    let capability = (!case.claims.is_empty() || case.subject.is_some()).then(|| {
        let mut claims = case.claims.clone();
        if let Some(s) = &case.subject {
            claims.insert("subject".into(), s.clone());
        }
        claims.insert("agent".into(), agent.name.clone());
        StaticClaims(claims)
    });
    let verdict = decide_query(
        &agent.policy,
        &case.sql,
        search_path,
        database,
        capability.as_ref().map(|c| c as &dyn Capability),
    );
    let expected = match (&case.expect, &case.reason) {
        (Expected::Allow, _) => "allow".to_owned(),
        (Expected::Deny, None) => "deny".to_owned(),
        (Expected::Deny, Some(r)) => format!("deny ({r})"),
    };
    match (&verdict, case.expect) {
        (Verdict::Allow, Expected::Allow) => None,
        (Verdict::Allow, Expected::Deny) => Some(Failure {
            summary: format!("expected {expected}, got allow"),
            details: Vec::new(),
        }),
        (Verdict::Deny(d), expect) => {
            let reason_matches = case.reason.as_deref().is_none_or(|r| r == d.reason);
            if expect == Expected::Deny && reason_matches {
                return None;
            }
            let mut details = vec![
                ("reason", d.reason.to_owned()),
                ("rule", d.rule.clone()),
                ("message", d.message.clone()),
            ];
            if let Some(h) = &d.hint {
                details.push(("hint", h.clone()));
            }
            Some(Failure {
                summary: format!("expected {expected}, got deny ({})", d.reason),
                details,
            })
        }
    }
}

/// The run as a test runner prints it.
pub fn render_text(run: &TestRun) -> String {
    let mut out = String::new();
    let total = run.total();
    let _ = writeln!(
        out,
        "running {total} test{} from {} file{} ({})",
        plural(total),
        run.files.len(),
        plural(run.files.len()),
        match &run.database {
            Some(db) => format!("live catalog of database {db:?}"),
            None => "no database: * is not expanded".to_owned(),
        }
    );
    for f in &run.files {
        for c in &f.cases {
            let status = if c.failure.is_some() { "FAILED" } else { "ok" };
            let _ = writeln!(
                out,
                "test {} :: {} ... {status}",
                f.path.display(),
                c.case.name
            );
        }
    }
    if !run.passed() {
        let _ = writeln!(out, "\nfailures:");
        for f in &run.files {
            for c in &f.cases {
                let Some(failure) = &c.failure else { continue };
                let _ = writeln!(
                    out,
                    "\n---- {}:{} :: {} ----",
                    f.path.display(),
                    c.case.line,
                    c.case.name
                );
                let _ = writeln!(out, "  agent:    {}", c.case.agent);
                let _ = writeln!(out, "  sql:      {}", c.case.sql.trim());
                let _ = writeln!(out, "  {}", failure.summary);
                for (k, v) in &failure.details {
                    let _ = writeln!(out, "  {:<9} {v}", format!("{k}:"));
                }
            }
        }
        let _ = writeln!(out, "\nfailures:");
        for f in &run.files {
            for c in f.cases.iter().filter(|c| c.failure.is_some()) {
                let _ = writeln!(out, "    {} :: {}", f.path.display(), c.case.name);
            }
        }
    }
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed",
        if run.passed() { "ok" } else { "FAILED" },
        total - run.failed(),
        run.failed()
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The run as JUnit XML: one `testsuite` per file, one `testcase` per case,
/// a `failure` element in each failed case.
pub fn render_junit(run: &TestRun) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"actgate\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        run.total(),
        run.failed()
    );
    for f in &run.files {
        let suite = f.path.display().to_string();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            xml_escape(&suite),
            f.cases.len(),
            f.failed()
        );
        let classname = f
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for c in &f.cases {
            let open = format!(
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                xml_escape(&c.case.name),
                xml_escape(&classname),
                xml_escape(&suite),
                c.case.line
            );
            match &c.failure {
                None => {
                    let _ = writeln!(out, "{open}/>");
                }
                Some(failure) => {
                    let mut body = format!("agent: {}\nsql: {}\n", c.case.agent, c.case.sql);
                    for (k, v) in &failure.details {
                        let _ = writeln!(body, "{k}: {v}");
                    }
                    let _ = writeln!(out, "{open}>");
                    let _ = writeln!(
                        out,
                        "      <failure message=\"{}\" type=\"verdict\">{}</failure>",
                        xml_escape(&failure.summary),
                        xml_text(&body)
                    );
                    let _ = writeln!(out, "    </testcase>");
                }
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for an XML attribute value (line breaks survive as
/// character references). Characters XML 1.0 cannot carry at all (most
/// control characters) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    escape(s, true)
}

/// Escapes text for XML element content.
fn xml_text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' | '\t' | '\r' if attribute => {
                let _ = write!(out, "&#{};", ch as u32);
            }
            '\n' | '\t' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RuleSet {
        let mut set = RuleSet::default();
        let text = "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\
                    [policy]\nstatements = [\"read\"]\n\
                    [tables.orders]\noperations = [\"select\"]\n\
                    scope = { customer_id = \"{{claims.customer_id}}\" }\n";
        set.add(
            crate::rules::parse_agent(
                text,
                Path::new("bot.toml"),
                &["public".into()],
                &Default::default(),
            )
            .unwrap(),
        )
        .unwrap();
        set
    }

    const CASES: &str = r#"
[[case]]
name = "own orders"
agent = "bot"
claims = { customer_id = "42" }
sql = "SELECT id FROM orders WHERE customer_id = 42"
expect = "allow"

[[case]]
name = "someone else's orders"
agent = "bot"
claims = { customer_id = "42" }
sql = "SELECT id FROM orders WHERE customer_id = 7"
expect = "deny"
reason = "scope_violation"

[[case]]
name = "wrongly expected <allow> & \"quoted\""
agent = "bot"
sql = "DELETE FROM orders WHERE id = 1"
expect = "allow"

[[case]]
name = "wrong reason"
agent = "bot"
claims = { customer_id = "42" }
sql = "SELECT id FROM orders"
expect = "deny"
reason = "column_denied"

[[case]]
name = "unknown agent"
agent = "nobody"
sql = "SELECT 1"
expect = "allow"
"#;

    fn run_cases() -> TestRun {
        let file = parse_file(CASES, Path::new("t/bot.toml")).unwrap();
        run(&rules(), &[file], &["public".into()], None)
    }

    #[test]
    fn cases_pass_and_fail_by_verdict_and_reason() {
        let result = run_cases();
        let failures: Vec<Option<&str>> = result.files[0]
            .cases
            .iter()
            .map(|c| c.failure.as_ref().map(|f| f.summary.as_str()))
            .collect();
        assert_eq!(failures[0], None);
        assert_eq!(failures[1], None);
        assert_eq!(
            failures[2],
            Some("expected allow, got deny (statement_class_denied)")
        );
        assert!(
            failures[3].is_some_and(|f| f.starts_with("expected deny (column_denied), got deny (")),
            "{failures:?}"
        );
        assert_eq!(failures[4], Some("no agent named \"nobody\" in the rules"));
        assert_eq!((result.total(), result.failed()), (5, 3));
    }

    #[test]
    fn text_report_reads_like_a_test_runner() {
        let text = render_text(&run_cases());
        assert!(
            text.contains("test t/bot.toml :: own orders ... ok\n"),
            "{text}"
        );
        assert!(
            text.contains("test t/bot.toml :: wrong reason ... FAILED\n"),
            "{text}"
        );
        assert!(
            text.contains("---- t/bot.toml:18 :: wrongly expected"),
            "{text}"
        );
        assert!(
            text.contains("  reason:   statement_class_denied\n"),
            "{text}"
        );
        assert!(
            text.ends_with("test result: FAILED. 2 passed; 3 failed\n"),
            "{text}"
        );
    }

    #[test]
    fn junit_escapes_and_counts() {
        let xml = render_junit(&run_cases());
        assert!(xml.contains("<testsuites name=\"actgate\" tests=\"5\" failures=\"3\""));
        assert!(xml.contains("<testsuite name=\"t/bot.toml\" tests=\"5\" failures=\"3\""));
        assert!(xml.contains("name=\"wrongly expected &lt;allow&gt; &amp; &quot;quoted&quot;\""));
        assert_eq!(xml.matches("<testcase ").count(), 5);
        assert_eq!(xml.matches("<failure ").count(), 3);
        assert_eq!(xml_escape("a\u{1}b'"), "a\u{FFFD}b&apos;");
    }

    #[test]
    fn test_files_are_strict() {
        let bad = |text: &str| {
            parse_file(text, Path::new("t.toml"))
                .unwrap_err()
                .to_string()
        };
        let unknown = bad(
            "[[case]]\nname = \"x\"\nagent = \"a\"\nsql = \"SELECT 1\"\nexpect = \"allow\"\nexpected = 1\n",
        );
        assert!(
            unknown.starts_with("t.toml:6:1: unknown field `expected`"),
            "{unknown}"
        );
        let verdict =
            bad("[[case]]\nname = \"x\"\nagent = \"a\"\nsql = \"SELECT 1\"\nexpect = \"permit\"\n");
        assert!(
            verdict.starts_with("t.toml:5:10: unknown variant `permit`"),
            "{verdict}"
        );
        let reason = bad(
            "[[case]]\nname = \"x\"\nagent = \"a\"\nsql = \"SELECT 1\"\nexpect = \"allow\"\nreason = \"r\"\n",
        );
        assert!(
            reason.starts_with("t.toml:6:10: case \"x\": reason is only for"),
            "{reason}"
        );
        let twice = bad(
            "[[case]]\nname = \"x\"\nagent = \"a\"\nsql = \"S\"\nexpect = \"allow\"\n\
             [[case]]\nname = \"x\"\nagent = \"a\"\nsql = \"S\"\nexpect = \"allow\"\n",
        );
        assert!(
            twice.starts_with("t.toml:7:8: case \"x\" is defined twice"),
            "{twice}"
        );
        assert!(bad("").contains("no [[case]]"));
    }
}
