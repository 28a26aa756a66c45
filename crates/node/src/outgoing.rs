//! The signals a node sends to processes on other nodes, before they become control
//! messages on a connection.

use beamlink_term::{Atom, Pid, Reference, Term};

/// One signal for a process on a peer node. The connection layer turns it into the
/// control message the peer's flags call for (PAYLOAD_* variants, SEND_SENDER, ...).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outgoing {
    /// A message to a pid.
    Send { from: Pid, to: Pid, message: Term },
    /// A message to a registered name on the peer.
    RegSend { from: Pid, name: Atom, message: Term },
    /// A message to a process alias.
    AliasSend {
        from: Pid,
        alias: Reference,
        message: Term,
    },
    /// `link/1`.
    Link { from: Pid, to: Pid },
    /// `unlink/1` (the new link protocol).
    UnlinkId { id: u64, from: Pid, to: Pid },
    /// The acknowledgement of an `UnlinkId` received.
    UnlinkIdAck { id: u64, from: Pid, to: Pid },
    /// An exit signal over a link: `from` ended with `reason`.
    Exit { from: Pid, to: Pid, reason: Term },
    /// `exit(To, Reason)`.
    Exit2 { from: Pid, to: Pid, reason: Term },
    /// `monitor(process, Target)`; `target` is a pid or a name atom.
    Monitor {
        from: Pid,
        target: Term,
        reference: Reference,
    },
    /// `demonitor(Ref)`; `target` as in the monitor.
    Demonitor {
        from: Pid,
        target: Term,
        reference: Reference,
    },
    /// A monitored process ended; `from` is its pid or the name it was monitored by.
    MonitorExit {
        from: Term,
        to: Pid,
        reference: Reference,
        reason: Term,
    },
}

fn pid_or_name(t: Term) -> beamlink_dist::PidOrName {
    match t {
        Term::Pid(p) => beamlink_dist::PidOrName::Pid(p),
        Term::Atom(a) => beamlink_dist::PidOrName::Name(a),
        // Only the node builds these, from a pid or a name.
        other => beamlink_dist::PidOrName::Name(Atom::new(&other.to_string())),
    }
}

impl Outgoing {
    /// The distribution message for this signal. `exit_payload` is whether the peer
    /// has `DFLAG_EXIT_PAYLOAD` (every OTP release since 22): exit reasons then travel as
    /// payloads (`PAYLOAD_EXIT`, `PAYLOAD_EXIT2`, `PAYLOAD_MONITOR_P_EXIT`).
    pub(crate) fn into_message(self, exit_payload: bool) -> beamlink_dist::Message {
        use beamlink_dist::{ControlMessage as C, Message};
        let with = |control, payload| Message {
            control,
            payload: Some(payload),
        };
        match self {
            Outgoing::Send { to, message, .. } => Message::send(to, message),
            Outgoing::RegSend { from, name, message } => Message::reg_send(from, name, message),
            Outgoing::AliasSend { from, alias, message } => with(C::AliasSend { from, alias }, message),
            Outgoing::Link { from, to } => Message::control(C::Link { from, to }),
            Outgoing::UnlinkId { id, from, to } => Message::control(C::UnlinkId { id, from, to }),
            Outgoing::UnlinkIdAck { id, from, to } => Message::control(C::UnlinkIdAck { id, from, to }),
            Outgoing::Exit { from, to, reason } if exit_payload => with(C::PayloadExit { from, to }, reason),
            Outgoing::Exit { from, to, reason } => Message::control(C::Exit { from, to, reason }),
            Outgoing::Exit2 { from, to, reason } if exit_payload => {
                with(C::PayloadExit2 { from, to }, reason)
            }
            Outgoing::Exit2 { from, to, reason } => Message::control(C::Exit2 { from, to, reason }),
            Outgoing::Monitor {
                from,
                target,
                reference,
            } => Message::control(C::MonitorP {
                from,
                to: pid_or_name(target),
                reference,
            }),
            Outgoing::Demonitor {
                from,
                target,
                reference,
            } => Message::control(C::DemonitorP {
                from,
                to: pid_or_name(target),
                reference,
            }),
            Outgoing::MonitorExit {
                from,
                to,
                reference,
                reason,
            } if exit_payload => with(
                C::PayloadMonitorPExit {
                    from: pid_or_name(from),
                    to,
                    reference,
                },
                reason,
            ),
            Outgoing::MonitorExit {
                from,
                to,
                reference,
                reason,
            } => Message::control(C::MonitorPExit {
                from: pid_or_name(from),
                to,
                reference,
                reason,
            }),
        }
    }
}
