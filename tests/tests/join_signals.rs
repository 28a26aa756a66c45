//! `beamlink join`'s signals on loopback: SIGHUP looks the sources up at once instead of
//! waiting for the interval; SIGINT ends it with status 0, like SIGTERM (join_pods.rs).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use beamlink_e2e::{beamlink_bin, Beam, Epmd};

/// `beamlink join` killed on drop, its stdout lines on a channel.
struct Join {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Join {
    fn wait_line(&self, want: &str, timeout: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l == want => return Ok(()),
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        Err(format!("no line {want:?} within {timeout:?}; saw {seen:?}"))
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Join {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sighup_looks_the_sources_up_at_once_and_sigint_exits_0() {
    let epmd = Epmd::start();
    let first = Beam::erlang().epmd(epmd.port).start();
    let cookie = first.cookie().to_string();
    let home = tempfile::tempdir().expect("temporary home");
    let mut child = Command::new(beamlink_bin())
        .args([
            "join",
            "--epmd",
            &format!("127.0.0.1:{}", epmd.port),
            "--interval",
            "60m",
            "--name",
        ])
        .arg(format!("joiner_{}@127.0.0.1", std::process::id()))
        .env("BEAMLINK_EPMD_PORT", epmd.port.to_string())
        .env("RELEASE_COOKIE", &cookie)
        .env("HOME", home.path())
        .env_remove("BEAMLINK_COOKIE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start beamlink join");
    let out = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut join = Join { child, lines };
    join.wait_line(&format!("connected {}", first.node()), Duration::from_secs(20))
        .unwrap();

    // A node that registers after the first lookup: with an hour's interval only SIGHUP
    // makes join find it.
    let second = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
    let want = format!("connected {}", second.node());
    assert!(
        join.wait_line(&want, Duration::from_secs(1)).is_err(),
        "join found {} before the next interval without a SIGHUP",
        second.node()
    );
    join.signal(libc::SIGHUP);
    join.wait_line(&want, Duration::from_secs(20)).unwrap();

    // SIGINT: the process ends, which closes its stdout; then its status is there.
    join.signal(libc::SIGINT);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match join.lines.recv_timeout(left) {
            Ok(_) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("beamlink join did not exit after SIGINT"),
        }
    }
    let status = join.child.wait().expect("wait for beamlink join");
    assert_eq!(status.code(), Some(0), "join's exit status after SIGINT");
}
