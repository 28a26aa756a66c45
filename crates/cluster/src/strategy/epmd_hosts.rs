//! `NAME@HOST` for every name registered at each host's EPMD (libcluster's `ErlangHosts`).

use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::hosts_file::read_hosts_file;
use super::{DiscoverFuture, DiscoveryError, Nodes, Strategy};
use crate::NodeName;

/// The EPMD `NAMES` request, as the discovery needs it: the names registered at the EPMD
/// of `host`:`port`. Implemented over the `beamlink-epmd` client; a trait so discovery does
/// not depend on how the request is made.
pub trait EpmdNames: Send + Sync + 'static {
    /// The names (`app`, not `app@host`) registered at that EPMD.
    fn names<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, EpmdNamesError>> + Send + 'a>>;
}

/// [`EpmdNames`] over the `beamlink-epmd` client: one TCP connection per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct EpmdClientNames;

impl EpmdNames for EpmdClientNames {
    fn names<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<String>, EpmdNamesError>> + Send + 'a>> {
        Box::pin(async move {
            let names = beamlink_epmd::EpmdClient::new(host, port)
                .names()
                .await
                .map_err(|e| EpmdNamesError(e.to_string()))?;
            Ok(names.into_iter().map(|e| e.name).collect())
        })
    }
}

/// An EPMD could not be asked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct EpmdNamesError(pub String);

/// Where the hosts come from.
#[derive(Debug, Clone)]
pub enum HostList {
    /// These hosts.
    Hosts(Vec<String>),
    /// The hosts in a `.hosts.erlang` file, read again at every poll.
    File(PathBuf),
}

/// Asks the EPMD of every host for its registered names; each name `NAME` at host `HOST`
/// becomes node `NAME@HOST`, the host as written in the list.
///
/// A host whose EPMD does not answer is logged and skipped (its nodes are gone or
/// unreachable); only when no EPMD answers is the whole lookup an error.
#[derive(Clone)]
pub struct EpmdHosts {
    hosts: HostList,
    port: u16,
    client: Arc<dyn EpmdNames>,
    only: Option<BTreeSet<String>>,
    timeout: Duration,
}

impl EpmdHosts {
    /// The EPMDs of these hosts (or of the hosts in a file), on `port` (normally 4369),
    /// asked with the `beamlink-epmd` client.
    pub fn new(hosts: HostList, port: u16) -> EpmdHosts {
        EpmdHosts {
            hosts,
            port,
            client: Arc::new(EpmdClientNames),
            only: None,
            timeout: Duration::from_secs(3),
        }
    }

    /// Ask the EPMDs with this client instead.
    pub fn client(mut self, client: Arc<dyn EpmdNames>) -> EpmdHosts {
        self.client = client;
        self
    }

    /// Keep only nodes whose name (before `@`) is one of these.
    pub fn only_names(mut self, names: impl IntoIterator<Item = String>) -> EpmdHosts {
        self.only = Some(names.into_iter().collect());
        self
    }

    /// How long one EPMD may take to answer (default 3 s).
    pub fn timeout(mut self, timeout: Duration) -> EpmdHosts {
        self.timeout = timeout;
        self
    }

    async fn run(&self) -> Result<Nodes, DiscoveryError> {
        let hosts = match &self.hosts {
            HostList::Hosts(h) => h.clone(),
            HostList::File(path) => {
                let h = read_hosts_file(path)?;
                if h.is_empty() {
                    return Err(DiscoveryError::NoHosts(path.clone()));
                }
                h
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for host in hosts {
            let client = self.client.clone();
            let (port, timeout) = (self.port, self.timeout);
            tasks.spawn(async move {
                let r = match tokio::time::timeout(timeout, client.names(&host, port)).await {
                    Ok(r) => r,
                    Err(_) => Err(EpmdNamesError(format!(
                        "no answer within {} ms",
                        timeout.as_millis()
                    ))),
                };
                (host, r)
            });
        }
        let (mut nodes, mut failures, mut answered) = (Nodes::new(), Vec::new(), 0);
        while let Some(joined) = tasks.join_next().await {
            let Ok((host, result)) = joined else { continue };
            match result {
                Ok(names) => {
                    answered += 1;
                    for name in names {
                        if self.only.as_ref().is_some_and(|only| !only.contains(&name)) {
                            continue;
                        }
                        match NodeName::new(&name, &host) {
                            Ok(n) => {
                                nodes.insert(n);
                            }
                            Err(e) => tracing::warn!(%host, "skipping an EPMD name: {e}"),
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(%host, port = self.port, "EPMD did not answer NAMES: {e}");
                    failures.push(format!("{host}:{}: {e}", self.port));
                }
            }
        }
        if answered == 0 && !failures.is_empty() {
            return Err(DiscoveryError::Epmd {
                port: self.port,
                failures: failures.join("; "),
            });
        }
        Ok(nodes)
    }
}

impl Strategy for EpmdHosts {
    fn describe(&self) -> String {
        match &self.hosts {
            HostList::Hosts(h) => format!("epmd names at [{}] port {} -> NAME@HOST", h.join(", "), self.port),
            HostList::File(p) => format!(
                "epmd names at the hosts in {} port {} -> NAME@HOST",
                p.display(),
                self.port
            ),
        }
    }

    fn discover(&self) -> DiscoverFuture<'_> {
        Box::pin(self.run())
    }
}
