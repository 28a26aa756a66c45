//! Logging for every command: tracing to stderr, level from -v/-q, `RUST_LOG` overrides.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber once: `info` by default (`warn` when `quiet_default`,
/// for commands whose output is their result), `debug` with -v, `trace` with -vv, `error`
/// with -q; `RUST_LOG` (tracing-subscriber's syntax) wins when set.
pub fn init(verbose: u8, quiet: bool, quiet_default: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if quiet_default => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    // Parsing filter directives costs time at every start: only when RUST_LOG asks.
    match std::env::var_os("RUST_LOG") {
        Some(_) => {
            let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
            let _ = builder.with_env_filter(filter).try_init();
        }
        None => {
            let level = level
                .parse()
                .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
            let _ = builder.with_max_level(level).try_init();
        }
    }
}
