//! Connection management of the beamlink node against real Erlang nodes: visible vs
//! hidden, wrong cookie, embedded EPMD and EPMD-less operation, disconnect, exit signals
//! and unlinking from the BEAM side, net_ticktime.

use beamlink::{EpmdMode, Error, Node, NodeEvent, Ping, RecvError, Term};
use beamlink_e2e::{free_port, node_runtime, unique_name, Beam, Epmd};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn name(prefix: &str) -> String {
    format!("{}@127.0.0.1", unique_name(prefix))
}

#[test]
fn a_visible_node_is_in_nodes_and_a_hidden_one_is_not() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let visible = rt
        .block_on(
            Node::builder(&name("vis"))
                .cookie(erl.cookie())
                .hidden(false)
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    let me = visible.name().as_str().to_string();
    assert_eq!(erl.eval(&format!("net_adm:ping('{me}').")), "pong");
    assert_eq!(erl.eval(&format!("lists:member('{me}', nodes()).")), "true");
    assert!(visible.nodes().iter().any(|n| n.as_str() == erl.node()));
}

#[test]
fn a_wrong_cookie_is_refused_both_ways_with_a_clear_reason() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("wrong"))
                .cookie("NOT_THE_COOKIE")
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    let e = rt.block_on(node.connect(erl.node())).unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("cookie"), "{e}");
    assert!(!e.to_string().contains("NOT_THE_COOKIE"));
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pang);
    assert_eq!(
        erl.eval(&format!("net_adm:ping('{}').", node.name().as_str())),
        "pang"
    );
}

#[test]
fn embedded_epmd_serves_erlang_nodes() {
    let rt = node_runtime();
    let port = free_port();
    let cookie = beamlink_e2e::random_cookie();
    let node = rt
        .block_on(
            Node::builder(&name("emb"))
                .cookie(&cookie)
                .epmd(EpmdMode::Embedded { port })
                .start(),
        )
        .unwrap();
    let mut erl = Beam::erlang().epmd(port).cookie(&cookie).start();
    assert_eq!(
        erl.eval(&format!("net_adm:ping('{}').", node.name().as_str())),
        "pong"
    );
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pong);
}

#[test]
fn without_epmd_nodes_meet_on_a_fixed_port() {
    let rt = node_runtime();
    let port = free_port();
    let start = |host: &str| {
        let n = format!("{}@{host}", unique_name("fixed"));
        rt.block_on(
            Node::builder(&n)
                .cookie("fixedcookie")
                .listen_addr(host.parse().unwrap())
                .epmd(EpmdMode::None { listen_port: port })
                .start(),
        )
        .unwrap()
    };
    let a = start("127.0.0.1");
    let b = start("127.0.0.2");
    let mut inbox = b.mailbox_named("inbox").unwrap();
    let sender = a.mailbox().unwrap();
    sender
        .send(("inbox", b.name().as_str()), Term::atom("hi"))
        .unwrap();
    assert_eq!(rt.block_on(inbox.recv_timeout(T)).unwrap(), Term::atom("hi"));
    assert_eq!(rt.block_on(b.ping(a.name())), Ping::Pong);
    assert!(a.nodes_hidden().iter().any(|n| n == b.name()));
}

#[test]
fn disconnect_fires_nodedown_on_both_sides() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("dis"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    let me = node.name().as_str().to_string();
    assert_eq!(
        erl.eval(&format!("net_adm:ping('{me}'), monitor_node('{me}', true).")),
        "true"
    );
    let mut events = node.monitor_nodes();
    assert!(rt.block_on(node.disconnect(erl.node())));
    assert_eq!(
        erl.eval(&format!(
            "receive {{nodedown, '{me}'}} -> down after 5000 -> up end."
        )),
        "down"
    );
    let ev = rt
        .block_on(async { tokio::time::timeout(T, events.recv()).await })
        .unwrap()
        .unwrap();
    assert!(
        matches!(ev, NodeEvent::Down { ref node, .. } if node.as_str() == erl.node()),
        "{ev:?}"
    );
    assert!(!node.is_connected(erl.node()));
    // Sending reconnects on demand.
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pong);
}

#[test]
fn exit_signals_and_unlink_from_the_beam_side() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("sig"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    let me = node.name().as_str().to_string();
    erl.eval("register(harness, self()).");
    let erl_node = erl.node().to_string();
    let pid_to_erl = |mb: &beamlink::Mailbox| {
        let msg = Term::tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]);
        mb.send(("harness", erl_node.as_str()), msg).unwrap();
    };

    // exit(P, normal) is ignored, exit(P, kill) cannot be trapped.
    let mut mb = node.mailbox().unwrap();
    mb.trap_exit(true);
    pid_to_erl(&mb);
    erl.eval("receive {pid, P} -> put(p, P), exit(P, normal), exit(P, please) end.");
    let m = rt.block_on(mb.recv_timeout(T)).unwrap();
    let h = m.as_tuple().unwrap()[1].clone();
    assert_eq!(
        m,
        Term::tuple(vec![Term::atom("EXIT"), h.clone(), Term::atom("normal")])
    );
    let m = rt.block_on(mb.recv_timeout(T)).unwrap();
    assert_eq!(m, Term::tuple(vec![Term::atom("EXIT"), h, Term::atom("please")]));
    erl.eval("exit(get(p), kill).");
    assert_eq!(
        rt.block_on(mb.recv_timeout(T)),
        Err(RecvError::Exited(Term::atom("killed")))
    );

    // The BEAM links, then unlinks (UNLINK_ID, acknowledged); the mailbox's later exit
    // reaches the BEAM only through its monitor.
    let mut mb = node.mailbox().unwrap();
    pid_to_erl(&mb);
    let r = erl.eval(
        "process_flag(trap_exit, true), receive {pid, P} -> put(p, P), link(P), unlink(P), erlang:monitor(process, P), P ! ready, ok end.",
    );
    assert_eq!(r, "ok");
    assert_eq!(rt.block_on(mb.recv_timeout(T)).unwrap(), Term::atom("ready"));
    mb.close(Term::atom("boom"));
    assert_eq!(
        erl.eval("P = get(p), receive {'DOWN', _, process, P, R} -> R after 5000 -> timeout end."),
        "boom"
    );
    assert_eq!(
        erl.eval("receive {'EXIT', _, _} = E -> E after 0 -> none end."),
        "none"
    );
    let _ = me;
}

#[test]
fn a_frozen_peer_is_declared_down_within_net_ticktime() {
    let epmd = Epmd::start();
    let erl = Beam::erlang()
        .epmd(epmd.port)
        .arg("-kernel")
        .arg("net_ticktime")
        .arg("4")
        .start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("tick"))
                .cookie(erl.cookie())
                .net_ticktime(Duration::from_secs(4))
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pong);
    let mut events = node.monitor_nodes();
    let t0 = std::time::Instant::now();
    erl.freeze();
    let ev = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), events.recv()).await })
        .unwrap()
        .unwrap();
    erl.thaw();
    assert!(matches!(ev, NodeEvent::Down { .. }), "{ev:?}");
    assert!(
        t0.elapsed() <= Duration::from_secs(9),
        "down after {:?}",
        t0.elapsed()
    );
}

#[test]
fn simultaneous_connects_leave_exactly_one_connection() {
    let epmd = Epmd::start();
    let rt = node_runtime();
    let start = || {
        rt.block_on(
            Node::builder(&name("simul"))
                .cookie("simulcookie")
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap()
    };
    let (a, b) = (start(), start());
    for round in 0..20 {
        let (ra, rb) = rt.block_on(async { tokio::join!(a.connect(b.name()), b.connect(a.name())) });
        ra.unwrap_or_else(|e| panic!("round {round}: a -> b: {e}"));
        rb.unwrap_or_else(|e| panic!("round {round}: b -> a: {e}"));
        assert_eq!(a.nodes_hidden(), vec![b.name().clone()]);
        assert_eq!(b.nodes_hidden(), vec![a.name().clone()]);
        let mut inbox = b.mailbox_named("inbox").unwrap();
        let m = a.mailbox().unwrap();
        m.send(("inbox", b.name().as_str()), Term::Int(round)).unwrap();
        assert_eq!(rt.block_on(inbox.recv_timeout(T)).unwrap(), Term::Int(round));
        drop(inbox);
        let mut events = b.monitor_nodes();
        assert!(rt.block_on(a.disconnect(b.name())));
        rt.block_on(async {
            loop {
                match tokio::time::timeout(T, events.recv()).await {
                    Ok(Ok(NodeEvent::Down { .. })) => break,
                    Ok(Ok(_)) => continue,
                    other => panic!("no nodedown at b: {other:?}"),
                }
            }
        });
    }
}

#[test]
fn unreachable_nodes_give_typed_errors_and_the_port_range_is_honoured() {
    let epmd = Epmd::start();
    let rt = node_runtime();
    let low = free_port();
    let node = rt
        .block_on(
            Node::builder(&name("range"))
                .cookie("rangecookie")
                .port_range(low, low.saturating_add(20))
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    assert!(
        (low..=low + 20).contains(&node.port()),
        "port {} outside {low}..",
        node.port()
    );
    let nowhere = "nobody_here@127.0.0.1";
    let e = rt
        .block_on(node.call(("srv", nowhere), Term::atom("x"), T))
        .unwrap_err();
    assert!(matches!(e, beamlink::CallError::NodeDown(_)), "{e:?}");
    let e = rt.block_on(node.rpc(nowhere, "m", "f", vec![], T)).unwrap_err();
    assert!(matches!(e, beamlink::RpcError::NodeDown(_)), "{e:?}");
    assert_eq!(rt.block_on(node.ping(nowhere)), Ping::Pang);
    let mb = node.mailbox().unwrap();
    assert!(matches!(
        mb.send_noconnect(("srv", nowhere), Term::nil()),
        Err(Error::NotConnected { .. })
    ));
    assert_eq!(
        node.process_count(),
        3,
        "only net_kernel, rex and the mailbox are left"
    );
}

#[test]
fn a_dynamic_name_is_given_by_the_first_peer() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder_dynamic("127.0.0.1")
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .start_via(erl.node()),
        )
        .unwrap();
    let me = node.name().as_str().to_string();
    assert!(
        me.ends_with("@127.0.0.1") && me.len() > "@127.0.0.1".len(),
        "{me}"
    );
    assert!(node.is_connected(erl.node()));
    let mut inbox = node.mailbox_named("inbox").unwrap();
    erl.eval(&format!("{{inbox, '{me}'}} ! hello_dynamic."));
    assert_eq!(
        rt.block_on(inbox.recv_timeout(T)).unwrap(),
        Term::atom("hello_dynamic")
    );
    // The message came over the connection, so the BEAM lists it by now.
    let listed = erl.eval(&format!(
        "{{lists:member('{me}', nodes(hidden)), nodes(hidden)}}."
    ));
    assert!(listed.starts_with("{true,"), "{listed}");
    assert_eq!(
        rt.block_on(node.rpc(erl.node(), "erlang", "node", vec![], T)),
        Ok(Term::atom(erl.node()))
    );
}

#[test]
fn send_wait_holds_a_sender_back_while_the_peer_does_not_read() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("busy"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    erl.eval("register(sink, spawn(fun() -> receive after infinity -> ok end end)).");
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pong);
    let mb = node.mailbox().unwrap();
    let big = Term::binary(vec![0u8; 64 * 1024]);
    erl.freeze();
    let dest = ("sink", erl.node());
    let sent = rt.block_on(async {
        let mut sent = 0usize;
        let all = async {
            for _ in 0..100_000 {
                mb.send_wait(dest, big.clone()).await.unwrap();
                sent += 1;
            }
        };
        let finished = tokio::time::timeout(Duration::from_secs(2), all).await.is_ok();
        assert!(
            !finished,
            "100,000 x 64 KiB to a frozen peer went through without waiting"
        );
        sent
    });
    erl.thaw();
    assert!(
        sent < 20_000,
        "{sent} messages were accepted before the sender was held back"
    );
}

/// A connect right after a disconnect answers for its own connection: the old
/// connection's `Down` (published once `noconnection` has fired for every local
/// process, which takes a while with many of them) never fails it. And `disconnect`
/// returns only once the monitors across the connection have fired.
#[test]
fn a_connect_right_after_a_disconnect_is_not_failed_by_the_old_connection() {
    let epmd = Epmd::start();
    let erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("redial"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .unwrap();
    // Many local processes: firing `noconnection` across a connection takes long
    // enough that a new connection can be up before the old one has finished going.
    let idle: Vec<_> = (0..50_000).map(|_| node.mailbox().unwrap()).collect();
    let mut watcher = node.mailbox().unwrap();
    for round in 0..5 {
        rt.block_on(node.connect(erl.node()))
            .unwrap_or_else(|e| panic!("round {round}: connect: {e}"));
        watcher.monitor_name("init", erl.node());
        assert!(rt.block_on(node.disconnect(erl.node())), "round {round}");
        let down = watcher.try_recv().unwrap();
        let fired = down.as_ref().and_then(|d| d.as_tuple().map(|t| t.to_vec()));
        assert!(
            matches!(fired.as_deref(), Some([tag, .., reason])
                if *tag == Term::atom("DOWN") && *reason == Term::atom("noconnection")),
            "round {round}: the monitor had not fired when disconnect returned: {down:?}"
        );
        rt.block_on(node.connect(erl.node()))
            .unwrap_or_else(|e| panic!("round {round}: connect right after disconnect: {e}"));
        assert!(node.is_connected(erl.node()), "round {round}");
    }
    drop(idle);
}

#[test]
fn a_node_that_accepts_no_connections_still_connects_out() {
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let rt = node_runtime();
    let node = rt
        .block_on(
            Node::builder(&name("out"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::Unpublished {
                    epmd_port: epmd.port,
                    peer_port: None,
                })
                .accept_connections(false)
                .start(),
        )
        .unwrap();
    assert_eq!(node.port(), 0, "no listening port");
    assert_eq!(rt.block_on(node.ping(erl.node())), Ping::Pong);
    let me = node.name().as_str().to_string();
    assert_eq!(erl.eval(&format!("lists:member('{me}', nodes(hidden)).")), "true");
    // A published node must be reachable: refused at configuration.
    let e = rt
        .block_on(
            Node::builder(&name("pub"))
                .cookie(erl.cookie())
                .epmd(EpmdMode::External { port: epmd.port })
                .accept_connections(false)
                .start(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("Unpublished"), "{e}");
}
