//! `beamlink rpc NODE MODULE FUNCTION [ARG...]`: `rpc:call/5` from the command line.

use beamlink::{RpcError, Term};

use crate::args::{Common, RpcArgs};
use crate::exit::{self, Failure};

/// Runs the command: 0 with the value printed, 1 for `{badrpc, _}` or an unreachable
/// node, 2 for a malformed argument.
pub fn run(args: RpcArgs, common: &Common) -> i32 {
    let call_args = match parse_args(&args.args) {
        Ok(a) => a,
        Err(f) => return f.report("rpc"),
    };
    let runtime = match super::runtime("rpc") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let node = super::open(common, &args.node).await?;
        node.rpc(
            &args.node,
            &args.module,
            &args.function,
            call_args,
            common.timeout,
        )
        .await
        .map_err(|e| badrpc(&args, e))
    });
    match result {
        Ok(v) => {
            super::print_value(&v, common.format, args.elixir);
            exit::OK
        }
        Err(f) => f.report("rpc"),
    }
}

/// Each argument parsed as one Erlang term; the first malformed one is a usage error
/// naming its position.
pub(crate) fn parse_args(texts: &[String]) -> Result<Vec<Term>, Failure> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            beamlink_term::text::parse(t).map_err(|e| {
                Failure::usage(format!(
                    "argument {} ({t:?}) is not an Erlang term: {e}; quote strings as \"...\" \
                     and atoms with capitals as '...'",
                    i + 1
                ))
            })
        })
        .collect()
}

fn badrpc(args: &RpcArgs, e: RpcError) -> Failure {
    let call = format!("{}:{}/{}", args.module, args.function, args.args.len());
    match e {
        RpcError::Timeout => Failure::failed(format!(
            "{call} on {}: {{badrpc, timeout}}: no answer within the timeout (--timeout)",
            args.node
        )),
        RpcError::NodeDown(_) => Failure::failed(format!(
            "{call} on {}: {{badrpc, nodedown}}: the connection went down",
            args.node
        )),
        RpcError::Exit(x) => Failure::failed(format!("{call} on {}: {{badrpc, {{'EXIT', {x}}}}}", args.node)),
        RpcError::BadRpc(r) => Failure::failed(format!("{call} on {}: {{badrpc, {r}}}", args.node)),
    }
}
