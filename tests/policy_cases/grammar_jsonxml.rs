//! SQL/JSON constructors and SQL/XML expressions: they call no function a
//! rule names, but everything inside them is walked — a denied table,
//! column or function hidden in one is still denied.

use super::*;

/// `JSON_OBJECT`/`JSON_ARRAY`/`JSON_ARRAYAGG`/`JSON_OBJECTAGG` with their
/// SQL/JSON clauses are constructors; their values are expressions.
#[test]
fn sqljson_constructors() {
    check(&[
        (
            A,
            "SELECT JSON_OBJECT('id': id, 'total' VALUE total_cents FORMAT JSON ABSENT ON NULL WITH UNIQUE KEYS RETURNING jsonb) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT JSON_ARRAY(id, status ABSENT ON NULL RETURNING jsonb) FROM orders",
            "allow",
        ),
        (A, "SELECT JSON_ARRAY(RETURNING text FORMAT JSON)", "allow"),
        (
            A,
            "SELECT JSON_ARRAYAGG(id ORDER BY id RETURNING jsonb) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT JSON_OBJECTAGG(id: status NULL ON NULL WITH UNIQUE) FILTER (WHERE id > 3) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT status IS JSON OBJECT WITH UNIQUE KEYS FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT email IS NOT JSON SCALAR FROM customers",
            "column_denied",
        ),
        // A denied column as a value, a key, in FILTER or in OVER.
        (
            A,
            "SELECT JSON_OBJECT('e': email RETURNING jsonb) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_OBJECT(email: 1 RETURNING jsonb) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAY(email FORMAT JSON) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAYAGG(id RETURNING jsonb) FILTER (WHERE email LIKE '%@x') FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_OBJECTAGG(id: country RETURNING jsonb) OVER (PARTITION BY email) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAYAGG(c FORMAT JSON RETURNING jsonb) FROM customers c",
            "column_denied",
        ),
        // A denied function as a value or as a key.
        (
            A,
            "SELECT JSON_OBJECT('k': pg_sleep(1) RETURNING json)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT JSON_OBJECT(pg_sleep(1)::text: 1)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT JSON_ARRAY(pg_read_file('/etc/passwd') FORMAT JSON)",
            "function_not_allowed",
        ),
        // A denied table in a scalar subquery inside.
        (
            A,
            "SELECT JSON_OBJECT('h': (SELECT password_hash FROM staff_users LIMIT 1) ABSENT ON NULL)",
            "table_denied",
        ),
    ]);
}

/// `JSON_ARRAY(SELECT …)`: the query is walked like any subquery.
#[test]
fn sqljson_array_query() {
    check(&[
        (
            A,
            "SELECT JSON_ARRAY(SELECT id FROM orders ORDER BY id RETURNING jsonb)",
            "allow",
        ),
        (
            A,
            "SELECT JSON_ARRAY(SELECT username FROM staff_users)",
            "table_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAY(SELECT card_number FROM payment_methods RETURNING jsonb)",
            "table_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAY(SELECT x FROM no_such_table RETURNING jsonb)",
            "table_not_allowed",
        ),
        (
            A,
            "SELECT JSON_ARRAY(SELECT email FROM customers)",
            "column_denied",
        ),
        (
            A,
            "SELECT JSON_ARRAY(SELECT pg_sleep(1))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT o.id, JSON_ARRAY(SELECT c.email FROM customers c WHERE c.id = o.customer_id) FROM orders o",
            "column_denied",
        ),
        // A write around it is still a write.
        (
            A,
            "WITH d AS (DELETE FROM orders RETURNING id) SELECT JSON_ARRAY(SELECT id FROM d)",
            "deny",
        ),
    ]);
}

/// PostgreSQL's grammar takes only a plain operand (a column, a constant, a
/// call, a parenthesised expression) after PASSING: a bare cast there is
/// not PostgreSQL, whatever sqlparser makes of it.
#[test]
fn sqlxml_passing_takes_plain_operands() {
    check(&[
        (
            A,
            "SELECT id FROM orders WHERE xmlexists('//a' PASSING BY REF notes::xml)",
            "parse_error",
        ),
        (
            A,
            "SELECT * FROM XMLTABLE('/r' PASSING (SELECT password_hash FROM staff_users LIMIT 1)::xml COLUMNS a text) x",
            "parse_error",
        ),
    ]);
}

/// Without SQL/JSON-only syntax `json_array(…)` is a constructor only from
/// PostgreSQL 16; before, it calls whatever `json_array` resolves to, so it
/// stays a call the allow-list decides. Quoted or qualified, it is a call.
#[test]
fn sqljson_plain_forms_stay_calls() {
    check(&[
        (A, "SELECT json_array(1, 2)", "function_not_allowed"),
        (
            A,
            "SELECT json_arrayagg(id) FROM orders",
            "function_not_allowed",
        ),
        // Quoted or qualified, constructor clauses are not PostgreSQL: the
        // referee refuses what sqlparser reads into them.
        (A, "SELECT \"json_array\"(1 RETURNING jsonb)", "parse_error"),
        (A, "SELECT public.json_objectagg(1 : 2)", "parse_error"),
        // PostgreSQL 17's SQL/JSON functions are not understood yet: before
        // 17 these names are ordinary (user-definable) functions. Denied.
        (A, "SELECT JSON_SCALAR(1)", "function_not_allowed"),
        (
            A,
            "SELECT JSON_SERIALIZE('{}' RETURNING bytea)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT JSON_QUERY(jsonb '{}', '$.a' WITH WRAPPER)",
            "deny",
        ),
        (
            A,
            "SELECT * FROM JSON_TABLE(jsonb '[]', '$[*]' COLUMNS (a int PATH '$')) t",
            "deny",
        ),
        // json_object(text[]) is an ordinary built-in function.
        (A, "SELECT json_object('{a,1}'::text[])", "allow"),
        (
            A,
            "SELECT json_object(ARRAY[email]) FROM customers",
            "column_denied",
        ),
    ]);
}

/// SQL/XML expressions (`XMLELEMENT`, `XMLFOREST`, `XMLPARSE`, …) call no
/// function; their element and attribute names are labels, not columns.
#[test]
fn sqlxml_expressions() {
    check(&[
        (
            A,
            "SELECT xmlelement(name email, xmlattributes(id AS email), xmlforest(status AS email, total_cents)) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT xmlpi(name email, 'x'), xmlconcat(xmlcomment('a'), '<b/>')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT xmlpi(name email, 'x'), xmlconcat('<a/>', '<b/>')",
            "allow",
        ),
        (
            A,
            "SELECT xmlparse(document '<a/>'), xmlparse(content status) FROM orders",
            "allow",
        ),
        (
            A,
            "SELECT xmlserialize(content xmlroot(xml '<a/>', version no value, standalone yes) AS text NO INDENT)",
            "allow",
        ),
        (
            A,
            "SELECT id FROM orders WHERE xmlexists('//a' PASSING BY REF (notes::xml) BY VALUE)",
            "allow",
        ),
        (
            A,
            "SELECT xml '<a/>' IS DOCUMENT, notes::xml IS NOT DOCUMENT FROM orders",
            "allow",
        ),
        // What they hide is still found: a denied column …
        (
            A,
            "SELECT xmlelement(name x, email) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlelement(name x, xmlattributes(email AS e)) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlforest(email AS e) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlpi(name x, email) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlroot(email::xml, version '1.0') FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlserialize(document email::xml AS text) FROM customers",
            "column_denied",
        ),
        (
            A,
            "SELECT id FROM customers WHERE xmlexists('//a' PASSING BY REF (email::xml))",
            "column_denied",
        ),
        (
            A,
            "SELECT xmlparse(content email) FROM customers",
            "column_denied",
        ),
        // … a denied function …
        (
            A,
            "SELECT xmlelement(name x, pg_sleep(1))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT xmlexists('//a' PASSING (pg_read_file('/etc/passwd')::xml))",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT xmlexists((pg_sleep(1)::text) PASSING xml '<a/>')",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT xmlroot(xml '<a/>', version pg_sleep(1)::text)",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT xmlconcat(query_to_xml('SELECT 1', true, false, ''))",
            "function_not_allowed",
        ),
        // … a denied table in a subquery.
        (
            A,
            "SELECT xmlelement(name x, xmlattributes((SELECT username FROM staff_users LIMIT 1) AS u))",
            "table_denied",
        ),
        (
            A,
            "SELECT xmlserialize(content (SELECT password_hash FROM staff_users LIMIT 1)::xml AS text)",
            "table_denied",
        ),
        (
            A,
            "SELECT xmlelement(name x, (SELECT max(a) FROM no_such_table))",
            "table_not_allowed",
        ),
        // Quoted or qualified, the name is an ordinary function.
        (A, "SELECT \"xmlconcat\"('<a/>')", "function_not_allowed"),
        (
            A,
            "SELECT pg_catalog.xmlconcat('<a/>')",
            "function_not_allowed",
        ),
    ]);
}

/// `XMLTABLE` in FROM, with or without LATERAL: its expressions are walked
/// in a lateral scope; its columns are its own.
#[test]
fn sqlxml_xmltable() {
    check(&[
        (
            A,
            "SELECT x.* FROM orders o, LATERAL XMLTABLE('/r' PASSING (o.notes::xml) COLUMNS a int PATH '@a', n FOR ORDINALITY) AS x",
            "allow",
        ),
        (
            A,
            "SELECT xmltable.* FROM orders, XMLTABLE('/r' PASSING (notes::xml) COLUMNS a text PATH 'a' DEFAULT status NOT NULL)",
            "allow",
        ),
        (
            A,
            "SELECT x.a FROM customers c, LATERAL XMLTABLE('/r' PASSING (c.email::xml) COLUMNS a text) x",
            "column_denied",
        ),
        (
            A,
            "SELECT x.a FROM customers c, XMLTABLE('/r' PASSING '<r/>' COLUMNS a text PATH c.email) x",
            "column_denied",
        ),
        (
            A,
            "SELECT * FROM XMLTABLE('/r' PASSING ((SELECT password_hash FROM staff_users LIMIT 1)::xml) COLUMNS a text) x",
            "table_denied",
        ),
        (
            A,
            "SELECT x.a FROM no_such_table t, XMLTABLE('/r' PASSING t.doc COLUMNS a text) x",
            "table_not_allowed",
        ),
        (
            A,
            "SELECT * FROM XMLTABLE('/r' PASSING '<r/>' COLUMNS a text DEFAULT pg_sleep(1)::text) x",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM XMLTABLE(XMLNAMESPACES(pg_sleep(1)::text AS z), '/z:r' PASSING '<r/>' COLUMNS a text) x",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT * FROM XMLTABLE(XMLNAMESPACES(DEFAULT pg_sleep(1)::text), '/r' PASSING '<r/>' COLUMNS a text) x",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT x.a FROM XMLTABLE(XMLNAMESPACES(DEFAULT 'http://x.y'), '/r' PASSING '<r/>' COLUMNS a text) x",
            "allow",
        ),
    ]);
}
