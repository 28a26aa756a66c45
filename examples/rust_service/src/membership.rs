//! The glue between the node library and the topology loop: a [`beamlink::Node`] as the
//! [`Membership`] that `beamlink-cluster` keeps connected to the cluster.

use std::collections::BTreeSet;
use std::time::Duration;

use beamlink::Node;
use beamlink_cluster::{ConnectError, Membership, NodeEvent, NodeName};
use tokio::sync::broadcast;

/// How long one connection attempt may take before the loop counts it as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A node driven by the topology loop: connects to what discovery finds, forwards the
/// node's up/down events to the loop.
pub struct NodeMembership {
    node: Node,
    events: broadcast::Sender<NodeEvent>,
}

impl NodeMembership {
    /// Wraps `node` and starts forwarding its connection events (on the current runtime).
    pub fn new(node: Node) -> NodeMembership {
        let (events, _) = broadcast::channel(256);
        let mut from_node = node.monitor_nodes();
        let to_loop = events.clone();
        tokio::spawn(async move {
            loop {
                let event = match from_node.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let translated = match event {
                    beamlink::NodeEvent::Up { node, .. } => {
                        NodeName::parse(node.as_str()).ok().map(NodeEvent::Up)
                    }
                    beamlink::NodeEvent::Down { node, reason } => NodeName::parse(node.as_str())
                        .ok()
                        .map(|node| NodeEvent::Down { node, reason }),
                };
                if let Some(e) = translated {
                    // No subscriber yet is fine: the loop reads `connected()` when it starts.
                    let _ = to_loop.send(e);
                }
            }
        });
        NodeMembership { node, events }
    }
}

impl Membership for NodeMembership {
    async fn connect(&self, node: &NodeName) -> Result<(), ConnectError> {
        match tokio::time::timeout(CONNECT_TIMEOUT, self.node.connect(node.as_str())).await {
            Ok(result) => result.map_err(|e| Box::new(e) as ConnectError),
            Err(_) => Err(format!("no connection to {node} within {CONNECT_TIMEOUT:?}").into()),
        }
    }

    async fn disconnect(&self, node: &NodeName) {
        self.node.disconnect(node.as_str()).await;
    }

    fn connected(&self) -> BTreeSet<NodeName> {
        let mut all = self.node.nodes();
        all.extend(self.node.nodes_hidden());
        all.iter()
            .filter_map(|a| NodeName::parse(a.as_str()).ok())
            .collect()
    }

    fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}
