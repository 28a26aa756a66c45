//! Runs every file of the text fuzz corpus (fuzz/corpus/text_parse) through the fuzz
//! target's property, so `cargo test` covers it without the fuzzer: parsing never panics,
//! and whatever parses prints as text that reads back to the same term.

use beamlink_term::text::parse;
use std::path::Path;

#[test]
fn every_text_corpus_file_reads_back_or_fails_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/text_parse");
    let mut parsed = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let bytes = std::fs::read(&path).expect("a corpus file");
        files += 1;
        let Ok(s) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match parse(s) {
            Ok(t) => {
                parsed += 1;
                let printed = t.to_string();
                assert_eq!(
                    parse(&printed).as_ref(),
                    Ok(&t),
                    "{} printed as {printed}",
                    path.display()
                );
            }
            Err(e) => assert!(e.offset <= s.len(), "{}: {e}", path.display()),
        }
    }
    assert!(
        files >= 10 && parsed >= 10,
        "expected the seed corpus in {}, found {files} files",
        dir.display()
    );
}
