//! Replays the seeds of the `dist_frame` fuzz target (fuzz/corpus/dist_frame) through
//! the frame decoder, as the fuzzer would, so that `cargo test` exercises them without a
//! nightly toolchain. A seed is a stream of 4-byte-length packets as a peer writes them
//! after the handshake. Seeds named `valid-*` must decode completely without error; seeds
//! named `bad-*` must be refused with an error; no seed may panic.

use beamlink_dist::{FrameDecoder, FrameEncoder, FrameError, FrameLimits, Message};
use bytes::Bytes;
use std::path::PathBuf;

/// What one seed gave: the messages, or the first error.
fn replay(data: &[u8]) -> Result<Vec<Message>, FrameError> {
    let mut decoder = FrameDecoder::new(FrameLimits::default());
    let mut messages = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        if frame.is_empty() {
            continue;
        }
        if let Some(m) = decoder.decode(Bytes::copy_from_slice(frame))? {
            messages.push(m);
        }
    }
    assert!(rest.is_empty(), "seed ends with {} stray bytes", rest.len());
    Ok(messages)
}

#[test]
fn corpus_seeds_decode_as_named() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/dist_frame");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/corpus/dist_frame exists") {
        let path = entry.expect("directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let data = std::fs::read(&path).expect("seed readable");
        let result = replay(&data);
        if name.starts_with("valid-") {
            let messages = result.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!messages.is_empty(), "{name}: no message");
            // Each message survives re-encoding, whole and fragmented.
            for m in &messages {
                for fragment_size in [0, 7] {
                    let packets = FrameEncoder::new(0x2000 | 0x80_0000, fragment_size)
                        .encode(m)
                        .unwrap();
                    let mut d = FrameDecoder::new(FrameLimits::default());
                    let mut out = None;
                    for p in packets {
                        out = d.decode(p.slice(4..)).unwrap();
                    }
                    assert_eq!(out.as_ref(), Some(m), "{name}");
                }
            }
        } else if name.starts_with("bad-") {
            assert!(result.is_err(), "{name} decoded: {result:?}");
        }
        seen += 1;
    }
    assert!(seen >= 5, "only {seen} seeds in {}", dir.display());
}
