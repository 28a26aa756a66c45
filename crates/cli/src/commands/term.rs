//! `beamlink term`. PLACEHOLDER until its issue lands.

use crate::args::TermArgs;
use crate::exit;

pub fn run(args: TermArgs) -> i32 {
    let _ = args;
    eprintln!("beamlink term: not implemented yet");
    exit::USAGE
}
