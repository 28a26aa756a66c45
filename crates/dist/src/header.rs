//! The distribution header (erl_ext_dist, "Distribution Header") and the per-connection
//! atom cache it maintains.
//!
//! A header lists up to 255 atom-cache references. Each names one slot of the 2048-slot
//! cache (segment and index within it) and either brings a new atom for that slot or
//! refers to the atom a previous header put there. The terms after the header then write
//! `ATOM_CACHE_REF i` for the i-th reference instead of the atom's text.
//!
//! Layout after `NumberOfAtomCacheRefs` (N > 0): `N/2 + 1` flag bytes holding one
//! half-byte per reference (even index in the low half, odd index in the high half; bit 3
//! "new entry", bits 0-2 segment), followed by one more half-byte at position N whose bit 0
//! says that atom lengths take two bytes (LongAtoms); then per reference the index within
//! the segment and, for a new entry, the length and the UTF-8 text.

use beamlink_term::Atom;

/// First byte of a frame with a distribution header.
pub const VERSION_MAGIC: u8 = 131;
/// Second byte: a whole message.
pub const DIST_HEADER: u8 = 68;
/// Second byte: the first fragment of a fragmented message.
pub const DIST_FRAG_HEADER: u8 = 69;
/// Second byte: a following fragment.
pub const DIST_FRAG_CONT: u8 = 70;
/// First byte of a frame without a header (the control term carries its own 131).
pub const PASS_THROUGH: u8 = 112;

/// Slots in a connection's atom cache: 8 segments of 256.
pub const ATOM_CACHE_SIZE: usize = 2048;
/// The most references one header can carry (`NumberOfAtomCacheRefs` is one byte).
pub const MAX_ATOM_CACHE_REFS: usize = 255;
/// The longest atom Erlang accepts, in characters.
const MAX_ATOM_CHARS: usize = 255;

const NEW_ENTRY_FLAG: u8 = 0x8;
const SEGMENT_MASK: u8 = 0x7;
const LONG_ATOMS_FLAG: u8 = 0x1;

/// The atom cache the peer fills through distribution headers, one per connection and
/// direction. Entries stay until a later header replaces them.
#[derive(Clone)]
pub struct AtomCache {
    slots: Vec<Option<Atom>>,
}

impl Default for AtomCache {
    fn default() -> Self {
        AtomCache::new()
    }
}

impl std::fmt::Debug for AtomCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.slots.iter().filter(|s| s.is_some()).count();
        write!(f, "AtomCache({used} of {ATOM_CACHE_SIZE} slots used)")
    }
}

impl AtomCache {
    /// An empty cache, as at the start of a connection.
    pub fn new() -> AtomCache {
        AtomCache {
            slots: vec![None; ATOM_CACHE_SIZE],
        }
    }

    /// The atom in slot `index` (`segment * 256 + index in segment`), if one was sent.
    pub fn get(&self, index: usize) -> Option<&Atom> {
        self.slots.get(index).and_then(Option::as_ref)
    }
}

/// A distribution header the peer got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The header ends inside the named part.
    #[error("the distribution header ends inside its {0}")]
    Truncated(&'static str),
    /// A reference to a cache slot that no header filled.
    #[error("the distribution header refers to atom cache slot {slot} (reference {reference}), which no earlier header filled")]
    EmptySlot { slot: usize, reference: usize },
    /// A new atom over 255 characters.
    #[error("the distribution header brings atom cache slot {slot} an atom that is not UTF-8")]
    NotUtf8 { slot: usize },
    /// A new atom over 255 characters.
    #[error(
        "the distribution header brings atom cache slot {slot} an atom of {chars} characters (at most 255)"
    )]
    AtomTooLong { slot: usize, chars: usize },
    /// A new atom when the atom table is full (beamlink_term's INTERN_LIMIT).
    #[error(
        "the distribution header brings atom cache slot {slot} a new atom, but the atom table is full; \
         the peer sends more distinct atoms than this node keeps: restart it"
    )]
    AtomTableFull { slot: usize },
}

/// Why a header could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderWriteError {
    /// More than 255 references.
    #[error("{0} atom cache references in one header: at most 255")]
    TooManyRefs(usize),
    /// A slot number outside the cache.
    #[error("atom cache slot {0} does not exist (slots are 0..2048)")]
    NoSuchSlot(u16),
    /// A new atom over 255 characters.
    #[error("atom of {0} characters: Erlang allows at most 255")]
    AtomTooLong(usize),
}

/// Reads the atom-cache part of a header, from `NumberOfAtomCacheRefs` on: applies new
/// entries to `cache` and appends the atom of every reference, in order, to `refs` (the
/// table that `ATOM_CACHE_REF` indexes). Returns the number of bytes read.
pub fn read_atom_cache_refs(
    buf: &[u8],
    cache: &mut AtomCache,
    refs: &mut Vec<Option<Atom>>,
) -> Result<usize, HeaderError> {
    let n = *buf
        .first()
        .ok_or(HeaderError::Truncated("number of atom cache references"))? as usize;
    if n == 0 {
        return Ok(1);
    }
    let flags_len = n / 2 + 1;
    let flags = buf
        .get(1..1 + flags_len)
        .ok_or(HeaderError::Truncated("atom cache flags"))?;
    let nibble = |i: usize| {
        let b = flags[i / 2];
        if i & 1 == 0 {
            b & 0x0f
        } else {
            b >> 4
        }
    };
    let long_atoms = nibble(n) & LONG_ATOMS_FLAG != 0;
    let mut pos = 1 + flags_len;
    for i in 0..n {
        let flag = nibble(i);
        let in_segment = *buf
            .get(pos)
            .ok_or(HeaderError::Truncated("atom cache references"))?;
        pos += 1;
        let slot = (flag & SEGMENT_MASK) as usize * 256 + in_segment as usize;
        if flag & NEW_ENTRY_FLAG != 0 {
            let len = if long_atoms {
                let b = buf
                    .get(pos..pos + 2)
                    .ok_or(HeaderError::Truncated("atom length"))?;
                pos += 2;
                u16::from_be_bytes([b[0], b[1]]) as usize
            } else {
                let b = *buf.get(pos).ok_or(HeaderError::Truncated("atom length"))?;
                pos += 1;
                b as usize
            };
            let text = buf
                .get(pos..pos + len)
                .ok_or(HeaderError::Truncated("atom text"))?;
            pos += len;
            let text = std::str::from_utf8(text).map_err(|_| HeaderError::NotUtf8 { slot })?;
            let chars = text.chars().count();
            if chars > MAX_ATOM_CHARS {
                return Err(HeaderError::AtomTooLong { slot, chars });
            }
            cache.slots[slot] = Some(Atom::try_new(text).ok_or(HeaderError::AtomTableFull { slot })?);
        }
        match &cache.slots[slot] {
            Some(a) => refs.push(Some(a.clone())),
            None => return Err(HeaderError::EmptySlot { slot, reference: i }),
        }
    }
    Ok(pos)
}

/// One atom-cache reference for [`write_atom_cache_refs`]: the cache slot, and the atom
/// when the header brings it (a new entry) rather than refers to what the slot holds.
#[derive(Debug, Clone, Copy)]
pub struct AtomCacheRef<'a> {
    /// The cache slot, `segment * 256 + index in segment` (0..2048).
    pub slot: u16,
    /// The atom the header brings into the slot, or `None` to refer to what it holds.
    pub new_atom: Option<&'a Atom>,
}

/// Writes the atom-cache part of a header (from `NumberOfAtomCacheRefs` on). Two-byte
/// lengths (LongAtoms) are used when any new atom is longer than 255 bytes.
pub fn write_atom_cache_refs(refs: &[AtomCacheRef<'_>], out: &mut Vec<u8>) -> Result<(), HeaderWriteError> {
    let n = refs.len();
    if n > MAX_ATOM_CACHE_REFS {
        return Err(HeaderWriteError::TooManyRefs(n));
    }
    out.push(n as u8);
    if n == 0 {
        return Ok(());
    }
    let mut long_atoms = false;
    for r in refs {
        if r.slot as usize >= ATOM_CACHE_SIZE {
            return Err(HeaderWriteError::NoSuchSlot(r.slot));
        }
        if let Some(a) = r.new_atom {
            let chars = a.as_str().chars().count();
            if chars > MAX_ATOM_CHARS {
                return Err(HeaderWriteError::AtomTooLong(chars));
            }
            long_atoms |= a.as_str().len() > 255;
        }
    }
    let flags_at = out.len();
    out.resize(flags_at + n / 2 + 1, 0);
    let set_nibble = |out: &mut Vec<u8>, i: usize, v: u8| {
        let b = &mut out[flags_at + i / 2];
        if i & 1 == 0 {
            *b |= v & 0x0f;
        } else {
            *b |= v << 4;
        }
    };
    for (i, r) in refs.iter().enumerate() {
        let segment = (r.slot / 256) as u8;
        let new = if r.new_atom.is_some() { NEW_ENTRY_FLAG } else { 0 };
        set_nibble(out, i, new | segment);
    }
    set_nibble(out, n, if long_atoms { LONG_ATOMS_FLAG } else { 0 });
    for r in refs {
        out.push((r.slot % 256) as u8);
        if let Some(a) = r.new_atom {
            let text = a.as_str().as_bytes();
            if long_atoms {
                out.extend_from_slice(&(text.len() as u16).to_be_bytes());
            } else {
                out.push(text.len() as u8);
            }
            out.extend_from_slice(text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atoms(refs: &[Option<Atom>]) -> Vec<String> {
        refs.iter()
            .map(|a| a.as_ref().map(|a| a.as_str().to_owned()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn zero_refs_is_one_byte() {
        let mut cache = AtomCache::new();
        let mut refs = Vec::new();
        assert_eq!(read_atom_cache_refs(&[0, 99], &mut cache, &mut refs), Ok(1));
        assert!(refs.is_empty());
        let mut out = Vec::new();
        write_atom_cache_refs(&[], &mut out).unwrap();
        assert_eq!(out, [0]);
    }

    /// The atom-cache part of the spec's fragment example: two cached entries (segment 4
    /// index 10, segment 0 index 5) and three new ones.
    #[test]
    fn spec_example_refs() {
        let bytes: &[u8] = &[
            5, 4, 137, 9, 10, 5, 236, 3, b'r', b'e', b'g', 9, 4, b'c', b'a', b'l', b'l', 238, 13, b's', b'e',
            b't', b'_', b'g', b'e', b't', b'_', b's', b't', b'a', b't', b'e', 0xAA,
        ];
        let mut cache = AtomCache::new();
        cache.slots[4 * 256 + 10] = Some(Atom::new("node_a@host"));
        cache.slots[5] = Some(Atom::new("node_b@host"));
        let mut refs = Vec::new();
        let used = read_atom_cache_refs(bytes, &mut cache, &mut refs).unwrap();
        assert_eq!(used, bytes.len() - 1);
        assert_eq!(
            atoms(&refs),
            ["node_a@host", "node_b@host", "reg", "call", "set_get_state"]
        );
        // Flag half-bytes: ref 2 is new in segment 1, ref 3 new in segment 0, ref 4 new in
        // segment 1.
        assert_eq!(cache.get(256 + 236).map(|a| a.as_str()), Some("reg"));
        assert_eq!(cache.get(9).map(|a| a.as_str()), Some("call"));
        assert_eq!(cache.get(256 + 238).map(|a| a.as_str()), Some("set_get_state"));

        // Writing the same references gives the same bytes.
        let (reg, call, sgs) = (Atom::new("reg"), Atom::new("call"), Atom::new("set_get_state"));
        let mut out = Vec::new();
        write_atom_cache_refs(
            &[
                AtomCacheRef {
                    slot: 4 * 256 + 10,
                    new_atom: None,
                },
                AtomCacheRef {
                    slot: 5,
                    new_atom: None,
                },
                AtomCacheRef {
                    slot: 256 + 236,
                    new_atom: Some(&reg),
                },
                AtomCacheRef {
                    slot: 9,
                    new_atom: Some(&call),
                },
                AtomCacheRef {
                    slot: 256 + 238,
                    new_atom: Some(&sgs),
                },
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, &bytes[..bytes.len() - 1]);
    }

    #[test]
    fn references_resolve_to_entries_of_earlier_headers() {
        let mut cache = AtomCache::new();
        let a = Atom::new("first");
        let mut buf = Vec::new();
        write_atom_cache_refs(
            &[AtomCacheRef {
                slot: 2047,
                new_atom: Some(&a),
            }],
            &mut buf,
        )
        .unwrap();
        // One ref: flags byte holds ref 0 in the low half (new, segment 7) and the
        // LongAtoms half-byte (0) in the high half.
        assert_eq!(buf[..3], [1, 0x0f, 255]);
        let mut refs = Vec::new();
        read_atom_cache_refs(&buf, &mut cache, &mut refs).unwrap();
        assert_eq!(atoms(&refs), ["first"]);

        let mut buf = Vec::new();
        write_atom_cache_refs(
            &[AtomCacheRef {
                slot: 2047,
                new_atom: None,
            }],
            &mut buf,
        )
        .unwrap();
        assert_eq!(buf, [1, 0x07, 255]);
        let mut refs = Vec::new();
        read_atom_cache_refs(&buf, &mut cache, &mut refs).unwrap();
        assert_eq!(atoms(&refs), ["first"]);

        // A new entry replaces the slot for later headers.
        let b = Atom::new("second");
        let mut buf = Vec::new();
        write_atom_cache_refs(
            &[AtomCacheRef {
                slot: 2047,
                new_atom: Some(&b),
            }],
            &mut buf,
        )
        .unwrap();
        read_atom_cache_refs(&buf, &mut cache, &mut Vec::new()).unwrap();
        assert_eq!(cache.get(2047).map(|a| a.as_str()), Some("second"));
    }

    #[test]
    fn long_atoms_flag_and_two_byte_lengths() {
        // 100 'ä' (2 bytes each) = 200 bytes, 150 'ö' = 300 bytes: needs LongAtoms.
        let short = Atom::new("x");
        let long = Atom::new(&"ö".repeat(150));
        let mut buf = Vec::new();
        write_atom_cache_refs(
            &[
                AtomCacheRef {
                    slot: 1,
                    new_atom: Some(&short),
                },
                AtomCacheRef {
                    slot: 2,
                    new_atom: Some(&long),
                },
            ],
            &mut buf,
        )
        .unwrap();
        // Two refs: flags are 2 bytes; ref 0 low, ref 1 high of byte 0, LongAtoms in the low
        // half of byte 1.
        assert_eq!(buf[..3], [2, 0x88, 0x01]);
        assert_eq!(buf[3..7], [1, 0, 1, b'x']);
        assert_eq!(buf[7..10], [2, 1, 44]);
        let mut cache = AtomCache::new();
        let mut refs = Vec::new();
        assert_eq!(read_atom_cache_refs(&buf, &mut cache, &mut refs), Ok(buf.len()));
        assert_eq!(refs[1].as_ref().map(|a| a.as_str().len()), Some(300));

        // Odd count: the LongAtoms half-byte is the high half of the last flag byte.
        let mut buf = Vec::new();
        write_atom_cache_refs(
            &[AtomCacheRef {
                slot: 3,
                new_atom: Some(&long),
            }],
            &mut buf,
        )
        .unwrap();
        assert_eq!(buf[..2], [1, 0x18]);
        let mut refs = Vec::new();
        assert_eq!(read_atom_cache_refs(&buf, &mut cache, &mut refs), Ok(buf.len()));
    }

    #[test]
    fn peer_mistakes_are_errors() {
        let mut cache = AtomCache::new();
        let mut refs = Vec::new();
        assert_eq!(
            read_atom_cache_refs(&[1, 0x00, 7], &mut cache, &mut refs),
            Err(HeaderError::EmptySlot {
                slot: 7,
                reference: 0
            })
        );
        assert_eq!(
            read_atom_cache_refs(&[], &mut cache, &mut refs),
            Err(HeaderError::Truncated("number of atom cache references"))
        );
        assert_eq!(
            read_atom_cache_refs(&[3, 0], &mut cache, &mut refs),
            Err(HeaderError::Truncated("atom cache flags"))
        );
        assert_eq!(
            read_atom_cache_refs(&[1, 0x08, 7, 5, b'a'], &mut cache, &mut refs),
            Err(HeaderError::Truncated("atom text"))
        );
        assert_eq!(
            read_atom_cache_refs(&[1, 0x08, 7, 1, 0xff], &mut cache, &mut refs),
            Err(HeaderError::NotUtf8 { slot: 7 })
        );
        let mut long = vec![1, 0x18, 7, 1, 0];
        long.extend([b'a'; 256]);
        assert_eq!(
            read_atom_cache_refs(&long, &mut cache, &mut refs),
            Err(HeaderError::AtomTooLong { slot: 7, chars: 256 })
        );
    }
}
