//! Exit statuses, the same for every command.

/// The operation succeeded.
pub const OK: i32 = 0;
/// The operation failed: pang, badrpc, unreachable, bad input.
pub const FAILED: i32 = 1;
/// Usage or configuration error.
pub const USAGE: i32 = 2;
