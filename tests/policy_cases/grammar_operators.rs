//! Operator, aggregate, type and comment statements read since issue 14's
//! operators group: each is understood, and refused where it is not the
//! agent's.

use super::*;

/// `grantor` may do DDL on `orders` only (and read it).
const G: &str = "grantor";

/// Operators named by symbol sequences the tokenizer cuts in several
/// tokens (`===`, `@#@`, `!=-`): schema DDL, refused to a read-only agent;
/// the function an operator runs is judged.
#[test]
fn operator_names_are_read() {
    check(&[
        (
            T,
            "CREATE OPERATOR @+@ ( leftarg = int4, rightarg = int4, procedure = pg_sleep )",
            "allow",
        ),
        (
            G,
            "CREATE OPERATOR @+@ ( leftarg = int4, rightarg = int4, procedure = int4pl )",
            "function_not_allowed",
        ),
        (
            T,
            "create operator === (leftarg = int4, rightarg = int4, procedure = pg_sleep, commutator = ===, negator = !==, hashes)",
            "allow",
        ),
        (
            G,
            "ALTER OPERATOR @+@(int4, int4) SET SCHEMA alt_nsp2",
            "allow",
        ),
        (
            G,
            "ALTER OPERATOR === (boolean, boolean) SET (RESTRICT = NONE, JOIN = NONE)",
            "allow",
        ),
        (G, "DROP OPERATOR IF EXISTS @#@ (int, int)", "allow"),
        (G, "DROP OPERATOR |>(bigint, bigint)", "allow"),
        (
            G,
            "create operator class c for type int4 using hash as operator 1 ===, function 2 part_hashint4_noop(int4, int8)",
            "allow",
        ),
        (
            G,
            "CREATE OPERATOR @#@ (rightarg = int8, procedure = pg_read_file)",
            "function_not_allowed",
        ),
        (
            A,
            "CREATE OPERATOR @+@ ( leftarg = int4, rightarg = int4, procedure = int4pl )",
            "statement_class_denied",
        ),
        (
            A,
            "DROP OPERATOR ===(bigint, bigint)",
            "statement_class_denied",
        ),
        (A, "ALTER OPERATOR @+@(int4, int4) OWNER TO someone", "deny"),
        (
            T,
            "CREATE OPERATOR =- (procedure = f, leftarg = int)",
            "parse_error",
        ),
        // A tokenizer fix the names needed: `&>` no longer swallows what
        // follows it, so the table after it is seen.
        (A, "SELECT 1 &>(SELECT count(*) FROM secrets)", "deny"),
    ]);
}

/// `ALTER TYPE` on a composite type's attributes: DDL on the type, which
/// PostgreSQL names as a relation (a rule covering the name decides);
/// `SET SCHEMA` is schema DDL.
#[test]
fn alter_type_attributes_are_read() {
    check(&[
        (
            T,
            "ALTER TYPE test_type DROP ATTRIBUTE a, ADD ATTRIBUTE d boolean",
            "allow",
        ),
        (
            T,
            "ALTER TYPE test_type ALTER ATTRIBUTE b SET DATA TYPE varchar COLLATE \"C\" CASCADE",
            "allow",
        ),
        (
            T,
            "ALTER TYPE test_type DROP ATTRIBUTE IF EXISTS c",
            "allow",
        ),
        (
            T,
            "ALTER TYPE test_type2 RENAME ATTRIBUTE a TO aa CASCADE",
            "allow",
        ),
        (T, "alter type alter1.ctype set schema alter1", "allow"),
        // DDL on `orders` only: another type's name is refused.
        (G, "ALTER TYPE orders ADD ATTRIBUTE c text", "allow"),
        (
            G,
            "ALTER TYPE comptype ADD ATTRIBUTE c text",
            "table_not_allowed",
        ),
        (
            G,
            "alter type comptype drop attribute r",
            "table_not_allowed",
        ),
        (
            A,
            "alter type comptype alter attribute r type bigint",
            "deny",
        ),
        (T, "ALTER TYPE t ADD ATTRIBUTE", "parse_error"),
    ]);
}

/// `COMMENT ON` aggregates, operators and routines with their argument
/// types, a domain's constraint (schema DDL, no table); objects outside
/// any schema (servers, wrappers, event triggers, large objects,
/// publications, subscriptions) are cluster objects, refused.
#[test]
fn comment_on_signatures_is_read() {
    check(&[
        (G, "COMMENT ON AGGREGATE newcnt (*) IS 'x'", "allow"),
        (G, "COMMENT ON AGGREGATE newavg (int4) IS NULL", "allow"),
        (G, "COMMENT ON OPERATOR ###### (NONE, int4) IS 'x'", "allow"),
        (G, "COMMENT ON FUNCTION f(bpchar, integer) IS 'x'", "allow"),
        (G, "COMMENT ON CONSTRAINT c ON DOMAIN d IS 'x'", "allow"),
        // `ON table` is still DDL on the table.
        (G, "COMMENT ON CONSTRAINT c ON orders IS 'x'", "allow"),
        (
            G,
            "COMMENT ON CONSTRAINT c ON secrets IS 'x'",
            "table_not_allowed",
        ),
        (
            A,
            "COMMENT ON AGGREGATE newcnt (*) IS 'x'",
            "statement_class_denied",
        ),
        (
            T,
            "comment on event trigger regress_event_trigger is 'x'",
            "cluster_object_denied",
        ),
        (T, "COMMENT ON SERVER s1 IS 'x'", "cluster_object_denied"),
        (
            T,
            "COMMENT ON FOREIGN DATA WRAPPER dummy IS 'x'",
            "cluster_object_denied",
        ),
        (
            T,
            "COMMENT ON LARGE OBJECT 42 IS 'x'",
            "cluster_object_denied",
        ),
        (
            T,
            "COMMENT ON PUBLICATION p IS 'x'",
            "cluster_object_denied",
        ),
        (
            T,
            "COMMENT ON SUBSCRIPTION s IS 'x'",
            "cluster_object_denied",
        ),
        (T, "COMMENT ON AGGREGATE a IS 'x'", "parse_error"),
    ]);
}

/// `CREATE AGGREGATE` in PostgreSQL's old spellings (`sfunc1`, `stype1`,
/// `initcond1`, a negative `initcond`) and with `finalfunc_extra = true`:
/// schema DDL, refused to a read-only agent.
#[test]
fn create_aggregate_old_names_are_read() {
    check(&[
        (
            G,
            "CREATE AGGREGATE alt_agg2 (sfunc1 = int4mi, basetype = int4, stype1 = int4, initcond = -100)",
            "allow",
        ),
        (
            G,
            "CREATE AGGREGATE newavg (sfunc = int4_avg_accum, basetype = int4, stype = _int8, finalfunc = int8_avg, initcond1 = '{0,0}')",
            "allow",
        ),
        (
            G,
            "create aggregate p(float8 ORDER BY anyelement) (stype = internal, sfunc = ordered_set_transition, finalfunc = percentile_disc_final, finalfunc_extra = true, finalfunc_modify = read_write)",
            "allow",
        ),
        (
            A,
            "CREATE AGGREGATE newsum (sfunc1 = int4pl, basetype = int4, stype1 = int4, initcond1 = '0')",
            "statement_class_denied",
        ),
        (
            T,
            "create aggregate x(int) (stype = int, sfunc = f, finalfunc_extra = false)",
            "parse_error",
        ),
    ]);
}

/// PostgreSQL's role statements sqlparser does not read (`CREATE USER`
/// with role options, `ALTER GROUP`), read by hand: role management,
/// allowed to `role-admin` only.
#[test]
fn role_statements_are_read() {
    const R: &str = "role-admin";
    check(&[
        (R, "CREATE USER regress_rls_alice NOLOGIN", "allow"),
        (R, "CREATE USER u WITH NOCREATEDB NOCREATEROLE", "allow"),
        (R, "CREATE USER u1 IN ROLE u3", "allow"),
        (R, "CREATE ROLE r ENCRYPTED PASSWORD 'foo'", "allow"),
        (R, "CREATE ROLE regress_noiseword SYSID 12345", "allow"),
        (R, "CREATE ROLE r CONNECTION LIMIT -1", "allow"),
        (R, "ALTER GROUP g ADD USER u1, u2", "allow"),
        (R, "ALTER GROUP g DROP USER u", "allow"),
        (G, "CREATE USER u NOLOGIN", "role_management_denied"),
        (T, "ALTER GROUP g ADD USER u", "role_management_denied"),
        (R, "CREATE USER u VALID UNTIL now()", "parse_error"),
        (R, "CREATE ROLE r PASSWORD (SELECT 'x')", "parse_error"),
    ]);
}

/// Objects of the whole database or cluster, read by hand and refused
/// for everyone: security labels, foreign schemas imported from a server,
/// languages, transforms, conversions (whose function runs on every
/// client encoding conversion), `DROP DATABASE … (FORCE)`.
#[test]
fn cluster_statements_are_refused() {
    const R: &str = "role-admin";
    let refused = "cluster_object_denied";
    check(&[
        (T, "SECURITY LABEL ON TABLE orders IS 'classified'", refused),
        (
            T,
            "SECURITY LABEL FOR 'dummy' ON ROLE u IS 'classified'",
            refused,
        ),
        (
            T,
            "IMPORT FOREIGN SCHEMA s1 FROM SERVER s9 INTO public",
            refused,
        ),
        (
            T,
            "IMPORT FOREIGN SCHEMA s1 EXCEPT (t1, t2) FROM SERVER s9 INTO public OPTIONS (option1 'value1')",
            refused,
        ),
        (
            T,
            "CREATE LANGUAGE alt_lang1 HANDLER plpgsql_call_handler",
            refused,
        ),
        (T, "CREATE TRUSTED PROCEDURAL LANGUAGE l HANDLER h", refused),
        (
            T,
            "CREATE TRANSFORM FOR int LANGUAGE SQL (FROM SQL WITH FUNCTION f(internal), TO SQL WITH FUNCTION g(internal))",
            refused,
        ),
        (
            T,
            "CREATE CONVERSION myconv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8",
            refused,
        ),
        (
            T,
            "CREATE DEFAULT CONVERSION public.mydef FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8",
            refused,
        ),
        (T, "drop database test_database_exists (force)", refused),
        (R, "drop database if exists d with (force)", refused),
        (T, "SECURITY LABEL", "parse_error"),
    ]);
}

/// `ALTER TEXT SEARCH CONFIGURATION … {ADD | ALTER | DROP} MAPPING` and
/// `GRANT`/`REVOKE` on a type or domain: schema objects, read by hand.
#[test]
fn mappings_and_type_grants_are_read() {
    check(&[
        (
            G,
            "ALTER TEXT SEARCH CONFIGURATION c ALTER MAPPING FOR word, asciiword WITH ispell, english_stem",
            "allow",
        ),
        (
            G,
            "ALTER TEXT SEARCH CONFIGURATION c ALTER MAPPING REPLACE ispell WITH hunspell",
            "allow",
        ),
        (
            A,
            "ALTER TEXT SEARCH CONFIGURATION c ALTER MAPPING REPLACE ispell WITH hunspell",
            "statement_class_denied",
        ),
        (G, "GRANT USAGE ON TYPE priv_testtype1 TO u2", "allow"),
        (G, "REVOKE USAGE on DOMAIN d FROM PUBLIC", "allow"),
        (G, "REVOKE ALL ON TYPE s.t FROM PUBLIC", "allow"),
        (A, "GRANT USAGE ON TYPE t TO u2", "statement_class_denied"),
        (
            G,
            "GRANT USAGE ON TYPE t TO u2; SELECT * FROM secrets",
            "deny",
        ),
        (G, "GRANT USAGE ON TYPE (SELECT 1) TO u", "parse_error"),
    ]);
}
