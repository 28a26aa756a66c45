//! Links: the process-local link information of the link protocol (OTP 23.3+), as pure
//! state transitions.
//!
//! Each process keeps, per linked pid, whether the link is *active* and, when it is not,
//! the id of its outstanding `UNLINK_ID`. The transitions follow the "Link Protocol"
//! section of the distribution protocol specification word for word, so that a BEAM
//! process and a beamlink mailbox always agree on whether they are linked. No I/O here:
//! each method says which signal, if any, the caller must send.

use beamlink_term::Pid;
use std::collections::HashMap;

/// The state of one link, as seen by one of its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Linked: exit signals over the link are acted upon.
    Active,
    /// We sent `UNLINK_ID(id)` and wait for its acknowledgement; exit signals over the
    /// link are ignored meanwhile.
    Unlinking(u64),
}

/// The links of one process.
#[derive(Debug, Default)]
pub struct LinkTable {
    links: HashMap<Pid, LinkState>,
    next_unlink_id: u64,
}

impl LinkTable {
    /// An empty table.
    pub fn new() -> LinkTable {
        LinkTable::default()
    }

    /// We link to `other`. Returns `true` when a `LINK` signal must be sent (there was no
    /// active link); an outstanding unlink is abandoned and the link is active again.
    pub fn link(&mut self, other: &Pid) -> bool {
        !matches!(
            self.links.insert(other.clone(), LinkState::Active),
            Some(LinkState::Active)
        )
    }

    /// A `LINK` signal arrived from `other`. Creates an active link unless link
    /// information already exists (an outstanding unlink stays outstanding: both ends
    /// will end up unlinked).
    pub fn on_link(&mut self, other: &Pid) {
        self.links.entry(other.clone()).or_insert(LinkState::Active);
    }

    /// We unlink from `other`. Returns the id of the `UNLINK_ID` signal to send, or
    /// `None` when there is no active link (nothing is sent).
    pub fn unlink(&mut self, other: &Pid) -> Option<u64> {
        match self.links.get_mut(other) {
            Some(state @ LinkState::Active) => {
                // Ids are in [1, 2^64 - 1] and unique among outstanding unlinks.
                self.next_unlink_id = self.next_unlink_id.wrapping_add(1).max(1);
                *state = LinkState::Unlinking(self.next_unlink_id);
                Some(self.next_unlink_id)
            }
            _ => None,
        }
    }

    /// An `UNLINK_ID` signal arrived from `other`. Removes an active link; leaves an
    /// outstanding unlink of ours unchanged. The caller always answers `UNLINK_ID_ACK`
    /// with the same id.
    pub fn on_unlink_id(&mut self, other: &Pid) {
        if self.links.get(other) == Some(&LinkState::Active) {
            self.links.remove(other);
        }
    }

    /// An `UNLINK_ID_ACK(id)` arrived from `other`: removes the link information when it
    /// is our outstanding unlink with that id, otherwise ignores it.
    pub fn on_unlink_ack(&mut self, other: &Pid, id: u64) {
        if self.links.get(other) == Some(&LinkState::Unlinking(id)) {
            self.links.remove(other);
        }
    }

    /// Removes a link without any protocol (both ends are on this node and are updated
    /// together). Returns whether it was active.
    pub fn remove(&mut self, other: &Pid) -> bool {
        self.links.remove(other) == Some(LinkState::Active)
    }

    /// An exit signal due to the link arrived from `other`: removes the link
    /// information and returns whether the link was active, that is whether the process
    /// must react to the signal.
    pub fn on_exit(&mut self, other: &Pid) -> bool {
        self.links.remove(other) == Some(LinkState::Active)
    }

    /// `true` when there is an active link to `other`.
    pub fn is_linked(&self, other: &Pid) -> bool {
        self.links.get(other) == Some(&LinkState::Active)
    }

    /// The pids this process is actively linked to.
    pub fn active(&self) -> impl Iterator<Item = &Pid> {
        self.links
            .iter()
            .filter(|(_, s)| **s == LinkState::Active)
            .map(|(p, _)| p)
    }

    /// Empties the table (the process ends) and returns the actively linked pids, to
    /// which exit signals must go.
    pub fn take_active(&mut self) -> Vec<Pid> {
        self.links
            .drain()
            .filter(|(_, s)| *s == LinkState::Active)
            .map(|(p, _)| p)
            .collect()
    }

    /// Removes every link to a pid of `node` (its connection went down) and returns the
    /// ones that were active: the process gets `noconnection` exit signals from them.
    pub fn take_node(&mut self, node: &str) -> Vec<Pid> {
        let gone: Vec<Pid> = self.links.keys().filter(|p| p.node == *node).cloned().collect();
        gone.into_iter()
            .filter(|p| self.links.remove(p) == Some(LinkState::Active))
            .collect()
    }

    /// How many link entries exist (active or being unlinked).
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// `true` when there are no link entries.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink_term::Atom;

    fn pid(node: &str, id: u32) -> Pid {
        Pid {
            node: Atom::new(node),
            id,
            serial: 0,
            creation: 1,
        }
    }

    #[test]
    fn link_sends_once_and_exit_over_active_link_is_acted_upon() {
        let mut t = LinkTable::new();
        let b = pid("b@h", 1);
        assert!(t.link(&b));
        assert!(!t.link(&b), "a second link/1 sends nothing");
        assert!(t.is_linked(&b));
        assert!(t.on_exit(&b));
        assert!(!t.is_linked(&b));
        assert!(!t.on_exit(&b), "no link left: the exit is not due to a link");
    }

    #[test]
    fn exit_during_outstanding_unlink_is_ignored() {
        let mut t = LinkTable::new();
        let b = pid("b@h", 1);
        t.link(&b);
        let id = t.unlink(&b).expect("active link gives an UNLINK_ID");
        assert!(t.unlink(&b).is_none(), "no second UNLINK_ID");
        assert!(!t.is_linked(&b));
        t.on_unlink_ack(&b, id + 1);
        assert_eq!(t.len(), 1, "wrong ack id is ignored");
        t.on_unlink_ack(&b, id);
        assert!(t.is_empty());
    }

    #[test]
    fn incoming_link_during_unlink_does_not_activate_but_outgoing_link_does() {
        let mut t = LinkTable::new();
        let b = pid("b@h", 1);
        t.link(&b);
        let id = t.unlink(&b).unwrap();
        t.on_link(&b);
        assert!(!t.is_linked(&b));
        assert!(t.link(&b), "link/1 during unlink sends LINK and re-activates");
        t.on_unlink_ack(&b, id);
        assert!(t.is_linked(&b), "the stale ack no longer removes the link");
    }

    #[test]
    fn unlink_id_received_removes_only_active_links() {
        let mut t = LinkTable::new();
        let b = pid("b@h", 1);
        let c = pid("c@h", 2);
        t.on_link(&b);
        t.on_unlink_id(&b);
        assert!(t.is_empty());
        t.link(&c);
        t.unlink(&c);
        t.on_unlink_id(&c);
        assert_eq!(t.len(), 1, "our outstanding unlink is left unchanged");
    }

    #[test]
    fn connection_loss_takes_that_nodes_active_links() {
        let mut t = LinkTable::new();
        let (b1, b2, c) = (pid("b@h", 1), pid("b@h", 2), pid("c@h", 3));
        t.link(&b1);
        t.link(&b2);
        t.unlink(&b2);
        t.link(&c);
        assert_eq!(t.take_node("b@h"), vec![b1]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.take_active(), vec![c]);
    }
}
