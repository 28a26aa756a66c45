use super::*;
use crate::control::PidOrName;
use crate::header::{write_atom_cache_refs, AtomCacheRef};
use beamlink_term::{Pid, Reference, Term};
use proptest::prelude::*;

const HDR: u64 = DFLAG_DIST_HDR_ATOM_CACHE;
const HDR_FRAG: u64 = DFLAG_DIST_HDR_ATOM_CACHE | DFLAG_FRAGMENTS;

fn pid(node: &str, id: u32) -> Pid {
    Pid {
        node: Atom::new(node),
        id,
        serial: 0,
        creation: 3,
    }
}

fn send(n: usize) -> Message {
    Message::send(pid("peer@host", 90), Term::binary(vec![7u8; n]))
}

/// Strips the 4-byte length of a packet, checking it.
fn frame(packet: &Bytes) -> Bytes {
    let len = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]) as usize;
    assert_eq!(len, packet.len() - 4, "length prefix");
    packet.slice(4..)
}

fn decode_all(dec: &mut FrameDecoder, packets: &[Bytes]) -> Vec<Message> {
    packets
        .iter()
        .filter_map(|p| dec.decode(frame(p)).unwrap())
        .collect()
}

#[test]
fn pass_through_and_header_without_refs() {
    let msg = Message::reg_send(pid("me@host", 1), Atom::new("logger"), Term::atom("hello"));
    let pt = FrameEncoder::new(0, 0).encode(&msg).unwrap();
    assert_eq!(pt.len(), 1);
    assert_eq!(pt[0][4..6], [PASS_THROUGH, VERSION_MAGIC]);
    let hdr = FrameEncoder::new(HDR, 0).encode(&msg).unwrap();
    assert_eq!(hdr[0][4..7], [VERSION_MAGIC, DIST_HEADER, 0]);
    // The same control message and payload, with and without their version bytes.
    let mut control = Vec::new();
    msg.control.encode_body_to(&mut control).unwrap();
    assert_eq!(pt[0][6..6 + control.len()], control[..]);
    assert_eq!(hdr[0][7..7 + control.len()], control[..]);
    assert_eq!(pt[0][6 + control.len()], VERSION_MAGIC);
    assert_eq!(pt[0][7 + control.len()..], hdr[0][7 + control.len()..]);

    let mut dec = FrameDecoder::new(FrameLimits::default());
    assert_eq!(decode_all(&mut dec, &pt), std::slice::from_ref(&msg));
    assert_eq!(decode_all(&mut dec, &hdr), [msg]);
}

/// A header that brings atoms into the cache, then one that only refers to them: the
/// control message and payload use ATOM_CACHE_REF throughout, as a BEAM writes them.
#[test]
fn atom_cache_new_entries_then_references() {
    let (node, name, hello) = (
        Atom::new("sender@host"),
        Atom::new("my_server"),
        Atom::new("hello"),
    );
    let body = |out: &mut Vec<u8>| {
        // {6, <sender@host.42.0>, '', my_server} then {hello, sender@host}
        out.extend_from_slice(&[
            104, 4, 97, 6, 88, 82, 0, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 3, 119, 0, 82, 1,
        ]);
        out.extend_from_slice(&[104, 2, 82, 2, 82, 0]);
    };
    let mut f1 = vec![VERSION_MAGIC, DIST_HEADER];
    write_atom_cache_refs(
        &[
            AtomCacheRef {
                slot: 5 * 256 + 17,
                new_atom: Some(&node),
            },
            AtomCacheRef {
                slot: 200,
                new_atom: Some(&name),
            },
            AtomCacheRef {
                slot: 1000,
                new_atom: Some(&hello),
            },
        ],
        &mut f1,
    )
    .unwrap();
    body(&mut f1);
    let mut f2 = vec![VERSION_MAGIC, DIST_HEADER];
    write_atom_cache_refs(
        &[
            AtomCacheRef {
                slot: 5 * 256 + 17,
                new_atom: None,
            },
            AtomCacheRef {
                slot: 200,
                new_atom: None,
            },
            AtomCacheRef {
                slot: 1000,
                new_atom: None,
            },
        ],
        &mut f2,
    )
    .unwrap();
    body(&mut f2);
    let expected = Message::reg_send(
        Pid {
            node: node.clone(),
            id: 42,
            serial: 0,
            creation: 3,
        },
        name,
        Term::tuple(vec![Term::Atom(hello), Term::Atom(node)]),
    );
    let mut dec = FrameDecoder::new(FrameLimits::default());
    assert_eq!(dec.decode(Bytes::from(f1)), Ok(Some(expected.clone())));
    assert_eq!(dec.decode(Bytes::from(f2.clone())), Ok(Some(expected)));
    // A fresh connection has none of these entries.
    let mut fresh = FrameDecoder::new(FrameLimits::default());
    assert!(matches!(
        fresh.decode(Bytes::from(f2)),
        Err(FrameError::Header(HeaderError::EmptySlot {
            slot: 1297,
            reference: 0
        }))
    ));
}

/// The fragment example of erl_ext_dist, byte for byte: `{call, Pid, {set_get_state,
/// <<0:1024>>}}` sent to `reg` in two fragments, with two atoms already in the cache.
#[test]
fn spec_fragment_example() {
    let mut dec = FrameDecoder::new(FrameLimits::default());
    // Fill the two cached slots (segment 4 index 10, segment 0 index 5) the way a peer
    // would: a header that brings them, with a NODE_LINK as its message.
    let (sender, unused) = (Atom::new("sender@host"), Atom::new(""));
    let mut f = vec![VERSION_MAGIC, DIST_HEADER];
    write_atom_cache_refs(
        &[
            AtomCacheRef {
                slot: 4 * 256 + 10,
                new_atom: Some(&sender),
            },
            AtomCacheRef {
                slot: 5,
                new_atom: Some(&unused),
            },
        ],
        &mut f,
    )
    .unwrap();
    f.extend_from_slice(&[104, 1, 97, 5]);
    assert_eq!(
        dec.decode(Bytes::from(f)),
        Ok(Some(Message::control(ControlMessage::NodeLink)))
    );

    let mut first: Vec<u8> = vec![
        131, 69, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 2, 5, 4, 137, 9, 10, 5, 236, 3, 114, 101,
        103, 9, 4, 99, 97, 108, 108, 238, 13, 115, 101, 116, 95, 103, 101, 116, 95, 115, 116, 97, 116, 101,
        104, 4, 97, 6, 103, 82, 0, 0, 0, 0, 85, 0, 0, 0, 0, 2, 82, 1, 82, 2, 104, 3, 82, 3, 103, 82, 0, 0, 0,
        0, 245, 0, 0, 0, 2, 2, 104, 2, 82, 4, 109, 0, 0, 0, 128,
    ];
    let mut second: Vec<u8> = vec![131, 70, 0, 0, 2, 168, 0, 0, 5, 83, 0, 0, 0, 0, 0, 0, 0, 1];
    // The binary's 128 zero bytes, split between the fragments as in the example.
    first.extend([0u8; 103]);
    second.extend([0u8; 25]);
    assert_eq!(dec.decode(Bytes::from(first)), Ok(None));
    assert_eq!(dec.fragmented_in_flight(), 1);
    let msg = dec.decode(Bytes::from(second)).unwrap().unwrap();
    assert_eq!(dec.fragmented_in_flight(), 0);
    let from = Pid {
        node: sender.clone(),
        id: 85,
        serial: 0,
        creation: 2,
    };
    assert_eq!(
        msg.control,
        ControlMessage::RegSend {
            from,
            to_name: Atom::new("reg")
        }
    );
    let caller = Pid {
        node: sender,
        id: 245,
        serial: 2,
        creation: 2,
    };
    assert_eq!(
        msg.payload,
        Some(Term::tuple(vec![
            Term::atom("call"),
            Term::Pid(caller),
            Term::tuple(vec![Term::atom("set_get_state"), Term::binary(vec![0u8; 128])]),
        ]))
    );
}

#[test]
fn fragments_in_order_and_interleaved() {
    let mut enc = FrameEncoder::new(HDR_FRAG, 1000);
    let small = send(10);
    let big_a = send(10_000);
    let big_b = Message::reg_send(
        pid("me@host", 5),
        Atom::new("sink"),
        Term::binary(vec![1u8; 7_500]),
    );
    let pa = enc.encode(&big_a).unwrap();
    let pb = enc.encode(&big_b).unwrap();
    let ps = enc.encode(&small).unwrap();
    assert_eq!(ps.len(), 1);
    assert_eq!(pa.len(), 11, "10,0xx bytes in fragments of 1000");
    assert_eq!(pb.len(), 8);
    // First fragment: 69, sequence, fragment count, no atom-cache refs; then 70s counting down.
    assert_eq!(pa[0][4..6], [VERSION_MAGIC, DIST_FRAG_HEADER]);
    assert_eq!(pa[0][14..22], 11u64.to_be_bytes());
    assert_eq!(pa[0][22], 0);
    for (i, p) in pa.iter().enumerate().skip(1) {
        assert_eq!(p[4..6], [VERSION_MAGIC, DIST_FRAG_CONT]);
        assert_eq!(p[6..14], pa[0][6..14], "same sequence id");
        assert_eq!(p[14..22], (11 - i as u64).to_be_bytes());
        assert!(p.len() <= 4 + 18 + 1000);
    }
    assert_ne!(pa[0][6..14], pb[0][6..14], "each message its own sequence");

    let mut dec = FrameDecoder::new(FrameLimits::default());
    assert_eq!(decode_all(&mut dec, &pa), std::slice::from_ref(&big_a));

    // Interleave: a fragment of each in turn, with a small message in between.
    let mut order = Vec::new();
    for i in 0..pa.len().max(pb.len()) {
        if let Some(p) = pa.get(i) {
            order.push(p.clone());
        }
        if i == 3 {
            order.push(ps[0].clone());
        }
        if let Some(p) = pb.get(i) {
            order.push(p.clone());
        }
    }
    let got = decode_all(&mut dec, &order);
    assert_eq!(got, [small, big_b, big_a]);
    assert_eq!(dec.fragmented_in_flight(), 0);
}

#[test]
fn no_fragments_without_the_flag() {
    let big = send(100_000);
    for flags in [0, HDR] {
        let p = FrameEncoder::new(flags, 1000).encode(&big).unwrap();
        assert_eq!(p.len(), 1);
        let mut dec = FrameDecoder::new(FrameLimits::default());
        assert_eq!(decode_all(&mut dec, &p), std::slice::from_ref(&big));
    }
    // fragment_size 0 means "never split".
    assert_eq!(FrameEncoder::new(HDR_FRAG, 0).encode(&big).unwrap().len(), 1);
}

/// The control message always goes whole into the first fragment, however small the
/// fragment size.
#[test]
fn control_message_stays_in_the_first_fragment() {
    let r = Reference {
        node: Atom::new("me@host"),
        creation: 1,
        id: vec![1, 2, 3],
    };
    let msg = Message {
        control: ControlMessage::MonitorP {
            from: pid("me@host", 1),
            to: PidOrName::Name(Atom::new("x")),
            reference: r,
        },
        payload: None,
    };
    let mut control = Vec::new();
    msg.control.encode_body_to(&mut control).unwrap();
    let packets = FrameEncoder::new(HDR_FRAG, 16).encode(&msg).unwrap();
    assert_eq!(packets.len(), 1);
    assert_eq!(packets[0][4..6], [VERSION_MAGIC, DIST_FRAG_HEADER]);
    assert_eq!(packets[0][23..], control[..]);

    let msg = send(100);
    let packets = FrameEncoder::new(HDR_FRAG, 16).encode(&msg).unwrap();
    let mut dec = FrameDecoder::new(FrameLimits::default());
    assert_eq!(decode_all(&mut dec, &packets), [msg]);
}

fn frag(kind: u8, seq: u64, id: u64, data: &[u8]) -> Bytes {
    let mut f = vec![VERSION_MAGIC, kind];
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&id.to_be_bytes());
    if kind == DIST_FRAG_HEADER {
        f.push(0);
    }
    f.extend_from_slice(data);
    Bytes::from(f)
}

#[test]
fn fragment_protocol_violations() {
    let limits = FrameLimits::default();
    let mut dec = FrameDecoder::new(limits);
    assert_eq!(
        dec.decode(frag(DIST_FRAG_CONT, 9, 1, b"x")),
        Err(FrameError::UnknownSequence {
            sequence: 9,
            fragment: 1
        })
    );
    assert_eq!(
        dec.decode(frag(DIST_FRAG_HEADER, 9, 0, b"x")),
        Err(FrameError::FragmentIdZero { sequence: 9 })
    );
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 9, 3, b"x")), Ok(None));
    assert_eq!(
        dec.decode(frag(DIST_FRAG_HEADER, 9, 3, b"x")),
        Err(FrameError::SequenceRestarted { sequence: 9 })
    );
    assert_eq!(
        dec.decode(frag(DIST_FRAG_CONT, 9, 1, b"x")),
        Err(FrameError::FragmentOutOfOrder {
            sequence: 9,
            expected: 2,
            got: 1
        })
    );
    assert_eq!(
        dec.decode(Bytes::from_static(&[131, 70, 0, 0])),
        Err(FrameError::Truncated("fragment header"))
    );
    assert_eq!(dec.decode(Bytes::new()), Err(FrameError::Empty));
    assert_eq!(
        dec.decode(Bytes::from_static(&[131, 71])),
        Err(FrameError::UnknownFrameType(vec![131, 71]))
    );
    assert_eq!(
        dec.decode(Bytes::from_static(&[7])),
        Err(FrameError::UnknownFrameType(vec![7]))
    );
}

#[test]
fn limits_are_enforced() {
    let limits = FrameLimits {
        max_message_size: 100,
        max_fragmented_in_flight: 2,
        max_buffered_bytes: 150,
        ..FrameLimits::default()
    };
    let mut dec = FrameDecoder::new(limits);
    // Too many messages in flight.
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 1, 5, &[0; 10])), Ok(None));
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 2, 5, &[0; 10])), Ok(None));
    assert_eq!(
        dec.decode(frag(DIST_FRAG_HEADER, 3, 5, &[0; 10])),
        Err(FrameError::TooManyInFlight { limit: 2 })
    );

    // A message that grows past max_message_size.
    let mut dec = FrameDecoder::new(limits);
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 1, 5, &[0; 60])), Ok(None));
    assert_eq!(
        dec.decode(frag(DIST_FRAG_CONT, 1, 4, &[0; 60])),
        Err(FrameError::MessageTooLarge {
            size: 120,
            limit: 100
        })
    );

    // Together the messages in flight hold more than max_buffered_bytes. The first one
    // announces 5 x 80 bytes, so its buffer takes the whole message limit (100); the
    // second needs 80 more.
    let mut dec = FrameDecoder::new(limits);
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 1, 5, &[0; 80])), Ok(None));
    assert_eq!(
        dec.decode(frag(DIST_FRAG_HEADER, 2, 5, &[0; 80])),
        Err(FrameError::TooMuchBuffered {
            size: 180,
            limit: 150
        })
    );

    // A huge announcement allocates no more than the limits allow, and a buffer that
    // grows is counted as it grows.
    let mut dec = FrameDecoder::new(limits);
    assert_eq!(
        dec.decode(frag(DIST_FRAG_HEADER, 1, u64::MAX, &[0; 10])),
        Ok(None)
    );
    assert_eq!(dec.decode(frag(DIST_FRAG_HEADER, 2, 3, &[0; 10])), Ok(None));
    assert_eq!(dec.decode(frag(DIST_FRAG_CONT, 2, 2, &[0; 10])), Ok(None));
    assert_eq!(
        dec.decode(frag(DIST_FRAG_CONT, 2, 1, &[0; 30])),
        Err(FrameError::TooMuchBuffered {
            size: 160,
            limit: 150
        })
    );

    // Whole messages are held to max_message_size too.
    let mut dec = FrameDecoder::new(limits);
    let p = FrameEncoder::new(HDR, 0).encode(&send(200)).unwrap();
    assert!(matches!(
        dec.decode(frame(&p[0])),
        Err(FrameError::MessageTooLarge { limit: 100, .. })
    ));
}

#[test]
fn payload_presence_is_checked() {
    let mut enc = FrameEncoder::new(HDR, 0);
    let no_payload = Message {
        control: ControlMessage::Send { to: pid("a@b", 1) },
        payload: None,
    };
    assert_eq!(
        enc.encode(&no_payload),
        Err(EncodeError::MissingPayload { name: "SEND" })
    );
    let extra = Message {
        control: ControlMessage::NodeLink,
        payload: Some(Term::Int(1)),
    };
    assert_eq!(
        enc.encode(&extra),
        Err(EncodeError::UnexpectedPayload { name: "NODE_LINK" })
    );

    let mut dec = FrameDecoder::new(FrameLimits::default());
    // {2, '', Pid} and nothing after it.
    let mut f = vec![VERSION_MAGIC, DIST_HEADER, 0];
    no_payload.control.encode_body_to(&mut f).unwrap();
    assert_eq!(
        dec.decode(Bytes::from(f.clone())),
        Err(FrameError::MissingPayload("SEND"))
    );
    // {5} followed by a stray byte.
    let f = vec![VERSION_MAGIC, DIST_HEADER, 0, 104, 1, 97, 5, 97];
    assert_eq!(
        dec.decode(Bytes::from(f)),
        Err(FrameError::TrailingBytes {
            name: "NODE_LINK",
            count: 1
        })
    );
    // An unknown operation is reported, not a crash.
    let f = vec![VERSION_MAGIC, DIST_HEADER, 0, 104, 1, 97, 99];
    assert!(matches!(
        dec.decode(Bytes::from(f)),
        Err(FrameError::Control(ControlError::UnknownOperation { op: 99, .. }))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary frames never panic, whatever state earlier frames left behind.
    #[test]
    fn decoder_never_panics(frames in prop::collection::vec(
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            // Frames that start like real ones, to get past the first checks.
            (prop::sample::select(vec![vec![131u8, 68], vec![131, 69, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2],
                                        vec![131, 70, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], vec![112, 131]]),
             prop::collection::vec(any::<u8>(), 0..64))
                .prop_map(|(mut h, t)| { h.extend(t); h }),
        ], 1..8)) {
        let mut dec = FrameDecoder::new(FrameLimits { max_message_size: 4096, max_fragmented_in_flight: 4, max_buffered_bytes: 8192, ..FrameLimits::default() });
        for f in frames {
            let _ = dec.decode(Bytes::from(f));
        }
    }

    /// Whatever the fragment size, what the encoder splits the decoder puts back together.
    #[test]
    fn fragment_round_trip(size in 0usize..5000, fragment_size in 1usize..600) {
        let msg = send(size);
        let packets = FrameEncoder::new(HDR_FRAG, fragment_size).encode(&msg).unwrap();
        let mut dec = FrameDecoder::new(FrameLimits::default());
        prop_assert_eq!(decode_all(&mut dec, &packets), vec![msg]);
    }
}

/// Frames captured from a real OTP 25 node (erts 13.1.5) sending to a hidden node with
/// DIST_HDR_ATOM_CACHE: two sends (the first brings four atoms into the cache, the second
/// only refers to them), a link, an unlink, and monitors by pid and by registered name.
#[test]
fn frames_captured_from_otp25() {
    let erl = || Pid {
        node: Atom::new("erl_9142_0@127.0.0.1"),
        id: 9,
        serial: 0,
        creation: 1795609020,
    };
    let me = || Pid {
        node: Atom::new("bl_9142_1@127.0.0.1"),
        id: 1,
        serial: 0,
        creation: 0x1234_5678,
    };
    let reference = |w: u32| Reference {
        node: Atom::new("erl_9142_0@127.0.0.1"),
        creation: 1795609020,
        id: vec![w, 2446589954, 2497246262],
    };
    let msg = |n| Term::tuple(vec![Term::atom("msg"), Term::Int(n), Term::atom("some_atom")]);
    let send = |n| Message {
        control: ControlMessage::SendSender {
            from: erl(),
            to: me(),
        },
        payload: Some(msg(n)),
    };
    let frames: Vec<(&[u8], Message)> = vec![
        (
            &[
                131, 68, 4, 191, 207, 0, 63, 20, 101, 114, 108, 95, 57, 49, 52, 50, 95, 48, 64, 49, 50, 55,
                46, 48, 46, 48, 46, 49, 127, 19, 98, 108, 95, 57, 49, 52, 50, 95, 49, 64, 49, 50, 55, 46, 48,
                46, 48, 46, 49, 246, 3, 109, 115, 103, 110, 9, 115, 111, 109, 101, 95, 97, 116, 111, 109,
                104, 3, 97, 22, 88, 82, 0, 0, 0, 0, 9, 0, 0, 0, 0, 107, 6, 209, 188, 88, 82, 1, 0, 0, 0, 1,
                0, 0, 0, 0, 18, 52, 86, 120, 104, 3, 82, 2, 97, 1, 82, 3,
            ],
            send(1),
        ),
        (
            &[
                131, 68, 4, 55, 71, 0, 63, 127, 246, 110, 104, 3, 97, 22, 88, 82, 0, 0, 0, 0, 9, 0, 0, 0, 0,
                107, 6, 209, 188, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 18, 52, 86, 120, 104, 3, 82, 2, 97, 2,
                82, 3,
            ],
            send(2),
        ),
        (
            &[
                131, 68, 2, 55, 0, 63, 127, 104, 3, 97, 1, 88, 82, 0, 0, 0, 0, 9, 0, 0, 0, 0, 107, 6, 209,
                188, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 18, 52, 86, 120,
            ],
            Message::control(ControlMessage::Link {
                from: erl(),
                to: me(),
            }),
        ),
        (
            &[
                131, 68, 2, 55, 0, 63, 127, 104, 4, 97, 35, 97, 4, 88, 82, 0, 0, 0, 0, 9, 0, 0, 0, 0, 107, 6,
                209, 188, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 18, 52, 86, 120,
            ],
            Message::control(ControlMessage::UnlinkId {
                id: 4,
                from: erl(),
                to: me(),
            }),
        ),
        (
            &[
                131, 68, 2, 55, 0, 63, 127, 104, 4, 97, 19, 88, 82, 0, 0, 0, 0, 9, 0, 0, 0, 0, 107, 6, 209,
                188, 88, 82, 1, 0, 0, 0, 1, 0, 0, 0, 0, 18, 52, 86, 120, 90, 0, 3, 82, 0, 107, 6, 209, 188,
                0, 0, 80, 10, 145, 212, 0, 2, 148, 216, 244, 54,
            ],
            Message::control(ControlMessage::MonitorP {
                from: erl(),
                to: PidOrName::Pid(me()),
                reference: reference(20490),
            }),
        ),
        (
            &[
                131, 68, 2, 183, 0, 63, 128, 4, 115, 105, 110, 107, 104, 4, 97, 19, 88, 82, 0, 0, 0, 0, 9, 0,
                0, 0, 0, 107, 6, 209, 188, 82, 1, 90, 0, 3, 82, 0, 107, 6, 209, 188, 0, 0, 80, 11, 145, 212,
                0, 2, 148, 216, 244, 54,
            ],
            Message::control(ControlMessage::MonitorP {
                from: erl(),
                to: PidOrName::Name(Atom::new("sink")),
                reference: reference(20491),
            }),
        ),
    ];
    let mut dec = FrameDecoder::new(FrameLimits::default());
    for (i, (bytes, expected)) in frames.into_iter().enumerate() {
        assert_eq!(
            dec.decode(Bytes::from_static(bytes)),
            Ok(Some(expected)),
            "frame {i}"
        );
    }
    // The first frame's flags: four new entries in segments 7, 3, 7 and 4.
    assert_eq!(
        dec.atom_cache().get(7 * 256 + 63).map(|a| a.as_str()),
        Some("erl_9142_0@127.0.0.1")
    );
    assert_eq!(
        dec.atom_cache().get(3 * 256 + 127).map(|a| a.as_str()),
        Some("bl_9142_1@127.0.0.1")
    );
    assert_eq!(
        dec.atom_cache().get(7 * 256 + 246).map(|a| a.as_str()),
        Some("msg")
    );
    assert_eq!(
        dec.atom_cache().get(4 * 256 + 110).map(|a| a.as_str()),
        Some("some_atom")
    );
}

/// The bytes `encode_parts` describes, as one list of packets.
fn parts_to_packets(enc: &mut FrameEncoder, msg: &Message, prefix: &[u8]) -> Vec<Bytes> {
    let mut buf = prefix.to_vec();
    match enc.encode_parts(msg, &mut buf, &mut Vec::new()).unwrap() {
        Encoded::InBuf => vec![Bytes::copy_from_slice(&buf[prefix.len()..])],
        Encoded::Split { binary } => {
            let mut p = buf[prefix.len()..].to_vec();
            p.extend_from_slice(&binary);
            vec![Bytes::from(p)]
        }
        Encoded::Packets(packets) => {
            assert_eq!(buf, prefix, "fragments leave the buffer alone");
            packets
        }
    }
}

#[test]
fn encode_parts_gives_the_bytes_of_encode_and_shares_large_binaries() {
    let small = send(16);
    let large = send(ZERO_COPY_MIN + 5);
    let nested = Message::send(
        pid("peer@host", 9),
        Term::tuple(vec![Term::atom("x"), Term::binary(vec![1u8; 100_000])]),
    );
    for flags in [0, HDR, HDR_FRAG] {
        for msg in [&small, &large, &nested] {
            let want = FrameEncoder::new(flags, 64 << 10).encode(msg).unwrap();
            let got = parts_to_packets(&mut FrameEncoder::new(flags, 64 << 10), msg, b"earlier");
            assert_eq!(got, want, "flags {flags:#x}");
        }
    }
    // A large binary payload is not copied: the part is the very same memory.
    let Some(Term::Binary(payload)) = &large.payload else {
        unreachable!()
    };
    let mut buf = Vec::new();
    match FrameEncoder::new(HDR, 1 << 20)
        .encode_parts(&large, &mut buf, &mut Vec::new())
        .unwrap()
    {
        Encoded::Split { binary } => assert_eq!(binary.as_ptr(), payload.as_ptr()),
        other => panic!("{other:?}"),
    }
    // An error leaves the buffer as it was.
    let mut buf = b"kept".to_vec();
    let bad = Message::control(ControlMessage::Send { to: pid("p@h", 1) });
    assert!(FrameEncoder::new(HDR, 0)
        .encode_parts(&bad, &mut buf, &mut Vec::new())
        .is_err());
    assert_eq!(buf, b"kept");
}

#[test]
fn send_control_messages_decode_as_the_general_path_does() {
    let from = pid("me@host", 1);
    let to = pid("peer@host", 2);
    let alias = Reference {
        node: Atom::new("peer@host"),
        creation: 3,
        id: vec![1, 2, 3],
    };
    let payload = Term::tuple(vec![Term::atom("hello"), Term::binary(vec![1u8; 40])]);
    let msgs = [
        Message::send(to.clone(), payload.clone()),
        Message::reg_send(from.clone(), Atom::new("logger"), payload.clone()),
        Message::send_sender(from.clone(), to.clone(), payload.clone()),
        Message {
            control: ControlMessage::AliasSend { from, alias },
            payload: Some(payload),
        },
    ];
    for flags in [0, HDR] {
        for msg in &msgs {
            let packets = FrameEncoder::new(flags, 0).encode(msg).unwrap();
            let got = decode_all(&mut FrameDecoder::new(FrameLimits::default()), &packets);
            assert_eq!(got, vec![msg.clone()], "flags {flags:#x}");
        }
    }
    // Unusual fields take the general path, which reports them.
    let mut body = vec![PASS_THROUGH];
    let control = Term::tuple(vec![Term::Int(6), Term::Pid(to), Term::atom(""), Term::Int(5)]);
    body.extend(beamlink_term::etf::encode(&control).unwrap());
    body.extend(beamlink_term::etf::encode(&Term::Int(1)).unwrap());
    let err = FrameDecoder::new(FrameLimits::default())
        .decode(Bytes::from(body))
        .unwrap_err();
    assert!(matches!(err, FrameError::Control(_)), "{err:?}");

    // A compressed term inside the control tuple is refused, as the general path and a BEAM
    // refuse it: here REG_SEND's name, a long atom that zlib makes smaller.
    let long = Term::atom(&"a".repeat(200));
    let reg_send = |name: &[u8]| {
        // Pass-through, and a header with no atom-cache references (the fast path's frame).
        let mut got = Vec::new();
        for start in [&[PASS_THROUGH, 131][..], &[131, 68, 0][..]] {
            let mut body = start.to_vec();
            body.extend([104, 4, 97, 6]);
            body.extend(&beamlink_term::etf::encode(&Term::Pid(pid("me@host", 1))).unwrap()[1..]);
            body.extend([119, 0]);
            body.extend(&name[1..]);
            let payload = beamlink_term::etf::encode(&Term::Int(1)).unwrap();
            body.extend(if start[0] == PASS_THROUGH {
                &payload[..]
            } else {
                &payload[1..]
            });
            got.push(FrameDecoder::new(FrameLimits::default()).decode(Bytes::from(body)));
        }
        got
    };
    for plain in reg_send(&beamlink_term::etf::encode(&long).unwrap()) {
        assert!(plain.is_ok(), "{plain:?}");
    }
    let compressed = beamlink_term::etf::encode_compressed(&long, 6).unwrap();
    assert_eq!(compressed[1], 80, "the name is compressed");
    for got in reg_send(&compressed) {
        assert!(got.is_err(), "a compressed control field was accepted: {got:?}");
    }
}

/// Encodes `msg` with `enc` into one packet (with its length prefix).
fn one_packet(enc: &mut FrameEncoder, msg: &Message, defined: &mut Vec<u16>) -> Bytes {
    let mut buf = Vec::new();
    match enc.encode_parts(msg, &mut buf, defined).unwrap() {
        Encoded::InBuf => Bytes::from(buf),
        other => panic!("{other:?}"),
    }
}

#[test]
fn send_atoms_go_through_the_atom_cache_once_the_peer_has_them() {
    let from = pid("me@host", 1);
    let to = pid("peer@host", 2);
    let msgs = [
        Message::reg_send(from.clone(), Atom::new("logger"), Term::atom("a")),
        Message::send_sender(from.clone(), to.clone(), Term::Int(1)),
        Message::send(to.clone(), Term::Int(2)),
        Message {
            control: ControlMessage::AliasSend {
                from: from.clone(),
                alias: Reference {
                    node: Atom::new("peer@host"),
                    creation: 3,
                    id: vec![4, 5, 6],
                },
            },
            payload: Some(Term::Int(3)),
        },
        Message::control(ControlMessage::Link { from, to }),
    ];
    let mut enc = FrameEncoder::new(HDR, 0).with_atom_cache();
    let mut first = Vec::new();
    let mut defined = Vec::new();
    for m in &msgs {
        first.push(one_packet(&mut enc, m, &mut defined));
    }
    // Nothing confirmed yet: every frame brings its atoms itself, so each decodes alone,
    // in any order (the writer may take lanes in another order than they were queued).
    for (p, m) in first.iter().zip(&msgs).rev() {
        let got = decode_all(
            &mut FrameDecoder::new(FrameLimits::default()),
            std::slice::from_ref(p),
        );
        assert_eq!(got, vec![m.clone()]);
    }
    assert!(!defined.is_empty());
    // Confirmed: later frames only refer to the slots, and are shorter for it.
    enc.confirm(&defined);
    let mut later_defined = Vec::new();
    let later: Vec<Bytes> = msgs
        .iter()
        .map(|m| one_packet(&mut enc, m, &mut later_defined))
        .collect();
    assert!(later_defined.is_empty(), "{later_defined:?}");
    for (a, b) in first.iter().zip(&later).take(4) {
        assert!(b.len() < a.len(), "{} < {}", b.len(), a.len());
    }
    let mut dec = FrameDecoder::new(FrameLimits::default());
    let mut all = first.clone();
    all.extend(later);
    let got = decode_all(&mut dec, &all);
    let want: Vec<Message> = msgs.iter().chain(msgs.iter()).cloned().collect();
    assert_eq!(got, want);
    // Without the atom-cache flag (pass-through), nothing changes.
    let mut plain = FrameEncoder::new(0, 0).with_atom_cache();
    let mut d = Vec::new();
    let p = one_packet(&mut plain, &msgs[0], &mut d);
    assert!(d.is_empty());
    assert_eq!(vec![p], FrameEncoder::new(0, 0).encode(&msgs[0]).unwrap());
}
