//! The server's node table: who is registered, on which connection, and which creation
//! comes next.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::protocol::NodeEntry;

/// The most names whose legacy (16-bit) creation is remembered; beyond it the memory is
/// cleared, which only risks an old node reusing a creation.
const MAX_REMEMBERED: usize = 65_536;

struct Registered {
    entry: NodeEntry,
    conn: u64,
    seq: u64,
    stop: Option<oneshot::Sender<()>>,
}

/// Registered nodes. Creation numbers follow OTP 23+ epmd: 32-bit, non-zero, starting at a
/// random value and counting up, so a name registering again never gets the creation it
/// had last time. Nodes speaking only version 5 get a 16-bit creation 1..=3 that differs
/// from their previous one.
pub(crate) struct Registry {
    nodes: HashMap<String, Registered>,
    next_creation: u32,
    legacy_creation: HashMap<String, u16>,
    seq: u64,
}

/// A successful registration.
pub(crate) struct Admitted {
    pub(crate) creation: u32,
    /// Fires when STOP_REQ removes this registration.
    pub(crate) stopped: oneshot::Receiver<()>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        let start = rand::random::<u32>().max(1);
        Registry {
            nodes: HashMap::new(),
            next_creation: start,
            legacy_creation: HashMap::new(),
            seq: 0,
        }
    }

    /// Registers `entry` for connection `conn`; `None` if the name is taken.
    pub(crate) fn register(&mut self, entry: NodeEntry, conn: u64, extended: bool) -> Option<Admitted> {
        if self.nodes.contains_key(&entry.name) {
            return None;
        }
        let creation = if extended {
            let c = self.next_creation;
            self.next_creation = self.next_creation.wrapping_add(1).max(1);
            c
        } else {
            if self.legacy_creation.len() >= MAX_REMEMBERED {
                self.legacy_creation.clear();
            }
            let last = self.legacy_creation.get(&entry.name).copied().unwrap_or(0);
            let c = last % 3 + 1;
            self.legacy_creation.insert(entry.name.clone(), c);
            c as u32
        };
        let (tx, rx) = oneshot::channel();
        self.seq += 1;
        self.nodes.insert(
            entry.name.clone(),
            Registered {
                entry,
                conn,
                seq: self.seq,
                stop: Some(tx),
            },
        );
        Some(Admitted {
            creation,
            stopped: rx,
        })
    }

    /// Removes `name` if connection `conn` still holds it; true if it did.
    pub(crate) fn unregister(&mut self, name: &str, conn: u64) -> bool {
        if self.nodes.get(name).is_some_and(|r| r.conn == conn) {
            self.nodes.remove(name);
            true
        } else {
            false
        }
    }

    /// Forcibly removes `name` (STOP_REQ) and tells its connection to close.
    pub(crate) fn stop(&mut self, name: &str) -> bool {
        match self.nodes.remove(name) {
            Some(mut r) => {
                if let Some(tx) = r.stop.take() {
                    let _ = tx.send(());
                }
                true
            }
            None => false,
        }
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<NodeEntry> {
        self.nodes.get(name).map(|r| r.entry.clone())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// All nodes with their connection ids, newest first (epmd's order).
    pub(crate) fn list(&self) -> Vec<(NodeEntry, u64)> {
        let mut v: Vec<_> = self
            .nodes
            .values()
            .map(|r| (r.seq, r.entry.clone(), r.conn))
            .collect();
        v.sort_by_key(|x| std::cmp::Reverse(x.0));
        v.into_iter().map(|(_, e, c)| (e, c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_are_nonzero_and_change_per_registration() {
        let mut r = Registry::new();
        r.next_creation = u32::MAX;
        let a = r.register(NodeEntry::new("a", 1), 1, true).unwrap().creation;
        assert!(
            r.register(NodeEntry::new("a", 1), 2, true).is_none(),
            "a name is registered once"
        );
        assert!(r.unregister("a", 1));
        let b = r.register(NodeEntry::new("a", 1), 3, true).unwrap().creation;
        assert_eq!((a, b), (u32::MAX, 1), "wraps past zero");
        assert!(
            !r.unregister("a", 1),
            "an old connection cannot unregister a new one"
        );
    }

    #[test]
    fn legacy_creations_cycle_1_to_3() {
        let mut r = Registry::new();
        let mut seen = Vec::new();
        for conn in 0..4 {
            seen.push(
                r.register(NodeEntry::new("old", 1), conn, false)
                    .unwrap()
                    .creation,
            );
            r.unregister("old", conn);
        }
        assert_eq!(seen, [1, 2, 3, 1]);
    }

    #[test]
    fn stop_removes_and_signals() {
        let mut r = Registry::new();
        let mut adm = r.register(NodeEntry::new("x", 1), 1, true).unwrap();
        r.register(NodeEntry::new("y", 2), 2, true).unwrap();
        assert_eq!(
            r.list().iter().map(|(e, _)| e.name.as_str()).collect::<Vec<_>>(),
            ["y", "x"]
        );
        assert!(r.stop("x"));
        assert!(adm.stopped.try_recv().is_ok());
        assert!(!r.stop("x"));
        assert!(r.lookup("x").is_none());
        assert_eq!(r.lookup("y").map(|e| e.port), Some(2));
    }
}
