//! One module per command.

mod completions;
mod epmd;
mod eval;
mod join;
mod list;
mod names;
mod ping;
mod rpc;
mod send;
mod term;

use crate::args::{Cli, Command};

/// Runs the command and returns the process exit status.
pub fn run(cli: Cli) -> i32 {
    let common = cli.common;
    match cli.command {
        Command::Ping(a) => ping::run(a, &common),
        Command::List(a) => list::run(a, &common),
        Command::Rpc(a) => rpc::run(a, &common),
        Command::Eval(a) => eval::run(a, &common),
        Command::Send(a) => send::run(a, &common),
        Command::Completions(a) => completions::run(a),
        Command::Term(a) => term::run(a),
        Command::Epmd(a) => epmd::run(a, &common),
        Command::Names(a) => names::run(a, &common),
        Command::Join(a) => join::run(a, &common),
    }
}

/// A runtime for one command: one thread is plenty for a client and starts fastest.
pub(crate) fn runtime(command: &str) -> Result<tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::exit::Failure::failed(format!("cannot start the runtime: {e}")).report(command))
}
