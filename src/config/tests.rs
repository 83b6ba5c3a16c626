use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("test.toml"), Path::new("/etc/actgate"))
}

#[test]
fn minimal_config_gets_defaults() {
    let c = parse("[upstream]\nuser = \"actgate\"\n").unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:6432");
    assert_eq!(c.rules_dir, Path::new("/etc/actgate/rules"));
    assert_eq!(c.limits.max_message_bytes, 1 << 20);
    assert_eq!(c.limits.max_unauthenticated_connections, 128);
    assert_eq!(c.upstream.search_path, "public");
    assert!(c.limits.idle_timeout.is_none());
}

#[test]
fn unknown_keys_are_rejected() {
    let e = parse("[upstream]\nuser = \"a\"\nread_only-true = 1\n").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    let e = parse("[server]\nlisten_addr = \"x\"\n[upstream]\nuser = \"a\"\n").unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
}

#[test]
fn token_keys_may_be_bound_to_agents() {
    use crate::token::AgentPattern;
    let up = "[upstream]\nuser = \"a\"\n";
    // The plain list alone, as before: every key signs for every agent.
    let c = parse(&format!("{up}[tokens]\npublic_keys = [\"k.pub\"]\n")).unwrap();
    let t = c.tokens.unwrap();
    assert_eq!(t.public_keys, vec![PathBuf::from("/etc/actgate/k.pub")]);
    assert!(t.bound_keys.is_empty());
    // Bound keys alone, or next to the plain list.
    let c = parse(&format!(
        "{up}[tokens]\npublic_keys = [\"k.pub\"]\n\
         [[tokens.keys]]\npublic_key = \"support.pub\"\nagents = [\"support-*\", \"billing-bot\"]\n\
         [[tokens.keys]]\npublic_key = \"/keys/ops.pub\"\nagents = [\"ops\"]\n"
    ))
    .unwrap();
    let t = c.tokens.unwrap();
    assert_eq!(t.bound_keys.len(), 2);
    assert_eq!(
        t.bound_keys[0].public_key,
        PathBuf::from("/etc/actgate/support.pub")
    );
    assert_eq!(
        t.bound_keys[0].agents,
        vec![
            AgentPattern::Prefix("support-".into()),
            AgentPattern::Exact("billing-bot".into())
        ]
    );
    assert_eq!(t.bound_keys[1].public_key, PathBuf::from("/keys/ops.pub"));
    let c = parse(&format!(
        "{up}[[tokens.keys]]\npublic_key = \"b.pub\"\nagents = [\"b\"]\n"
    ))
    .unwrap();
    assert!(c.tokens.unwrap().public_keys.is_empty());

    for (tokens, error) in [
        ("[tokens]\n", "at least one key file"),
        ("[tokens]\npublic_keys = []\n", "at least one key file"),
        (
            "[[tokens.keys]]\npublic_key = \"b.pub\"\nagents = []\n",
            "tokens.keys[0].agents must name",
        ),
        (
            "[[tokens.keys]]\npublic_key = \"b.pub\"\nagents = [\"a*b\"]\n",
            "tokens.keys[0].agents: agent pattern \"a*b\"",
        ),
        (
            "[[tokens.keys]]\npublic_key = \"b.pub\"\n",
            "missing field `agents`",
        ),
        (
            "[[tokens.keys]]\npublic_key = \"b.pub\"\nagents = [\"b\"]\nagent = \"c\"\n",
            "unknown field",
        ),
    ] {
        let e = parse(&format!("{up}{tokens}")).unwrap_err();
        assert!(e.to_string().contains(error), "{tokens}: {e}");
    }
}

#[test]
fn the_admin_token_is_read_from_its_file_and_must_be_long() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "abc\n").unwrap();
    let long = dir.path().join("long");
    std::fs::write(&long, "0123456789abcdef0123\n").unwrap();
    let text = |file: &std::path::Path| {
        format!(
            "[upstream]\nuser = \"a\"\n[admin]\nlisten = \"127.0.0.1:9187\"\ntoken_file = {:?}\n",
            file.display().to_string()
        )
    };
    let e = parse(&text(&short)).unwrap_err();
    assert!(e.to_string().contains("at least 16"), "{e}");
    let c = parse(&text(&long)).unwrap();
    let admin = c.admin.unwrap();
    assert_eq!(admin.token, "0123456789abcdef0123");
    assert!(!format!("{admin:?}").contains("0123456789"));
    let e = parse(&text(&dir.path().join("missing"))).unwrap_err();
    assert!(e.to_string().contains("admin.token_file"), "{e}");
}

#[test]
fn time_zone_must_be_a_known_iana_name() {
    let e =
        parse("[upstream]\nuser = \"a\"\n[controls]\ntime_zone = \"Mars/Olympus\"\n").unwrap_err();
    assert!(e.to_string().contains("controls.time_zone"), "{e}");
    let c = parse("[upstream]\nuser = \"a\"\n[controls]\ntime_zone = \"Europe/Berlin\"\n").unwrap();
    assert_eq!(c.time_zone.iana_name(), Some("Europe/Berlin"));
    assert_eq!(
        parse("[upstream]\nuser = \"a\"\n").unwrap().time_zone,
        jiff::tz::TimeZone::UTC
    );
}

#[test]
fn search_path_must_be_plain_identifiers() {
    let e = parse("[upstream]\nuser = \"a\"\nsearch_path = \"public, x'\"\n").unwrap_err();
    assert!(e.to_string().contains("search_path"), "{e}");
    assert!(parse("[upstream]\nuser = \"a\"\nsearch_path = \"shop, public\"\n").is_ok());
}

#[test]
fn missing_password_variable_is_an_error() {
    let e = parse("[upstream]\nuser = \"a\"\npassword_env = \"ACTGATE_TEST_SURELY_UNSET_VAR\"\n")
        .unwrap_err();
    assert!(
        e.to_string().contains("ACTGATE_TEST_SURELY_UNSET_VAR"),
        "{e}"
    );
}

#[test]
fn password_is_redacted_in_debug() {
    let mut c = parse("[upstream]\nuser = \"a\"\n").unwrap();
    c.upstream.password = Some("hunter2".into());
    assert!(!format!("{c:?}").contains("hunter2"));
}

#[test]
fn absurd_message_limit_is_rejected() {
    let e = parse("[server]\nmax_message_bytes = 10\n[upstream]\nuser = \"a\"\n").unwrap_err();
    assert!(e.to_string().contains("max_message_bytes"), "{e}");
}

#[test]
fn the_rules_settle_interval_is_bounded() {
    let c = parse("[upstream]\nuser = \"a\"\n").unwrap();
    assert_eq!(
        c.rules_settle,
        Duration::from_millis(DEFAULT_RULES_SETTLE_MS)
    );
    for bad in [0, 9, 30_001] {
        let e = parse(&format!(
            "[server]\nrules_settle_ms = {bad}\n[upstream]\nuser = \"a\"\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("rules_settle_ms"), "{e}");
    }
}

#[test]
fn server_checks_default_max_sql_bytes_and_refuse_zero_limits() {
    let s = raw::RawServer::default();
    assert_eq!(check_server(&s), Ok((256 * 1024).min(s.max_message_bytes)));
    let zero = raw::RawServer {
        startup_timeout_ms: 0,
        ..raw::RawServer::default()
    };
    assert_eq!(
        check_server(&zero),
        Err("server.startup_timeout_ms must be positive".to_owned())
    );
}

#[test]
fn session_workers_default_to_one_per_core_and_are_bounded() {
    let c = parse("[upstream]\nuser = \"a\"\n").unwrap();
    assert_eq!(c.workers, crate::workers::default_count());
    assert!(c.workers >= 1);
    let c = parse("[server]\nworkers = 3\n[upstream]\nuser = \"a\"\n").unwrap();
    assert_eq!(c.workers, 3);
    let e = parse("[server]\nworkers = 100000\n[upstream]\nuser = \"a\"\n").unwrap_err();
    assert!(e.to_string().contains("server.workers"), "{e}");
}
