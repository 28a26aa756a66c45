//! Settings of the handshake and of an established connection, with OTP's defaults.

use std::time::Duration;

use crate::cookie::{Cookie, Cookies};
use crate::flags::DistFlags;
use crate::frame_codec::FrameLimits;
use crate::handshake::LocalName;

/// OTP's default `net_setuptime`: the whole handshake must finish within 7 seconds.
pub const DEFAULT_SETUP_TIME: Duration = Duration::from_secs(7);

/// OTP's default `net_ticktime`: 60 seconds.
pub const DEFAULT_NET_TICKTIME: Duration = Duration::from_secs(60);

/// A random creation for a node that did not get one from EPMD: non-zero, above the
/// 1..=3 range that old 2-bit creations used.
pub fn random_creation() -> u32 {
    use rand::Rng;
    rand::thread_rng().gen_range(4..=u32::MAX)
}

/// Who we are in a handshake and what we announce.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Our node name, or a request for a dynamic one (initiator only).
    pub name: LocalName,
    /// Our creation (from EPMD's `ALIVE2` answer when registered). Ignored for a
    /// dynamic name, which gets its creation from the peer.
    pub creation: u32,
    /// The cookies: a default and per-peer overrides.
    pub cookies: Cookies,
    /// The optional capabilities announced on top of [`DistFlags::MANDATORY`]: the node
    /// layer lists what it implements. Default: [`DistFlags::CONNECTION_DEFAULT`].
    pub flags: DistFlags,
    /// `true` for a visible node (announces `PUBLISHED`, appears in `nodes()` on the
    /// peer). Default `false`: a hidden node, in `nodes(hidden)` only.
    pub visible: bool,
    /// The deadline for the whole handshake (OTP's `net_setuptime`, default 7 s).
    pub setup_time: Duration,
}

impl HandshakeConfig {
    /// A hidden node named `node` (`name@host`) with one cookie for every peer, a
    /// random creation and the default flags.
    pub fn new(node: impl Into<String>, cookie: Cookie) -> HandshakeConfig {
        HandshakeConfig {
            name: LocalName::Static(node.into()),
            creation: random_creation(),
            cookies: Cookies::new(cookie),
            flags: DistFlags::CONNECTION_DEFAULT,
            visible: false,
            setup_time: DEFAULT_SETUP_TIME,
        }
    }

    /// A node that asks each peer it connects to for a name on `host` (`NAME_ME`).
    /// Such a node can only initiate connections.
    pub fn dynamic(host: impl Into<String>, cookie: Cookie) -> HandshakeConfig {
        HandshakeConfig {
            name: LocalName::Dynamic { host: host.into() },
            ..HandshakeConfig::new("", cookie)
        }
    }

    /// Sets the creation.
    pub fn creation(mut self, creation: u32) -> Self {
        self.creation = creation;
        self
    }

    /// Sets the optional flags (the mandatory ones are always added).
    pub fn flags(mut self, flags: DistFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Makes the node visible (`true`) or hidden (`false`, the default).
    pub fn visible(mut self, visible: bool) -> Self {
        self.visible = visible;
        self
    }

    /// Sets the handshake deadline.
    pub fn setup_time(mut self, t: Duration) -> Self {
        self.setup_time = t;
        self
    }

    /// Uses `cookie` with `peer` instead of the default cookie.
    pub fn peer_cookie(mut self, peer: impl Into<String>, cookie: Cookie) -> Self {
        self.cookies.set_peer(peer, cookie);
        self
    }
}

/// Settings of an established connection.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// OTP's `net_ticktime`: we write a tick after `net_ticktime / 4` without writing
    /// anything, and declare the peer down after `net_ticktime` without receiving
    /// anything. Use the same value as the cluster (`-kernel net_ticktime`).
    pub net_ticktime: Duration,
    /// The largest frame (4-byte length) accepted from the peer; a peer that announces
    /// more is disconnected. Default 256 MiB.
    pub max_frame: usize,
    /// Limits for decoding frames (reassembled size, fragments in flight, term limits).
    pub frame_limits: FrameLimits,
    /// Messages the send queue holds before [`crate::ConnectionHandle::send`] waits
    /// (back-pressure, as a busy distribution port). Default 1024.
    pub send_queue: usize,
    /// Events buffered for the node layer before the reader stops reading the socket
    /// (back-pressure to the peer through TCP). Default 1024.
    pub event_queue: usize,
    /// Messages whose encoding exceeds this are sent in fragments of this size when the
    /// peer supports `FRAGMENTS`, so ticks and other messages interleave. Default 64 KiB.
    pub fragment_size: usize,
    /// The writer gathers queued packets into one vectored write of up to this many
    /// bytes. Default 256 KiB.
    pub write_batch: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            net_ticktime: DEFAULT_NET_TICKTIME,
            max_frame: 256 << 20,
            frame_limits: FrameLimits::default(),
            send_queue: 1024,
            event_queue: 1024,
            fragment_size: 64 << 10,
            write_batch: 256 << 10,
        }
    }
}

impl ConnectionConfig {
    /// Sets `net_ticktime`.
    pub fn net_ticktime(mut self, t: Duration) -> Self {
        self.net_ticktime = t;
        self
    }

    /// The silence after which we tick: `net_ticktime / 4`, as OTP's ticker.
    pub fn tick_interval(&self) -> Duration {
        self.net_ticktime / 4
    }
}
