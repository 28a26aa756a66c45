//! Property: printing a term and parsing the text gives the same term back.

mod common;

use beamlink_term::{text, Term};
use common::*;
use proptest::prelude::*;

/// The term as the parser reads it back: pids, ports and references lose their creation.
fn without_creation(t: &Term) -> Term {
    match t {
        Term::Pid(p) => Term::Pid(beamlink_term::Pid {
            creation: 0,
            ..p.clone()
        }),
        Term::Port(p) => Term::Port(beamlink_term::Port {
            creation: 0,
            ..p.clone()
        }),
        Term::Reference(r) => Term::from(beamlink_term::Reference {
            creation: 0,
            ..(**r).clone()
        }),
        Term::List(l) => Term::List(l.iter().map(without_creation).collect()),
        Term::ImproperList(l, tail) => Term::ImproperList(
            l.iter().map(without_creation).collect(),
            Box::new(without_creation(tail)),
        ),
        Term::Tuple(l) => Term::Tuple(l.iter().map(without_creation).collect()),
        Term::Map(m) => Term::map(m.iter().map(|(k, v)| (without_creation(k), without_creation(v)))),
        t => t.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn data_terms_read_back_exactly(t in arb_plain_term()) {
        let s = t.to_string();
        let back = text::parse(&s);
        prop_assert_eq!(back.as_ref(), Ok(&t), "printed as {}", s);
        // With a trailing dot, whitespace and a comment it is the same term.
        let dotted = format!("  {s} . % done\n");
        prop_assert_eq!(text::parse(&dotted), Ok(t));
    }

    #[test]
    fn identifiers_read_back_without_creation(t in arb_term()) {
        let s = t.to_string();
        prop_assert_eq!(text::parse(&s), Ok(without_creation(&t)), "printed as {}", s);
    }

    #[test]
    fn floats_read_back_exactly(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        let s = Term::Float(x).to_string();
        match text::parse(&s) {
            Ok(Term::Float(y)) => prop_assert_eq!(x.to_bits(), y.to_bits(), "{}", s),
            other => prop_assert!(false, "{} read back as {:?}", s, other),
        }
    }

    #[test]
    fn any_input_is_an_answer_not_a_panic(s in "\\PC{0,40}") {
        let _ = text::parse(&s);
    }

    #[test]
    fn mangled_terms_do_not_panic(t in arb_plain_term(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let s = t.to_string();
        let mut bytes = s.into_bytes();
        if !bytes.is_empty() {
            let i = cut.index(bytes.len());
            bytes[i] = byte;
            bytes.truncate(bytes.len() - i / 2);
        }
        if let Ok(s) = String::from_utf8(bytes) {
            if let Err(e) = text::parse(&s) {
                prop_assert!(e.offset <= s.len());
            }
        }
    }
}
