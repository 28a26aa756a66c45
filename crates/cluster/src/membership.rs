//! What the topology loop needs from a node: connect, disconnect, and hear about
//! connections coming and going. The node library implements it; the loop knows nothing else
//! about the node.

use std::collections::BTreeSet;
use std::future::Future;

use tokio::sync::broadcast;

use crate::NodeName;

/// A connection to a node came up or went down, like `net_kernel:monitor_nodes/1`'s
/// `nodeup` and `nodedown`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// Connected, by us or by the peer.
    Up(NodeName),
    /// The connection is gone: closed, reset, or the peer stopped answering ticks.
    Down {
        /// The node.
        node: NodeName,
        /// Why, in words (for logs and `/nodes`).
        reason: String,
    },
}

/// A connection attempt failed; says to whom and why (refused, cookies differ, timeout...).
pub type ConnectError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The node as the topology loop drives it.
///
/// The loop calls `connect` for nodes that appeared or dropped, `disconnect` for nodes that
/// vanished from every source, reads `connected` to catch events it missed, and listens to
/// `subscribe` to react to connections going down between polls.
pub trait Membership: Send + Sync + 'static {
    /// Connects to `node` (or does nothing if already connected). Resolves when the
    /// connection is up or has failed; the implementation bounds the time it takes.
    fn connect(&self, node: &NodeName) -> impl Future<Output = Result<(), ConnectError>> + Send;

    /// Closes the connection to `node`, if any. Resolves when it is closed.
    fn disconnect(&self, node: &NodeName) -> impl Future<Output = ()> + Send;

    /// The nodes connected now.
    fn connected(&self) -> BTreeSet<NodeName>;

    /// Connection events from now on.
    fn subscribe(&self) -> broadcast::Receiver<NodeEvent>;
}
