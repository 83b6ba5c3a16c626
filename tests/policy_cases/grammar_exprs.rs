//! PostgreSQL expression syntax the parser learnt for issue 14 (array
//! element targets, VARIADIC, ISNULL, BETWEEN SYMMETRIC, COLLATION FOR,
//! SUBSTRING SIMILAR, operators over ANY/ALL, WHERE CURRENT OF, ON CONFLICT
//! index expressions): what each can hide is still found.

use super::*;

/// `SET a[i] = …` and `INSERT INTO t (a[i], …)` write column `a`; the
/// subscripts are expressions like any other.
#[test]
fn subscripted_targets() {
    check(&[
        (S, "UPDATE orders SET notes[1] = 'x' WHERE id = 1", "allow"),
        (
            S,
            "UPDATE orders SET notes[1:2] = '{x,y}', status[1][2] = 'z' WHERE id = 1",
            "allow",
        ),
        // A field after a subscript names no column of the table.
        (
            S,
            "UPDATE orders SET notes[1].customer_id = 'x' WHERE id = 1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET customer_id[1].notes = 2 WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason[1].id, created_by) VALUES (1, 100, 'x', 'kpatel')",
            "allow",
        ),
        // The column written is the one subscripted.
        (
            S,
            "UPDATE orders SET customer_id[1] = 2 WHERE id = 1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET notes[1] = 'x', total_cents[1:1] = '{0}' WHERE id = 1",
            "column_denied",
        ),
        // A denied table, function or column inside a subscript.
        (
            S,
            "UPDATE orders SET notes[(SELECT count(*) FROM staff_users)] = 'x' WHERE id = 1",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes[1:(SELECT 1 FROM payment_methods LIMIT 1)] = 'x' WHERE id = 1",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET notes[pg_sleep(1)::int] = 'x' WHERE id = 1",
            "function_not_allowed",
        ),
        (
            S,
            "UPDATE orders SET notes[(SELECT marketing_opt_in::int FROM customers LIMIT 1)] = 'x' WHERE id = 1",
            "column_denied",
        ),
        (S, "UPDATE orders SET notes[1] = 'x'", "missing_where"),
        (
            A,
            "UPDATE orders SET notes[1] = 'x' WHERE id = 1",
            "statement_class_denied",
        ),
        // ON CONFLICT … DO UPDATE SET a[i] = …
        (
            T,
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET notes[1] = excluded.notes[1]",
            "allow",
        ),
        (
            T,
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET notes[pg_ls_dir('.')::int] = 'x'",
            "function_not_allowed",
        ),
        // INSERT column lists with subscripts.
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason[1], created_by) VALUES (1, 100, 'x', 'kpatel')",
            "allow",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason[1], created_by, id[1]) VALUES (1, 100, 'x', 'kpatel', 5)",
            "column_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason[(SELECT 1 FROM staff_users)], created_by) VALUES (1, 100, 'x', 'kpatel')",
            "table_denied",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents, reason[pg_sleep(1)::int], created_by) VALUES (1, 100, 'x', 'kpatel')",
            "function_not_allowed",
        ),
        // An element write is not the column's value: a value limit on the
        // column cannot be checked on it.
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents[1], reason, created_by) VALUES (1, 10, 'x', 'kpatel')",
            "deny",
        ),
        (
            S,
            "INSERT INTO refunds (order_id, amount_cents[1], reason, created_by) VALUES (1, 9999999, 'x', 'kpatel')",
            "deny",
        ),
        (
            S,
            "INSERT INTO staff_users (username[1]) VALUES ('evil')",
            "table_denied",
        ),
    ]);
}

/// `f(VARIADIC array)` calls `f`, and everything in the array is walked.
#[test]
fn variadic_arguments() {
    check(&[
        (
            A,
            "SELECT concat_ws(',', VARIADIC ARRAY['a', 'b'])",
            "allow",
        ),
        (A, "SELECT concat(VARIADIC '{a,b}'::text[])", "allow"),
        (A, "SELECT concat(VARIADIC NULL::text[])", "allow"),
        (
            A,
            "SELECT concat_ws(',', VARIADIC ARRAY[(SELECT password_hash FROM staff_users LIMIT 1)])",
            "table_denied",
        ),
        (
            A,
            "SELECT concat(VARIADIC ARRAY(SELECT number FROM payment_methods))",
            "table_denied",
        ),
        (
            A,
            "SELECT concat(VARIADIC ARRAY[pg_sleep(1)::text])",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT pg_ls_dir(VARIADIC ARRAY['.'])",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT concat(VARIADIC ARRAY[c.email]) FROM customers c",
            "column_denied",
        ),
        (
            A,
            "SELECT concat(VARIADIC ARRAY[c::text]) FROM customers c",
            "column_denied",
        ),
        // In FROM, as a table function's argument.
        (
            A,
            "SELECT * FROM pg_ls_dir(VARIADIC ARRAY['.']) AS f",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM generate_series(1, VARIADIC ARRAY[(SELECT count(*)::int FROM staff_users)]) AS g",
            "table_denied",
        ),
        // A setting name behind VARIADIC is not a literal one can judge.
        (
            A,
            "SELECT set_config(VARIADIC ARRAY['statement_timeout', '0', 'false'])",
            "deny",
        ),
        (
            A,
            "SELECT current_setting(VARIADIC ARRAY['data_directory'])",
            "deny",
        ),
    ]);
}

/// Small forms: each operand is an expression walked like any other.
#[test]
fn small_expression_forms() {
    check(&[
        (A, "SELECT id FROM orders WHERE notes ISNULL", "allow"),
        (A, "SELECT id FROM orders WHERE notes NOTNULL", "allow"),
        (
            A,
            "SELECT id FROM customers WHERE email ISNULL",
            "column_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE (SELECT 1 FROM staff_users LIMIT 1) ISNULL",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id BETWEEN SYMMETRIC 10 AND 1",
            "allow",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id NOT BETWEEN SYMMETRIC (SELECT count(*) FROM staff_users) AND 1",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM customers WHERE id BETWEEN SYMMETRIC 1 AND length(email)",
            "column_denied",
        ),
        // COLLATION FOR (x) calls pg_catalog.pg_collation_for.
        (
            A,
            "SELECT COLLATION FOR ('foo'::text)",
            "allow|function_not_allowed",
        ),
        (
            A,
            "SELECT COLLATION FOR ((SELECT username FROM staff_users LIMIT 1))",
            "table_denied|function_not_allowed",
        ),
        // SUBSTRING(x SIMILAR p ESCAPE e) calls pg_catalog.substring.
        (
            A,
            "SELECT SUBSTRING(notes SIMILAR 'a#\"%#\"' ESCAPE '#') FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT SUBSTRING((SELECT password_hash FROM staff_users LIMIT 1) SIMILAR '%' ESCAPE '#')",
            "table_denied",
        ),
        (
            A,
            "SELECT SUBSTRING('x' SIMILAR '%' ESCAPE pg_sleep(1)::text)",
            "function_not_allowed",
        ),
        // Operators over ANY/ALL: the array or subquery is walked, and
        // `LIKE ALL (…)` is no call of a function `all`.
        (A, "SELECT 'foo' LIKE ALL (ARRAY['f%', '%o'])", "allow"),
        (A, "SELECT 'foo' NOT ILIKE ALL (ARRAY['%a'])", "allow"),
        (A, "SELECT 33 * ANY ('{1,2,3}')", "allow"),
        (
            A,
            "SELECT id FROM orders WHERE notes LIKE ALL (SELECT username FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE notes LIKE SOME (ARRAY[pg_sleep(1)::text])",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id + ANY (ARRAY(SELECT id FROM payment_methods)) > 0",
            "deny",
        ),
        (
            A,
            "SELECT c.id FROM customers c WHERE 'x' LIKE ALL (ARRAY[c.email])",
            "column_denied",
        ),
        // Operators lexed as PostgreSQL does (`*<` is one operator).
        (
            A,
            "SELECT id FROM orders WHERE id *< 3 AND 2*-1 < 0",
            "allow",
        ),
        (
            A,
            "SELECT id FROM orders WHERE id *>= (SELECT count(*) FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT id FROM orders WHERE pg_sleep(1)::text *< 'x'",
            "function_not_allowed",
        ),
    ]);
}

/// `U&"…"` names are decoded before they are judged: a denied table or
/// column spelt with escapes is the same table or column.
#[test]
fn unicode_escaped_names() {
    check(&[
        (A, r#"SELECT U&'d!0061t\+000061' UESCAPE '!' AS x"#, "allow"),
        (A, r#"SELECT id FROM U&"\006Frders""#, "allow"),
        (A, r#"SELECT * FROM U&"st\0061ff_users""#, "table_denied"),
        (
            A,
            r#"SELECT * FROM U&"st!0061ff!+00005Fusers" UESCAPE '!'"#,
            "table_denied",
        ),
        (
            A,
            r#"SELECT c.U&"em\0061il" FROM customers c"#,
            "column_denied",
        ),
        // Case is kept: a quoted name is not folded.
        (A, r#"SELECT * FROM U&"\0053taff_users""#, "deny"),
        (A, r#"SELECT U&'\D800'"#, "parse_error"),
    ]);
}

/// `WHERE CURRENT OF c` bounds the write to one row; the target's rules
/// still apply.
#[test]
fn where_current_of() {
    check(&[
        (
            S,
            "UPDATE orders SET status = 'x' WHERE CURRENT OF c1",
            "allow",
        ),
        (
            S,
            "UPDATE orders SET customer_id = 2 WHERE CURRENT OF c1",
            "column_denied",
        ),
        (
            S,
            "UPDATE orders SET status = (SELECT username FROM staff_users LIMIT 1) WHERE CURRENT OF c1",
            "table_denied",
        ),
        (
            S,
            "UPDATE orders SET status = 'x' WHERE CURRENT OF c1 RETURNING (SELECT marketing_opt_in FROM customers LIMIT 1)",
            "column_denied",
        ),
        (
            S,
            "DELETE FROM orders WHERE CURRENT OF c1",
            "statement_class_denied",
        ),
        (T, "DELETE FROM orders WHERE CURRENT OF c1", "allow"),
        (
            S,
            "UPDATE staff_users SET username = 'x' WHERE CURRENT OF c1",
            "table_denied",
        ),
    ]);
}

/// ON CONFLICT with index expressions: read columns of the target, call
/// functions; the predicate too.
#[test]
fn conflict_index_expressions() {
    const REFUND: &str = "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'x', 'kpatel')";
    let cases = [
        ("ON CONFLICT (lower(reason), id) DO NOTHING", "allow"),
        (
            "ON CONFLICT (reason COLLATE \"C\" text_pattern_ops) WHERE id > 0 DO NOTHING",
            "allow",
        ),
        (
            "ON CONFLICT (pg_sleep(1)) DO NOTHING",
            "function_not_allowed",
        ),
        (
            "ON CONFLICT (id) WHERE pg_sleep(1) IS NULL DO NOTHING",
            "function_not_allowed",
        ),
        (
            "ON CONFLICT ((reason || (SELECT username FROM staff_users LIMIT 1))) DO NOTHING",
            "table_denied",
        ),
        (
            "ON CONFLICT (lower(reason)) DO UPDATE SET reason = excluded.reason",
            "operation_not_allowed",
        ),
    ];
    let sql: Vec<(String, &str)> = cases
        .iter()
        .map(|(tail, expected)| (format!("{REFUND} {tail}"), *expected))
        .collect();
    let table: Vec<(&str, &str, &str)> = sql.iter().map(|(q, e)| (S, q.as_str(), *e)).collect();
    check(&table);
}

/// A row-scoped agent with value limits: an element write is not a value
/// the limits can check, and `CURRENT OF` proves no scope.
#[test]
fn scoped_writes() {
    let claims = [("customer_id", "42")];
    let cases = [
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id = 42 AND id = 1",
            "allow",
        ),
        (
            "UPDATE orders SET status[1] = 'paid' WHERE customer_id = 42 AND id = 1",
            "deny",
        ),
        (
            "UPDATE orders SET total_cents[1] = 99999999 WHERE customer_id = 42 AND id = 1",
            "deny",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE CURRENT OF c1",
            "deny",
        ),
        (
            "UPDATE orders SET status = 'paid' WHERE customer_id ISNULL",
            "deny",
        ),
    ];
    let mut failures = Vec::new();
    for (sql, expected) in cases {
        let got = common::policy::outcome_with_claims("scoped", sql, &claims);
        if !matches(expected, &got) {
            failures.push(format!("  {sql}\n      expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
