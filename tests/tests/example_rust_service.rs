//! examples/rust_service, the Rust service built on the beamlink library, against the
//! real example Elixir app: three `app@IP` release nodes in pods that cluster through a
//! headless-service DNS name, and the Rust service in a fourth pod finding them through the
//! same name. The Rust side calls the Elixir `:greeter`; the Elixir side calls the Rust
//! `counter` with `gen_server:call`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use beamlink_e2e::pods::PodNet;
use beamlink_e2e::release::{AppRelease, Probe};
use beamlink_e2e::{eventually, random_cookie, workspace_bin};

const SERVICE: &str = "app-headless.demo.svc.cluster.local";

struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Service {
    fn wait_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if pred(&l) => return Some(l),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn rust_service_joins_the_elixir_app_and_both_sides_call_each_other() {
    let release = AppRelease::get();
    let bin = workspace_bin("beamlink-example-rust-service", "rust_service");
    let cookie = random_cookie();
    let mut net = PodNet::new(4);
    net.pod_resolv_conf(&["demo.svc.cluster.local", "svc.cluster.local", "cluster.local"]);
    let mut dns = net.start_dns();
    for i in 0..3 {
        dns.add(SERVICE, net.pod(i).ipv4.into());
    }
    let epmds: Vec<_> = (0..3).map(|i| net.pod(i).start_epmd()).collect();
    let mut probe = Probe::start(net.pod(0), &epmds[0], &cookie);
    let mut apps = Vec::new();
    for i in 0..3 {
        let pod = net.pod(i).clone();
        let ip = pod.ipv4.to_string();
        let env: Vec<(String, String)> = [
            ("POD_IP", ip.as_str()),
            ("RELEASE_DISTRIBUTION", "name"),
            ("RELEASE_NODE", &format!("app@{ip}")),
            ("RELEASE_COOKIE", &cookie),
            ("DIST_PORT", "9000"),
            ("CLUSTER_DNS_QUERY", SERVICE),
            ("CLUSTER_BASENAME", "app"),
            ("CLUSTER_POLL_MS", "500"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        apps.push(release.start(&pod, &env, &mut probe));
    }

    // The Rust service in pod 3, with no EPMD of its own running: it embeds one.
    let rust_pod = net.pod(3).clone();
    let rust_node = format!("rust@{}", rust_pod.ipv4);
    let mut child = rust_pod
        .command(bin.to_str().expect("UTF-8 path"))
        .env_clear()
        .env("POD_IP", rust_pod.ipv4.to_string())
        .env("RELEASE_COOKIE", &cookie)
        .env("CLUSTER_DNS_QUERY", SERVICE)
        .env("CLUSTER_POLL_MS", "500")
        .env("DIST_PORT", "9000")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rust_service");
    let (tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let service = Service { child, lines };
    assert!(
        service
            .wait_line(Duration::from_secs(20), |l| l == format!("ready {rust_node}"))
            .is_some(),
        "rust_service did not print `ready {rust_node}`"
    );

    // It found every app node through DNS and called each one's :greeter.
    let mut greeted = std::collections::BTreeSet::new();
    while greeted.len() < 3 {
        let line = service
            .wait_line(Duration::from_secs(30), |l| l.starts_with("greeter on "))
            .unwrap_or_else(|| panic!("rust_service greeted only {greeted:?}"));
        let peer = line["greeter on ".len()..]
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            line.ends_with(&format!(r#"{{ok,<<"Hello, {rust_node}, from {peer}">>}}"#)),
            "unexpected greeter answer: {line}"
        );
        greeted.insert(peer);
    }
    let app_names: std::collections::BTreeSet<String> = apps.iter().map(|a| a.node.clone()).collect();
    assert_eq!(greeted, app_names);

    // Every Elixir node lists it as a hidden node, and the Elixir nodes clustered with
    // each other through the same DNS name.
    for app in &apps {
        let want: std::collections::BTreeSet<String> = [rust_node.clone()].into();
        assert!(
            eventually(Duration::from_secs(10), || probe.hidden_nodes(&app.node) == want),
            "{} does not list exactly {rust_node} in Node.list(:hidden): {:?}",
            app.node,
            probe.hidden_nodes(&app.node)
        );
        let mut others = app_names.clone();
        others.remove(&app.node);
        assert!(
            eventually(Duration::from_secs(10), || probe.visible_nodes(&app.node)
                == others),
            "{} sees {:?}, want {others:?}",
            app.node,
            probe.visible_nodes(&app.node)
        );
    }

    // Elixir calls the Rust GenServer-style `counter`; its state is shared by all callers.
    let mut call = |i: usize, req: &str| {
        probe.eval(
            &apps[i].node,
            &format!("gen_server:call({{counter, '{rust_node}'}}, {req})."),
        )
    };
    assert_eq!(call(0, "{add, 2}"), "{ok,2}");
    assert_eq!(call(1, "{add, 40}"), "{ok,42}");
    assert_eq!(call(2, "get"), "42");
    assert_eq!(call(2, "{add, nope}"), "{error,unknown_request}");
    // Elixir -> Rust -> Elixir: the counter calls the greeter of another app node.
    let target = &apps[2].node;
    assert_eq!(
        call(0, &format!("{{greet, '{target}'}}")),
        format!(r#"{{ok,<<"Hello, counter, from {target}">>}}"#)
    );

    // SIGTERM stops it cleanly, and the Elixir nodes see it leave.
    // SAFETY: signalling our own child (ip netns exec execs the service in place).
    unsafe { libc::kill(service.child.id() as i32, libc::SIGTERM) };
    let mut service = service;
    let status = service.child.wait().expect("wait for rust_service");
    assert!(status.success(), "rust_service exited with {status} on SIGTERM");
    for app in &apps {
        assert!(
            eventually(Duration::from_secs(10), || !probe
                .hidden_nodes(&app.node)
                .contains(&rust_node)),
            "{} still lists {rust_node} after it stopped",
            app.node
        );
    }
}
