//! An established connection against real OTP nodes: ticks with a short net_ticktime
//! (idle survival, a frozen BEAM declared down, a frozen beamlink seen down by the BEAM),
//! close and disconnect, messages both ways (10 MB, with and without fragments,
//! interleaved), the frame size limit, back-pressure and write batching.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beamlink_dist::{
    AcceptAll, Connection, ConnectionConfig, ConnectionEvent, ControlMessage, Cookie, DistFlags, DownReason,
    Established, HandshakeConfig, Message, TrySendError,
};
use beamlink_e2e::{unique_name, Beam, Epmd};
use beamlink_epmd::{EpmdClient, Lookup};
use beamlink_term::{Atom, Pid, Term};

const TICKTIME: Duration = Duration::from_secs(4);

fn eval(beam: &mut Beam, expr: &str) -> String {
    tokio::task::block_in_place(|| beam.eval(expr))
}

fn eval_timeout(beam: &mut Beam, expr: &str, t: Duration) -> String {
    tokio::task::block_in_place(|| beam.eval_timeout(expr, t))
}

async fn beam_addr(epmd_port: u16, beam: &Beam) -> std::net::SocketAddr {
    let short = beam.node().split('@').next().unwrap_or_default();
    match EpmdClient::new("127.0.0.1", epmd_port).port_please(short).await {
        Ok(Lookup::Registered(entry)) => ([127, 0, 0, 1], entry.port).into(),
        other => panic!("{} is not in EPMD: {other:?}", beam.node()),
    }
}

/// A BEAM with `-kernel net_ticktime 4`, and beamlink connected to it with the same
/// ticktime and the given optional flags.
async fn connected(flags: DistFlags, config: ConnectionConfig) -> (Epmd, Beam, String, Established) {
    let epmd = Epmd::start();
    let beam = Beam::erlang()
        .epmd(epmd.port)
        .arg("-kernel")
        .arg("net_ticktime")
        .arg("4")
        .start();
    let me = format!("{}@127.0.0.1", unique_name("conn"));
    let hs = HandshakeConfig::new(&me, Cookie::new(beam.cookie())).flags(flags);
    let addr = beam_addr(epmd.port, &beam).await;
    let conn = Connection::connect(addr, beam.node(), &hs, &config, &AcceptAll)
        .await
        .expect("connect to erl");
    (epmd, beam, me, conn)
}

fn ticking() -> ConnectionConfig {
    ConnectionConfig::default().net_ticktime(TICKTIME)
}

/// A pid on our node, as a sender.
fn our_pid(conn: &Established, id: u32) -> Pid {
    Pid {
        node: Atom::new(&conn.local_node),
        id,
        serial: 0,
        creation: conn.local_creation,
    }
}

fn reg_send(conn: &Established, from: u32, to: &str, msg: Term) -> Message {
    Message::reg_send(our_pid(conn, from), Atom::new(to), msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_survives_three_ticktimes() {
    let (_epmd, mut beam, me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(eval(&mut beam, "net_kernel:get_net_ticktime()."), "4");
    // Nothing but ticks flows for 3 x net_ticktime: no event may arrive.
    let quiet = tokio::time::timeout(3 * TICKTIME + Duration::from_secs(1), conn.events.recv()).await;
    assert!(quiet.is_err(), "the idle connection produced {quiet:?}");
    assert!(eval(&mut beam, "nodes(hidden).").contains(&me));
    let stats = conn.handle.stats();
    // We tick every second (ticktime / 4); so does the BEAM toward a hidden node.
    assert!(stats.ticks_out >= 10, "{stats:?}");
    assert!(stats.ticks_in >= 10, "{stats:?}");
    assert_eq!(stats.messages_in, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_beam_is_declared_down_within_net_ticktime() {
    let (_epmd, beam, _me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    beam.freeze();
    let frozen = Instant::now();
    let event = tokio::time::timeout(2 * TICKTIME, conn.events.recv()).await;
    let took = frozen.elapsed();
    eprintln!("beamlink declared the frozen BEAM down {took:?} after SIGSTOP (net_ticktime {TICKTIME:?})");
    beam.thaw();
    match event {
        Ok(Some(ConnectionEvent::Down(DownReason::TickTimeout { peer, ticktime }))) => {
            assert_eq!(peer, beam.node());
            assert_eq!(ticktime, TICKTIME);
        }
        other => panic!("expected a tick timeout, got {other:?}"),
    }
    // Silence is measured from the last byte received, which came at most a tick
    // interval (1 s) before the freeze.
    assert!(
        took <= TICKTIME + Duration::from_millis(300),
        "declared down after {took:?}"
    );
    assert!(
        took >= TICKTIME - Duration::from_millis(1300),
        "declared down too early, after {took:?}"
    );
    assert!(conn.handle.is_down());
    assert!(conn.events.recv().await.is_none(), "Down is the last event");
}

/// Set by `beam_sees_frozen_beamlink_go_down` for the child process it starts.
const CHILD_SPEC: &str = "BEAMLINK_DIST_CONNECTION_CHILD";

/// Not a test by itself: the child process of `beam_sees_frozen_beamlink_go_down`,
/// which connects to the BEAM and holds the connection until killed. Its cookie comes on
/// stdin, never in arguments.
#[test]
#[ignore = "run by beam_sees_frozen_beamlink_go_down as a separate process"]
fn child_holding_a_connection() {
    let spec = std::env::var(CHILD_SPEC).expect("started by beam_sees_frozen_beamlink_go_down");
    let mut parts = spec.split('|');
    let (addr, peer, me) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let mut cookie = String::new();
    std::io::stdin().read_line(&mut cookie).expect("cookie on stdin");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let hs = HandshakeConfig::new(me, Cookie::new(cookie.trim()));
        let mut conn = Connection::connect(addr.parse().expect("address"), peer, &hs, &ticking(), &AcceptAll)
            .await
            .expect("child connects");
        println!("CONNECTED");
        while conn.events.recv().await.is_some() {}
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_sees_frozen_beamlink_go_down() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang()
        .epmd(epmd.port)
        .arg("-kernel")
        .arg("net_ticktime")
        .arg("4")
        .start();
    let me = format!("{}@127.0.0.1", unique_name("frozen"));
    let addr = beam_addr(epmd.port, &beam).await;
    assert_eq!(
        eval(&mut beam, "net_kernel:monitor_nodes(true, [{node_type, all}])."),
        "ok"
    );

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_holding_a_connection",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_SPEC, format!("{addr}|{}|{me}", beam.node()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the child");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", beam.cookie()).expect("send the cookie");
    drop(stdin);
    let stdout = child.stdout.take().expect("stdout");
    let connected = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.contains("CONNECTED"));
    assert!(connected, "the child did not connect");
    let up = eval(
        &mut beam,
        &format!("receive {{nodeup, '{me}', _}} -> up after 5000 -> none end."),
    );
    assert_eq!(up, "up");

    unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
    let seen = eval_timeout(
        &mut beam,
        &format!(
            "T0 = erlang:monotonic_time(millisecond), receive {{nodedown, '{me}', _}} -> \
             {{down, erlang:monotonic_time(millisecond) - T0}} after 12000 -> still_up end."
        ),
        Duration::from_secs(20),
    );
    let _ = child.kill();
    let _ = child.wait();
    let ms: u64 = seen
        .strip_prefix("{down,")
        .and_then(|s| s.strip_suffix('}'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the BEAM did not see beamlink go down: {seen}"));
    eprintln!("the BEAM saw the frozen beamlink go down {ms} ms after SIGSTOP (net_ticktime 4 s)");
    // The BEAM's own rule: down after net_ticktime (4 s, measured in 1 s ticks) of silence.
    assert!(
        (2500..=6500).contains(&ms),
        "the BEAM saw the frozen node go down after {ms} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_seen_by_the_beam() {
    let (_epmd, mut beam, me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(
        eval(&mut beam, "net_kernel:monitor_nodes(true, [{node_type, all}])."),
        "ok"
    );
    conn.handle.close().await;
    match conn.events.recv().await {
        Some(ConnectionEvent::Down(DownReason::LocalClose { .. })) => {}
        other => panic!("expected a local close, got {other:?}"),
    }
    let down = eval(
        &mut beam,
        &format!("receive {{nodedown, '{me}', _}} -> down after 5000 -> up end."),
    );
    assert_eq!(down, "down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beam_disconnect_is_peer_closed() {
    let (_epmd, mut beam, me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(
        eval(&mut beam, &format!("erlang:disconnect_node('{me}').")),
        "true"
    );
    match tokio::time::timeout(Duration::from_secs(5), conn.events.recv()).await {
        Ok(Some(ConnectionEvent::Down(DownReason::PeerClosed { peer }))) => assert_eq!(peer, beam.node()),
        other => panic!("expected the peer to close, got {other:?}"),
    }
    assert!(conn
        .handle
        .send(reg_send(&conn, 1, "x", Term::from("late")))
        .await
        .is_err());
}

/// Receives the next message event, failing on anything else.
async fn next_message(conn: &mut Established) -> Message {
    match tokio::time::timeout(Duration::from_secs(30), conn.events.recv()).await {
        Ok(Some(ConnectionEvent::Message(m))) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_both_ways_with_atom_cache_headers() {
    let (_epmd, mut beam, me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    // erl -> beamlink: erl uses distribution headers with its atom cache (we announced it).
    eval(
        &mut beam,
        &format!("{{inbox, '{me}'}} ! {{hello, [atom_a, atom_b, atom_a], self()}}, ok."),
    );
    let m = next_message(&mut conn).await;
    match &m.control {
        ControlMessage::RegSend { to_name, from } => {
            assert_eq!(to_name.as_str(), "inbox");
            assert_eq!(from.node.as_str(), beam.node());
        }
        other => panic!("expected a REG_SEND, got {other:?}"),
    }
    match m.payload {
        Some(Term::Tuple(t)) => {
            let [Term::Atom(hello), Term::List(atoms), Term::Pid(pid)] = &t[..] else {
                panic!("{t:?}")
            };
            assert_eq!(hello.as_str(), "hello");
            let names: Vec<&str> = atoms
                .iter()
                .filter_map(|a| {
                    if let Term::Atom(a) = a {
                        Some(a.as_str())
                    } else {
                        None
                    }
                })
                .collect();
            assert_eq!(names, ["atom_a", "atom_b", "atom_a"]);
            assert_eq!(pid.node.as_str(), beam.node());
        }
        other => panic!("unexpected payload {other:?}"),
    }

    // beamlink -> erl.
    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    conn.handle
        .send(reg_send(&conn, 7, "sink", Term::from((Atom::new("hi"), 42))))
        .await
        .expect("send");
    assert_eq!(
        eval(&mut beam, "receive M -> M after 5000 -> timeout end."),
        "{hi,42}"
    );
    let stats = conn.handle.stats();
    assert_eq!((stats.messages_in, stats.messages_out), (1, 1));
}

/// 10 MB each way; `flags` decides whether the messages are fragmented.
async fn ten_megabytes_both_ways(flags: DistFlags, fragmented: bool) {
    let (_epmd, mut beam, me, mut conn) = connected(flags, ticking()).await;
    assert_eq!(conn.peer.flags.contains(DistFlags::FRAGMENTS), fragmented);
    const SIZE: usize = 10_000_000;

    eval(
        &mut beam,
        &format!("{{inbox, '{me}'}} ! binary:copy(<<7>>, {SIZE}), ok."),
    );
    let m = next_message(&mut conn).await;
    match m.payload {
        Some(Term::Binary(b)) => assert!(b.len() == SIZE && b.iter().all(|&x| x == 7)),
        other => panic!(
            "expected a 10 MB binary, got {:?}",
            other.map(|t| t.to_string().len())
        ),
    }

    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    let big = bytes::Bytes::from(vec![9u8; SIZE]);
    conn.handle
        .send(reg_send(&conn, 1, "sink", Term::Binary(big)))
        .await
        .expect("send");
    let got = eval(
        &mut beam,
        "receive B -> {byte_size(B), binary:copy(<<9>>, 10000000) =:= B} after 20000 -> timeout end.",
    );
    assert_eq!(got, "{10000000,true}");
    let stats = conn.handle.stats();
    if fragmented {
        // Both sides split 10 MB into fragments (the BEAM's and our 64 KiB ones).
        assert!(stats.frames_in > 100, "{stats:?}");
        assert!(stats.frames_out > 100, "{stats:?}");
    } else {
        assert_eq!((stats.frames_in, stats.frames_out), (1, 1), "{stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_both_ways_fragmented() {
    ten_megabytes_both_ways(DistFlags::CONNECTION_DEFAULT, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_both_ways_unfragmented() {
    ten_megabytes_both_ways(DistFlags::DIST_HDR_ATOM_CACHE, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_message_from_another_sender_overtakes_a_large_one() {
    let (_epmd, mut beam, _me, conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    let big = Term::Binary(bytes::Bytes::from(vec![1u8; 32 << 20]));
    // Sender 1: a 32 MB message, then a small one (same lane: order kept).
    conn.handle
        .send(reg_send(&conn, 1, "sink", Term::from((Atom::new("a"), big))))
        .await
        .expect("send");
    conn.handle
        .send(reg_send(&conn, 1, "sink", Term::from((Atom::new("a"), 2))))
        .await
        .expect("send");
    // Sender 2: a small message, queued after both.
    conn.handle
        .send(reg_send(&conn, 2, "sink", Term::from((Atom::new("b"), 1))))
        .await
        .expect("send");
    let order = eval(
        &mut beam,
        "[receive {T, X} when is_binary(X) -> {T, big}; {T, X} -> {T, X} after 20000 -> timeout end \
         || _ <- [1, 2, 3]].",
    );
    // b's small message interleaves with a's fragments and arrives first; a's two
    // messages keep their order.
    assert_eq!(order, "[{b,1},{a,big},{a,2}]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_interleaved_fragmented_messages_keep_per_sender_order() {
    let (_epmd, mut beam, _me, conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    const SENDERS: u32 = 8;
    const EACH: u32 = 20;
    let mut tasks = Vec::new();
    for s in 1..=SENDERS {
        let handle = conn.handle.clone();
        let from = our_pid(&conn, s);
        tasks.push(tokio::spawn(async move {
            for i in 0..EACH {
                // Every third message is large enough to be fragmented.
                let size = if i % 3 == 0 { 300_000 } else { 10 };
                let msg = Term::from((
                    s as i64,
                    i as i64,
                    Term::Binary(bytes::Bytes::from(vec![s as u8; size])),
                ));
                handle
                    .send(Message::reg_send(from.clone(), Atom::new("sink"), msg))
                    .await
                    .expect("send");
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    let check = eval(
        &mut beam,
        &format!(
            "Ms = [receive {{S, I, B}} -> {{S, I, byte_size(B)}} after 20000 -> timeout end || _ <- lists:seq(1, {})], \
             Ok = lists:all(fun(S) -> Is = [I || {{S2, I, _}} <- Ms, S2 =:= S], Is =:= lists:seq(0, {}) end, \
             lists:seq(1, {SENDERS})), {{Ok, length(Ms)}}.",
            SENDERS * EACH,
            EACH - 1
        ),
    );
    assert_eq!(check, format!("{{true,{}}}", SENDERS * EACH));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_over_the_limit_disconnects_the_peer() {
    let config = ConnectionConfig {
        max_frame: 1024,
        ..ticking()
    };
    let (_epmd, mut beam, me, mut conn) = connected(DistFlags::DIST_HDR_ATOM_CACHE, config).await;
    eval(
        &mut beam,
        &format!("{{inbox, '{me}'}} ! binary:copy(<<0>>, 4096), ok."),
    );
    match tokio::time::timeout(Duration::from_secs(5), conn.events.recv()).await {
        Ok(Some(ConnectionEvent::Down(DownReason::Protocol { peer, reason }))) => {
            assert_eq!(peer, beam.node());
            assert!(reason.contains("max_frame"), "{reason}");
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_send_queue_pushes_back_until_the_peer_reads() {
    let config = ConnectionConfig {
        send_queue: 4,
        ..ConnectionConfig::default()
    };
    let (_epmd, mut beam, _me, conn) = connected(DistFlags::CONNECTION_DEFAULT, config).await;
    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    beam.freeze();
    let chunk = bytes::Bytes::from(vec![5u8; 1 << 20]);
    // Send 1 MB messages until a send waits: the socket is full, the writer's backlog
    // too, then the queue of 4.
    let mut queued = 0;
    loop {
        let msg = reg_send(&conn, 1, "sink", Term::Binary(chunk.clone()));
        match tokio::time::timeout(Duration::from_secs(1), conn.handle.send(msg)).await {
            Ok(Ok(())) => queued += 1,
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => break,
        }
        assert!(queued <= 200, "{queued} MB accepted without pushing back");
    }
    // The writer holds at most 64 MiB, the kernel a few MiB more, the queue 4 messages.
    assert!(queued >= 4, "pushed back after {queued} messages");
    eprintln!("pushed back after {queued} messages of 1 MB");
    let try_again = conn.handle.try_send(reg_send(&conn, 1, "sink", Term::from(0)));
    assert!(matches!(try_again, Err(TrySendError::Full(_))), "{try_again:?}");
    beam.thaw();
    conn.handle
        .send(reg_send(&conn, 1, "sink", Term::from(Atom::new("last"))))
        .await
        .expect("send after thaw");
    let got = eval_timeout(
        &mut beam,
        &format!(
            "Count = fun C(N) -> receive last -> N; B when is_binary(B) -> C(N + 1) after 30000 -> {{timeout, N}} end end, \
             Count(0) =:= {queued}."
        ),
        Duration::from_secs(60),
    );
    assert_eq!(got, "true", "every queued message arrived, then `last`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_batches_small_messages_into_few_writes() {
    let (_epmd, mut beam, _me, conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    assert_eq!(eval(&mut beam, "register(sink, self())."), "true");
    const N: usize = 50_000;
    let started = Instant::now();
    for i in 0..N {
        let msg = reg_send(
            &conn,
            1,
            "sink",
            Term::from((
                i as i64,
                Term::Binary(bytes::Bytes::from_static(b"0123456789abcdef")),
            )),
        );
        conn.handle.send(msg).await.expect("send");
    }
    eprintln!(
        "queued in {:?}; stats then {:?}",
        started.elapsed(),
        conn.handle.stats()
    );
    let got = eval_timeout(
        &mut beam,
        &format!(
            "Count = fun C(N) when N =:= {N} -> N; C(N) -> receive {{_, _}} -> C(N + 1) after 10000 -> N end end, Count(0)."
        ),
        Duration::from_secs(60),
    );
    let took = started.elapsed();
    assert_eq!(got, N.to_string());
    let stats = conn.handle.stats();
    eprintln!(
        "{N} messages of 16 bytes in {took:?} ({:.0} msg/s), {} writes ({:.1} messages per write)",
        N as f64 / took.as_secs_f64(),
        stats.writes,
        N as f64 / stats.writes as f64
    );
    assert_eq!(stats.messages_out, N as u64);
    assert!(
        stats.writes * 4 < N as u64,
        "{} writes for {N} messages: no batching",
        stats.writes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_closes_at_once_even_with_a_frozen_peer() {
    let (_epmd, beam, _me, mut conn) = connected(DistFlags::CONNECTION_DEFAULT, ticking()).await;
    beam.freeze();
    // Fill the socket and the queue so that a graceful close would have to wait.
    let chunk = bytes::Bytes::from(vec![1u8; 1 << 20]);
    while tokio::time::timeout(
        Duration::from_millis(500),
        conn.handle
            .send(reg_send(&conn, 1, "sink", Term::Binary(chunk.clone()))),
    )
    .await
    .is_ok()
    {}
    let started = Instant::now();
    conn.handle.abort();
    loop {
        match tokio::time::timeout(Duration::from_secs(2), conn.events.recv()).await {
            Ok(Some(ConnectionEvent::Down(DownReason::LocalClose { .. }))) => break,
            Ok(Some(ConnectionEvent::Message(_))) => continue,
            other => panic!("expected a local close, got {other:?}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    beam.thaw();
}
