//! Runs every file of the fuzz corpus (fuzz/corpus/etf_decode) through the decoder, so
//! CI exercises what the fuzzer found interesting without running the fuzzer.

use beamlink_term::etf::{decode, encode, Decoder};
use bytes::Bytes;
use std::path::Path;

#[test]
fn every_fuzz_corpus_file_decodes_or_fails_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/etf_decode");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if let Ok(t) = decode(&bytes) {
            // What decodes must encode and decode to the same term.
            if let Ok(again) = encode(&t) {
                assert_eq!(decode(&again).as_ref(), Ok(&t), "{}", path.display());
            }
        }
        let mut d = Decoder::new(Bytes::from(bytes));
        while d.remaining() > 0 && d.term_body().is_ok() {}
        n += 1;
    }
    assert!(
        n >= 5,
        "expected the seed corpus in {}, found {n} files",
        dir.display()
    );
}
