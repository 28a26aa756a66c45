//! `make demo`: the example Elixir app and `beamlink join` in pods started from the
//! Kubernetes manifests (k8s/, rendered by `kubectl kustomize`), then the CLI against them.
//!
//! Three pods run the example release with the Elixir Deployment's command, environment and
//! user; a fourth runs `beamlink join` with the beamlink Deployment's arguments, environment
//! and user. dnsmasq answers the headless Service's name; each pod has a Kubernetes-like
//! resolv.conf. The demo prints `beamlink list`, `beamlink ping`, `beamlink rpc` into the
//! app's `:greeter` GenServer (run inside the beamlink pod, like `kubectl exec`), and the
//! Elixir side's `Node.list(:hidden)`; then it stops everything it started (also on
//! Ctrl-C or SIGTERM).
//!
//! Without root (or with `--loopback`), the same story on one host: three nodes of the
//! example release with distinct names on 127.0.0.1 (`app1@127.0.0.1`, ...), a private
//! EPMD on a free port for everything the demo starts, the Elixir nodes clustered through
//! a static node list (the app's `CLUSTER_NODES`, as libcluster's Epmd strategy) and
//! `beamlink join` finding them through that EPMD. A DNS name cannot tell nodes on one
//! address apart (it would name every one `BASENAME@127.0.0.1`), so loopback mode uses no DNS.
//!
//! Usage: `demo [--loopback] [PATH-TO-beamlink]` (default: the `beamlink` next to this
//! binary). The pods need root (network namespaces); loopback mode needs nothing.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use beamlink_e2e::manifests::{PodFacts, Rendered};
use beamlink_e2e::pods::{Pod, PodNet};
use beamlink_e2e::release::{AppRelease, Probe};
use beamlink_e2e::{http_get, random_cookie};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Stops the demo (dropping everything started) when Ctrl-C or SIGTERM arrived.
fn check_stop() -> Result<(), String> {
    if STOP.load(Ordering::SeqCst) {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

fn main() -> ExitCode {
    // SAFETY: installing an async-signal-safe handler (one atomic store).
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let mut loopback = false;
    let mut path = None;
    for arg in std::env::args_os().skip(1) {
        match arg.to_str() {
            Some("--loopback") => loopback = true,
            Some("-h" | "--help") => {
                println!("usage: demo [--loopback] [PATH-TO-beamlink]");
                return ExitCode::SUCCESS;
            }
            _ => path = Some(PathBuf::from(arg)),
        }
    }
    let beamlink = path.unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("beamlink")))
            .unwrap_or_else(|| PathBuf::from("beamlink"))
    });
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root && !loopback {
        println!(
            "demo: not root, so no pods (network namespaces need root): three nodes with distinct \
             names on 127.0.0.1 instead (`sudo make demo` for the pods)"
        );
    }
    let started = Instant::now();
    let result = if root && !loopback {
        run(&beamlink)
    } else {
        run_loopback(&beamlink)
    };
    println!(
        "\n== stopped everything the demo started ({:.0?} in all)",
        started.elapsed()
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A child process killed on drop.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn section(title: &str) {
    println!("\n== {title}");
}

/// Runs `program args` in `pod` with `env`, prints `$ shown` and its output (stdout then
/// stderr), indented.
/// Prints a finished command's stdout and stderr, indented, and its status when it failed.
fn print_output(out: &std::process::Output) {
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
    {
        println!("  {line}");
    }
    if !out.status.success() {
        println!("  (exit status {})", out.status.code().unwrap_or(-1));
    }
}

fn show(
    pod: &Pod,
    shown: &str,
    program: &str,
    args: &[&str],
    env: &[(String, String)],
) -> Result<(), String> {
    check_stop()?;
    println!("$ {shown}");
    let mut cmd = pod.command(program);
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {program}: {e}"))?;
    print_output(&out);
    Ok(())
}

fn run(beamlink: &std::path::Path) -> Result<(), String> {
    if !beamlink.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p beamlink-cli`",
            beamlink.display()
        ));
    }
    let bl = beamlink.to_str().ok_or("non-UTF-8 path")?.to_string();

    section("the manifests: kubectl kustomize k8s/");
    let m = Rendered::render();
    for o in &m.objects {
        println!(
            "  {} {}",
            o["kind"].as_str().unwrap_or("?"),
            o["metadata"]["name"].as_str().unwrap_or("?")
        );
    }
    let namespace = m.of_kind("Namespace")[0]["metadata"]["name"]
        .as_str()
        .ok_or("no namespace")?
        .to_string();
    let svc = m
        .of_kind("Service")
        .into_iter()
        .find(|s| s["spec"]["clusterIP"] == "None")
        .ok_or("no headless Service")?;
    let svc_name = svc["metadata"]["name"]
        .as_str()
        .ok_or("service name")?
        .to_string();
    let fqdn = format!("{svc_name}.{namespace}.svc.cluster.local");
    let replicas = m.get("Deployment", "elixir-app")["spec"]["replicas"]
        .as_u64()
        .ok_or("replicas")? as usize;
    let cookie_ref = m.container("elixir-app")["env"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"] == "RELEASE_COOKIE"))
        .map(|e| e["valueFrom"]["secretKeyRef"].clone())
        .ok_or("RELEASE_COOKIE is not from a Secret")?;
    let secret = (
        cookie_ref["name"].as_str().unwrap_or_default().to_string(),
        cookie_ref["key"].as_str().unwrap_or_default().to_string(),
    );
    let cookie = random_cookie();
    let facts = |pod: &Pod| PodFacts {
        pod_ip: pod.ipv4.to_string(),
        secrets: BTreeMap::from([(secret.clone(), cookie.clone())]),
    };

    section("building the example Elixir release (mix release app)");
    let release = AppRelease::get();
    println!("  {}", release.root.display());
    check_stop()?;

    section(&format!(
        "{replicas} pods of the Elixir Deployment, a pod for beamlink, DNS for {fqdn}"
    ));
    let mut net = PodNet::new(replicas + 1);
    let search = [
        format!("{namespace}.svc.cluster.local"),
        "svc.cluster.local".into(),
        "cluster.local".into(),
    ];
    net.pod_resolv_conf(&search.iter().map(String::as_str).collect::<Vec<_>>());
    let mut dns = net.start_dns();
    for i in 0..replicas {
        dns.add(&fqdn, net.pod(i).ipv4.into());
    }
    println!(
        "  dnsmasq on {}: {fqdn} -> {}",
        dns.addr(),
        (0..replicas)
            .map(|i| net.pod(i).ipv4.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let epmds: Vec<_> = (0..replicas).map(|i| net.pod(i).start_epmd()).collect();
    let user = m.run_as("elixir-app");
    let mut apps = Vec::new();
    {
        // A hidden Erlang node tells when each release is up; it leaves before the demo.
        let mut probe = Probe::start(net.pod(0), &epmds[0], &cookie);
        for i in 0..replicas {
            check_stop()?;
            let pod = net.pod(i).clone();
            let env = m.env("elixir-app", &facts(&pod));
            let app = release.start_as(&pod, &env, Some(user), &mut probe);
            println!(
                "  pod {} ({}): /app/bin/app start as {}:{} -> {} up",
                i, pod.netns, user.0, user.1, app.node
            );
            apps.push((pod, env, app));
        }
    }

    section("beamlink join in its pod, configured by the beamlink Deployment's environment");
    let pod = net.pod(replicas).clone();
    let env = m.env("beamlink", &facts(&pod));
    let (_, args) = m.command_line("beamlink");
    let (uid, gid) = m.run_as("beamlink");
    for (k, v) in &env {
        let shown = if k.contains("COOKIE") {
            "(from the Secret)"
        } else {
            v
        };
        println!("  {k}={shown}");
    }
    let mut cmd = pod.command("setpriv");
    cmd.args([
        &format!("--reuid={uid}"),
        &format!("--regid={gid}"),
        "--clear-groups",
        "--",
        &bl,
    ])
    .args(&args)
    .env_clear()
    .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| format!("start beamlink join: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let join = Guard(child);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("  [beamlink join] {line}");
        }
    });
    let port = m.container_port("beamlink", "http").ok_or("no http port")?;
    let http = SocketAddr::new(pod.ipv4.into(), port);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        check_stop()?;
        if let Ok((200, body)) = http_get(http, "/readyz") {
            println!("  GET http://{http}/readyz -> 200 {}", body.trim());
            break;
        }
        if Instant::now() > deadline {
            return Err("beamlink join did not become ready within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    section("the CLI, inside the beamlink pod (as kubectl exec deploy/beamlink -- beamlink ...)");
    let cli_env = vec![("BEAMLINK_COOKIE".to_string(), cookie.clone())];
    let app0 = apps[0].2.node.clone();
    let me = format!("beamlink@{}", pod.ipv4);
    show(
        &pod,
        &format!("beamlink list --dns {svc_name} --basename app --nodes {me}"),
        &bl,
        &["list", "--dns", &svc_name, "--basename", "app", "--nodes", &me],
        &cli_env,
    )?;
    show(
        &pod,
        &format!("beamlink ping {app0}"),
        &bl,
        &["ping", &app0],
        &cli_env,
    )?;
    let req = r#"{hello, <<"demo">>}"#;
    show(
        &pod,
        &format!("beamlink rpc {app0} gen_server call greeter '{req}'"),
        &bl,
        &["rpc", &app0, "gen_server", "call", "greeter", req],
        &cli_env,
    )?;

    section("the Elixir side");
    let (app_pod, app_env, _) = &apps[0];
    let expr = "IO.inspect(Node.list(:hidden)); IO.inspect(Node.list())";
    let bin = release.bin();
    let bin = bin.to_str().ok_or("non-UTF-8 path")?;
    show(
        app_pod,
        &format!("/app/bin/app rpc '{expr}'   # on {app0}"),
        bin,
        &["rpc", expr],
        app_env,
    )?;
    println!("  (Node.list(:hidden) also shows this `bin/app rpc` command's own rpc-... node)");
    check_stop()?;

    section("stopping");
    drop(join);
    drop(apps);
    drop(epmds);
    drop(dns);
    drop(net);
    Ok(())
}

/// A child process of loopback mode, in its own process group (so that a Ctrl-C in the
/// terminal reaches only the demo, which then stops it), stopped on drop: SIGTERM first
/// (beamlink join disconnects cleanly), SIGKILL after two seconds.
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn spawn(name: &str, mut cmd: std::process::Command) -> Result<Proc, String> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd.spawn().map_err(|e| format!("start {name}: {e}"))?;
        Ok(Proc {
            child,
            name: name.to_string(),
        })
    }

    /// Fails with the reason when the process has exited.
    fn check_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(format!("{} exited ({status})", self.name)),
            _ => Ok(()),
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: signalling our own child, which has not been reaped.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node of the example release on 127.0.0.1.
struct LoopbackApp {
    node: String,
    env: Vec<(String, String)>,
    log: PathBuf,
    proc: Proc,
}

/// Runs `beamlink ARGS` with `env` (on a clean environment) and returns (success, stdout,
/// stderr).
fn beamlink_out(bl: &str, args: &[&str], env: &[(String, String)]) -> Result<(bool, String, String), String> {
    let out = std::process::Command::new(bl)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {bl}: {e}"))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Runs `program args` on this host with `env` on a clean environment, prints `$ shown`
/// and its output, indented.
fn show_local(shown: &str, program: &str, args: &[&str], env: &[(String, String)]) -> Result<(), String> {
    check_stop()?;
    println!("$ {shown}");
    let out = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {program}: {e}"))?;
    print_output(&out);
    Ok(())
}

/// Polls `ready` every 200 ms for up to `timeout`, stopping early on Ctrl-C or when
/// `alive` fails; `what` names the wait in the error.
fn wait_until(
    what: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
    mut ready: impl FnMut() -> Result<bool, String>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        check_stop()?;
        alive()?;
        if ready()? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Prints the lines `beamlink join` wrote since the last call.
fn drain_join_log(lines: &std::sync::mpsc::Receiver<String>) {
    for line in lines.try_iter() {
        println!("  [beamlink join] {line}");
    }
}

/// The demo on one host without root: distinct node names on 127.0.0.1, one private EPMD.
fn run_loopback(beamlink: &std::path::Path) -> Result<(), String> {
    use beamlink_e2e::free_port;
    if !beamlink.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p beamlink-cli`",
            beamlink.display()
        ));
    }
    let bl = beamlink.to_str().ok_or("non-UTF-8 path")?.to_string();
    let path = std::env::var("PATH").unwrap_or_default();
    let cookie = random_cookie();
    let scratch = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;

    section("building the example Elixir release (mix release app)");
    let release = AppRelease::get();
    println!("  {}", release.root.display());
    check_stop()?;

    let epmd_port = free_port();
    section(&format!(
        "a private EPMD on 127.0.0.1:{epmd_port} for everything the demo starts (ERL_EPMD_PORT={epmd_port})"
    ));
    let mut cmd = std::process::Command::new("epmd");
    cmd.args(["-port", &epmd_port.to_string(), "-address", "127.0.0.1"])
        .env_clear()
        .env("PATH", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut epmd = Proc::spawn("epmd", cmd)?;
    let epmd_addr = format!("127.0.0.1:{epmd_port}");
    wait_until(
        "epmd did not accept connections",
        Duration::from_secs(10),
        || epmd.check_running(),
        || Ok(TcpStream::connect(&epmd_addr).is_ok()),
    )?;
    println!("  epmd -port {epmd_port} -address 127.0.0.1");

    let names: Vec<String> = (1..=3).map(|i| format!("app{i}@127.0.0.1")).collect();
    let cluster_nodes = names.join(",");
    section("three nodes of the example release, distinct names on 127.0.0.1");
    println!(
        "  no DNS name here: a name's records are addresses, all three are 127.0.0.1, so \
         --dns/--basename would make\n  one node name (app@127.0.0.1) of them. The Elixir nodes \
         cluster through a static list\n  (CLUSTER_NODES, as libcluster's Epmd strategy) and \
         beamlink finds them at the EPMD (--epmd)."
    );
    let cli_env = vec![
        ("PATH".to_string(), path.clone()),
        ("BEAMLINK_COOKIE".to_string(), cookie.clone()),
        ("ERL_EPMD_PORT".to_string(), epmd_port.to_string()),
    ];
    let mut apps: Vec<LoopbackApp> = Vec::new();
    for (i, node) in names.iter().enumerate() {
        check_stop()?;
        let home = scratch.path().join(format!("home{}", i + 1));
        let tmp = scratch.path().join(format!("tmp{}", i + 1));
        for d in [&home, &tmp] {
            std::fs::create_dir_all(d).map_err(|e| format!("create {}: {e}", d.display()))?;
        }
        let dist_port = free_port();
        let env: Vec<(String, String)> = [
            ("PATH", path.clone()),
            ("HOME", home.display().to_string()),
            ("RELEASE_TMP", tmp.display().to_string()),
            ("RELEASE_NODE", node.clone()),
            ("RELEASE_COOKIE", cookie.clone()),
            ("DIST_PORT", dist_port.to_string()),
            ("ERL_EPMD_PORT", epmd_port.to_string()),
            // The demo's EPMD is running: never start (and leave behind) another.
            ("ELIXIR_ERL_OPTIONS", "-start_epmd false".to_string()),
            ("CLUSTER_NODES", cluster_nodes.clone()),
            ("CLUSTER_POLL_MS", "1000".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let log = scratch.path().join(format!("app{}.log", i + 1));
        let file = std::fs::File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = std::process::Command::new(release.bin());
        cmd.arg("start")
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        let proc = Proc::spawn(node, cmd)?;
        apps.push(LoopbackApp {
            node: node.clone(),
            env,
            log,
            proc,
        });
        println!("  RELEASE_NODE={node} DIST_PORT={dist_port} CLUSTER_NODES={cluster_nodes} bin/app start");
    }
    for app in &mut apps {
        let node = app.node.clone();
        let log = app.log.clone();
        let result = wait_until(
            &format!("{node} did not register :greeter"),
            Duration::from_secs(60),
            || app.proc.check_running(),
            || {
                let (ok, out, _) = beamlink_out(
                    &bl,
                    &["rpc", &node, "erlang", "whereis", "greeter", "--timeout", "2"],
                    &cli_env,
                )?;
                Ok(ok && out.trim_start().starts_with('<'))
            },
        );
        if let Err(e) = result {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{e}; its output:\n{text}"));
        }
    }
    for app in &mut apps {
        let node = app.node.clone();
        wait_until(
            &format!("{node} did not connect to the other two"),
            Duration::from_secs(30),
            || app.proc.check_running(),
            || {
                let (ok, out, _) = beamlink_out(&bl, &["eval", &node, "length(nodes())."], &cli_env)?;
                Ok(ok && out.trim() == "2")
            },
        )?;
        println!("  {node} up: :greeter registered, connected to the other two");
    }

    let me = "beamlink@127.0.0.1";
    let http_port = free_port();
    let http = SocketAddr::from(([127, 0, 0, 1], http_port));
    let epmd_src = format!("127.0.0.1:{epmd_port}");
    let join_args = [
        "join",
        "--name",
        me,
        "--epmd",
        &epmd_src,
        "--epmd-port",
        &epmd_port.to_string(),
        "--listen",
        "127.0.0.1",
        "--interval",
        "2s",
        "--http",
        &http.to_string(),
    ]
    .map(str::to_string);
    section("beamlink join: every node registered at the EPMD (libcluster's Epmd/ErlangHosts style)");
    println!("$ BEAMLINK_COOKIE=... beamlink {}", join_args.join(" "));
    let mut cmd = std::process::Command::new(&bl);
    cmd.args(&join_args)
        .env_clear()
        .envs(cli_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut join = Proc::spawn("beamlink join", cmd)?;
    let stdout = join.child.stdout.take().ok_or("no stdout")?;
    let (tx, join_lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut ready_body = String::new();
    wait_until(
        "beamlink join did not become ready",
        Duration::from_secs(30),
        || join.check_running(),
        || match http_get(http, "/readyz") {
            Ok((200, body)) => {
                ready_body = body;
                Ok(true)
            }
            _ => Ok(false),
        },
    )?;
    drain_join_log(&join_lines);
    println!("  GET http://{http}/readyz -> 200 {}", ready_body.trim());

    section("the CLI");
    let app1 = names[0].clone();
    let shown_env = format!("ERL_EPMD_PORT={epmd_port} BEAMLINK_COOKIE=...");
    show_local(
        &format!("{shown_env} beamlink list --epmd 127.0.0.1"),
        &bl,
        &["list", "--epmd", "127.0.0.1"],
        &cli_env,
    )?;
    show_local(
        &format!("{shown_env} beamlink ping {app1}"),
        &bl,
        &["ping", &app1],
        &cli_env,
    )?;
    let req = r#"{hello, <<"demo">>}"#;
    show_local(
        &format!("{shown_env} beamlink rpc {app1} gen_server call greeter '{req}'"),
        &bl,
        &["rpc", &app1, "gen_server", "call", "greeter", req],
        &cli_env,
    )?;

    section("the Elixir side");
    let expr = "IO.inspect(Node.list(:hidden)); IO.inspect(Node.list())";
    let bin = release.bin();
    let bin = bin.to_str().ok_or("non-UTF-8 path")?;
    show_local(
        &format!("bin/app rpc '{expr}'   # RELEASE_NODE={app1}"),
        bin,
        &["rpc", expr],
        &apps[0].env,
    )?;
    println!("  (Node.list(:hidden) also shows this `bin/app rpc` command's own rpc-... node)");
    drain_join_log(&join_lines);
    check_stop()?;

    section("stopping");
    drop(join);
    // What join printed while stopping: the reader thread ends with the pipe.
    while let Ok(line) = join_lines.recv_timeout(Duration::from_secs(2)) {
        println!("  [beamlink join] {line}");
    }
    for app in apps {
        println!("  {}", app.node);
    }
    drop(epmd);
    println!("  epmd on port {epmd_port}");
    Ok(())
}
