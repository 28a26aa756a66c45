//! Table tests of Erlang term literals: what they read as, how terms print (the expected
//! texts are what `io_lib:format("~0tp", [T])` prints on OTP 25), and the errors.

use beamlink_term::text::{self, MAX_DEPTH};
use beamlink_term::{Atom, BigInt, ExternalFun, Pid, Port, Reference, Term};

fn p(s: &str) -> Term {
    match text::parse(s) {
        Ok(t) => t,
        Err(e) => panic!("{s:?} did not parse: {e}"),
    }
}

fn ints(v: &[i64]) -> Term {
    Term::List(v.iter().map(|&i| Term::Int(i)).collect())
}

fn atom(s: &str) -> Term {
    Term::atom(s)
}

#[test]
fn reads_atoms() {
    assert_eq!(p("ok"), atom("ok"));
    assert_eq!(p("a@b_C9"), atom("a@b_C9"));
    assert_eq!(p("'hello world'"), atom("hello world"));
    assert_eq!(p("'it\\'s'"), atom("it's"));
    assert_eq!(p("'日本'"), atom("日本"));
    assert_eq!(p("'\\x{1F600}\\n'"), atom("\u{1F600}\n"));
    assert!(
        text::parse("'it''s'").is_err(),
        "adjacent quoted atoms are not joined"
    );
}

#[test]
fn reads_numbers() {
    let cases: Vec<(&str, Term)> = vec![
        ("42", Term::Int(42)),
        ("-42", Term::Int(-42)),
        ("+7", Term::Int(7)),
        ("- 5", Term::Int(-5)),
        ("16#ff", Term::Int(255)),
        ("-16#FF", Term::Int(-255)),
        ("2#1010", Term::Int(10)),
        ("36#zz", Term::Int(35 * 36 + 35)),
        ("1_000_000", Term::Int(1_000_000)),
        ("$a", Term::Int(97)),
        ("$\\n", Term::Int(10)),
        ("$ ", Term::Int(32)),
        ("$\\x{1F600}", Term::Int(0x1F600)),
        ("$\\^A", Term::Int(1)),
        ("$é", Term::Int(0xE9)),
        ("-$a", Term::Int(-97)),
        ("9223372036854775807", Term::Int(i64::MAX)),
        ("-9223372036854775808", Term::Int(i64::MIN)),
        ("9223372036854775808", Term::big(BigInt::from(i64::MAX) + 1)),
        ("3.25", Term::Float(3.25)),
        ("1.0e10", Term::Float(1.0e10)),
        ("1.0E+10", Term::Float(1.0e10)),
        ("-2.5e-3", Term::Float(-2.5e-3)),
        ("5.0e-324", Term::Float(5.0e-324)),
        ("1_0.2_5", Term::Float(10.25)),
    ];
    for (s, want) in cases {
        assert_eq!(p(s), want, "{s}");
    }
    let big = "-123456789012345678901234567890123456789";
    assert_eq!(p(big), Term::big(big.parse::<BigInt>().unwrap()));
    assert_eq!(p(big).to_string(), big);
    assert_eq!(p("-0.0").as_f64().map(f64::is_sign_negative), Some(true));
}

#[test]
fn reads_strings_with_every_escape() {
    assert_eq!(p(r#""abc""#), ints(&[97, 98, 99]));
    assert_eq!(p(r#""""#), Term::nil());
    assert_eq!(
        p(r#""\b\d\e\f\n\r\s\t\v\\\"\'\z""#),
        ints(&[8, 127, 27, 12, 10, 13, 32, 9, 11, 92, 34, 39, 122])
    );
    assert_eq!(
        p(r#""\x{1F600}\xFF\xfe\7\101\1012""#),
        ints(&[0x1F600, 255, 254, 7, 65, 65, 50])
    );
    assert_eq!(p(r#""\^A\^z\^[""#), ints(&[1, 26, 27]));
    assert_eq!(
        p(r#""ab" "cd"  % joined
                    "e""#),
        Term::charlist("abcde")
    );
    assert_eq!(p("\"日本\""), ints(&[0x65E5, 0x672C]));
}

#[test]
fn reads_binaries() {
    assert_eq!(p("<<>>"), Term::binary(vec![]));
    assert_eq!(p("<<1,2,3>>"), Term::binary(vec![1, 2, 3]));
    assert_eq!(p(r#"<<"str">>"#), Term::binary(b"str".to_vec()));
    assert_eq!(p(r#"<<"é"/utf8>>"#), Term::binary("é".as_bytes().to_vec()));
    assert_eq!(p(r#"<<"é">>"#), Term::binary(vec![0xE9]));
    assert_eq!(p("<<1,2:3>>"), Term::bitstring(vec![1, 0b0100_0000], 3));
    assert_eq!(p("<<1:1>>"), Term::bitstring(vec![0x80], 1));
    assert_eq!(p("<<-1>>"), Term::binary(vec![255]));
    assert_eq!(p("<<256:16>>"), Term::binary(vec![1, 0]));
    assert_eq!(p("<<256:16/little>>"), Term::binary(vec![0, 1]));
    assert_eq!(p("<<1:2/unit:8>>"), Term::binary(vec![0, 1]));
    assert_eq!(p("<<1.5/float>>"), Term::binary(1.5f64.to_be_bytes().to_vec()));
    assert_eq!(
        p("<<1.5:32/float-little>>"),
        Term::binary(1.5f32.to_le_bytes().to_vec())
    );
    assert_eq!(p("<<$a/utf16>>"), Term::binary(vec![0, 97]));
    assert_eq!(p("<<16#1F600/utf32>>"), Term::binary(vec![0, 1, 0xF6, 0]));
    assert_eq!(p("<<1:4, 2:4>>"), Term::binary(vec![0x12]));
    assert_eq!(
        p("<<340282366920938463463374607431768211457:136>>")
            .as_binary()
            .map(|b| b.len()),
        Some(17)
    );
    assert_eq!(
        p(r#"<<"ab", 2:3>>"#),
        Term::bitstring(vec![97, 98, 0b0100_0000], 3)
    );
}

#[test]
fn reads_containers() {
    assert_eq!(p("{}"), Term::tuple(vec![]));
    assert_eq!(
        p("{a, {b, []}}"),
        Term::tuple(vec![atom("a"), Term::tuple(vec![atom("b"), Term::nil()])])
    );
    assert_eq!(
        p("[1,2|3]"),
        Term::improper(vec![Term::Int(1), Term::Int(2)], Term::Int(3))
    );
    assert_eq!(p("[1|[2|[]]]"), ints(&[1, 2]));
    assert_eq!(
        p("[1|[2|x]]"),
        Term::improper(vec![Term::Int(1), Term::Int(2)], atom("x"))
    );
    assert_eq!(p("#{}"), Term::map([]));
    assert_eq!(
        p("#{a => 1, b => [x]}"),
        Term::map([
            (atom("a"), Term::Int(1)),
            (atom("b"), Term::list(vec![atom("x")]))
        ])
    );
    assert_eq!(p("#{a => 1, a => 2}"), Term::map([(atom("a"), Term::Int(2))]));
    assert_eq!(
        p("#{ #{} => {} }"),
        Term::map([(Term::map([]), Term::tuple(vec![]))])
    );
    assert_eq!(
        p("fun lists:map/2"),
        Term::from(ExternalFun {
            module: "lists".into(),
            function: "map".into(),
            arity: 2
        })
    );
    assert_eq!(p("fun 'a b':'end'/0").to_string(), "fun 'a b':'end'/0");
}

#[test]
fn reads_identifiers_with_node_names() {
    assert_eq!(
        p("<'node@host'.80.3>"),
        Term::Pid(Pid {
            node: Atom::new("node@host"),
            id: 80,
            serial: 3,
            creation: 0
        })
    );
    assert_eq!(
        p("<a@b.1.2>").as_pid().map(|p| p.node.as_str().to_string()),
        Some("a@b".into())
    );
    assert_eq!(
        p("#Port<'n@h'.7>"),
        Term::Port(Port {
            node: Atom::new("n@h"),
            id: 7,
            creation: 0
        })
    );
    assert_eq!(
        p("#Ref<'n@h'.3.2.1>"),
        Term::from(Reference {
            node: Atom::new("n@h"),
            creation: 0,
            id: vec![1, 2, 3]
        })
    );
}

#[test]
fn trailing_dot_whitespace_and_comments() {
    for s in [
        "ok.",
        "ok .",
        " ok.\n",
        "% c\nok % c\n. % end",
        "ok.%x",
        "\u{a0}ok\t",
    ] {
        assert_eq!(p(s), atom("ok"), "{s:?}");
    }
    assert_eq!(p("1."), Term::Int(1));
}

/// Printing: each pair is `(term literal, what io_lib:format("~0tp") prints)`.
#[test]
fn prints_as_erlang_does() {
    let cases = [
        ("'and'", "'and'"),
        ("'Abc'", "'Abc'"),
        ("'a b'", "'a b'"),
        ("a@b", "a@b"),
        ("'_a'", "'_a'"),
        ("'ä'", "ä"),
        ("'Ä'", "'Ä'"),
        ("'x÷'", "'x÷'"),
        ("'ª'", "'ª'"),
        ("'a\\nb'", "'a\\nb'"),
        ("'a\\'b'", "'a\\'b'"),
        ("'a\\\\b'", "'a\\\\b'"),
        ("''", "''"),
        ("'a\\x{7f}'", "'a\\d'"),
        ("'a\\x{80}b'", "'a\\200b'"),
        ("'a\\x{1}b'", "'a\\001b'"),
        ("'\\x{1F600}'", "'😀'"),
        ("maybe", "maybe"),
        ("'cond'", "'cond'"),
        ("\"a\\nb\\tc\\e\\v\\b\\f\\r\"", "\"a\\nb\\tc\\e\\v\\b\\f\\r\""),
        ("[7]", "[7]"),
        ("[127]", "[127]"),
        ("[159]", "[159]"),
        ("[160]", "\"\u{a0}\""),
        ("[255]", "\"ÿ\""),
        ("[256]", "[256]"),
        ("\"a\\\"b\\\\c'\"", "\"a\\\"b\\\\c'\""),
        ("[$a|b]", "[97|b]"),
        ("[[]]", "[[]]"),
        ("\"\\x{1F600}\"", "[128512]"),
        ("<<>>", "<<>>"),
        ("<<\"abc\">>", "<<\"abc\">>"),
        ("<<1,2,3>>", "<<1,2,3>>"),
        ("<<\"é\"/utf8>>", "<<\"é\"/utf8>>"),
        ("<<228>>", "<<\"ä\">>"),
        ("<<\"日本\"/utf8>>", "<<230,151,165,230,156,172>>"),
        ("<<\"ab\", 2:3>>", "<<97,98,2:3>>"),
        ("<<1:1>>", "<<1:1>>"),
        ("<<\"é\"/utf8, 0>>", "<<195,169,0>>"),
        ("<<200,200>>", "<<\"ÈÈ\">>"),
        ("<<196,160>>", "<<196,160>>"),
        ("<<194,160>>", "<<\"\u{a0}\"/utf8>>"),
        ("<<127>>", "<<127>>"),
        ("<<255:8, 1:4>>", "<<255,1:4>>"),
        (
            "#{2 => a, 1.0 => b, 1 => c, 0.5 => d, a => e, \"s\" => f, {} => g, <<>> => h, -1 => i, 3.0=>j}",
            "#{-1 => i,1 => c,2 => a,0.5 => d,1.0 => b,3.0 => j,a => e,{} => g,\"s\" => f,<<>> => h}",
        ),
        (
            "#{{2} => a, {1.0} => b, [2] => c, [1.0] => d, [1|2.0] => e, [1|2] => f}",
            "#{{2} => a,{1.0} => b,[1|2] => f,[1|2.0] => e,[2] => c,[1.0] => d}",
        ),
        ("#{1 => a, 1.0 => b}", "#{1 => a,1.0 => b}"),
        ("{a, {b, [c]}}", "{a,{b,[c]}}"),
        ("fun lists:map/2", "fun lists:map/2"),
        ("12345678901234567890123456789", "12345678901234567890123456789"),
        ("[-0.0]", "[-0.0]"),
        ("1.0e3", "1.0e3"),
    ];
    for (lit, want) in cases {
        assert_eq!(p(lit).to_string(), want, "{lit}");
    }
    let pid = Term::Pid(Pid {
        node: Atom::new("a@127.0.0.1"),
        id: 80,
        serial: 0,
        creation: 5,
    });
    assert_eq!(pid.to_string(), "<'a@127.0.0.1'.80.0>");
}

fn err_at(s: &str) -> (usize, String) {
    match text::parse(s) {
        Ok(t) => panic!("{s:?} parsed as {t:?}"),
        Err(e) => (e.offset, e.reason),
    }
}

#[test]
fn errors_say_where_and_what() {
    let cases: [(&str, usize, &str); 22] = [
        ("", 0, "expected a term"),
        ("{a,", 3, "expected a term"),
        ("{a b}", 3, "expected `,` or `}`"),
        ("[1,2|3,4]", 6, "expected `]`"),
        ("#{a}", 3, "`=>`"),
        ("#{a => 1 b}", 9, "`,` or `}` in a map"),
        ("X", 0, "variable"),
        ("{ok, _}", 5, "variable"),
        ("'abc", 0, "unterminated quoted atom"),
        ("\"abc", 0, "unterminated string"),
        ("and", 0, "reserved word"),
        ("1.0e999", 0, "float out of range"),
        ("37#1", 0, "base"),
        ("16#", 0, "digits"),
        ("\"\\x{110000}\"", 1, "above 16#10FFFF"),
        ("ok ok", 3, "expected the end of the term"),
        ("ok. ok", 4, "expected the end of the term"),
        ("<0.80.0>", 1, "node name"),
        ("#Fun<erl_eval.6.1>", 0, "cannot be read back"),
        ("<<1:3/little>>", 2, "little-endian"),
        ("<<1.5:16/float>>", 2, "32 or 64"),
        ("ok.x", 2, "unexpected `.`"),
    ];
    for (s, offset, reason) in cases {
        let (o, r) = err_at(s);
        assert_eq!(o, offset, "offset for {s:?} ({r})");
        assert!(r.contains(reason), "reason for {s:?}: {r}");
    }
    let long = format!("'{}'", "a".repeat(256));
    assert!(err_at(&long).1.contains("255"));
    assert_eq!(
        p(&format!("'{}'", "é".repeat(255)))
            .as_atom()
            .map(|a| a.chars().count()),
        Some(255)
    );
}

#[test]
fn nesting_is_limited_without_overflowing_the_stack() {
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(text::parse(&ok).is_ok());
    let deep = format!("{}{}", "{".repeat(1_000_000), "}".repeat(1_000_000));
    let (offset, reason) = err_at(&deep);
    assert_eq!(offset, MAX_DEPTH);
    assert!(reason.contains("nested deeper"), "{reason}");
    // Map keys as deep as the limit allows: reading the map compares them.
    let d = MAX_DEPTH - 2;
    let pairs: Vec<String> = (0..12)
        .map(|i| format!("{}{}{} => x", "[".repeat(d), i % 11, "]".repeat(d)))
        .collect();
    let map = p(&format!("#{{{}}}", pairs.join(",")));
    assert_eq!(map.as_map().map(|m| m.len()), Some(11));
    assert_eq!(p(&map.to_string()), map);
    // A term built deeper than the parser allows still prints (without recursion).
    let mut t = Term::nil();
    for _ in 0..200_000 {
        t = Term::tuple(vec![t]);
    }
    assert_eq!(t.to_string().len(), 200_000 * 2 + 2);
    // Unwind without recursing in Drop.
    let mut cur = t;
    while let Term::Tuple(mut v) = cur {
        cur = v.pop().unwrap_or(Term::nil());
    }
}

#[test]
fn sized_segments_cannot_expand_without_bound() {
    let (_, reason) = err_at("<<0:100000000000>>");
    assert!(reason.contains("bits per byte"), "{reason}");
    assert!(err_at("<<1:18446744073709551615/unit:256>>")
        .1
        .contains("overflow"));
}

#[test]
fn large_inputs_parse_in_linear_time() {
    let n = 300_000;
    let list = format!("[{}]", vec!["12345"; n].join(","));
    let started = std::time::Instant::now();
    assert_eq!(p(&list).as_list().map(|l| l.len()), Some(n));
    let keys: Vec<String> = (0..50_000).map(|i| format!("{i} => x")).collect();
    let map = format!("#{{{}}}", keys.join(","));
    assert_eq!(p(&map).as_map().map(|m| m.len()), Some(50_000));
    let s = format!("\"{}\"", "a".repeat(1_000_000));
    assert_eq!(p(&s).as_list().map(|l| l.len()), Some(1_000_000));
    // Generous: a quadratic parser would take minutes on these sizes.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}
