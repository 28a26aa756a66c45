//! The node's connections to its peers: at most one per peer, by node name.
//!
//! Phase 1 placeholder: no connection exists yet, so every signal for another node
//! fails as a failed auto-connect does.

use crate::error::Error;
use crate::node::Node;
use crate::outgoing::Outgoing;
use beamlink_term::Atom;

/// The connections of one node.
#[derive(Debug, Default)]
pub(crate) struct Connections {}

impl Connections {
    pub fn new() -> Connections {
        Connections::default()
    }

    /// Queues `signal` on the connection to `node`, connecting first when `connect`
    /// allows. Never blocks; never called with a process lock held.
    pub fn dispatch(
        &self,
        _node_ref: &Node,
        node: &Atom,
        signal: Outgoing,
        connect: bool,
    ) -> Result<(), Error> {
        let _ = (signal, connect);
        Err(Error::NotConnected {
            node: node.to_string(),
        })
    }

    /// Queues an already built message on the connection to `node`, if there is one.
    pub fn send_raw(&self, node: &Atom, msg: beamlink_dist::Message) {
        let _ = (node, msg);
    }
}
