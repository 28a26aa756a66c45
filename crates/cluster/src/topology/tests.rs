//! The loop's decisions, against a recording [`Membership`] and scripted sources, in paused
//! tokio time (timers fire as soon as everything is idle: no real waiting).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::*;
use crate::membership::ConnectError;
use crate::resolver::LookupError;
use crate::strategy::DiscoverFuture;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    Connect(NodeName),
    Disconnect(NodeName),
}

/// Records every call; connects instantly unless the node is in `refuse`.
struct Recorder {
    calls: Mutex<Vec<Call>>,
    connected: Mutex<BTreeSet<NodeName>>,
    refuse: Mutex<BTreeSet<NodeName>>,
    events: broadcast::Sender<NodeEvent>,
}

impl Recorder {
    fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            calls: Mutex::default(),
            connected: Mutex::default(),
            refuse: Mutex::default(),
            events: broadcast::channel(64).0,
        })
    }
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    fn refuse(&self, node: &NodeName, yes: bool) {
        let mut r = self.refuse.lock().unwrap();
        if yes {
            r.insert(node.clone());
        } else {
            r.remove(node);
        }
    }
    /// The connection drops by itself (peer died), with or without telling the loop.
    fn drop_connection(&self, node: &NodeName, tell: bool) {
        self.connected.lock().unwrap().remove(node);
        if tell {
            let _ = self.events.send(NodeEvent::Down {
                node: node.clone(),
                reason: "connection closed".into(),
            });
        }
    }
}

impl Membership for Recorder {
    async fn connect(&self, node: &NodeName) -> Result<(), ConnectError> {
        self.calls.lock().unwrap().push(Call::Connect(node.clone()));
        if self.refuse.lock().unwrap().contains(node) {
            return Err(format!("{node} refused the connection").into());
        }
        self.connected.lock().unwrap().insert(node.clone());
        let _ = self.events.send(NodeEvent::Up(node.clone()));
        Ok(())
    }
    async fn disconnect(&self, node: &NodeName) {
        self.calls.lock().unwrap().push(Call::Disconnect(node.clone()));
        if self.connected.lock().unwrap().remove(node) {
            let _ = self.events.send(NodeEvent::Down {
                node: node.clone(),
                reason: "disconnected".into(),
            });
        }
    }
    fn connected(&self) -> BTreeSet<NodeName> {
        self.connected.lock().unwrap().clone()
    }
    fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }
}

/// A source whose answer the test sets; counts its lookups.
struct Scripted {
    answer: Mutex<Result<Nodes, DiscoveryError>>,
    delay: Mutex<Duration>,
    lookups: AtomicUsize,
}

impl Scripted {
    fn new(nodes: &[&NodeName]) -> Arc<Scripted> {
        let s = Arc::new(Scripted {
            answer: Mutex::new(Ok(Nodes::new())),
            delay: Mutex::new(Duration::ZERO),
            lookups: AtomicUsize::new(0),
        });
        s.set(nodes);
        s
    }
    fn set(&self, nodes: &[&NodeName]) {
        *self.answer.lock().unwrap() = Ok(nodes.iter().map(|n| (*n).clone()).collect());
    }
    fn fail(&self) {
        *self.answer.lock().unwrap() = Err(DiscoveryError::Lookup(LookupError {
            name: "app.test".into(),
            record: "A",
            reason: "no answer before the timeout".into(),
            nameservers: "10.0.0.1:53".into(),
        }));
    }
}

impl Strategy for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn discover(&self) -> DiscoverFuture<'_> {
        Box::pin(async move {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let delay = *self.delay.lock().unwrap();
            tokio::time::sleep(delay).await;
            self.answer.lock().unwrap().clone()
        })
    }
}

fn node(s: &str) -> NodeName {
    NodeName::parse(&format!("{s}@10.0.0.1")).unwrap()
}

const INTERVAL: Duration = Duration::from_secs(5);

fn config() -> TopologyConfig {
    TopologyConfig {
        interval: INTERVAL,
        jitter: 0.0,
        lookup_timeout: Duration::from_secs(2),
        backoff: Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
            jitter: 0.0,
        },
        ..TopologyConfig::default()
    }
}

fn start(m: &Arc<Recorder>, sources: &[Arc<Scripted>], config: TopologyConfig) -> TopologyHandle {
    let sources = sources.iter().map(|s| s.clone() as Arc<dyn Strategy>).collect();
    spawn(m.clone(), sources, config)
}

/// The next event matching `want`, failing after a minute of (virtual) time.
async fn until(
    rx: &mut broadcast::Receiver<TopologyEvent>,
    want: impl Fn(&TopologyEvent) -> bool,
) -> TopologyEvent {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if want(&e) => return e,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("event stream: {e}"),
            Err(_) => panic!("no matching event within 60 s"),
        }
    }
}

async fn polled(rx: &mut broadcast::Receiver<TopologyEvent>) {
    until(rx, |e| matches!(e, TopologyEvent::Polled { .. })).await;
}

#[tokio::test(start_paused = true)]
async fn first_poll_is_immediate_and_connects_every_node() {
    let (a, b) = (node("a"), node("b"));
    let m = Recorder::new();
    let src = Scripted::new(&[&a, &b]);
    let t0 = Instant::now();
    let h = start(&m, &[src], config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    until(&mut rx, |e| e == &TopologyEvent::Connected(b.clone())).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
    let mut calls = m.calls();
    calls.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(calls, vec![Call::Connect(a.clone()), Call::Connect(b.clone())]);
    let c = h.counters();
    assert_eq!(
        (c.discovered, c.connected, c.reconnect_attempts, c.polls),
        (2, 2, 0, 1)
    );
    assert_eq!((c.desired_nodes, c.connected_nodes), (2, 2));
    assert!(h.status().is_ready(None));
}

#[tokio::test(start_paused = true)]
async fn a_new_node_is_connected_within_one_interval() {
    let (a, b) = (node("a"), node("b"));
    let m = Recorder::new();
    let src = Scripted::new(&[&a]);
    let h = start(&m, std::slice::from_ref(&src), config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    let t0 = Instant::now();
    src.set(&[&a, &b]);
    until(&mut rx, |e| e == &TopologyEvent::Discovered(b.clone())).await;
    until(&mut rx, |e| e == &TopologyEvent::Connected(b.clone())).await;
    assert!(t0.elapsed() <= INTERVAL, "took {:?}", t0.elapsed());
    assert_eq!(
        m.calls()
            .iter()
            .filter(|c| **c == Call::Connect(a.clone()))
            .count(),
        1,
        "a connected once"
    );
}

#[tokio::test(start_paused = true)]
async fn a_vanished_node_is_disconnected_unless_pruning_is_off() {
    for prune in [true, false] {
        let (a, b) = (node("a"), node("b"));
        let m = Recorder::new();
        let src = Scripted::new(&[&a, &b]);
        let h = start(
            &m,
            std::slice::from_ref(&src),
            TopologyConfig { prune, ..config() },
        );
        let mut rx = h.subscribe();
        polled(&mut rx).await;
        src.set(&[&a]);
        until(&mut rx, |e| e == &TopologyEvent::Vanished(b.clone())).await;
        polled(&mut rx).await;
        tokio::task::yield_now().await;
        let disconnected = m.calls().contains(&Call::Disconnect(b.clone()));
        assert_eq!(disconnected, prune, "prune = {prune}");
        assert!(!m.calls().contains(&Call::Disconnect(a.clone())));
        assert_eq!(h.status().desired(), BTreeSet::from([a.clone()]));
        assert_eq!(h.counters().vanished, 1);
        assert_eq!(h.counters().disconnected, u64::from(prune));
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_or_empty_lookup_keeps_every_connection() {
    let (a, b) = (node("a"), node("b"));
    let m = Recorder::new();
    let src = Scripted::new(&[&a, &b]);
    let h = start(&m, std::slice::from_ref(&src), config());
    let mut rx = h.subscribe();
    polled(&mut rx).await;

    src.fail();
    until(&mut rx, |e| matches!(e, TopologyEvent::LookupFailed { .. })).await;
    polled(&mut rx).await;
    src.set(&[]);
    until(&mut rx, |e| matches!(e, TopologyEvent::LookupEmpty { .. })).await;
    polled(&mut rx).await;

    assert!(
        m.calls().iter().all(|c| matches!(c, Call::Connect(_))),
        "{:?}",
        m.calls()
    );
    assert_eq!(h.status().connected(), BTreeSet::from([a.clone(), b.clone()]));
    let c = h.counters();
    assert_eq!((c.lookup_failures, c.empty_lookups, c.disconnected), (1, 1, 0));

    // Changes are picked up once the source answers again.
    src.set(&[&a]);
    until(&mut rx, |e| e == &TopologyEvent::Disconnected(b.clone())).await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_source_times_out_as_a_failure() {
    let a = node("a");
    let m = Recorder::new();
    let src = Scripted::new(&[&a]);
    let h = start(&m, std::slice::from_ref(&src), config());
    let mut rx = h.subscribe();
    polled(&mut rx).await;
    *src.delay.lock().unwrap() = Duration::from_secs(30);
    let e = until(&mut rx, |e| matches!(e, TopologyEvent::LookupFailed { .. })).await;
    assert!(
        format!("{e:?}").contains("did not answer within 2000 ms"),
        "{e:?}"
    );
    assert_eq!(h.status().connected(), BTreeSet::from([a]));
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_is_reconnected_after_the_backoff() {
    let a = node("a");
    let m = Recorder::new();
    let h = start(&m, &[Scripted::new(&[&a])], config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    let t0 = Instant::now();
    m.drop_connection(&a, true);
    until(
        &mut rx,
        |e| matches!(e, TopologyEvent::Lost { node, .. } if node == &a),
    )
    .await;
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_millis(100),
        "one initial backoff, not a poll interval"
    );
    let c = h.counters();
    assert_eq!((c.lost, c.reconnect_attempts, c.connected), (1, 1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_drop_without_an_event_is_noticed_at_the_next_poll() {
    let a = node("a");
    let m = Recorder::new();
    let h = start(&m, &[Scripted::new(&[&a])], config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    let t0 = Instant::now();
    m.drop_connection(&a, false);
    until(&mut rx, |e| matches!(e, TopologyEvent::Lost { .. })).await;
    assert_eq!(t0.elapsed(), INTERVAL);
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
}

#[tokio::test(start_paused = true)]
async fn a_refusing_node_is_retried_with_growing_backoff() {
    let a = node("a");
    let m = Recorder::new();
    m.refuse(&a, true);
    let h = start(&m, &[Scripted::new(&[&a])], config());
    let mut rx = h.subscribe();
    let mut delays = Vec::new();
    for _ in 0..6 {
        match until(&mut rx, |e| matches!(e, TopologyEvent::ConnectFailed { .. })).await {
            TopologyEvent::ConnectFailed { retry_in, error, .. } => {
                assert!(error.contains("refused"));
                delays.push(retry_in.as_millis());
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(delays, vec![100, 200, 400, 800, 1600, 2000]);
    let st = h.status();
    assert_eq!(st.peers[0].failures, 6);
    assert!(st.peers[0]
        .last_error
        .as_deref()
        .unwrap_or("")
        .contains("refused"));
    assert!(!st.is_ready(None));
    m.refuse(&a, false);
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    let c = h.counters();
    assert_eq!((c.connect_failures, c.reconnect_attempts, c.connected), (6, 6, 1));
    assert_eq!(h.status().peers[0].failures, 0);
}

#[tokio::test(start_paused = true)]
async fn one_lookup_per_interval() {
    let src = Scripted::new(&[&node("a")]);
    let m = Recorder::new();
    let h = start(
        &m,
        std::slice::from_ref(&src),
        TopologyConfig {
            jitter: 0.05,
            ..config()
        },
    );
    let mut rx = h.subscribe();
    let t0 = Instant::now();
    for _ in 0..10 {
        polled(&mut rx).await;
    }
    // Polls at 0, then every 5 s +/- 5 %: the 10th poll starts between 42.75 s and 47.25 s.
    let e = t0.elapsed();
    assert!(
        e >= Duration::from_millis(42_750) && e <= Duration::from_millis(47_250),
        "{e:?}"
    );
    assert_eq!(src.lookups.load(Ordering::SeqCst), 10);
}

#[tokio::test(start_paused = true)]
async fn poll_now_does_not_wait_for_the_interval() {
    let (a, b) = (node("a"), node("b"));
    let src = Scripted::new(&[&a]);
    let m = Recorder::new();
    let h = start(&m, std::slice::from_ref(&src), config());
    let mut rx = h.subscribe();
    polled(&mut rx).await;
    let t0 = Instant::now();
    src.set(&[&a, &b]);
    h.poll_now();
    until(&mut rx, |e| e == &TopologyEvent::Connected(b.clone())).await;
    assert_eq!(t0.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_union_of_sources_is_desired_and_this_node_is_skipped() {
    let (a, b, me) = (node("a"), node("b"), node("me"));
    let (s1, s2) = (Scripted::new(&[&a, &me]), Scripted::new(&[&a, &b]));
    let m = Recorder::new();
    let h = start(
        &m,
        &[s1.clone(), s2.clone()],
        TopologyConfig {
            this_node: Some(me.clone()),
            ..config()
        },
    );
    let mut rx = h.subscribe();
    polled(&mut rx).await;
    assert_eq!(h.status().desired(), BTreeSet::from([a.clone(), b.clone()]));
    // `a` left one source but is still in the other: it stays.
    s2.set(&[&b]);
    polled(&mut rx).await;
    assert_eq!(h.status().desired(), BTreeSet::from([a.clone(), b.clone()]));
    // One source failing keeps its last answer while the other one changes.
    s1.fail();
    s2.set(&[&b, &node("c")]);
    polled(&mut rx).await;
    assert_eq!(
        h.status().desired(),
        BTreeSet::from([a.clone(), b.clone(), node("c")])
    );
    let st = h.status();
    assert!(matches!(&st.sources[0].last, SourceOutcome::Failed(e) if e.contains("timeout")));
    assert_eq!(
        st.sources[0].nodes,
        BTreeSet::from([a.clone(), me.clone()]),
        "last answer in force"
    );
    assert_eq!(st.sources[1].last, SourceOutcome::Answered);
    assert_eq!(st.failing_sources.len(), 1);
    assert!(!m.calls().contains(&Call::Connect(me)));
    assert!(!m.calls().iter().any(|c| matches!(c, Call::Disconnect(_))));
}

#[tokio::test(start_paused = true)]
async fn shutdown_disconnects_every_managed_node() {
    let (a, b) = (node("a"), node("b"));
    let m = Recorder::new();
    let h = start(&m, &[Scripted::new(&[&a, &b])], config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(b.clone())).await;
    h.shutdown().await;
    let disconnects: BTreeSet<Call> = m
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Disconnect(_)))
        .collect();
    assert_eq!(
        disconnects,
        BTreeSet::from([Call::Disconnect(a), Call::Disconnect(b)])
    );
    assert!(m.connected().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_node_that_connects_to_us_is_not_dialled() {
    let a = node("a");
    let m = Recorder::new();
    m.connected.lock().unwrap().insert(a.clone());
    let h = start(&m, &[Scripted::new(&[&a])], config());
    let mut rx = h.subscribe();
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    assert!(m.calls().is_empty(), "{:?}", m.calls());
}

#[tokio::test(start_paused = true)]
async fn not_ready_until_a_source_has_answered() {
    let a = node("a");
    let m = Recorder::new();
    let src = Scripted::new(&[]);
    src.fail();
    let h = start(&m, std::slice::from_ref(&src), config());
    let mut rx = h.subscribe();
    polled(&mut rx).await;
    assert!(!h.status().is_ready(None), "a failing source tells nothing");
    src.set(&[]);
    polled(&mut rx).await;
    assert!(!h.status().is_ready(None), "an empty answer tells nothing");
    assert!(!h.status().is_ready(Some(0)));
    src.set(&[&a]);
    until(&mut rx, |e| e == &TopologyEvent::Connected(a.clone())).await;
    assert!(h.status().is_ready(None));
    assert!(h.status().is_ready(Some(1)));
    assert!(!h.status().is_ready(Some(2)));
}
