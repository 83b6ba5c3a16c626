use super::*;

fn analysis(sql: &str) -> Analysis {
    crate::policy::analyze::analyze_in_public(sql, Some("shop")).expect(sql)
}

fn template(sql: &str) -> Option<Template> {
    let lifted = lift(sql)?;
    let canaries = analysis(&lifted.canary_text(sql));
    Template::derive(&lifted, sql, &analysis(sql), &canaries)
}

#[test]
fn literals_are_cut_out_of_the_exact_text() {
    let sql = "SELECT a FROM t WHERE id = 42 AND name = 'O''Brien' AND x > 1.5e3";
    let l = lift(sql).unwrap();
    assert_eq!(
        l.key,
        "SELECT a FROM t WHERE id = \u{1}i AND name = \u{1}s AND x > \u{1}d"
    );
    let values: Vec<_> = l.literals.iter().map(|l| l.value(sql)).collect();
    assert_eq!(values, ["42", "O'Brien", "1.5e3"]);
    // Whitespace is part of the shape; the literal's kind too.
    assert_ne!(
        lift("SELECT  1").unwrap().key,
        lift("SELECT 1").unwrap().key
    );
    assert_ne!(
        lift("SELECT 1").unwrap().key,
        lift("SELECT '1'").unwrap().key
    );
    assert_ne!(
        lift("SELECT 1").unwrap().key,
        lift("SELECT 1.0").unwrap().key
    );
    assert_ne!(
        lift("SELECT 1").unwrap().key,
        lift("SELECT 3000000000").unwrap().key
    );
    // Multi-byte text before a literal.
    let sql = "SELECT 'é', 'ü' || 'x'";
    let l = lift(sql).unwrap();
    assert_eq!(l.key, "SELECT \u{1}s, \u{1}s || \u{1}s");
    assert_eq!(l.literals[1].value(sql), "ü");
}

#[test]
fn what_postgresql_might_read_otherwise_is_shapeless() {
    for sql in [
        "SELECT 1 -- comment",
        "SELECT /* c */ 1",
        "SELECT E'a\\'b'",
        "SELECT U&'d\\0061t'",
        "SELECT $$x$$",
        "SELECT $tag$x$tag$",
        "SELECT B'101'",
        "SELECT X'1F'",
        "SELECT N'x'",
        "SELECT 1_000",
        "SELECT 0x1F",
        "SELECT 'unterminated",
        "SELECT '\u{1}'",
    ] {
        assert_eq!(lift(sql), None, "{sql}");
    }
    // A backslash in a plain string is an ordinary character.
    let sql = r"SELECT 'a\' FROM t";
    let l = lift(sql).unwrap();
    assert_eq!(l.literals[0].value(sql), r"a\");
}

#[test]
fn a_template_fills_to_the_full_analysis() {
    let shape = "SELECT name FROM customers WHERE id = {} AND email = '{}' AND total > -{}";
    let sql = |a: &str, b: &str, c: &str| {
        shape
            .replacen("{}", a, 1)
            .replacen("{}", b, 1)
            .replacen("{}", c, 1)
    };
    let t = template(&sql("1", "a@b", "5")).expect("a template");
    for (a, b, c) in [("7", "x''y", "0.5"), ("99", "", "1e3"), ("0", "''", "2")] {
        let text = sql(a, b, c);
        let l = lift(&text).unwrap();
        // Decimal and integer literals are different shapes.
        if l.key != lift(&sql("1", "a@b", "5")).unwrap().key {
            continue;
        }
        assert_eq!(t.fill(&l, &text), Some(analysis(&text)), "{text}");
    }
    let inserted = "INSERT INTO orders (customer_id, total) VALUES (3, 10), (4, 20)";
    let t = template(inserted).expect("a template");
    let other = "INSERT INTO orders (customer_id, total) VALUES (8, 11), (9, 21)";
    assert_eq!(t.fill(&lift(other).unwrap(), other), Some(analysis(other)));
}

#[test]
fn shapes_that_judge_literals_have_no_template() {
    for sql in [
        "SELECT id FROM customers WHERE 1 = 2",
        "SELECT id FROM customers WHERE 'a' = 'b'",
        "SELECT set_config('search_path', 'a', false)",
        "SELECT current_setting('search_path')",
        "SET statement_timeout = 10",
        "EXPLAIN (ANALYZE false) SELECT 1",
        "FETCH 5 FROM c",
        "COPY (SELECT 1) TO STDOUT",
        "PREPARE p AS SELECT 1",
    ] {
        assert!(template(sql).is_none(), "{sql}");
    }
}

/// The analyses a template fills share its statement facts (one copy per
/// shape, not per statement), and what is rendered from them once, such
/// as the audit log's table list, is the same in every one.
#[test]
fn filled_analyses_share_their_facts_and_rendered_tables() {
    let t =
        template("SELECT a FROM \"Odd\" o JOIN orders r ON r.id = o.id WHERE o.id = 1").unwrap();
    let fill = |sql: &str| t.fill(&lift(sql).unwrap(), sql).unwrap();
    let one = fill("SELECT a FROM \"Odd\" o JOIN orders r ON r.id = o.id WHERE o.id = 2");
    let two = fill("SELECT a FROM \"Odd\" o JOIN orders r ON r.id = o.id WHERE o.id = 3");
    assert_eq!(one.tables().as_ref(), ["public.\"Odd\"", "public.orders"]);
    assert!(std::ptr::eq(one.tables().as_ptr(), two.tables().as_ptr()));
    // Changing a filled analysis's facts copies them: the template's stay.
    let mut changed = one.clone();
    changed.statements[0].relations.clear();
    assert!(changed.tables().is_empty());
    assert_eq!(two.tables().len(), 2);
    // Several statements: merged, sorted, once each.
    let many = analysis("SELECT 1 FROM orders; SELECT 1 FROM \"Odd\", orders");
    assert_eq!(many.tables().as_ref(), ["public.\"Odd\"", "public.orders"]);
}
