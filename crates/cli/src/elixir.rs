//! Terms in Elixir syntax, for `--elixir`: what `IO.inspect/1` prints for data, close
//! enough to paste back into `iex`.
//!
//! Atoms as `:ok`, `:"with space"`, `true`/`false`/`nil` bare and `Elixir.Foo` as `Foo`;
//! UTF-8 printable binaries as `"..."`; printable charlists as `'...'`; keyword lists as
//! `[a: 1]`; maps as `%{a: 1}` or `%{"k" => v}`; structs as `%Mod{...}`; pids, ports and
//! references as `#PID<...>`, `#Port<...>`, `#Reference<...>` around beamlink's text.

use beamlink_term::{Atom, Term};
use std::fmt::Write;

/// Deeper than this, a subterm is written in Erlang syntax (bounded stack use).
const MAX_DEPTH: usize = 200;

/// `term` in Elixir syntax.
pub fn to_elixir(term: &Term) -> String {
    let mut out = String::new();
    write_term(&mut out, term, 0);
    out
}

fn write_term(out: &mut String, term: &Term, depth: usize) {
    if depth > MAX_DEPTH {
        let _ = write!(out, "{term}");
        return;
    }
    match term {
        Term::Atom(a) => write_atom(out, a),
        Term::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Term::BigInt(b) => {
            let _ = write!(out, "{b}");
        }
        Term::Float(_) => {
            let _ = write!(out, "{term}");
        }
        Term::Binary(b) => match std::str::from_utf8(b) {
            Ok(s) if s.chars().all(printable) => write_string(out, s, '"'),
            _ => {
                out.push_str("<<");
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{x}");
                }
                out.push_str(">>");
            }
        },
        Term::BitBinary(bb) => {
            out.push_str("<<");
            let n = bb.data.len();
            for (i, x) in bb.data.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if i + 1 == n {
                    let _ = write!(out, "{}::size({})", x >> (8 - bb.bits), bb.bits);
                } else {
                    let _ = write!(out, "{x}");
                }
            }
            out.push_str(">>");
        }
        Term::List(items) => write_list(out, items, depth),
        Term::ImproperList(items, tail) => {
            out.push('[');
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_term(out, t, depth + 1);
            }
            out.push_str(" | ");
            write_term(out, tail, depth + 1);
            out.push(']');
        }
        Term::Tuple(items) => {
            out.push('{');
            write_seq(out, items, depth);
            out.push('}');
        }
        Term::Map(m) => {
            let name = m.get_atom("__struct__").and_then(Term::as_atom).cloned();
            let pairs: Vec<_> = m
                .sorted()
                .into_iter()
                .filter(|(k, _)| name.is_none() || !k.is_atom("__struct__"))
                .collect();
            match &name {
                Some(n) => {
                    out.push('%');
                    out.push_str(&module_name(n));
                    out.push('{');
                }
                None => out.push_str("%{"),
            }
            let all_atoms = pairs
                .iter()
                .all(|(k, _)| k.as_atom().is_some_and(|a| identifier(a.as_str())));
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if all_atoms {
                    let _ = write!(out, "{}: ", k.as_atom().map_or("", |a| a.as_str()));
                } else {
                    write_term(out, k, depth + 1);
                    out.push_str(" => ");
                }
                write_term(out, v, depth + 1);
            }
            out.push('}');
        }
        Term::Pid(_) => wrap(out, "#PID", term),
        Term::Port(_) => wrap(out, "#Port", term),
        Term::Reference(_) => wrap(out, "#Reference", term),
        Term::ExternalFun(f) => {
            let _ = write!(out, "&{}.", module_name(&f.module));
            write_fun_name(out, f.function.as_str());
            let _ = write!(out, "/{}", f.arity);
        }
        Term::InternalFun(_) => {
            let _ = write!(out, "#Function<{term}>");
        }
    }
}

fn write_seq(out: &mut String, items: &[Term], depth: usize) {
    for (i, t) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_term(out, t, depth + 1);
    }
}

fn write_list(out: &mut String, items: &[Term], depth: usize) {
    if !items.is_empty() {
        let chars: Option<String> = items
            .iter()
            .map(|t| match t {
                Term::Int(i) => u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .filter(|c| printable(*c)),
                _ => None,
            })
            .collect();
        if let Some(s) = chars {
            write_string(out, &s, '\'');
            return;
        }
        let keyword = items.iter().all(|t| match t.as_tuple_n::<2>() {
            Some([k, _]) => k.as_atom().is_some_and(|a| identifier(a.as_str())),
            None => false,
        });
        if keyword {
            out.push('[');
            for (i, t) in items.iter().enumerate() {
                if let Some([k, v]) = t.as_tuple_n::<2>() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{}: ", k.as_atom().map_or("", |a| a.as_str()));
                    write_term(out, v, depth + 1);
                }
            }
            out.push(']');
            return;
        }
    }
    out.push('[');
    write_seq(out, items, depth);
    out.push(']');
}

/// `#PID<...>` around the Erlang text without its angle brackets or `#Kind` prefix.
fn wrap(out: &mut String, kind: &str, term: &Term) {
    let text = term.to_string();
    let inner = text
        .trim_start_matches("#Port")
        .trim_start_matches("#Ref")
        .trim_start_matches('<')
        .trim_end_matches('>');
    let _ = write!(out, "{kind}<{inner}>");
}

fn printable(c: char) -> bool {
    !c.is_control()
        || matches!(
            c,
            '\n' | '\r' | '\t' | '\u{1b}' | '\u{7}' | '\u{8}' | '\u{b}' | '\u{c}'
        )
}

fn write_string(out: &mut String, s: &str, quote: char) {
    out.push(quote);
    let mut prev_hash = false;
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '{' if prev_hash => {
                // `#{` would interpolate: escape the `#` already written.
                out.pop();
                out.push_str("\\#{");
            }
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        prev_hash = c == '#';
    }
    out.push(quote);
}

/// `true` for atoms Elixir writes without quotes after `:` (and as keyword keys).
fn identifier(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let body = name.trim_end_matches(['?', '!']);
    first_ok
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
        && name.len() - body.len() <= 1
}

fn write_atom(out: &mut String, a: &Atom) {
    let name = a.as_str();
    match name {
        "true" | "false" | "nil" => out.push_str(name),
        _ if name.starts_with("Elixir.") && alias(&name[7..]) => out.push_str(&name[7..]),
        _ if identifier(name) => {
            out.push(':');
            out.push_str(name);
        }
        _ => {
            out.push(':');
            write_string(out, name, '"');
        }
    }
}

/// `Foo.Bar`: segments starting with an uppercase letter.
fn alias(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|seg| {
            seg.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A module as Elixir writes it: `Foo.Bar` for `Elixir.Foo.Bar`, `:lists` otherwise.
fn module_name(a: &Atom) -> String {
    let mut s = String::new();
    write_atom(&mut s, a);
    s
}

fn write_fun_name(out: &mut String, name: &str) {
    if identifier(name) {
        out.push_str(name);
    } else {
        write_string(out, name, '"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink_term::text::parse;

    fn ex(text: &str) -> String {
        to_elixir(&parse(text).unwrap())
    }

    #[test]
    fn atoms_and_modules() {
        assert_eq!(ex("ok"), ":ok");
        assert_eq!(ex("'with space'"), ":\"with space\"");
        assert_eq!(ex("[true, false, nil]"), "[true, false, nil]");
        assert_eq!(ex("'Elixir.Foo.Bar'"), "Foo.Bar");
        assert_eq!(ex("'valid?'"), ":valid?");
        assert_eq!(ex("fun lists:seq/2"), "&:lists.seq/2");
    }

    #[test]
    fn strings_lists_maps() {
        assert_eq!(ex("<<\"hi #{x}\">>"), "\"hi \\#{x}\"");
        assert_eq!(ex("<<1,2>>"), "<<1, 2>>");
        assert_eq!(ex("\"abc\""), "'abc'");
        assert_eq!(ex("[1,2,3]"), "[1, 2, 3]");
        assert_eq!(ex("[{a, 1}, {b, <<\"x\">>}]"), "[a: 1, b: \"x\"]");
        assert_eq!(ex("#{a => 1}"), "%{a: 1}");
        assert_eq!(ex("#{<<\"k\">> => {1, 2.5}}"), "%{\"k\" => {1, 2.5}}");
        assert_eq!(
            ex("#{'__struct__' => 'Elixir.URI', host => nil}"),
            "%URI{host: nil}"
        );
        assert_eq!(ex("[1 | 2]"), "[1 | 2]");
        assert_eq!(ex("<<1, 2:3>>"), "<<1, 2::size(3)>>");
    }
}
