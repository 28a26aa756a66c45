//! `beamlink ping` against real erl and elixir nodes: pong, every pang reason, exit
//! statuses, the cookie's sources, options before and after the command, JSON output.

use beamlink_e2e::{free_port, run_beamlink, Beam, Epmd};
use std::time::{Duration, Instant};

fn epmd_env(epmd: &Epmd, cookie: &str) -> Vec<(String, String)> {
    vec![
        ("ERL_EPMD_PORT".into(), epmd.port.to_string()),
        ("BEAMLINK_COOKIE".into(), cookie.into()),
    ]
}

fn run(args: &[&str], env: &[(String, String)]) -> beamlink_e2e::CliOutput {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    run_beamlink(args, &env)
}

#[test]
fn erlang_and_elixir_nodes_answer_pong_with_a_round_trip_time() {
    let epmd = Epmd::start();
    let erl = Beam::erlang().epmd(epmd.port).start();
    let ex = Beam::elixir().epmd(epmd.port).cookie(erl.cookie()).start();
    let env = epmd_env(&epmd, erl.cookie());
    let out = run(&["ping", erl.node(), ex.node(), "--count", "2"], &env);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    for (line, node) in lines.iter().zip([erl.node(), erl.node(), ex.node(), ex.node()]) {
        assert!(
            line.starts_with("pong") && line.contains(node) && line.contains(" ms"),
            "{line}"
        );
    }
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn json_output_parses_and_options_go_before_or_after_the_command() {
    let epmd = Epmd::start();
    let erl = Beam::erlang().epmd(epmd.port).start();
    let env = epmd_env(&epmd, erl.cookie());
    for args in [
        vec!["--format", "json", "--timeout", "3s", "ping", erl.node()],
        vec!["ping", erl.node(), "--format", "json", "--timeout", "3"],
    ] {
        let out = run(&args, &env);
        assert_eq!(out.code, 0, "{out:?}");
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
        assert_eq!(v[0]["node"], erl.node());
        assert_eq!(v[0]["result"], "pong");
        assert!(v[0]["rtt_ms"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn pang_names_its_reason_and_exits_1() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let env = epmd_env(&epmd, erl.cookie());

    // Not registered, next to a node that answers: one pong, one pang, exit 1.
    let ghost = "ghost@127.0.0.1";
    let out = run(&["ping", erl.node(), ghost], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("pong"), "{out:?}");
    assert!(
        lines[1].starts_with("pang") && lines[1].contains("name not registered"),
        "{out:?}"
    );

    // Cookies differ.
    let bad = vec![
        ("ERL_EPMD_PORT".to_string(), epmd.port.to_string()),
        ("BEAMLINK_COOKIE".to_string(), "NOTTHECOOKIE".to_string()),
    ];
    let out = run(&["ping", erl.node()], &bad);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("pang") && out.stdout.contains("cookies differ"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("NOTTHECOOKIE") && !out.stderr.contains("NOTTHECOOKIE"));

    // No EPMD on that port.
    let none = vec![
        ("ERL_EPMD_PORT".to_string(), free_port().to_string()),
        ("BEAMLINK_COOKIE".to_string(), erl.cookie().to_string()),
    ];
    let out = run(&["ping", erl.node()], &none);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("no EPMD"), "{out:?}");

    // Nothing listens at a fixed distribution port (EPMD-less).
    let port = free_port().to_string();
    let out = run(&["ping", erl.node(), "--port", &port, "--format", "json"], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v[0]["result"], "pang");
    assert_eq!(v[0]["reason"], "connection refused");

    // A frozen node: the kernel accepts, the handshake never completes.
    erl.freeze();
    let t0 = Instant::now();
    let out = run(&["ping", erl.node(), "--timeout", "1"], &env);
    let took = t0.elapsed();
    erl.thaw();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("timeout"), "{out:?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(erl.eval("ok."), "ok");
}

#[test]
fn cookie_sources_in_order_and_missing_cookie_is_exit_2() {
    let epmd = Epmd::start();
    let erl = Beam::erlang().epmd(epmd.port).start();
    let port = epmd.port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cookie");
    std::fs::write(&file, format!("{}\n", erl.cookie())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
    let file = file.to_str().unwrap();

    // --cookie-file beats a wrong BEAMLINK_COOKIE, before or after the command.
    let env = [("ERL_EPMD_PORT", port.as_str()), ("BEAMLINK_COOKIE", "WRONG")];
    for args in [
        vec!["--cookie-file", file, "ping", erl.node()],
        vec!["ping", erl.node(), "--cookie-file", file],
    ] {
        let out = run_beamlink(&args, &env);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
    // BEAMLINK_COOKIE beats RELEASE_COOKIE.
    let env = [
        ("ERL_EPMD_PORT", port.as_str()),
        ("BEAMLINK_COOKIE", erl.cookie()),
        ("RELEASE_COOKIE", "WRONG"),
    ];
    assert_eq!(run_beamlink(&["ping", erl.node()], &env).code, 0);
    // RELEASE_COOKIE alone.
    let env = [("ERL_EPMD_PORT", port.as_str()), ("RELEASE_COOKIE", erl.cookie())];
    assert_eq!(run_beamlink(&["ping", erl.node()], &env).code, 0);
    // ~/.erlang.cookie last.
    let home = tempfile::tempdir().unwrap();
    let home_cookie = home.path().join(".erlang.cookie");
    std::fs::write(&home_cookie, erl.cookie()).unwrap();
    std::fs::set_permissions(&home_cookie, std::fs::Permissions::from_mode(0o400)).unwrap();
    let env = [
        ("ERL_EPMD_PORT", port.as_str()),
        ("HOME", home.path().to_str().unwrap()),
    ];
    assert_eq!(run_beamlink(&["ping", erl.node()], &env).code, 0);
    // None at all: a configuration error, one line.
    let out = run_beamlink(&["ping", erl.node()], &[("ERL_EPMD_PORT", port.as_str())]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("no cookie"), "{out:?}");
    // A cookie file others may read is refused, as erl refuses it.
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_beamlink(
        &["ping", erl.node(), "--cookie-file", file],
        &[("ERL_EPMD_PORT", port.as_str())],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("chmod 400"), "{out:?}");
}

#[test]
fn usage_errors_exit_2_without_a_backtrace() {
    for args in [
        vec!["ping"],
        vec!["ping", "no-host-part"],
        vec!["ping", "a@b", "--count", "0"],
        vec!["ping", "a@b", "--timeout", "soon"],
        vec!["ping", "a@b", "--name", "x", "--sname", "y"],
        vec!["frobnicate"],
    ] {
        let out = run_beamlink(&args, &[("BEAMLINK_COOKIE", "c")]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            !out.stderr.contains("panicked") && !out.stderr.contains("backtrace"),
            "{out:?}"
        );
    }
}

#[test]
fn short_names_dynamic_names_and_epmd_less_peers() {
    let epmd = Epmd::start();
    // A short-named target: beamlink picks a short name of its own.
    let host = {
        let out = std::process::Command::new("hostname").arg("-s").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let short = Beam::erlang().epmd(epmd.port).host(&host).start();
    let env = epmd_env(&epmd, short.cookie());
    let out = run(&["ping", short.node()], &env);
    assert_eq!(out.code, 0, "{out:?}");
    // A name the peer gives us (NAME_ME).
    let out = run(&["ping", "--dynamic", short.node()], &env);
    assert_eq!(out.code, 0, "{out:?}");
    // A peer that cannot name us is a pang; the next one does.
    let ghost = format!("ghost@{host}");
    let out = run(&["ping", "--dynamic", &ghost, short.node()], &env);
    assert_eq!(out.code, 1, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("pang") && lines[0].contains("name not registered"),
        "{out:?}"
    );
    assert!(
        lines[1].starts_with("pong") && lines[1].contains(short.node()),
        "{out:?}"
    );
    // An explicit name.
    let out = run(&["ping", "--sname", "operator", short.node()], &env);
    assert_eq!(out.code, 0, "{out:?}");

    // A node without EPMD, at a fixed port.
    let dist_port = free_port();
    let epmdless = Beam::erlang()
        .arg("-start_epmd")
        .arg("false")
        .arg("-erl_epmd_port")
        .arg(&dist_port.to_string())
        .start();
    let env = vec![("BEAMLINK_COOKIE".to_string(), epmdless.cookie().to_string())];
    let out = run(&["ping", epmdless.node(), "--port", &dist_port.to_string()], &env);
    assert_eq!(out.code, 0, "{out:?}");
}
