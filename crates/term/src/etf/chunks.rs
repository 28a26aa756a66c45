//! Encoding for vectored writes: the encoding as a sequence of chunks in which large
//! binaries are not copied but shared with the term (a reference count), as the BEAM
//! sends them.

use super::encode::{encode_body_shared, EncodeError, Share};
use super::tags::VERSION;
use crate::Term;
use bytes::Bytes;

/// The default size from which a binary becomes a chunk of its own
/// ([`EncodeChunks::with_threshold`]): below it, copying the bytes costs less than a
/// chunk (a reference count taken and released, one more slice for the write).
/// Measured (encoding a list of 8 binaries, each a slice of one received buffer, and
/// listing the chunks; best of 5 x 20,000): 2 KiB binaries cost 137 ns copied and 216 ns
/// shared, 4 KiB ones 660 ns copied and 205 ns shared.
pub const SHARE_THRESHOLD: usize = 4096;

/// An encoding gathered for `write_vectored` / `writev`: the bytes it is made of are
/// exactly those the plain encoder ([`super::encode_to`], [`super::encode_body_to`])
/// writes, but every binary of at least the threshold ([`SHARE_THRESHOLD`] by default)
/// stays where it is, shared with the term (a clone of its [`Bytes`], no copy of the
/// data). Everything else is copied into one buffer; the shared binaries are spliced in
/// at the positions they were met.
///
/// Reusable: [`EncodeChunks::clear`] keeps the buffer's memory, so a connection that
/// keeps one encodes small messages with no allocation, as cheaply as the plain encoder.
///
/// ```
/// use beamlink_term::etf::{encode, encode_chunks, EncodeChunks};
/// use beamlink_term::Term;
/// let big = Term::binary(vec![7u8; 100_000]);
/// let term = Term::tuple(vec![Term::atom("data"), big]);
/// let mut c = EncodeChunks::new();
/// c.buffer().extend_from_slice(&[0; 4]); // a length prefix, filled in below
/// encode_chunks(&term, &mut c).unwrap();
/// let size = (c.len() - 4) as u32;
/// c.buffer()[..4].copy_from_slice(&size.to_be_bytes());
/// let slices: Vec<&[u8]> = c.chunks().collect();
/// assert_eq!(slices.len(), 2); // prefix and term up to the binary's data; the data
/// assert_eq!(slices.concat()[4..], encode(&term).unwrap()[..]);
/// let io: Vec<std::io::IoSlice> = c.chunks().map(std::io::IoSlice::new).collect();
/// # drop(io);
/// c.clear(); // ready for the next message, memory kept
/// ```
#[derive(Debug, Default, Clone)]
pub struct EncodeChunks {
    buf: Vec<u8>,
    /// Shared binaries and the position in `buf` they come before, in order.
    shared: Vec<(usize, Bytes)>,
    shared_len: usize,
    threshold: usize,
}

impl EncodeChunks {
    /// Empty, with the default threshold [`SHARE_THRESHOLD`].
    pub fn new() -> EncodeChunks {
        EncodeChunks::with_threshold(SHARE_THRESHOLD)
    }

    /// Empty; binaries of `threshold` bytes or more are shared (0 and 1 share every
    /// non-empty binary, `usize::MAX` none).
    pub fn with_threshold(threshold: usize) -> EncodeChunks {
        EncodeChunks {
            buf: Vec::new(),
            shared: Vec::new(),
            shared_len: 0,
            threshold: threshold.max(1),
        }
    }

    /// The copied bytes. Append bytes of your own here (a frame header, the distribution
    /// header) before or between terms; you may also overwrite bytes already there, as
    /// a length prefix written before the term. Do not remove any: the shared binaries
    /// are placed by position in this buffer.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Total bytes, copied and shared.
    pub fn len(&self) -> usize {
        self.buf.len() + self.shared_len
    }

    /// `true` when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the contents (and releases the shared binaries), keeping the buffer's
    /// memory for the next encoding.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.shared.clear();
        self.shared_len = 0;
    }

    /// The chunks in order, none empty: runs of the buffer and the shared binaries
    /// between them. Their concatenation is the whole encoding; give them to
    /// `write_vectored` as `IoSlice`s.
    pub fn chunks(&self) -> Chunks<'_> {
        Chunks {
            buf: &self.buf,
            shared: self.shared.iter(),
            from: 0,
            next_shared: None,
            done: false,
        }
    }

    /// The chunks as owned [`Bytes`] (the buffer becomes one allocation that its runs
    /// share; the shared binaries are the term's own), for a writer that needs to hold
    /// them past this value's life.
    pub fn into_chunks(self) -> Vec<Bytes> {
        let buf = Bytes::from(self.buf);
        let mut out = Vec::with_capacity(2 * self.shared.len() + 1);
        let mut from = 0;
        for (at, data) in self.shared {
            let at = at.clamp(from, buf.len());
            out.push(buf.slice(from..at));
            out.push(data);
            from = at;
        }
        out.push(buf.slice(from..));
        out.retain(|c| !c.is_empty());
        out
    }
}

/// The chunks of an [`EncodeChunks`], in order, none empty ([`EncodeChunks::chunks`]).
#[derive(Debug)]
pub struct Chunks<'a> {
    buf: &'a [u8],
    shared: std::slice::Iter<'a, (usize, Bytes)>,
    from: usize,
    next_shared: Option<&'a [u8]>,
    done: bool,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Some(data) = self.next_shared.take() {
                return Some(data);
            }
            if self.done {
                return None;
            }
            let run = match self.shared.next() {
                Some((at, data)) => {
                    // Positions only grow and stay within the buffer (bytes are never
                    // removed; clamped all the same, so a misuse of `buffer` cannot make
                    // this panic). Shared binaries are never empty.
                    let at = (*at).clamp(self.from, self.buf.len());
                    let run = &self.buf[self.from..at];
                    self.from = at;
                    self.next_shared = Some(&data[..]);
                    run
                }
                None => {
                    self.done = true;
                    &self.buf[self.from..]
                }
            };
            if !run.is_empty() {
                return Some(run);
            }
        }
    }
}

/// How the encoder hands binaries to [`EncodeChunks`]: a large one is recorded with the
/// position it belongs at instead of being copied.
struct Sharing<'a> {
    shared: &'a mut Vec<(usize, Bytes)>,
    shared_len: &'a mut usize,
    threshold: usize,
}

impl Share for Sharing<'_> {
    #[inline]
    fn data(&mut self, data: &Bytes, out: &mut Vec<u8>) {
        if data.len() < self.threshold {
            out.extend_from_slice(data);
        } else {
            *self.shared_len += data.len();
            self.shared.push((out.len(), data.clone()));
        }
    }
}

/// Appends version byte 131 and the term to `chunks` (see [`EncodeChunks`]). On error
/// the chunks may hold part of the term: [`EncodeChunks::clear`] them.
pub fn encode_chunks(term: &Term, chunks: &mut EncodeChunks) -> Result<(), EncodeError> {
    chunks.buf.push(VERSION);
    encode_body_chunks(term, chunks)
}

/// Appends the term without the version byte to `chunks` (as after a distribution
/// header; see [`EncodeChunks`]). On error the chunks may hold part of the term.
pub fn encode_body_chunks(term: &Term, chunks: &mut EncodeChunks) -> Result<(), EncodeError> {
    let EncodeChunks {
        buf,
        shared,
        shared_len,
        threshold,
    } = chunks;
    let mut sharing = Sharing {
        shared,
        shared_len,
        threshold: *threshold,
    };
    encode_body_shared(term, buf, &mut sharing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etf::{encode, encode_body_to};

    /// The owned chunks, checked equal to the borrowed ones, and their concatenation.
    fn concat(c: EncodeChunks) -> (Vec<u8>, Vec<Bytes>) {
        let borrowed: Vec<Vec<u8>> = c.chunks().map(|s| s.to_vec()).collect();
        let chunks = c.into_chunks();
        assert_eq!(borrowed, chunks.iter().map(|b| b.to_vec()).collect::<Vec<_>>());
        (chunks.concat(), chunks)
    }

    /// Binaries at, under and over the threshold, nested, beside other terms: the chunks
    /// concatenate to the plain encoding, and each large binary is its own chunk sharing
    /// the term's memory.
    #[test]
    fn chunks_concatenate_to_the_plain_encoding_and_share_large_binaries() {
        let small = Bytes::from(vec![1u8; 99]);
        let at = Bytes::from(vec![2u8; 100]);
        let big = Bytes::from(vec![3u8; 5000]);
        let term = Term::tuple(vec![
            Term::atom("x"),
            Term::Binary(small.clone()),
            Term::list(vec![Term::Binary(at.clone()), Term::Int(1000)]),
            Term::map(vec![(Term::Binary(big.clone()), Term::Binary(big.clone()))]),
            Term::Int(5),
        ]);
        let mut c = EncodeChunks::with_threshold(100);
        encode_chunks(&term, &mut c).unwrap();
        assert_eq!(c.len(), encode(&term).unwrap().len());
        let (bytes, chunks) = concat(c);
        assert_eq!(bytes, encode(&term).unwrap());
        // run, at, run, big, run (the second header), big, run
        let shared: Vec<&Bytes> = chunks.iter().filter(|c| c.len() >= 100 && c[0] != 131).collect();
        assert_eq!(shared.len(), 3);
        assert_eq!(shared[0].as_ptr(), at.as_ptr());
        assert_eq!(shared[1].as_ptr(), big.as_ptr());
        assert_eq!(shared[2].as_ptr(), big.as_ptr());
        assert_eq!(chunks.len(), 7);
        assert!(chunks.iter().all(|c| !c.is_empty()));
    }

    /// Caller bytes before and between terms stay in order, and a term with no large
    /// binary is one run.
    #[test]
    fn caller_bytes_and_several_terms_keep_their_order() {
        let big = Term::binary(vec![9u8; SHARE_THRESHOLD]);
        let mut c = EncodeChunks::new();
        c.buffer().extend_from_slice(b"hdr");
        encode_body_chunks(&Term::atom("ctl"), &mut c).unwrap();
        encode_chunks(&big, &mut c).unwrap();
        c.buffer().push(0xAB);
        let mut want = b"hdr".to_vec();
        encode_body_to(&Term::atom("ctl"), &mut want).unwrap();
        want.extend(encode(&big).unwrap());
        want.push(0xAB);
        assert_eq!(c.len(), want.len());
        let (bytes, chunks) = concat(c);
        assert_eq!(bytes, want);
        assert_eq!(chunks.len(), 3);

        let mut c = EncodeChunks::new();
        encode_chunks(&Term::binary(vec![1u8; SHARE_THRESHOLD - 1]), &mut c).unwrap();
        assert_eq!(c.into_chunks().len(), 1);
        assert!(EncodeChunks::new().into_chunks().is_empty());
    }

    /// A cleared value encodes the next term from scratch in the memory it kept; a
    /// caller that removes bytes from the buffer gets wrong chunks, never a panic.
    #[test]
    fn cleared_chunks_are_reused_and_misuse_does_not_panic() {
        let big = Term::binary(vec![5u8; 10_000]);
        let term = Term::tuple(vec![big.clone(), Term::atom("after")]);
        let mut c = EncodeChunks::new();
        encode_chunks(&term, &mut c).unwrap();
        let cap = c.buffer().capacity();
        c.clear();
        assert!(c.is_empty() && c.chunks().next().is_none());
        encode_chunks(&Term::atom("small"), &mut c).unwrap();
        assert_eq!(c.buffer().capacity(), cap);
        assert_eq!(
            c.chunks().collect::<Vec<_>>(),
            vec![&encode(&Term::atom("small")).unwrap()[..]]
        );
        c.clear();
        encode_chunks(&term, &mut c).unwrap();
        assert_eq!(c.chunks().collect::<Vec<_>>().concat(), encode(&term).unwrap());
        c.buffer().clear();
        assert_eq!(c.chunks().count(), 1);
        assert_eq!(c.into_chunks().len(), 1);
    }
}
