//! What can go wrong while setting up or running a connection. Every message names the
//! peer and says what to do.

use std::time::Duration;

use crate::flags::DistFlags;

/// Which side found that the cookies differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieCheck {
    /// We accepted; the initiator's digest does not match our cookie.
    TheirDigest,
    /// We initiated; the acceptor's digest does not match our cookie.
    TheirAck,
    /// We initiated; the acceptor closed the connection right after reading our
    /// digest, which is what a BEAM does when our digest does not match its cookie.
    ClosedAfterOurDigest,
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The digests did not match: the two nodes use different cookies.
    #[error("{}", cookie_message(peer, *check, *per_peer))]
    CookieMismatch {
        /// The peer's node name (or address, when its name was not yet known).
        peer: String,
        /// Which check failed.
        check: CookieCheck,
        /// `true` when a per-peer cookie was used for this peer.
        per_peer: bool,
    },

    /// The peer does not allow us to connect (status `not_allowed`).
    #[error(
        "{peer} refused the connection (status not_allowed): its allowed list \
         (net_kernel:allow/1) does not include our node name, or it refused our flags"
    )]
    NotAllowed {
        /// The peer.
        peer: String,
    },

    /// Simultaneous connect: the peer is connecting to us at the same time and its
    /// attempt wins (status `nok`). The connection the peer opens will arrive on our
    /// listener; use that one.
    #[error(
        "{peer} is connecting to us at the same time and its attempt wins (status nok): \
         use the connection it is opening"
    )]
    SimultaneousLost {
        /// The peer.
        peer: String,
    },

    /// The peer already has a live connection to a node with our name (status
    /// `alive`), and the node layer said that connection is ours and alive.
    #[error(
        "{peer} already has a connection to a node named like us (status alive) and ours is \
         still up: use the existing connection, or stop the other node using our name"
    )]
    AlreadyConnected {
        /// The peer.
        peer: String,
    },

    /// We accepted and refused the peer with this status (decided by the node layer,
    /// or `not_allowed` for missing flags).
    #[error("refused the connection from {peer} (status {status})")]
    Refused {
        /// The peer.
        peer: String,
        /// The status we sent: `nok`, `not_allowed`, or `alive` answered with `false`.
        status: &'static str,
    },

    /// The peer lacks distribution flags that OTP 26 (and beamlink) require.
    #[error(
        "{peer} lacks the mandatory distribution flags {missing}: it is older than OTP 23 \
         or an incomplete implementation; upgrade it"
    )]
    MissingFlags {
        /// The peer.
        peer: String,
        /// The missing flags.
        missing: DistFlags,
    },

    /// We connected to one node and another answered.
    #[error(
        "connected to {got} while expecting {expected}: the address or EPMD entry points to \
         another node"
    )]
    WrongPeer {
        /// The node we meant to reach.
        expected: String,
        /// The node that answered.
        got: String,
    },

    /// A malformed or unexpected handshake message.
    #[error("handshake with {peer} failed: {reason}")]
    Protocol {
        /// The peer.
        peer: String,
        /// What was wrong.
        reason: String,
    },

    /// The handshake did not complete within the setup time.
    #[error(
        "handshake with {peer} did not complete within {timeout:?} (net_setuptime) while \
         {stage}: the peer is overloaded, frozen, or not an Erlang node"
    )]
    Timeout {
        /// The peer.
        peer: String,
        /// The limit.
        timeout: Duration,
        /// What we were waiting for.
        stage: &'static str,
    },

    /// The peer closed the connection.
    #[error("{peer} closed the connection during the handshake, while {stage}")]
    Closed {
        /// The peer.
        peer: String,
        /// What we were waiting for.
        stage: &'static str,
    },

    /// A network error.
    #[error("handshake with {peer} failed: {source}")]
    Io {
        /// The peer.
        peer: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },

    /// The state machine was driven out of order (a bug in the driver, not the peer).
    #[error("handshake state machine misuse: {0}")]
    Misuse(&'static str),
}

fn cookie_message(peer: &str, check: CookieCheck, per_peer: bool) -> String {
    let how = match check {
        CookieCheck::TheirDigest => "the digest it sent does not match our cookie",
        CookieCheck::TheirAck => "its challenge ack does not match our cookie",
        CookieCheck::ClosedAfterOurDigest => {
            "it closed the connection right after checking our digest, as a node with another \
             cookie does"
        }
    };
    let which = if per_peer {
        "the cookie configured for this peer"
    } else {
        "our default cookie"
    };
    format!(
        "handshake with {peer} failed: the cookies differ ({how}); give both nodes the same \
         cookie (we used {which})"
    )
}

impl HandshakeError {
    /// `true` when the failure says the cookies differ.
    pub fn is_cookie_mismatch(&self) -> bool {
        matches!(self, HandshakeError::CookieMismatch { .. })
    }
}

/// Why an established connection went down.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum DownReason {
    /// Nothing arrived from the peer for `net_ticktime`.
    #[error(
        "{peer} sent nothing for {ticktime:?} (net_ticktime): it is frozen, overloaded or \
         unreachable"
    )]
    TickTimeout {
        /// The peer.
        peer: String,
        /// The net_ticktime in force.
        ticktime: Duration,
    },
    /// The peer closed the connection.
    #[error("{peer} closed the connection")]
    PeerClosed {
        /// The peer.
        peer: String,
    },
    /// We closed it ([`crate::ConnectionHandle::close`], or every handle and the event
    /// receiver were dropped).
    #[error("connection to {peer} closed by this node")]
    LocalClose {
        /// The peer.
        peer: String,
    },
    /// The peer broke the protocol (a malformed frame, a limit exceeded).
    #[error("{peer} broke the distribution protocol: {reason}; disconnected")]
    Protocol {
        /// The peer.
        peer: String,
        /// What it did.
        reason: String,
    },
    /// A message we were asked to send could not be encoded.
    #[error("could not encode a message for {peer}: {reason}; disconnected")]
    Encode {
        /// The peer.
        peer: String,
        /// Why.
        reason: String,
    },
    /// A network error.
    #[error("connection to {peer} failed: {reason}")]
    Io {
        /// The peer.
        peer: String,
        /// The error text.
        reason: String,
    },
}

impl DownReason {
    /// The peer's node name.
    pub fn peer(&self) -> &str {
        match self {
            DownReason::TickTimeout { peer, .. }
            | DownReason::PeerClosed { peer }
            | DownReason::LocalClose { peer }
            | DownReason::Protocol { peer, .. }
            | DownReason::Encode { peer, .. }
            | DownReason::Io { peer, .. } => peer,
        }
    }
}

/// Why a message could not be queued for sending.
#[derive(Debug, thiserror::Error)]
#[error("connection to {peer} is down: the message was not sent")]
pub struct SendError<T> {
    /// The peer.
    pub peer: String,
    /// The message that was not sent.
    pub message: T,
}

/// Why [`crate::ConnectionHandle::try_send`] did not queue a message.
#[derive(Debug, thiserror::Error)]
pub enum TrySendError<T> {
    /// The send queue is full: the peer reads more slowly than we write (the BEAM calls
    /// this a busy distribution port). Wait with [`crate::ConnectionHandle::send`].
    #[error("send queue to the peer is full (busy distribution port)")]
    Full(T),
    /// The connection is down.
    #[error("connection is down: the message was not sent")]
    Closed(T),
}
