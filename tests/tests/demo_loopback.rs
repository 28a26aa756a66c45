//! `make demo` in loopback mode (what a user without root gets): the real demo binary with
//! `--loopback` and the `beamlink` of this build. Three nodes of the example Elixir release
//! with distinct names on 127.0.0.1, a private EPMD, `beamlink join`, then the CLI; the
//! tests read the demo's output and check that nothing it started outlives it: this test
//! process is made a child subreaper, so every orphaned descendant of the demo (a BEAM, an
//! EPMD, a port program) would become our child and be seen.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use beamlink_e2e::{beamlink_bin, eventually, workspace_bin};

/// One demo at a time: the orphan check looks at every child of this process.
static SERIAL: Mutex<()> = Mutex::new(());

/// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER).
fn become_subreaper() {
    // SAFETY: prctl with an integer option and argument, no pointers.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
}

/// This process's live children (pid and command line), after reaping the dead ones.
fn live_children() -> Vec<(u32, String)> {
    loop {
        let mut status = 0;
        // SAFETY: waitpid on any child without blocking; status is a valid out-pointer.
        if unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } <= 0 {
            break;
        }
    }
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me && state != "Z" {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            out.push((pid, cmdline));
        }
    }
    out
}

/// The demo's private EPMD port, from its "a private EPMD on 127.0.0.1:PORT" line.
fn epmd_port(output: &str) -> u16 {
    output
        .lines()
        .find_map(|l| l.strip_prefix("== a private EPMD on 127.0.0.1:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no EPMD line in the demo's output:\n{output}"))
}

fn demo_command() -> Command {
    let mut cmd = Command::new(workspace_bin("beamlink-e2e", "demo"));
    cmd.arg("--loopback")
        .arg(beamlink_bin())
        .env(
            "PATH",
            format!(
                "{}:/usr/lib/erlang/bin",
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("ERL_EPMD_PORT")
        .env_remove("BEAMLINK_COOKIE")
        .env_remove("RELEASE_COOKIE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Nothing the demo started is left: no orphan became our child, its EPMD port is closed.
fn assert_nothing_left(output: &str) {
    let port = epmd_port(output);
    assert!(
        eventually(Duration::from_secs(10), || live_children().is_empty()),
        "processes the demo started outlived it: {:?}",
        live_children()
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the demo's EPMD still listens on port {port}"
    );
}

#[test]
fn the_loopback_demo_shows_the_mesh_with_beamlink_hidden_and_stops_everything() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    become_subreaper();
    let out = demo_command().output().expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let all = format!("{stdout}\n--- stderr:\n{stderr}");
    assert!(out.status.success(), "the demo failed:\n{all}");

    // beamlink join found the three nodes at the EPMD and is ready.
    for n in 1..=3 {
        assert!(
            stdout.contains(&format!("[beamlink join] connected app{n}@127.0.0.1")),
            "join did not connect app{n}:\n{all}"
        );
    }
    assert!(
        stdout.contains("ready: 3/3 desired nodes connected"),
        "join not ready with 3 nodes:\n{all}"
    );
    // beamlink list: every node, beamlink among them, each app connected to the 3 others.
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("beamlink list --epmd 127.0.0.1"))
        .skip(2)
        .take(4)
        .collect();
    for (row, node) in table.iter().zip(["app1", "app2", "app3", "beamlink"]) {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cols.first(),
            Some(&format!("{node}@127.0.0.1").as_str()),
            "table:\n{all}"
        );
        assert_eq!(cols.get(2), Some(&"up"), "{node} not up:\n{all}");
        if node != "beamlink" {
            assert_eq!(cols.last(), Some(&"3/3"), "{node} not fully connected:\n{all}");
        }
    }
    assert!(
        stdout.contains("mesh complete: all 4 nodes up and connected to each other"),
        "mesh not complete:\n{all}"
    );
    assert!(stdout.contains("  pong  app1@127.0.0.1"), "no pong:\n{all}");
    assert!(
        stdout.contains(r#"{ok,<<"Hello, demo, from app1@127.0.0.1">>}"#),
        "no answer from :greeter:\n{all}"
    );
    // The Elixir side: beamlink is hidden (Node.list(:hidden)), not visible (Node.list()).
    let elixir: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("$ bin/app rpc"))
        .skip(1)
        .take(2)
        .collect();
    assert_eq!(elixir.len(), 2, "no Elixir side:\n{all}");
    assert!(
        elixir[0].contains(r#":"beamlink@127.0.0.1""#),
        "beamlink not in Node.list(:hidden):\n{all}"
    );
    let mut visible: Vec<&str> = elixir[1].trim().trim_matches(['[', ']']).split(", ").collect();
    visible.sort();
    assert_eq!(
        visible,
        [r#":"app2@127.0.0.1""#, r#":"app3@127.0.0.1""#],
        "Node.list() is not the other two apps:\n{all}"
    );
    assert!(
        stdout.contains("[beamlink join] stopped beamlink@127.0.0.1"),
        "join did not stop cleanly:\n{all}"
    );
    assert_nothing_left(&stdout);
}

#[test]
fn an_interrupted_loopback_demo_stops_everything_it_started() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    become_subreaper();
    let mut child = demo_command().spawn().expect("run the demo");
    let stdout = child.stdout.take().expect("demo stdout");
    let mut seen = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the demo's output");
        seen.push_str(&line);
        seen.push('\n');
        // The nodes and EPMD run; join is starting: interrupt as Ctrl-C would.
        if line.starts_with("== beamlink join") {
            // SAFETY: signalling our own child, not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        }
    }
    let status = child.wait().expect("wait for the demo");
    let stderr = child
        .stderr
        .take()
        .map(|mut s| {
            let mut t = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut t);
            t
        })
        .unwrap_or_default();
    assert!(
        seen.contains("== beamlink join"),
        "the demo ended before starting join:\n{seen}\n{stderr}"
    );
    assert!(
        !status.success(),
        "an interrupted demo exits with failure:\n{seen}"
    );
    assert!(stderr.contains("interrupted"), "stderr: {stderr}");
    assert!(seen.contains("== stopped everything the demo started"), "{seen}");
    assert_nothing_left(&seen);
}
