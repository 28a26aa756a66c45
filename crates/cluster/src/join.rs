//! A beamlink node kept in a cluster: what a Rust service uses to join its own node to an
//! Erlang/Elixir cluster with a discovery strategy.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use beamlink::Node;
//! use beamlink_cluster::{strategy::Source, topology::Topology};
//!
//! let node = Node::builder("svc@10.1.2.3").cookie_env("RELEASE_COOKIE").start().await?;
//! let cluster = Topology::builder()
//!     .source(Source::kubernetes_dns("myapp-headless", "myapp"))
//!     .join(&node)?;
//! // /healthz, /readyz, /metrics and /nodes on port 8080:
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! tokio::spawn(beamlink_cluster::http::serve(listener, cluster.http_state(None), std::future::pending()));
//! // ... the node is connected to every myapp@IP the Service lists, while they come and go.
//! cluster.shutdown().await; // disconnects cleanly
//! # Ok(()) }
//! ```

use crate::http::HttpState;
use crate::node_membership::NodeMembership;
use crate::topology::{TopologyEvent, TopologyHandle, TopologyStatus, TopologyView};
use crate::CountersSnapshot;

/// A running topology loop driving a [`beamlink::Node`]. Built by
/// [`crate::topology::TopologyBuilder::join`]. Dropping it stops the loop without
/// disconnecting; [`Cluster::shutdown`] disconnects every managed node first.
pub struct Cluster {
    handle: TopologyHandle,
    membership: NodeMembership,
}

impl Cluster {
    pub(crate) fn new(handle: TopologyHandle, membership: NodeMembership) -> Cluster {
        Cluster { handle, membership }
    }

    /// The node kept in the cluster.
    pub fn node(&self) -> &beamlink::Node {
        self.membership.node()
    }

    /// A read-only view of the loop, for readers (HTTP handlers, loggers).
    pub fn view(&self) -> TopologyView {
        self.handle.view()
    }

    /// The desired nodes and their states now.
    pub fn status(&self) -> TopologyStatus {
        self.handle.status()
    }

    /// The loop's counters now.
    pub fn counters(&self) -> CountersSnapshot {
        self.handle.counters()
    }

    /// Membership changes from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<TopologyEvent> {
        self.handle.subscribe()
    }

    /// Polls the sources now.
    pub fn poll_now(&self) {
        self.handle.poll_now()
    }

    /// The state for [`crate::http::serve`]: this loop and this node's traffic; ready when
    /// every desired node is connected, or `min_ready` of them when given.
    pub fn http_state(&self, min_ready: Option<usize>) -> HttpState {
        HttpState::new(self.view())
            .node(self.node().clone())
            .min_ready(min_ready)
    }

    /// Stops the loop and disconnects every node it manages; the node itself keeps
    /// running (call [`beamlink::Node::stop`] to end it too).
    pub async fn shutdown(self) {
        self.handle.shutdown().await
    }
}
