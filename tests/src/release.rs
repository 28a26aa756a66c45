//! The example Elixir application (`examples/elixir_app`) as a real `mix release`, built
//! once per test process, and started in pods with the environment a Kubernetes
//! Deployment would give it.
//!
//! ```no_run
//! use beamlink_e2e::{pods::PodNet, release::{AppRelease, Probe}};
//! let net = PodNet::new(1);
//! let epmd = net.pod(0).start_epmd();
//! let mut probe = Probe::start(net.pod(0), &epmd, "cookie");
//! let env = vec![("RELEASE_NODE".to_string(), "app@10.245.1.11".to_string())];
//! let app = AppRelease::get().start(net.pod(0), &env, &mut probe);
//! assert!(probe.hidden_nodes(&app.node).is_empty());
//! ```
//!
//! The release is built with `MIX_ENV=prod` into `TARGET/elixir_app/_build` (never into
//! the source tree), under a lock file, so concurrent test processes build it once. A
//! started node is looked at from a hidden Erlang [`Probe`] node in the cluster.

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use crate::pods::Pod;

/// The repository root (the workspace of this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Cargo's target directory of this build: the nearest ancestor of the running executable
/// that holds `CACHEDIR.TAG` (cargo writes one there), else `target/` in the repository.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            repo_root().join(dir)
        };
    }
    let exe = std::env::current_exe().expect("path of the running executable");
    exe.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// The example app's release, built.
pub struct AppRelease {
    /// The release directory (`.../rel/app`), holding `bin/app`.
    pub root: PathBuf,
}

static RELEASE: OnceLock<AppRelease> = OnceLock::new();

impl AppRelease {
    /// Builds the release (`mix release app`, incremental) the first time it is asked for
    /// in this process, and returns it. Panics with mix's output if the build fails.
    pub fn get() -> &'static AppRelease {
        RELEASE.get_or_init(AppRelease::build)
    }

    fn build() -> AppRelease {
        let out = target_dir().join("elixir_app");
        std::fs::create_dir_all(&out).expect("create TARGET/elixir_app");
        let lock = File::create(out.join("build.lock")).expect("create the release build lock");
        // SAFETY: flock on a descriptor we own; released when `lock` is dropped.
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        let home = tempfile::tempdir().expect("temporary home for mix");
        let output = Command::new("mix")
            .args(["release", "app", "--overwrite", "--quiet"])
            .current_dir(repo_root().join("examples/elixir_app"))
            .env("MIX_ENV", "prod")
            .env("MIX_BUILD_ROOT", out.join("_build"))
            .env("HOME", home.path())
            .stdin(Stdio::null())
            .output()
            .expect("run mix (install Elixir: `make deps`)");
        assert!(
            output.status.success(),
            "`mix release app` failed in examples/elixir_app:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let root = out.join("_build/prod/rel/app");
        assert!(
            root.join("bin/app").exists(),
            "{} is missing after mix release",
            root.join("bin/app").display()
        );
        drop(lock);
        AppRelease { root }
    }

    /// `bin/app`.
    pub fn bin(&self) -> PathBuf {
        self.root.join("bin/app")
    }

    /// Starts `bin/app start` in `pod` with exactly `env` added to a clean environment
    /// (plus `PATH`, a private `HOME` and `RELEASE_TMP` inside it), and waits until its
    /// `:greeter` is registered, asking through `probe`. The node name is taken from
    /// `RELEASE_NODE` in `env`. The pod's EPMD must be running.
    pub fn start(&self, pod: &Pod, env: &[(String, String)], probe: &mut Probe) -> AppNode {
        self.start_as(pod, env, None, probe)
    }

    /// [`AppRelease::start`] as the user `uid:gid` (as a pod's `runAsUser`/`runAsGroup`),
    /// which cannot write the release directory nor its `HOME`: only `RELEASE_TMP`, as
    /// with a read-only root filesystem and an `emptyDir` on `/tmp`.
    pub fn start_as(
        &self,
        pod: &Pod,
        env: &[(String, String)],
        user: Option<(u32, u32)>,
        probe: &mut Probe,
    ) -> AppNode {
        let home = tempfile::tempdir().expect("temporary home");
        let tmp = tempfile::tempdir().expect("temporary RELEASE_TMP");
        let node = env
            .iter()
            .find(|(k, _)| k == "RELEASE_NODE")
            .map(|(_, v)| v.clone())
            .expect("RELEASE_NODE in the release's environment");
        let mut cmd = match user {
            None => pod.command(self.bin().to_str().expect("UTF-8 path")),
            Some((uid, gid)) => {
                // SAFETY: chown of a directory we own, to a numeric id.
                let path = std::ffi::CString::new(tmp.path().as_os_str().as_encoded_bytes()).expect("path");
                unsafe { libc::chown(path.as_ptr(), uid, gid) };
                let mut c = pod.command("setpriv");
                c.args([
                    &format!("--reuid={uid}"),
                    &format!("--regid={gid}"),
                    "--clear-groups",
                    "--",
                ]);
                c.arg(self.bin());
                c
            }
        };
        cmd.arg("start")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("RELEASE_TMP", tmp.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start the example release");
        let (tx, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if std::env::var_os("BEAMLINK_TEST_APP_LOG").is_some() {
                        eprintln!("[app] {line}");
                    }
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut app = AppNode {
            child,
            node,
            _home: home,
            _tmp: tmp,
            lines,
        };
        let deadline = Instant::now() + crate::START_TIMEOUT;
        loop {
            if probe.try_eval(&app.node, "is_pid(whereis(greeter)).").as_deref() == Some("true") {
                return app;
            }
            if let Ok(Some(status)) = app.child.try_wait() {
                let log: Vec<String> = app.lines.try_iter().collect();
                panic!(
                    "the release {} exited at start ({status}):\n{}",
                    app.node,
                    log.join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "the release {} did not register :greeter within {:?}",
                app.node,
                crate::START_TIMEOUT
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A running node of the example release, killed on drop.
pub struct AppNode {
    child: Child,
    /// Its name, `app@IP`.
    pub node: String,
    _home: tempfile::TempDir,
    _tmp: tempfile::TempDir,
    lines: mpsc::Receiver<String>,
}

impl AppNode {
    /// The node's OS process id (of `ip netns exec`, which execs the release's BEAM chain).
    pub fn os_pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines the node printed so far (its log), without waiting.
    pub fn log(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Stops the node now (SIGKILL), as a pod deleted without grace.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for AppNode {
    fn drop(&mut self) {
        // `bin/app start` execs elixir, which execs erl: the pid is the BEAM's.
        self.kill();
    }
}

/// A hidden Erlang node in a pod that evaluates expressions inside other nodes
/// (`rpc:call(Node, erl_eval, exprs, ...)`): how tests look at a release node from the
/// cluster's side. It shows up in the nodes' `nodes(hidden)` under [`Probe::name`], which
/// [`Probe::hidden_nodes`] leaves out.
pub struct Probe {
    beam: crate::Beam,
}

impl Probe {
    /// Starts `probe@IP` (IP the pod's) with `cookie`, registered at the pod's `epmd`.
    pub fn start(pod: &Pod, epmd: &crate::pods::PodEpmd, cookie: &str) -> Probe {
        let beam = pod.erlang(epmd).name("probe").cookie(cookie).hidden().start();
        Probe { beam }
    }

    /// The probe's node name.
    pub fn name(&self) -> &str {
        self.beam.node()
    }

    /// Evaluates Erlang expressions (ending with `.`) inside `node` and returns the value
    /// printed with `~0tp`, or `None` when the node cannot be reached or the expressions
    /// raise.
    pub fn try_eval(&mut self, node: &str, exprs: &str) -> Option<String> {
        let quoted: String = exprs
            .chars()
            .flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                '\n' => vec![' '],
                c => vec![c],
            })
            .collect();
        let expr = format!(
            "case catch begin {{ok, T, _}} = erl_scan:string(\"{quoted}\"), {{ok, E}} = erl_parse:parse_exprs(T), \
             rpc:call('{node}', erl_eval, exprs, [E, []], 15000) end of \
             {{value, V, _}} -> {{probe_ok, V}}; Other -> {{probe_failed, Other}} end."
        );
        let out = self.beam.eval_timeout(&expr, Duration::from_secs(30));
        out.strip_prefix("{probe_ok,")?
            .strip_suffix('}')
            .map(str::to_string)
    }

    /// [`Probe::try_eval`], panicking with the reason when it fails.
    pub fn eval(&mut self, node: &str, exprs: &str) -> String {
        match self.try_eval(node, exprs) {
            Some(v) => v,
            None => panic!("evaluating `{exprs}` in {node} failed"),
        }
    }

    /// `Node.list(:hidden)` of `node`, without the probe itself.
    pub fn hidden_nodes(&mut self, node: &str) -> BTreeSet<String> {
        let me = self.name().to_string();
        let mut all = self.node_list(node, "hidden");
        all.remove(&me);
        all
    }

    /// `Node.list()` of `node` (visible nodes).
    pub fn visible_nodes(&mut self, node: &str) -> BTreeSet<String> {
        self.node_list(node, "visible")
    }

    fn node_list(&mut self, node: &str, which: &str) -> BTreeSet<String> {
        let out = self.eval(
            node,
            &format!("string:join([atom_to_list(N) || N <- nodes({which})], \" \")."),
        );
        out.trim_matches('"')
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}
