//! Decoding: bytes to [`Term`], as `binary_to_term/1` reads them.
//!
//! The decoder is iterative: nested tuples, lists, maps and fun environments live on an
//! explicit stack (bounded by [`DecodeLimits::max_depth`]), never on the call stack, so no
//! input can overflow the thread's stack. A chain of list cells (`[1 | [2 | [3 | ...]]]`,
//! which `term_to_binary` never writes but a peer could) is folded into one list and does
//! not count as nesting.
//!
//! Memory stays proportional to the input: every count read from the input is checked
//! against the bytes that remain before anything is reserved for it, and the counts of all
//! containers still open are checked *together* (each promised element needs at least one
//! byte), so a chain of headers that each claim "all the rest" cannot multiply the
//! reservation: the worst case is one [`Term`] (40 bytes) per input byte, as for a
//! STRING_EXT. Binaries share the input buffer. The one exception is a compressed term,
//! which may inflate up to [`DecodeLimits::max_uncompressed`] bytes and no further.
//!
//! New atoms go into the process-wide atom table, which is never freed and holds at most
//! 1,048,576 atoms (the BEAM's default); past that, decoding a new atom is an error.

use super::tags::*;
use crate::atom::{AtomError, INTERN_LIMIT, MAX_ATOM_CHARS};
use crate::{Atom, BigInt, ExternalFun, InternalFun, Map, Pid, Port, Reference, Term};
use bytes::Bytes;
use num_bigint::Sign;

/// Bounds that keep a hostile input from costing more than it should.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Deepest nesting of tuples, lists, maps and fun environments (a list's tail does not
    /// count: long lists are not deep). Deeper input fails with a "nesting deeper than"
    /// error. The default, 1,000, is far beyond what real messages use and keeps the
    /// recursive operations on a decoded [`Term`] (clone, compare, hash, drop) within a
    /// 2 MiB thread stack, the size of a tokio worker's, even in a debug build: measured,
    /// a clone or compare there overflows between 1,500 and 2,000 levels. Raise it only
    /// for trusted input on threads with larger stacks.
    pub max_depth: usize,
    /// Largest size a compressed term may claim once uncompressed (default 64 MiB).
    pub max_uncompressed: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_depth: 1_000,
            max_uncompressed: 64 << 20,
        }
    }
}

/// Why a decode failed, and where: `offset` is the position in the input (from the
/// start of the buffer given to the [`Decoder`]) of the byte that could not be read as
/// expected; `reason` says what was expected and what was found.
///
/// For a term inside a compressed term, the offset is the position of the COMPRESSED tag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid external term at byte {offset}: {reason}")]
pub struct DecodeError {
    pub offset: usize,
    pub reason: String,
}

fn err<T>(offset: usize, reason: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError {
        offset,
        reason: reason.into(),
    })
}

/// Reads terms one after another from a shared buffer.
///
/// After an error the position is back where the failed term started, so the caller can
/// report it; the rest of the buffer is not trusted further.
pub struct Decoder<'a> {
    input: Bytes,
    pos: usize,
    limits: DecodeLimits,
    atom_cache: &'a [Option<Atom>],
}

impl<'a> Decoder<'a> {
    /// A decoder over `input`; binaries in decoded terms share its memory.
    pub fn new(input: Bytes) -> Decoder<'static> {
        Decoder {
            input,
            pos: 0,
            limits: DecodeLimits::default(),
            atom_cache: &[],
        }
    }

    /// The same decoder with other limits.
    pub fn with_limits(mut self, limits: DecodeLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Resolve ATOM_CACHE_REF index `i` to `cache[i]` (the distribution header's table).
    /// A reference to an index that is out of range or `None` is an error.
    pub fn with_atom_cache<'b>(self, cache: &'b [Option<Atom>]) -> Decoder<'b> {
        Decoder {
            input: self.input,
            pos: self.pos,
            limits: self.limits,
            atom_cache: cache,
        }
    }

    /// One term that starts with the version byte 131 (a `term_to_binary` value, possibly
    /// compressed).
    pub fn term(&mut self) -> Result<Term, DecodeError> {
        match self.input.get(self.pos) {
            Some(&VERSION) => {}
            Some(b) => return err(self.pos, format!("expected the version byte 131, found {b}")),
            None => {
                return err(
                    self.pos,
                    "expected the version byte 131, found the end of the input",
                )
            }
        }
        let start = self.pos;
        self.pos += 1;
        let r = self.term_body();
        if r.is_err() {
            self.pos = start;
        }
        r
    }

    /// One term without the version byte (as after a distribution header). A COMPRESSED
    /// term is accepted here too, as `binary_to_term` accepts it right after the version.
    pub fn term_body(&mut self) -> Result<Term, DecodeError> {
        let start = self.pos;
        let r = if self.input.get(self.pos) == Some(&COMPRESSED) {
            self.compressed()
        } else {
            let mut c = Cursor {
                input: &self.input,
                buf: &self.input[..],
                pos: self.pos,
                limits: self.limits,
                atom_cache: self.atom_cache,
            };
            let r = c.term();
            self.pos = c.pos;
            r
        };
        if r.is_err() {
            self.pos = start;
        }
        r
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    /// COMPRESSED: the declared size (4 bytes), then a zlib stream that inflates to
    /// exactly that many bytes, which hold exactly one term.
    ///
    /// Never inlined: the inflater's state takes tens of KiB of stack, and inlined into
    /// [`Decoder::term_body`] it made every decode probe that much stack, page by page
    /// (50 instructions and 13 pages touched for each small message).
    #[inline(never)]
    #[cold]
    fn compressed(&mut self) -> Result<Term, DecodeError> {
        let tag_pos = self.pos;
        let rest = &self.input[tag_pos + 1..];
        if rest.len() < 4 {
            return err(
                tag_pos + 1,
                "expected the 4-byte uncompressed size of a COMPRESSED term",
            );
        }
        let size = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if size == 0 {
            return err(
                tag_pos + 1,
                "a COMPRESSED term declares an uncompressed size of 0",
            );
        }
        if size > self.limits.max_uncompressed {
            return err(
                tag_pos + 1,
                format!(
                    "a COMPRESSED term declares {size} bytes uncompressed, more than the limit of {} \
                     (DecodeLimits::max_uncompressed)",
                    self.limits.max_uncompressed
                ),
            );
        }
        let zdata = &rest[4..];
        let (inflated, consumed) = inflate(zdata, size).map_err(|reason| DecodeError {
            offset: tag_pos + 5,
            reason: format!("bad zlib data in a COMPRESSED term: {reason}"),
        })?;
        let inner = Bytes::from(inflated);
        let mut c = Cursor {
            input: &inner,
            buf: &inner[..],
            pos: 0,
            limits: self.limits,
            atom_cache: self.atom_cache,
        };
        let term = c.term().map_err(|e| DecodeError {
            offset: tag_pos,
            reason: format!(
                "in the COMPRESSED term, at uncompressed byte {}: {}",
                e.offset, e.reason
            ),
        })?;
        if c.pos != inner.len() {
            return err(
                tag_pos,
                format!(
                    "a COMPRESSED term holds {} bytes after its term (declared size {size})",
                    inner.len() - c.pos
                ),
            );
        }
        self.pos = tag_pos + 5 + consumed;
        Ok(term)
    }
}

/// Inflates a zlib stream that must produce exactly `size` bytes; returns them and how
/// many input bytes the stream used. Memory grows with the output actually produced,
/// never to the declared size up front.
fn inflate(data: &[u8], size: usize) -> Result<(Vec<u8>, usize), String> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut z = Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(size.min(data.len().saturating_mul(4).max(64)));
    loop {
        if out.len() == out.capacity() {
            if out.len() > size {
                return Err(format!("it inflates to more than the declared {size} bytes"));
            }
            // One byte beyond the declared size, to notice a stream that is too long.
            let want = (out.capacity() * 2).min(size + 1).max(out.len() + 1);
            out.reserve_exact(want - out.len());
        }
        let before_in = z.total_in();
        let before_out = z.total_out();
        let status = z
            .decompress_vec(&data[z.total_in() as usize..], &mut out, FlushDecompress::Finish)
            .map_err(|e| e.to_string())?;
        if out.len() > size {
            return Err(format!("it inflates to more than the declared {size} bytes"));
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                if z.total_in() == before_in && z.total_out() == before_out && out.len() < out.capacity() {
                    return Err("the stream ends early".into());
                }
            }
        }
    }
    if out.len() != size {
        return Err(format!(
            "it inflates to {} bytes, not the declared {size}",
            out.len()
        ));
    }
    Ok((out, z.total_in() as usize))
}

/// Decodes one whole `term_to_binary` value; trailing bytes are an error. Copies the
/// input once so that binaries in the result can share it; use [`decode_bytes`] to avoid
/// the copy when the input already is a [`Bytes`].
pub fn decode(input: &[u8]) -> Result<Term, DecodeError> {
    decode_bytes(Bytes::copy_from_slice(input))
}

/// Decodes one whole `term_to_binary` value held in `input`; binaries in the result share
/// its memory. Trailing bytes are an error.
pub fn decode_bytes(input: Bytes) -> Result<Term, DecodeError> {
    let mut d = Decoder::new(input);
    let t = d.term()?;
    if d.remaining() != 0 {
        return err(
            d.position(),
            format!("{} trailing bytes after the term", d.remaining()),
        );
    }
    Ok(t)
}

/// A container whose elements are still being read.
enum Frame {
    Tuple {
        elems: Vec<Term>,
        left: usize,
    },
    /// `left` elements to go; when it reaches 0 the next term is the tail.
    List {
        elems: Vec<Term>,
        left: usize,
    },
    Map {
        pairs: Vec<(Term, Term)>,
        key: Option<Term>,
        left: usize,
        start: usize,
    },
    Fun {
        fun: Box<InternalFun>,
        left: usize,
        start: usize,
        end: usize,
    },
}

/// The decoding state over one buffer. `buf` is `input` as a slice (kept apart so the
/// hot path indexes a slice, and slices `input` only for binaries).
struct Cursor<'b> {
    input: &'b Bytes,
    buf: &'b [u8],
    pos: usize,
    limits: DecodeLimits,
    atom_cache: &'b [Option<Atom>],
}

/// What a tag turned out to be: a finished term or a container to fill.
enum Step {
    Value(Term),
    Open(Frame, usize),
    /// A LIST_EXT header that continues the list whose tail was expected.
    MoreCells(usize),
}

impl<'b> Cursor<'b> {
    #[inline]
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    fn need(&self, n: usize, what: &str) -> Result<(), DecodeError> {
        if self.left() < n {
            return err(
                self.pos,
                format!(
                    "expected {n} bytes of {what}, found {} before the end of the input",
                    self.left()
                ),
            );
        }
        Ok(())
    }

    #[inline]
    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        match self.buf.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => err(self.pos, format!("expected {what}, found the end of the input")),
        }
    }

    #[inline]
    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], DecodeError> {
        self.need(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(a)
    }

    #[inline]
    fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        self.bytes::<2>(what).map(u16::from_be_bytes)
    }

    #[inline]
    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        self.bytes::<4>(what).map(u32::from_be_bytes)
    }

    #[inline]
    fn slice(&mut self, n: usize, what: &str) -> Result<&'b [u8], DecodeError> {
        self.need(n, what)?;
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// One complete term, iteratively.
    fn term(&mut self) -> Result<Term, DecodeError> {
        let mut stack: Vec<Frame> = Vec::new();
        // Elements promised by the open containers and not started yet. Each needs at
        // least one byte, so this never exceeds the bytes left: checked when a container
        // opens. A slot counts as started when its tag is read.
        let mut pending: usize = 0;
        // Fast path for the commonest shape, a small tuple (every control message is one):
        // its leaves go straight in; anything else continues below with the tuple open.
        if let Some(&[SMALL_TUPLE_EXT, n]) = self.buf.get(self.pos..self.pos + 2) {
            let n = n as usize;
            if n > 0 && n <= self.left() - 2 {
                self.pos += 2;
                let mut elems = Vec::with_capacity(n);
                let k = self.fill(&mut elems, n)?;
                if k == n {
                    return Ok(Term::Tuple(elems));
                }
                pending = n - k;
                stack.push(Frame::Tuple { elems, left: n - k });
            }
        }
        loop {
            // Fast path: leaves go straight into the innermost container, without passing
            // through the general machinery below. A container they fill up closes here.
            let mut closed = None;
            if let Some(top) = stack.last_mut() {
                match top {
                    Frame::Tuple { elems, left } => {
                        let n = self.fill(elems, *left)?;
                        *left -= n;
                        pending -= n;
                        if *left == 0 {
                            let Some(Frame::Tuple { elems, .. }) = stack.pop() else {
                                unreachable!()
                            };
                            closed = Some(Term::Tuple(elems));
                        }
                    }
                    Frame::List { elems, left } if *left > 0 => {
                        let n = self.fill(elems, *left)?;
                        *left -= n;
                        pending -= n;
                    }
                    Frame::Map { pairs, key, left, .. } if key.is_none() => {
                        let n = self.fill_map(pairs, key, *left)?;
                        *left -= n;
                        pending -= 2 * n + key.is_some() as usize;
                        if *left == 0 {
                            let Some(Frame::Map { pairs, start, .. }) = stack.pop() else {
                                unreachable!()
                            };
                            closed = Some(Term::Map(unique_map(pairs, start)?));
                        }
                    }
                    Frame::Fun { fun, left, .. } => {
                        let n = self.fill(&mut fun.free_vars, *left)?;
                        *left -= n;
                        pending -= n;
                        if *left == 0 {
                            let Some(Frame::Fun { fun, start, end, .. }) = stack.pop() else {
                                unreachable!()
                            };
                            closed = Some(self.close_fun(fun, start, end)?);
                        }
                    }
                    _ => {}
                }
            }
            let value = match closed {
                Some(v) => v,
                None => {
                    if !stack.is_empty() {
                        pending -= 1;
                    }
                    let awaiting_tail = matches!(stack.last(), Some(Frame::List { left: 0, .. }));
                    match self.step(awaiting_tail)? {
                        Step::Value(v) => v,
                        Step::Open(mut frame, promised) => {
                            self.promise(&mut pending, promised)?;
                            // A container of leaves only fills and closes right here,
                            // without a trip through the stack.
                            if let Some(v) = self.fill_new(&mut frame, &mut pending)? {
                                // A container that closed in fill_new gave its elements
                                // away: what is left owns no memory, and skipping its
                                // drop glue saves a call per container.
                                std::mem::forget(frame);
                                v
                            } else if stack.len() >= self.limits.max_depth {
                                return err(
                                    self.pos,
                                    format!(
                                        "terms nested deeper than {} levels (DecodeLimits::max_depth)",
                                        self.limits.max_depth
                                    ),
                                );
                            } else {
                                stack.push(frame);
                                continue;
                            }
                        }
                        Step::MoreCells(n) => {
                            // The awaited tail is more cells: the list grows instead of nesting.
                            self.promise(&mut pending, n + 1)?;
                            if let Some(Frame::List { elems, left }) = stack.last_mut() {
                                elems.reserve(n);
                                *left = n;
                            }
                            continue;
                        }
                    }
                }
            };
            if let Some(root) = self.deliver(&mut stack, value)? {
                return Ok(root);
            }
        }
    }

    /// Fills a container that was just opened with the leaves that follow; returns the
    /// finished term when that completes it (a tuple, map or fun of leaves only).
    #[inline]
    fn fill_new(&mut self, frame: &mut Frame, pending: &mut usize) -> Result<Option<Term>, DecodeError> {
        match frame {
            Frame::Tuple { elems, left } => {
                let n = self.fill(elems, *left)?;
                *left -= n;
                *pending -= n;
                if *left == 0 {
                    return Ok(Some(Term::Tuple(std::mem::take(elems))));
                }
            }
            Frame::List { elems, left } => {
                let n = self.fill(elems, *left)?;
                *left -= n;
                *pending -= n;
            }
            Frame::Map {
                pairs,
                key,
                left,
                start,
            } => {
                let n = self.fill_map(pairs, key, *left)?;
                *left -= n;
                *pending -= 2 * n + key.is_some() as usize;
                if *left == 0 {
                    return Ok(Some(Term::Map(unique_map(std::mem::take(pairs), *start)?)));
                }
            }
            Frame::Fun { .. } => {}
        }
        Ok(None)
    }

    /// Reads up to `max` leaves (terms that hold no other term) into `elems`; stops at
    /// the first container. Returns how many it read.
    #[inline]
    fn fill(&mut self, elems: &mut Vec<Term>, max: usize) -> Result<usize, DecodeError> {
        let mut n = 0;
        while n < max {
            // A run of integers gets its own loop; a few stray ones are cheaper as leaves.
            if max - n >= 8 && matches!(self.buf.get(self.pos), Some(&(SMALL_INTEGER_EXT | INTEGER_EXT))) {
                n += self.fill_ints(elems, max - n);
                if n == max {
                    break;
                }
            }
            if let Some(a) = self.recent_atom() {
                elems.push(Term::Atom(a));
            } else {
                match self.leaf()? {
                    Some(t) => elems.push(t),
                    None => break,
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// Reads a run of up to `max` SMALL_INTEGER_EXT / INTEGER_EXT elements: a tight loop
    /// for the long integer lists that are common in messages. The input is taken as whole
    /// fixed-size elements (5 bytes for INTEGER_EXT, 2 for SMALL_INTEGER_EXT), so every
    /// one read is complete; blocks of them are converted by one `extend` each (one
    /// reservation, each term written in place) while their tags are checked on the side,
    /// and a block in which a tag differs is cut back to the elements before it.
    #[inline]
    fn fill_ints(&mut self, elems: &mut Vec<Term>, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let rest = &self.buf[self.pos..];
            let k = match rest.first() {
                Some(&INTEGER_EXT) => {
                    let (wide, _) = rest.as_chunks::<5>();
                    int_blocks(elems, &wide[..wide.len().min(max - n)], |&[_, a, b, c, d]| {
                        i32::from_be_bytes([a, b, c, d]) as i64
                    })
                }
                Some(&SMALL_INTEGER_EXT) => {
                    let (small, _) = rest.as_chunks::<2>();
                    int_blocks(elems, &small[..small.len().min(max - n)], |&[_, b]| b as i64)
                }
                _ => 0,
            };
            if k == 0 {
                break;
            }
            self.pos += k * if rest[0] == INTEGER_EXT { 5 } else { 2 };
            n += k;
        }
        n
    }

    /// Like [`Cursor::fill`] for map pairs whose key and value are leaves; a leaf key whose
    /// value is a container stays in `key`. Returns how many whole pairs it read.
    #[inline]
    fn fill_map(
        &mut self,
        pairs: &mut Vec<(Term, Term)>,
        key: &mut Option<Term>,
        max: usize,
    ) -> Result<usize, DecodeError> {
        let mut n = 0;
        while n < max {
            // Keys are mostly atoms this thread has seen: found without the general leaf.
            let k = match self.recent_atom() {
                Some(a) => Term::Atom(a),
                None => match self.leaf()? {
                    Some(k) => k,
                    None => break,
                },
            };
            match self.leaf()? {
                Some(v) => pairs.push((k, v)),
                None => {
                    *key = Some(k);
                    break;
                }
            }
            n += 1;
        }
        Ok(n)
    }

    /// Hands `value` to the innermost open container and closes those it completes.
    /// Returns the whole term once the outermost one closes.
    fn deliver(&self, stack: &mut Vec<Frame>, mut value: Term) -> Result<Option<Term>, DecodeError> {
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(Some(value));
            };
            match top {
                Frame::Tuple { elems, left } => {
                    elems.push(value);
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Tuple { elems, .. }) = stack.pop() else {
                        unreachable!()
                    };
                    value = Term::Tuple(elems);
                }
                Frame::List { elems, left } => {
                    if *left > 0 {
                        elems.push(value);
                        *left -= 1;
                        return Ok(None);
                    }
                    let Some(Frame::List { elems, .. }) = stack.pop() else {
                        unreachable!()
                    };
                    value = match value {
                        Term::List(rest) if rest.is_empty() => Term::List(elems),
                        tail => Term::improper(elems, tail),
                    };
                }
                Frame::Map { pairs, key, left, .. } => match key.take() {
                    None => {
                        *key = Some(value);
                        return Ok(None);
                    }
                    Some(k) => {
                        pairs.push((k, value));
                        *left -= 1;
                        if *left > 0 {
                            return Ok(None);
                        }
                        let Some(Frame::Map { pairs, start, .. }) = stack.pop() else {
                            unreachable!()
                        };
                        value = Term::Map(unique_map(pairs, start)?);
                    }
                },
                Frame::Fun { fun, left, .. } => {
                    fun.free_vars.push(value);
                    *left -= 1;
                    if *left > 0 {
                        return Ok(None);
                    }
                    let Some(Frame::Fun { fun, start, end, .. }) = stack.pop() else {
                        unreachable!()
                    };
                    value = self.close_fun(fun, start, end)?;
                }
            }
        }
    }

    /// Records that `n` more elements are to come, after checking they can fit.
    #[inline]
    fn promise(&self, pending: &mut usize, n: usize) -> Result<(), DecodeError> {
        let total = *pending + n;
        if total > self.left() {
            return err(
                self.pos,
                format!(
                    "a header promises {n} more elements but only {} bytes remain for them and {} \
                     elements still expected",
                    self.left(),
                    *pending
                ),
            );
        }
        *pending = total;
        Ok(())
    }

    /// Reads one tag and what follows it, up to the elements of a container.
    fn step(&mut self, awaiting_tail: bool) -> Result<Step, DecodeError> {
        if let Some(v) = self.leaf()? {
            return Ok(Step::Value(v));
        }
        let tag_pos = self.pos;
        let tag = self.u8("a term tag")?;
        let v = match tag {
            SMALL_TUPLE_EXT | LARGE_TUPLE_EXT => {
                let n = if tag == SMALL_TUPLE_EXT {
                    self.u8("SMALL_TUPLE_EXT arity")? as usize
                } else {
                    self.u32("LARGE_TUPLE_EXT arity")? as usize
                };
                if n == 0 {
                    Term::Tuple(Vec::new())
                } else {
                    self.fits(n, tag_pos, "tuple elements")?;
                    return Ok(Step::Open(
                        Frame::Tuple {
                            elems: Vec::with_capacity(n),
                            left: n,
                        },
                        n,
                    ));
                }
            }
            LIST_EXT => {
                let n = self.u32("LIST_EXT length")? as usize;
                if n >= self.left() {
                    return err(
                        tag_pos,
                        format!(
                            "the header claims {n} list elements and a tail but only {} bytes remain",
                            self.left()
                        ),
                    );
                }
                if awaiting_tail {
                    return Ok(Step::MoreCells(n));
                }
                return Ok(Step::Open(
                    Frame::List {
                        elems: Vec::with_capacity(n),
                        left: n,
                    },
                    n + 1,
                ));
            }
            MAP_EXT => {
                let n = self.u32("MAP_EXT size")? as usize;
                if n == 0 {
                    Term::Map(Map::new())
                } else {
                    self.fits(n.saturating_mul(2), tag_pos, "map keys and values")?;
                    return Ok(Step::Open(
                        Frame::Map {
                            pairs: Vec::with_capacity(n),
                            key: None,
                            left: n,
                            start: tag_pos,
                        },
                        2 * n,
                    ));
                }
            }
            NEW_FUN_EXT => return self.open_fun(tag_pos),
            COMPRESSED => {
                return err(
                    tag_pos,
                    "a COMPRESSED term inside a term: it is only valid at the top level",
                )
            }
            LOCAL_EXT => {
                return err(
                    tag_pos,
                    "LOCAL_EXT: this term was encoded for the node that made it only \
                     (term_to_binary with [local]) and cannot be decoded elsewhere",
                )
            }
            VERSION => return err(tag_pos, "a version byte (131) where a term tag was expected"),
            other => return err(tag_pos, format!("unknown term tag {other}")),
        };
        Ok(Step::Value(v))
    }

    /// The next term when it holds no other term (numbers, atoms, binaries, strings,
    /// pids, ports, references, external funs, `[]`); `None`, with nothing consumed,
    /// when it is a container or not a valid tag at all (which [`Cursor::step`] reports).
    #[inline(always)]
    fn leaf(&mut self) -> Result<Option<Term>, DecodeError> {
        let tag_pos = self.pos;
        let Some(&tag) = self.buf.get(tag_pos) else {
            return err(tag_pos, "expected a term tag, found the end of the input");
        };
        self.pos = tag_pos + 1;
        let v = match tag {
            SMALL_INTEGER_EXT => Term::Int(self.u8("SMALL_INTEGER_EXT")? as i64),
            INTEGER_EXT => Term::Int(i32::from_be_bytes(self.bytes::<4>("INTEGER_EXT")?) as i64),
            SMALL_ATOM_UTF8_EXT => Term::Atom(self.small_utf8_atom(tag_pos)?),
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | ATOM_CACHE_REF => {
                Term::Atom(self.atom_after_tag(tag, tag_pos)?)
            }
            NIL_EXT => Term::List(Vec::new()),
            STRING_EXT => {
                let n = self.u16("STRING_EXT length")? as usize;
                let s = self.slice(n, "STRING_EXT characters")?;
                Term::List(s.iter().map(|&b| Term::Int(b as i64)).collect())
            }
            BINARY_EXT => {
                let n = self.u32("BINARY_EXT length")? as usize;
                self.need(n, "BINARY_EXT data")?;
                let b = self.input.slice(self.pos..self.pos + n);
                self.pos += n;
                Term::Binary(b)
            }
            BIT_BINARY_EXT => {
                let n = self.u32("BIT_BINARY_EXT length")? as usize;
                let bits_pos = self.pos;
                let bits = self.u8("BIT_BINARY_EXT bit count")?;
                match (n, bits) {
                    (0, 0) | (1.., 1..=8) => {}
                    _ => {
                        return err(
                            bits_pos,
                            format!(
                                "a BIT_BINARY_EXT of {n} bytes says {bits} bits of its last byte are \
                                 used: expected 1 to 8 (0 only for an empty one)"
                            ),
                        )
                    }
                }
                self.need(n, "BIT_BINARY_EXT data")?;
                let b = self.input.slice(self.pos..self.pos + n);
                self.pos += n;
                Term::bitstring(b, bits)
            }
            SMALL_BIG_EXT | LARGE_BIG_EXT => {
                let n = if tag == SMALL_BIG_EXT {
                    self.u8("SMALL_BIG_EXT length")? as usize
                } else {
                    self.u32("LARGE_BIG_EXT length")? as usize
                };
                let negative = self.u8("a big integer's sign")? != 0;
                let digits = self.slice(n, "big integer digits")?;
                big_integer(negative, digits)
            }
            NEW_FLOAT_EXT => {
                let f = f64::from_bits(u64::from_be_bytes(self.bytes::<8>("NEW_FLOAT_EXT")?));
                if !f.is_finite() {
                    return err(
                        tag_pos,
                        "NEW_FLOAT_EXT holds NaN or an infinity, which Erlang rejects",
                    );
                }
                Term::Float(f)
            }
            FLOAT_EXT => {
                let text = self.slice(31, "FLOAT_EXT text")?;
                Term::Float(old_float(text).ok_or_else(|| DecodeError {
                    offset: tag_pos + 1,
                    reason: "FLOAT_EXT text is not a finite float like 1.50000000000000000000e+00".into(),
                })?)
            }
            NEW_PID_EXT | PID_EXT => Term::Pid(self.pid_after_tag(tag)?),
            NEW_PORT_EXT | V4_PORT_EXT | PORT_EXT => {
                let node = self.atom("the port's node")?;
                let id = if tag == V4_PORT_EXT {
                    u64::from_be_bytes(self.bytes::<8>("V4_PORT_EXT id")?)
                } else {
                    self.u32("port id")? as u64
                };
                let creation = if tag == PORT_EXT {
                    self.u8("PORT_EXT creation")? as u32
                } else {
                    self.u32("port creation")?
                };
                Term::Port(Port { node, id, creation })
            }
            NEWER_REFERENCE_EXT | NEW_REFERENCE_EXT => {
                let len_pos = self.pos;
                let len = self.u16("reference length")? as usize;
                if len > 5 {
                    return err(
                        len_pos,
                        format!("a reference of {len} words: Erlang allows at most 5"),
                    );
                }
                let node = self.atom("the reference's node")?;
                let creation = if tag == NEWER_REFERENCE_EXT {
                    self.u32("reference creation")?
                } else {
                    self.u8("NEW_REFERENCE_EXT creation")? as u32
                };
                let words = self.slice(4 * len, "reference words")?;
                let id = words
                    .chunks_exact(4)
                    .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]))
                    .collect();
                Term::Reference(Box::new(Reference { node, creation, id }))
            }
            REFERENCE_EXT => {
                let node = self.atom("the reference's node")?;
                let id = self.u32("REFERENCE_EXT id")?;
                let creation = self.u8("REFERENCE_EXT creation")? as u32;
                Term::Reference(Box::new(Reference {
                    node,
                    creation,
                    id: vec![id],
                }))
            }
            EXPORT_EXT => {
                let module = self.atom("the fun's module")?;
                let function = self.atom("the fun's function")?;
                let arity_pos = self.pos;
                let arity = self.small_int("the fun's arity")?;
                let arity = u8::try_from(arity).map_err(|_| DecodeError {
                    offset: arity_pos,
                    reason: format!("EXPORT_EXT arity {arity}: expected 0 to 255"),
                })?;
                Term::ExternalFun(Box::new(ExternalFun {
                    module,
                    function,
                    arity,
                }))
            }
            _ => {
                self.pos = tag_pos;
                return Ok(None);
            }
        };
        Ok(Some(v))
    }

    /// Checks that `n` elements (one byte each at least) can follow.
    #[inline]
    fn fits(&self, n: usize, tag_pos: usize, what: &str) -> Result<(), DecodeError> {
        if n > self.left() {
            return err(
                tag_pos,
                format!(
                    "the header claims {n} {what} but only {} bytes remain",
                    self.left()
                ),
            );
        }
        Ok(())
    }

    /// An atom in any of its encodings, tag included.
    #[inline]
    fn atom(&mut self, what: &str) -> Result<Atom, DecodeError> {
        let tag_pos = self.pos;
        let tag = self.u8(what)?;
        match tag {
            SMALL_ATOM_UTF8_EXT => self.small_utf8_atom(tag_pos),
            ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | ATOM_CACHE_REF => self.atom_after_tag(tag, tag_pos),
            other => err(tag_pos, format!("expected an atom for {what}, found tag {other}")),
        }
    }

    /// SMALL_ATOM_UTF8_EXT (the tag just read), the encoding every modern node uses: an
    /// atom this thread decoded recently is found by its bytes alone, without the general
    /// path's validation (equal bytes are valid UTF-8 of at most 255 characters).
    #[inline(always)]
    fn small_utf8_atom(&mut self, tag_pos: usize) -> Result<Atom, DecodeError> {
        let start = self.pos + 1;
        if let Some(&len) = self.buf.get(self.pos) {
            if let Some(text) = self.buf.get(start..start + len as usize) {
                if let Some(a) = Atom::recent_utf8(text) {
                    self.pos = start + len as usize;
                    return Ok(a);
                }
            }
        }
        self.atom_after_tag(SMALL_ATOM_UTF8_EXT, tag_pos)
    }

    /// The next term when it is a SMALL_ATOM_UTF8_EXT this thread decoded recently
    /// (consumed); otherwise `None`, nothing consumed.
    #[inline(always)]
    fn recent_atom(&mut self) -> Option<Atom> {
        let pos = self.pos;
        let (&[SMALL_ATOM_UTF8_EXT, len], _) = self.buf.get(pos..)?.split_first_chunk::<2>()? else {
            return None;
        };
        let end = pos + 2 + len as usize;
        let a = Atom::recent_utf8(self.buf.get(pos + 2..end)?)?;
        self.pos = end;
        Some(a)
    }

    #[inline(never)]
    fn atom_after_tag(&mut self, tag: u8, tag_pos: usize) -> Result<Atom, DecodeError> {
        let len = match tag {
            ATOM_CACHE_REF => {
                let i = self.u8("ATOM_CACHE_REF index")?;
                return match self.atom_cache.get(i as usize) {
                    Some(Some(a)) => Ok(a.clone()),
                    _ => err(
                        tag_pos,
                        format!("ATOM_CACHE_REF {i} names no entry of the distribution header's atom cache"),
                    ),
                };
            }
            ATOM_EXT | ATOM_UTF8_EXT => self.u16("atom length")? as usize,
            _ => self.u8("atom length")? as usize,
        };
        let text_pos = self.pos;
        let text = self.slice(len, "atom text")?;
        let table_full = |_| DecodeError {
            offset: tag_pos,
            reason: format!(
                "a new atom, but the atom table already holds {} atoms, the most it keeps (as a BEAM \
                 would, this process cannot take more distinct atoms)",
                INTERN_LIMIT
            ),
        };
        if tag == ATOM_EXT || tag == SMALL_ATOM_EXT {
            if len > MAX_ATOM_CHARS {
                return err(
                    tag_pos,
                    format!("an atom of {len} characters: Erlang allows at most 255"),
                );
            }
            if text.is_ascii() {
                // ASCII is UTF-8: no conversion needed.
                return Atom::from_utf8(text).map_err(table_full);
            }
            let s: String = text.iter().map(|&b| b as char).collect();
            return Atom::from_utf8(s.as_bytes()).map_err(table_full);
        }
        if len > MAX_ATOM_CHARS {
            // Up to 255 characters of up to 4 bytes each: count them.
            match std::str::from_utf8(text) {
                Ok(s) if s.chars().count() > MAX_ATOM_CHARS => {
                    return err(
                        tag_pos,
                        "an atom of more than 255 characters: Erlang allows at most 255",
                    )
                }
                _ => {}
            }
        }
        Atom::from_utf8(text).map_err(|e| match e {
            AtomError::NotUtf8 { valid_up_to } => DecodeError {
                offset: text_pos + valid_up_to,
                reason: "an atom that is not valid UTF-8".into(),
            },
            AtomError::TableFull => table_full(e),
        })
    }

    /// A SMALL_INTEGER_EXT or INTEGER_EXT, as fun fields use them.
    fn small_int(&mut self, what: &str) -> Result<i64, DecodeError> {
        let tag_pos = self.pos;
        match self.u8(what)? {
            SMALL_INTEGER_EXT => Ok(self.u8(what)? as i64),
            INTEGER_EXT => Ok(i32::from_be_bytes(self.bytes::<4>(what)?) as i64),
            other => err(
                tag_pos,
                format!("expected an integer for {what}, found tag {other}"),
            ),
        }
    }

    fn pid_after_tag(&mut self, tag: u8) -> Result<Pid, DecodeError> {
        let node = self.atom("the pid's node")?;
        let word = |b: &[u8], i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let (id, serial, creation) = if tag == NEW_PID_EXT {
            // The three words in one read.
            let w = self.bytes::<12>("pid id, serial and creation")?;
            (word(&w, 0), word(&w, 4), word(&w, 8))
        } else {
            let w = self.bytes::<9>("pid id, serial and creation")?;
            (word(&w, 0), word(&w, 4), w[8] as u32)
        };
        Ok(Pid {
            node,
            id,
            serial,
            creation,
        })
    }

    /// NEW_FUN_EXT: reads the fixed fields; the free variables follow as a container.
    fn open_fun(&mut self, tag_pos: usize) -> Result<Step, DecodeError> {
        let size = self.u32("NEW_FUN_EXT size")? as usize;
        // Size counts itself and everything after it.
        let end = tag_pos.saturating_add(1).saturating_add(size);
        if size < 4 + 1 + 16 + 4 + 4 || end > self.buf.len() {
            return err(
                tag_pos + 1,
                format!(
                    "NEW_FUN_EXT size {size}: expected at least 29 and at most the {} bytes left",
                    self.left() + 4
                ),
            );
        }
        let arity = self.u8("fun arity")?;
        let uniq = self.bytes::<16>("fun uniq")?;
        let index = self.u32("fun index")?;
        let num_free = self.u32("fun free variable count")? as usize;
        let module = self.atom("the fun's module")?;
        let old_index = self.small_int("the fun's old index")? as u32;
        let old_uniq = self.small_int("the fun's old uniq")? as u32;
        let pid_pos = self.pos;
        let pid = match self.u8("the fun's pid")? {
            t @ (NEW_PID_EXT | PID_EXT) => self.pid_after_tag(t)?,
            other => return err(pid_pos, format!("expected the fun's pid, found tag {other}")),
        };
        if self.pos > end {
            return err(tag_pos, "NEW_FUN_EXT fields run past its declared size");
        }
        self.fits(num_free, tag_pos, "free variables")?;
        let fun = Box::new(InternalFun {
            module,
            arity,
            index,
            uniq,
            old_index,
            old_uniq,
            pid,
            free_vars: Vec::with_capacity(num_free),
            raw: Bytes::new(),
        });
        if num_free == 0 {
            return Ok(Step::Value(self.close_fun(fun, tag_pos, end)?));
        }
        Ok(Step::Open(
            Frame::Fun {
                fun,
                left: num_free,
                start: tag_pos,
                end,
            },
            num_free,
        ))
    }

    fn close_fun(&self, mut fun: Box<InternalFun>, start: usize, end: usize) -> Result<Term, DecodeError> {
        if self.pos != end {
            return err(
                start,
                format!(
                    "NEW_FUN_EXT declares it ends at byte {end} but its contents end at byte {}",
                    self.pos
                ),
            );
        }
        fun.raw = self.input.slice(start..end);
        Ok(Term::InternalFun(fun))
    }
}

/// Appends `Term::Int(value(e))` for the leading elements of `run` whose tag (first
/// byte) is the tag of `run[0]`; returns how many. Blocks start small and double, so a
/// short run wastes little work converting elements past its end.
#[inline(always)]
fn int_blocks<const N: usize>(
    elems: &mut Vec<Term>,
    run: &[[u8; N]],
    value: impl Fn(&[u8; N]) -> i64,
) -> usize {
    let Some(first) = run.first() else { return 0 };
    let tag = first[0];
    let mut done = 0;
    let mut block_len = 16;
    while done < run.len() {
        let block = &run[done..run.len().min(done + block_len)];
        let before = elems.len();
        // Every tag equals `tag` exactly when their OR and their AND both do.
        let (mut any, mut all) = (tag, tag);
        elems.extend(block.iter().map(|e| {
            any |= e[0];
            all &= e[0];
            Term::Int(value(e))
        }));
        if any != tag || all != tag {
            let good = block.iter().take_while(|e| e[0] == tag).count();
            elems.truncate(before + good);
            return done + good;
        }
        done += block.len();
        block_len = (block_len * 2).min(256);
    }
    done
}

/// A big integer from little-endian magnitude bytes, as `Int` when it fits in `i64`.
fn big_integer(negative: bool, digits: &[u8]) -> Term {
    // Leading zero bytes (most significant, at the end) do not change the value.
    let len = digits.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let digits = &digits[..len];
    if len <= 8 {
        let mut le = [0u8; 8];
        le[..len].copy_from_slice(digits);
        let m = u64::from_le_bytes(le);
        if !negative && m <= i64::MAX as u64 {
            return Term::Int(m as i64);
        }
        if negative && m <= 1u64 << 63 {
            return Term::Int((m as i64).wrapping_neg());
        }
    }
    let sign = if negative { Sign::Minus } else { Sign::Plus };
    Term::BigInt(BigInt::from_bytes_le(sign, digits))
}

/// The text of FLOAT_EXT: up to the first NUL, `[+-]digits.digits[e[+-]digits]`, finite.
fn old_float(text: &[u8]) -> Option<f64> {
    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
    let s = std::str::from_utf8(&text[..end]).ok()?;
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if !digits(&mut i) || b.get(i) != Some(&b'.') {
        return None;
    }
    i += 1;
    if !digits(&mut i) {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if !digits(&mut i) {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Builds a map from decoded pairs; a key that appears twice is an error, as in
/// `binary_to_term` (which rejects such input with badarg).
///
/// Small maps compare every pair; larger ones sort a fast hash of each key and compare
/// only the keys whose hashes collide, so a hostile map costs `n log n`, not `n²`.
fn unique_map(pairs: Vec<(Term, Term)>, start: usize) -> Result<Map, DecodeError> {
    let dup = if pairs.len() <= 8 {
        (1..pairs.len()).any(|i| pairs[..i].iter().any(|(k, _)| *k == pairs[i].0))
    } else if pairs.len() <= SMALL_MAP_KEYS {
        small_map_has_duplicate(&pairs)
    } else {
        use std::hash::{Hash, Hasher};
        let mut hashes: Vec<(u64, u32)> = pairs
            .iter()
            .enumerate()
            .map(|(i, (k, _))| {
                let mut h = FxHasher(0);
                k.hash(&mut h);
                (h.finish(), i as u32)
            })
            .collect();
        hashes.sort_unstable();
        let mut dup = false;
        let mut i = 0;
        while i < hashes.len() && !dup {
            let run_len = hashes[i..].iter().take_while(|h| h.0 == hashes[i].0).count();
            let run = &hashes[i..i + run_len];
            // Equal keys hash alike: only a run of equal hashes needs real comparisons.
            dup = if run_len <= 8 {
                (1..run_len).any(|j| {
                    run[..j]
                        .iter()
                        .any(|a| pairs[a.1 as usize].0 == pairs[run[j].1 as usize].0)
                })
            } else {
                // Crafted collisions: sort the run by term order instead of comparing pairs.
                let mut keys: Vec<&Term> = run.iter().map(|h| &pairs[h.1 as usize].0).collect();
                keys.sort_unstable();
                keys.windows(2).any(|w| w[0] == w[1])
            };
            i += run_len;
        }
        dup
    };
    if dup {
        return err(start, "a map with the same key twice (binary_to_term rejects it)");
    }
    Ok(Map::from_unique_pairs(pairs))
}

/// Up to this many keys, the duplicate check uses a small open-addressed table on the
/// stack instead of sorting hashes.
const SMALL_MAP_KEYS: usize = 64;

/// `true` when two keys of `pairs` (at most [`SMALL_MAP_KEYS`]) are equal: each key goes
/// into a 128-slot table by its hash; only keys that meet in a probe sequence are
/// compared. Even if every hash collides (a crafted map), that is at most 2,016
/// comparisons.
fn small_map_has_duplicate(pairs: &[(Term, Term)]) -> bool {
    const SLOTS: usize = 2 * SMALL_MAP_KEYS;
    // 0 is an empty slot, i + 1 the key of pair i.
    let mut table = [0u8; SLOTS];
    for (i, (k, _)) in pairs.iter().enumerate() {
        let mut slot = (key_hash(k) >> 57) as usize % SLOTS;
        loop {
            match table[slot] {
                0 => {
                    table[slot] = (i + 1) as u8;
                    break;
                }
                j => {
                    if pairs[j as usize - 1].0 == *k {
                        return true;
                    }
                    slot = (slot + 1) % SLOTS;
                }
            }
        }
    }
    false
}

/// A hash of a map key that equal keys share: atoms by their length and first and last
/// eight bytes (no pass over the text), integers by value, other terms through
/// [`Hash`](std::hash::Hash).
#[inline]
fn key_hash(k: &Term) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    match k {
        Term::Atom(a) => {
            let b = a.as_bytes();
            let n = b.len();
            let word = |i: usize| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&b[i..i + 8]);
                u64::from_le_bytes(w)
            };
            let (head, tail) = match n {
                0 => (0, 0),
                1..=7 => {
                    let mut w = [0u8; 8];
                    w[..n].copy_from_slice(b);
                    (u64::from_le_bytes(w), 0)
                }
                _ => (word(0), word(n - 8)),
            };
            (head ^ tail.rotate_left(23) ^ (n as u64) << 56).wrapping_mul(K) ^ 1
        }
        Term::Int(i) => (*i as u64).wrapping_mul(K),
        other => {
            use std::hash::{Hash, Hasher};
            let mut h = FxHasher(0);
            other.hash(&mut h);
            h.finish().wrapping_mul(K)
        }
    }
}

/// A fast, non-cryptographic hasher for the duplicate-key check (the multiply-rotate
/// scheme of rustc's FxHasher). Collisions only cost a comparison.
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        for &b in chunks.remainder() {
            self.add(b as u64);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(bytes: &[u8]) -> Result<Term, DecodeError> {
        decode(bytes)
    }

    /// The integer-run loop reads up to the last byte of the input and stops exactly
    /// there: a tuple of integers that ends the buffer decodes, one byte short does not.
    /// Integer runs are converted in blocks and cut back where a tag changes: runs of
    /// every length around the block sizes, switching between the two integer tags and
    /// broken by other terms, decode element by element as written.
    #[test]
    fn integer_runs_switching_tags_at_any_point_decode_exactly() {
        for first in [0usize, 1, 8, 15, 16, 17, 47, 48, 49, 111, 112, 113, 300] {
            for second in [0usize, 1, 9, 16, 33, 200] {
                let mut bytes = vec![131, 108];
                let mut want = Vec::new();
                for i in 0..first {
                    let v = i as i32 * 7 - 3;
                    bytes.push(98);
                    bytes.extend_from_slice(&v.to_be_bytes());
                    want.push(Term::Int(v as i64));
                }
                for i in 0..second {
                    bytes.extend_from_slice(&[97, i as u8]);
                    want.push(Term::Int(i as i64));
                }
                // An INTEGER_EXT holding a small value, an atom, then a last run.
                bytes.extend_from_slice(&[98, 0, 0, 0, 5, 119, 1, b'x']);
                want.extend([Term::Int(5), Term::atom("x")]);
                for i in 0..first {
                    bytes.extend_from_slice(&[97, (i % 256) as u8]);
                    want.push(Term::Int((i % 256) as i64));
                }
                bytes.push(106);
                bytes.splice(2..2, (want.len() as u32).to_be_bytes());
                assert_eq!(
                    d(&bytes).unwrap(),
                    Term::list(want),
                    "runs of {first} and {second}"
                );
            }
        }
    }

    #[test]
    fn integer_runs_that_end_the_input_decode_and_truncations_fail() {
        for tail in [vec![97, 7], vec![98, 0, 0, 1, 0]] {
            let mut bytes = vec![131, 104, 10];
            for i in 0..9 {
                bytes.extend_from_slice(&[97, i]);
            }
            bytes.extend_from_slice(&tail);
            let mut want: Vec<Term> = (0..9).map(Term::Int).collect();
            want.push(Term::Int(if tail[0] == 97 { 7 } else { 256 }));
            assert_eq!(d(&bytes).unwrap(), Term::tuple(want));
            for cut in 3..bytes.len() {
                assert!(d(&bytes[..cut]).is_err(), "{} of {} bytes", cut, bytes.len());
            }
        }
    }

    /// Atoms found in the per-thread cache by their bytes are the same atoms as those
    /// made by the full path, and a near miss (same length and ends) is not confused.
    #[test]
    fn atoms_found_again_by_their_bytes_are_the_same_atoms() {
        let enc = |s: &str| {
            let mut b = vec![131, 119, s.len() as u8];
            b.extend_from_slice(s.as_bytes());
            b
        };
        for s in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
        ] {
            let first = d(&enc(s)).unwrap();
            assert_eq!(d(&enc(s)).unwrap(), first);
            assert_eq!(first, Term::atom(s));
        }
        // Same length, same first and last bytes, different middle.
        assert_eq!(d(&enc("abXcd")).unwrap(), Term::atom("abXcd"));
        assert_eq!(d(&enc("abYcd")).unwrap(), Term::atom("abYcd"));
        assert_eq!(
            d(&enc("aaaaXaaaaaaaaaaaaa")).unwrap(),
            Term::atom("aaaaXaaaaaaaaaaaaa")
        );
        assert_eq!(
            d(&enc("aaaaYaaaaaaaaaaaaa")).unwrap(),
            Term::atom("aaaaYaaaaaaaaaaaaa")
        );
    }

    #[test]
    fn integers_of_every_width_decode_and_normalise() {
        assert_eq!(d(&[131, 97, 255]).unwrap(), Term::Int(255));
        assert_eq!(d(&[131, 98, 255, 255, 255, 255]).unwrap(), Term::Int(-1));
        // SMALL_BIG with no digits, and a negative zero, are 0.
        assert_eq!(d(&[131, 110, 0, 0]).unwrap(), Term::Int(0));
        assert_eq!(d(&[131, 110, 1, 1, 0]).unwrap(), Term::Int(0));
        // Non-canonical leading zero digits.
        assert_eq!(d(&[131, 110, 3, 0, 1, 0, 0]).unwrap(), Term::Int(1));
        // 2^63 is too big for i64; -2^63 fits.
        let two63 = [131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128];
        assert_eq!(d(&two63).unwrap(), Term::from(1i128 << 63));
        let mut neg = two63;
        neg[3] = 1;
        assert_eq!(d(&neg).unwrap(), Term::Int(i64::MIN));
    }

    #[test]
    fn old_float_text_follows_binary_to_term() {
        let f = |s: &str| {
            let mut v = vec![131, 99];
            v.extend_from_slice(s.as_bytes());
            v.resize(33, 0);
            d(&v)
        };
        assert_eq!(f("1.00000000000000000000e+00").unwrap(), Term::Float(1.0));
        assert_eq!(f("+1.5").unwrap(), Term::Float(1.5));
        assert_eq!(f("-1.5E3").unwrap(), Term::Float(-1500.0));
        assert_eq!(f("1.0e-400").unwrap(), Term::Float(0.0));
        for bad in [
            "inf", "nan", "1", "1e3", ".5", "1.", " 1.5", "1.5 ", "1.5e", "1e400", "1.0e400",
        ] {
            assert!(f(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn bit_binary_bit_counts_follow_binary_to_term() {
        assert_eq!(d(&[131, 77, 0, 0, 0, 0, 0]).unwrap(), Term::binary(Bytes::new()));
        assert!(d(&[131, 77, 0, 0, 0, 0, 3]).is_err());
        assert!(d(&[131, 77, 0, 0, 0, 0, 8]).is_err());
        assert!(d(&[131, 77, 0, 0, 0, 1, 0, 255]).is_err());
        assert!(d(&[131, 77, 0, 0, 0, 1, 9, 255]).is_err());
        assert_eq!(
            d(&[131, 77, 0, 0, 0, 1, 8, 255]).unwrap(),
            Term::binary(vec![255])
        );
        // Unused low bits are ignored, as Erlang does: <<7:3>>.
        assert_eq!(
            d(&[131, 77, 0, 0, 0, 1, 3, 255]).unwrap(),
            Term::bitstring(vec![0xE0], 3)
        );
    }

    #[test]
    fn maps_with_a_duplicate_key_are_rejected() {
        let e = d(&[131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 97, 1, 97, 3]).unwrap_err();
        assert_eq!(e.offset, 1);
        // 0.0 and -0.0 are the same key on OTP 25.
        let mut v = vec![131, 116, 0, 0, 0, 2, 70, 0, 0, 0, 0, 0, 0, 0, 0, 97, 1, 70, 128];
        v.extend_from_slice(&[0; 7]);
        v.extend_from_slice(&[97, 3]);
        assert!(d(&v).is_err());
        // Larger maps take the hashing path.
        let big = |keys: &[u8]| {
            let mut v = vec![131, 116, 0, 0, 0, keys.len() as u8];
            for &k in keys {
                v.extend_from_slice(&[97, k, 106]);
            }
            d(&v)
        };
        let keys: Vec<u8> = (0..40).collect();
        assert_eq!(big(&keys).unwrap().as_map().map(|m| m.len()), Some(40));
        let mut twice = keys.clone();
        twice[39] = 3;
        assert!(big(&twice).is_err());
    }

    /// Every size class of the duplicate check (pairwise, small table, sorted hashes),
    /// with atom, float (0.0 against -0.0) and tuple keys, finds the duplicate wherever
    /// it is, and accepts the map without it.
    #[test]
    fn duplicate_keys_are_found_in_maps_of_every_size() {
        let atom_key = |i: usize| Term::atom(&format!("key_{}", i % 1000));
        let float_key = |i: usize| Term::Float(i as f64);
        let tuple_key = |i: usize| Term::tuple(vec![Term::atom("k"), Term::Int(i as i64)]);
        let keys: [&dyn Fn(usize) -> Term; 3] = [&atom_key, &float_key, &tuple_key];
        for n in [2, 8, 9, 30, 64, 65, 200] {
            for key in keys {
                let pairs: Vec<(Term, Term)> = (0..n).map(|i| (key(i), Term::Int(i as i64))).collect();
                let bytes = crate::etf::encode(&Term::Map(Map::from_unique_pairs(pairs.clone()))).unwrap();
                assert!(d(&bytes).is_ok(), "{n} distinct keys");
                for (a, b) in [(0, n - 1), (n / 2, n / 2 + 1), (n - 2, n - 1)] {
                    if a == b || b >= n {
                        continue;
                    }
                    let mut dup = pairs.clone();
                    dup[b].0 = dup[a].0.clone();
                    if let Term::Float(0.0) = dup[b].0 {
                        dup[b].0 = Term::Float(-0.0);
                    }
                    let bytes = crate::etf::encode(&Term::Map(Map::from_unique_pairs(dup))).unwrap();
                    assert!(d(&bytes).is_err(), "{n} keys, key {a} again at {b}");
                }
            }
        }
    }

    #[test]
    fn latin1_atoms_become_utf8_and_long_atoms_are_rejected() {
        assert_eq!(d(&[131, 100, 0, 1, 233]).unwrap(), Term::atom("é"));
        assert_eq!(d(&[131, 115, 1, 233]).unwrap(), Term::atom("é"));
        assert!(d(&[131, 119, 1, 233]).is_err());
        let mut long = vec![131, 100, 1, 0];
        long.extend([b'a'; 256]);
        assert!(d(&long).is_err());
        // 255 two-byte characters are fine in UTF-8 (510 bytes).
        let s = "ж".repeat(255);
        let mut ok = vec![131, 118, 1, 254];
        ok.extend_from_slice(s.as_bytes());
        assert_eq!(d(&ok).unwrap(), Term::atom(&s));
        let s = "ж".repeat(256);
        let mut too_long = vec![131, 118, 2, 0];
        too_long.extend_from_slice(s.as_bytes());
        assert!(d(&too_long).is_err());
    }

    #[test]
    fn atom_cache_refs_resolve_through_the_table() {
        let cache = [None, Some(Atom::new("hello"))];
        let bytes = Bytes::from_static(&[104, 2, 82, 1, 82, 0]);
        let mut dec = Decoder::new(bytes.clone()).with_atom_cache(&cache);
        let e = dec.term_body().unwrap_err();
        assert!(e.reason.contains("ATOM_CACHE_REF 0"), "{e}");
        let mut dec = Decoder::new(Bytes::from_static(&[82, 1])).with_atom_cache(&cache);
        assert_eq!(dec.term_body().unwrap(), Term::atom("hello"));
        assert!(Decoder::new(Bytes::from_static(&[82, 1])).term_body().is_err());
    }

    #[test]
    fn local_ext_and_unknown_tags_say_what_they_are() {
        let e = d(&[131, 121, 0]).unwrap_err();
        assert!(e.reason.contains("LOCAL_EXT"), "{e}");
        assert_eq!(d(&[131, 1]).unwrap_err().offset, 1);
        assert!(d(&[130, 97, 1]).unwrap_err().reason.contains("version"));
    }

    #[test]
    fn compressed_terms_must_match_their_declared_size() {
        use std::io::Write;
        let z = |data: &[u8]| {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        };
        let with = |size: u32, data: &[u8]| {
            let mut v = vec![131, 80];
            v.extend_from_slice(&size.to_be_bytes());
            v.extend(z(data));
            v
        };
        assert_eq!(d(&with(2, &[97, 1])).unwrap(), Term::Int(1));
        assert!(d(&with(0, &[97, 1])).is_err());
        assert!(d(&with(3, &[97, 1])).is_err());
        assert!(d(&with(1, &[97, 1])).is_err());
        assert!(d(&with(3, &[97, 1, 2])).is_err());
        assert!(d(&with(u32::MAX, &[97, 1]))
            .unwrap_err()
            .reason
            .contains("max_uncompressed"));
        // Not inside another term.
        let mut nested = vec![131, 104, 1];
        nested.extend_from_slice(&with(2, &[97, 1])[1..]);
        assert!(d(&nested).is_err());
        // A decoder continues right after the zlib stream.
        let mut two = with(2, &[97, 1]);
        two.extend_from_slice(&[131, 97, 2]);
        let mut dec = Decoder::new(Bytes::from(two));
        assert_eq!(dec.term().unwrap(), Term::Int(1));
        assert_eq!(dec.term().unwrap(), Term::Int(2));
    }

    #[test]
    fn chained_list_cells_fold_into_one_list_without_nesting() {
        // [1 | [2 | [3 | 4]]] written cell by cell, 20,000 cells deep.
        let mut v = vec![131];
        for _ in 0..20_000 {
            v.extend_from_slice(&[108, 0, 0, 0, 1, 97, 7]);
        }
        v.push(106);
        match d(&v).unwrap() {
            Term::List(l) => assert_eq!(l.len(), 20_000),
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn headers_together_cannot_promise_more_than_the_input_holds() {
        // Two nested tuples each claiming all the bytes that follow.
        let v = [131, 105, 0, 0, 0, 6, 105, 0, 0, 0, 5, 97, 1, 97, 1, 97];
        let e = d(&v).unwrap_err();
        assert_eq!(e.offset, 11, "{e}");
    }

    #[test]
    fn errors_restore_the_position_of_the_failed_term() {
        let mut dec = Decoder::new(Bytes::from_static(&[131, 97, 1, 131, 104, 2, 97]));
        assert_eq!(dec.term().unwrap(), Term::Int(1));
        assert!(dec.term().is_err());
        assert_eq!(dec.position(), 3);
    }
}
