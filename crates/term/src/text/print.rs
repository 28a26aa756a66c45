//! Printing terms in Erlang syntax, as `io_lib:format("~0tp", [T])` does on OTP 25 with the
//! default printable range (`latin1`).
//!
//! Printing never recurses: nested terms are walked with an explicit stack, so any term
//! that exists in memory can be printed, however deep.
//!
//! Forms for the terms that Erlang prints without a node name (its `<0.80.0>`,
//! `#Port<0.7>` and `#Ref<0.1.2.3>` use a node-table index that means nothing elsewhere):
//! beamlink writes the node name instead, `<'node@host'.80.0>`, `#Port<'node@host'.7>`,
//! `#Ref<'node@host'.3.2.1>` (reference words last-to-first, as Erlang prints them). The
//! parser reads these forms back; the creation is not printed and reads back as 0.
//! External funs print as `fun m:f/2`; local funs as `#Fun<module.index.uniq>`, which
//! cannot be read back.

use super::float::write_float;
use crate::{BitBinary, Term};

/// `[]`, the end of every proper list.
static NIL: Term = Term::List(Vec::new());
use std::cmp::Ordering;
use std::fmt::{self, Write};

/// The words Erlang reserves (`erl_scan:reserved_word/1` on OTP 25): as atoms they must be
/// quoted.
pub(crate) const RESERVED: [&str; 27] = [
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch", "cond",
    "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
];

/// A character that can start an unquoted atom: `a-z` and the Latin-1 lowercase letters.
pub(crate) fn is_atom_start(c: char) -> bool {
    c.is_ascii_lowercase() || (('\u{DF}'..='\u{FF}').contains(&c) && c != '\u{F7}')
}

/// A character that can follow in an unquoted atom: letters (ASCII and Latin-1), digits,
/// `_` and `@`.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == '_'
        || c == '@'
        || (('\u{C0}'..='\u{FF}').contains(&c) && c != '\u{D7}' && c != '\u{F7}')
}

/// `true` when the atom must be written between single quotes.
pub(crate) fn atom_needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if is_atom_start(c) => {}
        _ => return true,
    }
    !chars.all(is_name_char) || RESERVED.contains(&name)
}

/// Writes an atom as Erlang does: bare when it can be, otherwise quoted with escapes.
pub(crate) fn write_atom(f: &mut impl Write, name: &str) -> fmt::Result {
    if !atom_needs_quotes(name) {
        return f.write_str(name);
    }
    f.write_char('\'')?;
    for c in name.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            _ => write_quoted_char(f, c as u32)?,
        }
    }
    f.write_char('\'')
}

/// Printable in a string under the `latin1` printable range (`io_lib:printable_list/1`).
fn is_printable(c: i64) -> bool {
    matches!(c, 8..=13 | 27 | 32..=126 | 160..=255)
}

/// One character inside quotes: the escapes Erlang uses, raw otherwise. Quotes themselves
/// are the caller's business.
fn write_quoted_char(f: &mut impl Write, c: u32) -> fmt::Result {
    match c {
        0x5C => f.write_str("\\\\"),
        0x0A => f.write_str("\\n"),
        0x09 => f.write_str("\\t"),
        0x0D => f.write_str("\\r"),
        0x0B => f.write_str("\\v"),
        0x08 => f.write_str("\\b"),
        0x0C => f.write_str("\\f"),
        0x1B => f.write_str("\\e"),
        0x7F => f.write_str("\\d"),
        0..=0x1F | 0x80..=0x9F => write!(f, "\\{:03o}", c),
        _ => match char::from_u32(c) {
            Some(ch) => f.write_char(ch),
            None => write!(f, "\\x{{{:X}}}", c),
        },
    }
}

/// Writes `"..."` for code points that the caller checked are printable.
fn write_string(f: &mut impl Write, chars: impl Iterator<Item = u32>) -> fmt::Result {
    f.write_char('"')?;
    for c in chars {
        match c {
            0x22 => f.write_str("\\\"")?,
            _ => write_quoted_char(f, c)?,
        }
    }
    f.write_char('"')
}

/// A list that `~tp` prints as a string: non-empty, every element a printable character.
fn printable_list(l: &[Term]) -> bool {
    !l.is_empty() && l.iter().all(|t| matches!(t, Term::Int(c) if is_printable(*c)))
}

fn write_binary(f: &mut impl Write, b: &[u8]) -> fmt::Result {
    if b.is_empty() {
        return f.write_str("<<>>");
    }
    match std::str::from_utf8(b) {
        Ok(s) => {
            if s.chars().all(|c| is_printable(c as i64)) {
                f.write_str("<<")?;
                write_string(f, s.chars().map(|c| c as u32))?;
                return f.write_str(if s.is_ascii() { ">>" } else { "/utf8>>" });
            }
        }
        Err(_) => {
            if b.iter().all(|&c| is_printable(c as i64)) {
                f.write_str("<<")?;
                write_string(f, b.iter().map(|&c| c as u32))?;
                return f.write_str(">>");
            }
        }
    }
    write_bytes(f, b)?;
    f.write_str(">>")
}

/// `<<1,2,3` without the closing `>>`.
fn write_bytes(f: &mut impl Write, b: &[u8]) -> fmt::Result {
    f.write_str("<<")?;
    for (i, byte) in b.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{byte}")?;
    }
    Ok(())
}

fn write_bit_binary(f: &mut impl Write, bb: &BitBinary) -> fmt::Result {
    let Some((&last, full)) = bb.data.split_last() else {
        return f.write_str("<<>>");
    };
    let bits = bb.bits.clamp(1, 8);
    write_bytes(f, full)?;
    if !full.is_empty() {
        f.write_char(',')?;
    }
    write!(f, "{}:{}>>", last >> (8 - bits), bits)
}

fn write_node_atom(f: &mut impl Write, node: &str) -> fmt::Result {
    // Always quoted: `<'a@b'.1.2>` reads better than `<a@b.1.2>`.
    f.write_char('\'')?;
    for c in node.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            _ => write_quoted_char(f, c as u32)?,
        }
    }
    f.write_char('\'')
}

/// The order in which `~0tp` prints map keys on OTP 25 (the order of a small map's keys):
/// Erlang term order, except that an integer sorts before every float at any depth.
///
/// Tuples and lists are walked with an explicit stack, so deep keys cannot overflow the
/// call stack; two maps are compared by [`Term`]'s own order.
pub(crate) fn map_key_cmp(a: &Term, b: &Term) -> Ordering {
    use Term::*;
    /// Work left: a pair to compare, or the answer when everything above it was equal.
    enum Step<'a> {
        Pair(&'a Term, &'a Term),
        Then(Ordering),
    }
    let mut pending: Vec<Step<'_>> = vec![Step::Pair(a, b)];
    while let Some(step) = pending.pop() {
        let (x, y) = match step {
            Step::Then(o) if o != Ordering::Equal => return o,
            Step::Then(_) => continue,
            Step::Pair(x, y) => (x, y),
        };
        let o = match (x, y) {
            (Int(_) | BigInt(_), Float(_)) => Ordering::Less,
            (Float(_), Int(_) | BigInt(_)) => Ordering::Greater,
            (Tuple(p), Tuple(q)) => {
                if p.len() == q.len() {
                    pending.extend(p.iter().zip(q).rev().map(|(p, q)| Step::Pair(p, q)));
                }
                p.len().cmp(&q.len())
            }
            (List(_) | ImproperList(..), List(_) | ImproperList(..)) if !x.is_nil() && !y.is_nil() => {
                let (xs, xt) = cells(x);
                let (ys, yt) = cells(y);
                let n = xs.len().min(ys.len());
                // After the common cells: the two tails, or the rest of the longer list (a
                // non-empty list) against the other's tail.
                pending.push(match xs.len().cmp(&ys.len()) {
                    Ordering::Equal => Step::Pair(xt, yt),
                    Ordering::Greater => Step::Then(non_empty_list_vs(yt)),
                    Ordering::Less => Step::Then(non_empty_list_vs(xt).reverse()),
                });
                pending.extend(xs[..n].iter().zip(&ys[..n]).rev().map(|(p, q)| Step::Pair(p, q)));
                Ordering::Equal
            }
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The cells of a list and what ends it (`[]` for a proper list).
fn cells(t: &Term) -> (&[Term], &Term) {
    match t {
        Term::List(l) => (l, &NIL),
        Term::ImproperList(l, tail) => (l, tail),
        _ => (&[], t),
    }
}

/// How a non-empty list compares with `tail`, the end of another list (never a list
/// itself, or `[]`): only bitstrings sort after lists.
fn non_empty_list_vs(tail: &Term) -> Ordering {
    match tail {
        Term::Binary(_) | Term::BitBinary(_) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

enum Job<'a> {
    Term(&'a Term),
    Text(&'static str),
}

/// Writes `t` in Erlang syntax without recursion.
pub(crate) fn write_term(f: &mut impl Write, t: &Term) -> fmt::Result {
    let mut jobs: Vec<Job<'_>> = vec![Job::Term(t)];
    while let Some(job) = jobs.pop() {
        let t = match job {
            Job::Text(s) => {
                f.write_str(s)?;
                continue;
            }
            Job::Term(t) => t,
        };
        match t {
            Term::Atom(a) => write_atom(f, a.as_str())?,
            Term::Int(i) => write!(f, "{i}")?,
            Term::BigInt(i) => write!(f, "{i}")?,
            Term::Float(x) => write_float(f, *x)?,
            Term::Binary(b) => write_binary(f, b)?,
            Term::BitBinary(bb) => write_bit_binary(f, bb)?,
            Term::List(l) if l.is_empty() => f.write_str("[]")?,
            Term::List(l) if printable_list(l) => {
                write_string(f, l.iter().map(|t| t.as_i64().unwrap_or(0) as u32))?
            }
            Term::List(l) => {
                f.write_char('[')?;
                push_seq(&mut jobs, l, "]");
            }
            // Not normalised (no head): the list is its tail.
            Term::ImproperList(l, tail) if l.is_empty() => jobs.push(Job::Term(tail)),
            Term::ImproperList(l, tail) => {
                f.write_char('[')?;
                jobs.push(Job::Text("]"));
                jobs.push(Job::Term(tail));
                jobs.push(Job::Text("|"));
                push_elems(&mut jobs, l);
            }
            Term::Tuple(l) => {
                f.write_char('{')?;
                push_seq(&mut jobs, l, "}");
            }
            Term::Map(m) => {
                f.write_str("#{")?;
                jobs.push(Job::Text("}"));
                let mut pairs: Vec<&(Term, Term)> = m.iter().collect();
                pairs.sort_by(|a, b| map_key_cmp(&a.0, &b.0));
                for (i, (k, v)) in pairs.iter().enumerate().rev() {
                    jobs.push(Job::Term(v));
                    jobs.push(Job::Text(" => "));
                    jobs.push(Job::Term(k));
                    if i > 0 {
                        jobs.push(Job::Text(","));
                    }
                }
            }
            Term::Pid(p) => {
                f.write_char('<')?;
                write_node_atom(f, p.node.as_str())?;
                write!(f, ".{}.{}>", p.id, p.serial)?;
            }
            Term::Port(p) => {
                f.write_str("#Port<")?;
                write_node_atom(f, p.node.as_str())?;
                write!(f, ".{}>", p.id)?;
            }
            Term::Reference(r) => {
                f.write_str("#Ref<")?;
                write_node_atom(f, r.node.as_str())?;
                for w in r.id.iter().rev() {
                    write!(f, ".{w}")?;
                }
                f.write_char('>')?;
            }
            Term::ExternalFun(e) => {
                f.write_str("fun ")?;
                write_atom(f, e.module.as_str())?;
                f.write_char(':')?;
                write_atom(f, e.function.as_str())?;
                write!(f, "/{}", e.arity)?;
            }
            Term::InternalFun(fun) => {
                f.write_str("#Fun<")?;
                write_atom(f, fun.module.as_str())?;
                write!(f, ".{}.{}>", fun.index, fun.old_uniq)?;
            }
        }
    }
    Ok(())
}

/// Elements separated by commas, then `close`.
fn push_seq<'a>(jobs: &mut Vec<Job<'a>>, elems: &'a [Term], close: &'static str) {
    jobs.push(Job::Text(close));
    push_elems(jobs, elems);
}

fn push_elems<'a>(jobs: &mut Vec<Job<'a>>, elems: &'a [Term]) {
    for (i, e) in elems.iter().enumerate().rev() {
        jobs.push(Job::Term(e));
        if i > 0 {
            jobs.push(Job::Text(","));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::map_key_cmp;
    use crate::{Map, Term};
    use std::cmp::Ordering;

    /// `{{...{leaf}...}}`, `depth` tuples deep.
    fn nested(depth: usize, leaf: Term) -> Term {
        let mut t = leaf;
        for _ in 0..depth {
            t = Term::tuple(vec![t]);
        }
        t
    }

    /// Drops a deep term without recursing.
    fn unwind(mut t: Term) {
        loop {
            t = match t {
                Term::Tuple(mut v) | Term::List(mut v) => match v.pop() {
                    Some(inner) => inner,
                    None => return,
                },
                Term::Map(m) => {
                    for (k, v) in m.into_pairs() {
                        unwind(k);
                        unwind(v);
                    }
                    return;
                }
                _ => return,
            }
        }
    }

    #[test]
    fn deep_keys_compare_and_print_without_recursion() {
        let depth = 100_000;
        let a = nested(depth, Term::Int(2));
        let b = nested(depth, Term::Float(1.0));
        let c = nested(depth, Term::Int(1));
        assert_eq!(
            map_key_cmp(&a, &b),
            Ordering::Less,
            "integers before floats, at any depth"
        );
        assert_eq!(map_key_cmp(&c, &a), Ordering::Less);
        let map = Term::Map(Map::from_unique_pairs(vec![
            (b, Term::nil()),
            (a, Term::nil()),
            (c, Term::nil()),
        ]));
        let s = map.to_string();
        let open = "{".repeat(depth);
        let close = "}".repeat(depth);
        assert_eq!(
            s,
            format!("#{{{open}1{close} => [],{open}2{close} => [],{open}1.0{close} => []}}")
        );
        unwind(map);
    }

    #[test]
    fn lists_compare_cell_by_cell() {
        let l = |v: Vec<Term>| Term::List(v);
        let i = Term::Int;
        let cases = [
            (l(vec![i(1)]), l(vec![i(1), i(2)]), Ordering::Less),
            (Term::improper(vec![i(1)], i(2)), l(vec![i(1)]), Ordering::Less),
            (
                Term::improper(vec![i(1)], i(2)),
                Term::improper(vec![i(1)], Term::Float(2.0)),
                Ordering::Less,
            ),
            (l(vec![i(2)]), l(vec![Term::Float(1.0)]), Ordering::Less),
            (
                l(vec![i(1), i(2)]),
                Term::improper(vec![i(1)], Term::binary(vec![])),
                Ordering::Less,
            ),
            (
                Term::improper(vec![i(1), i(2)], i(3)),
                Term::improper(vec![i(1)], i(9)),
                Ordering::Greater,
            ),
            (l(vec![i(1), i(2)]), l(vec![i(1), i(2)]), Ordering::Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(map_key_cmp(&a, &b), want, "{a:?} vs {b:?}");
            assert_eq!(map_key_cmp(&b, &a), want.reverse(), "{b:?} vs {a:?}");
        }
    }
}
