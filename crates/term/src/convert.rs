//! Conversions between [`Term`] and Rust values.

use crate::{Atom, BigInt, BitBinary, ExternalFun, Map, Pid, Reference, Term};
use bytes::Bytes;

macro_rules! from_small_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Term {
            fn from(v: $t) -> Term { Term::Int(v as i64) }
        }
    )*};
}
from_small_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Term {
    fn from(v: u64) -> Term {
        match i64::try_from(v) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::BigInt(BigInt::from(v)),
        }
    }
}
impl From<i128> for Term {
    fn from(v: i128) -> Term {
        Term::big(BigInt::from(v))
    }
}
impl From<u128> for Term {
    fn from(v: u128) -> Term {
        Term::big(BigInt::from(v))
    }
}
impl From<usize> for Term {
    fn from(v: usize) -> Term {
        Term::from(v as u64)
    }
}
impl From<BigInt> for Term {
    fn from(v: BigInt) -> Term {
        Term::big(v)
    }
}
impl From<f64> for Term {
    fn from(v: f64) -> Term {
        Term::Float(v)
    }
}
impl From<bool> for Term {
    fn from(v: bool) -> Term {
        Term::atom(if v { "true" } else { "false" })
    }
}
impl From<Atom> for Term {
    fn from(v: Atom) -> Term {
        Term::Atom(v)
    }
}
impl From<Pid> for Term {
    fn from(v: Pid) -> Term {
        Term::Pid(v)
    }
}
impl From<Reference> for Term {
    fn from(v: Reference) -> Term {
        Term::Reference(Box::new(v))
    }
}
impl From<ExternalFun> for Term {
    fn from(v: ExternalFun) -> Term {
        Term::ExternalFun(Box::new(v))
    }
}
impl From<BitBinary> for Term {
    /// As [`Term::bitstring`]: a whole number of bytes becomes a binary.
    fn from(v: BitBinary) -> Term {
        Term::bitstring(v.data, v.bits)
    }
}
impl From<Map> for Term {
    fn from(v: Map) -> Term {
        Term::Map(v)
    }
}
/// A Rust string becomes a UTF-8 binary, as Elixir strings are.
impl From<&str> for Term {
    fn from(v: &str) -> Term {
        Term::Binary(Bytes::copy_from_slice(v.as_bytes()))
    }
}
impl From<String> for Term {
    fn from(v: String) -> Term {
        Term::Binary(Bytes::from(v.into_bytes()))
    }
}
impl From<&[u8]> for Term {
    fn from(v: &[u8]) -> Term {
        Term::Binary(Bytes::copy_from_slice(v))
    }
}
impl From<Bytes> for Term {
    fn from(v: Bytes) -> Term {
        Term::Binary(v)
    }
}
impl<T: Into<Term>> From<Vec<T>> for Term {
    fn from(v: Vec<T>) -> Term {
        Term::List(v.into_iter().map(Into::into).collect())
    }
}
impl<T: Into<Term>> From<Option<T>> for Term {
    /// `None` is the atom `undefined`, as Erlang APIs spell absence.
    fn from(v: Option<T>) -> Term {
        match v {
            Some(t) => t.into(),
            None => Term::atom("undefined"),
        }
    }
}
impl From<()> for Term {
    fn from(_: ()) -> Term {
        Term::Tuple(Vec::new())
    }
}

macro_rules! from_tuple {
    ($($n:ident),+) => {
        impl<$($n: Into<Term>),+> From<($($n,)+)> for Term {
            #[allow(non_snake_case)]
            fn from(($($n,)+): ($($n,)+)) -> Term {
                Term::Tuple(vec![$($n.into()),+])
            }
        }
    };
}
from_tuple!(A);
from_tuple!(A, B);
from_tuple!(A, B, C);
from_tuple!(A, B, C, D);
from_tuple!(A, B, C, D, E);
from_tuple!(A, B, C, D, E, F);
from_tuple!(A, B, C, D, E, F, G);
from_tuple!(A, B, C, D, E, F, G, H);

impl<K: Into<Term>, V: Into<Term>> From<std::collections::HashMap<K, V>> for Term {
    fn from(v: std::collections::HashMap<K, V>) -> Term {
        Term::Map(Map::from_pairs(v.into_iter().map(|(k, v)| (k.into(), v.into()))))
    }
}
impl<K: Into<Term>, V: Into<Term>> From<std::collections::BTreeMap<K, V>> for Term {
    fn from(v: std::collections::BTreeMap<K, V>) -> Term {
        Term::Map(Map::from_pairs(v.into_iter().map(|(k, v)| (k.into(), v.into()))))
    }
}

/// The term is not of the kind the conversion asked for.
#[derive(Debug, Clone, thiserror::Error)]
#[error("expected {expected}, got {got}")]
pub struct TryFromTermError {
    pub expected: &'static str,
    pub got: String,
}

fn wrong(expected: &'static str, t: &Term) -> TryFromTermError {
    let mut got = t.to_string();
    if got.len() > 80 {
        let mut cut = 77;
        while !got.is_char_boundary(cut) {
            cut -= 1;
        }
        got.truncate(cut);
        got.push_str("...");
    }
    TryFromTermError { expected, got }
}

impl TryFrom<Term> for i64 {
    type Error = TryFromTermError;
    fn try_from(t: Term) -> Result<i64, TryFromTermError> {
        t.as_i64().ok_or_else(|| wrong("an integer", &t))
    }
}
impl TryFrom<Term> for f64 {
    type Error = TryFromTermError;
    fn try_from(t: Term) -> Result<f64, TryFromTermError> {
        t.as_f64().ok_or_else(|| wrong("a float", &t))
    }
}
impl TryFrom<Term> for bool {
    type Error = TryFromTermError;
    fn try_from(t: Term) -> Result<bool, TryFromTermError> {
        if t.is_atom("true") {
            Ok(true)
        } else if t.is_atom("false") {
            Ok(false)
        } else {
            Err(wrong("true or false", &t))
        }
    }
}
impl TryFrom<Term> for String {
    type Error = TryFromTermError;
    /// From a UTF-8 binary or a list of code points (a charlist).
    fn try_from(t: Term) -> Result<String, TryFromTermError> {
        t.as_string()
            .ok_or_else(|| wrong("a string (UTF-8 binary or charlist)", &t))
    }
}
impl TryFrom<Term> for Atom {
    type Error = TryFromTermError;
    fn try_from(t: Term) -> Result<Atom, TryFromTermError> {
        match t {
            Term::Atom(a) => Ok(a),
            t => Err(wrong("an atom", &t)),
        }
    }
}
impl TryFrom<Term> for Pid {
    type Error = TryFromTermError;
    fn try_from(t: Term) -> Result<Pid, TryFromTermError> {
        match t {
            Term::Pid(p) => Ok(p),
            t => Err(wrong("a pid", &t)),
        }
    }
}
impl TryFrom<Term> for Vec<Term> {
    type Error = TryFromTermError;
    /// The elements of a proper list or of a tuple.
    fn try_from(t: Term) -> Result<Vec<Term>, TryFromTermError> {
        match t {
            Term::List(l) | Term::Tuple(l) => Ok(l),
            t => Err(wrong("a list or tuple", &t)),
        }
    }
}
