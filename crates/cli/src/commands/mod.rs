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
///
/// It is never dropped: the process exits as soon as the command has printed its result,
/// and shutting the runtime down first (closing every connection and task in turn)
/// would only delay that. Whatever must reach a peer is confirmed before returning
/// (see `send`).
pub(crate) fn runtime(command: &str) -> Result<&'static tokio::runtime::Runtime, i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|r| &*Box::leak(Box::new(r)))
        .map_err(|e| crate::exit::Failure::failed(format!("cannot start the runtime: {e}")).report(command))
}

/// Starts beamlink's node and connects it to `peer`: a usage failure for configuration
/// problems, an operation failure naming why `peer` is unreachable otherwise.
pub(crate) async fn open(
    common: &crate::args::Common,
    peer: &str,
) -> Result<beamlink::Node, crate::exit::Failure> {
    crate::node_setup::check_node_name(peer)?;
    let node = match crate::node_setup::start(common, peer).await {
        Ok(n) => n,
        Err(f) if f.code == crate::exit::FAILED && common.dynamic => {
            let why = crate::reach::Why::classify(&f.message);
            return Err(crate::exit::Failure::failed(format!(
                "cannot reach {peer}: {}: {}",
                why.label(),
                f.message
            )));
        }
        Err(f) => return Err(f),
    };
    crate::reach::connect(&node, peer, common.timeout)
        .await
        .map_err(|e| crate::exit::Failure::failed(format!("cannot reach {peer}: {e}")))?;
    Ok(node)
}

/// Prints a result term on stdout: Erlang syntax, Elixir syntax (`elixir`), or JSON.
pub(crate) fn print_value(term: &beamlink::Term, format: crate::args::OutputFormat, elixir: bool) {
    match format {
        crate::args::OutputFormat::Json => println!("{}", crate::json::to_json(term)),
        crate::args::OutputFormat::Text if elixir => println!("{}", crate::elixir::to_elixir(term)),
        crate::args::OutputFormat::Text => println!("{term}"),
    }
}
