//! Encoding: [`Term`] to bytes. PLACEHOLDER: the codec work replaces the bodies.

use crate::Term;

/// A term that has no encoding (a float that is NaN or infinite).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot encode term: {0}")]
pub struct EncodeError(pub String);

/// `term_to_binary(Term)`: version byte 131, then the term.
pub fn encode(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut v = Vec::new();
    encode_to(term, &mut v)?;
    Ok(v)
}

/// Appends version byte 131 and the term to `out`.
pub fn encode_to(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(super::tags::VERSION);
    encode_body_to(term, out)
}

/// Appends the term without the version byte.
pub fn encode_body_to(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let _ = (term, out);
    Err(EncodeError("encoder not implemented".into()))
}

/// `term_to_binary(Term, [compressed])`.
pub fn encode_compressed(term: &Term, level: u32) -> Result<Vec<u8>, EncodeError> {
    let _ = level;
    encode(term)
}
