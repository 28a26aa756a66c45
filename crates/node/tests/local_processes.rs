//! Processes on one node: messages, selective receive, links, monitors, names, aliases.

use beamlink::{Dest, Error, Node, RecvError, Term};
use std::time::Duration;

fn node() -> Node {
    Node::local("local@127.0.0.1").unwrap()
}

const SHORT: Duration = Duration::from_millis(50);

fn down_reason(m: &Term) -> Option<&Term> {
    match m.as_tuple() {
        Some([tag, _, kind, _, reason]) if tag.is_atom("DOWN") && kind.is_atom("process") => Some(reason),
        _ => None,
    }
}

#[tokio::test]
async fn send_and_receive_in_order_by_pid_and_name() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox_named("bee").unwrap();
    assert_eq!(n.whereis("bee").as_ref(), Some(b.pid()));
    for i in 0..3 {
        a.send(b.pid(), Term::Int(i)).unwrap();
    }
    a.send("bee", Term::atom("by_name")).unwrap();
    a.send(("bee", "local@127.0.0.1"), Term::atom("by_remote_form"))
        .unwrap();
    for i in 0..3 {
        assert_eq!(b.recv().await.unwrap(), Term::Int(i));
    }
    assert_eq!(b.recv().await.unwrap(), Term::atom("by_name"));
    assert_eq!(b.recv().await.unwrap(), Term::atom("by_remote_form"));
    assert_eq!(b.recv_timeout(SHORT).await, Err(RecvError::Timeout));
    assert!(matches!(
        a.send("nobody", Term::nil()),
        Err(Error::NotRegistered(_))
    ));
}

#[tokio::test]
async fn selective_receive_keeps_other_messages_in_order() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    for i in 1..=5 {
        a.send(b.pid(), Term::Int(i)).unwrap();
    }
    let four = b.recv_match(|m| m.as_i64() == Some(4), None).await.unwrap();
    assert_eq!(four, Term::Int(4));
    let none = b.recv_match(|m| m.as_i64() == Some(9), Some(SHORT)).await;
    assert_eq!(none, Err(RecvError::Timeout));
    a.send(b.pid(), Term::Int(6)).unwrap();
    let mut rest = Vec::new();
    while let Ok(Some(m)) = b.try_recv() {
        rest.push(m.as_i64().unwrap());
    }
    assert_eq!(rest, vec![1, 2, 3, 5, 6]);
}

#[tokio::test]
async fn a_waiting_selective_receive_wakes_on_a_late_match() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    let to = b.pid().clone();
    let waiter = tokio::spawn(async move {
        let m = b
            .recv_match(|m| m.is_atom("wanted"), Some(Duration::from_secs(5)))
            .await;
        (m, b.try_recv())
    });
    a.send(&to, Term::atom("other")).unwrap();
    a.send(&to, Term::atom("wanted")).unwrap();
    let (m, rest) = waiter.await.unwrap();
    assert_eq!(m.unwrap(), Term::atom("wanted"));
    assert_eq!(rest.unwrap(), Some(Term::atom("other")));
}

#[tokio::test]
async fn dropping_a_mailbox_fires_monitors_with_normal_and_frees_its_name() {
    let n = node();
    let mut watcher = n.mailbox().unwrap();
    let target = n.mailbox_named("doomed").unwrap();
    let r = watcher.monitor(target.pid());
    let by_name = watcher.monitor_name("doomed", "local@127.0.0.1");
    let pid = target.pid().clone();
    drop(target);
    let m1 = watcher.recv().await.unwrap();
    let m2 = watcher.recv().await.unwrap();
    assert_eq!(down_reason(&m1), Some(&Term::atom("normal")));
    assert_eq!(down_reason(&m2), Some(&Term::atom("normal")));
    let [_, r1, _, obj1, _] = m1.as_tuple_n::<5>().unwrap();
    let [_, r2, _, obj2, _] = m2.as_tuple_n::<5>().unwrap();
    let mut got = vec![(r1.clone(), obj1.clone()), (r2.clone(), obj2.clone())];
    got.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    let mut want = vec![
        (Term::from(r), Term::Pid(pid.clone())),
        (
            Term::from(by_name),
            Term::tuple(vec![Term::atom("doomed"), Term::atom("local@127.0.0.1")]),
        ),
    ];
    want.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
    assert_eq!(got, want);
    assert!(n.whereis("doomed").is_none());
    assert!(!n.is_alive(&pid));
}

#[tokio::test]
async fn monitor_of_dead_or_unregistered_gives_noproc_and_demonitor_flush_removes_down() {
    let n = node();
    let mut w = n.mailbox().unwrap();
    let gone = n.mailbox().unwrap();
    let pid = gone.pid().clone();
    drop(gone);
    w.monitor(&pid);
    assert_eq!(down_reason(&w.recv().await.unwrap()), Some(&Term::atom("noproc")));
    w.monitor_name("nobody", "local@127.0.0.1");
    assert_eq!(down_reason(&w.recv().await.unwrap()), Some(&Term::atom("noproc")));

    let t = n.mailbox().unwrap();
    let r = w.monitor(t.pid());
    assert!(w.demonitor(&r));
    assert!(!w.demonitor(&r));
    t.close(Term::atom("shutdown"));
    assert_eq!(
        w.recv_timeout(SHORT).await,
        Err(RecvError::Timeout),
        "no DOWN after demonitor"
    );

    let t = n.mailbox().unwrap();
    let r = w.monitor(t.pid());
    t.close(Term::atom("bye"));
    assert!(!w.is_empty());
    assert!(!w.demonitor_flush(&r));
    assert!(w.is_empty(), "flush removed the DOWN");
}

#[tokio::test]
async fn link_exit_ends_the_linked_process_unless_it_traps() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    let mut watcher = n.mailbox().unwrap();
    b.link(a.pid()).unwrap();
    watcher.monitor(b.pid());
    a.close(Term::atom("crashed"));
    assert_eq!(b.recv().await, Err(RecvError::Exited(Term::atom("crashed"))));
    assert!(!b.is_alive());
    assert_eq!(
        down_reason(&watcher.recv().await.unwrap()),
        Some(&Term::atom("crashed"))
    );

    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    b.trap_exit(true);
    a.link(b.pid()).unwrap();
    let a_pid = a.pid().clone();
    a.close(Term::atom("crashed"));
    let m = b.recv().await.unwrap();
    assert_eq!(
        m,
        Term::tuple(vec![Term::atom("EXIT"), Term::Pid(a_pid), Term::atom("crashed")])
    );
    assert!(b.is_alive());
}

#[tokio::test]
async fn normal_exit_over_a_link_is_ignored_and_unlink_stops_propagation() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    b.link(a.pid()).unwrap();
    drop(a);
    assert_eq!(b.recv_timeout(SHORT).await, Err(RecvError::Timeout));
    assert!(b.is_alive());

    let a = n.mailbox().unwrap();
    b.link(a.pid()).unwrap();
    b.unlink(a.pid());
    a.close(Term::atom("boom"));
    assert_eq!(b.recv_timeout(SHORT).await, Err(RecvError::Timeout));
    assert!(b.is_alive());
}

#[tokio::test]
async fn exit2_kill_is_untrappable_and_chains_propagate() {
    let n = node();
    let killer = n.mailbox().unwrap();
    let mut victim = n.mailbox().unwrap();
    victim.trap_exit(true);
    // A chain of 1,000 linked processes, all ending when the first is killed.
    let mut chain = vec![n.mailbox().unwrap()];
    for _ in 0..1000 {
        let next = n.mailbox().unwrap();
        next.link(chain.last().unwrap().pid()).unwrap();
        chain.push(next);
    }
    victim.link(chain.last().unwrap().pid()).unwrap();
    killer.exit(chain[0].pid(), Term::atom("kill"));
    let m = victim.recv().await.unwrap();
    assert_eq!(
        m.as_tuple().unwrap()[2],
        Term::atom("killed"),
        "killed propagates over links"
    );
    assert!(chain.iter().all(|m| !m.is_alive()));

    killer.exit(victim.pid(), Term::atom("please"));
    assert!(victim.recv().await.unwrap().as_tuple().unwrap()[2].is_atom("please"));
    killer.exit(victim.pid(), Term::atom("kill"));
    assert_eq!(victim.recv().await, Err(RecvError::Exited(Term::atom("killed"))));
}

#[tokio::test]
async fn link_to_a_dead_pid_is_noproc() {
    let n = node();
    let mut a = n.mailbox().unwrap();
    let gone = n.mailbox().unwrap();
    let pid = gone.pid().clone();
    drop(gone);
    assert!(matches!(a.link(&pid), Err(Error::NoProc(_))));
    a.trap_exit(true);
    a.link(&pid).unwrap();
    let m = a.recv().await.unwrap();
    assert_eq!(
        m,
        Term::tuple(vec![Term::atom("EXIT"), Term::Pid(pid), Term::atom("noproc")])
    );
}

#[tokio::test]
async fn aliases_reach_the_process_until_unaliased() {
    let n = node();
    let a = n.mailbox().unwrap();
    let mut b = n.mailbox().unwrap();
    let alias = b.alias();
    a.send(Dest::Alias(alias.clone()), Term::Int(1)).unwrap();
    assert_eq!(b.recv().await.unwrap(), Term::Int(1));
    assert!(b.unalias(&alias));
    a.send(Dest::Alias(alias), Term::Int(2)).unwrap();
    assert_eq!(b.recv_timeout(SHORT).await, Err(RecvError::Timeout));
}

#[tokio::test]
async fn names_are_unique_and_released() {
    let n = node();
    let before = n.process_count();
    let a = n.mailbox_named("one").unwrap();
    assert!(matches!(n.mailbox_named("one"), Err(Error::NameTaken(_))));
    a.unregister();
    let b = n.mailbox_named("one").unwrap();
    assert_eq!(n.whereis("one").as_ref(), Some(b.pid()));
    assert_eq!(n.process_count(), before + 2);
}

#[tokio::test]
async fn remote_link_and_monitor_without_connection_fire_noconnection() {
    let n = node();
    let mut a = n.mailbox().unwrap();
    a.trap_exit(true);
    let remote = beamlink::Pid {
        node: "elsewhere@127.0.0.1".into(),
        id: 80,
        serial: 0,
        creation: 1,
    };
    let r = a.monitor(&remote);
    let m = a.recv().await.unwrap();
    assert_eq!(down_reason(&m), Some(&Term::atom("noconnection")));
    assert_eq!(m.as_tuple().unwrap()[1], Term::from(r));
    a.link(&remote).unwrap();
    let m = a.recv().await.unwrap();
    assert_eq!(
        m,
        Term::tuple(vec![
            Term::atom("EXIT"),
            Term::Pid(remote),
            Term::atom("noconnection")
        ])
    );
}

#[tokio::test]
async fn call_a_local_gen_server_mailbox_and_get_typed_errors() {
    use beamlink::gen_server::GenMessage;
    use beamlink::CallError;
    let n = node();
    let mut server = n.mailbox_named("srv").unwrap();
    let task = tokio::spawn(async move {
        // Serve two calls, then end with a reason while a third call waits.
        for _ in 0..2 {
            let GenMessage::Call(c) = GenMessage::parse(server.recv().await.unwrap()) else {
                panic!()
            };
            let reply = Term::tuple(vec![Term::atom("echo"), c.request.clone()]);
            c.reply(&server, reply).unwrap();
        }
        let _third = server.recv().await.unwrap();
        server.close(Term::atom("stopped"));
    });
    let r = n.call("srv", Term::Int(1), Duration::from_secs(5)).await.unwrap();
    assert_eq!(r, Term::tuple(vec![Term::atom("echo"), Term::Int(1)]));
    let r = n
        .call(("srv", "local@127.0.0.1"), Term::Int(2), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r, Term::tuple(vec![Term::atom("echo"), Term::Int(2)]));
    let e = n
        .call("srv", Term::Int(3), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e, CallError::Exit(Term::atom("stopped")));
    task.await.unwrap();
    assert!(matches!(
        n.call("srv", Term::Int(4), Duration::from_secs(5)).await,
        Err(CallError::NoProc(_))
    ));
    let processes = n.process_count();
    let _idle = n.mailbox_named("idle").unwrap();
    assert_eq!(n.call("idle", Term::Int(5), SHORT).await, Err(CallError::Timeout));
    assert_eq!(
        n.process_count(),
        processes + 1,
        "the call's process is gone after the timeout"
    );
}

#[tokio::test]
async fn rex_runs_registered_functions_and_reports_undef_as_the_beam_does() {
    use beamlink::{Ping, RpcError};
    let n = node();
    n.register_rpc("math", "add", |args| match args.as_slice() {
        [Term::Int(a), Term::Int(b)] => Ok(Term::Int(a + b)),
        _ => Err(Term::atom("badarg")),
    });
    let me = "local@127.0.0.1";
    let t = Duration::from_secs(5);
    assert_eq!(
        n.rpc(me, "math", "add", vec![Term::Int(2), Term::Int(3)], t)
            .await,
        Ok(Term::Int(5))
    );
    let undef = n
        .rpc(me, "math", "nope", vec![Term::Int(1)], t)
        .await
        .unwrap_err();
    let frame = Term::tuple(vec![
        Term::atom("math"),
        Term::atom("nope"),
        Term::list(vec![Term::Int(1)]),
        Term::nil(),
    ]);
    assert_eq!(
        undef,
        RpcError::Exit(Term::tuple(vec![Term::atom("undef"), Term::list(vec![frame])]))
    );
    let bad = n
        .rpc(me, "math", "add", vec![Term::atom("x")], t)
        .await
        .unwrap_err();
    assert!(
        matches!(bad, RpcError::Exit(ref x) if x.as_tuple().unwrap()[0].is_atom("badarg")),
        "{bad:?}"
    );
    assert_eq!(n.ping(me).await, Ping::Pong);
    assert_eq!(n.ping("nobody@127.0.0.1").await, Ping::Pang);
    assert!(matches!(
        n.rpc("nobody@127.0.0.1", "m", "f", vec![], t).await,
        Err(RpcError::NodeDown(_))
    ));
}
