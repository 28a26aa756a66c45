//! Traffic counters of the node's connections, for metrics (`/metrics` in `beamlink join`).

use crate::node::Node;
use beamlink_term::Atom;

pub use beamlink_dist::Stats as ConnectionStats;

/// The counters of one connection that is up.
///
/// They count from the moment the connection was set up: a reconnected peer starts again
/// from zero (a counter reset, as Prometheus understands it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    /// The peer.
    pub node: Atom,
    /// Whether the peer is a hidden node.
    pub hidden: bool,
    /// Messages, bytes and ticks in and out on this connection.
    pub stats: ConnectionStats,
}

impl Node {
    /// The counters of every connection that is up, in no particular order.
    pub fn peer_stats(&self) -> Vec<PeerStats> {
        self.inner
            .connections
            .peer_stats()
            .into_iter()
            .map(|(node, hidden, stats)| PeerStats { node, hidden, stats })
            .collect()
    }

    /// How many connections were declared down because the peer sent nothing for
    /// `net_ticktime` (frozen, overloaded or unreachable), since the node started.
    pub fn tick_timeouts(&self) -> u64 {
        self.inner.connections.tick_timeouts()
    }
}
