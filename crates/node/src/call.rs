//! `gen_server:call/3` from Rust: [`Node::call`].
//!
//! Each call runs in a fresh process: it monitors the server, makes the monitor
//! reference an alias, sends `{'$gen_call', {Pid, [alias | Ref]}, Request}` and waits
//! for `{[alias | Ref], Reply}` or the monitor's `'DOWN'`. When the call returns, that
//! process ends: its alias and monitor go away, so a reply arriving after a timeout is
//! dropped by the node instead of lingering in some mailbox.

use crate::gen_server::alias_tag;
use crate::mailbox::is_down_for;
use crate::node::{Dest, Node};
use crate::RecvError;
use beamlink_term::{Atom, Term};
use std::time::Duration;

/// Why a call got no reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// No process is there (dead pid, or nothing registered under the name).
    #[error("no process {0} to call")]
    NoProc(String),
    /// The server's node is not reachable, or went down during the call.
    #[error("node {0} is down or unreachable")]
    NodeDown(String),
    /// No reply within the timeout.
    #[error("no reply within the timeout")]
    Timeout,
    /// The server ended with this reason before replying.
    #[error("the server exited with reason {0}")]
    Exit(Term),
}

impl Node {
    /// `gen_server:call(Dest, Request, Timeout)`: `Dest` is a pid, a local name, or
    /// `{Name, Node}`. Returns the reply, or why there was none.
    pub async fn call(
        &self,
        dest: impl Into<Dest>,
        request: Term,
        timeout: Duration,
    ) -> Result<Term, CallError> {
        let dest = dest.into();
        let mut mb = self
            .mailbox()
            .map_err(|e| CallError::Exit(Term::atom(&e.to_string())))?;
        let (reference, server_node, what) = match &dest {
            Dest::Pid(p) => (mb.monitor(p), p.node.clone(), format!("{p:?}")),
            Dest::Name(n) => (
                mb.monitor_name(n, self.name()),
                self.name().clone(),
                n.as_str().to_string(),
            ),
            Dest::Remote { name, node } => (
                mb.monitor_name(name, node),
                node.clone(),
                format!("{{{name}, {node}}}"),
            ),
            Dest::Alias(a) => {
                // An alias cannot be monitored: a call to one can only time out.
                (self.make_ref(), a.node.clone(), format!("{a:?}"))
            }
        };
        self.alias_existing(mb.process(), &reference);
        let tag = alias_tag(&reference);
        let from = Term::tuple(vec![Term::Pid(mb.pid().clone()), tag.clone()]);
        let msg = Term::tuple(vec![Term::atom("$gen_call"), from, request]);
        // A failed send fires the monitor (noconnection / noproc): the DOWN tells why.
        let _ = mb.send(dest, msg);
        let got = mb
            .recv_match(
                |m| match m.as_tuple() {
                    Some([t, _]) => *t == tag,
                    _ => is_down_for(m, &reference),
                },
                Some(timeout),
            )
            .await;
        match got {
            Ok(m) => match m.as_tuple() {
                Some([_, reply]) => Ok(reply.clone()),
                Some([_, _, _, _, reason]) => Err(down_error(reason, &server_node, what)),
                _ => Err(CallError::Exit(m)),
            },
            Err(RecvError::Timeout) => Err(CallError::Timeout),
            Err(RecvError::Exited(r)) => Err(CallError::Exit(r)),
        }
    }
}

fn down_error(reason: &Term, node: &Atom, what: String) -> CallError {
    if reason.is_atom("noproc") {
        CallError::NoProc(what)
    } else if reason.is_atom("noconnection") {
        CallError::NodeDown(node.as_str().to_string())
    } else {
        CallError::Exit(reason.clone())
    }
}
