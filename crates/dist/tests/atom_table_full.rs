//! A peer cannot grow memory without end through the atom cache once the process-wide atom
//! table is full: a header that brings a new atom is refused with its own error, while
//! atoms already in the table still work. Its own test binary: it fills the table.

use beamlink_dist::header::{
    read_atom_cache_refs, write_atom_cache_refs, AtomCache, AtomCacheRef, HeaderError,
};
use beamlink_term::Atom;

#[test]
fn a_new_atom_in_a_header_is_refused_once_the_table_is_full() {
    let known = Atom::new("known_before_full");
    let placeholder = Atom::new("AAAAAAAAAAAAAAAA");
    let mut filled = 0u32;
    while Atom::try_new(&format!("fill_{filled}")).is_some() {
        filled += 1;
        assert!(filled <= 2 << 20, "the atom table never reported itself full");
    }
    // Full: a new text makes no atom; a known one still does.
    assert!(Atom::try_new("never_seen_before").is_none());
    assert_eq!(Atom::try_new("known_before_full"), Some(known.clone()));

    // A header bringing slot 7 a new atom: written with the placeholder, whose text is
    // then replaced by one of the same length that is not in the table.
    let mut header = Vec::new();
    write_atom_cache_refs(
        &[AtomCacheRef {
            slot: 7,
            new_atom: Some(&placeholder),
        }],
        &mut header,
    )
    .unwrap();
    let at = header
        .windows(16)
        .position(|w| w == b"AAAAAAAAAAAAAAAA")
        .expect("the atom's text in the header");
    header[at..at + 16].copy_from_slice(b"ZZZZZZZZZZZZZZZZ");
    let mut cache = AtomCache::new();
    let mut refs = Vec::new();
    assert_eq!(
        read_atom_cache_refs(&header, &mut cache, &mut refs).unwrap_err(),
        HeaderError::AtomTableFull { slot: 7 }
    );

    // The same header bringing an atom the table has is read as before.
    let mut header = Vec::new();
    write_atom_cache_refs(
        &[AtomCacheRef {
            slot: 7,
            new_atom: Some(&known),
        }],
        &mut header,
    )
    .unwrap();
    let mut refs = Vec::new();
    read_atom_cache_refs(&header, &mut cache, &mut refs).unwrap();
    assert_eq!(refs, vec![Some(known)]);
}
