//! The actgate binary's offline commands: `secret`, `explain`, and the
//! errors `serve` gives for bad configuration.

use std::process::Command;

fn actgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_actgate"))
}

fn rules_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn secret_prints_a_usable_verifier() {
    let out = actgate().args(["secret", "hunter2"]).output().unwrap();
    assert!(out.status.success());
    let verifier = String::from_utf8(out.stdout).unwrap();
    let verifier = verifier.trim();
    assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
    actgate::auth::Verifier::parse(verifier).expect("the printed verifier parses");
}

#[test]
fn explain_shows_classification_and_verdict() {
    let out = actgate()
        .arg("explain")
        .arg("--rules")
        .arg(rules_dir())
        .args([
            "--agent",
            "analytics",
            "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING *) SELECT count(*) FROM d",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("statement 1: read + delete"), "{text}");
    assert!(text.contains("relation  public.orders (delete)"), "{text}");
    assert!(text.contains("function  pg_catalog.count"), "{text}");
    assert!(text.contains("verdict:  DENY"), "{text}");
    assert!(text.contains("reason   statement_class_denied"), "{text}");
    assert!(
        text.contains("hint     allowed statement classes: read"),
        "{text}"
    );

    let out = actgate()
        .arg("explain")
        .arg("--rules")
        .arg(rules_dir())
        .args([
            "--agent",
            "analytics",
            "SELECT status, count(*) FROM orders GROUP BY status",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("column    public.orders.status (read)"),
        "{text}"
    );
    assert!(text.contains("verdict:  ALLOW"), "{text}");
}

#[test]
fn explain_shows_budgets_and_time_windows() {
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rules");
    let out = actgate()
        .arg("explain")
        .arg("--rules")
        .arg(&rules)
        .args([
            "--agent",
            "budgeted",
            "SELECT p.id FROM products p JOIN order_items i ON i.product_id = p.id",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("verdict:  ALLOW"), "{text}");
    assert!(
        text.contains("budget   3/minute for the agent (rate_limits.product-reads)"),
        "{text}"
    );
    assert!(
        text.contains(
            "window   only during Mon-Fri 09:00-17:00 (Europe/Berlin) (tables.order_items.active_hours)"
        ),
        "{text}"
    );
}

#[test]
fn explain_of_an_unknown_agent_is_an_error() {
    let out = actgate()
        .arg("explain")
        .arg("--rules")
        .arg(rules_dir())
        .args(["--agent", "nobody", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no agent named \"nobody\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_rules_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let verifier = actgate::auth::Verifier::generate("x");
    std::fs::write(
        dir.path().join("bot.toml"),
        format!(
            "[agent]\nname = \"bot\"\ndatabases = [\"shop\"]\nsecret_verifier = \"{verifier}\"\n\n\
             [policy]\nstatements = [\"read\", \"selects\"]\n"
        ),
    )
    .unwrap();
    let out = actgate()
        .arg("explain")
        .arg("--rules")
        .arg(dir.path())
        .args(["--agent", "bot", "SELECT 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bot.toml:7"), "{err}");
    assert!(err.contains("unknown statement class \"selects\""), "{err}");
}

#[test]
fn serve_rejects_unknown_config_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("actgate.toml");
    std::fs::write(&path, "[upstream]\nuser = \"x\"\nread_only-true = 1\n").unwrap();
    let out = actgate()
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field"), "{err}");
    assert!(err.contains("read_only-true"), "{err}");
}

#[test]
fn keygen_mint_attenuate_inspect_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = (
        dir.path().join("k/actgate.key"),
        dir.path().join("k/actgate.pub"),
    );
    let out = actgate()
        .args(["keygen", "--private"])
        .arg(&key)
        .arg("--public")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // keygen never overwrites a key.
    let again = actgate()
        .args(["keygen", "--private"])
        .arg(&key)
        .arg("--public")
        .arg(&public)
        .output()
        .unwrap();
    assert!(!again.status.success());

    let out = actgate()
        .args([
            "token",
            "mint",
            "--agent",
            "order-assistant",
            "--subject",
            "customer-42",
        ])
        .args([
            "--claim",
            "customer_id=42",
            "--ttl",
            "15m",
            "--port",
            "7777",
            "--key",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let token = lines.next().unwrap().to_owned();
    let url = lines.next().unwrap();
    assert!(url.starts_with("postgres://order-assistant:"), "{url}");
    assert!(url.ends_with("@127.0.0.1:7777/shop"), "{url}");
    let keys = actgate::token::PublicKeys::load(std::slice::from_ref(&public)).unwrap();
    let verified = actgate::token::verify(
        &token,
        &keys,
        "order-assistant",
        std::time::SystemTime::now(),
    )
    .unwrap();
    assert_eq!(verified.claims.get("customer_id"), Some("42"));

    let out = actgate()
        .args([
            "token",
            "attenuate",
            &token,
            "--tables",
            "orders",
            "--ops",
            "select",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let child = actgate::token::verify(
        &child,
        &keys,
        "order-assistant",
        std::time::SystemTime::now(),
    )
    .unwrap();
    let now = std::time::SystemTime::now();
    assert!(
        child
            .authorize(Some("public.orders"), "select", now)
            .is_ok()
    );
    assert!(
        child
            .authorize(Some("public.orders"), "update", now)
            .is_err()
    );

    let out = actgate()
        .args(["token", "inspect", &token])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&verified.claims.token_id), "{text}");

    let revoked = dir.path().join("revoked.txt");
    let out = actgate()
        .args(["token", "revoke", &verified.claims.token_id, "--file"])
        .arg(&revoked)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = actgate::token::RevocationList::load(&revoked).unwrap();
    assert!(verified.is_revoked(&list));
}
