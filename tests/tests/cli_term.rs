//! `beamlink term` as a user runs it: the real binary, stdin to stdout, and a real `erl`
//! on the other side.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `beamlink` binary of this build (target/<profile>/beamlink next to the test
/// executable), built with `cargo build -p beamlink-cli` when missing.
fn beamlink() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory")
        .to_path_buf();
    let bin = dir.join("beamlink");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "beamlink-cli"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p beamlink-cli failed");
    }
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p beamlink-cli`",
        bin.display()
    );
    bin
}

/// Runs `beamlink term --from FROM --to TO` with `input` on stdin.
fn term(from: &str, to: &str, input: &[u8]) -> Output {
    let mut child = Command::new(beamlink())
        .args(["term", "--from", from, "--to", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start beamlink");
    let mut stdin = child.stdin.take().expect("stdin");
    // A failed write only means beamlink stopped reading early, which its exit status shows.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("wait for beamlink")
}

fn ok_stdout(o: &Output) -> Vec<u8> {
    assert!(
        o.status.success(),
        "beamlink failed: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout.clone()
}

/// Asserts a clean failure: status 1, nothing on stdout, one line on stderr naming a
/// byte offset. Returns the line.
fn fails_cleanly(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(1),
        "status {:?}, stderr {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "stdout {:?}", o.stdout);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("at byte "), "no offset in {err:?}");
    err
}

#[test]
fn text_to_etf_and_back() {
    let lit = "{ok, [1,2,3], #{b => 2, a => <<\"bin\">>}, 'quoted atom', \"string\", 3.14, \
               -12345678901234567890, <<1,2:3>>, [a|b], fun lists:map/2}.";
    let etf = ok_stdout(&term("text", "etf", lit.as_bytes()));
    assert_eq!(etf.first(), Some(&131));
    let text = ok_stdout(&term("etf", "text", &etf));
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "{ok,[1,2,3],#{a => <<\"bin\">>,b => 2},'quoted atom',\"string\",3.14,\
         -12345678901234567890,<<1,2:3>>,[a|b],fun lists:map/2}\n"
    );
    // Same format both sides: a normalising copy.
    assert_eq!(ok_stdout(&term("etf", "etf", &etf)), etf);
    assert_eq!(ok_stdout(&term("text", "text", b"  'ok' % comment\n")), b"ok\n");
}

#[test]
fn bad_input_exits_1_with_the_offset() {
    let e = fails_cleanly(&term("text", "etf", b"{ok, [1,2}"));
    assert!(e.contains("at byte 9"), "{e}");
    let e = fails_cleanly(&term("text", "text", b"{ok,\n\n X}"));
    assert!(e.contains("at byte 7") && e.contains("variable"), "{e}");
    let e = fails_cleanly(&term("text", "text", b"<<\"a\xff\">>"));
    assert!(e.contains("at byte 4") && e.contains("UTF-8"), "{e}");
    fails_cleanly(&term("text", "etf", b""));
    fails_cleanly(&term("etf", "text", b""));
    fails_cleanly(&term("etf", "text", &[131, 104, 3, 97, 1]));
    fails_cleanly(&term("etf", "text", &[130, 97, 1]));
    fails_cleanly(&term("etf", "text", &[131, 108, 255, 255, 255, 255, 106]));
    let e = fails_cleanly(&term("etf", "text", &[131, 97, 1, 0]));
    assert!(e.contains("at byte 3"), "trailing bytes: {e}");
    let e = fails_cleanly(&term("text", "etf", b"{a, 1.0e999}"));
    assert!(e.contains("at byte 4") && e.contains("float"), "{e}");
}

#[test]
fn garbage_never_panics() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let seeds: [&[u8]; 3] = [
        b"{ok,[1,2|x],#{a=>\"b\"}}",
        &[131, 116, 0, 0, 0, 1, 97, 1, 106],
        b"<<1,2:3>>",
    ];
    for i in 0..60 {
        let mut input = seeds[i % seeds.len()].to_vec();
        for _ in 0..rng.gen_range(1..4) {
            let at = rng.gen_range(0..input.len());
            input[at] = rng.gen();
        }
        let from = if i % 2 == 0 { "text" } else { "etf" };
        let o = term(from, "text", &input);
        match o.status.code() {
            Some(0) => assert!(o.stdout.ends_with(b"\n")),
            Some(1) => {
                fails_cleanly(&o);
            }
            other => panic!("{input:?} gave {other:?}: {}", String::from_utf8_lossy(&o.stderr)),
        }
    }
}

/// Runs `expr` in a fresh `erl -noshell`; returns stdout.
fn erl(expr: &str) -> String {
    let out = Command::new("erl")
        .args(["-noshell", "-eval", &format!("{expr}, halt().")])
        .output()
        .expect("run erl (is Erlang/OTP installed? `make deps`)");
    assert!(
        out.status.success(),
        "erl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const TERMS: &str = "[ok, 'Quoted atom', 'ünïcødé', '日本', '', -1, 0, 255, 256, -2147483649, \
    12345678901234567890123456789012345678901234567890, -(1 bsl 200), 3.14, -0.0, 1.0e-300, \
    1.7976931348623157e308, 0.1, 5.0e-324, \"string\", \"\", [1,300,-5], [a|b], [1,2|<<3>>], \
    {}, {a,{b,{c}}}, #{}, #{a => 1, 1 => a, 1.0 => b, {x} => [y]}, \
    maps:from_list([{I, I * I} || I <- lists:seq(1, 40)]), <<>>, <<\"bin\">>, <<0,255>>, \
    <<\"é\"/utf8>>, <<1:1>>, <<1,2:3>>, lists:seq(1, 70000), \
    list_to_binary(lists:duplicate(100000, $x)), fun lists:map/2, \
    [{I, float(I) / 7} || I <- lists:seq(1, 50)]]";

fn dir_str(p: &Path) -> String {
    format!("\"{}\"", p.display())
}

/// Erlang's term_to_binary bytes -> beamlink term --to text -> read by Erlang =:=; and
/// Erlang's ~0tp text -> beamlink term --to etf -> binary_to_term =:=.
#[test]
fn round_trips_through_a_real_erl() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let d = dir_str(dir.path());
    let n: usize = erl(&format!(
        "Ts = {TERMS}, D = {d}, \
         lists:foreach(fun({{I, T}}) -> \
             ok = file:write_file(filename:join(D, integer_to_list(I) ++ \".etf\"), term_to_binary(T)), \
             ok = file:write_file(filename:join(D, integer_to_list(I) ++ \".txt\"), \
                                  unicode:characters_to_binary(io_lib:format(\"~0tp\", [T]))) \
         end, lists:zip(lists:seq(1, length(Ts)), Ts)), \
         io:format(\"~b~n\", [length(Ts)])"
    ))
    .trim()
    .parse()
    .expect("a count");
    for i in 1..=n {
        let etf = std::fs::read(dir.path().join(format!("{i}.etf"))).expect("Erlang's ETF");
        let text = ok_stdout(&term("etf", "text", &etf));
        std::fs::write(dir.path().join(format!("{i}.beamlink.txt")), text).expect("write");
        let txt = std::fs::read(dir.path().join(format!("{i}.txt"))).expect("Erlang's text");
        let etf = ok_stdout(&term("text", "etf", &txt));
        std::fs::write(dir.path().join(format!("{i}.beamlink.etf")), etf).expect("write");
    }
    let out = erl(&format!(
        "Ts = {TERMS}, D = {d}, \
         Bad = [{{I, R}} || {{I, T}} <- lists:zip(lists:seq(1, length(Ts)), Ts), \
             R <- [begin \
                 {{ok, Txt}} = file:read_file(filename:join(D, integer_to_list(I) ++ \".beamlink.txt\")), \
                 {{ok, Toks, _}} = erl_scan:string(unicode:characters_to_list(Txt)), \
                 {{ok, P}} = erl_parse:parse_term(Toks ++ [{{dot, 1}}]), \
                 {{ok, Etf}} = file:read_file(filename:join(D, integer_to_list(I) ++ \".beamlink.etf\")), \
                 {{P =:= T, binary_to_term(Etf) =:= T}} \
             end], R =/= {{true, true}}], \
         io:format(\"bad ~0p~n\", [Bad])"
    ));
    assert_eq!(out.trim(), "bad []", "terms that did not survive");
}
