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

fn main() {
    let args = match args::Cli::parse_args() {
        Ok(a) => a,
        Err(e) => {
            // --help and --version print on stdout and succeed; usage errors exit 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    // Only the EPMD server logs its work by default; clients print results, not logs.
    let quiet_default = !matches!(args.command, args::Command::Epmd(_));
    logging::init(args.common.verbose, args.common.quiet, quiet_default);
    let code = commands::run(args);
    std::process::exit(code);
}
