//! Atoms: interned, cheap to clone and to compare.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{OnceLock, RwLock};

/// The longest atom Erlang accepts, in characters.
pub const MAX_ATOM_CHARS: usize = 255;

/// How many distinct atoms the process-wide table holds: the BEAM's default limit.
/// Like the BEAM's atom table, entries are never freed, so a hostile peer could otherwise
/// grow it without bound: once it is full, decoding a new atom fails with an error (the
/// BEAM would stop the node), while [`Atom::new`] still makes the atom, each time as its
/// own allocation that is never freed.
pub(crate) const INTERN_LIMIT: usize = 1 << 20;

/// An Erlang atom.
///
/// An atom is one pointer to its entry in a process-wide table: cloning copies the
/// pointer (no reference count), equal atoms from the table compare by pointer, and
/// decoding the same atom a million times allocates once. The entry also holds the
/// atom's External Term Format encoding, so encoding an atom is one copy. The table lives
/// for the whole process.
#[derive(Clone)]
pub struct Atom(&'static Entry);

/// What an atom points to: its text and, for atoms of at most 16 bytes (nearly all of
/// them), its encoding as SMALL_ATOM_UTF8_EXT (tag, length, text) padded with zeros to
/// [`ETF_PAD`] bytes, so that the encoder copies it with fixed-size moves.
pub(crate) struct Entry {
    text: &'static str,
    etf: Option<[u8; ETF_PAD]>,
}

/// The length of [`Atom::etf`]: tag, length and up to 16 bytes of text.
pub(crate) const ETF_PAD: usize = 2 + 16;

impl Entry {
    /// A new entry for `name`, never freed.
    fn leak(name: &str) -> &'static Entry {
        let n = name.len();
        let etf = (n <= 16).then(|| {
            let mut e = [0u8; ETF_PAD];
            e[0] = crate::etf::tags::SMALL_ATOM_UTF8_EXT;
            e[1] = n as u8;
            e[2..2 + n].copy_from_slice(name.as_bytes());
            e
        });
        Box::leak(Box::new(Entry {
            text: Box::leak(name.into()),
            etf,
        }))
    }
}

fn table() -> &'static RwLock<HashMap<&'static str, &'static Entry>> {
    static TABLE: OnceLock<RwLock<HashMap<&'static str, &'static Entry>>> = OnceLock::new();
    TABLE.get_or_init(|| RwLock::new(HashMap::new()))
}

/// How many recently made atoms each thread remembers in front of the shared table.
const RECENT_SLOTS: usize = 256;

thread_local! {
    /// A direct-mapped cache of recent atoms: the same atoms come back again and again
    /// (node names in every pid, message tags), and a hit here costs a hash of the text
    /// and a comparison, with no lock.
    static RECENT: [Cell<Option<&'static Entry>>; RECENT_SLOTS] =
        const { [const { Cell::new(None) }; RECENT_SLOTS] };
}

/// Little-endian word of `b` at `i` (8 bytes): one load after one bounds check (the
/// byte-by-byte form compiled to eight loads, eight checks and a call).
#[inline(always)]
fn word(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

/// Little-endian half word of `b` at `i` (4 bytes).
#[inline(always)]
fn half(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[i..i + 4]);
    u32::from_le_bytes(a) as u64
}

/// The cache slot for `name`: a hash of its length and its first and last eight bytes
/// (cheap for long node names; a collision only costs a miss).
#[inline(always)]
fn recent_slot(b: &[u8]) -> usize {
    // Fixed-size loads only (a variable-length copy would be a call into memcpy).
    let n = b.len();
    let (head, tail) = match n {
        0 => (0, 0),
        1..=3 => (b[0] as u64 | (b[n / 2] as u64) << 8 | (b[n - 1] as u64) << 16, 0),
        4..=7 => (half(b, 0), half(b, n - 4)),
        _ => (word(b, 0), word(b, n - 8)),
    };
    let h = (head ^ tail.rotate_left(29) ^ n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 56) as usize % RECENT_SLOTS
}

/// The recently made atom whose text is exactly `bytes`, if this thread has one.
#[inline(always)]
fn recent(bytes: &[u8], slot: usize) -> Option<Atom> {
    RECENT
        .try_with(|r| r[slot].get())
        .ok()
        .flatten()
        .filter(|e| same_bytes(e.text.as_bytes(), bytes))
        .map(Atom)
}

/// `a == b`, without a call into `memcmp` for the short texts atoms usually have (that
/// call was a third of the time of decoding a small control message).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => (half(a, 0) ^ half(b, 0)) | (half(a, n - 4) ^ half(b, n - 4)) == 0,
        8..=16 => (word(a, 0) ^ word(b, 0)) | (word(a, n - 8) ^ word(b, n - 8)) == 0,
        _ => a == b,
    }
}

#[inline]
fn remember(slot: usize, a: &Atom) {
    let _ = RECENT.try_with(|r| r[slot].set(Some(a.0)));
}

/// Why [`Atom::from_utf8`] made no atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtomError {
    /// The bytes are not UTF-8; the first `valid_up_to` are.
    NotUtf8 { valid_up_to: usize },
    /// The table holds [`INTERN_LIMIT`] atoms and this is a new one.
    TableFull,
}

impl Atom {
    /// The atom with this text. The caller is responsible for the length limit of
    /// [`MAX_ATOM_CHARS`] where it matters (the decoder and parser check it).
    pub fn new(name: &str) -> Atom {
        let slot = recent_slot(name.as_bytes());
        if let Some(a) = recent(name.as_bytes(), slot) {
            return a;
        }
        match Atom::intern(name) {
            Some(a) => {
                remember(slot, &a);
                a
            }
            // The table is full: this atom stands alone (see INTERN_LIMIT).
            None => Atom(Entry::leak(name)),
        }
    }

    /// The atom with this text, or `None` when it is new and the table already holds its
    /// limit of 1,048,576 atoms: for text from the network, where [`Atom::new`]'s fallback
    /// (an atom outside the table, never freed) would let a peer grow memory without end.
    pub fn try_new(name: &str) -> Option<Atom> {
        let slot = recent_slot(name.as_bytes());
        if let Some(a) = recent(name.as_bytes(), slot) {
            return Some(a);
        }
        let a = Atom::intern(name)?;
        remember(slot, &a);
        Some(a)
    }

    /// The atom whose UTF-8 text is `bytes`, without growing the table past its limit:
    /// what the decoder uses for atoms that arrive from a peer. A recent atom is found
    /// without validating the bytes again.
    #[inline]
    pub(crate) fn from_utf8(bytes: &[u8]) -> Result<Atom, AtomError> {
        let slot = recent_slot(bytes);
        if let Some(a) = recent(bytes, slot) {
            return Ok(a);
        }
        let name = std::str::from_utf8(bytes).map_err(|e| AtomError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let a = Atom::intern(name).ok_or(AtomError::TableFull)?;
        remember(slot, &a);
        Ok(a)
    }

    /// The atom whose text is `bytes` when this thread made it recently: the decoder's
    /// fast path, a hash and a comparison (the bytes are known UTF-8 on a hit, being equal
    /// to an atom's text).
    #[inline(always)]
    pub(crate) fn recent_utf8(bytes: &[u8]) -> Option<Atom> {
        recent(bytes, recent_slot(bytes))
    }

    /// The table's atom for `name`, adding it when there is room.
    fn intern(name: &str) -> Option<Atom> {
        if let Ok(t) = table().read() {
            if let Some(e) = t.get(name) {
                return Some(Atom(e));
            }
        }
        let mut t = table().write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(e) = t.get(name) {
            return Some(Atom(e));
        }
        if t.len() >= INTERN_LIMIT {
            return None;
        }
        let e = Entry::leak(name);
        t.insert(e.text, e);
        Some(Atom(e))
    }

    /// The atom's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        self.0.text
    }

    /// For an atom of at most 16 bytes, its encoding as SMALL_ATOM_UTF8_EXT zero-padded
    /// to [`ETF_PAD`] bytes (the encoding is the first `2 + len` of them).
    #[inline(always)]
    pub(crate) fn etf(&self) -> Option<&'static [u8; ETF_PAD]> {
        self.0.etf.as_ref()
    }

    /// `true` only for the atom `true`.
    pub fn is_true(&self) -> bool {
        self.0.text == "true"
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        std::ptr::eq(self.0, other.0) || self.0.text == other.0.text
    }
}
impl Eq for Atom {}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        self.0.text == other
    }
}
impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        self.0.text == *other
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.text.hash(h)
    }
}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Atom) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Atom {
    /// Erlang orders atoms by their text (code points, which for UTF-8 is byte order).
    fn cmp(&self, other: &Atom) -> std::cmp::Ordering {
        self.0.text.as_bytes().cmp(other.0.text.as_bytes())
    }
}

impl std::ops::Deref for Atom {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.text
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::new(s)
    }
}
impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::new(&s)
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Atom({:?})", self.0.text)
    }
}

impl fmt::Display for Atom {
    /// Erlang syntax: quoted when it has to be (`'hello world'`), bare otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::write_atom(f, self.as_str())
    }
}
