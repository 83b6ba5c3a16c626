//! Commands that talk to a running actgate's admin endpoint: `status`,
//! `reload`, `approvals`, `approve`/`reject`, `suspend`, `resume`.

use std::path::PathBuf;
use std::time::Duration;

/// How to reach a running actgate's admin endpoint.
#[derive(clap::Args)]
pub struct AdminArgs {
    /// The admin endpoint (`[admin] listen`).
    #[arg(
        long,
        env = "ACTGATE_ADMIN_URL",
        default_value = "http://127.0.0.1:9187"
    )]
    admin_url: String,
    /// File holding the admin bearer token (else ACTGATE_ADMIN_TOKEN).
    #[arg(long, env = "ACTGATE_ADMIN_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

impl AdminArgs {
    fn client(&self) -> anyhow::Result<actgate::admin_client::AdminClient> {
        let token = actgate::admin_client::AdminClient::token(self.token_file.as_deref())?;
        Ok(actgate::admin_client::AdminClient::new(
            &self.admin_url,
            token,
        )?)
    }
}

// `actgate suspend`.
#[derive(clap::Args)]
pub struct SuspendArgs {
    agent: String,
    /// How long, in seconds.
    #[arg(long)]
    seconds: u64,
    /// Only this end user (the token's subject).
    #[arg(long)]
    subject: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

// `actgate resume`.
#[derive(clap::Args)]
pub struct ResumeArgs {
    agent: String,
    #[arg(long)]
    subject: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `actgate status`.
pub fn status(admin: &AdminArgs) -> anyhow::Result<()> {
    let body: serde_json::Value = serde_json::from_str(&admin.client()?.get("/status")?)?;
    let rules = &body["rules"];
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    println!("actgate {}", s(&body["version"]));
    println!(
        "rules:        generation {} from {} (loaded {}), agents: {}",
        rules["generation"],
        s(&body["rules_dir"]),
        s(&rules["loaded_at"]),
        rules["agents"]
            .as_array()
            .map(|a| a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    );
    println!(
        "reloads:      {} ok, {} failed; last attempt {} ({})",
        rules["reloads_ok"],
        rules["reloads_failed"],
        s(&rules["last_attempt_at"]),
        s(&rules["last_trigger"])
    );
    println!("sessions:     {}", body["sessions_active"]);
    println!("suspensions:  {}", body["suspensions"]);
    println!("approvals:    {} pending", body["approvals_pending"]);
    let state = &body["state"];
    println!(
        "state store:  {} ({})",
        s(&state["store"]),
        match (state["up"].as_bool(), state["error"].as_str()) {
            (Some(true), _) => "up".to_owned(),
            (_, Some(e)) => format!("UNREACHABLE: {e}"),
            _ => "unknown".to_owned(),
        }
    );
    println!(
        "audit drops:  {} ({} not yet reported in the log)",
        body["audit_dropped"], body["audit"]["dropped_unreported"]
    );
    if let Some(e) = body["audit"]["error"].as_str() {
        println!(
            "AUDIT LOG CANNOT BE WRITTEN (on_failure = {}): {e}",
            s(&body["audit"]["on_failure"])
        );
    }
    if let Some(e) = rules["last_error"].as_str() {
        println!("LAST RELOAD FAILED (the previous rules are in force):\n{e}");
        std::process::exit(1);
    }
    Ok(())
}

/// `actgate reload`.
pub fn reload(admin: &AdminArgs) -> anyhow::Result<()> {
    // The reload waits for the rules directory to hold still
    // (server.rules_settle_ms, at most 30 s), then loads catalogs.
    let client = admin.client()?.with_timeout(Duration::from_secs(120));
    let body: serde_json::Value = serde_json::from_str(&client.post("/reload")?)?;
    println!("rules reloaded: generation {}", body["generation"]);
    Ok(())
}

/// `actgate approvals`.
pub fn approvals(admin: &AdminArgs) -> anyhow::Result<()> {
    let body = admin.client()?.get("/approvals")?;
    let list: Vec<serde_json::Value> = serde_json::from_str(&body)?;
    if list.is_empty() {
        println!("no approval requests");
    }
    for a in list {
        let s = |k: &str| a[k].as_str().unwrap_or("-").to_owned();
        println!(
            "{}  {:<8}  agent={} subject={} rule={} requested={} expires={}\n    {}{}",
            s("id"),
            s("state"),
            s("agent"),
            s("subject"),
            s("rule"),
            s("requested_at"),
            s("expires_at"),
            s("sql"),
            match a["params"].as_array() {
                Some(p) if !p.is_empty() => format!(
                    "\n    parameters: {}",
                    serde_json::to_string(p).unwrap_or_default()
                ),
                _ => String::new(),
            }
        );
    }
    Ok(())
}

/// `actgate approve|reject ID`.
pub fn decide(
    admin: &AdminArgs,
    id: &str,
    decision: &str,
    by: Option<String>,
) -> anyhow::Result<()> {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".into());
    let path = format!(
        "/approvals/{}/{decision}?by={}",
        actgate::admin_client::encode(id),
        actgate::admin_client::encode(&by)
    );
    let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
    println!(
        "{id}: {} by {by} (agent {}, valid until {})",
        body["state"].as_str().unwrap_or("?"),
        body["agent"].as_str().unwrap_or("?"),
        body["expires_at"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `actgate suspend`.
pub fn suspend(args: SuspendArgs) -> anyhow::Result<()> {
    let SuspendArgs {
        agent,
        seconds,
        subject,
        admin,
    } = args;
    let mut path = format!(
        "/agents/{}/suspend?seconds={seconds}",
        actgate::admin_client::encode(&agent)
    );
    if let Some(s) = &subject {
        path.push_str(&format!("&subject={}", actgate::admin_client::encode(s)));
    }
    let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
    println!(
        "suspended {agent}{} until {}",
        subject
            .map(|s| format!(" acting for {s}"))
            .unwrap_or_default(),
        body["until"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `actgate resume`.
pub fn resume(args: ResumeArgs) -> anyhow::Result<()> {
    let ResumeArgs {
        agent,
        subject,
        admin,
    } = args;
    let mut path = format!("/agents/{}/resume", actgate::admin_client::encode(&agent));
    if let Some(s) = &subject {
        path.push_str(&format!("?subject={}", actgate::admin_client::encode(s)));
    }
    let body: serde_json::Value = serde_json::from_str(&admin.client()?.post(&path)?)?;
    if body["resumed"].as_bool() == Some(true) {
        println!("resumed {agent}");
        Ok(())
    } else {
        anyhow::bail!("{agent} was not suspended")
    }
}
