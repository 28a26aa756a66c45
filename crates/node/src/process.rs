//! The process table: every live local process, its mailbox queue and its state.
//!
//! A process is an `Arc<Process>` in a table keyed by pid number. Its mutable state
//! (links, monitors, trap_exit, name, aliases) sits behind one small mutex per process;
//! the node never holds two process locks at once, so signals between processes cannot
//! deadlock. The queue ([`MessageQueue`]) is unbounded, as a BEAM mailbox is.

use crate::link::LinkTable;
use crate::monitor::MonitorTable;
use crate::queue::MessageQueue;
use beamlink_term::{Atom, Pid, Reference, Term};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// What arrives in a mailbox's queue.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// An ordinary message.
    Message(Term),
    /// The process was ended; the reason is in its state.
    Exited,
}

/// The mutable state of one process.
#[derive(Debug, Default)]
pub(crate) struct ProcessState {
    pub trap_exit: bool,
    pub name: Option<Atom>,
    pub links: LinkTable,
    pub monitors: MonitorTable,
    pub aliases: HashSet<Reference>,
    pub exit_reason: Option<Term>,
}

/// One live local process.
#[derive(Debug)]
pub(crate) struct Process {
    pub pid: Pid,
    pub queue: MessageQueue,
    dead: AtomicBool,
    state: Mutex<ProcessState>,
}

impl Process {
    /// A new process with an empty queue.
    pub fn new(pid: Pid) -> Arc<Process> {
        let p = Process {
            pid,
            queue: MessageQueue::default(),
            dead: AtomicBool::new(false),
            state: Mutex::new(ProcessState::default()),
        };
        Arc::new(p)
    }

    /// Locks the state. A poisoned lock (a panic elsewhere while holding it) still gives
    /// the state: every update to it is a single step that leaves it consistent.
    pub fn state(&self) -> MutexGuard<'_, ProcessState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message; a dead process drops it, as Erlang drops messages to a dead
    /// pid.
    pub fn push(&self, msg: Term) {
        if !self.is_dead() {
            self.queue.push(Delivery::Message(msg));
        }
    }

    /// Marks the process dead (once) and wakes its receiver. Returns `false` when it
    /// was already dead.
    pub fn mark_dead(&self) -> bool {
        if self.dead.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.queue.push(Delivery::Exited);
        true
    }

    /// `true` once the process has ended.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }
}

/// Pid numbers go up to 2^28 - 1 (the BEAM's own range); peers take any 32-bit number
/// since OTP 24 (`V4_NC`, which every peer must have), so the serial is not bounded
/// below 32 bits.
const MAX_ID: u32 = (1 << 28) - 1;

/// The live local processes, and pid allocation.
#[derive(Debug)]
pub(crate) struct ProcessTable {
    inner: Mutex<TableInner>,
    max_id: u32,
}

#[derive(Debug)]
struct TableInner {
    by_id: HashMap<u32, Arc<Process>>,
    next_id: u32,
    serial: u32,
}

impl ProcessTable {
    /// An empty table. Pid numbers start at 1 (`<N.0.0>` is init on a BEAM, and peers
    /// print ours as `<N.1.0>` onwards).
    pub fn new() -> ProcessTable {
        ProcessTable::with_max_id(MAX_ID)
    }

    /// A table whose pid numbers wrap after `max_id` (small in tests).
    pub fn with_max_id(max_id: u32) -> ProcessTable {
        let inner = TableInner {
            by_id: HashMap::new(),
            next_id: 1,
            serial: 0,
        };
        ProcessTable {
            inner: Mutex::new(inner),
            max_id: max_id.max(2),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TableInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocates a fresh pid on `node` and inserts a new process under it. Numbers are
    /// handed out in order, skipping live ones; when the id space wraps the serial
    /// increases, so a pid is not reused soon after its process ended.
    pub fn spawn(&self, node: &Atom, creation: u32) -> Option<Arc<Process>> {
        let mut t = self.lock();
        for _ in 0..=self.max_id {
            let id = t.next_id;
            let serial = t.serial;
            if t.next_id >= self.max_id {
                t.next_id = 1;
                t.serial = t.serial.wrapping_add(1);
            } else {
                t.next_id += 1;
            }
            if t.by_id.contains_key(&id) {
                continue;
            }
            let pid = Pid {
                node: node.clone(),
                id,
                serial,
                creation,
            };
            let p = Process::new(pid);
            t.by_id.insert(id, p.clone());
            return Some(p);
        }
        None
    }

    /// The live process with exactly this pid (number, serial and creation).
    pub fn get(&self, pid: &Pid) -> Option<Arc<Process>> {
        let t = self.lock();
        t.by_id.get(&pid.id).filter(|p| p.pid == *pid).cloned()
    }

    /// Removes the process with this pid.
    pub fn remove(&self, pid: &Pid) {
        let mut t = self.lock();
        if t.by_id.get(&pid.id).is_some_and(|p| p.pid == *pid) {
            t.by_id.remove(&pid.id);
        }
    }

    /// Every live process (a snapshot).
    pub fn all(&self) -> Vec<Arc<Process>> {
        self.lock().by_id.values().cloned().collect()
    }

    /// How many processes are alive.
    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_unique_and_reused_only_with_a_new_serial() {
        let t = ProcessTable::with_max_id(1000);
        let node = Atom::new("a@h");
        let p1 = t.spawn(&node, 7).unwrap();
        let p2 = t.spawn(&node, 7).unwrap();
        assert_ne!(p1.pid, p2.pid);
        assert_eq!(p1.pid.creation, 7);
        assert!(t.get(&p1.pid).is_some());
        t.remove(&p1.pid);
        assert!(t.get(&p1.pid).is_none());
        assert_eq!(t.len(), 1);
        // Walk the id space once: the freed number comes back with serial 1.
        let mut seen = None;
        for _ in 0..1000 {
            let p = t.spawn(&node, 7).unwrap();
            if p.pid.id == p1.pid.id {
                seen = Some(p.pid.clone());
                break;
            }
            t.remove(&p.pid);
        }
        let again = seen.expect("id reused after wrap");
        assert_eq!(again.serial, 1);
        assert!(
            t.get(&p1.pid).is_none(),
            "the old pid does not reach the new process"
        );
    }
}
