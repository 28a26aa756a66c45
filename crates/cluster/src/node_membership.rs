//! The beamlink node as the topology loop drives it: [`Membership`] for [`beamlink::Node`].
//!
//! Converts between the loop's vocabulary ([`NodeName`], [`NodeEvent`]) and the node's
//! ([`beamlink::Atom`], [`beamlink::NodeEvent`]). Node names the loop cannot hold (not
//! `name@host`) are left out of what it sees: it never asked for them.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::membership::{ConnectError, Membership, NodeEvent};
use crate::NodeName;

/// A [`beamlink::Node`] seen through [`Membership`].
///
/// Creating it starts one task that translates the node's up/down events; it ends when the
/// node is dropped. Cloning shares that task.
#[derive(Clone)]
pub struct NodeMembership {
    node: beamlink::Node,
    events: broadcast::Sender<NodeEvent>,
    connect_timeout: Duration,
    disconnect_timeout: Duration,
}

/// A connection attempt that took longer than the configured bound.
#[derive(Debug, thiserror::Error)]
#[error("connecting to {node} took longer than {after:?}: is it reachable and its EPMD running?")]
pub struct ConnectTimeout {
    /// The node.
    pub node: NodeName,
    /// The bound.
    pub after: Duration,
}

/// The node's event, in the loop's terms; `None` for a name the loop cannot hold.
pub fn convert_event(ev: beamlink::NodeEvent) -> Option<NodeEvent> {
    match ev {
        beamlink::NodeEvent::Up { node, .. } => NodeName::parse(node.as_str()).ok().map(NodeEvent::Up),
        beamlink::NodeEvent::Down { node, reason } => NodeName::parse(node.as_str())
            .ok()
            .map(|node| NodeEvent::Down { node, reason }),
    }
}

impl NodeMembership {
    /// Wraps `node`. Must be called inside a tokio runtime (it spawns the event task).
    /// Connection attempts are bounded by 10 s (see [`NodeMembership::connect_timeout`]).
    pub fn new(node: beamlink::Node) -> NodeMembership {
        let (events, _) = broadcast::channel(1024);
        let mut from_node = node.monitor_nodes();
        let to_loop = events.clone();
        tokio::spawn(async move {
            loop {
                match from_node.recv().await {
                    Ok(ev) => {
                        if let Some(ev) = convert_event(ev) {
                            let _ = to_loop.send(ev);
                        }
                    }
                    // The loop compares with `connected()` at every poll: a missed event
                    // is caught there.
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!("the node's event queue overflowed; {n} events left to the next poll")
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        NodeMembership {
            node,
            events,
            connect_timeout: Duration::from_secs(10),
            disconnect_timeout: Duration::from_secs(5),
        }
    }

    /// Bounds each connection attempt (EPMD lookup and handshake together).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// The node.
    pub fn node(&self) -> &beamlink::Node {
        &self.node
    }

    /// The node's own name as the loop spells it, if it is a `name@host`.
    pub fn this_node(&self) -> Option<NodeName> {
        NodeName::parse(self.node.name().as_str()).ok()
    }
}

impl Membership for NodeMembership {
    async fn connect(&self, node: &NodeName) -> Result<(), ConnectError> {
        match tokio::time::timeout(self.connect_timeout, self.node.connect(node.as_str())).await {
            Ok(r) => r.map_err(|e| Box::new(e) as ConnectError),
            Err(_) => Err(Box::new(ConnectTimeout {
                node: node.clone(),
                after: self.connect_timeout,
            })),
        }
    }

    async fn disconnect(&self, node: &NodeName) {
        let mut events = self.node.monitor_nodes();
        if !self.node.disconnect(node.as_str()).await {
            return;
        }
        // `disconnect` returns once the close is queued; wait for the connection to be gone.
        let gone = async {
            while self.node.is_connected(node.as_str()) {
                match events.recv().await {
                    Ok(beamlink::NodeEvent::Down { node: n, .. }) if n.as_str() == node.as_str() => return,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        if tokio::time::timeout(self.disconnect_timeout, gone).await.is_err() {
            tracing::warn!(node = %node, "the connection did not close within {:?}", self.disconnect_timeout);
        }
    }

    fn connected(&self) -> BTreeSet<NodeName> {
        self.node
            .nodes()
            .into_iter()
            .chain(self.node.nodes_hidden())
            .filter_map(|a| NodeName::parse(a.as_str()).ok())
            .collect()
    }

    fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink::Atom;

    #[test]
    fn events_are_translated_and_odd_names_left_out() {
        let up = beamlink::NodeEvent::Up {
            node: Atom::new("app@10.0.0.1"),
            hidden: false,
        };
        assert_eq!(
            convert_event(up),
            Some(NodeEvent::Up("app@10.0.0.1".parse().unwrap()))
        );
        let down = beamlink::NodeEvent::Down {
            node: Atom::new("app@fd00::1"),
            reason: "connection_closed".into(),
        };
        assert_eq!(
            convert_event(down),
            Some(NodeEvent::Down {
                node: "app@fd00::1".parse().unwrap(),
                reason: "connection_closed".into()
            })
        );
        let odd = beamlink::NodeEvent::Up {
            node: Atom::new("nohost"),
            hidden: true,
        };
        assert_eq!(convert_event(odd), None);
    }
}
