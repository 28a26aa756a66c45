//! The `beamlink` binary: parses flags and hands each command to its module.

mod args;
mod commands;
mod exit;

use clap::Parser;

fn main() {
    let args = args::Cli::parse();
    let code = commands::run(args);
    std::process::exit(code);
}
