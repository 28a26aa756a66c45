//! `beamlink rpc` (in progress).

use crate::args::{Common, RpcArgs};

pub fn run(_args: RpcArgs, _common: &Common) -> i32 {
    crate::exit::Failure::failed("not implemented yet").report("rpc")
}
