//! Unit tests of the policy module.

mod session_tests {
    use super::super::*;

    fn analysis(sql: &str) -> Analysis {
        crate::policy::analyze::analyze_in_public(sql, None).unwrap()
    }

    #[test]
    fn a_prepare_of_an_existing_name_keeps_its_checks() {
        let mut state = SessionState::default();
        let check = ParamCheck {
            param: 1,
            relation: QualifiedName::from_config("orders", "public"),
            column: "customer_id".into(),
            rule: "tables.orders.scope".into(),
            kind: ParamCheckKind::Equals("42".into()),
        };
        state.parsed("s", vec![check.clone()]);
        // PostgreSQL refuses this PREPARE (42P05): "s" stays what it was.
        state.executed(&analysis("PREPARE s AS SELECT 1"));
        assert_eq!(state.checks("s"), [check]);
        // After DEALLOCATE the name is free, and the new statement has none.
        state.executed(&analysis("DEALLOCATE s; PREPARE s AS SELECT 1"));
        assert!(state.checks("s").is_empty());
        assert!(state.is_prepared("s"));
    }
}

mod denial_tests {
    use super::super::*;
    use std::path::Path;
    use std::sync::Arc;

    const RULES: &str = r#"
[agent]
name = "shop"
databases = ["shop"]
auth = "token"

[policy]
statements = ["read", "update"]
max_rows = 50

[tables.orders]
operations = ["select", "update"]
columns = ["id", "status", "customer_id"]
write_columns = ["status"]
scope = { customer_id = "7" }
max_rows = 10
max_affected_rows = 3

[tables.products]
operations = ["select"]
deny_columns = ["cost"]
max_rows = 50
"#;

    fn policy() -> Arc<Policy> {
        crate::rules::parse_agent(
            RULES,
            Path::new("/etc/actgate/rules/shop.toml"),
            &["public".to_string()],
            &std::collections::HashMap::new(),
        )
        .unwrap()
        .policy
    }

    fn analysis(sql: &str) -> Result<Analysis, AnalysisError> {
        crate::policy::analyze::analyze_in_public(sql, None)
    }

    fn denial(sql: &str) -> Denial {
        match policy().decide(&analysis(sql), None, &SessionState::default(), None) {
            Verdict::Deny(d) => d,
            Verdict::Allow => panic!("{sql} was allowed"),
        }
    }

    /// Read-write again is a return to the start value only when the
    /// server said the session started read-write; a session that started
    /// read-only (a DBA's `ALTER ROLE … SET default_transaction_read_only
    /// = on`) or whose start is unknown may only narrow or RESET.
    #[test]
    fn read_write_again_only_when_the_session_started_so() {
        let widen = [
            "SET default_transaction_read_only = off",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        ];
        for sql in widen {
            for start in [None, Some("on"), Some("ON")] {
                let state = SessionState::starting_with_read_only(start);
                match policy().decide(&analysis(sql), None, &state, None) {
                    Verdict::Deny(d) => assert_eq!(d.reason, "setting_pinned", "{sql} {start:?}"),
                    Verdict::Allow => panic!("{sql} allowed with start {start:?}"),
                }
            }
            let state = SessionState::starting_with_read_only(Some("off"));
            let verdict = policy().decide(&analysis(sql), None, &state, None);
            assert!(verdict.is_allow(), "{sql}: {verdict:?}");
        }
        // Other pinned settings stay pinned whatever the start.
        let state = SessionState::starting_with_read_only(Some("off"));
        let verdict = policy().decide(&analysis("SET search_path = evil"), None, &state, None);
        assert!(!verdict.is_allow());
    }

    #[test]
    fn detail_is_worded_once() {
        assert_eq!(
            denial_detail("row_limit_exceeded", "a.toml: policy.max_rows"),
            "reason: row_limit_exceeded; rule: a.toml: policy.max_rows"
        );
        let d = denial("SELECT * FROM secrets");
        assert_eq!(d.detail(), "reason: table_not_allowed; rule: default_deny");
    }

    #[test]
    fn a_parse_failure_is_actgates_limit_not_the_agents_error() {
        // Valid PostgreSQL actgate's parser does not read.
        let d = denial("SELECT 'a'\n'b'");
        assert_eq!(d.reason, "parse_error");
        assert_eq!(d.rule, "builtin.analysis");
        assert!(
            d.message.starts_with(
                "actgate denied this statement: PostgreSQL's parser accepts it, but actgate's SQL parser cannot read it"
            ),
            "{}",
            d.message
        );
        // The parser's own words name where it stopped, without its prefix.
        assert!(d.message.contains("found: 'b'"), "{}", d.message);
        assert!(!d.message.contains("sql parser error"), "{}", d.message);
        let hint = d.hint.unwrap();
        assert!(!hint.contains("check the syntax"), "{hint}");
        assert!(
            hint.contains("plain SELECT, INSERT, UPDATE and DELETE in standard syntax pass"),
            "{hint}"
        );
    }

    #[test]
    fn invalid_sql_is_told_postgresqls_own_error() {
        let d = denial("SELEC 1");
        assert_eq!(d.reason, "parse_error");
        assert_eq!(
            d.message,
            "actgate denied this statement: it is not valid PostgreSQL (PostgreSQL's own parser rejects it: syntax error at or near \"SELEC\")"
        );
    }

    #[test]
    fn an_unsupported_statement_names_what_to_avoid() {
        let d = analysis_denial(&AnalysisError::Unsupported("DELETE from a join".into()));
        assert_eq!(d.reason, "unsupported_statement");
        assert_eq!(
            d.message,
            "actgate denied this statement: its analysis does not support DELETE from a join, though the statement may well be valid PostgreSQL; actgate forwards only SQL it fully understands"
        );
        assert!(
            d.hint
                .unwrap()
                .starts_with("rewrite the statement without DELETE from a join; plain SELECT")
        );
    }

    #[test]
    fn rules_are_named_by_the_key_that_decided_relative_to_the_rules_directory() {
        let p = policy();
        assert_eq!(p.file(), "shop.toml");
        for (sql, reason, rule) in [
            (
                "SELECT total FROM orders WHERE customer_id = 7",
                "column_denied",
                "shop.toml: tables.orders.columns",
            ),
            (
                "SELECT cost FROM products",
                "column_denied",
                "shop.toml: tables.products.deny_columns",
            ),
            (
                "UPDATE orders SET id = 1 WHERE customer_id = 7",
                "column_denied",
                "shop.toml: tables.orders.write_columns",
            ),
            (
                "SELECT cost FROM orders, products WHERE customer_id = 7",
                "ambiguous_column",
                "shop.toml: tables.orders.columns",
            ),
            (
                "SELECT id FROM orders",
                "scope_missing",
                "shop.toml: tables.orders.scope.customer_id",
            ),
            (
                "SELECT id FROM orders WHERE customer_id = 8",
                "scope_violation",
                "shop.toml: tables.orders.scope.customer_id",
            ),
            (
                "UPDATE products SET cost = 1 WHERE id = 1",
                "operation_not_allowed",
                "shop.toml: tables.products.operations",
            ),
        ] {
            let d = denial(sql);
            assert_eq!((d.reason, d.rule.as_str()), (reason, rule), "{sql}");
            assert!(!d.detail().contains("/etc/actgate"), "{sql}");
        }
    }

    #[test]
    fn row_limits_and_write_caps_name_the_rule_that_set_them() {
        let p = policy();
        let limit = |sql: &str| {
            let a = analysis(sql).unwrap();
            let l = p.row_limit(&a, false).unwrap().unwrap();
            (l.max, l.rule.to_string())
        };
        assert_eq!(
            limit("SELECT id FROM orders WHERE customer_id = 7"),
            (10, "shop.toml: tables.orders.max_rows".into())
        );
        // A table's limit equal to the agent's: the table's rule is named.
        assert_eq!(
            limit("SELECT id FROM products"),
            (50, "shop.toml: tables.products.max_rows".into())
        );
        assert_eq!(limit("SELECT 1"), (50, "shop.toml: policy.max_rows".into()));
        let a = analysis("UPDATE orders SET status = 'x' WHERE customer_id = 7").unwrap();
        assert_eq!(
            p.write_cap(&a).unwrap(),
            Some(WriteCap {
                max: 3,
                rule: "shop.toml: tables.orders.max_affected_rows".into()
            })
        );
        let a = analysis("SELECT 1; UPDATE orders SET status = 'x' WHERE customer_id = 7").unwrap();
        assert_eq!(
            p.write_cap(&a).unwrap_err().rule,
            "shop.toml: tables.orders.max_affected_rows"
        );
    }

    #[test]
    fn pinned_settings_and_credential_catalogs_say_what_to_do_instead() {
        let d = denial("SET search_path = other");
        assert_eq!(d.reason, "setting_pinned");
        let hint = d.hint.unwrap();
        assert!(hint.contains("qualify names with their schema"), "{hint}");
        assert!(hint.contains("settings this agent may change: "), "{hint}");
        let d = denial("SET standard_conforming_strings = off");
        assert!(
            d.hint
                .unwrap()
                .starts_with("the value actgate set is already in effect")
        );
        for (sql, instead) in [
            ("SELECT * FROM pg_authid", "read pg_roles instead"),
            ("SELECT * FROM pg_shadow", "read pg_user"),
            ("SELECT * FROM pg_user_mappings", "pg_foreign_server"),
            ("SELECT * FROM pg_statistic", "pg_stats"),
        ] {
            let d = denial(sql);
            assert_eq!(d.reason, "credential_catalog", "{sql}");
            let hint = d.hint.unwrap();
            assert!(hint.contains(instead), "{sql}: {hint}");
        }
    }
}
