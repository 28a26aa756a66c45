//! `beamlink list` against real erl and elixir nodes: a complete three-node mesh found
//! from one seed, a deliberately split one reported as a partition, down nodes, every
//! source kind (nodes, EPMD, DNS via dnsmasq), JSON output, exit statuses.

use beamlink_e2e::{free_port, run_beamlink, unique_name, wait_for_port, Beam, CliOutput, Epmd};
use std::time::Duration;

struct Cluster {
    epmd: Epmd,
    nodes: Vec<Beam>,
}

impl Cluster {
    /// Two erl nodes and one elixir node sharing a cookie; `split` stops them from
    /// connecting on their own (`-connect_all false`, `dist_auto_connect never`).
    fn start(split: bool) -> Cluster {
        let epmd = Epmd::start();
        let args: &[&str] = if split {
            &["-connect_all", "false", "-kernel", "dist_auto_connect", "never"]
        } else {
            &[]
        };
        let with = |mut b: beamlink_e2e::BeamBuilder| {
            for a in args {
                b = b.arg(a);
            }
            b.epmd(epmd.port)
        };
        let a = with(Beam::erlang()).start();
        let cookie = a.cookie().to_string();
        let b = with(Beam::erlang()).cookie(&cookie).start();
        let c = with(Beam::elixir()).cookie(&cookie).start();
        Cluster {
            epmd,
            nodes: vec![a, b, c],
        }
    }

    fn connect(&mut self, from: usize, to: usize) {
        let to = self.nodes[to].node().to_string();
        let r = self.nodes[from].eval(&format!("net_kernel:connect_node('{to}')."));
        assert_eq!(r, "true");
    }

    fn run(&self, args: &[&str]) -> CliOutput {
        run_beamlink(
            args,
            &[
                ("ERL_EPMD_PORT", &self.epmd.port.to_string()),
                ("BEAMLINK_COOKIE", self.nodes[0].cookie()),
            ],
        )
    }

    fn name(&self, i: usize) -> &str {
        self.nodes[i].node()
    }
}

#[test]
fn one_seed_shows_a_complete_three_node_mesh() {
    let mut c = Cluster::start(false);
    // Erlang syntax works in the elixir node too: the harness evaluates Elixir there.
    c.connect(0, 1);
    let b = c.name(1).to_string();
    let r = c.nodes[2].eval(&format!("Node.connect(:\"{b}\")"));
    assert_eq!(r, "true");
    let a = c.name(0).to_string();
    assert_eq!(c.nodes[2].eval(&format!("Node.connect(:\"{a}\")")), "true");

    let out = c.run(&["list", "--nodes", c.name(0)]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "header, three nodes, verdict: {out:?}");
    assert!(
        lines[0].starts_with("NODE") && lines[0].contains("OTP"),
        "{out:?}"
    );
    for i in 0..3 {
        let row = lines
            .iter()
            .find(|l| l.starts_with(c.name(i)))
            .expect("a row per node");
        assert!(
            row.contains(" up ") && row.contains("2/2") && row.contains(" ms"),
            "{row}"
        );
    }
    assert!(lines[4].starts_with("mesh complete"), "{out:?}");

    // The same from EPMD, as JSON, options before the command.
    let host = format!("127.0.0.1:{}", c.epmd.port);
    let out = c.run(&["--format", "json", "list", "--epmd", &host, "--no-follow"]);
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["mesh"]["complete"], true);
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{v}");
    for n in nodes {
        assert_eq!(n["status"], "up");
        assert_eq!(n["connected"], 2);
        assert!(n["otp_release"].as_str().unwrap().parse::<u32>().unwrap() >= 25);
        assert!(n["address"].as_str().unwrap().starts_with("127.0.0.1:"));
    }
}

#[test]
fn a_split_mesh_is_reported_as_a_partition_and_exits_1() {
    let mut c = Cluster::start(true);
    c.connect(0, 1);
    c.connect(0, 2);
    let out = c.run(&["list", "--nodes", c.name(0)]);
    assert_eq!(out.code, 1, "{out:?}");
    let verdict = out.stdout.lines().last().unwrap();
    assert!(verdict.starts_with("partition"), "{out:?}");
    assert!(
        verdict.contains(c.name(1)) && verdict.contains(c.name(2)),
        "{verdict}"
    );
    assert!(!verdict.contains(&format!("{} -", c.name(0))), "{verdict}");

    let out = c.run(&["list", "--nodes", c.name(0), "--format", "json"]);
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["mesh"]["complete"], false);
    let pairs = v["mesh"]["not_connected"].as_array().unwrap();
    assert_eq!(pairs.len(), 1, "{v}");
    let mut pair: Vec<&str> = pairs[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    pair.sort();
    let mut want = vec![c.name(1), c.name(2)];
    want.sort();
    assert_eq!(pair, want);

    // Healing it makes the mesh complete.
    c.connect(1, 2);
    let out = c.run(&["list", "--nodes", c.name(1)]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn a_down_node_fails_the_check_with_its_reason() {
    let c = Cluster::start(true);
    let ghost = format!("{}@127.0.0.1", unique_name("ghost"));
    let nodes = format!("{},{ghost}", c.name(0));
    let out = c.run(&["list", "--nodes", &nodes, "--no-follow", "--format", "json"]);
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let g = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == ghost.as_str())
        .unwrap();
    assert_eq!(g["status"], "down");
    assert_eq!(g["reason"], "name not registered");
    assert_eq!(v["mesh"]["down"][0], ghost.as_str());
}

#[test]
fn dns_source_names_nodes_basename_at_ip() {
    let epmd = Epmd::start();
    let basename = unique_name("svc");
    let erl = Beam::erlang().epmd(epmd.port).name(&basename).start();
    let port = free_port();
    let mut dns = std::process::Command::new("dnsmasq")
        .args([
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            &format!("--port={port}"),
            "--host-record=app.beamlink.test,127.0.0.1",
            "--local=/beamlink.test/",
            "--pid-file=",
            "--user=root",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("dnsmasq (run `make deps`)");
    assert!(wait_for_port(
        &format!("127.0.0.1:{port}"),
        Duration::from_secs(10)
    ));
    let out = run_beamlink(
        &[
            "list",
            "--dns",
            "app.beamlink.test.",
            "--basename",
            &basename,
            "--resolver",
            &format!("127.0.0.1:{port}"),
        ],
        &[
            ("ERL_EPMD_PORT", &epmd.port.to_string()),
            ("BEAMLINK_COOKIE", erl.cookie()),
        ],
    );
    let _ = dns.kill();
    let _ = dns.wait();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(erl.node()), "{out:?}");
}

#[test]
fn bad_sources_are_usage_errors() {
    for args in [
        vec!["list"],
        vec!["list", "--dns", "svc"],
        vec!["list", "--dns", "svc", "--basename", "a b"],
        vec!["list", "--nodes", "nohost"],
        vec!["list", "--epmd", "host:notaport"],
        vec![
            "list",
            "--dns",
            "svc",
            "--basename",
            "app",
            "--resolver",
            "not an address",
        ],
    ] {
        let out = run_beamlink(&args, &[("BEAMLINK_COOKIE", "c")]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
    }
    // A source that cannot answer: exit 1, with why.
    let port = free_port().to_string();
    let out = run_beamlink(
        &["list", "--epmd", &format!("127.0.0.1:{port}")],
        &[("BEAMLINK_COOKIE", "c")],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("EPMD"), "{out:?}");
}
