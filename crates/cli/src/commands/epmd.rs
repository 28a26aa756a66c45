//! `beamlink epmd`. PLACEHOLDER until its issue lands.

use crate::args::EpmdArgs;
use crate::exit;

pub fn run(args: EpmdArgs) -> i32 {
    let _ = args;
    eprintln!("beamlink epmd: not implemented yet");
    exit::USAGE
}
