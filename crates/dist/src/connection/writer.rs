//! The writer task: takes what senders encoded into the send queue, a batch at a time,
//! writes it in as few system calls as possible, and ticks after `net_ticktime / 4` of
//! silence.
//!
//! Ordering: the packets of one message, and messages in the same lane, are written in
//! the order they were queued. Lanes take turns packet by packet (see
//! [`super::send_queue`]), so a small message in one lane is not stuck behind the
//! fragments of a large message in another. A message's lane comes from its sender (see
//! [`super::lane_of`]): Erlang only promises order between one sender and one receiver,
//! which lanes keep.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::shared::Shared;
use super::stats::Counters;
use crate::error::DownReason;

/// At most this many buffers go into one vectored write (Linux's IOV_MAX is 1024).
const MAX_IOVECS: usize = 512;

/// The 4-byte empty frame that keeps a quiet connection alive.
const TICK: [u8; 4] = [0, 0, 0, 0];

pub(crate) struct Writer<W> {
    pub socket: W,
    pub shared: Arc<Shared>,
    pub tick_interval: Duration,
    pub batch_bytes: usize,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(socket: W, shared: Arc<Shared>, tick_interval: Duration, batch_bytes: usize) -> Self {
        Writer {
            socket,
            shared,
            tick_interval,
            batch_bytes,
        }
    }

    /// Runs until the connection goes down or is closed; then shuts the socket down.
    pub async fn run(mut self) {
        let mut down = self.shared.subscribe();
        let mut last_write = Instant::now();
        let shared = self.shared.clone();
        let queue = &shared.queue;
        let mut batch = VecDeque::new();
        let result: Result<(), DownReason> = async {
            loop {
                if queue.take(&mut batch, self.batch_bytes, MAX_IOVECS).is_err() {
                    // Closed and everything written.
                    return Err(DownReason::LocalClose {
                        peer: self.shared.peer.clone(),
                    });
                }
                if batch.is_empty() {
                    tokio::select! {
                        biased;
                        _ = super::shared::until_down(&mut down) => return Ok(()),
                        _ = queue.writer.notified() => {}
                        _ = tokio::time::sleep_until(last_write + self.tick_interval) => {
                            // A full socket (a frozen peer) blocks the tick: the
                            // connection going down must still stop the writer.
                            tokio::select! {
                                biased;
                                _ = super::shared::until_down(&mut down) => return Ok(()),
                                r = self.write_tick() => r?,
                            }
                            last_write = Instant::now();
                        }
                    }
                    continue;
                }
                tokio::select! {
                    biased;
                    _ = super::shared::until_down(&mut down) => return Ok(()),
                    r = self.write_batch(&mut batch) => r?,
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

    async fn write_tick(&mut self) -> Result<(), DownReason> {
        self.socket.write_all(&TICK).await.map_err(|e| self.io_error(e))?;
        Counters::add(&self.shared.counters.ticks_out, 1);
        Counters::add(&self.shared.counters.bytes_out, 4);
        Counters::add(&self.shared.counters.writes, 1);
        Ok(())
    }

    /// Writes every buffer of `batch` with vectored writes.
    async fn write_batch(&mut self, batch: &mut VecDeque<Bytes>) -> Result<(), DownReason> {
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
