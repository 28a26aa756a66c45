//! Control messages: the tuple at the start of every distribution message that says which
//! operation it is (send, link, exit, monitor, spawn, ...), named as erl_dist_protocol
//! names them.
//!
//! [`ControlMessage`] has one variant per operation that OTP 25 to 28 sends. Decoding
//! ([`ControlMessage::from_term`]) checks the operation, the arity and the type of every
//! field and reports a peer's mistake as a [`ControlError`]; encoding
//! ([`ControlMessage::encode_body_to`]) writes the tuple straight into the frame buffer.
//!
//! Whether a message is followed by a payload term (the message of a send, the reason of
//! a `PAYLOAD_EXIT*`, the argument list of a spawn) is [`ControlMessage::has_payload`].

mod decode;
mod encode;

pub use decode::ControlError;

use beamlink_term::{Atom, Pid, Reference, Term};

/// Operation numbers (the first element of the control tuple).
pub mod op {
    pub const LINK: u8 = 1;
    pub const SEND: u8 = 2;
    pub const EXIT: u8 = 3;
    pub const UNLINK: u8 = 4;
    pub const NODE_LINK: u8 = 5;
    pub const REG_SEND: u8 = 6;
    pub const GROUP_LEADER: u8 = 7;
    pub const EXIT2: u8 = 8;
    pub const SEND_TT: u8 = 12;
    pub const EXIT_TT: u8 = 13;
    pub const REG_SEND_TT: u8 = 16;
    pub const EXIT2_TT: u8 = 18;
    pub const MONITOR_P: u8 = 19;
    pub const DEMONITOR_P: u8 = 20;
    pub const MONITOR_P_EXIT: u8 = 21;
    pub const SEND_SENDER: u8 = 22;
    pub const SEND_SENDER_TT: u8 = 23;
    pub const PAYLOAD_EXIT: u8 = 24;
    pub const PAYLOAD_EXIT_TT: u8 = 25;
    pub const PAYLOAD_EXIT2: u8 = 26;
    pub const PAYLOAD_EXIT2_TT: u8 = 27;
    pub const PAYLOAD_MONITOR_P_EXIT: u8 = 28;
    pub const SPAWN_REQUEST: u8 = 29;
    pub const SPAWN_REQUEST_TT: u8 = 30;
    pub const SPAWN_REPLY: u8 = 31;
    pub const SPAWN_REPLY_TT: u8 = 32;
    pub const ALIAS_SEND: u8 = 33;
    pub const ALIAS_SEND_TT: u8 = 34;
    pub const UNLINK_ID: u8 = 35;
    pub const UNLINK_ID_ACK: u8 = 36;
    pub const ALTACT_SIG_SEND: u8 = 37;
}

/// Bits of the `Flags` field of [`ControlMessage::SpawnReply`].
pub mod spawn_reply_flags {
    /// A link between the requester and the new process was set up.
    pub const LINK: u32 = 1;
    /// A monitor from the requester to the new process was set up.
    pub const MONITOR: u32 = 2;
}

/// Bits of the `Flags` field of [`ControlMessage::AltactSigSend`] (OTP 28).
pub mod altact_flags {
    /// A priority message (EEP 76): it goes ahead of ordinary messages.
    pub const PRIO: u32 = 1 << 0;
    /// The tuple carries a sequential trace token as its fifth element.
    pub const TOKEN: u32 = 1 << 1;
    /// The recipient is a process alias (a reference).
    pub const ALIAS: u32 = 1 << 2;
    /// The recipient is a registered name.
    pub const NAME: u32 = 1 << 3;
    /// The signal is an exit signal and the payload is its reason, not a message.
    pub const EXIT: u32 = 1 << 4;
}

/// A process named by its pid or by its registered name, as monitors allow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PidOrName {
    Pid(Pid),
    Name(Atom),
}

/// Where an `ALTACT_SIG_SEND` goes: a pid, a registered name or a process alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Pid(Pid),
    Name(Atom),
    Alias(Reference),
}

/// The outcome a `SPAWN_REPLY` reports: the new process, or the atom that says why the
/// spawn failed (`badarg`, `system_limit`, `notsup`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SpawnResult {
    Pid(Pid),
    Error(Atom),
}

/// One control message, typed. Field names follow erl_dist_protocol; the "Unused" fields
/// of SEND, SEND_TT and REG_SEND are not kept (they are encoded as `''`, as the BEAM does).
///
/// The trace token of every `*_TT` variant is the sequential trace token term as the peer
/// sent it. Variants marked "payload" are followed on the wire by one more term, carried
/// in [`crate::Message::payload`].
#[derive(Debug, Clone, PartialEq)]
pub enum ControlMessage {
    /// `{1, FromPid, ToPid}`: create a link.
    Link { from: Pid, to: Pid },
    /// `{2, '', ToPid}`, payload: the message.
    Send { to: Pid },
    /// `{3, FromPid, ToPid, Reason}`: a link broke.
    Exit { from: Pid, to: Pid, reason: Term },
    /// `{4, FromPid, ToPid}`: the old unlink, gone in OTP 26 (decoded so it can be reported).
    Unlink { from: Pid, to: Pid },
    /// `{5}`.
    NodeLink,
    /// `{6, FromPid, '', ToName}`, payload: the message.
    RegSend { from: Pid, to_name: Atom },
    /// `{7, FromPid, ToPid}`: set the group leader of `to`.
    GroupLeader { from: Pid, to: Pid },
    /// `{8, FromPid, ToPid, Reason}`: `exit/2`.
    Exit2 { from: Pid, to: Pid, reason: Term },
    /// `{12, '', ToPid, TraceToken}`, payload: the message.
    SendTt { to: Pid, trace_token: Term },
    /// `{13, FromPid, ToPid, TraceToken, Reason}`.
    ExitTt {
        from: Pid,
        to: Pid,
        trace_token: Term,
        reason: Term,
    },
    /// `{16, FromPid, '', ToName, TraceToken}`, payload: the message.
    RegSendTt {
        from: Pid,
        to_name: Atom,
        trace_token: Term,
    },
    /// `{18, FromPid, ToPid, TraceToken, Reason}`.
    Exit2Tt {
        from: Pid,
        to: Pid,
        trace_token: Term,
        reason: Term,
    },
    /// `{19, FromPid, ToProc, Ref}`: `from` monitors `to`.
    MonitorP {
        from: Pid,
        to: PidOrName,
        reference: Reference,
    },
    /// `{20, FromPid, ToProc, Ref}`: `from` removes its monitor of `to`.
    DemonitorP {
        from: Pid,
        to: PidOrName,
        reference: Reference,
    },
    /// `{21, FromProc, ToPid, Ref, Reason}`: the monitored `from` went down.
    MonitorPExit {
        from: PidOrName,
        to: Pid,
        reference: Reference,
        reason: Term,
    },
    /// `{22, FromPid, ToPid}`, payload: the message.
    SendSender { from: Pid, to: Pid },
    /// `{23, FromPid, ToPid, TraceToken}`, payload: the message.
    SendSenderTt { from: Pid, to: Pid, trace_token: Term },
    /// `{24, FromPid, ToPid}`, payload: the exit reason (a link broke).
    PayloadExit { from: Pid, to: Pid },
    /// `{25, FromPid, ToPid, TraceToken}`, payload: the exit reason.
    PayloadExitTt { from: Pid, to: Pid, trace_token: Term },
    /// `{26, FromPid, ToPid}`, payload: the exit reason (`exit/2`).
    PayloadExit2 { from: Pid, to: Pid },
    /// `{27, FromPid, ToPid, TraceToken}`, payload: the exit reason.
    PayloadExit2Tt { from: Pid, to: Pid, trace_token: Term },
    /// `{28, FromProc, ToPid, Ref}`, payload: the reason the monitored process went down.
    PayloadMonitorPExit {
        from: PidOrName,
        to: Pid,
        reference: Reference,
    },
    /// `{29, ReqId, From, GroupLeader, {M, F, A}, OptList}`, payload: the argument list.
    SpawnRequest {
        req_id: Reference,
        from: Pid,
        group_leader: Pid,
        module: Atom,
        function: Atom,
        arity: u8,
        options: Vec<Term>,
    },
    /// `{30, ReqId, From, GroupLeader, {M, F, A}, OptList, Token}`, payload: the arguments.
    SpawnRequestTt {
        req_id: Reference,
        from: Pid,
        group_leader: Pid,
        module: Atom,
        function: Atom,
        arity: u8,
        options: Vec<Term>,
        trace_token: Term,
    },
    /// `{31, ReqId, To, Flags, Result}`: the answer to a spawn request.
    SpawnReply {
        req_id: Reference,
        to: Pid,
        flags: u32,
        result: SpawnResult,
    },
    /// `{32, ReqId, To, Flags, Result, Token}`.
    SpawnReplyTt {
        req_id: Reference,
        to: Pid,
        flags: u32,
        result: SpawnResult,
        trace_token: Term,
    },
    /// `{33, FromPid, Alias}`, payload: the message.
    AliasSend { from: Pid, alias: Reference },
    /// `{34, FromPid, Alias, Token}`, payload: the message.
    AliasSendTt {
        from: Pid,
        alias: Reference,
        trace_token: Term,
    },
    /// `{35, Id, FromPid, ToPid}`: remove a link; `id` is echoed by the acknowledgement.
    UnlinkId { id: u64, from: Pid, to: Pid },
    /// `{36, Id, FromPid, ToPid}`: acknowledges the `UNLINK_ID` with the same `id`.
    UnlinkIdAck { id: u64, from: Pid, to: Pid },
    /// `{37, Flags, SenderPid, To}` or `{37, Flags, SenderPid, To, Token}` (OTP 28), payload:
    /// the message, or the exit reason when `flags` has [`altact_flags::EXIT`]. The token is
    /// present exactly when `flags` has [`altact_flags::TOKEN`]; encoding sets or clears
    /// that bit from `trace_token`.
    AltactSigSend {
        flags: u32,
        from: Pid,
        to: Recipient,
        trace_token: Option<Term>,
    },
}

impl ControlMessage {
    /// The operation number (first element of the tuple).
    pub fn operation(&self) -> u8 {
        use ControlMessage::*;
        match self {
            Link { .. } => op::LINK,
            Send { .. } => op::SEND,
            Exit { .. } => op::EXIT,
            Unlink { .. } => op::UNLINK,
            NodeLink => op::NODE_LINK,
            RegSend { .. } => op::REG_SEND,
            GroupLeader { .. } => op::GROUP_LEADER,
            Exit2 { .. } => op::EXIT2,
            SendTt { .. } => op::SEND_TT,
            ExitTt { .. } => op::EXIT_TT,
            RegSendTt { .. } => op::REG_SEND_TT,
            Exit2Tt { .. } => op::EXIT2_TT,
            MonitorP { .. } => op::MONITOR_P,
            DemonitorP { .. } => op::DEMONITOR_P,
            MonitorPExit { .. } => op::MONITOR_P_EXIT,
            SendSender { .. } => op::SEND_SENDER,
            SendSenderTt { .. } => op::SEND_SENDER_TT,
            PayloadExit { .. } => op::PAYLOAD_EXIT,
            PayloadExitTt { .. } => op::PAYLOAD_EXIT_TT,
            PayloadExit2 { .. } => op::PAYLOAD_EXIT2,
            PayloadExit2Tt { .. } => op::PAYLOAD_EXIT2_TT,
            PayloadMonitorPExit { .. } => op::PAYLOAD_MONITOR_P_EXIT,
            SpawnRequest { .. } => op::SPAWN_REQUEST,
            SpawnRequestTt { .. } => op::SPAWN_REQUEST_TT,
            SpawnReply { .. } => op::SPAWN_REPLY,
            SpawnReplyTt { .. } => op::SPAWN_REPLY_TT,
            AliasSend { .. } => op::ALIAS_SEND,
            AliasSendTt { .. } => op::ALIAS_SEND_TT,
            UnlinkId { .. } => op::UNLINK_ID,
            UnlinkIdAck { .. } => op::UNLINK_ID_ACK,
            AltactSigSend { .. } => op::ALTACT_SIG_SEND,
        }
    }

    /// The operation's name as erl_dist_protocol spells it (`"REG_SEND_TT"`).
    pub fn name(&self) -> &'static str {
        operation_name(self.operation()).unwrap_or("UNKNOWN")
    }

    /// `true` when a payload term follows the control tuple on the wire: the message of a
    /// send, the reason of a `PAYLOAD_*EXIT*`, the argument list of a spawn request.
    pub fn has_payload(&self) -> bool {
        operation_has_payload(self.operation())
    }

    /// The sequential trace token, for the variants that carry one.
    pub fn trace_token(&self) -> Option<&Term> {
        use ControlMessage::*;
        match self {
            SendTt { trace_token, .. }
            | ExitTt { trace_token, .. }
            | RegSendTt { trace_token, .. }
            | Exit2Tt { trace_token, .. }
            | SendSenderTt { trace_token, .. }
            | PayloadExitTt { trace_token, .. }
            | PayloadExit2Tt { trace_token, .. }
            | SpawnRequestTt { trace_token, .. }
            | SpawnReplyTt { trace_token, .. }
            | AliasSendTt { trace_token, .. } => Some(trace_token),
            AltactSigSend { trace_token, .. } => trace_token.as_ref(),
            _ => None,
        }
    }
}

/// The name of operation `op`, or `None` for a number no OTP release uses.
pub fn operation_name(op: u8) -> Option<&'static str> {
    Some(match op {
        op::LINK => "LINK",
        op::SEND => "SEND",
        op::EXIT => "EXIT",
        op::UNLINK => "UNLINK",
        op::NODE_LINK => "NODE_LINK",
        op::REG_SEND => "REG_SEND",
        op::GROUP_LEADER => "GROUP_LEADER",
        op::EXIT2 => "EXIT2",
        op::SEND_TT => "SEND_TT",
        op::EXIT_TT => "EXIT_TT",
        op::REG_SEND_TT => "REG_SEND_TT",
        op::EXIT2_TT => "EXIT2_TT",
        op::MONITOR_P => "MONITOR_P",
        op::DEMONITOR_P => "DEMONITOR_P",
        op::MONITOR_P_EXIT => "MONITOR_P_EXIT",
        op::SEND_SENDER => "SEND_SENDER",
        op::SEND_SENDER_TT => "SEND_SENDER_TT",
        op::PAYLOAD_EXIT => "PAYLOAD_EXIT",
        op::PAYLOAD_EXIT_TT => "PAYLOAD_EXIT_TT",
        op::PAYLOAD_EXIT2 => "PAYLOAD_EXIT2",
        op::PAYLOAD_EXIT2_TT => "PAYLOAD_EXIT2_TT",
        op::PAYLOAD_MONITOR_P_EXIT => "PAYLOAD_MONITOR_P_EXIT",
        op::SPAWN_REQUEST => "SPAWN_REQUEST",
        op::SPAWN_REQUEST_TT => "SPAWN_REQUEST_TT",
        op::SPAWN_REPLY => "SPAWN_REPLY",
        op::SPAWN_REPLY_TT => "SPAWN_REPLY_TT",
        op::ALIAS_SEND => "ALIAS_SEND",
        op::ALIAS_SEND_TT => "ALIAS_SEND_TT",
        op::UNLINK_ID => "UNLINK_ID",
        op::UNLINK_ID_ACK => "UNLINK_ID_ACK",
        op::ALTACT_SIG_SEND => "ALTACT_SIG_SEND",
        _ => return None,
    })
}

/// Whether operation `op` is followed by a payload term.
pub fn operation_has_payload(op: u8) -> bool {
    matches!(
        op,
        op::SEND
            | op::REG_SEND
            | op::SEND_TT
            | op::REG_SEND_TT
            | op::SEND_SENDER
            | op::SEND_SENDER_TT
            | op::PAYLOAD_EXIT
            | op::PAYLOAD_EXIT_TT
            | op::PAYLOAD_EXIT2
            | op::PAYLOAD_EXIT2_TT
            | op::PAYLOAD_MONITOR_P_EXIT
            | op::SPAWN_REQUEST
            | op::SPAWN_REQUEST_TT
            | op::ALIAS_SEND
            | op::ALIAS_SEND_TT
            | op::ALTACT_SIG_SEND
    )
}

#[cfg(test)]
mod tests;
