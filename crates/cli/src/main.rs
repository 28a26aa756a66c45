//! The `beamlink` binary: parses flags and hands each command to its module.

mod args;
mod commands;
mod elixir;
mod exit;
mod json;
mod logging;
mod node_setup;
mod reach;
mod sources;

use clap::Parser;

fn main() {
    let args = match args::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version print on stdout and succeed; usage errors exit 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    // Only the EPMD server logs its work by default; clients print results, not logs.
    let quiet_default = !matches!(args.command, args::Command::Epmd(_));
    logging::init(args.verbose, args.quiet, quiet_default);
    let code = commands::run(args);
    std::process::exit(code);
}
