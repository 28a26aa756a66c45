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
    // Like other Unix tools, end quietly when the reader of stdout goes away
    // (`beamlink list | head -1`) instead of failing to print.
    // SAFETY: setting a signal's disposition to the default before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // A bug must still be one line on stderr, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = exit::one_line(&info.to_string());
        eprintln!("beamlink: internal error, please report it: {msg}");
    }));
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
