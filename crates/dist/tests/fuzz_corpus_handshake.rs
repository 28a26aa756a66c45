//! Replays the seeds of the `dist_handshake` fuzz target (fuzz/corpus/dist_handshake)
//! through `handshake::replay`, as the fuzzer would, so that `cargo test` runs them
//! without a nightly toolchain. Seeds named `valid-*` must complete the handshake; seeds
//! named `bad-*` must fail with an error; none may panic or stop half-way.

use beamlink_dist::handshake::replay::{replay, Replay};
use std::path::PathBuf;

#[test]
fn corpus_seeds_end_as_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/dist_handshake");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/dist_handshake exists") {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let data = std::fs::read(&path).expect("seed readable");
        match (replay(&data), name.starts_with("valid-")) {
            (Replay::Done(result), true) => {
                assert!(result.peer.node.ends_with("@h"), "{name}: {result:?}");
            }
            (Replay::Failed(e), false) => assert!(!e.to_string().is_empty(), "{name}"),
            (other, _) => panic!("{name}: unexpected {other:?}"),
        }
        seen += 1;
    }
    assert!(seen >= 20, "only {seen} seeds");
}

#[test]
fn every_prefix_of_every_seed_is_safe() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/dist_handshake");
    for entry in std::fs::read_dir(&dir).expect("corpus") {
        let data = std::fs::read(entry.expect("entry").path()).expect("seed");
        for n in 0..data.len() {
            let _ = replay(&data[..n]);
            // Flip each byte too: the machines must refuse or go on, never panic.
            let mut flipped = data.clone();
            flipped[n] ^= 0xff;
            let _ = replay(&flipped);
        }
    }
}
