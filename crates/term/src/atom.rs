//! Atoms: interned, cheap to clone and to compare.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock, RwLock};

/// The longest atom Erlang accepts, in characters.
pub const MAX_ATOM_CHARS: usize = 255;

/// How many distinct atoms the process-wide table keeps. Atoms beyond this are still
/// valid values, but each is its own allocation: a hostile peer cannot grow the table
/// without bound (the BEAM's atom table has the same concern).
const INTERN_LIMIT: usize = 1 << 20;

/// An Erlang atom.
///
/// Cloning is a reference-count increment; atoms that came from the same table entry
/// compare by pointer first. Atoms are interned in a bounded process-wide table, so
/// decoding the same atom a million times allocates once.
#[derive(Clone)]
pub struct Atom(Arc<str>);

fn table() -> &'static RwLock<HashSet<Arc<str>>> {
    static TABLE: OnceLock<RwLock<HashSet<Arc<str>>>> = OnceLock::new();
    TABLE.get_or_init(|| RwLock::new(HashSet::new()))
}

/// How many recently made atoms each thread remembers in front of the shared table.
const RECENT_SLOTS: usize = 256;

thread_local! {
    /// A direct-mapped cache of recent atoms: the same atoms come back again and again
    /// (node names in every pid, message tags), and a hit here costs a hash of the text
    /// and a reference-count increment, with no lock.
    static RECENT: RefCell<[Option<Atom>; RECENT_SLOTS]> = const { RefCell::new([const { None }; RECENT_SLOTS]) };
}

/// The cache slot for `name`: a hash of its length and its first and last eight bytes
/// (cheap for long node names; a collision only costs a miss).
#[inline]
fn recent_slot(name: &str) -> usize {
    let b = name.as_bytes();
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    let (head, tail) = if b.len() <= 8 {
        (word(b), 0)
    } else {
        (word(&b[..8]), word(&b[b.len() - 8..]))
    };
    let h = (head ^ tail.rotate_left(29) ^ b.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 56) as usize % RECENT_SLOTS
}

impl Atom {
    /// The atom with this text. The caller is responsible for the length limit of
    /// [`MAX_ATOM_CHARS`] where it matters (the decoder and parser check it).
    pub fn new(name: &str) -> Atom {
        let slot = recent_slot(name);
        let hit = RECENT
            .try_with(|r| match r.try_borrow() {
                Ok(r) => match &r[slot] {
                    Some(a) if &*a.0 == name => Some(a.clone()),
                    _ => None,
                },
                Err(_) => None,
            })
            .ok()
            .flatten();
        if let Some(a) = hit {
            return a;
        }
        let a = Atom::intern(name);
        let _ = RECENT.try_with(|r| {
            if let Ok(mut r) = r.try_borrow_mut() {
                r[slot] = Some(a.clone());
            }
        });
        a
    }

    /// The table's atom for `name`, adding it when there is room.
    fn intern(name: &str) -> Atom {
        if let Ok(t) = table().read() {
            if let Some(a) = t.get(name) {
                return Atom(a.clone());
            }
        }
        let arc: Arc<str> = Arc::from(name);
        if let Ok(mut t) = table().write() {
            if let Some(a) = t.get(name) {
                return Atom(a.clone());
            }
            if t.len() < INTERN_LIMIT {
                t.insert(arc.clone());
            }
        }
        Atom(arc)
    }

    /// The atom's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `true` only for the atom `true`.
    pub fn is_true(&self) -> bool {
        &*self.0 == "true"
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Atom) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}
impl Eq for Atom {}

impl PartialEq<str> for Atom {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}
impl PartialEq<&str> for Atom {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h)
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
        self.0.as_bytes().cmp(other.0.as_bytes())
    }
}

impl std::ops::Deref for Atom {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
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
        write!(f, "Atom({:?})", &*self.0)
    }
}

impl fmt::Display for Atom {
    /// Erlang syntax: quoted when it has to be (`'hello world'`), bare otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::write_atom(f, self.as_str())
    }
}
