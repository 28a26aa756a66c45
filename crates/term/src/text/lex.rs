//! The tokens of Erlang term literals, read one at a time from the input.
//!
//! Numbers are read without their sign (the parser applies `-` and `+`), strings and
//! quoted atoms with their escapes resolved. Every error carries the byte offset where the
//! offending token starts.

use super::print::{is_atom_start, is_name_char};
use super::ParseError;
use crate::BigInt;
use num_traits::Num;

/// The longest integer literal accepted, in digits. Converting digits to a big integer
/// takes time quadratic in their number, so the limit keeps hostile input cheap; it is far
/// above anything a term carries in practice (a 100,000-digit integer is 41 KiB in ETF).
pub const MAX_INTEGER_DIGITS: usize = 100_000;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Bar,
    Comma,
    /// `<<`
    BinOpen,
    /// `>>`
    BinClose,
    /// `#{`
    MapOpen,
    /// `=>`
    Arrow,
    Colon,
    Slash,
    Minus,
    Plus,
    /// `<`
    Lt,
    /// The end of the term: `.` followed by whitespace, a comment or the end.
    End,
    /// `#Name` as in `#Ref<...>`.
    Hash(String),
    Atom {
        name: String,
        quoted: bool,
    },
    Var(String),
    Int(BigIntOrSmall),
    Float(f64),
    Char(u32),
    Str(Vec<u32>),
    Eof,
}

/// An unsigned integer as read: small ones without an allocation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum BigIntOrSmall {
    Small(u64),
    Big(BigInt),
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn err(offset: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        offset,
        reason: reason.into(),
    }
}

/// Erlang's whitespace: control characters, space, and Latin-1 `\x80`..=`\xA0`.
fn is_space(c: char) -> bool {
    c <= ' ' || ('\u{80}'..='\u{A0}').contains(&c)
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    /// Goes back to byte offset `pos`, which an earlier [`Lexer::pos`] returned.
    pub(super) fn reset(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// The byte offset of the next character.
    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    fn peek(&self) -> Option<char> {
        match self.src.as_bytes().get(self.pos) {
            Some(&b) if b.is_ascii() => Some(b as char),
            Some(_) => self.src[self.pos..].chars().next(),
            None => None,
        }
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Skips whitespace and `%` comments.
    pub(super) fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.bump();
            } else if c == '%' {
                match self.src[self.pos..].find('\n') {
                    Some(n) => self.pos += n + 1,
                    None => self.pos = self.src.len(),
                }
            } else {
                break;
            }
        }
    }

    /// The next token and the offset where it starts.
    pub(super) fn next(&mut self) -> Result<(Tok, usize), ParseError> {
        self.skip_space();
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok((Tok::Eof, start));
        };
        let tok = match c {
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '|' => Tok::Bar,
            ',' => Tok::Comma,
            ':' => Tok::Colon,
            '/' => Tok::Slash,
            '-' => Tok::Minus,
            '+' => Tok::Plus,
            '<' if self.eat('<') => Tok::BinOpen,
            '<' => Tok::Lt,
            '>' if self.eat('>') => Tok::BinClose,
            '=' if self.eat('>') => Tok::Arrow,
            '#' if self.eat('{') => Tok::MapOpen,
            '#' => {
                let name_start = self.pos;
                while self.peek().is_some_and(is_name_char) {
                    self.bump();
                }
                if self.pos == name_start {
                    return Err(err(start, "expected `#{` or `#Ref<`, `#Port<` after `#`"));
                }
                Tok::Hash(self.src[name_start..self.pos].to_string())
            }
            '.' => match self.peek() {
                None => Tok::End,
                Some(n) if is_space(n) || n == '%' => Tok::End,
                Some(_) => return Err(err(start, "unexpected `.` (a term ends with `.` and whitespace)")),
            },
            '\'' => {
                let chars = self.quoted(start, '\'')?;
                let mut name = String::with_capacity(chars.len());
                for c in chars {
                    match char::from_u32(c) {
                        Some(ch) => name.push(ch),
                        None => return Err(err(start, format!("an atom cannot hold the code point {c:#X}"))),
                    }
                }
                Tok::Atom { name, quoted: true }
            }
            '"' => Tok::Str(self.quoted(start, '"')?),
            '$' => {
                let Some(ch) = self.bump() else {
                    return Err(err(start, "expected a character after `$`"));
                };
                let v = if ch == '\\' {
                    self.escape(start)?
                } else {
                    ch as u32
                };
                Tok::Char(v)
            }
            c if c.is_ascii_digit() => self.number(start)?,
            c if is_atom_start(c) => {
                while self.peek().is_some_and(is_name_char) {
                    self.bump();
                }
                Tok::Atom {
                    name: self.src[start..self.pos].to_string(),
                    quoted: false,
                }
            }
            c if c == '_' || c.is_uppercase() => {
                while self.peek().is_some_and(is_name_char) {
                    self.bump();
                }
                Tok::Var(self.src[start..self.pos].to_string())
            }
            c => return Err(err(start, format!("unexpected character {c:?}"))),
        };
        Ok((tok, start))
    }

    /// The code points of a quoted atom or string whose opening quote was just read.
    fn quoted(&mut self, start: usize, quote: char) -> Result<Vec<u32>, ParseError> {
        let mut out = Vec::new();
        loop {
            match self.bump() {
                None => {
                    let what = if quote == '"' { "string" } else { "quoted atom" };
                    return Err(err(
                        start,
                        format!("unterminated {what}: expected a closing {quote}"),
                    ));
                }
                Some(c) if c == quote => return Ok(out),
                Some('\\') => out.push(self.escape(start)?),
                Some(c) => out.push(c as u32),
            }
        }
    }

    /// The value of an escape sequence whose backslash was just read.
    fn escape(&mut self, start: usize) -> Result<u32, ParseError> {
        let at = self.pos;
        let Some(c) = self.bump() else {
            return Err(err(start, "unterminated escape sequence"));
        };
        Ok(match c {
            '0'..='7' => {
                let mut v = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            self.bump();
                            v = v * 8 + (d as u32 - '0' as u32);
                        }
                        _ => break,
                    }
                }
                v
            }
            'x' => {
                if self.eat('{') {
                    let digits_start = self.pos;
                    while self.peek().is_some_and(|d| d.is_ascii_hexdigit()) {
                        self.bump();
                    }
                    let digits = &self.src[digits_start..self.pos];
                    if digits.is_empty() || !self.eat('}') {
                        return Err(err(at - 1, "expected hex digits and `}` in `\\x{...}`"));
                    }
                    match u32::from_str_radix(digits, 16) {
                        Ok(v) if v <= 0x10FFFF => v,
                        _ => return Err(err(at - 1, "character code above 16#10FFFF")),
                    }
                } else {
                    let mut v = 0;
                    for _ in 0..2 {
                        match self.bump().and_then(|d| d.to_digit(16)) {
                            Some(d) => v = v * 16 + d,
                            None => return Err(err(at - 1, "expected two hex digits after `\\x`")),
                        }
                    }
                    v
                }
            }
            '^' => match self.bump() {
                Some(c) => c as u32 & 0x1F,
                None => return Err(err(at - 1, "expected a character after `\\^`")),
            },
            'b' => 8,
            'd' => 127,
            'e' => 27,
            'f' => 12,
            'n' => 10,
            'r' => 13,
            's' => 32,
            't' => 9,
            'v' => 11,
            other => other as u32,
        })
    }

    /// Digits with `_` separators in `radix`; returns them without the separators.
    fn digits(&mut self, radix: u32) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c.is_digit(radix) {
                s.push(c);
                self.bump();
            } else if c == '_' && self.peek_at(1).is_some_and(|d| d.is_digit(radix)) && !s.is_empty() {
                self.bump();
            } else {
                break;
            }
        }
        s
    }

    /// An unsigned integer or float whose first digit was just read.
    fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        // The common case, plain decimal digits, straight from the input.
        let bytes = self.src.as_bytes();
        let mut end = start;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let fraction = bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !fraction && !matches!(bytes.get(end), Some(b'_' | b'#')) {
            self.pos = end;
            return Ok(Tok::Int(make_int(start, &self.src[start..end], 10)?));
        }
        self.pos = start;
        let int_part = self.digits(10);
        if self.peek() == Some('#') {
            let radix: u32 = match int_part.parse() {
                Ok(r) if (2..=36).contains(&r) => r,
                _ => return Err(err(start, "the base of `Base#Digits` must be 2..36")),
            };
            self.bump();
            let digits = self.digits(radix);
            if digits.is_empty() {
                return Err(err(start, format!("expected base-{radix} digits after `#`")));
            }
            return Ok(Tok::Int(make_int(start, &digits, radix)?));
        }
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
            self.bump();
            let frac = self.digits(10);
            let mut text = format!("{int_part}.{frac}");
            if matches!(self.peek(), Some('e' | 'E')) {
                let save = self.pos;
                self.bump();
                let sign = match self.peek() {
                    Some(s @ ('-' | '+')) => {
                        self.bump();
                        Some(s)
                    }
                    _ => None,
                };
                let exp = self.digits(10);
                if exp.is_empty() {
                    self.pos = save;
                    return Err(err(save, "expected exponent digits after `e`"));
                }
                text.push('e');
                if let Some(s) = sign {
                    text.push(s);
                }
                text.push_str(&exp);
            }
            return match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Tok::Float(x)),
                _ => Err(err(start, "float out of range (beyond ±1.7976931348623157e308)")),
            };
        }
        Ok(Tok::Int(make_int(start, &int_part, 10)?))
    }
}

fn make_int(start: usize, digits: &str, radix: u32) -> Result<BigIntOrSmall, ParseError> {
    if digits.len() > MAX_INTEGER_DIGITS {
        return Err(err(
            start,
            format!("integer literal longer than {MAX_INTEGER_DIGITS} digits"),
        ));
    }
    if let Ok(v) = u64::from_str_radix(digits, radix) {
        return Ok(BigIntOrSmall::Small(v));
    }
    BigInt::from_str_radix(digits, radix)
        .map(BigIntOrSmall::Big)
        .map_err(|_| err(start, "invalid integer literal"))
}

impl Lexer<'_> {
    /// The `.N.N...>` part of a pid, port or reference after its node name, read as raw
    /// characters (the token rules would see `80.0` as a float).
    pub(super) fn dotted_numbers(&mut self, start: usize) -> Result<Vec<u64>, ParseError> {
        let mut out = Vec::new();
        loop {
            self.skip_space();
            if self.eat('>') {
                return Ok(out);
            }
            let at = self.pos;
            if !self.eat('.') {
                return Err(err(
                    at,
                    "expected `.Number` or `>` in an identifier such as <'node@host'.80.0>",
                ));
            }
            let digits = self.digits(10);
            match digits.parse::<u64>() {
                Ok(v) if out.len() < 8 => out.push(v),
                Ok(_) => return Err(err(start, "too many numbers in an identifier")),
                Err(_) => return Err(err(at, "expected a number of at most 64 bits after `.`")),
            }
        }
    }
}
