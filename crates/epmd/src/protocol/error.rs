//! What can be wrong with EPMD bytes, or with a value that cannot be encoded.

/// Why bytes are not a valid EPMD request or response. Every variant says what was
/// expected, so a log line explains the problem without a hex dump.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The 2-byte length said 0: EPMD requests always have a tag.
    #[error("empty request (length 0)")]
    Empty,
    /// The length prefix is larger than any valid request.
    #[error("request of {len} bytes is larger than the limit of {max}")]
    TooLong { len: usize, max: usize },
    /// The first byte is no request or response this side knows.
    #[error("unknown {what} tag {tag}")]
    UnknownTag { what: &'static str, tag: u8 },
    /// A field runs past the end of the message.
    #[error("{what} is truncated: needs {needed} bytes, has {available}")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    /// Bytes remain after the last field.
    #[error("{what} has {extra} unexpected trailing bytes")]
    Trailing { what: &'static str, extra: usize },
    /// A node name is empty.
    #[error("empty node name")]
    EmptyName,
    /// A node name is longer than [`super::MAX_NAME_BYTES`].
    #[error("node name of {len} bytes is longer than the limit of {max}")]
    NameTooLong { len: usize, max: usize },
    /// A node name is not UTF-8.
    #[error("node name is not valid UTF-8")]
    NameNotUtf8,
    /// The Extra field is longer than [`super::MAX_EXTRA_BYTES`].
    #[error("extra field of {len} bytes is longer than the limit of {max}")]
    ExtraTooLong { len: usize, max: usize },
    /// A fixed answer (KILL_RESP, STOP_RESP) is none of the known words.
    #[error("unexpected {what} answer {answer:?}")]
    Unexpected { what: &'static str, answer: String },
    /// A text answer (NAMES_RESP) has a line that is not `name NAME at port PORT`.
    #[error("unexpected line in the names answer: {line:?}")]
    BadNamesLine { line: String },
}

/// Why a value cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Node names must not be empty.
    #[error("empty node name")]
    EmptyName,
    /// The name does not fit the protocol's limits.
    #[error("node name of {len} bytes is longer than the limit of {max}")]
    NameTooLong { len: usize, max: usize },
    /// The Extra field does not fit the protocol's limits.
    #[error("extra field of {len} bytes is longer than the limit of {max}")]
    ExtraTooLong { len: usize, max: usize },
}
