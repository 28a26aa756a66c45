//! `beamlink epmd` and `beamlink names` as real processes, with real `erl` nodes and the
//! real `epmd` client.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use beamlink_e2e::{beamlink_bin, epmd_command, eventually, free_port, wait_for_port, Beam, Epmd};

/// `beamlink epmd` on a private port, killed on drop.
struct CliEpmd {
    child: Child,
    port: u16,
}

impl CliEpmd {
    fn start(extra: &[&str]) -> CliEpmd {
        let port = free_port();
        let child = Command::new(beamlink_bin())
            .args(["epmd", "--port", &port.to_string(), "--address", "127.0.0.1"])
            .args(extra)
            .env_remove("ERL_EPMD_PORT")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run beamlink epmd");
        assert!(
            wait_for_port(&format!("127.0.0.1:{port}"), Duration::from_secs(10)),
            "beamlink epmd did not listen"
        );
        CliEpmd { child, port }
    }

    fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// Waits for the process to exit and returns its status and stderr.
    fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, String) {
        let mut status = None;
        assert!(
            eventually(timeout, || {
                status = self.child.try_wait().ok().flatten();
                status.is_some()
            }),
            "beamlink epmd did not exit within {timeout:?}"
        );
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.unwrap_or_else(|| unreachable!()), err)
    }
}

impl Drop for CliEpmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `beamlink names ARGS` and returns (exit code, stdout, stderr).
fn names(args: &[&str], env_port: Option<u16>) -> (i32, String, String) {
    let mut cmd = Command::new(beamlink_bin());
    cmd.arg("names")
        .args(args)
        .env_remove("ERL_EPMD_PORT")
        .stdin(Stdio::null());
    if let Some(p) = env_port {
        cmd.env("ERL_EPMD_PORT", p.to_string());
    }
    let out = cmd.output().expect("run beamlink names");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn short(node: &str) -> String {
    node.split('@').next().unwrap_or(node).to_string()
}

#[test]
fn cli_epmd_serves_erl_nodes_and_cli_names_lists_them() {
    let mut server = CliEpmd::start(&[]);
    let mut a = Beam::erlang().epmd(server.port).start();
    let cookie = a.cookie().to_string();
    let b = Beam::erlang().epmd(server.port).cookie(&cookie).start();
    assert_eq!(a.eval(&format!("net_adm:ping('{}').", b.node())), "pong");

    // Text: one `NAME PORT` line per node, the same as `epmd -names` says.
    let (code, out, err) = names(&["--port", &server.port.to_string()], None);
    assert_eq!(code, 0, "{err}");
    let (_, epmd_out) = epmd_command(server.port, &["-names"]);
    let mut from_epmd: Vec<String> = epmd_out
        .lines()
        .filter_map(|l| l.strip_prefix("name "))
        .map(|l| l.replacen(" at port ", " ", 1))
        .collect();
    let mut ours: Vec<String> = out.lines().map(str::to_string).collect();
    from_epmd.sort();
    ours.sort();
    assert_eq!(ours.len(), 2, "{out}");
    assert_eq!(ours, from_epmd);
    assert!(ours
        .iter()
        .any(|l| l.starts_with(&format!("{} ", short(a.node())))));

    // JSON, asking by host and through ERL_EPMD_PORT.
    let (code, out, err) = names(&["127.0.0.1", "--format", "json"], Some(server.port));
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let list = v.as_array().expect("a JSON array");
    assert_eq!(list.len(), 2);
    let entry = list
        .iter()
        .find(|e| e["name"] == short(a.node()).as_str())
        .expect("a listed");
    let port = entry["port"].as_u64().expect("numeric port");
    assert_eq!(
        a.eval(&format!(
            "erl_epmd:port_please(\"{}\", {{127,0,0,1}}).",
            short(a.node())
        )),
        format!("{{port,{port},6}}")
    );

    // Registrations are logged, and SIGTERM stops the server with exit 0.
    drop(b);
    drop(a);
    server.signal(libc::SIGTERM);
    let (status, log) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains("registered") && log.contains("unregistered"),
        "{log}"
    );
}

#[test]
fn sigint_exits_0_and_port_is_free_again() {
    let mut server = CliEpmd::start(&["-q"]);
    let port = server.port;
    server.signal(libc::SIGINT);
    let (status, log) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port should be released"
    );
}

#[test]
fn names_exits_1_with_one_line_when_nothing_answers() {
    let port = free_port();
    let (code, out, err) = names(&["127.0.0.1", "--port", &port.to_string()], None);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn names_of_an_empty_epmd_is_empty_text_and_empty_json_array() {
    let real = Epmd::start();
    let (code, out, _) = names(&["--port", &real.port.to_string()], None);
    assert_eq!((code, out.as_str()), (0, ""));
    let (code, out, _) = names(&["--port", &real.port.to_string(), "--format", "json"], None);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!([])
    );
}

#[test]
fn epmd_kill_stops_the_cli_server_only_when_allowed() {
    // Strict: refused while a node is registered, accepted once it is gone; exit 0.
    let mut server = CliEpmd::start(&[]);
    let mut a = Beam::erlang().epmd(server.port).start();
    let (_, out) = epmd_command(server.port, &["-kill"]);
    assert_eq!(out.trim(), "Killing not allowed - living nodes in database.");
    assert!(server.child.try_wait().unwrap().is_none(), "must keep running");
    a.kill();
    assert!(eventually(Duration::from_secs(5), || !epmd_command(
        server.port,
        &["-names"]
    )
    .1
    .contains("name ")));
    let (_, out) = epmd_command(server.port, &["-kill"]);
    assert_eq!(out.trim(), "Killed");
    let (status, log) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{log}");

    // Relaxed: accepted with a node registered.
    let mut server = CliEpmd::start(&["--relaxed-command-check"]);
    let _b = Beam::erlang().epmd(server.port).start();
    let (_, out) = epmd_command(server.port, &["-kill"]);
    assert_eq!(out.trim(), "Killed");
    let (status, log) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{log}");
}

#[test]
fn cli_epmd_on_a_busy_port_fails_with_a_clear_message() {
    let real = Epmd::start();
    let out = Command::new(beamlink_bin())
        .args(["epmd", "--port", &real.port.to_string(), "--address", "127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .expect("run beamlink epmd");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{}", real.port)) && err.contains("in use"),
        "{err}"
    );
}

#[test]
fn cli_epmd_rejects_a_bad_address() {
    let out = Command::new(beamlink_bin())
        .args([
            "epmd",
            "--port",
            &free_port().to_string(),
            "--address",
            "not-an-ip",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run beamlink epmd");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not-an-ip"));
}

#[test]
fn cli_epmd_logs_and_closes_slow_and_malformed_clients() {
    use std::io::Write;
    let mut server = CliEpmd::start(&["--packet-timeout", "1"]);
    let addr = format!("127.0.0.1:{}", server.port);
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(&[0]).unwrap();
    let mut bad = std::net::TcpStream::connect(&addr).unwrap();
    bad.write_all(&[0, 3, 1, 2, 3]).unwrap();
    for s in [&mut slow, &mut bad] {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 8];
        // EOF (or a reset, for unread input) means the server closed the connection; a
        // timeout would mean it did not.
        let closed = match s.read(&mut buf) {
            Ok(n) => n == 0,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "the server should close the connection");
    }
    // Still serving.
    let (code, out, err) = names(&["--port", &server.port.to_string()], None);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    server.signal(libc::SIGTERM);
    let (status, log) = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(
        log.contains("no complete request within the packet timeout"),
        "{log}"
    );
    assert!(
        log.contains("malformed request") && log.contains("unknown request tag 1"),
        "{log}"
    );
}
