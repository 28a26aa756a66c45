//! `BASENAME@IP` for every address record of a name (Kubernetes headless Service, DNS poll).

use std::sync::Arc;

use super::{DiscoverFuture, Nodes, Strategy};
use crate::resolver::{AddressFamilies, Resolver};
use crate::NodeName;

/// Asks the address records of one name and names a node `BASENAME@IP` for each address.
///
/// This is libcluster's `Kubernetes.DNS` (a headless Service answers with one record per
/// ready pod) and `DNSPoll`, and dns_cluster's A/AAAA queries. The name goes through the
/// resolver's search list, so inside a pod `my-svc` alone finds `my-svc.NS.svc.cluster.local`.
#[derive(Debug, Clone)]
pub struct DnsStrategy {
    resolver: Arc<Resolver>,
    query: String,
    basename: String,
    families: AddressFamilies,
}

impl DnsStrategy {
    /// A headless Service: A and AAAA records of `service`, nodes `basename@IP`.
    pub fn kubernetes(resolver: Arc<Resolver>, service: &str, basename: &str) -> DnsStrategy {
        DnsStrategy {
            resolver,
            query: service.to_string(),
            basename: basename.to_string(),
            families: AddressFamilies::Both,
        }
    }

    /// Any name, polled for its A records like libcluster's `DNSPoll`; nodes `basename@IP`.
    pub fn poll(resolver: Arc<Resolver>, query: &str, basename: &str) -> DnsStrategy {
        DnsStrategy {
            resolver,
            query: query.to_string(),
            basename: basename.to_string(),
            families: AddressFamilies::V4,
        }
    }

    /// Which address records to ask for.
    pub fn families(mut self, families: AddressFamilies) -> DnsStrategy {
        self.families = families;
        self
    }
}

impl Strategy for DnsStrategy {
    fn describe(&self) -> String {
        let rr = match self.families {
            AddressFamilies::V4 => "A",
            AddressFamilies::V6 => "AAAA",
            AddressFamilies::Both => "A+AAAA",
        };
        format!("dns {} {rr} -> {}@IP", self.query, self.basename)
    }

    fn discover(&self) -> DiscoverFuture<'_> {
        Box::pin(async move {
            let ips = self.resolver.lookup_ips(&self.query, self.families).await?;
            let mut nodes = Nodes::new();
            for ip in ips {
                match NodeName::from_ip(&self.basename, ip) {
                    Ok(n) => {
                        nodes.insert(n);
                    }
                    Err(e) => tracing::warn!(query = %self.query, "skipping a record: {e}"),
                }
            }
            Ok(nodes)
        })
    }
}
