//! The External Term Format: what `term_to_binary/1` produces and `binary_to_term/1` reads.
//!
//! [`decode`] and [`encode`] handle a whole `term_to_binary` value (version byte 131
//! first). [`Decoder`] reads terms one after another from a shared buffer, with or without
//! the version byte, resolving distribution atom-cache references when given the table:
//! that is what the distribution layer uses.

mod decode;
mod encode;
pub(crate) mod tags;

pub use decode::{decode, DecodeError, DecodeLimits, Decoder};
pub use encode::{encode, encode_compressed, encode_to, encode_body_to, EncodeError};
