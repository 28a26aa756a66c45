//! `beamlink list`: every node the sources name, and the peers they are connected to;
//! each node's state, round-trip time and OTP release; and whether the mesh is complete.
//!
//! Erlang connections are symmetric, so two nodes see each other when either lists the
//! other among its connected nodes (`nodes(connected)`). Following goes through visible
//! peers only (`nodes()`): hidden ones are tools such as this one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use beamlink::{Node, Term};

use crate::args::{Common, ListArgs, OutputFormat};
use crate::exit::{self, Failure};
use crate::reach::{self, Unreachable};

/// The most nodes one listing follows (a guard against a runaway peer list).
const MAX_NODES: usize = 1000;

/// What was learnt about one node.
#[derive(Debug)]
struct Row {
    node: String,
    address: Option<String>,
    state: Result<Up, Unreachable>,
}

#[derive(Debug)]
struct Up {
    rtt: Duration,
    otp: Option<String>,
    /// `nodes(connected)`, when the node answered it.
    connected: Option<BTreeSet<String>>,
    /// `nodes()`, for following.
    visible: Vec<String>,
}

/// Runs the command: 0 only when every node is up and the mesh is complete.
pub fn run(args: ListArgs, common: &Common) -> i32 {
    let epmd_port = match crate::node_setup::epmd_port(None) {
        Ok(p) => p,
        Err(f) => return f.report("list"),
    };
    let strategies = match crate::sources::strategies(&args.sources, epmd_port) {
        Ok(s) if s.is_empty() => {
            return Failure::usage(
                "no source: give --nodes, --epmd, --dns or --srv (see beamlink list --help)",
            )
            .report("list")
        }
        Ok(s) => s,
        Err(f) => return f.report("list"),
    };
    let runtime = match super::runtime("list") {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let results = beamlink_cluster::strategy::discover_all(&strategies, common.timeout).await;
        let mut seeds = BTreeSet::new();
        let mut source_errors = Vec::new();
        for (s, r) in strategies.iter().zip(results) {
            match r {
                Ok(nodes) => seeds.extend(nodes.iter().map(|n| n.as_str().to_string())),
                Err(e) => source_errors.push((s.describe(), e.to_string())),
            }
        }
        for (what, e) in &source_errors {
            eprintln!("beamlink list: source {what}: {}", exit::one_line(e));
        }
        if seeds.is_empty() {
            return Failure::failed("the sources name no node").report("list");
        }
        // With --dynamic the first seed that answers names us.
        let mut node = Err(Failure::failed("no node answered"));
        for seed in &seeds {
            node = crate::node_setup::start(common, seed).await;
            if node.is_ok() || !common.dynamic || node.as_ref().is_err_and(|f| f.code != exit::FAILED) {
                break;
            }
        }
        let node = match node {
            Ok(n) => n,
            Err(f) => return f.report("list"),
        };
        let rows = survey(&node, seeds, !args.no_follow, common).await;
        let mesh = Mesh::of(&rows);
        match common.format {
            OutputFormat::Text => print_text(&rows, &mesh),
            OutputFormat::Json => print_json(&rows, &mesh, &source_errors),
        }
        if mesh.healthy() && source_errors.is_empty() {
            exit::OK
        } else {
            exit::FAILED
        }
    })
}

/// Asks every node (and, when following, every visible peer they name) at once, wave
/// by wave.
async fn survey(node: &Node, seeds: BTreeSet<String>, follow: bool, common: &Common) -> Vec<Row> {
    let own = node.name().as_str().to_string();
    let mut seen: BTreeSet<String> = seeds.clone();
    let mut wave: Vec<String> = seeds.into_iter().filter(|n| *n != own).collect();
    let mut rows = Vec::new();
    while !wave.is_empty() {
        let mut tasks = tokio::task::JoinSet::new();
        for peer in wave.drain(..) {
            let (node, common) = (node.clone(), common.clone());
            tasks.spawn(async move { probe(&node, peer, &common).await });
        }
        while let Some(done) = tasks.join_next().await {
            let Ok(row) = done else { continue };
            if follow {
                if let Ok(up) = &row.state {
                    for p in &up.visible {
                        if *p != own && seen.len() < MAX_NODES && seen.insert(p.clone()) {
                            wave.push(p.clone());
                        }
                    }
                }
            }
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.node.cmp(&b.node));
    rows
}

/// Connects to one node and asks it for its release and its connections.
async fn probe(node: &Node, peer: String, common: &Common) -> Row {
    let timeout = common.timeout;
    let address = async {
        let lookup = match common.port {
            Some(p) => beamlink_epmd::PortLookup::Fixed(p),
            None => beamlink_epmd::PortLookup::Epmd {
                port: crate::node_setup::epmd_port(None).ok()?,
            },
        };
        let found = tokio::time::timeout(timeout, lookup.resolve(&peer))
            .await
            .ok()?
            .ok()?;
        Some(if found.host.contains(':') {
            format!("[{}]:{}", found.host, found.port)
        } else {
            format!("{}:{}", found.host, found.port)
        })
    };
    let state = async {
        reach::connect(node, &peer, timeout).await?;
        let rtt = reach::round_trip(node, &peer, timeout).await?;
        let (otp, connected, visible) = tokio::join!(
            node.rpc(
                &peer,
                "erlang",
                "system_info",
                vec![Term::atom("otp_release")],
                timeout
            ),
            node.rpc(&peer, "erlang", "nodes", vec![Term::atom("connected")], timeout),
            node.rpc(&peer, "erlang", "nodes", vec![], timeout),
        );
        let names = |t: Term| -> Option<Vec<String>> {
            t.as_list().map(|l| {
                l.iter()
                    .filter_map(|n| n.as_atom().map(|a| a.as_str().to_string()))
                    .collect()
            })
        };
        Ok::<_, Unreachable>(Up {
            rtt,
            otp: otp.ok().and_then(|t| t.as_string()),
            connected: connected
                .ok()
                .and_then(names)
                .map(|v| v.into_iter().filter(|n| n != node.name().as_str()).collect()),
            visible: visible.ok().and_then(names).unwrap_or_default(),
        })
    };
    let (address, state) = tokio::join!(address, state);
    Row {
        node: peer,
        address,
        state,
    }
}

/// Which listed nodes see which.
struct Mesh {
    /// Per up node: how many of the other listed nodes it is connected to, when known.
    degree: BTreeMap<String, Option<usize>>,
    /// Pairs of up nodes that do not see each other (as far as either reports).
    missing: Vec<(String, String)>,
    /// Nodes that are down.
    down: Vec<String>,
    /// Up nodes whose connections could not be asked and that no other node reports.
    unknown: Vec<String>,
}

impl Mesh {
    fn of(rows: &[Row]) -> Mesh {
        let listed: BTreeSet<&str> = rows.iter().map(|r| r.node.as_str()).collect();
        let up: Vec<&Row> = rows.iter().filter(|r| r.state.is_ok()).collect();
        let sees = |a: &Row, b: &str| -> Option<bool> {
            a.state
                .as_ref()
                .ok()
                .and_then(|u| u.connected.as_ref())
                .map(|c| c.contains(b))
        };
        let linked = |a: &Row, b: &Row| -> Option<bool> {
            match (sees(a, &b.node), sees(b, &a.node)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (None, None) => None,
                _ => Some(false),
            }
        };
        let mut missing = Vec::new();
        let mut unknown = BTreeSet::new();
        for (i, a) in up.iter().enumerate() {
            for b in &up[i + 1..] {
                match linked(a, b) {
                    Some(true) => {}
                    Some(false) => missing.push((a.node.clone(), b.node.clone())),
                    None => {
                        unknown.insert(a.node.clone());
                        unknown.insert(b.node.clone());
                    }
                }
            }
        }
        let degree = rows
            .iter()
            .filter(|r| r.state.is_ok())
            .map(|r| {
                let d = r.state.as_ref().ok().and_then(|u| u.connected.as_ref()).map(|c| {
                    c.iter()
                        .filter(|n| listed.contains(n.as_str()) && **n != r.node)
                        .count()
                });
                (r.node.clone(), d)
            })
            .collect();
        Mesh {
            degree,
            missing,
            down: rows
                .iter()
                .filter(|r| r.state.is_err())
                .map(|r| r.node.clone())
                .collect(),
            unknown: unknown.into_iter().collect(),
        }
    }

    fn complete(&self) -> bool {
        self.missing.is_empty() && self.unknown.is_empty()
    }

    fn healthy(&self) -> bool {
        self.complete() && self.down.is_empty()
    }

    /// The one-line verdict.
    fn summary(&self, total: usize) -> String {
        let mut parts = Vec::new();
        if self.complete() && self.down.is_empty() {
            parts.push(format!(
                "mesh complete: all {total} nodes up and connected to each other"
            ));
        } else if self.complete() {
            parts.push(format!(
                "mesh incomplete: the {} nodes up are connected to each other",
                total - self.down.len()
            ));
        } else if !self.missing.is_empty() {
            let pairs: Vec<String> = self.missing.iter().map(|(a, b)| format!("{a} - {b}")).collect();
            parts.push(format!(
                "partition: these nodes do not see each other: {}",
                pairs.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "connections unknown (nodes() not answered) for {}",
                self.unknown.join(", ")
            ));
        }
        if !self.down.is_empty() {
            parts.push(format!("down: {}", self.down.join(", ")));
        }
        parts.join("; ")
    }
}

fn print_text(rows: &[Row], mesh: &Mesh) {
    let others = rows.len().saturating_sub(1);
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let address = r.address.clone().unwrap_or_else(|| "-".into());
            match &r.state {
                Ok(up) => [
                    r.node.clone(),
                    address,
                    "up".into(),
                    reach::millis(up.rtt),
                    up.otp.clone().unwrap_or_else(|| "-".into()),
                    match mesh.degree.get(&r.node).copied().flatten() {
                        Some(d) => format!("{d}/{others}"),
                        None => "?".into(),
                    },
                ],
                Err(e) => [
                    r.node.clone(),
                    address,
                    format!("down ({})", e.why.label()),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ],
            }
        })
        .collect();
    let header = ["NODE", "ADDRESS", "STATUS", "RTT", "OTP", "CONNECTED"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&table) {
        let line: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:w$}")).collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!("{}", mesh.summary(rows.len()));
    for r in rows {
        if let Err(e) = &r.state {
            eprintln!("beamlink list: {}: {}", r.node, exit::one_line(&e.detail));
        }
    }
}

fn print_json(rows: &[Row], mesh: &Mesh, source_errors: &[(String, String)]) {
    let nodes: Vec<_> = rows
        .iter()
        .map(|r| match &r.state {
            Ok(up) => serde_json::json!({
                "node": r.node,
                "address": r.address,
                "status": "up",
                "rtt_ms": up.rtt.as_secs_f64() * 1000.0,
                "otp_release": up.otp,
                "connected": mesh.degree.get(&r.node).copied().flatten(),
                "connected_to": up.connected,
            }),
            Err(e) => serde_json::json!({
                "node": r.node,
                "address": r.address,
                "status": "down",
                "reason": e.why.label(),
                "detail": e.detail,
            }),
        })
        .collect();
    let out = serde_json::json!({
        "nodes": nodes,
        "mesh": {
            "complete": mesh.complete(),
            "healthy": mesh.healthy(),
            "not_connected": mesh.missing.iter().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
            "down": mesh.down,
            "unknown": mesh.unknown,
            "summary": mesh.summary(rows.len()),
        },
        "source_errors": source_errors.iter().map(|(s, e)| serde_json::json!({"source": s, "error": e})).collect::<Vec<_>>(),
    });
    println!("{out}");
}
