//! Regression tests for the defects of eetf 0.12 listed in shared/reference/CRATES.md,
//! and for the other ways hostile input used to take decoders down.

use beamlink_term::etf::{decode, encode, DecodeLimits, Decoder};
use beamlink_term::Term;
use bytes::Bytes;

#[test]
fn a_list_with_negative_small_integers_stays_a_list() {
    let t = Term::list(vec![Term::Int(-1), Term::Int(2)]);
    let bytes = encode(&t).unwrap();
    assert_eq!(bytes[1], 108, "LIST_EXT, not STRING_EXT");
    assert_eq!(decode(&bytes).unwrap(), t);
}

#[test]
fn a_seventy_thousand_element_list_of_small_integers_keeps_every_element() {
    let t = Term::List((0..70_000).map(|i| Term::Int(i % 256)).collect());
    let bytes = encode(&t).unwrap();
    assert_eq!(bytes[1], 108, "too long for STRING_EXT");
    match decode(&bytes).unwrap() {
        Term::List(l) => {
            assert_eq!(l.len(), 70_000);
            assert_eq!(Term::List(l), t);
        }
        other => panic!("not a list: {other:?}"),
    }
    // 65,535 is the longest STRING_EXT.
    let s = Term::List((0..65_535).map(|i| Term::Int(i % 256)).collect());
    assert_eq!(encode(&s).unwrap()[1], 107);
}

#[test]
fn a_list_header_claiming_four_billion_elements_is_an_error_not_an_abort() {
    let e = decode(&[131, 108, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap_err();
    assert_eq!(e.offset, 1);
    assert!(e.reason.contains("4294967295"), "{e}");
    // The same for every other counted container.
    for tag in [105u8, 116, 109, 77, 111] {
        let e = decode(&[131, tag, 0xFF, 0xFF, 0xFF, 0xFF, 0]).unwrap_err();
        assert!(e.offset >= 1, "tag {tag}: {e}");
    }
}

#[test]
fn a_million_nested_tuples_is_an_error_not_a_stack_overflow() {
    let mut v = vec![131];
    for _ in 0..1_000_000 {
        v.extend_from_slice(&[104, 1]);
    }
    v.push(106);
    let e = decode(&v).unwrap_err();
    assert!(e.reason.contains("max_depth"), "{e}");
    // Within the limit it decodes, and dropping the result is fine too.
    let mut ok = vec![131];
    for _ in 0..999 {
        ok.extend_from_slice(&[104, 1]);
    }
    ok.push(106);
    let deep = decode(&ok).expect("999 levels are within the limit");
    // And it encodes back to the same bytes, past the encoder's recursion limit.
    assert_eq!(encode(&deep).unwrap(), ok);
    // The limit is configurable.
    let limited = DecodeLimits {
        max_depth: 10,
        ..DecodeLimits::default()
    };
    let mut d = Decoder::new(Bytes::from(ok)).with_limits(limited);
    assert!(d.term().unwrap_err().reason.contains("deeper than 10"));
}

/// A map whose two keys are as deep as the limit allows: decoding checks the keys for
/// duplicates (compare, hash), and what the application then does with the term (clone,
/// compare, drop) must fit in a tokio worker's 2 MiB stack. A deeper limit (10,000) made
/// a hostile peer able to overflow that stack and abort the process.
#[test]
fn the_deepest_decodable_term_is_safe_to_use_on_a_small_stack() {
    let nested = |leaf: u8| {
        let mut v = Vec::new();
        for _ in 0..998 {
            v.extend_from_slice(&[108, 0, 0, 0, 1]); // [X] ...
        }
        v.extend_from_slice(&[97, leaf]);
        for _ in 0..998 {
            v.push(106); // ... | []]
        }
        v
    };
    // One level more than the limit (1,001 lists) is refused before any of it is used.
    let mut too_deep = vec![131];
    for _ in 0..3 {
        too_deep.extend_from_slice(&[108, 0, 0, 0, 1]);
    }
    too_deep.extend(nested(1));
    too_deep.extend_from_slice(&[106, 106, 106]);
    assert!(decode(&too_deep).unwrap_err().reason.contains("max_depth"));

    let mut input = vec![131, 116, 0, 0, 0, 2];
    for leaf in [1u8, 2] {
        input.extend(nested(leaf));
        input.extend_from_slice(&[97, leaf]);
    }
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let map = decode(&input).expect("two keys 999 levels deep are within the limit");
            let copy = map.clone();
            assert_eq!(map, copy);
            assert_eq!(map.cmp(&copy), std::cmp::Ordering::Equal);
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(&copy, &mut h);
            assert_eq!(decode(&encode(&copy).unwrap()).unwrap(), map);
        })
        .expect("spawn a 2 MiB thread");
    worker.join().expect("no stack overflow on a 2 MiB stack");
}

#[test]
fn deep_lists_and_maps_are_limited_too() {
    for header in [&[108u8, 0, 0, 0, 1][..], &[116, 0, 0, 0, 1, 97, 0]] {
        let mut v = vec![131];
        for _ in 0..200_000 {
            v.extend_from_slice(header);
        }
        assert!(decode(&v).unwrap_err().reason.contains("max_depth"));
    }
}

#[test]
fn bit_binaries_with_zero_or_nine_tail_bits_are_errors() {
    assert!(decode(&[131, 77, 0, 0, 0, 1, 0, 0xFF]).is_err());
    assert!(decode(&[131, 77, 0, 0, 0, 1, 9, 0xFF]).is_err());
    assert!(decode(&[131, 77, 0, 0, 0, 1, 255, 0xFF]).is_err());
}

#[test]
fn floats_are_read_as_doubles() {
    // FLOAT_EXT text with more precision than an f32 holds.
    let mut v = vec![131, 99];
    v.extend_from_slice(b"1.23456789012345669043e-01");
    v.resize(33, 0);
    assert_eq!(decode(&v).unwrap(), Term::Float(0.12345678901234567));
}

#[test]
fn latin1_atoms_beyond_ascii_are_accepted() {
    assert_eq!(
        decode(&[131, 100, 0, 3, b'c', 0xE6, b'r']).unwrap(),
        Term::atom("cær")
    );
}

#[test]
fn atom_cache_references_without_a_table_are_errors_not_panics() {
    assert!(decode(&[131, 82, 0]).is_err());
}

#[test]
fn non_finite_floats_do_not_encode() {
    assert!(encode(&Term::Float(f64::NAN)).is_err());
    assert!(encode(&Term::Float(f64::INFINITY)).is_err());
}
