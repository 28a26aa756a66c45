//! [`Message`]: one distribution message, the unit that frames carry.

use crate::control::ControlMessage;
use beamlink_term::{Atom, Pid, Term};

/// One distribution message: the control message and, for the operations that have one
/// ([`ControlMessage::has_payload`]), the payload term that follows it: the message of a
/// send, the reason of a `PAYLOAD_EXIT*`, the argument list of a spawn request.
///
/// [`crate::FrameDecoder`] only produces messages whose payload is present exactly when
/// the control message has one; [`crate::FrameEncoder`] refuses others.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What the message does, and to whom.
    pub control: ControlMessage,
    /// The term that follows the control message, for the operations that have one.
    pub payload: Option<Term>,
}

impl Message {
    /// A message without payload (link, monitor, unlink, ...).
    pub fn control(control: ControlMessage) -> Message {
        Message {
            control,
            payload: None,
        }
    }

    /// `to ! msg` as `SEND`: the form every OTP release accepts, without the sender.
    pub fn send(to: Pid, msg: Term) -> Message {
        Message {
            control: ControlMessage::Send { to },
            payload: Some(msg),
        }
    }

    /// `to ! msg` as `SEND_SENDER`, for peers with `DFLAG_SEND_SENDER`.
    pub fn send_sender(from: Pid, to: Pid, msg: Term) -> Message {
        Message {
            control: ControlMessage::SendSender { from, to },
            payload: Some(msg),
        }
    }

    /// `{to_name, Node} ! msg`: a send to a registered name on the peer.
    pub fn reg_send(from: Pid, to_name: Atom, msg: Term) -> Message {
        Message {
            control: ControlMessage::RegSend { from, to_name },
            payload: Some(msg),
        }
    }
}
