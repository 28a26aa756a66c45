//! The node: its identity, its processes, and how signals travel between them.
//!
//! Every signal between processes goes through the functions here. Local signals are
//! carried out at once, in the sender's thread; signals for other nodes become
//! [`Outgoing`] values handed to the connection layer. The node never holds two process
//! locks at once, and exit signals that end further processes are handled with a work
//! list rather than recursion, so a long chain of links cannot overflow the stack.

use crate::builder::Config;
use crate::connections::Connections;
use crate::cookie::Cookie;
use crate::error::Error;
use crate::mailbox::Mailbox;
use crate::monitor::{down_message, Monitored, Watcher, Watching};
use crate::outgoing::Outgoing;
use crate::process::{Process, ProcessTable};
use crate::registry::Registry;
use crate::signal::{on_exit_signal, ExitAction, ExitKind};
use beamlink_term::{Atom, Pid, Reference, Term};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Dest {
    /// A process by pid, on any node.
    Pid(Pid),
    /// A name registered on this node.
    Name(Atom),
    /// A name registered on a node (`{Name, Node} ! Msg`).
    Remote {
        /// The registered name.
        name: Atom,
        /// The node it is registered on.
        node: Atom,
    },
    /// A process alias, on any node.
    Alias(Reference),
}

impl From<Pid> for Dest {
    fn from(p: Pid) -> Dest {
        Dest::Pid(p)
    }
}
impl From<&Pid> for Dest {
    fn from(p: &Pid) -> Dest {
        Dest::Pid(p.clone())
    }
}
impl From<Reference> for Dest {
    fn from(r: Reference) -> Dest {
        Dest::Alias(r)
    }
}
impl From<&str> for Dest {
    /// `"name"` is a local registered name, `"name@node"`... is not parsed: use
    /// [`Dest::Remote`] for names on other nodes.
    fn from(n: &str) -> Dest {
        Dest::Name(Atom::new(n))
    }
}
impl From<(&str, &str)> for Dest {
    fn from((name, node): (&str, &str)) -> Dest {
        Dest::Remote {
            name: Atom::new(name),
            node: Atom::new(node),
        }
    }
}

/// A running node. Cheap to clone: clones share the node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.inner.name)
            .field("creation", &self.inner.creation)
            .finish()
    }
}

pub(crate) struct NodeInner {
    pub name: Atom,
    pub creation: u32,
    pub config: Option<Config>,
    pub processes: ProcessTable,
    pub registry: Registry,
    pub connections: Connections,
    pub rpc: crate::rex::RpcFunctions,
    /// The EPMD registration and embedded EPMD, kept alive with the node.
    #[allow(clippy::type_complexity)]
    reach: std::sync::Mutex<
        Option<(
            Option<beamlink_epmd::Registration>,
            Option<beamlink_epmd::EmbeddedEpmd>,
        )>,
    >,
    acceptor: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    port: AtomicU64,
    refs: AtomicU64,
    ref_salt: u32,
}

/// A unit of work for the signal loop.
enum Work {
    /// An exit signal to a local process.
    Exit {
        to: Pid,
        from: Pid,
        reason: Term,
        kind: ExitKind,
    },
    /// End a local process.
    Terminate(Arc<Process>, Term),
}

impl Node {
    /// A builder for the node `name@host`.
    pub fn builder(name: &str) -> crate::builder::NodeBuilder {
        crate::builder::NodeBuilder::new(name)
    }

    /// A node with these parts, connected to nothing.
    pub(crate) fn assemble(name: Atom, creation: u32, config: Option<Config>) -> Node {
        Node {
            inner: Arc::new(NodeInner {
                name,
                creation,
                config,
                processes: ProcessTable::new(),
                registry: Registry::default(),
                connections: Connections::new(),
                rpc: Default::default(),
                reach: std::sync::Mutex::new(None),
                acceptor: std::sync::Mutex::new(None),
                port: AtomicU64::new(0),
                refs: AtomicU64::new(1),
                ref_salt: rand::random(),
            }),
        }
    }

    /// Starts `net_kernel` and `rex` when a tokio runtime is running.
    pub(crate) fn start_system_processes(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        if let Ok(mb) = self.mailbox_named("net_kernel") {
            tokio::spawn(crate::net_kernel::serve(self.clone(), mb));
        }
        if let Ok(mb) = self.mailbox_named("rex") {
            tokio::spawn(crate::rex::serve(self.clone(), mb));
        }
        // Only a visible node takes part in `global` (BEAM nodes never sync with hidden ones).
        if self.config().is_some_and(|c| !c.hidden) {
            if let Ok(mb) = self.mailbox_named(crate::global::SERVER) {
                tokio::spawn(crate::global::serve(self.clone(), mb));
            }
        }
    }

    /// A builder for a node named by the first peer it connects to (see
    /// [`crate::NodeBuilder::start_via`]); `host` is our host part.
    pub fn builder_dynamic(host: &str) -> crate::builder::NodeBuilder {
        crate::builder::NodeBuilder::dynamic(host)
    }

    /// A node that only has local processes: no listener, no EPMD, no connections. For
    /// tests and for using mailboxes, links and monitors inside one program.
    pub fn local(name: &str) -> Result<Node, Error> {
        let n = crate::name::NodeName::parse(name)?;
        let node = Node::assemble(Atom::new(&n.to_string()), creation_number(), None);
        node.start_system_processes();
        Ok(node)
    }

    /// Starts a node from a checked configuration; see [`crate::NodeBuilder::start`].
    pub(crate) async fn start(config: Config, cookie: Cookie) -> Result<Node, Error> {
        if let crate::name::NodeName::Dynamic { .. } = config.name {
            return Err(Error::Other(
                "dynamic node names are not supported by the node yet: give a name@host".into(),
            ));
        }
        let name_text = config.name.to_string();
        let reach = crate::listener::make_reachable(&config).await?;
        let creation = reach.creation.unwrap_or_else(creation_number);
        let handshake = beamlink_dist::HandshakeConfig::new(
            name_text.clone(),
            beamlink_dist::Cookie::new(cookie.expose()),
        )
        .creation(creation)
        .flags(crate::connections::node_flags())
        .visible(!config.hidden)
        .setup_time(config.setup_timeout);
        let handshake = with_peer_cookies(handshake, &config);
        let connection = beamlink_dist::ConnectionConfig {
            net_ticktime: config.net_ticktime,
            fragment_size: FRAGMENT_SIZE,
            ..beamlink_dist::ConnectionConfig::default()
        };
        let node = Node::assemble(Atom::new(&name_text), creation, Some(config));
        let conns = &node.inner.connections;
        conns.set_our_name(&name_text);
        let _ = conns.setup.set(crate::connections::DistSetup {
            handshake,
            connection,
            lookup: reach.lookup,
            runtime: tokio::runtime::Handle::current(),
        });
        *node.inner.reach.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((reach.registration, reach.embedded));
        node.inner.port.store(reach.port as u64, Ordering::Relaxed);
        if let Some(listener) = reach.listener {
            let accept = tokio::spawn(crate::connections::accept_loop(node.downgrade(), listener));
            *node.inner.acceptor.lock().unwrap_or_else(|e| e.into_inner()) = Some(accept);
        }
        node.start_system_processes();
        Ok(node)
    }

    /// Starts a node whose name `peer` gives it; see [`crate::NodeBuilder::start_via`].
    pub(crate) async fn start_dynamic(config: Config, cookie: Cookie, peer: &str) -> Result<Node, Error> {
        let crate::name::NodeName::Dynamic { host } = &config.name else {
            return Err(Error::Other(
                "start_via needs a dynamic name (NodeBuilder::dynamic)".into(),
            ));
        };
        let dist_cookie = beamlink_dist::Cookie::new(cookie.expose());
        let ask = beamlink_dist::HandshakeConfig::dynamic(host.clone(), dist_cookie.clone())
            .flags(crate::connections::node_flags())
            .visible(!config.hidden)
            .setup_time(config.setup_timeout);
        let ask = with_peer_cookies(ask, &config);
        let connection = beamlink_dist::ConnectionConfig {
            net_ticktime: config.net_ticktime,
            fragment_size: FRAGMENT_SIZE,
            ..beamlink_dist::ConnectionConfig::default()
        };
        let lookup = config.epmd.peer_lookup();
        let addr = crate::connections::resolve(&lookup, peer)
            .await
            .map_err(|reason| Error::Connect {
                node: peer.to_string(),
                reason,
            })?;
        let est =
            beamlink_dist::Connection::connect(addr, peer, &ask, &connection, &beamlink_dist::AcceptAll)
                .await
                .map_err(|e| Error::Connect {
                    node: peer.to_string(),
                    reason: e.to_string(),
                })?;
        let name_text = est.local_node.clone();
        let creation = est.local_creation;
        let handshake = beamlink_dist::HandshakeConfig::new(name_text.clone(), dist_cookie)
            .creation(creation)
            .flags(crate::connections::node_flags())
            .visible(!config.hidden)
            .setup_time(config.setup_timeout);
        let handshake = with_peer_cookies(handshake, &config);
        let node = Node::assemble(Atom::new(&name_text), creation, Some(config));
        let conns = &node.inner.connections;
        conns.set_our_name(&name_text);
        let _ = conns.setup.set(crate::connections::DistSetup {
            handshake,
            connection,
            lookup,
            runtime: tokio::runtime::Handle::current(),
        });
        let peer_atom = Atom::new(&est.peer.node);
        let mut events = conns.subscribe();
        node.start_system_processes();
        tokio::spawn(crate::connections::run(
            node.clone(),
            peer_atom.clone(),
            None,
            est,
        ));
        // Ready once the connection's task has put it in the table.
        loop {
            match events.recv().await {
                Ok(crate::NodeEvent::Up { node: n, .. }) if n == peer_atom => return Ok(node),
                Ok(crate::NodeEvent::Down { node: n, reason }) if n == peer_atom => {
                    return Err(Error::Connect {
                        node: peer.to_string(),
                        reason,
                    })
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(Error::Connect {
                        node: peer.to_string(),
                        reason: "node stopped".into(),
                    })
                }
            }
        }
    }

    /// The port the node listens on for distribution (0 for a local node and for one that
    /// accepts no connections).
    pub fn port(&self) -> u16 {
        self.inner.port.load(Ordering::Relaxed) as u16
    }

    pub(crate) fn downgrade(&self) -> std::sync::Weak<NodeInner> {
        Arc::downgrade(&self.inner)
    }

    /// Stops the node: closes every connection (peers see it go down), stops
    /// listening, unregisters from EPMD, and sets up no connection any more. Local
    /// processes stay; links and monitors across the closed connections fire
    /// `noconnection`.
    pub async fn stop(&self) {
        self.inner.connections.stop();
        if let Some(a) = self
            .inner
            .acceptor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            a.abort();
        }
        let _ = self.inner.reach.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (visible, hidden) = self.inner.connections.connected();
        for peer in visible.into_iter().chain(hidden) {
            self.inner.connections.disconnect(&peer).await;
        }
    }

    /// The configuration the node was started with (`None` for [`Node::local`]).
    pub fn config(&self) -> Option<&Config> {
        self.inner.config.as_ref()
    }

    /// The node's name, `name@host`.
    pub fn name(&self) -> &Atom {
        &self.inner.name
    }

    /// The node's creation: tells this incarnation's pids from an earlier one's.
    pub fn creation(&self) -> u32 {
        self.inner.creation
    }

    /// A new process with its mailbox.
    pub fn mailbox(&self) -> Result<Mailbox, Error> {
        let process = self
            .inner
            .processes
            .spawn(&self.inner.name, self.inner.creation)
            .ok_or(Error::TooManyProcesses)?;
        Ok(Mailbox::new(self.clone(), process))
    }

    /// A new process registered under `name`.
    pub fn mailbox_named(&self, name: &str) -> Result<Mailbox, Error> {
        let mb = self.mailbox()?;
        mb.register(name)?;
        Ok(mb)
    }

    /// `whereis(Name)` on this node.
    pub fn whereis(&self, name: &str) -> Option<Pid> {
        self.inner.registry.whereis(&Atom::new(name))
    }

    /// The names registered on this node.
    pub fn registered(&self) -> Vec<Atom> {
        self.inner.registry.names()
    }

    /// How many local processes are alive.
    pub fn process_count(&self) -> usize {
        self.inner.processes.len()
    }

    /// `true` when `pid` is a live process of this node.
    pub fn is_alive(&self, pid: &Pid) -> bool {
        self.inner.processes.get(pid).is_some()
    }

    /// A new reference, unique on this node (`make_ref()`).
    pub fn make_ref(&self) -> Reference {
        let n = self.inner.refs.fetch_add(1, Ordering::Relaxed);
        Reference {
            node: self.inner.name.clone(),
            creation: self.inner.creation,
            // The BEAM keeps 18 bits in the first word; the salt makes references of
            // different incarnations differ even if the creation repeats.
            id: vec![(n & 0x3_FFFF) as u32, (n >> 18) as u32, self.inner.ref_salt],
        }
    }

    pub(crate) fn is_local(&self, node: &Atom) -> bool {
        *node == self.inner.name
    }

    /// Hands a signal to the connection for `node`; when that is impossible, everything
    /// across that connection fires `noconnection`, as a failed auto-connect does.
    pub(crate) fn dispatch(&self, node: &Atom, signal: Outgoing, connect: bool) -> Result<(), Error> {
        match self.inner.connections.dispatch(self, node, signal, connect) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.connection_lost(node);
                Err(e)
            }
        }
    }

    // ---- messages ----

    /// Sends `msg` from `from` to `dest`. Sends to a dead pid or an inactive alias are
    /// dropped silently, as in Erlang; a send to an unregistered local name fails.
    pub(crate) fn route(&self, from: &Pid, dest: Dest, msg: Term, connect: bool) -> Result<(), Error> {
        match dest {
            Dest::Pid(to) => {
                if self.is_local(&to.node) {
                    if let Some(p) = self.inner.processes.get(&to) {
                        p.push(msg);
                    }
                    Ok(())
                } else {
                    let node = to.node.clone();
                    self.dispatch(
                        &node,
                        Outgoing::Send {
                            from: from.clone(),
                            to,
                            message: msg,
                        },
                        connect,
                    )
                }
            }
            Dest::Name(name) => self.deliver_to_name(&name, msg),
            Dest::Remote { name, node } => {
                if self.is_local(&node) {
                    self.deliver_to_name(&name, msg)
                } else {
                    self.dispatch(
                        &node,
                        Outgoing::RegSend {
                            from: from.clone(),
                            name,
                            message: msg,
                        },
                        connect,
                    )
                }
            }
            Dest::Alias(alias) => {
                if self.is_local(&alias.node) {
                    self.deliver_to_alias(&alias, msg);
                    Ok(())
                } else {
                    let node = alias.node.clone();
                    self.dispatch(
                        &node,
                        Outgoing::AliasSend {
                            from: from.clone(),
                            alias,
                            message: msg,
                        },
                        connect,
                    )
                }
            }
        }
    }

    pub(crate) fn deliver_to_pid(&self, to: &Pid, msg: Term) {
        if let Some(p) = self.inner.processes.get(to) {
            p.push(msg);
        }
    }

    pub(crate) fn deliver_to_name(&self, name: &Atom, msg: Term) -> Result<(), Error> {
        let pid = self
            .inner
            .registry
            .whereis(name)
            .ok_or_else(|| Error::NotRegistered(name.as_str().to_string()))?;
        self.deliver_to_pid(&pid, msg);
        Ok(())
    }

    pub(crate) fn deliver_to_alias(&self, alias: &Reference, msg: Term) {
        if let Some(pid) = self.inner.registry.resolve_alias(alias) {
            self.deliver_to_pid(&pid, msg);
        }
    }

    // ---- names and aliases ----

    pub(crate) fn register(&self, process: &Arc<Process>, name: &str) -> Result<(), Error> {
        let atom = Atom::new(name);
        let mut st = process.state();
        if process.is_dead() || st.name.is_some() {
            return Err(Error::Other(format!(
                "{:?} is dead or already registered",
                process.pid
            )));
        }
        if !self.inner.registry.register(&atom, &process.pid) {
            return Err(Error::NameTaken(name.to_string()));
        }
        st.name = Some(atom);
        Ok(())
    }

    pub(crate) fn unregister(&self, process: &Arc<Process>) {
        if let Some(name) = process.state().name.take() {
            self.inner.registry.unregister(&name, &process.pid);
        }
    }

    pub(crate) fn new_alias(&self, process: &Arc<Process>) -> Reference {
        let alias = self.make_ref();
        process.state().aliases.insert(alias.clone());
        self.inner.registry.add_alias(&alias, &process.pid);
        alias
    }

    /// Makes an existing reference (a monitor's) an alias of `process`, as
    /// `monitor(process, P, [{alias, ..}])` does.
    pub(crate) fn alias_existing(&self, process: &Arc<Process>, alias: &Reference) {
        process.state().aliases.insert(alias.clone());
        self.inner.registry.add_alias(alias, &process.pid);
    }

    pub(crate) fn remove_alias(&self, process: &Arc<Process>, alias: &Reference) -> bool {
        let had = process.state().aliases.remove(alias);
        if had {
            self.inner.registry.remove_alias(alias);
        }
        had
    }

    // ---- links ----

    /// `link(Other)` from a local process.
    pub(crate) fn link(&self, process: &Arc<Process>, other: &Pid) -> Result<(), Error> {
        if *other == process.pid {
            return Ok(());
        }
        if self.is_local(&other.node) {
            process.state().links.link(other);
            let target_alive = self.inner.processes.get(other).is_some_and(|target| {
                let mut st = target.state();
                if st.exit_reason.is_some() {
                    return false;
                }
                st.links.on_link(&process.pid);
                true
            });
            if !target_alive {
                process.state().links.remove(other);
                if !process.state().trap_exit {
                    return Err(Error::NoProc(format!("{other:?}")));
                }
                // A process that traps exits gets the noproc exit signal as a message.
                self.exit_signal(&process.pid, other, Term::atom("noproc"), ExitKind::Link, true);
            }
            Ok(())
        } else {
            if process.state().links.link(other) {
                let node = other.node.clone();
                let _ = self.dispatch(
                    &node,
                    Outgoing::Link {
                        from: process.pid.clone(),
                        to: other.clone(),
                    },
                    true,
                );
            }
            Ok(())
        }
    }

    /// `unlink(Other)` from a local process.
    pub(crate) fn unlink(&self, process: &Arc<Process>, other: &Pid) {
        if self.is_local(&other.node) {
            process.state().links.remove(other);
            if let Some(target) = self.inner.processes.get(other) {
                target.state().links.remove(&process.pid);
            }
        } else {
            let id = process.state().links.unlink(other);
            if let Some(id) = id {
                let node = other.node.clone();
                let signal = Outgoing::UnlinkId {
                    id,
                    from: process.pid.clone(),
                    to: other.clone(),
                };
                let _ = self.dispatch(&node, signal, false);
            }
        }
    }

    // ---- exit signals ----

    /// Sends an exit signal to local process `to`. With `ExitKind::Link` it is acted
    /// upon only over an active link, unless `forced` (the link was never made: linking
    /// to a dead pid).
    pub(crate) fn exit_signal(&self, to: &Pid, from: &Pid, reason: Term, kind: ExitKind, forced: bool) {
        let mut work = VecDeque::new();
        if forced {
            if let Some(p) = self.inner.processes.get(to) {
                let trap = p.state().trap_exit;
                match on_exit_signal(trap, kind, to, from, reason) {
                    ExitAction::Ignore => {}
                    ExitAction::Message(m) => p.push(m),
                    ExitAction::Die(r) => work.push_back(Work::Terminate(p, r)),
                }
            }
        } else {
            work.push_back(Work::Exit {
                to: to.clone(),
                from: from.clone(),
                reason,
                kind,
            });
        }
        self.run(work);
    }

    /// `exit(To, Reason)` from `from` (a local process) to any pid.
    pub(crate) fn exit2(&self, from: &Pid, to: &Pid, reason: Term) {
        if self.is_local(&to.node) {
            self.exit_signal(to, from, reason, ExitKind::Exit2, false);
        } else {
            let node = to.node.clone();
            let _ = self.dispatch(
                &node,
                Outgoing::Exit2 {
                    from: from.clone(),
                    to: to.clone(),
                    reason,
                },
                true,
            );
        }
    }

    /// Ends a local process with `reason`: its links get exit signals, its monitors
    /// fire, its name and aliases go away.
    pub(crate) fn terminate(&self, process: Arc<Process>, reason: Term) {
        self.run(VecDeque::from([Work::Terminate(process, reason)]));
    }

    fn run(&self, mut work: VecDeque<Work>) {
        while let Some(w) = work.pop_front() {
            match w {
                Work::Exit {
                    to,
                    from,
                    reason,
                    kind,
                } => {
                    let Some(p) = self.inner.processes.get(&to) else {
                        continue;
                    };
                    let action = {
                        let mut st = p.state();
                        if kind == ExitKind::Link && !st.links.on_exit(&from) {
                            continue;
                        }
                        on_exit_signal(st.trap_exit, kind, &to, &from, reason)
                    };
                    match action {
                        ExitAction::Ignore => {}
                        ExitAction::Message(m) => p.push(m),
                        ExitAction::Die(r) => work.push_back(Work::Terminate(p, r)),
                    }
                }
                Work::Terminate(p, reason) => self.end_process(p, reason, &mut work),
            }
        }
    }

    fn end_process(&self, p: Arc<Process>, reason: Term, work: &mut VecDeque<Work>) {
        let (links, (watchers, watching), name, aliases) = {
            let mut st = p.state();
            if st.exit_reason.is_some() {
                return;
            }
            st.exit_reason = Some(reason.clone());
            (
                st.links.take_active(),
                st.monitors.take_all(),
                st.name.take(),
                std::mem::take(&mut st.aliases),
            )
        };
        p.mark_dead();
        self.inner.processes.remove(&p.pid);
        if let Some(n) = &name {
            self.inner.registry.unregister(n, &p.pid);
        }
        for a in &aliases {
            self.inner.registry.remove_alias(a);
        }
        for other in links {
            if self.is_local(&other.node) {
                work.push_back(Work::Exit {
                    to: other,
                    from: p.pid.clone(),
                    reason: reason.clone(),
                    kind: ExitKind::Link,
                });
            } else {
                let node = other.node.clone();
                let sig = Outgoing::Exit {
                    from: p.pid.clone(),
                    to: other,
                    reason: reason.clone(),
                };
                let _ = self.inner.connections.dispatch(self, &node, sig, false);
            }
        }
        for (reference, w) in watchers {
            if self.is_local(&w.pid.node) {
                self.fire_down(&w.pid, &reference, reason.clone());
            } else {
                let from = match &w.target {
                    Monitored::Pid(pid) => Term::Pid(pid.clone()),
                    Monitored::Name { name, .. } => Term::Atom(name.clone()),
                };
                let node = w.pid.node.clone();
                let sig = Outgoing::MonitorExit {
                    from,
                    to: w.pid,
                    reference,
                    reason: reason.clone(),
                };
                let _ = self.inner.connections.dispatch(self, &node, sig, false);
            }
        }
        for (reference, w) in watching {
            self.drop_monitor_at_target(&p.pid, &reference, &w);
        }
    }

    // ---- monitors ----

    /// Delivers the `'DOWN'` of monitor `reference` to local watcher `watcher`, if it
    /// still holds that monitor.
    pub(crate) fn fire_down(&self, watcher: &Pid, reference: &Reference, reason: Term) {
        let Some(p) = self.inner.processes.get(watcher) else {
            return;
        };
        let mut st = p.state();
        if let Some(w) = st.monitors.remove_watching(reference) {
            p.push(down_message(reference, w.target.to_term(), reason));
        }
    }

    /// `monitor(process, Target)` from a local process.
    pub(crate) fn monitor(&self, process: &Arc<Process>, target: Monitored) -> Reference {
        let reference = self.make_ref();
        if !self.is_local(target.node()) {
            let remote = match &target {
                Monitored::Pid(p) => Term::Pid(p.clone()),
                Monitored::Name { name, .. } => Term::Atom(name.clone()),
            };
            let node = target.node().clone();
            process.state().monitors.add_watching(
                reference.clone(),
                Watching {
                    target,
                    resolved: None,
                },
            );
            let sig = Outgoing::Monitor {
                from: process.pid.clone(),
                target: remote,
                reference: reference.clone(),
            };
            let _ = self.dispatch(&node, sig, true);
            return reference;
        }
        let resolved = match &target {
            Monitored::Pid(p) => Some(p.clone()),
            Monitored::Name { name, .. } => self.inner.registry.whereis(name),
        };
        process.state().monitors.add_watching(
            reference.clone(),
            Watching {
                target: target.clone(),
                resolved: resolved.clone(),
            },
        );
        let alive = resolved
            .as_ref()
            .and_then(|pid| self.inner.processes.get(pid))
            .and_then(|t| {
                let mut st = t.state();
                if st.exit_reason.is_some() {
                    return None;
                }
                st.monitors.add_watcher(
                    reference.clone(),
                    Watcher {
                        pid: process.pid.clone(),
                        target: target.clone(),
                    },
                );
                Some(())
            });
        if alive.is_none() {
            self.fire_down(&process.pid, &reference, Term::atom("noproc"));
        }
        reference
    }

    /// `demonitor(Ref)` from a local process. Returns whether the monitor was active.
    pub(crate) fn demonitor(&self, process: &Arc<Process>, reference: &Reference) -> bool {
        let w = process.state().monitors.remove_watching(reference);
        match w {
            Some(w) => {
                self.drop_monitor_at_target(&process.pid, reference, &w);
                true
            }
            None => false,
        }
    }

    fn drop_monitor_at_target(&self, watcher: &Pid, reference: &Reference, w: &Watching) {
        if self.is_local(w.target.node()) {
            if let Some(t) = w.resolved.as_ref().and_then(|pid| self.inner.processes.get(pid)) {
                t.state().monitors.remove_watcher(reference);
            }
        } else {
            let target = match &w.target {
                Monitored::Pid(p) => Term::Pid(p.clone()),
                Monitored::Name { name, .. } => Term::Atom(name.clone()),
            };
            let node = w.target.node().clone();
            let sig = Outgoing::Demonitor {
                from: watcher.clone(),
                target,
                reference: reference.clone(),
            };
            let _ = self.inner.connections.dispatch(self, &node, sig, false);
        }
    }

    // ---- connections ----

    /// The connection to `node` is gone: every link across it delivers `noconnection`,
    /// every monitor on a process there fires `noconnection`, and monitors held from
    /// there are dropped.
    pub(crate) fn connection_lost(&self, node: &Atom) {
        let mut work = VecDeque::new();
        for p in self.inner.processes.all() {
            let (links, fired) = {
                let mut st = p.state();
                (st.links.take_node(node), st.monitors.take_node(node))
            };
            for (reference, w) in fired {
                p.push(down_message(
                    &reference,
                    w.target.to_term(),
                    Term::atom("noconnection"),
                ));
            }
            for other in links {
                // The link entry is already removed: decide directly.
                let trap = p.state().trap_exit;
                match on_exit_signal(trap, ExitKind::Link, &p.pid, &other, Term::atom("noconnection")) {
                    ExitAction::Ignore => {}
                    ExitAction::Message(m) => p.push(m),
                    ExitAction::Die(r) => work.push_back(Work::Terminate(p.clone(), r)),
                }
            }
        }
        self.run(work);
    }
}

/// Adds the per-peer cookies of `config` to a handshake configuration.
fn with_peer_cookies(
    mut h: beamlink_dist::HandshakeConfig,
    config: &Config,
) -> beamlink_dist::HandshakeConfig {
    for (peer, c) in &config.peer_cookies {
        h = h.peer_cookie(peer.clone(), beamlink_dist::Cookie::new(c.expose()));
    }
    h
}

/// Messages larger than this go out in fragments (when the peer takes them), so that
/// ticks and small messages are not stuck behind them. Large enough that ordinary big
/// messages are written in one piece: splitting and reassembling them costs copies.
const FRAGMENT_SIZE: usize = 1 << 20;

/// A creation number for a node that is not given one by EPMD: random, never 0 (0 means
/// "any incarnation" in old encodings).
fn creation_number() -> u32 {
    loop {
        let c: u32 = rand::random();
        if c > 3 {
            return c;
        }
    }
}
