//! Terms as JSON, for `--format json`: the natural JSON value where one exists, the
//! Erlang text where none does.
//!
//! | term | JSON |
//! |---|---|
//! | integer | number (beyond 64 bits: a string of digits) |
//! | float | number |
//! | `true` / `false` | boolean |
//! | other atom | string |
//! | UTF-8 binary | string; other binaries: array of byte values |
//! | printable charlist (as `~p` prints a string) | string |
//! | list, tuple | array |
//! | map | object when every key is an atom, a UTF-8 binary or an integer; else an array of `[key, value]` pairs |
//! | pid, port, reference, fun, bitstring, improper list | string: the Erlang text |

use beamlink_term::Term;
use serde_json::{Map, Value};

/// Deeper than this, a subterm is written as its Erlang text (bounded stack use).
const MAX_DEPTH: usize = 200;

/// The JSON value for `term` (see the module's table).
pub fn to_json(term: &Term) -> Value {
    convert(term, 0)
}

fn convert(term: &Term, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::String(term.to_string());
    }
    match term {
        Term::Int(i) => Value::from(*i),
        Term::BigInt(b) => Value::String(b.to_string()),
        Term::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Term::Atom(a) if a.as_str() == "true" => Value::Bool(true),
        Term::Atom(a) if a.as_str() == "false" => Value::Bool(false),
        Term::Atom(a) => Value::String(a.as_str().to_string()),
        Term::Binary(b) => match std::str::from_utf8(b) {
            Ok(s) => Value::String(s.to_string()),
            Err(_) => Value::Array(b.iter().map(|&x| Value::from(x)).collect()),
        },
        Term::List(items) => match printable_charlist(items) {
            Some(s) => Value::String(s),
            None => Value::Array(items.iter().map(|t| convert(t, depth + 1)).collect()),
        },
        Term::Tuple(items) => Value::Array(items.iter().map(|t| convert(t, depth + 1)).collect()),
        Term::Map(m) => {
            let keys: Option<Vec<String>> = m.iter().map(|(k, _)| key_text(k)).collect();
            match keys {
                Some(keys) => {
                    let mut obj = Map::new();
                    for (key, (_, v)) in keys.into_iter().zip(m.iter()) {
                        obj.insert(key, convert(v, depth + 1));
                    }
                    Value::Object(obj)
                }
                None => Value::Array(
                    m.iter()
                        .map(|(k, v)| Value::Array(vec![convert(k, depth + 1), convert(v, depth + 1)]))
                        .collect(),
                ),
            }
        }
        other => Value::String(other.to_string()),
    }
}

fn key_text(k: &Term) -> Option<String> {
    match k {
        Term::Atom(a) => Some(a.as_str().to_string()),
        Term::Binary(b) => std::str::from_utf8(b).ok().map(str::to_string),
        Term::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The text of a non-empty list of printable Latin-1 characters (what `~p` prints as a
/// string), else `None`.
fn printable_charlist(items: &[Term]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut s = String::with_capacity(items.len());
    for t in items {
        let c = match t {
            Term::Int(i) => u8::try_from(*i).ok()?,
            _ => return None,
        };
        let printable = matches!(c, 32..=126 | 160..=255 | b'\n' | b'\r' | b'\t' | 8 | 11 | 12 | 27);
        if !printable {
            return None;
        }
        s.push(char::from(c));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink_term::text::parse;

    fn j(text: &str) -> String {
        to_json(&parse(text).unwrap()).to_string()
    }

    #[test]
    fn natural_values() {
        assert_eq!(
            j("{ok, 1, 2.5, true, <<\"hé\"/utf8>>}"),
            r#"["ok",1,2.5,true,"hé"]"#
        );
        assert_eq!(j("\"25\""), r#""25""#);
        assert_eq!(j("[1, 2]"), "[1,2]");
        assert_eq!(j("[]"), "[]");
        assert_eq!(j("<<255, 0>>"), "[255,0]");
        assert_eq!(
            j("123456789012345678901234567890"),
            r#""123456789012345678901234567890""#
        );
    }

    #[test]
    fn maps_and_the_rest() {
        assert_eq!(j("#{a => 1, <<\"b\">> => [x]}"), r#"{"a":1,"b":["x"]}"#);
        assert_eq!(j("#{{1} => 2}"), "[[[1],2]]");
        assert_eq!(j("[a | b]"), r#""[a|b]""#);
    }
}
