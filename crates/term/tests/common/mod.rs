//! Shared test strategies for beamlink-term's integration tests.
//!
//! `arb_term()` generates arbitrary *data* terms: every kind the [`Term`] type has except
//! local funs (which only exist as bytes a BEAM produced), nested, with big integers,
//! finite floats, Unicode and Latin-1 atoms, improper lists, bitstrings, maps, pids,
//! ports, references and external funs. Every generated term is already normalised the
//! way the decoder produces it (integers that fit `i64` are `Int`, bitstrings of whole
//! bytes are binaries, improper lists have a non-list tail, map keys are unique), so a
//! round trip can be checked with `==`.
//!
//! Use it from a test file with `mod common;` and `use common::*;`.
#![allow(dead_code)]

use beamlink_term::{Atom, BigInt, ExternalFun, Map, Pid, Port, Reference, Term};
use num_bigint::Sign;
use proptest::prelude::*;

/// Atom text: mostly short ASCII identifiers, sometimes any Unicode (up to 255
/// characters, Erlang's limit), sometimes Latin-1 only, sometimes empty.
pub fn arb_atom_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-zA-Z0-9_@]{0,12}",
        2 => "\\PC{0,16}",
        1 => "[\\x20-\\x7e\\u{a0}-\\u{ff}]{0,20}",
        1 => Just(String::new()),
        1 => "[a-zA-Z\\u{430}-\\u{44f}\\u{1F600}-\\u{1F64F}]{250,255}",
    ]
}

/// An atom from [`arb_atom_text`].
pub fn arb_atom() -> impl Strategy<Value = Atom> {
    arb_atom_text().prop_map(|s| Atom::new(&s))
}

/// A node name as pids, ports and references carry it.
pub fn arb_node() -> impl Strategy<Value = Atom> {
    prop_oneof![
        Just(Atom::new("nonode@nohost")),
        "[a-z][a-z0-9_]{0,8}@[a-z][a-z0-9.-]{0,10}".prop_map(|s| Atom::new(&s)),
    ]
}

/// Integers of every size: small, i32, i64, and big ones up to a few hundred bits.
pub fn arb_integer() -> impl Strategy<Value = Term> {
    prop_oneof![
        4 => (0i64..=255).prop_map(Term::Int),
        3 => any::<i32>().prop_map(|i| Term::Int(i as i64)),
        3 => any::<i64>().prop_map(Term::Int),
        2 => (any::<bool>(), proptest::collection::vec(any::<u32>(), 1..12)).prop_map(|(neg, digits)| {
            let sign = if neg { Sign::Minus } else { Sign::Plus };
            Term::big(BigInt::new(sign, digits))
        }),
        1 => prop_oneof![
            Just(Term::from(i64::MAX as i128 + 1)),
            Just(Term::from(i64::MIN as i128 - 1)),
            Just(Term::Int(i64::MIN)),
            Just(Term::Int(i64::MAX)),
            Just(Term::from(u64::MAX)),
        ],
    ]
}

/// Finite floats (Erlang has no NaN or infinities), including `-0.0` and subnormals.
pub fn arb_float() -> impl Strategy<Value = Term> {
    prop_oneof![
        4 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Term::Float),
        1 => (-1000i32..1000).prop_map(|i| Term::Float(i as f64 / 8.0)),
        1 => prop_oneof![
            Just(Term::Float(0.0)),
            Just(Term::Float(-0.0)),
            Just(Term::Float(f64::MAX)),
            Just(Term::Float(f64::MIN_POSITIVE)),
            Just(Term::Float(5e-324)),
        ],
    ]
}

/// A binary (sometimes empty) or a bitstring whose last byte is partial.
pub fn arb_bitstring() -> impl Strategy<Value = Term> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Term::binary),
        2 => (proptest::collection::vec(any::<u8>(), 1..20), 1u8..=7)
            .prop_map(|(data, bits)| Term::bitstring(data, bits)),
    ]
}

pub fn arb_pid() -> impl Strategy<Value = Pid> {
    (arb_node(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(node, id, serial, creation)| Pid {
        node,
        id,
        serial,
        creation,
    })
}

pub fn arb_port() -> impl Strategy<Value = Port> {
    (
        arb_node(),
        prop_oneof![any::<u32>().prop_map(u64::from), any::<u64>()],
        any::<u32>(),
    )
        .prop_map(|(node, id, creation)| Port { node, id, creation })
}

pub fn arb_reference() -> impl Strategy<Value = Reference> {
    (
        arb_node(),
        any::<u32>(),
        proptest::collection::vec(any::<u32>(), 1..=5),
    )
        .prop_map(|(node, creation, id)| Reference { node, creation, id })
}

pub fn arb_export() -> impl Strategy<Value = ExternalFun> {
    (arb_atom(), arb_atom(), any::<u8>()).prop_map(|(module, function, arity)| ExternalFun {
        module,
        function,
        arity,
    })
}

/// A term that contains no other term.
pub fn arb_leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        3 => arb_atom().prop_map(Term::Atom),
        4 => arb_integer(),
        2 => arb_float(),
        2 => arb_bitstring(),
        1 => Just(Term::nil()),
        1 => arb_pid().prop_map(Term::Pid),
        1 => arb_port().prop_map(Term::Port),
        1 => arb_reference().prop_map(Term::from),
        1 => arb_export().prop_map(Term::from),
    ]
}

/// A leaf without pids, ports, references or funs: terms whose text form reads back
/// to the same term on any node.
pub fn arb_plain_leaf() -> impl Strategy<Value = Term> {
    prop_oneof![
        3 => arb_atom().prop_map(Term::Atom),
        4 => arb_integer(),
        2 => arb_float(),
        2 => arb_bitstring(),
        1 => Just(Term::nil()),
    ]
}

/// Wraps a leaf strategy into nested tuples, lists (proper, improper, strings) and maps.
pub fn nest(leaf: BoxedStrategy<Term>) -> impl Strategy<Value = Term> {
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            3 => proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::Tuple),
            3 => proptest::collection::vec(inner.clone(), 0..8).prop_map(Term::List),
            1 => (proptest::collection::vec(inner.clone(), 1..6), inner.clone())
                .prop_map(|(elems, tail)| Term::improper(elems, tail)),
            1 => proptest::collection::vec(0i64..=255, 0..30)
                .prop_map(|v| Term::List(v.into_iter().map(Term::Int).collect())),
            1 => proptest::collection::vec(-3i64..300, 0..10)
                .prop_map(|v| Term::List(v.into_iter().map(Term::Int).collect())),
            2 => proptest::collection::vec((inner.clone(), inner), 0..6)
                .prop_map(|pairs| Term::Map(Map::from_pairs(pairs))),
        ]
    })
}

/// Arbitrary data terms of every kind (except local funs), nested.
pub fn arb_term() -> impl Strategy<Value = Term> {
    nest(arb_leaf().boxed())
}

/// Like [`arb_term`] but without pids, ports, references and funs.
pub fn arb_plain_term() -> impl Strategy<Value = Term> {
    nest(arb_plain_leaf().boxed())
}
