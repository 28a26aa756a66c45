//! `beamlink rpc`, `eval` and `send` against real erl and elixir nodes: results in
//! Erlang, Elixir and JSON syntax, badrpc, timeouts, malformed terms, exit statuses.

use beamlink_e2e::{run_beamlink, Beam, CliOutput, Epmd};

struct Env {
    _epmd: Epmd,
    port: String,
    cookie: String,
}

impl Env {
    fn run(&self, args: &[&str]) -> CliOutput {
        run_beamlink(
            args,
            &[("ERL_EPMD_PORT", &self.port), ("BEAMLINK_COOKIE", &self.cookie)],
        )
    }
}

fn setup_erl() -> (Env, Beam) {
    let epmd = Epmd::start();
    let erl = Beam::erlang().epmd(epmd.port).start();
    let env = Env {
        port: epmd.port.to_string(),
        cookie: erl.cookie().to_string(),
        _epmd: epmd,
    };
    (env, erl)
}

#[test]
fn rpc_prints_erlang_elixir_and_json() {
    let (env, mut erl) = setup_erl();
    let n = erl.node().to_string();
    let n = n.as_str();
    let out = env.run(&["rpc", n, "lists", "seq", "1", "3"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[1,2,3]\n"), "{out:?}");
    let out = env.run(&["rpc", n, "erlang", "node"]);
    assert_eq!(out.stdout.trim(), format!("'{n}'"));
    // Negative numbers and every argument kind.
    let out = env.run(&["rpc", n, "lists", "seq", "-2", "0"]);
    assert_eq!(out.stdout.trim(), "[-2,-1,0]", "{out:?}");
    let out = env.run(&[
        "rpc",
        n,
        "erlang",
        "list_to_tuple",
        "[a, <<\"b\">>, #{k => 1.5}, \"str\"]",
    ]);
    assert_eq!(out.stdout.trim(), "{a,<<\"b\">>,#{k => 1.5},\"str\"}", "{out:?}");
    // --elixir, before or after.
    let out = env.run(&[
        "rpc",
        n,
        "maps",
        "from_list",
        "[{a, <<\"x\">>}, {b, [1,2]}]",
        "--elixir",
    ]);
    assert_eq!(out.stdout.trim(), "%{a: \"x\", b: [1, 2]}", "{out:?}");
    let out = env.run(&["--elixir", "rpc", n, "erlang", "node"]);
    assert_eq!(out.code, 2, "--elixir belongs to rpc: {out:?}");
    // JSON parses.
    let out = env.run(&[
        "--format",
        "json",
        "rpc",
        n,
        "erlang",
        "system_info",
        "otp_release",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    // The harness prints ~0tp: "25" with its quotes.
    let otp = erl
        .eval("erlang:system_info(otp_release).")
        .trim_matches('"')
        .to_string();
    assert_eq!(v, serde_json::Value::String(otp));
    let out = env.run(&[
        "rpc",
        n,
        "maps",
        "from_list",
        "[{a, 1}, {b, [x, true]}]",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v, serde_json::json!({"a": 1, "b": ["x", true]}));
}

#[test]
fn rpc_failures_exit_1_and_malformed_arguments_exit_2() {
    let (env, erl) = setup_erl();
    let n = erl.node();
    let out = env.run(&["rpc", n, "no_such_module", "f", "1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains("badrpc") && out.stderr.contains("undef"),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");

    let out = env.run(&["rpc", n, "timer", "sleep", "3000", "--timeout", "300ms"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("timeout"), "{out:?}");

    for bad in ["{1", "[1,2", "<<\"x\">", "'unterminated", "1 2"] {
        let out = env.run(&["rpc", n, "erlang", "display", bad]);
        assert_eq!(out.code, 2, "{bad}: {out:?}");
        assert!(out.stderr.contains("argument 1"), "{out:?}");
    }
    let out = env.run(&["rpc", "ghost@127.0.0.1", "erlang", "node"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("name not registered"), "{out:?}");
}

#[test]
fn rpc_and_eval_into_elixir() {
    let epmd = Epmd::start();
    let ex = Beam::elixir().epmd(epmd.port).start();
    let env = Env {
        port: epmd.port.to_string(),
        cookie: ex.cookie().to_string(),
        _epmd: epmd,
    };
    let n = ex.node();
    let out = env.run(&["rpc", n, "Elixir.String", "upcase", "<<\"abc\">>", "--elixir"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "\"ABC\""), "{out:?}");
    let out = env.run(&["rpc", n, "Elixir.Enum", "reverse", "[1, 2, 3]"]);
    assert_eq!(out.stdout.trim(), "[3,2,1]", "{out:?}");
    let out = env.run(&[
        "rpc",
        n,
        "Elixir.URI",
        "parse",
        "<<\"http://example.com/x\">>",
        "--elixir",
    ]);
    assert!(
        out.stdout.starts_with("%URI{") && out.stdout.contains("host: \"example.com\""),
        "{out:?}"
    );
    let out = env.run(&["eval", n, "'Elixir.Map':put(#{}, a, 1)."]);
    assert_eq!(out.stdout.trim(), "#{a => 1}", "{out:?}");
}

#[test]
fn eval_from_argument_and_stdin() {
    let (env, erl) = setup_erl();
    let n = erl.node();
    let out = env.run(&["eval", n, "X = 6, X * 7."]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "42\n"), "{out:?}");
    let out = env.run(&["eval", n, "lists:sum([1,2,3])"]);
    assert_eq!(out.stdout.trim(), "6", "missing final dot is added: {out:?}");

    let mut child = std::process::Command::new(beamlink_e2e::beamlink_bin())
        .args(["eval", n])
        .env("ERL_EPMD_PORT", &env.port)
        .env("BEAMLINK_COOKIE", &env.cookie)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"A = {ok, node()},\n element(2, A).\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("'{n}'"));

    let out = env.run(&["eval", n, "X = = 1."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("syntax error"), "{out:?}");
    let out = env.run(&["eval", n, "1 / 0."]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("badarith"), "{out:?}");
}

#[test]
fn send_reaches_registered_processes_on_erlang_and_elixir() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let mut ex = Beam::elixir().epmd(epmd.port).cookie(erl.cookie()).start();
    let env = Env {
        port: epmd.port.to_string(),
        cookie: erl.cookie().to_string(),
        _epmd: epmd,
    };
    // The harness evaluates in one process: register it and read its mailbox.
    // It also watches node-ups: beamlink's own node must not be named after the
    // registered name (a flag id clash once made `send N box T` connect as `box@host`).
    erl.eval("register(box, self()), net_kernel:monitor_nodes(true, [{node_type, all}]).");
    let out = env.run(&["send", erl.node(), "box", "{hello, <<\"world\">>, [1,2]}"]);
    assert_eq!(out.code, 0, "{out:?}");
    let sender = erl.eval("receive {nodeup, N, _} -> atom_to_list(N) after 5000 -> timeout end.");
    assert!(sender.starts_with("\"beamlink_"), "sent from {sender}");
    assert_eq!(
        erl.eval("receive {hello, _, _} = M -> M after 5000 -> timeout end."),
        "{hello,<<\"world\">>,[1,2]}"
    );
    erl.eval("net_kernel:monitor_nodes(false, [{node_type, all}]).");
    ex.eval("Process.register(self(), :box)");
    let out = env.run(&["send", ex.node(), "box", "#{a => 1}"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(ex.eval("receive do m -> m after 5000 -> :timeout end"), "%{a: 1}");

    let out = env.run(&["send", erl.node(), "box", "{unterminated"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = env.run(&["send", "ghost@127.0.0.1", "box", "x"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn completions_and_help() {
    let out = run_beamlink(&["completions", "bash"], &[]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("beamlink") && out.stdout.contains("complete"),
        "{out:?}"
    );
    let out = run_beamlink(&["completions", "nosuchshell"], &[]);
    assert_eq!(out.code, 2);
    let out = run_beamlink(&["--help"], &[]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("Examples:") && out.stdout.contains("Exit status"),
        "{out:?}"
    );
    let out = run_beamlink(&["rpc", "--help"], &[]);
    assert!(
        out.stdout.contains("beamlink rpc app@127.0.0.1 lists seq 1 10"),
        "{out:?}"
    );
}
