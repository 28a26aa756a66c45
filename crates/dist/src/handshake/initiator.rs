//! The initiating side of the handshake (node A, which connected).

use crate::cookie::Cookies;
use crate::digest::{check_digest, gen_digest};
use crate::error::{CookieCheck, HandshakeError};
use crate::flags::DistFlags;

use super::message::{is_node_name, Challenge, ChallengeAck, ChallengeReply, Name, Status};
use super::{our_flags, Handshaken, LocalName, PeerInfo, Step};

/// What the initiator needs to know.
#[derive(Debug, Clone)]
pub struct InitiatorSetup {
    /// Our name, or a request for a dynamic one.
    pub name: LocalName,
    /// Our creation (not sent for a dynamic name).
    pub creation: u32,
    /// The optional flags we announce.
    pub flags: DistFlags,
    /// `true` for a visible node.
    pub visible: bool,
    /// The cookies.
    pub cookies: Cookies,
    /// The node we mean to reach. When set, a peer with another name is refused (as
    /// OTP does); when `None` any node is accepted (connecting by address only).
    pub expected_peer: Option<String>,
    /// Our challenge for the peer: a fresh random number per handshake.
    pub challenge: u32,
}

#[derive(Debug)]
enum State {
    AwaitStatus,
    AwaitAliveAnswer,
    AwaitChallenge,
    AwaitAck { peer: PeerInfo },
    Finished,
}

/// The initiator's state machine. See the [module](super) documentation for how to
/// drive it.
#[derive(Debug)]
pub struct Initiator {
    setup: InitiatorSetup,
    sent_flags: DistFlags,
    local_node: String,
    local_creation: u32,
    state: State,
}

impl Initiator {
    /// A new handshake, and the `send_name` packet to write first.
    pub fn new(setup: InitiatorSetup) -> (Initiator, Vec<u8>) {
        let (flags, creation, name) = match &setup.name {
            LocalName::Static(node) => (
                our_flags(setup.flags, setup.visible),
                setup.creation,
                node.clone(),
            ),
            // OTP sends only NAME_ME (never PUBLISHED) and creation 0 with a dynamic name.
            LocalName::Dynamic { host } => (
                our_flags(setup.flags, false) | DistFlags::NAME_ME,
                0,
                host.clone(),
            ),
        };
        let packet = Name {
            flags,
            creation: Some(creation),
            name: name.clone(),
        }
        .encode();
        let me = Initiator {
            local_node: name,
            local_creation: creation,
            sent_flags: flags,
            setup,
            state: State::AwaitStatus,
        };
        (me, packet)
    }

    /// The flags we sent in `send_name`.
    pub fn sent_flags(&self) -> DistFlags {
        self.sent_flags
    }

    fn peer_label(&self) -> String {
        self.setup
            .expected_peer
            .clone()
            .unwrap_or_else(|| "the peer".to_string())
    }

    fn protocol(&self, reason: impl Into<String>) -> HandshakeError {
        HandshakeError::Protocol {
            peer: self.peer_label(),
            reason: reason.into(),
        }
    }

    fn dynamic_host(&self) -> Option<&str> {
        match &self.setup.name {
            LocalName::Dynamic { host } => Some(host),
            LocalName::Static(_) => None,
        }
    }

    /// What we are waiting for, for error messages.
    pub fn stage(&self) -> &'static str {
        match self.state {
            State::AwaitStatus => "waiting for the status",
            State::AwaitAliveAnswer => "deciding about the alive status",
            State::AwaitChallenge => "waiting for the challenge",
            State::AwaitAck { .. } => "waiting for the challenge ack",
            State::Finished => "finished",
        }
    }

    /// The error to report when the peer closes the connection now. A BEAM closes the
    /// connection without a word when our digest is wrong, so a close while we wait for
    /// the ack means the cookies differ.
    pub fn on_closed(&self) -> HandshakeError {
        match &self.state {
            State::AwaitAck { peer } => HandshakeError::CookieMismatch {
                peer: peer.node.clone(),
                check: CookieCheck::ClosedAfterOurDigest,
                per_peer: self.setup.cookies.has_override(&peer.node),
            },
            _ => HandshakeError::Closed {
                peer: self.peer_label(),
                stage: self.stage(),
            },
        }
    }

    /// Handles one packet body from the peer.
    pub fn receive(&mut self, body: &[u8]) -> Result<Step, HandshakeError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::AwaitStatus => self.on_status(body),
            State::AwaitChallenge => self.on_challenge(body),
            State::AwaitAck { peer } => self.on_ack(body, peer),
            State::AwaitAliveAnswer => Err(HandshakeError::Misuse("packet received before answer_alive")),
            State::Finished => Err(HandshakeError::Misuse(
                "packet received after the handshake ended",
            )),
        }
    }

    fn on_status(&mut self, body: &[u8]) -> Result<Step, HandshakeError> {
        let status = Status::decode(body).map_err(|e| self.protocol(e.0))?;
        let dynamic = self.dynamic_host().map(str::to_string);
        match (status, dynamic) {
            (Status::NotAllowed, _) => Err(HandshakeError::NotAllowed {
                peer: self.peer_label(),
            }),
            (Status::Named { node, creation }, Some(host)) => {
                let assigned_host = node.split_once('@').map(|(_, h)| h);
                if !is_node_name(&node) || assigned_host != Some(host.as_str()) {
                    return Err(self.protocol(format!(
                        "it named us {node:?}, which is not a node name on our host {host:?}"
                    )));
                }
                self.local_node = node;
                self.local_creation = creation;
                self.state = State::AwaitChallenge;
                Ok(Step::Wait)
            }
            (Status::Named { node, .. }, None) => Err(self.protocol(format!(
                "it answered named: {node:?} although we did not ask for a name"
            ))),
            (other, Some(_)) => Err(self.protocol(format!(
                "we asked for a dynamic name (NAME_ME) and it answered {:?} instead of named:",
                other.as_str()
            ))),
            (Status::Ok | Status::OkSimultaneous, None) => {
                self.state = State::AwaitChallenge;
                Ok(Step::Wait)
            }
            (Status::Nok, None) => Err(HandshakeError::SimultaneousLost {
                peer: self.peer_label(),
            }),
            (Status::Alive, None) => {
                self.state = State::AwaitAliveAnswer;
                Ok(Step::AnswerAlive)
            }
            (s @ (Status::True | Status::False), None) => {
                Err(self.protocol(format!("unexpected status {:?} from the acceptor", s.as_str())))
            }
        }
    }

    /// The answer to `alive`: `true` (from [`super::Arbiter::is_pending`]) goes on,
    /// `false` stops with [`HandshakeError::AlreadyConnected`].
    pub fn answer_alive(&mut self, go_on: bool) -> Result<Step, HandshakeError> {
        if !matches!(self.state, State::AwaitAliveAnswer) {
            return Err(HandshakeError::Misuse("answer_alive without an alive status"));
        }
        if go_on {
            self.state = State::AwaitChallenge;
            Ok(Step::Send(Status::True.encode()))
        } else {
            self.state = State::Finished;
            Ok(Step::Reject {
                send: Status::False.encode(),
                error: HandshakeError::AlreadyConnected {
                    peer: self.peer_label(),
                },
            })
        }
    }

    fn on_challenge(&mut self, body: &[u8]) -> Result<Step, HandshakeError> {
        let ch = Challenge::decode(body).map_err(|e| self.protocol(e.0))?;
        if let Some(expected) = &self.setup.expected_peer {
            if &ch.name != expected {
                return Err(HandshakeError::WrongPeer {
                    expected: expected.clone(),
                    got: ch.name,
                });
            }
        } else if !is_node_name(&ch.name) {
            return Err(self.protocol(format!("its challenge carries {:?}, not a node name", ch.name)));
        }
        let peer_flags = ch.flags.expand_digest();
        let missing = peer_flags.missing_required();
        if missing != DistFlags::EMPTY {
            return Err(HandshakeError::MissingFlags {
                peer: ch.name,
                missing,
            });
        }
        let flags = self.sent_flags.without(DistFlags::NAME_ME) & peer_flags;
        let cookie = self.setup.cookies.for_peer(&ch.name);
        let reply = ChallengeReply {
            challenge: self.setup.challenge,
            digest: gen_digest(ch.challenge, cookie),
        };
        let peer = PeerInfo {
            node: ch.name,
            flags,
            peer_flags,
            creation: ch.creation,
            hidden: !flags.is_published(),
            version5_name: false,
        };
        self.state = State::AwaitAck { peer };
        Ok(Step::Send(reply.encode()))
    }

    fn on_ack(&mut self, body: &[u8], peer: PeerInfo) -> Result<Step, HandshakeError> {
        let ack = ChallengeAck::decode(body).map_err(|e| HandshakeError::Protocol {
            peer: peer.node.clone(),
            reason: e.0,
        })?;
        let cookie = self.setup.cookies.for_peer(&peer.node);
        if !check_digest(&ack.digest, self.setup.challenge, cookie) {
            return Err(HandshakeError::CookieMismatch {
                per_peer: self.setup.cookies.has_override(&peer.node),
                peer: peer.node,
                check: CookieCheck::TheirAck,
            });
        }
        Ok(Step::Done {
            send: None,
            result: Handshaken {
                peer,
                local_node: self.local_node.clone(),
                local_creation: self.local_creation,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::Cookie;

    const OUR_CHALLENGE: u32 = 0x0102_0304;

    fn setup(name: LocalName) -> InitiatorSetup {
        InitiatorSetup {
            name,
            creation: 0x11223344,
            flags: DistFlags::CONNECTION_DEFAULT,
            visible: false,
            cookies: Cookies::new(Cookie::new("sesame")),
            expected_peer: Some("b@h".into()),
            challenge: OUR_CHALLENGE,
        }
    }

    fn peer_flags() -> DistFlags {
        DistFlags::MANDATORY | DistFlags::PUBLISHED | DistFlags::FRAGMENTS | DistFlags::SPAWN
    }

    fn challenge_body(name: &str, flags: DistFlags) -> Vec<u8> {
        Challenge {
            flags,
            challenge: 77,
            creation: 5,
            name: name.into(),
        }
        .encode()[2..]
            .to_vec()
    }

    fn sent(step: Step) -> Vec<u8> {
        match step {
            Step::Send(b) => b,
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn full_exchange_byte_by_byte() {
        let (mut m, first) = Initiator::new(setup(LocalName::Static("a@h".into())));
        let flags = (DistFlags::MANDATORY | DistFlags::CONNECTION_DEFAULT)
            .bits()
            .to_be_bytes();
        let mut want = vec![0, 18, b'N'];
        want.extend_from_slice(&flags);
        want.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0, 3, b'a', b'@', b'h']);
        assert_eq!(first, want);

        assert!(matches!(m.receive(b"sok").unwrap(), Step::Wait));
        let reply = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());
        let mut want = vec![0, 21, b'r', 1, 2, 3, 4];
        want.extend_from_slice(&gen_digest(77, &Cookie::new("sesame")));
        assert_eq!(reply, want);

        let mut ack = vec![b'a'];
        ack.extend_from_slice(&gen_digest(OUR_CHALLENGE, &Cookie::new("sesame")));
        let Step::Done { send: None, result } = m.receive(&ack).unwrap() else {
            panic!("not done")
        };
        assert_eq!(result.local_node, "a@h");
        assert_eq!(result.local_creation, 0x11223344);
        assert_eq!(result.peer.node, "b@h");
        assert_eq!(result.peer.creation, 5);
        assert!(result.peer.hidden, "we are hidden, so the connection is hidden");
        assert!(result.peer.flags.contains(DistFlags::FRAGMENTS));
        assert!(
            !result.peer.flags.contains(DistFlags::SPAWN),
            "we did not announce SPAWN"
        );
        assert!(result.peer.peer_flags.contains(DistFlags::SPAWN));
    }

    #[test]
    fn visible_node_sends_published() {
        let mut s = setup(LocalName::Static("a@h".into()));
        s.visible = true;
        let (m, first) = Initiator::new(s);
        assert!(m.sent_flags().is_published());
        assert_eq!(first[10] & 1, 1);
    }

    #[test]
    fn wrong_ack_says_the_cookies_differ() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        let _ = m.receive(b"sok").unwrap();
        let _ = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());
        let mut ack = vec![b'a'];
        ack.extend_from_slice(&gen_digest(OUR_CHALLENGE, &Cookie::new("other")));
        let e = m.receive(&ack).unwrap_err();
        assert!(e.is_cookie_mismatch());
        assert!(e.to_string().contains("the cookies differ"), "{e}");
        assert!(!e.to_string().contains("sesame"));
    }

    #[test]
    fn close_after_our_digest_says_the_cookies_differ() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        assert!(matches!(m.on_closed(), HandshakeError::Closed { .. }));
        let _ = m.receive(b"sok").unwrap();
        let _ = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());
        let e = m.on_closed();
        assert!(e.to_string().contains("b@h"));
        assert!(e.to_string().contains("the cookies differ"), "{e}");
    }

    #[test]
    fn per_peer_cookie_is_used() {
        let mut s = setup(LocalName::Static("a@h".into()));
        s.cookies = Cookies::new(Cookie::new("default")).with_peer("b@h", Cookie::new("special"));
        let (mut m, _) = Initiator::new(s);
        let _ = m.receive(b"sok").unwrap();
        let reply = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());
        assert_eq!(&reply[7..], &gen_digest(77, &Cookie::new("special")));
    }

    #[test]
    fn statuses_that_stop() {
        for (status, check) in [
            (&b"snok"[..], "SimultaneousLost"),
            (b"snot_allowed", "NotAllowed"),
            (b"strue", "Protocol"),
            (b"sweird", "Protocol"),
        ] {
            let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
            let e = m.receive(status).unwrap_err();
            assert!(format!("{e:?}").starts_with(check), "{status:?}: {e:?}");
        }
    }

    #[test]
    fn alive_answered_true_goes_on_false_stops() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        assert!(matches!(m.receive(b"salive").unwrap(), Step::AnswerAlive));
        assert_eq!(
            sent(m.answer_alive(true).unwrap()),
            [0, 5, b's', b't', b'r', b'u', b'e']
        );
        let _ = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());

        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        assert!(m.answer_alive(true).is_err(), "no alive status yet");
        let _ = m.receive(b"salive").unwrap();
        let Step::Reject { send, error } = m.answer_alive(false).unwrap() else {
            panic!()
        };
        assert_eq!(send, [0, 6, b's', b'f', b'a', b'l', b's', b'e']);
        assert!(matches!(error, HandshakeError::AlreadyConnected { .. }));
    }

    #[test]
    fn ok_simultaneous_goes_on() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        assert!(matches!(m.receive(b"sok_simultaneous").unwrap(), Step::Wait));
    }

    #[test]
    fn peer_without_mandatory_flags_is_refused() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        let _ = m.receive(b"sok").unwrap();
        let old = DistFlags::MANDATORY_25; // an OTP 24 style set without UNLINK_ID, V4_NC
        let e = m.receive(&challenge_body("b@h", old)).unwrap_err();
        assert!(e.to_string().contains("UNLINK_ID|V4_NC"), "{e}");
    }

    #[test]
    fn another_node_answering_is_refused() {
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        let _ = m.receive(b"sok").unwrap();
        let e = m.receive(&challenge_body("c@h", peer_flags())).unwrap_err();
        assert!(matches!(e, HandshakeError::WrongPeer { .. }), "{e:?}");
    }

    #[test]
    fn dynamic_name_exchange() {
        let (mut m, first) = Initiator::new(setup(LocalName::Dynamic { host: "h".into() }));
        let flags = u64::from_be_bytes(first[3..11].try_into().unwrap());
        assert!(DistFlags::from_bits(flags).contains(DistFlags::NAME_ME));
        assert!(!DistFlags::from_bits(flags).is_published());
        assert_eq!(&first[11..15], &[0, 0, 0, 0], "creation 0 with NAME_ME");
        assert_eq!(&first[15..], &[0, 1, b'h']);

        let named = Status::Named {
            node: "XYZ@h".into(),
            creation: 99,
        }
        .encode();
        assert!(matches!(m.receive(&named[2..]).unwrap(), Step::Wait));
        let _ = sent(m.receive(&challenge_body("b@h", peer_flags())).unwrap());
        let mut ack = vec![b'a'];
        ack.extend_from_slice(&gen_digest(OUR_CHALLENGE, &Cookie::new("sesame")));
        let Step::Done { result, .. } = m.receive(&ack).unwrap() else {
            panic!()
        };
        assert_eq!(result.local_node, "XYZ@h");
        assert_eq!(result.local_creation, 99);
        assert!(!result.peer.flags.contains(DistFlags::NAME_ME));
    }

    #[test]
    fn dynamic_name_on_another_host_or_plain_ok_is_refused() {
        let (mut m, _) = Initiator::new(setup(LocalName::Dynamic { host: "h".into() }));
        let named = Status::Named {
            node: "XYZ@other".into(),
            creation: 99,
        }
        .encode();
        assert!(m.receive(&named[2..]).is_err());
        let (mut m, _) = Initiator::new(setup(LocalName::Dynamic { host: "h".into() }));
        assert!(m.receive(b"sok").is_err());
        let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
        assert!(m.receive(&named[2..]).is_err());
    }

    #[test]
    fn truncated_packets_never_panic() {
        let full = challenge_body("b@h", peer_flags());
        for n in 0..full.len() {
            let (mut m, _) = Initiator::new(setup(LocalName::Static("a@h".into())));
            let _ = m.receive(b"sok").unwrap();
            assert!(m.receive(&full[..n]).is_err());
        }
    }
}
