//! HTTP endpoints for a node kept in a cluster, for Kubernetes probes and Prometheus:
//!
//! * `GET /healthz`: 200 `ok` while the process serves requests (liveness).
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

async fn healthz() -> &'static str {
    "ok\n"
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
