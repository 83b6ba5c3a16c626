//! Checks decided at Bind: array parameter scopes and bound setting names.

use super::*;

/// `col = ANY($n)` with an array parameter scopes a table: the Parse is
/// allowed, and every Bind must carry a one-dimensional array whose every
/// element is the claim (NULL elements and the empty array select no other
/// customer's rows, so they pass). Anything that is not a plain top-level
/// `= ANY` stays refused, as does every array actgate cannot read.
#[test]
fn array_parameter_scopes_checked_at_bind() {
    use common::policy::outcome_at_bind;
    let c42: &[(&str, &str)] = &[("customer_id", "42")];
    const SCOPED: &str = "scoped";
    let any = "SELECT id FROM orders WHERE customer_id = ANY($1)";
    let cases: &[(&str, &[Option<&str>], &str)] = &[
        (any, &[Some("{42}")], "allow"),
        (any, &[Some("{42,42}")], "allow"),
        (any, &[Some(r#"{"42", 042 }"#)], "allow"),
        (any, &[Some("{}")], "allow"),
        (any, &[Some("{42,NULL}")], "allow"),
        (any, &[Some("{NULL}")], "allow"),
        (any, &[Some("{43}")], "scope_violation"),
        (any, &[Some("{42,43}")], "scope_violation"),
        (any, &[Some(r#"{42,"43"}"#)], "scope_violation"),
        // A quoted NULL is the string, not the null value.
        (any, &[Some(r#"{"NULL"}"#)], "scope_violation"),
        (any, &[Some("{42,4\\3}")], "scope_violation"),
        // Arrays actgate cannot read the way PostgreSQL does.
        (any, &[Some("{{42},{43}}")], "parameter_unverifiable"),
        (any, &[Some("[1:1]={42}")], "parameter_unverifiable"),
        (any, &[Some("[0:1]={43,42}")], "parameter_unverifiable"),
        (any, &[Some("{4\"2\"}")], "parameter_unverifiable"),
        (any, &[Some("{42,}")], "parameter_unverifiable"),
        (any, &[Some("42")], "parameter_unverifiable"),
        (any, &[None], "parameter_unverifiable"),
        (any, &[], "parameter_unverifiable"),
        // Casts that keep the values, ANY's synonym SOME, more conditions.
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::int[])",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::bigint[])",
            &[Some("{43}")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(CAST($1 AS bigint[]))",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = SOME($1)",
            &[Some("{42}")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE status = 'paid' AND (customer_id = ANY($1))",
            &[Some("{42}")],
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = ANY($1) AND id = $2",
            &[Some("{42}"), Some("7")],
            "allow",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = ANY($1) AND id = $2",
            &[Some("{43}"), Some("7")],
            "scope_violation",
        ),
        // ARRAY[…] of parameters: each parameter is checked.
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("42")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("43")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1, $2])",
            &[Some("42"), Some("42")],
            "allow",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1, $2])",
            &[Some("42"), Some("43")],
            "scope_violation",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1]::bigint[])",
            &[Some("42")],
            "allow",
        ),
        // Still refused: not an equality with every element, or not at the
        // top of the WHERE clause. `= ALL` of an empty array is true for
        // every row.
        (
            "SELECT id FROM orders WHERE customer_id <> ANY($1)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ALL($1)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1) OR true",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1) OR customer_id = 43",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE NOT (customer_id = ANY($1))",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1[1:1])",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1 || 43)",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY($1::varchar(1)[])",
            &[Some("{42}")],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY('{42}'::bigint[])",
            &[],
            "scope_missing",
        ),
        (
            "SELECT id FROM orders WHERE customer_id = ANY(ARRAY[$1])",
            &[Some("{42,43}")],
            "scope_violation",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, params, expected) in cases {
        let got = outcome_at_bind(SCOPED, sql, c42, params);
        if got != *expected {
            failures.push(format!(
                "  {sql} {params:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    // With no Bind to come, an array parameter cannot be checked.
    let simple = common::policy::outcome_with_claims(SCOPED, any, c42);
    if simple != "scope_parameter" {
        failures.push(format!(
            "  simple Query {any}: expected scope_parameter, got {simple}"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `current_setting($n)` and `set_config($n, …)` are decided at Bind with
/// the bound name, exactly as the literal form would be (SQLAlchemy's
/// reflection sends `current_setting($1::VARCHAR)`); with no Bind to come
/// they are refused.
#[test]
fn setting_names_bound_at_bind() {
    use common::policy::outcome_at_bind;
    let reflection = "SELECT pg_catalog.pg_class.oid, pg_catalog.pg_class.relname, CASE WHEN (pg_catalog.pg_am.amname IS NOT NULL AND pg_catalog.pg_am.amname != current_setting($1::VARCHAR)) THEN pg_catalog.pg_am.amname ELSE NULL END AS access_method_name FROM pg_catalog.pg_class LEFT OUTER JOIN pg_catalog.pg_am ON pg_catalog.pg_class.relam = pg_catalog.pg_am.oid WHERE pg_catalog.pg_class.relkind = ANY (ARRAY[$2::VARCHAR, $3::VARCHAR])";
    let cases: &[(&str, &str, &[Option<&str>], &str)] = &[
        (
            A,
            reflection,
            &[Some("default_table_access_method"), Some("r"), Some("p")],
            "allow",
        ),
        (
            A,
            reflection,
            &[Some("app.jwt_secret"), Some("r"), Some("p")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("search_path")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("Server_Version_Num")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1::text, true)",
            &[Some("standard_conforming_strings")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1, $2)",
            &[Some("search_path"), Some("true")],
            "allow",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[Some("app.user_id")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1::varchar, true)",
            &[Some("APP.JWT_SECRET")],
            "setting_denied",
        ),
        (
            A,
            "SELECT current_setting($1)",
            &[None],
            "parameter_unverifiable",
        ),
        (
            A,
            "SELECT current_setting($2)",
            &[Some("search_path")],
            "parameter_unverifiable",
        ),
        // A cast that could change the name, or a computed name: refused.
        (
            A,
            "SELECT current_setting($1::varchar(3))",
            &[Some("sea")],
            "unsupported_statement",
        ),
        (
            A,
            "SELECT current_setting($1 || '')",
            &[Some("search_path")],
            "unsupported_statement",
        ),
        (
            A,
            "SELECT current_setting(upper($1))",
            &[Some("search_path")],
            "unsupported_statement",
        ),
        // set_config by parameter: the rules of the literal form.
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("statement_timeout"), Some("0")],
            "allow",
        ),
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("role"), Some("postgres")],
            "setting_pinned",
        ),
        (
            A,
            "SELECT set_config($1, $2, false)",
            &[Some("app.user_id"), Some("1")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("statement_timeout"), Some("5s")],
            "allow",
        ),
        (
            T,
            "SELECT set_config($1::text, 'x', true)",
            &[Some("application_name")],
            "allow",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("search_path"), Some("evil")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("ROLE"), Some("postgres")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("session_authorization"), Some("postgres")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("standard_conforming_strings"), Some("off")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("client_encoding"), Some("SJIS")],
            "setting_pinned",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some("app.user_id"), Some("1")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[Some(" role"), Some("postgres")],
            "setting_denied",
        ),
        (
            T,
            "SELECT set_config($1, $2, false)",
            &[None, Some("x")],
            "parameter_unverifiable",
        ),
        (
            T,
            "SELECT current_setting($1)",
            &[Some("search_path")],
            "allow",
        ),
        // Each call is checked, in FROM too.
        (
            T,
            "SELECT * FROM set_config($1, 'x', false), current_setting($2)",
            &[Some("application_name"), Some("search_path")],
            "allow",
        ),
        (
            T,
            "SELECT * FROM set_config($1, 'x', false), current_setting($2)",
            &[Some("application_name"), Some("role")],
            "allow",
        ),
        (
            T,
            "SELECT * FROM set_config($2, 'x', false), current_setting($1)",
            &[Some("application_name"), Some("role")],
            "setting_pinned",
        ),
    ];
    let mut failures = Vec::new();
    for (agent, sql, params, expected) in cases {
        let got = outcome_at_bind(agent, sql, &[], params);
        if got != *expected {
            failures.push(format!(
                "  [{agent}] {sql} {params:?}\n      expected {expected}, got {got}"
            ));
        }
    }
    // No Bind to come: a simple Query, a SQL PREPARE.
    for (agent, sql) in [
        (A, "SELECT current_setting($1)"),
        (T, "SELECT set_config($1, 'x', false)"),
        (T, "PREPARE p (text) AS SELECT current_setting($1)"),
        (T, "PREPARE p (text) AS SELECT set_config($1, 'x', false)"),
    ] {
        let got = common::policy::outcome(agent, sql);
        if got != "setting_parameter" {
            failures.push(format!(
                "  [{agent}] simple Query {sql}: expected setting_parameter, got {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
