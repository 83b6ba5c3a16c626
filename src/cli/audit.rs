//! Commands over the audit log: `replay` and `suggest`.

use super::{runtime, split_search_path};
use std::path::PathBuf;

// `actgate replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// The audit log (JSON lines).
    #[arg(long)]
    audit: PathBuf,
    /// The candidate rules directory.
    #[arg(long)]
    rules: PathBuf,
    /// Only this agent's statements.
    #[arg(long)]
    agent: Option<String>,
    /// Load the live catalog from this database (postgres://user:pw@host:port/db)
    /// to expand `*` and check columns.
    #[arg(long)]
    database: Option<String>,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

// `actgate suggest`.
#[derive(clap::Args)]
pub struct SuggestArgs {
    /// The audit log (JSON lines).
    #[arg(long)]
    audit: PathBuf,
    /// The agent whose statements to use.
    #[arg(long)]
    agent: String,
    /// Load the live catalog from this database (postgres://user:pw@host:port/db)
    /// to expand `*`.
    #[arg(long)]
    database: Option<String>,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let search_path = split_search_path(&args.search_path);
    let options = actgate::audit_tools::replay::Options {
        audit: &args.audit,
        rules_dir: &args.rules,
        agent: args.agent.as_deref(),
        database_url: args.database.as_deref(),
        search_path: &search_path,
    };
    let report =
        runtime().and_then(|rt| Ok(rt.block_on(actgate::audit_tools::replay::run(&options))?));
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // Bad input is exit status 2: 1 means "newly blocked".
            eprintln!("Error: {e}");
            std::process::exit(2);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", actgate::audit_tools::replay::render_text(&report));
    }
    std::process::exit(report.exit_code());
}

pub fn suggest(args: SuggestArgs) -> anyhow::Result<()> {
    let search_path = split_search_path(&args.search_path);
    let options = actgate::audit_tools::suggest::Options {
        audit: &args.audit,
        agent: &args.agent,
        database_url: args.database.as_deref(),
        search_path: &search_path,
    };
    let suggestion = runtime()?.block_on(actgate::audit_tools::suggest::run(&options))?;
    print!("{}", suggestion.toml);
    if !suggestion.uncovered.is_empty() {
        eprintln!(
            "warning: {} recorded statement(s) are still denied by the suggestion (listed at its end)",
            suggestion.uncovered.len()
        );
    }
    Ok(())
}
