//! Logging for every command: tracing to stderr, level from -v/-q, `RUST_LOG` overrides.
//!
//! One-shot commands (ping, rpc, eval, ...) at their default level only ever print warnings
//! and errors, and a whole `beamlink rpc` takes about a millisecond: for them a small
//! subscriber of our own ([`WarningsToStderr`]) replaces tracing-subscriber's, whose setup
//! alone costs as much as the rest of the process start. Long-running commands, `-v` and
//! `RUST_LOG` get tracing-subscriber's formatter with timestamps and filters.

use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber once: `info` by default (`warn` when `quiet_default`,
/// for commands whose output is their result), `debug` with -v, `trace` with -vv, `error`
/// with -q; `RUST_LOG` (tracing-subscriber's syntax) wins when set. `one_shot` commands
/// without -v or `RUST_LOG` get the lightweight [`WarningsToStderr`].
pub fn init(verbose: u8, quiet: bool, quiet_default: bool, one_shot: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) if quiet_default => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let rust_log = std::env::var_os("RUST_LOG");
    if one_shot && rust_log.is_none() && matches!(level, "warn" | "error") {
        let max = if level == "error" {
            Level::ERROR
        } else {
            Level::WARN
        };
        let _ = tracing::subscriber::set_global_default(WarningsToStderr { max });
        return;
    }
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    // Parsing filter directives costs time at every start: only when RUST_LOG asks.
    match rust_log {
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

/// Prints events at `max` or more severe as one line on stderr (`WARN message key=value`),
/// ignores spans. Costs nothing to install.
struct WarningsToStderr {
    max: Level,
}

impl Subscriber for WarningsToStderr {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans carry nothing this subscriber prints; every span shares one id.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = line(event);
        line.push('\n');
        use std::io::Write as _;
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// An event as one line, without its newline: `WARN message key=value`.
fn line(event: &Event<'_>) -> String {
    let mut line = Line(format!("{:>5}", event.metadata().level()));
    event.record(&mut line);
    line.0
}

/// One log line being written: the message first, then `key=value` per field.
struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holds_the_level_the_message_and_the_fields() {
        // The line as `line` builds it for the event, captured through a layer-free
        // subscriber that records it instead of printing.
        struct Capture(std::sync::Mutex<Vec<String>>);
        impl Subscriber for Capture {
            fn enabled(&self, _: &Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &Attributes<'_>) -> Id {
                Id::from_u64(1)
            }
            fn record(&self, _: &Id, _: &Record<'_>) {}
            fn record_follows_from(&self, _: &Id, _: &Id) {}
            fn event(&self, event: &Event<'_>) {
                self.0.lock().unwrap().push(line(event));
            }
            fn enter(&self, _: &Id) {}
            fn exit(&self, _: &Id) {}
        }
        let capture = std::sync::Arc::new(Capture(Default::default()));
        tracing::subscriber::with_default(capture.clone(), || {
            tracing::warn!(peer = "a@h", tries = 3, "connection lost");
        });
        assert_eq!(
            *capture.0.lock().unwrap(),
            vec![" WARN connection lost peer=a@h tries=3"]
        );
    }

    #[test]
    fn only_events_at_the_level_or_above_are_enabled() {
        let s = WarningsToStderr { max: Level::WARN };
        let d = tracing::Dispatch::new(s);
        tracing::dispatcher::with_default(&d, || {
            assert!(tracing::enabled!(Level::ERROR));
            assert!(tracing::enabled!(Level::WARN));
            assert!(!tracing::enabled!(Level::INFO));
        });
    }
}
