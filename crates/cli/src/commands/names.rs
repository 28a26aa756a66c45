//! `beamlink names`. PLACEHOLDER until its issue lands.

use crate::args::NamesArgs;
use crate::exit;

pub fn run(args: NamesArgs) -> i32 {
    let _ = args;
    eprintln!("beamlink names: not implemented yet");
    exit::USAGE
}
