//! The signals a node sends to processes on other nodes, before they become control
//! messages on a connection.

use beamlink_term::{Atom, Pid, Reference, Term};

/// One signal for a process on a peer node. The connection layer turns it into the
/// control message the peer's flags call for (PAYLOAD_* variants, SEND_SENDER, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
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

impl Outgoing {
    /// The pid the signal goes to, when it names one.
    pub fn target_pid(&self) -> Option<&Pid> {
        match self {
            Outgoing::Send { to, .. }
            | Outgoing::Link { to, .. }
            | Outgoing::UnlinkId { to, .. }
            | Outgoing::UnlinkIdAck { to, .. }
            | Outgoing::Exit { to, .. }
            | Outgoing::Exit2 { to, .. }
            | Outgoing::MonitorExit { to, .. } => Some(to),
            Outgoing::Monitor { target, .. } | Outgoing::Demonitor { target, .. } => target.as_pid(),
            Outgoing::RegSend { .. } | Outgoing::AliasSend { .. } => None,
        }
    }
}
