//! The External Term Format: what `term_to_binary/1` produces and `binary_to_term/1` reads.
//!
//! [`decode`] and [`encode`] handle a whole `term_to_binary` value (version byte 131
//! first). [`Decoder`] reads terms one after another from a shared buffer, with or without
//! the version byte, resolving distribution atom-cache references when given the table:
//! that is what the distribution layer uses.
//!
//! Decoding accepts every tag OTP 25 to 28 emit (and the older PID/PORT/REFERENCE and
//! FLOAT_EXT forms), rejects what `binary_to_term` rejects (duplicate map keys, NaN,
//! atoms over 255 characters, malformed bitstrings), and is hardened against hostile
//! input: see [`DecodeLimits`] and the notes in [`Decoder`]. Encoding writes what
//! `term_to_binary(T, [{minor_version, 2}])` writes, byte for byte where Erlang's own
//! output is deterministic. [`encode_chunks`] writes the same bytes as chunks for vectored
//! writes, sharing large binaries with the term instead of copying them.

mod chunks;
mod decode;
mod encode;
pub(crate) mod tags;

pub use chunks::{encode_body_chunks, encode_chunks, EncodeChunks, SHARE_THRESHOLD};
pub use decode::{decode, decode_bytes, DecodeError, DecodeLimits, Decoder};
pub use encode::{encode, encode_body_to, encode_compressed, encode_to, EncodeError};
