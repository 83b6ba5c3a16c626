//! Patches for PostgreSQL expression syntax (vendor/sqlparser/PATCHES.md).

use super::round_trips_as;

#[test]
fn subscripted_assignment_target() {
    round_trips_as(
        "update t set a[1] = 2, b[1:2] = '{1,2}', c[1][2] = (select 1), d = 3",
        "UPDATE t SET a[1] = 2, b[1:2] = '{1,2}', c[1][2] = (SELECT 1), d = 3",
    );
    round_trips_as(
        "insert into t values (1) on conflict (k) do update set f[1] = excluded.f[1]",
        "INSERT INTO t VALUES (1) ON CONFLICT(k) DO UPDATE SET f[1] = excluded.f[1]",
    );
    round_trips_as(
        "update t set d1[1].r = 1, f4[1].if2[2] = 'x'",
        "UPDATE t SET d1[1].r = 1, f4[1].if2[2] = 'x'",
    );
}

#[test]
fn subscripted_insert_column() {
    round_trips_as(
        "insert into t (a[1:5], b[1], c) values ('{1}', 2, 3)",
        "INSERT INTO t (a[1:5], b[1], c) VALUES ('{1}', 2, 3)",
    );
    round_trips_as(
        "insert into t (f4[1].if2[1], f4[1].if1) values ('a', 1)",
        "INSERT INTO t (f4[1].if2[1], f4[1].if1) VALUES ('a', 1)",
    );
    round_trips_as(
        "insert into t (a, b) values (1, 2)",
        "INSERT INTO t (a, b) VALUES (1, 2)",
    );
}

#[test]
fn variadic_function_argument() {
    round_trips_as(
        "select f(variadic array[1, 2]), g(a, variadic '{}'::text[]), h(variadic null::text[])",
        "SELECT f(VARIADIC ARRAY[1, 2]), g(a, VARIADIC '{}'::TEXT[]), h(VARIADIC NULL::TEXT[])",
    );
}

#[test]
fn isnull_postfix() {
    round_trips_as(
        "select * from t where a isnull and b notnull",
        "SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL",
    );
}

#[test]
fn between_symmetric() {
    round_trips_as(
        "select a between symmetric 2 and 1, a not between symmetric 2 and 1, a between asymmetric 1 and 2",
        "SELECT a BETWEEN SYMMETRIC 2 AND 1, a NOT BETWEEN SYMMETRIC 2 AND 1, a BETWEEN 1 AND 2",
    );
}

#[test]
fn collation_for() {
    round_trips_as(
        "select collation for ('foo'::text)",
        "SELECT pg_catalog.pg_collation_for('foo'::TEXT)",
    );
}

#[test]
fn substring_similar() {
    round_trips_as(
        "select substring('abc' similar 'a#\"b#\"%' escape '#'), 'a' similar to 'b'",
        "SELECT pg_catalog.substring('abc', 'a#\"b#\"%', '#'), 'a' SIMILAR TO 'b'",
    );
}

#[test]
fn where_current_of() {
    round_trips_as(
        "update t set a = 1 where current of c1 returning *",
        "UPDATE t SET a = 1 WHERE CURRENT OF c1 RETURNING *",
    );
    round_trips_as(
        "delete from t where current of c1",
        "DELETE FROM t WHERE CURRENT OF c1",
    );
}

#[test]
fn conflict_index_expressions() {
    round_trips_as(
        "insert into t values (1) on conflict (lower(f), k) do nothing",
        "INSERT INTO t VALUES (1) ON CONFLICT(lower(f), k) DO NOTHING",
    );
    round_trips_as(
        "insert into t values (1) on conflict (f collate \"C\" text_pattern_ops) where k > 0 do nothing",
        "INSERT INTO t VALUES (1) ON CONFLICT(f COLLATE \"C\" text_pattern_ops) WHERE k > 0 DO NOTHING",
    );
    round_trips_as(
        "insert into t values (1) on conflict (k) do nothing",
        "INSERT INTO t VALUES (1) ON CONFLICT(k) DO NOTHING",
    );
}

#[test]
fn pg_any_all_operators() {
    round_trips_as(
        "select 33 * any ('{1,2,3}'), a @@ any ('{wr,qh}') from t",
        "SELECT 33 * ANY('{1,2,3}'), a @@ ANY('{wr,qh}') FROM t",
    );
    round_trips_as(
        "select 'foo' like all (array['f%', '%o']), 'foo' not ilike some (array['%a'])",
        "SELECT 'foo' ~~ ALL(ARRAY['f%', '%o']), 'foo' !~~* SOME(ARRAY['%a'])",
    );
    round_trips_as(
        "select 'foo' like all (select p from t)",
        "SELECT 'foo' ~~ ALL(SELECT p FROM t)",
    );
}

#[test]
fn pg_custom_operators() {
    round_trips_as(
        "select a *< b, a *>= b, 2*-1, 2 *+ 3, count(*) from t",
        "SELECT a *< b, a *>= b, 2 * -1, 2 * +3, count(*) FROM t",
    );
    round_trips_as("select * from t", "SELECT * FROM t");
    round_trips_as("select 2*/* c */3", "SELECT 2 * 3");
}

#[test]
fn unicode_escapes() {
    round_trips_as(
        r#"SELECT U&'d!0061t\+000061' UESCAPE '!' AS U&"d*0061t\+000061" UESCAPE '*'"#,
        r#"SELECT U&'dat\\+000061' AS "dat\+000061""#,
    );
    round_trips_as(
        r#"SELECT U&'d\0061t\+000061' AS U&"d\0061t\+000061""#,
        r#"SELECT U&'data' AS "data""#,
    );
    round_trips_as(
        r#"select * from U&"st\0061ff_users""#,
        r#"SELECT * FROM "staff_users""#,
    );
    for bad in [
        r"select U&'\00'",
        r"select U&'\0000'",
        r"select U&'\D800'",
        r"select U&'x' uescape 'a'",
    ] {
        assert!(
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, bad)
                .is_err(),
            "{bad} parses"
        );
    }
}
