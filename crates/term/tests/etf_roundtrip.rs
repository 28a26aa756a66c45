//! Property tests: every term survives encode then decode unchanged.

mod common;

use beamlink_term::etf::{decode, encode, encode_chunks, encode_compressed, Decoder, EncodeChunks};
use bytes::Bytes;
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_gives_the_same_term(t in arb_term()) {
        let bytes = encode(&t).expect("data terms encode");
        let back = decode(&bytes).expect("our own encoding decodes");
        prop_assert_eq!(&back, &t);
        // Equal terms must encode identically (the encoding is canonical for a value).
        prop_assert_eq!(encode(&back).expect("re-encode"), bytes);
    }

    #[test]
    fn compressed_encoding_decodes_to_the_same_term(t in arb_term(), level in 0u32..=9) {
        let bytes = encode_compressed(&t, level).expect("data terms encode");
        prop_assert_eq!(decode(&bytes).expect("decodes"), t);
    }

    #[test]
    fn chunked_encoding_concatenates_to_the_plain_encoding(t in arb_term(), threshold in 0usize..64) {
        let plain = encode(&t).expect("data terms encode");
        let mut c = EncodeChunks::with_threshold(threshold);
        encode_chunks(&t, &mut c).expect("data terms encode in chunks");
        prop_assert_eq!(c.len(), plain.len());
        let chunks = c.into_chunks();
        prop_assert!(chunks.iter().all(|c| !c.is_empty()));
        prop_assert_eq!(chunks.concat(), plain);
    }

    #[test]
    fn terms_decode_one_after_another_from_one_buffer(a in arb_term(), b in arb_term()) {
        let mut buf = encode(&a).expect("encode a");
        let first_len = buf.len();
        buf.extend(encode(&b).expect("encode b"));
        let mut d = Decoder::new(Bytes::from(buf));
        prop_assert_eq!(d.term().expect("first"), a);
        prop_assert_eq!(d.position(), first_len);
        prop_assert_eq!(d.term().expect("second"), b);
        prop_assert_eq!(d.remaining(), 0);
    }
}
