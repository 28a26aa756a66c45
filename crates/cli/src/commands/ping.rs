//! `beamlink ping NODE...`: pong or pang per node, with the round-trip time, or why not.

use std::time::Duration;

use beamlink::Node;

use crate::args::{Common, OutputFormat, PingArgs};
use crate::exit::{self, Failure};
use crate::node_setup;
use crate::reach::{self, Unreachable};

/// One ping's outcome.
struct Outcome {
    node: String,
    seq: u32,
    result: Result<(Duration, Option<Duration>), Unreachable>,
}

/// Runs the command; exit 0 only when every ping answered pong.
pub fn run(args: PingArgs, common: &Common) -> i32 {
    for n in &args.nodes {
        if let Err(f) = node_setup::check_node_name(n) {
            return f.report("ping");
        }
    }
    let runtime = match super::runtime("ping") {
        Ok(r) => r,
        Err(code) => return code,
    };
    let outcomes = match runtime.block_on(ping_all(&args, common)) {
        Ok(o) => o,
        Err(f) => return f.report("ping"),
    };
    print(&outcomes, common.format);
    if outcomes.iter().all(|o| o.result.is_ok()) {
        exit::OK
    } else {
        exit::FAILED
    }
}

async fn ping_all(args: &PingArgs, common: &Common) -> Result<Vec<Outcome>, Failure> {
    // With --dynamic the first peer that answers names us; those that do not are pang.
    let mut failed: Vec<(usize, Outcome)> = Vec::new();
    let mut started = None;
    for (i, peer) in args.nodes.iter().enumerate() {
        match node_setup::start(common, peer).await {
            Ok(n) => {
                started = Some(n);
                break;
            }
            Err(f) if common.dynamic && f.code == exit::FAILED => {
                let why = reach::Why::classify(&f.message);
                let result = Err(Unreachable {
                    why,
                    detail: f.message,
                });
                failed.push((
                    i,
                    Outcome {
                        node: peer.clone(),
                        seq: 1,
                        result,
                    },
                ));
            }
            Err(f) => return Err(f),
        }
    }
    let mut per_node: Vec<(usize, Vec<Outcome>)> = failed.into_iter().map(|(i, o)| (i, vec![o])).collect();
    if let Some(node) = started {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, peer) in args.nodes.iter().enumerate().skip(per_node.len()) {
            let (node, peer, count, timeout) = (node.clone(), peer.clone(), args.count, common.timeout);
            tasks.spawn(async move { (i, ping_one(&node, &peer, count, timeout).await) });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok(r) = done {
                per_node.push(r);
            }
        }
    }
    per_node.sort_by_key(|(i, _)| *i);
    Ok(per_node.into_iter().flat_map(|(_, o)| o).collect())
}

async fn ping_one(node: &Node, peer: &str, count: u32, timeout: Duration) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut setup = match reach::connect(node, peer, timeout).await {
        Ok(d) => Some(d),
        Err(e) => {
            return vec![Outcome {
                node: peer.to_string(),
                seq: 1,
                result: Err(e),
            }]
        }
    };
    for seq in 1..=count {
        let result = reach::round_trip(node, peer, timeout)
            .await
            .map(|rtt| (rtt, setup.take()));
        let failed = result.is_err();
        out.push(Outcome {
            node: peer.to_string(),
            seq,
            result,
        });
        if failed {
            break;
        }
    }
    out
}

fn print(outcomes: &[Outcome], format: OutputFormat) {
    match format {
        OutputFormat::Text => {
            let width = outcomes.iter().map(|o| o.node.len()).max().unwrap_or(0);
            for o in outcomes {
                match &o.result {
                    Ok((rtt, setup)) => {
                        let setup = setup
                            .map(|d| format!("  (connected in {})", reach::millis(d)))
                            .unwrap_or_default();
                        println!("pong  {:width$}  {}{setup}", o.node, reach::millis(*rtt));
                    }
                    Err(e) => println!(
                        "pang  {:width$}  {}",
                        o.node,
                        crate::exit::one_line(&e.to_string())
                    ),
                }
            }
        }
        OutputFormat::Json => {
            let list: Vec<_> = outcomes
                .iter()
                .map(|o| match &o.result {
                    Ok((rtt, setup)) => serde_json::json!({
                        "node": o.node, "seq": o.seq, "result": "pong",
                        "rtt_ms": rtt.as_secs_f64() * 1000.0,
                        "connect_ms": setup.map(|d| d.as_secs_f64() * 1000.0),
                    }),
                    Err(e) => serde_json::json!({
                        "node": o.node, "seq": o.seq, "result": "pang",
                        "reason": e.why.label(), "detail": e.detail,
                    }),
                })
                .collect();
            println!("{}", serde_json::Value::Array(list));
        }
    }
}
