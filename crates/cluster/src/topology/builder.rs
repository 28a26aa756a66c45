//! One call from sources to a running loop: what a Rust service uses to keep its node in a
//! cluster.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::{spawn, TopologyConfig, TopologyHandle};
use crate::join::Cluster;
use crate::node_membership::NodeMembership;
use crate::resolver::{Resolver, ResolverConfigError};
use crate::strategy::{Source, Strategy};
use crate::{Membership, NodeName};

/// Builds and starts a topology loop from [`Source`]s (or ready strategies).
///
/// ```no_run
/// # async fn demo<M: beamlink_cluster::Membership>(node: std::sync::Arc<M>) -> Result<(), Box<dyn std::error::Error>> {
/// use beamlink_cluster::{strategy::Source, topology::Topology};
/// let handle = Topology::builder()
///     .source(Source::kubernetes_dns("myapp-headless", "myapp"))
///     .interval(std::time::Duration::from_secs(5))
///     .this_node("beamlink@10.1.2.3".parse()?)
///     .spawn(node)?;
/// # handle.shutdown().await; Ok(()) }
/// ```
#[derive(Default)]
pub struct TopologyBuilder {
    sources: Vec<Source>,
    strategies: Vec<Arc<dyn Strategy>>,
    config: TopologyConfig,
    resolver: Option<Arc<Resolver>>,
    nameserver: Option<SocketAddr>,
}

/// The entry point: `Topology::builder()`.
pub struct Topology;

impl Topology {
    /// A builder with libcluster's defaults (5 s interval) and no sources.
    pub fn builder() -> TopologyBuilder {
        TopologyBuilder::default()
    }
}

impl TopologyBuilder {
    /// Adds a source.
    pub fn source(mut self, source: Source) -> Self {
        self.sources.push(source);
        self
    }
    /// Adds a strategy of your own.
    pub fn strategy(mut self, strategy: Arc<dyn Strategy>) -> Self {
        self.strategies.push(strategy);
        self
    }
    /// Time between polls (default 5 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.config.interval = interval;
        self
    }
    /// This node's own name, never connected to.
    pub fn this_node(mut self, node: NodeName) -> Self {
        self.config.this_node = Some(node);
        self
    }
    /// Disconnect nodes that vanish from every source (default true).
    pub fn prune(mut self, prune: bool) -> Self {
        self.config.prune = prune;
        self
    }
    /// Replaces the whole configuration (the sources stay).
    pub fn config(mut self, config: TopologyConfig) -> Self {
        self.config = config;
        self
    }
    /// Ask this nameserver instead of those in `/etc/resolv.conf` (search list kept).
    pub fn nameserver(mut self, addr: SocketAddr) -> Self {
        self.nameserver = Some(addr);
        self
    }
    /// Use this resolver for DNS sources.
    pub fn resolver(mut self, resolver: Arc<Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Builds the strategies (reading resolv.conf only if a source asks DNS) and starts the
    /// loop on the current tokio runtime.
    pub fn spawn<M: Membership>(self, membership: Arc<M>) -> Result<TopologyHandle, ResolverConfigError> {
        let resolver = match (&self.resolver, self.sources.iter().any(Source::uses_dns)) {
            (Some(r), _) => Some(r.clone()),
            (None, true) => Some(Arc::new(Resolver::system(self.nameserver)?)),
            (None, false) => None,
        };
        let mut strategies = self.strategies;
        for s in &self.sources {
            strategies.push(s.strategy(resolver.as_ref()));
        }
        Ok(spawn(membership, strategies, self.config))
    }

    /// Keeps `node` in the cluster: starts the loop with `node` as the [`Membership`]
    /// (and as this node, unless [`TopologyBuilder::this_node`] said otherwise). Call it
    /// inside the tokio runtime the node runs on.
    pub fn join(mut self, node: &beamlink::Node) -> Result<Cluster, ResolverConfigError> {
        let membership = NodeMembership::new(node.clone());
        if self.config.this_node.is_none() {
            self.config.this_node = membership.this_node();
        }
        let handle = self.spawn(Arc::new(membership.clone()))?;
        Ok(Cluster::new(handle, membership))
    }
}
