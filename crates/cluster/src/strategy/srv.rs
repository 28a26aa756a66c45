//! `BASENAME@TARGET` for every SRV record of a name (Kubernetes StatefulSets).

use std::sync::Arc;

use super::{DiscoverFuture, Nodes, Strategy};
use crate::resolver::Resolver;
use crate::NodeName;

/// The cluster domain when `CLUSTER_DOMAIN` is not set (absolute: no search list applies).
pub const DEFAULT_CLUSTER_DOMAIN: &str = "cluster.local.";

/// `CLUSTER_DOMAIN` from the environment, or [`DEFAULT_CLUSTER_DOMAIN`].
pub fn cluster_domain_from_env() -> String {
    cluster_domain_or_default(std::env::var("CLUSTER_DOMAIN").ok().as_deref())
}

/// The cluster domain given (trimmed), or [`DEFAULT_CLUSTER_DOMAIN`] when it is absent or
/// blank. A domain without a trailing dot is kept as given (relative: the search list applies).
pub fn cluster_domain_or_default(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(d) if !d.is_empty() => d.to_string(),
        _ => DEFAULT_CLUSTER_DOMAIN.to_string(),
    }
}

/// `SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN`, the name a headless Service answers SRV queries on.
pub fn kubernetes_srv_name(service: &str, namespace: &str, cluster_domain: &str) -> String {
    format!("{service}.{namespace}.svc.{cluster_domain}")
}

/// Asks the SRV records of one name and names a node `BASENAME@TARGET` for each, the target
/// without its trailing dot (libcluster's `Kubernetes.DNSSRV`: a StatefulSet's pods are
/// `POD-N.SERVICE.NAMESPACE.svc.cluster.local`).
#[derive(Debug, Clone)]
pub struct SrvStrategy {
    resolver: Arc<Resolver>,
    query: String,
    basename: String,
}

impl SrvStrategy {
    /// SRV records of `query`, nodes `basename@TARGET`.
    pub fn new(resolver: Arc<Resolver>, query: &str, basename: &str) -> SrvStrategy {
        SrvStrategy {
            resolver,
            query: query.to_string(),
            basename: basename.to_string(),
        }
    }

    /// SRV records of `SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN`, the cluster domain from the
    /// `CLUSTER_DOMAIN` environment variable (default `cluster.local.`).
    pub fn kubernetes(
        resolver: Arc<Resolver>,
        service: &str,
        namespace: &str,
        basename: &str,
    ) -> SrvStrategy {
        let name = kubernetes_srv_name(service, namespace, &cluster_domain_from_env());
        Self::new(resolver, &name, basename)
    }

    /// The name asked.
    pub fn query(&self) -> &str {
        &self.query
    }
}

impl Strategy for SrvStrategy {
    fn describe(&self) -> String {
        format!("dns {} SRV -> {}@TARGET", self.query, self.basename)
    }

    fn discover(&self) -> DiscoverFuture<'_> {
        Box::pin(async move {
            let targets = self.resolver.lookup_srv(&self.query).await?;
            let mut nodes = Nodes::new();
            for t in targets {
                match NodeName::new(&self.basename, &t.target) {
                    Ok(n) => {
                        nodes.insert(n);
                    }
                    Err(e) => tracing::warn!(query = %self.query, "skipping an SRV record: {e}"),
                }
            }
            Ok(nodes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_domain_defaults() {
        assert_eq!(cluster_domain_or_default(None), "cluster.local.");
        assert_eq!(cluster_domain_or_default(Some("  ")), "cluster.local.");
        assert_eq!(cluster_domain_or_default(Some(" k8s.internal ")), "k8s.internal");
        assert_eq!(
            kubernetes_srv_name("app", "prod", &cluster_domain_or_default(Some("k8s.internal."))),
            "app.prod.svc.k8s.internal."
        );
    }

    #[test]
    fn kubernetes_name() {
        assert_eq!(
            kubernetes_srv_name("app", "prod", DEFAULT_CLUSTER_DOMAIN),
            "app.prod.svc.cluster.local."
        );
    }
}
