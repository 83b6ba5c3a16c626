//! Patches for query structure: field expansion of a parenthesised
//! expression, window frame EXCLUDE and expression offsets, nested grouping
//! sets, `TABLE t` as a statement, `ROWS FROM` and column definition lists,
//! and a recursive CTE's SEARCH and CYCLE clauses.

use super::{parse_one, round_trips_as};
use sqlparser::ast::{
    Expr, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor,
};

/// The first select item of a plain `SELECT`.
fn first_item(sql: &str) -> SelectItem {
    let Statement::Query(q) = parse_one(sql) else {
        panic!("{sql:?} is not a query");
    };
    let SetExpr::Select(s) = *q.body else {
        panic!("{sql:?} is not a SELECT");
    };
    s.projection[0].clone()
}

/// The first FROM item of a plain `SELECT`.
fn first_from(sql: &str) -> TableFactor {
    let Statement::Query(q) = parse_one(sql) else {
        panic!("{sql:?} is not a query");
    };
    let SetExpr::Select(s) = *q.body else {
        panic!("{sql:?} is not a SELECT");
    };
    s.from[0].relation.clone()
}

#[test]
fn select_expr_star() {
    round_trips_as(
        "select (test_conv(inbytes, 'utf8', 'utf8')).* from t",
        "SELECT (test_conv(inbytes, 'utf8', 'utf8')).* FROM t",
    );
    round_trips_as("select (r).* from t r", "SELECT (r).* FROM t r");
    let SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(e), _) =
        first_item("select (dfunc(10, 20, 30)).*")
    else {
        panic!("not an expression wildcard");
    };
    assert!(matches!(e, Expr::Nested(_)), "{e:?}");
    // `t.*` and `s.t.*` stay qualified wildcards of a name.
    assert!(matches!(
        first_item("select s.t.* from s.t"),
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(_), _)
    ));
    round_trips_as("select count(t.*) from t", "SELECT count(t.*) FROM t");
}

#[test]
fn window_frame_exclude() {
    for (clause, printed) in [
        ("exclude current row", "EXCLUDE CURRENT ROW"),
        ("exclude group", "EXCLUDE GROUP"),
        ("exclude ties", "EXCLUDE TIES"),
        ("exclude no others", "EXCLUDE NO OTHERS"),
    ] {
        round_trips_as(
            &format!(
                "select sum(a) over (order by b rows between 2 preceding and 2 following {clause}) from t"
            ),
            &format!(
                "SELECT sum(a) OVER (ORDER BY b ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING {printed}) FROM t"
            ),
        );
    }
    round_trips_as(
        "select sum(a) over (rows unbounded preceding exclude ties) from t",
        "SELECT sum(a) OVER (ROWS UNBOUNDED PRECEDING EXCLUDE TIES) FROM t",
    );
}

#[test]
fn window_frame_offset_expr() {
    round_trips_as(
        "select sum(s) over (order by d range between '1 year'::interval preceding and '1 year'::interval following) from t",
        "SELECT sum(s) OVER (ORDER BY d RANGE BETWEEN '1 year'::INTERVAL PRECEDING AND '1 year'::INTERVAL FOLLOWING) FROM t",
    );
    round_trips_as(
        "select sum(s) over (order by d range between interval '1 day' preceding and current row) from t",
        "SELECT sum(s) OVER (ORDER BY d RANGE BETWEEN INTERVAL '1 day' PRECEDING AND CURRENT ROW) FROM t",
    );
}

#[test]
fn nested_grouping_sets() {
    round_trips_as(
        "select sum(c) from t group by grouping sets((), grouping sets((), grouping sets(())))",
        "SELECT sum(c) FROM t GROUP BY GROUPING SETS ((), GROUPING SETS ((), GROUPING SETS (())))",
    );
    round_trips_as(
        "select sum(c) from t group by grouping sets(a, grouping sets(rollup(c), cube(b, c)), (a, b))",
        "SELECT sum(c) FROM t GROUP BY GROUPING SETS ((a), GROUPING SETS (ROLLUP (c), CUBE (b, c)), (a, b))",
    );
}

#[test]
fn table_statement() {
    round_trips_as("TABLE secret", "TABLE secret");
    round_trips_as("table s.t", "TABLE s.t");
    round_trips_as(
        "TABLE information_schema.enabled_roles ORDER BY role_name",
        "TABLE information_schema.enabled_roles ORDER BY role_name",
    );
    round_trips_as("table a union table b", "TABLE a UNION TABLE b");
    round_trips_as("insert into t table u", "INSERT INTO t TABLE u");
    round_trips_as("insert into t as x table u", "INSERT INTO t AS x TABLE u");
}

#[test]
fn rows_from() {
    round_trips_as(
        "select * from rows from(f(1), g(2)) with ordinality as z(a, b, ord)",
        "SELECT * FROM ROWS FROM (f(1), g(2)) WITH ORDINALITY AS z (a, b, ord)",
    );
    round_trips_as(
        "select * from t, lateral rows from(f(t.a) as (x int, y text)) z",
        "SELECT * FROM t, LATERAL ROWS FROM (f(t.a) AS (x INT, y TEXT)) z",
    );
    round_trips_as(
        "select * from json_populate_record(null::record, '{}') as (x int, y int)",
        "SELECT * FROM json_populate_record(NULL::record, '{}') AS (x INT, y INT)",
    );
    let TableFactor::RowsFrom { functions, .. } = first_from("select * from rows from(f(1), g(2))")
    else {
        panic!("not ROWS FROM");
    };
    assert_eq!(functions.len(), 2);
    assert!(matches!(functions[0].function, Expr::Function(_)));
    // Only function calls are items.
    assert!(
        sqlparser::parser::Parser::parse_sql(
            &sqlparser::dialect::PostgreSqlDialect {},
            "select * from rows from (1 + 1)"
        )
        .is_err()
    );
}

#[test]
fn cte_search_cycle() {
    round_trips_as(
        "with recursive g(f, t) as (select * from e) search depth first by f, t set seq select * from g",
        "WITH RECURSIVE g (f, t) AS (SELECT * FROM e) SEARCH DEPTH FIRST BY f, t SET seq SELECT * FROM g",
    );
    round_trips_as(
        "with recursive g as (select * from e) search breadth first by f set seq cycle f, t set c to 'Y' default 'N' using p select * from g",
        "WITH RECURSIVE g AS (SELECT * FROM e) SEARCH BREADTH FIRST BY f SET seq CYCLE f, t SET c TO 'Y' DEFAULT 'N' USING p SELECT * FROM g",
    );
    round_trips_as(
        "with recursive g as (select * from e) cycle x set is_cycle using path select * from g",
        "WITH RECURSIVE g AS (SELECT * FROM e) CYCLE x SET is_cycle USING path SELECT * FROM g",
    );
}
