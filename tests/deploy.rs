//! The deployment files (Dockerfile, docker-compose.yml, deploy/) checked
//! as far as this machine can without a Docker engine: the compose file
//! parses and its ports, mounts, host names and commands agree with
//! deploy/actgate.toml (loaded by actgate's own config loader) and the
//! Dockerfile; the secrets deploy/init-secrets.sh makes are the files the
//! config names; the init scripts apply to a real PostgreSQL, grant the
//! upstream role what the shipped rules use (and nothing on denied tables),
//! and the shipped rules pass the startup check `actgate serve` performs.

use actgate::config::Config;
use actgate::launcher::{LaunchOptions, TempPostgres};
use serde_norway::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Where the container sees deploy/actgate.toml's directory.
const CONFIG_DIR: &str = "/etc/actgate";

/// Secrets from deploy/init-secrets.sh, and deploy/actgate.toml laid out
/// beside them as the container sees /etc/actgate.
struct Setup {
    _dir: tempfile::TempDir,
    /// What init-secrets.sh wrote (deploy/secrets in a checkout).
    secrets: PathBuf,
    /// A copy of /etc/actgate: actgate.toml and secrets/ (= secrets/gateway).
    etc: PathBuf,
    upstream_password: String,
    password_env: String,
}

/// Runs once, before anything else in every test: it sets the upstream
/// password variable, which no other thread may read while it is set.
fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let secrets = dir.path().join("secrets");
        let out = Command::new("bash")
            .arg(root().join("deploy/init-secrets.sh"))
            .arg(&secrets)
            .output()
            .expect("running bash deploy/init-secrets.sh");
        assert!(
            out.status.success(),
            "deploy/init-secrets.sh failed (it needs openssl): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let etc = dir.path().join("etc-actgate");
        std::fs::create_dir_all(etc.join("secrets")).unwrap();
        std::fs::copy(root().join("deploy/actgate.toml"), etc.join("actgate.toml")).unwrap();
        std::fs::copy(
            root().join("deploy/actgate-replica.toml"),
            etc.join("actgate-replica.toml"),
        )
        .unwrap();
        for entry in std::fs::read_dir(secrets.join("gateway")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, etc.join("secrets").join(path.file_name().unwrap())).unwrap();
        }
        let raw: toml::Table = read("deploy/actgate.toml")
            .parse()
            .expect("deploy/actgate.toml");
        let password_env = raw["upstream"]["password_env"]
            .as_str()
            .expect("deploy/actgate.toml sets upstream.password_env")
            .to_owned();
        let env = env_file(&secrets.join("actgate.env"));
        let upstream_password = env
            .iter()
            .find(|(k, _)| *k == password_env)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("actgate.env from init-secrets.sh lacks {password_env}"));
        // SAFETY: every test calls setup() before anything else and waits
        // for this initialiser, so no other thread reads the environment
        // while it changes.
        unsafe { std::env::set_var(&password_env, &upstream_password) };
        Setup {
            _dir: dir,
            secrets,
            etc,
            upstream_password,
            password_env,
        }
    })
}

/// `NAME=VALUE` lines.
fn env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// deploy/actgate.toml loaded by actgate's config loader, as the container
/// would (relative paths against /etc/actgate, here its copy).
fn deploy_config(s: &Setup) -> Config {
    Config::load(&s.etc.join("actgate.toml"))
        .unwrap_or_else(|e| panic!("deploy/actgate.toml does not load: {e}"))
}

/// A path of the loaded config as the container sees it.
fn in_container(s: &Setup, path: &Path) -> PathBuf {
    match path.strip_prefix(&s.etc) {
        Ok(rest) => Path::new(CONFIG_DIR).join(rest),
        Err(_) => path.to_owned(),
    }
}

fn compose() -> Value {
    serde_norway::from_str(&read("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|s| s.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .unwrap_or_else(|| panic!("expected a string, got {i:?}"))
                    .to_owned()
            })
            .collect(),
        Some(other) => panic!("expected a string or a list, got {other:?}"),
    }
}

/// A service's bind mounts and volumes as (source, target, read-only).
fn mounts(service: &Value) -> Vec<(String, String, bool)> {
    strings(service.get("volumes"))
        .iter()
        .map(|m| {
            let parts: Vec<&str> = m.split(':').collect();
            assert!(parts.len() >= 2, "volume {m:?} is not SOURCE:TARGET");
            (
                parts[0].to_owned(),
                parts[1].to_owned(),
                parts.get(2) == Some(&"ro"),
            )
        })
        .collect()
}

fn mount_target<'a>(mounts: &'a [(String, String, bool)], source: &str) -> Option<&'a str> {
    mounts
        .iter()
        .find(|(s, _, _)| s == source)
        .map(|(_, t, _)| t.as_str())
}

/// The container ports a service publishes.
fn published_ports(service: &Value) -> BTreeSet<u16> {
    strings(service.get("ports"))
        .iter()
        .map(|p| {
            p.rsplit(':')
                .next()
                .and_then(|c| c.split('/').next())
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("cannot read the container port of {p:?}"))
        })
        .collect()
}

/// Dockerfile instructions (continuation lines joined, comments dropped).
fn dockerfile() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(t);
                let (op, args) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((op.to_ascii_uppercase(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

/// The instructions of the Dockerfile's last stage.
fn final_stage() -> Vec<(String, String)> {
    let all = dockerfile();
    let start = all.iter().rposition(|(op, _)| op == "FROM").expect("FROM");
    all[start..].to_vec()
}

fn json_args(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("not a JSON array: {args}: {e}"))
}

#[test]
fn compose_file_parses_with_the_three_services() {
    setup();
    let c = compose();
    let postgres = service(&c, "postgres");
    let image = postgres.get("image").and_then(Value::as_str).unwrap_or("");
    assert!(image.starts_with("postgres:15"), "postgres image {image:?}");
    let health = strings(postgres.get("healthcheck").and_then(|h| h.get("test")));
    assert!(
        health.iter().any(|a| a == "pg_isready"),
        "postgres healthcheck {health:?}"
    );
    let actgate = service(&c, "actgate");
    assert_eq!(actgate.get("build").and_then(Value::as_str), Some("."));
    let depends = actgate
        .get("depends_on")
        .and_then(|d| d.get("postgres"))
        .and_then(|p| p.get("condition"))
        .and_then(Value::as_str);
    assert_eq!(
        depends,
        Some("service_healthy"),
        "actgate waits for postgres"
    );
    let tests = service(&c, "policy-tests");
    assert_eq!(strings(tests.get("profiles")), ["ci"]);
    assert_eq!(
        tests
            .get("depends_on")
            .and_then(|d| d.get("postgres"))
            .and_then(|p| p.get("condition"))
            .and_then(Value::as_str),
        Some("service_healthy")
    );
}

#[test]
fn published_and_exposed_ports_are_the_listen_ports_of_the_config() {
    let s = setup();
    let config = deploy_config(s);
    let admin = config
        .admin
        .as_ref()
        .expect("deploy/actgate.toml has [admin]");
    assert!(
        config.listen.ip().is_unspecified() && admin.listen.ip().is_unspecified(),
        "inside a container actgate must listen on 0.0.0.0 to be reachable: {} and {}",
        config.listen,
        admin.listen
    );
    let listen: BTreeSet<u16> = [config.listen.port(), admin.listen.port()].into();
    assert_eq!(listen, [6432, 9187].into());
    let c = compose();
    assert_eq!(published_ports(service(&c, "actgate")), listen);
    let exposed: BTreeSet<u16> = final_stage()
        .iter()
        .filter(|(op, _)| op == "EXPOSE")
        .flat_map(|(_, a)| a.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect();
    assert_eq!(exposed, listen, "Dockerfile EXPOSE");
    // The image's health check probes the admin port.
    let health = final_stage()
        .into_iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .map(|(_, a)| a)
        .unwrap_or_default();
    assert!(
        health.contains(&format!("/dev/tcp/127.0.0.1/{}", admin.listen.port()))
            && health.contains("/readyz"),
        "HEALTHCHECK {health:?}"
    );
}

#[test]
fn mounts_put_rules_config_and_secrets_where_the_config_looks() {
    let s = setup();
    let config = deploy_config(s);
    let c = compose();
    let actgate = mounts(service(&c, "actgate"));
    // Every mount is read-only except the audit volume.
    for (source, target, ro) in &actgate {
        assert!(
            *ro || target == "/var/lib/actgate",
            "{source}:{target} should be read-only"
        );
    }
    let rules_dir = config.rules_dir.display().to_string();
    assert_eq!(rules_dir, "/etc/actgate/rules");
    assert_eq!(mount_target(&actgate, "./rules"), Some(rules_dir.as_str()));
    let config_path = format!("{CONFIG_DIR}/actgate.toml");
    assert_eq!(
        mount_target(&actgate, "./deploy/actgate.toml"),
        Some(config_path.as_str())
    );
    // The image's default command and the service's read that file.
    let cmd = final_stage()
        .into_iter()
        .find(|(op, _)| op == "CMD")
        .map(|(_, a)| json_args(&a))
        .expect("Dockerfile CMD");
    assert_eq!(cmd, ["serve", "--config", config_path.as_str()]);
    assert_eq!(strings(service(&c, "actgate").get("command")), cmd);
    // Secrets: everything the config reads is in the mounted directory.
    let secrets = mount_target(&actgate, "./deploy/secrets/gateway").expect("secrets mount");
    let tls = config.tls.as_ref().expect("deploy/actgate.toml has [tls]");
    let tokens = config.tokens.as_ref().expect("[tokens]");
    let mut read_paths = vec![tls.cert_file.clone(), tls.key_file.clone()];
    read_paths.extend(tokens.public_keys.iter().cloned());
    read_paths.extend(tokens.revocation_file.clone());
    for p in &read_paths {
        let inside = in_container(s, p);
        assert!(
            inside.starts_with(secrets),
            "{} is not under the secrets mount {secrets}",
            inside.display()
        );
    }
    // The audit log goes to the audit volume, owned by the image's user.
    let audit = config.audit.as_ref().expect("[audit]");
    let audit_dir = audit.path.parent().unwrap().display().to_string();
    assert_eq!(
        mount_target(&actgate, "actgate-audit"),
        Some(audit_dir.as_str())
    );
    assert!(
        read("Dockerfile").contains(&format!("chown actgate:actgate {audit_dir}")),
        "the image must make {audit_dir} writable by its user"
    );
    // policy-tests: the same rules at the same place, and both commands.
    let tests = service(&c, "policy-tests");
    assert_eq!(
        mount_target(&mounts(tests), "./rules"),
        Some(rules_dir.as_str())
    );
    let script = strings(tests.get("command")).join(" ");
    for needle in [
        format!("actgate test --rules {rules_dir}"),
        format!("actgate check --rules {rules_dir}"),
    ] {
        assert!(script.contains(&needle), "policy-tests runs {script:?}");
    }
}

#[test]
fn every_mount_and_env_file_source_exists_or_is_made_by_init_secrets() {
    let s = setup();
    let c = compose();
    let services = c.get("services").and_then(Value::as_mapping).unwrap();
    let named: BTreeSet<String> = c
        .get("volumes")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut sources = Vec::new();
    for (name, svc) in services {
        for (source, _, _) in mounts(svc) {
            sources.push((name.as_str().unwrap().to_owned(), source));
        }
        for f in strings(svc.get("env_file")) {
            sources.push((name.as_str().unwrap().to_owned(), format!("./{f}")));
        }
    }
    for (svc, source) in sources {
        let Some(rel) = source.strip_prefix("./") else {
            assert!(
                named.contains(&source),
                "{svc}: volume {source} is not declared"
            );
            continue;
        };
        let path = match rel.strip_prefix("deploy/secrets/") {
            Some(generated) => s.secrets.join(generated),
            None => root().join(rel),
        };
        assert!(
            path.exists(),
            "{svc}: {source} does not exist ({})",
            path.display()
        );
    }
    // The signing key stays on the host, out of the mounted directory.
    assert!(s.secrets.join("actgate.key").exists());
    assert!(!s.secrets.join("gateway/actgate.key").exists());
    actgate::token::load_private_key(&s.secrets.join("actgate.key"))
        .unwrap_or_else(|e| panic!("the signing key init-secrets.sh made does not load: {e}"));
    // Both env files carry the upstream password, the same one.
    for f in ["postgres.env", "actgate.env"] {
        let env = env_file(&s.secrets.join(f));
        assert!(
            env.iter()
                .any(|(k, v)| *k == s.password_env && *v == s.upstream_password),
            "{f} must set {}",
            s.password_env
        );
    }
}

#[test]
fn upstream_is_the_postgres_service_and_its_database() {
    let s = setup();
    let config = deploy_config(s);
    let c = compose();
    service(&c, &config.upstream.host);
    assert_eq!(config.upstream.host, "postgres");
    assert_eq!(config.upstream.port, 5432, "the postgres image's port");
    assert_eq!(
        config.upstream.password.as_deref(),
        Some(s.upstream_password.as_str())
    );
    let role = read("deploy/initdb/00-role.sql");
    assert!(
        role.contains(&format!("CREATE ROLE {} LOGIN", config.upstream.user)),
        "deploy/initdb/00-role.sql must create the upstream role {}",
        config.upstream.user
    );
    let db = service(&c, "postgres")
        .get("environment")
        .and_then(|e| e.get("POSTGRES_DB"))
        .and_then(Value::as_str)
        .expect("postgres environment POSTGRES_DB");
    let rules = actgate::rules::RuleSet::load_dir(
        &root().join("rules"),
        &config.upstream.search_path_list(),
    )
    .expect("shipped rules");
    assert_eq!(rules.databases(), [db], "the rules' databases");
    let script = strings(service(&c, "policy-tests").get("command")).join(" ");
    let url = format!(
        "postgres://{}:$${{{}}}@{}:{}/{db}",
        config.upstream.user, s.password_env, config.upstream.host, config.upstream.port
    );
    assert!(
        script.contains(&url),
        "policy-tests should check against {url}: {script}"
    );
}

#[test]
fn dockerfile_copies_existing_paths_and_runs_unprivileged() {
    setup();
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_end_matches('/').to_owned())
        .collect();
    for must in ["target", ".git"] {
        assert!(
            ignored.iter().any(|i| i == must),
            ".dockerignore lacks {must}"
        );
    }
    let all = dockerfile();
    let copies: Vec<&String> = all
        .iter()
        .filter(|(op, a)| op == "COPY" && !a.starts_with("--from"))
        .map(|(_, a)| a)
        .collect();
    assert!(!copies.is_empty(), "the Dockerfile copies nothing");
    for args in copies {
        let words: Vec<&str> = args.split_whitespace().collect();
        for source in &words[..words.len() - 1] {
            assert!(
                root().join(source).exists(),
                "Dockerfile: COPY {source}: no such path"
            );
            assert!(
                !ignored.iter().any(|i| source.trim_end_matches('/') == i),
                "Dockerfile: COPY {source} is excluded by .dockerignore"
            );
        }
    }
    let stage = final_stage();
    let user = stage
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, a)| a.clone())
        .expect("the final stage sets USER");
    let name = user.split(':').next().unwrap();
    assert!(
        !["root", "0", ""].contains(&name),
        "the image runs as {user}"
    );
    assert!(
        read("Dockerfile").contains(&format!("--uid {name}")),
        "USER {name} is created with useradd --uid {name}"
    );
    let entrypoint = stage
        .iter()
        .find(|(op, _)| op == "ENTRYPOINT")
        .map(|(_, a)| json_args(a))
        .expect("ENTRYPOINT");
    assert_eq!(entrypoint, ["actgate"]);
    let runtime = stage[0].1.as_str();
    assert!(
        runtime.starts_with("debian:bookworm-slim") || runtime.contains("distroless"),
        "runtime image {runtime}"
    );
}

/// deploy/actgate-replica.toml (the `replicas` profile) is deploy/actgate.toml
/// plus a [state] in the database 30-state.sql made: two replicas start
/// against it, create the schema once and share it.
async fn replicas_start_against_the_state_database(s: &Setup, pg: &TempPostgres, audit: &Path) {
    let base: toml::Table = read("deploy/actgate.toml").parse().unwrap();
    let mut replica: toml::Table = read("deploy/actgate-replica.toml").parse().unwrap();
    let state = replica
        .remove("state")
        .expect("the replica config has [state]");
    assert_eq!(
        replica, base,
        "the replica config is actgate.toml plus [state]"
    );
    assert_eq!(state["store"].as_str(), Some("postgres"));
    let mut gateways = Vec::new();
    for name in ["a", "b"] {
        let mut config = Config::load(&s.etc.join("actgate-replica.toml"))
            .unwrap_or_else(|e| panic!("deploy/actgate-replica.toml does not load: {e}"));
        config.rules_dir = root().join("rules");
        config.upstream.host = pg.host().to_owned();
        config.upstream.port = pg.port();
        config.audit.as_mut().unwrap().path = audit.join(format!("replica-{name}.jsonl"));
        let actgate::config::StateConfig::Postgres(state) = &mut config.state else {
            panic!("the replica config keeps its state in memory");
        };
        assert_eq!(
            state.server.host, "postgres",
            "the state is on the postgres service"
        );
        assert_eq!(
            state.database, "actgate_state",
            "30-state.sql makes actgate_state"
        );
        state.server.host = pg.host().to_owned();
        state.server.port = pg.port();
        let gateway = actgate::build_gateway(config)
            .await
            .unwrap_or_else(|e| panic!("replica {name} does not start: {e}"));
        let health = gateway.state_health().expect("a shared store");
        assert!(health.up, "replica {name}: {health:?}");
        gateways.push(gateway);
    }
}

/// The init scripts the postgres service runs, in the order it runs them:
/// (path in the repository, name in /docker-entrypoint-initdb.d).
fn init_scripts() -> Vec<(String, String)> {
    let c = compose();
    let volumes = service(&c, "postgres")
        .get("volumes")
        .and_then(|v| v.as_sequence())
        .expect("postgres volumes");
    let mut scripts: Vec<(String, String)> = volumes
        .iter()
        .filter_map(|v| v.as_str())
        .filter_map(|v| {
            let mut parts = v.split(':');
            let (host, target) = (parts.next()?, parts.next()?);
            let name = target.strip_prefix("/docker-entrypoint-initdb.d/")?;
            Some((host.trim_start_matches("./").to_owned(), name.to_owned()))
        })
        .collect();
    scripts.sort_by(|a, b| a.1.cmp(&b.1));
    scripts
}

#[test]
fn the_database_is_built_from_the_role_the_demo_shop_and_the_grants() {
    setup();
    let scripts: Vec<String> = init_scripts().into_iter().map(|(host, _)| host).collect();
    assert_eq!(
        scripts,
        [
            "deploy/initdb/00-role.sql",
            "demo/shop.sql",
            "deploy/initdb/20-grants.sql",
            "deploy/initdb/30-state.sql"
        ],
        "the postgres service's init scripts, in the order they run"
    );
    for s in &scripts {
        assert!(
            root().join(s).is_file(),
            "{s} is mounted but does not exist"
        );
    }
}

fn psql_file(
    pg: &TempPostgres,
    database: &str,
    file: &Path,
    env: &[(&str, &str)],
) -> std::process::Output {
    // As the postgres image's entrypoint runs init scripts.
    let mut cmd = Command::new(pg.psql_bin());
    cmd.args(["-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-w", "-h"])
        .arg(pg.host())
        .arg("-p")
        .arg(pg.port().to_string())
        .args(["-U", pg.superuser(), "-d", database, "-f"])
        .arg(file)
        .env("PGPASSWORD", pg.superuser_password())
        .env_remove("ACTGATE_UPSTREAM_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running psql")
}

/// What `privilege` the upstream role has on a table (or its column).
fn has_privilege(
    pg: &TempPostgres,
    role: &str,
    table: &str,
    column: Option<&str>,
    privilege: &str,
) -> bool {
    let sql = match column {
        Some(c) => format!(
            "SELECT has_column_privilege('{role}', 'public.{table}', '{c}', '{privilege}');"
        ),
        None => format!("SELECT has_table_privilege('{role}', 'public.{table}', '{privilege}');"),
    };
    let out = pg.psql("shop", &sql).expect("privilege query");
    out.trim() == "t"
}

#[tokio::test]
async fn schema_applies_and_the_shipped_rules_pass_the_startup_check() {
    let s = setup();
    let pg = TempPostgres::start(&LaunchOptions {
        database_names: vec!["shop".into()],
    })
    .unwrap_or_else(|e| {
        panic!(
            "this test needs a PostgreSQL server (initdb/postgres on PATH or under \
             /usr/lib/postgresql/*/bin; scripts/test.sh installs it): {e}"
        )
    });
    let scripts = init_scripts();
    let role = root().join(&scripts[0].0);

    // Without the password variable the first script stops before doing
    // anything.
    let out = psql_file(&pg, "postgres", &role, &[]);
    assert!(!out.status.success(), "00-role.sql ran without a password");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set ACTGATE_UPSTREAM_PASSWORD"), "{stderr}");

    for (script, _) in &scripts {
        let out = psql_file(
            &pg,
            "shop",
            &root().join(script),
            &[(s.password_env.as_str(), s.upstream_password.as_str())],
        );
        assert!(
            out.status.success(),
            "{script} does not apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The startup path of `actgate serve` with deploy/actgate.toml, pointed
    // at this server instead of the `postgres` service: catalog load, rules
    // checked against it, TLS, token keys, audit log.
    let mut config = deploy_config(s);
    let role = config.upstream.user.clone();
    assert_eq!(config.rules_dir, Path::new("/etc/actgate/rules"));
    config.rules_dir = root().join("rules");
    config.upstream.host = pg.host().to_owned();
    config.upstream.port = pg.port();
    let audit_dir = tempfile::tempdir().unwrap();
    config.audit.as_mut().unwrap().path = audit_dir.path().join("audit.jsonl");
    let gateway = actgate::build_gateway(config)
        .await
        .unwrap_or_else(|e| panic!("the shipped rules fail the startup check: {e}"));
    assert!(gateway.rules().agent("support-bot").is_some());
    replicas_start_against_the_state_database(s, &pg, audit_dir.path()).await;

    // Grants follow the rules: what the agents may do, the role may do;
    // denied tables get nothing.
    for entry in std::fs::read_dir(root().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let file: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        let tables = file
            .get("tables")
            .and_then(|t| t.as_table())
            .cloned()
            .unwrap_or_default();
        for (table, rule) in &tables {
            let ops: Vec<&str> = rule["operations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_str().unwrap())
                .collect();
            let write_columns: Option<Vec<&str>> = rule
                .get("write_columns")
                .and_then(|w| w.as_array())
                .map(|w| w.iter().map(|c| c.as_str().unwrap()).collect());
            for op in ops {
                let privilege = match op {
                    "select" => "SELECT",
                    "insert" => "INSERT",
                    "update" => "UPDATE",
                    "delete" => "DELETE",
                    other => panic!("{}: no grant check for operation {other}", path.display()),
                };
                let ok = match (&write_columns, privilege) {
                    (Some(cols), "INSERT" | "UPDATE") => cols
                        .iter()
                        .all(|c| has_privilege(&pg, &role, table, Some(c), privilege)),
                    _ => has_privilege(&pg, &role, table, None, privilege),
                };
                assert!(
                    ok,
                    "{}: tables.{table} allows {op} but deploy/initdb/20-grants.sql does not grant {role} {privilege}",
                    path.display()
                );
            }
        }
        let denied = file
            .get("deny")
            .and_then(|d| d.get("tables"))
            .and_then(|t| t.as_array())
            .cloned()
            .unwrap_or_default();
        for table in denied {
            let table = table.as_str().unwrap();
            assert!(
                !has_privilege(
                    &pg,
                    &role,
                    table,
                    None,
                    "SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER"
                ),
                "{}: {table} is denied but {role} has privileges on it",
                path.display()
            );
        }
    }

    // The writes the agents make work as the role (identity columns and
    // foreign keys included), and leave nothing behind.
    pg.psql_as(
        "shop",
        &role,
        Some(&s.upstream_password),
        "BEGIN;\n\
         UPDATE orders SET status = 'cancelled', notes = 'x', updated_at = now() WHERE customer_id = 42;\n\
         INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES (1, 100, 'test', 'kpatel');\n\
         ROLLBACK;\n",
    )
    .unwrap_or_else(|e| panic!("the upstream role cannot make the agents' writes: {e}"));
}

#[test]
fn the_example_workflow_makes_secrets_and_runs_the_policy_tests() {
    setup();
    let text = read(".github/workflows/actgate-policy.yml");
    let workflow: Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!(".github/workflows/actgate-policy.yml is not valid YAML: {e}"));
    let jobs = workflow
        .get("jobs")
        .and_then(Value::as_mapping)
        .expect("jobs");
    let runs: Vec<String> = jobs
        .values()
        .flat_map(|job| {
            job.get("steps")
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|step| step.get("run").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let position = |needle: &str| {
        runs.iter()
            .position(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("the workflow never runs {needle:?}: {runs:?}"))
    };
    assert!(
        position("bash deploy/init-secrets.sh")
            < position("docker compose --profile ci run --rm policy-tests"),
        "secrets must exist before the compose run"
    );
}

#[test]
fn the_compose_file_works_on_compose_v1_and_v2() {
    // Compose v1 (Debian's docker-compose 1.29) rejects a top-level `name`;
    // both read the project name from .env.
    let c = compose();
    assert!(
        c.get("name").is_none(),
        "a top-level name breaks Compose v1"
    );
    let env = env_file(&root().join(".env"));
    assert!(
        env.iter()
            .any(|(k, v)| k == "COMPOSE_PROJECT_NAME" && v == "actgate"),
        "{env:?}"
    );
}
