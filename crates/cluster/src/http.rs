//! HTTP endpoints for a node kept in a cluster, for Kubernetes probes and Prometheus:
//!
//! * `GET /healthz`: 200 `ok` while the topology loop runs (liveness); 503 once it has
//!   stopped.
//! * `GET /readyz`: 200 when ready, 503 otherwise, with one line saying how many desired
//!   nodes are connected and which are missing. Ready means some source has answered
//!   and every desired node is connected, or at least `min_ready` of them when set.
//! * `GET /metrics`: the counters ([`crate::prometheus`]) in the Prometheus text format.
//! * `GET /nodes`: JSON: this node, readiness, each desired node with its state and
//!   traffic, other connections, and each source with its answer in force.
//!
//! ```no_run
//! # async fn demo(cluster: &beamlink_cluster::Cluster) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! let state = cluster.http_state(None);
//! tokio::spawn(beamlink_cluster::http::serve(listener, state, std::future::pending()));
//! # Ok(()) }
//! ```

use std::future::Future;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::prometheus::{self, MetricsSource};
use crate::topology::{PeerState, TopologyView};
use crate::SourceOutcome;

/// What the handlers read: the loop's view, the node (for traffic), the readiness rule.
#[derive(Clone, Debug)]
pub struct HttpState {
    source: MetricsSource,
}

impl HttpState {
    /// Endpoints for the loop behind `view`; ready when every desired node is connected.
    pub fn new(view: TopologyView) -> HttpState {
        HttpState {
            source: MetricsSource {
                view,
                node: None,
                min_ready: None,
            },
        }
    }

    /// Adds the node's traffic counters to `/metrics` and `/nodes`.
    pub fn node(mut self, node: beamlink::Node) -> Self {
        self.source.node = Some(node);
        self
    }

    /// Ready once `min` desired nodes are connected (instead of all of them).
    pub fn min_ready(mut self, min: Option<usize>) -> Self {
        self.source.min_ready = min;
        self
    }
}

/// The router with the four endpoints, to serve as is or nest in an application's own.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/nodes", get(nodes))
        .with_state(state)
}

/// Serves [`router`] on `listener` until `shutdown` resolves (then finishes the requests
/// in flight and returns).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(s): State<HttpState>) -> Response {
    if s.source.view.is_running() {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        let msg = "the topology loop has stopped: restart the process\n";
        (StatusCode::SERVICE_UNAVAILABLE, msg).into_response()
    }
}

async fn readyz(State(s): State<HttpState>) -> Response {
    let status = s.source.view.status();
    let ready = status.is_ready(s.source.min_ready);
    let connected = status.connected();
    let desired = status.desired();
    let missing: Vec<String> = desired.difference(&connected).map(|n| n.to_string()).collect();
    let rule = match s.source.min_ready {
        Some(m) => format!("minimum {m}"),
        None => "all".to_string(),
    };
    let mut line = format!(
        "{}: {}/{} desired nodes connected ({rule})",
        if ready { "ready" } else { "not ready" },
        connected.len(),
        desired.len()
    );
    if !status.answered {
        line.push_str("; no source has answered yet");
    }
    if !missing.is_empty() {
        line.push_str(&format!("; missing: {}", missing.join(" ")));
    }
    line.push('\n');
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, line).into_response()
}

async fn metrics(State(s): State<HttpState>) -> Response {
    let body = prometheus::encode(&s.source);
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body).into_response()
}

async fn nodes(State(s): State<HttpState>) -> Json<Value> {
    Json(nodes_json(&s))
}

fn nodes_json(s: &HttpState) -> Value {
    let status = s.source.view.status();
    let node = s.source.node.as_ref();
    let traffic = node.map(|n| n.peer_stats()).unwrap_or_default();
    let desired = status.desired();
    let peers: Vec<Value> = status
        .peers
        .iter()
        .map(|p| {
            let state = match p.state {
                PeerState::Connecting => "connecting",
                PeerState::Connected => "connected",
                PeerState::Waiting { .. } => "waiting",
            };
            let mut v = json!({
                "node": p.node.as_str(),
                "state": state,
                "failures": p.failures,
                "last_error": p.last_error,
            });
            if let Some(t) = traffic.iter().find(|t| t.node.as_str() == p.node.as_str()) {
                v["hidden"] = json!(t.hidden);
                v["traffic"] = json!({
                    "messages_in": t.stats.messages_in,
                    "messages_out": t.stats.messages_out,
                    "bytes_in": t.stats.bytes_in,
                    "bytes_out": t.stats.bytes_out,
                });
            }
            v
        })
        .collect();
    let others: Vec<&str> = traffic
        .iter()
        .map(|t| t.node.as_str())
        .filter(|n| !desired.iter().any(|d| d.as_str() == *n))
        .collect();
    let sources: Vec<Value> = status
        .sources
        .iter()
        .map(|src| {
            let (last, error) = match &src.last {
                SourceOutcome::Pending => ("pending", None),
                SourceOutcome::Answered => ("answered", None),
                SourceOutcome::Empty => ("empty", None),
                SourceOutcome::Failed(e) => ("failed", Some(e.clone())),
            };
            json!({
                "source": src.source,
                "nodes": src.nodes.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
                "last": last,
                "error": error,
            })
        })
        .collect();
    json!({
        "node": node.map(|n| n.name().as_str().to_string()),
        "ready": status.is_ready(s.source.min_ready),
        "answered": status.answered,
        "polls": status.polls,
        "peers": peers,
        "other_connections": others,
        "sources": sources,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::broadcast;

    use super::*;
    use crate::membership::{ConnectError, Membership, NodeEvent};
    use crate::strategy::StaticNodes;
    use crate::topology::{spawn, TopologyConfig, TopologyEvent};
    use crate::NodeName;

    /// Connects to every node but `refused`.
    struct AllBut {
        refused: NodeName,
        connected: Mutex<BTreeSet<NodeName>>,
        events: broadcast::Sender<NodeEvent>,
    }

    impl Membership for AllBut {
        async fn connect(&self, node: &NodeName) -> Result<(), ConnectError> {
            if *node == self.refused {
                return Err(format!("{node} refused the connection").into());
            }
            self.connected.lock().unwrap().insert(node.clone());
            Ok(())
        }
        async fn disconnect(&self, node: &NodeName) {
            self.connected.lock().unwrap().remove(node);
        }
        fn connected(&self) -> BTreeSet<NodeName> {
            self.connected.lock().unwrap().clone()
        }
        fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
            self.events.subscribe()
        }
    }

    async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).await.unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        (head[9..12].parse().unwrap(), body.to_string())
    }

    #[tokio::test]
    async fn endpoints_report_readiness_counters_and_nodes() {
        let a: NodeName = "app@10.0.0.1".parse().unwrap();
        let b: NodeName = "app@10.0.0.2".parse().unwrap();
        let m = Arc::new(AllBut {
            refused: b.clone(),
            connected: Mutex::default(),
            events: broadcast::channel(8).0,
        });
        let config = TopologyConfig {
            interval: Duration::from_secs(3600),
            ..TopologyConfig::default()
        };
        let handle = spawn(
            m,
            vec![Arc::new(StaticNodes::new([a.clone(), b.clone()]))],
            config,
        );
        let mut ev = handle.subscribe();
        let mut failed = false;
        while !failed {
            failed = matches!(ev.recv().await, Ok(TopologyEvent::ConnectFailed { .. }));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let all = tokio::spawn(serve(
            listener,
            HttpState::new(handle.view()),
            std::future::pending(),
        ));
        let l2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr_min = l2.local_addr().unwrap();
        let min = tokio::spawn(serve(
            l2,
            HttpState::new(handle.view()).min_ready(Some(1)),
            std::future::pending(),
        ));

        assert_eq!(get(addr, "/healthz").await, (200, "ok\n".into()));
        let (code, body) = get(addr, "/readyz").await;
        assert_eq!(code, 503, "{body}");
        assert!(
            body.contains("1/2") && body.contains("missing: app@10.0.0.2"),
            "{body}"
        );
        let (code, body) = get(addr_min, "/readyz").await;
        assert_eq!(code, 200, "{body}");

        let (code, body) = get(addr, "/metrics").await;
        assert_eq!(code, 200);
        assert!(body.contains("beamlink_cluster_discovered_total 2\n"), "{body}");
        assert!(body.contains("beamlink_cluster_connected_nodes 1\n"), "{body}");
        assert!(
            body.contains("beamlink_cluster_connect_failures_total 1\n"),
            "{body}"
        );
        assert!(body.contains("beamlink_cluster_ready 0\n"), "{body}");
        assert!(body.ends_with("# EOF\n"), "{body}");

        let (code, body) = get(addr, "/nodes").await;
        assert_eq!(code, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["ready"], false);
        assert_eq!(v["peers"][0]["state"], "connected");
        assert_eq!(v["peers"][1]["state"], "waiting");
        assert!(v["peers"][1]["last_error"].as_str().unwrap().contains("refused"));
        assert_eq!(v["sources"][0]["last"], "answered");
        let view = handle.view();
        handle.shutdown().await;
        assert!(!view.is_running());
        let (code, body) = get(addr, "/healthz").await;
        assert_eq!(code, 503, "a stopped loop fails the liveness probe: {body}");
        all.abort();
        min.abort();
    }
}
