//! Reading one term literal: `{ok, [1,2|T], #{a => <<"x">>}}.`
//!
//! The parser keeps open tuples, lists and maps on an explicit stack rather than
//! recursing, so nesting costs heap, not call stack; it stops at [`MAX_DEPTH`]. Work is
//! linear in the input, except that an integer literal costs time quadratic in its digits
//! (bounded by [`super::MAX_INTEGER_DIGITS`]). Binary segments with explicit sizes can
//! expand (`<<0:800>>`), so their total is capped at [`BINARY_EXPANSION`] bits per input
//! byte.

use super::lex::{BigIntOrSmall, Lexer, Tok};
use super::print::RESERVED;
use super::ParseError;
use crate::{Atom, BigInt, ExternalFun, Map, Pid, Port, Reference, Term};
use std::collections::HashMap;

/// How deeply tuples, lists and maps may nest in a literal.
///
/// Lower than the ETF decoder's default (10,000) on purpose: comparing, hashing and
/// cloning a [`Term`] recurse, and reading a map must compare its keys, so a parsed term
/// has to stay shallow enough for those to run on a 2 MiB thread stack (a map keyed by
/// 10,000-deep lists overflows one in a debug build). Real terms are far shallower.
pub const MAX_DEPTH: usize = 1_000;

/// How many bits of binary a byte of input may produce through segment sizes
/// (`<<0:64>>` is 8 input bytes for 64 bits); keeps memory a small multiple of the input.
pub const BINARY_EXPANSION: u64 = 512;

/// The longest atom, in characters, as in Erlang.
const MAX_ATOM_CHARS: usize = crate::atom::MAX_ATOM_CHARS;

fn err(offset: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        reason: reason.into(),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::LBrace => "`{`".into(),
        Tok::RBrace => "`}`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Bar => "`|`".into(),
        Tok::Comma => "`,`".into(),
        Tok::BinOpen => "`<<`".into(),
        Tok::BinClose => "`>>`".into(),
        Tok::MapOpen => "`#{`".into(),
        Tok::Arrow => "`=>`".into(),
        Tok::Colon => "`:`".into(),
        Tok::Slash => "`/`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Plus => "`+`".into(),
        Tok::Lt => "`<`".into(),
        Tok::End => "`.`".into(),
        Tok::Hash(n) => format!("`#{n}`"),
        Tok::Atom { name, .. } => format!("the atom {}", Term::atom(name)),
        Tok::Var(v) => format!("the variable {v}"),
        Tok::Int(_) => "an integer".into(),
        Tok::Float(_) => "a float".into(),
        Tok::Char(_) => "a character literal".into(),
        Tok::Str(_) => "a string".into(),
        Tok::Eof => "the end of the input".into(),
    }
}

fn unexpected(tok: &Tok, at: usize, expected: &str) -> ParseError {
    err(at, format!("expected {expected}, found {}", describe(tok)))
}

/// A container being filled.
enum Frame {
    Tuple(Vec<Term>),
    List(Vec<Term>),
    /// After `|`: the head elements, waiting for the tail.
    Tail(Vec<Term>),
    /// Waiting for a key (or the closing brace).
    MapKey(Vec<(Term, Term)>),
    /// Waiting for the value of `key`.
    MapValue(Vec<(Term, Term)>, Term),
}

pub(super) struct Parser<'a> {
    lex: Lexer<'a>,
    bit_budget: u64,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Parser<'a> {
        let bit_budget = (src.len() as u64).saturating_mul(BINARY_EXPANSION);
        Parser {
            lex: Lexer::new(src),
            bit_budget,
        }
    }

    /// The whole input: one term, an optional `.`, nothing else.
    pub(super) fn parse_all(mut self) -> Result<Term, ParseError> {
        let t = self.term()?;
        let (tok, at) = self.lex.next()?;
        let tok = if tok == Tok::End {
            self.lex.next()?
        } else {
            (tok, at)
        };
        match tok {
            (Tok::Eof, _) => Ok(t),
            (tok, at) => Err(unexpected(&tok, at, "the end of the term")),
        }
    }

    fn term(&mut self) -> Result<Term, ParseError> {
        let mut stack: Vec<Frame> = Vec::new();
        'value: loop {
            // Read a value, or open a container and go round again.
            let (tok, at) = self.lex.next()?;
            let mut value = match tok {
                Tok::LBrace | Tok::LBracket | Tok::MapOpen => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(err(at, format!("terms nested deeper than {MAX_DEPTH} levels")));
                    }
                    let close = match tok {
                        Tok::LBracket => Tok::RBracket,
                        _ => Tok::RBrace,
                    };
                    if self.peek_is(&close)? {
                        match tok {
                            Tok::LBrace => Term::Tuple(Vec::new()),
                            Tok::LBracket => Term::List(Vec::new()),
                            _ => Term::Map(Map::new()),
                        }
                    } else {
                        stack.push(match tok {
                            Tok::LBrace => Frame::Tuple(Vec::new()),
                            Tok::LBracket => Frame::List(Vec::new()),
                            _ => Frame::MapKey(Vec::new()),
                        });
                        continue 'value;
                    }
                }
                tok => self.scalar(tok, at)?,
            };
            // Hand the value to the innermost open container, closing containers as long
            // as their closing token follows.
            loop {
                let Some(frame) = stack.pop() else {
                    return Ok(value);
                };
                match frame {
                    Frame::Tuple(mut elems) => {
                        elems.push(value);
                        match self.lex.next()? {
                            (Tok::Comma, _) => {
                                stack.push(Frame::Tuple(elems));
                                continue 'value;
                            }
                            (Tok::RBrace, _) => value = Term::Tuple(elems),
                            (tok, at) => return Err(unexpected(&tok, at, "`,` or `}`")),
                        }
                    }
                    Frame::List(mut elems) => {
                        elems.push(value);
                        match self.lex.next()? {
                            (Tok::Comma, _) => {
                                stack.push(Frame::List(elems));
                                continue 'value;
                            }
                            (Tok::Bar, _) => {
                                stack.push(Frame::Tail(elems));
                                continue 'value;
                            }
                            (Tok::RBracket, _) => value = Term::List(elems),
                            (tok, at) => return Err(unexpected(&tok, at, "`,`, `|` or `]`")),
                        }
                    }
                    Frame::Tail(elems) => match self.lex.next()? {
                        (Tok::RBracket, _) => value = Term::improper(elems, value),
                        (tok, at) => return Err(unexpected(&tok, at, "`]` after the tail of a list")),
                    },
                    Frame::MapKey(pairs) => match self.lex.next()? {
                        (Tok::Arrow, _) => {
                            stack.push(Frame::MapValue(pairs, value));
                            continue 'value;
                        }
                        (tok, at) => return Err(unexpected(&tok, at, "`=>` after a map key")),
                    },
                    Frame::MapValue(mut pairs, key) => {
                        pairs.push((key, value));
                        match self.lex.next()? {
                            (Tok::Comma, _) => {
                                stack.push(Frame::MapKey(pairs));
                                continue 'value;
                            }
                            (Tok::RBrace, _) => value = Term::Map(dedup_map(pairs)),
                            (tok, at) => return Err(unexpected(&tok, at, "`,` or `}` in a map")),
                        }
                    }
                }
            }
        }
    }

    /// Consumes the next token if it is `want`.
    fn peek_is(&mut self, want: &Tok) -> Result<bool, ParseError> {
        let save = self.lex.pos();
        let (tok, _) = self.lex.next()?;
        let hit = &tok == want;
        if !hit {
            self.lex.reset(save);
        }
        Ok(hit)
    }

    /// A value that is not a tuple, list or map.
    fn scalar(&mut self, tok: Tok, at: usize) -> Result<Term, ParseError> {
        Ok(match tok {
            Tok::Atom { name, quoted } => {
                if !quoted && name == "fun" {
                    return self.export_fun();
                }
                if !quoted && RESERVED.contains(&name.as_str()) {
                    return Err(err(
                        at,
                        format!("`{name}` is a reserved word: quote it ('{name}') to use it as an atom"),
                    ));
                }
                Term::Atom(atom(&name, at)?)
            }
            Tok::Int(i) => int_term(i, false),
            Tok::Char(c) => Term::Int(c as i64),
            Tok::Float(x) => Term::Float(x),
            Tok::Minus | Tok::Plus => {
                let negate = tok == Tok::Minus;
                let (tok, at2) = self.lex.next()?;
                match tok {
                    Tok::Int(i) => int_term(i, negate),
                    Tok::Char(c) => Term::Int(if negate { -(c as i64) } else { c as i64 }),
                    Tok::Float(x) => Term::Float(if negate { -x } else { x }),
                    tok => return Err(unexpected(&tok, at2, "a number after the sign")),
                }
            }
            Tok::Str(mut s) => {
                // Adjacent strings are one string, as in Erlang source.
                while self.peek_str()? {
                    if let (Tok::Str(more), _) = self.lex.next()? {
                        s.extend(more);
                    }
                }
                Term::List(s.into_iter().map(|c| Term::Int(c as i64)).collect())
            }
            Tok::BinOpen => self.binary()?,
            Tok::Lt => {
                let node = self.node_name()?;
                let n = self.lex.dotted_numbers(at)?;
                match n.as_slice() {
                    [id, serial] => Term::Pid(Pid {
                        node,
                        id: u32_field(*id, at, "pid id")?,
                        serial: u32_field(*serial, at, "pid serial")?,
                        creation: 0,
                    }),
                    _ => return Err(err(at, "a pid has two numbers: <'node@host'.ID.SERIAL>")),
                }
            }
            Tok::Hash(name) => {
                let (tok, at2) = self.lex.next()?;
                if tok != Tok::Lt {
                    return Err(unexpected(&tok, at2, &format!("`<` after `#{name}`")));
                }
                match name.as_str() {
                    "Port" => {
                        let node = self.node_name()?;
                        match self.lex.dotted_numbers(at)?.as_slice() {
                            [id] => Term::Port(Port {
                                node,
                                id: *id,
                                creation: 0,
                            }),
                            _ => return Err(err(at, "a port has one number: #Port<'node@host'.ID>")),
                        }
                    }
                    "Ref" => {
                        let node = self.node_name()?;
                        let words = self.lex.dotted_numbers(at)?;
                        if words.is_empty() || words.len() > 5 {
                            return Err(err(at, "a reference has 1 to 5 numbers: #Ref<'node@host'.A.B.C>"));
                        }
                        let mut id = Vec::with_capacity(words.len());
                        for w in words.iter().rev() {
                            id.push(u32_field(*w, at, "reference word")?);
                        }
                        Term::Reference(Box::new(Reference {
                            node,
                            creation: 0,
                            id,
                        }))
                    }
                    "Fun" => return Err(err(at, "a local fun (#Fun<...>) cannot be read back from text")),
                    _ => return Err(err(at, format!("unknown `#{name}<...>`: expected #Ref or #Port"))),
                }
            }
            Tok::Var(v) => {
                return Err(err(
                    at,
                    format!("`{v}` is a variable; a term literal cannot contain variables"),
                ))
            }
            tok => return Err(unexpected(&tok, at, "a term")),
        })
    }

    fn peek_str(&mut self) -> Result<bool, ParseError> {
        let save = self.lex.pos();
        let (tok, _) = self.lex.next()?;
        let hit = matches!(tok, Tok::Str(_));
        self.lex.reset(save);
        Ok(hit)
    }

    /// The node name of a pid, port or reference: an atom.
    fn node_name(&mut self) -> Result<Atom, ParseError> {
        match self.lex.next()? {
            (Tok::Atom { name, .. }, at) => atom(&name, at),
            (tok, at) => Err(unexpected(
                &tok,
                at,
                "a node name such as 'node@host' (Erlang's <0.80.0> form has none)",
            )),
        }
    }

    /// `fun Module:Function/Arity`, after `fun`.
    fn export_fun(&mut self) -> Result<Term, ParseError> {
        let module = self.fun_atom()?;
        self.expect(Tok::Colon, "`:` in fun Module:Function/Arity")?;
        let function = self.fun_atom()?;
        self.expect(Tok::Slash, "`/` in fun Module:Function/Arity")?;
        let (tok, at2) = self.lex.next()?;
        let arity = match tok {
            Tok::Int(BigIntOrSmall::Small(a)) if a <= 255 => a as u8,
            tok => return Err(unexpected(&tok, at2, "an arity 0..255")),
        };
        Ok(Term::ExternalFun(Box::new(ExternalFun {
            module,
            function,
            arity,
        })))
    }

    fn fun_atom(&mut self) -> Result<Atom, ParseError> {
        match self.lex.next()? {
            (Tok::Atom { name, .. }, at) => atom(&name, at),
            (tok, at) => Err(unexpected(&tok, at, "an atom")),
        }
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<(), ParseError> {
        let (tok, at) = self.lex.next()?;
        if tok == want {
            Ok(())
        } else {
            Err(unexpected(&tok, at, what))
        }
    }

    /// `<<Segment, ...>>` after `<<`.
    fn binary(&mut self) -> Result<Term, ParseError> {
        let mut bits = super::bits::BitWriter::default();
        if self.peek_is(&Tok::BinClose)? {
            return Ok(Term::Binary(Default::default()));
        }
        loop {
            super::bits::segment(self, &mut bits)?;
            let (tok, at2) = self.lex.next()?;
            match tok {
                Tok::Comma => continue,
                Tok::BinClose => break,
                tok => return Err(unexpected(&tok, at2, "`,` or `>>` in a binary")),
            }
        }
        Ok(bits.finish())
    }

    pub(super) fn next_tok(&mut self) -> Result<(Tok, usize), ParseError> {
        self.lex.next()
    }

    pub(super) fn peek_tok_is(&mut self, want: &Tok) -> Result<bool, ParseError> {
        self.peek_is(want)
    }

    /// Takes `bits` from the expansion budget for sized segments.
    pub(super) fn spend_bits(&mut self, bits: u64, at: usize) -> Result<(), ParseError> {
        if bits > self.bit_budget {
            return Err(err(
                at,
                format!("binary segments larger than {BINARY_EXPANSION} bits per byte of input"),
            ));
        }
        self.bit_budget -= bits;
        Ok(())
    }
}

fn u32_field(v: u64, at: usize, what: &str) -> Result<u32, ParseError> {
    u32::try_from(v).map_err(|_| err(at, format!("{what} {v} does not fit in 32 bits")))
}

fn atom(name: &str, at: usize) -> Result<Atom, ParseError> {
    if name.chars().count() > MAX_ATOM_CHARS {
        return Err(err(at, format!("atom longer than {MAX_ATOM_CHARS} characters")));
    }
    Ok(Atom::new(name))
}

pub(super) fn int_term(i: BigIntOrSmall, negate: bool) -> Term {
    match (i, negate) {
        (BigIntOrSmall::Small(v), false) => match i64::try_from(v) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::big(BigInt::from(v)),
        },
        (BigIntOrSmall::Small(v), true) => match i64::try_from(v) {
            Ok(i) => Term::Int(-i),
            Err(_) => Term::big(-BigInt::from(v)),
        },
        (BigIntOrSmall::Big(v), false) => Term::big(v),
        (BigIntOrSmall::Big(v), true) => Term::big(-v),
    }
}

/// Map pairs with later duplicates replacing earlier ones, as Erlang reads `#{a => 1, a => 2}`;
/// linear in the number of pairs, and without copying keys.
fn dedup_map(mut pairs: Vec<(Term, Term)>) -> Map {
    if pairs.len() <= 8 {
        return Map::from_pairs(pairs);
    }
    let keep: Option<Vec<bool>> = {
        let mut last: HashMap<&Term, usize> = HashMap::with_capacity(pairs.len());
        for (i, (k, _)) in pairs.iter().enumerate() {
            last.insert(k, i);
        }
        (last.len() != pairs.len()).then(|| {
            pairs
                .iter()
                .enumerate()
                .map(|(i, (k, _))| last.get(k) == Some(&i))
                .collect()
        })
    };
    if let Some(keep) = keep {
        let mut i = 0;
        pairs.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    Map::from_unique_pairs(pairs)
}
