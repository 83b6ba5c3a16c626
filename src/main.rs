//! The `actgate` binary: parse the command line, set up tracing, and hand
//! the command to [`cli::run`] (one file per command group under `src/cli/`).

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "actgate=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    cli::run(cli.command)
}
