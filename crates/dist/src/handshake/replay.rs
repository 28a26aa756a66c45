//! Drives a handshake state machine with the bytes a peer sends, without a socket: what
//! the `dist_handshake` fuzz target and its corpus test run.
//!
//! Input layout: one control byte, then the peer's byte stream (2-byte-length packets).
//! Control bits: bit 0 = our role (0 initiator, 1 acceptor); bits 1-3 = the acceptor's
//! decision (0 ok, 1 ok_simultaneous, 2 nok, 3 not_allowed, 4 alive, 5 named, 6-7 ok);
//! bit 4 = the initiator's answer to `alive` (1 = true); bit 5 = the initiator asks for a
//! dynamic name on host `h`. We are `a@h` (initiator) or `b@h` (acceptor), both with
//! cookie [`REPLAY_COOKIE`], challenge [`REPLAY_CHALLENGE`], creation 1 and the default
//! flags; the initiator expects its peer to be `b@h`.

use bytes::BytesMut;

use super::message::{Challenge, Name, Status};
use super::{
    next_packet, AcceptDecision, Acceptor, AcceptorSetup, Handshaken, Initiator, InitiatorSetup, LocalName,
    Step,
};
use crate::cookie::{Cookie, Cookies};
use crate::error::HandshakeError;
use crate::flags::DistFlags;

/// The cookie both replayed machines use.
pub const REPLAY_COOKIE: &str = "fuzz";
/// The challenge both replayed machines send.
pub const REPLAY_CHALLENGE: u32 = 1_000_000_007;

/// How a replay ended.
#[derive(Debug)]
pub enum Replay {
    /// The handshake completed.
    Done(Handshaken),
    /// The machine refused the input (or sent a refusal).
    Failed(HandshakeError),
    /// The input ended before the handshake did.
    Incomplete,
}

enum Machine {
    Initiator(Initiator),
    Acceptor(Acceptor),
}

/// Replays `input` (see the module documentation). Never panics on any input.
pub fn replay(input: &[u8]) -> Replay {
    let Some((&control, stream)) = input.split_first() else {
        return Replay::Incomplete;
    };
    let cookies = Cookies::new(Cookie::new(REPLAY_COOKIE));
    let mut machine = if control & 1 == 0 {
        let name = if control & 0x20 != 0 {
            LocalName::Dynamic { host: "h".into() }
        } else {
            LocalName::Static("a@h".into())
        };
        let (m, _first) = Initiator::new(InitiatorSetup {
            name,
            creation: 1,
            flags: DistFlags::CONNECTION_DEFAULT,
            visible: false,
            cookies,
            expected_peer: Some("b@h".into()),
            challenge: REPLAY_CHALLENGE,
        });
        Machine::Initiator(m)
    } else {
        Machine::Acceptor(Acceptor::new(AcceptorSetup {
            node: "b@h".into(),
            creation: 1,
            flags: DistFlags::CONNECTION_DEFAULT,
            visible: false,
            cookies,
            challenge: REPLAY_CHALLENGE,
            peer_label: "fuzz".into(),
        }))
    };
    let mut buf = BytesMut::from(stream);
    loop {
        let body = match next_packet(&mut buf) {
            Ok(Some(b)) => b,
            Ok(None) => return Replay::Incomplete,
            Err(e) => {
                return Replay::Failed(HandshakeError::Protocol {
                    peer: "fuzz".into(),
                    reason: e.0,
                })
            }
        };
        check_round_trip(&body);
        let step = match &mut machine {
            Machine::Initiator(m) => m.receive(&body).and_then(|s| match s {
                Step::AnswerAlive => m.answer_alive(control & 0x10 != 0),
                s => Ok(s),
            }),
            Machine::Acceptor(m) => m.receive(&body).and_then(|s| match s {
                Step::Decide(req) => m.decide(decision(control, &req.name)),
                s => Ok(s),
            }),
        };
        let step = match (step, &mut machine) {
            (Ok(Step::WaitPending), Machine::Acceptor(m)) => m.old_connection_gone(),
            (s, _) => s,
        };
        match step {
            Ok(Step::Done { result, .. }) => return Replay::Done(result),
            Ok(Step::Reject { error, .. }) | Err(error) => return Replay::Failed(error),
            Ok(_) => {}
        }
    }
}

fn decision(control: u8, host: &str) -> AcceptDecision {
    match (control >> 1) & 7 {
        1 => AcceptDecision::OkSimultaneous,
        2 => AcceptDecision::Nok,
        3 => AcceptDecision::NotAllowed,
        4 => AcceptDecision::Alive,
        5 => AcceptDecision::Named {
            node: format!("n@{host}"),
            creation: 2,
        },
        _ => AcceptDecision::Ok,
    }
}

/// Whatever decodes must encode back to something that decodes the same.
fn check_round_trip(body: &[u8]) {
    if let Ok(s) = Status::decode(body) {
        let again = s.encode();
        assert_eq!(Status::decode(&again[2..]).ok(), Some(s), "status round trip");
    }
    if let Ok(c) = Challenge::decode(body) {
        if c.name.len() <= super::message::MAX_NAME {
            let again = c.encode();
            assert_eq!(
                Challenge::decode(&again[2..]).ok(),
                Some(c),
                "challenge round trip"
            );
        }
    }
    if let Ok(n) = Name::decode(body) {
        if n.creation.is_some() {
            let again = n.encode();
            assert_eq!(Name::decode(&again[2..]).ok(), Some(n), "name round trip");
        }
    }
}
