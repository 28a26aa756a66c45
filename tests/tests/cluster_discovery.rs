//! Discovery strategies against a real DNS server (dnsmasq) and real EPMDs and BEAM nodes in
//! network namespaces. Each node name is compared with the one Erlang itself builds the
//! way libcluster does (`inet:ntoa/1` of `inet_res` answers, SRV targets, `net_adm:names/1`).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use beamlink_cluster::strategy::{
    kubernetes_srv_name, DnsStrategy, EpmdHosts, HostList, SrvStrategy, Strategy, DEFAULT_CLUSTER_DOMAIN,
};
use beamlink_cluster::{AddressFamilies, DiscoveryError, Resolver};
use beamlink_e2e::pods::{Dns, PodNet, POD_EPMD_PORT};
use beamlink_e2e::{Beam, Epmd};

const SERVICE: &str = "app-headless.ns1.svc.cluster.local";

/// A resolver that asks only the test's dnsmasq, with no search list, failing fast.
fn resolver(dns: &Dns) -> Arc<Resolver> {
    Arc::new(
        Resolver::builder()
            .resolv_conf_text("options ndots:1\n")
            .nameserver(dns.addr())
            .timeout(Duration::from_millis(500))
            .attempts(1)
            .build()
            .expect("resolver"),
    )
}

fn discover(s: &dyn Strategy) -> Result<BTreeSet<String>, DiscoveryError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(s.discover())
        .map(|nodes| nodes.into_iter().map(|n| n.to_string()).collect())
}

/// Evaluates an Erlang expression that yields a list of strings; returns them as a set.
fn erl_strings(beam: &mut Beam, list_expr: &str) -> BTreeSet<String> {
    let out = beam.eval(&format!("string:join(lists:sort({list_expr}), \" \")."));
    assert!(
        out.starts_with('"') && out.ends_with('"'),
        "unexpected answer from {}: {out}",
        beam.node()
    );
    out.trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// `{{10,245,X,1},53}` for `inet_res` options.
fn erl_nameserver(dns: &Dns) -> String {
    match dns.addr().ip() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!(
                "[{{nameservers, [{{{{{},{},{},{}}}, 53}}]}}]",
                o[0], o[1], o[2], o[3]
            )
        }
        IpAddr::V6(_) => unreachable!("dnsmasq listens on the bridge's IPv4 address"),
    }
}

/// An Erlang node in the host namespace, to compute what libcluster would.
fn oracle() -> (Epmd, Beam) {
    let epmd = Epmd::start();
    let beam = Beam::erlang().epmd(epmd.port).start();
    (epmd, beam)
}

#[test]
fn kubernetes_dns_names_are_those_libcluster_builds_for_a_and_aaaa() {
    let net = PodNet::new(3);
    let mut dns = net.start_dns();
    for pod in net.pods() {
        dns.add(SERVICE, pod.ipv4.into());
    }
    for pod in &net.pods()[..2] {
        dns.add(SERVICE, pod.ipv6.into());
    }
    let (_epmd, mut erl) = oracle();
    let opts = erl_nameserver(&dns);
    let a = format!("[\"app@\" ++ inet:ntoa(A) || A <- inet_res:lookup(\"{SERVICE}\", in, a, {opts})]");
    let aaaa = format!("[\"app@\" ++ inet:ntoa(A) || A <- inet_res:lookup(\"{SERVICE}\", in, aaaa, {opts})]");
    let want_v4 = erl_strings(&mut erl, &a);
    let want_both = erl_strings(&mut erl, &format!("{a} ++ {aaaa}"));
    assert_eq!(want_v4.len(), 3);
    assert_eq!(want_both.len(), 5);

    let r = resolver(&dns);
    assert_eq!(
        discover(&DnsStrategy::kubernetes(r.clone(), SERVICE, "app")).unwrap(),
        want_both
    );
    assert_eq!(
        discover(&DnsStrategy::poll(r.clone(), SERVICE, "app")).unwrap(),
        want_v4
    );
    let v6 = discover(&DnsStrategy::kubernetes(r, SERVICE, "app").families(AddressFamilies::V6)).unwrap();
    let x = net.x;
    assert_eq!(
        v6,
        BTreeSet::from([format!("app@fd24:5:{x}::11"), format!("app@fd24:5:{x}::12")])
    );
}

#[test]
fn srv_names_are_those_libcluster_builds() {
    let net = PodNet::new(1);
    let mut dns = net.start_dns();
    let name = kubernetes_srv_name("app-headless", "ns1", DEFAULT_CLUSTER_DOMAIN);
    assert_eq!(name, "app-headless.ns1.svc.cluster.local.");
    let fqdn = name.trim_end_matches('.');
    for i in 0..3 {
        dns.add_srv(fqdn, &format!("app-{i}.{fqdn}"), 4369);
    }
    let (_epmd, mut erl) = oracle();
    let opts = erl_nameserver(&dns);
    let want = erl_strings(
        &mut erl,
        &format!("[\"app@\" ++ T || {{_, _, _, T}} <- inet_res:lookup(\"{name}\", in, srv, {opts})]"),
    );
    let expected: BTreeSet<String> = (0..3).map(|i| format!("app@app-{i}.{fqdn}")).collect();
    assert_eq!(want, expected, "what Erlang builds");
    let r = resolver(&dns);
    assert_eq!(
        discover(&SrvStrategy::new(r.clone(), &name, "app")).unwrap(),
        expected
    );

    dns.remove_srv(fqdn, "app-1.app-headless.ns1.svc.cluster.local", 4369);
    let got = discover(&SrvStrategy::new(r, &name, "app")).unwrap();
    assert_eq!(got.len(), 2);
    assert!(!got.contains(&format!("app@app-1.{fqdn}")));
}

#[test]
fn a_short_name_resolves_through_the_resolv_conf_search_list() {
    let net = PodNet::new(2);
    let mut dns = net.start_dns();
    for pod in net.pods() {
        dns.add(SERVICE, pod.ipv4.into());
    }
    let want: BTreeSet<String> = net.pods().iter().map(|p| format!("app@{}", p.ipv4)).collect();
    let search = "search ns1.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5 timeout:1 attempts:1\n";

    // A pod's resolv.conf, pointing at the test's DNS server.
    let conf = net.dir().join("resolv.conf");
    std::fs::write(&conf, format!("nameserver {}\n{search}", net.bridge_ipv4())).unwrap();
    let r = Arc::new(Resolver::builder().resolv_conf(&conf).build().unwrap());
    assert_eq!(
        discover(&DnsStrategy::poll(r.clone(), "app-headless", "app")).unwrap(),
        want
    );
    assert_eq!(
        discover(&DnsStrategy::poll(r.clone(), "app-headless.ns1", "app")).unwrap(),
        want
    );
    // A and AAAA: the AAAA search meets NODATA for the service, NXDOMAIN for the other
    // search domains and REFUSED for the bare name: no AAAA records, not a failure.
    assert_eq!(
        discover(&DnsStrategy::kubernetes(r.clone(), "app-headless", "app")).unwrap(),
        want
    );
    // A name in no search domain: empty, not a failure.
    assert_eq!(
        discover(&DnsStrategy::kubernetes(r, "nobody", "app")).unwrap(),
        BTreeSet::new()
    );

    // A resolv.conf whose nameserver does not answer: the override replaces only the server.
    let dead = net.dir().join("resolv-dead.conf");
    std::fs::write(&dead, format!("nameserver 127.0.0.9\n{search}")).unwrap();
    let r = Arc::new(Resolver::builder().resolv_conf(&dead).build().unwrap());
    assert!(matches!(
        discover(&DnsStrategy::poll(r, "app-headless", "app")),
        Err(DiscoveryError::Lookup(_))
    ));
    let r = Arc::new(
        Resolver::builder()
            .resolv_conf(&dead)
            .nameserver(dns.addr())
            .build()
            .unwrap(),
    );
    assert_eq!(
        discover(&DnsStrategy::poll(r, "app-headless", "app")).unwrap(),
        want
    );
}

#[test]
fn a_stopped_dns_server_is_a_failure_and_a_missing_name_is_an_empty_answer() {
    let net = PodNet::new(1);
    let mut dns = net.start_dns();
    dns.add(SERVICE, net.pod(0).ipv4.into());
    let r = resolver(&dns);

    let missing = DnsStrategy::kubernetes(r.clone(), "nobody.ns1.svc.cluster.local", "app");
    assert_eq!(
        discover(&missing).unwrap(),
        BTreeSet::new(),
        "NXDOMAIN is an empty answer"
    );
    let no_aaaa = DnsStrategy::kubernetes(r.clone(), SERVICE, "app").families(AddressFamilies::V6);
    assert_eq!(
        discover(&no_aaaa).unwrap(),
        BTreeSet::new(),
        "no AAAA records is an empty answer"
    );
    let srv = SrvStrategy::new(r.clone(), SERVICE, "app");
    assert_eq!(
        discover(&srv).unwrap(),
        BTreeSet::new(),
        "no SRV records is an empty answer"
    );
    let refused = DnsStrategy::kubernetes(r.clone(), "app.example.org", "app");
    assert!(
        matches!(discover(&refused), Err(DiscoveryError::Lookup(_))),
        "REFUSED is a failure"
    );

    dns.stop();
    let dns_a = DnsStrategy::kubernetes(r.clone(), SERVICE, "app");
    let t0 = Instant::now();
    let err = discover(&dns_a).expect_err("a stopped DNS server must be an error, not an empty set");
    let text = err.to_string();
    assert!(
        text.contains(SERVICE) && text.contains(&dns.addr().to_string()),
        "{text}"
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(discover(&SrvStrategy::new(r.clone(), SERVICE, "app")).is_err());

    dns.start();
    assert_eq!(
        discover(&dns_a).unwrap(),
        BTreeSet::from([format!("app@{}", net.pod(0).ipv4)])
    );
}

#[test]
fn epmd_hosts_find_the_names_net_adm_finds() {
    let net = PodNet::new(3);
    let (p0, p1, p2) = (net.pod(0), net.pod(1), net.pod(2));
    let (e0, e1) = (p0.start_epmd(), p1.start_epmd());
    let mut app0 = p0.erlang(&e0).name("app").start();
    let worker0 = p0.erlang(&e0).name("worker").cookie(app0.cookie()).start();
    let app1 = p1.erlang(&e1).name("app").cookie(app0.cookie()).start();
    // Pod 2 runs no EPMD: it is skipped, not an error.
    let hosts: Vec<String> = [p0, p1, p2].iter().map(|p| p.ipv4.to_string()).collect();

    let erl_hosts = hosts
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(",");
    let want = erl_strings(
        &mut app0,
        &format!("[N ++ \"@\" ++ H || H <- [{erl_hosts}], {{ok, Ns}} <- [net_adm:names(H)], {{N, _}} <- Ns]"),
    );
    let expected = BTreeSet::from([
        app0.node().to_string(),
        worker0.node().to_string(),
        app1.node().to_string(),
    ]);
    assert_eq!(want, expected, "what net_adm:names/1 finds");

    let all = EpmdHosts::new(HostList::Hosts(hosts.clone()), POD_EPMD_PORT);
    assert_eq!(discover(&all).unwrap(), expected);
    let only_app = EpmdHosts::new(HostList::Hosts(hosts), POD_EPMD_PORT).only_names(["app".to_string()]);
    assert_eq!(
        discover(&only_app).unwrap(),
        BTreeSet::from([app0.node().to_string(), app1.node().to_string()])
    );
    let none = EpmdHosts::new(HostList::Hosts(vec![p2.ipv4.to_string()]), POD_EPMD_PORT);
    assert!(
        matches!(discover(&none), Err(DiscoveryError::Epmd { .. })),
        "no EPMD answered: an error"
    );

    // The same hosts in a .hosts.erlang file, which Erlang reads with file:consult/1.
    let file = net.dir().join(".hosts.erlang");
    std::fs::write(
        &file,
        format!("% pods\n'{}'.\n'{}'.\n\"{}\".\n", p0.ipv4, p1.ipv4, p2.ipv4),
    )
    .unwrap();
    let consulted = erl_strings(
        &mut app0,
        &format!(
            "begin {{ok, Hs}} = file:consult(\"{}\"), [atom_to_list(N) ++ \"@\" ++ H || H0 <- Hs, H <- [if is_atom(H0) -> atom_to_list(H0); true -> H0 end], {{ok, Ns}} <- [net_adm:names(H)], N <- [list_to_atom(N1) || {{N1, _}} <- Ns]] end",
            file.display()
        ),
    );
    assert_eq!(consulted, expected);
    let from_file = EpmdHosts::new(HostList::File(file.clone()), POD_EPMD_PORT);
    assert_eq!(discover(&from_file).unwrap(), expected);

    std::fs::write(&file, "'unterminated.\n").unwrap();
    assert!(matches!(discover(&from_file), Err(DiscoveryError::HostsFile(_))));
    drop((worker0, app1));
}
