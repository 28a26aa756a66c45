//! The handshake messages on the wire: each one a packet with a 2-byte big-endian length.
//!
//! Encoding returns the whole packet, length included. Decoding takes a packet's body
//! (after the length) and checks every length field against what is there; extra bytes
//! after the last field are accepted and ignored, as the protocol requires.

use crate::digest::Digest;
use crate::flags::DistFlags;

/// The largest handshake packet body accepted from a peer. The real messages are well
/// under 600 bytes (a node name is at most 255 characters on each side of the `@`); the
/// slack is for the "extra data" a future peer may append.
pub const MAX_PACKET: usize = 4096;

/// The longest node name (or host name, for dynamic names) accepted, in bytes.
pub const MAX_NAME: usize = 1023;

/// Why a handshake packet could not be read. The text names the message and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedPacket(pub String);

fn malformed(what: impl Into<String>) -> MalformedPacket {
    MalformedPacket(what.into())
}

/// Node names are Latin-1 on the wire (OTP sends `atom_to_binary(Node, latin1)`):
/// every byte is one character.
pub(crate) fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The wire bytes of a node name: Latin-1 when every character fits, UTF-8 otherwise.
pub(crate) fn name_to_wire(name: &str) -> Vec<u8> {
    if name.chars().all(|c| (c as u32) < 256) {
        name.chars().map(|c| c as u8).collect()
    } else {
        name.as_bytes().to_vec()
    }
}

/// `true` for `name@host` with exactly one `@` and both parts non-empty (OTP's
/// `is_node_name/1`).
pub fn is_node_name(name: &str) -> bool {
    let mut parts = name.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(n), Some(h), None) if !n.is_empty() && !h.is_empty())
}

/// `true` for a host name as sent with `NAME_ME`: non-empty, without `@`.
pub fn is_host_name(host: &str) -> bool {
    !host.is_empty() && !host.contains('@')
}

/// A reader over a packet body that refuses to read past its end.
struct Cursor<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Cursor { data, what }
    }
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], MalformedPacket> {
        if self.data.len() < n {
            return Err(malformed(format!(
                "{} message too short: {field} needs {n} bytes, {} left",
                self.what,
                self.data.len()
            )));
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }
    fn u16(&mut self, field: &str) -> Result<u16, MalformedPacket> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &str) -> Result<u32, MalformedPacket> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, field: &str) -> Result<u64, MalformedPacket> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn rest(&self) -> &'a [u8] {
        self.data
    }
}

/// Starts a packet: reserves the 2-byte length, which [`finish`] fills in.
fn start(tag: u8) -> Vec<u8> {
    vec![0, 0, tag]
}

fn finish(mut packet: Vec<u8>) -> Vec<u8> {
    // Every message built here is far below 64 KiB (names are limited to MAX_NAME).
    let len = (packet.len() - 2).min(u16::MAX as usize) as u16;
    packet[..2].copy_from_slice(&len.to_be_bytes());
    packet
}

/// Takes the next complete handshake packet from the front of `buf` and returns its body
/// (without the 2-byte length). `Ok(None)` while the packet is incomplete; an error when
/// the announced length exceeds [`MAX_PACKET`] (the peer is not speaking the handshake).
pub fn next_packet(buf: &mut bytes::BytesMut) -> Result<Option<bytes::Bytes>, MalformedPacket> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let len = u16::from_be_bytes([buf[0], buf[1]]) as usize;
    if len > MAX_PACKET {
        return Err(malformed(format!(
            "handshake packet of {len} bytes announced, more than the {MAX_PACKET} allowed: the peer \
             is not speaking the Erlang distribution handshake"
        )));
    }
    if buf.len() < 2 + len {
        return Ok(None);
    }
    let mut packet = buf.split_to(2 + len);
    let _ = packet.split_to(2);
    Ok(Some(packet.freeze()))
}

/// `send_name`: the initiator's first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The initiator's flags. In a version-5 message only the low 32 bits are present;
    /// the high ones arrive in the [`Complement`].
    pub flags: DistFlags,
    /// The initiator's creation; `None` in a version-5 message.
    pub creation: Option<u32>,
    /// `name@host`, or only the host when [`DistFlags::NAME_ME`] is set.
    pub name: String,
}

impl Name {
    /// The version-6 `N` message. beamlink never sends the old `n` message.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b'N');
        p.extend_from_slice(&self.flags.bits().to_be_bytes());
        p.extend_from_slice(&self.creation.unwrap_or(0).to_be_bytes());
        let wire = name_to_wire(&self.name);
        p.extend_from_slice(&(wire.len() as u16).to_be_bytes());
        p.extend_from_slice(&wire);
        finish(p)
    }

    /// Reads an `N` (version 6) or `n` (version 5) message.
    pub fn decode(body: &[u8]) -> Result<Name, MalformedPacket> {
        match body.first() {
            Some(b'N') => {
                let mut c = Cursor::new(&body[1..], "name (N)");
                let flags = DistFlags::from_bits(c.u64("Flags")?);
                let creation = c.u32("Creation")?;
                let len = c.u16("Nlen")? as usize;
                let name = c.take(len, "Name")?;
                if len > MAX_NAME {
                    return Err(malformed(format!(
                        "name (N) message: name of {len} bytes is too long"
                    )));
                }
                Ok(Name {
                    flags,
                    creation: Some(creation),
                    name: latin1_to_string(name),
                })
            }
            Some(b'n') => {
                let mut c = Cursor::new(&body[1..], "name (n)");
                let version = c.u16("Version")?;
                if version != 5 {
                    return Err(malformed(format!(
                        "name (n) message with version {version}, expected 5"
                    )));
                }
                let flags = DistFlags::from_bits(u64::from(c.u32("Flags")?));
                let name = c.rest();
                if name.len() > MAX_NAME {
                    return Err(malformed(format!(
                        "name (n) message: name of {} bytes is too long",
                        name.len()
                    )));
                }
                Ok(Name {
                    flags,
                    creation: None,
                    name: latin1_to_string(name),
                })
            }
            Some(&t) => Err(malformed(format!(
                "expected a name message (N or n), got tag {t}"
            ))),
            None => Err(malformed("empty packet where a name message was expected")),
        }
    }
}

/// The `s` status message and its answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Go on.
    Ok,
    /// Go on; the acceptor drops its own attempt to connect to the initiator.
    OkSimultaneous,
    /// Stop: the acceptor's own attempt to connect to the initiator wins.
    Nok,
    /// Stop: the acceptor does not allow this node.
    NotAllowed,
    /// The acceptor already has a connection to a node of this name: the initiator
    /// answers [`Status::True`] (go on, the old one is dead) or [`Status::False`].
    Alive,
    /// Go on, under this dynamic name, assigned by the acceptor.
    Named {
        /// The initiator's full node name.
        node: String,
        /// The initiator's creation.
        creation: u32,
    },
    /// The answer to `alive`: go on.
    True,
    /// The answer to `alive`: stop.
    False,
}

impl Status {
    /// The status text (`ok`, `named:`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::OkSimultaneous => "ok_simultaneous",
            Status::Nok => "nok",
            Status::NotAllowed => "not_allowed",
            Status::Alive => "alive",
            Status::Named { .. } => "named:",
            Status::True => "true",
            Status::False => "false",
        }
    }

    /// The whole packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b's');
        p.extend_from_slice(self.as_str().as_bytes());
        if let Status::Named { node, creation } = self {
            p.extend_from_slice(&(node.len() as u16).to_be_bytes());
            p.extend_from_slice(node.as_bytes());
            p.extend_from_slice(&creation.to_be_bytes());
        }
        finish(p)
    }

    /// Reads a status message. The `named:` name is UTF-8, as OTP sends it.
    pub fn decode(body: &[u8]) -> Result<Status, MalformedPacket> {
        let Some((&b's', text)) = body.split_first() else {
            return Err(match body.first() {
                Some(t) => malformed(format!("expected a status message (s), got tag {t}")),
                None => malformed("empty packet where a status message was expected"),
            });
        };
        if let Some(rest) = text.strip_prefix(b"named:") {
            let mut c = Cursor::new(rest, "status named:");
            let len = c.u16("Nlen")? as usize;
            let node = c.take(len, "Name")?;
            let creation = c.u32("Creation")?;
            let node = std::str::from_utf8(node)
                .map_err(|_| malformed("status named: carries a name that is not UTF-8"))?;
            return Ok(Status::Named {
                node: node.to_string(),
                creation,
            });
        }
        Ok(match text {
            b"ok" => Status::Ok,
            b"ok_simultaneous" => Status::OkSimultaneous,
            b"nok" => Status::Nok,
            b"not_allowed" => Status::NotAllowed,
            b"alive" => Status::Alive,
            b"true" => Status::True,
            b"false" => Status::False,
            other => {
                let shown: String = latin1_to_string(&other[..other.len().min(40)]);
                return Err(malformed(format!("unknown status {shown:?}")));
            }
        })
    }
}

/// `send_challenge`: the acceptor's identity and its challenge (version 6, `N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The acceptor's flags.
    pub flags: DistFlags,
    /// The number the initiator must digest with the cookie.
    pub challenge: u32,
    /// The acceptor's creation.
    pub creation: u32,
    /// The acceptor's node name.
    pub name: String,
}

impl Challenge {
    /// The whole packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b'N');
        p.extend_from_slice(&self.flags.bits().to_be_bytes());
        p.extend_from_slice(&self.challenge.to_be_bytes());
        p.extend_from_slice(&self.creation.to_be_bytes());
        let wire = name_to_wire(&self.name);
        p.extend_from_slice(&(wire.len() as u16).to_be_bytes());
        p.extend_from_slice(&wire);
        finish(p)
    }

    /// Reads a version-6 challenge. The old `n` challenge (OTP 22 and older) is refused:
    /// such peers lack the mandatory flags anyway.
    pub fn decode(body: &[u8]) -> Result<Challenge, MalformedPacket> {
        match body.first() {
            Some(b'N') => {}
            Some(b'n') => return Err(malformed(
                "got an old version-5 challenge (n): the peer is older than OTP 23, which is not supported",
            )),
            Some(t) => {
                return Err(malformed(format!(
                    "expected a challenge message (N), got tag {t}"
                )))
            }
            None => return Err(malformed("empty packet where a challenge message was expected")),
        }
        let mut c = Cursor::new(&body[1..], "challenge (N)");
        let flags = DistFlags::from_bits(c.u64("Flags")?);
        let challenge = c.u32("Challenge")?;
        let creation = c.u32("Creation")?;
        let len = c.u16("Nlen")? as usize;
        let name = c.take(len, "Name")?;
        Ok(Challenge {
            flags,
            challenge,
            creation,
            name: latin1_to_string(name),
        })
    }
}

/// `send_complement`: the high flags and the creation of an initiator that sent the old
/// `n` name message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Complement {
    /// Flag bits 32 to 63, in the low half.
    pub flags_high: u32,
    /// The initiator's creation.
    pub creation: u32,
}

impl Complement {
    /// The whole packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b'c');
        p.extend_from_slice(&self.flags_high.to_be_bytes());
        p.extend_from_slice(&self.creation.to_be_bytes());
        finish(p)
    }

    /// Reads a complement message.
    pub fn decode(body: &[u8]) -> Result<Complement, MalformedPacket> {
        match body.first() {
            Some(b'c') => {}
            Some(t) => {
                return Err(malformed(format!(
                    "expected a complement message (c), got tag {t}"
                )))
            }
            None => return Err(malformed("empty packet where a complement message was expected")),
        }
        let mut c = Cursor::new(&body[1..], "complement (c)");
        Ok(Complement {
            flags_high: c.u32("FlagsHigh")?,
            creation: c.u32("Creation")?,
        })
    }
}

/// `send_challenge_reply`: the initiator's digest of the acceptor's challenge, and its
/// own challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeReply {
    /// The initiator's challenge for the acceptor.
    pub challenge: u32,
    /// The digest of the acceptor's challenge.
    pub digest: Digest,
}

impl ChallengeReply {
    /// The whole packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b'r');
        p.extend_from_slice(&self.challenge.to_be_bytes());
        p.extend_from_slice(&self.digest);
        finish(p)
    }

    /// Reads a challenge reply: exactly 21 bytes, as OTP insists.
    pub fn decode(body: &[u8]) -> Result<ChallengeReply, MalformedPacket> {
        match body.first() {
            Some(b'r') => {}
            Some(t) => return Err(malformed(format!("expected a challenge reply (r), got tag {t}"))),
            None => return Err(malformed("empty packet where a challenge reply was expected")),
        }
        if body.len() != 21 {
            return Err(malformed(format!(
                "challenge reply of {} bytes, expected 21",
                body.len()
            )));
        }
        let mut c = Cursor::new(&body[1..], "challenge reply (r)");
        let challenge = c.u32("Challenge")?;
        let mut digest = [0u8; 16];
        digest.copy_from_slice(c.take(16, "Digest")?);
        Ok(ChallengeReply { challenge, digest })
    }
}

/// `send_challenge_ack`: the acceptor's digest of the initiator's challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeAck {
    /// The digest of the initiator's challenge.
    pub digest: Digest,
}

impl ChallengeAck {
    /// The whole packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = start(b'a');
        p.extend_from_slice(&self.digest);
        finish(p)
    }

    /// Reads a challenge ack: exactly 17 bytes.
    pub fn decode(body: &[u8]) -> Result<ChallengeAck, MalformedPacket> {
        match body.first() {
            Some(b'a') => {}
            Some(t) => return Err(malformed(format!("expected a challenge ack (a), got tag {t}"))),
            None => return Err(malformed("empty packet where a challenge ack was expected")),
        }
        if body.len() != 17 {
            return Err(malformed(format!(
                "challenge ack of {} bytes, expected 17",
                body.len()
            )));
        }
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&body[1..]);
        Ok(ChallengeAck { digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_n_bytes() {
        let n = Name {
            flags: DistFlags::from_bits(0x0102_0304_0506_0708),
            creation: Some(9),
            name: "a@b".into(),
        };
        assert_eq!(
            n.encode(),
            [0, 18, b'N', 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 9, 0, 3, b'a', b'@', b'b']
        );
        assert_eq!(Name::decode(&n.encode()[2..]).unwrap(), n);
    }

    #[test]
    fn name_accepts_extra_bytes_and_the_version_5_format() {
        let mut body = Name {
            flags: DistFlags::HANDSHAKE_23,
            creation: Some(1),
            name: "x@y".into(),
        }
        .encode();
        body.extend_from_slice(b"future");
        assert_eq!(Name::decode(&body[2..]).unwrap().name, "x@y");

        let old = [b'n', 0, 5, 0x01, 0, 0, 0x04, b'o', b'@', b'h'];
        let n = Name::decode(&old).unwrap();
        assert_eq!(n.flags.bits(), 0x0100_0004);
        assert_eq!(n.creation, None);
        assert_eq!(n.name, "o@h");
        assert!(Name::decode(&[b'n', 0, 6, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn name_with_a_length_past_the_end_is_refused() {
        let body = [b'N', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, b'a'];
        let e = Name::decode(&body).unwrap_err();
        assert!(e.0.contains("Name needs 65535 bytes"), "{e}");
        for n in 0..15 {
            assert!(Name::decode(&body[..n]).is_err());
        }
    }

    #[test]
    fn status_bytes() {
        assert_eq!(Status::Ok.encode(), [0, 3, b's', b'o', b'k']);
        assert_eq!(
            Status::decode(b"sok_simultaneous").unwrap(),
            Status::OkSimultaneous
        );
        assert_eq!(Status::decode(b"snok").unwrap(), Status::Nok);
        assert_eq!(Status::decode(b"snot_allowed").unwrap(), Status::NotAllowed);
        assert_eq!(Status::decode(b"salive").unwrap(), Status::Alive);
        assert_eq!(Status::decode(b"strue").unwrap(), Status::True);
        assert_eq!(Status::decode(b"sfalse").unwrap(), Status::False);
        assert!(Status::decode(b"sbogus").is_err());
        assert!(Status::decode(b"").is_err());
        assert!(Status::decode(b"xok").is_err());
    }

    #[test]
    fn status_named_bytes() {
        let s = Status::Named {
            node: "q@h".into(),
            creation: 0x0a0b0c0d,
        };
        let wire = s.encode();
        assert_eq!(
            wire,
            [0, 16, b's', b'n', b'a', b'm', b'e', b'd', b':', 0, 3, b'q', b'@', b'h', 10, 11, 12, 13]
        );
        assert_eq!(Status::decode(&wire[2..]).unwrap(), s);
        // Missing creation.
        assert!(Status::decode(&wire[2..wire.len() - 1]).is_err());
    }

    #[test]
    fn challenge_bytes() {
        let c = Challenge {
            flags: DistFlags::from_bits(1),
            challenge: 0xdeadbeef,
            creation: 7,
            name: "b@h".into(),
        };
        let wire = c.encode();
        assert_eq!(
            wire,
            [
                0, 22, b'N', 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7, 0, 3, b'b', b'@',
                b'h'
            ]
        );
        assert_eq!(Challenge::decode(&wire[2..]).unwrap(), c);
        assert!(Challenge::decode(&[b'n', 0, 5])
            .unwrap_err()
            .0
            .contains("older than OTP 23"));
    }

    #[test]
    fn complement_reply_and_ack_bytes() {
        let c = Complement {
            flags_high: 0x17,
            creation: 3,
        };
        assert_eq!(c.encode(), [0, 9, b'c', 0, 0, 0, 0x17, 0, 0, 0, 3]);
        assert_eq!(Complement::decode(&c.encode()[2..]).unwrap(), c);

        let r = ChallengeReply {
            challenge: 1,
            digest: [9; 16],
        };
        let wire = r.encode();
        assert_eq!(&wire[..7], &[0, 21, b'r', 0, 0, 0, 1]);
        assert_eq!(ChallengeReply::decode(&wire[2..]).unwrap(), r);
        assert!(ChallengeReply::decode(&wire[2..20]).is_err());

        let a = ChallengeAck { digest: [5; 16] };
        let wire = a.encode();
        assert_eq!(&wire[..3], &[0, 17, b'a']);
        assert_eq!(ChallengeAck::decode(&wire[2..]).unwrap(), a);
        assert!(ChallengeAck::decode(&[b'a', 1]).is_err());
    }

    #[test]
    fn next_packet_waits_for_whole_packets_and_limits_their_size() {
        let mut buf = bytes::BytesMut::new();
        assert_eq!(next_packet(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[0, 3, b's', b'o']);
        assert_eq!(next_packet(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[b'k', 0, 1]);
        assert_eq!(&next_packet(&mut buf).unwrap().unwrap()[..], b"sok");
        assert_eq!(&buf[..], &[0, 1]);
        let mut big = bytes::BytesMut::from(&[0xff, 0xff][..]);
        assert!(next_packet(&mut big).is_err());
    }

    #[test]
    fn node_and_host_names() {
        assert!(is_node_name("a@b"));
        assert!(!is_node_name("a@"));
        assert!(!is_node_name("@b"));
        assert!(!is_node_name("a@b@c"));
        assert!(!is_node_name("ab"));
        assert!(is_host_name("host.example"));
        assert!(!is_host_name("a@b"));
        assert!(!is_host_name(""));
    }
}
