//! Counters of everything the topology loop does, readable at any time (by a `/metrics`
//! endpoint) without stopping the loop.

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters and current gauges, updated by the topology loop.
#[derive(Debug, Default)]
pub struct Counters {
    /// Polls done (one lookup of every source).
    pub polls: AtomicU64,
    /// Nodes that appeared in the desired set.
    pub discovered: AtomicU64,
    /// Nodes that left the desired set (vanished from every source).
    pub vanished: AtomicU64,
    /// Connections established to desired nodes.
    pub connected: AtomicU64,
    /// Connections to desired nodes that went down without us asking.
    pub lost: AtomicU64,
    /// Connection attempts after the first one to a node (after a failure or a loss).
    pub reconnect_attempts: AtomicU64,
    /// Connection attempts that failed.
    pub connect_failures: AtomicU64,
    /// Disconnections the loop asked for (nodes that vanished, or shutdown).
    pub disconnected: AtomicU64,
    /// Lookups of a source that failed (error or timeout).
    pub lookup_failures: AtomicU64,
    /// Lookups of a source that answered with no nodes at all.
    pub empty_lookups: AtomicU64,
    /// Gauge: nodes in the desired set now.
    pub desired_nodes: AtomicU64,
    /// Gauge: desired nodes connected now.
    pub connected_nodes: AtomicU64,
}

/// A copy of [`Counters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// See [`Counters::polls`].
    pub polls: u64,
    /// See [`Counters::discovered`].
    pub discovered: u64,
    /// See [`Counters::vanished`].
    pub vanished: u64,
    /// See [`Counters::connected`].
    pub connected: u64,
    /// See [`Counters::lost`].
    pub lost: u64,
    /// See [`Counters::reconnect_attempts`].
    pub reconnect_attempts: u64,
    /// See [`Counters::connect_failures`].
    pub connect_failures: u64,
    /// See [`Counters::disconnected`].
    pub disconnected: u64,
    /// See [`Counters::lookup_failures`].
    pub lookup_failures: u64,
    /// See [`Counters::empty_lookups`].
    pub empty_lookups: u64,
    /// See [`Counters::desired_nodes`].
    pub desired_nodes: u64,
    /// See [`Counters::connected_nodes`].
    pub connected_nodes: u64,
}

impl Counters {
    /// Reads every counter (each one atomically; the set is not one atomic snapshot).
    pub fn snapshot(&self) -> CountersSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CountersSnapshot {
            polls: r(&self.polls),
            discovered: r(&self.discovered),
            vanished: r(&self.vanished),
            connected: r(&self.connected),
            lost: r(&self.lost),
            reconnect_attempts: r(&self.reconnect_attempts),
            connect_failures: r(&self.connect_failures),
            disconnected: r(&self.disconnected),
            lookup_failures: r(&self.lookup_failures),
            empty_lookups: r(&self.empty_lookups),
            desired_nodes: r(&self.desired_nodes),
            connected_nodes: r(&self.connected_nodes),
        }
    }

    pub(crate) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set(gauge: &AtomicU64, value: usize) {
        gauge.store(value as u64, Ordering::Relaxed);
    }
}
