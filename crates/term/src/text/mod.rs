//! Erlang's text syntax for terms: [`parse`] reads a literal such as
//! `{ok, [1,2], #{a => <<"x">>}}`; `Display` for [`Term`] prints one the way
//! `io_lib:format("~0tp", [T])` does on OTP 25 (default printable range, `latin1`).
//!
//! What is read: atoms (bare or `'quoted'`), integers of any size (`-42`, `16#ff`, `$a`,
//! `1_000`), floats (`-2.5e-3`), strings with every Erlang escape (`"\x{1F600}\n\^A"`,
//! adjacent strings joined), binaries (`<<1,2:3>>`, `<<"é"/utf8>>`), tuples, proper and
//! improper lists, maps (later duplicate keys win), `fun m:f/2`, and beamlink's forms for
//! pids, ports and references (`<'node@host'.80.0>`, `#Port<'node@host'.7>`,
//! `#Ref<'node@host'.3.2.1>`: Erlang's own `<0.80.0>` names the node by a local table
//! index, so beamlink writes the node name instead). A trailing `.`, whitespace and `%`
//! comments are allowed.
//!
//! Printing and reading agree: for every data term `t` (no pids, ports, references or
//! funs), `parse(&t.to_string()) == Ok(t)`. Pids, ports and references print without
//! their creation, which reads back as 0. Local funs print as `#Fun<m.index.uniq>` and do
//! not read back.
//!
//! Limits, each with its own error: nesting deeper than [`MAX_DEPTH`], integer literals
//! longer than [`MAX_INTEGER_DIGITS`] digits, atoms longer than 255 characters, and binary
//! segment sizes that would expand the input more than [`BINARY_EXPANSION`] bits per byte.

mod bits;
mod float;
mod lex;
mod parse;
mod print;

use crate::Term;
use std::fmt;

pub use lex::MAX_INTEGER_DIGITS;
pub use parse::{BINARY_EXPANSION, MAX_DEPTH};

/// Why a literal did not parse, and where: `offset` is the byte offset in the input where
/// the offending token starts, `reason` says what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid Erlang term at byte {offset}: {reason}")]
pub struct ParseError {
    /// Byte offset in the input of the token (or character) that could not be read.
    pub offset: usize,
    /// What was expected and what was found, in words.
    pub reason: String,
}

/// Parses one term literal (a trailing `.` is allowed). Never panics; time and memory are
/// linear in the input within the documented limits.
pub fn parse(input: &str) -> Result<Term, ParseError> {
    parse::Parser::new(input).parse_all()
}

/// Writes an atom in Erlang syntax, quoted exactly when `io_lib` quotes it.
pub(crate) fn write_atom(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    print::write_atom(f, name)
}

impl fmt::Display for Term {
    /// Erlang syntax as `io_lib:format("~0tp", [T])` prints it (OTP 25, `latin1` printable
    /// range): strings and binaries as text when every character is printable, maps with
    /// their keys in the order Erlang prints a small map's keys, floats in their shortest
    /// exact form. Never recurses, so any term prints.
    ///
    /// One known difference: Erlang prints a map of more than 32 keys in the order of its
    /// internal hash; beamlink prints every map in the small-map order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        print::write_term(f, self)
    }
}
