//! The embeddable EPMD server: a drop-in for the `epmd` program that real `erl` nodes,
//! `epmd -names` and `net_adm:names/1` talk to.

mod connection;
mod listen;
mod registry;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::protocol::NameEntry;
use crate::EpmdClient;
use registry::Registry;

/// How the server runs. `Default` is epmd's: port 4369, every address, strict command
/// checks, 60-second packet timeout.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The TCP port (0: any free port, the same on every address).
    pub port: u16,
    /// Addresses to listen on. Empty means every IPv4 and IPv6 address; otherwise these
    /// plus the loopback (127.0.0.1, and ::1 next to IPv6 addresses) when not given, as
    /// epmd adds it so that local nodes can always register.
    pub addresses: Vec<IpAddr>,
    /// Allow KILL_REQ while nodes are registered, and STOP_REQ (epmd's
    /// `-relaxed_command_check`).
    pub relaxed_command_check: bool,
    /// How long a client may take to send a whole request (epmd's `-packet_timeout`).
    pub packet_timeout: Duration,
    /// Connections served at once; more are closed at once with a log line.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: crate::DEFAULT_PORT,
            addresses: Vec::new(),
            relaxed_command_check: false,
            packet_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

impl ServerConfig {
    /// The default configuration on `port`.
    pub fn with_port(port: u16) -> Self {
        ServerConfig {
            port,
            ..Self::default()
        }
    }

    /// Parses a comma-separated address list as `ERL_EPMD_ADDRESS` holds it (IPv6 with
    /// or without brackets). Empty items are skipped.
    pub fn parse_addresses(list: &str) -> Result<Vec<IpAddr>, ServerError> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let bare = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
                bare.parse::<IpAddr>()
                    .map_err(|_| ServerError::BadAddress { value: s.to_string() })
            })
            .collect()
    }

    /// The configuration from epmd's environment variables: `ERL_EPMD_PORT`,
    /// `ERL_EPMD_ADDRESS`, `ERL_EPMD_RELAXED_COMMAND_CHECK` (set: relaxed).
    pub fn from_env() -> Result<Self, ServerError> {
        let port = crate::port_from_env().map_err(|_| ServerError::BadPort {
            value: std::env::var("ERL_EPMD_PORT").unwrap_or_default(),
        })?;
        let addresses = match std::env::var("ERL_EPMD_ADDRESS") {
            Ok(list) => Self::parse_addresses(&list)?,
            Err(_) => Vec::new(),
        };
        let relaxed_command_check = std::env::var_os("ERL_EPMD_RELAXED_COMMAND_CHECK").is_some();
        Ok(ServerConfig {
            port,
            addresses,
            relaxed_command_check,
            ..Self::default()
        })
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Listening on an address failed.
    #[error("cannot listen on {addr}: {source}{hint}", hint = bind_hint(source))]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The port is taken by something that does not answer as an EPMD.
    #[error("port {port} is in use, but what listens there does not answer as an EPMD ({reason}); choose another port")]
    PortTaken { port: u16, reason: String },
    /// An address in the list is not an IP address.
    #[error("{value:?} is not an IP address (ERL_EPMD_ADDRESS / --address take IPv4 or IPv6 addresses, comma separated)")]
    BadAddress { value: String },
    /// `ERL_EPMD_PORT` is not a port number.
    #[error("ERL_EPMD_PORT={value:?} is not a port number; fix or unset it")]
    BadPort { value: String },
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => " (another epmd may be running there: `epmd -port P -names` tells)",
        std::io::ErrorKind::PermissionDenied => " (ports below 1024 need privileges)",
        std::io::ErrorKind::AddrNotAvailable => " (this host has no such address)",
        _ => "",
    }
}

/// Why a server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Its [`ServerHandle`] asked it to (or was dropped).
    Shutdown,
    /// A client sent KILL_REQ and it was allowed.
    Killed,
}

/// State shared by the accept loops and the connections.
pub(crate) struct Shared {
    registry: Mutex<Registry>,
    port: u16,
    relaxed_command_check: bool,
    packet_timeout: Duration,
    shutdown: watch::Sender<Option<Stopped>>,
}

impl Shared {
    fn stop(&self, why: Stopped) {
        self.shutdown.send_if_modified(|s| {
            if s.is_none() {
                *s = Some(why);
                true
            } else {
                false
            }
        });
    }
}

/// The EPMD server.
pub struct EpmdServer;

/// What [`EpmdServer::start_or_use`] found.
#[derive(Debug)]
pub enum EmbeddedEpmd {
    /// The port was free: this process now runs the server (it stops with the handle).
    Started(ServerHandle),
    /// An EPMD already answers on the port: use it.
    Running { port: u16 },
}

impl EmbeddedEpmd {
    /// The port EPMD answers on, whichever way.
    pub fn port(&self) -> u16 {
        match self {
            EmbeddedEpmd::Started(h) => h.port(),
            EmbeddedEpmd::Running { port } => *port,
        }
    }
}

impl EpmdServer {
    /// Binds every configured address and starts serving on the current tokio runtime.
    /// Returns once all listeners are bound; if any fails, none is kept.
    pub async fn start(config: ServerConfig) -> Result<ServerHandle, ServerError> {
        let listeners = listen::bind_all(&config)?;
        let local_addrs: Vec<SocketAddr> = listeners.iter().filter_map(|l| l.local_addr().ok()).collect();
        let port = local_addrs.first().map(|a| a.port()).unwrap_or(config.port);
        let (shutdown, _) = watch::channel(None);
        let shared = Arc::new(Shared {
            registry: Mutex::new(Registry::new()),
            port,
            relaxed_command_check: config.relaxed_command_check,
            packet_timeout: config.packet_timeout,
            shutdown,
        });
        let (done_tx, done_rx) = mpsc::channel::<()>(1);
        let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let conns = Arc::new(AtomicU64::new(0));
        for listener in listeners {
            tokio::spawn(accept_loop(
                listener,
                shared.clone(),
                slots.clone(),
                conns.clone(),
                done_tx.clone(),
            ));
        }
        tracing::info!(addresses = ?local_addrs, "EPMD listening");
        Ok(ServerHandle {
            shared,
            local_addrs,
            done: done_rx,
        })
    }

    /// Embedded mode, as `erl -start_epmd true`: start a server on `config.port` if the
    /// port is free, otherwise use the EPMD already answering there. Something else on
    /// the port is [`ServerError::PortTaken`]. Two processes racing end with one server.
    pub async fn start_or_use(config: ServerConfig) -> Result<EmbeddedEpmd, ServerError> {
        let port = config.port;
        match Self::start(config).await {
            Ok(h) => Ok(EmbeddedEpmd::Started(h)),
            Err(ServerError::Bind { source, .. }) if source.kind() == std::io::ErrorKind::AddrInUse => {
                match EpmdClient::new("127.0.0.1", port).names().await {
                    Ok(_) => Ok(EmbeddedEpmd::Running { port }),
                    Err(e) => Err(ServerError::PortTaken {
                        port,
                        reason: e.to_string(),
                    }),
                }
            }
            Err(e) => Err(e),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    conns: Arc<AtomicU64>,
    done: mpsc::Sender<()>,
) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(Option::is_some) => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections; closing this one");
            continue;
        };
        let conn = conns.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        let done = done.clone();
        tokio::spawn(async move {
            connection::serve(stream, peer, conn, shared).await;
            drop(permit);
            drop(done);
        });
    }
}

/// A running server. Dropping it stops the server (use [`ServerHandle::stopped`] to run
/// until a KILL_REQ, as the CLI does).
#[derive(Debug)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addrs: Vec<SocketAddr>,
    done: mpsc::Receiver<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// The addresses the server listens on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// The registered names, newest first, as NAMES_REQ would list them.
    pub fn names(&self) -> Vec<NameEntry> {
        let list = self.shared.registry.lock().map(|r| r.list()).unwrap_or_default();
        list.into_iter()
            .map(|(e, _)| NameEntry {
                name: e.name,
                port: e.port,
            })
            .collect()
    }

    /// Asks the server to stop: listeners close, registrations end (their connections
    /// close). Returns at once; [`ServerHandle::stopped`] waits for the end.
    pub fn stop(&self) {
        self.shared.stop(Stopped::Shutdown);
    }

    /// Completes when the server has stopped, by [`ServerHandle::stop`] or by an allowed
    /// KILL_REQ, and every connection has closed. Cancel-safe.
    pub async fn stopped(&mut self) -> Stopped {
        let mut rx = self.shared.shutdown.subscribe();
        let why = match rx.wait_for(Option::is_some).await {
            Ok(v) => v.unwrap_or(Stopped::Shutdown),
            Err(_) => Stopped::Shutdown,
        };
        while self.done.recv().await.is_some() {}
        why
    }

    /// Stops the server and waits until every connection has closed.
    pub async fn shutdown(mut self) -> Stopped {
        self.stop();
        self.stopped().await
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shared.stop(Stopped::Shutdown);
    }
}
