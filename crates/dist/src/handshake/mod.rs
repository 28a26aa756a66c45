//! The distribution handshake (version 6), as sans-I/O state machines.
//!
//! [`Initiator`] is node A (it connected), [`Acceptor`] node B (it accepted). Both are
//! driven the same way: give each complete packet body (see [`next_packet`]) to
//! `receive`, and act on the returned [`Step`]: write the bytes of [`Step::Send`], ask
//! the node layer when told to ([`Step::Decide`], [`Step::AnswerAlive`],
//! [`Step::WaitPending`]), write the final bytes and stop at [`Step::Done`] or
//! [`Step::Reject`]. Neither machine does I/O, reads a clock or draws random numbers
//! (challenges are given to them), so every exchange can be tested byte for byte.
//! [`crate::Connection`] drives them over TCP.
//!
//! Behaviour follows OTP's `dist_util`: the initiator always sends the `N` name message;
//! the acceptor also takes the version-5 `n` message with its `c` complement. Flags are
//! checked against [`DistFlags::REQUIRED`]; the flags in use are the intersection of
//! both sides'.

mod acceptor;
mod arbiter;
mod initiator;
pub mod message;
pub mod replay;

pub use acceptor::{AcceptRequest, Acceptor, AcceptorSetup};
pub use arbiter::{AcceptAll, AcceptDecision, Arbiter, BoxFuture};
pub use initiator::{Initiator, InitiatorSetup};
pub use message::{is_host_name, is_node_name, next_packet, Status};

use crate::error::HandshakeError;
use crate::flags::DistFlags;

/// How this node is named in a handshake it initiates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalName {
    /// A full node name, `name@host`.
    Static(String),
    /// Ask the peer for a name (`NAME_ME`, as `erl_call -R` does): only the host is
    /// sent, and the peer answers with the full name and our creation.
    Dynamic {
        /// Our host name, the part after `@` in the name we will get.
        host: String,
    },
}

/// Who the peer is, as the handshake established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node name, `name@host` (for a peer we named dynamically, the name we
    /// gave it).
    pub node: String,
    /// The flags in use on this connection: the intersection of ours and the peer's
    /// (with the peer's `MANDATORY_25_DIGEST` expanded). Give these to the frame
    /// encoder.
    pub flags: DistFlags,
    /// The flags the peer announced, digest expanded.
    pub peer_flags: DistFlags,
    /// The peer's creation (incarnation), part of its pids, ports and references.
    pub creation: u32,
    /// `true` when the peer is a hidden node (no `PUBLISHED` in the flags in use).
    pub hidden: bool,
    /// `true` when the peer sent the old version-5 name message.
    pub version5_name: bool,
}

/// The result of a successful handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshaken {
    /// The peer.
    pub peer: PeerInfo,
    /// Our node name on this connection: the configured one, or the one the peer gave
    /// us with `named:`.
    pub local_node: String,
    /// Our creation on this connection (given by the peer for a dynamic name).
    pub local_creation: u32,
}

/// What the driver of a state machine must do next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Write these bytes (one or more complete packets), then read the next packet.
    Send(Vec<u8>),
    /// Nothing to write; read the next packet.
    Wait,
    /// Acceptor only: the peer introduced itself; ask the node layer (the
    /// [`Arbiter`]) and call [`Acceptor::decide`].
    Decide(AcceptRequest),
    /// Initiator only: the peer answered `alive` (it has a connection to a node of our
    /// name). Ask [`Arbiter::is_pending`] and call [`Initiator::answer_alive`].
    AnswerAlive,
    /// Acceptor only: the digest checked out, but an old connection to this peer must
    /// go first ([`Arbiter::wait_pending`]); then call [`Acceptor::old_connection_gone`].
    WaitPending,
    /// The handshake succeeded: write `send` (if any), then the connection is up and
    /// switches to 4-byte frames.
    Done {
        /// The last packet, if this side sends one.
        send: Option<Vec<u8>>,
        /// Who the peer is.
        result: Handshaken,
    },
    /// The handshake failed: write `send` (a last status for the peer), then close.
    Reject {
        /// The status packet to write before closing.
        send: Vec<u8>,
        /// Why.
        error: HandshakeError,
    },
}

/// The flags this node announces: the mandatory set, the chosen optional ones and
/// `PUBLISHED` for a visible node.
pub(crate) fn our_flags(optional: DistFlags, visible: bool) -> DistFlags {
    let mut f = DistFlags::MANDATORY | optional.without(DistFlags::PUBLISHED | DistFlags::NAME_ME);
    if visible {
        f |= DistFlags::PUBLISHED;
    }
    f
}
