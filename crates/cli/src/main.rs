//! The `beamlink` binary: parses flags and hands each command to its module.

mod args;
mod commands;
mod exit;
mod logging;

use clap::Parser;

fn main() {
    let args = args::Cli::parse();
    logging::init(args.verbose, args.quiet);
    let code = commands::run(args);
    std::process::exit(code);
}
