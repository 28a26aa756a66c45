//! EPMD requests: what a client sends, framed by a 2-byte length.

use super::cursor::{check_name, name_from_bytes, Cursor};
use super::*;

/// One EPMD request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// ALIVE2_REQ: register this node; the registration lasts as long as the connection.
    Alive2(NodeEntry),
    /// PORT_PLEASE2_REQ: where does node `name` listen?
    PortPlease2 { name: String },
    /// NAMES_REQ: list the registered names.
    Names,
    /// DUMP_REQ: list everything (a debugging aid).
    Dump,
    /// KILL_REQ: stop EPMD.
    Kill,
    /// STOP_REQ: forcibly unregister node `name` (only with relaxed command checks).
    Stop { name: String },
}

impl Request {
    /// The request with its 2-byte length prefix, ready to write. Fails only when a name
    /// or the extra field exceeds the protocol's limits.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 0];
        match self {
            Request::Alive2(entry) => {
                out.push(ALIVE2_REQ);
                entry.encode_into(&mut out)?;
            }
            Request::PortPlease2 { name } => {
                check_name(name)?;
                out.push(PORT_PLEASE2_REQ);
                out.extend_from_slice(name.as_bytes());
            }
            Request::Names => out.push(NAMES_REQ),
            Request::Dump => out.push(DUMP_REQ),
            Request::Kill => out.push(KILL_REQ),
            Request::Stop { name } => {
                check_name(name)?;
                out.push(STOP_REQ);
                out.extend_from_slice(name.as_bytes());
            }
        }
        // The limits above keep every body within MAX_REQUEST_LEN < 65536.
        let len = (out.len() - 2) as u16;
        out[..2].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }

    /// The body length announced by a 2-byte prefix, checked: never 0, never more than
    /// [`MAX_REQUEST_LEN`]. A reader calls this before reading (or allocating) the body.
    pub fn body_len(prefix: [u8; 2]) -> Result<usize, DecodeError> {
        match u16::from_be_bytes(prefix) as usize {
            0 => Err(DecodeError::Empty),
            len if len > MAX_REQUEST_LEN => Err(DecodeError::TooLong {
                len,
                max: MAX_REQUEST_LEN,
            }),
            len => Ok(len),
        }
    }

    /// Decodes one framed request from the start of `buf`: `Ok(None)` if more bytes are
    /// needed, otherwise the request and how many bytes it used.
    pub fn decode(buf: &[u8]) -> Result<Option<(Request, usize)>, DecodeError> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let len = Self::body_len([buf[0], buf[1]])?;
        if buf.len() < 2 + len {
            return Ok(None);
        }
        Ok(Some((Self::decode_body(&buf[2..2 + len])?, 2 + len)))
    }

    /// Decodes a request body (without the length prefix), which must be consumed whole.
    pub fn decode_body(body: &[u8]) -> Result<Request, DecodeError> {
        if body.len() > MAX_REQUEST_LEN {
            return Err(DecodeError::TooLong {
                len: body.len(),
                max: MAX_REQUEST_LEN,
            });
        }
        let mut c = Cursor::new(body, "request");
        let tag = c.u8().map_err(|_| DecodeError::Empty)?;
        let req = match tag {
            ALIVE2_REQ => {
                let mut c = Cursor::new(c.rest(), "ALIVE2_REQ");
                let entry = NodeEntry::decode_from(&mut c)?;
                c.finish()?;
                Request::Alive2(entry)
            }
            PORT_PLEASE2_REQ => Request::PortPlease2 {
                name: name_from_bytes(c.rest())?,
            },
            STOP_REQ => Request::Stop {
                name: name_from_bytes(c.rest())?,
            },
            NAMES_REQ | DUMP_REQ | KILL_REQ => {
                let what = match tag {
                    NAMES_REQ => "NAMES_REQ",
                    DUMP_REQ => "DUMP_REQ",
                    _ => "KILL_REQ",
                };
                Cursor::new(c.rest(), what).finish()?;
                match tag {
                    NAMES_REQ => Request::Names,
                    DUMP_REQ => Request::Dump,
                    _ => Request::Kill,
                }
            }
            tag => return Err(DecodeError::UnknownTag { what: "request", tag }),
        };
        Ok(req)
    }

    /// The request's name in the protocol documentation, for log lines.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Alive2(_) => "ALIVE2_REQ",
            Request::PortPlease2 { .. } => "PORT_PLEASE2_REQ",
            Request::Names => "NAMES_REQ",
            Request::Dump => "DUMP_REQ",
            Request::Kill => "KILL_REQ",
            Request::Stop { .. } => "STOP_REQ",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ALIVE2_REQ `erl -sname foo` would send for a hidden node on port 5555.
    const ALIVE2_FOO: &[u8] = &[
        0, 16, 120, 0x15, 0xb3, 72, 0, 0, 6, 0, 5, 0, 3, b'f', b'o', b'o', 0, 0,
    ];

    fn foo() -> NodeEntry {
        NodeEntry {
            lowest_version: 5,
            ..NodeEntry::new("foo", 5555)
        }
    }

    #[test]
    fn alive2_req_bytes() {
        assert_eq!(Request::Alive2(foo()).encode().unwrap(), ALIVE2_FOO);
        assert_eq!(
            Request::decode(ALIVE2_FOO).unwrap(),
            Some((Request::Alive2(foo()), ALIVE2_FOO.len()))
        );
    }

    #[test]
    fn alive2_req_with_extra_and_normal_type() {
        let e = NodeEntry {
            node_type: NodeType::Normal,
            extra: vec![1, 2, 3],
            ..foo()
        };
        let bytes = Request::Alive2(e.clone()).encode().unwrap();
        assert_eq!(bytes[5], 77);
        assert_eq!(&bytes[bytes.len() - 5..], &[0, 3, 1, 2, 3]);
        assert_eq!(Request::decode(&bytes).unwrap().unwrap().0, Request::Alive2(e));
    }

    #[test]
    fn simple_requests_bytes() {
        assert_eq!(Request::Names.encode().unwrap(), [0, 1, 110]);
        assert_eq!(Request::Dump.encode().unwrap(), [0, 1, 100]);
        assert_eq!(Request::Kill.encode().unwrap(), [0, 1, 107]);
        assert_eq!(
            Request::PortPlease2 { name: "foo".into() }.encode().unwrap(),
            [0, 4, 122, b'f', b'o', b'o']
        );
        assert_eq!(
            Request::Stop { name: "ab".into() }.encode().unwrap(),
            [0, 3, 115, b'a', b'b']
        );
        for r in [
            Request::Names,
            Request::Dump,
            Request::Kill,
            Request::PortPlease2 { name: "nöde".into() },
            Request::Stop { name: "x".into() },
        ] {
            let b = r.encode().unwrap();
            assert_eq!(Request::decode(&b).unwrap(), Some((r, b.len())));
        }
    }

    #[test]
    fn partial_input_asks_for_more() {
        for n in 0..ALIVE2_FOO.len() {
            assert_eq!(
                Request::decode(&ALIVE2_FOO[..n]).unwrap(),
                None,
                "prefix of {n} bytes"
            );
        }
    }

    #[test]
    fn length_prefix_is_checked() {
        assert_eq!(Request::decode(&[0, 0]), Err(DecodeError::Empty));
        assert_eq!(
            Request::decode(&[0xff, 0xff]),
            Err(DecodeError::TooLong {
                len: 65535,
                max: MAX_REQUEST_LEN
            })
        );
        assert!(Request::body_len([(MAX_REQUEST_LEN >> 8) as u8, MAX_REQUEST_LEN as u8]).is_ok());
    }

    #[test]
    fn malformed_bodies_are_errors() {
        // Name length runs past the end.
        let mut b = ALIVE2_FOO[2..].to_vec();
        b[10] = 9;
        assert!(matches!(
            Request::decode_body(&b),
            Err(DecodeError::Truncated { .. })
        ));
        // Extra length runs past the end.
        let mut b = ALIVE2_FOO[2..].to_vec();
        b[15] = 1;
        assert!(matches!(
            Request::decode_body(&b),
            Err(DecodeError::Truncated { .. })
        ));
        // Trailing bytes.
        let mut b = ALIVE2_FOO[2..].to_vec();
        b.push(0);
        assert!(matches!(
            Request::decode_body(&b),
            Err(DecodeError::Trailing { .. })
        ));
        assert!(matches!(
            Request::decode_body(&[110, 0]),
            Err(DecodeError::Trailing { .. })
        ));
        assert_eq!(
            Request::decode_body(&[1, 2, 3]),
            Err(DecodeError::UnknownTag {
                what: "request",
                tag: 1
            })
        );
        assert_eq!(Request::decode_body(&[122]), Err(DecodeError::EmptyName));
        assert_eq!(Request::decode_body(&[122, 0xff]), Err(DecodeError::NameNotUtf8));
        assert_eq!(Request::decode_body(&[]), Err(DecodeError::Empty));
        // Name length over the limit is refused before reading it.
        let mut b = ALIVE2_FOO[2..].to_vec();
        b[9] = 0xff;
        b[10] = 0xff;
        assert!(matches!(
            Request::decode_body(&b),
            Err(DecodeError::NameTooLong { .. })
        ));
    }

    #[test]
    fn encode_refuses_out_of_limit_values() {
        assert_eq!(
            Request::PortPlease2 { name: String::new() }.encode(),
            Err(EncodeError::EmptyName)
        );
        let long = "a".repeat(MAX_NAME_BYTES + 1);
        assert!(matches!(
            Request::Alive2(NodeEntry::new(long, 1)).encode(),
            Err(EncodeError::NameTooLong { .. })
        ));
        let e = NodeEntry {
            extra: vec![0; MAX_EXTRA_BYTES + 1],
            ..foo()
        };
        assert!(matches!(
            Request::Alive2(e).encode(),
            Err(EncodeError::ExtraTooLong { .. })
        ));
        // The largest valid request fits the limit exactly.
        let e = NodeEntry {
            name: "a".repeat(MAX_NAME_BYTES),
            extra: vec![0; MAX_EXTRA_BYTES],
            ..foo()
        };
        let b = Request::Alive2(e.clone()).encode().unwrap();
        assert_eq!(b.len(), 2 + MAX_REQUEST_LEN);
        assert_eq!(Request::decode(&b).unwrap().unwrap().0, Request::Alive2(e));
    }
}

#[cfg(test)]
mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2200)) {
            let _ = Request::decode(&bytes);
            let _ = Request::decode_body(&bytes);
            let _ = Alive2Response::decode(&bytes);
            let _ = Port2Response::decode(&bytes);
            let _ = decode_names(&bytes);
        }

        #[test]
        fn alive2_round_trips(
            name in "[a-z][a-z0-9_é]{0,40}",
            port: u16, ty: u8, proto: u8, hi: u16, lo: u16,
            extra in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let e = NodeEntry {
                name, port, node_type: NodeType::from_byte(ty), protocol: proto,
                highest_version: hi, lowest_version: lo, extra,
            };
            let r = Request::Alive2(e);
            let b = r.encode().unwrap();
            prop_assert_eq!(Request::decode(&b).unwrap(), Some((r, b.len())));
        }
    }
}
