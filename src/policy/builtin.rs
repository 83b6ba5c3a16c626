//! Built-in lists: the functions any agent may call, the driver profile
//! (catalog reads and session settings mainstream drivers issue on their
//! own), and what is never allowed.
//!
//! The function list is an allow-list on purpose: a deny-list always
//! misses one. Nothing on it reads files, runs SQL from strings, opens
//! connections, changes settings, sleeps, signals backends, touches large
//! objects or sequences, or notifies.

/// Ordinary pg_catalog functions: arithmetic, strings, dates, aggregates,
/// window functions, JSON and arrays.
pub const FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "grouping",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // conditional and comparison
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "num_nulls",
    "num_nonnulls",
    // math
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "mod",
    "power",
    "pow",
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "log10",
    "sign",
    "div",
    "pi",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "width_bucket",
    "random",
    "gcd",
    "lcm",
    "factorial",
    "scale",
    "trim_scale",
    // strings
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "lower",
    "upper",
    "initcap",
    "substr",
    "substring",
    "left",
    "right",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "concat",
    "concat_ws",
    "replace",
    "translate",
    "reverse",
    "repeat",
    "split_part",
    "position",
    "strpos",
    "starts_with",
    "overlay",
    "ascii",
    "chr",
    "md5",
    "sha256",
    "sha512",
    "encode",
    "decode",
    "to_hex",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "format",
    "regexp_replace",
    "regexp_match",
    "regexp_matches",
    "regexp_split_to_array",
    "regexp_split_to_table",
    "regexp_like",
    "regexp_count",
    "string_to_array",
    "array_to_string",
    "normalize",
    "similar_escape",
    // dates and times
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "date_trunc",
    "date_part",
    "extract",
    "date_bin",
    "age",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "isfinite",
    "timezone",
    // generators and arrays
    "generate_series",
    "generate_subscripts",
    "unnest",
    "array_length",
    "array_lower",
    "array_upper",
    "array_ndims",
    "array_dims",
    "array_position",
    "array_positions",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_remove",
    "array_replace",
    "cardinality",
    "array_fill",
    // JSON
    "to_json",
    "to_jsonb",
    "row_to_json",
    "array_to_json",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "json_object",
    "jsonb_object",
    "json_extract_path",
    "jsonb_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    "json_array_length",
    "jsonb_array_length",
    "json_each",
    "jsonb_each",
    "json_each_text",
    "jsonb_each_text",
    "json_array_elements",
    "jsonb_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
    "json_typeof",
    "jsonb_typeof",
    "jsonb_strip_nulls",
    "json_strip_nulls",
    "jsonb_pretty",
    "jsonb_set",
    "jsonb_insert",
    "jsonb_path_query",
    "jsonb_path_query_array",
    "jsonb_path_query_first",
    "jsonb_path_exists",
    "jsonb_path_match",
    // identity of the session (no secrets)
    "current_user",
    "session_user",
    "user",
    "current_role",
    "current_schema",
    "current_database",
    "current_catalog",
    // function-style casts
    "date",
    "text",
    "numeric",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "bool",
    "varchar",
    "timestamp",
    "timestamptz",
    "interval",
    "time",
    "uuid",
    "json",
    "jsonb",
    // `ARRAY(subquery)`, which sqlparser reads as a call (a reserved word:
    // no function can have that name)
    "array",
    // uuids, misc
    "gen_random_uuid",
];

/// Functions mainstream drivers call while introspecting types and schemas.
pub const DRIVER_FUNCTIONS: &[&str] = &[
    "format_type",
    "pg_get_expr",
    "pg_get_indexdef",
    "pg_get_constraintdef",
    "pg_get_viewdef",
    "pg_get_serial_sequence",
    "pg_get_userbyid",
    "pg_table_is_visible",
    "pg_type_is_visible",
    "pg_function_is_visible",
    "obj_description",
    "col_description",
    "shobj_description",
    "current_schemas",
    "version",
    "has_table_privilege",
    "has_schema_privilege",
    "has_column_privilege",
    "pg_encoding_to_char",
    "array_in",
    "pg_get_function_result",
    "pg_get_function_arguments",
    "pg_relation_is_updatable",
    "pg_column_is_updatable",
    "pg_get_keywords",
    "pg_backend_pid",
    "pg_is_in_recovery",
    "pg_postmaster_start_time",
    "pg_has_role",
    "pg_index_column_has_property",
    "txid_current_if_assigned",
    "to_regtype",
    "to_regclass",
    "to_regproc",
    "to_regprocedure",
    "to_regnamespace",
    "to_regrole",
    "to_regtypemod",
    // judged as SHOW / SET of the named setting (see analyze)
    "current_setting",
    "set_config",
    // releases the session's own advisory locks (asyncpg's pool reset)
    "pg_advisory_unlock_all",
    "pg_partition_ancestors",
    "pg_partition_root",
    "pg_get_partkeydef",
    "pg_get_partition_constraintdef",
    "pg_get_triggerdef",
    "pg_get_ruledef",
    "pg_get_statisticsobjdef",
    "pg_get_statisticsobjdef_columns",
    "pg_get_function_identity_arguments",
    "pg_table_size",
    "pg_relation_size",
    "pg_total_relation_size",
    "pg_indexes_size",
    "pg_size_pretty",
    "pg_collation_is_visible",
    "pg_opclass_is_visible",
    "pg_relation_is_publishable",
    // psql's describe commands (\df+ \l+ \db \sf \do \dd \dF \dc)
    "pg_get_function_sqlbody",
    "pg_get_functiondef",
    "has_database_privilege",
    "pg_database_size",
    "pg_tablespace_location",
    "pg_operator_is_visible",
    "pg_opfamily_is_visible",
    "pg_conversion_is_visible",
    "pg_ts_config_is_visible",
];

/// Driver functions outside pg_catalog, as `schema.name`: pgjdbc's
/// getPrimaryKeys, getIndexInfo and getBestRowIdentifier expand index keys
/// with information_schema's own helper (an SQL function over
/// generate_series).
pub const DRIVER_QUALIFIED_FUNCTIONS: &[&str] = &["information_schema._pg_expandarray"];

/// pg_catalog and information_schema relations that drivers read on their
/// own (asyncpg, JDBC, psycopg, node-postgres, SQLAlchemy reflection). None
/// of them exposes credentials or other users' data.
pub const DRIVER_RELATIONS: &[&str] = &[
    "pg_catalog.pg_type",
    "pg_catalog.pg_namespace",
    "pg_catalog.pg_attribute",
    "pg_catalog.pg_class",
    "pg_catalog.pg_proc",
    "pg_catalog.pg_range",
    "pg_catalog.pg_enum",
    "pg_catalog.pg_index",
    "pg_catalog.pg_constraint",
    "pg_catalog.pg_description",
    "pg_catalog.pg_attrdef",
    "pg_catalog.pg_inherits",
    "pg_catalog.pg_am",
    "pg_catalog.pg_collation",
    "pg_catalog.pg_database",
    "pg_catalog.pg_tables",
    "pg_catalog.pg_views",
    "pg_catalog.pg_matviews",
    "pg_catalog.pg_indexes",
    "pg_catalog.pg_sequence",
    "pg_catalog.pg_depend",
    "pg_catalog.pg_trigger",
    "pg_catalog.pg_opclass",
    "pg_catalog.pg_operator",
    "pg_catalog.pg_language",
    "pg_catalog.pg_extension",
    "pg_catalog.pg_partitioned_table",
    "pg_catalog.pg_settings",
    "pg_catalog.pg_timezone_names",
    "pg_catalog.pg_cursors",
    "pg_catalog.pg_prepared_statements",
    "pg_catalog.pg_sequences",
    "pg_catalog.pg_statistic_ext",
    "pg_catalog.pg_publication",
    "pg_catalog.pg_publication_rel",
    "pg_catalog.pg_publication_namespace",
    "pg_catalog.pg_policy",
    "pg_catalog.pg_rewrite",
    "pg_catalog.pg_foreign_table",
    "pg_catalog.pg_tablespace",
    "pg_catalog.pg_roles",
    "pg_catalog.pg_auth_members",
    "pg_catalog.pg_event_trigger",
    "pg_catalog.pg_ts_config",
    "pg_catalog.pg_opfamily",
    "pg_catalog.pg_cast",
    "pg_catalog.pg_conversion",
    "information_schema.tables",
    "information_schema.columns",
    "information_schema.views",
    "information_schema.schemata",
    "information_schema.table_constraints",
    "information_schema.key_column_usage",
    "information_schema.constraint_column_usage",
    "information_schema.referential_constraints",
    "information_schema.check_constraints",
    "information_schema.routines",
    "information_schema.parameters",
    "information_schema.sequences",
    "information_schema.element_types",
];

/// Relations that expose credentials or server secrets: never readable,
/// whatever a rules file says.
pub const CREDENTIAL_RELATIONS: &[&str] = &[
    "pg_catalog.pg_authid",
    "pg_catalog.pg_shadow",
    "pg_catalog.pg_user_mapping",
    "pg_catalog.pg_user_mappings",
    "pg_catalog.pg_subscription",
    "pg_catalog.pg_hba_file_rules",
    "pg_catalog.pg_ident_file_mappings",
    "pg_catalog.pg_file_settings",
    "pg_catalog.pg_db_role_setting",
    "pg_catalog.pg_largeobject",
    "pg_catalog.pg_statistic",
    "pg_catalog.pg_statistic_ext_data",
    "information_schema.user_mapping_options",
    "information_schema.user_mappings",
];

/// What an agent can read instead of a credential relation (the HINT of a
/// `credential_catalog` denial).
pub fn credential_alternative(schema: &str, name: &str) -> &'static str {
    match (schema, name) {
        ("pg_catalog", "pg_authid") => "read pg_roles instead: the same roles, without passwords",
        ("pg_catalog", "pg_shadow") => {
            "read pg_user (or pg_roles) instead: the same users, without passwords"
        }
        ("pg_catalog", "pg_subscription") => {
            "pg_stat_subscription shows subscriptions without their connection strings"
        }
        ("pg_catalog", "pg_hba_file_rules" | "pg_ident_file_mappings" | "pg_file_settings") => {
            "SHOW or current_setting() gives a setting's value in effect; the server's configuration files are not readable"
        }
        ("pg_catalog", "pg_db_role_setting") => {
            "SHOW or current_setting() gives the settings in effect for this session"
        }
        ("pg_catalog", "pg_largeobject") => {
            "pg_largeobject_metadata lists large objects without their contents"
        }
        ("pg_catalog", "pg_statistic" | "pg_statistic_ext_data") => {
            "read pg_stats or pg_stats_ext instead: the statistics of the tables you may read"
        }
        _ => {
            "user mappings hold passwords for remote servers; pg_foreign_server lists the servers without them"
        }
    }
}

/// Session settings that are harmless to SET/RESET and that drivers send.
pub const SETTINGS: &[&str] = &[
    "application_name",
    "extra_float_digits",
    "datestyle",
    "timezone",
    "intervalstyle",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "client_min_messages",
    "bytea_output",
    "lc_monetary",
    "lc_numeric",
    "lc_time",
    "transaction_isolation",
    "default_transaction_isolation",
    "transaction_read_only",
    "transaction_deferrable",
    "default_transaction_deferrable",
    "jit",
    "work_mem",
    "enable_seqscan",
    "enable_indexscan",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_mergejoin",
    "enable_nestloop",
    "geqo",
    "join_collapse_limit",
    "from_collapse_limit",
    "max_parallel_workers_per_gather",
];

/// Settings that change how SQL is lexed or who the session is, or that
/// security relies on: never changeable, and a rules file may not allow
/// them. `all` is RESET ALL / DISCARD ALL.
pub const PINNED_SETTINGS: &[&str] = &[
    "search_path",
    "role",
    "session_authorization",
    "client_encoding",
    "standard_conforming_strings",
    "backslash_quote",
    "escape_string_warning",
    "default_transaction_read_only",
    "session_replication_role",
    "row_security",
    "session_preload_libraries",
    "local_preload_libraries",
    "temp_tablespaces",
];

/// PostgreSQL's system columns: row metadata of every table (its oid, the
/// row's physical location, the transactions and commands that wrote it).
/// They reveal no user data, so no column rule covers them; reading them
/// needs only the table. A view has none, and may name its own columns so.
pub const SYSTEM_COLUMNS: &[&str] = &["tableoid", "ctid", "xmin", "xmax", "cmin", "cmax"];

/// Whether `schema.name` is in `list` (entries are `schema.name`), without
/// allocating.
pub fn listed(list: &[&str], schema: &str, name: &str) -> bool {
    list.iter().any(|e| {
        e.len() == schema.len() + 1 + name.len()
            && e.starts_with(schema)
            && e.as_bytes()[schema.len()] == b'.'
            && e.ends_with(name)
    })
}

pub fn is_builtin_function(name: &str) -> bool {
    FUNCTIONS.contains(&name)
}

pub fn is_driver_function(name: &str) -> bool {
    DRIVER_FUNCTIONS.contains(&name)
}

/// Whether `schema.name` is a driver function outside pg_catalog.
pub fn is_driver_qualified_function(schema: &str, name: &str) -> bool {
    listed(DRIVER_QUALIFIED_FUNCTIONS, schema, name)
}

pub fn is_pinned_setting(name: &str) -> bool {
    PINNED_SETTINGS.contains(&name) || name.starts_with("actgate.")
}

/// Pinned settings whose only change an agent may make is a narrowing one
/// (see [`narrows`]). RESETting them returns to the session's start
/// value, which the agent can never have widened: allowed too.
pub const NARROWABLE_SETTINGS: &[&str] = &["default_transaction_read_only"];

/// Whether `SET name = value` can only make the session more restrictive:
/// today, `default_transaction_read_only` set to a value PostgreSQL reads
/// as true.
pub fn narrows(name: &str, value: &str) -> bool {
    NARROWABLE_SETTINGS.contains(&name) && parse_bool(value) == Some(true)
}

/// PostgreSQL's `parse_bool`: `true`, `yes`, `false`, `no` and unique
/// prefixes of them, `on`, `off` (at least two letters), `1`, `0`, in any
/// case, and nothing else (no trimming).
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let prefix_of = |word: &str| !v.is_empty() && word.starts_with(v.as_str());
    match v.as_bytes().first()? {
        b't' if prefix_of("true") => Some(true),
        b'f' if prefix_of("false") => Some(false),
        b'y' if prefix_of("yes") => Some(true),
        b'n' if prefix_of("no") => Some(false),
        b'o' if v == "on" => Some(true),
        b'o' if v.len() >= 2 && prefix_of("off") => Some(false),
        b'1' if v.len() == 1 => Some(true),
        b'0' if v.len() == 1 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
#[path = "builtin_tests.rs"]
mod tests;
