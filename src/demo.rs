//! `actgate demo`: a throwaway PostgreSQL with the demo shop database and
//! actgate in front of it, governed by the shipped rules. The same setup
//! serves the integration tests.

use crate::config::Config;
use crate::launcher::{LaunchError, LaunchOptions, TempPostgres, UpstreamAuth};
use crate::rules::RuleSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The role actgate logs in as upstream in the demo and the tests.
pub const UPSTREAM_ROLE: &str = "actgate_gateway";
/// The demo database.
pub const DEMO_DATABASE: &str = "shop";
/// The demo agents' secrets. Their verifiers are in the shipped rules; the
/// secrets are public, so never reuse these rules outside the demo.
pub const DEMO_SECRETS: &[(&str, &str)] = &[("analytics", "analytics-demo-secret")];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Launch(#[from] LaunchError),
    #[error(transparent)]
    Start(#[from] crate::StartError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> DemoError {
    let context = context.into();
    move |source| DemoError::Io { context, source }
}

/// A throwaway cluster with the shop database and the upstream role.
pub struct DemoDatabase {
    pub pg: TempPostgres,
    pub upstream_password: String,
}

impl DemoDatabase {
    /// Starts a cluster, loads the shop schema into `databases` (the first
    /// is the demo database) and creates actgate's upstream role.
    pub fn start(databases: &[&str]) -> Result<DemoDatabase, LaunchError> {
        let pg = TempPostgres::start(&LaunchOptions {
            database_names: databases.iter().map(|d| d.to_string()).collect(),
        })?;
        let upstream_password = format!("{:032x}", rand::random::<u128>());
        pg.create_role(UPSTREAM_ROLE, &upstream_password, UpstreamAuth::Scram)?;
        for db in databases {
            pg.load_shop(db)?;
            pg.psql(
                db,
                &format!(
                    "GRANT USAGE ON SCHEMA public TO {UPSTREAM_ROLE};\n\
                     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {UPSTREAM_ROLE};\n\
                     GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {UPSTREAM_ROLE};\n\
                     GRANT CREATE ON SCHEMA public TO {UPSTREAM_ROLE};\n"
                ),
            )?;
        }
        Ok(DemoDatabase {
            pg,
            upstream_password,
        })
    }

    /// Config text for actgate in front of this cluster; the upstream
    /// password is read from `password_file`.
    pub fn config_toml(&self, listen: &str, rules_dir: &Path, password_file: &Path) -> String {
        format!(
            "[server]\nlisten = {listen:?}\nrules_dir = {rules:?}\n\n\
             [upstream]\nhost = {host:?}\nport = {port}\nuser = {UPSTREAM_ROLE:?}\n\
             password_file = {pw:?}\nsearch_path = \"public\"\n",
            rules = rules_dir.display().to_string(),
            host = self.pg.host(),
            port = self.pg.port(),
            pw = password_file.display().to_string(),
        )
    }

    /// Writes the upstream password to a file in `dir` and returns its path.
    pub fn write_password_file(&self, dir: &Path) -> Result<PathBuf, DemoError> {
        let path = dir.join("upstream-password");
        std::fs::write(&path, &self.upstream_password).map_err(io("writing the password file"))?;
        Ok(path)
    }
}

/// The demo's token-based agents: each gets a token for customer 42.
pub const TOKEN_AGENTS: &[&str] = &["support-bot", "order-assistant"];

/// A throwaway signing key pair for the demo's tokens.
fn demo_keys(dir: &Path) -> Result<(PathBuf, PathBuf), DemoError> {
    let private = dir.join("keys/actgate.key");
    let public = dir.join("keys/actgate.pub");
    crate::token::keygen(&private, &public).map_err(|e| DemoError::Io {
        context: "creating the demo token keys".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok((private, public))
}

fn mint_demo_token(private_key: &Path, agent: &str) -> Result<String, DemoError> {
    let to_io = |e: crate::token::TokenError| DemoError::Io {
        context: "minting the demo token".into(),
        source: std::io::Error::other(e.to_string()),
    };
    let key = crate::token::load_private_key(private_key).map_err(to_io)?;
    let (token, _id) = crate::token::mint(
        &key,
        &crate::token::MintRequest {
            agent: agent.into(),
            subject: "customer-42".into(),
            tenant: None,
            claims: [("customer_id".to_string(), "42".to_string())].into(),
            ttl: std::time::Duration::from_secs(3600),
            now: std::time::SystemTime::now(),
            not_before: None,
        },
    )
    .map_err(to_io)?;
    Ok(token)
}

/// Runs the demo until Ctrl-C.
pub fn run(port: u16, rules_dir: &Path) -> Result<(), DemoError> {
    let rules_dir = std::fs::canonicalize(rules_dir)
        .map_err(io(format!("rules directory {}", rules_dir.display())))?;
    eprintln!("starting a throwaway PostgreSQL with the demo shop database…");
    let db = DemoDatabase::start(&[DEMO_DATABASE])?;
    let scratch = tempfile::tempdir().map_err(io("creating a scratch directory"))?;
    let setup = setup(port, &rules_dir, &db, scratch.path())?;
    let runtime = tokio::runtime::Runtime::new().map_err(io("starting the async runtime"))?;
    runtime.block_on(serve(&db, setup))?;
    eprintln!("stopping PostgreSQL…");
    drop(db);
    Ok(())
}

/// What the demo wrote into its scratch directory, and its config.
struct DemoSetup {
    listen: String,
    audit_path: PathBuf,
    private_key: PathBuf,
    admin_token_file: PathBuf,
    config: Config,
}

/// Writes the demo's password file, token keys, admin token and config
/// into `scratch`, and loads the config.
fn setup(
    port: u16,
    rules_dir: &Path,
    db: &DemoDatabase,
    scratch: &Path,
) -> Result<DemoSetup, DemoError> {
    let password_file = db.write_password_file(scratch)?;
    let listen = format!("127.0.0.1:{port}");
    let audit_path = scratch.join("audit.jsonl");
    let (private_key, public_key) = demo_keys(scratch)?;
    // The admin endpoint on 9187 (or any free port with --port 0, or when
    // 9187 is taken), for the operator's side: status, metrics, approvals.
    let admin_listen = match port {
        0 => "127.0.0.1:0".to_owned(),
        _ => std::net::TcpListener::bind("127.0.0.1:9187")
            .map(|_| "127.0.0.1:9187".to_owned())
            .unwrap_or_else(|_| "127.0.0.1:0".to_owned()),
    };
    let admin_token_file = scratch.join("admin-token");
    let admin_token = crate::hex::random::<16>();
    std::fs::write(&admin_token_file, &admin_token).map_err(io("writing the admin token"))?;
    let text = format!(
        "{}\n[audit]\npath = {:?}\n\n[tokens]\npublic_keys = [{:?}]\nrevocation_file = {:?}\n\n[admin]\nlisten = {admin_listen:?}\ntoken_file = {:?}\n",
        db.config_toml(&listen, rules_dir, &password_file),
        audit_path.display().to_string(),
        public_key.display().to_string(),
        scratch.join("revoked.txt").display().to_string(),
        admin_token_file.display().to_string(),
    );
    let config_path = scratch.join("actgate.toml");
    std::fs::write(&config_path, &text).map_err(io("writing the demo config"))?;
    let config = Config::load(&config_path)?;
    Ok(DemoSetup {
        listen,
        audit_path,
        private_key,
        admin_token_file,
        config,
    })
}

/// Starts the gateway and its admin endpoint, prints how to use them and
/// serves until Ctrl-C.
async fn serve(db: &DemoDatabase, setup: DemoSetup) -> Result<(), DemoError> {
    let DemoSetup {
        listen,
        audit_path,
        private_key,
        admin_token_file,
        config,
    } = setup;
    let gateway = crate::build_gateway(config).await?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(io(format!("cannot listen on {listen}")))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the listen address"))?;
    let admin_addr = start_admin(&gateway).await?;
    // A customer-42 order, for the held-refund example.
    let order = db
        .pg
        .psql(
            DEMO_DATABASE,
            "SELECT min(id) FROM orders WHERE customer_id = 42",
        )
        .map(|o| o.trim().to_owned())
        .unwrap_or_else(|_| "1".into());
    let rules = gateway.rules();
    println!();
    println!(
        "actgate demo is running. PostgreSQL (throwaway) is on port {}.",
        db.pg.port()
    );
    println!("Agents and their connection strings:");
    print_agents(&rules, addr, &private_key, &order)?;
    if let Some(admin) = admin_addr {
        print_operator(admin, &admin_token_file);
    }
    println!();
    println!(
        "Audit log (one JSON line per decision): {}",
        audit_path.display()
    );
    println!("  tail -f {}", audit_path.display());
    println!();
    println!("Press Ctrl-C to stop; everything is cleaned up.");
    crate::server::run(listener, gateway, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

/// Serves the admin endpoint, if the config has one; its address.
async fn start_admin(
    gateway: &Arc<crate::proxy::Gateway>,
) -> Result<Option<std::net::SocketAddr>, DemoError> {
    let admin = gateway.config.admin.clone();
    Ok(match &admin {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a.listen)
                .await
                .map_err(io(format!("cannot listen on {} (admin)", a.listen)))?;
            let addr = l.local_addr().map_err(io("reading the admin address"))?;
            tokio::spawn(crate::admin::serve(
                l,
                gateway.clone(),
                a.token.clone(),
                std::future::pending(),
            ));
            Some(addr)
        }
        None => None,
    })
}

/// The connection string of every demo agent the rules define: secret
/// logins, and a freshly minted token for each token agent.
fn print_agents(
    rules: &RuleSet,
    addr: std::net::SocketAddr,
    private_key: &Path,
    order: &str,
) -> Result<(), DemoError> {
    for (agent, secret) in DEMO_SECRETS {
        if rules.agent(agent).is_some() {
            let url = format!(
                "postgres://{agent}:{secret}@{}:{}/{DEMO_DATABASE}",
                addr.ip(),
                addr.port()
            );
            println!();
            println!("  {agent}:  {url}");
            println!("    psql '{url}' -c 'SELECT id, status FROM orders LIMIT 5'");
        }
    }
    for agent in TOKEN_AGENTS.iter().filter(|a| rules.agent(a).is_some()) {
        let token = mint_demo_token(private_key, agent)?;
        let url = crate::token::connection_string(
            agent,
            &token,
            &addr.ip().to_string(),
            addr.port(),
            DEMO_DATABASE,
        );
        println!();
        println!("  {agent} (capability token for customer 42, valid 1 hour):");
        println!("    {url}");
        println!("    psql '{url}' -c 'SELECT id, status FROM orders WHERE customer_id = 42'");
        println!(
            "    mint more: actgate token mint --key {} --agent {agent} --subject customer-7 --claim customer_id=7 --ttl 15m --port {}",
            private_key.display(),
            addr.port()
        );
        if *agent == "support-bot" {
            println!(
                "    a refund above 200.00 is held for a human (note the approval id in the error):"
            );
            println!(
                "    psql '{url}' -c \"INSERT INTO refunds (order_id, amount_cents, reason, created_by) VALUES ({order}, 25000, 'damaged in transit', 'kpatel')\""
            );
        }
    }
    Ok(())
}

/// How the operator reaches the admin endpoint on `admin`.
fn print_operator(admin: std::net::SocketAddr, admin_token_file: &Path) {
    println!();
    println!("Operator (admin endpoint http://{admin}):");
    println!(
        "  export ACTGATE_ADMIN_URL=http://{admin} ACTGATE_ADMIN_TOKEN_FILE={}",
        admin_token_file.display()
    );
    println!("  actgate status");
    println!("  actgate approvals                 # statements held for approval");
    println!(
        "  actgate approve apr-…             # then run the held statement again: it runs once"
    );
    println!("  actgate suspend support-bot --seconds 300 ; actgate resume support-bot");
    println!(
        "  curl -s -H \"Authorization: Bearer $(cat {})\" http://{admin}/metrics",
        admin_token_file.display()
    );
}
