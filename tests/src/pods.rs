//! A cluster of "pods" on one machine: network namespaces on a private bridge, each with
//! its own IPv4 and IPv6 address, its own `epmd` and BEAM nodes, and a real DNS server
//! (dnsmasq) answering a headless-service name with the pods' addresses.
//!
//! ```text
//!   host namespace: bridge blbX 10.245.X.1/24 fd24:5:X::1/64, dnsmasq on 10.245.X.1:53
//!     |-- veth -- pod 0 (netns blpodX-0): eth0 10.245.X.11  fd24:5:X::11, epmd :4369, app@10.245.X.11
//!     |-- veth -- pod 1 (netns blpodX-1): eth0 10.245.X.12  fd24:5:X::12, ...
//! ```
//!
//! `X` is chosen per [`PodNet`] from the process id and reserved with a lock file, so
//! concurrent test processes never share a subnet; a subnet whose bridge or addresses
//! already exist is skipped, never touched. Everything created (namespaces, links, dnsmasq,
//! epmd) is removed by drop guards, also when a test fails. Creating namespaces needs root
//! (CAP_NET_ADMIN): without it the constructor panics with that reason.
//!
//! Typical use:
//!
//! ```no_run
//! use beamlink_e2e::pods::PodNet;
//! let mut net = PodNet::new(3);
//! let mut dns = net.start_dns();
//! let name = "app-headless.ns1.svc.cluster.local";
//! for pod in net.pods() { dns.add(name, pod.ipv4.into()); }
//! let epmd = net.pod(0).start_epmd();
//! let mut node = net.pod(0).erlang(&epmd).name("app").start();   // app@10.245.X.11
//! net.cut(1);      // pod 1's link down
//! net.restore(1);
//! dns.remove(name, net.pod(0).ipv4.into());
//! dns.stop();      // DNS outage
//! dns.start();
//! ```
//!
//! For `beamlink join` tests, [`PodCluster`] starts the pods with their `app@IP` nodes and
//! DNS records in one call. Add a client pod with `c.net.add_pod()` and run the binary in it
//! with `pod.command(path)`: `--dns app-headless` after `PodCluster::builder(n).search(..)`
//! (a Kubernetes-like resolv.conf in every pod), or `--resolver 10.245.X.1:53`. Then check
//! each node with `c.wait_nodeup(i, "beamlink@IP", timeout)` (an event inside the node),
//! `c.connected_nodes(i, true)` (hidden) and `c.connected_nodes(i, false)` (visible), and
//! make changes with `c.unpublish(i)`, `c.add_pod(elixir)`, `c.dns.stop()`/`start()`,
//! `c.nodes[i].freeze()`/`thaw()` and `c.net.cut(i)`/`restore(i)`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::{Beam, BeamBuilder};

/// The zone dnsmasq answers authoritatively: unknown names in it are NXDOMAIN (an empty
/// answer); names outside it are REFUSED (a failure).
pub const ZONE: &str = "cluster.local";

/// The EPMD port inside every pod (each pod has its own network stack).
pub const POD_EPMD_PORT: u16 = 4369;

static NEXT_SUBNET: AtomicU16 = AtomicU16::new(0);

/// Runs `ip ARGS` and panics with its error output when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run `ip` (install iproute2)");
    assert!(
        out.status.success(),
        "`ip {}` failed: {} (the pod harness needs root: CAP_NET_ADMIN)",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// Runs `ip ARGS` and ignores failure (cleanup).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn subnet_in_use(x: u8) -> bool {
    let out = Command::new("ip")
        .args(["-o", "addr", "show"])
        .output()
        .expect("run `ip addr`");
    let text = String::from_utf8_lossy(&out.stdout);
    text.contains(&format!("10.245.{x}.")) || text.contains(&format!("fd24:5:{x}::"))
}

/// One pod: a network namespace with one interface on the bridge.
#[derive(Debug, Clone)]
pub struct Pod {
    pub index: usize,
    /// The namespace name, for `ip netns exec`.
    pub netns: String,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    /// The host end of the pod's veth pair (what [`PodNet::cut`] sets down).
    pub veth: String,
}

impl Pod {
    /// A command that runs `program` inside this pod.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns, program]);
        c
    }

    /// Runs `program args` inside this pod and returns its output.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .expect("run a command in a pod")
    }

    /// Starts `epmd` on port 4369 inside this pod and waits until it answers.
    pub fn start_epmd(&self) -> PodEpmd {
        let child = self
            .command("epmd")
            .args(["-port", &POD_EPMD_PORT.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start epmd in a pod (run `make deps`)");
        let guard = PodEpmd {
            child,
            port: POD_EPMD_PORT,
        };
        let deadline = Instant::now() + crate::START_TIMEOUT;
        loop {
            let ok = self
                .command("epmd")
                .args(["-port", &POD_EPMD_PORT.to_string(), "-names"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return guard;
            }
            assert!(
                Instant::now() < deadline,
                "epmd did not start in pod {}",
                self.netns
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// An Erlang node to start in this pod, named `NAME@IPv4` (set the name with `.name()`),
    /// registered at the pod's EPMD.
    pub fn erlang(&self, epmd: &PodEpmd) -> BeamBuilder {
        Beam::erlang()
            .netns(&self.netns)
            .host(&self.ipv4.to_string())
            .epmd(epmd.port)
    }

    /// An Elixir node to start in this pod, named `NAME@IPv4`.
    pub fn elixir(&self, epmd: &PodEpmd) -> BeamBuilder {
        Beam::elixir()
            .netns(&self.netns)
            .host(&self.ipv4.to_string())
            .epmd(epmd.port)
    }

    /// An Erlang node named `NAME@IPv6` using IPv6 distribution (`-proto_dist inet6_tcp`).
    pub fn erlang_v6(&self, epmd: &PodEpmd) -> BeamBuilder {
        Beam::erlang()
            .netns(&self.netns)
            .host(&self.ipv6.to_string())
            .epmd(epmd.port)
            .arg("-proto_dist")
            .arg("inet6_tcp")
    }
}

/// An `epmd` running inside a pod, killed on drop.
pub struct PodEpmd {
    child: Child,
    pub port: u16,
}

impl PodEpmd {
    /// The epmd process id (of `ip netns exec`, which execs epmd in place).
    pub fn os_pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for PodEpmd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bridge and its pods, on a subnet reserved for this test; removed on drop.
pub struct PodNet {
    /// The subnet number: addresses are 10.245.X.0/24 and fd24:5:X::/64.
    pub x: u8,
    bridge: String,
    pods: Vec<Pod>,
    dir: tempfile::TempDir,
    resolv_conf: Option<String>,
    _lock: File,
}

impl PodNet {
    /// A bridge with `pods` pods on it, each with an IPv4 and an IPv6 address and a default
    /// route through the bridge.
    pub fn new(pods: usize) -> PodNet {
        assert!(pods <= 200, "at most 200 pods");
        let (x, lock) = reserve_subnet();
        let dir = tempfile::tempdir().expect("temporary directory");
        let bridge = format!("blb{x}");
        let mut net = PodNet {
            x,
            bridge: bridge.clone(),
            pods: Vec::new(),
            dir,
            resolv_conf: None,
            _lock: lock,
        };
        // A fixed address: a bridge otherwise takes the lowest MAC of its ports, so adding
        // a pod could change it and leave every pod's ARP entry for the bridge (where DNS
        // listens) stale for seconds. Locally administered, unique per subnet.
        let mac = format!("02:62:6c:00:00:{:02x}", x);
        ip(&["link", "add", &bridge, "address", &mac, "type", "bridge"]);
        ip(&["addr", "add", &format!("10.245.{x}.1/24"), "dev", &bridge]);
        ip(&[
            "-6",
            "addr",
            "add",
            &format!("fd24:5:{x}::1/64"),
            "dev",
            &bridge,
            "nodad",
        ]);
        ip(&["link", "set", &bridge, "up"]);
        for _ in 0..pods {
            net.add_pod();
        }
        net
    }

    /// Adds one more pod and returns its index.
    pub fn add_pod(&mut self) -> usize {
        let (x, i) = (self.x, self.pods.len());
        let host_octet = 11 + i;
        let pod = Pod {
            index: i,
            netns: format!("blpod{x}-{i}"),
            ipv4: Ipv4Addr::new(10, 245, x, host_octet as u8),
            ipv6: format!("fd24:5:{x}::{host_octet}")
                .parse()
                .expect("pod IPv6 address"),
            veth: format!("blv{x}-{i}"),
        };
        let peer = format!("blp{x}-{i}");
        ip(&["netns", "add", &pod.netns]);
        // Record the pod before configuring it, so that a failure below still cleans up.
        self.pods.push(pod.clone());
        ip(&["link", "add", &pod.veth, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &pod.veth, "master", &self.bridge, "up"]);
        ip(&["link", "set", &peer, "netns", &pod.netns]);
        let ns = pod.netns.as_str();
        ip(&["-n", ns, "link", "set", "lo", "up"]);
        ip(&["-n", ns, "link", "set", &peer, "name", "eth0"]);
        ip(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{}/24", pod.ipv4),
            "dev",
            "eth0",
        ]);
        ip(&[
            "-n",
            ns,
            "-6",
            "addr",
            "add",
            &format!("{}/64", pod.ipv6),
            "dev",
            "eth0",
            "nodad",
        ]);
        ip(&["-n", ns, "link", "set", "eth0", "up"]);
        ip(&[
            "-n",
            ns,
            "route",
            "add",
            "default",
            "via",
            &format!("10.245.{x}.1"),
        ]);
        ip(&[
            "-n",
            ns,
            "-6",
            "route",
            "add",
            "default",
            "via",
            &format!("fd24:5:{x}::1"),
        ]);
        self.write_resolv_conf(i);
        i
    }

    /// Every pod.
    pub fn pods(&self) -> &[Pod] {
        &self.pods
    }

    /// Pod `i`.
    pub fn pod(&self, i: usize) -> &Pod {
        &self.pods[i]
    }

    /// The bridge's IPv4 address: the pods' gateway, where DNS listens.
    pub fn bridge_ipv4(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 245, self.x, 1)
    }

    /// The bridge's IPv6 address.
    pub fn bridge_ipv6(&self) -> Ipv6Addr {
        format!("fd24:5:{}::1", self.x)
            .parse()
            .expect("bridge IPv6 address")
    }

    /// A private directory for files the test writes (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Gives every pod (present and future) a pod-like `/etc/resolv.conf`: the bridge's DNS
    /// server, this search list and `options ndots:5`, as Kubernetes writes it. Programs run
    /// with [`Pod::command`] see it (`ip netns exec` bind-mounts `/etc/netns/NS/resolv.conf`),
    /// so a bare service name resolves in a pod as in Kubernetes, for Rust and for Erlang's
    /// `inet_res`. The files are removed on drop.
    pub fn pod_resolv_conf(&mut self, search: &[&str]) {
        let text = format!(
            "nameserver {}\nsearch {}\noptions ndots:5 timeout:1 attempts:2\n",
            self.bridge_ipv4(),
            search.join(" ")
        );
        self.resolv_conf = Some(text);
        for i in 0..self.pods.len() {
            self.write_resolv_conf(i);
        }
    }

    /// The resolv.conf programs in pod `i` see, if [`PodNet::pod_resolv_conf`] was called.
    pub fn resolv_conf_path(&self, i: usize) -> PathBuf {
        Path::new("/etc/netns")
            .join(&self.pods[i].netns)
            .join("resolv.conf")
    }

    fn write_resolv_conf(&self, i: usize) {
        let Some(text) = &self.resolv_conf else { return };
        let path = self.resolv_conf_path(i);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create /etc/netns/NS (needs root)");
        }
        std::fs::write(&path, text).expect("write the pod's resolv.conf");
    }

    /// Cuts pod `i` off the network (its bridge port goes down): packets stop both ways,
    /// addresses and routes stay.
    pub fn cut(&self, i: usize) {
        ip(&["link", "set", &self.pods[i].veth, "down"]);
    }

    /// Reconnects pod `i` after [`PodNet::cut`].
    pub fn restore(&self, i: usize) {
        ip(&["link", "set", &self.pods[i].veth, "up"]);
    }

    /// Starts dnsmasq on the bridge (port 53), authoritative for `cluster.local`, with no
    /// records yet.
    pub fn start_dns(&self) -> Dns {
        let hosts = self.dir.path().join("dns-hosts");
        let mut dns = Dns {
            child: None,
            listen: self.bridge_ipv4(),
            hosts,
            records: BTreeMap::new(),
            srv: BTreeMap::new(),
        };
        dns.write_hosts();
        dns.start();
        dns
    }
}

impl Drop for PodNet {
    fn drop(&mut self) {
        for pod in &self.pods {
            // Deleting the namespace removes its end of the veth; the host end goes with it.
            ip_quiet(&["link", "del", &pod.veth]);
            ip_quiet(&["netns", "del", &pod.netns]);
            let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&pod.netns));
        }
        ip_quiet(&["link", "del", &self.bridge]);
    }
}

/// Reserves a subnet number: a lock file per number (held until drop, released by the
/// kernel if the process dies), skipping numbers whose bridge or addresses exist.
fn reserve_subnet() -> (u8, File) {
    let start = (std::process::id() % 200) as u16 + 40;
    for k in 0..200u16 {
        let offset = NEXT_SUBNET.fetch_add(1, Ordering::Relaxed);
        let x = ((start + offset + k) % 200 + 40) as u8;
        let path = format!("/tmp/beamlink-pods-10.245.{x}.lock");
        let Ok(file) = File::create(&path) else { continue };
        // SAFETY: flock on a file descriptor we own.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            continue;
        }
        if link_exists(&format!("blb{x}")) || subnet_in_use(x) {
            continue;
        }
        return (x, file);
    }
    panic!("no free 10.245.X.0/24 subnet for the pod harness");
}

/// dnsmasq answering A/AAAA records from a hosts file (re-read on SIGHUP) and SRV records
/// from its command line (changed by a restart). Killed on drop.
pub struct Dns {
    child: Option<Child>,
    listen: Ipv4Addr,
    hosts: PathBuf,
    records: BTreeMap<String, BTreeSet<IpAddr>>,
    srv: BTreeMap<String, BTreeSet<(String, u16)>>,
}

impl Dns {
    /// Where dnsmasq listens (`BRIDGE_IP:53`).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.listen.into(), 53)
    }

    /// Adds an A or AAAA record and waits until dnsmasq serves it.
    pub fn add(&mut self, name: &str, ip: IpAddr) {
        self.records.entry(name.to_string()).or_default().insert(ip);
        self.reload(name);
    }

    /// Removes a record and waits until dnsmasq no longer serves it.
    pub fn remove(&mut self, name: &str, ip: IpAddr) {
        if let Some(set) = self.records.get_mut(name) {
            set.remove(&ip);
        }
        self.reload(name);
    }

    /// Replaces every address record of `name`.
    pub fn set(&mut self, name: &str, ips: impl IntoIterator<Item = IpAddr>) {
        self.records.insert(name.to_string(), ips.into_iter().collect());
        self.reload(name);
    }

    /// Adds an SRV record `name -> target:port` (restarts dnsmasq if it runs).
    pub fn add_srv(&mut self, name: &str, target: &str, port: u16) {
        self.srv
            .entry(name.to_string())
            .or_default()
            .insert((target.to_string(), port));
        self.restart_if_running();
    }

    /// Removes an SRV record (restarts dnsmasq if it runs).
    pub fn remove_srv(&mut self, name: &str, target: &str, port: u16) {
        if let Some(set) = self.srv.get_mut(name) {
            set.remove(&(target.to_string(), port));
        }
        self.restart_if_running();
    }

    /// The dnsmasq process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether dnsmasq runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Stops dnsmasq: queries go unanswered until [`Dns::start`].
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts dnsmasq with the current records and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "dnsmasq already runs");
        let mut cmd = Command::new("dnsmasq");
        cmd.args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--local-ttl=1",
            "--pid-file=",
            "--port=53",
            "--user=root",
            "--group=root",
        ]);
        cmd.arg(format!("--listen-address={}", self.listen));
        cmd.arg(format!("--addn-hosts={}", self.hosts.display()));
        cmd.arg(format!("--local=/{ZONE}/"));
        for (name, targets) in &self.srv {
            for (target, port) in targets {
                cmd.arg(format!("--srv-host={name},{target},{port},10,50"));
            }
        }
        if std::env::var_os("BEAMLINK_TEST_DNS_LOG").is_some() {
            cmd.args(["--log-queries", "--log-facility=-"])
                .stderr(Stdio::inherit());
        } else {
            cmd.stderr(Stdio::null());
        }
        cmd.stdout(Stdio::null()).stdin(Stdio::null());
        self.child = Some(cmd.spawn().expect("start dnsmasq (run `make deps`)"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while query(self.addr(), &format!("ready.{ZONE}"), QTYPE_A).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "dnsmasq exited at start ({status}); is port 53 on {} taken?",
                    self.listen
                );
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not answer on {} within 10 s",
                self.addr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn restart_if_running(&mut self) {
        if self.is_running() {
            self.stop();
            self.start();
        }
    }

    fn write_hosts(&self) {
        let mut text = String::new();
        for (name, ips) in &self.records {
            for ip in ips {
                text.push_str(&format!("{ip} {name}\n"));
            }
        }
        let tmp = self.hosts.with_extension("new");
        let mut f = File::create(&tmp).expect("write the DNS hosts file");
        f.write_all(text.as_bytes()).expect("write the DNS hosts file");
        drop(f);
        std::fs::rename(&tmp, &self.hosts).expect("replace the DNS hosts file");
    }

    /// Rewrites the hosts file, signals dnsmasq, and waits until it serves `name` as recorded.
    fn reload(&mut self, name: &str) {
        self.write_hosts();
        let Some(child) = &self.child else { return };
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
        let want = self.records.get(name).cloned().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut got = BTreeSet::new();
            for qtype in [QTYPE_A, QTYPE_AAAA] {
                if let Ok(ips) = query(self.addr(), name, qtype) {
                    got.extend(ips);
                }
            }
            if got == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq still answers {got:?} for {name}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop();
    }
}

const QTYPE_A: u16 = 1;
const QTYPE_AAAA: u16 = 28;

/// One DNS query over UDP, for the harness to know what dnsmasq serves: the addresses in
/// the answer (an error when there is no answer at all within 300 ms).
pub fn query(server: SocketAddr, name: &str, qtype: u16) -> Result<Vec<IpAddr>, String> {
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .map_err(|e| e.to_string())?;
    let id: u16 = rand::random();
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD, one question
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    sock.send_to(&q, server).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = loop {
        let (n, _) = sock.recv_from(&mut buf).map_err(|e| e.to_string())?;
        if n >= 12 && buf[..2] == id.to_be_bytes() {
            break n;
        }
    };
    let msg = &buf[..n];
    let ancount = u16::from_be_bytes([msg[6], msg[7]]) as usize;
    // Skip the question: our own name, then type and class.
    let mut at = q.len();
    let mut out = Vec::new();
    for _ in 0..ancount {
        at = skip_name(msg, at).ok_or("truncated answer")?;
        let field = |i: usize| msg.get(at + i).copied().ok_or("truncated answer");
        let rtype = u16::from_be_bytes([field(0)?, field(1)?]);
        let rdlen = u16::from_be_bytes([field(8)?, field(9)?]) as usize;
        let data = msg.get(at + 10..at + 10 + rdlen).ok_or("truncated answer")?;
        match (rtype, rdlen) {
            (QTYPE_A, 4) => out.push(IpAddr::from(
                <[u8; 4]>::try_from(data).map_err(|e| e.to_string())?,
            )),
            (QTYPE_AAAA, 16) => out.push(IpAddr::from(
                <[u8; 16]>::try_from(data).map_err(|e| e.to_string())?,
            )),
            _ => {}
        }
        at += 10 + rdlen;
    }
    Ok(out)
}

fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)?;
        if len & 0xc0 == 0xc0 {
            return Some(at + 2);
        }
        if len == 0 {
            return Some(at + 1);
        }
        at += 1 + len as usize;
    }
}

/// `n` pods, each with its own EPMD and a BEAM node `app@IP` sharing one cookie, and
/// dnsmasq answering the service name with every pod's address: a headless Service in a
/// box. Fields drop in declaration order: nodes, then EPMDs, then DNS, then the network.
pub struct PodCluster {
    pub nodes: Vec<Beam>,
    pub epmds: Vec<PodEpmd>,
    pub dns: Dns,
    pub net: PodNet,
    /// The headless-service name the DNS server answers.
    pub service: String,
    pub cookie: String,
    /// Whether the nodes are named and reached by their IPv6 addresses.
    pub ipv6: bool,
    args: Vec<String>,
}

/// How to start a [`PodCluster`].
pub struct PodClusterBuilder {
    pods: usize,
    service: String,
    elixir: BTreeSet<usize>,
    args: Vec<String>,
    ipv6: bool,
    search: Option<Vec<String>>,
}

impl PodClusterBuilder {
    /// Give the pods a Kubernetes-like resolv.conf with this search list (see
    /// [`PodNet::pod_resolv_conf`]), before any node starts.
    pub fn search(mut self, domains: &[&str]) -> Self {
        self.search = Some(domains.iter().map(|d| d.to_string()).collect());
        self
    }
    /// The name DNS answers (default `app-headless.ns1.svc.cluster.local`).
    pub fn service(mut self, name: &str) -> Self {
        self.service = name.to_string();
        self
    }
    /// Pod `i` runs an Elixir node instead of an Erlang one.
    pub fn elixir(mut self, i: usize) -> Self {
        self.elixir.insert(i);
        self
    }
    /// An extra `erl` argument for every node (e.g. `-kernel`, `net_ticktime`, `4`).
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }
    /// Name the nodes `app@IPv6`, use IPv6 distribution, and publish AAAA records only.
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }
    /// Starts every pod and node, waits until each is ready and DNS serves them all.
    pub fn start(self) -> PodCluster {
        let mut net = PodNet::new(0);
        if let Some(search) = &self.search {
            net.pod_resolv_conf(&search.iter().map(String::as_str).collect::<Vec<_>>());
        }
        let dns = net.start_dns();
        let mut c = PodCluster {
            nodes: Vec::new(),
            epmds: Vec::new(),
            dns,
            net,
            service: self.service,
            cookie: crate::random_cookie(),
            ipv6: self.ipv6,
            args: self.args,
        };
        for i in 0..self.pods {
            c.add_pod(self.elixir.contains(&i));
        }
        c
    }
}

impl PodCluster {
    /// `n` pods of Erlang nodes over IPv4; configure before `start()`.
    pub fn builder(n: usize) -> PodClusterBuilder {
        PodClusterBuilder {
            pods: n,
            service: "app-headless.ns1.svc.cluster.local".into(),
            elixir: BTreeSet::new(),
            args: Vec::new(),
            ipv6: false,
            search: None,
        }
    }

    /// Adds a pod with its EPMD and node (Elixir if `elixir`), publishes it in DNS, and
    /// returns its index.
    pub fn add_pod(&mut self, elixir: bool) -> usize {
        let i = self.net.add_pod();
        let pod = self.net.pod(i).clone();
        let epmd = pod.start_epmd();
        let mut b = match (self.ipv6, elixir) {
            (false, false) => pod.erlang(&epmd),
            (false, true) => pod.elixir(&epmd),
            (true, false) => pod.erlang_v6(&epmd),
            (true, true) => pod
                .elixir(&epmd)
                .host(&pod.ipv6.to_string())
                .arg("-proto_dist")
                .arg("inet6_tcp"),
        };
        for a in &self.args {
            b = b.arg(a);
        }
        self.nodes.push(b.name("app").cookie(&self.cookie).start());
        self.epmds.push(epmd);
        self.publish(i);
        i
    }

    /// The address pod `i` is published under (IPv4, or IPv6 for an IPv6 cluster).
    pub fn addr(&self, i: usize) -> IpAddr {
        let pod = self.net.pod(i);
        if self.ipv6 {
            pod.ipv6.into()
        } else {
            pod.ipv4.into()
        }
    }

    /// Removes pod `i` from DNS (its node keeps running).
    pub fn unpublish(&mut self, i: usize) {
        let addr = self.addr(i);
        self.dns.remove(&self.service, addr);
    }

    /// Puts pod `i` back in DNS.
    pub fn publish(&mut self, i: usize) {
        let addr = self.addr(i);
        self.dns.add(&self.service, addr);
    }

    /// The nodes pod `i`'s node is connected to: hidden ones (`nodes(hidden)`,
    /// `Node.list(:hidden)`) or visible ones (`nodes()`, `Node.list()`).
    pub fn connected_nodes(&mut self, i: usize, hidden: bool) -> BTreeSet<String> {
        let node = &mut self.nodes[i];
        let out = match (node.flavor(), hidden) {
            (crate::Flavor::Erlang, true) => {
                node.eval("string:join([atom_to_list(N) || N <- nodes(hidden)], \" \").")
            }
            (crate::Flavor::Erlang, false) => {
                node.eval("string:join([atom_to_list(N) || N <- nodes()], \" \").")
            }
            (crate::Flavor::Elixir, true) => {
                node.eval("Node.list(:hidden) |> Enum.map(&Atom.to_string/1) |> Enum.join(\" \")")
            }
            (crate::Flavor::Elixir, false) => {
                node.eval("Node.list() |> Enum.map(&Atom.to_string/1) |> Enum.join(\" \")")
            }
        };
        out.trim_matches('"')
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// Waits, inside pod `i`'s node, until it is connected to `peer` (hidden or not), using
    /// `net_kernel:monitor_nodes/2` (an event, not polling). True if connected in time.
    pub fn wait_nodeup(&mut self, i: usize, peer: &str, timeout: Duration) -> bool {
        self.wait_node(i, peer, timeout, true)
    }

    /// Waits, inside pod `i`'s node, until it is not connected to `peer`. True if so in time.
    pub fn wait_nodedown(&mut self, i: usize, peer: &str, timeout: Duration) -> bool {
        self.wait_node(i, peer, timeout, false)
    }

    fn wait_node(&mut self, i: usize, peer: &str, timeout: Duration, up: bool) -> bool {
        let ms = timeout.as_millis();
        let (tag, want_member) = if up {
            ("nodeup", "true")
        } else {
            ("nodedown", "false")
        };
        let node = &mut self.nodes[i];
        let expr = match node.flavor() {
            crate::Flavor::Erlang => format!(
                "begin ok = net_kernel:monitor_nodes(true, [{{node_type, all}}]), \
                 R = case lists:member('{peer}', nodes(connected)) of {want_member} -> yes; \
                 _ -> receive {{{tag}, '{peer}', _}} -> yes after {ms} -> no end end, \
                 net_kernel:monitor_nodes(false, [{{node_type, all}}]), R end."
            ),
            crate::Flavor::Elixir => format!(
                ":ok = :net_kernel.monitor_nodes(true, [node_type: :all]); \
                 r = case :lists.member(:\"{peer}\", Node.list(:connected)) do {want_member} -> :yes; \
                 _ -> receive do {{:{tag}, :\"{peer}\", _}} -> :yes after {ms} -> :no end end; \
                 :net_kernel.monitor_nodes(false, [node_type: :all]); r"
            ),
        };
        let out = node.eval_timeout(&expr, timeout + Duration::from_secs(10));
        match out.as_str() {
            "yes" | ":yes" => true,
            "no" | ":no" => false,
            other => panic!("waiting for {tag} of {peer} in {}: {other}", node.node()),
        }
    }

    /// Every node's name, as the nodes call themselves.
    pub fn node_names(&self) -> BTreeSet<String> {
        self.nodes.iter().map(|n| n.node().to_string()).collect()
    }
}
