//! Byte-for-byte: beamlink encodes these terms exactly as OTP 25's
//! `term_to_binary(T, [{minor_version, 2}])` did (bytes captured from a real `erl`), and
//! decodes Erlang's bytes back to the same terms.

#![allow(clippy::approx_constant)] // 3.14 is a test value, not an approximation of pi

use beamlink_term::etf::{decode, encode};
use beamlink_term::{Atom, BigInt, ExternalFun, Map, Pid, Port, Reference, Term};

fn node() -> Atom {
    Atom::new("a@host")
}

fn cases() -> Vec<(&'static str, Term, &'static [u8])> {
    let pid = Pid {
        node: node(),
        id: 1,
        serial: 2,
        creation: 3,
    };
    vec![
        (
            "control tuple {6, Pid, '', worker}",
            Term::tuple(vec![
                Term::Int(6),
                Term::Pid(pid),
                Term::atom(""),
                Term::atom("worker"),
            ]),
            &[
                131, 104, 4, 97, 6, 88, 119, 6, 97, 64, 104, 111, 115, 116, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
                3, 119, 0, 119, 6, 119, 111, 114, 107, 101, 114,
            ],
        ),
        (
            "map #{a => 1, b => [1,2,3], c => <<\"x\">>}, built in key order as Erlang writes it",
            Term::map(vec![
                (Term::atom("a"), Term::Int(1)),
                (Term::atom("b"), Term::charlist("\u{1}\u{2}\u{3}")),
                (Term::atom("c"), Term::binary(&b"x"[..])),
            ]),
            &[
                131, 116, 0, 0, 0, 3, 119, 1, 97, 97, 1, 119, 1, 98, 107, 0, 3, 1, 2, 3, 119, 1, 99, 109, 0,
                0, 0, 1, 120,
            ],
        ),
        (
            "[-1, 2] is a LIST_EXT",
            Term::list(vec![Term::Int(-1), Term::Int(2)]),
            &[131, 108, 0, 0, 0, 2, 98, 255, 255, 255, 255, 97, 2, 106],
        ),
        (
            "1 bsl 64",
            Term::big(BigInt::from(1u8) << 64usize),
            &[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        (
            "-(1 bsl 64)",
            Term::big(-(BigInt::from(1u8) << 64usize)),
            &[131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        ),
        (
            "3.14",
            Term::Float(3.14), // what Erlang wrote for 3.14, not pi
            &[131, 70, 64, 9, 30, 184, 81, 235, 133, 31],
        ),
        (
            "<<1,2:3>>",
            Term::bitstring(vec![1, 0x40], 3),
            &[131, 77, 0, 0, 0, 2, 3, 1, 64],
        ),
        (
            "[1,2|3]",
            Term::improper(vec![Term::Int(1), Term::Int(2)], Term::Int(3)),
            &[131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3],
        ),
        ("\"abc\"", Term::charlist("abc"), &[131, 107, 0, 3, 97, 98, 99]),
        (
            "reference",
            Term::from(Reference {
                node: node(),
                creation: 3,
                id: vec![1, 2, 3],
            }),
            &[
                131, 90, 0, 3, 119, 6, 97, 64, 104, 111, 115, 116, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0,
                0, 3,
            ],
        ),
        (
            "port with a 41-bit id: V4_PORT_EXT",
            Term::Port(Port {
                node: node(),
                id: 1 << 40,
                creation: 3,
            }),
            &[
                131, 120, 119, 6, 97, 64, 104, 111, 115, 116, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3,
            ],
        ),
        (
            "port: NEW_PORT_EXT",
            Term::Port(Port {
                node: node(),
                id: 5,
                creation: 3,
            }),
            &[
                131, 89, 119, 6, 97, 64, 104, 111, 115, 116, 0, 0, 0, 5, 0, 0, 0, 3,
            ],
        ),
        (
            "fun lists:map/2",
            Term::from(ExternalFun {
                module: Atom::new("lists"),
                function: Atom::new("map"),
                arity: 2,
            }),
            &[
                131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2,
            ],
        ),
        (
            "'héllo'",
            Term::atom("héllo"),
            &[131, 119, 6, 104, 195, 169, 108, 108, 111],
        ),
        (
            "{{}, [], <<>>, #{}}",
            Term::tuple(vec![
                Term::tuple(vec![]),
                Term::nil(),
                Term::binary(Vec::new()),
                Term::Map(Map::new()),
            ]),
            &[131, 104, 4, 104, 0, 106, 109, 0, 0, 0, 0, 116, 0, 0, 0, 0],
        ),
        (
            "integer widths",
            Term::list(
                [
                    0i64,
                    255,
                    256,
                    -256,
                    2147483647,
                    -2147483648,
                    2147483648,
                    -2147483649,
                ]
                .into_iter()
                .map(Term::Int)
                .collect::<Vec<_>>(),
            ),
            &[
                131, 108, 0, 0, 0, 8, 97, 0, 97, 255, 98, 0, 0, 1, 0, 98, 255, 255, 255, 0, 98, 127, 255,
                255, 255, 98, 128, 0, 0, 0, 110, 4, 0, 0, 0, 0, 128, 110, 4, 1, 1, 0, 0, 128, 106,
            ],
        ),
    ]
}

#[test]
fn encoding_matches_term_to_binary_byte_for_byte() {
    for (what, term, erlang) in cases() {
        assert_eq!(encode(&term).expect(what), erlang, "{what}");
    }
}

#[test]
fn erlang_bytes_decode_to_the_expected_terms() {
    for (what, term, erlang) in cases() {
        assert_eq!(decode(erlang).expect(what), term, "{what}");
    }
}
