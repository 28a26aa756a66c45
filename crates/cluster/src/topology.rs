//! The topology loop: poll the sources, keep the node connected to what they find.
//!
//! Every interval (default 5 s, a few percent of jitter) the loop asks every source once.
//! The desired set is the union of each source's last useful answer. Nodes that appear are
//! connected; connections that drop are retried with backoff; nodes that vanish from every
//! source are disconnected (unless pruning is off).
//!
//! Unlike libcluster, a failed or empty lookup changes nothing: the source's previous
//! answer stays in force and a warning is logged, so a DNS outage or a briefly empty
//! headless Service never disconnects a healthy cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::backoff::{jittered, Backoff};
use crate::membership::{Membership, NodeEvent};
use crate::metrics::{Counters, CountersSnapshot};
use crate::strategy::{DiscoveryError, Nodes, Strategy};
use crate::NodeName;

/// How the loop behaves. `Default` gives libcluster's timing.
#[derive(Debug, Clone)]
pub struct TopologyConfig {
    /// Time between the starts of two polls (default 5 s).
    pub interval: Duration,
    /// Fraction of `interval` by which each wait varies either way (default 0.05).
    pub jitter: f64,
    /// How long one source may take to answer before its lookup counts as failed
    /// (default 5 s).
    pub lookup_timeout: Duration,
    /// Disconnect nodes that vanished from every source (default true). When false, such
    /// nodes are left connected but no longer reconnected.
    pub prune: bool,
    /// This node's own name, never connected to even if a source lists it.
    pub this_node: Option<NodeName>,
    /// Delays between connection attempts to a node that failed or dropped.
    pub backoff: Backoff,
    /// Disconnect every managed node when the loop is shut down (default true).
    pub disconnect_on_shutdown: bool,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            interval: Duration::from_secs(5),
            jitter: 0.05,
            lookup_timeout: Duration::from_secs(5),
            prune: true,
            this_node: None,
            backoff: Backoff::default(),
            disconnect_on_shutdown: true,
        }
    }
}

/// Something the loop did or saw; one per membership change, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopologyEvent {
    /// A poll finished; `desired` nodes are wanted now.
    Polled {
        /// The size of the desired set.
        desired: usize,
    },
    /// A source could not be asked; its previous answer stays in force.
    LookupFailed {
        /// The source, as [`Strategy::describe`] says it.
        source: String,
        /// Why.
        error: String,
    },
    /// A source answered with no nodes; its previous answer stays in force.
    LookupEmpty {
        /// The source, as [`Strategy::describe`] says it.
        source: String,
    },
    /// A node appeared in the desired set.
    Discovered(NodeName),
    /// A node left the desired set.
    Vanished(NodeName),
    /// A desired node is connected.
    Connected(NodeName),
    /// A connection attempt failed; the next one is in `retry_in`.
    ConnectFailed {
        /// The node.
        node: NodeName,
        /// Why, as the [`Membership`] said.
        error: String,
        /// When the next attempt is.
        retry_in: Duration,
    },
    /// The connection to a desired node went down.
    Lost {
        /// The node.
        node: NodeName,
        /// Why, as the [`Membership`] said.
        reason: String,
    },
    /// The loop disconnected a node (it vanished, or shutdown); sent once the
    /// disconnection is done.
    Disconnected(NodeName),
}

/// Where the loop stands with one desired node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// A connection attempt is running.
    Connecting,
    /// Connected.
    Connected,
    /// Not connected; the next attempt is at `retry_at`.
    Waiting {
        /// When the next attempt starts.
        retry_at: Instant,
    },
}

/// One desired node, for `/nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    /// The node.
    pub node: NodeName,
    /// Connecting, connected, or waiting to retry.
    pub state: PeerState,
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// Why the last attempt failed or the connection dropped.
    pub last_error: Option<String>,
}

/// The loop's view at one moment.
#[derive(Debug, Clone, Default)]
pub struct TopologyStatus {
    /// Every desired node and its state.
    pub peers: Vec<PeerStatus>,
    /// Polls completed.
    pub polls: u64,
    /// Sources whose last lookup failed, with the error.
    pub failing_sources: Vec<(String, String)>,
    /// Sources whose last lookup answered nothing.
    pub empty_sources: Vec<String>,
    /// Whether any source ever answered with nodes: until then the desired set is empty
    /// because nothing is known, not because the cluster is empty.
    pub answered: bool,
    /// Each source, in the order given, with the answer in force.
    pub sources: Vec<SourceStatus>,
}

/// One source as the loop sees it, for `/nodes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStatus {
    /// What the source asks, as [`Strategy::describe`] says it.
    pub source: String,
    /// The answer in force: the last one with nodes (empty until there is one).
    pub nodes: Nodes,
    /// How its last lookup went.
    pub last: SourceOutcome,
}

/// How a source's last lookup went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Not asked yet.
    Pending,
    /// Answered with nodes.
    Answered,
    /// Answered with no nodes (the previous answer stays in force).
    Empty,
    /// Failed (the previous answer stays in force); why.
    Failed(String),
}

impl TopologyStatus {
    /// The desired nodes, connected or not.
    pub fn desired(&self) -> BTreeSet<NodeName> {
        self.peers.iter().map(|p| p.node.clone()).collect()
    }

    /// The desired nodes that are connected.
    pub fn connected(&self) -> BTreeSet<NodeName> {
        self.peers
            .iter()
            .filter(|p| p.state == PeerState::Connected)
            .map(|p| p.node.clone())
            .collect()
    }

    /// Ready for traffic: some source has answered with nodes, and either `min` nodes are
    /// connected or (with no minimum) every desired node is.
    pub fn is_ready(&self, min: Option<usize>) -> bool {
        if !self.answered {
            return false;
        }
        let connected = self
            .peers
            .iter()
            .filter(|p| p.state == PeerState::Connected)
            .count();
        match min {
            Some(m) => connected >= m,
            None => connected == self.peers.len(),
        }
    }
}

struct Shared {
    counters: Counters,
    status: Mutex<TopologyStatus>,
    events: broadcast::Sender<TopologyEvent>,
    poll_now: Notify,
    /// True while the loop's task runs; cleared by [`RunningGuard`] however it ends.
    running: std::sync::atomic::AtomicBool,
    /// Woken when `running` is cleared.
    ended: Notify,
}

/// Clears [`Shared::running`] when the loop's task ends: returned, aborted or panicked.
struct RunningGuard(Arc<Shared>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.store(false, std::sync::atomic::Ordering::Release);
        self.0.ended.notify_waiters();
    }
}

/// A running topology loop. Dropping the handle stops the loop without disconnecting;
/// [`TopologyHandle::shutdown`] stops it cleanly.
pub struct TopologyHandle {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// A read-only, cheaply cloned view of a running loop, for HTTP handlers (`/metrics`,
/// `/readyz`, `/nodes`) and log tasks. It stays valid after the loop stops (showing its
/// last state).
#[derive(Clone)]
pub struct TopologyView {
    shared: Arc<Shared>,
}

impl TopologyView {
    /// The counters now.
    pub fn counters(&self) -> CountersSnapshot {
        self.shared.counters.snapshot()
    }

    /// The desired nodes and their states now.
    pub fn status(&self) -> TopologyStatus {
        match self.shared.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Events from now on. A receiver that falls more than 1024 events behind loses the
    /// oldest ones (`RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<TopologyEvent> {
        self.shared.events.subscribe()
    }

    /// Polls the sources now instead of at the end of the interval (e.g. on SIGHUP).
    pub fn poll_now(&self) {
        self.shared.poll_now.notify_one();
    }

    /// Whether the loop still runs (false once shut down, dropped, or if it panicked):
    /// what a liveness probe asks.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Resolves once the loop has stopped, however it stopped.
    pub async fn stopped(&self) {
        loop {
            let ended = self.shared.ended.notified();
            if !self.is_running() {
                return;
            }
            ended.await;
        }
    }
}

impl TopologyHandle {
    /// A view to share with readers (HTTP handlers, loggers).
    pub fn view(&self) -> TopologyView {
        TopologyView {
            shared: self.shared.clone(),
        }
    }

    /// The counters now.
    pub fn counters(&self) -> CountersSnapshot {
        self.view().counters()
    }

    /// The desired nodes and their states now.
    pub fn status(&self) -> TopologyStatus {
        self.view().status()
    }

    /// Events from now on (see [`TopologyView::subscribe`]).
    pub fn subscribe(&self) -> broadcast::Receiver<TopologyEvent> {
        self.shared.events.subscribe()
    }

    /// Polls the sources now instead of at the end of the interval (e.g. on SIGHUP).
    pub fn poll_now(&self) {
        self.shared.poll_now.notify_one();
    }

    /// Stops the loop and, when configured, disconnects every managed node; resolves when done.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TopologyHandle {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts the topology loop on the current tokio runtime. The first poll happens at once.
pub fn spawn<M: Membership>(
    membership: Arc<M>,
    sources: Vec<Arc<dyn Strategy>>,
    config: TopologyConfig,
) -> TopologyHandle {
    let (events, _) = broadcast::channel(1024);
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        status: Mutex::new(TopologyStatus::default()),
        events,
        poll_now: Notify::new(),
        running: std::sync::atomic::AtomicBool::new(true),
        ended: Notify::new(),
    });
    let (stop, stop_rx) = watch::channel(false);
    let node_events = membership.subscribe();
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Loop {
        membership,
        last_answers: vec![None; sources.len()],
        outcomes: vec![SourceOutcome::Pending; sources.len()],
        sources,
        config,
        shared: shared.clone(),
        desired: Nodes::new(),
        peers: BTreeMap::new(),
        polls: 0,
        tx,
    };
    let task = tokio::spawn(state.run(rx, node_events, stop_rx));
    TopologyHandle {
        shared,
        stop,
        task: Some(task),
    }
}

enum Done {
    Lookup(Vec<Result<Nodes, DiscoveryError>>),
    Connect(NodeName, Result<(), String>),
    Disconnect(NodeName),
}

struct Peer {
    state: PeerState,
    failures: u32,
    /// True once any attempt was made: later attempts count as reconnects.
    tried: bool,
    last_error: Option<String>,
}

struct Loop<M: Membership> {
    membership: Arc<M>,
    sources: Vec<Arc<dyn Strategy>>,
    config: TopologyConfig,
    shared: Arc<Shared>,
    /// Each source's last non-empty successful answer.
    last_answers: Vec<Option<Nodes>>,
    /// How each source's last lookup went.
    outcomes: Vec<SourceOutcome>,
    desired: Nodes,
    peers: BTreeMap<NodeName, Peer>,
    polls: u64,
    tx: mpsc::UnboundedSender<Done>,
}

impl<M: Membership> Loop<M> {
    async fn run(
        mut self,
        mut done: mpsc::UnboundedReceiver<Done>,
        mut node_events: broadcast::Receiver<NodeEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let shared = self.shared.clone();
        let _running = RunningGuard(shared.clone());
        let mut next_poll = Instant::now();
        let mut lookup_running = false;
        let mut events_open = true;
        loop {
            let next_retry = self
                .peers
                .values()
                .filter_map(|p| match p.state {
                    PeerState::Waiting { retry_at } => Some(retry_at),
                    _ => None,
                })
                .min();
            tokio::select! {
                biased;
                _ = stop.changed() => break,
                Some(d) = done.recv() => match d {
                    Done::Lookup(results) => {
                        lookup_running = false;
                        self.on_lookup(results);
                    }
                    Done::Connect(node, result) => self.on_connect_done(node, result),
                    Done::Disconnect(node) => {
                        tracing::info!(node = %node, "disconnected: it vanished from every source");
                        self.emit(TopologyEvent::Disconnected(node));
                    }
                },
                ev = node_events.recv(), if events_open => match ev {
                    Ok(NodeEvent::Up(node)) => self.on_up(&node),
                    Ok(NodeEvent::Down { node, reason }) => self.on_down(&node, reason),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("missed {n} node events; checking the connections");
                        self.resync();
                    }
                    Err(broadcast::error::RecvError::Closed) => events_open = false,
                },
                _ = sleep_until(next_poll), if !lookup_running => {
                    lookup_running = true;
                    next_poll = Instant::now() + jittered(self.config.interval, self.config.jitter);
                    self.start_lookup();
                }
                _ = shared.poll_now.notified() => next_poll = Instant::now(),
                _ = sleep_until(next_retry.unwrap_or_else(Instant::now)), if next_retry.is_some() => {
                    self.retry_due();
                }
            }
            self.publish();
        }
        if self.config.disconnect_on_shutdown {
            let nodes: Vec<NodeName> = self.peers.keys().cloned().collect();
            for node in nodes {
                self.membership.disconnect(&node).await;
                Counters::add(&self.shared.counters.disconnected);
                tracing::info!(node = %node, "disconnected (shutdown)");
                self.emit(TopologyEvent::Disconnected(node));
            }
        }
        self.peers.clear();
        self.publish();
    }

    /// Publishes the status first, so that a subscriber reading the status on an event
    /// sees the state the event describes.
    fn emit(&self, e: TopologyEvent) {
        self.publish();
        let _ = self.shared.events.send(e);
    }

    fn start_lookup(&self) {
        let sources = self.sources.clone();
        let timeout = self.config.lookup_timeout;
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let results = crate::strategy::discover_all(&sources, timeout).await;
            let _ = tx.send(Done::Lookup(results));
        });
    }

    fn on_lookup(&mut self, results: Vec<Result<Nodes, DiscoveryError>>) {
        let c = &self.shared.counters;
        Counters::add(&c.polls);
        self.polls += 1;
        for (i, r) in results.into_iter().enumerate() {
            let source = self.sources[i].describe();
            match r {
                Ok(nodes) if !nodes.is_empty() => {
                    self.last_answers[i] = Some(nodes);
                    self.outcomes[i] = SourceOutcome::Answered;
                }
                Ok(_) => {
                    self.outcomes[i] = SourceOutcome::Empty;
                    Counters::add(&c.empty_lookups);
                    tracing::warn!(%source, "the lookup found no nodes; keeping the current connections");
                    self.emit(TopologyEvent::LookupEmpty { source });
                }
                Err(e) => {
                    Counters::add(&c.lookup_failures);
                    tracing::warn!(%source, "lookup failed, keeping the current connections: {e}");
                    self.outcomes[i] = SourceOutcome::Failed(e.to_string());
                    self.emit(TopologyEvent::LookupFailed {
                        source,
                        error: e.to_string(),
                    });
                }
            }
        }
        let mut wanted: Nodes = self.last_answers.iter().flatten().flatten().cloned().collect();
        if let Some(me) = &self.config.this_node {
            wanted.remove(me);
        }
        self.apply(wanted);
        self.resync();
        self.emit(TopologyEvent::Polled {
            desired: self.desired.len(),
        });
    }

    /// Makes `wanted` the desired set: connects what appeared, drops what vanished.
    fn apply(&mut self, wanted: Nodes) {
        let appeared: Vec<NodeName> = wanted.difference(&self.desired).cloned().collect();
        let vanished: Vec<NodeName> = self.desired.difference(&wanted).cloned().collect();
        self.desired = wanted;
        let connected_now = self.membership.connected();
        for node in appeared {
            Counters::add(&self.shared.counters.discovered);
            tracing::info!(node = %node, "discovered");
            let known = self.peers.contains_key(&node);
            let already = connected_now.contains(&node);
            if !known {
                let state = if already {
                    PeerState::Connected
                } else {
                    PeerState::Connecting
                };
                self.peers.insert(node.clone(), Peer::new(state));
            }
            self.emit(TopologyEvent::Discovered(node.clone()));
            match (known, already) {
                (true, _) => {}
                (false, true) => self.mark_connected(&node),
                (false, false) => self.start_connect(node),
            }
        }
        for node in vanished {
            Counters::add(&self.shared.counters.vanished);
            tracing::info!(node = %node, "vanished from every source");
            let peer = self.peers.remove(&node);
            self.emit(TopologyEvent::Vanished(node.clone()));
            let Some(peer) = peer else { continue };
            let linked = matches!(peer.state, PeerState::Connected | PeerState::Connecting);
            if self.config.prune && (linked || connected_now.contains(&node)) {
                self.start_disconnect(node);
            }
        }
    }

    fn start_connect(&mut self, node: NodeName) {
        if let Some(p) = self.peers.get_mut(&node) {
            if p.tried {
                Counters::add(&self.shared.counters.reconnect_attempts);
            }
            p.tried = true;
            p.state = PeerState::Connecting;
        }
        let m = self.membership.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let r = m.connect(&node).await.map_err(|e| e.to_string());
            let _ = tx.send(Done::Connect(node, r));
        });
    }

    /// Disconnects in the background; `Disconnected` is emitted once it is done.
    fn start_disconnect(&self, node: NodeName) {
        Counters::add(&self.shared.counters.disconnected);
        let m = self.membership.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            m.disconnect(&node).await;
            let _ = tx.send(Done::Disconnect(node));
        });
    }

    fn mark_connected(&mut self, node: &NodeName) {
        if let Some(p) = self.peers.get_mut(node) {
            p.state = PeerState::Connected;
            p.tried = true;
            p.failures = 0;
            p.last_error = None;
            Counters::add(&self.shared.counters.connected);
            tracing::info!(node = %node, "connected");
            self.emit(TopologyEvent::Connected(node.clone()));
        }
    }

    fn on_connect_done(&mut self, node: NodeName, result: Result<(), String>) {
        let Some(peer) = self.peers.get(&node) else {
            // It vanished while we were connecting.
            if result.is_ok() && self.config.prune && !self.desired.contains(&node) {
                self.start_disconnect(node);
            }
            return;
        };
        if peer.state != PeerState::Connecting {
            return;
        }
        match result {
            Ok(()) => self.mark_connected(&node),
            Err(error) => {
                if self.membership.connected().contains(&node) {
                    // The peer connected to us meanwhile.
                    self.mark_connected(&node);
                    return;
                }
                Counters::add(&self.shared.counters.connect_failures);
                let Some(p) = self.peers.get_mut(&node) else {
                    return;
                };
                let retry_in = self.config.backoff.delay(p.failures);
                p.failures = p.failures.saturating_add(1);
                p.last_error = Some(error.clone());
                p.state = PeerState::Waiting {
                    retry_at: Instant::now() + retry_in,
                };
                tracing::warn!(node = %node, "connection failed, retrying in {retry_in:?}: {error}");
                self.emit(TopologyEvent::ConnectFailed {
                    node,
                    error,
                    retry_in,
                });
            }
        }
    }

    fn on_up(&mut self, node: &NodeName) {
        if self
            .peers
            .get(node)
            .is_some_and(|p| p.state != PeerState::Connected)
        {
            self.mark_connected(node);
        }
    }

    fn on_down(&mut self, node: &NodeName, reason: String) {
        let Some(p) = self.peers.get_mut(node) else { return };
        if p.state != PeerState::Connected {
            return;
        }
        let retry_in = self.config.backoff.delay(0);
        p.state = PeerState::Waiting {
            retry_at: Instant::now() + retry_in,
        };
        p.last_error = Some(reason.clone());
        Counters::add(&self.shared.counters.lost);
        tracing::warn!(node = %node, "connection lost, reconnecting in {retry_in:?}: {reason}");
        self.emit(TopologyEvent::Lost {
            node: node.clone(),
            reason,
        });
    }

    /// Compares our view with the node's connections, for events that were missed.
    fn resync(&mut self) {
        let connected = self.membership.connected();
        let nodes: Vec<(NodeName, PeerState)> =
            self.peers.iter().map(|(n, p)| (n.clone(), p.state)).collect();
        for (node, state) in nodes {
            match (state, connected.contains(&node)) {
                (PeerState::Connected, false) => self.on_down(&node, "not connected any more".into()),
                (PeerState::Waiting { .. }, true) => self.mark_connected(&node),
                _ => {}
            }
        }
    }

    fn retry_due(&mut self) {
        let now = Instant::now();
        let due: Vec<NodeName> = self
            .peers
            .iter()
            .filter(|(_, p)| matches!(p.state, PeerState::Waiting { retry_at } if retry_at <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for node in due {
            tracing::debug!(node = %node, "reconnecting");
            self.start_connect(node);
        }
    }

    fn publish(&self) {
        let peers: Vec<PeerStatus> = self
            .peers
            .iter()
            .map(|(n, p)| PeerStatus {
                node: n.clone(),
                state: p.state,
                failures: p.failures,
                last_error: p.last_error.clone(),
            })
            .collect();
        let c = &self.shared.counters;
        Counters::set(&c.desired_nodes, peers.len());
        Counters::set(
            &c.connected_nodes,
            peers.iter().filter(|p| p.state == PeerState::Connected).count(),
        );
        let status = TopologyStatus {
            peers,
            polls: self.polls,
            failing_sources: self
                .sources
                .iter()
                .zip(&self.outcomes)
                .filter_map(|(s, o)| match o {
                    SourceOutcome::Failed(e) => Some((s.describe(), e.clone())),
                    _ => None,
                })
                .collect(),
            empty_sources: self
                .sources
                .iter()
                .zip(&self.outcomes)
                .filter(|(_, o)| **o == SourceOutcome::Empty)
                .map(|(s, _)| s.describe())
                .collect(),
            answered: self.last_answers.iter().any(Option::is_some),
            sources: self
                .sources
                .iter()
                .zip(&self.last_answers)
                .zip(&self.outcomes)
                .map(|((s, nodes), last)| SourceStatus {
                    source: s.describe(),
                    nodes: nodes.clone().unwrap_or_default(),
                    last: last.clone(),
                })
                .collect(),
        };
        match self.shared.status.lock() {
            Ok(mut s) => *s = status,
            Err(poisoned) => *poisoned.into_inner() = status,
        }
    }
}

impl Peer {
    fn new(state: PeerState) -> Peer {
        Peer {
            state,
            failures: 0,
            tried: false,
            last_error: None,
        }
    }
}

mod builder;
#[cfg(test)]
mod tests;

pub use builder::{Topology, TopologyBuilder};
