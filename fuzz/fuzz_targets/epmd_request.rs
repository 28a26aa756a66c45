//! Fuzz target: EPMD request (and response) decoding from untrusted bytes, as the server
//! and the client read them. Invariants: no panic, decoded requests re-encode byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    beamlink_epmd::protocol::check_request_bytes(data);
});
