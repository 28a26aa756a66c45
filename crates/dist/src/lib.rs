//! The Erlang distribution protocol: handshake, frames, control messages, and one
//! connection between beamlink and a BEAM node.
//!
//! * [`handshake`]: the version 6 handshake as sans-I/O state machines ([`Initiator`],
//!   [`Acceptor`]), with the [`Arbiter`] hook through which the node layer decides
//!   simultaneous connects, `alive` and dynamic names.
//! * [`DistFlags`]: capability flags; [`Cookie`] and [`Cookies`]: the shared secret,
//!   never printed; [`digest`]: the MD5 challenge digest.
//! * [`Connection`]: a TCP connection after the handshake, with one reader and one
//!   writer task, ticks, back-pressure and batched writes. Start there.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use beamlink_dist::{AcceptAll, Connection, ConnectionConfig, ConnectionEvent, Cookie, HandshakeConfig};
//!
//! let handshake = HandshakeConfig::new("rust@127.0.0.1", Cookie::new("secret"));
//! let addr = "127.0.0.1:40000".parse()?; // from EPMD's PORT_PLEASE2 answer
//! let mut conn =
//!     Connection::connect(addr, "app@127.0.0.1", &handshake, &ConnectionConfig::default(), &AcceptAll)
//!         .await?;
//! println!("connected to {} (creation {})", conn.peer.node, conn.peer.creation);
//! while let Some(event) = conn.events.recv().await {
//!     match event {
//!         ConnectionEvent::Message(m) => println!("{m:?}"),
//!         ConnectionEvent::Down(reason) => println!("down: {reason}"),
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod config;
pub mod connection;
pub mod cookie;
pub mod digest;
pub mod error;
pub mod flags;
pub mod handshake;

// Protocol of what travels inside packets (sans-I/O): control messages, the distribution
// header with its atom cache, fragments, and the frame codec that ties them together.
pub mod control;
mod fragment;
pub mod frame_codec;
pub mod header;
pub mod message;
mod out_cache;

pub use config::{ConnectionConfig, HandshakeConfig, DEFAULT_NET_TICKTIME, DEFAULT_SETUP_TIME};
pub use connection::{Connection, ConnectionEvent, ConnectionHandle, Established, Events, Stats};
pub use control::{ControlError, ControlMessage, PidOrName, Recipient, SpawnResult};
pub use cookie::{Cookie, Cookies};
pub use error::{CookieCheck, DownReason, HandshakeError, SendError, TrySendError};
pub use flags::DistFlags;
pub use frame_codec::{EncodeError, FrameDecoder, FrameEncoder, FrameError, FrameLimits};
pub use handshake::{
    AcceptAll, AcceptDecision, AcceptRequest, Acceptor, Arbiter, Handshaken, Initiator, LocalName, PeerInfo,
};
pub use message::Message;
