//! A Rust service in an Elixir cluster, built on the `beamlink` library: the example that
//! `examples/rust_service` is.
//!
//! * joins the cluster as a hidden node `rust@POD_IP`, finding the Elixir nodes the way
//!   libcluster's `Kubernetes.DNS` does (the headless Service's A/AAAA records, through
//!   `beamlink-cluster`'s topology loop);
//! * serves a GenServer-style process registered as `counter` (see [`counter`]), which
//!   Elixir calls with `GenServer.call({:counter, :"rust@10.1.2.3"}, {:add, 2})`;
//! * calls the Elixir app's `:greeter` GenServer on every `app@IP` node it connects to and
//!   prints the answer: `greeter on app@10.1.2.3: {ok,<<"Hello, ...">>}`.
//!
//! Configured from the environment, with the names the example Elixir app uses:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `RUST_NODE` | this node's name | `rust@$POD_IP` |
//! | `POD_IP` | this pod's address | `127.0.0.1` |
//! | `RELEASE_COOKIE` | the cluster's cookie (required) | |
//! | `CLUSTER_DNS_QUERY` | the headless Service's name (unset: no discovery) | |
//! | `CLUSTER_BASENAME` | the part before `@` of the Elixir nodes | `app` |
//! | `CLUSTER_POLL_MS` | DNS polling interval | `5000` |
//! | `CLUSTER_DNS_SERVER` | `IP:PORT` of a nameserver instead of resolv.conf's | |
//! | `DIST_PORT` | the one distribution port to listen on | any free port |
//! | `ERL_EPMD_PORT` | EPMD's port; an embedded EPMD serves it when none runs | `4369` |
//!
//! It prints `ready rust@IP` once it listens, and stops cleanly on SIGTERM or Ctrl-C.

mod counter;

use std::error::Error;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use beamlink::{EpmdMode, Node, NodeEvent, Term};
use beamlink_cluster::strategy::Source;
use beamlink_cluster::topology::Topology;
use tokio::signal::unix::{signal, SignalKind};

/// How long the greeting call to an Elixir node may take.
const GREET_TIMEOUT: Duration = Duration::from_secs(5);

/// The service's configuration, read from the environment.
struct Config {
    name: String,
    dns_query: Option<String>,
    basename: String,
    poll: Duration,
    dns_server: Option<SocketAddr>,
    dist_port: Option<u16>,
    epmd_port: u16,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let number = |k: &str, default: u64| -> Result<u64, String> {
            match var(k) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| format!("{k}={v:?} is not a number")),
            }
        };
        let pod_ip = var("POD_IP").unwrap_or_else(|| "127.0.0.1".into());
        let port = |k: &str, default: u64| -> Result<u16, String> {
            u16::try_from(number(k, default)?).map_err(|_| format!("{k} is not a port number"))
        };
        Ok(Config {
            name: var("RUST_NODE").unwrap_or_else(|| format!("rust@{pod_ip}")),
            dns_query: var("CLUSTER_DNS_QUERY"),
            basename: var("CLUSTER_BASENAME").unwrap_or_else(|| "app".into()),
            poll: Duration::from_millis(number("CLUSTER_POLL_MS", 5000)?.max(100)),
            dns_server: match var("CLUSTER_DNS_SERVER") {
                None => None,
                Some(v) => Some(
                    beamlink_cluster::parse_nameserver(&v).map_err(|e| format!("CLUSTER_DNS_SERVER: {e}"))?,
                ),
            },
            dist_port: match var("DIST_PORT") {
                None => None,
                Some(_) => Some(port("DIST_PORT", 0)?),
            },
            epmd_port: port("ERL_EPMD_PORT", 4369)?,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rust_service: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = Config::from_env()?;
    let mut builder = Node::builder(&config.name)
        .cookie_env("RELEASE_COOKIE")
        .epmd(EpmdMode::Embedded {
            port: config.epmd_port,
        });
    if let Some(p) = config.dist_port {
        builder = builder.port_range(p, p);
    }
    let node = builder.start().await?;
    counter::spawn(&node)?;

    let mut events = node.monitor_nodes();
    // The library keeps the node connected to every BASENAME@IP the name resolves to, as
    // libcluster's Kubernetes.DNS strategy does.
    let cluster = match &config.dns_query {
        Some(query) => {
            let mut topology = Topology::builder()
                .source(Source::kubernetes_dns(query, &config.basename))
                .interval(config.poll);
            if let Some(ns) = config.dns_server {
                topology = topology.nameserver(ns);
            }
            Some(topology.join(&node)?)
        }
        None => None,
    };
    println!("ready {}", node.name().as_str());

    let mut term = signal(SignalKind::terminate())?;
    let app_prefix = format!("{}@", config.basename);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                // `hidden` is true for every connection of a hidden node: tell the app's nodes
                // by name.
                Ok(NodeEvent::Up { node: peer, .. }) if peer.as_str().starts_with(&app_prefix) => {
                    tokio::spawn(greet(node.clone(), peer.as_str().to_string()));
                }
                Ok(NodeEvent::Down { node: peer, reason }) => {
                    println!("lost {}: {reason}", peer.as_str());
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    if let Some(c) = cluster {
        c.shutdown().await;
    }
    node.stop().await;
    Ok(())
}

/// Calls the Elixir app's `:greeter` on `peer` and prints what it answered.
async fn greet(node: Node, peer: String) {
    let me = node.name().as_str().to_string();
    let request = Term::tuple(vec![Term::atom("hello"), Term::binary(me.into_bytes())]);
    match node
        .call(("greeter", peer.as_str()), request, GREET_TIMEOUT)
        .await
    {
        Ok(answer) => println!("greeter on {peer}: {answer}"),
        Err(e) => println!("greeter on {peer} did not answer: {e}"),
    }
}
