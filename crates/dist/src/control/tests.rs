use super::*;
use beamlink_term::etf::Decoder;
use bytes::Bytes;

fn pid1() -> Pid {
    Pid {
        node: Atom::new("a@b"),
        id: 80,
        serial: 0,
        creation: 1,
    }
}
fn pid2() -> Pid {
    Pid {
        node: Atom::new("c@d"),
        id: 81,
        serial: 2,
        creation: 7,
    }
}
fn ref1() -> Reference {
    Reference {
        node: Atom::new("a@b"),
        creation: 1,
        id: vec![5, 6, 7],
    }
}
fn token() -> Term {
    // A sequential trace token as the BEAM sends it: {Flags, Label, Serial, From, LastCnt}.
    Term::tuple(vec![
        Term::Int(6),
        Term::atom("label"),
        Term::Int(3),
        Term::Pid(pid1()),
        Term::Int(2),
    ])
}

/// One value of every variant.
fn every_variant() -> Vec<ControlMessage> {
    use ControlMessage as C;
    let reason = || Term::tuple(vec![Term::atom("shutdown"), Term::Int(-1)]);
    vec![
        C::Link {
            from: pid1(),
            to: pid2(),
        },
        C::Send { to: pid2() },
        C::Exit {
            from: pid1(),
            to: pid2(),
            reason: reason(),
        },
        C::Unlink {
            from: pid1(),
            to: pid2(),
        },
        C::NodeLink,
        C::RegSend {
            from: pid1(),
            to_name: Atom::new("foo"),
        },
        C::GroupLeader {
            from: pid1(),
            to: pid2(),
        },
        C::Exit2 {
            from: pid1(),
            to: pid2(),
            reason: reason(),
        },
        C::SendTt {
            to: pid2(),
            trace_token: token(),
        },
        C::ExitTt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
            reason: reason(),
        },
        C::RegSendTt {
            from: pid1(),
            to_name: Atom::new("foo"),
            trace_token: token(),
        },
        C::Exit2Tt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
            reason: reason(),
        },
        C::MonitorP {
            from: pid1(),
            to: PidOrName::Name(Atom::new("foo")),
            reference: ref1(),
        },
        C::DemonitorP {
            from: pid1(),
            to: PidOrName::Pid(pid2()),
            reference: ref1(),
        },
        C::MonitorPExit {
            from: PidOrName::Pid(pid2()),
            to: pid1(),
            reference: ref1(),
            reason: reason(),
        },
        C::SendSender {
            from: pid1(),
            to: pid2(),
        },
        C::SendSenderTt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
        },
        C::PayloadExit {
            from: pid1(),
            to: pid2(),
        },
        C::PayloadExitTt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
        },
        C::PayloadExit2 {
            from: pid1(),
            to: pid2(),
        },
        C::PayloadExit2Tt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
        },
        C::PayloadMonitorPExit {
            from: PidOrName::Name(Atom::new("foo")),
            to: pid1(),
            reference: ref1(),
        },
        C::SpawnRequest {
            req_id: ref1(),
            from: pid1(),
            group_leader: pid2(),
            module: Atom::new("erpc"),
            function: Atom::new("execute_call"),
            arity: 4,
            options: vec![
                Term::atom("monitor"),
                Term::tuple(vec![Term::atom("priority"), Term::atom("high")]),
            ],
        },
        C::SpawnRequestTt {
            req_id: ref1(),
            from: pid1(),
            group_leader: pid2(),
            module: Atom::new("m"),
            function: Atom::new("f"),
            arity: 0,
            options: vec![],
            trace_token: token(),
        },
        C::SpawnReply {
            req_id: ref1(),
            to: pid1(),
            flags: 3,
            result: SpawnResult::Pid(pid2()),
        },
        C::SpawnReplyTt {
            req_id: ref1(),
            to: pid1(),
            flags: 0,
            result: SpawnResult::Error(Atom::new("badarg")),
            trace_token: token(),
        },
        C::AliasSend {
            from: pid1(),
            alias: ref1(),
        },
        C::AliasSendTt {
            from: pid1(),
            alias: ref1(),
            trace_token: token(),
        },
        C::UnlinkId {
            id: 1 << 40,
            from: pid1(),
            to: pid2(),
        },
        C::UnlinkIdAck {
            id: u64::MAX,
            from: pid2(),
            to: pid1(),
        },
        C::AltactSigSend {
            flags: altact_flags::PRIO | altact_flags::ALIAS,
            from: pid1(),
            to: Recipient::Alias(ref1()),
            trace_token: None,
        },
        C::AltactSigSend {
            flags: altact_flags::NAME | altact_flags::TOKEN,
            from: pid1(),
            to: Recipient::Name(Atom::new("foo")),
            trace_token: Some(token()),
        },
    ]
}

#[test]
fn every_operation_has_a_variant() {
    let ops: Vec<u8> = every_variant().iter().map(|c| c.operation()).collect();
    for op in (1..=37u8).filter(|op| operation_name(*op).is_some()) {
        assert!(
            ops.contains(&op),
            "operation {op} ({:?}) has no test value",
            operation_name(op)
        );
    }
    // 9, 10, 11, 14, 15, 17 were never used by any release.
    for op in [0, 9, 10, 11, 14, 15, 17, 38] {
        assert_eq!(operation_name(op), None);
    }
}

#[test]
fn term_round_trip_of_every_variant() {
    for c in every_variant() {
        let t = c.to_term();
        assert_eq!(
            t.as_tuple().and_then(|e| e[0].as_i64()),
            Some(c.operation() as i64)
        );
        assert_eq!(ControlMessage::from_term(t).as_ref(), Ok(&c), "{}", c.name());
    }
}

#[test]
fn payload_carriers() {
    let with: Vec<&str> = every_variant()
        .iter()
        .filter(|c| c.has_payload())
        .map(|c| c.name())
        .collect::<Vec<_>>();
    assert_eq!(
        with,
        [
            "SEND",
            "REG_SEND",
            "SEND_TT",
            "REG_SEND_TT",
            "SEND_SENDER",
            "SEND_SENDER_TT",
            "PAYLOAD_EXIT",
            "PAYLOAD_EXIT_TT",
            "PAYLOAD_EXIT2",
            "PAYLOAD_EXIT2_TT",
            "PAYLOAD_MONITOR_P_EXIT",
            "SPAWN_REQUEST",
            "SPAWN_REQUEST_TT",
            "ALIAS_SEND",
            "ALIAS_SEND_TT",
            "ALTACT_SIG_SEND",
            "ALTACT_SIG_SEND",
        ]
    );
}

/// SEND_TT is `{12, Unused, ToPid, TraceToken}`: the pid is third, the token fourth
/// (erl_dist 0.8 reads them the other way round).
#[test]
fn send_tt_field_order() {
    let t = Term::tuple(vec![Term::Int(12), Term::atom(""), Term::Pid(pid2()), token()]);
    assert_eq!(
        ControlMessage::from_term(t),
        Ok(ControlMessage::SendTt {
            to: pid2(),
            trace_token: token()
        })
    );
    // Token before pid is a malformed SEND_TT, not a silent mix-up.
    let swapped = Term::tuple(vec![Term::Int(12), Term::atom(""), token(), Term::Pid(pid2())]);
    assert!(matches!(
        ControlMessage::from_term(swapped),
        Err(ControlError::BadField {
            name: "SEND_TT",
            field: "ToPid",
            ..
        })
    ));
    // REG_SEND_TT: {16, FromPid, Unused, ToName, TraceToken}; *EXIT*_TT: token before reason.
    let t = Term::tuple(vec![
        Term::Int(16),
        Term::Pid(pid1()),
        Term::atom(""),
        Term::atom("foo"),
        token(),
    ]);
    assert_eq!(
        ControlMessage::from_term(t),
        Ok(ControlMessage::RegSendTt {
            from: pid1(),
            to_name: Atom::new("foo"),
            trace_token: token()
        })
    );
    let t = Term::tuple(vec![
        Term::Int(13),
        Term::Pid(pid1()),
        Term::Pid(pid2()),
        token(),
        Term::atom("normal"),
    ]);
    assert_eq!(
        ControlMessage::from_term(t),
        Ok(ControlMessage::ExitTt {
            from: pid1(),
            to: pid2(),
            trace_token: token(),
            reason: Term::atom("normal")
        })
    );
}

#[test]
fn malformed_control_messages_are_errors() {
    let err = |t: Term| ControlMessage::from_term(t).unwrap_err();
    assert!(matches!(err(Term::atom("x")), ControlError::NotAControlTuple(_)));
    assert!(matches!(
        err(Term::tuple(vec![])),
        ControlError::NotAControlTuple(_)
    ));
    assert!(matches!(
        err(Term::tuple(vec![Term::atom("send")])),
        ControlError::NotAControlTuple(_)
    ));
    assert_eq!(
        err(Term::tuple(vec![Term::Int(99), Term::Int(1)])),
        ControlError::UnknownOperation { op: 99, arity: 2 }
    );
    assert_eq!(
        err(Term::tuple(vec![Term::Int(-1)])),
        ControlError::UnknownOperation { op: -1, arity: 1 }
    );
    assert_eq!(
        err(Term::tuple(vec![Term::Int(1 << 40)])),
        ControlError::UnknownOperation {
            op: 1 << 40,
            arity: 1
        }
    );
    assert_eq!(
        err(Term::tuple(vec![Term::Int(1), Term::Pid(pid1())])),
        ControlError::BadArity {
            name: "LINK",
            arity: 2,
            expected: "3"
        }
    );
    assert!(matches!(
        err(Term::tuple(vec![
            Term::Int(6),
            Term::Pid(pid1()),
            Term::atom(""),
            Term::Int(3)
        ])),
        ControlError::BadField {
            name: "REG_SEND",
            field: "ToName",
            ..
        }
    ));
    assert!(matches!(
        err(Term::tuple(vec![
            Term::Int(35),
            Term::Int(-1),
            Term::Pid(pid1()),
            Term::Pid(pid2())
        ])),
        ControlError::BadField {
            name: "UNLINK_ID",
            field: "Id",
            ..
        }
    ));
    // ALTACT_SIG_SEND: the token bit and the arity must agree.
    assert!(matches!(
        err(Term::tuple(vec![
            Term::Int(37),
            Term::Int(2),
            Term::Pid(pid1()),
            Term::Pid(pid2())
        ])),
        ControlError::BadArity {
            name: "ALTACT_SIG_SEND",
            ..
        }
    ));
    // A huge term in an error message is cut short.
    let big = Term::List((0..10_000).map(Term::Int).collect());
    let msg = err(Term::tuple(vec![Term::Int(1), big, Term::Pid(pid1())])).to_string();
    assert!(msg.len() < 300, "{msg}");
}

/// Bytes from a real OTP 25: `term_to_binary(ControlTuple, [{minor_version, 2}])` with
/// pids `<a@b.80.0>` (creation 1), `<c@d.81.2>` (creation 7) and a reference of a@b.
/// The control message after a distribution header is the same without the leading 131.
#[test]
fn exact_bytes_from_erl() {
    use ControlMessage as C;
    let cases: Vec<(ControlMessage, &[u8])> = vec![
        (
            C::Link {
                from: pid1(),
                to: pid2(),
            },
            &[
                131, 104, 3, 97, 1, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 88, 119, 3,
                99, 64, 100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7,
            ],
        ),
        (
            C::Send { to: pid2() },
            &[
                131, 104, 3, 97, 2, 119, 0, 88, 119, 3, 99, 64, 100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7,
            ],
        ),
        (
            C::RegSend {
                from: pid1(),
                to_name: Atom::new("foo"),
            },
            &[
                131, 104, 4, 97, 6, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 119, 0, 119,
                3, 102, 111, 111,
            ],
        ),
        (
            C::MonitorP {
                from: pid1(),
                to: PidOrName::Name(Atom::new("foo")),
                reference: ref1(),
            },
            &[
                131, 104, 4, 97, 19, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 119, 3,
                102, 111, 111, 90, 0, 3, 119, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7,
            ],
        ),
        (
            C::UnlinkId {
                id: 1 << 40,
                from: pid1(),
                to: pid2(),
            },
            &[
                131, 104, 4, 97, 35, 110, 6, 0, 0, 0, 0, 0, 0, 1, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0,
                0, 0, 0, 0, 0, 1, 88, 119, 3, 99, 64, 100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7,
            ],
        ),
        (
            C::SpawnReply {
                req_id: ref1(),
                to: pid1(),
                flags: 3,
                result: SpawnResult::Pid(pid2()),
            },
            &[
                131, 104, 5, 97, 31, 90, 0, 3, 119, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0,
                0, 7, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 97, 3, 88, 119, 3, 99, 64,
                100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7,
            ],
        ),
        (
            C::AltactSigSend {
                flags: altact_flags::PRIO | altact_flags::ALIAS,
                from: pid1(),
                to: Recipient::Alias(ref1()),
                trace_token: None,
            },
            &[
                131, 104, 4, 97, 37, 97, 5, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 90,
                0, 3, 119, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7,
            ],
        ),
    ];
    for (c, bytes) in &cases {
        let mut out = Vec::new();
        c.encode_body_to(&mut out).unwrap();
        assert_eq!(out, bytes[1..], "encoding {}", c.name());
    }
    // Decoding the captured bytes gives the same messages.
    {
        for (c, bytes) in cases {
            let t = Decoder::new(Bytes::from_static(bytes)).term().unwrap();
            assert_eq!(ControlMessage::from_term(t).unwrap(), c);
        }
        let send_tt: &[u8] = &[
            131, 104, 4, 97, 12, 119, 0, 88, 119, 3, 99, 64, 100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7, 119,
            3, 116, 111, 107,
        ];
        let t = Decoder::new(Bytes::from_static(send_tt)).term().unwrap();
        let c = C::SendTt {
            to: pid2(),
            trace_token: Term::atom("tok"),
        };
        assert_eq!(ControlMessage::from_term(t).unwrap(), c);
        let mut out = Vec::new();
        c.encode_body_to(&mut out).unwrap();
        assert_eq!(out, send_tt[1..]);
        let exit_tt: &[u8] = &[
            131, 104, 5, 97, 13, 88, 119, 3, 97, 64, 98, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1, 88, 119, 3, 99,
            64, 100, 0, 0, 0, 81, 0, 0, 0, 2, 0, 0, 0, 7, 119, 3, 116, 111, 107, 119, 6, 110, 111, 114, 109,
            97, 108,
        ];
        let t = Decoder::new(Bytes::from_static(exit_tt)).term().unwrap();
        assert_eq!(
            ControlMessage::from_term(t).unwrap(),
            C::ExitTt {
                from: pid1(),
                to: pid2(),
                trace_token: Term::atom("tok"),
                reason: Term::atom("normal")
            }
        );
    }
}

/// Every variant encodes to bytes that the term codec reads back to the same message, and
/// to the same bytes as encoding its term.
#[test]
fn byte_round_trip_of_every_variant() {
    for c in every_variant() {
        let mut direct = Vec::new();
        c.encode_body_to(&mut direct).unwrap();
        let mut via_term = Vec::new();
        beamlink_term::etf::encode_body_to(&c.to_term(), &mut via_term).unwrap();
        let t = Decoder::new(Bytes::from(direct.clone())).term_body().unwrap();
        assert_eq!(ControlMessage::from_term(t).as_ref(), Ok(&c), "{}", c.name());
        assert_eq!(
            direct,
            via_term,
            "{}: direct encoding differs from the term codec's",
            c.name()
        );
    }
}

#[test]
fn unencodable_values_are_errors() {
    let long = Atom::new(&"x".repeat(256));
    let mut out = Vec::new();
    assert!(ControlMessage::RegSend {
        from: pid1(),
        to_name: long
    }
    .encode_body_to(&mut out)
    .is_err());
    let bad_ref = Reference {
        node: Atom::new("a@b"),
        creation: 1,
        id: vec![],
    };
    assert!(ControlMessage::AliasSend {
        from: pid1(),
        alias: bad_ref
    }
    .encode_body_to(&mut out)
    .is_err());
}
