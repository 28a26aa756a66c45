//! The Erlang term.

use crate::{Atom, BigInt, ExternalFun, InternalFun, Pid, Port, Reference};
use bytes::Bytes;

/// An Erlang term.
///
/// Integers that fit in `i64` are always [`Term::Int`]; [`Term::BigInt`] holds only values
/// outside that range (constructors and the decoder normalise), so matching on `Int` is
/// enough for every ordinary integer.
///
/// Lists: [`Term::List`] is a proper list (an empty vector is `[]`, nil); an improper list
/// such as `[1 | 2]` is [`Term::ImproperList`], whose head is never empty and whose tail is
/// never a list. Strings (`"abc"`) are lists of integers, as in Erlang.
///
/// Equality, ordering and hashing follow Erlang's exact equality (`=:=`) and term order:
/// `1` and `1.0` differ, maps compare regardless of the order their pairs were written in.
///
/// Layout: 40 bytes, a one-byte tag then the largest payload (32 bytes); the rare terms
/// whose payload would be larger (bit binaries, references, external funs) are boxed.
/// Decoded terms, their copies and their drops move fewer bytes, and a match on the
/// kind of a term reads one byte. The variants that own nothing on the heap come last,
/// so that dropping one (every element of a long list) is one range check.
#[derive(Debug, Clone)]
#[repr(u8)]
pub enum Term {
    BigInt(BigInt),
    Binary(Bytes),
    BitBinary(Box<BitBinary>),
    List(Vec<Term>),
    ImproperList(Vec<Term>, Box<Term>),
    Tuple(Vec<Term>),
    Map(Map),
    Reference(Box<Reference>),
    ExternalFun(Box<ExternalFun>),
    InternalFun(Box<InternalFun>),
    Atom(Atom),
    Int(i64),
    Float(f64),
    Pid(Pid),
    Port(Port),
}

/// A bitstring whose length is not a whole number of bytes: `<<1,2:3>>`.
///
/// `bits` (1..=7) is how many high-order bits of the last byte of `data` belong to it;
/// the other bits of that byte are zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitBinary {
    pub data: Bytes,
    pub bits: u8,
}

/// An Erlang map: key/value pairs kept in the order they were decoded or inserted.
///
/// Keys are unique. Lookups are linear, which for the small maps that messages carry is
/// faster than hashing; [`Map::sorted`] gives the pairs in Erlang term order.
#[derive(Debug, Clone, Default)]
pub struct Map(pub(crate) Vec<(Term, Term)>);

impl Map {
    /// An empty map.
    pub fn new() -> Map {
        Map(Vec::new())
    }

    /// A map from pairs; a later pair with an equal key replaces an earlier one, as
    /// `maps:from_list/1` does.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Term, Term)>) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(k, v);
        }
        m
    }

    /// Pairs exactly as given, without checking for duplicate keys. For decoders that
    /// check uniqueness themselves.
    pub(crate) fn from_unique_pairs(pairs: Vec<(Term, Term)>) -> Map {
        Map(pairs)
    }

    /// Inserts or replaces the value under `key`.
    pub fn insert(&mut self, key: Term, value: Term) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The value under `key`.
    pub fn get(&self, key: &Term) -> Option<&Term> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under the atom key `key`.
    pub fn get_atom(&self, key: &str) -> Option<&Term> {
        self.0
            .iter()
            .find(|(k, _)| matches!(k, Term::Atom(a) if a.as_str() == key))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs in the order they were inserted or decoded.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &(Term, Term)> {
        self.0.iter()
    }

    /// The pairs sorted by key in Erlang term order.
    pub fn sorted(&self) -> Vec<&(Term, Term)> {
        let mut v: Vec<&(Term, Term)> = self.0.iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    pub fn into_pairs(self) -> Vec<(Term, Term)> {
        self.0
    }
}

impl Term {
    /// The atom `name`.
    pub fn atom(name: &str) -> Term {
        Term::Atom(Atom::new(name))
    }

    /// A tuple of these elements.
    pub fn tuple(elems: impl Into<Vec<Term>>) -> Term {
        Term::Tuple(elems.into())
    }

    /// A proper list of these elements.
    pub fn list(elems: impl Into<Vec<Term>>) -> Term {
        Term::List(elems.into())
    }

    /// `[]`.
    pub fn nil() -> Term {
        Term::List(Vec::new())
    }

    /// A binary holding these bytes.
    pub fn binary(bytes: impl Into<Bytes>) -> Term {
        Term::Binary(bytes.into())
    }

    /// A map from pairs (later duplicates win).
    pub fn map(pairs: impl IntoIterator<Item = (Term, Term)>) -> Term {
        Term::Map(Map::from_pairs(pairs))
    }

    /// An Erlang string: the list of the code points of `s`.
    pub fn charlist(s: &str) -> Term {
        Term::List(s.chars().map(|c| Term::Int(c as i64)).collect())
    }

    /// An integer, normalised: `Int` when it fits in `i64`, `BigInt` otherwise.
    pub fn big(n: BigInt) -> Term {
        use num_traits::ToPrimitive;
        match n.to_i64() {
            Some(i) => Term::Int(i),
            None => Term::BigInt(n),
        }
    }

    /// A list `[elems... | tail]`, normalised: a list tail is appended, `[]` makes it proper.
    pub fn improper(mut elems: Vec<Term>, tail: Term) -> Term {
        match tail {
            Term::List(rest) => {
                elems.extend(rest);
                Term::List(elems)
            }
            Term::ImproperList(rest, t) => {
                elems.extend(rest);
                Term::ImproperList(elems, t)
            }
            t if elems.is_empty() => t,
            t => Term::ImproperList(elems, Box::new(t)),
        }
    }

    /// A bitstring of `data` where only the high `bits` of the last byte count; normalises
    /// to a binary when `bits` is 8 (or the data is empty) and clears the unused low bits.
    pub fn bitstring(data: impl Into<Bytes>, bits: u8) -> Term {
        let data: Bytes = data.into();
        if data.is_empty() || bits == 0 || bits >= 8 {
            return Term::Binary(data);
        }
        let last = data[data.len() - 1];
        let mask = 0xFFu8 << (8 - bits);
        if last & !mask != 0 {
            let mut v = data.to_vec();
            let n = v.len();
            v[n - 1] &= mask;
            Term::BitBinary(Box::new(BitBinary { data: v.into(), bits }))
        } else {
            Term::BitBinary(Box::new(BitBinary { data, bits }))
        }
    }

    // ---- accessors: `Some` when the term is of that kind ----

    pub fn as_atom(&self) -> Option<&Atom> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// `true` when this is the atom `name`.
    pub fn is_atom(&self, name: &str) -> bool {
        matches!(self, Term::Atom(a) if a.as_str() == name)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Term::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            Term::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// The elements of a tuple of exactly `N` elements, for `let [a, b] = t.as_tuple_n()?`.
    pub fn as_tuple_n<const N: usize>(&self) -> Option<&[Term; N]> {
        self.as_tuple().and_then(|t| t.try_into().ok())
    }

    /// The elements of a proper list (`[]` gives an empty slice).
    pub fn as_list(&self) -> Option<&[Term]> {
        match self {
            Term::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Term::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_pid(&self) -> Option<&Pid> {
        match self {
            Term::Pid(p) => Some(p),
            _ => None,
        }
    }

    pub fn as_reference(&self) -> Option<&Reference> {
        match self {
            Term::Reference(r) => Some(r),
            _ => None,
        }
    }

    /// The text of a string-like term: a binary holding UTF-8, or a list of code points.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_owned),
            Term::List(l) => l
                .iter()
                .map(|t| {
                    t.as_i64()
                        .and_then(|i| u32::try_from(i).ok())
                        .and_then(char::from_u32)
                })
                .collect(),
            _ => None,
        }
    }

    /// `true` for `[]`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Term::List(l) if l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout the type's documentation promises: the decoder's memory bound and the
    /// codec's speed depend on it.
    #[test]
    fn a_term_is_40_bytes_and_an_optional_term_too() {
        assert_eq!(std::mem::size_of::<Term>(), 40);
        assert_eq!(std::mem::size_of::<Option<Term>>(), 40);
    }
}
