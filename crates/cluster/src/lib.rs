//! Cluster discovery and topology: find the nodes of an Erlang/Elixir cluster the way
//! libcluster does, and keep a node connected to them while they come and go.
//!
//! * [`strategy`]: where node names come from (Kubernetes DNS A/AAAA and SRV, DNS poll,
//!   EPMD hosts and `.hosts.erlang`, a static list), each building names exactly as
//!   libcluster builds them.
//! * [`Resolver`]: DNS configured from `/etc/resolv.conf` (search list, ndots), with an
//!   optional nameserver override; no cache; "no records" is not an error.
//! * [`topology`]: the loop that polls the sources and drives a [`Membership`] (connect,
//!   disconnect, connection events), with backoff, events and [`Counters`].
//!
//! * [`Cluster`]: a [`beamlink::Node`] kept in a cluster
//!   ([`topology::TopologyBuilder::join`]), through [`NodeMembership`]; [`http`] serves
//!   `/healthz`, `/readyz`, `/metrics` ([`prometheus`]) and `/nodes` for it.
//!
//! A Rust service joins its own node in a few lines:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use beamlink_cluster::{strategy::Source, topology::Topology};
//! let node = beamlink::Node::builder("svc@10.1.2.3").cookie_env("RELEASE_COOKIE").start().await?;
//! let cluster = Topology::builder()
//!     .source(Source::kubernetes_dns("myapp-headless", "myapp"))
//!     .join(&node)?;
//! # cluster.shutdown().await; Ok(()) }
//! ```
//!
//! The loop knows nothing of the node's internals: anything that implements
//! [`Membership`] can be kept in a cluster. [`topology::Topology::builder`] starts it from
//! [`strategy::Source`]s in one call; [`topology::spawn`] from ready strategies:
//!
//! ```no_run
//! # async fn demo<M: beamlink_cluster::Membership>(node: std::sync::Arc<M>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use beamlink_cluster::{strategy::DnsStrategy, topology, Resolver, TopologyConfig};
//!
//! let resolver = Arc::new(Resolver::system(None)?);
//! let dns = DnsStrategy::kubernetes(resolver, "myapp-headless", "myapp");
//! let handle = topology::spawn(node, vec![Arc::new(dns)], TopologyConfig::default());
//! // ... later:
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod backoff;
pub mod http;
mod join;
mod membership;
mod metrics;
mod node_membership;
mod node_name;
pub mod prometheus;
pub mod resolver;
pub mod strategy;
pub mod topology;

pub use backoff::Backoff;
pub use join::Cluster;
pub use membership::{ConnectError, Membership, NodeEvent};
pub use metrics::{Counters, CountersSnapshot};
pub use node_membership::{convert_event, ConnectTimeout, NodeMembership};
pub use node_name::{erlang_ntoa, NodeName, NodeNameError, MAX_NODE_NAME_CHARS};
pub use resolver::{parse_nameserver, AddressFamilies, LookupError, Resolver, ResolverBuilder};
pub use strategy::{DiscoveryError, Strategy};
pub use topology::{
    SourceOutcome, SourceStatus, TopologyConfig, TopologyEvent, TopologyHandle, TopologyStatus, TopologyView,
};
