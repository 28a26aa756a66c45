//! Exit statuses, the same for every command.

/// The operation succeeded.
pub const OK: i32 = 0;
/// The operation failed: pang, badrpc, unreachable, bad input.
pub const FAILED: i32 = 1;
/// Usage or configuration error.
pub const USAGE: i32 = 2;

/// Why a command stopped early: the exit status and one line for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// [`FAILED`] or [`USAGE`].
    pub code: i32,
    /// What happened and what to do, on one line.
    pub message: String,
}

impl Failure {
    /// A usage or configuration error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    /// The operation failed (exit 1).
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: FAILED,
            message: message.into(),
        }
    }

    /// Prints `beamlink COMMAND: message` on one line of stderr; returns the status.
    pub fn report(&self, command: &str) -> i32 {
        eprintln!("beamlink {command}: {}", one_line(&self.message));
        self.code
    }
}

/// `text` with control characters (newlines included) turned into spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
