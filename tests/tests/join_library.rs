//! The library API a Rust service uses to keep its own node in a cluster:
//! `Topology::builder().source(..).join(&node)` and `http::serve`, against pods running
//! real Erlang and Elixir nodes. The service's node runs in this test process, on the
//! bridge's address (the host side of the pods' network).

use std::time::Duration;

use beamlink::{EpmdMode, Node};
use beamlink_cluster::strategy::Source;
use beamlink_cluster::topology::{Topology, TopologyEvent};
use beamlink_cluster::{http, NodeName};
use beamlink_e2e::pods::PodCluster;

const SOON: Duration = Duration::from_secs(10);

/// Waits for the first event `pred` accepts; panics after `SOON`.
async fn until(
    events: &mut tokio::sync::broadcast::Receiver<TopologyEvent>,
    mut pred: impl FnMut(&TopologyEvent) -> bool,
) -> TopologyEvent {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(e) => panic!("event stream: {e}"),
            }
        }
    };
    tokio::time::timeout(SOON, wait)
        .await
        .expect("the event came in time")
}

#[test]
fn a_rust_service_joins_its_own_node_to_the_cluster() {
    let mut c = PodCluster::builder(2).elixir(1).start();
    let me = format!("svc@{}", c.net.bridge_ipv4());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cookie = c.cookie.clone();
    let service = c.service.clone();
    let dns = c.dns.addr();
    let (cluster, node, http_addr) = rt.block_on(async {
        let node = Node::builder(&me)
            .cookie(&cookie)
            .epmd(EpmdMode::Unpublished {
                epmd_port: 4369,
                peer_port: None,
            })
            .start()
            .await
            .expect("start the service's node");
        // What a service writes: a source, an interval, join.
        let cluster = Topology::builder()
            .source(Source::kubernetes_dns(&format!("{service}."), "app"))
            .nameserver(dns)
            .interval(Duration::from_secs(1))
            .join(&node)
            .expect("join");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http_addr = listener.local_addr().expect("address");
        tokio::spawn(http::serve(
            listener,
            cluster.http_state(None),
            std::future::pending(),
        ));
        (cluster, node, http_addr)
    });
    let mut events = cluster.subscribe();
    let names: Vec<NodeName> = c.node_names().iter().map(|n| n.parse().expect("name")).collect();
    rt.block_on(async {
        let mut missing = names.clone();
        while !missing.is_empty() {
            if let TopologyEvent::Connected(n) =
                until(&mut events, |e| matches!(e, TopologyEvent::Connected(_))).await
            {
                missing.retain(|m| *m != n);
            }
        }
    });
    for i in 0..2 {
        assert!(c.wait_nodeup(i, &me, SOON), "{} sees {me}", c.nodes[i].node());
        assert!(
            c.connected_nodes(i, true).contains(&me),
            "hidden at {}",
            c.nodes[i].node()
        );
        assert!(
            !c.connected_nodes(i, false).contains(&me),
            "not visible at {}",
            c.nodes[i].node()
        );
    }
    assert!(cluster.status().is_ready(None));
    assert_eq!(cluster.counters().connected_nodes, 2);

    // The service's node is a full node: the Elixir pod calls into it by name.
    let n1 = c.nodes[1].node().to_string();
    let v = rt
        .block_on(node.eval(&n1, "erlang:node().", SOON))
        .expect("eval on the Elixir pod");
    assert_eq!(v.to_string(), format!("'{n1}'"));
    let m = rt.block_on(async {
        let mut s = tokio::net::TcpStream::connect(http_addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
            .await
            .expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).await.expect("read");
        text
    });
    let key = format!("beamlink_peer_messages_in_total{{node=\"{n1}\"}} ");
    let got = m
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(got.is_some_and(|v| v >= 1), "{key} in\n{m}");

    // Killed and removed from DNS: lost, then vanished; shutdown disconnects the rest.
    let gone: NodeName = c.nodes[0].node().parse().expect("name");
    c.unpublish(0);
    c.nodes[0].kill();
    rt.block_on(until(&mut events, |e| {
        *e == TopologyEvent::Vanished(gone.clone())
    }));
    rt.block_on(cluster.shutdown());
    assert!(c.wait_nodedown(1, &me, SOON), "shutdown disconnected {n1}");
    rt.block_on(node.stop());
}
