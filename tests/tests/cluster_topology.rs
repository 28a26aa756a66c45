//! The topology loop against a real DNS server whose records change: pods added to and
//! removed from the headless-service name, the server stopped and started. The loop drives
//! a recording `Membership` (the loop's own contract: every connect and disconnect call is
//! kept), so what is checked is which calls the loop makes and when.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use beamlink_cluster::strategy::{DnsStrategy, Source, Strategy};
use beamlink_cluster::topology::{self, Topology, TopologyEvent};
use beamlink_cluster::{ConnectError, Membership, NodeEvent, NodeName, Resolver, TopologyConfig};
use beamlink_e2e::pods::{Dns, PodNet, POD_EPMD_PORT};
use tokio::sync::broadcast;
use tokio::time::Instant;

const SERVICE: &str = "app-headless.ns1.svc.cluster.local";
const INTERVAL: Duration = Duration::from_millis(2000);
/// The poll interval with its 5 % jitter, plus up to a second for the lookup and the
/// reaction on a loaded machine: still well under two intervals.
const WITHIN_ONE_INTERVAL: Duration = Duration::from_millis(2100 + 1000);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Connect(String),
    Disconnect(String),
}

/// Connects to anything at once and records every call.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<Call>>,
    connected: Mutex<BTreeSet<NodeName>>,
    events: Mutex<Option<broadcast::Sender<NodeEvent>>>,
}

impl Recorder {
    fn sender(&self) -> broadcast::Sender<NodeEvent> {
        self.events
            .lock()
            .unwrap()
            .get_or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }
    fn disconnects(&self) -> Vec<String> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter_map(|c| {
                if let Call::Disconnect(n) = c {
                    Some(n.clone())
                } else {
                    None
                }
            })
            .collect()
    }
}

impl Membership for Recorder {
    async fn connect(&self, node: &NodeName) -> Result<(), ConnectError> {
        self.calls.lock().unwrap().push(Call::Connect(node.to_string()));
        self.connected.lock().unwrap().insert(node.clone());
        let _ = self.sender().send(NodeEvent::Up(node.clone()));
        Ok(())
    }
    async fn disconnect(&self, node: &NodeName) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Disconnect(node.to_string()));
        self.connected.lock().unwrap().remove(node);
    }
    fn connected(&self) -> BTreeSet<NodeName> {
        self.connected.lock().unwrap().clone()
    }
    fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.sender().subscribe()
    }
}

fn resolver(dns: &Dns) -> Arc<Resolver> {
    Arc::new(
        Resolver::builder()
            .resolv_conf_text("options ndots:1\n")
            .nameserver(dns.addr())
            .timeout(Duration::from_millis(300))
            .attempts(1)
            .build()
            .expect("resolver"),
    )
}

async fn until(
    rx: &mut broadcast::Receiver<TopologyEvent>,
    within: Duration,
    want: impl Fn(&TopologyEvent) -> bool,
) -> TopologyEvent {
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if want(&e) => return e,
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => panic!("event stream: {e}"),
            Err(_) => panic!("no matching event within {within:?}"),
        }
    }
}

fn node(ip: impl std::fmt::Display) -> NodeName {
    NodeName::parse(&format!("app@{ip}")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_follows_dns_changes_and_rides_out_a_dns_outage() {
    let net = PodNet::new(3);
    let mut dns = net.start_dns();
    let (n0, n1, n2) = (
        node(net.pod(0).ipv4),
        node(net.pod(1).ipv4),
        node(net.pod(2).ipv4),
    );
    dns.add(SERVICE, net.pod(0).ipv4.into());
    dns.add(SERVICE, net.pod(1).ipv4.into());

    let m = Arc::new(Recorder::default());
    let source: Arc<dyn Strategy> = Arc::new(DnsStrategy::kubernetes(resolver(&dns), SERVICE, "app"));
    let config = TopologyConfig {
        interval: INTERVAL,
        lookup_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let h = topology::spawn(m.clone(), vec![source], config);
    let mut rx = h.subscribe();
    until(&mut rx, Duration::from_secs(10), |e| {
        matches!(e, TopologyEvent::Polled { desired: 2 })
    })
    .await;
    until(&mut rx, Duration::from_secs(10), |_| {
        h.status().connected().len() == 2
    })
    .await;
    assert_eq!(h.status().connected(), BTreeSet::from([n0.clone(), n1.clone()]));

    // A pod added to DNS is connected within one interval.
    dns.add(SERVICE, net.pod(2).ipv4.into());
    let t0 = Instant::now();
    until(&mut rx, WITHIN_ONE_INTERVAL, |e| {
        e == &TopologyEvent::Connected(n2.clone())
    })
    .await;
    println!("pod added to DNS -> connected in {:?}", t0.elapsed());

    // A pod removed from DNS is disconnected within one interval.
    dns.remove(SERVICE, net.pod(0).ipv4.into());
    let t0 = Instant::now();
    until(&mut rx, WITHIN_ONE_INTERVAL, |e| {
        e == &TopologyEvent::Disconnected(n0.clone())
    })
    .await;
    println!("pod removed from DNS -> disconnected in {:?}", t0.elapsed());
    assert_eq!(m.disconnects(), vec![n0.to_string()]);

    // DNS down: lookups fail, nothing is disconnected, for several intervals.
    dns.stop();
    for _ in 0..3 {
        until(&mut rx, Duration::from_secs(10), |e| {
            matches!(e, TopologyEvent::LookupFailed { .. })
        })
        .await;
    }
    assert_eq!(
        m.disconnects(),
        vec![n0.to_string()],
        "nothing disconnected during the outage"
    );
    assert_eq!(h.status().connected(), BTreeSet::from([n1.clone(), n2.clone()]));
    let c = h.counters();
    assert!(c.lookup_failures >= 3, "{c:?}");
    assert_eq!(h.status().failing_sources.len(), 1);

    // Changes made while DNS was down are picked up once it is back.
    dns.remove(SERVICE, net.pod(1).ipv4.into());
    dns.start();
    let t0 = Instant::now();
    until(&mut rx, WITHIN_ONE_INTERVAL, |e| {
        e == &TopologyEvent::Disconnected(n1.clone())
    })
    .await;
    println!("DNS back -> change applied in {:?}", t0.elapsed());
    assert!(h.status().failing_sources.is_empty());

    // Every record gone: an empty answer keeps the last connection.
    dns.remove(SERVICE, net.pod(2).ipv4.into());
    until(&mut rx, Duration::from_secs(10), |e| {
        matches!(e, TopologyEvent::LookupEmpty { .. })
    })
    .await;
    until(&mut rx, Duration::from_secs(10), |e| {
        matches!(e, TopologyEvent::LookupEmpty { .. })
    })
    .await;
    assert_eq!(h.status().connected(), BTreeSet::from([n2.clone()]));
    assert_eq!(m.disconnects(), vec![n0.to_string(), n1.to_string()]);

    let c = h.counters();
    assert_eq!(
        (c.discovered, c.vanished, c.connected, c.disconnected),
        (3, 2, 3, 2),
        "{c:?}"
    );
    assert!(c.empty_lookups >= 2, "{c:?}");
    h.shutdown().await;
    assert_eq!(
        m.disconnects(),
        vec![n0.to_string(), n1.to_string(), n2.to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_follows_nodes_registering_at_pod_epmds_plus_a_static_node() {
    let net = PodNet::new(2);
    let (e0, e1) = (net.pod(0).start_epmd(), net.pod(1).start_epmd());
    let mut app0 = net.pod(0).erlang(&e0).name("app").start();
    let n0 = NodeName::parse(app0.node()).unwrap();
    let fixed = NodeName::parse("static@10.9.9.9").unwrap();

    let m = Arc::new(Recorder::default());
    let hosts = net.pods().iter().map(|p| p.ipv4.to_string()).collect();
    let config = TopologyConfig {
        interval: INTERVAL,
        lookup_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    // Through the library's one-call API; no DNS source, so no resolver is configured.
    let h = Topology::builder()
        .source(Source::Epmd {
            hosts,
            port: POD_EPMD_PORT,
        })
        .source(Source::Nodes(vec![fixed.clone()]))
        .config(config)
        .spawn(m.clone())
        .expect("start the loop");
    let mut rx = h.subscribe();
    until(&mut rx, Duration::from_secs(10), |_| {
        h.status().connected().len() == 2
    })
    .await;
    assert_eq!(
        h.status().connected(),
        BTreeSet::from([n0.clone(), fixed.clone()])
    );

    // A node starts in pod 1: it registers at its EPMD and is connected within one interval.
    let app1 =
        tokio::task::block_in_place(|| net.pod(1).erlang(&e1).name("app").cookie(app0.cookie()).start());
    let n1 = NodeName::parse(app1.node()).unwrap();
    let t0 = Instant::now();
    until(&mut rx, WITHIN_ONE_INTERVAL, |e| {
        e == &TopologyEvent::Connected(n1.clone())
    })
    .await;
    println!("node registered at EPMD -> connected in {:?}", t0.elapsed());

    // The node in pod 0 stops: EPMD forgets it, and the loop disconnects it.
    tokio::task::block_in_place(|| app0.kill());
    let t0 = Instant::now();
    until(&mut rx, WITHIN_ONE_INTERVAL, |e| {
        e == &TopologyEvent::Disconnected(n0.clone())
    })
    .await;
    println!("node gone from EPMD -> disconnected in {:?}", t0.elapsed());
    assert_eq!(m.disconnects(), vec![n0.to_string()]);
    assert_eq!(h.status().connected(), BTreeSet::from([n1, fixed]));
}
