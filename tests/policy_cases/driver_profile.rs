//! Driver introspection and housekeeping under the driver profile.

use super::*;

/// Driver introspection and housekeeping (the driver profile).
#[test]
fn driver_profile() {
    check(&[
        // asyncpg
        (
            A,
            "SELECT t.oid, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1",
            "allow",
        ),
        (
            A,
            "SELECT t.oid, t.typelem, t.typname, n.nspname, t.typtype, t.typbasetype FROM pg_catalog.pg_type AS t INNER JOIN pg_catalog.pg_namespace AS n ON (n.oid = t.typnamespace) WHERE t.oid = ANY($1::oid[])",
            "allow",
        ),
        // psycopg
        (A, "SELECT typname FROM pg_type WHERE oid = 25", "allow"),
        (
            A,
            "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore'",
            "allow",
        ),
        // SQLAlchemy
        (A, "select current_schema()", "allow"),
        (A, "show standard_conforming_strings", "allow"),
        (A, "SELECT pg_catalog.version()", "allow"),
        (A, "select version()", "allow"),
        (
            A,
            "SELECT CAST('test plain returns' AS VARCHAR(60)) AS anon_1",
            "allow",
        ),
        (
            A,
            "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace WHERE pg_catalog.pg_class.relname = $1 AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) AND pg_catalog.pg_namespace.nspname != 'pg_catalog'",
            "allow",
        ),
        (
            A,
            "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relname = $1",
            "allow",
        ),
        // JDBC
        (
            A,
            "SELECT typinput = 'pg_catalog.array_in'::regproc AS is_array, typtype, typname, pg_type.oid FROM pg_catalog.pg_type LEFT JOIN (SELECT ns.oid AS nspoid, ns.nspname, r.r FROM pg_namespace AS ns JOIN (SELECT s.r, (current_schemas(false))[s.r] AS nspname FROM generate_series(1, array_upper(current_schemas(false), 1)) AS s(r)) AS r USING (nspname)) AS sp ON sp.nspoid = typnamespace WHERE pg_type.oid = $1 ORDER BY sp.r, pg_type.oid DESC",
            "allow",
        ),
        (A, "SET extra_float_digits = 3", "allow"),
        (
            A,
            "SET application_name = 'PostgreSQL JDBC Driver'",
            "allow",
        ),
        // information_schema reflection
        (
            A,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
            "allow",
        ),
        (
            A,
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders'",
            "allow",
        ),
        (
            A,
            "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            "allow",
        ),
        (A, "SELECT pg_backend_pid()", "allow"),
        (
            A,
            "SELECT current_database(), current_user, session_user",
            "allow",
        ),
        (S, "SELECT typname FROM pg_type WHERE oid = 25", "allow"),
        (S, "BEGIN ISOLATION LEVEL READ COMMITTED", "allow"),
        // The catalog stays read-only, and credentials stay out.
        (
            A,
            "UPDATE pg_catalog.pg_type SET typname = 'x' WHERE oid = 25",
            "statement_class_denied|catalog_write",
        ),
        (
            T,
            "UPDATE pg_catalog.pg_type SET typname = 'x' WHERE oid = 25",
            "catalog_write",
        ),
        (T, "DELETE FROM information_schema.tables", "catalog_write"),
        (A, "SELECT * FROM pg_stat_activity", "catalog_denied"),
        (
            A,
            "SELECT query FROM pg_catalog.pg_stat_activity",
            "catalog_denied",
        ),
        (
            A,
            "SELECT usename, passwd FROM pg_shadow",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_user_mapping", "credential_catalog"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_largeobject",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_statistic", "credential_catalog"),
        (
            A,
            "SELECT * FROM information_schema.user_mapping_options",
            "credential_catalog",
        ),
        (
            A,
            "SELECT t.typname FROM pg_type t JOIN pg_authid a ON a.oid = t.typowner",
            "credential_catalog",
        ),
        (T, "SELECT * FROM pg_authid", "credential_catalog"),
    ]);
}

/// Catalog reads of psql's describe commands (`\df+ \l+ \db \sf \do \dy
/// \dF \dd \dC \dc \dconfig \dL`, the SQL psql 15 sends, from `psql -E`)
/// and pgjdbc's DatabaseMetaData (42.5: getPrimaryKeys, getIndexInfo,
/// getBestRowIdentifier) under the driver profile. Credential catalogs
/// stay refused.
#[test]
fn driver_profile_psql_and_jdbc() {
    check(&[
        // \df+
        (
            A,
            "SELECT n.nspname as \"Schema\", p.proname as \"Name\", pg_catalog.pg_get_function_result(p.oid) as \"Result data type\", pg_catalog.pg_get_function_arguments(p.oid) as \"Argument data types\", CASE p.prokind WHEN 'a' THEN 'agg' WHEN 'w' THEN 'window' WHEN 'p' THEN 'proc' ELSE 'func' END as \"Type\", CASE WHEN p.provolatile = 'i' THEN 'immutable' WHEN p.provolatile = 's' THEN 'stable' WHEN p.provolatile = 'v' THEN 'volatile' END as \"Volatility\", CASE WHEN p.proparallel = 'r' THEN 'restricted' WHEN p.proparallel = 's' THEN 'safe' WHEN p.proparallel = 'u' THEN 'unsafe' END as \"Parallel\", pg_catalog.pg_get_userbyid(p.proowner) as \"Owner\", CASE WHEN prosecdef THEN 'definer' ELSE 'invoker' END AS \"Security\", pg_catalog.array_to_string(p.proacl, E'\\n') AS \"Access privileges\", l.lanname as \"Language\", COALESCE(pg_catalog.pg_get_function_sqlbody(p.oid), p.prosrc) as \"Source code\", pg_catalog.obj_description(p.oid, 'pg_proc') as \"Description\" FROM pg_catalog.pg_proc p LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang WHERE pg_catalog.pg_function_is_visible(p.oid) AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' ORDER BY 1, 2, 4",
            "allow",
        ),
        // \l+
        (
            A,
            "SELECT d.datname as \"Name\", pg_catalog.pg_get_userbyid(d.datdba) as \"Owner\", pg_catalog.pg_encoding_to_char(d.encoding) as \"Encoding\", d.datcollate as \"Collate\", d.datctype as \"Ctype\", d.daticulocale as \"ICU Locale\", CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS \"Locale Provider\", pg_catalog.array_to_string(d.datacl, E'\\n') AS \"Access privileges\", CASE WHEN pg_catalog.has_database_privilege(d.datname, 'CONNECT') THEN pg_catalog.pg_size_pretty(pg_catalog.pg_database_size(d.datname)) ELSE 'No Access' END as \"Size\", t.spcname as \"Tablespace\", pg_catalog.shobj_description(d.oid, 'pg_database') as \"Description\" FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t on d.dattablespace = t.oid ORDER BY 1",
            "allow",
        ),
        // \db
        (
            A,
            "SELECT spcname AS \"Name\", pg_catalog.pg_get_userbyid(spcowner) AS \"Owner\", pg_catalog.pg_tablespace_location(oid) AS \"Location\" FROM pg_catalog.pg_tablespace ORDER BY 1",
            "allow",
        ),
        // \sf
        (
            A,
            "SELECT 'lower(text)'::pg_catalog.regprocedure::pg_catalog.oid",
            "allow",
        ),
        (A, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        // \do
        (
            A,
            "SELECT n.nspname as \"Schema\", o.oprname AS \"Name\", CASE WHEN o.oprkind='l' THEN NULL ELSE pg_catalog.format_type(o.oprleft, NULL) END AS \"Left arg type\", CASE WHEN o.oprkind='r' THEN NULL ELSE pg_catalog.format_type(o.oprright, NULL) END AS \"Right arg type\", pg_catalog.format_type(o.oprresult, NULL) AS \"Result type\", coalesce(pg_catalog.obj_description(o.oid, 'pg_operator'), pg_catalog.obj_description(o.oprcode, 'pg_proc')) AS \"Description\" FROM pg_catalog.pg_operator o LEFT JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_operator_is_visible(o.oid) ORDER BY 1, 2, 3, 4",
            "allow",
        ),
        // \dy
        (
            A,
            "SELECT evtname as \"Name\", evtevent as \"Event\", pg_catalog.pg_get_userbyid(e.evtowner) as \"Owner\", case evtenabled when 'O' then 'enabled'  when 'R' then 'replica'  when 'A' then 'always'  when 'D' then 'disabled' end as \"Enabled\", e.evtfoid::pg_catalog.regproc as \"Function\", pg_catalog.array_to_string(array(select x from pg_catalog.unnest(evttags) as t(x)), ', ') as \"Tags\" FROM pg_catalog.pg_event_trigger e ORDER BY 1",
            "allow",
        ),
        // \dF
        (
            A,
            "SELECT n.nspname as \"Schema\", c.cfgname as \"Name\", pg_catalog.obj_description(c.oid, 'pg_ts_config') as \"Description\" FROM pg_catalog.pg_ts_config c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace WHERE pg_catalog.pg_ts_config_is_visible(c.oid) ORDER BY 1, 2",
            "allow",
        ),
        // \dd (also reads tableoid)
        (
            A,
            "SELECT DISTINCT tt.nspname AS \"Schema\", tt.name AS \"Name\", tt.object AS \"Object\", d.description AS \"Description\" FROM ( SELECT pgc.oid as oid, pgc.tableoid AS tableoid, n.nspname as nspname, CAST(pgc.conname AS pg_catalog.text) as name, CAST('table constraint' AS pg_catalog.text) as object FROM pg_catalog.pg_constraint pgc JOIN pg_catalog.pg_class c ON c.oid = pgc.conrelid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) UNION ALL SELECT pgc.oid as oid, pgc.tableoid AS tableoid, n.nspname as nspname, CAST(pgc.conname AS pg_catalog.text) as name, CAST('domain constraint' AS pg_catalog.text) as object FROM pg_catalog.pg_constraint pgc JOIN pg_catalog.pg_type t ON t.oid = pgc.contypid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_type_is_visible(t.oid) UNION ALL SELECT o.oid as oid, o.tableoid as tableoid, n.nspname as nspname, CAST(o.opcname AS pg_catalog.text) as name, CAST('operator class' AS pg_catalog.text) as object FROM pg_catalog.pg_opclass o JOIN pg_catalog.pg_am am ON o.opcmethod = am.oid JOIN pg_catalog.pg_namespace n ON n.oid = o.opcnamespace AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_opclass_is_visible(o.oid) UNION ALL SELECT opf.oid as oid, opf.tableoid as tableoid, n.nspname as nspname, CAST(opf.opfname AS pg_catalog.text) AS name, CAST('operator family' AS pg_catalog.text) as object FROM pg_catalog.pg_opfamily opf JOIN pg_catalog.pg_am am ON opf.opfmethod = am.oid JOIN pg_catalog.pg_namespace n ON opf.opfnamespace = n.oid AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_opfamily_is_visible(opf.oid) UNION ALL SELECT r.oid as oid, r.tableoid as tableoid, n.nspname as nspname, CAST(r.rulename AS pg_catalog.text) as name, CAST('rule' AS pg_catalog.text) as object FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename != '_RETURN' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) UNION ALL SELECT t.oid as oid, t.tableoid as tableoid, n.nspname as nspname, CAST(t.tgname AS pg_catalog.text) as name, CAST('trigger' AS pg_catalog.text) as object FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ) AS tt JOIN pg_catalog.pg_description d ON (tt.oid = d.objoid AND tt.tableoid = d.classoid AND d.objsubid = 0) ORDER BY 1, 2, 3",
            "allow",
        ),
        // \dC
        (
            A,
            "SELECT pg_catalog.format_type(castsource, NULL) AS \"Source type\", pg_catalog.format_type(casttarget, NULL) AS \"Target type\", CASE WHEN c.castmethod = 'b' THEN '(binary coercible)' WHEN c.castmethod = 'i' THEN '(with inout)' ELSE p.proname END AS \"Function\", CASE WHEN c.castcontext = 'e' THEN 'no' WHEN c.castcontext = 'a' THEN 'in assignment' ELSE 'yes' END AS \"Implicit?\" FROM pg_catalog.pg_cast c LEFT JOIN pg_catalog.pg_proc p ON c.castfunc = p.oid LEFT JOIN pg_catalog.pg_type ts ON c.castsource = ts.oid LEFT JOIN pg_catalog.pg_namespace ns ON ns.oid = ts.typnamespace LEFT JOIN pg_catalog.pg_type tt ON c.casttarget = tt.oid LEFT JOIN pg_catalog.pg_namespace nt ON nt.oid = tt.typnamespace WHERE ( (true  AND pg_catalog.pg_type_is_visible(ts.oid) ) OR (true  AND pg_catalog.pg_type_is_visible(tt.oid) ) ) ORDER BY 1, 2",
            "allow",
        ),
        // \dc
        (
            A,
            "SELECT n.nspname AS \"Schema\", c.conname AS \"Name\", pg_catalog.pg_encoding_to_char(c.conforencoding) AS \"Source\", pg_catalog.pg_encoding_to_char(c.contoencoding) AS \"Destination\", CASE WHEN c.condefault THEN 'yes' ELSE 'no' END AS \"Default?\" FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace WHERE true AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' AND pg_catalog.pg_conversion_is_visible(c.oid) ORDER BY 1, 2",
            "allow",
        ),
        // \dconfig: current_setting of the names pg_settings lists reads
        // no more than pg_settings itself.
        (
            A,
            "SELECT s.name AS \"Parameter\", pg_catalog.current_setting(s.name) AS \"Value\" FROM pg_catalog.pg_settings s WHERE s.source <> 'default' AND s.setting IS DISTINCT FROM s.boot_val ORDER BY 1",
            "allow",
        ),
        // pgjdbc 42.5 getPrimaryKeys
        (
            A,
            "SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, result.KEY_SEQ, result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME, (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME, information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid) JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND ct.relname = E'orders' AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x  ORDER BY result.table_name, result.pk_name, result.key_seq",
            "allow",
        ),
        // pgjdbc 42.5 getIndexInfo
        (
            A,
            "SELECT tmp.TABLE_CAT, tmp.TABLE_SCHEM, tmp.TABLE_NAME, tmp.NON_UNIQUE, tmp.INDEX_QUALIFIER, tmp.INDEX_NAME, tmp.TYPE, tmp.ORDINAL_POSITION, trim(both '\"' from pg_catalog.pg_get_indexdef(tmp.CI_OID, tmp.ORDINAL_POSITION, false)) AS COLUMN_NAME, CASE tmp.AM_NAME WHEN 'btree' THEN CASE tmp.I_INDOPTION[tmp.ORDINAL_POSITION - 1] & 1::smallint WHEN 1 THEN 'D' ELSE 'A' END ELSE NULL END AS ASC_OR_DESC, tmp.CARDINALITY, tmp.PAGES, tmp.FILTER_CONDITION FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, ct.relname AS TABLE_NAME, NOT i.indisunique AS NON_UNIQUE, NULL AS INDEX_QUALIFIER, ci.relname AS INDEX_NAME, CASE i.indisclustered WHEN true THEN 1 ELSE CASE am.amname WHEN 'hash' THEN 2 ELSE 3 END END AS TYPE, (information_schema._pg_expandarray(i.indkey)).n AS ORDINAL_POSITION, ci.reltuples AS CARDINALITY, ci.relpages AS PAGES, pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS FILTER_CONDITION, ci.oid AS CI_OID, i.indoption AS I_INDOPTION, am.amname AS AM_NAME FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN pg_catalog.pg_index i ON (ct.oid = i.indrelid) JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) JOIN pg_catalog.pg_am am ON (ci.relam = am.oid) WHERE true  AND n.nspname = E'public' AND ct.relname = E'orders') AS tmp ORDER BY NON_UNIQUE, TYPE, INDEX_NAME, ORDINAL_POSITION",
            "allow",
        ),
        // pgjdbc 42.5 getBestRowIdentifier
        (
            A,
            "SELECT a.attname, a.atttypid, atttypmod FROM pg_catalog.pg_class ct JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid) JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid) JOIN (SELECT i.indexrelid, i.indrelid, i.indisprimary, information_schema._pg_expandarray(i.indkey) AS keys FROM pg_catalog.pg_index i) i ON (a.attnum = (i.keys).x AND a.attrelid = i.indrelid) WHERE true  AND n.nspname = E'public' AND ct.relname = E'orders' AND i.indisprimary  ORDER BY a.attnum",
            "allow",
        ),
        // Each new name on its own.
        (A, "SELECT pg_get_function_sqlbody(870)", "allow"),
        (
            A,
            "SELECT has_database_privilege('shop', 'CONNECT')",
            "allow",
        ),
        (A, "SELECT pg_database_size('shop')", "allow"),
        (A, "SELECT pg_tablespace_location(1663)", "allow"),
        (A, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        (A, "SELECT pg_operator_is_visible(15)", "allow"),
        (A, "SELECT pg_opfamily_is_visible(1976)", "allow"),
        (A, "SELECT pg_conversion_is_visible(1)", "allow"),
        (A, "SELECT pg_ts_config_is_visible(3748)", "allow"),
        (
            A,
            "SELECT * FROM information_schema._pg_expandarray(ARRAY[1, 2])",
            "allow",
        ),
        (A, "SELECT evtname FROM pg_event_trigger", "allow"),
        (A, "SELECT cfgname FROM pg_catalog.pg_ts_config", "allow"),
        (A, "SELECT opfname FROM pg_opfamily", "allow"),
        (A, "SELECT castsource FROM pg_cast", "allow"),
        (A, "SELECT conname FROM pg_conversion", "allow"),
        // Only the profile's names: a lookalike in another schema is not it.
        (
            A,
            "SELECT public._pg_expandarray(ARRAY[1])",
            "function_not_allowed",
        ),
        (
            A,
            "SELECT pg_catalog._pg_expandarray(ARRAY[1])",
            "function_not_allowed",
        ),
        // current_setting of a computed name stays refused: it could name a
        // custom setting that pg_settings does not list.
        (
            A,
            "SELECT current_setting(s.name) FROM (SELECT 'app.jwt_secret' AS name) s",
            "deny",
        ),
        (
            A,
            "WITH pg_settings AS (SELECT 'app.jwt_secret' AS name) SELECT current_setting(s.name) FROM pg_settings s",
            "deny",
        ),
        (
            A,
            "SELECT current_setting(s.name || '') FROM pg_catalog.pg_settings s",
            "deny",
        ),
        // A column alias could rename another column of pg_settings to name.
        (
            A,
            "SELECT current_setting(s.name) FROM pg_catalog.pg_settings s(n, name)",
            "deny",
        ),
        (
            A,
            "SELECT current_setting(s.setting) FROM pg_catalog.pg_settings s",
            "deny",
        ),
        (
            A,
            "SELECT set_config(s.name, 'x', false) FROM pg_catalog.pg_settings s",
            "deny",
        ),
        // Another agent with the driver profile gets the same.
        (T, "SELECT pg_catalog.pg_get_functiondef(870)", "allow"),
        // Credential catalogs stay refused.
        (A, "SELECT * FROM pg_authid", "credential_catalog"),
        (
            A,
            "SELECT a.ctid FROM pg_catalog.pg_authid a",
            "credential_catalog",
        ),
        (
            A,
            "SELECT * FROM pg_catalog.pg_shadow",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_user_mapping", "credential_catalog"),
        (
            A,
            "SELECT * FROM pg_catalog.pg_user_mappings",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_db_role_setting", "credential_catalog"),
        (
            A,
            "SELECT d.datname FROM pg_database d JOIN pg_db_role_setting s ON s.setdatabase = d.oid",
            "credential_catalog",
        ),
        (A, "SELECT * FROM pg_stat_activity", "catalog_denied"),
    ]);
}
