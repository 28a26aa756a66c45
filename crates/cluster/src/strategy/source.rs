//! Sources described as data (from flags, environment or configuration), built into
//! strategies in one place.

use std::path::PathBuf;
use std::sync::Arc;

use super::{
    cluster_domain_from_env, kubernetes_srv_name, DiscoverFuture, DiscoveryError, DnsStrategy, EpmdHosts,
    HostList, SrvStrategy, StaticNodes, Strategy,
};
use crate::resolver::{AddressFamilies, Resolver};
use crate::NodeName;

/// One discovery source, as a command line or a configuration file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Address records of `name` (a headless Service, or any name): `BASENAME@IP`.
    Dns {
        /// The name asked (through the search list unless it ends with a dot).
        name: String,
        /// The part before `@` of every node found.
        basename: String,
        /// A, AAAA or both.
        families: AddressFamilies,
    },
    /// SRV records of `name`: `BASENAME@TARGET`.
    Srv {
        /// The name asked.
        name: String,
        /// The part before `@` of every node found.
        basename: String,
    },
    /// The names registered at the EPMD of each host: `NAME@HOST`.
    Epmd {
        /// Host names or addresses.
        hosts: Vec<String>,
        /// Their EPMD port (normally 4369).
        port: u16,
    },
    /// The same for the hosts of a `.hosts.erlang` file, read at every poll.
    HostsFile {
        /// The file.
        path: PathBuf,
        /// The hosts' EPMD port (normally 4369).
        port: u16,
    },
    /// These nodes.
    Nodes(Vec<NodeName>),
}

impl Source {
    /// A Kubernetes headless Service by name (A and AAAA), like libcluster's
    /// `Kubernetes.DNS` with `service` and `application_name`.
    pub fn kubernetes_dns(service: &str, basename: &str) -> Source {
        Source::Dns {
            name: service.into(),
            basename: basename.into(),
            families: AddressFamilies::Both,
        }
    }

    /// SRV records of `SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN` (`CLUSTER_DOMAIN` from the
    /// environment, default `cluster.local.`), like libcluster's `Kubernetes.DNSSRV`.
    pub fn kubernetes_srv(service: &str, namespace: &str, basename: &str) -> Source {
        Source::Srv {
            name: kubernetes_srv_name(service, namespace, &cluster_domain_from_env()),
            basename: basename.into(),
        }
    }

    /// Whether this source asks DNS (and so needs a resolver).
    pub fn uses_dns(&self) -> bool {
        matches!(self, Source::Dns { .. } | Source::Srv { .. })
    }

    /// The strategy that asks this source. DNS sources use `resolver`; without one they
    /// read `/etc/resolv.conf` now (and fail each lookup with the reason if they cannot).
    pub fn strategy(&self, resolver: Option<&Arc<Resolver>>) -> Arc<dyn Strategy> {
        let dns = || match resolver {
            Some(r) => Ok(r.clone()),
            None => Resolver::system(None).map(Arc::new),
        };
        match self {
            Source::Dns {
                name,
                basename,
                families,
            } => match dns() {
                Ok(r) => Arc::new(DnsStrategy::kubernetes(r, name, basename).families(*families)),
                Err(e) => Arc::new(Unavailable(format!("dns {name}"), e.to_string())),
            },
            Source::Srv { name, basename } => match dns() {
                Ok(r) => Arc::new(SrvStrategy::new(r, name, basename)),
                Err(e) => Arc::new(Unavailable(format!("dns {name} SRV"), e.to_string())),
            },
            Source::Epmd { hosts, port } => Arc::new(EpmdHosts::new(HostList::Hosts(hosts.clone()), *port)),
            Source::HostsFile { path, port } => Arc::new(EpmdHosts::new(HostList::File(path.clone()), *port)),
            Source::Nodes(nodes) => Arc::new(StaticNodes::new(nodes.iter().cloned())),
        }
    }
}

/// A DNS source whose resolver could not be configured: every lookup fails with why.
struct Unavailable(String, String);

impl Strategy for Unavailable {
    fn describe(&self) -> String {
        self.0.clone()
    }
    fn discover(&self) -> DiscoverFuture<'_> {
        let e = DiscoveryError::Unavailable(self.1.clone());
        Box::pin(std::future::ready(Err(e)))
    }
}
