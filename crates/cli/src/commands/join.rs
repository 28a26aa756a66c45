//! `beamlink join`: a hidden node that joins the cluster the sources describe and stays in
//! it, with HTTP probes and metrics.
//!
//! Every setting comes from a flag or, when the flag is absent, from the environment, so a
//! Kubernetes manifest needs no arguments (see [`crate::args::JoinArgs`]). Membership
//! changes go to stdout, one line each; diagnostics go to stderr.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use beamlink::{EpmdMode, Node, NodeBuilder};
use beamlink_cluster::topology::{Topology, TopologyEvent};
use beamlink_cluster::{http, Cluster, TopologyConfig};

use crate::args::{Common, JoinArgs, OutputFormat, SourceArgs};
use crate::exit::{self, Failure};
use crate::node_setup::{cookie_choice, CookieChoice};
use crate::signals::Signals;
use crate::sources;

/// The node name used when neither --name, BEAMLINK_NAME nor POD_IP gives one.
const DEFAULT_BASENAME: &str = "beamlink";

pub fn run(args: JoinArgs, common: &Common) -> i32 {
    // Before the runtime, so that no thread of it can take these signals.
    let signals = match Signals::handle(&[libc::SIGTERM, libc::SIGINT, libc::SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            return Failure::failed(format!("cannot handle SIGTERM, SIGINT and SIGHUP: {e}")).report("join")
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return Failure::failed(format!("cannot start the runtime: {e}")).report("join"),
    };
    match runtime.block_on(join(args, common, signals)) {
        Ok(()) => exit::OK,
        Err(f) => f.report("join"),
    }
}

/// A non-empty environment variable.
fn env(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The source flags, completed from the process environment (see [`sources_with_env`]).
pub fn sources_from_env(flags: &SourceArgs) -> SourceArgs {
    sources_with_env(flags, env)
}

/// The source flags, completed from `env` where a flag is absent: BEAMLINK_NODES,
/// BEAMLINK_EPMD, BEAMLINK_DNS, BEAMLINK_SRV (comma separated), else datapio_cluster's
/// DATAPIO_SERVICE_NAME as the DNS name when no source is given at all;
/// BEAMLINK_BASENAME, else DATAPIO_APP_NAME; BEAMLINK_RESOLVER.
pub fn sources_with_env(flags: &SourceArgs, env: impl Fn(&str) -> Option<String>) -> SourceArgs {
    let list = |var: &str| -> Vec<String> {
        env(var)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut s = flags.clone();
    if s.nodes.is_empty() {
        s.nodes = list("BEAMLINK_NODES");
    }
    if s.epmd.is_empty() {
        s.epmd = list("BEAMLINK_EPMD");
    }
    if s.dns.is_empty() {
        s.dns = list("BEAMLINK_DNS");
    }
    if s.srv.is_empty() {
        s.srv = list("BEAMLINK_SRV");
    }
    let no_source = s.nodes.is_empty() && s.epmd.is_empty() && s.dns.is_empty() && s.srv.is_empty();
    if no_source {
        s.dns = list("DATAPIO_SERVICE_NAME");
    }
    if s.basename.is_none() {
        s.basename = env("BEAMLINK_BASENAME").or_else(|| env("DATAPIO_APP_NAME"));
    }
    if s.resolver.is_none() {
        s.resolver = env("BEAMLINK_RESOLVER");
    }
    s
}

/// Our own name: --name, else BEAMLINK_NAME, else beamlink@$POD_IP, else beamlink@ this
/// host's first non-loopback address. A bare NAME gets the host added.
fn own_name(common: &Common) -> Result<String, Failure> {
    let host = || -> Result<String, Failure> {
        if let Some(ip) = env("POD_IP") {
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| Failure::usage(format!("POD_IP={ip:?} is not an IP address")))?;
            return Ok(beamlink_cluster::erlang_ntoa(ip));
        }
        Ok(local_address().map_or_else(|| "127.0.0.1".to_string(), beamlink_cluster::erlang_ntoa))
    };
    let name = match common.name.clone().or_else(|| env("BEAMLINK_NAME")) {
        Some(n) if n.contains('@') => n,
        Some(n) => format!("{n}@{}", host()?),
        None => format!("{DEFAULT_BASENAME}@{}", host()?),
    };
    beamlink::NodeName::parse(&name).map_err(|e| Failure::usage(format!("node name {name:?}: {e}")))?;
    Ok(name)
}

/// The source address of the default route (no packet is sent), if any.
fn local_address() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.255.255.255:4369").ok()?;
    s.local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
}

/// The address to listen on: --listen, else every address of the family of our name's host.
fn listen_addr(args: &JoinArgs, name: &str) -> IpAddr {
    if let Some(a) = args.listen {
        return a;
    }
    let host = name.split_once('@').map_or("", |(_, h)| h);
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

async fn start_node(args: &JoinArgs, common: &Common, name: &str) -> Result<Node, Failure> {
    let choice = cookie_choice(common)?;
    let mut b = NodeBuilder::new(name)
        .hidden(true)
        .epmd(EpmdMode::Embedded { port: args.epmd_port })
        .listen_addr(listen_addr(args, name))
        .net_ticktime(Duration::from_secs(args.net_ticktime))
        .setup_timeout(common.timeout);
    if let Some(p) = args.dist_port {
        b = b.port_range(p, p);
    }
    let b = match &choice {
        CookieChoice::Explicit => b.cookie(common.cookie.as_deref().unwrap_or_default()),
        CookieChoice::File(f) => b.cookie_file(f),
        CookieChoice::Env(var) => b.cookie_env(var),
        CookieChoice::Home => b,
    };
    b.start().await.map_err(|e| match e {
        beamlink::Error::Cookie(_) | beamlink::Error::Name(_) => Failure::usage(e.to_string()),
        e => Failure::failed(format!("cannot start the node {name}: {e}")),
    })
}

async fn join(args: JoinArgs, common: &Common, mut signals: Signals) -> Result<(), Failure> {
    let source_args = sources_from_env(&args.sources);
    let epmd_port = crate::node_setup::epmd_port(None)?;
    let sources = sources::sources(&source_args, epmd_port)?;
    if sources.is_empty() {
        return Err(Failure::usage(
            "no source: give --dns NAME --basename APP (or BEAMLINK_DNS and BEAMLINK_BASENAME), \
             --srv, --epmd or --nodes",
        ));
    }
    let resolver = sources::resolver(&source_args, &sources)?;
    let http_addr: Option<SocketAddr> = match &args.http {
        Some(a) => Some(
            a.parse()
                .map_err(|_| Failure::usage(format!("--http {a:?}: give ADDRESS:PORT, e.g. 0.0.0.0:8080")))?,
        ),
        None => None,
    };
    // Bind HTTP before joining, so a taken port fails at once.
    let http_listener = match http_addr {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|e| Failure::failed(format!("cannot listen for HTTP on {a}: {e}")))?,
        ),
        None => None,
    };

    let name = own_name(common)?;
    let node = start_node(&args, common, &name).await?;
    let config = TopologyConfig {
        interval: args.interval,
        prune: !args.no_prune,
        lookup_timeout: args.interval.max(Duration::from_secs(2)),
        ..TopologyConfig::default()
    };
    let mut builder = Topology::builder().config(config);
    for s in sources {
        builder = builder.source(s);
    }
    if let Some(r) = resolver {
        builder = builder.resolver(r);
    }
    // On this one-thread runtime the loop cannot run before we subscribe.
    let cluster: Cluster = builder.join(&node).map_err(|e| Failure::usage(e.to_string()))?;
    let mut events = cluster.subscribe();
    announce(&common.format, "started", &name, None);
    tracing::info!(node = %name, port = node.port(), "joined as a hidden node");

    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http_task = http_listener.map(|l| {
        let state = cluster.http_state(args.min_ready);
        tokio::spawn(http::serve(l, state, async {
            let _ = http_stopped.await;
        }))
    });

    // Ends on SIGTERM or SIGINT (Ok), or if the loop stops by itself (a bug: exit 1 so
    // that a supervisor restarts us).
    let view = cluster.view();
    let outcome = loop {
        tokio::select! {
            signal = signals.recv() => match signal {
                libc::SIGHUP => cluster.poll_now(),
                _ => break Ok(()),
            },
            _ = view.stopped() => break Err(Failure::failed("the topology loop stopped unexpectedly")),
            ev = events.recv() => match ev {
                Ok(ev) => log_event(&common.format, &ev),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("{n} membership events were not logged (too many at once)")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    break Err(Failure::failed("the topology loop stopped unexpectedly"))
                }
            },
        }
    };
    tracing::info!("stopping: disconnecting from every node");
    cluster.shutdown().await;
    // The shutdown's own `disconnected` events are still queued.
    while let Ok(ev) = events.try_recv() {
        log_event(&common.format, &ev);
    }
    node.stop().await;
    let _ = stop_http.send(());
    if let Some(t) = http_task {
        // Requests in flight may finish; a client holding a connection open cannot keep
        // us from exiting.
        if tokio::time::timeout(Duration::from_secs(2), t).await.is_err() {
            tracing::debug!("HTTP connections still open at exit");
        }
    }
    announce(&common.format, "stopped", &name, None);
    outcome
}

/// One line on stdout: `WHAT NODE[: DETAIL]`, or a JSON object with --format json.
fn announce(format: &OutputFormat, what: &str, node: &str, detail: Option<&str>) {
    use std::io::Write;
    let line = match format {
        OutputFormat::Json => {
            let mut v = serde_json::json!({ "event": what, "node": node });
            if let Some(d) = detail {
                v["detail"] = serde_json::json!(d);
            }
            v.to_string()
        }
        _ => match detail {
            Some(d) => format!("{what} {node}: {}", exit::one_line(d)),
            None => format!("{what} {node}"),
        },
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn log_event(format: &OutputFormat, ev: &TopologyEvent) {
    match ev {
        TopologyEvent::Polled { .. } => {}
        TopologyEvent::Discovered(n) => announce(format, "discovered", n.as_str(), None),
        TopologyEvent::Vanished(n) => announce(format, "vanished", n.as_str(), None),
        TopologyEvent::Connected(n) => announce(format, "connected", n.as_str(), None),
        TopologyEvent::Disconnected(n) => announce(format, "disconnected", n.as_str(), None),
        TopologyEvent::Lost { node, reason } => announce(format, "lost", node.as_str(), Some(reason)),
        TopologyEvent::ConnectFailed {
            node,
            error,
            retry_in,
        } => announce(
            format,
            "connect-failed",
            node.as_str(),
            Some(&format!("{error} (retry in {} ms)", retry_in.as_millis())),
        ),
        TopologyEvent::LookupFailed { source, error } => {
            announce(format, "lookup-failed", source, Some(error))
        }
        TopologyEvent::LookupEmpty { source } => announce(format, "lookup-empty", source, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_environment_fills_what_the_flags_leave_out() {
        let env = with(&[
            ("BEAMLINK_DNS", "a-headless, b-headless"),
            ("BEAMLINK_BASENAME", "app"),
            ("DATAPIO_SERVICE_NAME", "ignored"),
            ("DATAPIO_APP_NAME", "ignored"),
            ("BEAMLINK_RESOLVER", "10.96.0.10:53"),
        ]);
        let s = sources_with_env(&SourceArgs::default(), &env);
        assert_eq!(s.dns, ["a-headless", "b-headless"]);
        assert_eq!(s.basename.as_deref(), Some("app"));
        assert_eq!(s.resolver.as_deref(), Some("10.96.0.10:53"));

        let flags = SourceArgs {
            epmd: vec!["db1".into()],
            basename: Some("mine".into()),
            ..SourceArgs::default()
        };
        let s = sources_with_env(&flags, &env);
        assert_eq!(s.epmd, ["db1"]);
        assert_eq!(
            s.basename.as_deref(),
            Some("mine"),
            "a flag wins over the environment"
        );
    }

    #[test]
    fn datapio_variables_name_the_service_and_basename() {
        let env = with(&[
            ("DATAPIO_SERVICE_NAME", "myapp-headless"),
            ("DATAPIO_APP_NAME", "myapp"),
        ]);
        let s = sources_with_env(&SourceArgs::default(), env);
        assert_eq!(s.dns, ["myapp-headless"]);
        assert_eq!(s.basename.as_deref(), Some("myapp"));
        let none = sources_with_env(&SourceArgs::default(), with(&[]));
        assert!(none.dns.is_empty() && none.nodes.is_empty() && none.basename.is_none());
    }
}
