//! `beamlink send NODE NAME TERM`: `{NAME, NODE} ! TERM`.

use beamlink::{Atom, Dest};

use crate::args::{Common, SendArgs};
use crate::exit::{self, Failure};

/// Runs the command: 0 once the message has reached the peer (a `net_kernel` round trip
/// after the send proves it left), 1 when the node is unreachable, 2 for a malformed term.
pub fn run(args: SendArgs, common: &Common) -> i32 {
    let msg = match beamlink_term::text::parse(&args.term) {
        Ok(t) => t,
        Err(e) => {
            return Failure::usage(format!("the message is not an Erlang term: {e}")).report("send");
        }
    };
    if args.registered.is_empty() || args.registered.chars().count() > 255 {
        return Failure::usage("NAME must be a registered name of 1 to 255 characters").report("send");
    }
    let runtime = match super::runtime("send") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let result: Result<(), Failure> = runtime.block_on(async {
        let node = super::open(common, &args.node).await?;
        let mb = node.mailbox().map_err(|e| Failure::failed(e.to_string()))?;
        let dest = Dest::Remote {
            name: Atom::new(&args.registered),
            node: Atom::new(&args.node),
        };
        mb.send(dest, msg).map_err(|e| {
            Failure::failed(format!(
                "cannot send to {} on {}: {e}",
                args.registered, args.node
            ))
        })?;
        // Signals on one connection arrive in order: once this answers, the message is there.
        crate::reach::round_trip(&node, &args.node, common.timeout)
            .await
            .map_err(|e| Failure::failed(format!("the message may not have reached {}: {e}", args.node)))?;
        Ok(())
    });
    match result {
        Ok(()) => exit::OK,
        Err(f) => f.report("send"),
    }
}
