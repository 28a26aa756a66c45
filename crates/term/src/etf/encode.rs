//! Encoding: [`Term`] to bytes, as `term_to_binary(T, [{minor_version, 2}])` writes them
//! (the default from OTP 26 on, and what the distribution uses):
//!
//! * integers: SMALL_INTEGER_EXT for 0..=255, INTEGER_EXT for the rest of `i32`,
//!   SMALL_BIG_EXT up to 255 bytes of magnitude, LARGE_BIG_EXT beyond;
//! * floats: NEW_FLOAT_EXT; atoms: SMALL_ATOM_UTF8_EXT, or ATOM_UTF8_EXT past 255 bytes;
//! * a proper list whose elements are all integers 0..=255, at most 65,535 of them:
//!   STRING_EXT; any other non-empty list: LIST_EXT;
//! * maps: MAP_EXT with the pairs in the map's own order (as decoded or inserted; a map
//!   decoded from Erlang re-encodes to the same bytes). Erlang accepts any order; it
//!   writes small maps sorted by key, so build a map in key order to get its exact bytes;
//! * pids: NEW_PID_EXT; ports: NEW_PORT_EXT, or V4_PORT_EXT when the id needs more than
//!   32 bits; references: NEWER_REFERENCE_EXT; local funs: the bytes they arrived in.
//!
//! The encoder recurses for the first few dozen levels and continues with an explicit
//! stack below that, so any depth of nesting encodes without exhausting the call stack.

use super::tags::*;
use crate::atom::MAX_ATOM_CHARS;
use crate::{Atom, BitBinary, Term};
use num_bigint::Sign;

/// A term that has no encoding: a float that is NaN or infinite, an atom longer than 255
/// characters, a reference of more than 5 words, a binary of 4 GiB or more, a local fun
/// without its original bytes. The message names the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot encode term: {0}")]
pub struct EncodeError(pub String);

/// `term_to_binary(Term)`: version byte 131, then the term.
pub fn encode(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut v = Vec::with_capacity(64);
    encode_to(term, &mut v)?;
    Ok(v)
}

/// Appends version byte 131 and the term to `out`. On error `out` may hold part of the
/// term.
pub fn encode_to(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(VERSION);
    encode_body_to(term, out)
}

/// `term_to_binary(Term, [{compressed, Level}])`: the term compressed with zlib at
/// `level` (0..=9; 0 means no compression, as in Erlang), or the plain encoding when
/// compression would not make it smaller, as Erlang does.
pub fn encode_compressed(term: &Term, level: u32) -> Result<Vec<u8>, EncodeError> {
    use std::io::Write;
    let plain = encode(term)?;
    if level == 0 {
        return Ok(plain);
    }
    let body = &plain[1..];
    let mut out = Vec::with_capacity(body.len() / 2 + 16);
    out.extend_from_slice(&[VERSION, COMPRESSED]);
    let size = u32::try_from(body.len())
        .map_err(|_| EncodeError(format!("a term of {} bytes is too large to compress", body.len())))?;
    out.extend_from_slice(&size.to_be_bytes());
    let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::new(level.min(9)));
    z.write_all(body).map_err(|e| EncodeError(format!("zlib: {e}")))?;
    let out = z.finish().map_err(|e| EncodeError(format!("zlib: {e}")))?;
    // Erlang keeps the compressed form only when it is smaller than the plain body.
    if out.len() - 2 < body.len() {
        Ok(out)
    } else {
        Ok(plain)
    }
}

/// How deep the encoder recurses before it continues with an explicit stack: deep
/// enough for every ordinary message, shallow enough for any thread's stack.
const RECURSION_LIMIT: usize = 48;

/// Appends the term without the version byte.
pub fn encode_body_to(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    recursive(term, out, 0)
}

/// The fast path: plain recursion for the first [`RECURSION_LIMIT`] levels.
fn recursive(t: &Term, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    let child = |t: &Term, out: &mut Vec<u8>| match t {
        // The common leaves inline, the rest through the general path.
        Term::Int(i) => {
            int(*i, out);
            Ok(())
        }
        Term::Atom(a) => atom(a, out),
        _ if depth < RECURSION_LIMIT => recursive(t, out, depth + 1),
        _ => iterative(t, out),
    };
    match t {
        Term::List(l) if !l.is_empty() && !is_string(l) => {
            list_header(l.len(), out)?;
            for e in l {
                child(e, out)?;
            }
            out.push(NIL_EXT);
        }
        Term::ImproperList(l, tail) if !l.is_empty() => {
            list_header(l.len(), out)?;
            for e in l {
                child(e, out)?;
            }
            child(tail, out)?;
        }
        Term::ImproperList(_, tail) => child(tail, out)?,
        Term::Tuple(elems) => {
            tuple_header(elems.len(), out)?;
            for e in elems {
                child(e, out)?;
            }
        }
        Term::Map(m) => {
            out.push(MAP_EXT);
            out.extend_from_slice(&len32(m.len(), "map")?.to_be_bytes());
            for (k, v) in m.iter() {
                child(k, out)?;
                child(v, out)?;
            }
        }
        leaf => write_leaf(leaf, out)?,
    }
    Ok(())
}

/// What is left to write: terms, and the elements of containers being written.
enum Job<'a> {
    One(&'a Term),
    Elems(std::slice::Iter<'a, Term>),
    Pairs(std::slice::Iter<'a, (Term, Term)>),
    Nil,
}

/// The same encoding with an explicit stack, for terms nested beyond the recursion limit.
fn iterative(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut next = Some(term);
    loop {
        let t = match next.take() {
            Some(t) => t,
            None => match jobs.last_mut() {
                None => return Ok(()),
                Some(Job::One(t)) => {
                    let t = *t;
                    jobs.pop();
                    t
                }
                Some(Job::Nil) => {
                    jobs.pop();
                    out.push(NIL_EXT);
                    continue;
                }
                Some(Job::Elems(it)) => match it.next() {
                    Some(t) => t,
                    None => {
                        jobs.pop();
                        continue;
                    }
                },
                Some(Job::Pairs(it)) => match it.next() {
                    Some((k, v)) => {
                        jobs.push(Job::One(v));
                        k
                    }
                    None => {
                        jobs.pop();
                        continue;
                    }
                },
            },
        };
        match t {
            Term::List(l) if !l.is_empty() && !is_string(l) => {
                list_header(l.len(), out)?;
                jobs.push(Job::Nil);
                jobs.push(Job::Elems(l.iter()));
            }
            Term::ImproperList(l, tail) if !l.is_empty() => {
                list_header(l.len(), out)?;
                jobs.push(Job::One(tail));
                jobs.push(Job::Elems(l.iter()));
            }
            Term::ImproperList(_, tail) => next = Some(tail),
            Term::Tuple(elems) => {
                tuple_header(elems.len(), out)?;
                jobs.push(Job::Elems(elems.iter()));
            }
            Term::Map(m) => {
                out.push(MAP_EXT);
                out.extend_from_slice(&len32(m.len(), "map")?.to_be_bytes());
                jobs.push(Job::Pairs(m.0.iter()));
            }
            leaf => write_leaf(leaf, out)?,
        }
    }
}

/// `true` when a non-empty list is written as STRING_EXT: at most 65,535 elements, all
/// integers 0..=255.
#[inline]
fn is_string(l: &[Term]) -> bool {
    l.len() <= 0xFFFF && l.iter().all(|e| matches!(e, Term::Int(0..=255)))
}

#[inline]
fn list_header(n: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(LIST_EXT);
    out.extend_from_slice(&len32(n, "list")?.to_be_bytes());
    // At least two bytes per element: one reservation instead of many small growths.
    out.reserve(n.saturating_mul(2));
    Ok(())
}

#[inline]
fn tuple_header(n: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if n <= 255 {
        out.extend_from_slice(&[SMALL_TUPLE_EXT, n as u8]);
    } else {
        out.push(LARGE_TUPLE_EXT);
        out.extend_from_slice(&len32(n, "tuple")?.to_be_bytes());
    }
    Ok(())
}

/// Writes a term that is not a non-empty tuple, list or map (an empty list is `[]`, a
/// string-like list is STRING_EXT).
fn write_leaf(t: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match t {
        Term::Atom(a) => atom(a, out)?,
        Term::Int(i) => int(*i, out),
        Term::BigInt(b) => {
            let (sign, mag) = b.to_bytes_le();
            big(sign == Sign::Minus, &mag, out);
        }
        Term::Float(f) => {
            if !f.is_finite() {
                return Err(EncodeError(format!("the float {f} has no Erlang equivalent")));
            }
            out.push(NEW_FLOAT_EXT);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(BINARY_EXT);
            out.extend_from_slice(&len32(b.len(), "binary")?.to_be_bytes());
            out.extend_from_slice(b);
        }
        Term::BitBinary(BitBinary { data, bits }) => {
            let bits = *bits;
            if bits == 8 || data.is_empty() {
                out.push(BINARY_EXT);
                out.extend_from_slice(&len32(data.len(), "binary")?.to_be_bytes());
                out.extend_from_slice(data);
            } else if (1..8).contains(&bits) {
                out.push(BIT_BINARY_EXT);
                out.extend_from_slice(&len32(data.len(), "bitstring")?.to_be_bytes());
                out.push(bits);
                let (last, whole) = data.split_last().unwrap_or((&0, &[]));
                out.extend_from_slice(whole);
                // Only the high `bits` of the last byte belong to the value.
                out.push(last & (0xFFu8 << (8 - bits)));
            } else {
                return Err(EncodeError(format!(
                    "a bitstring with {bits} bits in its last byte"
                )));
            }
        }
        Term::List(l) => {
            if l.is_empty() {
                out.push(NIL_EXT);
            } else {
                // Only string-like lists get here (see is_string).
                out.push(STRING_EXT);
                out.extend_from_slice(&(l.len() as u16).to_be_bytes());
                out.extend(l.iter().map(|e| match e {
                    Term::Int(i) => *i as u8,
                    _ => 0,
                }));
            }
        }
        Term::Pid(p) => {
            out.push(NEW_PID_EXT);
            atom(&p.node, out)?;
            out.extend_from_slice(&p.id.to_be_bytes());
            out.extend_from_slice(&p.serial.to_be_bytes());
            out.extend_from_slice(&p.creation.to_be_bytes());
        }
        Term::Port(p) => {
            if let Ok(id) = u32::try_from(p.id) {
                out.push(NEW_PORT_EXT);
                atom(&p.node, out)?;
                out.extend_from_slice(&id.to_be_bytes());
            } else {
                out.push(V4_PORT_EXT);
                atom(&p.node, out)?;
                out.extend_from_slice(&p.id.to_be_bytes());
            }
            out.extend_from_slice(&p.creation.to_be_bytes());
        }
        Term::Reference(r) => {
            if r.id.len() > 5 {
                return Err(EncodeError(format!(
                    "a reference of {} words: Erlang allows at most 5",
                    r.id.len()
                )));
            }
            out.push(NEWER_REFERENCE_EXT);
            out.extend_from_slice(&(r.id.len() as u16).to_be_bytes());
            atom(&r.node, out)?;
            out.extend_from_slice(&r.creation.to_be_bytes());
            for w in &r.id {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
        Term::ExternalFun(f) => {
            out.push(EXPORT_EXT);
            atom(&f.module, out)?;
            atom(&f.function, out)?;
            out.extend_from_slice(&[SMALL_INTEGER_EXT, f.arity]);
        }
        Term::InternalFun(f) => {
            if f.raw.first() != Some(&NEW_FUN_EXT) {
                return Err(EncodeError(format!(
                    "a local fun of module {} without the bytes it was received in: only a BEAM can \
                     encode local funs",
                    f.module.as_str()
                )));
            }
            out.extend_from_slice(&f.raw);
        }
        Term::Tuple(_) | Term::Map(_) | Term::ImproperList(..) => {
            return Err(EncodeError("internal: a container reached write_leaf".into()));
        }
    }
    Ok(())
}

fn len32(n: usize, what: &str) -> Result<u32, EncodeError> {
    u32::try_from(n).map_err(|_| {
        EncodeError(format!(
            "a {what} of {n} elements or bytes: the limit is 2^32 - 1"
        ))
    })
}

#[inline]
fn atom(a: &Atom, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let s = a.as_str().as_bytes();
    if s.len() < 256 {
        out.push(SMALL_ATOM_UTF8_EXT);
        out.push(s.len() as u8);
    } else {
        let chars = a.as_str().chars().count();
        if chars > MAX_ATOM_CHARS {
            return Err(EncodeError(format!(
                "an atom of {chars} characters: Erlang allows at most 255"
            )));
        }
        out.push(ATOM_UTF8_EXT);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(s);
    Ok(())
}

#[inline]
fn int(i: i64, out: &mut Vec<u8>) {
    if (0..=255).contains(&i) {
        out.extend_from_slice(&[SMALL_INTEGER_EXT, i as u8]);
    } else if let Ok(i) = i32::try_from(i) {
        let [a, b, c, d] = i.to_be_bytes();
        out.extend_from_slice(&[INTEGER_EXT, a, b, c, d]);
    } else {
        let mag = i.unsigned_abs().to_le_bytes();
        let len = mag.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        big(i < 0, &mag[..len], out);
    }
}

fn big(negative: bool, mag: &[u8], out: &mut Vec<u8>) {
    if mag.len() <= 255 {
        out.extend_from_slice(&[SMALL_BIG_EXT, mag.len() as u8]);
    } else {
        out.push(LARGE_BIG_EXT);
        out.extend_from_slice(&(mag.len() as u32).to_be_bytes());
    }
    out.push(negative as u8);
    out.extend_from_slice(mag);
}
