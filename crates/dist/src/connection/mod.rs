//! One distribution connection over TCP: the handshake, then one reader task and one
//! writer task.
//!
//! # For the node layer
//!
//! * [`Connection::connect`] / [`Connection::connect_stream`] (we initiate) and
//!   [`Connection::accept`] (a peer connected to our listener) run the handshake
//!   within [`HandshakeConfig::setup_time`] and, on success, start the two tasks and
//!   return an [`Established`]: who the peer is ([`PeerInfo`]), our own name on the
//!   connection (it differs from the configured one only for a dynamic name), a
//!   [`ConnectionHandle`] to send with, and the receiver of [`ConnectionEvent`]s.
//! * Simultaneous connects, `alive` and dynamic names are decided by the node layer
//!   through its [`Arbiter`] (it owns the connection table).
//! * Events: every received message, in order, then exactly one
//!   [`ConnectionEvent::Down`], always last. After it the receiver yields `None`.
//! * Sending: [`ConnectionHandle::send`] encodes the message into the connection's send
//!   queue (fragmenting it when the peer has `FRAGMENTS`) and waits while the queue is
//!   full (back-pressure, like a busy distribution port); the writer interleaves the
//!   lanes and writes whole batches.
//! * Ticks: the writer sends an empty frame after `net_ticktime / 4` without writing;
//!   the reader declares the peer down ([`DownReason::TickTimeout`]) after
//!   `net_ticktime` without receiving a byte. That is how a BEAM judges it too.
//! * Closing: [`ConnectionHandle::close`] writes what was queued before it, then shuts
//!   the socket down; dropping every handle does the same. [`ConnectionHandle::abort`]
//!   and dropping the event receiver close it at once.

mod events;
mod reader;
mod send_queue;
mod setup;
mod shared;
mod stats;
#[cfg(test)]
mod tests;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;

pub use events::Events;
pub use stats::Stats;

use crate::config::{ConnectionConfig, HandshakeConfig};
use crate::control::ControlMessage;
use crate::error::{DownReason, HandshakeError, SendError, TrySendError};
use crate::frame_codec::{FrameDecoder, FrameEncoder};
use crate::handshake::{Arbiter, Handshaken, PeerInfo};
use crate::message::Message;
use send_queue::Refused;
use shared::Shared;

/// What the connection tells the node layer.
// Messages are the common case: boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ConnectionEvent {
    /// A complete message from the peer (fragments already reassembled).
    Message(Message),
    /// The connection is down; always the last event.
    Down(DownReason),
}

/// A connection that completed its handshake and runs.
#[derive(Debug)]
pub struct Established {
    /// Who the peer is.
    pub peer: PeerInfo,
    /// Our node name on this connection (the one the peer gave us for a dynamic name).
    pub local_node: String,
    /// Our creation on this connection.
    pub local_creation: u32,
    /// Sends to the peer; clone it freely.
    pub handle: ConnectionHandle,
    /// Messages from the peer, then the `Down` event.
    pub events: Events,
}

/// The lane of a message: messages in one lane keep their order; lanes interleave.
///
/// Erlang orders signals per pair of processes, so the lane is the sending process
/// (`id` and `serial` of the local pid that sends). Messages without a sender (`SEND`,
/// `SEND_TT`, `NODE_LINK`, exits of a registered name) share lane 0. A spawn reply goes
/// in the lane of the new process, whose own messages must follow it.
pub(crate) fn lane_of(message: &Message) -> u64 {
    use crate::control::{PidOrName, SpawnResult};
    use ControlMessage as C;
    let pid = match &message.control {
        C::Link { from, .. }
        | C::Exit { from, .. }
        | C::Unlink { from, .. }
        | C::RegSend { from, .. }
        | C::GroupLeader { from, .. }
        | C::Exit2 { from, .. }
        | C::ExitTt { from, .. }
        | C::RegSendTt { from, .. }
        | C::Exit2Tt { from, .. }
        | C::MonitorP { from, .. }
        | C::DemonitorP { from, .. }
        | C::SendSender { from, .. }
        | C::SendSenderTt { from, .. }
        | C::PayloadExit { from, .. }
        | C::PayloadExitTt { from, .. }
        | C::PayloadExit2 { from, .. }
        | C::PayloadExit2Tt { from, .. }
        | C::SpawnRequest { from, .. }
        | C::SpawnRequestTt { from, .. }
        | C::AliasSend { from, .. }
        | C::AliasSendTt { from, .. }
        | C::UnlinkId { from, .. }
        | C::UnlinkIdAck { from, .. }
        | C::AltactSigSend { from, .. } => Some(from),
        C::MonitorPExit {
            from: PidOrName::Pid(p),
            ..
        }
        | C::PayloadMonitorPExit {
            from: PidOrName::Pid(p),
            ..
        } => Some(p),
        C::SpawnReply {
            result: SpawnResult::Pid(p),
            ..
        }
        | C::SpawnReplyTt {
            result: SpawnResult::Pid(p),
            ..
        } => Some(p),
        _ => None,
    };
    pid.map_or(0, |p| (u64::from(p.id) << 32) | u64::from(p.serial))
}

/// Sends to one peer. Cheap to clone; every clone feeds the same bounded queue.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    shared: Arc<Shared>,
    /// Dropped with the last handle: the connection then closes.
    _senders: Arc<Senders>,
}

/// Closes the connection when the last handle is gone (nobody can send any more).
#[derive(Debug)]
struct Senders(Arc<Shared>);

impl Drop for Senders {
    fn drop(&mut self) {
        self.0.queue.close();
    }
}

impl ConnectionHandle {
    /// The peer's node name.
    pub fn peer(&self) -> &str {
        &self.shared.peer
    }

    /// Encodes `message` into the send queue, waiting while the queue is full. Returns
    /// the message back if the connection is down (or closing). Messages from one
    /// sender are written in the order they were queued. A message that cannot be
    /// encoded takes the connection down ([`DownReason::Encode`]), as before any
    /// message after it could be written out of order.
    #[allow(clippy::result_large_err)] // the error hands the message back
    pub async fn send(&self, message: Message) -> Result<(), SendError<Message>> {
        let lane = lane_of(&message);
        loop {
            match self.push(lane, &message) {
                Ok(()) => return Ok(()),
                Err(Refused::Full) => self.shared.queue.room().await,
                Err(_) => {
                    return Err(SendError {
                        peer: self.shared.peer.clone(),
                        message,
                    })
                }
            }
        }
    }

    /// Queues `message` if there is room now.
    #[allow(clippy::result_large_err)] // the error hands the message back
    pub fn try_send(&self, message: Message) -> Result<(), TrySendError<Message>> {
        let lane = lane_of(&message);
        match self.push(lane, &message) {
            Ok(()) => Ok(()),
            Err(Refused::Full) => Err(TrySendError::Full(message)),
            Err(_) => Err(TrySendError::Closed(message)),
        }
    }

    fn push(&self, lane: u64, message: &Message) -> Result<(), Refused> {
        self.shared.push(lane, message, true)
    }

    /// Queues `message` whatever the send queue holds: never waits, fails only when the
    /// connection is down or closing. For callers that must not wait and bound their
    /// backlog themselves (a node, whose `send` never suspends, offers a `send` that
    /// waits with [`ConnectionHandle::queued`] and [`ConnectionHandle::queued_below`]).
    #[allow(clippy::result_large_err)] // the error hands the message back
    pub fn send_now(&self, message: Message) -> Result<(), SendError<Message>> {
        let lane = lane_of(&message);
        match self.shared.push(lane, &message, false) {
            Ok(()) => Ok(()),
            Err(_) => Err(SendError {
                peer: self.shared.peer.clone(),
                message,
            }),
        }
    }

    /// Messages queued and not yet taken by the writer.
    pub fn queued(&self) -> usize {
        self.shared.queue.len()
    }

    /// Waits until fewer than `limit` messages are queued, or the connection is down.
    pub async fn queued_below(&self, limit: usize) {
        self.shared.queue.below(limit).await
    }

    /// Queues packets that are already encoded: each a complete frame with its 4-byte
    /// length, none referring to the connection's atom cache. Packets in one `lane` keep
    /// their order (and the packets of one call stay together in it).
    pub async fn send_packets(&self, lane: u64, packets: Vec<Bytes>) -> Result<(), SendError<Vec<Bytes>>> {
        let mut packets = packets;
        loop {
            match self.shared.push_packets(lane, &mut packets) {
                Ok(()) => return Ok(()),
                Err(Refused::Full) => self.shared.queue.room().await,
                Err(_) => {
                    return Err(SendError {
                        peer: self.shared.peer.clone(),
                        message: packets,
                    })
                }
            }
        }
    }

    /// Closes the connection after writing everything queued before this call; sends
    /// after it fail. Returns at once.
    pub async fn close(&self) {
        self.shared.queue.close();
    }

    /// Closes the connection now, without writing what is still queued (as OTP's
    /// `erlang:disconnect_node/1`). For replacing a stale connection in
    /// [`Arbiter::wait_pending`], or shutting down quickly. The event receiver gets
    /// [`DownReason::LocalClose`].
    pub fn abort(&self) {
        self.shared.go_down(DownReason::LocalClose {
            peer: self.shared.peer.clone(),
        });
    }

    /// Waits until the connection is down and returns why.
    pub async fn closed(&self) -> DownReason {
        let mut rx = self.shared.subscribe();
        shared::until_down(&mut rx).await;
        self.shared.reason().unwrap_or_else(|| DownReason::LocalClose {
            peer: self.shared.peer.clone(),
        })
    }

    /// `true` once the connection is down.
    pub fn is_down(&self) -> bool {
        self.shared.is_down()
    }

    /// Why the connection went down, once it has.
    pub fn down_reason(&self) -> Option<DownReason> {
        self.shared.reason()
    }

    /// The connection's counters.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }
}

/// Sets up connections. See the [module](self) documentation.
#[derive(Debug)]
pub struct Connection;

impl Connection {
    /// Connects to `addr`, where node `peer` (`name@host`) listens, and runs the
    /// handshake as initiator. TCP connect and handshake together must finish within
    /// [`HandshakeConfig::setup_time`].
    pub async fn connect(
        addr: SocketAddr,
        peer: &str,
        handshake: &HandshakeConfig,
        connection: &ConnectionConfig,
        arbiter: &dyn Arbiter,
    ) -> Result<Established, HandshakeError> {
        let deadline = tokio::time::Instant::now() + handshake.setup_time;
        let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(HandshakeError::Io {
                    peer: format!("{peer} at {addr}"),
                    source,
                })
            }
            Err(_) => {
                return Err(HandshakeError::Timeout {
                    peer: format!("{peer} at {addr}"),
                    timeout: handshake.setup_time,
                    stage: "connecting",
                })
            }
        };
        Self::initiate(stream, Some(peer), handshake, connection, arbiter, deadline).await
    }

    /// Runs the handshake as initiator on a connected stream. With `peer` set, a node
    /// with another name is refused.
    pub async fn connect_stream(
        stream: TcpStream,
        peer: Option<&str>,
        handshake: &HandshakeConfig,
        connection: &ConnectionConfig,
        arbiter: &dyn Arbiter,
    ) -> Result<Established, HandshakeError> {
        let deadline = tokio::time::Instant::now() + handshake.setup_time;
        Self::initiate(stream, peer, handshake, connection, arbiter, deadline).await
    }

    async fn initiate(
        mut stream: TcpStream,
        peer: Option<&str>,
        handshake: &HandshakeConfig,
        connection: &ConnectionConfig,
        arbiter: &dyn Arbiter,
        deadline: tokio::time::Instant,
    ) -> Result<Established, HandshakeError> {
        let label = peer.unwrap_or("the peer").to_string();
        stream
            .set_nodelay(true)
            .map_err(|source| HandshakeError::Io { peer: label, source })?;
        let mut buf = BytesMut::with_capacity(1024);
        let done = setup::initiate(&mut stream, &mut buf, peer, handshake, arbiter, deadline).await?;
        Ok(start(stream, buf, done, connection))
    }

    /// Runs the handshake as acceptor on a stream our listener accepted.
    pub async fn accept(
        mut stream: TcpStream,
        handshake: &HandshakeConfig,
        connection: &ConnectionConfig,
        arbiter: &dyn Arbiter,
    ) -> Result<Established, HandshakeError> {
        let label = match stream.peer_addr() {
            Ok(a) => format!("the node at {a}"),
            Err(_) => "an unknown node".to_string(),
        };
        stream.set_nodelay(true).map_err(|source| HandshakeError::Io {
            peer: label.clone(),
            source,
        })?;
        let mut buf = BytesMut::with_capacity(1024);
        let deadline = tokio::time::Instant::now() + handshake.setup_time;
        let done = setup::accept(&mut stream, &mut buf, label, handshake, arbiter, deadline).await?;
        Ok(start(stream, buf, done, connection))
    }
}

/// Starts the reader and writer tasks on an established connection.
fn start(stream: TcpStream, buf: BytesMut, done: Handshaken, config: &ConnectionConfig) -> Established {
    let Handshaken {
        peer,
        local_node,
        local_creation,
    } = done;
    tracing::info!(peer = %peer.node, local = %local_node, flags = %peer.flags, hidden = peer.hidden,
        "distribution connection up");
    let encoder = FrameEncoder::new(peer.flags.bits(), config.fragment_size).with_atom_cache();
    let shared = Arc::new(Shared::with_queue(peer.node.clone(), encoder, config.send_queue));
    let events = events::EventQueue::new(config.event_queue);
    let (rd, wr) = stream.into_split();
    let reader = reader::Reader {
        socket: rd,
        buf,
        decoder: FrameDecoder::new(config.frame_limits),
        events: events.clone(),
        batch: Vec::new(),
        after_large: false,
        shared: shared.clone(),
        net_ticktime: config.net_ticktime,
        max_frame: config.max_frame,
    };
    let writer = writer::Writer::new(wr, shared.clone(), config.tick_interval(), config.write_batch);
    tokio::spawn(reader.run());
    tokio::spawn(writer.run());
    Established {
        peer,
        local_node,
        local_creation,
        handle: ConnectionHandle {
            _senders: Arc::new(Senders(shared.clone())),
            shared,
        },
        events: Events::new(events),
    }
}
