use super::*;
use crate::policy::analyze::AnalysisError;

fn analysis(sql: &str) -> Result<Analysis, AnalysisError> {
    crate::policy::analyze::analyze_in_public(sql, None)
}

/// The analysis of `read` (which must agree with PostgreSQL), checked
/// against PostgreSQL's reading of `sent` instead: what the referee says
/// when the two parsers read one text as `read` and `sent`.
fn referee(read: &str, sent: &str) -> String {
    let a = analysis(read).unwrap_or_else(|e| panic!("{read:?}: {e}"));
    match check(sent, &a) {
        Ok(()) => "agree".to_owned(),
        Err(Ok(d)) => d.what,
        Err(Err(postgres)) => format!("rejected: {postgres}"),
    }
}

#[test]
fn ordinary_statements_agree() {
    for sql in [
        "SELECT o.id, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
        "WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '1 day') SELECT count(*) FROM recent",
        "INSERT INTO orders (id, status) VALUES (1, 'new') ON CONFLICT (id) DO UPDATE SET status = excluded.status RETURNING id",
        "UPDATE orders SET status = 'x' FROM customers c WHERE c.id = orders.customer_id",
        "DELETE FROM orders WHERE id IN (SELECT order_id FROM refunds)",
        "SELECT extract(year FROM now()), position('a' IN 'abc'), substring('abc' FROM 2), trim(both 'x' FROM 'xax'), ts AT TIME ZONE 'utc' FROM orders",
        "SELECT substr(name, 1, 2), substring(name, 2), ceil(1.5), floor(1.5) FROM customers",
        "BEGIN; SELECT 1; COMMIT",
        "SET CONSTRAINTS ALL DEFERRED",
        "ANALYZE orders",
        // The new name is recorded (DDL on it), as PostgreSQL names it.
        "ALTER TABLE orders RENAME TO orders_old",
        "ALTER TABLE sales.orders RENAME TO orders_old",
        "CREATE TABLE t2 AS SELECT * FROM orders",
        "EXPLAIN SELECT * FROM orders",
        "SELECT * FROM \"Mixed\".\"Case\"",
    ] {
        assert!(analysis(sql).is_ok(), "{sql:?}: {:?}", analysis(sql).err());
    }
}

#[test]
fn a_different_statement_count_disagrees() {
    assert_eq!(
        referee("SELECT 1", "SELECT 1; SELECT 2"),
        "PostgreSQL reads 2 statement(s) where actgate reads 1"
    );
}

#[test]
fn a_statement_kind_the_analysis_lacks_disagrees() {
    assert_eq!(
        referee("SELECT * FROM orders", "DELETE FROM orders"),
        "PostgreSQL reads a DeleteStmt that actgate does not"
    );
    assert_eq!(
        referee("SELECT 1", "SET search_path = evil"),
        "PostgreSQL reads a VariableSetStmt that actgate does not"
    );
}

#[test]
fn a_relation_the_analysis_lacks_disagrees() {
    assert_eq!(
        referee("SELECT * FROM orders", "SELECT * FROM customers"),
        "PostgreSQL reads relation customers that actgate does not"
    );
    // Schema-qualified in the text: the schema must match too.
    assert_eq!(
        referee("SELECT * FROM public.orders", "SELECT * FROM audit.orders"),
        "PostgreSQL reads relation audit.orders that actgate does not"
    );
}

#[test]
fn a_write_the_analysis_reads_as_a_read_disagrees() {
    assert_eq!(
        referee(
            "INSERT INTO customers SELECT * FROM orders",
            "INSERT INTO orders SELECT * FROM customers"
        ),
        "PostgreSQL writes relation orders that actgate only reads"
    );
}

#[test]
fn a_function_the_analysis_lacks_disagrees() {
    assert_eq!(
        referee("SELECT lower('a')", "SELECT pg_sleep(10)"),
        "PostgreSQL reads a call of function pg_sleep that actgate does not"
    );
    // The grammar's own pg_catalog calls are no disagreement, but the
    // same name spelled by the text is an ordinary call.
    assert_eq!(
        referee("SELECT 1", "SELECT extract(day FROM now())"),
        "PostgreSQL reads a call of function now that actgate does not"
    );
    assert_eq!(
        referee("SELECT now()", "SELECT extract(day FROM now())"),
        "agree"
    );
}

#[test]
fn text_postgresql_rejects_is_reported_as_invalid() {
    assert_eq!(
        referee("SELECT 1", "SELECT 'a' 'b'"),
        "rejected: syntax error at or near \"'b'\""
    );
    assert!(matches!(
        analysis("SELECT 1 FROM orders WHERE 1 = 1e"),
        Err(AnalysisError::Invalid(m)) if m.contains("trailing junk")
    ));
}

#[test]
fn a_parse_gap_says_postgresql_accepts_the_statement() {
    // Adjacent string constants on separate lines: valid PostgreSQL,
    // which sqlparser does not read.
    assert!(matches!(
        analysis("SELECT 'a'\n'b'"),
        Err(AnalysisError::ParserGap(_))
    ));
    let d = crate::policy::analysis_denial(&analysis("SELECT 'a'\n'b'").unwrap_err());
    assert_eq!(d.reason, "parse_error");
    assert!(
        d.message.contains("PostgreSQL's parser accepts it"),
        "{}",
        d.message
    );
}

#[test]
fn a_disagreement_is_denied_with_both_views() {
    let a = analysis("SELECT * FROM orders").unwrap();
    let Err(Ok(d)) = check("SELECT * FROM customers", &a) else {
        panic!("no disagreement")
    };
    let denial = crate::policy::analysis_denial(&AnalysisError::Disagreement(Box::new(d)));
    assert_eq!(denial.reason, "parser_disagreement");
    assert!(
        denial
            .message
            .contains("actgate's parser: 1 statement(s); read; select public.orders")
            && denial
                .message
                .contains("PostgreSQL's parser: 1 statement(s): SelectStmt; reads customers"),
        "{}",
        denial.message
    );
}
