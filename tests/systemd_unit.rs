//! deploy/systemd: the service unit a VM runs actgate with, and the
//! logrotate file for its audit log, checked against what actgate needs
//! (README, "Running the binary on a VM").

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The directives of deploy/systemd/actgate.service, in order.
fn unit_directives() -> Vec<(String, String)> {
    read("deploy/systemd/actgate.service")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn the_service_unit_runs_unprivileged_reloads_on_sighup_and_writes_only_its_log() {
    let unit = unit_directives();
    let get = |key: &str| -> Vec<&str> {
        unit.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(get("User"), ["actgate"]);
    assert_eq!(
        get("ExecStart"),
        ["/usr/local/bin/actgate serve --config /etc/actgate/actgate.toml"]
    );
    assert_eq!(get("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ReadWritePaths", "/var/log/actgate"),
        ("LogsDirectory", "actgate"),
        ("Environment", "NO_COLOR=1"),
    ] {
        assert_eq!(get(key), [value], "{key}");
    }
    // Room for the example configuration's sessions: two descriptors each,
    // the logins in progress and actgate's own.
    let example: toml::Table = read("actgate.example.toml").parse().unwrap();
    let server = example["server"].as_table().unwrap();
    let max = server["max_connections"].as_integer().unwrap();
    let unauth = server
        .get("max_unauthenticated_connections")
        .and_then(toml::Value::as_integer)
        .unwrap_or(128);
    let nofile: i64 = get("LimitNOFILE")[0].parse().unwrap();
    assert!(nofile >= 2 * max + unauth + 64, "LimitNOFILE={nofile}");
    // The service's grace outlasts actgate's own shutdown grace.
    let grace_ms = server
        .get("shutdown_grace_ms")
        .and_then(toml::Value::as_integer)
        .unwrap_or(30_000);
    let stop: i64 = get("TimeoutStopSec")[0]
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(stop * 1000 > grace_ms, "TimeoutStopSec={stop}s");
    let rotate = read("deploy/systemd/actgate.logrotate");
    assert!(rotate.contains("/var/log/actgate/audit.jsonl"));
    assert!(rotate.contains("systemctl reload actgate"));
    assert!(
        !rotate.contains("\n    copytruncate"),
        "copytruncate loses lines"
    );
}
