//! Replays the fuzz seeds in fuzz/corpus/epmd_request through the fuzz target's checks,
//! so that every seed (and any crash input added there) is a regression test.

use std::path::PathBuf;

#[test]
fn epmd_request_corpus_replays_without_panic() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/epmd_request");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        beamlink_epmd::protocol::check_request_bytes(&data);
        // Every prefix too: truncation is the commonest malformation on the wire.
        for cut in 0..data.len() {
            beamlink_epmd::protocol::check_request_bytes(&data[..cut]);
        }
        n += 1;
    }
    assert!(
        n >= 10,
        "expected the seed corpus in {}, found {n} files",
        dir.display()
    );
}
