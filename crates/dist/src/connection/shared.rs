//! State shared by a connection's reader, writer and handles: the counters and the
//! one-time transition to "down".

use std::sync::Mutex;

use tokio::sync::watch;

use super::send_queue::{Refused, SendQueue};
use super::stats::Counters;
use crate::error::DownReason;
use crate::frame_codec::FrameEncoder;
use crate::message::Message;
use bytes::Bytes;

/// Shared by the tasks and handles of one connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub peer: String,
    pub counters: Counters,
    /// What senders queued for the writer.
    pub queue: SendQueue,
    reason: Mutex<Option<DownReason>>,
    down: watch::Sender<bool>,
}

impl Shared {
    /// For tests: a queue of 1024 messages, pass-through frames, no fragments.
    #[cfg(test)]
    pub fn new(peer: String) -> Shared {
        Shared::with_queue(peer, FrameEncoder::new(0, 0), 1024)
    }

    /// Shared state whose send queue encodes with `encoder` and holds `capacity`
    /// messages.
    pub fn with_queue(peer: String, encoder: FrameEncoder, capacity: usize) -> Shared {
        let (down, _) = watch::channel(false);
        Shared {
            peer,
            counters: Counters::default(),
            queue: SendQueue::new(encoder, capacity),
            reason: Mutex::new(None),
            down,
        }
    }

    /// Marks the connection down for `reason`, unless it already is (the first reason
    /// wins). Both tasks stop when they see it.
    pub fn go_down(&self, reason: DownReason) {
        if let Ok(mut r) = self.reason.lock() {
            if r.is_none() {
                tracing::info!(peer = %self.peer, %reason, "distribution connection down");
                *r = Some(reason);
            }
        }
        self.queue.shut();
        self.down.send_replace(true);
    }

    /// Encodes `message` into the send queue (within its capacity when `bounded`) and
    /// counts it.
    pub fn push(&self, lane: u64, message: &Message, bounded: bool) -> Result<(), Refused> {
        match self.queue.try_push(lane, message, bounded) {
            Ok(frames) => {
                Counters::add(&self.counters.messages_out, 1);
                Counters::add(&self.counters.frames_out, frames as u64);
                Ok(())
            }
            Err(Refused::Encode(e)) => {
                self.go_down(DownReason::Encode {
                    peer: self.peer.clone(),
                    reason: e.to_string(),
                });
                Err(Refused::Closed)
            }
            Err(e) => Err(e),
        }
    }

    /// Queues encoded packets as one message and counts them.
    pub fn push_packets(&self, lane: u64, packets: &mut Vec<Bytes>) -> Result<(), Refused> {
        let frames = packets.len() as u64;
        self.queue.try_push_packets(lane, packets)?;
        Counters::add(&self.counters.messages_out, 1);
        Counters::add(&self.counters.frames_out, frames);
        Ok(())
    }

    /// The reason, once down.
    pub fn reason(&self) -> Option<DownReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// `true` once down.
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// A receiver that changes to `true` when the connection goes down.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.down.subscribe()
    }
}

/// Resolves when `rx` turns `true` (the connection went down) or its sender is gone.
pub(crate) async fn until_down(rx: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is dropped here, before any other await.
    let _ = rx.wait_for(|d| *d).await.map(|_| ());
}
