//! The reader task: 4-byte frames from the socket, ticks noted, messages decoded and
//! delivered to the node layer (every message of one read together, see
//! [`super::events`]); the peer declared down after `net_ticktime` of silence.

use std::sync::Arc;
use std::time::Duration;

use super::events::EventQueue;
use super::shared::Shared;
use super::stats::Counters;
use super::ConnectionEvent;
use crate::error::DownReason;
use crate::frame_codec::FrameDecoder;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// How much the reader asks the socket for at least, per read.
const READ_CHUNK: usize = 64 << 10;

/// The most it reserves ahead for one large frame; the rest comes as the frame arrives,
/// so a peer that announces a large frame and stops does not cost that much memory.
const RESERVE_AHEAD: usize = 4 << 20;

pub(crate) struct Reader<R> {
    pub socket: R,
    pub buf: BytesMut,
    pub decoder: FrameDecoder,
    pub events: Arc<EventQueue>,
    /// Messages decoded from the current read, not yet handed over.
    pub batch: Vec<ConnectionEvent>,
    /// The last frame was larger than [`READ_CHUNK`].
    pub after_large: bool,
    pub shared: Arc<Shared>,
    pub net_ticktime: Duration,
    pub max_frame: usize,
}

enum Parsed {
    /// Every complete frame was handled; read more.
    NeedMore(usize),
    /// The connection must go down.
    Down(DownReason),
}

impl<R: AsyncRead + Unpin> Reader<R> {
    /// Runs until the connection goes down, then sends the one `Down` event (always
    /// the last event).
    pub async fn run(mut self) {
        let mut down = self.shared.subscribe();
        let reason = loop {
            let parsed = self.parse();
            if !self.events.push(&mut self.batch) {
                // Nobody listens any more: the node layer dropped the receiver.
                break DownReason::LocalClose {
                    peer: self.shared.peer.clone(),
                };
            }
            let wanted = match parsed {
                Parsed::NeedMore(n) => n,
                Parsed::Down(reason) => break reason,
            };
            // Back-pressure: the socket waits while the node layer is behind.
            let room = tokio::select! {
                r = self.events.room() => r,
                _ = super::shared::until_down(&mut down) => break DownReason::LocalClose { peer: self.shared.peer.clone() },
            };
            if !room {
                break DownReason::LocalClose {
                    peer: self.shared.peer.clone(),
                };
            }
            if self.shared.is_down() {
                break DownReason::LocalClose {
                    peer: self.shared.peer.clone(),
                };
            }
            let missing = wanted.saturating_sub(self.buf.len());
            // Small frames: read as much as comes, many frames per read. A large frame,
            // and the frame after one: read up to its end and the next frame's length,
            // no further, so that a large frame starts in a buffer of its own size
            // instead of being copied out of one that was too small (the decoded message
            // shares the buffer). A BEAM sends a 64 KiB message as a 64 KiB fragment and
            // a small one: both are read this way, and nothing is copied.
            let (reserve, limit) = if wanted > READ_CHUNK || self.after_large {
                let upto = missing + 4;
                (upto.min(RESERVE_AHEAD), upto as u64)
            } else {
                (READ_CHUNK, u64::MAX)
            };
            self.buf.reserve(reserve);
            let mut socket = (&mut self.socket).take(limit);
            let read = tokio::select! {
                r = tokio::time::timeout(self.net_ticktime, socket.read_buf(&mut self.buf)) => r,
                _ = super::shared::until_down(&mut down) => break DownReason::LocalClose { peer: self.shared.peer.clone() },
                // Nobody listens any more: the node layer dropped the event receiver.
                _ = self.events.dropped() => break DownReason::LocalClose { peer: self.shared.peer.clone() },
            };
            match read {
                Err(_) => {
                    break DownReason::TickTimeout {
                        peer: self.shared.peer.clone(),
                        ticktime: self.net_ticktime,
                    }
                }
                Ok(Err(e)) => {
                    break DownReason::Io {
                        peer: self.shared.peer.clone(),
                        reason: e.to_string(),
                    }
                }
                Ok(Ok(0)) => {
                    break DownReason::PeerClosed {
                        peer: self.shared.peer.clone(),
                    }
                }
                Ok(Ok(n)) => Counters::add(&self.shared.counters.bytes_in, n as u64),
            }
        };
        self.shared.go_down(reason.clone());
        // The first reason recorded wins (the writer may have failed first).
        let reason = self.shared.reason().unwrap_or(reason);
        self.events.finish(ConnectionEvent::Down(reason));
    }

    /// Decodes every complete frame in the buffer into `batch`. Returns how many bytes
    /// the next frame needs in total.
    fn parse(&mut self) -> Parsed {
        loop {
            if self.buf.len() < 4 {
                return Parsed::NeedMore(4);
            }
            let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
            if len == 0 {
                self.buf.advance(4);
                Counters::add(&self.shared.counters.ticks_in, 1);
                continue;
            }
            if len > self.max_frame {
                return Parsed::Down(DownReason::Protocol {
                    peer: self.shared.peer.clone(),
                    reason: format!(
                        "it announced a frame of {len} bytes, more than the {} allowed \
                         (ConnectionConfig::max_frame)",
                        self.max_frame
                    ),
                });
            }
            if self.buf.len() < 4 + len {
                return Parsed::NeedMore(4 + len);
            }
            self.after_large = len > READ_CHUNK;
            let mut frame = self.buf.split_to(4 + len);
            frame.advance(4);
            Counters::add(&self.shared.counters.frames_in, 1);
            match self.decoder.decode(frame.freeze()) {
                Ok(Some(message)) => {
                    Counters::add(&self.shared.counters.messages_in, 1);
                    self.batch.push(ConnectionEvent::Message(message));
                }
                Ok(None) => {}
                Err(e) => {
                    return Parsed::Down(DownReason::Protocol {
                        peer: self.shared.peer.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
    }
}
