//! The topology loop's counters and the node's traffic in the Prometheus text format
//! (OpenMetrics 1.0, which Prometheus scrapes natively), read fresh at every scrape.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `beamlink_cluster_polls_total` | counter | polls of every source |
//! | `beamlink_cluster_discovered_total` | counter | nodes that appeared in the desired set |
//! | `beamlink_cluster_vanished_total` | counter | nodes that left it |
//! | `beamlink_cluster_connected_total` | counter | connections established to desired nodes |
//! | `beamlink_cluster_lost_total` | counter | connections to desired nodes that went down |
//! | `beamlink_cluster_reconnect_attempts_total` | counter | attempts after the first to a node |
//! | `beamlink_cluster_connect_failures_total` | counter | failed connection attempts |
//! | `beamlink_cluster_disconnected_total` | counter | disconnections the loop asked for |
//! | `beamlink_cluster_lookup_failures_total` | counter | failed lookups of a source |
//! | `beamlink_cluster_empty_lookups_total` | counter | lookups that found no nodes |
//! | `beamlink_cluster_desired_nodes` | gauge | nodes wanted now |
//! | `beamlink_cluster_connected_nodes` | gauge | wanted nodes connected now |
//! | `beamlink_cluster_ready` | gauge | 1 when `/readyz` answers 200 |
//! | `beamlink_tick_timeouts_total` | counter | connections dropped for silence (net_ticktime) |
//! | `beamlink_peer_messages_in_total{node}` | counter | messages received from a peer |
//! | `beamlink_peer_messages_out_total{node}` | counter | messages sent to a peer |
//! | `beamlink_peer_bytes_in_total{node}` | counter | bytes received from a peer |
//! | `beamlink_peer_bytes_out_total{node}` | counter | bytes sent to a peer |
//!
//! Per-peer counters exist while the connection is up and start from zero when it is set
//! up again (a counter reset).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::topology::TopologyView;

/// The content type of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a scrape reads: the loop's view, optionally the node, and the readiness rule.
#[derive(Clone)]
pub struct MetricsSource {
    /// The loop.
    pub view: TopologyView,
    /// The node, for per-peer traffic and tick timeouts.
    pub node: Option<beamlink::Node>,
    /// The readiness rule of `/readyz` (see [`crate::TopologyStatus::is_ready`]).
    pub min_ready: Option<usize>,
}

impl std::fmt::Debug for MetricsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSource")
            .field("node", &self.node.as_ref().map(|n| n.name().as_str().to_string()))
            .field("min_ready", &self.min_ready)
            .finish()
    }
}

/// Renders every metric now, in the OpenMetrics text format (ends with `# EOF`).
pub fn encode(source: &MetricsSource) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(source.clone()));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
    out
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for MetricsSource {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let c = self.view.counters();
        let ready = self.view.status().is_ready(self.min_ready);
        let loop_counters = [
            ("beamlink_cluster_polls", "Polls of every source", c.polls),
            (
                "beamlink_cluster_discovered",
                "Nodes that appeared in the desired set",
                c.discovered,
            ),
            (
                "beamlink_cluster_vanished",
                "Nodes that vanished from every source",
                c.vanished,
            ),
            (
                "beamlink_cluster_connected",
                "Connections established to desired nodes",
                c.connected,
            ),
            (
                "beamlink_cluster_lost",
                "Connections to desired nodes that went down unasked",
                c.lost,
            ),
            (
                "beamlink_cluster_reconnect_attempts",
                "Connection attempts after the first one to a node",
                c.reconnect_attempts,
            ),
            (
                "beamlink_cluster_connect_failures",
                "Connection attempts that failed",
                c.connect_failures,
            ),
            (
                "beamlink_cluster_disconnected",
                "Disconnections asked by the loop",
                c.disconnected,
            ),
            (
                "beamlink_cluster_lookup_failures",
                "Lookups of a source that failed",
                c.lookup_failures,
            ),
            (
                "beamlink_cluster_empty_lookups",
                "Lookups of a source that found no nodes",
                c.empty_lookups,
            ),
        ];
        for (name, help, v) in loop_counters {
            counter(&mut e, name, help, v)?;
        }
        gauge(
            &mut e,
            "beamlink_cluster_desired_nodes",
            "Nodes in the desired set now",
            c.desired_nodes,
        )?;
        gauge(
            &mut e,
            "beamlink_cluster_connected_nodes",
            "Desired nodes connected now",
            c.connected_nodes,
        )?;
        gauge(
            &mut e,
            "beamlink_cluster_ready",
            "1 when ready (every desired node connected, or the minimum)",
            u64::from(ready),
        )?;
        let Some(node) = &self.node else {
            return Ok(());
        };
        counter(
            &mut e,
            "beamlink_tick_timeouts",
            "Connections declared down because the peer sent nothing for net_ticktime",
            node.tick_timeouts(),
        )?;
        let mut peers = node.peer_stats();
        peers.sort_by(|a, b| a.node.as_str().cmp(b.node.as_str()));
        type Pick = fn(&beamlink::ConnectionStats) -> u64;
        let per_peer: [(&str, &str, Pick); 4] = [
            (
                "beamlink_peer_messages_in",
                "Messages received from the peer on this connection",
                |s| s.messages_in,
            ),
            (
                "beamlink_peer_messages_out",
                "Messages sent to the peer on this connection",
                |s| s.messages_out,
            ),
            (
                "beamlink_peer_bytes_in",
                "Bytes received from the peer on this connection",
                |s| s.bytes_in,
            ),
            (
                "beamlink_peer_bytes_out",
                "Bytes sent to the peer on this connection",
                |s| s.bytes_out,
            ),
        ];
        for (name, help, pick) in per_peer {
            let probe = ConstCounter::new(0u64);
            let mut family = e.encode_descriptor(name, help, None, probe.metric_type())?;
            for p in &peers {
                let labels = [("node", p.node.as_str().to_string())];
                ConstCounter::new(pick(&p.stats)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
