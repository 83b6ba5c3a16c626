// Test functions for tests/python_clients.rs that wait on other items of
// issue 12. Not compiled here (cargo only builds tests/*.rs): once an item
// is merged, move its function into tests/python_clients.rs, where
// `run_client`, `require`, `require_code` and `REFUSED` are defined. See
// README.md beside this file for what each one waits on and the exact
// statement and refusal it meets today.

/// psycopg2: named cursors, scroll (MOVE), COPY TO, SQL PREPARE/EXECUTE,
/// EXPLAIN (item 8, scroll also item 3), and a DEFERRABLE transaction
/// (item 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2_cursors_copy_prepare_explain_deferrable() {
    require(&["psycopg2"]).await;
    run_client(
        "pending/psycopg2_pending.py",
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
        "pending/psycopg_pending.py",
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
        "pending/asyncpg_pending.py",
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
        &[("analytics", "column_denied", "COPY (SELECT email FROM customers)")],
    )
    .await;
}

/// Reflection on psycopg 3 and asyncpg, pandas read_sql_table on psycopg 3,
/// LangChain's default URI (item 1), and stream_results on psycopg 2 and 3
/// (item 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_on_psycopg3_and_asyncpg_and_stream_results() {
    require(&["sqlalchemy", "psycopg", "psycopg2", "asyncpg", "greenlet", "pandas"]).await;
    run_client(
        "pending/reflection_pending.py",
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
        "pending/postgres_mcp_pending.py",
        "unrestricted explain_query: True True\n\
         unrestricted explain refused: True\n\
         restricted explain_query: True True\n\
         restricted explain refused: True\n\
         closed\n",
        &[
            ("analytics", "column_denied", "EXPLAIN (FORMAT JSON) SELECT email"),
            ("analytics", "column_denied", "/* crystaldba */ EXPLAIN (FORMAT JSON) SELECT email"),
        ],
    )
    .await;
}
