//! Fuzz target for the handshake: the first byte chooses our role and the node layer's
//! answers, the rest is what the peer sends (2-byte-length packets). Nothing may panic,
//! and every handshake message that decodes must encode back to the same value (see
//! `beamlink_dist::handshake::replay`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = beamlink_dist::handshake::replay::replay(data);
});
