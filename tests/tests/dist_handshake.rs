//! The distribution handshake against real OTP nodes, in both directions: hidden and
//! visible, wrong cookies, not_allowed, alive (both answers), dynamic names, simultaneous
//! connects, and the setup timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use beamlink_dist::handshake::BoxFuture;
use beamlink_dist::{
    AcceptAll, AcceptDecision, AcceptRequest, Arbiter, Connection, ConnectionConfig, ConnectionEvent, Cookie,
    DistFlags, DownReason, Established, HandshakeConfig, HandshakeError,
};
use beamlink_e2e::{random_cookie, unique_name, Beam, Epmd};
use beamlink_epmd::{EpmdClient, Lookup, NodeEntry, Registration};
use tokio::net::TcpListener;

/// A node name for beamlink on this host.
fn our_name(prefix: &str) -> String {
    format!("{}@127.0.0.1", unique_name(prefix))
}

/// Evaluates on the BEAM without stalling the runtime's other tasks.
fn eval(beam: &mut Beam, expr: &str) -> String {
    tokio::task::block_in_place(|| beam.eval(expr))
}

fn short(node: &str) -> &str {
    node.split('@').next().unwrap_or(node)
}

/// The BEAM node's distribution address, from EPMD.
async fn beam_addr(epmd: &Epmd, beam: &Beam) -> std::net::SocketAddr {
    match EpmdClient::new("127.0.0.1", epmd.port)
        .port_please(short(beam.node()))
        .await
    {
        Ok(Lookup::Registered(entry)) => ([127, 0, 0, 1], entry.port).into(),
        other => panic!("{} is not in EPMD: {other:?}", beam.node()),
    }
}

/// Listens for distribution connections and registers `node` in EPMD (hidden).
async fn listen(epmd: &Epmd, node: &str) -> (TcpListener, Registration) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local addr").port();
    let reg = EpmdClient::new("127.0.0.1", epmd.port)
        .register(&NodeEntry::new(short(node), port))
        .await
        .expect("register in EPMD");
    (listener, reg)
}

/// Accepts one connection in a task and runs the handshake with `arbiter`.
fn accept_one(
    listener: TcpListener,
    hs: HandshakeConfig,
    arbiter: Arc<dyn Arbiter>,
) -> tokio::task::JoinHandle<Result<Established, HandshakeError>> {
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        Connection::accept(stream, &hs, &ConnectionConfig::default(), arbiter.as_ref()).await
    })
}

/// Makes the BEAM forward every log event to the evaluating process, so that a test can
/// wait for one ([`logged`]) instead of scraping standard output.
fn capture_logs(beam: &mut Beam) {
    let add = "Self = self(), logger:add_primary_filter(beamlink_capture, \
               {fun(E, P) -> P ! {captured_log, E}, E end, Self}).";
    assert_eq!(eval(beam, add), "ok");
}

/// The text of the next captured log event containing `needle`, within 5 seconds.
fn logged(beam: &mut Beam, needle: &str) -> Option<String> {
    let expr = format!(
        "Find = fun F() -> receive {{captured_log, #{{msg := M}}}} -> \
         T = lists:flatten(case M of {{string, S}} -> S; {{report, R}} -> io_lib:format(\"~p\", [R]); \
         {{Fmt, A}} -> io_lib:format(Fmt, A) end), \
         case string:find(T, \"{needle}\") of nomatch -> F(); _ -> T end \
         after 5000 -> none end end, Find()."
    );
    let text = eval(beam, &expr);
    (text != "none").then_some(text)
}

fn list_has(list: &str, node: &str) -> bool {
    list.contains(&format!("'{node}'"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamlink_connects_to_erlang_as_hidden_node() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("hidden");
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect("handshake with erl");

    assert_eq!(conn.peer.node, beam.node());
    assert_eq!(conn.local_node, me);
    assert!(conn.peer.hidden);
    assert_eq!(conn.peer.peer_flags.missing_required(), DistFlags::EMPTY);
    assert!(conn.peer.peer_flags.is_published(), "erl is a visible node");
    assert!(!conn.peer.flags.is_published(), "the connection is hidden");
    assert!(conn
        .peer
        .flags
        .contains(DistFlags::FRAGMENTS | DistFlags::DIST_HDR_ATOM_CACHE));
    let creation = eval(&mut beam, "erlang:system_info(creation).");
    assert_eq!(conn.peer.creation.to_string(), creation);

    assert!(list_has(&eval(&mut beam, "nodes(hidden)."), &me));
    assert!(!list_has(&eval(&mut beam, "nodes()."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamlink_connects_to_erlang_as_visible_node() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("visible");
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie())).visible(true);
    let addr = beam_addr(&epmd, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect("handshake with erl");
    assert!(!conn.peer.hidden);
    assert!(conn.peer.flags.is_published());
    assert!(list_has(&eval(&mut beam, "nodes()."), &me));
    assert!(!list_has(&eval(&mut beam, "nodes(hidden)."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erlang_connects_to_beamlink_listener() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("listener");
    let (listener, _reg) = listen(&epmd, &me).await;
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let accepted = accept_one(listener, hs, Arc::new(AcceptAll));

    assert_eq!(
        eval(&mut beam, &format!("net_kernel:connect_node('{me}').")),
        "true"
    );
    let conn = accepted.await.expect("task").expect("handshake from erl");
    assert_eq!(conn.peer.node, beam.node());
    assert!(conn.peer.hidden);
    assert!(!conn.peer.version5_name, "OTP 25 sends the N name message");
    assert!(list_has(&eval(&mut beam, "nodes(hidden)."), &me));
    assert!(!list_has(&eval(&mut beam, "nodes()."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cookie_when_beamlink_connects() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    capture_logs(&mut beam);
    let me = our_name("badcookie");
    let hs = HandshakeConfig::new(&me, Cookie::new(random_cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let err = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect_err("a wrong cookie must fail");
    assert!(err.is_cookie_mismatch(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the cookies differ") && text.contains(beam.node()),
        "{text}"
    );

    // The BEAM logs its side.
    let log = logged(&mut beam, "Invalid challenge reply").expect("erl logs the rejected connection");
    assert!(log.contains(&me), "{log}");
    assert!(!list_has(&eval(&mut beam, "nodes(hidden)."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cookie_when_erlang_connects() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    capture_logs(&mut beam);
    let me = our_name("badcookie_in");
    let (listener, _reg) = listen(&epmd, &me).await;
    let hs = HandshakeConfig::new(&me, Cookie::new(random_cookie()));
    let accepted = accept_one(listener, hs, Arc::new(AcceptAll));

    assert_eq!(
        eval(&mut beam, &format!("net_kernel:connect_node('{me}').")),
        "false"
    );
    let err = accepted
        .await
        .expect("task")
        .expect_err("a wrong cookie must fail");
    assert!(err.is_cookie_mismatch(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the cookies differ") && text.contains(beam.node()),
        "{text}"
    );

    // The BEAM logs its side too (thanks to the decoy ack: OTP itself would close silently).
    let log = logged(&mut beam, "Invalid challenge ack").expect("erl logs the cancelled connection");
    assert!(log.contains(&me), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_peer_cookie_overrides_the_default() {
    let epmd = Epmd::start();
    let beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("perpeer");
    let hs = HandshakeConfig::new(&me, Cookie::new(random_cookie()))
        .peer_cookie(beam.node(), Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll).await;
    assert!(conn.is_ok(), "{:?}", conn.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_allowed_when_erlang_disallows_us() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    assert_eq!(
        eval(&mut beam, "net_kernel:allow(['someone_else@127.0.0.1'])."),
        "ok"
    );
    let hs = HandshakeConfig::new(our_name("disallowed"), Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let err = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect_err("not allowed");
    assert!(matches!(err, HandshakeError::NotAllowed { .. }), "{err:?}");
    assert!(err.to_string().contains("not_allowed"));
}

/// An arbiter with fixed answers, counting the questions.
struct Scripted {
    is_pending: bool,
    asked: AtomicUsize,
}

impl Arbiter for Scripted {
    fn accept_pending(&self, _request: &AcceptRequest) -> AcceptDecision {
        AcceptDecision::Ok
    }
    fn is_pending(&self, _peer: &str) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.is_pending
    }
    fn wait_pending<'a>(&'a self, _peer: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alive_answered_false_keeps_the_old_connection() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("alive_false");
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let cc = ConnectionConfig::default();
    let first = Connection::connect(addr, beam.node(), &hs, &cc, &AcceptAll)
        .await
        .expect("first");

    let arbiter = Scripted {
        is_pending: false,
        asked: AtomicUsize::new(0),
    };
    let err = Connection::connect(addr, beam.node(), &hs, &cc, &arbiter)
        .await
        .expect_err("alive, false");
    assert!(matches!(err, HandshakeError::AlreadyConnected { .. }), "{err:?}");
    assert_eq!(arbiter.asked.load(Ordering::SeqCst), 1, "erl answered alive");
    assert!(!first.handle.is_down());
    assert!(list_has(&eval(&mut beam, "nodes(hidden)."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alive_answered_true_replaces_the_old_connection() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("alive_true");
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let cc = ConnectionConfig::default();
    let mut first = Connection::connect(addr, beam.node(), &hs, &cc, &AcceptAll)
        .await
        .expect("first");

    let arbiter = Scripted {
        is_pending: true,
        asked: AtomicUsize::new(0),
    };
    let second = Connection::connect(addr, beam.node(), &hs, &cc, &arbiter)
        .await
        .expect("alive, true");
    assert_eq!(arbiter.asked.load(Ordering::SeqCst), 1, "erl answered alive");
    // erl drops the old connection before completing the new one.
    match tokio::time::timeout(Duration::from_secs(10), first.events.recv()).await {
        Ok(Some(ConnectionEvent::Down(DownReason::PeerClosed { .. }))) => {}
        other => panic!("the old connection should be closed by erl, got {other:?}"),
    }
    assert!(!second.handle.is_down());
    let n = eval(
        &mut beam,
        &format!("length([N || N <- nodes(hidden), N =:= '{me}'])."),
    );
    assert_eq!(n, "1");
}

/// Acceptor side of `alive`: the first connection from erl is accepted, erl drops it and
/// reconnects before we noticed; we answer `alive`, erl says `true`, and we complete only
/// once the old connection is gone.
struct ReconnectArbiter {
    calls: AtomicUsize,
    old: tokio::sync::Mutex<Option<beamlink_dist::ConnectionHandle>>,
    waited: AtomicUsize,
}

impl Arbiter for ReconnectArbiter {
    fn accept_pending(&self, _request: &AcceptRequest) -> AcceptDecision {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            AcceptDecision::Ok
        } else {
            AcceptDecision::Alive
        }
    }
    fn is_pending(&self, _peer: &str) -> bool {
        true
    }
    fn wait_pending<'a>(&'a self, _peer: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.waited.fetch_add(1, Ordering::SeqCst);
            let old = self.old.lock().await.clone();
            if let Some(h) = old {
                let _ = h.closed().await;
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erlang_reconnecting_gets_alive_and_waits_for_the_old_connection() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name("alive_acc");
    let (listener, _reg) = listen(&epmd, &me).await;
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let arbiter = Arc::new(ReconnectArbiter {
        calls: AtomicUsize::new(0),
        old: tokio::sync::Mutex::new(None),
        waited: AtomicUsize::new(0),
    });
    let listener = Arc::new(listener);
    let accept = |arbiter: Arc<ReconnectArbiter>| {
        let (l, hs) = (listener.clone(), hs.clone());
        tokio::spawn(async move {
            let (stream, _) = l.accept().await.expect("accept");
            Connection::accept(stream, &hs, &ConnectionConfig::default(), arbiter.as_ref()).await
        })
    };

    let first = accept(arbiter.clone());
    assert_eq!(
        eval(&mut beam, &format!("net_kernel:connect_node('{me}').")),
        "true"
    );
    let first = first.await.expect("task").expect("first handshake");
    *arbiter.old.lock().await = Some(first.handle.clone());

    let second = accept(arbiter.clone());
    let reconnect = format!("erlang:disconnect_node('{me}'), net_kernel:connect_node('{me}').");
    assert_eq!(eval(&mut beam, &reconnect), "true");
    let second = second.await.expect("task").expect("second handshake");
    assert_eq!(arbiter.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        arbiter.waited.load(Ordering::SeqCst),
        1,
        "alive was answered true and we waited"
    );
    assert!(first.handle.is_down());
    assert!(!second.handle.is_down());
    assert!(list_has(&eval(&mut beam, "nodes(hidden)."), &me));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_name_is_assigned_by_erlang() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let hs = HandshakeConfig::dynamic("127.0.0.1", Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect("handshake with NAME_ME");
    assert!(conn.local_node.ends_with("@127.0.0.1"), "{}", conn.local_node);
    assert!(conn.local_node.len() > "@127.0.0.1".len());
    assert_ne!(conn.local_creation, 0);
    assert!(list_has(&eval(&mut beam, "nodes(hidden)."), &conn.local_node));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erl_call_asks_beamlink_for_a_dynamic_name() {
    let epmd = Epmd::start();
    let me = our_name("namer");
    let (listener, _reg) = listen(&epmd, &me).await;
    let cookie = random_cookie();
    let hs = HandshakeConfig::new(&me, Cookie::new(&cookie));
    let accepted = accept_one(listener, hs, Arc::new(AcceptAll));

    // erl_call -R connects with NAME_ME; the cookie is in its private HOME, not in argv.
    let home = tempfile::tempdir().expect("home");
    std::fs::write(home.path().join(".erlang.cookie"), &cookie).expect("cookie file");
    let mut child = std::process::Command::new("/usr/lib/erlang/bin/erl_call")
        .args(["-R", "-name", &me, "-a", "erlang node []", "-timeout", "5"])
        .env("HOME", home.path())
        .env("ERL_EPMD_PORT", epmd.port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start erl_call");
    let conn = tokio::time::timeout(Duration::from_secs(10), accepted).await;
    let _ = child.kill();
    let _ = child.wait();
    let conn = conn
        .expect("erl_call connected in time")
        .expect("task")
        .expect("handshake with erl_call");
    // erl_call sends its host name; we named it NAME@host with a base-36 NAME.
    let (name, host) = conn.peer.node.split_once('@').expect("a node name");
    assert!(!host.is_empty() && !host.contains('@'), "{}", conn.peer.node);
    assert!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{name}"
    );
    assert!(conn.peer.peer_flags.contains(DistFlags::NAME_ME));
    assert!(conn.peer.hidden);
}

/// The node layer's view for a simultaneous connect: our own attempt is pending.
struct Simultaneous {
    ours: String,
}

impl Arbiter for Simultaneous {
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision {
        AcceptDecision::simultaneous(&self.ours, &request.name)
    }
    fn is_pending(&self, _peer: &str) -> bool {
        true
    }
    fn wait_pending<'a>(&'a self, _peer: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Both nodes connect to each other at once: erl's attempt reaches our listener first
/// and is held there (pending on both sides) while ours reaches erl.
async fn simultaneous_connect(
    prefix: &str,
) -> (
    String,
    Result<Established, HandshakeError>,
    Result<Established, HandshakeError>,
    Beam,
) {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let me = our_name(prefix);
    let (listener, _reg) = listen(&epmd, &me).await;
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let arbiter = Simultaneous { ours: me.clone() };

    eval(
        &mut beam,
        &format!("Self = self(), spawn(fun() -> Self ! {{sim, net_kernel:connect_node('{me}')}} end)."),
    );
    let (held, _) = listener.accept().await.expect("erl's attempt");
    let addr = beam_addr(&epmd, &beam).await;
    let outgoing = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &arbiter).await;
    let incoming = Connection::accept(held, &hs, &ConnectionConfig::default(), &arbiter).await;
    assert_eq!(
        eval(&mut beam, "receive {sim, R} -> R after 10000 -> timeout end."),
        "true"
    );
    // Keep EPMD alive until the checks are done: return the node, drop EPMD after.
    let n = eval(
        &mut beam,
        &format!("length([N || N <- nodes(hidden), N =:= '{me}'])."),
    );
    assert_eq!(n, "1", "erl has exactly one connection to us");
    drop(epmd);
    (me, outgoing, incoming, beam)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connect_smaller_name_gives_way() {
    // "aaa..." < "erl_...": erl answers our attempt with nok; we let erl's attempt through.
    let (_me, outgoing, incoming, _beam) = simultaneous_connect("aaa").await;
    assert!(
        matches!(outgoing, Err(HandshakeError::SimultaneousLost { .. })),
        "{:?}",
        outgoing.err()
    );
    let incoming = incoming.expect("erl's attempt survives");
    assert!(!incoming.handle.is_down());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_connect_greater_name_wins() {
    // "zzz..." > "erl_...": erl answers ok_simultaneous and drops its own attempt.
    let (_me, outgoing, incoming, _beam) = simultaneous_connect("zzz").await;
    let outgoing = outgoing.expect("our attempt survives");
    assert!(incoming.is_err(), "erl's attempt is refused or abandoned");
    assert!(!outgoing.handle.is_down());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_times_out_on_a_silent_peer() {
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let keep = tokio::spawn(async move {
        let (s, _) = silent.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    });
    let hs =
        HandshakeConfig::new(our_name("timeout"), Cookie::new("c")).setup_time(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = Connection::connect(
        addr,
        "silent@127.0.0.1",
        &hs,
        &ConnectionConfig::default(),
        &AcceptAll,
    )
    .await
    .expect_err("times out");
    assert!(matches!(err, HandshakeError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("waiting for the status"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    keep.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beamlink_connects_to_elixir_node() {
    let epmd = Epmd::start();
    let mut beam = Beam::elixir().epmd(epmd.port).start();
    let me = our_name("to_elixir");
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie()));
    let addr = beam_addr(&epmd, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &ConnectionConfig::default(), &AcceptAll)
        .await
        .expect("handshake with elixir");
    assert_eq!(conn.peer.node, beam.node());
    let hidden = tokio::task::block_in_place(|| beam.eval("Node.list(:hidden)"));
    assert!(hidden.contains(&me), "{hidden}");
    assert_eq!(tokio::task::block_in_place(|| beam.eval("Node.list()")), "[]");
}
