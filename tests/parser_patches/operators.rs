//! Patches for PostgreSQL's operator, aggregate, type and comment
//! statements (topic `operators`).

use super::{parse_one, round_trips_as};
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

fn fails(sql: &str) {
    assert!(
        Parser::parse_sql(&PostgreSqlDialect {}, sql).is_err(),
        "{sql:?} parses"
    );
}

#[test]
fn pg_operator_names() {
    round_trips_as(
        "CREATE OPERATOR @+@ ( leftarg = int4, rightarg = int4, procedure = int4pl )",
        "CREATE OPERATOR @+@ (PROCEDURE = int4pl, LEFTARG = INT4, RIGHTARG = INT4)",
    );
    round_trips_as(
        "CREATE OPERATOR === (LEFTARG = boolean, PROCEDURE = f, COMMUTATOR = ===, NEGATOR = !==)",
        "CREATE OPERATOR === (PROCEDURE = f, LEFTARG = BOOLEAN, COMMUTATOR = ===, NEGATOR = !==)",
    );
    round_trips_as(
        "CREATE OPERATOR !=- (rightarg = int8, procedure = factorial)",
        "CREATE OPERATOR !=- (PROCEDURE = factorial, RIGHTARG = INT8)",
    );
    round_trips_as(
        "CREATE OPERATOR |> (PROCEDURE = f, LEFTARG = bigint, NEGATOR = <|)",
        "CREATE OPERATOR |> (PROCEDURE = f, LEFTARG = BIGINT, NEGATOR = <|)",
    );
    round_trips_as(
        "CREATE OPERATOR s.@@@ (procedure = f, leftarg = int)",
        "CREATE OPERATOR s.@@@ (PROCEDURE = f, LEFTARG = INT)",
    );
    round_trips_as(
        "ALTER OPERATOR @+@(int4, int4) OWNER TO u",
        "ALTER OPERATOR @+@ (INT4, INT4) OWNER TO u",
    );
    round_trips_as(
        "ALTER OPERATOR === (boolean, boolean) SET (COMMUTATOR = ====)",
        "ALTER OPERATOR === (BOOLEAN, BOOLEAN) SET (COMMUTATOR = ====)",
    );
    round_trips_as(
        "DROP OPERATOR IF EXISTS @#@ (int, int), =#>(integer, integer), |>(int, int)",
        "DROP OPERATOR IF EXISTS @#@ (INT, INT), =#> (INTEGER, INTEGER), |> (INT, INT)",
    );
    round_trips_as(
        "create operator class c for type int4 using hash as operator 1 ===, operator 4 &>, function 2 f(int4)",
        "CREATE OPERATOR CLASS c FOR TYPE INT4 USING hash AS OPERATOR 1 ===, OPERATOR 4 &>, FUNCTION 2 f(INT4)",
    );
    match parse_one("DROP OPERATOR @#@ (int, int)") {
        Statement::DropOperator(d) => assert_eq!(d.operators[0].name.to_string(), "@#@"),
        other => panic!("not a DROP OPERATOR: {other:?}"),
    }
    // The tokens the names are made of, as PostgreSQL's lexer reads them
    // in an expression too: `<|` is not `<<|`, `&>` no longer swallows
    // the character after it, `!==` is one operator.
    round_trips_as(
        "SELECT a <| b, a &>b, a !== b, a != b",
        "SELECT a <| b, a &> b, a !== b, a <> b",
    );
    // A space ends a name; PostgreSQL cuts `=-` before the `-`.
    fails("CREATE OPERATOR == = (procedure = f, leftarg = int)");
    fails("CREATE OPERATOR =- (procedure = f, leftarg = int)");
}

#[test]
fn pg_alter_type() {
    round_trips_as(
        "ALTER TYPE test_type DROP ATTRIBUTE a, ADD ATTRIBUTE d boolean",
        "ALTER TYPE test_type DROP ATTRIBUTE a, ADD ATTRIBUTE d BOOLEAN",
    );
    round_trips_as(
        "ALTER TYPE t ALTER ATTRIBUTE b SET DATA TYPE varchar COLLATE \"C\" CASCADE",
        "ALTER TYPE t ALTER ATTRIBUTE b SET DATA TYPE VARCHAR COLLATE \"C\" CASCADE",
    );
    round_trips_as(
        "alter type comptype alter attribute r type bigint",
        "ALTER TYPE comptype ALTER ATTRIBUTE r TYPE BIGINT",
    );
    round_trips_as(
        "ALTER TYPE t DROP ATTRIBUTE IF EXISTS c RESTRICT",
        "ALTER TYPE t DROP ATTRIBUTE IF EXISTS c RESTRICT",
    );
    round_trips_as(
        "ALTER TYPE t2 RENAME ATTRIBUTE a TO aa CASCADE",
        "ALTER TYPE t2 RENAME ATTRIBUTE a TO aa CASCADE",
    );
    round_trips_as(
        "alter type alter1.ctype set schema alter2",
        "ALTER TYPE alter1.ctype SET SCHEMA alter2",
    );
    match parse_one("ALTER TYPE t ADD ATTRIBUTE c text CASCADE") {
        Statement::AlterType(a) => assert!(matches!(
            a.operation,
            sqlparser::ast::AlterTypeOperation::Attributes(_)
        )),
        other => panic!("not an ALTER TYPE: {other:?}"),
    }
    fails("ALTER TYPE t ADD ATTRIBUTE");
    fails("ALTER TYPE t ALTER ATTRIBUTE a varchar");
}

#[test]
fn pg_comment_on_signatures() {
    for sql in [
        "COMMENT ON CONSTRAINT the_constraint ON DOMAIN d IS 'yes'",
        "COMMENT ON AGGREGATE newcnt (*) IS 'an agg(*) comment'",
        "COMMENT ON AGGREGATE newcnt (\"any\") IS NULL",
        "COMMENT ON OPERATOR ###### (NONE, INT4) IS 'bad prefix'",
        "COMMENT ON OPERATOR @#@ (INT4, INT8) IS 'infix'",
        "COMMENT ON EVENT TRIGGER regress_event_trigger IS 'test comment'",
        "COMMENT ON FOREIGN DATA WRAPPER dummy IS 'useless'",
        "COMMENT ON SERVER s1 IS 'foreign server'",
        "COMMENT ON LARGE OBJECT 42 IS 'the ultimate answer'",
        "COMMENT ON FUNCTION f (bpchar, INTEGER) IS NULL",
        "COMMENT ON PUBLICATION p IS 'test publication'",
        "COMMENT ON SUBSCRIPTION s IS 'test subscription'",
    ] {
        round_trips_as(sql, sql);
    }
    // A domain's constraint names no table.
    match parse_one("COMMENT ON CONSTRAINT c ON DOMAIN d IS NULL") {
        Statement::Comment {
            on_table, detail, ..
        } => {
            assert!(on_table.is_none());
            assert!(matches!(
                detail,
                Some(sqlparser::ast::CommentDetail::OnDomain(_))
            ));
        }
        other => panic!("not a COMMENT: {other:?}"),
    }
    fails("COMMENT ON AGGREGATE a IS 'x'");
    fails("COMMENT ON OPERATOR + (int) IS 'x'");
    fails("COMMENT ON LARGE OBJECT x IS 'x'");
}

#[test]
fn pg_create_aggregate_old_names() {
    round_trips_as(
        "CREATE AGGREGATE alt_agg2 (sfunc1 = int4mi, basetype = int4, stype1 = int4, initcond = -100)",
        "CREATE AGGREGATE alt_agg2 (SFUNC = int4mi, BASETYPE = INT4, STYPE = INT4, INITCOND = -100)",
    );
    round_trips_as(
        "CREATE AGGREGATE newsum (sfunc1 = int4pl, basetype = int4, stype1 = int4, initcond1 = '0')",
        "CREATE AGGREGATE newsum (SFUNC = int4pl, BASETYPE = INT4, STYPE = INT4, INITCOND = '0')",
    );
    round_trips_as(
        "create aggregate r(VARIADIC \"any\" ORDER BY VARIADIC \"any\") (stype = internal, sfunc = f, finalfunc_extra = true, hypothetical)",
        "CREATE AGGREGATE r (VARIADIC \"any\" ORDER BY VARIADIC \"any\") (STYPE = internal, SFUNC = f, FINALFUNC_EXTRA, HYPOTHETICAL)",
    );
    // Quoted names are other names to PostgreSQL; `= false` is not read.
    fails("CREATE AGGREGATE a (\"sfunc1\" = f, basetype = int4, stype1 = int4)");
    fails("create aggregate x(int) (stype = int, sfunc = f, finalfunc_extra = false)");
    fails("create aggregate x(int) (stype = int, sfunc = f, initcond = -'1')");
}
