//! `actgate check` and `actgate test`, run as the binary a CI job runs:
//! exit status, located messages, summaries and JUnit XML. The
//! `--database` cases check against a real throwaway PostgreSQL.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn actgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_actgate"));
    // Paths in messages are as given, relative to the crate root.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = actgate().args(args).output().expect("run actgate");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

const FIXTURES: &str = "tests/fixtures/dba";

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

#[test]
fn check_passes_the_shipped_rules() {
    let (code, out, err) = run(&["check", "--rules", "rules", "--strict"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out,
        "check ok: 3 agent files, 3 agents loaded (no database: tables, columns and functions \
         not checked); 0 errors, 0 warnings\n"
    );
}

#[test]
fn check_reports_a_syntax_error_with_its_location() {
    let (code, out, _) = run(&["check", "--rules", &fixture("syntax")]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out.lines().next(),
        Some("tests/fixtures/dba/syntax/bot.toml:8:21: error: unclosed array, expected `]`"),
        "{out}"
    );
    assert!(
        out.ends_with("check FAILED: 1 agent file, 0 agents loaded (no database: tables, columns and functions not checked); 1 error, 0 warnings\n"),
        "{out}"
    );
}

#[test]
fn check_reports_an_unknown_key_with_its_location() {
    let (code, out, _) = run(&["check", "--rules", &fixture("unknown-key")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with(
            "tests/fixtures/dba/unknown-key/bot.toml:11:1: error: unknown field `colums`, \
             expected one of `operations`, `columns`,"
        ),
        "{out}"
    );
    assert!(out.contains("; 1 error, 0 warnings\n"), "{out}");
}

#[test]
fn check_reports_every_contradiction_and_warning() {
    let (code, out, _) = run(&["check", "--rules", &fixture("contradiction")]);
    assert_eq!(code, Some(1), "{out}");
    let file = "tests/fixtures/dba/contradiction/bot.toml";
    let expected = [
        format!("{file}:9:14: error: function public.order_total is both allowed and denied"),
        format!("{file}:11:9: error: table public.orders is both allowed and denied"),
        format!(
            "{file}:12:35: warning: operation \"delete\" on tables.orders can never be used: \
             policy.statements allows none of delete, merge"
        ),
        format!(
            "{file}:14:17: error: column \"notes\" of public.orders is both allowed and denied"
        ),
        format!(
            "{file}:15:28: error: write column \"customer_id\" of public.orders is not an \
             allowed column"
        ),
        "check FAILED: 1 agent file, 0 agents loaded (no database: tables, columns and \
         functions not checked); 4 errors, 1 warning"
            .to_owned(),
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), expected, "{out}");
}

#[test]
fn warnings_fail_only_a_strict_check() {
    // tests/rules/scoped.toml scopes by a claim but logs in with a secret.
    let (code, out, _) = run(&["check", "--rules", "tests/rules"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "tests/rules/scoped.toml:16:11: warning: scope on tables.orders uses \
             {{claims.customer_id}}, but agent \"scoped\" logs in with a secret"
        ),
        "{out}"
    );
    let (code, strict, _) = run(&["check", "--rules", "tests/rules", "--strict"]);
    assert_eq!(code, Some(1), "{strict}");
    assert!(strict.starts_with(&out.lines().next().unwrap().to_owned()));
    assert!(strict.contains("check FAILED: "), "{strict}");
}

#[test]
fn check_against_the_database_reports_missing_tables_and_columns() {
    let url = common::database().pg.url("shop");
    let dir = fixture("catalog");
    // Without a database the file is fine.
    let (code, out, _) = run(&["check", "--rules", &dir]);
    assert_eq!(code, Some(0), "{out}");

    let (code, out, err) = run(&["check", "--rules", &dir, "--database", &url]);
    assert_eq!(code, Some(1), "{out}{err}");
    let file = "tests/fixtures/dba/catalog/bot.toml";
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            format!("{file}:12:28: error: column \"shipping_eta\" does not exist in public.orders"),
            format!("{file}:16:9: error: table public.invoices does not exist in the database"),
            "check FAILED: 1 agent file, 0 agents loaded against the catalog of database \
             \"shop\"; 2 errors, 0 warnings"
                .to_owned(),
        ],
        "{out}"
    );

    // The shipped rules match the shop database.
    let (code, out, err) = run(&["check", "--rules", "rules", "--database", &url]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("against the catalog of database \"shop\""),
        "{out}"
    );
}

#[test]
fn check_without_a_reachable_database_fails() {
    let (code, out, err) = run(&[
        "check",
        "--rules",
        "rules",
        "--database",
        "postgres://nobody@127.0.0.1:1/shop",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains("loading the catalog of database \"shop\""),
        "{err}"
    );
}

#[test]
fn test_passes_the_shipped_policy_tests() {
    let (code, out, err) = run(&["test", "--rules", "rules"]);
    assert_eq!(code, Some(0), "{out}{err}");
    for file in ["analytics", "order-assistant", "support-bot"] {
        assert!(
            out.contains(&format!("test rules/tests/{file}.toml :: ")),
            "{out}"
        );
    }
    assert!(
        out.contains(
            "test rules/tests/support-bot.toml :: cannot read another customer's orders ... ok\n"
        ),
        "{out}"
    );
    assert!(!out.contains("FAILED"), "{out}");
    let passed = out.lines().filter(|l| l.ends_with(" ... ok")).count();
    assert!(passed >= 30, "{out}");
    assert!(
        out.ends_with(&format!("test result: ok. {passed} passed; 0 failed\n")),
        "{out}"
    );
}

#[test]
fn a_failing_case_fails_the_run_and_is_explained() {
    let (code, out, _) = run(&[
        "test",
        "--rules",
        "rules",
        "--tests",
        &fixture("failing-tests"),
    ]);
    assert_eq!(code, Some(1), "{out}");
    let file = "tests/fixtures/dba/failing-tests/mixed.toml";
    assert!(
        out.contains(&format!("test {file} :: analytics counts orders ... ok\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "test {file} :: analytics may not delete <orders> & \"refunds\" ... FAILED\n"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "---- {file}:10 :: analytics may not delete <orders> & \"refunds\" ----\n\
             \x20 agent:    analytics\n\
             \x20 sql:      DELETE FROM orders WHERE id = 1\n\
             \x20 expected allow, got deny (statement_class_denied)\n\
             \x20 reason:   statement_class_denied\n\
             \x20 rule:     analytics.toml: policy.statements\n"
        )),
        "{out}"
    );
    assert!(
        out.ends_with("test result: FAILED. 1 passed; 1 failed\n"),
        "{out}"
    );
}

#[test]
fn select_star_is_decided_with_the_live_catalog() {
    let dir = fixture("star-tests");
    // Offline, * cannot be expanded against column rules: a different denial.
    let (code, out, _) = run(&["test", "--rules", "rules", "--tests", &dir]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("expected deny (column_denied), got deny (column_expansion_unavailable)"),
        "{out}"
    );
    let url = common::database().pg.url("shop");
    let (code, out, err) = run(&[
        "test",
        "--rules",
        "rules",
        "--tests",
        &dir,
        "--database",
        &url,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.ends_with("test result: ok. 2 passed; 0 failed\n"),
        "{out}"
    );
}

#[test]
fn a_malformed_test_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "[[case]]\nname = \"x\"\nagent = \"analytics\"\nsql = \"SELECT 1\"\nexpect = \"allow\"\nexpectation = \"deny\"\n",
    )
    .unwrap();
    let tests = dir.path().to_str().unwrap();
    let (code, out, err) = run(&["test", "--rules", "rules", "--tests", tests]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        err.contains("bad.toml:6:1: unknown field `expectation`"),
        "{err}"
    );
}

/// A JUnit element: its name, attributes and children.
#[derive(Debug)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{} has no {name}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&Element> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

/// Just enough of an XML parser for the JUnit report: elements,
/// attributes in double quotes, text; panics on anything malformed
/// (unbalanced tags, a raw `<` or `&` out of place).
fn parse_xml(xml: &str) -> Element {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut stack: Vec<Element> = vec![Element {
        name: "#document".into(),
        attrs: Vec::new(),
        children: Vec::new(),
        text: String::new(),
    }];
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("</") {
            let (name, tail) = after.split_once('>').expect("closing tag");
            let done = stack.pop().expect("open element");
            assert_eq!(done.name, name, "mismatched closing tag");
            stack.last_mut().expect("parent").children.push(done);
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').expect("tag end");
            let mut tag = &after[..end];
            let self_closing = tag.ends_with('/');
            if self_closing {
                tag = &tag[..tag.len() - 1];
            }
            let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
            let mut attrs = Vec::new();
            loop {
                attrs_text = attrs_text.trim_start();
                if attrs_text.is_empty() {
                    break;
                }
                let (key, value_part) = attrs_text.split_once("=\"").expect("attribute");
                let (value, tail) = value_part.split_once('"').expect("attribute end");
                assert!(!value.contains('<'), "raw < in attribute");
                attrs.push((key.to_owned(), unescape(value)));
                attrs_text = tail;
            }
            let element = Element {
                name: name.to_owned(),
                attrs,
                children: Vec::new(),
                text: String::new(),
            };
            if self_closing {
                stack.last_mut().unwrap().children.push(element);
            } else {
                stack.push(element);
            }
            rest = &after[end + 1..];
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let text = &rest[..end];
            for (i, _) in text.match_indices('&') {
                let entity = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                        .iter()
                        .any(|e| entity.starts_with(e)),
                    "raw & in text"
                );
            }
            stack.last_mut().unwrap().text.push_str(&unescape(text));
            rest = &rest[end..];
        }
    }
    let mut document = stack.pop().expect("document");
    assert!(stack.is_empty(), "unclosed elements");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().unwrap()
}

#[test]
fn junit_output_has_a_suite_per_file_and_a_failure_per_failed_case() {
    let out_dir = tempfile::tempdir().unwrap();
    let tests = out_dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (from, to) in [
        (root.join("rules/tests/analytics.toml"), "a-analytics.toml"),
        (
            root.join(FIXTURES).join("failing-tests/mixed.toml"),
            "b-mixed.toml",
        ),
    ] {
        std::fs::copy(from, tests.join(to)).unwrap();
    }
    let junit: PathBuf = out_dir.path().join("report.xml");
    let (code, out, err) = run(&[
        "test",
        "--rules",
        "rules",
        "--tests",
        tests.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{out}{err}");
    let xml = std::fs::read_to_string(&junit).expect("JUnit file written");
    let root = parse_xml(&xml);
    assert_eq!(root.name, "testsuites");
    let suites = root.all("testsuite");
    assert_eq!(suites.len(), 2, "{xml}");

    let analytics = suites[0];
    assert!(analytics.attr("name").ends_with("a-analytics.toml"));
    let cases = analytics.all("testcase");
    let expected_cases = out
        .lines()
        .filter(|l| l.contains("a-analytics.toml :: "))
        .count();
    assert_eq!(cases.len(), expected_cases);
    assert_eq!(analytics.attr("tests"), cases.len().to_string());
    assert_eq!(analytics.attr("failures"), "0");
    assert!(cases.iter().all(|c| c.children.is_empty()));
    assert_eq!(cases[0].attr("name"), "counts orders by status");
    assert_eq!(cases[0].attr("classname"), "a-analytics");

    let mixed = suites[1];
    assert_eq!((mixed.attr("tests"), mixed.attr("failures")), ("2", "1"));
    let cases = mixed.all("testcase");
    assert!(cases[0].children.is_empty());
    assert_eq!(
        cases[1].attr("name"),
        "analytics may not delete <orders> & \"refunds\""
    );
    assert_eq!(cases[1].attr("line"), "10");
    let failures = cases[1].all("failure");
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].attr("message"),
        "expected allow, got deny (statement_class_denied)"
    );
    assert!(
        failures[0]
            .text
            .contains("reason: statement_class_denied\nrule: analytics.toml: policy.statements\n"),
        "{}",
        failures[0].text
    );

    assert_eq!(
        root.attr("tests"),
        (expected_cases + 2).to_string(),
        "{xml}"
    );
    assert_eq!(root.attr("failures"), "1");
}
