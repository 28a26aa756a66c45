//! EPMD, the Erlang Port Mapper Daemon protocol: a client that registers a node and finds
//! others, and an embeddable server that is a drop-in for the `epmd` program.
//!
//! - [`protocol`]: requests and responses as bytes, without I/O (and without panics on
//!   any input: every length is checked against what remains and against a limit).
//! - [`EpmdClient`]: register a node ([`Registration`] lives as long as its connection),
//!   look a node up ([`Lookup`]), list names. Honours `ERL_EPMD_PORT`.
//! - [`EpmdServer`]: serves real `erl` nodes, `epmd -names`, `net_adm:names/1`; started
//!   embedded with [`EpmdServer::start_or_use`] as `erl -start_epmd true` would.
//! - [`PortLookup`]: how to find a peer's distribution port: through EPMD, or a fixed port
//!   for EPMD-less clusters (`-start_epmd false -erl_epmd_port P`).
//!
//! A node's start-up, as the node library does it:
//!
//! ```no_run
//! # async fn start() -> Result<(), Box<dyn std::error::Error>> {
//! use beamlink_epmd::{EpmdClient, EpmdServer, NodeEntry, PortLookup, ServerConfig};
//!
//! // Like `erl -start_epmd true`: run an EPMD in this process unless one answers already.
//! let port = beamlink_epmd::port_from_env()?;
//! let epmd = EpmdServer::start_or_use(ServerConfig::with_port(port)).await?;
//! // Register (the registration lasts while `reg` lives) and use its creation.
//! let reg = EpmdClient::new("127.0.0.1", epmd.port()).register(&NodeEntry::new("rust", 40123)).await?;
//! let _creation = reg.creation();
//! // Find a peer: through EPMD, or at a fixed port in an EPMD-less cluster.
//! let peer = PortLookup::Epmd { port }.resolve("app@10.0.0.7").await?;
//! let _fixed = PortLookup::Fixed(6789).resolve("app@10.0.0.7").await?;
//! # let _ = peer; Ok(()) }
//! ```

mod client;
mod error;
mod lookup;
pub mod protocol;
mod registration;
mod server;

pub use client::{EpmdClient, Lookup, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT};
pub use error::Error;
pub use lookup::{AddressError, DistAddress, DistPort, PortLookup};
pub use protocol::{NameEntry, NodeEntry, NodeType};
pub use registration::Registration;
pub use server::{EmbeddedEpmd, EpmdServer, ServerConfig, ServerError, ServerHandle, Stopped};

/// The port EPMD listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4369;

/// The EPMD port from `ERL_EPMD_PORT`, else [`DEFAULT_PORT`], as `erl` chooses it. An
/// unset or empty variable means the default; anything else must be a port number.
pub fn port_from_env() -> Result<u16, Error> {
    match std::env::var("ERL_EPMD_PORT") {
        Ok(v) if v.trim().is_empty() => Ok(DEFAULT_PORT),
        Ok(v) => v
            .trim()
            .parse::<u16>()
            .map_err(|_| Error::BadEnvPort { value: v }),
        Err(_) => Ok(DEFAULT_PORT),
    }
}
