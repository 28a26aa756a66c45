//! The benchmark corpus, shared by the criterion benchmark (`codec.rs`) and the
//! instruction-count harness (`codec_ops.rs`) so both measure the same inputs.

use beamlink_term::{Atom, Pid, Term};

/// `{6, Pid, '', worker}`: the shape of a distribution REG_SEND control message.
pub fn control_tuple() -> Term {
    let pid = Pid {
        node: Atom::new("app@host.example"),
        id: 91,
        serial: 0,
        creation: 1700000000,
    };
    Term::tuple(vec![
        Term::Int(6),
        Term::Pid(pid),
        Term::atom(""),
        Term::atom("worker"),
    ])
}

/// A map of about 1 KiB: atom keys, mixed values, the way a status message looks.
pub fn kib_map() -> Term {
    let mut pairs = Vec::new();
    for i in 0..24 {
        let key = Term::atom(&format!("field_{i}"));
        let value = match i % 6 {
            0 => Term::Int(i * 1000),
            1 => Term::binary(format!("value number {i} with some text").into_bytes()),
            2 => Term::tuple(vec![Term::atom("ok"), Term::Int(i), Term::Float(i as f64 * 0.5)]),
            3 => Term::list((0..5).map(|j| Term::Int(j * 300)).collect::<Vec<_>>()),
            4 => Term::atom("undefined"),
            _ => Term::map(vec![
                (Term::atom("nested"), Term::Int(i)),
                (Term::atom("flag"), Term::atom("true")),
            ]),
        };
        pairs.push((key, value));
    }
    Term::map(pairs)
}

/// A binary of 1 MiB.
pub fn mib_binary() -> Term {
    Term::binary((0..1 << 20).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>())
}

/// A list of 10,000 integers, most of them past 255 (LIST_EXT of INTEGER_EXT).
pub fn int_list() -> Term {
    Term::list((0..10_000).map(|i| Term::Int(i * 7)).collect::<Vec<_>>())
}

/// Every case, by name.
pub fn corpus() -> Vec<(&'static str, Term)> {
    vec![
        ("control_tuple", control_tuple()),
        ("map_1kib", kib_map()),
        ("binary_1mib", mib_binary()),
        ("int_list_10k", int_list()),
    ]
}
