//! What the node does with a distribution message a peer sent: deliver a message, update
//! a link or a monitor, deliver an exit signal, answer a spawn request.
//!
//! Everything a peer sends is checked against the node's own state: a signal for a
//! pid that is not ours or not alive is dropped (or answered with `noproc`, as the BEAM
//! answers), never trusted.

use crate::monitor::{Monitored, Watcher};
use crate::node::Node;
use crate::outgoing::Outgoing;
use crate::process::{Delivery, Process};
use crate::signal::ExitKind;
use beamlink_dist::{ControlMessage as C, Message, PidOrName};
use beamlink_term::{Atom, Pid, Reference, Term};
use std::sync::Arc;

/// The fields of a `SPAWN_REQUEST` the node uses.
struct SpawnRequest {
    req_id: Reference,
    from: Pid,
    module: Atom,
    function: Atom,
    options: Vec<Term>,
}

/// Messages received in one go, on their way to mailboxes: consecutive messages for
/// the same process are delivered together (one lock, one wake-up), and the process a
/// pid or name stands for is looked up once per run of messages, not per message.
/// Any other signal first delivers what is pending, so the order of signals between
/// a pair of processes is kept. Call [`Inbox::finish`] when the batch ends: a name is
/// looked up again in the next one.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    /// The process the pending messages go to, and the pid or name they were sent to.
    target: Option<(Target, Option<Arc<Process>>)>,
    pending: Vec<Delivery>,
}

#[derive(Debug, PartialEq)]
enum Target {
    Pid(Pid),
    Name(Atom),
}

impl Inbox {
    /// Delivers the pending messages.
    pub(crate) fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match &self.target {
            Some((_, Some(p))) if !p.is_dead() => p.queue.push_all(self.pending.drain(..)),
            // A dead or missing process: dropped, as Erlang drops them.
            _ => self.pending.clear(),
        }
    }

    /// Delivers the pending messages and forgets which process a name stood for.
    pub(crate) fn finish(&mut self) {
        self.flush();
        self.target = None;
    }

    fn deliver(&mut self, node: &Node, to: Target, msg: Term) {
        if !matches!(&self.target, Some((t, _)) if *t == to) {
            self.flush();
            let process = match &to {
                Target::Pid(p) => node.inner.processes.get(p),
                Target::Name(n) => node
                    .inner
                    .registry
                    .whereis(n)
                    .and_then(|p| node.inner.processes.get(&p)),
            };
            self.target = Some((to, process));
        }
        self.pending.push(Delivery::Message(msg));
    }
}

impl Node {
    /// Carries out one message received from `peer`.
    #[cfg(test)]
    pub(crate) fn handle_incoming(&self, peer: &Atom, msg: Message) {
        let mut inbox = Inbox::default();
        self.handle_incoming_in(peer, msg, &mut inbox);
        inbox.finish();
    }

    /// Carries out one message received from `peer`; messages to processes may wait
    /// in `inbox` until its next flush.
    pub(crate) fn handle_incoming_in(&self, peer: &Atom, msg: Message, inbox: &mut Inbox) {
        let payload = msg.payload.unwrap_or_else(Term::nil);
        match msg.control {
            C::Send { to } | C::SendTt { to, .. } | C::SendSender { to, .. } | C::SendSenderTt { to, .. } => {
                return inbox.deliver(self, Target::Pid(to), payload)
            }
            C::RegSend { to_name, .. } | C::RegSendTt { to_name, .. } => {
                // A message to an unregistered name is dropped, as on the BEAM.
                return inbox.deliver(self, Target::Name(to_name), payload);
            }
            _ => {}
        }
        // Any other signal: what is pending goes first.
        inbox.flush();
        match msg.control {
            C::Send { .. }
            | C::SendTt { .. }
            | C::SendSender { .. }
            | C::SendSenderTt { .. }
            | C::RegSend { .. }
            | C::RegSendTt { .. } => {}
            C::AliasSend { alias, .. } | C::AliasSendTt { alias, .. } => {
                self.deliver_to_alias(&alias, payload)
            }
            C::Link { from, to } => self.remote_link(peer, from, to),
            C::UnlinkId { id, from, to } => {
                if let Some(p) = self.inner.processes.get(&to) {
                    p.state().links.on_unlink_id(&from);
                }
                let ack = Outgoing::UnlinkIdAck {
                    id,
                    from: to,
                    to: from,
                };
                let _ = self.inner.connections.dispatch(self, peer, ack, false);
            }
            C::UnlinkIdAck { id, from, to } => {
                if let Some(p) = self.inner.processes.get(&to) {
                    p.state().links.on_unlink_ack(&from, id);
                }
            }
            C::Unlink { from, to } => {
                // The pre-OTP-26 unlink: remove whatever link there is.
                if let Some(p) = self.inner.processes.get(&to) {
                    p.state().links.remove(&from);
                }
            }
            C::Exit { from, to, reason } | C::ExitTt { from, to, reason, .. } => {
                self.exit_signal(&to, &from, reason, ExitKind::Link, false)
            }
            C::PayloadExit { from, to } | C::PayloadExitTt { from, to, .. } => {
                self.exit_signal(&to, &from, payload, ExitKind::Link, false)
            }
            C::Exit2 { from, to, reason } | C::Exit2Tt { from, to, reason, .. } => {
                self.exit_signal(&to, &from, reason, ExitKind::Exit2, false)
            }
            C::PayloadExit2 { from, to } | C::PayloadExit2Tt { from, to, .. } => {
                self.exit_signal(&to, &from, payload, ExitKind::Exit2, false)
            }
            C::MonitorP { from, to, reference } => self.remote_monitor(peer, from, to, reference),
            C::DemonitorP { to, reference, .. } => {
                let target = match to {
                    PidOrName::Pid(p) => Some(p),
                    PidOrName::Name(n) => self.inner.registry.whereis(&n),
                };
                if let Some(p) = target.and_then(|t| self.inner.processes.get(&t)) {
                    p.state().monitors.remove_watcher(&reference);
                }
            }
            C::MonitorPExit {
                to,
                reference,
                reason,
                ..
            } => self.fire_down(&to, &reference, reason),
            C::PayloadMonitorPExit { to, reference, .. } => self.fire_down(&to, &reference, payload),
            C::SpawnRequest {
                req_id,
                from,
                module,
                function,
                options,
                ..
            }
            | C::SpawnRequestTt {
                req_id,
                from,
                module,
                function,
                options,
                ..
            } => self.remote_spawn(
                peer,
                SpawnRequest {
                    req_id,
                    from,
                    module,
                    function,
                    options,
                },
                payload,
            ),
            C::AltactSigSend { flags, from, to, .. } => {
                use beamlink_dist::control::altact_flags as F;
                use beamlink_dist::Recipient as R;
                if flags & F::EXIT != 0 {
                    if let R::Pid(to) = to {
                        self.exit_signal(&to, &from, payload, ExitKind::Exit2, false);
                    }
                } else {
                    match to {
                        R::Pid(p) => self.deliver_to_pid(&p, payload),
                        R::Name(n) => {
                            let _ = self.deliver_to_name(&n, payload);
                        }
                        R::Alias(a) => self.deliver_to_alias(&a, payload),
                    }
                }
            }
            other => tracing::debug!(peer = %peer, op = other.name(), "ignored control message"),
        }
    }

    fn remote_link(&self, peer: &Atom, from: Pid, to: Pid) {
        let linked = self.inner.processes.get(&to).is_some_and(|p| {
            let mut st = p.state();
            if st.exit_reason.is_some() {
                return false;
            }
            st.links.on_link(&from);
            true
        });
        if !linked {
            let sig = Outgoing::Exit {
                from: to,
                to: from,
                reason: Term::atom("noproc"),
            };
            let _ = self.inner.connections.dispatch(self, peer, sig, false);
        }
    }

    fn remote_monitor(&self, peer: &Atom, from: Pid, to: PidOrName, reference: Reference) {
        let (target, as_term, pid) = match &to {
            PidOrName::Pid(p) => (Monitored::Pid(p.clone()), Term::Pid(p.clone()), Some(p.clone())),
            PidOrName::Name(n) => (
                Monitored::Name {
                    name: n.clone(),
                    node: self.name().clone(),
                },
                Term::Atom(n.clone()),
                self.inner.registry.whereis(n),
            ),
        };
        let added = pid.and_then(|p| self.inner.processes.get(&p)).is_some_and(|p| {
            let mut st = p.state();
            if st.exit_reason.is_some() {
                return false;
            }
            st.monitors.add_watcher(
                reference.clone(),
                Watcher {
                    pid: from.clone(),
                    target,
                },
            );
            true
        });
        if !added {
            let sig = Outgoing::MonitorExit {
                from: as_term,
                to: from,
                reference,
                reason: Term::atom("noproc"),
            };
            let _ = self.inner.connections.dispatch(self, peer, sig, false);
        }
    }

    /// `SPAWN_REQUEST`: `erpc:call/4,5` (and so `rpc:call` on OTP 23+) spawns
    /// `erpc:execute_call(Ref, M, F, Args)` and reads the result from the exit reason
    /// of the spawned process, which it monitors. The node runs a process whose body is
    /// the registered Rust function `M:F` and which ends with the reason erpc expects:
    /// `{Ref, return, Value}` or `{Ref, error, Reason, Stack}`. Spawning a registered
    /// function directly runs it and ends `normal` (or with the error reason); anything
    /// else ends at once with `undef`, as the BEAM's process would.
    fn remote_spawn(&self, peer: &Atom, req: SpawnRequest, args: Term) {
        use beamlink_dist::control::spawn_reply_flags;
        let SpawnRequest {
            req_id,
            from,
            module,
            function,
            options,
        } = req;
        let has = |name: &str| {
            options
                .iter()
                .any(|o| o.is_atom(name) || matches!(o.as_tuple(), Some([t, _]) if t.is_atom(name)))
        };
        let (monitor, link) = (has("monitor"), has("link"));
        let Ok(mb) = self.mailbox() else {
            let reply = C::SpawnReply {
                req_id,
                to: from,
                flags: 0,
                result: beamlink_dist::SpawnResult::Error(Atom::new("system_limit")),
            };
            self.inner.connections.send_raw(peer, Message::control(reply));
            return;
        };
        let process = mb.process().clone();
        let mut flags = 0;
        {
            let mut st = process.state();
            if monitor {
                st.monitors.add_watcher(
                    req_id.clone(),
                    Watcher {
                        pid: from.clone(),
                        target: Monitored::Pid(process.pid.clone()),
                    },
                );
                flags |= spawn_reply_flags::MONITOR;
            }
            if link {
                st.links.on_link(&from);
                flags |= spawn_reply_flags::LINK;
            }
        }
        let reply = C::SpawnReply {
            req_id,
            to: from,
            flags,
            result: beamlink_dist::SpawnResult::Pid(process.pid.clone()),
        };
        self.inner.connections.send_raw(peer, Message::control(reply));
        let args = args.as_list().map(<[Term]>::to_vec).unwrap_or_default();
        let node = self.clone();
        tokio::task::spawn_blocking(move || {
            let reason = crate::rex::spawned_body(&node, &module, &function, args);
            mb.close(reason);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RecvError;
    use std::time::Duration;

    const SHORT: Duration = Duration::from_millis(50);

    fn remote(id: u32) -> Pid {
        Pid {
            node: Atom::new("peer@h"),
            id,
            serial: 0,
            creation: 9,
        }
    }
    fn reference(n: u32) -> Reference {
        Reference {
            node: Atom::new("peer@h"),
            creation: 9,
            id: vec![n, 0, 0],
        }
    }
    fn peer() -> Atom {
        Atom::new("peer@h")
    }
    fn with(control: C, payload: Term) -> Message {
        Message {
            control,
            payload: Some(payload),
        }
    }

    #[tokio::test]
    async fn sends_reach_pids_names_and_aliases_and_unknown_targets_are_dropped() {
        let node = Node::local("me@h").unwrap();
        let mut mb = node.mailbox_named("inbox").unwrap();
        let alias = mb.alias();
        node.handle_incoming(&peer(), with(C::Send { to: mb.pid().clone() }, Term::Int(1)));
        node.handle_incoming(
            &peer(),
            with(
                C::RegSend {
                    from: remote(1),
                    to_name: Atom::new("inbox"),
                },
                Term::Int(2),
            ),
        );
        node.handle_incoming(
            &peer(),
            with(
                C::AliasSend {
                    from: remote(1),
                    alias,
                },
                Term::Int(3),
            ),
        );
        node.handle_incoming(
            &peer(),
            with(
                C::RegSend {
                    from: remote(1),
                    to_name: Atom::new("nobody"),
                },
                Term::Int(4),
            ),
        );
        let dead = Pid {
            id: 77_777,
            ..mb.pid().clone()
        };
        node.handle_incoming(&peer(), with(C::Send { to: dead }, Term::Int(5)));
        for i in 1..=3 {
            assert_eq!(mb.recv_timeout(SHORT).await, Ok(Term::Int(i)));
        }
        assert_eq!(mb.recv_timeout(SHORT).await, Err(RecvError::Timeout));
    }

    #[tokio::test]
    async fn exits_over_links_and_exit2_follow_erlang_rules() {
        let node = Node::local("me@h").unwrap();
        let mut mb = node.mailbox().unwrap();
        // No link: an exit due to a link is ignored.
        let reason = Term::atom("boom");
        node.handle_incoming(
            &peer(),
            with(
                C::PayloadExit {
                    from: remote(1),
                    to: mb.pid().clone(),
                },
                reason.clone(),
            ),
        );
        assert!(mb.is_alive());
        // The peer linked to us, then exits: we die with its reason.
        node.handle_incoming(
            &peer(),
            Message::control(C::Link {
                from: remote(1),
                to: mb.pid().clone(),
            }),
        );
        node.handle_incoming(
            &peer(),
            with(
                C::PayloadExit {
                    from: remote(1),
                    to: mb.pid().clone(),
                },
                reason.clone(),
            ),
        );
        assert_eq!(mb.recv_timeout(SHORT).await, Err(RecvError::Exited(reason)));

        let mut mb = node.mailbox().unwrap();
        mb.trap_exit(true);
        let to = mb.pid().clone();
        node.handle_incoming(
            &peer(),
            with(
                C::PayloadExit2 {
                    from: remote(2),
                    to: to.clone(),
                },
                Term::atom("x"),
            ),
        );
        let m = mb.recv_timeout(SHORT).await.unwrap();
        assert_eq!(
            m,
            Term::tuple(vec![Term::atom("EXIT"), Term::Pid(remote(2)), Term::atom("x")])
        );
        node.handle_incoming(
            &peer(),
            Message::control(C::Exit2 {
                from: remote(2),
                to,
                reason: Term::atom("kill"),
            }),
        );
        assert_eq!(
            mb.recv_timeout(SHORT).await,
            Err(RecvError::Exited(Term::atom("killed")))
        );
    }

    #[tokio::test]
    async fn an_unlink_ack_ends_an_outstanding_unlink_and_monitor_exits_fire_only_held_monitors() {
        let node = Node::local("me@h").unwrap();
        let mut mb = node.mailbox().unwrap();
        mb.trap_exit(true);
        // Held monitor on a remote pid (the connection is missing: it fires noconnection),
        // so use a monitor reference we never made: nothing arrives.
        node.handle_incoming(
            &peer(),
            with(
                C::PayloadMonitorPExit {
                    from: PidOrName::Pid(remote(1)),
                    to: mb.pid().clone(),
                    reference: reference(1),
                },
                Term::atom("normal"),
            ),
        );
        assert_eq!(mb.recv_timeout(SHORT).await, Err(RecvError::Timeout));
        // UNLINK_ID from the peer for a link it made: removed, exit afterwards ignored.
        node.handle_incoming(
            &peer(),
            Message::control(C::Link {
                from: remote(3),
                to: mb.pid().clone(),
            }),
        );
        node.handle_incoming(
            &peer(),
            Message::control(C::UnlinkId {
                id: 5,
                from: remote(3),
                to: mb.pid().clone(),
            }),
        );
        node.handle_incoming(
            &peer(),
            Message::control(C::Exit {
                from: remote(3),
                to: mb.pid().clone(),
                reason: Term::atom("late"),
            }),
        );
        assert_eq!(mb.recv_timeout(SHORT).await, Err(RecvError::Timeout));
    }

    #[tokio::test]
    async fn a_spawn_request_runs_the_registered_function_with_erpc_results() {
        let node = Node::local("me@h").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        node.register_rpc("m", "f", move |args| {
            let _ = tx.send(args);
            Ok(Term::atom("ok"))
        });
        let req = C::SpawnRequest {
            req_id: reference(7),
            from: remote(1),
            group_leader: remote(2),
            module: Atom::new("m"),
            function: Atom::new("f"),
            arity: 1,
            options: vec![Term::atom("monitor")],
        };
        node.handle_incoming(&peer(), with(req, Term::list(vec![Term::Int(42)])));
        assert_eq!(rx.recv().await, Some(vec![Term::Int(42)]));
        // What erpc reads from the monitor: {Ref, return, Value} or {Ref, error, R, Stack}.
        let r = Term::from(reference(8));
        let call = |f: &str| {
            let args = vec![
                r.clone(),
                Term::atom("m"),
                Term::atom(f),
                Term::list(vec![Term::Int(1)]),
            ];
            crate::rex::spawned_body(&node, &Atom::new("erpc"), &Atom::new("execute_call"), args)
        };
        assert_eq!(
            call("f"),
            Term::tuple(vec![r.clone(), Term::atom("return"), Term::atom("ok")])
        );
        let undef = call("g");
        assert_eq!(undef.as_tuple().map(|t| t.len()), Some(4));
        assert!(undef.as_tuple().unwrap()[2].is_atom("undef"));
    }
}
