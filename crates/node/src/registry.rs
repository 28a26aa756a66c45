//! Registered names and process aliases: the ways to reach a local process other than
//! by its pid.

use beamlink_term::{Atom, Pid, Reference};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Name -> pid and alias -> pid, each behind its own small lock.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    names: Mutex<HashMap<Atom, Pid>>,
    aliases: Mutex<HashMap<Reference, Pid>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Registers `name` for `pid`; `false` when the name is taken (as `register/2`
    /// fails with badarg).
    pub fn register(&self, name: &Atom, pid: &Pid) -> bool {
        let mut n = lock(&self.names);
        if n.contains_key(name) {
            return false;
        }
        n.insert(name.clone(), pid.clone());
        true
    }

    /// Removes `name` if it still belongs to `pid`.
    pub fn unregister(&self, name: &Atom, pid: &Pid) {
        let mut n = lock(&self.names);
        if n.get(name) == Some(pid) {
            n.remove(name);
        }
    }

    /// `whereis(Name)`.
    pub fn whereis(&self, name: &Atom) -> Option<Pid> {
        lock(&self.names).get(name).cloned()
    }

    /// Every registered name (`registered()`).
    pub fn names(&self) -> Vec<Atom> {
        lock(&self.names).keys().cloned().collect()
    }

    /// Makes `alias` reach `pid`.
    pub fn add_alias(&self, alias: &Reference, pid: &Pid) {
        lock(&self.aliases).insert(alias.clone(), pid.clone());
    }

    /// Deactivates `alias`: messages sent to it are dropped from now on.
    pub fn remove_alias(&self, alias: &Reference) {
        lock(&self.aliases).remove(alias);
    }

    /// The process an active alias reaches.
    pub fn resolve_alias(&self, alias: &Reference) -> Option<Pid> {
        lock(&self.aliases).get(alias).cloned()
    }
}
