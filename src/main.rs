//! The `actgate` binary: parse the command line, set up tracing, and hand
//! the command to [`cli::run`] (one file per command group under `src/cli/`).

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    actgate::logging::init(cli.command.log_format());
    cli::run(cli.command)
}
