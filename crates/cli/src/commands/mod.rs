//! One module per command.

mod epmd;
mod names;
mod term;

use crate::args::{Cli, Command};

/// Runs the command and returns the process exit status.
pub fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Term(a) => term::run(a),
        Command::Epmd(a) => epmd::run(a),
        Command::Names(a) => names::run(a),
    }
}
