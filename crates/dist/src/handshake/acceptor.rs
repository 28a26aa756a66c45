//! The accepting side of the handshake (node B, which accepted the TCP connection).

use crate::cookie::Cookies;
use crate::digest::{check_digest, gen_digest};
use crate::error::{CookieCheck, HandshakeError};
use crate::flags::DistFlags;

use super::arbiter::AcceptDecision;
use super::message::{
    is_host_name, is_node_name, Challenge, ChallengeAck, ChallengeReply, Complement, Name, Status,
};
use super::{our_flags, Handshaken, PeerInfo, Step};

/// What the acceptor needs to know.
#[derive(Debug, Clone)]
pub struct AcceptorSetup {
    /// Our node name (`name@host`).
    pub node: String,
    /// Our creation.
    pub creation: u32,
    /// The optional flags we announce.
    pub flags: DistFlags,
    /// `true` for a visible node.
    pub visible: bool,
    /// The cookies.
    pub cookies: Cookies,
    /// Our challenge for the peer: a fresh random number per handshake.
    pub challenge: u32,
    /// How to call the peer before it says its name (its address).
    pub peer_label: String,
}

/// A node asking to connect: what the [`super::Arbiter`] decides about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptRequest {
    /// The peer's node name, or only its host when `dynamic`.
    pub name: String,
    /// `true` when the peer asks for a dynamic name (`NAME_ME`).
    pub dynamic: bool,
    /// The flags it announced (digest expanded).
    pub flags: DistFlags,
    /// `true` when it is a visible node that wants to be visible to us.
    pub published: bool,
}

#[derive(Debug)]
enum State {
    AwaitName,
    AwaitDecision { name: Name, version5: bool },
    AwaitAliveAnswer { peer: PeerInfo },
    AwaitComplement { peer: PeerInfo },
    AwaitReply { peer: PeerInfo, after_alive: bool },
    AwaitOldGone { peer: PeerInfo, ack: Vec<u8> },
    Finished,
}

/// The acceptor's state machine. See the [module](super) documentation for how to
/// drive it.
#[derive(Debug)]
pub struct Acceptor {
    setup: AcceptorSetup,
    flags: DistFlags,
    state: State,
}

impl Acceptor {
    /// A new handshake on a freshly accepted connection; the peer speaks first.
    pub fn new(setup: AcceptorSetup) -> Acceptor {
        let flags = our_flags(setup.flags, setup.visible);
        Acceptor {
            setup,
            flags,
            state: State::AwaitName,
        }
    }

    /// The peer's name if known, else its address.
    pub fn peer_label(&self) -> String {
        match &self.state {
            State::AwaitDecision { name, .. } => name.name.clone(),
            State::AwaitAliveAnswer { peer }
            | State::AwaitComplement { peer }
            | State::AwaitReply { peer, .. }
            | State::AwaitOldGone { peer, .. } => peer.node.clone(),
            State::AwaitName | State::Finished => self.setup.peer_label.clone(),
        }
    }

    /// What we are waiting for, for error messages.
    pub fn stage(&self) -> &'static str {
        match self.state {
            State::AwaitName => "waiting for the peer's name",
            State::AwaitDecision { .. } => "deciding whether to accept",
            State::AwaitAliveAnswer { .. } => "waiting for the answer to alive",
            State::AwaitComplement { .. } => "waiting for the complement",
            State::AwaitReply { .. } => "waiting for the challenge reply",
            State::AwaitOldGone { .. } => "waiting for the old connection to go",
            State::Finished => "finished",
        }
    }

    /// The error to report when the peer closes the connection now.
    pub fn on_closed(&self) -> HandshakeError {
        HandshakeError::Closed {
            peer: self.peer_label(),
            stage: self.stage(),
        }
    }

    fn protocol(&self, reason: impl Into<String>) -> HandshakeError {
        HandshakeError::Protocol {
            peer: self.peer_label(),
            reason: reason.into(),
        }
    }

    /// Handles one packet body from the peer.
    pub fn receive(&mut self, body: &[u8]) -> Result<Step, HandshakeError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::AwaitName => self.on_name(body),
            State::AwaitAliveAnswer { peer } => self.on_alive_answer(body, peer),
            State::AwaitComplement { peer } => self.on_complement(body, peer),
            State::AwaitReply { peer, after_alive } => self.on_reply(body, peer, after_alive),
            State::AwaitDecision { .. } => Err(HandshakeError::Misuse("packet received before decide")),
            State::AwaitOldGone { .. } => Err(HandshakeError::Misuse(
                "packet received before old_connection_gone",
            )),
            State::Finished => Err(HandshakeError::Misuse(
                "packet received after the handshake ended",
            )),
        }
    }

    fn on_name(&mut self, body: &[u8]) -> Result<Step, HandshakeError> {
        let name = Name::decode(body).map_err(|e| self.protocol(e.0))?;
        let version5 = name.creation.is_none();
        let dynamic = name.flags.contains(DistFlags::NAME_ME);
        let valid = if dynamic {
            !version5 && is_host_name(&name.name)
        } else {
            is_node_name(&name.name)
        };
        if !valid {
            let what = if dynamic {
                "a host name"
            } else {
                "a node name (name@host)"
            };
            return Err(self.protocol(format!("it sent {:?}, which is not {what}", name.name)));
        }
        // A version-5 name carries only the low 32 flag bits; the rest come with the
        // complement and are checked then.
        let peer_flags = name.flags.expand_digest();
        let mut missing = peer_flags.missing_required();
        if version5 {
            missing = missing & DistFlags::from_bits(u64::from(u32::MAX));
        }
        if missing != DistFlags::EMPTY {
            return Ok(Step::Reject {
                send: Status::NotAllowed.encode(),
                error: HandshakeError::MissingFlags {
                    peer: name.name,
                    missing,
                },
            });
        }
        let request = AcceptRequest {
            name: name.name.clone(),
            dynamic,
            flags: peer_flags,
            published: peer_flags.is_published(),
        };
        self.state = State::AwaitDecision { name, version5 };
        Ok(Step::Decide(request))
    }

    fn peer_info(&self, node: String, flags: DistFlags, creation: u32, version5: bool) -> PeerInfo {
        let peer_flags = flags.expand_digest();
        let used = self.flags & peer_flags.without(DistFlags::NAME_ME);
        PeerInfo {
            node,
            flags: used,
            peer_flags,
            creation,
            hidden: !used.is_published(),
            version5_name: version5,
        }
    }

    fn challenge_packet(&self) -> Vec<u8> {
        Challenge {
            flags: self.flags,
            challenge: self.setup.challenge,
            creation: self.setup.creation,
            name: self.setup.node.clone(),
        }
        .encode()
    }

    fn after_challenge(&self, peer: PeerInfo, version5: bool) -> State {
        if version5 {
            State::AwaitComplement { peer }
        } else {
            State::AwaitReply {
                peer,
                after_alive: false,
            }
        }
    }

    /// Applies the node layer's decision ([`super::Arbiter::accept_pending`]).
    pub fn decide(&mut self, decision: AcceptDecision) -> Result<Step, HandshakeError> {
        let State::AwaitDecision { name, version5 } = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(HandshakeError::Misuse("decide without a pending request"));
        };
        let dynamic = name.flags.contains(DistFlags::NAME_ME);
        let creation = name.creation.unwrap_or(0);
        let refuse = |status: Status, label: &'static str| Step::Reject {
            send: status.encode(),
            error: HandshakeError::Refused {
                peer: name.name.clone(),
                status: label,
            },
        };
        match decision {
            AcceptDecision::Nok => Ok(refuse(Status::Nok, "nok")),
            AcceptDecision::NotAllowed => Ok(refuse(Status::NotAllowed, "not_allowed")),
            AcceptDecision::Ok | AcceptDecision::OkSimultaneous if dynamic => Err(HandshakeError::Misuse(
                "the peer asked for a dynamic name: decide Named",
            )),
            AcceptDecision::Alive if dynamic => Err(HandshakeError::Misuse(
                "the peer asked for a dynamic name: decide Named",
            )),
            AcceptDecision::Ok | AcceptDecision::OkSimultaneous => {
                let status = if decision == AcceptDecision::Ok {
                    Status::Ok
                } else {
                    Status::OkSimultaneous
                };
                let peer = self.peer_info(name.name, name.flags, creation, version5);
                let mut out = status.encode();
                out.extend_from_slice(&self.challenge_packet());
                self.state = self.after_challenge(peer, version5);
                Ok(Step::Send(out))
            }
            AcceptDecision::Alive => {
                let peer = self.peer_info(name.name, name.flags, creation, version5);
                self.state = State::AwaitAliveAnswer { peer };
                Ok(Step::Send(Status::Alive.encode()))
            }
            AcceptDecision::Named { node, creation } => {
                if !dynamic {
                    return Err(HandshakeError::Misuse(
                        "Named decided for a peer with a static name",
                    ));
                }
                if node.split_once('@').map(|(_, h)| h) != Some(name.name.as_str()) || !is_node_name(&node) {
                    return Err(HandshakeError::Misuse(
                        "Named must be name@host with the peer's host",
                    ));
                }
                let peer = self.peer_info(node.clone(), name.flags, creation, false);
                let mut out = Status::Named { node, creation }.encode();
                out.extend_from_slice(&self.challenge_packet());
                self.state = State::AwaitReply {
                    peer,
                    after_alive: false,
                };
                Ok(Step::Send(out))
            }
        }
    }

    fn on_alive_answer(&mut self, body: &[u8], peer: PeerInfo) -> Result<Step, HandshakeError> {
        let status = Status::decode(body).map_err(|e| HandshakeError::Protocol {
            peer: peer.node.clone(),
            reason: e.0,
        })?;
        match status {
            Status::True => {
                let out = self.challenge_packet();
                self.state = if peer.version5_name {
                    State::AwaitComplement { peer }
                } else {
                    State::AwaitReply {
                        peer,
                        after_alive: true,
                    }
                };
                Ok(Step::Send(out))
            }
            Status::False => Err(HandshakeError::Refused {
                peer: peer.node,
                status: "alive, answered false",
            }),
            other => Err(HandshakeError::Protocol {
                peer: peer.node,
                reason: format!(
                    "answered alive with {:?} instead of true or false",
                    other.as_str()
                ),
            }),
        }
    }

    fn on_complement(&mut self, body: &[u8], peer: PeerInfo) -> Result<Step, HandshakeError> {
        let c = Complement::decode(body).map_err(|e| HandshakeError::Protocol {
            peer: peer.node.clone(),
            reason: e.0,
        })?;
        let flags = DistFlags::from_bits(peer.peer_flags.bits() | (u64::from(c.flags_high) << 32));
        let missing = flags.expand_digest().missing_required();
        if missing != DistFlags::EMPTY {
            return Err(HandshakeError::MissingFlags {
                peer: peer.node,
                missing,
            });
        }
        let peer = self.peer_info(peer.node, flags, c.creation, true);
        self.state = State::AwaitReply {
            peer,
            after_alive: false,
        };
        Ok(Step::Wait)
    }

    fn on_reply(&mut self, body: &[u8], peer: PeerInfo, after_alive: bool) -> Result<Step, HandshakeError> {
        let reply = ChallengeReply::decode(body).map_err(|e| HandshakeError::Protocol {
            peer: peer.node.clone(),
            reason: e.0,
        })?;
        let cookie = self.setup.cookies.for_peer(&peer.node);
        if !check_digest(&reply.digest, self.setup.challenge, cookie) {
            // OTP closes without a word here, and the initiating BEAM logs nothing. We
            // send an ack of random bytes first: it reveals nothing about our cookie, and
            // the BEAM then logs "Invalid challenge ack", so its operator sees why too.
            return Ok(Step::Reject {
                send: ChallengeAck {
                    digest: rand::random(),
                }
                .encode(),
                error: HandshakeError::CookieMismatch {
                    per_peer: self.setup.cookies.has_override(&peer.node),
                    peer: peer.node,
                    check: CookieCheck::TheirDigest,
                },
            });
        }
        let ack = ChallengeAck {
            digest: gen_digest(reply.challenge, cookie),
        }
        .encode();
        if after_alive {
            self.state = State::AwaitOldGone { peer, ack };
            return Ok(Step::WaitPending);
        }
        Ok(self.done(peer, ack))
    }

    /// Call when [`super::Arbiter::wait_pending`] resolved after [`Step::WaitPending`].
    pub fn old_connection_gone(&mut self) -> Result<Step, HandshakeError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::AwaitOldGone { peer, ack } => Ok(self.done(peer, ack)),
            _ => Err(HandshakeError::Misuse("old_connection_gone without WaitPending")),
        }
    }

    fn done(&mut self, peer: PeerInfo, ack: Vec<u8>) -> Step {
        self.state = State::Finished;
        Step::Done {
            send: Some(ack),
            result: Handshaken {
                peer,
                local_node: self.setup.node.clone(),
                local_creation: self.setup.creation,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie::Cookie;

    const OUR_CHALLENGE: u32 = 0xA0B0C0D0;

    fn setup() -> AcceptorSetup {
        AcceptorSetup {
            node: "b@h".into(),
            creation: 0x01020304,
            flags: DistFlags::CONNECTION_DEFAULT,
            visible: false,
            cookies: Cookies::new(Cookie::new("sesame")),
            challenge: OUR_CHALLENGE,
            peer_label: "127.0.0.1:5555".into(),
        }
    }

    fn peer_flags() -> DistFlags {
        DistFlags::MANDATORY | DistFlags::PUBLISHED | DistFlags::FRAGMENTS
    }

    fn name_body(name: &str, flags: DistFlags) -> Vec<u8> {
        Name {
            flags,
            creation: Some(42),
            name: name.into(),
        }
        .encode()[2..]
            .to_vec()
    }

    fn reply_body(cookie: &str) -> Vec<u8> {
        ChallengeReply {
            challenge: 1000,
            digest: gen_digest(OUR_CHALLENGE, &Cookie::new(cookie)),
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

    fn challenge_bytes() -> Vec<u8> {
        let mut c = vec![0, 22, b'N'];
        c.extend_from_slice(
            &(DistFlags::MANDATORY | DistFlags::CONNECTION_DEFAULT)
                .bits()
                .to_be_bytes(),
        );
        c.extend_from_slice(&[0xA0, 0xB0, 0xC0, 0xD0, 1, 2, 3, 4, 0, 3, b'b', b'@', b'h']);
        c
    }

    #[test]
    fn full_exchange_byte_by_byte() {
        let mut m = Acceptor::new(setup());
        let Step::Decide(req) = m.receive(&name_body("a@h", peer_flags())).unwrap() else {
            panic!()
        };
        assert_eq!(req.name, "a@h");
        assert!(!req.dynamic);
        assert!(req.published);

        let out = sent(m.decide(AcceptDecision::Ok).unwrap());
        let mut want = vec![0, 3, b's', b'o', b'k'];
        want.extend_from_slice(&challenge_bytes());
        assert_eq!(out, want);

        let Step::Done {
            send: Some(ack),
            result,
        } = m.receive(&reply_body("sesame")).unwrap()
        else {
            panic!()
        };
        let mut want = vec![0, 17, b'a'];
        want.extend_from_slice(&gen_digest(1000, &Cookie::new("sesame")));
        assert_eq!(ack, want);
        assert_eq!(result.peer.node, "a@h");
        assert_eq!(result.peer.creation, 42);
        assert!(result.peer.hidden, "we are hidden");
        assert!(result.peer.flags.contains(DistFlags::FRAGMENTS));
        assert_eq!(result.local_node, "b@h");
    }

    #[test]
    fn wrong_digest_says_the_cookies_differ() {
        let mut m = Acceptor::new(setup());
        let _ = m.receive(&name_body("a@h", peer_flags())).unwrap();
        let _ = sent(m.decide(AcceptDecision::Ok).unwrap());
        let Step::Reject { send, error: e } = m.receive(&reply_body("wrong")).unwrap() else {
            panic!()
        };
        assert_eq!(
            &send[..3],
            &[0, 17, b'a'],
            "a decoy ack, so that a BEAM logs the failure"
        );
        assert_ne!(
            &send[3..],
            &gen_digest(1000, &Cookie::new("sesame")),
            "never the real digest"
        );
        assert!(e.is_cookie_mismatch());
        let text = e.to_string();
        assert!(
            text.contains("a@h") && text.contains("the cookies differ"),
            "{text}"
        );
    }

    #[test]
    fn missing_flags_get_not_allowed() {
        let mut m = Acceptor::new(setup());
        let Step::Reject { send, error } = m.receive(&name_body("a@h", DistFlags::MANDATORY_25)).unwrap()
        else {
            panic!()
        };
        assert_eq!(send, b"\x00\x0csnot_allowed");
        assert!(error.to_string().contains("UNLINK_ID|V4_NC"), "{error}");
    }

    #[test]
    fn refusals_send_their_status() {
        for (d, bytes) in [
            (AcceptDecision::Nok, &b"\x00\x04snok"[..]),
            (AcceptDecision::NotAllowed, b"\x00\x0csnot_allowed"),
        ] {
            let mut m = Acceptor::new(setup());
            let _ = m.receive(&name_body("a@h", peer_flags())).unwrap();
            let Step::Reject { send, error } = m.decide(d).unwrap() else {
                panic!()
            };
            assert_eq!(send, bytes);
            assert!(matches!(error, HandshakeError::Refused { .. }));
        }
    }

    #[test]
    fn ok_simultaneous_then_challenge() {
        let mut m = Acceptor::new(setup());
        let _ = m.receive(&name_body("a@h", peer_flags())).unwrap();
        let out = sent(m.decide(AcceptDecision::OkSimultaneous).unwrap());
        assert!(out.starts_with(b"\x00\x10sok_simultaneous"));
        assert_eq!(&out[18..], &challenge_bytes()[..]);
    }

    #[test]
    fn alive_true_waits_for_the_old_connection() {
        let mut m = Acceptor::new(setup());
        let _ = m.receive(&name_body("a@h", peer_flags())).unwrap();
        assert_eq!(sent(m.decide(AcceptDecision::Alive).unwrap()), b"\x00\x06salive");
        assert_eq!(sent(m.receive(b"strue").unwrap()), challenge_bytes());
        assert!(matches!(
            m.receive(&reply_body("sesame")).unwrap(),
            Step::WaitPending
        ));
        let Step::Done { send: Some(ack), .. } = m.old_connection_gone().unwrap() else {
            panic!()
        };
        assert_eq!(ack[2], b'a');
    }

    #[test]
    fn alive_false_stops() {
        let mut m = Acceptor::new(setup());
        let _ = m.receive(&name_body("a@h", peer_flags())).unwrap();
        let _ = sent(m.decide(AcceptDecision::Alive).unwrap());
        assert!(matches!(
            m.receive(b"sfalse").unwrap_err(),
            HandshakeError::Refused { .. }
        ));
    }

    #[test]
    fn version_5_name_with_complement() {
        let mut m = Acceptor::new(setup());
        let low = (peer_flags().bits() & 0xffff_ffff) as u32;
        let mut old = vec![b'n', 0, 5];
        old.extend_from_slice(&low.to_be_bytes());
        old.extend_from_slice(b"a@h");
        let Step::Decide(_) = m.receive(&old).unwrap() else {
            panic!()
        };
        let _ = sent(m.decide(AcceptDecision::Ok).unwrap());
        let high = (peer_flags().bits() >> 32) as u32;
        let c = Complement {
            flags_high: high,
            creation: 77,
        }
        .encode();
        assert!(matches!(m.receive(&c[2..]).unwrap(), Step::Wait));
        let Step::Done { result, .. } = m.receive(&reply_body("sesame")).unwrap() else {
            panic!()
        };
        assert_eq!(result.peer.creation, 77);
        assert!(result.peer.version5_name);
        assert!(result.peer.peer_flags.contains(DistFlags::V4_NC));
    }

    #[test]
    fn version_5_complement_without_high_mandatory_flags_is_refused() {
        let mut m = Acceptor::new(setup());
        let low = (peer_flags().bits() & 0xffff_ffff) as u32;
        let mut old = vec![b'n', 0, 5];
        old.extend_from_slice(&low.to_be_bytes());
        old.extend_from_slice(b"a@h");
        let _ = m.receive(&old).unwrap();
        let _ = sent(m.decide(AcceptDecision::Ok).unwrap());
        let c = Complement {
            flags_high: 0,
            creation: 77,
        }
        .encode();
        assert!(matches!(
            m.receive(&c[2..]).unwrap_err(),
            HandshakeError::MissingFlags { .. }
        ));
    }

    #[test]
    fn dynamic_name_request() {
        let mut m = Acceptor::new(setup());
        let flags = DistFlags::MANDATORY | DistFlags::NAME_ME;
        let body = Name {
            flags,
            creation: Some(0),
            name: "h".into(),
        }
        .encode();
        let Step::Decide(req) = m.receive(&body[2..]).unwrap() else {
            panic!()
        };
        assert!(req.dynamic);
        assert_eq!(req.name, "h");
        let out = sent(
            m.decide(AcceptDecision::Named {
                node: "Q1@h".into(),
                creation: 9,
            })
            .unwrap(),
        );
        assert!(out.starts_with(b"\x00\x11snamed:\x00\x04Q1@h\x00\x00\x00\x09"));
        let Step::Done { result, .. } = m.receive(&reply_body("sesame")).unwrap() else {
            panic!()
        };
        assert_eq!(result.peer.node, "Q1@h");
        assert_eq!(result.peer.creation, 9);
    }

    #[test]
    fn misuse_is_reported_not_sent() {
        let mut m = Acceptor::new(setup());
        let body = Name {
            flags: DistFlags::MANDATORY | DistFlags::NAME_ME,
            creation: Some(0),
            name: "h".into(),
        }
        .encode();
        let _ = m.receive(&body[2..]).unwrap();
        assert!(matches!(
            m.decide(AcceptDecision::Ok),
            Err(HandshakeError::Misuse(_))
        ));
        let mut m = Acceptor::new(setup());
        assert!(m.decide(AcceptDecision::Ok).is_err());
        assert!(m.old_connection_gone().is_err());
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["noat", "a@", "@h", "a@b@c"] {
            let mut m = Acceptor::new(setup());
            assert!(m.receive(&name_body(bad, peer_flags())).is_err(), "{bad}");
        }
    }

    #[test]
    fn truncated_packets_never_panic() {
        let full = name_body("a@h", peer_flags());
        for n in 0..full.len() {
            let mut m = Acceptor::new(setup());
            let _ = m.receive(&full[..n]);
        }
        let reply = reply_body("sesame");
        for n in 0..reply.len() {
            let mut m = Acceptor::new(setup());
            let _ = m.receive(&full).unwrap();
            let _ = sent(m.decide(AcceptDecision::Ok).unwrap());
            assert!(m.receive(&reply[..n]).is_err());
        }
    }
}
