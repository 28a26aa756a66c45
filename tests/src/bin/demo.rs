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
//! Usage: `demo [PATH-TO-beamlink]` (default: the `beamlink` next to this binary). Needs root
//! (network namespaces).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use beamlink_e2e::manifests::{PodFacts, Rendered};
use beamlink_e2e::pods::{Pod, PodNet};
use beamlink_e2e::random_cookie;
use beamlink_e2e::release::{AppRelease, Probe};

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
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("demo: the pods are network namespaces, which need root: run `sudo make demo`");
        return ExitCode::from(2);
    }
    let beamlink = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("beamlink")))
            .unwrap_or_else(|| PathBuf::from("beamlink"))
    });
    let started = Instant::now();
    let result = run(&beamlink);
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
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
    {
        println!("  {line}");
    }
    if !out.status.success() {
        println!("  (exit status {})", out.status.code().unwrap_or(-1));
    }
    Ok(())
}

fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
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
