//! beamlink's own node for one command: its name, cookie and way of finding peers, from
//! the common options.
//!
//! The node is hidden, unpublished (not registered with EPMD) and listens nowhere, as
//! `erl_call`'s: peers never need to find or reach it, so starting it costs no EPMD round
//! trip and no socket, and two commands running at once never collide on a name.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::Path;

use beamlink::{EpmdMode, Node, NodeBuilder};

use crate::args::Common;
use crate::exit::Failure;

/// Where the cookie comes from, in the documented order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieChoice {
    /// `--cookie`.
    Explicit,
    /// `--cookie-file FILE`.
    File(std::path::PathBuf),
    /// An environment variable: `BEAMLINK_COOKIE` or `RELEASE_COOKIE`.
    Env(&'static str),
    /// `~/.erlang.cookie`.
    Home,
}

/// Picks the cookie source: `--cookie`/`--cookie-file`, then `BEAMLINK_COOKIE`,
/// `RELEASE_COOKIE`, then `~/.erlang.cookie`. None of them there is a configuration
/// error saying where to put one.
pub fn cookie_choice(common: &Common) -> Result<CookieChoice, Failure> {
    if common.cookie.is_some() && common.cookie_file.is_some() {
        return Err(Failure::usage("give --cookie or --cookie-file, not both"));
    }
    if common.cookie.is_some() {
        return Ok(CookieChoice::Explicit);
    }
    if let Some(f) = &common.cookie_file {
        return Ok(CookieChoice::File(f.clone()));
    }
    for var in ["BEAMLINK_COOKIE", "RELEASE_COOKIE"] {
        if std::env::var_os(var).is_some() {
            return Ok(CookieChoice::Env(var));
        }
    }
    match std::env::var_os("HOME") {
        Some(home) if Path::new(&home).join(".erlang.cookie").exists() => Ok(CookieChoice::Home),
        _ => Err(Failure::usage(
            "no cookie: pass --cookie-file FILE, set BEAMLINK_COOKIE or RELEASE_COOKIE, or create \
             ~/.erlang.cookie (mode 400) holding the cluster's cookie",
        )),
    }
}

/// EPMD's port: `--port`, else `ERL_EPMD_PORT`, else 4369.
pub fn epmd_port(port: Option<u16>) -> Result<u16, Failure> {
    match port {
        Some(p) => Ok(p),
        None => beamlink_epmd::port_from_env().map_err(|e| Failure::usage(e.to_string())),
    }
}

/// `true` when `node`'s host part needs a long name on our side: it has a dot or is an
/// IP address.
pub fn needs_long_name(node: &str) -> bool {
    let host = node.split_once('@').map_or("", |(_, h)| h);
    host.contains('.') || host.contains(':') || host.parse::<IpAddr>().is_ok()
}

/// Checks that `node` is `name@host`; a usage error otherwise.
pub fn check_node_name(node: &str) -> Result<(), Failure> {
    beamlink::NodeName::parse(node)
        .map(|_| ())
        .map_err(|e| Failure::usage(format!("{e}; a node is written name@host, e.g. app@127.0.0.1")))
}

/// A name part unique to this process: `beamlink_<pid>_<salt>`.
fn unique_alive_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("beamlink_{}_{:x}", std::process::id(), nanos & 0xffff)
}

/// This host's name without its domain, as `erl -sname` uses it.
fn short_host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = if rc == 0 {
        String::from_utf8_lossy(&buf[..len]).into_owned()
    } else {
        String::new()
    };
    match name.split('.').next() {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => "localhost".to_string(),
    }
}

/// This host's address as the target's host sees it: the source address of a route
/// to it (no packet is sent). Loopback for a local target.
fn long_host(target: &str) -> String {
    let host = target.split_once('@').map_or("", |(_, h)| h);
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok()
        .or_else(|| (host, 0).to_socket_addrs().ok()?.next().map(|a| a.ip()));
    if ip.is_some_and(|ip| ip.is_loopback()) {
        return "127.0.0.1".to_string();
    }
    let local = ip.and_then(|ip| {
        let bind: SocketAddr = if ip.is_ipv4() {
            "0.0.0.0:0".parse().ok()?
        } else {
            "[::]:0".parse().ok()?
        };
        let s = UdpSocket::bind(bind).ok()?;
        s.connect(SocketAddr::new(ip, 4369)).ok()?;
        s.local_addr().ok().map(|a| a.ip())
    });
    match local {
        Some(ip) => beamlink_cluster::erlang_ntoa(ip),
        None => "127.0.0.1".to_string(),
    }
}

/// beamlink's own node name for talking to `target`: `--name`/`--sname` when given (a
/// bare name gets this host added), else a unique name of the kind `target` needs.
pub fn own_name(common: &Common, target: &str) -> String {
    match (&common.name, &common.sname) {
        (Some(n), _) if n.contains('@') => n.clone(),
        (Some(n), _) => format!("{n}@{}", long_host(target)),
        (_, Some(n)) if n.contains('@') => n.clone(),
        (_, Some(n)) => format!("{n}@{}", short_host()),
        (None, None) if needs_long_name(target) => format!("{}@{}", unique_alive_name(), long_host(target)),
        (None, None) => format!("{}@{}", unique_alive_name(), short_host()),
    }
}

/// Starts beamlink's node for talking to `target` (the first node the command will
/// reach; it decides the kind of name). Must run inside a tokio runtime.
///
/// Configuration problems (no cookie, a bad name, a bad ERL_EPMD_PORT) are usage
/// failures (exit 2); anything else is an operation failure (exit 1).
pub async fn start(common: &Common, target: &str) -> Result<Node, Failure> {
    let choice = cookie_choice(common)?;
    let epmd = match common.port {
        Some(p) => EpmdMode::Unpublished {
            epmd_port: 4369,
            peer_port: Some(p),
        },
        None => EpmdMode::Unpublished {
            epmd_port: epmd_port(None)?,
            peer_port: None,
        },
    };
    let builder = if common.dynamic {
        let host = if needs_long_name(target) {
            long_host(target)
        } else {
            short_host()
        };
        NodeBuilder::dynamic(&host)
    } else {
        NodeBuilder::new(&own_name(common, target))
    };
    let builder = builder
        .hidden(true)
        .epmd(epmd)
        .accept_connections(false)
        .setup_timeout(common.timeout);
    let builder = match &choice {
        CookieChoice::Explicit => builder.cookie(common.cookie.as_deref().unwrap_or_default()),
        CookieChoice::File(f) => builder.cookie_file(f),
        CookieChoice::Env(var) => builder.cookie_env(var),
        CookieChoice::Home => builder,
    };
    let started = if common.dynamic {
        match tokio::time::timeout(common.timeout, builder.start_via(target)).await {
            Ok(r) => r,
            Err(_) => {
                return Err(Failure::failed(format!(
                    "{target} did not name us within {} ms",
                    common.timeout.as_millis()
                )))
            }
        }
    } else {
        builder.start().await
    };
    started.map_err(|e| match e {
        beamlink::Error::Cookie(_) | beamlink::Error::Name(_) => Failure::usage(e.to_string()),
        e => Failure::failed(e.to_string()),
    })
}
