//! The ETF codec against a real `erl`: terms made by Erlang go through beamlink and back,
//! and terms made in Rust are read by Erlang.
//!
//! Erlang side: tests/erl/term_gen.erl, compiled into a temporary directory. Terms travel
//! in record files (4-byte length + `term_to_binary`), so one `erl` run handles
//! thousands of terms.

use beamlink_e2e::erl_records::{compile_erl_modules, erl, quoted, records, write_records};
use beamlink_term::etf::{decode, encode, encode_compressed};
use beamlink_term::{Atom, BigInt, Map, Term};

fn term_gen_dir() -> tempfile::TempDir {
    compile_erl_modules(&["term_gen"])
}

#[test]
fn ten_thousand_erlang_terms_survive_beamlink_decode_and_encode() {
    let dir = term_gen_dir();
    let input = dir.path().join("from_erlang.bin");
    let output = dir.path().join("from_beamlink.bin");
    let count = 10_000;
    erl(
        dir.path(),
        &format!("ok = term_gen:write_file({}, {count}, 20261125)", quoted(&input)),
    );

    let bytes = std::fs::read(&input).expect("read Erlang's terms");
    let recs = records(&bytes);
    assert_eq!(recs.len(), count);
    let mut back = Vec::with_capacity(count);
    for (i, r) in recs.iter().enumerate() {
        let t = decode(r).unwrap_or_else(|e| panic!("term {i} from Erlang does not decode: {e}\n{r:?}"));
        // Our encoding of what we decoded must decode to the same term here too.
        let mine = encode(&t).unwrap_or_else(|e| panic!("term {i} does not encode: {e}"));
        assert_eq!(
            decode(&mine).as_ref(),
            Ok(&t),
            "term {i} changes in a beamlink round trip"
        );
        // Every tenth term goes back compressed.
        back.push(if i % 10 == 0 {
            encode_compressed(&t, 6).expect("compress")
        } else {
            mine
        });
    }
    write_records(&output, back.iter().map(|r| r.as_slice()));

    let verdict = erl(
        dir.path(),
        &format!("term_gen:check_file({}, {})", quoted(&input), quoted(&output)),
    );
    assert_eq!(verdict.trim(), format!("ok {count}"));
}

/// Terms built in Rust, each with an Erlang expression for the value it must be.
/// Erlang checks both `=:=` and that the bytes are exactly what its own
/// `term_to_binary(T, [{minor_version, 2}])` writes.
fn rust_terms() -> Vec<(Term, String)> {
    let ints = |v: Vec<i64>| Term::List(v.into_iter().map(Term::Int).collect());
    let huge = BigInt::parse_bytes(
        b"123456789012345678901234567890123456789012345678901234567890",
        10,
    )
    .expect("a literal big integer");
    vec![
        // eetf sent this as the string [255, 2].
        (ints(vec![-1, 2]), "[-1,2]".into()),
        (ints(vec![0, 255]), "[0,255]".into()),
        (ints(vec![1, 256]), "[1,256]".into()),
        // eetf cut this to 4,464 elements; it must be a LIST_EXT of 70,000.
        (
            ints((0..70_000).map(|i| i % 256).collect()),
            "[I rem 256 || I <- lists:seq(0, 69999)]".into(),
        ),
        // The longest list that is still a STRING_EXT.
        (
            ints((0..65_535).map(|i| i % 26 + 97).collect()),
            "[I rem 26 + 97 || I <- lists:seq(0, 65534)]".into(),
        ),
        (Term::Int(-1), "-1".into()),
        (Term::Int(255), "255".into()),
        (Term::Int(256), "256".into()),
        (Term::Int(i32::MIN as i64), "-2147483648".into()),
        (Term::Int(i32::MAX as i64 + 1), "2147483648".into()),
        (Term::Int(i64::MIN), "-9223372036854775808".into()),
        (Term::from(u64::MAX), "18446744073709551615".into()),
        (Term::big(huge.clone()), huge.to_string()),
        (
            Term::big(-(huge.clone() * huge.clone())),
            format!("-({huge} * {huge})"),
        ),
        (Term::big(BigInt::from(1u8) << 2039usize), "1 bsl 2039".into()),
        (Term::big(BigInt::from(1u8) << 2040usize), "1 bsl 2040".into()),
        (Term::Float(-0.0), "-0.0".into()),
        (Term::Float(1.1), "1.1".into()),
        (Term::Float(f64::MAX), "1.7976931348623157e308".into()),
        (Term::atom("ok"), "ok".into()),
        (Term::atom(""), "''".into()),
        (Term::atom("héllo wörld"), "'héllo wörld'".into()),
        (Term::atom("привет"), "'привет'".into()),
        (Term::atom(&"ж".repeat(255)), format!("'{}'", "ж".repeat(255))),
        (Term::binary(&b"bin"[..]), "<<\"bin\">>".into()),
        (Term::binary(Vec::new()), "<<>>".into()),
        (Term::bitstring(vec![1, 0x47], 3), "<<1,2:3>>".into()),
        (Term::tuple(vec![]), "{}".into()),
        (
            Term::tuple((0..300).map(Term::Int).collect::<Vec<_>>()),
            "list_to_tuple(lists:seq(0, 299))".into(),
        ),
        (
            Term::improper(vec![Term::Int(1), Term::Int(2)], Term::Int(3)),
            "[1,2|3]".into(),
        ),
        (Term::nil(), "[]".into()),
        (
            Term::list(vec![Term::atom("a"), Term::charlist("bc")]),
            "[a,\"bc\"]".into(),
        ),
        (
            // Pairs are written in the map's order; Erlang writes small maps sorted by key.
            Term::map(vec![
                (Term::atom("a"), Term::Int(2)),
                (Term::atom("b"), Term::Int(1)),
            ]),
            "#{a => 2, b => 1}".into(),
        ),
        (Term::Map(Map::new()), "#{}".into()),
        (
            Term::from(beamlink_term::ExternalFun {
                module: Atom::new("lists"),
                function: Atom::new("map"),
                arity: 2,
            }),
            "fun lists:map/2".into(),
        ),
        (Term::charlist("ünïcode ✓"), "\"ünïcode ✓\"".into()),
    ]
}

#[test]
fn terms_built_in_rust_read_in_erlang_as_expected_and_byte_for_byte() {
    let dir = term_gen_dir();
    let terms = rust_terms();
    let exprs: Vec<&str> = terms.iter().map(|(_, e)| e.as_str()).collect();
    let script = dir.path().join("expected.script");
    std::fs::write(&script, format!("[\n{}\n].\n", exprs.join(",\n"))).expect("write the script");
    let bin_path = dir.path().join("from_rust.bin");
    let encoded: Vec<Vec<u8>> = terms.iter().map(|(t, _)| encode(t).expect("encodes")).collect();
    write_records(&bin_path, encoded.iter().map(|r| r.as_slice()));
    let verdict = erl(
        dir.path(),
        &format!(
            "term_gen:check_expected({}, {})",
            quoted(&bin_path),
            quoted(&script)
        ),
    );
    assert_eq!(verdict.trim(), format!("ok {}", terms.len()));
}

#[test]
fn compressed_terms_from_rust_read_in_erlang() {
    let dir = term_gen_dir();
    let words = (0..5_000).map(|i| Term::atom(if i % 2 == 0 { "even" } else { "odd" }));
    let bytes = encode_compressed(&Term::List(words.collect()), 9).expect("encodes");
    assert_eq!(bytes[1], 80, "a repetitive term must come out compressed");
    let bin_path = dir.path().join("compressed.bin");
    write_records(&bin_path, [bytes.as_slice()]);
    let script = dir.path().join("compressed.script");
    std::fs::write(
        &script,
        "[[case I rem 2 of 0 -> even; 1 -> odd end || I <- lists:seq(0, 4999)]].\n",
    )
    .expect("write the script");
    // Compressed bytes are zlib's business, so only =:= is checked here: check_expected
    // would also demand Erlang's exact zlib output.
    let out = erl(
        dir.path(),
        &format!(
            "{{ok, [E]}} = file:script({}), [T] = term_gen:read_file({}), io:format(\"~p~n\", [T =:= E])",
            quoted(&script),
            quoted(&bin_path)
        ),
    );
    assert_eq!(out.trim(), "true");
}
