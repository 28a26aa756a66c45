//! Binary literals: the segments of `<<1, 2:3, "é"/utf8, 1.5/float>>` and the bit
//! string they build.
//!
//! A segment is `Value[:Size][/Type-Type...]` with a literal value (integer, character,
//! float or string) and a literal size. Types: `integer`, `float`, `utf8`, `utf16`,
//! `utf32`, `signed`, `unsigned`, `big`, `little`, `native` and `unit:N`. Little-endian
//! integers need a whole number of bytes; floats are 32 or 64 bits.

use super::lex::{BigIntOrSmall, Tok};
use super::parse::{int_term, Parser};
use super::ParseError;
use crate::{BigInt, Term};
use num_traits::{One, Signed, ToPrimitive};

/// Bits appended one segment at a time.
#[derive(Default)]
pub(super) struct BitWriter {
    data: Vec<u8>,
    bit_len: u64,
}

impl BitWriter {
    /// Appends the low `nbits` bits of the big-endian number `be`, most significant first.
    fn push(&mut self, be: &[u8], nbits: u64) {
        let total = be.len() as u64 * 8;
        let skip = total.saturating_sub(nbits);
        if self.bit_len & 7 == 0 && nbits & 7 == 0 {
            self.data.extend_from_slice(&be[(skip / 8) as usize..]);
            self.bit_len += nbits;
            return;
        }
        for i in skip..total {
            let bit = (be[(i / 8) as usize] >> (7 - i % 8)) & 1;
            if self.bit_len & 7 == 0 {
                self.data.push(0);
            }
            if bit == 1 {
                let last = self.data.len() - 1;
                self.data[last] |= 0x80 >> (self.bit_len % 8);
            }
            self.bit_len += 1;
        }
    }

    pub(super) fn finish(self) -> Term {
        Term::bitstring(self.data, (self.bit_len % 8) as u8)
    }
}

fn err(offset: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        reason: reason.into(),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Integer,
    Float,
    Utf8,
    Utf16,
    Utf32,
}

enum Value {
    Int(Term),
    Float(f64),
    Chars(Vec<u32>),
}

/// Reads one segment and appends its bits.
pub(super) fn segment(p: &mut Parser<'_>, out: &mut BitWriter) -> Result<(), ParseError> {
    let (tok, at) = p.next_tok()?;
    let value = match tok {
        Tok::Int(i) => Value::Int(int_term(i, false)),
        Tok::Char(c) => Value::Int(Term::Int(c as i64)),
        Tok::Float(x) => Value::Float(x),
        Tok::Str(s) => Value::Chars(s),
        Tok::Minus | Tok::Plus => {
            let negate = tok == Tok::Minus;
            match p.next_tok()? {
                (Tok::Int(i), _) => Value::Int(int_term(i, negate)),
                (Tok::Char(c), _) => Value::Int(Term::Int(if negate { -(c as i64) } else { c as i64 })),
                (Tok::Float(x), _) => Value::Float(if negate { -x } else { x }),
                (_, at2) => return Err(err(at2, "expected a number after the sign in a binary segment")),
            }
        }
        _ => {
            return Err(err(
                at,
                "expected a segment value (integer, character, float or string) in a binary",
            ))
        }
    };
    let mut size: Option<u64> = None;
    if p.peek_tok_is(&Tok::Colon)? {
        match p.next_tok()? {
            (Tok::Int(BigIntOrSmall::Small(n)), _) => size = Some(n),
            (_, at2) => return Err(err(at2, "expected a segment size (an integer) after `:`")),
        }
    }
    let mut kind = match value {
        Value::Float(_) => Kind::Float,
        _ => Kind::Integer,
    };
    let mut little = false;
    let mut unit: Option<u64> = None;
    if p.peek_tok_is(&Tok::Slash)? {
        loop {
            let (tok, at2) = p.next_tok()?;
            let Tok::Atom { name, .. } = tok else {
                return Err(err(
                    at2,
                    "expected a segment type such as integer, float or utf8 after `/`",
                ));
            };
            match name.as_str() {
                "integer" => kind = Kind::Integer,
                "float" => kind = Kind::Float,
                "utf8" => kind = Kind::Utf8,
                "utf16" => kind = Kind::Utf16,
                "utf32" => kind = Kind::Utf32,
                "signed" | "unsigned" | "big" => {}
                "little" => little = true,
                "native" => little = cfg!(target_endian = "little"),
                "unit" => {
                    if !p.peek_tok_is(&Tok::Colon)? {
                        return Err(err(at2, "expected `unit:N`"));
                    }
                    match p.next_tok()? {
                        (Tok::Int(BigIntOrSmall::Small(n)), _) if (1..=256).contains(&n) => unit = Some(n),
                        (_, at3) => return Err(err(at3, "the unit must be 1..256")),
                    }
                }
                "binary" | "bytes" | "bits" | "bitstring" => {
                    return Err(err(
                        at2,
                        "binary-typed segments are not supported in term literals",
                    ))
                }
                other => return Err(err(at2, format!("unknown segment type `{other}`"))),
            }
            if !p.peek_tok_is(&Tok::Minus)? {
                break;
            }
        }
    }
    let utf = matches!(kind, Kind::Utf8 | Kind::Utf16 | Kind::Utf32);
    if utf && (size.is_some() || unit.is_some()) {
        return Err(err(at, "utf8/utf16/utf32 segments take no size or unit"));
    }
    let bits = match kind {
        Kind::Integer => size.unwrap_or(8).checked_mul(unit.unwrap_or(1)),
        Kind::Float => size.unwrap_or(64).checked_mul(unit.unwrap_or(1)),
        _ => Some(0),
    }
    .ok_or_else(|| err(at, "segment size overflows"))?;
    if kind == Kind::Float && bits != 32 && bits != 64 {
        return Err(err(at, "float segments are 32 or 64 bits"));
    }
    if little && bits % 8 != 0 {
        return Err(err(at, "little-endian segments need a whole number of bytes"));
    }
    let seg = Segment {
        kind,
        bits,
        little,
        at,
    };
    match value {
        Value::Chars(s) => {
            for c in s {
                emit(p, out, &seg, Value::Int(Term::Int(c as i64)))?;
            }
            Ok(())
        }
        v => emit(p, out, &seg, v),
    }
}

/// What a segment's type says about each value in it.
struct Segment {
    kind: Kind,
    bits: u64,
    little: bool,
    at: usize,
}

/// Appends one value of a segment.
fn emit(p: &mut Parser<'_>, out: &mut BitWriter, seg: &Segment, item: Value) -> Result<(), ParseError> {
    let Segment {
        kind,
        bits,
        little,
        at,
    } = *seg;
    match kind {
        Kind::Integer => {
            p.spend_bits(bits, at)?;
            let Value::Int(t) = item else {
                return Err(err(at, "an integer segment needs an integer value"));
            };
            push_int(out, &t, bits, little);
        }
        Kind::Float => {
            p.spend_bits(bits, at)?;
            let x = match item {
                Value::Float(x) => x,
                Value::Int(Term::Int(i)) => i as f64,
                Value::Int(Term::BigInt(b)) => b.to_f64().unwrap_or(f64::INFINITY),
                _ => return Err(err(at, "a float segment needs a number")),
            };
            let mut be = if bits == 32 {
                let y = x as f32;
                if !y.is_finite() {
                    return Err(err(at, "the float does not fit in 32 bits"));
                }
                y.to_be_bytes().to_vec()
            } else {
                if !x.is_finite() {
                    return Err(err(at, "the float does not fit in 64 bits"));
                }
                x.to_be_bytes().to_vec()
            };
            if little {
                be.reverse();
            }
            out.push(&be, bits);
        }
        Kind::Utf8 | Kind::Utf16 | Kind::Utf32 => {
            p.spend_bits(32, at)?;
            let c = match item {
                Value::Int(Term::Int(i)) => u32::try_from(i).ok().and_then(char::from_u32),
                _ => None,
            }
            .ok_or_else(|| err(at, "a utf8/utf16/utf32 segment needs a Unicode code point"))?;
            let mut be: Vec<u8> = match kind {
                Kind::Utf8 => c.to_string().into_bytes(),
                Kind::Utf16 => {
                    let mut units = [0u16; 2];
                    let units = c.encode_utf16(&mut units);
                    let mut v = Vec::new();
                    for u in units.iter() {
                        if little {
                            v.extend_from_slice(&u.to_le_bytes());
                        } else {
                            v.extend_from_slice(&u.to_be_bytes());
                        }
                    }
                    v
                }
                _ => {
                    if little {
                        (c as u32).to_le_bytes().to_vec()
                    } else {
                        (c as u32).to_be_bytes().to_vec()
                    }
                }
            };
            let n = be.len() as u64 * 8;
            out.push(&std::mem::take(&mut be), n);
        }
    }
    Ok(())
}

/// Appends integer `t` (an `Int` or `BigInt`) in `bits` bits, two's complement,
/// truncated to its low bits as Erlang does.
fn push_int(out: &mut BitWriter, t: &Term, bits: u64, little: bool) {
    if bits == 0 {
        return;
    }
    if let (Term::Int(i), true) = (t, bits <= 64) {
        let bytes = (bits as usize).div_ceil(8);
        let mut be = (*i as u64).to_be_bytes();
        let be = &mut be[8 - bytes..];
        if little {
            be.reverse();
        }
        out.push(be, bits);
        return;
    }
    let mut be: Vec<u8> = {
        let v = match t {
            Term::Int(i) => BigInt::from(*i),
            Term::BigInt(b) => b.clone(),
            _ => BigInt::default(),
        };
        let modulus = BigInt::one() << bits;
        let mut r = v % &modulus;
        if r.is_negative() {
            r += &modulus;
        }
        let (_, mag) = r.to_bytes_be();
        let bytes = (bits as usize).div_ceil(8);
        let mut padded = vec![0u8; bytes.saturating_sub(mag.len())];
        padded.extend_from_slice(&mag[mag.len().saturating_sub(bytes)..]);
        padded
    };
    if little {
        be.reverse();
    }
    out.push(&be, bits);
}
