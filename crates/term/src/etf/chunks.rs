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
pub const SHARE_THRESHOLD: usize = 4096;

/// An encoding gathered as chunks, for `write_vectored` / `writev`: the concatenation of
/// [`EncodeChunks::chunks`] is exactly the bytes the plain encoder ([`super::encode_to`],
/// [`super::encode_body_to`]) writes, but every binary of at least the threshold
/// ([`SHARE_THRESHOLD`] by default) is its own chunk, a clone of the term's [`Bytes`]
/// (no copy of its data). The other bytes accumulate in runs between them.
///
/// ```
/// use beamlink_term::etf::{encode, encode_chunks, EncodeChunks};
/// use beamlink_term::Term;
/// let big = Term::binary(vec![7u8; 100_000]);
/// let term = Term::tuple(vec![Term::atom("data"), big]);
/// let mut c = EncodeChunks::new();
/// c.buffer().extend_from_slice(b"header");  // bytes of the caller's own, before the term
/// encode_chunks(&term, &mut c).unwrap();
/// let chunks = c.into_chunks();
/// assert_eq!(chunks.len(), 2);              // "header" + term up to the binary's data; the data
/// assert_eq!(chunks.concat()[6..], encode(&term).unwrap()[..]);
/// ```
#[derive(Debug, Default)]
pub struct EncodeChunks {
    done: Vec<Bytes>,
    run: Vec<u8>,
    len: usize,
    threshold: usize,
}

impl EncodeChunks {
    /// Empty, with the default threshold [`SHARE_THRESHOLD`].
    pub fn new() -> EncodeChunks {
        EncodeChunks::with_threshold(SHARE_THRESHOLD)
    }

    /// Empty; binaries of `threshold` bytes or more are shared (0 shares every non-empty
    /// binary, `usize::MAX` none).
    pub fn with_threshold(threshold: usize) -> EncodeChunks {
        EncodeChunks {
            done: Vec::new(),
            run: Vec::new(),
            len: 0,
            threshold: threshold.max(1),
        }
    }

    /// The run being written: append bytes of your own here (a frame header, the
    /// distribution header) before or between terms. They are copied, never shared.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.run
    }

    /// Total bytes gathered so far, in every chunk.
    pub fn len(&self) -> usize {
        self.len + self.run.len()
    }

    /// `true` when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The chunks, in order; the current run (if not empty) is the last. Ready for
    /// `write_vectored` with `std::io::IoSlice::new(&chunk)` each.
    pub fn into_chunks(mut self) -> Vec<Bytes> {
        self.finish_run();
        self.done
    }

    fn finish_run(&mut self) {
        if !self.run.is_empty() {
            let run = std::mem::take(&mut self.run);
            self.len += run.len();
            self.done.push(Bytes::from(run));
        }
    }
}

/// How the encoder hands binaries to [`EncodeChunks`]: the run so far is the encoder's
/// buffer, so closing it is moving that vector into a chunk.
struct Sharing<'a> {
    done: &'a mut Vec<Bytes>,
    len: &'a mut usize,
    threshold: usize,
}

impl Share for Sharing<'_> {
    #[inline]
    fn data(&mut self, data: &Bytes, out: &mut Vec<u8>) {
        if data.len() < self.threshold {
            out.extend_from_slice(data);
            return;
        }
        if !out.is_empty() {
            let run = std::mem::take(out);
            *self.len += run.len();
            self.done.push(Bytes::from(run));
        }
        *self.len += data.len();
        self.done.push(data.clone());
    }
}

/// Appends version byte 131 and the term to `chunks` (see [`EncodeChunks`]). On error
/// the chunks may hold part of the term.
pub fn encode_chunks(term: &Term, chunks: &mut EncodeChunks) -> Result<(), EncodeError> {
    chunks.run.push(VERSION);
    encode_body_chunks(term, chunks)
}

/// Appends the term without the version byte to `chunks` (as after a distribution
/// header; see [`EncodeChunks`]). On error the chunks may hold part of the term.
pub fn encode_body_chunks(term: &Term, chunks: &mut EncodeChunks) -> Result<(), EncodeError> {
    let EncodeChunks {
        done,
        run,
        len,
        threshold,
    } = chunks;
    if run.capacity() == 0 {
        // One allocation for the usual small run instead of growing through 8, 16, 32...
        run.reserve(128);
    }
    let mut sharing = Sharing {
        done,
        len,
        threshold: *threshold,
    };
    encode_body_shared(term, run, &mut sharing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::etf::{encode, encode_body_to};

    fn concat(c: EncodeChunks) -> (Vec<u8>, Vec<Bytes>) {
        let chunks = c.into_chunks();
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
}
