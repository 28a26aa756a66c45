//! The ETF decoder on arbitrary bytes: it must never panic, and whatever it decodes must
//! encode and decode back to the same term.
#![no_main]

use beamlink_term::etf::{decode, encode, Decoder};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = decode(data) {
        if let Ok(again) = encode(&t) {
            assert_eq!(decode(&again).as_ref(), Ok(&t));
        }
    }
    // As the distribution layer reads: terms without the version byte, one after another.
    let mut d = Decoder::new(Bytes::copy_from_slice(data));
    while d.remaining() > 0 && d.term_body().is_ok() {}
});
