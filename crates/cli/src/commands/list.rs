//! `beamlink list` (in progress).

use crate::args::{Common, ListArgs};

pub fn run(_args: ListArgs, _common: &Common) -> i32 {
    crate::exit::Failure::failed("not implemented yet").report("list")
}
