//! `beamlink eval` (in progress).

use crate::args::{Common, EvalArgs};

pub fn run(_args: EvalArgs, _common: &Common) -> i32 {
    crate::exit::Failure::failed("not implemented yet").report("eval")
}
