//! Counters of one connection, updated by its tasks and read by anyone.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, shared by the reader, the writer and the handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub ticks_in: AtomicU64,
    pub ticks_out: AtomicU64,
    pub frames_in: AtomicU64,
    pub frames_out: AtomicU64,
    pub writes: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            ticks_in: get(&self.ticks_in),
            ticks_out: get(&self.ticks_out),
            frames_in: get(&self.frames_in),
            frames_out: get(&self.frames_out),
            writes: get(&self.writes),
        }
    }
}

/// A snapshot of a connection's counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Complete messages received (fragments of one message count once).
    pub messages_in: u64,
    /// Messages sent (a fragmented message counts once).
    pub messages_out: u64,
    /// Bytes received after the handshake, length prefixes and ticks included.
    pub bytes_in: u64,
    /// Bytes written after the handshake, length prefixes and ticks included.
    pub bytes_out: u64,
    /// Ticks (empty frames) received.
    pub ticks_in: u64,
    /// Ticks written.
    pub ticks_out: u64,
    /// Frames received other than ticks (each fragment counts).
    pub frames_in: u64,
    /// Frames written other than ticks (each fragment counts).
    pub frames_out: u64,
    /// Write system calls made by the writer (batching makes this much lower than the
    /// number of packets).
    pub writes: u64,
}
