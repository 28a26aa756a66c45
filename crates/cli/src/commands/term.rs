//! `beamlink term`: converts one term between the External Term Format (`term_to_binary`
//! bytes) and Erlang's text syntax, stdin to stdout.
//!
//! Bad input exits with status 1 and one line on stderr that names the byte offset; the
//! decoders never panic, so neither does the command.

use crate::args::{TermArgs, TermFormat};
use crate::exit;
use beamlink_term::{etf, text, Term};
use std::io::{Read, Write};

/// Runs the command; returns the exit status.
pub fn run(args: TermArgs) -> i32 {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut input) {
        return fail(&format!("cannot read stdin: {e}"));
    }
    let term = match read_term(&input, args.from) {
        Ok(t) => t,
        Err(msg) => return fail(&msg),
    };
    let out = match write_term(&term, args.to) {
        Ok(o) => o,
        Err(msg) => return fail(&msg),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&out).and_then(|_| stdout.flush()) {
        Ok(()) => exit::OK,
        Err(e) => fail(&format!("cannot write stdout: {e}")),
    }
}

/// The term in `input`, or a one-line reason with the byte offset.
fn read_term(input: &[u8], from: TermFormat) -> Result<Term, String> {
    match from {
        TermFormat::Etf => etf::decode(input).map_err(|e| e.to_string()),
        TermFormat::Text => {
            let s = std::str::from_utf8(input).map_err(|e| {
                format!(
                    "invalid Erlang term at byte {}: the text is not valid UTF-8",
                    e.valid_up_to()
                )
            })?;
            text::parse(s).map_err(|e| e.to_string())
        }
    }
}

fn write_term(term: &Term, to: TermFormat) -> Result<Vec<u8>, String> {
    match to {
        TermFormat::Etf => etf::encode(term).map_err(|e| format!("cannot encode the term: {e}")),
        TermFormat::Text => Ok(format!("{term}\n").into_bytes()),
    }
}

fn fail(msg: &str) -> i32 {
    // One line, whatever the message holds.
    let line: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    eprintln!("beamlink term: {line}");
    exit::FAILED
}
