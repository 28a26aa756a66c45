//! Erlang terms for Rust: the [`Term`] value, the External Term Format
//! (`term_to_binary` / `binary_to_term`) and Erlang's text syntax.
//!
//! * [`Term`] and its parts ([`Atom`], [`Pid`], [`Port`], [`Reference`], ...) are plain values.
//! * [`etf`] turns bytes into terms and back. Decoding is hardened against hostile input:
//!   see [`etf::DecodeLimits`].
//!   [`etf::encode_chunks`] writes the encoding as chunks for vectored writes, sharing
//!   large binaries with the term instead of copying them.
//! * [`text`] parses and prints Erlang term literals; `Display` for [`Term`] prints as
//!   `io_lib:format("~0p", [T])` does.

mod atom;
mod convert;
pub mod etf;
mod identifiers;
mod order;
mod term;
pub mod text;

pub use atom::Atom;
pub use convert::TryFromTermError;
pub use identifiers::{ExternalFun, InternalFun, Pid, Port, Reference};
pub use num_bigint::BigInt;
pub use term::{BitBinary, Map, Term};
