//! Property tests: no input makes the decoder panic, and memory stays bounded.

mod common;

use beamlink_term::etf::{decode, encode, Decoder};
use bytes::Bytes;
use common::*;
use proptest::prelude::*;

fn decode_all(bytes: &[u8]) {
    // Both entry points, and reading on after the first term.
    let _ = decode(bytes);
    let mut d = Decoder::new(Bytes::copy_from_slice(bytes));
    while d.remaining() > 0 && d.term_body().is_ok() {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut v = vec![131];
        v.extend_from_slice(&bytes);
        decode_all(&v);
        decode_all(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(
        t in arb_term(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut v = encode(&t).expect("data terms encode");
        for (i, b) in edits {
            let i = i.index(v.len());
            v[i] = b;
        }
        decode_all(&v);
        // And every prefix of it is an error, never a panic.
        let n = cut.index(v.len());
        let _ = decode(&v[..n]);
    }

    #[test]
    fn truncated_encodings_are_errors(t in arb_term(), cut in any::<prop::sample::Index>()) {
        let v = encode(&t).expect("data terms encode");
        let n = cut.index(v.len());
        prop_assert!(decode(&v[..n]).is_err());
    }
}
