//! Fuzz target for the distribution frame decoder: the input is what a peer writes on a
//! connection after the handshake, a stream of packets each with its 4-byte length
//! (zero-length packets are ticks). Nothing may panic; every message that decodes must
//! survive re-encoding (whole and in fragments) unchanged.
#![no_main]

use beamlink_dist::{FrameDecoder, FrameEncoder, FrameLimits};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// DIST_HDR_ATOM_CACHE | FRAGMENTS.
const PEER_FLAGS: u64 = 0x2000 | 0x80_0000;

fuzz_target!(|data: &[u8]| {
    let limits = FrameLimits {
        max_message_size: 1 << 20,
        max_fragmented_in_flight: 16,
        max_buffered_bytes: 4 << 20,
        ..FrameLimits::default()
    };
    let mut decoder = FrameDecoder::new(limits);
    let mut rest = data;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        let (frame, tail) = rest.split_at(len.min(rest.len()));
        rest = tail;
        if frame.is_empty() {
            continue;
        }
        let Ok(Some(msg)) = decoder.decode(Bytes::copy_from_slice(frame)) else { continue };
        for fragment_size in [0, 7] {
            let Ok(packets) = FrameEncoder::new(PEER_FLAGS, fragment_size).encode(&msg) else { continue };
            let mut again = FrameDecoder::new(FrameLimits::default());
            let mut out = None;
            for p in packets {
                out = again.decode(p.slice(4..)).expect("re-encoded message decodes");
            }
            assert_eq!(out.as_ref(), Some(&msg));
        }
    }
});
