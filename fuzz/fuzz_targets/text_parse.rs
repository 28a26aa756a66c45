//! The text-syntax parser on arbitrary input: it must never panic, and whatever it reads
//! must print as text that reads back to the same term.
#![no_main]

use beamlink_term::text::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(t) = parse(s) {
        let printed = t.to_string();
        assert_eq!(parse(&printed).as_ref(), Ok(&t), "{printed}");
    }
});
