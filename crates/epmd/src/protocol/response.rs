//! EPMD responses to ALIVE2_REQ, PORT_PLEASE2_REQ, KILL_REQ and STOP_REQ. (The text
//! answers to NAMES_REQ and DUMP_REQ are in `names.rs`.)

use super::cursor::Cursor;
use super::*;

/// The answer to ALIVE2_REQ. `result` 0 means registered; anything else means refused
/// (the name is taken, or invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alive2Response {
    /// ALIVE2_X_RESP (118): 32-bit creation, for nodes speaking distribution version 6.
    Extended { result: u8, creation: u32 },
    /// ALIVE2_RESP (121): 16-bit creation, for older nodes.
    Legacy { result: u8, creation: u16 },
}

impl Alive2Response {
    /// The result byte: 0 is success.
    pub fn result(&self) -> u8 {
        match *self {
            Alive2Response::Extended { result, .. } | Alive2Response::Legacy { result, .. } => result,
        }
    }

    /// The creation, widened to 32 bits.
    pub fn creation(&self) -> u32 {
        match *self {
            Alive2Response::Extended { creation, .. } => creation,
            Alive2Response::Legacy { creation, .. } => creation as u32,
        }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Alive2Response::Extended { result, creation } => {
                let mut v = vec![ALIVE2_X_RESP, result];
                v.extend_from_slice(&creation.to_be_bytes());
                v
            }
            Alive2Response::Legacy { result, creation } => {
                let mut v = vec![ALIVE2_RESP, result];
                v.extend_from_slice(&creation.to_be_bytes());
                v
            }
        }
    }

    /// Decodes from the start of `buf`: `Ok(None)` if more bytes are needed.
    pub fn decode(buf: &[u8]) -> Result<Option<(Self, usize)>, DecodeError> {
        let Some(&tag) = buf.first() else { return Ok(None) };
        let mut c = Cursor::new(buf, "ALIVE2 response");
        let r = match tag {
            ALIVE2_X_RESP if buf.len() >= 6 => {
                c.u8()?;
                Alive2Response::Extended {
                    result: c.u8()?,
                    creation: c.u32()?,
                }
            }
            ALIVE2_RESP if buf.len() >= 4 => {
                c.u8()?;
                Alive2Response::Legacy {
                    result: c.u8()?,
                    creation: c.u16()?,
                }
            }
            ALIVE2_X_RESP | ALIVE2_RESP => return Ok(None),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "ALIVE2 response",
                    tag,
                })
            }
        };
        Ok(Some((r, c.position())))
    }
}

/// The answer to PORT_PLEASE2_REQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Port2Response {
    /// Result 0: the node is registered, here is what it registered.
    Found(NodeEntry),
    /// Result > 0: no node of that name (EPMD answers 1).
    Error(u8),
}

impl Port2Response {
    /// The bytes on the wire. A `Found` entry whose name or extra exceed the limits
    /// cannot be encoded (the server only holds entries it decoded, so it never hits this).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        match self {
            Port2Response::Found(entry) => {
                let mut v = vec![PORT2_RESP, 0];
                entry.encode_into(&mut v)?;
                Ok(v)
            }
            Port2Response::Error(result) => Ok(vec![PORT2_RESP, (*result).max(1)]),
        }
    }

    /// Decodes from the start of `buf`: `Ok(None)` if more bytes are needed.
    pub fn decode(buf: &[u8]) -> Result<Option<(Self, usize)>, DecodeError> {
        let mut c = Cursor::new(buf, "PORT2_RESP");
        let Ok(tag) = c.u8() else { return Ok(None) };
        if tag != PORT2_RESP {
            return Err(DecodeError::UnknownTag {
                what: "PORT_PLEASE2 response",
                tag,
            });
        }
        let Ok(result) = c.u8() else { return Ok(None) };
        if result != 0 {
            return Ok(Some((Port2Response::Error(result), 2)));
        }
        match NodeEntry::decode_from(&mut c) {
            Ok(entry) => Ok(Some((Port2Response::Found(entry), c.position()))),
            Err(DecodeError::Truncated { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The answer to KILL_REQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillResponse {
    /// `OK`: EPMD stops.
    Killed,
    /// `NO`: nodes are registered and relaxed command checks are off.
    Refused,
}

impl KillResponse {
    /// The bytes on the wire.
    pub fn encode(self) -> &'static [u8] {
        match self {
            KillResponse::Killed => b"OK",
            KillResponse::Refused => b"NO",
        }
    }

    /// Decodes the whole answer (EPMD closes the connection after it).
    pub fn decode(answer: &[u8]) -> Result<Self, DecodeError> {
        match answer {
            b"OK" => Ok(KillResponse::Killed),
            b"NO" => Ok(KillResponse::Refused),
            a if a.len() < 2 => Err(DecodeError::Truncated {
                what: "KILL_RESP",
                needed: 2,
                available: a.len(),
            }),
            a => Err(DecodeError::Unexpected {
                what: "KILL_REQ",
                answer: String::from_utf8_lossy(a).into_owned(),
            }),
        }
    }
}

/// The answer to STOP_REQ (given only when relaxed command checks are on: otherwise EPMD
/// closes the connection without a word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopResponse {
    /// `STOPPED`: the node was unregistered.
    Stopped,
    /// `NOEXIST`: no node of that name.
    NoExist,
}

impl StopResponse {
    /// The bytes on the wire.
    pub fn encode(self) -> &'static [u8] {
        match self {
            StopResponse::Stopped => b"STOPPED",
            StopResponse::NoExist => b"NOEXIST",
        }
    }

    /// Decodes the whole answer. (epmd 25 writes `NOEXISTSTOPPED` for an unknown name;
    /// anything starting with `NOEXIST` is taken as that.)
    pub fn decode(answer: &[u8]) -> Result<Self, DecodeError> {
        if answer.starts_with(b"NOEXIST") {
            Ok(StopResponse::NoExist)
        } else if answer == b"STOPPED" {
            Ok(StopResponse::Stopped)
        } else if answer.len() < 7 {
            Err(DecodeError::Truncated {
                what: "STOP_RESP",
                needed: 7,
                available: answer.len(),
            })
        } else {
            Err(DecodeError::Unexpected {
                what: "STOP_REQ",
                answer: String::from_utf8_lossy(answer).into_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alive2_x_resp_as_epmd_25_sends_it() {
        let bytes = [118, 0, 0x6b, 0x06, 0xce, 0xc4];
        let r = Alive2Response::Extended {
            result: 0,
            creation: 0x6b06_cec4,
        };
        assert_eq!(r.encode(), bytes);
        assert_eq!(Alive2Response::decode(&bytes).unwrap(), Some((r, 6)));
        assert_eq!(Alive2Response::decode(&bytes[..5]).unwrap(), None);
        assert_eq!(Alive2Response::decode(&[]).unwrap(), None);
    }

    #[test]
    fn alive2_resp_legacy() {
        let r = Alive2Response::Legacy {
            result: 0,
            creation: 1,
        };
        assert_eq!(r.encode(), [121, 0, 0, 1]);
        assert_eq!(Alive2Response::decode(&[121, 0, 0, 1, 99]).unwrap(), Some((r, 4)));
        assert_eq!(r.creation(), 1);
        assert!(Alive2Response::decode(&[7]).is_err());
    }

    #[test]
    fn port2_resp_found_as_epmd_25_sends_it() {
        let bytes = [
            119, 0, 0x15, 0xb3, 72, 0, 0, 6, 0, 5, 0, 3, b'f', b'o', b'o', 0, 0,
        ];
        let e = NodeEntry {
            lowest_version: 5,
            ..NodeEntry::new("foo", 5555)
        };
        assert_eq!(Port2Response::Found(e.clone()).encode().unwrap(), bytes);
        assert_eq!(
            Port2Response::decode(&bytes).unwrap(),
            Some((Port2Response::Found(e), bytes.len()))
        );
        for n in 0..bytes.len() {
            assert_eq!(Port2Response::decode(&bytes[..n]).unwrap(), None);
        }
    }

    #[test]
    fn port2_resp_not_found() {
        assert_eq!(Port2Response::Error(1).encode().unwrap(), [119, 1]);
        assert_eq!(
            Port2Response::decode(&[119, 1]).unwrap(),
            Some((Port2Response::Error(1), 2))
        );
        assert!(Port2Response::decode(&[120, 1]).is_err());
    }

    #[test]
    fn kill_and_stop_answers() {
        assert_eq!(KillResponse::decode(b"OK"), Ok(KillResponse::Killed));
        assert_eq!(KillResponse::decode(b"NO"), Ok(KillResponse::Refused));
        assert!(KillResponse::decode(b"").is_err());
        assert_eq!(StopResponse::decode(b"STOPPED"), Ok(StopResponse::Stopped));
        assert_eq!(StopResponse::decode(b"NOEXISTSTOPPED"), Ok(StopResponse::NoExist));
        assert_eq!(
            StopResponse::decode(StopResponse::NoExist.encode()),
            Ok(StopResponse::NoExist)
        );
        assert!(StopResponse::decode(b"STOP").is_err());
    }
}
