//! Logging for every command: tracing to stderr, level from -v/-q, `RUST_LOG` overrides.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber once: `info` by default, `debug` with -v, `trace` with
/// -vv, `error` with -q; `RUST_LOG` (tracing-subscriber's syntax) wins when set.
pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
