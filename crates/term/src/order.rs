//! Exact equality (`=:=`), term order and hashing for [`Term`].
//!
//! Order of kinds, as in Erlang: number < atom < reference < fun < port < pid < tuple <
//! map < nil < list < bitstring. Numbers compare by value; an integer and a float of
//! equal value are not `=:=`, so the integer sorts first. `0.0` and `-0.0` are equal
//! (OTP 25 semantics).

use crate::term::{Map, Term};
use num_bigint::Sign;
use num_traits::ToPrimitive;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

fn kind_rank(t: &Term) -> u8 {
    match t {
        Term::Int(_) | Term::BigInt(_) | Term::Float(_) => 0,
        Term::Atom(_) => 1,
        Term::Reference(_) => 2,
        Term::ExternalFun(_) | Term::InternalFun(_) => 3,
        Term::Port(_) => 4,
        Term::Pid(_) => 5,
        Term::Tuple(_) => 6,
        Term::Map(_) => 7,
        Term::List(l) if l.is_empty() => 8,
        Term::List(_) | Term::ImproperList(..) => 9,
        Term::Binary(_) | Term::BitBinary(_) => 10,
    }
}

fn cmp_numbers(a: &Term, b: &Term) -> Ordering {
    use Term::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (BigInt(x), BigInt(y)) => x.cmp(y),
        (Int(_), BigInt(y)) => {
            if y.sign() == Sign::Minus {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (BigInt(_), Int(_)) => cmp_numbers(b, a).reverse(),
        (Float(x), Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Float(_), _) => cmp_numbers(b, a).reverse(),
        (i, Float(y)) => {
            let x = match i {
                Int(v) => *v as f64,
                BigInt(v) => v.to_f64().unwrap_or(0.0),
                _ => 0.0,
            };
            // Equal by value: the integer sorts first so that `=:=` stays exact.
            x.partial_cmp(y).unwrap_or(Ordering::Equal).then(Ordering::Less)
        }
        _ => Ordering::Equal,
    }
}

fn cmp_bits(a: &[u8], abits: u8, b: &[u8], bbits: u8) -> Ordering {
    // Compare bit by bit: whole bytes first, then the partial tails.
    let full = |d: &[u8], bits: u8| {
        if bits == 8 {
            d.len()
        } else {
            d.len().saturating_sub(1)
        }
    };
    let (af, bf) = (full(a, abits), full(b, bbits));
    let common = af.min(bf);
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        o => return o,
    }
    let alen = af as u64 * 8 + if abits == 8 { 0 } else { abits as u64 };
    let blen = bf as u64 * 8 + if bbits == 8 { 0 } else { bbits as u64 };
    let mut pos = common as u64 * 8;
    while pos < alen && pos < blen {
        let bit = |d: &[u8], p: u64| (d[(p / 8) as usize] >> (7 - (p % 8))) & 1;
        match bit(a, pos).cmp(&bit(b, pos)) {
            Ordering::Equal => pos += 1,
            o => return o,
        }
    }
    alen.cmp(&blen)
}

fn bits_of(t: &Term) -> (&[u8], u8) {
    match t {
        Term::Binary(b) => (b, 8),
        Term::BitBinary(bb) => (&bb.data, bb.bits),
        _ => (&[], 8),
    }
}

fn cmp_lists(a: &Term, b: &Term) -> Ordering {
    let (ae, at) = split_list(a);
    let (be, bt) = split_list(b);
    for (x, y) in ae.iter().zip(be.iter()) {
        match x.cmp(y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    let n = ae.len().min(be.len());
    // What is left of each side: more cells (a non-empty list, rank 9), or the tail
    // (nil when proper). Tails are never lists in normalised terms.
    let rest_rank = |elems: &[Term], tail: Option<&Term>| -> Option<u8> {
        if elems.len() > n {
            Some(9)
        } else {
            tail.map(kind_rank).or(Some(8))
        }
    };
    match (ae.len() > n, be.len() > n, at, bt) {
        (false, false, None, None) => Ordering::Equal,
        (false, false, Some(x), Some(y)) => x.cmp(y),
        (false, false, None, Some(y)) => Term::List(Vec::new()).cmp(y),
        (false, false, Some(x), None) => x.cmp(&Term::List(Vec::new())),
        _ => {
            let (ra, rb) = (rest_rank(ae, at), rest_rank(be, bt));
            match ra.cmp(&rb) {
                Ordering::Equal => {
                    // Only with a list as tail (not normalised): compare what remains.
                    let rest = |elems: &[Term], tail: Option<&Term>| -> Term {
                        let tail = tail.cloned().unwrap_or(Term::List(Vec::new()));
                        Term::improper(elems[n..].to_vec(), tail)
                    };
                    rest(ae, at).cmp(&rest(be, bt))
                }
                o => o,
            }
        }
    }
}

fn split_list(t: &Term) -> (&[Term], Option<&Term>) {
    match t {
        Term::List(l) => (l, None),
        Term::ImproperList(l, tail) => (l, Some(tail)),
        _ => (&[], None),
    }
}

fn cmp_maps(a: &Map, b: &Map) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| {
        let (sa, sb) = (a.sorted(), b.sorted());
        for (x, y) in sa.iter().zip(sb.iter()) {
            match x.0.cmp(&y.0) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        for (x, y) in sa.iter().zip(sb.iter()) {
            match x.1.cmp(&y.1) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    })
}

impl Ord for Term {
    fn cmp(&self, other: &Term) -> Ordering {
        use Term::*;
        let (ra, rb) = (kind_rank(self), kind_rank(other));
        if ra != rb {
            return ra.cmp(&rb);
        }
        match (self, other) {
            (Int(_) | BigInt(_) | Float(_), _) => cmp_numbers(self, other),
            (Atom(a), Atom(b)) => a.cmp(b),
            (Reference(a), Reference(b)) => a.cmp(b),
            (ExternalFun(a), ExternalFun(b)) => a.cmp(b),
            (InternalFun(_), ExternalFun(_)) => Ordering::Less,
            (ExternalFun(_), InternalFun(_)) => Ordering::Greater,
            (InternalFun(a), InternalFun(b)) => a.cmp(b),
            (Port(a), Port(b)) => a.cmp(b),
            (Pid(a), Pid(b)) => a.cmp(b),
            (Tuple(a), Tuple(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Map(a), Map(b)) => cmp_maps(a, b),
            (List(_) | ImproperList(..), _) => cmp_lists(self, other),
            (Binary(_) | BitBinary(_), _) => {
                let ((da, ba), (db, bb)) = (bits_of(self), bits_of(other));
                cmp_bits(da, ba, db, bb)
            }
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for Term {
    fn partial_cmp(&self, other: &Term) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Term {
    fn eq(&self, other: &Term) -> bool {
        use Term::*;
        match (self, other) {
            (Atom(a), Atom(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Binary(a), Binary(b)) => a == b,
            (Tuple(a), Tuple(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Pid(a), Pid(b)) => a == b,
            (Reference(a), Reference(b)) => a == b,
            (Map(a), Map(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v)),
            _ => self.cmp(other) == Ordering::Equal,
        }
    }
}
impl Eq for Term {}

impl PartialEq for Map {
    fn eq(&self, other: &Map) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}
impl Eq for Map {}

impl Hash for Term {
    fn hash<H: Hasher>(&self, h: &mut H) {
        use Term::*;
        kind_rank(self).hash(h);
        match self {
            Atom(a) => a.hash(h),
            Int(i) => i.hash(h),
            BigInt(b) => b.hash(h),
            Float(f) => (if *f == 0.0 { 0.0f64 } else { *f }).to_bits().hash(h),
            Binary(b) => b.hash(h),
            BitBinary(b) => b.hash(h),
            List(l) => l.hash(h),
            ImproperList(l, t) => {
                l.hash(h);
                t.hash(h)
            }
            Tuple(t) => t.hash(h),
            // Order-independent: the number of pairs only (equal maps must hash equal).
            Map(m) => m.len().hash(h),
            Pid(p) => p.hash(h),
            Port(p) => p.hash(h),
            Reference(r) => r.hash(h),
            ExternalFun(f) => f.hash(h),
            InternalFun(f) => f.hash(h),
        }
    }
}
