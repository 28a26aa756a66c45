//! The node's connections to its peers: at most one per peer, by node name.
//!
//! The table maps a peer's name to its entry: connecting (we dialled), accepting (it
//! dialled us) or up. Each entry owns an unbounded queue of signals for the peer, so a
//! send never waits: signals queued while the connection is being set up go out in
//! order once it is up, and fire `noconnection` if it never comes up. One task per
//! connection forwards that queue to the connection's writer and hands what the reader
//! receives to the node.
//!
//! The table also answers the handshake's questions ([`Arbiter`]): simultaneous
//! connects are decided as `net_kernel` decides them, a second connection from a peer
//! we believe connected is answered `alive`.
//!
//! Every [`NodeEvent`] is published under the table lock, in the same critical section
//! as the change it reports (an entry becoming up, an entry removed). So a subscriber
//! that looks at the table and subscribes under that lock (see [`Node::connect`]) sees
//! exactly the events of the entries that follow its snapshot: never the late `Down`
//! of a connection that was already gone when it looked.

use crate::error::Error;
use crate::inbound::Inbox;
use crate::node::Node;
use crate::outgoing::Outgoing;
use beamlink_dist::{
    handshake::BoxFuture, AcceptDecision, AcceptRequest, Arbiter, Connection, ConnectionConfig,
    ConnectionEvent, ConnectionHandle, DistFlags, Established, HandshakeConfig,
};
use beamlink_epmd::PortLookup;
use beamlink_term::Atom;
use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tokio::sync::{broadcast, mpsc, watch, Notify};

/// A change in the set of connected nodes, as `net_kernel:monitor_nodes/2` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A connection to `node` is up.
    Up {
        /// The peer.
        node: Atom,
        /// `true` when the peer is a hidden node.
        hidden: bool,
    },
    /// The connection to `node` is down, and why (`connection_closed`, a tick timeout,
    /// a failed setup, ...).
    Down {
        /// The peer.
        node: Atom,
        /// Why the connection went down (or could not be set up).
        reason: String,
    },
}

/// The optional distribution flags a beamlink node implements.
pub(crate) fn node_flags() -> DistFlags {
    DistFlags::CONNECTION_DEFAULT
        | DistFlags::DIST_MONITOR
        | DistFlags::DIST_MONITOR_NAME
        | DistFlags::EXIT_PAYLOAD
        | DistFlags::SEND_SENDER
        | DistFlags::SPAWN
        | DistFlags::ALIAS
        | DistFlags::UNICODE_IO
}

/// What a queue carries to a peer.
#[derive(Debug)]
pub(crate) enum Queued {
    Signal(Outgoing),
    Raw(beamlink_dist::Message),
}

#[derive(Debug)]
enum State {
    Connecting,
    /// Our attempt lost a simultaneous connect: the peer's own connection is coming.
    AwaitingPeer,
    Accepting,
    Up {
        hidden: bool,
        exit_payload: bool,
        handle: ConnectionHandle,
        /// Closed (its sender dropped) once the connection's task has finished: entry
        /// removed, `Down` published, links and monitors fired.
        finished: watch::Receiver<()>,
    },
}

#[derive(Debug)]
struct Entry {
    /// Which attempt owns the entry: a connection that lost a race must not remove it.
    id: u64,
    state: State,
    tx: mpsc::UnboundedSender<Queued>,
    rx: Option<mpsc::UnboundedReceiver<Queued>>,
    /// Items in `tx` not yet handed to the connection.
    queued: usize,
    /// The task dialling the peer for this entry, while it is connecting: aborted when
    /// the peer's own connection wins a simultaneous connect (as net_kernel kills the
    /// losing setup process), so a stale attempt cannot complete later.
    attempt: Option<tokio::task::AbortHandle>,
}

/// The connection table, by peer name. Every send looks its peer up here, so the names
/// are hashed with [`NameHasher`] rather than SipHash: the keys are node names that
/// peers choose, but at most one entry per connected or connecting peer exists, and a
/// peer cannot make lookups of other names slower than a linear scan of its few entries.
type Table = HashMap<Atom, Entry, std::hash::BuildHasherDefault<NameHasher>>;

/// FNV-1a over the bytes written, eight at a time.
#[derive(Default)]
struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        // Mix the high bits down: hashbrown takes its control bits from the top.
        self.0 ^ (self.0 >> 29)
    }
}

/// How this node sets up connections; absent on a [`Node::local`] node.
pub(crate) struct DistSetup {
    pub handshake: HandshakeConfig,
    pub connection: ConnectionConfig,
    pub lookup: PortLookup,
    /// The runtime the node started on: connections start there even when a send
    /// comes from another thread.
    pub runtime: tokio::runtime::Handle,
}

/// The connections of one node.
pub(crate) struct Connections {
    table: Mutex<Table>,
    events: broadcast::Sender<NodeEvent>,
    next_id: AtomicU64,
    removed: Notify,
    pub(crate) setup: OnceLock<DistSetup>,
    our_name: OnceLock<String>,
    /// Woken when a forwarding task has handed queued items over.
    drained: Notify,
    /// Set by [`Node::stop`]: no connection is set up any more.
    stopped: std::sync::atomic::AtomicBool,
    /// Connections declared down because the peer sent nothing for net_ticktime.
    tick_timeouts: AtomicU64,
}

impl Connections {
    pub fn new() -> Connections {
        Connections {
            table: Mutex::new(Table::default()),
            events: broadcast::channel(256).0,
            next_id: AtomicU64::new(1),
            removed: Notify::new(),
            setup: OnceLock::new(),
            our_name: OnceLock::new(),
            stopped: std::sync::atomic::AtomicBool::new(false),
            drained: Notify::new(),
            tick_timeouts: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_entry(&self, state: State) -> Entry {
        let (tx, rx) = mpsc::unbounded_channel();
        Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            state,
            tx,
            rx: Some(rx),
            queued: 0,
            attempt: None,
        }
    }

    /// Queues `signal` for `peer`, starting a connection when there is none and
    /// `connect` allows. Never blocks; never called with a process lock held.
    pub fn dispatch(&self, node: &Node, peer: &Atom, signal: Outgoing, connect: bool) -> Result<(), Error> {
        self.enqueue(node, peer, Queued::Signal(signal), connect)
    }

    /// Queues an already built message for `peer` if a connection exists or is being
    /// set up.
    pub fn send_raw(&self, peer: &Atom, msg: beamlink_dist::Message) {
        if let Some(e) = self.lock().get_mut(peer) {
            e.queued += 1;
            let _ = e.tx.send(Queued::Raw(msg));
        }
    }

    fn enqueue(&self, node: &Node, peer: &Atom, item: Queued, connect: bool) -> Result<(), Error> {
        let mut t = self.lock();
        let mut item = item;
        if let Some(e) = t.get_mut(peer) {
            // Fast path: straight into the connection's queue when nothing of ours is
            // waiting before it (order is kept: `queued` counts what the forwarding
            // task has not handed over yet).
            if e.queued == 0 {
                if let State::Up {
                    handle, exit_payload, ..
                } = &e.state
                {
                    let msg = match item {
                        Queued::Signal(s) => s.into_message(*exit_payload),
                        Queued::Raw(m) => m,
                    };
                    // Never waits: `Mailbox::send` does not suspend the sender, and
                    // `Mailbox::send_wait` waits on the connection's backlog itself.
                    match handle.send_now(msg) {
                        Ok(()) => return Ok(()),
                        Err(e) => item = Queued::Raw(e.message),
                    }
                }
            }
            e.queued += 1;
            return e.tx.send(item).map_err(|_| Error::NotConnected {
                node: peer.as_str().to_string(),
            });
        }
        if !connect {
            return Err(Error::NotConnected {
                node: peer.as_str().to_string(),
            });
        }
        let setup = self.setup.get().filter(|_| !self.stopped.load(Ordering::Acquire));
        let Some(setup) = setup else {
            return Err(Error::Connect {
                node: peer.as_str().to_string(),
                reason: "this node does not do distribution".into(),
            });
        };
        let mut entry = self.new_entry(State::Connecting);
        entry.queued = 1;
        let _ = entry.tx.send(item);
        self.start_attempt(&mut t, node, setup, peer, entry);
        Ok(())
    }

    /// Inserts the connecting `entry` and spawns its attempt, with the table locked
    /// throughout: the entry holds the attempt's abort handle before anyone can see
    /// the entry, so a simultaneous connect that our attempt loses always cancels it
    /// (a stale attempt left running could complete at the peer later, after the
    /// connection that replaced it, and disturb the peer's next connection).
    fn start_attempt(&self, t: &mut Table, node: &Node, setup: &DistSetup, peer: &Atom, mut entry: Entry) {
        let task = setup
            .runtime
            .spawn(connect_task(node.clone(), peer.clone(), entry.id));
        entry.attempt = Some(task.abort_handle());
        t.insert(peer.clone(), entry);
    }

    /// Starts connecting to `peer` when no connection exists, and returns `None` when
    /// a connection is up, else the events from the moment the table was looked at:
    /// the first `Up` or `Down` for `peer` among them is the outcome of the entry
    /// pending then (ours or the one we found), never that of an older connection.
    fn watch_connect(
        &self,
        node: &Node,
        peer: &Atom,
    ) -> Result<Option<broadcast::Receiver<NodeEvent>>, Error> {
        // Subscribing under the lock that every publication takes (see the module doc).
        let mut t = self.lock();
        let events = self.events.subscribe();
        match t.get(peer).map(|e| &e.state) {
            Some(State::Up { .. }) => return Ok(None),
            Some(_) => return Ok(Some(events)),
            None => {}
        }
        // A ping-less start: an empty raw queue entry is enough to begin.
        let setup = self.setup.get().filter(|_| !self.stopped.load(Ordering::Acquire));
        let Some(setup) = setup else {
            return Err(Error::Connect {
                node: peer.as_str().to_string(),
                reason: "this node does not do distribution".into(),
            });
        };
        let entry = self.new_entry(State::Connecting);
        self.start_attempt(&mut t, node, setup, peer, entry);
        Ok(Some(events))
    }

    /// `true` when the connection to `peer` is up.
    pub fn is_up(&self, peer: &Atom) -> bool {
        matches!(
            self.lock().get(peer),
            Some(Entry {
                state: State::Up { .. },
                ..
            })
        )
    }

    /// The peers with a connection up: `(visible, hidden)`.
    pub fn connected(&self) -> (Vec<Atom>, Vec<Atom>) {
        let (mut visible, mut hidden) = (Vec::new(), Vec::new());
        for (n, e) in self.lock().iter() {
            if let State::Up { hidden: h, .. } = e.state {
                if h {
                    hidden.push(n.clone())
                } else {
                    visible.push(n.clone())
                }
            }
        }
        (visible, hidden)
    }

    /// Node up/down events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Closes the connection to `peer` (`erlang:disconnect_node/1`) and returns once it
    /// is gone from the table (its links and monitors have fired). Returns whether one
    /// existed.
    pub async fn disconnect(&self, peer: &Atom) -> bool {
        let (handle, mut finished) = match self.lock().get(peer) {
            Some(Entry {
                state: State::Up { handle, finished, .. },
                ..
            }) => (handle.clone(), finished.clone()),
            _ => return false,
        };
        handle.close().await;
        // Not merely "gone from the table": the connection's task removes the entry,
        // then publishes `Down` and fires links and monitors; wait for all of it, so a
        // `connect` right after this never sees this connection's `Down`.
        while finished.changed().await.is_ok() {}
        true
    }

    /// Removes the entry of attempt `id` and, in the same critical section, publishes
    /// `Down` with `reason`; returns whether the attempt still owned the entry (a
    /// replaced attempt removes and reports nothing).
    fn remove(&self, peer: &Atom, id: u64, reason: String) -> bool {
        let mut t = self.lock();
        let owned = t.get(peer).is_some_and(|e| e.id == id);
        if owned {
            t.remove(peer);
            self.publish(NodeEvent::Down {
                node: peer.clone(),
                reason,
            });
        }
        owned
    }

    /// Wakes those waiting for an entry to go (after its links and monitors fired).
    fn notify_removed(&self) {
        self.removed.notify_waiters();
    }

    /// Claims the queue of `peer`'s entry for an established connection of attempt `id`
    /// (an accepted connection takes over the entry whatever its id).
    fn claim(
        &self,
        peer: &Atom,
        id: Option<u64>,
        est: &Established,
        finished: watch::Receiver<()>,
    ) -> Option<(u64, mpsc::UnboundedReceiver<Queued>)> {
        let mut t = self.lock();
        let entry = match t.get_mut(peer) {
            // Our own attempt claims only its own entry; an accepted connection takes
            // over whatever entry there is.
            Some(e) if id.is_none() || id == Some(e.id) => e,
            Some(_) => return None,
            // An attempt of ours whose entry is gone is stale.
            None if id.is_some() => return None,
            None => {
                let e = self.new_entry(State::Accepting);
                t.entry(peer.clone()).or_insert(e)
            }
        };
        let rx = entry.rx.take()?;
        entry.attempt = None;
        entry.state = State::Up {
            hidden: est.peer.hidden,
            exit_payload: est.peer.flags.contains(DistFlags::EXIT_PAYLOAD),
            handle: est.handle.clone(),
            finished,
        };
        let id = entry.id;
        // Under the lock: `Up` is ordered with every other change of the entry.
        self.publish(NodeEvent::Up {
            node: peer.clone(),
            hidden: est.peer.hidden,
        });
        Some((id, rx))
    }

    fn publish(&self, ev: NodeEvent) {
        let _ = self.events.send(ev);
    }
}

impl Arbiter for Connections {
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision {
        if self.stopped.load(Ordering::Acquire) {
            return AcceptDecision::NotAllowed;
        }
        if request.dynamic {
            return AcceptDecision::named_on(&request.name);
        }
        // Before the cookie is checked: a name that would be a new atom past the table's
        // limit is refused, not kept outside the table.
        let Some(peer) = Atom::try_new(&request.name) else {
            tracing::warn!(peer = %request.name, "refused a connection: the atom table is full");
            return AcceptDecision::NotAllowed;
        };
        let ours = self.our_name.get().cloned().unwrap_or_default();
        let mut t = self.lock();
        match t.get_mut(&peer) {
            None => {
                let e = self.new_entry(State::Accepting);
                t.insert(peer, e);
                AcceptDecision::Ok
            }
            Some(e) => match e.state {
                State::Connecting => {
                    let d = AcceptDecision::simultaneous(&ours, &request.name);
                    if d == AcceptDecision::OkSimultaneous {
                        // Our own attempt loses: this connection takes over its queue.
                        e.id = self.next_id.fetch_add(1, Ordering::Relaxed);
                        e.state = State::Accepting;
                        if let Some(attempt) = e.attempt.take() {
                            attempt.abort();
                        }
                    }
                    d
                }
                State::AwaitingPeer => {
                    e.state = State::Accepting;
                    AcceptDecision::Ok
                }
                State::Accepting => AcceptDecision::Nok,
                State::Up { .. } => AcceptDecision::Alive,
            },
        }
    }

    /// Our attempt is still the one we want only while the entry is ours and
    /// connecting: a connection that is up, or one accepted from the peer in a
    /// simultaneous connect, makes this attempt redundant (answer `false`).
    fn is_pending(&self, peer: &str) -> bool {
        match self.lock().get(&Atom::new(peer)) {
            None => true,
            Some(e) => matches!(e.state, State::Connecting),
        }
    }

    fn wait_pending<'a>(&'a self, peer: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let peer = Atom::new(peer);
            loop {
                let notified = self.removed.notified();
                let handle = match self.lock().get(&peer) {
                    Some(Entry {
                        state: State::Up { handle, .. },
                        ..
                    }) => handle.clone(),
                    _ => return,
                };
                handle.close().await;
                notified.await;
            }
        })
    }
}

/// Resolves `peer`'s address (EPMD or the fixed port) and its host.
pub(crate) async fn resolve(lookup: &PortLookup, peer: &str) -> Result<SocketAddr, String> {
    let port = lookup.resolve(peer).await.map_err(|e| e.to_string())?;
    let host = port.host.clone();
    // An IP address needs no resolver: no blocking thread, no NSS (the common case for
    // one-shot commands, whose first connection would otherwise wait for that thread).
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        return Ok(SocketAddr::new(ip, port.port));
    }
    let target = format!("{}:{}", host, port.port);
    tokio::task::spawn_blocking(move || target.to_socket_addrs().map(|mut a| a.next()))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot resolve host {host}: {e}"))?
        .ok_or_else(|| format!("host {host} has no address"))
}

async fn connect_task(node: Node, peer: Atom, id: u64) {
    let conns = &node.inner.connections;
    let Some(setup) = conns.setup.get() else { return };
    let result = match resolve(&setup.lookup, &peer).await {
        Ok(addr) => Connection::connect(
            addr,
            &peer,
            &setup.handshake,
            &setup.connection,
            &AttemptArbiter { conns, id },
        )
        .await
        .map_err(|e| {
            let lost = matches!(e, beamlink_dist::HandshakeError::SimultaneousLost { .. });
            (e.to_string(), lost)
        }),
        Err(e) => Err((format!("cannot find {peer}: {e}"), false)),
    };
    match result {
        Ok(est) => run(node.clone(), peer, Some(id), est).await,
        Err((reason, true)) => {
            // The peer's attempt wins: keep the queue for the connection it opens, and
            // give up only if that does not come within the setup time.
            if !conns.await_peer(&peer, id, setup.handshake.setup_time).await
                && conns.remove(&peer, id, reason)
            {
                node.connection_lost(&peer);
                conns.notify_removed();
            }
        }
        Err((reason, false)) => {
            tracing::info!(peer = %peer, %reason, "connection setup failed");
            // Only the attempt that still owns the entry reports: a lost simultaneous
            // connect is replaced by the accepted connection.
            if conns.remove(&peer, id, reason) {
                node.connection_lost(&peer);
                conns.notify_removed();
            }
        }
    }
}

/// The arbiter of our attempt `id`: it is still wanted only while it owns the entry
/// and the entry is connecting. An attempt whose entry is gone (the connection it was
/// for came and went) or was handed over is stale: the `alive` question is answered
/// `false` and the peer keeps the connection it has.
struct AttemptArbiter<'a> {
    conns: &'a Connections,
    id: u64,
}

impl Arbiter for AttemptArbiter<'_> {
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision {
        self.conns.accept_pending(request)
    }
    fn is_pending(&self, peer: &str) -> bool {
        matches!(
            self.conns.lock().get(&Atom::new(peer)),
            Some(Entry { id, state: State::Connecting, .. }) if *id == self.id
        )
    }
    fn wait_pending<'a>(&'a self, peer: &'a str) -> BoxFuture<'a, ()> {
        self.conns.wait_pending(peer)
    }
}

/// Accepts distribution connections until the listener fails.
pub(crate) async fn accept_loop(
    node: std::sync::Weak<crate::node::NodeInner>,
    listener: tokio::net::TcpListener,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accepting a distribution connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(inner) = node.upgrade() else { return };
        let node = Node { inner };
        tokio::spawn(async move {
            let conns = &node.inner.connections;
            let Some(setup) = conns.setup.get() else { return };
            let arbiter = AcceptArbiter {
                conns,
                accepted: Mutex::new(None),
            };
            let result = Connection::accept(stream, &setup.handshake, &setup.connection, &arbiter).await;
            let accepted = arbiter.accepted.lock().unwrap_or_else(|e| e.into_inner()).take();
            match result {
                Ok(est) => {
                    let peer = Atom::new(&est.peer.node);
                    run(node.clone(), peer, None, est).await
                }
                Err(e) => {
                    tracing::info!(error = %e, "incoming connection refused or failed");
                    if let Some(peer) = accepted {
                        conns.accept_failed(&node, &peer, e.to_string());
                    }
                }
            }
        });
    }
}

/// The arbiter of one accepted connection: remembers which peer it let through, so a
/// handshake that fails afterwards removes that peer's entry again.
struct AcceptArbiter<'a> {
    conns: &'a Connections,
    accepted: Mutex<Option<Atom>>,
}

impl Arbiter for AcceptArbiter<'_> {
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision {
        let d = self.conns.accept_pending(request);
        if matches!(d, AcceptDecision::Ok | AcceptDecision::OkSimultaneous) {
            *self.accepted.lock().unwrap_or_else(|e| e.into_inner()) = Some(Atom::new(&request.name));
        }
        d
    }
    fn is_pending(&self, peer: &str) -> bool {
        self.conns.is_pending(peer)
    }
    fn wait_pending<'a>(&'a self, peer: &'a str) -> BoxFuture<'a, ()> {
        self.conns.wait_pending(peer)
    }
}

impl Connections {
    /// An accepted handshake failed: forget the entry it created, unless a connection
    /// took it over; signals queued for the peer meanwhile fire `noconnection`.
    /// Publishes `Down` (a failed setup) when it removes the entry, so a [`Node::connect`]
    /// waiting on that entry (ours, handed over in a simultaneous connect) gets its answer.
    fn accept_failed(&self, node: &Node, peer: &Atom, reason: String) {
        let mut t = self.lock();
        let stale = matches!(
            t.get(peer),
            Some(Entry {
                state: State::Accepting,
                rx: Some(_),
                ..
            })
        );
        if stale {
            t.remove(peer);
            self.publish(NodeEvent::Down {
                node: peer.clone(),
                reason,
            });
        }
        drop(t);
        if stale {
            node.connection_lost(peer);
            self.notify_removed();
        }
    }
}

/// Handles `first` and whatever else has already arrived (up to a budget, so the
/// outgoing queue gets its turn): fewer wake-ups under load. Returns the reason when
/// the connection went down.
fn drain_events(
    node: &Node,
    conns: &Connections,
    peer: &Atom,
    first: Option<ConnectionEvent>,
    events: &mut beamlink_dist::Events,
    inbox: &mut Inbox,
) -> Option<String> {
    let mut ev = first;
    let mut budget = 4096;
    let outcome = loop {
        match ev {
            Some(ConnectionEvent::Message(m)) => node.handle_incoming_in(peer, m, inbox),
            Some(ConnectionEvent::Down(r)) => break Some(conns.note_down(r)),
            None => break Some("connection_closed".to_string()),
        }
        budget -= 1;
        if budget == 0 {
            break None;
        }
        match events.try_recv() {
            Some(next) => ev = Some(next),
            None => break None,
        }
    };
    inbox.finish();
    outcome
}

/// Runs an established connection: forwards the queue, hands received messages to the
/// node, and when it goes down fires `noconnection` for everything across it.
pub(crate) async fn run(node: Node, peer: Atom, id: Option<u64>, mut est: Established) {
    let conns = &node.inner.connections;
    // Dropped when this task is done: `disconnect` waits for that.
    let (finished_tx, finished) = watch::channel(());
    let Some((id, mut rx)) = conns.claim(&peer, id, &est, finished) else {
        est.handle.close().await;
        return;
    };
    let exit_payload = est.peer.flags.contains(DistFlags::EXIT_PAYLOAD);
    let handle = est.handle.clone();
    let mut inbox = Inbox::default();
    let reason = loop {
        tokio::select! {
            biased;
            ev = est.events.recv() => {
                if let Some(reason) = drain_events(&node, conns, &peer, ev, &mut est.events, &mut inbox) {
                    break reason;
                }
            }
            q = rx.recv() => {
                // Forward this item and whatever else is queued (up to a budget).
                let mut q = q;
                let mut sent = 0;
                let mut failed = false;
                let mut closed = false;
                loop {
                    let msg = match q {
                        Some(Queued::Signal(s)) => s.into_message(exit_payload),
                        Some(Queued::Raw(m)) => m,
                        None => {
                            closed = true;
                            break;
                        }
                    };
                    // Never wait here: while this task waits it does not drain the
                    // connection's events, and two nodes doing that to each other with full
                    // queues would stall for good. The entry queue is unbounded, as the
                    // node's sends are, so nothing is lost by not waiting.
                    if handle.send_now(msg).is_err() {
                        failed = true;
                        break;
                    }
                    sent += 1;
                    if sent == 256 {
                        break;
                    }
                    match rx.try_recv() {
                        Ok(next) => q = Some(next),
                        Err(_) => break,
                    }
                }
                conns.handed_over(&peer, id, sent);
                if failed {
                    break conns.note_down(handle.closed().await);
                }
                if closed {
                    break "connection_closed".to_string();
                }
            }
        }
    };
    // The claim made this task the entry's owner, and only a `Down` published with the
    // entry's removal is ever seen: a connection that no longer owns its entry (cannot
    // happen once up) reports nothing.
    if conns.remove(&peer, id, reason) {
        node.connection_lost(&peer);
    }
    conns.notify_removed();
    drop(finished_tx);
}

impl Connections {
    /// No new connections from now on (the node is stopping).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// After a lost simultaneous connect: waits up to `limit` for the peer's connection
    /// to take over the entry. Returns `true` when it did (or the entry is gone).
    async fn await_peer(&self, peer: &Atom, id: u64, limit: std::time::Duration) -> bool {
        {
            let mut t = self.lock();
            match t.get_mut(peer) {
                Some(e) if e.id == id && matches!(e.state, State::Connecting) => {
                    e.state = State::AwaitingPeer
                }
                _ => return true,
            }
        }
        let deadline = tokio::time::Instant::now() + limit;
        let mut events = self.subscribe();
        loop {
            {
                let t = self.lock();
                match t.get(peer) {
                    Some(e) if e.id == id && e.rx.is_some() => {}
                    _ => return true,
                }
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }

    /// The forwarding task of attempt `id` handed `n` queued items to the connection.
    fn handed_over(&self, peer: &Atom, id: u64, n: usize) {
        if let Some(e) = self.lock().get_mut(peer) {
            if e.id == id {
                e.queued = e.queued.saturating_sub(n);
            }
        }
        self.drained.notify_waiters();
    }

    /// Waits while more than `limit` signals for `peer` wait to be written: in the
    /// entry's queue (the connection not up yet, or behind) or in the connection's own
    /// queue (a busy distribution port).
    pub async fn wait_room(&self, peer: &Atom, limit: usize) {
        loop {
            let drained = self.drained.notified();
            let (busy, handle) = match self.lock().get(peer) {
                Some(e) => {
                    let handle = match &e.state {
                        State::Up { handle, .. } => Some(handle.clone()),
                        _ => None,
                    };
                    (e.queued > limit && e.rx.is_none(), handle)
                }
                None => (false, None),
            };
            if busy {
                drained.await;
                continue;
            }
            // Then the connection's own queue, which senders fill directly once it is up.
            if let Some(h) = handle {
                if h.queued() > limit {
                    h.queued_below(limit + 1).await;
                }
            }
            return;
        }
    }

    /// Counts a connection going down for its reason (tick timeouts) and says why.
    fn note_down(&self, reason: beamlink_dist::DownReason) -> String {
        if matches!(reason, beamlink_dist::DownReason::TickTimeout { .. }) {
            self.tick_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        reason.to_string()
    }

    /// Connections declared down because the peer stopped answering ticks.
    pub fn tick_timeouts(&self) -> u64 {
        self.tick_timeouts.load(Ordering::Relaxed)
    }

    /// The counters of every connection that is up: `(peer, hidden, stats)`.
    pub fn peer_stats(&self) -> Vec<(Atom, bool, beamlink_dist::Stats)> {
        self.lock()
            .iter()
            .filter_map(|(n, e)| match &e.state {
                State::Up { hidden, handle, .. } => Some((n.clone(), *hidden, handle.stats())),
                _ => None,
            })
            .collect()
    }

    /// Remembers our own name (for simultaneous-connect decisions).
    pub fn set_our_name(&self, name: &str) {
        let _ = self.our_name.set(name.to_string());
    }
}

impl Node {
    /// Connects to `peer` (`net_kernel:connect_node/1`) and waits until the connection
    /// is up, or fails with the reason the setup gave.
    pub async fn connect(&self, peer: &str) -> Result<(), Error> {
        let atom = Atom::new(peer);
        let conns = &self.inner.connections;
        // Only the outcome of the attempt pending now counts: the `Down` of a connection
        // that went before (a `disconnect` just done, a replaced attempt) is not in
        // `events` (see `watch_connect`).
        let Some(mut events) = conns.watch_connect(self, &atom)? else {
            return Ok(());
        };
        loop {
            match events.recv().await {
                Ok(NodeEvent::Up { node, .. }) if node == atom => return Ok(()),
                Ok(NodeEvent::Down { node, reason }) if node == atom => {
                    return Err(Error::Connect {
                        node: peer.to_string(),
                        reason,
                    })
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Events were lost (hundreds of them): judge from the table.
                    match conns.watch_connect(self, &atom)? {
                        None => return Ok(()),
                        Some(fresh) => events = fresh,
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Error::Connect {
                        node: peer.to_string(),
                        reason: "node stopped".into(),
                    })
                }
            }
        }
    }

    /// Closes the connection to `peer` (`erlang:disconnect_node/1`); its links and
    /// monitors fire `noconnection`. Returns whether there was a connection.
    pub async fn disconnect(&self, peer: &str) -> bool {
        self.inner.connections.disconnect(&Atom::new(peer)).await
    }

    /// The visible nodes connected (`nodes()`).
    pub fn nodes(&self) -> Vec<Atom> {
        self.inner.connections.connected().0
    }

    /// The hidden nodes connected (`nodes(hidden)`).
    pub fn nodes_hidden(&self) -> Vec<Atom> {
        self.inner.connections.connected().1
    }

    /// `true` when a connection to `peer` is up.
    pub fn is_connected(&self, peer: &str) -> bool {
        self.inner.connections.is_up(&Atom::new(peer))
    }

    /// Node up/down events from now on (`net_kernel:monitor_nodes(true, [nodedown_reason])`).
    pub fn monitor_nodes(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.connections.subscribe()
    }
}
