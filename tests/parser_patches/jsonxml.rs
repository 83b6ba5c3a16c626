//! SQL/JSON constructor clauses and SQL/XML expressions PostgreSQL's
//! grammar has and sqlparser 0.64 lacks.

use crate::{parse_one, round_trips_as};
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};

/// The first projected expression of a `SELECT`.
fn first_item(sql: &str) -> Expr {
    let Statement::Query(q) = parse_one(sql) else {
        panic!("{sql:?} is not a query");
    };
    let SetExpr::Select(s) = *q.body else {
        panic!("{sql:?} is not a SELECT");
    };
    match s.projection.into_iter().next() {
        Some(SelectItem::UnnamedExpr(e)) => e,
        other => panic!("{sql:?}: first item is {other:?}"),
    }
}

#[test]
fn sqljson_format() {
    round_trips_as(
        "SELECT JSON_OBJECT('foo' : '1' FORMAT JSON, 'bar' : 'baz' RETURNING json)",
        "SELECT JSON_OBJECT('foo' : '1' FORMAT JSON, 'bar' : 'baz' RETURNING JSON)",
    );
    round_trips_as(
        "SELECT JSON_ARRAY(RETURNING bytea FORMAT JSON ENCODING UTF16)",
        "SELECT JSON_ARRAY(RETURNING BYTEA FORMAT JSON ENCODING UTF16)",
    );
    round_trips_as(
        "SELECT JSON_ARRAYAGG(('111' || i)::bytea FORMAT JSON NULL ON NULL RETURNING text) FILTER (WHERE i > 3) FROM t",
        "SELECT JSON_ARRAYAGG(('111' || i)::BYTEA FORMAT JSON NULL ON NULL RETURNING TEXT) FILTER (WHERE i > 3) FROM t",
    );
    let Expr::Function(f) = first_item("SELECT JSON_ARRAY(x FORMAT JSON)") else {
        panic!("JSON_ARRAY is a call");
    };
    assert!(f.to_string().contains("x FORMAT JSON"), "{f}");
}

#[test]
fn sqljson_unique_keys() {
    round_trips_as(
        "SELECT JSON_OBJECT(1: 1, '1': NULL ABSENT ON NULL WITH UNIQUE RETURNING jsonb)",
        "SELECT JSON_OBJECT(1 : 1, '1' : NULL ABSENT ON NULL WITH UNIQUE KEYS RETURNING JSONB)",
    );
    round_trips_as(
        "SELECT JSON_OBJECTAGG(k: v WITHOUT UNIQUE KEYS) FROM t",
        "SELECT JSON_OBJECTAGG(k : v WITHOUT UNIQUE KEYS) FROM t",
    );
}

#[test]
fn sqljson_array_query() {
    round_trips_as(
        "SELECT JSON_ARRAY(SELECT i FROM (VALUES (1), (2)) foo(i) ORDER BY i RETURNING jsonb)",
        "SELECT JSON_ARRAY(SELECT i FROM (VALUES (1), (2)) foo (i) ORDER BY i RETURNING JSONB)",
    );
    round_trips_as(
        "SELECT JSON_ARRAY(SELECT a FROM t)",
        "SELECT JSON_ARRAY(SELECT a FROM t)",
    );
}

#[test]
fn sqlxml_expressions() {
    round_trips_as(
        "SELECT xmlelement(name foo, xmlattributes('x' as bar, b), 'c', xmlelement(name \"x-y\"))",
        "SELECT XMLELEMENT(NAME foo, XMLATTRIBUTES('x' AS bar, b), 'c', XMLELEMENT(NAME \"x-y\"))",
    );
    round_trips_as(
        "SELECT xmlpi(name foo, 'bar')",
        "SELECT XMLPI(NAME foo, 'bar')",
    );
    round_trips_as("SELECT xmlpi(name foo)", "SELECT XMLPI(NAME foo)");
    round_trips_as(
        "SELECT xmlroot(x, version no value, standalone no value)",
        "SELECT XMLROOT(x, VERSION NO VALUE, STANDALONE NO VALUE)",
    );
    round_trips_as(
        "SELECT xmlroot(x, version '1.1', standalone no)",
        "SELECT XMLROOT(x, VERSION '1.1', STANDALONE NO)",
    );
    round_trips_as(
        "SELECT xmlserialize(content data as character varying(20) no indent) FROM xmltest",
        "SELECT XMLSERIALIZE(CONTENT data AS CHARACTER VARYING(20) NO INDENT) FROM xmltest",
    );
    round_trips_as(
        "SELECT xmlserialize(DOCUMENT '<a/>' AS text INDENT)",
        "SELECT XMLSERIALIZE(DOCUMENT '<a/>' AS TEXT INDENT)",
    );
    // A quoted or qualified name is an ordinary call.
    assert!(matches!(
        first_item("SELECT \"xmlpi\"(a)"),
        Expr::Function(_)
    ));
    assert!(matches!(
        first_item("SELECT pg_catalog.xmlroot(a, b)"),
        Expr::Function(_)
    ));
}

#[test]
fn sqlxml_passing_by_ref() {
    round_trips_as(
        "SELECT xmlexists('//town' PASSING BY REF data BY VALUE) FROM t",
        "SELECT XMLEXISTS('//town' PASSING BY REF data BY VALUE) FROM t",
    );
    round_trips_as(
        "SELECT * FROM XMLTABLE('/r' PASSING BY REF x BY REF COLUMNS a int)",
        "SELECT * FROM XMLTABLE('/r' PASSING BY REF x BY REF COLUMNS a INT)",
    );
}

#[test]
fn lateral_xmltable() {
    round_trips_as(
        "SELECT x.* FROM d, LATERAL XMLTABLE('/r' PASSING data COLUMNS id int PATH '@id', n FOR ORDINALITY) AS x",
        "SELECT x.* FROM d, LATERAL XMLTABLE('/r' PASSING data COLUMNS id INT PATH '@id', n FOR ORDINALITY) AS x",
    );
}

#[test]
fn sqlxml_is_document() {
    round_trips_as(
        "SELECT xml '<a/>' IS DOCUMENT, x IS NOT DOCUMENT AND y FROM t",
        "SELECT xml '<a/>' IS DOCUMENT, x IS NOT DOCUMENT AND y FROM t",
    );
}

#[test]
fn xmlnamespaces_default() {
    round_trips_as(
        "SELECT * FROM XMLTABLE(XMLNAMESPACES(DEFAULT 'http://x.y', 'http://z' AS z), '/r' PASSING '<r/>' COLUMNS a int PATH 'a')",
        "SELECT * FROM XMLTABLE(XMLNAMESPACES(DEFAULT 'http://x.y', 'http://z' AS z), '/r' PASSING '<r/>' COLUMNS a INT PATH 'a')",
    );
}
