use super::binaries::has_server_binaries;
use super::*;
use std::sync::OnceLock;

/// Starts a cluster or fails the test loudly: a missing PostgreSQL is never a pass.
fn start_or_panic(opts: &LaunchOptions) -> TempPostgres {
    TempPostgres::start(opts).unwrap_or_else(|e| {
        panic!(
            "could not start a throwaway PostgreSQL (install the server, e.g. run \
             scripts/test.sh as root, or set {BIN_DIR_ENV}): {e}"
        )
    })
}

/// One cluster shared by the in-process tests. It lives in a static, so it is never
/// dropped: the watchdog must stop it when the test process exits.
fn shared() -> &'static TempPostgres {
    static CLUSTER: OnceLock<TempPostgres> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        start_or_panic(&LaunchOptions {
            database_names: vec!["actgate_test".to_owned()],
        })
    })
}

#[test]
fn finds_server_binaries() {
    let dir = find_bin_dir().unwrap_or_else(|e| panic!("PostgreSQL is required: {e}"));
    assert!(has_server_binaries(&dir), "{}", dir.display());
}

#[test]
fn roles_for_every_auth_method_can_connect() {
    let pg = shared();
    assert_eq!(pg.host(), "127.0.0.1");
    assert_eq!(pg.superuser(), "actgate_admin");
    assert!(pg.superuser_password().len() >= 32);
    assert_eq!(pg.psql("actgate_test", "select 1").unwrap().trim(), "1");

    pg.create_database("auth_db").unwrap();
    // Log every authentication so the test can see which hba method was used.
    pg.psql(
        "postgres",
        "ALTER SYSTEM SET log_connections = on;\nSELECT pg_reload_conf();\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while pg.psql("postgres", "show log_connections").unwrap().trim() != "on" {
        assert!(Instant::now() < deadline, "log_connections never turned on");
        thread::sleep(Duration::from_millis(50));
    }

    // Suffixed names (the convention) and one plain name routed only by membership.
    let mut roles: Vec<(String, UpstreamAuth)> = UpstreamAuth::ALL
        .iter()
        .map(|m| (format!("app{}", m.role_suffix().unwrap_or("_scram")), *m))
        .collect();
    roles.push(("plain_name".to_owned(), UpstreamAuth::Md5));

    for (role, method) in &roles {
        let password = format!("pw-{role}-'quote\"");
        pg.create_role(role, &password, *method).unwrap();

        let stored = pg
            .psql(
                "postgres",
                &format!(
                    "select rolpassword from pg_authid where rolname = {}",
                    quote_literal(role)
                ),
            )
            .unwrap();
        let expected_prefix = if *method == UpstreamAuth::Md5 {
            "md5"
        } else {
            "SCRAM-SHA-256$"
        };
        assert!(
            stored.starts_with(expected_prefix),
            "{role}: stored {stored:?}"
        );

        // Connect with psql over TCP, password in PGPASSWORD.
        let output = Command::new(pg.psql_bin())
            .args(["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                pg.host(),
                "-p",
                &pg.port().to_string(),
                "-U",
                role,
                "-d",
                "auth_db",
            ])
            .args(["-c", "select 1"])
            .env("PGPASSWORD", &password)
            .env("PGPASSFILE", "/dev/null")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{role} ({method}) could not connect: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            "1",
            "{role}"
        );

        let wrong = pg.psql_as("auth_db", role, Some("wrong password"), "select 1");
        let none = pg.psql_as("auth_db", role, None, "select 1");
        if *method == UpstreamAuth::Trust {
            assert_eq!(wrong.unwrap().trim(), "1");
            assert_eq!(none.unwrap().trim(), "1");
        } else {
            let err = wrong
                .expect_err("wrong password must be rejected")
                .to_string();
            assert!(
                err.contains("password authentication failed"),
                "{role}: {err}"
            );
            assert!(none.is_err(), "{role}: connected without a password");
        }

        // The server log names the method pg_hba.conf picked (PostgreSQL 14+).
        if pg.version_major() >= 14 && *method != UpstreamAuth::Trust {
            let needle = format!("identity=\"{role}\" method={}", method.hba_method());
            let deadline = Instant::now() + Duration::from_secs(10);
            while !fs::read_to_string(pg.log_path()).unwrap().contains(&needle) {
                assert!(
                    Instant::now() < deadline,
                    "log lacks {needle:?}:\n{}",
                    pg.log_tail(30)
                );
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn url_and_errors() {
    let pg = shared();
    let url = pg.url("actgate_test");
    assert_eq!(
        url,
        format!(
            "postgres://actgate_admin:{}@127.0.0.1:{}/actgate_test",
            pg.superuser_password(),
            pg.port()
        )
    );
    let err = pg
        .psql("actgate_test", "select 1/0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("division by zero"), "{err}");
    let err = pg.create_database("actgate_test").unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    // Identifiers are quoted, not interpolated.
    pg.create_database("we\"ird name").unwrap();
    assert_eq!(
        pg.psql("we\"ird name", "select current_database()")
            .unwrap()
            .trim(),
        "we\"ird name"
    );
}

#[test]
fn shop_demo_loads() {
    let pg = shared();
    pg.create_database("shop").unwrap();
    pg.load_shop("shop").unwrap();
    let counts = pg
        .psql(
            "shop",
            "select (select count(*) from customers), (select count(*) from orders), \
             (select count(*) from products), (select count(*) from payment_methods), \
             (select count(*) from staff_users), (select count(*) > 0 from refunds), \
             (select count(*) from orders o where total_cents <> \
                (select sum(quantity * unit_price_cents) from order_items i where i.order_id = o.id))",
        )
        .unwrap();
    let fields: Vec<&str> = counts.trim().split('|').collect();
    assert_eq!(fields[0], "50", "{counts}");
    assert_eq!(fields[1], "200", "{counts}");
    assert!(fields[2].parse::<u32>().unwrap() >= 10, "{counts}");
    assert_eq!(fields[3], "60", "{counts}");
    assert!(fields[4].parse::<u32>().unwrap() >= 3, "{counts}");
    assert_eq!(fields[5], "t", "{counts}");
    assert_eq!(fields[6], "0", "order totals match their items: {counts}");
    let statuses = pg
        .psql(
            "shop",
            "select string_agg(distinct status, ',' order by status) from orders",
        )
        .unwrap();
    assert_eq!(
        statuses.trim(),
        "cancelled,delivered,paid,pending,refunded,shipped"
    );
}

#[test]
fn hba_routes_by_group_and_suffix() {
    let v15 = hba_conf(15);
    assert!(v15.contains("+actgate_hba_md5"));
    assert!(!v15.contains("/_md5$"));
    let v16 = hba_conf(16);
    assert!(v16.contains("/_md5$"));
    assert!(v16.contains("/_password$"));
    assert!(v16.contains("/_trust$"));
    // The catch-all comes last.
    assert!(v16.trim_end().ends_with("::1/128        scram-sha-256"));
}

#[test]
fn port_conflicts_are_retried() {
    let exited = |log: &str| LaunchError::ServerExited {
        port: 5432,
        status: "exit status: 1".to_owned(),
        log_tail: log.to_owned(),
    };
    let conflict = "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                    FATAL:  could not create any TCP/IP sockets";
    assert!(is_port_conflict(&exited(conflict)));
    assert!(!is_port_conflict(&exited(
        "FATAL:  data directory has invalid permissions"
    )));
}

#[test]
fn quoting() {
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    assert_eq!(quote_literal("it's"), "'it''s'");
    assert_eq!(conninfo_quote("a'b\\c"), "'a\\'b\\\\c'");
    assert_eq!(shell_quote(OsStr::new("a b'c")), "'a b'\\''c'");
    assert_eq!(shell_quote(OsStr::new("/usr/bin/x")), "/usr/bin/x");
    assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
}

#[test]
fn drop_stops_server_and_removes_dir() {
    let pg = start_or_panic(&LaunchOptions::default());
    let port = pg.port();
    let dir = pg.root_dir().to_path_buf();
    assert_eq!(pg.psql("postgres", "select 1").unwrap().trim(), "1");
    drop(pg);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
}
