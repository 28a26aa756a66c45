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
use crate::atom::{ETF_PAD, MAX_ATOM_CHARS};
use crate::{Atom, BitBinary, Pid, Term};
use bytes::Bytes;
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
    recursive(term, out, &mut Copy, 0).map_err(|e| *e)
}

/// Where the bytes of a binary go once its header is written: copied into the buffer
/// ([`Copy`], for a plain encoding), or shared by reference as a chunk of their own
/// ([`super::chunks::EncodeChunks`]). A type parameter, so the plain encoder compiles to
/// the same code as if this did not exist.
pub(super) trait Share {
    fn data(&mut self, data: &Bytes, out: &mut Vec<u8>);
}

/// Binaries copied into the buffer.
pub(super) struct Copy;

impl Share for Copy {
    #[inline(always)]
    fn data(&mut self, data: &Bytes, out: &mut Vec<u8>) {
        out.extend_from_slice(data);
    }
}

/// Appends the term without the version byte, handing the bytes of binaries to `share`.
pub(super) fn encode_body_shared<S: Share>(
    term: &Term,
    out: &mut Vec<u8>,
    share: &mut S,
) -> Result<(), EncodeError> {
    recursive(term, out, share, 0).map_err(|e| *e)
}

/// The internal result: the error boxed, so that a result is one register wide and the
/// hot path passes no 24-byte value back through memory at every term.
type Fallible<T = ()> = Result<T, Box<EncodeError>>;

#[cold]
fn fail(reason: String) -> Box<EncodeError> {
    Box::new(EncodeError(reason))
}

/// The fast path: plain recursion for the first [`RECURSION_LIMIT`] levels.
fn recursive<S: Share>(t: &Term, out: &mut Vec<u8>, share: &mut S, depth: usize) -> Fallible {
    match t {
        // Tuples first: every control message is one.
        Term::Tuple(elems) => {
            tuple_header(elems.len(), out)?;
            for e in elems {
                child(e, out, share, depth)?;
            }
        }
        Term::List(l) if !l.is_empty() && !is_string(l) => {
            list_header(l.len(), out)?;
            let mut rest = &l[..];
            while !rest.is_empty() {
                if rest.len() >= 16 && matches!(rest[0], Term::Int(_)) {
                    // Long lists are often integers: write a run of them in one go.
                    rest = &rest[int_run(rest, out)..];
                }
                if let Some((e, tail)) = rest.split_first() {
                    child(e, out, share, depth)?;
                    rest = tail;
                }
            }
            out.push(NIL_EXT);
        }
        Term::ImproperList(l, tail) if !l.is_empty() => {
            list_header(l.len(), out)?;
            for e in l {
                child(e, out, share, depth)?;
            }
            child(tail, out, share, depth)?;
        }
        Term::ImproperList(_, tail) => child(tail, out, share, depth)?,
        Term::Map(m) => {
            let [a, b, c, d] = len32(m.len(), "map")?.to_be_bytes();
            out.extend_from_slice(&[MAP_EXT, a, b, c, d]);
            for (k, v) in m.iter() {
                // Keys are mostly atoms: written without the general dispatch.
                match k {
                    Term::Atom(a) => atom(a, out)?,
                    k => child(k, out, share, depth)?,
                }
                child(v, out, share, depth)?;
            }
        }
        leaf => write_leaf(leaf, out, share)?,
    }
    Ok(())
}

/// One element of a container being written at `depth`: the common leaves inline, other
/// leaves straight to their writer, containers one level down.
#[inline(always)]
fn child<S: Share>(t: &Term, out: &mut Vec<u8>, share: &mut S, depth: usize) -> Fallible {
    match t {
        Term::Int(i) => {
            int(*i, out);
            Ok(())
        }
        Term::Atom(a) => atom(a, out),
        Term::Pid(p) => pid(p, out),
        Term::Float(f) if f.is_finite() => {
            let [a, b, c, d, e, f, g, h] = f.to_bits().to_be_bytes();
            out.extend_from_slice(&[NEW_FLOAT_EXT, a, b, c, d, e, f, g, h]);
            Ok(())
        }
        Term::Binary(b) if b.len() <= u32::MAX as usize => {
            let [x, y, z, w] = (b.len() as u32).to_be_bytes();
            out.extend_from_slice(&[BINARY_EXT, x, y, z, w]);
            share.data(b, out);
            Ok(())
        }
        Term::List(_) | Term::ImproperList(..) | Term::Tuple(_) | Term::Map(_) => {
            if depth < RECURSION_LIMIT {
                recursive(t, out, share, depth + 1)
            } else {
                iterative(t, out, share)
            }
        }
        _ => write_leaf(t, out, share),
    }
}

/// NEW_PID_EXT.
#[inline(always)]
fn pid(p: &Pid, out: &mut Vec<u8>) -> Fallible {
    let node = p.node.as_str().as_bytes();
    let n = node.len();
    let mut words = [0u8; 12];
    words[..4].copy_from_slice(&p.id.to_be_bytes());
    words[4..8].copy_from_slice(&p.serial.to_be_bytes());
    words[8..].copy_from_slice(&p.creation.to_be_bytes());
    if let Some(head) = p.node.etf() {
        // Tag, node and words in one fixed-size append (see `atom`).
        let mut w = [0u8; 1 + ETF_PAD + 12];
        w[0] = NEW_PID_EXT;
        w[1..1 + ETF_PAD].copy_from_slice(head);
        w[3 + n..3 + n + 12].copy_from_slice(&words);
        let end = out.len() + 3 + n + 12;
        out.extend_from_slice(&w);
        out.truncate(end);
    } else {
        out.push(NEW_PID_EXT);
        atom(&p.node, out)?;
        out.extend_from_slice(&words);
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
fn iterative<S: Share>(term: &Term, out: &mut Vec<u8>, share: &mut S) -> Fallible {
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
            leaf => write_leaf(leaf, out, share)?,
        }
    }
}

/// Writes the leading integers of `elems` that fit in 32 bits (up to 64 of them) in one
/// go, into bytes reserved for them all: the loop over a long integer list then keeps its
/// position in a register instead of updating the vector's length per element. Returns how
/// many it wrote. Kept out of line, so its loop is laid out on its own.
#[inline(never)]
fn int_run(elems: &[Term], out: &mut Vec<u8>) -> usize {
    const CHUNK: usize = 64;
    let start = out.len();
    out.resize(start + 5 * CHUNK, 0);
    let buf = &mut out[start..start + 5 * CHUNK];
    let mut p = 0;
    let mut k = 0;
    for e in elems.iter().take(CHUNK) {
        let Term::Int(i) = *e else { break };
        let Ok(w) = i32::try_from(i) else { break };
        let [a, b, c, d] = w.to_be_bytes();
        let dst = &mut buf[p..p + 5];
        if (0..=255).contains(&w) {
            dst[..2].copy_from_slice(&[SMALL_INTEGER_EXT, d]);
            p += 2;
        } else {
            dst.copy_from_slice(&[INTEGER_EXT, a, b, c, d]);
            p += 5;
        }
        k += 1;
    }
    out.truncate(start + p);
    k
}

/// `true` when a non-empty list is written as STRING_EXT: at most 65,535 elements, all
/// integers 0..=255.
#[inline]
fn is_string(l: &[Term]) -> bool {
    l.len() <= 0xFFFF && l.iter().all(|e| matches!(e, Term::Int(0..=255)))
}

#[inline]
fn list_header(n: usize, out: &mut Vec<u8>) -> Fallible {
    let [a, b, c, d] = len32(n, "list")?.to_be_bytes();
    out.extend_from_slice(&[LIST_EXT, a, b, c, d]);
    // At least two bytes per element: one reservation instead of many small growths.
    out.reserve(n.saturating_mul(2));
    Ok(())
}

#[inline(always)]
fn tuple_header(n: usize, out: &mut Vec<u8>) -> Fallible {
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
fn write_leaf<S: Share>(t: &Term, out: &mut Vec<u8>, share: &mut S) -> Fallible {
    match t {
        Term::Atom(a) => atom(a, out)?,
        Term::Int(i) => int(*i, out),
        Term::BigInt(b) => {
            let (sign, mag) = b.to_bytes_le();
            big(sign == Sign::Minus, &mag, out);
        }
        Term::Float(f) => {
            if !f.is_finite() {
                return Err(fail(format!("the float {f} has no Erlang equivalent")));
            }
            out.push(NEW_FLOAT_EXT);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(BINARY_EXT);
            out.extend_from_slice(&len32(b.len(), "binary")?.to_be_bytes());
            share.data(b, out);
        }
        Term::BitBinary(bb) => {
            let BitBinary { data, bits } = &**bb;
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
                return Err(fail(format!("a bitstring with {bits} bits in its last byte")));
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
        Term::Pid(p) => pid(p, out)?,
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
                return Err(fail(format!(
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
                return Err(fail(format!(
                    "a local fun of module {} without the bytes it was received in: only a BEAM can \
                     encode local funs",
                    f.module.as_str()
                )));
            }
            out.extend_from_slice(&f.raw);
        }
        Term::Tuple(_) | Term::Map(_) | Term::ImproperList(..) => {
            return Err(fail("internal: a container reached write_leaf".into()));
        }
    }
    Ok(())
}

fn len32(n: usize, what: &str) -> Fallible<u32> {
    u32::try_from(n).map_err(|_| {
        fail(format!(
            "a {what} of {n} elements or bytes: the limit is 2^32 - 1"
        ))
    })
}

#[inline(always)]
fn atom(a: &Atom, out: &mut Vec<u8>) -> Fallible {
    if let Some(head) = a.etf() {
        // The atom's own encoding, padded: appended with fixed-size moves (no call into
        // memcpy, one capacity check) and cut to its length.
        let end = out.len() + 2 + head[1] as usize;
        out.extend_from_slice(head);
        out.truncate(end);
        Ok(())
    } else {
        long_atom(a, out)
    }
}

#[inline(never)]
fn long_atom(a: &Atom, out: &mut Vec<u8>) -> Fallible {
    let s = a.as_str().as_bytes();
    if s.len() < 256 {
        out.push(SMALL_ATOM_UTF8_EXT);
        out.push(s.len() as u8);
    } else {
        let chars = a.as_str().chars().count();
        if chars > MAX_ATOM_CHARS {
            return Err(fail(format!(
                "an atom of {chars} characters: Erlang allows at most 255"
            )));
        }
        out.push(ATOM_UTF8_EXT);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(s);
    Ok(())
}

#[inline(always)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The short-atom path copies with overlapping fixed-size words: every length it
    /// handles, and the first past it, must come out byte for byte.
    #[test]
    fn atoms_of_every_short_length_encode_exactly() {
        for n in 0..=40 {
            let text: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let mut out = vec![0xEE];
            encode_body_to(&Term::atom(&text), &mut out).unwrap();
            let mut want = vec![0xEE, SMALL_ATOM_UTF8_EXT, n as u8];
            want.extend_from_slice(text.as_bytes());
            assert_eq!(out, want, "atom of {n} bytes");
        }
    }

    /// Pids with short node names are written in one piece: every node length on both
    /// sides of that path must come out byte for byte.
    #[test]
    fn pids_with_nodes_of_every_short_length_encode_exactly() {
        for n in 0..=24 {
            let node: String = (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let p = Pid {
                node: Atom::new(&node),
                id: 0x01020304,
                serial: 0x05060708,
                creation: 0x090A0B0C,
            };
            let mut out = vec![0xEE];
            encode_body_to(&Term::Pid(p), &mut out).unwrap();
            let mut want = vec![0xEE, NEW_PID_EXT, SMALL_ATOM_UTF8_EXT, n as u8];
            want.extend_from_slice(node.as_bytes());
            want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
            assert_eq!(out, want, "node of {n} bytes");
        }
    }

    /// Long lists take the integer-run path: runs broken by big integers, atoms and
    /// nested terms, with values at the edges of each encoding, must match the plain path.
    #[test]
    fn long_mixed_integer_lists_encode_element_by_element() {
        let edges = [
            0i64,
            255,
            256,
            -1,
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 31,
            -(1 << 31) - 1,
        ];
        let mut elems = Vec::new();
        for i in 0..300i64 {
            elems.push(Term::Int(edges[(i % 8) as usize] + i * (i % 3)));
            if i % 97 == 0 {
                elems.push(Term::atom("x"));
            }
            if i % 131 == 0 {
                elems.push(Term::tuple(vec![Term::Int(i)]));
            }
        }
        let mut out = Vec::new();
        encode_body_to(&Term::list(elems.clone()), &mut out).unwrap();
        let mut want = vec![LIST_EXT];
        want.extend_from_slice(&(elems.len() as u32).to_be_bytes());
        for e in &elems {
            encode_body_to(e, &mut want).unwrap();
        }
        want.push(NIL_EXT);
        assert_eq!(out, want);
    }
}
