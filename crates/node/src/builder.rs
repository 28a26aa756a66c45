//! Configuring and starting a [`Node`].

use crate::cookie::Cookie;
use crate::error::Error;
use crate::name::NodeName;
use crate::node::Node;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// How the node makes itself known to peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpmdMode {
    /// Register with the EPMD already running on this host at `port` (4369 by default,
    /// or `ERL_EPMD_PORT`), as `erl` does.
    External {
        /// EPMD's port.
        port: u16,
    },
    /// Run an EPMD inside this process on `port` when none answers there, and register
    /// with it.
    Embedded {
        /// The port to serve (or find) EPMD on.
        port: u16,
    },
    /// Register nowhere: peers must know the port (`-erl_epmd_port`-style setups);
    /// the node listens on exactly `listen_port`.
    None {
        /// The one port every node listens on.
        listen_port: u16,
    },
    /// Register nowhere and listen on any port of the range, as `erl_call` and other C
    /// nodes do: the node connects to peers, peers cannot find it. Peers are looked up
    /// at EPMD on `epmd_port`, or, when `peer_port` is set, found at that port of their
    /// host without EPMD. For short-lived clients such as the `beamlink` command line.
    Unpublished {
        /// EPMD's port, for finding peers.
        epmd_port: u16,
        /// Every peer's fixed distribution port (EPMD-less peers), if any.
        peer_port: Option<u16>,
    },
}

impl EpmdMode {
    /// How this node finds its peers, as configured (an embedded EPMD may end up on
    /// another port; see the listener).
    pub(crate) fn peer_lookup(&self) -> beamlink_epmd::PortLookup {
        use beamlink_epmd::PortLookup;
        match *self {
            EpmdMode::External { port } | EpmdMode::Embedded { port } => PortLookup::Epmd { port },
            EpmdMode::None { listen_port } => PortLookup::Fixed(listen_port),
            EpmdMode::Unpublished {
                peer_port: Some(port),
                ..
            } => PortLookup::Fixed(port),
            EpmdMode::Unpublished {
                epmd_port,
                peer_port: None,
            } => PortLookup::Epmd { port: epmd_port },
        }
    }

    /// EPMD's port from `ERL_EPMD_PORT`, or 4369.
    pub fn default_port() -> u16 {
        std::env::var("ERL_EPMD_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(4369)
    }
}

/// Where the cookie comes from; resolved when the node starts.
#[derive(Debug, Clone)]
pub(crate) enum CookieSource {
    Explicit(Cookie),
    File(PathBuf),
    Env(String),
    Home,
}

/// The node's configuration, as the builder collected it.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) name: NodeName,
    /// `true` (the default): connect as a hidden node, not in peers' `nodes()`.
    pub hidden: bool,
    /// How peers find this node.
    pub epmd: EpmdMode,
    /// The address to listen on for distribution connections.
    pub listen_addr: IpAddr,
    /// The port range to listen in (`inet_dist_listen_min/max`); `(0, 0)` for any.
    pub port_range: (u16, u16),
    /// `net_ticktime`: a peer silent this long is declared down (default 60 s).
    pub net_ticktime: Duration,
    /// How long a connection setup may take (`net_setuptime`, default 7 s).
    pub setup_timeout: Duration,
    /// Cookies for particular peers (`erlang:set_cookie/2`), overriding the default.
    pub(crate) peer_cookies: Vec<(String, Cookie)>,
    /// `true` (the default): listen for peers' connections. `false`: only connect out.
    pub accept: bool,
}

/// Builds a [`Node`]: `Node::builder("rust@127.0.0.1").cookie("secret").start().await`.
#[derive(Debug)]
pub struct NodeBuilder {
    name: Result<NodeName, Error>,
    cookie: Result<CookieSource, Error>,
    hidden: bool,
    epmd: EpmdMode,
    listen_addr: IpAddr,
    port_range: (u16, u16),
    net_ticktime: Duration,
    setup_timeout: Duration,
    peer_cookies: Result<Vec<(String, Cookie)>, Error>,
    accept: bool,
}

impl NodeBuilder {
    /// A builder for the node `name@host` (long when the host has a dot or is an IP).
    /// Defaults: hidden, cookie from `~/.erlang.cookie`, the host's EPMD, listening on
    /// all interfaces on any port, net_ticktime 60 s.
    pub fn new(name: &str) -> NodeBuilder {
        NodeBuilder {
            name: NodeName::parse(name).map_err(Error::from),
            cookie: Ok(CookieSource::Home),
            hidden: true,
            epmd: EpmdMode::External {
                port: EpmdMode::default_port(),
            },
            listen_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port_range: (0, 0),
            net_ticktime: Duration::from_secs(60),
            setup_timeout: Duration::from_secs(7),
            peer_cookies: Ok(Vec::new()),
            accept: true,
        }
    }

    /// A node without a name of its own: the first peer names it (`NAME_ME`).
    pub fn dynamic(host: &str) -> NodeBuilder {
        let mut b = NodeBuilder::new("dynamic@placeholder");
        b.name = Ok(NodeName::Dynamic {
            host: host.to_string(),
        });
        b
    }

    /// The cookie, given explicitly.
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = Cookie::new(cookie)
            .map(CookieSource::Explicit)
            .map_err(Error::from);
        self
    }

    /// Read the cookie from this file, as `erl` reads `~/.erlang.cookie`.
    pub fn cookie_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.cookie = Ok(CookieSource::File(path.into()));
        self
    }

    /// Read the cookie from this environment variable (for example `RELEASE_COOKIE`).
    pub fn cookie_env(mut self, var: &str) -> Self {
        self.cookie = Ok(CookieSource::Env(var.to_string()));
        self
    }

    /// Hidden (the default) or visible: a visible node appears in peers' `nodes()`
    /// and is connected transitively by global.
    pub fn hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }

    /// How peers find the node (default: the host's EPMD).
    pub fn epmd(mut self, mode: EpmdMode) -> Self {
        self.epmd = mode;
        self
    }

    /// The address to listen on.
    pub fn listen_addr(mut self, addr: IpAddr) -> Self {
        self.listen_addr = addr;
        self
    }

    /// Listen on the first free port in `min..=max`.
    pub fn port_range(mut self, min: u16, max: u16) -> Self {
        self.port_range = (min, max);
        self
    }

    /// `net_ticktime`.
    pub fn net_ticktime(mut self, t: Duration) -> Self {
        self.net_ticktime = t;
        self
    }

    /// Use `cookie` with `peer` instead of the default cookie (`erlang:set_cookie/2`).
    pub fn peer_cookie(mut self, peer: &str, cookie: &str) -> Self {
        self.peer_cookies = match (self.peer_cookies, Cookie::new(cookie)) {
            (Ok(mut v), Ok(c)) => {
                v.push((peer.to_string(), c));
                Ok(v)
            }
            (Err(e), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
        };
        self
    }

    /// The connection setup timeout (`net_setuptime`).
    pub fn setup_timeout(mut self, t: Duration) -> Self {
        self.setup_timeout = t;
        self
    }

    /// `false`: the node listens for no connections and only connects out, as `erl_call`
    /// does; peers can answer it but never connect to it. Only for an
    /// [`EpmdMode::Unpublished`] node (a published one must be reachable). Saves the
    /// listening socket for short-lived clients. Default `true`.
    pub fn accept_connections(mut self, accept: bool) -> Self {
        self.accept = accept;
        self
    }

    /// Checks the configuration and reads the cookie.
    pub fn config(self) -> Result<(Config, Cookie), Error> {
        let name = self.name?;
        let source = self.cookie?;
        let cookie = match &source {
            CookieSource::Explicit(c) => c.clone(),
            CookieSource::File(p) => Cookie::from_file(p)?,
            CookieSource::Env(v) => Cookie::from_env(v)?,
            CookieSource::Home => Cookie::from_home()?,
        };
        if self.port_range.0 > self.port_range.1 {
            return Err(Error::Other(format!(
                "port range {}..{} is empty: give the lower port first",
                self.port_range.0, self.port_range.1
            )));
        }
        if !self.accept && !matches!(self.epmd, EpmdMode::Unpublished { .. }) {
            return Err(Error::Other(
                "a node that accepts no connections cannot be published at EPMD or on a fixed \
                 port: use EpmdMode::Unpublished, or accept_connections(true)"
                    .into(),
            ));
        }
        let config = Config {
            name,
            hidden: self.hidden,
            epmd: self.epmd,
            listen_addr: self.listen_addr,
            port_range: self.port_range,
            net_ticktime: self.net_ticktime,
            setup_timeout: self.setup_timeout,
            peer_cookies: self.peer_cookies?,
            accept: self.accept,
        };
        Ok((config, cookie))
    }

    /// Starts the node: reads the cookie, listens, registers with EPMD as configured,
    /// and starts the system processes (`net_kernel`, `rex`). A dynamic name needs
    /// [`NodeBuilder::start_via`].
    pub async fn start(self) -> Result<Node, Error> {
        let (config, cookie) = self.config()?;
        Node::start(config, cookie).await
    }

    /// Starts a node with a dynamic name ([`NodeBuilder::dynamic`]) by connecting to
    /// `peer`, which names it (`NAME_ME`, as `erl_call -R`). The node neither listens
    /// nor registers with EPMD; it can connect to other nodes under its new name.
    pub async fn start_via(self, peer: &str) -> Result<Node, Error> {
        let (config, cookie) = self.config()?;
        Node::start_dynamic(config, cookie, peer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_hidden_and_home_cookie() {
        let (c, cookie) = NodeBuilder::new("a@host").cookie("X").config().unwrap();
        assert!(c.hidden);
        assert_eq!(c.net_ticktime, Duration::from_secs(60));
        assert_eq!(cookie.expose(), "X");
        assert!(matches!(c.epmd, EpmdMode::External { .. }));
    }

    #[test]
    fn errors_are_reported_at_config_time() {
        assert!(NodeBuilder::new("nohost").cookie("X").config().is_err());
        assert!(NodeBuilder::new("a@h").cookie("").config().is_err());
        assert!(NodeBuilder::new("a@h")
            .cookie("X")
            .port_range(10, 5)
            .config()
            .is_err());
        let e = NodeBuilder::new("a@h")
            .cookie_env("BEAMLINK_TEST_SURELY_UNSET")
            .config()
            .unwrap_err();
        assert!(e.to_string().contains("BEAMLINK_TEST_SURELY_UNSET"));
    }
}
