//! `beamlink completions SHELL`: a completion script for the shell, on stdout.

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};

/// Writes the script; always succeeds.
pub fn run(args: CompletionsArgs) -> i32 {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "beamlink", &mut std::io::stdout());
    crate::exit::OK
}
