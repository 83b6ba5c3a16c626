//! Session settings: pinned and harmless settings, narrowing, pool resets
//! and the setting functions.

use super::*;

/// Settings that change lexing, identity or security are pinned; harmless
/// ones drivers send are allowed (SECURITY: "Session state changes lexing").
#[test]
fn session_settings() {
    check(&[
        (A, "SET search_path = evil, public", "setting_pinned"),
        (A, "SET search_path TO DEFAULT", "setting_pinned"),
        (A, "set SEARCH_PATH = public", "setting_pinned"),
        (A, r#"SET "search_path" = evil"#, "setting_pinned"),
        // Postgres matches setting names case-insensitively, quoted or not.
        (A, r#"SET "SEARCH_PATH" = evil"#, "setting_pinned"),
        (A, "SET LOCAL search_path = evil", "setting_pinned"),
        (A, "SET SESSION search_path = evil", "setting_pinned"),
        (A, "RESET search_path", "setting_pinned"),
        (A, "SET role = 'postgres'", "setting_pinned"),
        (A, "SET ROLE postgres", "setting_pinned"),
        (A, "SET LOCAL ROLE postgres", "setting_pinned"),
        (A, "RESET ROLE", "setting_pinned"),
        (A, "SET SESSION AUTHORIZATION postgres", "setting_pinned"),
        (A, "RESET SESSION AUTHORIZATION", "setting_pinned"),
        (A, "SET client_encoding = 'SJIS'", "setting_pinned"),
        (A, "SET CLIENT_ENCODING TO 'SJIS'", "setting_pinned"),
        (A, "SET NAMES 'SJIS'", "setting_pinned"),
        // SET SCHEMA 'x' is SET search_path TO 'x' (PG 15).
        (A, "SET SCHEMA 'evil'", "setting_pinned|parse_error"),
        (A, "SET standard_conforming_strings = off", "setting_pinned"),
        (
            A,
            "SET standard_conforming_strings TO off",
            "setting_pinned",
        ),
        (A, "SET backslash_quote = on", "setting_pinned"),
        (
            A,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET session_replication_role = replica",
            "setting_pinned",
        ),
        (A, "SET row_security = off", "setting_pinned"),
        (A, "SET actgate.anything = 1", "setting_pinned"),
        // SET SESSION CHARACTERISTICS … READ WRITE is
        // SET default_transaction_read_only = off.
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            "allow",
        ),
        (
            A,
            "SELECT set_config('search_path', 'evil', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT pg_catalog.set_config('role', 'postgres', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT set_config('standard_conforming_strings', 'off', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT set_config('app.user_id', '42', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        (
            A,
            "SELECT current_setting('app.user_id')",
            "function_not_allowed|setting_denied",
        ),
        (
            S,
            "SELECT set_config('client_encoding', 'SJIS', false)",
            "function_not_allowed|setting_pinned|setting_denied",
        ),
        // The tester may call set_config, but pinned settings stay pinned.
        (
            T,
            "SELECT set_config('search_path', 'evil', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('standard_conforming_strings', 'off', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('client_encoding', 'SJIS', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('role', 'postgres', false)",
            "setting_pinned",
        ),
        (
            T,
            "SELECT pg_catalog.set_config('SEARCH_PATH', 'evil', true)",
            "setting_pinned",
        ),
        (T, "SET search_path = evil", "setting_pinned"),
        (T, "SET app.user_id = '1'", "setting_denied"),
        // … and a custom setting the agent may not SET it may not set_config.
        (
            T,
            "SELECT set_config('app.user_id', '1', false)",
            "setting_denied",
        ),
        (T, "SELECT current_setting('search_path')", "allow"),
        (A, "RESET ALL", "allow"),
        (A, "DISCARD ALL", "allow"),
        (A, "SET app.user_id = '1'", "setting_denied"),
        (A, "SET LOCAL app.user_id = '1'", "setting_denied"),
        (A, "SET SESSION app.tenant = 'acme'", "setting_denied"),
        (A, "RESET app.user_id", "setting_denied"),
        (A, "SHOW app.user_id", "setting_denied"),
        (A, "SET application_name = 'x'", "allow"),
        (A, "SET statement_timeout = 1000", "allow"),
        (A, "SET statement_timeout TO '5s'", "allow"),
        (A, "SET LOCAL statement_timeout = '1s'", "allow"),
        (A, "SET TIME ZONE 'UTC'", "allow"),
        (A, "SET TIMEZONE = 'UTC'", "allow"),
        (A, "SET timezone TO 'Europe/Berlin'", "allow"),
        (A, "SET DateStyle = 'ISO, MDY'", "allow"),
        (A, "SET extra_float_digits = 3", "allow"),
        (A, "SET client_min_messages = warning", "allow"),
        (A, "RESET statement_timeout", "allow"),
        (A, "SHOW search_path", "allow"),
        (A, "SHOW standard_conforming_strings", "allow"),
        (A, "SHOW TIME ZONE", "allow"),
        (A, "SHOW transaction isolation level", "allow"),
        (A, "SET work_mem = '64MB'", "allow"),
        (A, "SET log_statement = 'none'", "setting_denied"),
        (
            A,
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "allow",
        ),
    ]);
}

/// Making the session more restrictive only narrows it: allowed. What
/// would widen it beyond the start value actgate let it begin with stays
/// pinned (issue 12, item 6). RESET and `TO DEFAULT` return to that start
/// value, which an agent can never have widened.
#[test]
fn read_only_sessions_narrow() {
    check(&[
        (A, "SET default_transaction_read_only TO on", "allow"),
        (A, "SET default_transaction_read_only = on", "allow"),
        (A, "SET default_transaction_read_only = 'on'", "allow"),
        (A, "SET default_transaction_read_only = true", "allow"),
        (A, "SET default_transaction_read_only = 1", "allow"),
        (A, "SET default_transaction_read_only = 'yes'", "allow"),
        (A, "SET SESSION default_transaction_read_only = ON", "allow"),
        (A, "SET LOCAL default_transaction_read_only = on", "allow"),
        (S, "SET default_transaction_read_only TO on", "allow"),
        (T, "SET default_transaction_read_only TO on", "allow"),
        (A, "SET default_transaction_read_only TO DEFAULT", "allow"),
        (A, "SET default_transaction_read_only = default", "allow"),
        (A, "RESET default_transaction_read_only", "allow"),
        (S, "RESET default_transaction_read_only", "allow"),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "allow",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
            "allow",
        ),
        // Widening stays refused: actgate cannot know the session began
        // read-write.
        (
            A,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only TO 'off'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = false",
            "setting_pinned",
        ),
        (A, "SET default_transaction_read_only = 0", "setting_pinned"),
        (
            A,
            "SET default_transaction_read_only = 'no'",
            "setting_pinned",
        ),
        (
            A,
            "SET LOCAL default_transaction_read_only = off",
            "setting_pinned",
        ),
        // Not a boolean PostgreSQL would take as true: not narrowing.
        (
            A,
            "SET default_transaction_read_only = 'onx'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = 'o'",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = on, off",
            "setting_pinned",
        ),
        (
            A,
            "SET default_transaction_read_only = (SELECT 'on')",
            "deny",
        ),
        (
            S,
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
            "setting_pinned",
        ),
        (
            A,
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY, READ WRITE",
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            "setting_pinned",
        ),
        // The other pinned settings stay pinned whatever the value.
        (A, "SET row_security = on", "setting_pinned"),
        (A, "RESET row_security", "setting_pinned"),
        (
            A,
            "SET session_replication_role TO DEFAULT",
            "setting_pinned",
        ),
        (A, "SET search_path TO DEFAULT", "setting_pinned"),
    ]);
}

/// Pool resets (asyncpg's `SELECT pg_advisory_unlock_all(); CLOSE ALL;
/// UNLISTEN *; RESET ALL;`, pgbouncer-style `DISCARD ALL`) restore the
/// session's start values, which hold every pinned and identity setting:
/// allowed for every agent (issue 12, item 7). Identity changes stay
/// refused.
#[test]
fn pool_resets() {
    const ASYNCPG_RESET: &str =
        "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;";
    let claims = [("customer_id", "42")];
    for agent in ["support-bot", "order-assistant"] {
        for sql in [
            ASYNCPG_RESET,
            "SELECT pg_advisory_unlock_all()",
            "CLOSE ALL",
            "UNLISTEN *",
            "RESET ALL",
            "DISCARD ALL",
        ] {
            assert_eq!(
                common::policy::outcome_with_claims(agent, sql, &claims),
                "allow",
                "[{agent}] {sql}"
            );
        }
    }
    check(&[
        (A, ASYNCPG_RESET, "allow"),
        (S, ASYNCPG_RESET, "allow"),
        (T, ASYNCPG_RESET, "allow"),
        (S, "RESET ALL", "allow"),
        (T, "RESET ALL", "allow"),
        (S, "DISCARD ALL", "allow"),
        (T, "DISCARD ALL", "allow"),
        (S, "SELECT pg_advisory_unlock_all()", "allow"),
        // Taking locks is still not a driver's business.
        (S, "SELECT pg_advisory_lock(1)", "function_not_allowed"),
        (S, "SELECT pg_advisory_unlock(1)", "function_not_allowed"),
        // Identity and lexing stay pinned.
        (S, "RESET ROLE", "setting_pinned"),
        (S, "RESET SESSION AUTHORIZATION", "setting_pinned"),
        (S, "SET SESSION AUTHORIZATION DEFAULT", "setting_pinned"),
        (S, "SET ROLE NONE", "setting_pinned"),
        (S, "RESET search_path", "setting_pinned"),
        (S, "RESET client_encoding", "setting_pinned"),
        (S, "RESET actgate.agent", "setting_pinned"),
        (S, "DISCARD ALL; SET ROLE postgres", "setting_pinned"),
        (S, "RESET ALL; SET search_path = evil", "setting_pinned"),
        // Other DISCARDs are still the session class's.
        (S, "DISCARD PLANS", "setting_denied"),
        (S, "DISCARD TEMP", "setting_denied"),
    ]);
}

/// Without the driver profile, RESET ALL / DISCARD ALL need
/// `settings = ["all"]`, as before; narrowing needs nothing.
#[test]
fn pool_resets_without_the_driver_profile() {
    use actgate::policy::analyze::{AnalysisLimits, analyze};
    use actgate::policy::names::Resolver;
    use actgate::policy::{SessionState, Verdict};
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("strict", ""), ("strict-resets", "settings = [\"all\"]\n")] {
        let text = format!(
            "[agent]\nname = \"{name}\"\ndatabases = [\"shop\"]\nauth = \"token\"\n\n\
             [policy]\nstatements = [\"read\"]\ndriver_profile = false\n{extra}"
        );
        std::fs::write(dir.path().join(format!("{name}.toml")), text).unwrap();
    }
    let rules = actgate::rules::RuleSet::load_dir(dir.path(), &["public".into()]).unwrap();
    let search_path = vec!["public".to_string()];
    let outcome = |agent: &str, sql: &str| {
        let resolver = Resolver {
            search_path: &search_path,
            catalog: None,
            database: Some("shop"),
        };
        let analysis = analyze(sql, &resolver, AnalysisLimits::default());
        let policy = &rules.agent(agent).unwrap().policy;
        match policy.decide(&analysis, None, &SessionState::default(), None) {
            Verdict::Allow => "allow".to_string(),
            Verdict::Deny(d) => d.reason.to_string(),
        }
    };
    for (agent, sql, expected) in [
        ("strict", "RESET ALL", "setting_denied"),
        ("strict", "DISCARD ALL", "setting_denied"),
        ("strict-resets", "RESET ALL", "allow"),
        ("strict-resets", "DISCARD ALL", "allow"),
        ("strict", "SET default_transaction_read_only = on", "allow"),
        ("strict", "RESET default_transaction_read_only", "allow"),
        (
            "strict",
            "SET default_transaction_read_only = off",
            "setting_pinned",
        ),
        ("strict-resets", "RESET ROLE", "setting_pinned"),
    ] {
        assert_eq!(outcome(agent, sql), expected, "[{agent}] {sql}");
    }
}

/// set_config and current_setting called as table functions in FROM are
/// judged like SET and SHOW, as in expressions (they were not judged at
/// all there: `FROM set_config('search_path', …)` passed).
#[test]
fn setting_functions_in_from() {
    check(&[
        (
            A,
            "SELECT * FROM set_config('search_path', 'evil', false)",
            "setting_pinned",
        ),
        (
            A,
            "SELECT x FROM pg_catalog.set_config('role', 'postgres', false) AS x",
            "setting_pinned",
        ),
        (
            A,
            "SELECT * FROM orders o, LATERAL set_config('search_path', o.status, false) AS x",
            "setting_pinned",
        ),
        (
            A,
            "SELECT * FROM orders o CROSS JOIN set_config(o.status, 'x', false) AS x",
            "deny",
        ),
        (
            A,
            "SELECT * FROM current_setting('app.jwt_secret')",
            "setting_denied",
        ),
        (
            A,
            "SELECT * FROM set_config('application_name', 'x', false)",
            "allow",
        ),
        (A, "SELECT * FROM current_setting('timezone')", "allow"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_settings s, current_setting(s.name) AS v",
            "allow",
        ),
    ]);
}
