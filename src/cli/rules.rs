//! Commands for whoever writes the rules: `explain`, `rls`, `check`, `test`.

use super::{parse_claim, runtime, split_search_path};
use anyhow::Context;
use std::path::PathBuf;

// `actgate explain`.
#[derive(clap::Args)]
pub struct ExplainArgs {
    /// Rules directory.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// The agent whose policy applies.
    #[arg(long)]
    agent: String,
    /// Load the live catalog from this database (postgres://user:pw@host:port/db)
    /// to expand `*` and check columns.
    #[arg(long)]
    database_url: Option<String>,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
    /// A claim for rules that use `{{claims.NAME}}` (name=value; repeatable).
    #[arg(long = "claim", value_parser = parse_claim)]
    claims: Vec<(String, String)>,
    /// The SQL to explain.
    sql: String,
}

// `actgate rls`.
#[derive(clap::Args)]
pub struct RlsArgs {
    /// Rules directory.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// The role actgate logs in as upstream.
    #[arg(long, default_value = "actgate_gateway")]
    role: String,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
}

// `actgate check`.
#[derive(clap::Args)]
pub struct CheckArgs {
    /// Rules directory.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Also check that every table, column and function named exists in
    /// this database (postgres://user:pw@host:port/db).
    #[arg(long)]
    database: Option<String>,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
    /// Fail on warnings too.
    #[arg(long)]
    strict: bool,
}

// `actgate test`.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Rules directory.
    #[arg(long, default_value = "rules")]
    rules: PathBuf,
    /// Directory of test files (default: RULES/tests).
    #[arg(long)]
    tests: Option<PathBuf>,
    /// Analyse with the live catalog of this database
    /// (postgres://user:pw@host:port/db), to expand `*`.
    #[arg(long)]
    database: Option<String>,
    /// The pinned search_path (comma-separated).
    #[arg(long, default_value = "public")]
    search_path: String,
    /// Also write the results as JUnit XML to this file.
    #[arg(long)]
    junit: Option<PathBuf>,
}

pub fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let search_path = split_search_path(&args.search_path);
    let text = runtime()?.block_on(actgate::explain::run(
        &args.rules,
        &args.agent,
        &args.sql,
        args.database_url.as_deref(),
        &search_path,
        &args.claims,
    ))?;
    print!("{text}");
    Ok(())
}

pub fn rls(args: RlsArgs) -> anyhow::Result<()> {
    let search_path = split_search_path(&args.search_path);
    print!(
        "{}",
        actgate::explain::rls(&args.rules, &search_path, &args.role)?
    );
    Ok(())
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let report = runtime()?.block_on(actgate::dba::check(
        &args.rules,
        args.database.as_deref(),
        &split_search_path(&args.search_path),
    ))?;
    print!("{}", report.render(args.strict));
    if !report.passed(args.strict) {
        std::process::exit(1);
    }
    Ok(())
}

pub fn test(args: TestArgs) -> anyhow::Result<()> {
    let run = runtime()?.block_on(actgate::dba::test(
        &args.rules,
        args.tests.as_deref(),
        args.database.as_deref(),
        &split_search_path(&args.search_path),
    ))?;
    print!("{}", actgate::dba::policy_tests::render_text(&run));
    if let Some(path) = args.junit {
        std::fs::write(&path, actgate::dba::policy_tests::render_junit(&run))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if !run.passed() {
        std::process::exit(1);
    }
    Ok(())
}
