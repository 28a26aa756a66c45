//! `global_name_server`: a beamlink node's part in OTP's `global` protocol, so that a
//! visible beamlink node does not stall `global` for the BEAM nodes it is connected to.
//!
//! Every BEAM node runs `global`. When two visible nodes connect, their global name
//! servers run a *connect session*: each sends `init_connect` (its protocol version, a
//! session tag and its locker's pid), the lockers take the lock `global` in both
//! partitions, the servers `exchange` their name tables, answer with `resolved`, and
//! each side tells the nodes of its own partition about the other's (`new_nodes`), which
//! then greet the newcomers with `in_sync`. `global:sync/0`, `global:register_name/2`
//! and the locker of every BEAM node wait for these sessions, and `global:trans/2,3`,
//! `global:set_lock/1` and name registration call `{set_lock, Id}`, `{register, ...}`
//! and `{del_lock, Id}` on the global name server of *every* visible node. A visible node
//! that does not answer leaves a BEAM locker waiting forever with the lock `global` set:
//! `global:sync/0` never returns and names registered on one BEAM node never reach the
//! others.
//!
//! A beamlink node answers as a BEAM node that owns no global names and that is a
//! partition of its own:
//!
//! * It is passive in the connect session: the BEAM peer's locker always locks our node
//!   (with `{set_lock, LockId}`) and then sends `{lock_set, Pid, true, ..}`; we answer
//!   `lock_set` true (the peer already holds the lock on us with the same lock id, so the
//!   BEAM's own locker would succeed too), then `exchange` an empty name list and
//!   `resolved` with no operations and no known nodes.
//! * It keeps the lock table (`{set_lock, Id}`, `{del_lock, Id}`), with the BEAM's
//!   rules: a resource is held by one requester id, by any number of pids, each monitored
//!   so that a lock whose holder dies or whose node goes down is released.
//! * `{register, ..}`, `{register_ext, ..}` and `{unregister, ..}` are answered and kept
//!   in a replica of the name table ([`Node::whereis_global`]), which `new_nodes`
//!   operations and the names peers send in `exchange` also update.
//! * Nodes that a peer reports (`new_nodes`, the known nodes in `resolved`) get
//!   `in_sync`, as the BEAM's `sync_others` does, so their `global:sync/0` returns.
//! * `{remove_connection, Node}` (OTP 25's prevention of overlapping partitions)
//!   disconnects `Node`, as a BEAM node would; `{lost_connection, ..}` is not acted on
//!   and we never send one, so a beamlink node losing a peer never makes BEAM nodes
//!   disconnect each other.
//!
//! What this does not do: we never report known nodes, so a beamlink node does not
//! connect BEAM nodes to each other (BEAM nodes connected only through a beamlink node
//! stay separate `global` partitions; connect them to each other, as they do themselves
//! when one of them connects to another). `global_group` is not implemented (no node
//! groups). Two visible beamlink nodes that connect to each other directly never
//! complete a session (both wait for the other's locker); through a BEAM node they
//! learn of each other as BEAM nodes do. Neither case delays anything on BEAM nodes.
//!
//! Protocol versions: we announce version 8, what OTP 25 (kernel 8.5) answers to
//! `get_protocol_version` and what the current OTP source (27, 28) still speaks, with
//! the same messages: tagged `lock_set`, `init_connect_ack`, `cancel_connect`,
//! `lost_connection` and `remove_connection`. Peers announcing 6 or 7 (older releases)
//! get the untagged `lock_set` they expect; known-node lists of either form (`Node` or
//! `{Node, Vsn}`) are read.
//!
//! Being passive lets us leave out what version 8 added to keep two *lockers* in step:
//! we send no `init_connect_ack` (a peer only checks the ones it gets) and never restart
//! our side of a session; the peer's side is the newest `init_connect` it sent (its tags
//! grow), so a message of an earlier connection that comes late changes nothing. Node
//! events and messages reach us on two channels: the mailbox is read first, so what a
//! connection delivered comes before its nodedown, and an `init_connect` that comes
//! before its nodeup waits for it.
//!
//! [`Global`] is the protocol, without I/O: each input (a message, a node going up or
//! down) gives the [`Action`]s to carry out. [`serve`] is the process around it.

use crate::connections::NodeEvent;
use crate::gen_server::{GenCall, GenMessage};
use crate::mailbox::Mailbox;
use crate::node::{Dest, Node};
use beamlink_term::{Atom, Pid, Reference, Term};
use std::collections::HashMap;

/// The name every node's global name server is registered under.
pub(crate) const SERVER: &str = "global_name_server";

/// The version of the `global` protocol we announce (OTP 25's, and still the current one).
pub(crate) const VSN: i64 = 8;

/// The first version that tags `lock_set` and sends `init_connect_ack`.
const VERIFY_CONNECT_VSN: i64 = 8;

/// The oldest version we talk to (version 5 lockers send to each other directly).
const OLDEST_VSN: i64 = 6;

/// What the server does in answer to an input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// `gen_server:cast({global_name_server, Node}, Msg)` over the connection there is:
    /// a message of a session never sets up a connection (a new connection is a new
    /// session).
    Cast { node: Atom, msg: Term },
    /// `gen_server:cast({global_name_server, Node}, Msg)`, connecting if needed (the
    /// `in_sync` of `sync_others`, which connects to the nodes it greets).
    CastConnect { node: Atom, msg: Term },
    /// `Pid ! Msg`.
    SendPid { pid: Pid, msg: Term },
    /// `gen_server:reply/2` to a call.
    Reply { call: GenCall, reply: Term },
    /// Start monitoring a pid that now holds a lock or a name.
    Monitor(Pid),
    /// Stop monitoring a pid that holds nothing any more.
    Demonitor(Pid),
    /// `erlang:disconnect_node(Node)`.
    Disconnect(Atom),
}

/// What we know of the peer's side of a connect session, from its `init_connect`.
#[derive(Debug, Clone, PartialEq)]
struct His {
    /// The peer's session tag, echoed in everything we send it for this session.
    tag: Term,
    /// The protocol version both sides use: the lower of ours and the peer's.
    vsn: i64,
    /// The peer's locker.
    locker: Pid,
}

/// A connect session with one peer, from its nodeup to `resolved` (or its nodedown).
#[derive(Debug, Clone, PartialEq)]
struct Session {
    my_tag: i64,
    his: Option<His>,
    /// We answered `lock_set` true and sent our (empty) `exchange`.
    lock_set: bool,
    /// The names the peer sent in `exchange`, once it did.
    his_names: Option<Vec<(Term, Pid)>>,
    /// We sent `resolved`.
    resolved_sent: bool,
    /// The peer's `resolved` (its operations and its known nodes) if it came first.
    his_resolved: Option<(Term, Vec<Atom>)>,
}

impl Session {
    /// Takes the peer's side from an `init_connect`, unless it is older than the one we
    /// have: a peer's tags grow within one run of its node (`unique_integer([monotonic])`),
    /// and a message of an earlier connection can come after the nodeup of the next.
    fn take_his(&mut self, his: His) {
        let newer = match &self.his {
            None => true,
            Some(old) if old.locker.creation != his.locker.creation => true,
            Some(old) => his.tag > old.tag,
        };
        if newer {
            self.his = Some(his);
        }
    }
}

/// A lock on one resource: its requester id and the pids holding it.
#[derive(Debug, Clone, PartialEq)]
struct Lock {
    requester: Term,
    holders: Vec<Pid>,
}

/// The state of a global name server that owns no names: sessions, known nodes, the lock
/// table and the replica of the name table.
#[derive(Debug)]
pub(crate) struct Global {
    me: Atom,
    /// Our pid, given to peers as our locker's.
    pid: Pid,
    next_tag: i64,
    /// Nodes we completed a session with or were told of (`known` in global.erl).
    known: Vec<Atom>,
    /// Nodes that are in sync with us (`synced`).
    synced: Vec<Atom>,
    sessions: HashMap<Atom, Session>,
    /// The last `init_connect` of a node that came when no session could take it.
    pre_connect: HashMap<Atom, His>,
    locks: HashMap<Term, Lock>,
    names: HashMap<Term, Pid>,
    /// How many locks and names each pid holds; a pid is monitored while it holds any.
    held: HashMap<Pid, usize>,
}

fn cast_msg(msg: Term) -> Term {
    Term::tuple(vec![Term::atom("$gen_cast"), msg])
}

/// A node name from a known-nodes list entry: `Node` or `{Node, Vsn}`.
fn node_of(entry: &Term) -> Option<Atom> {
    if let Some(a) = entry.as_atom() {
        return Some(a.clone());
    }
    let [n, _vsn] = entry.as_tuple_n::<2>()?;
    n.as_atom().cloned()
}

fn node_list(list: &Term) -> Vec<Atom> {
    list.as_list()
        .map(|l| l.iter().filter_map(node_of).collect())
        .unwrap_or_default()
}

/// `[{Name, Pid, Method}]` -> `[(Name, Pid)]` (the name list of `exchange`).
fn name_list(list: &Term) -> Vec<(Term, Pid)> {
    let Some(items) = list.as_list() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let [name, pid, _method] = e.as_tuple_n::<3>()?;
            Some((name.clone(), pid.as_pid()?.clone()))
        })
        .collect()
}

impl Global {
    /// A server for node `me` whose process is `pid`; session tags start at `first_tag`.
    pub(crate) fn new(me: Atom, pid: Pid, first_tag: i64) -> Global {
        Global {
            me,
            pid,
            next_tag: first_tag,
            known: Vec::new(),
            synced: Vec::new(),
            sessions: HashMap::new(),
            pre_connect: HashMap::new(),
            locks: HashMap::new(),
            names: HashMap::new(),
            held: HashMap::new(),
        }
    }

    /// The pid registered under a global name, as far as this node has heard.
    pub(crate) fn whereis(&self, name: &Term) -> Option<Pid> {
        self.names.get(name).cloned()
    }

    /// The nodes this server counts as known (for tests and diagnostics).
    #[cfg(test)]
    fn known(&self) -> &[Atom] {
        &self.known
    }

    fn is_known(&self, node: &Atom) -> bool {
        self.known.contains(node)
    }

    /// `pid` takes one more lock or name: monitored from its first.
    fn hold(&mut self, pid: &Pid, out: &mut Vec<Action>) {
        let n = self.held.entry(pid.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            out.push(Action::Monitor(pid.clone()));
        }
    }

    /// `pid` gives one lock or name up: no longer monitored after its last.
    fn release(&mut self, pid: &Pid, out: &mut Vec<Action>) {
        if let Some(n) = self.held.get_mut(pid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held.remove(pid);
                out.push(Action::Demonitor(pid.clone()));
            }
        }
    }

    // ---- nodes up and down ----

    /// A visible node connected: unless it is known or in a session already, start a
    /// session by sending our `init_connect`.
    pub(crate) fn node_up(&mut self, node: Atom) -> Vec<Action> {
        if node == self.me || self.is_known(&node) || self.sessions.contains_key(&node) {
            return Vec::new();
        }
        self.start_session(node)
    }

    fn start_session(&mut self, node: Atom) -> Vec<Action> {
        let my_tag = self.next_tag;
        self.next_tag += 1;
        self.sessions.insert(
            node.clone(),
            Session {
                my_tag,
                his: self.pre_connect.remove(&node),
                lock_set: false,
                his_names: None,
                resolved_sent: false,
                his_resolved: None,
            },
        );
        let locker = Term::tuple(vec![
            Term::atom("locker"),
            Term::atom("no_longer_a_pid"),
            Term::nil(),
            Term::Pid(self.pid.clone()),
        ]);
        let msg = Term::tuple(vec![
            Term::atom("init_connect"),
            Term::tuple(vec![Term::Int(VSN), Term::Int(my_tag)]),
            Term::Atom(self.me.clone()),
            locker,
        ]);
        vec![Action::Cast { node, msg }]
    }

    /// A node went down: its session, its place among the known and synced nodes, the
    /// locks its processes held and the names of its processes go.
    pub(crate) fn node_down(&mut self, node: &Atom) -> Vec<Action> {
        self.sessions.remove(node);
        self.known.retain(|n| n != node);
        self.synced.retain(|n| n != node);
        let gone: Vec<Pid> = self.held.keys().filter(|p| p.node == *node).cloned().collect();
        let mut out = Vec::new();
        for pid in gone {
            out.extend(self.process_down(&pid));
        }
        out
    }

    /// Makes the tracked nodes match `up` (the visible nodes connected), after node
    /// events were missed.
    pub(crate) fn reconcile(&mut self, up: &[Atom]) -> Vec<Action> {
        let tracked: Vec<Atom> = self.known.iter().chain(self.sessions.keys()).cloned().collect();
        let mut out = Vec::new();
        for n in tracked.iter().filter(|n| !up.contains(n)) {
            out.extend(self.node_down(n));
        }
        for n in up {
            out.extend(self.node_up(n.clone()));
        }
        out
    }

    /// A monitored process ended: it holds no lock and no name any more.
    pub(crate) fn process_down(&mut self, pid: &Pid) -> Vec<Action> {
        if self.held.remove(pid).is_none() {
            return Vec::new();
        }
        for lock in self.locks.values_mut() {
            lock.holders.retain(|p| p != pid);
        }
        self.locks.retain(|_, l| !l.holders.is_empty());
        self.names.retain(|_, p| p != pid);
        vec![Action::Demonitor(pid.clone())]
    }

    // ---- messages ----

    /// A message to the global name server.
    pub(crate) fn handle(&mut self, msg: Term) -> Vec<Action> {
        match GenMessage::parse(msg) {
            GenMessage::Call(call) => self.handle_call(call),
            GenMessage::Cast(req) => self.handle_cast(&req),
            GenMessage::Info(info) => self.handle_info(&info),
        }
    }

    fn handle_call(&mut self, call: GenCall) -> Vec<Action> {
        let req = call.request.clone();
        let tag = req
            .as_tuple()
            .and_then(|t| t.first())
            .and_then(|t| t.as_atom().cloned());
        let mut out = Vec::new();
        let reply = match (tag.as_ref().map(|a| a.as_str()), req.as_tuple()) {
            (Some("set_lock"), Some([_, id])) => {
                Term::atom(bool_atom(self.set_lock(id, &call.from, &mut out)))
            }
            (Some("del_lock"), Some([_, id])) => {
                self.del_lock(id, &call.from, &mut out);
                Term::atom("true")
            }
            (Some("register"), Some([_, name, pid, _method])) => match pid.as_pid() {
                Some(pid) => {
                    self.insert_name(name.clone(), pid.clone(), &mut out);
                    Term::atom("yes")
                }
                None => return self.unsupported_call(call),
            },
            (Some("register_ext"), Some([_, name, pid, _method, _reg_node])) => match pid.as_pid() {
                Some(pid) => {
                    self.insert_name(name.clone(), pid.clone(), &mut out);
                    Term::atom("yes")
                }
                None => return self.unsupported_call(call),
            },
            (Some("unregister"), Some([_, name])) => {
                self.delete_name(name, &mut out);
                Term::atom("ok")
            }
            (None, None) if req.is_atom("get_protocol_version") => Term::Int(VSN),
            (None, None) if req.is_atom("get_known") => Term::list(
                self.known
                    .iter()
                    .map(|n| Term::Atom(n.clone()))
                    .collect::<Vec<_>>(),
            ),
            (None, None) if req.is_atom("get_synced") => Term::list(
                self.synced
                    .iter()
                    .map(|n| Term::Atom(n.clone()))
                    .collect::<Vec<_>>(),
            ),
            (None, None) if req.is_atom("get_names_ext") => Term::nil(),
            _ => return self.unsupported_call(call),
        };
        out.push(Action::Reply { call, reply });
        out
    }

    fn unsupported_call(&self, call: GenCall) -> Vec<Action> {
        // The BEAM logs these and does not answer; the other calls are made only by a
        // node's own processes.
        tracing::debug!(request = %call.request, "global_name_server: unsupported call ignored");
        Vec::new()
    }

    fn handle_cast(&mut self, req: &Term) -> Vec<Action> {
        let Some(items) = req.as_tuple() else {
            return Vec::new();
        };
        let Some(tag) = items.first().and_then(|t| t.as_atom()) else {
            return Vec::new();
        };
        match (tag.as_str(), items) {
            ("init_connect", [_, vsn, node, init]) => self.init_connect(vsn, node, init),
            ("lock_set", [_, pid, set, _known]) => self.lock_set(pid, set, None),
            ("lock_set", [_, pid, set, _known, my_tag]) => self.lock_set(pid, set, Some(my_tag)),
            ("exchange", [_, node, names, _names_ext, my_tag]) => self.exchange(node, names, my_tag),
            ("resolved", [_, node, his_ops, his_known, _unused, _names_ext, my_tag]) => {
                self.resolved(node, his_ops, his_known, my_tag)
            }
            ("new_nodes", [_, _node, ops, _names_ext, nodes, _extra]) => self.new_nodes(ops, nodes),
            ("in_sync", [_, node, _is_known]) => self.in_sync(node),
            // Pre-R14 leftovers: the 'DOWN' of a monitor does the work.
            ("async_del_name", _) | ("async_del_lock", _) => Vec::new(),
            _ => {
                tracing::debug!(request = %req, "global_name_server: unexpected cast ignored");
                Vec::new()
            }
        }
    }

    fn handle_info(&mut self, info: &Term) -> Vec<Action> {
        let Some(items) = info.as_tuple() else {
            return Vec::new();
        };
        let Some(tag) = items.first().and_then(|t| t.as_atom()) else {
            return Vec::new();
        };
        match (tag.as_str(), items) {
            // The 'DOWN' of our own monitors goes to `process_down` (see `serve`); any other
            // is no monitor's, and acting on it would free a live process's locks and names.
            ("DOWN", _) => Vec::new(),
            // We send no init_connect_ack and need none (see the module documentation).
            ("init_connect_ack", _) => Vec::new(),
            // A version-8 peer cancels our attempt when it gets a second init_connect of
            // ours in one session (ours of a connection gone, and the next one's). It
            // keeps the latest as ours, starts its own side again and sends us a new
            // init_connect, which replaces its side in our session: we keep ours.
            // Starting ours again would give it a second init_connect again, and so on.
            ("cancel_connect", _) => Vec::new(),
            // Only from a node we know or are connecting to, as global.erl: a repeated
            // request must not close the next connection.
            ("remove_connection", [_, node]) => match node.as_atom() {
                Some(node) if self.is_known(node) || self.sessions.contains_key(node) => {
                    let mut out = self.node_down(&node.clone());
                    out.push(Action::Disconnect(node.clone()));
                    out
                }
                _ => Vec::new(),
            },
            // A locker answering a lock_set we never sent (version 5 form, straight to
            // our pid): nothing to do.
            ("lock_set", _) | ("lost_connection", _) => Vec::new(),
            _ => {
                tracing::debug!(message = %info, "global_name_server: unexpected message ignored");
                Vec::new()
            }
        }
    }

    // ---- the connect session ----

    fn init_connect(&mut self, vsn: &Term, node: &Term, init: &Term) -> Vec<Action> {
        let Some(node) = node.as_atom().cloned() else {
            return Vec::new();
        };
        // {Vsn, Tag}, or a longer tuple from a future version.
        let (his_vsn, his_tag) = match vsn.as_tuple() {
            Some([v, t, ..]) => (v.as_i64(), t.clone()),
            _ => (None, Term::nil()),
        };
        let Some(his_vsn) = his_vsn else {
            tracing::info!(peer = %node, version = %vsn, "global: illegal protocol version in init_connect ignored");
            return Vec::new();
        };
        if his_vsn < OLDEST_VSN {
            tracing::warn!(
                peer = %node,
                version = his_vsn,
                "global: the peer speaks a global protocol older than OTP 20's; \
                 global names and locks will not be synchronised with it"
            );
            return Vec::new();
        }
        let Some([_, _, _, locker]) = init.as_tuple_n::<4>() else {
            return Vec::new();
        };
        let Some(locker) = locker.as_pid().cloned() else {
            return Vec::new();
        };
        if node == self.me {
            return Vec::new();
        }
        let his = His {
            tag: his_tag,
            vsn: his_vsn.min(VSN),
            locker,
        };
        match self.sessions.get_mut(&node) {
            Some(session) => session.take_his(his),
            _ => {
                // Before its nodeup (traffic of a new connection may come before the
                // nodedown of the old one and the nodeup): kept for the next session, as
                // global.erl's 'pre_connect'.
                self.pre_connect.insert(node, his);
            }
        }
        Vec::new()
    }

    /// The peer's locker has locked its partition and our node with the session's lock
    /// id, and asks whether ours is locked. Our partition is our node alone, locked by
    /// the peer under the same id, so the answer is yes; then our names go out.
    fn lock_set(&mut self, pid: &Term, set: &Term, my_tag: Option<&Term>) -> Vec<Action> {
        let Some(pid) = pid.as_pid().cloned() else {
            return Vec::new();
        };
        if !set.is_atom("true") {
            // An answer to a lock_set of ours; we never send one first.
            return Vec::new();
        }
        let node = pid.node.clone();
        let Some(session) = self.sessions.get_mut(&node) else {
            return vec![self.lock_not_set(pid)];
        };
        if let Some(tag) = my_tag {
            if *tag != Term::Int(session.my_tag) {
                // From an earlier session: global.erl drops it.
                return Vec::new();
            }
        }
        let Some(his) = session.his.clone() else {
            return vec![self.lock_not_set(pid)];
        };
        if session.lock_set {
            return Vec::new();
        }
        session.lock_set = true;
        let known = Term::nil();
        let reply = if his.vsn >= VERIFY_CONNECT_VSN {
            Term::tuple(vec![
                Term::atom("lock_set"),
                Term::Pid(self.pid.clone()),
                Term::atom("true"),
                known,
                his.tag.clone(),
            ])
        } else {
            Term::tuple(vec![
                Term::atom("lock_set"),
                Term::Pid(self.pid.clone()),
                Term::atom("true"),
                known,
            ])
        };
        let exchange = Term::tuple(vec![
            Term::atom("exchange"),
            Term::Atom(self.me.clone()),
            Term::nil(),
            Term::nil(),
            his.tag.clone(),
        ]);
        let mut out = vec![
            Action::Cast {
                node: node.clone(),
                msg: reply,
            },
            Action::Cast {
                node: node.clone(),
                msg: exchange,
            },
        ];
        out.extend(self.advance(&node));
        out
    }

    /// What a BEAM locker answers to a `lock_set` for a session it does not have.
    fn lock_not_set(&self, to: Pid) -> Action {
        Action::SendPid {
            pid: to,
            msg: Term::tuple(vec![
                Term::atom("lock_set"),
                Term::Pid(self.pid.clone()),
                Term::atom("false"),
                Term::nil(),
            ]),
        }
    }

    fn exchange(&mut self, node: &Term, names: &Term, my_tag: &Term) -> Vec<Action> {
        let Some(node) = node.as_atom().cloned() else {
            return Vec::new();
        };
        let Some(session) = self.sessions.get_mut(&node) else {
            return Vec::new();
        };
        if Term::Int(session.my_tag) != *my_tag || session.his_names.is_some() {
            return Vec::new();
        }
        session.his_names = Some(name_list(names));
        self.advance(&node)
    }

    fn resolved(&mut self, node: &Term, his_ops: &Term, his_known: &Term, my_tag: &Term) -> Vec<Action> {
        let Some(node) = node.as_atom().cloned() else {
            return Vec::new();
        };
        let Some(session) = self.sessions.get_mut(&node) else {
            return Vec::new();
        };
        if Term::Int(session.my_tag) != *my_tag || session.his_resolved.is_some() {
            return Vec::new();
        }
        session.his_resolved = Some((his_ops.clone(), node_list(his_known)));
        self.advance(&node)
    }

    /// Moves a session on: `resolved` once both our lock and the peer's names are there,
    /// the end of the session once both `resolved` are out.
    fn advance(&mut self, node: &Atom) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(session) = self.sessions.get_mut(node) else {
            return out;
        };
        let Some(his) = session.his.clone() else {
            return out;
        };
        if session.lock_set && session.his_names.is_some() && !session.resolved_sent {
            session.resolved_sent = true;
            // We own no names, so there is no conflict to resolve and no operation for
            // the peer; we report no known nodes (see the module documentation).
            let msg = Term::tuple(vec![
                Term::atom("resolved"),
                Term::Atom(self.me.clone()),
                Term::nil(),
                Term::nil(),
                Term::atom("unused"),
                Term::nil(),
                his.tag.clone(),
            ]);
            out.push(Action::Cast {
                node: node.clone(),
                msg,
            });
        }
        if !session.resolved_sent || session.his_resolved.is_none() {
            return out;
        }
        let Some(session) = self.sessions.remove(node) else {
            return out;
        };
        // The session is over: the peer's names and its operations for us, then the
        // nodes of its partition get `in_sync`.
        for (name, pid) in session.his_names.unwrap_or_default() {
            self.insert_name(name, pid, &mut out);
        }
        let (his_ops, his_known) = session.his_resolved.unwrap_or((Term::nil(), Vec::new()));
        self.do_ops(&his_ops, &mut out);
        for other in his_known {
            if other == self.me || other == *node {
                continue;
            }
            self.sessions.remove(&other);
            self.add_known(other, &mut out);
        }
        if !self.known.contains(node) {
            self.known.push(node.clone());
        }
        if !self.synced.contains(node) {
            self.synced.push(node.clone());
        }
        out
    }

    /// A node we did not know of joins: it is known from now on and gets `in_sync`.
    fn add_known(&mut self, node: Atom, out: &mut Vec<Action>) {
        if node == self.me || self.known.contains(&node) {
            return;
        }
        self.known.push(node.clone());
        let msg = Term::tuple(vec![
            Term::atom("in_sync"),
            Term::Atom(self.me.clone()),
            Term::atom("true"),
        ]);
        out.push(Action::CastConnect { node, msg });
    }

    fn new_nodes(&mut self, ops: &Term, nodes: &Term) -> Vec<Action> {
        let mut out = Vec::new();
        for node in node_list(nodes) {
            self.add_known(node, &mut out);
        }
        self.do_ops(ops, &mut out);
        out
    }

    /// The node is in sync with us, having heard of us from a third node. global.erl
    /// also cancels its session with the node; we keep ours, should there be one: the
    /// `in_sync` may have been sent before a nodedown and come after the next nodeup,
    /// and a peer that is in a session with us waits for our `lock_set` with no time
    /// limit, holding its locks. A session nobody continues is forgotten at nodedown.
    fn in_sync(&mut self, node: &Term) -> Vec<Action> {
        let Some(node) = node.as_atom().cloned() else {
            return Vec::new();
        };
        if !self.synced.contains(&node) {
            self.synced.push(node);
        }
        Vec::new()
    }

    // ---- names ----

    /// `[{insert, {Name, Pid, Method}} | {delete, Name}]`.
    fn do_ops(&mut self, ops: &Term, out: &mut Vec<Action>) {
        let Some(ops) = ops.as_list() else {
            return;
        };
        for op in ops {
            match op.as_tuple_n::<2>() {
                Some([kind, arg]) if kind.is_atom("insert") => {
                    if let Some([name, pid, _method]) = arg.as_tuple_n::<3>() {
                        if let Some(pid) = pid.as_pid() {
                            self.insert_name(name.clone(), pid.clone(), out);
                        }
                    }
                }
                Some([kind, name]) if kind.is_atom("delete") => self.delete_name(name, out),
                _ => {}
            }
        }
    }

    fn insert_name(&mut self, name: Term, pid: Pid, out: &mut Vec<Action>) {
        match self.names.insert(name, pid.clone()) {
            Some(old) if old == pid => {}
            Some(old) => {
                self.hold(&pid, out);
                self.release(&old, out);
            }
            None => self.hold(&pid, out),
        }
    }

    fn delete_name(&mut self, name: &Term, out: &mut Vec<Action>) {
        if let Some(pid) = self.names.remove(name) {
            self.release(&pid, out);
        }
    }

    // ---- locks ----

    /// `{set_lock, {ResourceId, LockRequesterId}}` from `pid`: granted when the resource
    /// is free or held under the same requester id.
    fn set_lock(&mut self, id: &Term, pid: &Pid, out: &mut Vec<Action>) -> bool {
        let Some([resource, requester]) = id.as_tuple_n::<2>() else {
            return false;
        };
        match self.locks.get_mut(resource) {
            Some(lock) if lock.requester != *requester => return false,
            Some(lock) if lock.holders.contains(pid) => return true,
            Some(lock) => lock.holders.push(pid.clone()),
            None => {
                self.locks.insert(
                    resource.clone(),
                    Lock {
                        requester: requester.clone(),
                        holders: vec![pid.clone()],
                    },
                );
            }
        }
        self.hold(pid, out);
        true
    }

    /// `{del_lock, {ResourceId, LockRequesterId}}` from `pid`.
    fn del_lock(&mut self, id: &Term, pid: &Pid, out: &mut Vec<Action>) {
        let Some([resource, requester]) = id.as_tuple_n::<2>() else {
            return;
        };
        let Some(lock) = self.locks.get_mut(resource) else {
            return;
        };
        if lock.requester != *requester || !lock.holders.contains(pid) {
            return;
        }
        lock.holders.retain(|p| p != pid);
        if lock.holders.is_empty() {
            self.locks.remove(resource);
        }
        self.release(pid, out);
    }
}

fn bool_atom(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl Node {
    /// The pid registered under the global name `name` (`global:whereis_name/1`), as this
    /// node has heard from the BEAM nodes it is connected to, or `None`.
    ///
    /// Only a visible node (`NodeBuilder::hidden(false)`) takes part in `global` (runs a
    /// `global_name_server`): a hidden node always answers `None`. Names are seen once the node's session with the
    /// BEAM peer is over (what `global:sync/0` on the peer waits for).
    pub async fn whereis_global(&self, name: &Term) -> Option<Pid> {
        let request = Term::tuple(vec![Term::atom("beamlink_whereis"), name.clone()]);
        let timeout = std::time::Duration::from_secs(5);
        match self.call(SERVER, request, timeout).await {
            Ok(Term::Pid(p)) => Some(p),
            _ => None,
        }
    }
}

/// The `global_name_server` process: runs [`Global`] on its messages and on the node's
/// visible peers going up and down, until the mailbox or the node ends.
pub(crate) async fn serve(node: Node, mut mailbox: Mailbox) {
    use tokio::sync::broadcast::error::RecvError as EventError;
    // Started for visible nodes only; a hidden one would have no visible peer.
    let visible = node.config().is_some_and(|c| !c.hidden);
    let mut events = node.monitor_nodes();
    let first_tag = i64::from(rand::random::<u32>());
    let mut global = Global::new(node.name().clone(), mailbox.pid().clone(), first_tag);
    let mut monitors: HashMap<Pid, Reference> = HashMap::new();
    if visible {
        let actions = global.reconcile(&node.nodes());
        perform(&node, &mailbox, &mut monitors, actions).await;
    }
    loop {
        // The mailbox first: what a connection delivered before its nodedown is handled
        // before it, as net_kernel guarantees to global.erl. Traffic of the next
        // connection may then come before that nodedown and the nodeup: [`Global`]
        // keeps such an `init_connect` for the nodeup (see `pre_connect`).
        let actions = tokio::select! {
            biased;
            msg = mailbox.recv() => match msg {
                Ok(msg) => match whereis_request(&msg) {
                    Some((call, name)) => {
                        let reply = global.whereis(&name).map(Term::Pid).unwrap_or(Term::atom("undefined"));
                        vec![Action::Reply { call, reply }]
                    }
                    None => match down_of(&msg) {
                        // Only the 'DOWN' of the pid's current monitor: one of an earlier
                        // monitor is left over from a demonitor.
                        Some((pid, r)) if monitors.get(&pid) == Some(&r) => {
                            monitors.remove(&pid);
                            global.process_down(&pid)
                        }
                        Some(_) => Vec::new(),
                        None => global.handle(msg),
                    },
                },
                Err(_) => break,
            },
            event = events.recv() => match event {
                Ok(NodeEvent::Up { node: peer, hidden }) if visible && !hidden => global.node_up(peer),
                Ok(NodeEvent::Up { .. }) => Vec::new(),
                Ok(NodeEvent::Down { node: peer, .. }) => global.node_down(&peer),
                Err(EventError::Lagged(_)) if visible => global.reconcile(&node.nodes()),
                Err(EventError::Lagged(_)) => Vec::new(),
                Err(EventError::Closed) => break,
            },
        };
        perform(&node, &mailbox, &mut monitors, actions).await;
    }
}

/// `{beamlink_whereis, Name}`, the call behind [`Node::whereis_global`].
fn whereis_request(msg: &Term) -> Option<(GenCall, Term)> {
    let call = GenCall::parse(msg)?;
    let [tag, name] = call.request.as_tuple_n::<2>()?;
    if !tag.is_atom("beamlink_whereis") {
        return None;
    }
    let name = name.clone();
    Some((call, name))
}

/// `{'DOWN', Ref, process, Pid, Reason}` -> `(Pid, Ref)`.
fn down_of(msg: &Term) -> Option<(Pid, Reference)> {
    let [tag, r, _, pid, _] = msg.as_tuple_n::<5>()?;
    if !tag.is_atom("DOWN") {
        return None;
    }
    Some((pid.as_pid()?.clone(), r.as_reference()?.clone()))
}

async fn perform(
    node: &Node,
    mailbox: &Mailbox,
    monitors: &mut HashMap<Pid, Reference>,
    actions: Vec<Action>,
) {
    for action in actions {
        let result = match action {
            Action::Cast { node: peer, msg } => mailbox.send_noconnect(
                Dest::Remote {
                    name: Atom::new(SERVER),
                    node: peer,
                },
                cast_msg(msg),
            ),
            Action::CastConnect { node: peer, msg } => mailbox.send(
                Dest::Remote {
                    name: Atom::new(SERVER),
                    node: peer,
                },
                cast_msg(msg),
            ),
            Action::SendPid { pid, msg } => mailbox.send_noconnect(pid, msg),
            Action::Reply { call, reply } => {
                let (dest, msg) = call.reply_to(reply);
                mailbox.send(dest, msg)
            }
            Action::Monitor(pid) => {
                if let std::collections::hash_map::Entry::Vacant(e) = monitors.entry(pid) {
                    let r = mailbox.monitor(e.key());
                    e.insert(r);
                }
                Ok(())
            }
            Action::Demonitor(pid) => {
                if let Some(r) = monitors.remove(&pid) {
                    mailbox.demonitor(&r);
                }
                Ok(())
            }
            Action::Disconnect(peer) => {
                node.disconnect(peer.as_str()).await;
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "global_name_server: a message was not delivered");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Term {
        Term::atom(s)
    }
    fn pid(node: &str, id: u32) -> Pid {
        Pid {
            node: Atom::new(node),
            id,
            serial: 0,
            creation: 1,
        }
    }
    fn me() -> Global {
        Global::new(Atom::new("v@h"), pid("v@h", 1), 100)
    }
    fn cast(msg: Term) -> Term {
        cast_msg(msg)
    }
    fn call(from: Pid, request: Term) -> Term {
        Term::tuple(vec![
            atom("$gen_call"),
            Term::tuple(vec![Term::Pid(from), Term::from(reference())]),
            request,
        ])
    }
    fn reference() -> Reference {
        Reference {
            node: Atom::new("a@h"),
            creation: 1,
            id: vec![7, 8, 9],
        }
    }
    fn init_connect(node: &str, vsn: i64, tag: i64, locker: Pid) -> Term {
        cast(Term::tuple(vec![
            atom("init_connect"),
            Term::tuple(vec![Term::Int(vsn), Term::Int(tag)]),
            atom(node),
            Term::tuple(vec![
                atom("locker"),
                atom("no_longer_a_pid"),
                Term::nil(),
                Term::Pid(locker),
            ]),
        ]))
    }
    fn casts_to<'a>(actions: &'a [Action], to: &str) -> Vec<&'a Term> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Cast { node, msg } | Action::CastConnect { node, msg } if node.as_str() == to => {
                    Some(msg)
                }
                _ => None,
            })
            .collect()
    }
    fn replies(actions: &[Action]) -> Vec<Term> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Reply { reply, .. } => Some(reply.clone()),
                _ => None,
            })
            .collect()
    }

    /// Runs a whole session with a version-8 peer `a@h` whose tag is 5; returns the
    /// actions of each step.
    fn session(g: &mut Global) -> Vec<Vec<Action>> {
        let locker = pid("a@h", 50);
        let up = g.node_up(Atom::new("a@h"));
        let ic = g.handle(init_connect("a@h", 8, 5, locker.clone()));
        let ls = g.handle(cast(Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker),
            atom("true"),
            Term::nil(),
            Term::Int(100),
        ])));
        let names = Term::list(vec![Term::tuple(vec![
            atom("foo"),
            Term::Pid(pid("a@h", 77)),
            atom("method"),
        ])]);
        let ex = g.handle(cast(Term::tuple(vec![
            atom("exchange"),
            atom("a@h"),
            names,
            Term::nil(),
            Term::Int(100),
        ])));
        let known = Term::list(vec![Term::tuple(vec![atom("b@h"), Term::Int(8)])]);
        let res = g.handle(cast(Term::tuple(vec![
            atom("resolved"),
            atom("a@h"),
            Term::nil(),
            known,
            atom("unused"),
            Term::nil(),
            Term::Int(100),
        ])));
        vec![up, ic, ls, ex, res]
    }

    #[test]
    fn a_session_answers_as_an_empty_partition() {
        let mut g = me();
        let steps = session(&mut g);
        let init = casts_to(&steps[0], "a@h");
        assert_eq!(init.len(), 1);
        let [tag, vsn, node, locker] = init[0].as_tuple_n::<4>().unwrap();
        assert!(tag.is_atom("init_connect"));
        assert_eq!(*vsn, Term::tuple(vec![Term::Int(8), Term::Int(100)]));
        assert!(node.is_atom("v@h"));
        assert_eq!(locker.as_tuple().unwrap()[3], Term::Pid(pid("v@h", 1)));

        // init_connect is taken in silence.
        assert!(steps[1].is_empty());
        // lock_set true is answered in kind (tagged with the peer's tag), then our names.
        let ls = casts_to(&steps[2], "a@h");
        assert_eq!(
            *ls[0],
            Term::tuple(vec![
                atom("lock_set"),
                Term::Pid(pid("v@h", 1)),
                atom("true"),
                Term::nil(),
                Term::Int(5)
            ])
        );
        assert_eq!(
            *ls[1],
            Term::tuple(vec![
                atom("exchange"),
                atom("v@h"),
                Term::nil(),
                Term::nil(),
                Term::Int(5)
            ])
        );
        // The peer's names: resolved goes out, nothing to resolve.
        let res = casts_to(&steps[3], "a@h");
        assert_eq!(
            *res[0],
            Term::tuple(vec![
                atom("resolved"),
                atom("v@h"),
                Term::nil(),
                Term::nil(),
                atom("unused"),
                Term::nil(),
                Term::Int(5)
            ])
        );
        // Its resolved ends the session: b@h, in its partition, gets in_sync.
        let in_sync = casts_to(&steps[4], "b@h");
        assert_eq!(
            *in_sync[0],
            Term::tuple(vec![atom("in_sync"), atom("v@h"), atom("true")])
        );
        assert_eq!(g.known(), &[Atom::new("b@h"), Atom::new("a@h")]);
        assert_eq!(g.whereis(&atom("foo")), Some(pid("a@h", 77)));
        assert!(g.sessions.is_empty());
        // A known node's nodeup starts nothing.
        assert!(g.node_up(Atom::new("a@h")).is_empty());
    }

    #[test]
    fn an_old_peer_gets_untagged_lock_set_and_no_ack() {
        let mut g = me();
        g.node_up(Atom::new("a@h"));
        let locker = pid("a@h", 50);
        assert!(g.handle(init_connect("a@h", 7, 5, locker.clone())).is_empty());
        let out = g.handle(cast(Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker),
            atom("true"),
            Term::nil(),
        ])));
        assert_eq!(casts_to(&out, "a@h")[0].as_tuple().unwrap().len(), 4);
    }

    #[test]
    fn a_lock_set_of_another_session_is_dropped_or_refused() {
        let mut g = me();
        g.node_up(Atom::new("a@h"));
        let locker = pid("a@h", 50);
        g.handle(init_connect("a@h", 8, 5, locker.clone()));
        let stale = Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker.clone()),
            atom("true"),
            Term::nil(),
            Term::Int(99),
        ]);
        assert!(g.handle(cast(stale)).is_empty());
        // No session at all with c@h: refused, straight to its locker.
        let other = pid("c@h", 3);
        let out = g.handle(cast(Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(other.clone()),
            atom("true"),
            Term::nil(),
            Term::Int(100),
        ])));
        assert_eq!(
            out,
            vec![Action::SendPid {
                pid: other,
                msg: Term::tuple(vec![
                    atom("lock_set"),
                    Term::Pid(pid("v@h", 1)),
                    atom("false"),
                    Term::nil()
                ]),
            }]
        );
    }

    #[test]
    fn init_connect_before_nodeup_waits_for_it() {
        let mut g = me();
        let locker = pid("a@h", 50);
        assert!(g.handle(init_connect("a@h", 8, 5, locker.clone())).is_empty());
        assert_eq!(casts_to(&g.node_up(Atom::new("a@h")), "a@h").len(), 1);
        let lock_set = Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker),
            atom("true"),
            Term::nil(),
            Term::Int(100),
        ]);
        assert_eq!(casts_to(&g.handle(cast(lock_set)), "a@h").len(), 2);
    }

    #[test]
    fn acks_and_cancels_leave_the_session_as_it_is() {
        let mut g = me();
        g.node_up(Atom::new("a@h"));
        g.handle(init_connect("a@h", 8, 5, pid("a@h", 50)));
        let bad = Term::tuple(vec![
            atom("init_connect_ack"),
            atom("a@h"),
            Term::Int(99),
            Term::Int(6),
        ]);
        assert!(g.handle(bad).is_empty());
        assert!(g
            .handle(Term::tuple(vec![
                atom("cancel_connect"),
                atom("a@h"),
                Term::Int(100)
            ]))
            .is_empty());
        // The peer's next init_connect replaces its side; ours is still tag 100.
        g.handle(init_connect("a@h", 8, 6, pid("a@h", 50)));
        let lock_set = Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(pid("a@h", 50)),
            atom("true"),
            Term::nil(),
            Term::Int(100),
        ]);
        let out = g.handle(cast(lock_set));
        assert_eq!(casts_to(&out, "a@h")[0].as_tuple().unwrap()[4], Term::Int(6));
    }

    #[test]
    fn an_older_init_connect_does_not_replace_a_newer_one() {
        let mut g = me();
        g.node_up(Atom::new("a@h"));
        let locker = pid("a@h", 50);
        g.handle(init_connect("a@h", 8, -10, locker.clone()));
        g.handle(init_connect("a@h", 8, -12, locker.clone()));
        let lock_set = Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker),
            atom("true"),
            Term::nil(),
            Term::Int(100),
        ]);
        let out = g.handle(cast(lock_set));
        assert_eq!(casts_to(&out, "a@h")[0].as_tuple().unwrap()[4], Term::Int(-10));
    }

    #[test]
    fn an_init_connect_of_a_known_node_waits_for_its_next_nodeup() {
        let mut g = me();
        session(&mut g);
        let locker = pid("a@h", 51);
        assert!(g.handle(init_connect("a@h", 8, 9, locker.clone())).is_empty());
        g.node_down(&Atom::new("a@h"));
        g.node_up(Atom::new("a@h"));
        let lock_set = Term::tuple(vec![
            atom("lock_set"),
            Term::Pid(locker),
            atom("true"),
            Term::nil(),
            Term::Int(101),
        ]);
        let out = g.handle(cast(lock_set));
        assert_eq!(casts_to(&out, "a@h")[0].as_tuple().unwrap()[4], Term::Int(9));
    }

    #[test]
    fn locks_follow_the_requester_id_and_die_with_their_holders() {
        let mut g = me();
        let (p1, p2, p3) = (pid("a@h", 1), pid("a@h", 2), pid("b@h", 3));
        let id = |req: &str| Term::tuple(vec![atom("global"), atom(req)]);
        let set = |id: Term| Term::tuple(vec![atom("set_lock"), id]);
        let del = |id: Term| Term::tuple(vec![atom("del_lock"), id]);
        let out = g.handle(call(p1.clone(), set(id("r1"))));
        assert_eq!(replies(&out), vec![atom("true")]);
        assert!(out.contains(&Action::Monitor(p1.clone())));
        // Same requester id: shared. Another: refused.
        assert_eq!(
            replies(&g.handle(call(p2.clone(), set(id("r1"))))),
            vec![atom("true")]
        );
        assert_eq!(
            replies(&g.handle(call(p3.clone(), set(id("r2"))))),
            vec![atom("false")]
        );
        // del_lock by one holder keeps it for the other.
        let out = g.handle(call(p1.clone(), del(id("r1"))));
        assert_eq!(replies(&out), vec![atom("true")]);
        assert!(out.contains(&Action::Demonitor(p1.clone())));
        assert_eq!(
            replies(&g.handle(call(p3.clone(), set(id("r2"))))),
            vec![atom("false")]
        );
        // The last holder's node goes down: the resource is free.
        g.node_down(&Atom::new("a@h"));
        assert_eq!(
            replies(&g.handle(call(p3.clone(), set(id("r2"))))),
            vec![atom("true")]
        );
        // Its holder dies: free again.
        let down = Term::tuple(vec![
            atom("DOWN"),
            Term::from(reference()),
            atom("process"),
            Term::Pid(p3.clone()),
            atom("normal"),
        ]);
        // A 'DOWN' message is no proof of anything: only our monitor's (which `serve`
        // matches to its reference) frees the holder's locks.
        assert!(g.handle(down).is_empty());
        assert_eq!(
            replies(&g.handle(call(p1.clone(), set(id("r3"))))),
            vec![atom("false")]
        );
        assert!(!g.process_down(&p3).is_empty());
        assert_eq!(replies(&g.handle(call(p1, set(id("r3"))))), vec![atom("true")]);
    }

    #[test]
    fn registrations_and_new_nodes_update_the_replica() {
        let mut g = me();
        let p = pid("a@h", 9);
        let reg = Term::tuple(vec![
            atom("register"),
            atom("svc"),
            Term::Pid(p.clone()),
            atom("m"),
        ]);
        assert_eq!(replies(&g.handle(call(p.clone(), reg))), vec![atom("yes")]);
        assert_eq!(g.whereis(&atom("svc")), Some(p.clone()));
        let unreg = Term::tuple(vec![atom("unregister"), atom("svc")]);
        assert_eq!(replies(&g.handle(call(p.clone(), unreg))), vec![atom("ok")]);
        assert_eq!(g.whereis(&atom("svc")), None);
        let ops = Term::list(vec![Term::tuple(vec![
            atom("insert"),
            Term::tuple(vec![atom("x"), Term::Pid(p.clone()), atom("m")]),
        ])]);
        let nn = cast(Term::tuple(vec![
            atom("new_nodes"),
            atom("a@h"),
            ops,
            Term::nil(),
            Term::list(vec![atom("c@h"), Term::tuple(vec![atom("v@h"), Term::Int(8)])]),
            Term::nil(),
        ]));
        let out = g.handle(nn);
        assert_eq!(casts_to(&out, "c@h").len(), 1);
        assert!(casts_to(&out, "v@h").is_empty());
        assert_eq!(g.whereis(&atom("x")), Some(p));
        // Already known: no second in_sync.
        let again = cast(Term::tuple(vec![
            atom("new_nodes"),
            atom("a@h"),
            Term::nil(),
            Term::nil(),
            Term::list(vec![atom("c@h")]),
            Term::nil(),
        ]));
        assert!(g.handle(again).is_empty());
    }

    #[test]
    fn a_pid_is_monitored_while_it_holds_a_lock_or_a_name() {
        let mut g = me();
        let p = pid("a@h", 4);
        let reg = |n: &str| Term::tuple(vec![atom("register"), atom(n), Term::Pid(p.clone()), atom("m")]);
        let unreg = |n: &str| Term::tuple(vec![atom("unregister"), atom(n)]);
        let lock = Term::tuple(vec![atom("set_lock"), Term::tuple(vec![atom("r"), atom("q")])]);
        let unlock = Term::tuple(vec![atom("del_lock"), Term::tuple(vec![atom("r"), atom("q")])]);
        let monitors = |out: &[Action]| out.iter().filter(|a| matches!(a, Action::Monitor(_))).count();
        let demonitors = |out: &[Action]| out.iter().filter(|a| matches!(a, Action::Demonitor(_))).count();
        assert_eq!(monitors(&g.handle(call(p.clone(), reg("n1")))), 1);
        assert_eq!(monitors(&g.handle(call(p.clone(), reg("n2")))), 0);
        assert_eq!(monitors(&g.handle(call(p.clone(), lock.clone()))), 0);
        // The same lock again changes nothing.
        assert_eq!(monitors(&g.handle(call(p.clone(), lock))), 0);
        assert_eq!(demonitors(&g.handle(call(p.clone(), unreg("n1")))), 0);
        assert_eq!(demonitors(&g.handle(call(p.clone(), unlock))), 0);
        assert_eq!(demonitors(&g.handle(call(p.clone(), unreg("n2")))), 1);
        // A name that moves to another pid moves the monitor.
        let q = pid("a@h", 5);
        g.handle(call(p.clone(), reg("n3")));
        let moved = Term::tuple(vec![
            atom("register"),
            atom("n3"),
            Term::Pid(q.clone()),
            atom("m"),
        ]);
        let out = g.handle(call(q.clone(), moved));
        assert!(out.contains(&Action::Monitor(q)) && out.contains(&Action::Demonitor(p)));
    }

    #[test]
    fn remove_connection_disconnects_a_known_node_once() {
        let mut g = me();
        session(&mut g);
        let remove = Term::tuple(vec![atom("remove_connection"), atom("b@h")]);
        assert_eq!(
            g.handle(remove.clone()),
            vec![Action::Disconnect(Atom::new("b@h"))]
        );
        assert!(g.handle(remove).is_empty());
    }

    #[test]
    fn garbage_is_ignored() {
        let mut g = me();
        for msg in [
            Term::Int(1),
            cast(Term::Int(2)),
            cast(Term::tuple(vec![
                atom("init_connect"),
                atom("x"),
                Term::Int(1),
                Term::nil(),
            ])),
            cast(Term::tuple(vec![
                atom("lock_set"),
                Term::Int(1),
                atom("true"),
                Term::nil(),
            ])),
            call(pid("a@h", 1), Term::tuple(vec![atom("set_lock"), Term::Int(1)])),
        ] {
            let out = g.handle(msg);
            assert!(out.iter().all(|a| matches!(a, Action::Reply { .. })), "{out:?}");
        }
    }
}
