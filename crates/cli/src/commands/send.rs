//! `beamlink send` (in progress).

use crate::args::{Common, SendArgs};

pub fn run(_args: SendArgs, _common: &Common) -> i32 {
    crate::exit::Failure::failed("not implemented yet").report("send")
}
