//! Making the node reachable: the distribution listener and the EPMD registration.

use crate::builder::{Config, EpmdMode};
use crate::error::Error;
use beamlink_epmd::{
    EmbeddedEpmd, EpmdClient, EpmdServer, NodeEntry, NodeType, PortLookup, Registration, ServerConfig,
};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// What keeps the node reachable; dropping it unregisters from EPMD.
pub(crate) struct Reachability {
    /// `None` for a node that accepts no connections.
    pub listener: Option<TcpListener>,
    pub port: u16,
    pub creation: Option<u32>,
    pub lookup: PortLookup,
    pub registration: Option<Registration>,
    pub embedded: Option<EmbeddedEpmd>,
}

/// Binds the listener in the configured range (or on the fixed port without EPMD).
async fn bind(config: &Config) -> Result<TcpListener, Error> {
    let ports: Vec<u16> = match config.epmd {
        EpmdMode::None { listen_port } => vec![listen_port],
        _ if config.port_range == (0, 0) => vec![0],
        _ => (config.port_range.0..=config.port_range.1).collect(),
    };
    let mut last = None;
    for port in ports {
        let addr = SocketAddr::new(config.listen_addr, port);
        match TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| {
        (
            SocketAddr::new(config.listen_addr, 0),
            std::io::Error::other("empty port range"),
        )
    });
    Err(Error::Listen {
        addr: addr.to_string(),
        source,
    })
}

/// Listens and registers with EPMD as configured.
pub(crate) async fn make_reachable(config: &Config) -> Result<Reachability, Error> {
    // A node that registers nowhere: peers' ports come from the configuration alone.
    let unregistered = |listener, port| Reachability {
        listener,
        port,
        creation: None,
        lookup: config.epmd.peer_lookup(),
        registration: None,
        embedded: None,
    };
    if let (false, EpmdMode::Unpublished { .. }) = (config.accept, &config.epmd) {
        return Ok(unregistered(None, 0));
    }
    let listener = bind(config).await?;
    let port = listener
        .local_addr()
        .map_err(|source| Error::Listen {
            addr: config.listen_addr.to_string(),
            source,
        })?
        .port();
    let node_type = if config.hidden {
        NodeType::Hidden
    } else {
        NodeType::Normal
    };
    let mut entry = NodeEntry::new(config.name.alive_name(), port);
    entry.node_type = node_type;
    let (epmd_port, embedded) = match config.epmd {
        EpmdMode::None { .. } | EpmdMode::Unpublished { .. } => {
            return Ok(unregistered(Some(listener), port))
        }
        EpmdMode::External { port } => (port, None),
        EpmdMode::Embedded { port } => {
            let e = EpmdServer::start_or_use(ServerConfig::with_port(port))
                .await
                .map_err(|e| Error::Epmd(format!("cannot start the embedded EPMD on port {port}: {e}")))?;
            (e.port(), Some(e))
        }
    };
    let client = EpmdClient::new("127.0.0.1", epmd_port);
    let registration = client.register(&entry).await.map_err(|e| {
        Error::Epmd(format!(
            "cannot register {} with EPMD at 127.0.0.1:{epmd_port}: {e} (is epmd running? \
             use EpmdMode::Embedded to run one in-process)",
            config.name
        ))
    })?;
    Ok(Reachability {
        listener: Some(listener),
        port,
        creation: Some(registration.creation()),
        lookup: PortLookup::Epmd { port: epmd_port },
        registration: Some(registration),
        embedded,
    })
}
