//! The writer task: encodes queued messages, interleaves their packets, writes them in
//! as few system calls as possible, and ticks after `net_ticktime / 4` of silence.
//!
//! Ordering: the packets of one message, and messages in the same lane, are written in
//! the order they were queued. Lanes take turns packet by packet, so a small message in
//! one lane is not stuck behind the fragments of a large message in another. A message's
//! lane comes from its sender (see [`super::lane_of`]): Erlang only promises order
//! between one sender and one receiver, which lanes keep.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::shared::Shared;
use super::stats::Counters;
use super::Outgoing;
use crate::error::DownReason;
use crate::frame_codec::FrameEncoder;

/// At most this many buffers go into one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = 512;

/// How far the writer reads ahead of the socket. It takes more items from the queue
/// while its lanes hold fewer than [`AHEAD_MESSAGES`] messages (so that small messages
/// join the lanes, and interleave, while a large message is being written) or fewer
/// bytes than one batch (so that tiny messages fill whole batches), and never beyond
/// [`MAX_PENDING_PACKETS`] packets or [`MAX_PENDING_BYTES`] bytes. Beyond that the queue
/// fills up and senders wait. Reading further ahead only costs memory and cache.
const AHEAD_MESSAGES: usize = 64;
const MAX_PENDING_PACKETS: usize = 4096;
const MAX_PENDING_BYTES: usize = 64 << 20;

/// The 4-byte empty frame that keeps a quiet connection alive.
const TICK: [u8; 4] = [0, 0, 0, 0];

struct Lane {
    key: u64,
    /// Packets, each marked `true` when it is the last of its message.
    packets: VecDeque<(Bytes, bool)>,
}

pub(crate) struct Writer<W> {
    pub socket: W,
    pub queue: mpsc::Receiver<Outgoing>,
    pub encoder: FrameEncoder,
    pub shared: Arc<Shared>,
    pub tick_interval: Duration,
    pub batch_bytes: usize,
    lanes: VecDeque<Lane>,
    pending_bytes: usize,
    pending_packets: usize,
    pending_messages: usize,
    closing: bool,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(
        socket: W,
        queue: mpsc::Receiver<Outgoing>,
        encoder: FrameEncoder,
        shared: Arc<Shared>,
        tick_interval: Duration,
        batch_bytes: usize,
    ) -> Self {
        Writer {
            socket,
            queue,
            encoder,
            shared,
            tick_interval,
            batch_bytes,
            lanes: VecDeque::new(),
            pending_bytes: 0,
            pending_packets: 0,
            pending_messages: 0,
            closing: false,
        }
    }

    /// Runs until the connection goes down or is closed; then shuts the socket down.
    pub async fn run(mut self) {
        let mut down = self.shared.subscribe();
        let mut last_write = Instant::now();
        let result: Result<(), DownReason> = async {
            loop {
                if self.lanes.is_empty() {
                    if self.closing {
                        return Err(DownReason::LocalClose {
                            peer: self.shared.peer.clone(),
                        });
                    }
                    tokio::select! {
                        biased;
                        _ = super::shared::until_down(&mut down) => return Ok(()),
                        item = self.queue.recv() => match item {
                            Some(item) => self.take(item)?,
                            // Every handle is gone: nobody can send any more.
                            None => return Err(DownReason::LocalClose { peer: self.shared.peer.clone() }),
                        },
                        _ = tokio::time::sleep_until(last_write + self.tick_interval) => {
                            // A full socket (a frozen peer) blocks the tick: the
                            // connection going down must still stop the writer.
                            tokio::select! {
                                biased;
                                _ = super::shared::until_down(&mut down) => return Ok(()),
                                r = self.write_tick() => r?,
                            }
                            last_write = Instant::now();
                            continue;
                        }
                    }
                }
                // Gather whatever else is already queued, within the backlog limits.
                while !self.closing
                    && (self.pending_messages < AHEAD_MESSAGES || self.pending_bytes < self.batch_bytes)
                    && self.pending_bytes < MAX_PENDING_BYTES
                    && self.pending_packets < MAX_PENDING_PACKETS
                {
                    match self.queue.try_recv() {
                        Ok(item) => self.take(item)?,
                        Err(_) => break,
                    }
                }
                let batch = self.next_batch();
                if batch.is_empty() {
                    continue;
                }
                tokio::select! {
                    biased;
                    _ = super::shared::until_down(&mut down) => return Ok(()),
                    r = self.write_batch(batch) => r?,
                }
                last_write = Instant::now();
            }
        }
        .await;
        if let Err(reason) = result {
            self.shared.go_down(reason);
        }
        let _ = self.socket.shutdown().await;
    }

    /// Encodes an item into its lane.
    fn take(&mut self, item: Outgoing) -> Result<(), DownReason> {
        let (key, packets) = match item {
            Outgoing::Message { lane, message } => {
                let packets = self.encoder.encode(&message).map_err(|e| DownReason::Encode {
                    peer: self.shared.peer.clone(),
                    reason: e.to_string(),
                })?;
                (lane, packets)
            }
            Outgoing::Packets { lane, packets } => (lane, packets),
            Outgoing::Close => {
                self.closing = true;
                return Ok(());
            }
        };
        Counters::add(&self.shared.counters.messages_out, 1);
        if packets.is_empty() {
            return Ok(());
        }
        self.pending_bytes += packets.iter().map(Bytes::len).sum::<usize>();
        self.pending_packets += packets.len();
        self.pending_messages += 1;
        let last = packets.len() - 1;
        let marked = packets.into_iter().enumerate().map(|(i, p)| (p, i == last));
        match self.lanes.iter_mut().find(|l| l.key == key) {
            Some(lane) => lane.packets.extend(marked),
            None => self.lanes.push_back(Lane {
                key,
                packets: marked.collect(),
            }),
        }
        Ok(())
    }

    /// Takes packets from the lanes in turn, one at a time, up to one batch.
    fn next_batch(&mut self) -> VecDeque<Bytes> {
        let mut batch = VecDeque::new();
        let mut bytes = 0;
        while bytes < self.batch_bytes && batch.len() < MAX_IOVECS {
            let Some(mut lane) = self.lanes.pop_front() else {
                break;
            };
            if let Some((p, last)) = lane.packets.pop_front() {
                bytes += p.len();
                batch.push_back(p);
                if last {
                    self.pending_messages = self.pending_messages.saturating_sub(1);
                }
            }
            if !lane.packets.is_empty() {
                self.lanes.push_back(lane);
            }
        }
        self.pending_bytes = self.pending_bytes.saturating_sub(bytes);
        self.pending_packets = self.pending_packets.saturating_sub(batch.len());
        Counters::add(&self.shared.counters.frames_out, batch.len() as u64);
        batch
    }

    async fn write_tick(&mut self) -> Result<(), DownReason> {
        self.socket.write_all(&TICK).await.map_err(|e| self.io_error(e))?;
        Counters::add(&self.shared.counters.ticks_out, 1);
        Counters::add(&self.shared.counters.bytes_out, 4);
        Counters::add(&self.shared.counters.writes, 1);
        Ok(())
    }

    /// Writes every buffer of `batch` with vectored writes.
    async fn write_batch(&mut self, mut batch: VecDeque<Bytes>) -> Result<(), DownReason> {
        while !batch.is_empty() {
            let slices: Vec<IoSlice<'_>> = batch.iter().map(|b| IoSlice::new(b)).collect();
            let mut n = self
                .socket
                .write_vectored(&slices)
                .await
                .map_err(|e| self.io_error(e))?;
            drop(slices);
            if n == 0 {
                return Err(self.io_error(std::io::ErrorKind::WriteZero.into()));
            }
            Counters::add(&self.shared.counters.writes, 1);
            Counters::add(&self.shared.counters.bytes_out, n as u64);
            while n > 0 {
                let Some(front) = batch.front_mut() else { break };
                if front.len() <= n {
                    n -= front.len();
                    batch.pop_front();
                } else {
                    front.advance(n);
                    n = 0;
                }
            }
        }
        Ok(())
    }

    fn io_error(&self, e: std::io::Error) -> DownReason {
        DownReason::Io {
            peer: self.shared.peer.clone(),
            reason: e.to_string(),
        }
    }
}
