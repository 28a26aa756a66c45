//! Monitors: who watches whom, and the `'DOWN'` message a monitor fires.
//!
//! Every process keeps two maps keyed by the monitor reference: the monitors it holds on
//! others (`watching`) and the monitors others hold on it
//! (`watchers`). Both ends are updated by the node as signals pass;
//! this file is pure bookkeeping with no I/O.

use beamlink_term::{Atom, Pid, Reference, Term};
use std::collections::HashMap;

/// What a monitor watches: a process by pid, or a registered name on a node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Monitored {
    /// `erlang:monitor(process, Pid)`.
    Pid(Pid),
    /// `erlang:monitor(process, {Name, Node})`.
    Name {
        /// The registered name.
        name: Atom,
        /// The node it is registered on.
        node: Atom,
    },
}

impl Monitored {
    /// The node the watched process lives on.
    pub fn node(&self) -> &Atom {
        match self {
            Monitored::Pid(p) => &p.node,
            Monitored::Name { node, .. } => node,
        }
    }

    /// The object as the `'DOWN'` message names it: the pid, or `{Name, Node}`.
    pub fn to_term(&self) -> Term {
        match self {
            Monitored::Pid(p) => Term::Pid(p.clone()),
            Monitored::Name { name, node } => {
                Term::tuple(vec![Term::Atom(name.clone()), Term::Atom(node.clone())])
            }
        }
    }
}

/// A monitor this process holds: the watched object, and the pid it resolved to when it
/// was set (a name monitor on this node resolves at once; a remote one may never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watching {
    /// What is watched.
    pub target: Monitored,
    /// The pid a local name resolved to when the monitor was set.
    pub resolved: Option<Pid>,
}

/// A monitor someone holds on this process: who, and how they named us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// The watching process.
    pub pid: Pid,
    /// How it named the watched process (the `'DOWN'` names it the same way).
    pub target: Monitored,
}

/// The monitors of one process, in both directions.
#[derive(Debug, Default)]
pub struct MonitorTable {
    watching: HashMap<Reference, Watching>,
    watchers: HashMap<Reference, Watcher>,
}

/// The monitors held on a process, with their references.
pub type Watchers = Vec<(Reference, Watcher)>;
/// The monitors a process holds, with their references.
pub type WatchingList = Vec<(Reference, Watching)>;

/// `{'DOWN', Ref, process, Object, Reason}`: the message a monitor delivers.
pub fn down_message(reference: &Reference, object: Term, reason: Term) -> Term {
    Term::tuple(vec![
        Term::atom("DOWN"),
        Term::from(reference.clone()),
        Term::atom("process"),
        object,
        reason,
    ])
}

impl MonitorTable {
    /// An empty table.
    pub fn new() -> MonitorTable {
        MonitorTable::default()
    }

    /// Records a monitor this process holds.
    pub fn add_watching(&mut self, reference: Reference, watching: Watching) {
        self.watching.insert(reference, watching);
    }

    /// Forgets a monitor this process holds (demonitor, or its `'DOWN'` arrived);
    /// returns it when it existed.
    pub fn remove_watching(&mut self, reference: &Reference) -> Option<Watching> {
        self.watching.remove(reference)
    }

    /// `true` when this process holds the monitor `reference`.
    pub fn is_watching(&self, reference: &Reference) -> bool {
        self.watching.contains_key(reference)
    }

    /// Records that `watcher` monitors this process.
    pub fn add_watcher(&mut self, reference: Reference, watcher: Watcher) {
        self.watchers.insert(reference, watcher);
    }

    /// Forgets a monitor held on this process; returns it when it existed.
    pub fn remove_watcher(&mut self, reference: &Reference) -> Option<Watcher> {
        self.watchers.remove(reference)
    }

    /// Empties the table (the process ends): the monitors on it, which must fire, and
    /// the monitors it held, which must be removed at their targets.
    pub fn take_all(&mut self) -> (Watchers, WatchingList) {
        (self.watchers.drain().collect(), self.watching.drain().collect())
    }

    /// The connection to `node` went down: removes and returns the monitors this process
    /// held on processes there (each fires `noconnection`); monitors held by processes
    /// there on this one are dropped silently.
    pub fn take_node(&mut self, node: &str) -> WatchingList {
        self.watchers.retain(|_, w| w.pid.node != *node);
        let refs: Vec<Reference> = self
            .watching
            .iter()
            .filter(|(_, w)| w.target.node() == node)
            .map(|(r, _)| r.clone())
            .collect();
        refs.into_iter()
            .filter_map(|r| self.watching.remove(&r).map(|w| (r, w)))
            .collect()
    }

    /// How many monitors this process holds and how many are held on it.
    pub fn counts(&self) -> (usize, usize) {
        (self.watching.len(), self.watchers.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(node: &str, id: u32) -> Pid {
        Pid {
            node: Atom::new(node),
            id,
            serial: 0,
            creation: 1,
        }
    }
    fn reference(n: u32) -> Reference {
        Reference {
            node: Atom::new("a@h"),
            creation: 1,
            id: vec![n, 0, 0],
        }
    }

    #[test]
    fn down_message_names_the_object_as_erlang_does() {
        let by_name = Monitored::Name {
            name: Atom::new("srv"),
            node: Atom::new("b@h"),
        };
        let m = down_message(&reference(1), by_name.to_term(), Term::atom("normal"));
        let t = m.as_tuple().unwrap();
        assert!(t[0].is_atom("DOWN"));
        assert!(t[2].is_atom("process"));
        assert_eq!(t[3], Term::tuple(vec![Term::atom("srv"), Term::atom("b@h")]));
        assert!(t[4].is_atom("normal"));
    }

    #[test]
    fn node_down_fires_held_monitors_and_drops_remote_watchers() {
        let mut t = MonitorTable::new();
        let remote = pid("b@h", 1);
        t.add_watching(
            reference(1),
            Watching {
                target: Monitored::Pid(remote.clone()),
                resolved: None,
            },
        );
        t.add_watching(
            reference(2),
            Watching {
                target: Monitored::Pid(pid("c@h", 1)),
                resolved: None,
            },
        );
        t.add_watcher(
            reference(3),
            Watcher {
                pid: remote,
                target: Monitored::Pid(pid("a@h", 1)),
            },
        );
        let fired = t.take_node("b@h");
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].0, reference(1));
        assert_eq!(t.counts(), (1, 0));
    }
}
