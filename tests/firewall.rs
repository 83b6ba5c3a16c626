//! The firewall through actgate with real clients: denials are ordinary
//! errors (42501, reason in DETAIL, what is allowed in HINT), the session
//! stays usable, transactions fail exactly as after a Postgres error,
//! pipelines keep their order, monitor mode never blocks, and every
//! decision is audited.

mod common;

use common::{ANALYTICS, Proxy, SUPPORT_BOT, TESTER};
use std::time::Duration;
use tokio_postgres::SimpleQueryMessage;

const WATCHER: (&str, &str) = ("watcher", "watcher-secret");

fn db_error(e: &tokio_postgres::Error) -> &tokio_postgres::error::DbError {
    e.as_db_error()
        .unwrap_or_else(|| panic!("expected a server error, got {e}"))
}

/// Asserts a policy denial with the given reason code.
fn assert_denied(e: &tokio_postgres::Error, reason: &str) {
    let db = db_error(e);
    assert_eq!(db.code().code(), "42501", "{db:?}");
    assert_eq!(db.severity(), "ERROR", "{db:?}");
    let detail = db.detail().unwrap_or_default();
    assert!(
        detail.starts_with(&format!("reason: {reason};")),
        "detail {detail:?} should name reason {reason}"
    );
    assert!(detail.contains("rule: "), "{detail}");
    assert!(
        db.message().starts_with("actgate denied"),
        "{}",
        db.message()
    );
}

fn first_value(rows: &[SimpleQueryMessage]) -> Option<String> {
    rows.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
        _ => None,
    })
}

#[tokio::test]
async fn denial_is_an_error_and_the_session_stays_usable() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    let e = client
        .simple_query("SELECT username, password_hash FROM staff_users")
        .await
        .unwrap_err();
    assert_denied(&e, "table_denied");
    let db = db_error(&e);
    assert!(
        db.message().contains("public.staff_users"),
        "{}",
        db.message()
    );
    assert!(
        db.hint().unwrap_or_default().contains("public.orders"),
        "{:?}",
        db.hint()
    );

    let rows = client
        .simple_query("SELECT count(*) FROM orders")
        .await
        .unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("200"));

    // Extended protocol too.
    let e = client
        .query("SELECT email FROM customers WHERE id = $1", &[&1i64])
        .await
        .unwrap_err();
    assert_denied(&e, "column_denied");
    let n: i64 = client
        .query_one(
            "SELECT count(*) FROM customers WHERE country = $1",
            &[&"US"],
        )
        .await
        .unwrap()
        .get(0);
    assert!(n >= 0);
}

#[tokio::test]
async fn unparseable_and_unknown_sql_fails_closed() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(TESTER).await;
    for (sql, reason) in [
        ("SELEC 1", "parse_error"),
        ("DO $$ BEGIN PERFORM 1; END $$", "code_block_denied"),
        (
            "SELECT count(*) FROM orders GROUP BY DISTINCT ROLLUP (status)",
            "parse_error",
        ),
        ("SELECT pg_read_file('/etc/passwd')", "function_not_allowed"),
        ("COPY orders TO PROGRAM 'id'", "copy_server_side"),
    ] {
        let e = client.simple_query(sql).await.unwrap_err();
        assert_denied(&e, reason);
    }
    assert_eq!(
        first_value(&client.simple_query("SELECT 'ok'").await.unwrap()).as_deref(),
        Some("ok")
    );
}

#[tokio::test]
async fn multi_statement_query_is_denied_as_a_whole() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(SUPPORT_BOT).await;
    let admin = common::connect_direct().await;
    let before: Option<String> = admin
        .query_one("SELECT notes FROM orders WHERE id = 7", &[])
        .await
        .unwrap()
        .get(0);
    let e = client
        .simple_query(
            "UPDATE orders SET notes = 'touched' WHERE id = 7; DELETE FROM orders WHERE id = 7",
        )
        .await
        .unwrap_err();
    assert_denied(&e, "statement_class_denied");
    let after: Option<String> = admin
        .query_one("SELECT notes FROM orders WHERE id = 7", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after, "no statement of a denied message may run");
}

#[tokio::test]
async fn denial_fails_the_transaction_exactly_as_postgres_would() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(SUPPORT_BOT).await;
    let admin = common::connect_direct().await;
    let original: String = admin
        .query_one("SELECT status FROM orders WHERE id = 11", &[])
        .await
        .unwrap()
        .get(0);
    let target = if original == "cancelled" {
        "paid"
    } else {
        "cancelled"
    };

    for protocol in ["simple", "extended"] {
        client.batch_execute("BEGIN").await.unwrap();
        client
            .execute("UPDATE orders SET status = $1 WHERE id = 11", &[&target])
            .await
            .unwrap();
        let e = match protocol {
            "simple" => client
                .simple_query("DELETE FROM orders WHERE id = 11")
                .await
                .unwrap_err(),
            _ => client
                .execute("DELETE FROM orders WHERE id = $1", &[&11i64])
                .await
                .unwrap_err(),
        };
        assert_denied(&e, "statement_class_denied");
        // Later statements get 25P02 until ROLLBACK, from the server itself.
        let e = client.simple_query("SELECT 1").await.unwrap_err();
        assert_eq!(db_error(&e).code().code(), "25P02", "{protocol}");
        // COMMIT of a failed transaction rolls back: the agent can never
        // commit the rest of a transaction of which part was denied.
        client.batch_execute("COMMIT").await.unwrap();
        let status: String = admin
            .query_one("SELECT status FROM orders WHERE id = 11", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            status, original,
            "{protocol}: the update must not be committed"
        );
    }
}

#[tokio::test]
async fn pipelined_denial_is_never_overwritten() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    let (a, b, c, d) = tokio::join!(
        client.query_one("SELECT 1::int4", &[]),
        client.query("SELECT * FROM staff_users", &[]),
        client.query_one("SELECT 3::int4", &[]),
        client.query(
            "SELECT password_hash FROM staff_users WHERE id = $1",
            &[&1i64]
        ),
    );
    assert_eq!(a.unwrap().get::<_, i32>(0), 1);
    assert_denied(&b.unwrap_err(), "table_denied");
    assert_eq!(c.unwrap().get::<_, i32>(0), 3);
    assert_denied(&d.unwrap_err(), "table_denied");
}

#[tokio::test]
async fn pinned_settings_cannot_be_changed() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    for sql in [
        "SET search_path = evil, public",
        "SET client_encoding = 'SJIS'",
        "SET standard_conforming_strings = off",
        "RESET search_path",
        "SET ROLE postgres",
        "SELECT set_config('search_path', 'evil', false)",
        // As a table function in FROM too.
        "SELECT * FROM set_config('search_path', 'evil', false)",
    ] {
        let e = client.simple_query(sql).await.unwrap_err();
        assert_eq!(db_error(&e).code().code(), "42501", "{sql}");
    }
    let rows = client.simple_query("SHOW search_path").await.unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("public"));
    // Harmless settings drivers send are fine.
    client
        .batch_execute("SET application_name = 'report-7'; SET statement_timeout = 5000")
        .await
        .unwrap();
    let rows = client.simple_query("SHOW application_name").await.unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("report-7"));

    // RESET ALL (asyncpg pool resets) is allowed for every agent under
    // the driver profile, support-desk included: it restores the pinned
    // startup values.
    let support = proxy.connect(SUPPORT_BOT).await;
    support.batch_execute("RESET ALL").await.unwrap();
    client.batch_execute("RESET ALL").await.unwrap();
    let rows = client.simple_query("SHOW search_path").await.unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("public"));
    let rows = client.simple_query("SHOW client_encoding").await.unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("UTF8"));
}

#[tokio::test]
async fn star_is_expanded_against_the_live_catalog() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    // customers has column rules: * includes email, so it is denied…
    let e = client
        .simple_query("SELECT * FROM customers")
        .await
        .unwrap_err();
    assert_denied(&e, "column_denied");
    assert!(
        db_error(&e).message().contains("email"),
        "{}",
        db_error(&e).message()
    );
    // …and so is a whole-row reference.
    let e = client
        .simple_query("SELECT row_to_json(c) FROM customers c")
        .await
        .unwrap_err();
    assert_denied(&e, "column_denied");
    // orders has none: * is fine.
    client
        .simple_query("SELECT * FROM orders LIMIT 1")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_meta_commands_work_under_the_driver_profile() {
    let proxy = Proxy::start().await;
    let url = proxy.url(ANALYTICS, "shop");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("psql")
            .args([
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "\\dt",
                "-c",
                "\\d orders",
            ])
            .arg(&url)
            .output()
            .expect("psql is needed (scripts/test.sh installs it)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("orders"), "{stdout}");
    assert!(stdout.contains("customer_id"), "{stdout}");
}

/// pgjdbc 42.5's DatabaseMetaData.getPrimaryKeys (with ORDER BY on
/// `information_schema._pg_expandarray`), as it sends it.
const PGJDBC_PRIMARY_KEYS: &str = "SELECT        result.TABLE_CAT,        result.TABLE_SCHEM,        result.TABLE_NAME,        result.COLUMN_NAME,        result.KEY_SEQ,        result.PK_NAME FROM      (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,   information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND n.nspname = 'public' AND ct.relname = 'orders' AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x  ORDER BY result.table_name, result.pk_name, result.key_seq";

/// pgjdbc 42.5's getIndexInfo (server 9.6 or later).
const PGJDBC_INDEX_INFO: &str = "SELECT     tmp.TABLE_CAT,     tmp.TABLE_SCHEM,     tmp.TABLE_NAME,     tmp.NON_UNIQUE,     tmp.INDEX_QUALIFIER,     tmp.INDEX_NAME,     tmp.TYPE,     tmp.ORDINAL_POSITION,     trim(both '\"' from pg_catalog.pg_get_indexdef(tmp.CI_OID, tmp.ORDINAL_POSITION, false)) AS COLUMN_NAME,   CASE tmp.AM_NAME     WHEN 'btree' THEN CASE tmp.I_INDOPTION[tmp.ORDINAL_POSITION - 1] & 1::smallint       WHEN 1 THEN 'D'       ELSE 'A'     END     ELSE NULL   END AS ASC_OR_DESC,     tmp.CARDINALITY,     tmp.PAGES,     tmp.FILTER_CONDITION FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   ct.relname AS TABLE_NAME, NOT i.indisunique AS NON_UNIQUE,   NULL AS INDEX_QUALIFIER, ci.relname AS INDEX_NAME,   CASE i.indisclustered     WHEN true THEN 1    ELSE CASE am.amname       WHEN 'hash' THEN 2      ELSE 3    END   END AS TYPE,   (information_schema._pg_expandarray(i.indkey)).n AS ORDINAL_POSITION,   ci.reltuples AS CARDINALITY,   ci.relpages AS PAGES,   pg_catalog.pg_get_expr(i.indpred, i.indrelid) AS FILTER_CONDITION,   ci.oid AS CI_OID,   i.indoption AS I_INDOPTION,   am.amname AS AM_NAME FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON (ct.oid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid)   JOIN pg_catalog.pg_am am ON (ci.relam = am.oid) WHERE true  AND n.nspname = 'public' AND ct.relname = 'orders') AS tmp ORDER BY NON_UNIQUE, TYPE, INDEX_NAME, ORDINAL_POSITION ";

/// pgjdbc 42.5's getBestRowIdentifier.
const PGJDBC_BEST_ROW_IDENTIFIER: &str = "SELECT a.attname, a.atttypid, atttypmod FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN (SELECT i.indexrelid, i.indrelid, i.indisprimary,              information_schema._pg_expandarray(i.indkey) AS keys         FROM pg_catalog.pg_index i) i     ON (a.attnum = (i.keys).x AND a.attrelid = i.indrelid) WHERE true  AND n.nspname = 'public' AND ct.relname = 'orders' AND i.indisprimary  ORDER BY a.attnum ";

/// pgjdbc's metadata queries and system columns against the live catalog
/// (which lists no system columns), over the extended protocol as pgjdbc
/// sends them.
#[tokio::test]
async fn pgjdbc_metadata_and_system_columns_under_the_driver_profile() {
    let proxy = Proxy::start().await;
    let client = proxy.connect(ANALYTICS).await;
    let keys = client.query(PGJDBC_PRIMARY_KEYS, &[]).await.unwrap();
    let columns: Vec<&str> = keys.iter().map(|r| r.get("column_name")).collect();
    assert_eq!(columns, ["id"]);
    let indexes = client.query(PGJDBC_INDEX_INFO, &[]).await.unwrap();
    assert!(
        indexes
            .iter()
            .any(|r| r.get::<_, Option<&str>>("column_name") == Some("id")),
        "{indexes:?}"
    );
    let best = client.query(PGJDBC_BEST_ROW_IDENTIFIER, &[]).await.unwrap();
    let columns: Vec<&str> = best.iter().map(|r| r.get("attname")).collect();
    assert_eq!(columns, ["id"]);

    let row = client
        .query_one(
            "SELECT o.tableoid::regclass::text, o.ctid::text, o.xmin::text, o.id \
             FROM orders o ORDER BY o.id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "orders");
    // Column rules on customers do not cover row metadata ...
    client
        .query_one(
            "SELECT c.ctid::text, c.xmin::text, c.country FROM customers c ORDER BY c.id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    // ... nor do they stop covering the columns read beside it.
    let e = client
        .query("SELECT c.ctid, c.email FROM customers c LIMIT 1", &[])
        .await
        .unwrap_err();
    assert_denied(&e, "column_denied");
    let e = client
        .query("SELECT s.ctid FROM staff_users s LIMIT 1", &[])
        .await
        .unwrap_err();
    assert_denied(&e, "table_denied");
}

#[tokio::test]
async fn monitor_mode_audits_but_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config = common::config_with_audit(&audit, "");
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(WATCHER).await;
    // Not allowed by watcher's policy, but monitor mode lets it through.
    let rows = client
        .simple_query("SELECT count(*) FROM customers")
        .await
        .unwrap();
    assert_eq!(first_value(&rows).as_deref(), Some("50"));
    drop(client);
    proxy.stop().await;
    let lines = read_audit(&audit).await;
    let blocked: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "statement_blocked" && l["agent"] == "watcher")
        .collect();
    assert_eq!(blocked.len(), 1, "{lines:#?}");
    assert_eq!(blocked[0]["mode"], "monitor");
    assert_eq!(blocked[0]["reason"], "table_not_allowed");
}

/// Reads the audit log once the writer has flushed what it was given.
async fn read_audit(path: &std::path::Path) -> Vec<serde_json::Value> {
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
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
        .collect()
}

#[tokio::test]
async fn every_decision_and_login_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let config = common::config_with_audit(&audit, "sql_max_bytes = 40");
    let proxy = Proxy::start_with(config).await;
    let client = proxy.connect(ANALYTICS).await;
    client
        .simple_query("SELECT id, status FROM orders WHERE id = 42")
        .await
        .unwrap();
    client
        .simple_query("SELECT id, status FROM orders WHERE id = 43")
        .await
        .unwrap();
    client
        .simple_query("SELECT * FROM staff_users -- a very long comment that will be truncated")
        .await
        .unwrap_err();
    let _ = proxy
        .try_connect((ANALYTICS.0, "wrong"), "shop")
        .await
        .unwrap_err();
    drop(client);
    proxy.stop().await;
    let lines = read_audit(&audit).await;
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert!(events.contains(&"login_succeeded"), "{events:?}");
    assert!(events.contains(&"login_failed"), "{events:?}");
    let allowed: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["event"] == "statement_allowed")
        .collect();
    assert_eq!(allowed.len(), 2, "{lines:#?}");
    // Same statement shape, different literal: same fingerprint.
    assert_eq!(allowed[0]["fingerprint"], allowed[1]["fingerprint"]);
    assert_eq!(allowed[0]["statement_class"], "read");
    assert_eq!(allowed[0]["tables"], serde_json::json!(["public.orders"]));
    assert_eq!(allowed[0]["agent"], "analytics");
    assert!(allowed[0]["session_id"].is_u64());
    assert!(
        allowed[0]["client_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert!(allowed[0]["ts"].as_str().unwrap().ends_with('Z'));
    let blocked = lines
        .iter()
        .find(|l| l["event"] == "statement_blocked")
        .expect("a blocked event");
    assert_eq!(blocked["reason"], "table_denied");
    assert_eq!(blocked["mode"], "enforce");
    assert!(
        blocked["rule"].as_str().unwrap().ends_with("deny.tables"),
        "{blocked}"
    );
    assert_eq!(blocked["sql_truncated"], true);
    assert_eq!(blocked["sql"].as_str().unwrap().len(), 40);
    // A plain read scores 0; the blocked statement with a comment scores
    // comment (1) + denied (3).
    assert_eq!(allowed[0]["risk_score"], 0, "{}", allowed[0]);
    assert_eq!(blocked["risk"], serde_json::json!(["comment", "denied"]));
    assert_eq!(blocked["risk_score"], 4, "{blocked}");
    let failed = lines.iter().find(|l| l["event"] == "login_failed").unwrap();
    assert_eq!(failed["reason"], "wrong_secret");
}

#[tokio::test]
async fn risk_scores_mark_injection_signals_and_repeated_violations() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = Proxy::start_with(common::config_with_audit(&audit, "")).await;
    let client = proxy.connect(ANALYTICS).await;
    client
        .simple_query("SELECT id FROM orders WHERE id = 1 OR 1 = 1")
        .await
        .unwrap();
    for sql in [
        "SELECT id FROM staff_users",
        "SELECT id FROM orders WHERE id = 1 OR 'a' = 'a'; SELECT id FROM staff_users",
        "SELECT id FROM staff_users",
    ] {
        client.simple_query(sql).await.unwrap_err();
    }
    drop(client);
    proxy.stop().await;
    let lines = read_audit(&audit).await;
    let scored: Vec<(&str, serde_json::Value, serde_json::Value)> = lines
        .iter()
        .filter(|l| l["event"] == "statement_allowed" || l["event"] == "statement_blocked")
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["risk"].clone(),
                l["risk_score"].clone(),
            )
        })
        .collect();
    use serde_json::json;
    assert_eq!(
        scored,
        vec![
            ("statement_allowed", json!(["tautology"]), json!(3)),
            ("statement_blocked", json!(["denied"]), json!(3)),
            (
                "statement_blocked",
                json!(["multi_statement", "tautology", "denied"]),
                json!(8)
            ),
            (
                "statement_blocked",
                json!(["denied", "repeated_violations"]),
                json!(5)
            ),
        ],
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forty_thousand_term_or_chain_cannot_take_the_proxy_down() {
    let config = common::config("max_message_bytes = 1048576\nmax_sql_bytes = 1048576");
    let proxy = Proxy::start_with(config).await;
    let bystander = proxy.connect(ANALYTICS).await;
    let client = proxy.connect(ANALYTICS).await;
    let mut sql = String::from("SELECT count(*) FROM orders WHERE ");
    for i in 0..40_000 {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!("id = {i}"));
    }
    assert!(sql.len() > 500_000);
    // actgate analyses it (on a large stack) and allows it; PostgreSQL may
    // answer or refuse it (stack depth), but nothing crashes.
    let result = client.simple_query(&sql).await;
    if let Err(e) = &result {
        let code = db_error(e).code().code().to_owned();
        assert_ne!(code, "42501", "the chain is allowed by policy: {e}");
    }
    for c in [&client, &bystander] {
        let rows = c.simple_query("SELECT 'still here'").await.unwrap();
        assert_eq!(first_value(&rows).as_deref(), Some("still here"));
    }
    // Over the analysis limit it is refused before parsing.
    let small = common::config("max_sql_bytes = 262144");
    let proxy = Proxy::start_with(small).await;
    let client = proxy.connect(ANALYTICS).await;
    let e = client.simple_query(&sql).await.unwrap_err();
    assert_denied(&e, "statement_too_long");
}

/// A Parse naming a statement that already exists does not replace it in
/// PostgreSQL (42P05): actgate must not replace what it holds the old one
/// to either, or the old statement would run under the new one's checks.
#[tokio::test]
async fn reparsing_an_existing_statement_name_cannot_shed_its_checks() {
    use bytes::BytesMut;
    use postgres_protocol::message::frontend;
    let proxy = Proxy::start().await;
    let mut conn = common::raw::RawConn::login(proxy.addr, SUPPORT_BOT, "shop").await;
    let order = common::connect_direct()
        .await
        .query_one("SELECT min(id) FROM orders", &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
        .to_string();
    let insert = "INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ($1::bigint, $2::int, 'reparse', 'kpatel')";
    let mut buf = BytesMut::new();
    frontend::parse("s", insert, [], &mut buf).unwrap();
    frontend::sync(&mut buf);
    conn.send(&buf).await;
    let answer = conn.until_ready().await;
    assert!(answer.iter().all(|m| m.tag != b'E'), "{answer:?}");

    // The same name for an innocent statement, then the old one bound to
    // a refund far above the value limit.
    let mut buf = BytesMut::new();
    frontend::parse("s", "SELECT 1", [], &mut buf).unwrap();
    frontend::sync(&mut buf);
    conn.send(&buf).await;
    let answer = conn.until_ready().await;
    let error = answer
        .iter()
        .find_map(|m| m.error())
        .expect("the second Parse is refused");
    assert_eq!(error.code, "42P05", "{error:?}");

    let mut buf = BytesMut::new();
    frontend::bind(
        "",
        "s",
        [0i16],
        [order.as_str(), "90000"],
        |v: &str, b: &mut BytesMut| {
            b.extend_from_slice(v.as_bytes());
            Ok(postgres_protocol::IsNull::No)
        },
        [0i16],
        &mut buf,
    )
    .unwrap_or_else(|_| panic!("encoding Bind"));
    frontend::execute("", 0, &mut buf).unwrap();
    frontend::sync(&mut buf);
    conn.send(&buf).await;
    let answer = conn.until_ready().await;
    let error = answer
        .iter()
        .find_map(|m| m.error())
        .unwrap_or_else(|| panic!("the old statement ran unchecked: {answer:?}"));
    assert_eq!(error.code, "42501", "{error:?}");
    let written: i64 = common::connect_direct()
        .await
        .query_one("SELECT count(*) FROM refunds WHERE reason = 'reparse'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(written, 0);
}
