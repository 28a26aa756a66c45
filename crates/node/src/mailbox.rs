//! [`Mailbox`]: a local process, as Rust code holds it.

use crate::error::{Error, RecvError};
use crate::monitor::Monitored;
use crate::node::{Dest, Node};
use crate::process::{Delivery, Process};
use beamlink_term::{Atom, Pid, Reference, Term};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

/// A local process: a pid, an optional registered name, and the queue of messages sent to
/// it.
///
/// Messages are kept in arrival order. [`Mailbox::recv_match`] takes the first message
/// that matches a predicate and leaves the others, in order, for later receives, as
/// Erlang's selective `receive` does.
///
/// The process ends when the mailbox is dropped (reason `normal`), when
/// [`Mailbox::close`] is called, or when an exit signal ends it; from then on every
/// receive returns [`RecvError::Exited`] with the reason, and its links and monitors
/// have fired.
pub struct Mailbox {
    node: Node,
    process: Arc<Process>,
    /// Taken from the process's queue in one go, not looked at yet.
    batch: VecDeque<Delivery>,
    /// Looked at by a selective receive and not taken, in order; before `batch`.
    saved: VecDeque<Term>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").field("pid", &self.process.pid).finish()
    }
}

impl Mailbox {
    pub(crate) fn new(node: Node, process: Arc<Process>) -> Mailbox {
        Mailbox {
            node,
            process,
            batch: VecDeque::new(),
            saved: VecDeque::new(),
        }
    }

    /// The process's pid.
    pub fn pid(&self) -> &Pid {
        &self.process.pid
    }

    pub(crate) fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// The node the process runs on.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The registered name, if any.
    pub fn name(&self) -> Option<Atom> {
        self.process.state().name.clone()
    }

    /// `register(Name, self())`. Fails when the name is taken or the process already has
    /// one.
    pub fn register(&self, name: &str) -> Result<(), Error> {
        self.node.register(&self.process, name)
    }

    /// `unregister(Name)` for this process's name.
    pub fn unregister(&self) {
        self.node.unregister(&self.process)
    }

    /// Sends `msg` to a pid, a name on this or another node, or an alias, connecting to
    /// the peer if needed (as `!` does). A message to a dead pid is dropped silently;
    /// one to an unregistered local name is an error.
    pub fn send(&self, to: impl Into<Dest>, msg: Term) -> Result<(), Error> {
        self.node.route(&self.process.pid, to.into(), msg, true)
    }

    /// Like [`Mailbox::send`], but first waits while the connection to the receiver's
    /// node has many signals queued and not yet written (the peer or the network is
    /// slower than the sender): back-pressure, as a BEAM process sending to a busy
    /// distribution port is suspended. Local sends never wait.
    pub async fn send_wait(&self, to: impl Into<Dest>, msg: Term) -> Result<(), Error> {
        let to = to.into();
        let peer = match &to {
            Dest::Pid(p) => Some(p.node.clone()),
            Dest::Remote { node, .. } => Some(node.clone()),
            Dest::Alias(a) => Some(a.node.clone()),
            Dest::Name(_) => None,
        };
        if let Some(peer) = peer.filter(|p| !self.node.is_local(p)) {
            self.node.inner.connections.wait_room(&peer, BUSY_QUEUE).await;
        }
        self.send(to, msg)
    }

    /// Like [`Mailbox::send`] but never sets up a connection (`erlang:send(.., [noconnect])`):
    /// fails with [`Error::NotConnected`] when the peer is not connected.
    pub fn send_noconnect(&self, to: impl Into<Dest>, msg: Term) -> Result<(), Error> {
        self.node.route(&self.process.pid, to.into(), msg, false)
    }

    fn exited(&self) -> Option<RecvError> {
        if self.process.is_dead() {
            let reason = self
                .process
                .state()
                .exit_reason
                .clone()
                .unwrap_or(Term::atom("normal"));
            Some(RecvError::Exited(reason))
        } else {
            None
        }
    }

    /// Waits for the next message.
    ///
    /// Cancel safe: a message is taken from the queue only when it is returned.
    pub async fn recv(&mut self) -> Result<Term, RecvError> {
        self.recv_match(|_| true, None).await
    }

    /// Waits at most `timeout` for the next message.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Result<Term, RecvError> {
        self.recv_match(|_| true, Some(timeout)).await
    }

    /// The next message if one is already there, without waiting.
    pub fn try_recv(&mut self) -> Result<Option<Term>, RecvError> {
        self.try_recv_match(|_| true)
    }

    /// The first message already there that matches `pred`, without waiting.
    pub fn try_recv_match(&mut self, mut pred: impl FnMut(&Term) -> bool) -> Result<Option<Term>, RecvError> {
        if let Some(e) = self.exited() {
            return Err(e);
        }
        if let Some(i) = self.saved.iter().position(&mut pred) {
            return Ok(self.saved.remove(i));
        }
        loop {
            if let Some(found) = self.scan_batch(&mut pred) {
                return found.map(Some);
            }
            if !self.process.queue.take_into(&mut self.batch) {
                return Ok(None);
            }
        }
    }

    /// Looks through `batch` for the first message matching `pred`, moving the others
    /// to `saved`. `None` when the batch is used up without a match.
    fn scan_batch(&mut self, pred: &mut impl FnMut(&Term) -> bool) -> Option<Result<Term, RecvError>> {
        while let Some(d) = self.batch.pop_front() {
            match d {
                Delivery::Message(m) if pred(&m) => return Some(Ok(m)),
                Delivery::Message(m) => self.saved.push_back(m),
                Delivery::Exited => {
                    return Some(Err(self
                        .exited()
                        .unwrap_or(RecvError::Exited(Term::atom("normal")))))
                }
            }
        }
        None
    }

    /// Selective receive: waits for the first message that matches `pred` (at most
    /// `timeout`, or forever with `None`). Messages that do not match stay in the
    /// mailbox in their order, for later receives.
    ///
    /// Cancel safe: messages looked at and not taken are kept.
    pub async fn recv_match(
        &mut self,
        mut pred: impl FnMut(&Term) -> bool,
        timeout: Option<Duration>,
    ) -> Result<Term, RecvError> {
        if let Some(m) = self.try_recv_match(&mut pred)? {
            return Ok(m);
        }
        let wait = poll_fn(|cx| loop {
            if let Some(found) = self.scan_batch(&mut pred) {
                return Poll::Ready(found);
            }
            if self
                .process
                .queue
                .poll_take_into(&mut self.batch, cx)
                .is_pending()
            {
                return Poll::Pending;
            }
        });
        match timeout {
            None => wait.await,
            Some(t) => tokio::time::timeout(t, wait)
                .await
                .unwrap_or(Err(RecvError::Timeout)),
        }
    }

    /// How many messages wait in the mailbox (`message_queue_len`).
    pub fn len(&mut self) -> usize {
        self.process.queue.take_into(&mut self.batch);
        // Messages up to an exit; the exit itself stays for the next receive.
        while let Some(Delivery::Message(_)) = self.batch.front() {
            if let Some(Delivery::Message(m)) = self.batch.pop_front() {
                self.saved.push_back(m);
            }
        }
        self.saved.len()
    }

    /// `true` when no message waits.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// `process_flag(trap_exit, Flag)`: when set, exit signals (other than `kill` via
    /// `exit/2`) arrive as `{'EXIT', From, Reason}` messages instead of ending the
    /// process. Returns the previous value.
    pub fn trap_exit(&self, flag: bool) -> bool {
        std::mem::replace(&mut self.process.state().trap_exit, flag)
    }

    /// `link(Pid)`: an exit of either process now reaches the other. Linking to a local
    /// pid that does not exist fails with [`Error::NoProc`] (or, when trapping exits,
    /// delivers `{'EXIT', Pid, noproc}`); a remote one that does not exist answers with an
    /// exit signal `noproc`.
    pub fn link(&self, pid: &Pid) -> Result<(), Error> {
        self.node.link(&self.process, pid)
    }

    /// `unlink(Pid)`. After it returns, no exit signal due to the link is acted upon.
    pub fn unlink(&self, pid: &Pid) {
        self.node.unlink(&self.process, pid)
    }

    /// `exit(Pid, Reason)`: sends an exit signal to any process.
    pub fn exit(&self, pid: &Pid, reason: Term) {
        self.node.exit2(&self.process.pid, pid, reason)
    }

    /// `monitor(process, Pid)`: when the process ends (or does not exist, or its node
    /// goes down) `{'DOWN', Ref, process, Pid, Reason}` arrives.
    pub fn monitor(&self, pid: &Pid) -> Reference {
        self.node.monitor(&self.process, Monitored::Pid(pid.clone()))
    }

    /// `monitor(process, {Name, Node})`: the `'DOWN'` names the object `{Name, Node}`;
    /// `noproc` when nothing is registered under the name.
    pub fn monitor_name(&self, name: &str, node: &str) -> Reference {
        let target = Monitored::Name {
            name: Atom::new(name),
            node: Atom::new(node),
        };
        self.node.monitor(&self.process, target)
    }

    /// `demonitor(Ref)`: returns whether the monitor was active. A `'DOWN'` already in
    /// the mailbox stays there; see [`Mailbox::demonitor_flush`].
    pub fn demonitor(&self, reference: &Reference) -> bool {
        self.node.demonitor(&self.process, reference)
    }

    /// `demonitor(Ref, [flush])`: also removes its `'DOWN'` from the mailbox.
    pub fn demonitor_flush(&mut self, reference: &Reference) -> bool {
        let was = self.demonitor(reference);
        let _ = self.len();
        self.saved.retain(|m| !is_down_for(m, reference));
        was
    }

    /// A new alias of this process (`alias()`): messages sent to it arrive here until
    /// [`Mailbox::unalias`] or the process ends.
    pub fn alias(&self) -> Reference {
        self.node.new_alias(&self.process)
    }

    /// `unalias(Alias)`: messages to it are dropped from now on. Returns whether it was
    /// active.
    pub fn unalias(&self, alias: &Reference) -> bool {
        self.node.remove_alias(&self.process, alias)
    }

    /// `true` until the process has ended.
    pub fn is_alive(&self) -> bool {
        !self.process.is_dead()
    }

    /// Ends the process with `reason` (`exit(Reason)`): links and monitors see it.
    pub fn close(self, reason: Term) {
        self.node.terminate(self.process.clone(), reason);
    }
}

/// How many signals may wait for a connection before [`Mailbox::send_wait`] waits.
const BUSY_QUEUE: usize = 4096;

/// `true` when `m` is `{'DOWN', Ref, ...}` for this reference.
pub(crate) fn is_down_for(m: &Term, reference: &Reference) -> bool {
    matches!(m.as_tuple(), Some([tag, Term::Reference(r), ..]) if tag.is_atom("DOWN") && **r == *reference)
}

impl Drop for Mailbox {
    /// A dropped mailbox ends its process with reason `normal`.
    fn drop(&mut self) {
        if !self.process.is_dead() {
            self.node.terminate(self.process.clone(), Term::atom("normal"));
        }
    }
}
