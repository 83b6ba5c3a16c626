use super::*;
use crate::policy::names::QualifiedName;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn agent(name: &str, body: &str) -> String {
    format!("[agent]\nname = \"{name}\"\ndatabases = [\"shop\"]\nauth = \"token\"\n{body}")
}

fn lines(report: &Report) -> Vec<String> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            let mut d = d.clone();
            d.path = d.path.file_name().unwrap().into();
            d.to_string()
        })
        .collect()
}

fn sp() -> Vec<String> {
    vec!["public".into()]
}

#[test]
fn clean_rules_pass() {
    let dir = dir_with(&[(
        "a.toml",
        &agent(
            "a",
            "[policy]\nstatements = [\"read\"]\n[tables.orders]\noperations = [\"select\"]\n",
        ),
    )]);
    let report = check_dir(dir.path(), &sp(), None);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert!(report.passed(true));
    assert_eq!((report.files, report.agents), (1, 1));
    assert!(
        report
            .render(false)
            .starts_with("check ok: 1 agent file, 1 agent loaded")
    );
}

#[test]
fn every_contradiction_in_a_file_is_reported() {
    let body = "[policy]\nstatements = [\"read\", \"update\"]\nfunctions = [\"f\"]\n\
                    [tables.orders]\noperations = [\"select\", \"update\"]\n\
                    columns = [\"id\", \"notes\"]\ndeny_columns = [\"notes\"]\n\
                    write_columns = [\"status\"]\n\
                    [deny]\ntables = [\"orders\"]\nfunctions = [\"f\"]\n";
    let dir = dir_with(&[("a.toml", &agent("a", body))]);
    let report = check_dir(dir.path(), &sp(), None);
    assert_eq!(
        lines(&report),
        [
            "a.toml:7:14: error: function pg_catalog.f is both allowed and denied",
            "a.toml:8:9: error: table public.orders is both allowed and denied",
            "a.toml:11:17: error: column \"notes\" of public.orders is both allowed and denied",
            "a.toml:12:18: error: write column \"status\" of public.orders is not an allowed column",
        ]
    );
    assert!(!report.passed(false));
}

#[test]
fn unknown_keys_and_bad_files_do_not_hide_other_files() {
    let dir = dir_with(&[
        ("a.toml", &agent("a", "[policy]\nstatement = [\"read\"]\n")),
        ("b.toml", "[agent\nname = 1\n"),
        ("c.toml", &agent("c", "[policy]\nstatements = [\"reed\"]\n")),
    ]);
    let report = check_dir(dir.path(), &sp(), None);
    let found = lines(&report);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].starts_with("a.toml:6:1: error: unknown field `statement`"),
        "{found:?}"
    );
    assert!(found[1].starts_with("b.toml:1:"), "{found:?}");
    assert!(
        found[2].starts_with("c.toml:6:15: error: unknown statement class \"reed\""),
        "{found:?}"
    );
    assert_eq!(report.agents, 0);
}

#[test]
fn unusable_operations_and_claims_without_tokens_are_warnings() {
    let dir = dir_with(&[]);
    let verifier = crate::auth::Verifier::generate("pw");
    std::fs::write(
        dir.path().join("a.toml"),
        format!(
            "[agent]\nname = \"a\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{verifier}\"\n\
                 [policy]\nstatements = [\"read\"]\n\
                 [tables.orders]\noperations = [\"select\", \"delete\"]\n\
                 scope = {{ customer_id = \"{{{{claims.customer_id}}}}\" }}\n"
        ),
    )
    .unwrap();
    let report = check_dir(dir.path(), &sp(), None);
    assert_eq!(
        lines(&report),
        [
            "a.toml:8:25: warning: operation \"delete\" on tables.orders can never be used: \
                 policy.statements allows none of delete, merge",
            "a.toml:9:11: warning: scope on tables.orders uses {{claims.customer_id}}, but \
                 agent \"a\" logs in with a secret and has no claims: every use of the table is \
                 denied",
        ]
    );
    assert!(report.passed(false));
    assert!(!report.passed(true));
}

#[test]
fn an_approval_the_policy_never_reaches_is_a_warning() {
    let dir = dir_with(&[]);
    let verifier = crate::auth::Verifier::generate("pw");
    std::fs::write(
            dir.path().join("a.toml"),
            format!(
                "[agent]\nname = \"a\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{verifier}\"\n\
                 [policy]\nstatements = [\"read\", \"insert\"]\n\
                 [tables.refunds]\noperations = [\"select\", \"insert\"]\n\
                 [[approvals]]\nname = \"big\"\ntable = \"refunds\"\ncolumn = \"amount_cents\"\nabove = 1\n\
                 [[approvals]]\nname = \"never\"\ntable = \"orders\"\n"
            ),
        )
        .unwrap();
    let report = check_dir(dir.path(), &sp(), None);
    assert_eq!(
        lines(&report),
        [
            "a.toml:16:9: warning: approvals.never holds insert/update/delete on orders, which \
              the policy never allows: it can never hold anything"
        ]
    );
}

#[test]
fn names_missing_from_the_catalog_are_all_reported() {
    let mut catalog = Catalog::default();
    catalog.add_relation(
        QualifiedName::new("public", "orders"),
        vec!["id".into(), "status".into()],
    );
    let catalog = Arc::new(catalog);
    let body = "[policy]\nstatements = [\"read\"]\n\
                    [tables.orders]\noperations = [\"select\"]\ncolumns = [\"id\", \"statuss\"]\n\
                    [tables.ordres]\noperations = [\"select\"]\n";
    let dir = dir_with(&[("a.toml", &agent("a", body))]);
    let report = check_dir(dir.path(), &sp(), Some(("shop", &catalog)));
    assert_eq!(
        lines(&report),
        [
            "a.toml:9:18: error: column \"statuss\" does not exist in public.orders",
            "a.toml:10:9: error: table public.ordres does not exist in the database",
        ]
    );
}

#[test]
fn duplicate_agents_and_empty_directories_are_errors() {
    let a = agent("a", "");
    let dir = dir_with(&[("a.toml", &a), ("b.toml", &a)]);
    let found = lines(&check_dir(dir.path(), &sp(), None));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("b.toml: error: agent \"a\" is already defined in"),
        "{found:?}"
    );
    let empty = dir_with(&[]);
    let report = check_dir(empty.path(), &sp(), None);
    assert_eq!(report.errors(), 1);
}
