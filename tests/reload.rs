//! Hot reload: the rules directory is watched, and a reload can be asked
//! for (admin endpoint, SIGHUP). A valid set is swapped in for every
//! session's next statement, prepared statements included; an invalid set
//! is refused with its errors in the log, the audit log, `/metrics`,
//! `/readyz` and `actgate status`, and the old set stays in force.

mod common;

use common::Proxy;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

/// The `tester` verifier (secret "tester-secret"), for an agent of the
/// test's own.
fn verifier() -> String {
    let tester = std::fs::read_to_string(common::rules_dir().join("tester.toml")).unwrap();
    tester
        .lines()
        .find(|l| l.starts_with("secret_verifier"))
        .unwrap()
        .to_owned()
}

/// The `reloader` agent: orders always readable, staff_users always
/// denied, order_items readable only in version A.
fn reloader(version: char, comment: &str) -> String {
    let items = if version == 'A' {
        "\n[tables.order_items]\noperations = [\"select\"]\n"
    } else {
        ""
    };
    format!(
        "# {comment}\n[agent]\nname = \"reloader\"\ndatabases = [\"shop\"]\n{}\n\n[policy]\nstatements = [\"read\", \"prepare\", \"execute\", \"deallocate\"]\n\n[tables.orders]\noperations = [\"select\"]\n{items}\n[deny]\ntables = [\"staff_users\"]\n",
        verifier()
    )
}

/// A proxy that watches `rules` closely and audits into `audit`.
async fn watching_and_audited(rules: &Path, audit: &Path) -> Proxy {
    let (_, config) = common::config_text_in(
        rules,
        "127.0.0.1:0",
        "rules_poll_ms = 20\nrules_settle_ms = 100",
        &format!("\n[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    Proxy::start_with(config).await
}

/// Replaces a rules file at once (write, then rename), as deploy tools do.
fn put(dir: &Path, name: &str, text: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

async fn connect(proxy: &Proxy, agent: &str) -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(&proxy.url((agent, "tester-secret"), "shop"), NoTls)
            .await
            .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Waits (bounded) until the gateway reports `done`.
async fn until(
    proxy: &Proxy,
    what: &str,
    done: impl Fn(&actgate::proxy::reload::ReloadStatus) -> bool,
) {
    for _ in 0..400 {
        if done(&proxy.gateway.reload_status()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: {:?}", proxy.gateway.reload_status());
}

fn reason(e: &tokio_postgres::Error) -> String {
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("not a server error: {e}"));
    db.detail().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn twenty_reloads_under_load_change_nothing_they_should_not() {
    let rules = common::rules_copy();
    put(rules.path(), "reloader.toml", &reloader('A', "v0"));
    let (_, config) = common::config_text_in(
        rules.path(),
        "127.0.0.1:0",
        "rules_poll_ms = 20\nrules_settle_ms = 100",
        "",
    );
    let proxy = Proxy::start_with(config).await;

    // Two clients run statements without pause through every reload: one
    // in the simple protocol, one through a prepared statement.
    let stop = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for prepared in [false, true] {
        let client = connect(&proxy, "reloader").await;
        let (stop, runs) = (stop.clone(), runs.clone());
        load.push(tokio::spawn(async move {
            let statement = client
                .prepare("SELECT count(*) FROM orders WHERE id > $1")
                .await
                .unwrap();
            while !stop.load(Ordering::Relaxed) {
                if prepared {
                    let n: i64 = client
                        .query_one(&statement, &[&0i64])
                        .await
                        .expect("allowed in every version")
                        .get(0);
                    assert!(n > 0);
                } else {
                    client
                        .simple_query("SELECT count(*) FROM orders")
                        .await
                        .expect("allowed in every version");
                }
                let e = client
                    .simple_query("SELECT username FROM staff_users")
                    .await
                    .expect_err("denied in every version");
                assert!(reason(&e).contains("reason: table_denied"), "{e:?}");
                runs.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Ten reloads by editing the directory, ten asked for directly.
    for i in 1..=20u64 {
        let version = if i % 2 == 1 { 'B' } else { 'A' };
        let before = runs.load(Ordering::Relaxed);
        if i <= 10 {
            put(
                rules.path(),
                "reloader.toml",
                &reloader(version, &format!("v{i}")),
            );
            until(&proxy, "the watcher reloads", |s| s.generation == i + 1).await;
        } else {
            put(
                rules.path(),
                "reloader.toml",
                &reloader(version, &format!("v{i}")),
            );
            // The watcher may get there first; either way one generation.
            let _ = proxy.gateway.reload_rules("admin").await;
            until(&proxy, "reloaded", |s| s.generation > i).await;
        }
        // Statements keep running between reloads.
        for _ in 0..200 {
            if runs.load(Ordering::Relaxed) > before + 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await
            .expect("no statement failed or was wrongly allowed during the reloads");
    }
    let status = proxy.gateway.reload_status();
    assert!(status.reloads_ok >= 20, "{status:?}");
    assert_eq!(status.reloads_failed, 0, "{status:?}");
    assert!(status.last_error.is_none());

    // The last version (A) is in force for sessions opened before it.
    let client = connect(&proxy, "reloader").await;
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();
    let items = client
        .prepare("SELECT count(*) FROM order_items WHERE order_id > $1")
        .await
        .unwrap();
    client.query_one(&items, &[&0i64]).await.unwrap();
    // Version B: the same session, the same prepared statement: refused at
    // its next Bind, and for new statements.
    put(rules.path(), "reloader.toml", &reloader('B', "final"));
    let next = proxy.gateway.reload_status().generation + 1;
    until(&proxy, "reloaded to B", |s| s.generation >= next).await;
    let e = client.query_one(&items, &[&0i64]).await.unwrap_err();
    assert!(reason(&e).contains("reason: table_not_allowed"), "{e:?}");
    let e = client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap_err();
    assert!(reason(&e).contains("reason: table_not_allowed"), "{e:?}");
    // SQL-level prepared statements are decided again too.
    put(rules.path(), "reloader.toml", &reloader('A', "again"));
    let next = proxy.gateway.reload_status().generation + 1;
    until(&proxy, "reloaded to A", |s| s.generation >= next).await;
    client
        .simple_query("PREPARE items AS SELECT count(*) FROM order_items")
        .await
        .unwrap();
    client.simple_query("EXECUTE items").await.unwrap();
    put(rules.path(), "reloader.toml", &reloader('B', "last"));
    let next = proxy.gateway.reload_status().generation + 1;
    until(&proxy, "reloaded to B", |s| s.generation >= next).await;
    let e = client.simple_query("EXECUTE items").await.unwrap_err();
    assert!(reason(&e).contains("reason: table_not_allowed"), "{e:?}");
    client
        .simple_query("SELECT count(*) FROM orders")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_invalid_set_is_refused_reported_and_the_old_one_stays() {
    let rules = common::rules_copy();
    put(rules.path(), "reloader.toml", &reloader('A', "good"));
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = watching_and_audited(rules.path(), &audit).await;
    let client = connect(&proxy, "reloader").await;
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();

    // A typo'd key in one file, and a table that does not exist in another:
    // neither file, nor the valid edit beside them, is applied.
    let mut bad = reloader('B', "bad");
    bad = bad.replace("[policy]\n", "[policy]\nrequire_were = true\n");
    put(rules.path(), "reloader.toml", &bad);
    until(&proxy, "the bad set is refused", |s| s.last_error.is_some()).await;
    let status = proxy.gateway.reload_status();
    let error = status.last_error.clone().unwrap();
    assert!(
        error.contains("reloader.toml") && error.contains("require_were"),
        "{error}"
    );
    assert_eq!(status.generation, 1, "nothing was swapped in");
    // Still version A: order_items readable, by the old session and new ones.
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();
    connect(&proxy, "reloader")
        .await
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();

    let metrics = proxy.gateway.render_metrics();
    assert!(
        metrics.contains("actgate_rules_reload_failing 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("actgate_rules_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );

    // Fixed: the next reload applies it and the failure clears.
    put(rules.path(), "reloader.toml", &reloader('B', "fixed"));
    until(&proxy, "the fixed set loads", |s| {
        s.last_error.is_none() && s.generation == 2
    })
    .await;
    let e = client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap_err();
    assert!(reason(&e).contains("table_not_allowed"), "{e:?}");
    assert!(
        proxy
            .gateway
            .render_metrics()
            .contains("actgate_rules_reload_failing 0")
    );

    // A table that is not in the database fails the whole set too.
    put(
        rules.path(),
        "reloader.toml",
        &reloader('A', "ghost").replace(
            "[tables.orders]",
            "[tables.ghosts]\noperations = [\"select\"]\n\n[tables.orders]",
        ),
    );
    until(&proxy, "the ghost table is refused", |s| {
        s.last_error.is_some()
    })
    .await;
    let error = proxy.gateway.reload_status().last_error.unwrap();
    assert!(
        error.contains("ghosts") && error.contains("does not exist"),
        "{error}"
    );

    // The audit writer runs behind a queue: wait for the events.
    let mut events: Vec<serde_json::Value> = Vec::new();
    for _ in 0..200 {
        events = std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        if events
            .iter()
            .filter(|e| e["event"] == "rules_reload_failed")
            .count()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "rules_reload_failed")
        .collect();
    assert_eq!(failed.len(), 2, "{events:#?}");
    assert!(
        failed[0]["message"]
            .as_str()
            .unwrap()
            .contains("require_were")
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "rules_reloaded")
            .count(),
        1
    );
}

#[tokio::test]
async fn removing_an_agent_ends_its_sessions() {
    let rules = common::rules_copy();
    put(rules.path(), "reloader.toml", &reloader('A', "here"));
    let (_, config) = common::config_text_in(rules.path(), "127.0.0.1:0", "rules_poll_ms = 0", "");
    let proxy = Proxy::start_with(config).await;
    let client = connect(&proxy, "reloader").await;
    let other = connect(&proxy, "tester").await;
    client.simple_query("SELECT 1").await.unwrap();
    std::fs::remove_file(rules.path().join("reloader.toml")).unwrap();
    proxy.gateway.reload_rules("admin").await.unwrap();
    for _ in 0..200 {
        if client.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(client.is_closed(), "the removed agent's session was ended");
    other.simple_query("SELECT 1").await.unwrap();
    let e = tokio_postgres::connect(&proxy.url(("reloader", "tester-secret"), "shop"), NoTls)
        .await
        .err()
        .expect("login refused");
    let message = e
        .as_db_error()
        .map(|d| d.message().to_owned())
        .unwrap_or_default();
    assert!(message.contains("password authentication failed"), "{e:?}");
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(args: &[&str], token_file: &Path) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_actgate"));
    cmd.args(args)
        .arg("--token-file")
        .arg(token_file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    common::run_blocking(cmd, Duration::from_secs(30))
}

#[tokio::test]
async fn sighup_reloads_a_running_actgate_and_status_shows_failures() {
    let rules = common::rules_copy();
    put(rules.path(), "reloader.toml", &reloader('B', "start"));
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "status-admin-token-0123456789").unwrap();
    let (port, admin_port) = (free_port(), free_port());
    let (text, _) = common::config_text_in(
        rules.path(),
        &format!("127.0.0.1:{port}"),
        "rules_poll_ms = 0",
        &format!(
            "\n[admin]\nlisten = \"127.0.0.1:{admin_port}\"\ntoken_file = {:?}\n",
            token_file.display().to_string()
        ),
    );
    let config = dir.path().join("actgate.toml");
    std::fs::write(&config, text).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_actgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = child.id();
    let _guard = Kill(std::mem::replace(
        &mut child,
        std::process::Command::new("true").spawn().unwrap(),
    ));
    let admin_url = format!("http://127.0.0.1:{admin_port}");
    let status = |token_file: std::path::PathBuf, admin_url: String| async move {
        tokio::task::spawn_blocking(move || {
            run(&["status", "--admin-url", &admin_url], &token_file)
        })
        .await
        .unwrap()
    };
    let mut started = None;
    for _ in 0..400 {
        let out = status(token_file.clone(), admin_url.clone()).await;
        if out.status.success() {
            started = Some(out);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let out = started.expect("actgate serve came up");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("generation 1"),
        "{}",
        common::describe(&out)
    );

    let url = format!("postgres://reloader:tester-secret@127.0.0.1:{port}/shop");
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap_err();

    // Edit, then SIGHUP: nothing is polled (rules_poll_ms = 0).
    put(rules.path(), "reloader.toml", &reloader('A', "hup"));
    let hup = |pid: u32| {
        let ok = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    hup(pid);
    let mut reloaded = false;
    for _ in 0..400 {
        let out = status(token_file.clone(), admin_url.clone()).await;
        if String::from_utf8_lossy(&out.stdout).contains("generation 2") {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(reloaded, "SIGHUP reloaded the rules");
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();

    // A bad edit and SIGHUP: status reports it and exits 1.
    put(
        rules.path(),
        "reloader.toml",
        "[agent]\nname = \"reloader\"\nsurprise = 1\n",
    );
    hup(pid);
    let mut failed = None;
    for _ in 0..400 {
        let out = status(token_file.clone(), admin_url.clone()).await;
        if !out.status.success() {
            failed = Some(out);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let out = failed.expect("status reports the failed reload");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("LAST RELOAD FAILED") && text.contains("surprise"),
        "{}",
        common::describe(&out)
    );
    assert!(text.contains("generation 2"), "{text}");
    // /readyz says so too, and the old rules keep serving.
    let readyz = tokio::task::spawn_blocking(move || {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", admin_port)).unwrap();
        use std::io::{Read, Write};
        tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap();
        let mut s = String::new();
        tcp.read_to_string(&mut s).unwrap();
        s
    })
    .await
    .unwrap();
    assert!(
        readyz.starts_with("HTTP/1.1 200") && readyz.contains("reload failed"),
        "{readyz}"
    );
    client
        .simple_query("SELECT count(*) FROM order_items")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reload_that_could_not_reach_the_database_is_retried() {
    let rules = common::rules_copy();
    let (_, config) = common::config_text_in(
        rules.path(),
        "127.0.0.1:0",
        "rules_poll_ms = 20\nrules_settle_ms = 100",
        "",
    );
    let proxy = Proxy::start_with(config).await;
    // An agent for a database that does not exist yet: its catalog cannot
    // be loaded, so the set is refused, and retried.
    let agent = format!(
        "[agent]\nname = \"remote\"\ndatabases = [\"reload_retry\"]\n{}\n\n[policy]\nstatements = [\"read\"]\n\n[tables.things]\noperations = [\"select\"]\n",
        verifier()
    );
    put(rules.path(), "remote.toml", &agent);
    until(&proxy, "the set is refused", |s| s.last_error.is_some()).await;
    let status = proxy.gateway.reload_status();
    assert_eq!(status.generation, 1);
    let error = status.last_error.unwrap();
    assert!(error.contains("reload_retry"), "{error}");
    assert!(proxy.gateway.rules().agent("remote").is_none());

    let pg = &common::database().pg;
    pg.create_database("reload_retry").unwrap();
    pg.psql("reload_retry", "CREATE TABLE things (id int)")
        .unwrap();
    until(&proxy, "the retry loads it", |s| {
        s.last_error.is_none() && s.generation == 2
    })
    .await;
    let status = proxy.gateway.reload_status();
    assert_eq!(status.last_trigger, Some("retry"), "{status:?}");
    assert!(proxy.gateway.rules().agent("remote").is_some());
}

// ---------------------------------------------------------------------------
// A rules file caught half-written is never loaded (issue 11, item 2)
// ---------------------------------------------------------------------------

/// The `guarded` agent: customers readable without `email`, split just
/// before its `columns` restriction. The first part alone is valid TOML
/// that would let the agent read every column, emails included.
fn guarded(comment: &str) -> (String, &'static str) {
    (
        format!(
            "# {comment}\n[agent]\nname = \"guarded\"\ndatabases = [\"shop\"]\n{}\n\n[policy]\nstatements = [\"read\"]\n\n[tables.customers]\noperations = [\"select\"]\n",
            verifier()
        ),
        "columns = [\"id\", \"country\"]\n",
    )
}

/// What `/status` says about reloads (its JSON, as an operator sees it).
fn reload_json(proxy: &Proxy) -> serde_json::Value {
    serde_json::to_value(proxy.gateway.reload_status()).unwrap()
}

/// Whether a reload is waiting for the rules directory to hold still.
fn settling(proxy: &Proxy) -> bool {
    reload_json(proxy)["settling"] == true
}

/// Overwrites `path` in place in two chunks, as a slow `cp` or an editor
/// saving over the file does: writes `first`, starts `reload`, and writes
/// `rest` once the reload has looked at the directory (it waits for it to
/// hold still) or has finished. Returns the reload's outcome.
///
/// The test runtime has one thread: between seeing the reload wait and
/// writing `rest` nothing else runs, so the second chunk always lands
/// inside the reload's settle interval, whatever the machine's speed.
async fn write_in_two_chunks_during<T: Send + 'static>(
    proxy: &Proxy,
    path: &Path,
    (first, rest): (String, &str),
    reload: impl FnOnce() -> tokio::task::JoinHandle<T>,
) -> T {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    file.write_all(first.as_bytes()).unwrap();
    let task = reload();
    for _ in 0..4000 {
        if task.is_finished() || settling(proxy) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    file.write_all(rest.as_bytes()).unwrap();
    drop(file);
    task.await.unwrap()
}

/// `SELECT email FROM customers` is refused for column_denied, and the
/// allowed columns still read (a session follows every new generation).
async fn emails_stay_hidden(proxy: &Proxy, client: &tokio_postgres::Client, what: &str) {
    match client
        .simple_query("SELECT email FROM customers LIMIT 1")
        .await
    {
        Ok(_) => panic!(
            "{what}: SELECT email FROM customers was allowed: a half-written rules file was loaded ({:?})",
            proxy.gateway.reload_status()
        ),
        Err(e) => assert!(
            reason(&e).contains("reason: column_denied"),
            "{what}: {e:?}"
        ),
    }
    client
        .simple_query("SELECT id, country FROM customers LIMIT 1")
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
}

#[tokio::test]
async fn an_explicit_reload_during_a_write_reports_it_and_loads_nothing() {
    let rules = common::rules_copy();
    let (first, rest) = guarded("v0");
    put(rules.path(), "guarded.toml", &format!("{first}{rest}"));
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let (_, config) = common::config_text_in(
        rules.path(),
        "127.0.0.1:0",
        "rules_poll_ms = 0\nrules_settle_ms = 200",
        &format!("\n[audit]\npath = {:?}\n", audit.display().to_string()),
    );
    let proxy = Proxy::start_with(config).await;
    let client = connect(&proxy, "guarded").await;
    emails_stay_hidden(&proxy, &client, "as started").await;
    let path = rules.path().join("guarded.toml");

    // SIGHUP (the signal handler calls exactly this) while the file is
    // being written: refused as still changing, nothing loaded.
    let gateway = proxy.gateway.clone();
    let outcome = write_in_two_chunks_during(&proxy, &path, guarded("v1"), || {
        tokio::spawn(async move { gateway.reload_rules("sighup").await })
    })
    .await;
    emails_stay_hidden(&proxy, &client, "SIGHUP during a write").await;
    let e = outcome.expect_err("a reload during a write loads nothing");
    assert!(e.to_string().contains("still changing"), "{e}");
    let status = proxy.gateway.reload_status();
    assert_eq!(status.generation, 1, "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .unwrap()
            .contains("still changing"),
        "{status:?}"
    );
    // Once it holds still, the next SIGHUP loads the whole file.
    assert_eq!(proxy.gateway.reload_rules("sighup").await.unwrap(), 2);
    emails_stay_hidden(&proxy, &client, "after the write").await;

    // `actgate reload` (POST /reload) during a write: exit status 1 and
    // the reason, nothing loaded.
    let token = "reload-admin-token-0123456789";
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, token).unwrap();
    let admin = common::start_admin(&proxy, token).await;
    let url = format!("http://{admin}");
    let cli = |url: String, token_file: std::path::PathBuf| {
        move || {
            tokio::task::spawn_blocking(move || run(&["reload", "--admin-url", &url], &token_file))
        }
    };
    let out = write_in_two_chunks_during(
        &proxy,
        &path,
        guarded("v2"),
        cli(url.clone(), token_file.clone()),
    )
    .await;
    emails_stay_hidden(&proxy, &client, "actgate reload during a write").await;
    assert!(!out.status.success(), "{}", common::describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("409") && stderr.contains("still changing"),
        "{}",
        common::describe(&out)
    );
    assert_eq!(proxy.gateway.reload_status().generation, 2);
    let out = cli(url, token_file)().await.unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("generation 3"),
        "{}",
        common::describe(&out)
    );
    emails_stay_hidden(&proxy, &client, "after the second write").await;

    // Both refusals are audited, with the reason.
    let mut failed = Vec::new();
    for _ in 0..200 {
        failed = std::fs::read_to_string(&audit)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == "rules_reload_failed")
            .collect();
        if failed.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(failed.len(), 2, "{failed:#?}");
    for e in &failed {
        assert!(
            e["message"].as_str().unwrap().contains("still changing"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn the_watcher_does_not_load_a_file_that_changes_while_it_settles() {
    let rules = common::rules_copy();
    let (first, rest) = guarded("v0");
    put(rules.path(), "guarded.toml", &format!("{first}{rest}"));
    let (_, config) = common::config_text_in(
        rules.path(),
        "127.0.0.1:0",
        "rules_poll_ms = 20\nrules_settle_ms = 200",
        "",
    );
    let proxy = Proxy::start_with(config).await;
    let client = connect(&proxy, "guarded").await;
    emails_stay_hidden(&proxy, &client, "as started").await;
    let path = rules.path().join("guarded.toml");
    // The watcher starts the reload itself; the second chunk lands while it
    // waits for the directory to hold still (or, if it did not wait, just
    // after it loaded the first).
    let gateway = proxy.gateway.clone();
    write_in_two_chunks_during(&proxy, &path, guarded("v1"), || {
        tokio::spawn(async move {
            for _ in 0..4000 {
                if gateway.reload_status().generation > 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    })
    .await;
    // The task above ends at the first new generation; without it having
    // waited, that is the half file.
    emails_stay_hidden(&proxy, &client, "the watcher during a write").await;
    until(&proxy, "the watcher loads the whole file", |s| {
        s.generation >= 2
    })
    .await;
    emails_stay_hidden(&proxy, &client, "the watcher after the write").await;
    let status = proxy.gateway.reload_status();
    assert_eq!(
        status.generation, 2,
        "one load, of the whole file: {status:?}"
    );
    assert_eq!(status.reloads_failed, 0, "{status:?}");
}

/// Each allowed statement's audit event tells its risk under the rules it
/// ran under: the same statement (and the same shape with other literals)
/// audited again after a reload that marks its table sensitive says so,
/// and stops saying so when the mark is gone.
#[tokio::test]
async fn an_audited_statement_says_what_the_rules_in_force_make_of_it() {
    let rules = common::rules_copy();
    put(rules.path(), "reloader.toml", &reloader('A', "plain"));
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let proxy = watching_and_audited(rules.path(), &audit).await;
    let client = connect(&proxy, "reloader").await;
    let sensitive = reloader('A', "sensitive")
        .replace("[policy]\n", "[policy]\nsensitive_tables = [\"orders\"]\n");
    let versions = [
        ("plain", None),
        ("sensitive", Some(&sensitive)),
        ("plain again", None),
    ];
    for (step, (name, text)) in versions.into_iter().enumerate() {
        if step > 0 {
            let plain = reloader('A', name);
            put(rules.path(), "reloader.toml", text.unwrap_or(&plain));
            let next = proxy.gateway.reload_status().generation + 1;
            until(&proxy, name, |s| s.generation >= next).await;
        }
        for i in 0..3 {
            // One shape throughout: its literal tells the step.
            let sql = format!("SELECT count(*) FROM orders WHERE id > {}", 1000 * step + i);
            client.simple_query(&sql).await.unwrap();
            // Between them, another table's statement says its own.
            let other = format!("SELECT count(*) FROM order_items WHERE order_id > {i}");
            client.simple_query(&other).await.unwrap();
        }
    }
    let mut events = Vec::new();
    for _ in 0..400 {
        events = common::audit_events(&audit);
        let allowed = events.iter().filter(|e| e["event"] == "statement_allowed");
        if allowed
            .filter(|e| e["sql"].as_str().is_some_and(|s| s.contains("FROM order")))
            .count()
            == 18
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    for step in 0..3 {
        let risks: Vec<bool> = events
            .iter()
            .filter(|e| {
                let sql = e["sql"].as_str().unwrap_or_default();
                (0..3).any(|i| sql.ends_with(&format!("WHERE id > {}", 1000 * step + i)))
            })
            .map(|e| {
                let risk = e["risk"].as_array().cloned().unwrap_or_default();
                risk.iter().any(|r| r == "sensitive_table")
            })
            .collect();
        assert_eq!(risks, vec![step == 1; 3], "step {step}: {events:#?}");
    }
    let others: Vec<_> = events
        .iter()
        .filter(|e| e["sql"].as_str().is_some_and(|s| s.contains("order_items")))
        .map(|e| (e["tables"].clone(), e["risk"].clone()))
        .collect();
    let expected = (
        serde_json::json!(["public.order_items"]),
        serde_json::Value::Null,
    );
    assert_eq!(others, vec![expected; 9], "{events:#?}");
}
