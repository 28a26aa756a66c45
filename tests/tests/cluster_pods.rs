//! The pod harness with real BEAM nodes: the names discovery finds are the names the nodes
//! gave themselves and can be connected to (over IPv4 and IPv6, Erlang and Elixir), and a
//! cut link is a real network failure that the nodes notice.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beamlink_cluster::strategy::{DnsStrategy, Strategy};
use beamlink_cluster::{AddressFamilies, Resolver};
use beamlink_e2e::pods::{Dns, PodCluster, PodNet};

fn discover(dns: &Dns, service: &str, families: AddressFamilies) -> BTreeSet<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = Resolver::builder()
            .resolv_conf_text("options ndots:1\n")
            .nameserver(dns.addr())
            .timeout(Duration::from_millis(500))
            .build()
            .expect("resolver");
        let s = DnsStrategy::kubernetes(Arc::new(r), service, "app").families(families);
        s.discover()
            .await
            .expect("discovery")
            .into_iter()
            .map(|n| n.to_string())
            .collect()
    })
}

#[test]
fn discovered_pods_are_reachable_by_name_and_a_cut_link_is_noticed() {
    let mut c = PodCluster::builder(3)
        .elixir(2)
        .arg("-kernel")
        .arg("net_ticktime")
        .arg("4")
        .start();
    let found = discover(&c.dns, &c.service, AddressFamilies::Both);
    assert_eq!(
        found,
        c.node_names(),
        "discovery finds exactly the names the nodes gave themselves"
    );

    let n1 = c.nodes[1].node().to_string();
    let n2 = c.nodes[2].node().to_string();
    assert_eq!(c.nodes[0].eval(&format!("net_adm:ping('{n1}').")), "pong");
    assert_eq!(
        c.nodes[0].eval(&format!("net_adm:ping('{n2}').")),
        "pong",
        "Erlang pod to Elixir pod"
    );
    assert_eq!(
        c.nodes[2].eval(&format!("Node.ping(:\"{n1}\")")),
        ":pong",
        "Elixir pod to Erlang pod"
    );

    // Cut pod 1 off: pod 0 sees it go down within net_ticktime (4 s, so at most ~5 s).
    assert_eq!(c.nodes[0].eval("net_kernel:monitor_nodes(true)."), "ok");
    let t0 = Instant::now();
    c.net.cut(1);
    let down = c.nodes[0].eval_timeout(
        &format!("receive {{nodedown, '{n1}'}} -> down after 20000 -> still_up end."),
        Duration::from_secs(25),
    );
    assert_eq!(down, "down");
    let took = t0.elapsed();
    println!("cut link noticed in {took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");

    c.net.restore(1);
    assert_eq!(
        c.nodes[0].eval(&format!("net_adm:ping('{n1}').")),
        "pong",
        "healed after restore"
    );

    // A pod removed from DNS disappears from discovery; a new pod appears.
    c.unpublish(1);
    let i = c.add_pod(false);
    let mut want = c.node_names();
    want.remove(&n1);
    assert_eq!(discover(&c.dns, &c.service, AddressFamilies::Both), want);
    let n3 = c.nodes[i].node().to_string();
    assert_eq!(c.nodes[0].eval(&format!("net_adm:ping('{n3}').")), "pong");
}

#[test]
fn an_ipv6_cluster_is_discovered_by_aaaa_with_the_names_the_nodes_gave_themselves() {
    let mut c = PodCluster::builder(2).ipv6().start();
    let names = c.node_names();
    assert!(names.iter().all(|n| n.contains(':')), "{names:?}");
    assert_eq!(discover(&c.dns, &c.service, AddressFamilies::V6), names);
    assert_eq!(discover(&c.dns, &c.service, AddressFamilies::V4), BTreeSet::new());
    let n1 = c.nodes[1].node().to_string();
    assert_eq!(
        c.nodes[0].eval(&format!("net_adm:ping('{n1}').")),
        "pong",
        "IPv6 distribution between pods"
    );
}

#[test]
fn a_pod_resolves_the_bare_service_name_as_in_kubernetes() {
    let search = ["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local"];
    let mut c = PodCluster::builder(2).elixir(1).search(&search).start();
    let want = c.node_names();

    // libcluster's Kubernetes.DNS, unchanged, in the Erlang pod and in the Elixir pod.
    let erl = c.nodes[0].eval(
        "{ok, {hostent, _, [], inet, _, As}} = inet_res:getbyname(\"app-headless\", a), \
         string:join(lists:sort([\"app@\" ++ inet_parse:ntoa(A) || A <- As]), \" \").",
    );
    let ex = c.nodes[1].eval(
        "{:ok, {:hostent, _, [], :inet, _, as}} = :inet_res.getbyname(~c\"app-headless\", :a); \
         as |> Enum.map(&:inet_parse.ntoa/1) |> Enum.map(&\"app@#{&1}\") |> Enum.sort() |> Enum.join(\" \")",
    );
    let as_set = |s: String| {
        s.trim_matches('"')
            .split(' ')
            .map(str::to_string)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(as_set(erl), want, "Erlang pod");
    assert_eq!(as_set(ex), want, "Elixir pod");

    // beamlink with the same resolv.conf and the same bare name.
    let conf = c.net.resolv_conf_path(0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ours: BTreeSet<String> = rt.block_on(async {
        let r = Resolver::builder().resolv_conf(&conf).build().expect("resolver");
        let s = DnsStrategy::kubernetes(Arc::new(r), "app-headless", "app");
        s.discover()
            .await
            .expect("discovery")
            .into_iter()
            .map(|n| n.to_string())
            .collect()
    });
    assert_eq!(ours, want);
    assert_eq!(
        c.net.pod(0).exec("cat", &["/etc/resolv.conf"]).stdout,
        std::fs::read(&conf).unwrap()
    );
}

#[test]
fn pod_nodes_report_hidden_and_visible_connections_by_event() {
    let mut c = PodCluster::builder(2).elixir(1).start();
    // A hidden Erlang node in a pod of its own, like `beamlink join` will be.
    let client = c.net.add_pod();
    let pod = c.net.pod(client).clone();
    let epmd = pod.start_epmd();
    let mut hidden = pod
        .erlang(&epmd)
        .name("hidden")
        .cookie(&c.cookie)
        .hidden()
        .start();
    let (n0, n1, h) = (
        c.nodes[0].node().to_string(),
        c.nodes[1].node().to_string(),
        hidden.node().to_string(),
    );

    for (i, n) in [(0, &n0), (1, &n1)] {
        assert_eq!(hidden.eval(&format!("net_adm:ping('{n}').")), "pong");
        assert!(
            c.wait_nodeup(i, &h, Duration::from_secs(10)),
            "pod {i} sees the hidden node"
        );
        assert_eq!(
            c.connected_nodes(i, true),
            BTreeSet::from([h.clone()]),
            "pod {i}: hidden"
        );
        assert!(!c.connected_nodes(i, false).contains(&h), "pod {i}: not visible");
    }

    // The hidden node disconnects: each pod gets its nodedown event.
    assert_eq!(hidden.eval(&format!("erlang:disconnect_node('{n0}').")), "true");
    assert!(
        c.wait_nodedown(0, &h, Duration::from_secs(10)),
        "Erlang pod sees it go"
    );
    assert_eq!(hidden.eval(&format!("erlang:disconnect_node('{n1}').")), "true");
    assert!(
        c.wait_nodedown(1, &h, Duration::from_secs(10)),
        "Elixir pod sees it go"
    );
    assert!(c.connected_nodes(1, true).is_empty());
    assert!(
        !c.wait_nodeup(0, &h, Duration::from_millis(300)),
        "no reconnection by itself"
    );
}

#[test]
fn everything_a_pod_net_creates_is_removed_even_when_the_test_panics() {
    let created = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let net = PodNet::new(2);
        let dns = net.start_dns();
        let epmd = net.pod(1).start_epmd();
        let beam = net.pod(1).erlang(&epmd).name("app").start();
        let namespaces: Vec<String> = net.pods().iter().map(|p| p.netns.clone()).collect();
        let links: Vec<String> = net.pods().iter().map(|p| p.veth.clone()).collect();
        let pids = vec![dns.pid().unwrap(), epmd.os_pid(), beam.os_pid()];
        *created.lock().unwrap() = Some((namespaces, links, format!("blb{}", net.x), pids));
        panic!("a failing test");
    });
    assert!(result.is_err());
    let (namespaces, links, bridge, pids) = created.lock().unwrap().take().expect("the test ran");
    let listed = String::from_utf8(
        std::process::Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for ns in &namespaces {
        assert!(
            !listed.split_whitespace().any(|w| w == ns),
            "namespace {ns} left behind"
        );
    }
    for link in links.iter().chain([&bridge]) {
        let out = std::process::Command::new("ip")
            .args(["link", "show", link])
            .output()
            .unwrap();
        assert!(!out.status.success(), "link {link} left behind");
    }
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} left running"
        );
    }
}
