//! `beamlink ping` (in progress).

use crate::args::{Common, PingArgs};

pub fn run(_args: PingArgs, _common: &Common) -> i32 {
    crate::exit::Failure::failed("not implemented yet").report("ping")
}
