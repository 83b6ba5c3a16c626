//! The Python half of the client matrix (issue 12): each mainstream Python
//! client and agent framework, with its defaults, through actgate under the
//! demo rules, as the secret agent `analytics` and the token agent
//! `support-bot` (customer 42). One script per client in tests/drivers/
//! (one interpreter start each) does what the client normally does:
//! introspection on connect, simple and parameterised queries, statements
//! reused past the driver's prepare threshold, transactions, an error then
//! rollback, refusals (42501 with message, DETAIL and HINT surfaced through
//! the driver's exception, the connection still usable), cursors or
//! streaming, its pool with both agents, and its read-only mode.
//!
//! The output is compared exactly, and the audit log must show no blocked
//! statement but the script's own refusals: a driver's background query
//! that actgate refused would otherwise be easy to miss.
//!
//! Driver features (named cursors, COPY TO, EXPLAIN, MOVE, DEFERRABLE,
//! `current_setting($1)` in reflection, `= ANY($1)` scopes, capped writes
//! in extended-protocol transactions) run from tests/drivers/features/.
//!
//! The packages come from scripts/ensure-drivers.sh (run by
//! scripts/test.sh); when any is missing the test fails and says so.

mod common;

use common::{ANALYTICS, Proxy};
use std::process::{Command, Output};
use std::time::Duration;

/// A client script still running after this long is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

const INSTALL_HINT: &str = "scripts/test.sh installs them (scripts/ensure-drivers.sh: \
     psycopg2-binary, psycopg[binary], psycopg-pool, asyncpg, sqlalchemy[asyncio], pandas, \
     langchain-community and postgres-mcp from PyPI)";

use common::clients::drivers_dir;

/// python3 for the client scripts, warnings silenced (their output is
/// compared exactly).
fn python() -> Command {
    let mut cmd = common::clients::command("python3", INSTALL_HINT);
    cmd.env("PYTHONWARNINGS", "ignore");
    cmd
}

async fn run(cmd: Command) -> Output {
    common::clients::run(cmd, RUN_TIMEOUT).await
}

/// Fails the test unless python3 can import every module.
async fn require(modules: &[&str]) {
    require_code(
        &format!("import {}", modules.join(", ")),
        &modules.join(", "),
    )
    .await;
}

/// Fails the test unless python3 runs `code`, which imports `what`.
async fn require_code(code: &str, what: &str) {
    common::clients::require_python(python(), code, what, INSTALL_HINT, RUN_TIMEOUT).await;
}

/// Runs `python3 tests/drivers/SCRIPT ANALYTICS_URL SUPPORT_BOT_URL`
/// through an audited actgate and checks the exact output, the exit status,
/// and that what actgate blocked is exactly `blocked`: (agent, reason, the
/// start of the SQL as audited), in any order.
async fn run_client(script: &str, expected: &str, blocked: &[(&str, &str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let support_bot = common::clients::support_bot_url(&proxy);
    let mut cmd = python();
    cmd.arg(drivers_dir().join(script))
        .arg(proxy.url(ANALYTICS, "shop"))
        .arg(support_bot);
    let output = run(cmd).await;
    proxy.stop().await;

    let events = common::audit_events_when(&audit, |events| {
        events
            .iter()
            .filter(|e| e["event"] == "statement_blocked")
            .count()
            >= blocked.len()
    })
    .await;
    let mut got: Vec<(String, String, String)> = events
        .iter()
        .filter(|e| e["event"] == "statement_blocked")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (s("agent"), s("reason"), s("sql"))
        })
        .collect();
    got.sort();
    let report = got
        .iter()
        .map(|(a, r, s)| format!("- {a} {r}: {s}"))
        .collect::<Vec<_>>()
        .join("\n");
    let context = common::clients::blocked_context(&output, &report);
    common::clients::assert_output(&output, script, expected, &context);
    let mut want = blocked.to_vec();
    want.sort();
    let matches = got.len() == want.len()
        && got
            .iter()
            .zip(&want)
            .all(|((a, r, s), (wa, wr, ws))| a == wa && r == wr && s.starts_with(ws));
    assert!(
        matches,
        "actgate blocked other statements than the script's own refusals\nwanted: {want:#?}\n{context}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "login_succeeded"),
        "no login audited\n{context}"
    );
}

const REFUSED: &str = "message=True detail=True hint=True";

/// psycopg2 (psycopg2-binary): client-side parameters over the simple
/// protocol, extras' catalog look-ups (`register_composite`, jsonb),
/// `execute_values`, BEGIN/COMMIT by the driver, `set_session(readonly=)`
/// (BEGIN READ ONLY / READ WRITE) and `conn.readonly` in autocommit (SET
/// default_transaction_read_only), and its ThreadedConnectionPool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2() {
    require(&["psycopg2"]).await;
    run_client(
        "psycopg2_client.py",
        &format!(
            "connected: True server>=13=True encoding=UTF8\n\
             introspection: composite products 8 attributes\n\
             simple: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
             parameterised: 30\n\
             any list: 60\n\
             composite row: HDPH-WRL-BLK 12900\n\
             execute_values: 50\n\
             repeated: [134, 133, 134] x3\n\
             transaction: True\n\
             committed: True\n\
             error: 22012\n\
             refused: InsufficientPrivilege 42501 table_denied {REFUSED}\n\
             aborted: True\n\
             refused column: 42501 column_denied {REFUSED}\n\
             still usable: 50\n\
             fetchmany: 4 batches\n\
             read-only: on\n\
             read-write again: off\n\
             read-only autocommit: on\n\
             reset: off\n\
             refused autocommit: 42501 table_denied {REFUSED}\n\
             usable autocommit: 1\n\
             pool secret: 30 30 30 reused=True\n\
             pool token: 6 6 6 reused=True\n\
             token: 6\n\
             token refused: 42501 scope_violation {REFUSED}\n\
             token write in transaction: 1\n\
             closed\n"
        ),
        &[
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            ("analytics", "column_denied", "SELECT email FROM customers"),
            ("analytics", "table_denied", "SELECT * FROM payment_methods"),
            (
                "support-bot",
                "scope_violation",
                "SELECT count(*) FROM orders",
            ),
        ],
    )
    .await;
}

/// psycopg 3 and psycopg_pool: domain type introspection, server-side
/// prepared statements past `prepare_threshold`, binary parameters,
/// pipeline mode (and a refusal inside a pipeline), streaming, `read_only`,
/// and the sync and async pools with both agents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg3_and_psycopg_pool() {
    require(&["psycopg", "psycopg_pool"]).await;
    run_client(
        "psycopg_client.py",
        &format!(
            "connected: server>=13=True utf-8\n\
             typeinfo: sql_identifier True\n\
             simple: 200\n\
             parameterised: 30\n\
             any list: 60\n\
             past prepare_threshold: [134, 133, 134, 134, 133, 134, 134, 133]\n\
             binary: True\n\
             pipeline: [30, 30, 20]\n\
             error: 22012 INERROR\n\
             refused: InsufficientPrivilege 42501 table_denied {REFUSED}\n\
             refused in pipeline: 42501 column_denied {REFUSED}\n\
             still usable: True\n\
             stream: 80 rows, first 8\n\
             read-only: on\n\
             default: off\n\
             transaction block: True\n\
             autocommit: 401\n\
             pool secret: 30 reused=True {{30}} refused=42501 table_denied {REFUSED} after=30\n\
             pool token: 6 reused=True {{6}} refused=42501 table_not_allowed {REFUSED} after=6\n\
             async pool token: [2, 0, 2]\n\
             token refused: 42501 scope_violation {REFUSED}\n\
             token read-only: 6 on\n\
             closed\n"
        ),
        &[
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            ("analytics", "column_denied", "SELECT email FROM customers"),
            (
                "analytics",
                "table_denied",
                "SELECT card_token FROM payment_methods",
            ),
            (
                "support-bot",
                "table_not_allowed",
                "SELECT card_token FROM payment_methods",
            ),
            ("support-bot", "scope_violation", ""),
        ],
    )
    .await;
}

/// asyncpg: introspection of domain-typed columns, its statement cache and
/// prepared statements, cursors (portals read in chunks), an error and a
/// refusal inside transactions, read-only transactions, and pools with both
/// agents (reset on release).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg_matrix() {
    require(&["asyncpg"]).await;
    run_client(
        "asyncpg_client.py",
        &format!(
            "connected: server>=13=True\n\
             domains: orders:str:YES products:str:YES\n\
             simple: 200\n\
             parameterised: 30\n\
             any array: 60\n\
             prepared reused: [134, 133, 134, 134, 133, 134]\n\
             cached: [6, 0, 6]\n\
             cursor: 80 rows first 8; fetch [1, 2, 3, 4, 5] then 6\n\
             error: 22012 in transaction after: False\n\
             refused: InsufficientPrivilegeError 42501 table_denied {REFUSED}\n\
             refused in transaction: 42501 column_denied {REFUSED}\n\
             still usable: 50\n\
             read-only: on\n\
             serializable read-only: serializable\n\
             pool secret: [30, 30, 30, 30] cursor=30 refused=42501 table_denied {REFUSED} after=30\n\
             pool token: [6, 6, 6, 6] cursor=6 refused=42501 table_not_allowed {REFUSED} after=6\n\
             token refused: 42501 scope_violation {REFUSED}\n\
             token read-only: 1\n\
             closed\n"
        ),
        &[
            ("analytics", "table_denied", "SELECT password_hash FROM staff_users"),
            ("analytics", "column_denied", "SELECT email FROM customers"),
            ("analytics", "table_denied", "SELECT card_token FROM payment_methods"),
            ("support-bot", "table_not_allowed", "SELECT card_token FROM payment_methods"),
            ("support-bot", "scope_violation", ""),
        ],
    )
    .await;
}

/// SQLAlchemy 2 on psycopg2, psycopg 3 and asyncpg: first connect, the
/// inspector, `text()`, the pool's rollback on return, `engine.begin()`,
/// `postgresql_readonly`, asyncpg's `stream`, MetaData.reflect and
/// `autoload_with` on psycopg2, and token-agent pools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_on_three_drivers() {
    require(&["sqlalchemy", "psycopg2", "psycopg", "asyncpg", "greenlet"]).await;
    let inspect = "tables=7 orders=id:BIGINT customer_id:BIGINT status:TEXT… pk=['id'] \
                   fks=[\"['order_id']->orders\", \"['product_id']->products\"] \
                   indexes=['orders_customer_id_idx', 'orders_status_created_at_idx'] checks=2 \
                   has_table=True views=[] sequences=7";
    let work = "statuses=6 paid=30 repeated=[134, 133, 134, 134, 133, 134, 134]";
    let mut expected = String::from("sqlalchemy: 2\n");
    for (driver, error) in [
        ("psycopg2", "DivisionByZero"),
        ("psycopg", "DivisionByZero"),
    ] {
        expected.push_str(&format!(
            "{driver} connected: True {driver}\n\
             {driver} work: {work}\n\
             {driver} error: {error}\n\
             {driver} refused: 42501 table_denied {REFUSED}\n\
             {driver} still usable: 20\n\
             {driver} inspect: {inspect}\n\
             {driver} begin: True checked in 1\n\
             {driver} readonly: on then off\n\
             {driver} token pool: [6, 6, 6] refused=42501 scope_violation {REFUSED} after=1 checked in 1\n"
        ));
    }
    expected.push_str(&format!(
        "psycopg2 reflect: ['customers', 'order_items', 'orders', 'products'] autoload=9 core select=30\n\
         asyncpg connected: True asyncpg\n\
         asyncpg work: {work}\n\
         asyncpg error: DivisionByZeroError\n\
         asyncpg refused: 42501 table_denied {REFUSED}\n\
         asyncpg stream: 80 first 8\n\
         asyncpg inspect: {inspect}\n\
         asyncpg begin: True checked in 1\n\
         asyncpg readonly: on\n\
         asyncpg token pool: [6, 6, 6] refused=42501 scope_violation {REFUSED} checked in 1\n\
         closed\n"
    ));
    run_client(
        "sqlalchemy_client.py",
        &expected,
        &[
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            (
                "support-bot",
                "scope_violation",
                "SELECT count(*) FROM orders",
            ),
            ("support-bot", "scope_violation", ""),
            ("support-bot", "scope_violation", ""),
        ],
    )
    .await;
}

/// pandas `read_sql`, `read_sql_query` (bound parameters, chunks) on
/// psycopg2 and psycopg 3 engines, and `read_sql_table` on psycopg2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pandas() {
    require(&["pandas", "sqlalchemy", "psycopg2", "psycopg"]).await;
    let mut expected = String::from("pandas: True\n");
    for driver in ["psycopg2", "psycopg"] {
        expected.push_str(&format!(
            "{driver} read_sql: (6, 2) 30\n\
             {driver} read_sql_query: (80, 3) M\n\
             {driver} chunks: [64, 64, 64, 8]\n\
             {driver} refused: InsufficientPrivilege 42501 column_denied {REFUSED}\n\
             {driver} after: 50\n"
        ));
    }
    expected.push_str(
        "psycopg2 read_sql_table: (200, 3) ['id', 'status', 'total_cents']\n\
         psycopg2 read_sql_table all columns: (20, 8)\n\
         token read_sql: (6, 2)\n\
         closed\n",
    );
    run_client(
        "pandas_client.py",
        &expected,
        &[
            ("analytics", "column_denied", "SELECT email FROM customers"),
            ("analytics", "column_denied", "SELECT email FROM customers"),
        ],
    )
    .await;
}

/// LangChain's `SQLDatabase` (langchain-community) on psycopg2: usable
/// table names, table info with sample rows (the samples the rules refuse
/// are left out by LangChain, as it does for any database error), `run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_sql_database() {
    require(&["langchain_community.utilities", "psycopg2"]).await;
    run_client(
        "langchain_client.py",
        "dialect: postgresql\n\
         usable tables: ['customers', 'order_items', 'orders', 'payment_methods', 'products', 'refunds', 'staff_users']\n\
         table info: 2 tables, samples=2 True\n\
         all table info: 7 tables\n\
         run: [('cancelled', 20), ('delivered', 80), ('paid', 30), ('pending', 20), ('refunded', 20), ('shipped', 30)]\n\
         run parameters: [(30,)]\n\
         refused: True True True\n\
         after: [(20,)]\n\
         token: ['orders', 'products'] [(6,)]\n\
         closed\n",
        &[
            ("analytics", "column_denied", "SELECT customers.id, customers.email"),
            ("analytics", "column_denied", "SELECT refunds.id, refunds.order_id"),
            ("analytics", "table_denied", "SELECT staff_users.id"),
            ("analytics", "table_denied", "SELECT payment_methods.id"),
            ("analytics", "table_denied", "SELECT password_hash FROM staff_users"),
        ],
    )
    .await;
}

/// postgres-mcp's tools on its SQL driver, in unrestricted and restricted
/// mode, and for the token agent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mcp() {
    // On Python 3.11 postgres-mcp needs typing.override from typing_extensions
    // (see tests/drivers/postgres_mcp_client.py).
    require_code(
        "import typing, typing_extensions\n\
         typing.override = getattr(typing, 'override', typing_extensions.override)\n\
         import postgres_mcp.server",
        "postgres_mcp",
    )
    .await;
    let mut expected = String::new();
    for mode in ["unrestricted", "restricted"] {
        expected.push_str(&format!(
            "{mode} list_schemas: ['information_schema', 'pg_catalog', 'public']\n\
             {mode} list_objects: ['customers', 'order_items', 'orders', 'payment_methods', 'products', 'refunds', 'staff_users']\n\
             {mode} sequences: 0\n\
             {mode} get_object_details: columns=9 constraints=['orders_customer_id_fkey', 'orders_pkey', \
             'orders_status_check', 'orders_total_cents_check'] \
             indexes=['orders_customer_id_idx', 'orders_pkey', 'orders_status_created_at_idx']\n\
             {mode} execute_sql: [('cancelled', 20), ('delivered', 80), ('paid', 30), ('pending', 20), ('refunded', 20), ('shipped', 30)]\n\
             {mode} refused: True True True\n\
             {mode} after: [{{'n': 19}}]\n"
        ));
    }
    expected.push_str("token: [{'n': 6}] refused=True\nclosed\n");
    run_client(
        "postgres_mcp_client.py",
        &expected,
        &[
            (
                "analytics",
                "table_denied",
                "SELECT password_hash FROM staff_users",
            ),
            (
                "analytics",
                "table_denied",
                "/* crystaldba */ SELECT password_hash",
            ),
            (
                "support-bot",
                "scope_violation",
                "/* crystaldba */ SELECT count(*)",
            ),
        ],
    )
    .await;
}

/// psycopg2: named cursors, scroll (MOVE), COPY TO, SQL PREPARE/EXECUTE,
/// EXPLAIN (item 8, scroll also item 3), and a DEFERRABLE transaction
/// (item 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2_cursors_copy_prepare_explain_deferrable() {
    require(&["psycopg2"]).await;
    run_client(
        "features/psycopg2_features.py",
        &format!(
            "named cursor: 80 rows\n\
             scroll: 11 7 1\n\
             named cursor refused: 42501 column_denied {REFUSED}\n\
             copy to: ['1,pending', '2,paid', '3,paid']\n\
             prepare/execute: [30, 30, 30, 30, 30, 30]\n\
             explain: Aggregate\n\
             deferrable: on\n\
             after: 20\n\
             closed\n"
        ),
        &[("analytics", "column_denied", "DECLARE \"emails\"")],
    )
    .await;
}

/// psycopg 3: named cursors, scroll, COPY TO, EXPLAIN (item 8; scroll also
/// item 3), DEFERRABLE (item 2), `= ANY(%s)` as a scope (item 11), and a
/// capped parameterised write in its implicit transaction (item 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg3_cursors_copy_explain_deferrable_any_scope_capped_write() {
    require(&["psycopg"]).await;
    run_client(
        "features/psycopg_features.py",
        &format!(
            "named cursor: 80 rows\n\
             scroll: 11 1\n\
             named cursor refused: 42501 column_denied {REFUSED}\n\
             copy to: [('1', 'pending'), ('2', 'paid'), ('3', 'paid')]\n\
             explain: Aggregate\n\
             deferrable: on\n\
             token any: 6\n\
             token any refused: 42501 scope_violation {REFUSED}\n\
             token write in transaction: 1\n\
             closed\n"
        ),
        &[
            ("analytics", "column_denied", "DECLARE \"emails\""),
            ("support-bot", "scope_violation", ""),
        ],
    )
    .await;
}

/// asyncpg: Cursor.forward (MOVE, item 3), copy_from_query and EXPLAIN
/// (item 8), a deferrable transaction (item 2), `= ANY($1)` as a scope
/// (item 11), a capped write in a transaction (item 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg_forward_copy_explain_deferrable_any_scope_capped_write() {
    require(&["asyncpg"]).await;
    run_client(
        "features/asyncpg_features.py",
        &format!(
            "cursor forward: 10 then [11, 12]\n\
             copy_from_query: ['1', 'pending', '2', 'paid', '3', 'paid']\n\
             copy refused: 42501 column_denied {REFUSED}\n\
             explain: Aggregate\n\
             deferrable: on\n\
             token any: 6\n\
             token write in transaction: UPDATE 1\n\
             closed\n"
        ),
        &[(
            "analytics",
            "column_denied",
            "COPY (SELECT email FROM customers)",
        )],
    )
    .await;
}

/// Reflection on psycopg 3 and asyncpg, pandas read_sql_table on psycopg 3,
/// LangChain's default URI (item 1), and stream_results on psycopg 2 and 3
/// (item 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_on_psycopg3_and_asyncpg_and_stream_results() {
    require(&[
        "sqlalchemy",
        "psycopg",
        "psycopg2",
        "asyncpg",
        "greenlet",
        "pandas",
    ])
    .await;
    run_client(
        "features/reflection_features.py",
        "psycopg reflect: ['customers', 'order_items', 'orders', 'products'] autoload=9\n\
         psycopg read_sql_table: (200, 2)\n\
         psycopg2 stream_results: 80\n\
         psycopg stream_results: 80\n\
         asyncpg reflect: ['customers', 'orders', 'products']\n\
         langchain default: psycopg 7 tables\n\
         langchain info: 1\n\
         langchain run: [(200,)]\n\
         closed\n",
        &[],
    )
    .await;
}

/// postgres-mcp's explain_query in both access modes (item 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_mcp_explain_query() {
    require_code(
        "import typing, typing_extensions\n\
         typing.override = getattr(typing, 'override', typing_extensions.override)\n\
         import postgres_mcp.server",
        "postgres_mcp",
    )
    .await;
    run_client(
        "features/postgres_mcp_features.py",
        "unrestricted explain_query: True True\n\
         unrestricted explain refused: True\n\
         restricted explain_query: True True\n\
         restricted explain refused: True\n\
         closed\n",
        &[
            (
                "analytics",
                "column_denied",
                "EXPLAIN (FORMAT JSON) SELECT email",
            ),
            (
                "analytics",
                "column_denied",
                "/* crystaldba */ EXPLAIN (FORMAT JSON) SELECT email",
            ),
        ],
    )
    .await;
}
