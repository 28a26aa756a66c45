//! Distribution messages between beamlink's frame codec and a real `erl`: atom-cache
//! headers sent by the BEAM, 10 MB messages both ways with and without fragments, many
//! fragmented messages at once, and SEND / REG_SEND reaching Erlang processes.
//!
//! Most tests use a minimal blocking peer (`peer` below: EPMD lookup, the version
//! 6 handshake as initiator, 4-byte packets, ticks answered) so that these tests exercise
//! exactly the frame codec against the BEAM and can count the frames it sees; the last test
//! runs the same 10 MB exchange through beamlink's own `Connection`.

use beamlink_dist::{ControlMessage, FrameDecoder, FrameEncoder, FrameLimits, Message};
use beamlink_e2e::{Beam, Epmd};
use beamlink_term::{Atom, Pid, Term};
use std::time::Duration;

mod peer {
    use super::*;
    use bytes::Bytes;
    use md5::{Digest, Md5};
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{channel, Receiver};
    use std::sync::{Arc, Mutex};

    pub const DIST_HDR_ATOM_CACHE: u64 = 0x2000;
    pub const FRAGMENTS: u64 = 0x80_0000;
    /// The flags OTP 26 made mandatory, plus monitors, exit payloads and send-sender.
    const BASE_FLAGS: u64 = 0x4 // EXTENDED_REFERENCES
        | 0x8 // DIST_MONITOR
        | 0x10 // FUN_TAGS
        | 0x20 // DIST_MONITOR_NAME
        | 0x80 // NEW_FUN_TAGS
        | 0x100 // EXTENDED_PIDS_PORTS
        | 0x200 // EXPORT_PTR_TAG
        | 0x400 // BIT_BINARIES
        | 0x800 // NEW_FLOATS
        | 0x10000 // UTF8_ATOMS
        | 0x20000 // MAP_TAG
        | 0x40000 // BIG_CREATION
        | 0x80000 // SEND_SENDER
        | 0x400000 // EXIT_PAYLOAD
        | 0x1000000 // HANDSHAKE_23
        | 0x2000000 // UNLINK_ID
        | (1 << 34) // V4_NC
        | (1 << 32) // SPAWN
        | (1 << 35) // ALIAS
        | (1 << 36); // MANDATORY_25_DIGEST

    /// What the reader saw, by frame kind.
    #[derive(Default)]
    pub struct Stats {
        pub pass_through: AtomicUsize,
        pub headers: AtomicUsize,
        /// Headers with at least one atom-cache reference.
        pub headers_with_refs: AtomicUsize,
        /// Atom-cache references that brought a new atom / referred to a cached one.
        pub new_entries: AtomicUsize,
        pub cached_refs: AtomicUsize,
        /// Headers with the LongAtoms flag (two-byte atom lengths).
        pub long_atoms: AtomicUsize,
        pub first_fragments: AtomicUsize,
        pub next_fragments: AtomicUsize,
        /// The most fragmented messages incomplete at once.
        pub max_in_flight: AtomicUsize,
    }

    pub struct Peer {
        pub node: Atom,
        pub creation: u32,
        pub peer_flags: u64,
        out: Arc<Mutex<TcpStream>>,
        encoder: FrameEncoder,
        pub messages: Receiver<Result<Message, String>>,
        pub stats: Arc<Stats>,
    }

    fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        s.read_exact(&mut b).expect("read from erl");
        b
    }

    fn read_packet2(s: &mut TcpStream) -> Vec<u8> {
        let l = read_exact(s, 2);
        read_exact(s, u16::from_be_bytes([l[0], l[1]]) as usize)
    }

    fn write_packet2(s: &mut TcpStream, body: &[u8]) {
        let mut b = (body.len() as u16).to_be_bytes().to_vec();
        b.extend_from_slice(body);
        s.write_all(&b).expect("write to erl");
    }

    fn digest(challenge: u32, cookie: &str) -> [u8; 16] {
        let mut h = Md5::new();
        h.update(cookie.as_bytes());
        h.update(challenge.to_string().as_bytes());
        h.finalize().into()
    }

    /// Connects to `beam` as hidden node `name@127.0.0.1`, announcing `extra_flags` on top
    /// of the base set, and sends with `fragment_size`.
    pub fn connect(beam: &Beam, epmd_port: u16, name: &str, extra_flags: u64, fragment_size: usize) -> Peer {
        let alive = beam.node().split('@').next().unwrap_or_default();
        let mut epmd = TcpStream::connect(("127.0.0.1", epmd_port)).expect("connect to epmd");
        let mut req = vec![122];
        req.extend_from_slice(alive.as_bytes());
        write_packet2(&mut epmd, &req);
        let resp = read_exact(&mut epmd, 4);
        assert_eq!(resp[..2], [119, 0], "epmd knows {alive}");
        let port = u16::from_be_bytes([resp[2], resp[3]]);

        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to erl");
        s.set_nodelay(true).expect("nodelay");
        let node = format!("{name}@127.0.0.1");
        let creation = 0x1234_5678u32;
        let flags = BASE_FLAGS | extra_flags;
        let mut m = vec![b'N'];
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&creation.to_be_bytes());
        m.extend_from_slice(&(node.len() as u16).to_be_bytes());
        m.extend_from_slice(node.as_bytes());
        write_packet2(&mut s, &m);
        let status = read_packet2(&mut s);
        assert_eq!(status, b"sok", "handshake status");
        let ch = read_packet2(&mut s);
        assert_eq!(ch[0], b'N', "challenge");
        let peer_flags = u64::from_be_bytes(ch[1..9].try_into().expect("8 bytes"));
        let challenge = u32::from_be_bytes(ch[9..13].try_into().expect("4 bytes"));
        let ours = 0x0bad_cafe_u32;
        let mut r = vec![b'r'];
        r.extend_from_slice(&ours.to_be_bytes());
        r.extend_from_slice(&digest(challenge, beam.cookie()));
        write_packet2(&mut s, &r);
        let ack = read_packet2(&mut s);
        assert_eq!(ack[0], b'a', "challenge ack (cookie accepted)");
        assert_eq!(ack[1..], digest(ours, beam.cookie()), "erl knows the cookie");

        let out = Arc::new(Mutex::new(s.try_clone().expect("clone socket")));
        let stats = Arc::new(Stats::default());
        let (tx, rx) = channel();
        let (reader_out, reader_stats) = (out.clone(), stats.clone());
        std::thread::spawn(move || {
            let mut dec = FrameDecoder::new(FrameLimits::default());
            loop {
                let mut len = [0u8; 4];
                if s.read_exact(&mut len).is_err() {
                    return;
                }
                let len = u32::from_be_bytes(len) as usize;
                if len == 0 {
                    if let Ok(mut o) = reader_out.lock() {
                        let _ = o.write_all(&[0, 0, 0, 0]);
                    }
                    continue;
                }
                let mut frame = vec![0; len];
                if s.read_exact(&mut frame).is_err() {
                    return;
                }
                count(&reader_stats, &frame);
                let result = dec.decode(Bytes::from(frame));
                reader_stats
                    .max_in_flight
                    .fetch_max(dec.fragmented_in_flight(), Ordering::Relaxed);
                let item = match result {
                    Ok(None) => continue,
                    Ok(Some(m)) => Ok(m),
                    Err(e) => Err(e.to_string()),
                };
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    return;
                }
            }
        });
        Peer {
            node: Atom::new(&node),
            creation,
            peer_flags,
            out,
            // Headers and fragments are used only when both sides announced them.
            encoder: FrameEncoder::new(peer_flags & flags, fragment_size),
            messages: rx,
            stats,
        }
    }

    fn count(stats: &Stats, frame: &[u8]) {
        let add = |c: &AtomicUsize, n: usize| c.fetch_add(n, Ordering::Relaxed);
        match frame {
            [112, ..] => add(&stats.pass_through, 1),
            [131, 68, n, rest @ ..] => {
                add(&stats.headers, 1);
                if *n > 0 {
                    add(&stats.headers_with_refs, 1);
                    let n = *n as usize;
                    let nibble = |i: usize| {
                        if i & 1 == 0 {
                            rest[i / 2] & 0xf
                        } else {
                            rest[i / 2] >> 4
                        }
                    };
                    if nibble(n) & 1 != 0 {
                        add(&stats.long_atoms, 1);
                    }
                    for i in 0..n {
                        let kind = if nibble(i) & 8 != 0 {
                            &stats.new_entries
                        } else {
                            &stats.cached_refs
                        };
                        add(kind, 1);
                    }
                }
                0
            }
            [131, 69, ..] => add(&stats.first_fragments, 1),
            [131, 70, ..] => add(&stats.next_fragments, 1),
            _ => 0,
        };
    }

    impl Peer {
        /// A pid of this node, as Erlang will see it.
        pub fn pid(&self, id: u32) -> Pid {
            Pid {
                node: self.node.clone(),
                id,
                serial: 0,
                creation: self.creation,
            }
        }

        pub fn send(&mut self, msg: &Message) -> usize {
            let packets = self.encoder.encode(msg).expect("encode");
            let mut out = self.out.lock().expect("socket lock");
            for p in &packets {
                out.write_all(p).expect("write to erl");
            }
            packets.len()
        }

        /// Encodes without sending, for tests that choose the order of packets.
        pub fn encode(&mut self, msg: &Message) -> Vec<Bytes> {
            self.encoder.encode(msg).expect("encode")
        }

        pub fn write(&self, packet: &[u8]) {
            self.out
                .lock()
                .expect("socket lock")
                .write_all(packet)
                .expect("write to erl");
        }

        /// The next message, failing the test on a decode error or after `timeout`.
        pub fn recv(&self, timeout: Duration) -> Message {
            match self.messages.recv_timeout(timeout) {
                Ok(Ok(m)) => m,
                Ok(Err(e)) => panic!("frame from erl did not decode: {e}"),
                Err(e) => panic!("no message from erl within {timeout:?}: {e}"),
            }
        }

        pub fn get(&self, c: &AtomicUsize) -> usize {
            c.load(Ordering::Relaxed)
        }
    }
}

use peer::{Peer, DIST_HDR_ATOM_CACHE, FRAGMENTS};

const WAIT: Duration = Duration::from_secs(60);

fn name(prefix: &str) -> String {
    beamlink_e2e::unique_name(prefix)
}

/// The pid of the process evaluating expressions on `beam`, decoded from its
/// `term_to_binary`.
fn shell_pid(beam: &mut Beam) -> Pid {
    let s = beam.eval("binary_to_list(term_to_binary(self())).");
    let bytes: Vec<u8> = s
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|n| n.parse().expect("byte"))
        .collect();
    match beamlink_term::etf::decode(&bytes) {
        Ok(Term::Pid(p)) => p,
        other => panic!("not a pid: {other:?}"),
    }
}

/// The payload of a send, whichever send operation the BEAM chose.
fn sent_to(msg: &Message, me: &Pid) -> Term {
    match &msg.control {
        ControlMessage::Send { to } | ControlMessage::SendSender { to, .. } => assert_eq!(to, me),
        other => panic!("expected a send to {me:?}, got {other:?}"),
    }
    msg.payload.clone().expect("a send has a payload")
}

fn md5_int(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(data).into()).to_string()
}

#[test]
fn send_and_reg_send_reach_erlang_processes() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let mut peer = beamlink_peer(&beam, &epmd, DIST_HDR_ATOM_CACHE | FRAGMENTS, 64 << 10);
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let me = peer.pid(1);
    let payload = Term::tuple(vec![
        Term::atom("hello"),
        Term::list(vec![Term::Int(1), Term::Int(-2), Term::Int(300)]),
        Term::binary(&b"bin"[..]),
        Term::Float(3.5),
        Term::map([(Term::atom("a"), Term::Int(1))]),
        Term::Pid(me.clone()),
    ]);
    peer.send(&Message::reg_send(me.clone(), Atom::new("sink"), payload));
    let got =
        beam.eval("receive {hello, L, B, F, M, P} -> {L, B, F, M, node(P)} after 10000 -> timeout end.");
    assert_eq!(
        got,
        format!(
            "{{[1,-2,300],<<\"bin\">>,3.5,#{{a => 1}},'{}'}}",
            peer.node.as_str()
        )
    );
    // The BEAM knows our node and the pid in the payload is ours.
    assert_eq!(beam.eval("nodes(hidden)."), format!("['{}']", peer.node.as_str()));

    let shell = shell_pid(&mut beam);
    peer.send(&Message::send(
        shell.clone(),
        Term::tuple(vec![Term::atom("direct"), Term::Int(42)]),
    ));
    assert_eq!(
        beam.eval("receive M -> M after 10000 -> timeout end."),
        "{direct,42}"
    );
    peer.send(&Message::send_sender(
        me.clone(),
        shell,
        Term::atom("with_sender"),
    ));
    assert_eq!(
        beam.eval("receive M -> M after 10000 -> timeout end."),
        "with_sender"
    );

    // Without distribution headers (pass-through frames) the same arrives.
    let mut plain = beamlink_peer(&beam, &epmd, 0, 0);
    plain.send(&Message::reg_send(
        plain.pid(2),
        Atom::new("sink"),
        Term::atom("pass_through"),
    ));
    assert_eq!(
        beam.eval("receive M -> M after 10000 -> timeout end."),
        "pass_through"
    );
}

fn beamlink_peer(beam: &Beam, epmd: &Epmd, flags: u64, fragment_size: usize) -> Peer {
    peer::connect(beam, epmd.port, &name("bl"), flags, fragment_size)
}

/// The BEAM sends with distribution headers that fill and then reuse the atom cache; the
/// messages decode to the terms it sent.
#[test]
fn atom_cache_headers_from_erl_decode() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let mut peer = beamlink_peer(&beam, &epmd, DIST_HDR_ATOM_CACHE, 0);
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let me = peer.pid(1);
    peer.send(&Message::reg_send(
        me.clone(),
        Atom::new("sink"),
        Term::tuple(vec![Term::atom("hello"), Term::Pid(me.clone())]),
    ));
    let long = "ä".repeat(200);
    let long_expr = "list_to_atom([228 || _ <- lists:seq(1, 200)])";
    let expr = format!(
        "receive {{hello, P}} -> [P ! {{msg, N, some_atom, 'another atom', {long_expr}, node(), self(), [{{x_}}]}} || N <- lists:seq(1, 20)], ok after 10000 -> timeout end."
    );
    assert_eq!(beam.eval(&expr), "ok");
    let erl_node = Atom::new(beam.node());
    let shell = shell_pid(&mut beam);
    for n in 1..=20 {
        let msg = peer.recv(WAIT);
        let payload = sent_to(&msg, &me);
        assert_eq!(
            payload,
            Term::tuple(vec![
                Term::atom("msg"),
                Term::Int(n),
                Term::atom("some_atom"),
                Term::atom("another atom"),
                Term::Atom(Atom::new(&long)),
                Term::Atom(erl_node.clone()),
                Term::Pid(shell.clone()),
                Term::list(vec![Term::tuple(vec![Term::atom("x_")])]),
            ])
        );
    }
    let s = &peer.stats;
    assert!(peer.get(&s.headers) >= 20, "the BEAM used distribution headers");
    assert!(
        peer.get(&s.new_entries) >= 5,
        "new atom-cache entries: {}",
        peer.get(&s.new_entries)
    );
    assert!(
        peer.get(&s.cached_refs) >= 19 * 5,
        "references to cached atoms: {}",
        peer.get(&s.cached_refs)
    );
    assert!(
        peer.get(&s.long_atoms) >= 1,
        "the 400-byte atom came with the LongAtoms flag"
    );
}

/// 10 MB from erl to beamlink and back, once with fragments (announced and used both
/// ways) and once without (not announced, so the BEAM sends one frame; beamlink sends one
/// frame too).
#[test]
fn ten_megabytes_both_ways_with_and_without_fragments() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    assert_eq!(beam.eval("register(sink, self())."), "true");
    for fragments in [true, false] {
        let flags = DIST_HDR_ATOM_CACHE | if fragments { FRAGMENTS } else { 0 };
        let mut peer = beamlink_peer(&beam, &epmd, flags, if fragments { 64 << 10 } else { 0 });
        assert!(peer.peer_flags & FRAGMENTS != 0, "OTP announces fragments");
        let me = peer.pid(1);

        // erl -> beamlink
        peer.send(&Message::reg_send(
            me.clone(),
            Atom::new("sink"),
            Term::tuple(vec![Term::atom("hello"), Term::Pid(me.clone())]),
        ));
        let md5 = beam.eval(
            "receive {hello, P} -> B = rand:bytes(10 bsl 20), P ! {big, B}, binary:decode_unsigned(erlang:md5(B)) after 10000 -> timeout end.",
        );
        let msg = peer.recv(WAIT);
        let payload = sent_to(&msg, &me);
        let [tag, Term::Binary(b)] = payload.as_tuple_n::<2>().expect("{big, B}") else {
            panic!("{payload:?}")
        };
        assert!(tag.is_atom("big"));
        assert_eq!(b.len(), 10 << 20);
        assert_eq!(md5_int(b), md5);
        let s = &peer.stats;
        if fragments {
            assert_eq!(peer.get(&s.first_fragments), 1, "the BEAM fragmented the message");
            assert!(
                peer.get(&s.next_fragments) >= 10,
                "fragments: {}",
                peer.get(&s.next_fragments)
            );
        } else {
            assert_eq!(
                peer.get(&s.first_fragments) + peer.get(&s.next_fragments),
                0,
                "no fragments"
            );
        }

        // beamlink -> erl
        let data: Vec<u8> = (0..10u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let packets = peer.send(&Message::reg_send(
            me.clone(),
            Atom::new("sink"),
            Term::tuple(vec![Term::atom("big"), Term::binary(data.clone())]),
        ));
        assert_eq!(packets > 1, fragments, "{packets} packets");
        let got = beam.eval("receive {big, B} -> {byte_size(B), binary:decode_unsigned(erlang:md5(B))} after 30000 -> timeout end.");
        assert_eq!(got, format!("{{{},{}}}", 10 << 20, md5_int(&data)));
    }
}

/// Eight Erlang processes each send three 600 KB messages at once: their fragments
/// interleave on the connection and every message is reassembled intact.
#[test]
fn many_interleaved_fragmented_messages() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let mut peer = beamlink_peer(&beam, &epmd, DIST_HDR_ATOM_CACHE | FRAGMENTS, 64 << 10);
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let me = peer.pid(1);
    peer.send(&Message::reg_send(
        me.clone(),
        Atom::new("sink"),
        Term::tuple(vec![Term::atom("hello"), Term::Pid(me.clone())]),
    ));
    assert_eq!(
        beam.eval("receive {hello, P} -> put(peer, P), ok after 10000 -> timeout end."),
        "ok"
    );
    // Interleaving depends on how the BEAM schedules its senders: every sender builds its
    // binaries first and waits for one `go`, and the burst is repeated (at most five
    // times) until fragments of several messages were seen in flight at once. Every
    // round checks that each message arrives intact and once.
    let burst = "P = get(peer), Self = self(), \
        Pids = [spawn(fun() -> Bins = [{J, binary:copy(<<I, J>>, 300000)} || J <- lists:seq(1, 3)], \
        Self ! {ready, self()}, receive go -> [P ! {chunk, I, J, B} || {J, B} <- Bins] end end) \
        || I <- lists:seq(1, 8)], \
        [receive {ready, Pid} -> ok after 10000 -> exit(not_ready) end || Pid <- Pids], \
        [Pid ! go || Pid <- Pids], ok.";
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert_eq!(beam.eval(burst), "ok");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..24 {
            let payload = sent_to(&peer.recv(WAIT), &me);
            let [tag, Term::Int(i), Term::Int(j), Term::Binary(b)] =
                payload.as_tuple_n::<4>().expect("{chunk, I, J, B}")
            else {
                panic!("{payload:?}")
            };
            assert!(tag.is_atom("chunk"));
            assert_eq!(b.len(), 600_000);
            assert!(
                b.chunks(2).all(|c| c == [*i as u8, *j as u8]),
                "message {i}/{j} intact"
            );
            assert!(seen.insert((*i, *j)), "message {i}/{j} twice");
        }
        assert_eq!(seen.len(), 24);
        if peer.get(&peer.stats.max_in_flight) > 1 || rounds == 5 {
            break;
        }
    }
    let s = &peer.stats;
    assert_eq!(peer.get(&s.first_fragments), 24 * rounds, "every message was fragmented");
    assert!(
        peer.get(&s.max_in_flight) > 1,
        "fragments of several messages interleaved (max in flight {} after {rounds} rounds)",
        peer.get(&s.max_in_flight)
    );
}

/// beamlink interleaves the fragments of six 500 KB messages on the wire (round robin);
/// the BEAM reassembles each by its sequence id.
#[test]
fn beamlink_interleaved_fragments_reach_erl() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let mut peer = beamlink_peer(&beam, &epmd, DIST_HDR_ATOM_CACHE | FRAGMENTS, 16 << 10);
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let me = peer.pid(1);
    let mut expected = Vec::new();
    let mut queues: Vec<std::collections::VecDeque<bytes::Bytes>> = Vec::new();
    for i in 1..=6u8 {
        let data: Vec<u8> = (0..500_000u32).map(|k| (k % 251) as u8 ^ i).collect();
        expected.push(format!("{{{i},{}}}", md5_int(&data)));
        let msg = Message::reg_send(
            me.clone(),
            Atom::new("sink"),
            Term::tuple(vec![Term::Int(i as i64), Term::binary(data)]),
        );
        let packets = peer.encode(&msg);
        assert!(packets.len() > 30, "{} fragments", packets.len());
        queues.push(packets.into());
    }
    while queues.iter().any(|q| !q.is_empty()) {
        for q in queues.iter_mut() {
            if let Some(p) = q.pop_front() {
                peer.write(&p);
            }
        }
    }
    let got = beam.eval(
        "lists:sort([receive {I, B} -> {I, binary:decode_unsigned(erlang:md5(B))} after 30000 -> timeout end || _ <- lists:seq(1, 6)]).",
    );
    assert_eq!(got, format!("[{}]", expected.join(",")));
}

/// The same 10 MB both ways through beamlink's own [`beamlink_dist::Connection`]: with
/// the default flags (headers and fragments) and with neither (pass-through frames).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_megabytes_both_ways_through_the_connection() {
    use beamlink_dist::{
        AcceptAll, Connection, ConnectionConfig, ConnectionEvent, Cookie, DistFlags, HandshakeConfig,
    };
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let port = {
        use std::io::{Read, Write};
        let alive = beam.node().split('@').next().unwrap_or_default().to_owned();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", epmd.port)).expect("epmd");
        let mut req = ((alive.len() + 1) as u16).to_be_bytes().to_vec();
        req.push(122);
        req.extend_from_slice(alive.as_bytes());
        s.write_all(&req).expect("write epmd");
        let mut resp = [0u8; 4];
        s.read_exact(&mut resp).expect("read epmd");
        u16::from_be_bytes([resp[2], resp[3]])
    };
    for flags in [DistFlags::CONNECTION_DEFAULT, DistFlags::EMPTY] {
        let handshake =
            HandshakeConfig::new(format!("{}@127.0.0.1", name("conn")), Cookie::new(beam.cookie()))
                .flags(flags);
        let addr = format!("127.0.0.1:{port}").parse().expect("address");
        let mut conn = Connection::connect(
            addr,
            beam.node(),
            &handshake,
            &ConnectionConfig::default(),
            &AcceptAll,
        )
        .await
        .expect("connect to erl");
        let me = Pid {
            node: Atom::new(&conn.local_node),
            id: 1,
            serial: 0,
            creation: conn.local_creation,
        };

        let hello = Term::tuple(vec![Term::atom("hello"), Term::Pid(me.clone())]);
        conn.handle
            .send(Message::reg_send(me.clone(), Atom::new("sink"), hello))
            .await
            .expect("send");
        let md5 = beam.eval(
            "receive {hello, P} -> B = rand:bytes(10 bsl 20), P ! {big, B}, binary:decode_unsigned(erlang:md5(B)) after 10000 -> timeout end.",
        );
        let msg = match tokio::time::timeout(WAIT, conn.events.recv()).await {
            Ok(Some(ConnectionEvent::Message(m))) => m,
            other => panic!("no message from erl: {other:?}"),
        };
        let payload = sent_to(&msg, &me);
        let [_, Term::Binary(b)] = payload.as_tuple_n::<2>().expect("{big, B}") else {
            panic!("{payload:?}")
        };
        assert_eq!(md5_int(b), md5);

        let data: Vec<u8> = (0..10u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let big = Term::tuple(vec![Term::atom("big"), Term::binary(data.clone())]);
        conn.handle
            .send(Message::reg_send(me.clone(), Atom::new("sink"), big))
            .await
            .expect("send");
        let got = beam.eval(
            "receive {big, B} -> {byte_size(B), binary:decode_unsigned(erlang:md5(B))} after 30000 -> timeout end.",
        );
        assert_eq!(got, format!("{{{},{}}}", 10 << 20, md5_int(&data)));
        conn.handle.close().await;
    }
}

/// Signals a real Erlang process sends to a beamlink pid, each decoded to its typed
/// control message: link, unlink, monitor, demonitor, a send with a sequential trace
/// token (SEND_SENDER_TT: the token is the fourth element), group leader, an exit signal
/// with its reason as payload, a send to a process alias, and a spawn request.
#[test]
fn signals_from_erl_decode_to_typed_control_messages() {
    use beamlink_dist::PidOrName;
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let mut peer = beamlink_peer(&beam, &epmd, DIST_HDR_ATOM_CACHE | FRAGMENTS, 0);
    assert_eq!(beam.eval("register(sink, self())."), "true");
    let me = peer.pid(1);
    let hello = Term::tuple(vec![Term::atom("hello"), Term::Pid(me.clone())]);
    peer.send(&Message::reg_send(me.clone(), Atom::new("sink"), hello));
    let got = beam.eval(
        "receive {hello, P} -> \
           link(P), unlink(P), \
           M = erlang:monitor(process, P), erlang:demonitor(M), \
           seq_trace:set_token(label, 17), P ! traced, seq_trace:set_token([]), \
           group_leader(self(), P), \
           exit(P, {shutdown, bye}), \
           N = atom_to_binary(node(P)), \
           A = binary_to_term(<<131, 90, 0, 3, 119, (byte_size(N)), N/binary, 16#12345678:32, 1:32, 2:32, 3:32>>), \
           A ! via_alias, \
           R = spawn_request(node(P), lists, seq, [1, 3], [monitor]), \
           {ok, M, R} \
         after 10000 -> timeout end.",
    );
    assert!(got.starts_with("{ok,#Ref<"), "{got}");
    let shell = shell_pid(&mut beam);
    let next = || peer.recv(WAIT);
    use ControlMessage as C;

    assert_eq!(
        next().control,
        C::Link {
            from: shell.clone(),
            to: me.clone()
        }
    );
    let m = next();
    assert!(
        matches!(&m.control, C::UnlinkId { id, from, to } if *id > 0 && from == &shell && to == &me),
        "{m:?}"
    );
    let monitor_ref = match next().control {
        C::MonitorP {
            from,
            to: PidOrName::Pid(to),
            reference,
        } => {
            assert_eq!((&from, &to), (&shell, &me));
            reference
        }
        other => panic!("expected MONITOR_P, got {other:?}"),
    };
    assert_eq!(
        next().control,
        C::DemonitorP {
            from: shell.clone(),
            to: PidOrName::Pid(me.clone()),
            reference: monitor_ref
        }
    );
    let traced = next();
    match &traced.control {
        C::SendSenderTt {
            from,
            to,
            trace_token,
        } => {
            assert_eq!((from, to), (&shell, &me));
            let token = trace_token.as_tuple().expect("the token is a tuple");
            assert_eq!(
                token.len(),
                5,
                "{{Flags, Label, Serial, From, LastCnt}}: {trace_token:?}"
            );
            assert_eq!(token[1], Term::Int(17), "the label");
        }
        other => panic!("expected SEND_SENDER_TT, got {other:?}"),
    }
    assert_eq!(traced.payload, Some(Term::atom("traced")));
    assert_eq!(
        next().control,
        C::GroupLeader {
            from: shell.clone(),
            to: me.clone()
        }
    );
    let exit = next();
    assert_eq!(
        exit.control,
        C::PayloadExit2 {
            from: shell.clone(),
            to: me.clone()
        }
    );
    assert_eq!(
        exit.payload,
        Some(Term::tuple(vec![Term::atom("shutdown"), Term::atom("bye")]))
    );
    let alias = next();
    match &alias.control {
        C::AliasSend { from, alias } => {
            assert_eq!(from, &shell);
            assert_eq!(
                (alias.node.as_str(), alias.creation, &alias.id[..]),
                (me.node.as_str(), 0x1234_5678, &[1, 2, 3][..])
            );
        }
        other => panic!("expected ALIAS_SEND, got {other:?}"),
    }
    assert_eq!(alias.payload, Some(Term::atom("via_alias")));
    let spawn = next();
    match &spawn.control {
        C::SpawnRequest {
            from,
            module,
            function,
            arity,
            ..
        } => {
            assert_eq!(from, &shell);
            assert_eq!((module.as_str(), function.as_str(), *arity), ("lists", "seq", 2));
        }
        other => panic!("expected SPAWN_REQUEST, got {other:?}"),
    }
    assert_eq!(spawn.payload, Some(Term::list(vec![Term::Int(1), Term::Int(3)])));
}

/// Every control message beamlink encodes is read by a real `erl` and written back by
/// `term_to_binary(T, [{minor_version, 2}])` to exactly the same bytes.
#[test]
fn every_control_message_encoding_matches_term_to_binary() {
    use beamlink_dist::control::altact_flags;
    use beamlink_dist::{PidOrName, Recipient, SpawnResult};
    use beamlink_term::Reference;
    use ControlMessage as C;
    let mut beam = Beam::erlang().start();
    let p1 = Pid {
        node: Atom::new("a@b"),
        id: 80,
        serial: 0,
        creation: 1,
    };
    let p2 = Pid {
        node: Atom::new("c@d"),
        id: 81,
        serial: 2,
        creation: 7,
    };
    let r = Reference {
        node: Atom::new("a@b"),
        creation: 1,
        id: vec![5, 6, 7],
    };
    let tok = Term::tuple(vec![
        Term::Int(6),
        Term::atom("label"),
        Term::Int(3),
        Term::Pid(p1.clone()),
        Term::Int(2),
    ]);
    let why = Term::tuple(vec![
        Term::atom("shutdown"),
        Term::binary(&b"why"[..]),
        Term::Int(-70_000),
    ]);
    let name = Atom::new("näme");
    let all = vec![
        C::Link {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::Send { to: p2.clone() },
        C::Exit {
            from: p1.clone(),
            to: p2.clone(),
            reason: why.clone(),
        },
        C::Unlink {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::NodeLink,
        C::RegSend {
            from: p1.clone(),
            to_name: name.clone(),
        },
        C::GroupLeader {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::Exit2 {
            from: p1.clone(),
            to: p2.clone(),
            reason: why.clone(),
        },
        C::SendTt {
            to: p2.clone(),
            trace_token: tok.clone(),
        },
        C::ExitTt {
            from: p1.clone(),
            to: p2.clone(),
            trace_token: tok.clone(),
            reason: why.clone(),
        },
        C::RegSendTt {
            from: p1.clone(),
            to_name: name.clone(),
            trace_token: tok.clone(),
        },
        C::Exit2Tt {
            from: p1.clone(),
            to: p2.clone(),
            trace_token: tok.clone(),
            reason: why.clone(),
        },
        C::MonitorP {
            from: p1.clone(),
            to: PidOrName::Name(name.clone()),
            reference: r.clone(),
        },
        C::DemonitorP {
            from: p1.clone(),
            to: PidOrName::Pid(p2.clone()),
            reference: r.clone(),
        },
        C::MonitorPExit {
            from: PidOrName::Pid(p2.clone()),
            to: p1.clone(),
            reference: r.clone(),
            reason: why.clone(),
        },
        C::SendSender {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::SendSenderTt {
            from: p1.clone(),
            to: p2.clone(),
            trace_token: tok.clone(),
        },
        C::PayloadExit {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::PayloadExitTt {
            from: p1.clone(),
            to: p2.clone(),
            trace_token: tok.clone(),
        },
        C::PayloadExit2 {
            from: p1.clone(),
            to: p2.clone(),
        },
        C::PayloadExit2Tt {
            from: p1.clone(),
            to: p2.clone(),
            trace_token: tok.clone(),
        },
        C::PayloadMonitorPExit {
            from: PidOrName::Name(name.clone()),
            to: p1.clone(),
            reference: r.clone(),
        },
        C::SpawnRequest {
            req_id: r.clone(),
            from: p1.clone(),
            group_leader: p2.clone(),
            module: Atom::new("erpc"),
            function: Atom::new("execute_call"),
            arity: 4,
            options: vec![
                Term::atom("monitor"),
                Term::tuple(vec![Term::atom("priority"), Term::atom("high")]),
            ],
        },
        C::SpawnRequestTt {
            req_id: r.clone(),
            from: p1.clone(),
            group_leader: p2.clone(),
            module: Atom::new("m"),
            function: Atom::new("f"),
            arity: 0,
            options: vec![],
            trace_token: tok.clone(),
        },
        C::SpawnReply {
            req_id: r.clone(),
            to: p1.clone(),
            flags: 3,
            result: SpawnResult::Pid(p2.clone()),
        },
        C::SpawnReplyTt {
            req_id: r.clone(),
            to: p1.clone(),
            flags: 0,
            result: SpawnResult::Error(Atom::new("badarg")),
            trace_token: tok.clone(),
        },
        C::AliasSend {
            from: p1.clone(),
            alias: r.clone(),
        },
        C::AliasSendTt {
            from: p1.clone(),
            alias: r.clone(),
            trace_token: tok.clone(),
        },
        C::UnlinkId {
            id: 1 << 40,
            from: p1.clone(),
            to: p2.clone(),
        },
        C::UnlinkIdAck {
            id: u64::MAX,
            from: p2.clone(),
            to: p1.clone(),
        },
        C::AltactSigSend {
            flags: altact_flags::PRIO | altact_flags::ALIAS,
            from: p1.clone(),
            to: Recipient::Alias(r.clone()),
            trace_token: None,
        },
        C::AltactSigSend {
            flags: altact_flags::NAME,
            from: p1.clone(),
            to: Recipient::Name(name.clone()),
            trace_token: Some(tok.clone()),
        },
    ];
    let mut lists = Vec::new();
    let mut ours = Vec::new();
    for c in &all {
        let mut b = vec![131u8];
        c.encode_body_to(&mut b).expect("encode");
        lists.push(format!(
            "[{}]",
            b.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
        ));
        ours.push(b);
    }
    let got = beam.eval(&format!(
        "[binary_to_list(term_to_binary(binary_to_term(list_to_binary(L)), [{{minor_version, 2}}])) || L <- [{}]].",
        lists.join(",")
    ));
    let theirs: Vec<Vec<u8>> = got
        .trim_start_matches("[[")
        .trim_end_matches("]]")
        .split("],[")
        .map(|l| l.split(',').map(|n| n.parse().expect("byte")).collect())
        .collect();
    assert_eq!(theirs.len(), all.len());
    for ((c, ours), theirs) in all.iter().zip(&ours).zip(&theirs) {
        assert_eq!(ours, theirs, "{}", c.name());
    }
}
