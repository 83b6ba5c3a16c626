// PENDING (issue 12): test functions for checks that actgate refuses today,
// not registered with cargo. Once the item each waits for is merged, move
// it into the file named above it (it uses that file's helpers) and
// replace the expected refusal with the expected success. See README.md.

// --- tests/clients.rs (item 8: COPY (query) TO STDOUT judged as a read) ---

/// `\copy (query) to stdout` and `\copy table to stdout` as the analytics
/// agent; today both are statement_class_denied (copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copy_to_stdout_as_the_analytics_agent() {
    let (output, blocked) = psql_as_analytics(
        "\\copy (SELECT id, status FROM orders WHERE id <= 3 ORDER BY id) to stdout\n\
         \\copy products (sku) to stdout\n\
         \\copy (SELECT email FROM customers) to stdout\n\
         SELECT 1 AS still_usable;\n\
         BEGIN;\nCOMMIT;\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("1\tpaid\n") || stdout.starts_with("1\t"),
        "{}",
        common::describe(&output)
    );
    // The denied column stays denied inside COPY.
    assert_eq!(
        blocked,
        ["COPY  ( SELECT email FROM customers ) TO STDOUT  (\"column_denied\")"]
    );
}

// --- tests/client_matrix.rs (items 2, 6, 8, 9) ---

/// tests/drivers/pending/JdbcPending.java: item 6 (pgjdbc readOnlyMode=always
/// then setAutoCommit(false) / setReadOnly(false) sends SET SESSION
/// CHARACTERISTICS AS TRANSACTION READ WRITE: setting_pinned today).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_pending() {
    let source = drivers_dir().join("pending/JdbcPending.java");
    let classpath = javac(&source, "JdbcPending").await;
    let gate = Gate::start().await;
    let mut cmd = command("java");
    cmd.args(["-cp", &classpath])
        .args(["JdbcPending", "127.0.0.1", &gate.port(), "shop", &gate.token]);
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    check(
        "pgjdbc pending",
        &output,
        &blocked,
        "readOnlyMode=always then a transaction: ok on off\n",
        &[],
    );
}

/// tests/drivers/pending/pgx_pending.go: item 2 (BeginTx DEFERRABLE), item 9
/// (capped write in a transaction, BEGIN acknowledged first), item 8 (named
/// cursor).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgx_pending() {
    let binary = go_build(&drivers_dir().join("pending/pgx_pending.go"), "pgx_pending").await;
    let gate = Gate::start().await;
    let mut cmd = command(binary.to_str().unwrap());
    cmd.arg(gate.analytics_url()).arg(gate.token_url());
    let output = run(cmd).await;
    let blocked = gate.blocked().await;
    check(
        "pgx pending",
        &output,
        &blocked,
        "BeginTx deferrable: ok on\n\
         capped write in a transaction: ok 1\n\
         named cursor: ok 10\n",
        &[],
    );
}

// --- tests/client_matrix/rust_clients.rs (item 9: capped writes in an
// explicit transaction over the extended protocol, BEGIN acknowledged first;
// write_cap_in_transaction today) ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_capped_write_in_a_transaction() {
    let gate = Gate::start().await;
    let mut t = connect(&gate.token_url()).await;
    let tx = t.transaction().await.unwrap();
    let n = tx
        .execute(
            "UPDATE orders SET notes = NULL WHERE id = $1 AND customer_id = $2",
            &[&164_i64, &42_i64],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(n, 1);
    drop(t);
    assert_eq!(gate.blocked().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlx_capped_write_in_a_transaction() {
    let gate = Gate::start().await;
    let tokens = PgPoolOptions::new()
        .max_connections(2)
        .connect(&gate.token_url())
        .await
        .unwrap();
    let mut tx = tokens.begin().await.unwrap();
    let updated = sqlx::query("UPDATE orders SET notes = NULL WHERE id = $1 AND customer_id = $2")
        .bind(94_i64)
        .bind(42_i64)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    tx.commit().await.unwrap();
    assert_eq!(updated, 1);
    tokens.close().await;
    assert_eq!(gate.blocked().await, Vec::<String>::new());
}
