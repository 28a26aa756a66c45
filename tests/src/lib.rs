//! Test harness: real BEAM nodes and a private EPMD, each killed by a guard.
//!
//! Every node gets a unique name and a random cookie. The cookie is written to
//! `$HOME/.erlang.cookie` in a private temporary home, so it never appears in a process
//! argument. A node is ready when it prints its `READY` line; from then on it evaluates
//! one expression per line sent to it and answers with one `=> ...` line.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a node may take to start before the test fails.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other node in this test run uses: `prefix_<pid>_<n>`.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{}_{}_{}",
        prefix,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A random cookie.
pub fn random_cookie() -> String {
    use rand::Rng;
    let mut r = rand::thread_rng();
    (0..20).map(|_| (b'A' + r.gen_range(0..26)) as char).collect()
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A real `epmd` on a private port, killed on drop. Point nodes at it with
/// `ERL_EPMD_PORT` (the [`BeamBuilder`] does so when given one).
pub struct Epmd {
    child: Child,
    pub port: u16,
}

impl Epmd {
    /// Starts `epmd -port P` on a free port and waits until it accepts connections.
    pub fn start() -> Epmd {
        Self::start_in(None, "127.0.0.1")
    }

    /// The same inside network namespace `netns`, waiting on `addr`.
    pub fn start_in(netns: Option<&str>, addr: &str) -> Epmd {
        let port = free_port();
        let mut cmd = netns_command(netns, "epmd");
        cmd.args(["-port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("start epmd (run `make deps`)");
        let epmd = Epmd { child, port };
        if netns.is_none() {
            assert!(
                wait_for_port(&format!("{addr}:{port}"), START_TIMEOUT),
                "epmd did not start on port {port}"
            );
        } else {
            let ok = (0..500).any(|_| {
                let ok = netns_command(netns, "epmd")
                    .args(["-port", &port.to_string(), "-names"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if !ok {
                    std::thread::sleep(Duration::from_millis(20));
                }
                ok
            });
            assert!(ok, "epmd did not start in {netns:?}");
        }
        epmd
    }
}

impl Drop for Epmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn netns_command(netns: Option<&str>, program: &str) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    }
}

/// Which runtime a node runs: plain Erlang (expressions in Erlang syntax) or Elixir
/// (expressions in Elixir syntax).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Erlang,
    Elixir,
}

/// How to start a [`Beam`].
pub struct BeamBuilder {
    flavor: Flavor,
    name: String,
    host: String,
    long: bool,
    cookie: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    epmd_port: Option<u16>,
    netns: Option<String>,
    hidden: bool,
}

impl BeamBuilder {
    /// The node's short name (before `@`); default: a unique one.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// The host part; a dotted host or IP makes a long name (`-name`), otherwise `-sname`.
    pub fn host(mut self, host: &str) -> Self {
        self.host = host.to_string();
        self.long = host.contains('.') || host.contains(':');
        self
    }
    pub fn cookie(mut self, cookie: &str) -> Self {
        self.cookie = cookie.to_string();
        self
    }
    /// Use this EPMD port (`ERL_EPMD_PORT`).
    pub fn epmd(mut self, port: u16) -> Self {
        self.epmd_port = Some(port);
        self
    }
    /// Extra arguments for `erl` (for Elixir they go through `--erl`).
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_string(), v.to_string()));
        self
    }
    /// Run inside this network namespace.
    pub fn netns(mut self, ns: &str) -> Self {
        self.netns = Some(ns.to_string());
        self
    }
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Starts the node and waits for it to be ready.
    pub fn start(self) -> Beam {
        let home = tempfile::tempdir().expect("temporary home");
        let cookie_path = home.path().join(".erlang.cookie");
        std::fs::write(&cookie_path, &self.cookie).expect("write cookie");
        set_mode(&cookie_path, 0o400);
        let node = format!("{}@{}", self.name, self.host);
        let name_flag = if self.long { "-name" } else { "-sname" };
        // A node on this machine's network without an EPMD of the test's gets a private
        // one, guarded with the node: left to itself, `erl` would start the system
        // `epmd -daemon` on 4369, which outlives the test. With a known EPMD, the node is
        // told never to start one (`-start_epmd false`).
        let own_epmd = match (self.epmd_port, &self.netns) {
            (None, None) => Some(Epmd::start()),
            _ => None,
        };
        let epmd_port = self.epmd_port.or(own_epmd.as_ref().map(|e| e.port));
        let mut args = self.args.clone();
        if epmd_port.is_some() {
            args.extend(["-start_epmd".to_string(), "false".to_string()]);
        }
        let mut cmd = match self.flavor {
            Flavor::Erlang => {
                let mut c = netns_command(self.netns.as_deref(), "erl");
                c.args(["-noshell", name_flag, &node]);
                c.args(&args);
                if self.hidden {
                    c.arg("-hidden");
                }
                c.args(["-eval", ERLANG_LOOP]);
                c
            }
            Flavor::Elixir => {
                let mut c = netns_command(self.netns.as_deref(), "elixir");
                let flag = if self.long { "--name" } else { "--sname" };
                c.args([flag, &node]);
                let mut erl = args.clone();
                if self.hidden {
                    erl.push("-hidden".into());
                }
                if !erl.is_empty() {
                    c.args(["--erl", &erl.join(" ")]);
                }
                c.args(["-e", ELIXIR_LOOP]);
                c
            }
        };
        cmd.env("HOME", home.path());
        if let Some(p) = epmd_port {
            cmd.env("ERL_EPMD_PORT", p.to_string());
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start erl/elixir (run `make deps`)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || reader(stdout, tx));
        let beam = Beam {
            child,
            node,
            cookie: self.cookie,
            flavor: self.flavor,
            stdin,
            lines: rx,
            _home: home,
            _own_epmd: own_epmd,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match beam.lines.recv_timeout(left) {
                Ok(l) if l.starts_with("READY ") => break,
                Ok(_) => continue,
                Err(_) => panic!(
                    "node {} did not become ready within {:?}",
                    beam.node, START_TIMEOUT
                ),
            }
        }
        beam
    }
}

fn reader(out: ChildStdout, tx: mpsc::Sender<String>) {
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        if tx.send(line).is_err() {
            break;
        }
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

const ERLANG_LOOP: &str = "Loop = fun L() -> case io:get_line('') of eof -> halt(0); Line -> R = try {ok, Toks, _} = erl_scan:string(Line), {ok, Exprs} = erl_parse:parse_exprs(Toks), {value, V, _} = erl_eval:exprs(Exprs, []), V catch C:E -> {harness_error, C, E} end, io:format(\"=> ~0tp~n\", [R]), L() end end, io:format(\"READY ~s~n\", [node()]), Loop().";

const ELIXIR_LOOP: &str = "loop = fn loop -> case IO.gets(\"\") do :eof -> System.halt(0); line -> r = try do {v, _} = Code.eval_string(line); v rescue e -> {:harness_error, e} catch k, e -> {:harness_error, k, e} end; IO.puts(\"=> \" <> inspect(r, limit: :infinity, printable_limit: :infinity)); loop.(loop) end end; IO.puts(\"READY #{node()}\"); loop.(loop)";

/// A running BEAM node, killed when dropped.
pub struct Beam {
    child: Child,
    node: String,
    cookie: String,
    flavor: Flavor,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    _home: tempfile::TempDir,
    /// The private EPMD of a node started without one; dropped after the node is killed.
    _own_epmd: Option<Epmd>,
}

impl Beam {
    /// An Erlang node `unique@127.0.0.1` with a random cookie, to configure and start.
    pub fn erlang() -> BeamBuilder {
        Self::builder(Flavor::Erlang)
    }
    /// An Elixir node `unique@127.0.0.1` with a random cookie.
    pub fn elixir() -> BeamBuilder {
        Self::builder(Flavor::Elixir)
    }
    fn builder(flavor: Flavor) -> BeamBuilder {
        BeamBuilder {
            flavor,
            name: unique_name(if flavor == Flavor::Erlang { "erl" } else { "ex" }),
            host: "127.0.0.1".into(),
            long: true,
            cookie: random_cookie(),
            args: Vec::new(),
            env: Vec::new(),
            epmd_port: None,
            netns: None,
            hidden: false,
        }
    }

    /// The node name, `name@host`.
    pub fn node(&self) -> &str {
        &self.node
    }
    pub fn cookie(&self) -> &str {
        &self.cookie
    }
    pub fn os_pid(&self) -> u32 {
        self.child.id()
    }

    /// Evaluates expressions (Erlang syntax ending with `.`, or Elixir) and returns the
    /// value as the node prints it (`~0tp` for Erlang, `inspect` for Elixir). Panics after
    /// `timeout` without an answer.
    pub fn eval_timeout(&mut self, expr: &str, timeout: Duration) -> String {
        let one_line = expr.replace('\n', " ");
        writeln!(self.stdin, "{one_line}").expect("write to node");
        self.stdin.flush().expect("flush to node");
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    if let Some(v) = l.strip_prefix("=> ") {
                        return v.to_string();
                    }
                }
                Err(_) => panic!("{} did not answer `{expr}` within {timeout:?}", self.node),
            }
        }
    }

    /// [`Beam::eval_timeout`] with 30 seconds.
    pub fn eval(&mut self, expr: &str) -> String {
        self.eval_timeout(expr, Duration::from_secs(30))
    }

    /// Freezes the node (SIGSTOP): it stops answering ticks.
    pub fn freeze(&self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGSTOP) };
    }
    /// Thaws a frozen node (SIGCONT).
    pub fn thaw(&self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
    }
    /// Kills the node now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }
}

impl Drop for Beam {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// beamlink's own EPMD server, in this process on its own tokio runtime, on a free
/// port. Stopped when dropped.
pub struct BeamlinkEpmd {
    pub port: u16,
    handle: Option<beamlink_epmd::ServerHandle>,
    runtime: tokio::runtime::Runtime,
}

impl BeamlinkEpmd {
    /// A server on a free port, listening on 127.0.0.1 only, with a 60-second packet timeout.
    pub fn start() -> BeamlinkEpmd {
        Self::start_with(beamlink_epmd::ServerConfig {
            addresses: vec![std::net::Ipv4Addr::LOCALHOST.into()],
            ..beamlink_epmd::ServerConfig::with_port(free_port())
        })
    }

    /// A server with this configuration (port 0 is replaced by a free port).
    pub fn start_with(mut config: beamlink_epmd::ServerConfig) -> BeamlinkEpmd {
        if config.port == 0 {
            config.port = free_port();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = runtime
            .block_on(beamlink_epmd::EpmdServer::start(config))
            .expect("start beamlink's EPMD");
        BeamlinkEpmd {
            port: handle.port(),
            handle: Some(handle),
            runtime,
        }
    }

    /// The server's runtime, to run clients on (`runtime().block_on(...)`).
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// The server's handle.
    pub fn handle(&mut self) -> &mut beamlink_epmd::ServerHandle {
        self.handle.as_mut().expect("server handle")
    }

    /// The registered names, newest first.
    pub fn names(&self) -> Vec<beamlink_epmd::NameEntry> {
        self.handle.as_ref().map(|h| h.names()).unwrap_or_default()
    }

    /// Waits up to `timeout` for the server to stop by itself (an allowed KILL_REQ).
    pub fn wait_stopped(&mut self, timeout: Duration) -> Option<beamlink_epmd::Stopped> {
        let h = self.handle.as_mut()?;
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, h.stopped()).await.ok() })
    }

    /// A client of this server.
    pub fn client(&self) -> beamlink_epmd::EpmdClient {
        beamlink_epmd::EpmdClient::new("127.0.0.1", self.port)
    }
}

impl Drop for BeamlinkEpmd {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.runtime.block_on(h.shutdown());
        }
    }
}

/// The `beamlink` binary of this build (target/<profile>/beamlink next to the test
/// executable), brought up to date with `cargo build` once per test process.
pub fn beamlink_bin() -> std::path::PathBuf {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| workspace_bin("beamlink-cli", "beamlink"))
        .clone()
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; true if it held. For
/// state that has no event to wait on (another process's table).
pub fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `epmd -port P ARGS...` (the real epmd as a client) and returns its exit success
/// and stdout.
pub fn epmd_command(port: u16, args: &[&str]) -> (bool, String) {
    let out = Command::new("epmd")
        .arg("-port")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run epmd (run `make deps`)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}
pub mod pods;

impl Beam {
    /// Waits up to `timeout` for a line the node prints (a log line, for instance) that
    /// satisfies `pred`, and returns it. Lines read before are skipped; lines an earlier
    /// `eval` already read are not seen.
    pub fn wait_for_line(&mut self, timeout: Duration, mut pred: impl FnMut(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if pred(&l) => return Some(l),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }
}
pub mod release;

/// The binary `bin` of workspace package `package` in this build's profile, built with
/// `cargo build -p PACKAGE --bin BIN` first (a no-op when it is fresh), so a test never
/// runs a stale binary.
pub fn workspace_bin(package: &str, bin: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory")
        .to_path_buf();
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", package, "--bin", bin]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p {package} --bin {bin} failed");
    let path = dir.join(bin);
    assert!(path.exists(), "{} is missing after cargo build", path.display());
    path
}

/// What one run of the `beamlink` binary produced.
#[derive(Debug)]
pub struct CliOutput {
    /// The exit status (`-1` when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `beamlink ARGS` with a clean environment for its options: no cookie variables,
/// no `ERL_EPMD_PORT`, no `RUST_LOG`, and `HOME` an empty directory (so no
/// `~/.erlang.cookie`), then `env` on top. Waits for it to exit.
pub fn run_beamlink(args: &[&str], env: &[(&str, &str)]) -> CliOutput {
    let home = tempfile::tempdir().expect("temporary home");
    let mut cmd = Command::new(beamlink_bin());
    cmd.args(args)
        .env_remove("BEAMLINK_COOKIE")
        .env_remove("RELEASE_COOKIE")
        .env_remove("ERL_EPMD_PORT")
        .env_remove("RUST_LOG")
        .env("HOME", home.path())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run beamlink");
    CliOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
pub mod erl_records;
pub mod manifests;

/// GET `path` from `addr` over plain HTTP/1.1: the status code and the body. Bounded:
/// 2 s to connect, 5 s per read.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String), String> {
    use std::io::Read;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status line")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// A multi-threaded tokio runtime for a beamlink node driven from a test thread (the BEAM
/// side is driven synchronously through [`Beam::eval`]).
pub fn node_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A beamlink node `rust_…@127.0.0.1` beside a real BEAM node: the same private EPMD,
/// the same cookie. Everything stops when dropped.
pub struct NodeBeside {
    pub rt: tokio::runtime::Runtime,
    pub node: beamlink::Node,
    pub beam: Beam,
    _epmd: Epmd,
}

impl NodeBeside {
    /// Starts `beam` (an unstarted [`Beam::erlang`] or [`Beam::elixir`]) on a private EPMD,
    /// then a beamlink node with its cookie registered at the same EPMD.
    pub fn start(beam: BeamBuilder) -> NodeBeside {
        let epmd = Epmd::start();
        let beam = beam.epmd(epmd.port).start();
        let rt = node_runtime();
        let name = format!("{}@127.0.0.1", unique_name("rust"));
        let node = rt
            .block_on(
                beamlink::Node::builder(&name)
                    .cookie(beam.cookie())
                    .epmd(beamlink::EpmdMode::External { port: epmd.port })
                    .start(),
            )
            .expect("start the beamlink node");
        NodeBeside {
            rt,
            node,
            beam,
            _epmd: epmd,
        }
    }
}
