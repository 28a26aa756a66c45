//! `beamlink join` in a cluster of pods: network namespaces with their own addresses, EPMD
//! and real BEAM nodes `app@IP` (Erlang and Elixir), dnsmasq answering the headless-service
//! name. The real binary runs in its own pod, configured like the Kubernetes manifest
//! (environment only) or with flags; the tests wait on its stdout lines (one per
//! membership change), on `/readyz` and `/metrics` fetched over HTTP, and on events inside
//! the BEAM nodes (`net_kernel:monitor_nodes`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use beamlink_e2e::pods::{Pod, PodCluster};
use beamlink_e2e::{beamlink_bin, eventually, http_get, run_beamlink};

/// Pod tests run one at a time: they measure detection times on a 2-core machine.
static SERIAL: Mutex<()> = Mutex::new(());

const INTERVAL: Duration = Duration::from_secs(1);
const HTTP_PORT: u16 = 8080;
/// How long anything may take that should take about one interval plus a lookup and a
/// connection setup.
const SOON: Duration = Duration::from_secs(10);

/// A `beamlink join` process running in a pod; killed on drop.
struct Join {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Its log (stderr), shown when a wait fails.
    log: Arc<Mutex<Vec<String>>>,
    http: SocketAddr,
    name: String,
}

impl Join {
    /// Starts `beamlink join ARGS` in `pod` with `env`, cookie from RELEASE_COOKIE, its name
    /// from POD_IP, HTTP on the pod's address.
    fn start(pod: &Pod, ipv6: bool, cookie: &str, args: &[&str], env: &[(&str, String)]) -> Join {
        let bin = beamlink_bin();
        let ip: IpAddr = if ipv6 { pod.ipv6.into() } else { pod.ipv4.into() };
        let http = SocketAddr::new(pod.ipv4.into(), HTTP_PORT);
        let home = std::env::temp_dir();
        let mut cmd = pod.command(bin.to_str().expect("binary path"));
        cmd.arg("join")
            .args(args)
            .env_remove("BEAMLINK_COOKIE")
            .env("HOME", &home)
            .env("RELEASE_COOKIE", cookie)
            .env("POD_IP", ip.to_string())
            .env("BEAMLINK_HTTP", http.to_string())
            .env("BEAMLINK_INTERVAL", "1")
            .env("BEAMLINK_NET_TICKTIME", "4")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start beamlink join");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let name = format!("beamlink@{ip}");
        let mut j = Join {
            child,
            lines,
            seen: Vec::new(),
            log,
            http,
            name: name.clone(),
        };
        let started = if args.contains(&"json") {
            serde_json::json!({"event": "started", "node": name}).to_string()
        } else {
            format!("started {name}")
        };
        j.wait_line(SOON, &started);
        j
    }

    /// What it printed on stdout and its last log lines, for failure messages.
    fn transcript(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let tail = &log[log.len().saturating_sub(40)..];
        format!(
            "stdout:\n{}\nlast log lines:\n{}",
            self.seen.join("\n"),
            tail.join("\n")
        )
    }

    /// Waits for a stdout line equal to `want` or starting with `want` and a space or colon;
    /// panics with what was seen if none comes in time. Returns the line.
    fn wait_line(&mut self, timeout: Duration, want: &str) -> String {
        self.try_wait_line(timeout, want).unwrap_or_else(|| {
            panic!(
                "beamlink join printed no {want:?} within {timeout:?}; {}",
                self.transcript()
            )
        })
    }

    /// Waits until every line of `wants` has been printed, in any order.
    fn wait_lines(&mut self, timeout: Duration, wants: &[String]) {
        let mut left: Vec<&String> = wants.iter().collect();
        let deadline = Instant::now() + timeout;
        while !left.is_empty() {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(wait) else {
                panic!(
                    "beamlink join did not print {left:?} within {timeout:?}; {}",
                    self.transcript()
                );
            };
            self.seen.push(line.clone());
            left.retain(|w| **w != line);
        }
    }

    fn try_wait_line(&mut self, timeout: Duration, want: &str) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            let matches = line == want
                || line
                    .strip_prefix(want)
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(' '));
            if matches {
                return Some(line);
            }
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.http, path).unwrap_or_else(|e| panic!("GET {path} from beamlink join: {e}"))
    }

    /// Polls /readyz until it answers `code`; panics with the last answer otherwise.
    fn wait_ready(&self, code: u16, timeout: Duration) -> String {
        let mut last = (0, String::new());
        let ok = eventually(timeout, || {
            last = http_get(self.http, "/readyz").unwrap_or((0, String::new()));
            last.0 == code
        });
        assert!(
            ok,
            "/readyz did not answer {code} within {timeout:?}; last: {last:?}; {}",
            self.transcript()
        );
        last.1
    }

    fn metrics(&self) -> BTreeMap<String, f64> {
        let (code, body) = self.get("/metrics");
        assert_eq!(code, 200, "{body}");
        parse_metrics(&body)
    }

    fn metric(&self, name: &str) -> f64 {
        self.metrics()
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("no metric {name}"))
    }

    fn nodes_json(&self) -> serde_json::Value {
        let (code, body) = self.get("/nodes");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("/nodes is JSON")
    }

    /// SIGTERM, then the exit status (bounded).
    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child (`ip netns exec` execs the binary in place).
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait for beamlink join") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "beamlink join did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Join {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `name{labels} value` lines into a map keyed by `name{labels}` (or `name`).
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn ticktime_cluster(n: usize) -> beamlink_e2e::pods::PodClusterBuilder {
    PodCluster::builder(n).arg("-kernel").arg("net_ticktime").arg("4")
}

fn hidden_here(c: &mut PodCluster, i: usize, name: &str) -> bool {
    c.connected_nodes(i, true).contains(name) && !c.connected_nodes(i, false).contains(name)
}

#[test]
fn join_keeps_a_hidden_node_in_a_changing_cluster() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Configured as the Kubernetes manifest does: environment only, the bare service name
    // resolved through a pod's search list.
    let search = ["ns1.svc.cluster.local", "svc.cluster.local", "cluster.local"];
    let mut c = ticktime_cluster(3).elixir(2).search(&search).start();
    let me = c.net.add_pod();
    let pod = c.net.pod(me).clone();
    let env = [
        ("BEAMLINK_DNS", "app-headless".to_string()),
        ("BEAMLINK_BASENAME", "app".to_string()),
    ];
    let mut j = Join::start(&pod, false, &c.cookie.clone(), &[], &env);
    let name = j.name.clone();

    // Every pod: connected, and each BEAM lists us as hidden, not in nodes().
    let all: Vec<String> = c.node_names().iter().map(|n| format!("connected {n}")).collect();
    j.wait_lines(SOON, &all);
    let ready = j.wait_ready(200, SOON);
    assert!(ready.starts_with("ready: 3/3"), "{ready}");
    for i in 0..3 {
        assert!(c.wait_nodeup(i, &name, SOON), "{} sees {name}", c.nodes[i].node());
        assert!(
            hidden_here(&mut c, i, &name),
            "{} lists {name} as hidden only",
            c.nodes[i].node()
        );
    }
    let elixir = c.nodes[2].node().to_string();
    assert_eq!(
        c.nodes[2].eval(&format!("Enum.member?(Node.list(:hidden), :\"{name}\")")),
        "true",
        "the Elixir pod {elixir} lists us in Node.list(:hidden)"
    );
    assert_eq!(j.get("/healthz").0, 200);

    // The application's own mesh (as libcluster would make it) stays complete and beamlink
    // is no member of it: `beamlink list` through the same DNS name says so.
    let (n1, n2) = (c.nodes[1].node().to_string(), elixir.clone());
    assert_eq!(c.nodes[0].eval(&format!("net_adm:ping('{n1}').")), "pong");
    assert_eq!(c.nodes[0].eval(&format!("net_adm:ping('{n2}').")), "pong");
    assert_eq!(c.nodes[1].eval(&format!("net_adm:ping('{n2}').")), "pong");
    let resolver = format!("{}:53", c.net.bridge_ipv4());
    let list = run_beamlink(
        &[
            "--format",
            "json",
            "list",
            "--dns",
            &format!("{}.", c.service),
            "--basename",
            "app",
            "--resolver",
            &resolver,
        ],
        &[("BEAMLINK_COOKIE", &c.cookie)],
    );
    assert_eq!(list.code, 0, "{list:?}");
    let v: serde_json::Value = serde_json::from_str(&list.stdout).expect("list prints JSON");
    assert_eq!(v["mesh"]["complete"], true, "{v}");
    let listed = v["nodes"].as_array().expect("nodes");
    assert_eq!(listed.len(), 3, "{v}");
    for n in listed {
        assert_ne!(
            n["node"],
            name.as_str(),
            "the hidden node is no member of the mesh: {v}"
        );
        let peers = n["connected_to"].to_string();
        assert!(peers.contains(&name), "{} is connected to {name}: {v}", n["node"]);
    }
    // Traffic per peer: each BEAM pings us (a message to our net_kernel and its reply).
    for i in 0..3 {
        let pong = match c.nodes[i].flavor() {
            beamlink_e2e::Flavor::Erlang => c.nodes[i].eval(&format!("net_adm:ping('{name}').")),
            beamlink_e2e::Flavor::Elixir => c.nodes[i].eval(&format!("Node.ping(:\"{name}\")")),
        };
        assert!(pong.ends_with("pong"), "{}: {pong}", c.nodes[i].node());
    }
    let m = j.metrics();
    assert_eq!(m["beamlink_cluster_connected_nodes"], 3.0);
    assert_eq!(m["beamlink_cluster_desired_nodes"], 3.0);
    assert_eq!(m["beamlink_cluster_discovered_total"], 3.0);
    assert_eq!(m["beamlink_cluster_ready"], 1.0);
    for n in c.node_names() {
        for (metric, at_least) in [
            ("messages_in", 1.0),
            ("messages_out", 1.0),
            ("bytes_in", 10.0),
            ("bytes_out", 10.0),
        ] {
            let k = format!("beamlink_peer_{metric}_total{{node=\"{n}\"}}");
            assert!(m.get(&k).is_some_and(|v| *v >= at_least), "{k} in {m:?}");
        }
    }
    let nodes = j.nodes_json();
    assert_eq!(nodes["node"], name.as_str());
    assert_eq!(nodes["ready"], true);
    let peers = nodes["peers"].as_array().expect("peers");
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|p| p["state"] == "connected"), "{nodes}");

    // A pod removed from DNS and killed: disconnected, and readiness follows the new set.
    let gone = c.nodes[1].node().to_string();
    c.unpublish(1);
    c.nodes[1].kill();
    j.wait_line(SOON, &format!("vanished {gone}"));
    let ready = j.wait_ready(200, SOON);
    assert!(ready.starts_with("ready: 2/2"), "{ready}");
    assert!(!j.nodes_json()["peers"].to_string().contains(&gone));
    assert_eq!(j.metric("beamlink_cluster_vanished_total"), 1.0);

    // A new pod added to DNS: connected within one interval plus the lookup.
    // (add_pod returns the pod's index; with our own pod in the net, the node's differs)
    c.add_pod(false);
    let i = c.nodes.len() - 1;
    let t0 = Instant::now();
    let fresh = c.nodes[i].node().to_string();
    j.wait_line(SOON, &format!("connected {fresh}"));
    let took = t0.elapsed();
    println!("a new pod was connected {took:?} after DNS listed it");
    assert!(took < INTERVAL + Duration::from_secs(3), "{took:?}");
    assert!(c.wait_nodeup(i, &name, SOON));
    assert!(hidden_here(&mut c, i, &name));
    assert!(j.wait_ready(200, SOON).starts_with("ready: 3/3"));

    // DNS down: lookups fail, nothing is disconnected; changes made meanwhile are picked up
    // once it is back.
    c.dns.stop();
    j.wait_line(SOON, "lookup-failed");
    j.wait_line(SOON, "lookup-failed");
    let ready = j.wait_ready(200, SOON);
    assert!(
        ready.starts_with("ready: 3/3"),
        "still ready with DNS down: {ready}"
    );
    for k in [0, 2, i] {
        assert!(
            hidden_here(&mut c, k, &name),
            "still connected to {}",
            c.nodes[k].node()
        );
    }
    assert!(j.metric("beamlink_cluster_lookup_failures_total") >= 2.0);
    c.add_pod(false); // published while DNS is down
    let late = c.nodes.len() - 1;
    let late_name = c.nodes[late].node().to_string();
    c.dns.start();
    j.wait_line(SOON, &format!("connected {late_name}"));
    assert!(c.wait_nodeup(late, &name, SOON));
    assert!(j.wait_ready(200, SOON).starts_with("ready: 4/4"));

    // SIGTERM: every node sees us go, exit 0.
    let status = j.terminate();
    assert!(status.success(), "exit status {status}");
    for k in [0, 2, i, late] {
        assert!(
            c.wait_nodedown(k, &name, SOON),
            "{} saw {name} leave",
            c.nodes[k].node()
        );
    }
    j.wait_line(SOON, &format!("stopped {name}"));
}

#[test]
fn join_detects_a_frozen_pod_and_a_cut_link_and_heals() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = ticktime_cluster(2).start();
    let me = c.net.add_pod();
    let pod = c.net.pod(me).clone();
    // datapio_cluster's variables name the service and the basename; a fixed
    // distribution port, published at the EPMD beamlink runs in its pod.
    let env = [
        ("DATAPIO_SERVICE_NAME", c.service.clone()),
        ("DATAPIO_APP_NAME", "app".to_string()),
        ("BEAMLINK_RESOLVER", format!("{}:53", c.net.bridge_ipv4())),
        ("BEAMLINK_DIST_PORT", "9000".to_string()),
    ];
    let mut j = Join::start(&pod, false, &c.cookie.clone(), &[], &env);
    j.wait_ready(200, SOON);
    let n0 = c.nodes[0].node().to_string();
    let n1 = c.nodes[1].node().to_string();
    assert_eq!(
        c.nodes[0].eval(&format!("erl_epmd:port_please(\"beamlink\", \"{}\").", pod.ipv4)),
        "{port,9000,6}",
        "a BEAM finds beamlink's fixed port at the EPMD in its pod"
    );

    // Frozen: down within net_ticktime (4 s), not ready; back after SIGCONT.
    c.nodes[0].freeze();
    let t0 = Instant::now();
    let lost = j.wait_line(Duration::from_secs(15), &format!("lost {n0}"));
    let took = t0.elapsed();
    println!("frozen pod detected down in {took:?}: {lost}");
    assert!(took < Duration::from_secs(4) + Duration::from_secs(3), "{took:?}");
    let not_ready = j.wait_ready(503, SOON);
    assert!(not_ready.contains(&n0), "{not_ready}");
    let m = j.metrics();
    assert!(m["beamlink_tick_timeouts_total"] >= 1.0, "{m:?}");
    assert_eq!(m["beamlink_cluster_lost_total"], 1.0);
    assert_eq!(m["beamlink_cluster_ready"], 0.0);
    c.nodes[0].thaw();
    let t0 = Instant::now();
    j.wait_line(Duration::from_secs(20), &format!("connected {n0}"));
    println!("thawed pod reconnected in {:?}", t0.elapsed());
    j.wait_ready(200, SOON);
    assert!(j.metric("beamlink_cluster_reconnect_attempts_total") >= 1.0);
    assert!(c.wait_nodeup(0, &j.name.clone(), SOON));

    // Link cut: down, then healed once restored.
    c.net.cut(1);
    let t0 = Instant::now();
    j.wait_line(Duration::from_secs(15), &format!("lost {n1}"));
    println!("cut link detected down in {:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(4) + Duration::from_secs(3));
    j.wait_ready(503, SOON);
    c.net.restore(1);
    let t0 = Instant::now();
    j.wait_line(Duration::from_secs(20), &format!("connected {n1}"));
    println!("restored link healed in {:?}", t0.elapsed());
    j.wait_ready(200, SOON);
    assert_eq!(j.metric("beamlink_cluster_lost_total"), 2.0);
    let name = j.name.clone();
    assert!(c.wait_nodeup(1, &name, SOON));
    assert!(hidden_here(&mut c, 1, &name));
    assert!(j.terminate().success());
}

#[test]
fn join_over_ipv6_with_aaaa_records() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut c = ticktime_cluster(2).ipv6().elixir(1).start();
    let me = c.net.add_pod();
    let pod = c.net.pod(me).clone();
    let resolver = format!("{}:53", c.net.bridge_ipv4());
    let service = c.service.clone();
    // Membership changes as JSON lines this time.
    let args = [
        "--format",
        "json",
        "--dns",
        &service,
        "--basename",
        "app",
        "--resolver",
        &resolver,
    ];
    let mut j = Join::start(&pod, true, &c.cookie.clone(), &args, &[]);
    let name = j.name.clone();
    assert!(name.contains(':'), "an IPv6 name: {name}");
    assert!(c.node_names().iter().all(|n| n.contains(':')));
    let all: Vec<String> = c
        .node_names()
        .iter()
        .map(|n| serde_json::json!({"event": "connected", "node": n}).to_string())
        .collect();
    j.wait_lines(SOON, &all);
    assert!(j.wait_ready(200, SOON).starts_with("ready: 2/2"));
    for i in 0..2 {
        assert!(c.wait_nodeup(i, &name, SOON));
        assert!(
            hidden_here(&mut c, i, &name),
            "{} lists {name} as hidden",
            c.nodes[i].node()
        );
    }
    assert_eq!(j.metric("beamlink_cluster_connected_nodes"), 2.0);
    assert!(j.terminate().success());
}

#[test]
fn join_without_a_source_is_a_usage_error() {
    let out = std::process::Command::new(beamlink_bin())
        .arg("join")
        .env_remove("BEAMLINK_DNS")
        .env_remove("BEAMLINK_SRV")
        .env_remove("BEAMLINK_EPMD")
        .env_remove("BEAMLINK_NODES")
        .env_remove("DATAPIO_SERVICE_NAME")
        .env("RELEASE_COOKIE", "x")
        .output()
        .expect("run beamlink join");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no source"), "{err}");
    assert!(!err.contains("RELEASE_COOKIE=x"));
}
