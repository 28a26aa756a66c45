//! The beamlink node against a real Erlang node: ping, names, sends, gen_server calls,
//! RPC both ways, links and monitors across the connection, and the peer going away.

use beamlink::{Ping, RecvError, RpcError, Term};
use beamlink_e2e::{Beam, NodeBeside};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn setup() -> NodeBeside {
    NodeBeside::start(Beam::erlang())
}

#[test]
fn ping_both_ways_and_hidden_listing() {
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    assert_eq!(s.beam.eval(&format!("net_adm:ping('{me}').")), "pong");
    assert_eq!(
        s.beam.eval(&format!("lists:member('{me}', nodes(hidden)).")),
        "true"
    );
    assert_eq!(s.beam.eval(&format!("lists:member('{me}', nodes()).")), "false");
    let erl = s.beam.node().to_string();
    assert_eq!(s.rt.block_on(s.node.ping(&erl)), Ping::Pong);
    assert!(
        s.node.nodes_hidden().iter().any(|n| n.as_str() == erl)
            || s.node.nodes().iter().any(|n| n.as_str() == erl)
    );
    assert_eq!(s.rt.block_on(s.node.ping("nobody@127.0.0.1")), Ping::Pang);
}

fn tuple(v: Vec<Term>) -> Term {
    Term::tuple(v)
}

/// Makes the harness process reachable as `harness` on the Erlang node.
fn register_harness(erl: &mut Beam) {
    assert_eq!(erl.eval("register(harness, self())."), "true");
}

#[test]
fn erlang_sends_to_a_registered_mailbox_and_gets_a_reply() {
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    let mut mb = s.node.mailbox_named("inbox").unwrap();
    assert_eq!(
        s.beam
            .eval(&format!("{{inbox, '{me}'}} ! {{hello, self()}}, ok.")),
        "ok"
    );
    let m = s.rt.block_on(mb.recv_timeout(T)).unwrap();
    let [tag, from] = m.as_tuple_n::<2>().unwrap();
    assert!(tag.is_atom("hello"));
    mb.send(
        from.as_pid().unwrap(),
        tuple(vec![Term::atom("reply"), Term::Int(42)]),
    )
    .unwrap();
    assert_eq!(
        s.beam.eval("receive {reply, X} -> X after 5000 -> timeout end."),
        "42"
    );
}

#[test]
fn gen_server_call_from_erlang_reaches_a_mailbox() {
    use beamlink::gen_server::GenMessage;
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    let mut srv = s.node.mailbox_named("srv").unwrap();
    s.rt.spawn(async move {
        while let Ok(m) = srv.recv().await {
            if let GenMessage::Call(c) = GenMessage::parse(m) {
                let reply = tuple(vec![Term::atom("pong"), c.request.clone()]);
                c.reply(&srv, reply).unwrap();
            }
        }
    });
    assert_eq!(
        s.beam.eval(&format!("gen_server:call({{srv, '{me}'}}, hello).")),
        "{pong,hello}"
    );
    let noproc = s
        .beam
        .eval(&format!("catch gen_server:call({{nosuch, '{me}'}}, x, 2000)."));
    assert!(noproc.starts_with("{'EXIT',{noproc,"), "{noproc}");
}

#[test]
fn rpc_from_erlang_into_rust_functions_and_an_undefined_one() {
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    s.node.register_rpc("math", "add", |args| match args.as_slice() {
        [Term::Int(a), Term::Int(b)] => Ok(Term::Int(a + b)),
        _ => Err(Term::atom("badarg")),
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    s.node.register_rpc("notify", "cast", move |args| {
        let _ = tx.lock().unwrap().send(args);
        Ok(Term::atom("ok"))
    });
    assert_eq!(s.beam.eval(&format!("rpc:call('{me}', math, add, [2, 3]).")), "5");
    assert_eq!(
        s.beam.eval(&format!("rpc:call('{me}', math, nope, [1]).")),
        "{badrpc,{'EXIT',{undef,[{math,nope,[1],[]}]}}}"
    );
    let bad = s.beam.eval(&format!("rpc:call('{me}', math, add, [a, 1])."));
    assert!(bad.starts_with("{badrpc,{'EXIT',{badarg,"), "{bad}");
    assert_eq!(
        s.beam.eval(&format!("erpc:call('{me}', math, add, [40, 2]).")),
        "42"
    );
    assert_eq!(
        s.beam.eval(&format!("rpc:cast('{me}', notify, cast, [7]).")),
        "true"
    );
    assert_eq!(rx.recv_timeout(T).unwrap(), vec![Term::Int(7)]);
}

#[test]
fn erlang_monitor_of_a_mailbox_sees_drop_and_close_reasons() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    for (reason, expected) in [(None, "normal"), (Some("shutdown"), "shutdown")] {
        let mut mb = s.node.mailbox().unwrap();
        mb.send(
            ("harness", erl.as_str()),
            tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]),
        )
        .unwrap();
        // The monitor, then a message from the same process: it arrives after the monitor.
        let r = s.beam.eval("receive {pid, P} -> put(p, P), erlang:monitor(process, P), P ! monitored, ok after 5000 -> timeout end.");
        assert_eq!(r, "ok");
        assert_eq!(
            s.rt.block_on(mb.recv_timeout(T)).unwrap(),
            Term::atom("monitored")
        );
        match reason {
            None => drop(mb),
            Some(r) => mb.close(Term::atom(r)),
        }
        let down = s
            .beam
            .eval("P = get(p), receive {'DOWN', _, process, P, R} -> R after 5000 -> timeout end.");
        assert_eq!(down, expected);
    }
}

#[test]
fn links_propagate_exits_both_ways() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();

    // BEAM process linked to a mailbox that ends with `boom`.
    let mb = s.node.mailbox().unwrap();
    let mut mb_rx = s.node.mailbox().unwrap();
    mb.send(
        ("harness", erl.as_str()),
        tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]),
    )
    .unwrap();
    assert_eq!(
        s.beam.eval("process_flag(trap_exit, true), receive {pid, P} -> put(p, P), link(P), ok after 5000 -> timeout end."),
        "ok"
    );
    // A round trip through the same process orders the link before the close.
    mb_rx
        .send(
            ("harness", erl.as_str()),
            tuple(vec![Term::atom("ping"), Term::Pid(mb_rx.pid().clone())]),
        )
        .unwrap();
    s.beam
        .eval("P = get(p), receive {ping, Q} -> P ! sync, Q ! pong end.");
    let _ = s.rt.block_on(mb_rx.recv_timeout(T)).unwrap();
    mb.close(Term::atom("boom"));
    assert_eq!(
        s.beam
            .eval("P = get(p), receive {'EXIT', P, R} -> R after 5000 -> timeout end."),
        "boom"
    );
    s.beam.eval("process_flag(trap_exit, false).");

    // A mailbox linked to a BEAM process that exits with `crash`: not trapping, it ends.
    let mut a = s.node.mailbox_named("linker").unwrap();
    let me = s.node.name().as_str().to_string();
    s.beam.eval(&format!(
        "V = spawn(fun() -> receive go -> exit(crash) end end), {{linker, '{me}'}} ! {{victim, V}}, ok."
    ));
    let v = s.rt.block_on(a.recv_timeout(T)).unwrap().as_tuple().unwrap()[1]
        .as_pid()
        .unwrap()
        .clone();
    a.link(&v).unwrap();
    a.send(&v, Term::atom("go")).unwrap();
    assert_eq!(
        s.rt.block_on(a.recv_timeout(T)),
        Err(RecvError::Exited(Term::atom("crash")))
    );

    // Trapping exits, the exit becomes a message.
    let mut b = s.node.mailbox_named("trapper").unwrap();
    b.trap_exit(true);
    s.beam.eval(&format!(
        "V = spawn(fun() -> receive go -> exit(crash) end end), {{trapper, '{me}'}} ! {{victim, V}}, ok."
    ));
    let v = s.rt.block_on(b.recv_timeout(T)).unwrap().as_tuple().unwrap()[1]
        .as_pid()
        .unwrap()
        .clone();
    b.link(&v).unwrap();
    b.send(&v, Term::atom("go")).unwrap();
    let m = s.rt.block_on(b.recv_timeout(T)).unwrap();
    assert_eq!(
        m,
        tuple(vec![Term::atom("EXIT"), Term::Pid(v), Term::atom("crash")])
    );

    // Unlinked (UNLINK_ID) before the exit: nothing arrives but the monitor's DOWN.
    let mut c = s.node.mailbox_named("unlinker").unwrap();
    s.beam.eval(&format!(
        "V = spawn(fun() -> receive go -> exit(crash) end end), {{unlinker, '{me}'}} ! {{victim, V}}, ok."
    ));
    let v = s.rt.block_on(c.recv_timeout(T)).unwrap().as_tuple().unwrap()[1]
        .as_pid()
        .unwrap()
        .clone();
    c.link(&v).unwrap();
    c.unlink(&v);
    let r = c.monitor(&v);
    c.send(&v, Term::atom("go")).unwrap();
    let m = s.rt.block_on(c.recv_timeout(T)).unwrap();
    assert_eq!(m.as_tuple().unwrap()[1], Term::from(r));
    assert_eq!(m.as_tuple().unwrap()[4], Term::atom("crash"));
    assert!(c.is_alive());
}

#[test]
fn beamlink_monitors_a_beam_process_that_is_killed() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let mut mb = s.node.mailbox().unwrap();
    s.beam.eval(
        "S = spawn(fun() -> receive after infinity -> ok end end), register(sleeper, S), put(s, S), ok.",
    );
    let by_name = mb.monitor_name("sleeper", &erl);
    let gone = mb.monitor_name("nobody_here", &erl);
    let m = s.rt.block_on(mb.recv_timeout(T)).unwrap();
    assert_eq!(m.as_tuple().unwrap()[1], Term::from(gone), "{m:?}");
    assert_eq!(m.as_tuple().unwrap()[4], Term::atom("noproc"));
    // The monitor went out before this message: the kill comes after it.
    mb.send(("harness", erl.as_str()), Term::atom("monitored"))
        .unwrap();
    s.beam.eval("receive monitored -> exit(get(s), kill) end.");
    let m = s.rt.block_on(mb.recv_timeout(T)).unwrap();
    let [tag, r, _, obj, reason] = m.as_tuple_n::<5>().unwrap();
    assert!(tag.is_atom("DOWN"));
    assert_eq!(*r, Term::from(by_name));
    assert_eq!(*obj, tuple(vec![Term::atom("sleeper"), Term::atom(&erl)]));
    assert!(reason.is_atom("killed"));
}

#[test]
fn peer_killed_fires_noconnection_and_nodedown() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let me = s.node.name().as_str().to_string();
    let mut events = s.node.monitor_nodes();
    let mut watcher = s.node.mailbox_named("watcher").unwrap();
    watcher.trap_exit(true);
    s.beam
        .eval(&format!("{{watcher, '{me}'}} ! {{harness, self()}}, ok."));
    let h =
        s.rt.block_on(watcher.recv_timeout(T))
            .unwrap()
            .as_tuple()
            .unwrap()[1]
            .as_pid()
            .unwrap()
            .clone();
    let r = watcher.monitor(&h);
    watcher.link(&h).unwrap();
    watcher.send(&h, Term::atom("sync")).unwrap();
    s.beam.eval("receive sync -> ok end.");
    s.beam.kill();
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(s.rt.block_on(watcher.recv_timeout(T)).unwrap());
    }
    let down = tuple(vec![
        Term::atom("DOWN"),
        Term::from(r),
        Term::atom("process"),
        Term::Pid(h.clone()),
        Term::atom("noconnection"),
    ]);
    let exit = tuple(vec![Term::atom("EXIT"), Term::Pid(h), Term::atom("noconnection")]);
    assert!(got.contains(&down), "{got:?}");
    assert!(got.contains(&exit), "{got:?}");
    let ev = s.rt.block_on(async {
        loop {
            match tokio::time::timeout(T, events.recv()).await {
                Ok(Ok(beamlink::NodeEvent::Down { node, reason })) if node.as_str() == erl => return reason,
                Ok(Ok(_)) => continue,
                other => panic!("no nodedown: {other:?}"),
            }
        }
    });
    assert!(!ev.is_empty());
    assert!(!s.node.is_connected(&erl));
}

#[test]
fn beamlink_calls_rpc_eval_and_cast_into_erlang() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let n = &s.node;
    let apps =
        s.rt.block_on(n.call(
            ("application_controller", erl.as_str()),
            Term::atom("which_applications"),
            T,
        ))
        .unwrap();
    assert!(
        apps.as_list()
            .unwrap()
            .iter()
            .any(|a| a.as_tuple().unwrap()[0].is_atom("kernel")),
        "{apps:?}"
    );
    let e =
        s.rt.block_on(n.call(("no_such_server", erl.as_str()), Term::atom("x"), T))
            .unwrap_err();
    assert!(matches!(e, beamlink::CallError::NoProc(_)), "{e:?}");
    s.beam
        .eval("register(silent, spawn(fun() -> receive after infinity -> ok end end)).");
    let e =
        s.rt.block_on(n.call(
            ("silent", erl.as_str()),
            Term::atom("x"),
            Duration::from_millis(200),
        ))
        .unwrap_err();
    assert_eq!(e, beamlink::CallError::Timeout);

    assert_eq!(
        s.rt.block_on(n.rpc(&erl, "erlang", "node", vec![], T)),
        Ok(Term::atom(&erl))
    );
    let e =
        s.rt.block_on(n.rpc(&erl, "nomod", "nofun", vec![Term::Int(1)], T))
            .unwrap_err();
    match e {
        RpcError::Exit(x) => assert!(x.as_tuple().unwrap()[0].is_atom("undef"), "{x:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.rt.block_on(n.eval(&erl, "X = 20, X + 22.", T)),
        Ok(Term::Int(42))
    );
    assert!(matches!(
        s.rt.block_on(n.eval(&erl, "X = .", T)),
        Err(beamlink::EvalError::Parse(_))
    ));
    n.cast(
        &erl,
        "erlang",
        "send",
        vec![Term::atom("harness"), Term::atom("cast_arrived")],
    )
    .unwrap();
    assert_eq!(
        s.beam.eval("receive cast_arrived -> yes after 5000 -> no end."),
        "yes"
    );
}

#[test]
fn demonitor_and_unlink_reach_the_beam() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let me = s.node.name().as_str().to_string();
    let mut mb = s.node.mailbox_named("holder").unwrap();
    s.beam.eval(&format!(
        "S = spawn(fun() -> receive after infinity -> ok end end), put(s, S), {{holder, '{me}'}} ! {{s, S}}, ok."
    ));
    let target = s.rt.block_on(mb.recv_timeout(T)).unwrap().as_tuple().unwrap()[1]
        .as_pid()
        .unwrap()
        .clone();
    let r = mb.monitor(&target);
    mb.link(&target).unwrap();
    mb.send(("harness", erl.as_str()), Term::atom("sync")).unwrap();
    s.beam.eval("receive sync -> ok end.");
    let info = "S = get(s), {monitored_by, M} = process_info(S, monitored_by), {links, L} = process_info(S, links), {length(M), length(L)}.";
    assert_eq!(s.beam.eval(info), "{1,1}");
    assert!(mb.demonitor(&r));
    mb.unlink(&target);
    mb.send(("harness", erl.as_str()), Term::atom("sync")).unwrap();
    s.beam.eval("receive sync -> ok end.");
    assert_eq!(s.beam.eval(info), "{0,0}");
}

#[test]
fn stopping_the_node_disconnects_and_unregisters() {
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    assert_eq!(
        s.beam
            .eval(&format!("net_adm:ping('{me}'), monitor_node('{me}', true).")),
        "true"
    );
    let short = me.split('@').next().unwrap().to_string();
    let names = "{ok, Names} = erl_epmd:names(\"127.0.0.1\"), [N || {N, _} <- Names].";
    assert!(s.beam.eval(names).contains(&short));
    s.rt.block_on(s.node.stop());
    assert_eq!(
        s.beam.eval(&format!(
            "receive {{nodedown, '{me}'}} -> down after 5000 -> up end."
        )),
        "down"
    );
    assert!(!s.beam.eval(names).contains(&short));
    let erl = s.beam.node().to_string();
    assert_eq!(
        s.rt.block_on(s.node.ping(&erl)),
        Ping::Pang,
        "a stopped node connects no more"
    );
}

#[test]
fn aliases_work_in_both_directions() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let me = s.node.name().as_str().to_string();
    let mut mb = s.node.mailbox_named("aliased").unwrap();
    // A BEAM alias as a destination.
    s.beam.eval(&format!(
        "A = alias(), put(a, A), {{aliased, '{me}'}} ! {{alias, A}}, ok."
    ));
    let a = s.rt.block_on(mb.recv_timeout(T)).unwrap().as_tuple().unwrap()[1]
        .as_reference()
        .unwrap()
        .clone();
    mb.send(beamlink::Dest::Alias(a), Term::atom("via_alias"))
        .unwrap();
    assert_eq!(
        s.beam.eval("receive via_alias -> got after 5000 -> timeout end."),
        "got"
    );
    // A beamlink alias reached from the BEAM, then deactivated.
    let alias = mb.alias();
    mb.send(
        ("harness", erl.as_str()),
        Term::tuple(vec![Term::atom("alias"), Term::from(alias.clone())]),
    )
    .unwrap();
    s.beam
        .eval("receive {alias, R} -> put(r, R), R ! to_alias, ok end.");
    assert_eq!(s.rt.block_on(mb.recv_timeout(T)).unwrap(), Term::atom("to_alias"));
    assert!(mb.unalias(&alias));
    s.beam.eval(&format!(
        "get(r) ! dropped, {{aliased, '{me}'}} ! after_unalias, ok."
    ));
    assert_eq!(
        s.rt.block_on(mb.recv_timeout(T)).unwrap(),
        Term::atom("after_unalias")
    );
}

#[test]
fn pids_beyond_15_bits_reach_the_beam_and_back() {
    let mut s = setup();
    register_harness(&mut s.beam);
    let erl = s.beam.node().to_string();
    let keep: Vec<beamlink::Mailbox> = (0..40_000).map(|_| s.node.mailbox().unwrap()).collect();
    let mut mb = s.node.mailbox().unwrap();
    assert!(mb.pid().id > 1 << 15, "{:?}", mb.pid());
    mb.send(
        ("harness", erl.as_str()),
        Term::tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]),
    )
    .unwrap();
    s.beam.eval("receive {pid, P} -> P ! {back, P} end.");
    let m = s.rt.block_on(mb.recv_timeout(T)).unwrap();
    assert_eq!(
        m,
        Term::tuple(vec![Term::atom("back"), Term::Pid(mb.pid().clone())])
    );
    drop(keep);
}
