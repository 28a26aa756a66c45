//! A fixed list of nodes (libcluster's `Epmd` strategy: `hosts: [:"a@10.0.0.1", ...]`).

use super::{DiscoverFuture, Nodes, Strategy};
use crate::NodeName;

/// Always answers the same node names.
#[derive(Debug, Clone)]
pub struct StaticNodes {
    nodes: Nodes,
}

impl StaticNodes {
    /// These nodes, always.
    pub fn new(nodes: impl IntoIterator<Item = NodeName>) -> StaticNodes {
        StaticNodes {
            nodes: nodes.into_iter().collect(),
        }
    }
}

impl Strategy for StaticNodes {
    fn describe(&self) -> String {
        let list: Vec<&str> = self.nodes.iter().map(|n| n.as_str()).collect();
        format!("static [{}]", list.join(", "))
    }

    fn discover(&self) -> DiscoverFuture<'_> {
        Box::pin(std::future::ready(Ok(self.nodes.clone())))
    }
}
