//! Decoding: bytes to [`Term`]. PLACEHOLDER: the codec work replaces the bodies.

use crate::{Atom, Term};
use bytes::Bytes;

/// Bounds that keep a hostile input from costing more than it should.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Deepest nesting of tuples, lists, maps and funs.
    pub max_depth: usize,
    /// Largest size a compressed term may claim once uncompressed.
    pub max_uncompressed: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_depth: 10_000, max_uncompressed: 64 << 20 }
    }
}

/// Why a decode failed, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid external term at byte {offset}: {reason}")]
pub struct DecodeError {
    pub offset: usize,
    pub reason: String,
}

/// Reads terms one after another from a shared buffer.
pub struct Decoder<'a> {
    input: Bytes,
    pos: usize,
    limits: DecodeLimits,
    atom_cache: &'a [Option<Atom>],
}

impl<'a> Decoder<'a> {
    /// A decoder over `input`; binaries in decoded terms share its memory.
    pub fn new(input: Bytes) -> Decoder<'static> {
        Decoder { input, pos: 0, limits: DecodeLimits::default(), atom_cache: &[] }
    }
    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }
    /// Resolve ATOM_CACHE_REF index `i` to `cache[i]` (the distribution header's table).
    pub fn with_atom_cache<'b>(self, cache: &'b [Option<Atom>]) -> Decoder<'b> {
        Decoder { input: self.input, pos: self.pos, limits: self.limits, atom_cache: cache }
    }
    /// One term that starts with the version byte 131.
    pub fn term(&mut self) -> Result<Term, DecodeError> {
        let _ = (&self.input, self.pos, self.limits, self.atom_cache);
        Err(DecodeError { offset: self.pos, reason: "decoder not implemented".into() })
    }
    /// One term without the version byte (as after a distribution header).
    pub fn term_body(&mut self) -> Result<Term, DecodeError> {
        Err(DecodeError { offset: self.pos, reason: "decoder not implemented".into() })
    }
    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }
}

/// Decodes one whole `term_to_binary` value; trailing bytes are an error.
pub fn decode(input: &[u8]) -> Result<Term, DecodeError> {
    let mut d = Decoder::new(Bytes::copy_from_slice(input));
    let t = d.term()?;
    if d.remaining() != 0 {
        return Err(DecodeError { offset: d.position(), reason: "trailing bytes after the term".into() });
    }
    Ok(t)
}
