//! Mainstream drivers through actgate as the read-only `analytics` agent,
//! under default deny with the driver profile: psycopg 3, asyncpg (alone
//! and pooled), SQLAlchemy (reflection and `text()`) and node-postgres.
//! Each runs a script from tests/drivers/ that connects, aggregates, binds
//! parameters server-side, hits a denied table (a proper driver exception
//! with SQLSTATE 42501 and the reason in DETAIL), keeps using the
//! connection and runs transactions. The script's output is compared exactly, and the
//! audit log must show no blocked statement but the script's own denials:
//! a driver's background catalog query that the firewall refused would
//! otherwise be easy to miss.
//!
//! python3 and node come from `PATH`, the driver packages from
//! scripts/ensure-drivers.sh (run by scripts/test.sh); when any is missing
//! the test fails and says so.

mod common;

use common::{ANALYTICS, Proxy};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// A driver script still running after this long is killed and the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

const INSTALL_HINT: &str = "scripts/test.sh installs them (scripts/ensure-drivers.sh: \
     psycopg[binary], asyncpg, sqlalchemy, pandas, langchain-core and langchain-community \
     from PyPI, pg@8 from npm into \
     tests/drivers/node_modules)";

use common::clients::drivers_dir;

/// A command for `interpreter` run in tests/drivers (see
/// [`common::clients::command`]).
fn interpreter(name: &str) -> Command {
    common::clients::command(name, INSTALL_HINT)
}

async fn run(cmd: Command) -> Output {
    common::clients::run(cmd, RUN_TIMEOUT).await
}

/// Fails the test unless python3 can import every module.
async fn require_python_modules(modules: &[&str]) {
    common::clients::require_python(
        interpreter("python3"),
        &format!("import {}", modules.join(", ")),
        &modules.join(", "),
        INSTALL_HINT,
        RUN_TIMEOUT,
    )
    .await;
}

/// Fails the test unless node can `require('pg')` from tests/drivers.
async fn require_node_pg() {
    let mut cmd = interpreter("node");
    cmd.args(["-e", "require('pg')"]);
    let output = run(cmd).await;
    assert!(
        output.status.success(),
        "node cannot require('pg') from tests/drivers: {INSTALL_HINT}\n{}",
        common::describe(&output)
    );
}

/// Reads the audit log once the writer has flushed what it was given.
async fn read_audit(path: &Path) -> Vec<serde_json::Value> {
    // The writer thread flushes within its 200 ms tick; wait for the file
    // to stop growing, bounded.
    let mut last = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len > 0 && len == last {
            break;
        }
        last = len;
    }
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

/// Runs `interpreter tests/drivers/script URL` as the analytics agent
/// through an audited actgate, and checks the exact output, the exit
/// status, and that the only statements actgate blocked are `denied`, in
/// order.
async fn run_driver(interpreter_name: &str, script: &str, expected: &str, denied: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "sql_max_bytes = 65536")).await;
    let mut cmd = interpreter(interpreter_name);
    cmd.arg(drivers_dir().join(script))
        .arg(proxy.url(ANALYTICS, "shop"));
    let output = run(cmd).await;
    proxy.stop().await;

    let lines = read_audit(&audit).await;
    let blocked: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "statement_blocked")
        .collect();
    let blocked_report = blocked
        .iter()
        .map(|b| {
            format!(
                "- reason: {}\n  message: {}\n  sql: {}",
                b["reason"], b["message"], b["sql"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let context = common::clients::blocked_context(&output, &blocked_report);

    common::clients::assert_output(&output, script, expected, &context);
    let blocked_sql: Vec<&str> = blocked
        .iter()
        .map(|b| b["sql"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        blocked_sql, denied,
        "actgate blocked statements other than the script's own denials\n{context}"
    );
    for b in &blocked {
        assert_eq!(b["agent"], "analytics", "{b}");
        assert_eq!(b["mode"], "enforce", "{b}");
    }
    let logins = lines
        .iter()
        .filter(|l| l["event"] == "login_succeeded")
        .count();
    assert!(logins >= 1, "no login audited\n{context}");
}

/// psycopg 3 with its defaults: an implicit transaction per unit of work,
/// statements prepared on the server after five runs (and deallocated with
/// `DEALLOCATE ALL` on the next rollback), `TypeInfo`/`CompositeInfo`
/// introspection, and autocommit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg3() {
    require_python_modules(&["psycopg"]).await;
    run_driver(
        "python3",
        "psycopg_driver.py",
        "connected: PostgreSQL True\n\
         aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
         parameterised: 30\n\
         prepared: [20, 30, 30, 80, 20, 20]\n\
         prepared explicitly: 133\n\
         server-side prepared statements: 2\n\
         denied: InsufficientPrivilege 42501 reason: table_denied\n\
         transaction after denial: INERROR\n\
         after denial: 200\n\
         in transaction: INTRANS\n\
         committed: IDLE active=19 goodwill=True\n\
         transaction block: True\n\
         denied in block: 42501 reason: table_denied\n\
         after block: 20\n\
         typeinfo: numeric oid=1700 array_oid=1231\n\
         composite: products HDPH-WRL-BLK 12900 True\n\
         autocommit: 401\n\
         denied autocommit: 42501 reason: table_denied\n\
         still usable: 1\n\
         closed\n",
        &[
            "SELECT password_hash FROM staff_users",
            "SELECT card_token FROM payment_methods",
            "SELECT * FROM staff_users",
        ],
    )
    .await;
}

/// asyncpg: named prepared statements and its statement cache, built-in
/// codecs, catalog introspection for a codec by name and for a composite
/// type (with `jit` switched off around it), and its transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg() {
    require_python_modules(&["asyncpg"]).await;
    run_driver(
        "python3",
        "asyncpg_driver.py",
        "connected: PostgreSQL True\n\
         aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
         parameterised: 30\n\
         cached statement: 30\n\
         denied: InsufficientPrivilegeError 42501 reason: table_denied\n\
         after denial: 200\n\
         types: revenue=Decimal first_order=2025-01-11T16:44:00+00:00 statuses=['delivered'] last_day=2025-09-10\n\
         jsonb codec: {\"currency\": \"USD\", \"orders\": 200}\n\
         composite: HDPH-WRL-BLK 12900 True\n\
         in transaction: True refunds>0=True\n\
         committed: True\n\
         read-only repeatable read: True\n\
         denied in transaction: 42501 reason: table_denied\n\
         rolled back: True\n\
         after transaction: True\n\
         prepared: [20, 20, 20]\n\
         closed\n",
        &[
            "SELECT password_hash FROM staff_users",
            "SELECT card_token FROM payment_methods",
        ],
    )
    .await;
}

/// An asyncpg pool: every connection returned to it is reset with
/// asyncpg's default reset query before it is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg_pool() {
    require_python_modules(&["asyncpg"]).await;
    run_driver(
        "python3",
        "asyncpg_pool.py",
        "acquired: 200\n\
         released: pool size 1, idle 1\n\
         reused: True 30\n\
         denied: 42501 reason: table_denied\n\
         released after denial: idle 1\n\
         concurrent: [20, 30, 80]\n\
         transaction: 20\n\
         closed\n",
        &["SELECT password_hash FROM staff_users"],
    )
    .await;
}

/// SQLAlchemy 2 on psycopg 3: the dialect's first-connect queries,
/// reflection, `text()` with bound parameters, the pool's rollback on
/// return, and `engine.begin()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_with_psycopg3() {
    require_python_modules(&["sqlalchemy", "psycopg"]).await;
    run_driver(
        "python3",
        "sqlalchemy_driver.py",
        "connected: PostgreSQL True\n\
         tables: customers order_items orders payment_methods products refunds staff_users\n\
         orders columns: id:BIGINT customer_id:BIGINT status:TEXT total_cents:INTEGER \
         currency:CHAR shipping_country:CHAR notes:TEXT created_at:TIMESTAMP updated_at:TIMESTAMP\n\
         orders primary key: ['id']\n\
         orders foreign keys: ['customer_id']->customers['id']\n\
         orders indexes: orders_customer_id_idx orders_status_created_at_idx\n\
         aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
         parameterised: 30\n\
         denied: ProgrammingError/InsufficientPrivilege 42501 reason: table_denied\n\
         after denial: 200\n\
         repeated: [134, 133, 134, 134, 133, 134]\n\
         pool after return: checked in 1\n\
         transaction: 3\n\
         pool after commit: checked in 1\n\
         closed\n",
        &["SELECT password_hash FROM staff_users"],
    )
    .await;
}

/// node-postgres: simple protocol without values, extended with them, a
/// named prepared statement, array row mode, BEGIN/COMMIT/ROLLBACK by hand
/// and a pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_postgres() {
    require_node_pg().await;
    run_driver(
        "node",
        "node_pg_driver.js",
        "connected: PostgreSQL true\n\
         aggregate: cancelled=20 delivered=80 paid=30 pending=20 refunded=20 shipped=30\n\
         parameterised: 30\n\
         prepared: 30 80\n\
         denied: DatabaseError 42501 reason: table_denied\n\
         after denial: 200\n\
         denied extended: 42501 reason: table_denied\n\
         types: string true 2025-01-24T14:54:00.000Z [\"USD\"]\n\
         transaction: true\n\
         denied in transaction: DatabaseError 42501 reason: table_denied\n\
         aborted transaction: 25P02\n\
         after rollback: true\n\
         pool: 20 20 20\n\
         closed\n",
        &[
            "SELECT password_hash FROM staff_users",
            "SELECT card_token FROM payment_methods WHERE customer_id = $1",
            "SELECT * FROM staff_users",
        ],
    )
    .await;
}

/// An asyncpg pool as a token agent (support-bot, for customer 42): its
/// reset on release (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
/// *; RESET ALL;`) passes, undoes the checkout's SET and leaves actgate's
/// pinned settings as they were (issue 12, item 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asyncpg_pool_with_a_token_agent() {
    require_python_modules(&["asyncpg"]).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let url = common::clients::support_bot_url(&proxy);
    let mut cmd = interpreter("python3");
    cmd.arg(drivers_dir().join("asyncpg_token_pool.py"))
        .arg(url);
    let output = run(cmd).await;
    proxy.stop().await;

    let blocked: Vec<String> = read_audit(&audit)
        .await
        .iter()
        .filter(|l| l["event"] == "statement_blocked")
        .map(|b| b["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    let context = common::clients::blocked_context(&output, &blocked.join("\n"));
    assert!(output.status.success(), "{context}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "acquired: 6 4321ms\n\
         released: idle 1\n\
         reused: True 0 public UTF8 on off\n\
         read-only transaction: on\n\
         denied: 42501 reason: scope_violation\n\
         released after denial: idle 1\n\
         reused again: True\n\
         closed\n",
        "{context}"
    );
    // The script's own out-of-scope query, and nothing the pool sent.
    assert_eq!(blocked, ["scope_violation"], "{context}");
}

/// Reflection that binds a setting name (issue 12, item 1): LangChain's
/// `SQLDatabase.from_uri("postgresql://…")`, `MetaData.reflect`,
/// `Table(autoload_with=)` and `pandas.read_sql_table` on psycopg 3 and
/// asyncpg send `current_setting($1::VARCHAR)`, decided at Bind with the
/// bound name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn langchain_and_sqlalchemy_reflection() {
    require_python_modules(&[
        "langchain_community",
        "pandas",
        "sqlalchemy",
        "psycopg",
        "asyncpg",
    ])
    .await;
    run_driver(
        "python3",
        "langchain_reflection.py",
        "langchain dialect: postgresql psycopg\n\
         langchain tables: orders products\n\
         langchain table info: True True\n\
         langchain run: [(200,)]\n\
         reflected: customers orders products\n\
         autoloaded: 9 columns, key ['id']\n\
         read_sql_table: 20 rows 8 columns\n\
         asyncpg reflected: customers orders products\n\
         asyncpg autoloaded: 9 columns\n\
         closed\n",
        &[],
    )
    .await;
}

/// `customer_id = ANY(<list>)` as a token agent's scope (issue 12, item
/// 11): psycopg 3's `= ANY(%s)` with a list, in text and binary format and
/// prepared, and asyncpg's `= ANY($1::int[])`; every element must be the
/// customer in the token, checked at each Bind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_of_an_array_parameter_as_a_scope() {
    require_python_modules(&["psycopg", "asyncpg"]).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let (token, _) = common::mint(
        "order-assistant",
        "customer-42",
        &[("customer_id", "42")],
        Duration::from_secs(3600),
    );
    let url = actgate::token::connection_string(
        "order-assistant",
        &token,
        "127.0.0.1",
        proxy.addr.port(),
        "shop",
    );
    let mut cmd = interpreter("python3");
    cmd.arg(drivers_dir().join("any_scope.py")).arg(url);
    let output = run(cmd).await;
    proxy.stop().await;

    let blocked: Vec<String> = read_audit(&audit)
        .await
        .iter()
        .filter(|l| l["event"] == "statement_blocked")
        .map(|b| format!("{} {}", b["reason"], b["sql"]))
        .collect();
    let context = common::clients::blocked_context(&output, &blocked.join("\n"));
    assert!(output.status.success(), "{context}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "psycopg list: 6\n\
         psycopg repeated: 6\n\
         psycopg empty: 0\n\
         psycopg with NULL: 6\n\
         psycopg binary: 6\n\
         psycopg ARRAY[]: 6\n\
         psycopg denied: 42501 reason: scope_violation\n\
         psycopg denied: 42501 reason: scope_violation\n\
         psycopg prepared [42]: 6\n\
         psycopg prepared [7]: reason: scope_violation\n\
         psycopg prepared [42]: 6\n\
         asyncpg int[]: 6\n\
         asyncpg bigint[]: 6\n\
         asyncpg empty: 0\n\
         asyncpg denied: 42501 reason: scope_violation\n\
         asyncpg after denial: 6\n\
         closed\n",
        "{context}"
    );
    // The script's own out-of-scope lists, and nothing else.
    let reasons: Vec<&str> = blocked
        .iter()
        .map(|b| b.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(reasons, ["\"scope_violation\""; 4], "{context}");
}
