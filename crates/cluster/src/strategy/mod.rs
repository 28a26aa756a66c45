//! Discovery strategies: each one answers "which nodes should be in the cluster now?".
//!
//! Node names are built exactly as libcluster builds them, so that they match the names
//! the Elixir/Erlang nodes gave themselves:
//!
//! | strategy | asks | node name |
//! |---|---|---|
//! | [`DnsStrategy::kubernetes`] | A and AAAA of a headless Service | `BASENAME@IP` |
//! | [`DnsStrategy::poll`] | A of any name | `BASENAME@IP` |
//! | [`SrvStrategy::kubernetes`] | SRV of `SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN` | `BASENAME@TARGET` |
//! | [`EpmdHosts`] | NAMES at each host's EPMD (a list or `.hosts.erlang`) | `NAME@HOST` |
//! | [`StaticNodes`] | nothing | the names given |
//!
//! IP addresses are written as Erlang's `inet:ntoa/1` writes them
//! ([`crate::erlang_ntoa`]); SRV targets lose their trailing dot.

mod dns;
mod epmd_hosts;
mod hosts_file;
mod source;
mod srv;
mod static_nodes;

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

pub use dns::DnsStrategy;
pub use epmd_hosts::{EpmdClientNames, EpmdHosts, EpmdNames, EpmdNamesError, HostList};
pub use hosts_file::{default_hosts_file, parse_hosts_file, read_hosts_file, HostsFileError};
pub use source::Source;
pub use srv::{
    cluster_domain_from_env, cluster_domain_or_default, kubernetes_srv_name, SrvStrategy,
    DEFAULT_CLUSTER_DOMAIN,
};
pub use static_nodes::StaticNodes;

use crate::resolver::LookupError;
use crate::NodeName;

/// What a strategy found: the node names, possibly none.
pub type Nodes = BTreeSet<NodeName>;

/// The future a [`Strategy`] returns.
pub type DiscoverFuture<'a> = Pin<Box<dyn Future<Output = Result<Nodes, DiscoveryError>> + Send + 'a>>;

/// A source of node names, polled by the topology loop.
///
/// `discover` returns `Ok` with the nodes found (an empty set when the source has no
/// records) or `Err` when it could not find out (DNS down, file unreadable, every EPMD
/// unreachable). The loop treats the two differently: neither disconnects anyone, but only
/// an error counts as a lookup failure.
pub trait Strategy: Send + Sync + 'static {
    /// A one-line description for logs: what is asked, where.
    fn describe(&self) -> String;
    /// Looks the nodes up once. Cancel-safe: dropping the future abandons the lookup.
    fn discover(&self) -> DiscoverFuture<'_>;
}

/// Asks every source once, all at the same time, each bounded by `timeout` (a source that
/// takes longer fails with [`DiscoveryError::Timeout`]). Results are in the order of
/// `sources`. For one-shot listing (`beamlink list`) and for each poll of the topology loop.
pub async fn discover_all(
    sources: &[std::sync::Arc<dyn Strategy>],
    timeout: std::time::Duration,
) -> Vec<Result<Nodes, DiscoveryError>> {
    let handles: Vec<_> = sources
        .iter()
        .cloned()
        .map(|s| {
            tokio::spawn(async move {
                match tokio::time::timeout(timeout, s.discover()).await {
                    Ok(r) => r,
                    Err(_) => Err(DiscoveryError::Timeout {
                        what: s.describe(),
                        after_ms: timeout.as_millis() as u64,
                    }),
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(handles.len());
    for (h, s) in handles.into_iter().zip(sources) {
        results.push(h.await.unwrap_or_else(|e| {
            Err(DiscoveryError::Timeout {
                what: format!("{} (the lookup task ended: {e})", s.describe()),
                after_ms: 0,
            })
        }));
    }
    results
}

/// A strategy could not find out which nodes exist.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    /// DNS gave no answer (timeout, refusal, server failure).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// None of the hosts' EPMDs answered.
    #[error("no EPMD answered ({failures}); check that the hosts are up and EPMD listens on port {port}")]
    Epmd {
        /// The EPMD port asked.
        port: u16,
        /// Each host and why it did not answer.
        failures: String,
    },
    /// The `.hosts.erlang` file could not be read or parsed.
    #[error("cannot read the hosts file: {0}")]
    HostsFile(#[from] HostsFileError),
    /// The `.hosts.erlang` file is empty.
    #[error("the hosts file {0} lists no hosts")]
    NoHosts(PathBuf),
    /// The source cannot be asked at all (e.g. no resolver configuration).
    #[error("{0}")]
    Unavailable(String),
    /// The source took longer than the lookup timeout.
    #[error("{what} did not answer within {after_ms} ms")]
    Timeout {
        /// The source.
        what: String,
        /// The timeout.
        after_ms: u64,
    },
}
