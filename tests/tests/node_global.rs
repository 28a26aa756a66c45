//! A visible beamlink node in a cluster of real Erlang/Elixir nodes that use OTP's
//! `global`: `global:sync/0` returns, names registered on one BEAM node reach the others,
//! `global:trans/2` and `global:set_lock/1,3` work (the beamlink node keeps its share of
//! the locks), and the beamlink node leaving disturbs nothing.
//!
//! Every call into `global` on a BEAM node runs guarded ([`guarded`]): a hang shows up as
//! the atom `hung`, an assertion failure, instead of a test that never ends.

use beamlink::{EpmdMode, Node, Term};
use beamlink_e2e::{eventually, node_runtime, random_cookie, unique_name, Beam, Epmd};
use std::time::Duration;

/// How long a guarded expression may take on the BEAM node. `global`'s lockers retry
/// every 1 to 3 seconds, so a session can take a few seconds.
const GUARD_MS: u64 = 15_000;

/// `Expr` evaluated in a fresh process; `hung` if it has not returned within
/// [`GUARD_MS`] (the process is then killed).
fn guarded(expr: &str) -> String {
    format!(
        "G__Self = self(), G__Pid = spawn(fun() -> G__Self ! {{g__done, self(), ({expr})}} end), \
         receive {{g__done, G__Pid, G__R}} -> G__R after {GUARD_MS} -> exit(G__Pid, kill), hung end."
    )
}

/// Two Erlang nodes and a visible beamlink node on one private EPMD, with one cookie.
/// Nothing is connected yet.
struct Cluster {
    a: Beam,
    b: Beam,
    rt: tokio::runtime::Runtime,
    v: Node,
    epmd: Epmd,
}

impl Cluster {
    fn start() -> Cluster {
        let epmd = Epmd::start();
        let cookie = random_cookie();
        let a = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
        let b = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
        let rt = node_runtime();
        let v = rt
            .block_on(
                Node::builder(&format!("{}@127.0.0.1", unique_name("vis")))
                    .cookie(&cookie)
                    .hidden(false)
                    .epmd(EpmdMode::External { port: epmd.port })
                    .start(),
            )
            .expect("start the visible beamlink node");
        Cluster { a, b, rt, v, epmd }
    }

    fn v_name(&self) -> String {
        self.v.name().as_str().to_string()
    }

    /// The bug's setting: A pings V, then A pings B.
    fn connect_v_then_b(&mut self) {
        let v = self.v_name();
        let b = self.b.node().to_string();
        assert_eq!(self.a.eval(&format!("net_adm:ping('{v}').")), "pong");
        assert_eq!(self.a.eval(&format!("net_adm:ping('{b}').")), "pong");
    }
}

/// `global:sync()` on `beam` returns `ok`; if not, the assertion shows global's state.
fn sync(beam: &mut Beam) {
    let r = beam.eval(&guarded("global:sync()"));
    if r != "ok" {
        let state = beam.eval(
            "{nodes(), element(3, sys:get_state(global_name_server)), \
             element(4, sys:get_state(global_name_server))}.",
        );
        panic!(
            "global:sync() on {} gave {r}; {{nodes(), known, synced}}: {state}",
            beam.node()
        );
    }
}

/// A process on the BEAM node that waits for `stop`, registered globally as `name`.
fn register(beam: &mut Beam, name: &str) -> String {
    beam.eval(&guarded(&format!(
        "global:register_name({name}, spawn(fun() -> receive stop -> ok end end))"
    )))
}

#[test]
fn global_sync_returns_and_names_cross_a_cluster_with_a_visible_node() {
    let mut c = Cluster::start();
    c.connect_v_then_b();
    sync(&mut c.a);
    sync(&mut c.b);

    // Names registered on A are seen on B, and the other way round.
    assert_eq!(register(&mut c.a, "from_a"), "yes");
    assert_eq!(register(&mut c.b, "from_b"), "yes");
    let a_node = c.a.node().to_string();
    let b_node = c.b.node().to_string();
    assert_eq!(
        c.b.eval("node(global:whereis_name(from_a))."),
        format!("'{a_node}'")
    );
    assert_eq!(
        c.a.eval("node(global:whereis_name(from_b))."),
        format!("'{b_node}'")
    );

    // global connected B to V through A, as it does for a BEAM node.
    let v = c.v_name();
    let b = &mut c.b;
    assert!(
        eventually(Duration::from_secs(10), || b
            .eval(&format!("lists:member('{v}', nodes())."))
            == "true"),
        "B never connected to the visible beamlink node"
    );
    sync(&mut c.b);

    // The beamlink node heard of both registrations.
    let from_a = c.rt.block_on(c.v.whereis_global(&Term::atom("from_a")));
    assert_eq!(from_a.map(|p| p.node.as_str().to_string()), Some(a_node.clone()));
    let from_b = c.rt.block_on(c.v.whereis_global(&Term::atom("from_b")));
    assert_eq!(from_b.map(|p| p.node.as_str().to_string()), Some(b_node));

    // Unregistering reaches B and V; a registered process that ends loses its name.
    assert_eq!(c.a.eval(&guarded("global:unregister_name(from_a)")), "ok");
    assert_eq!(c.b.eval("global:whereis_name(from_a)."), "undefined");
    assert_eq!(c.rt.block_on(c.v.whereis_global(&Term::atom("from_a"))), None);
    assert_eq!(c.b.eval("global:send(from_b, stop), ok."), "ok");
    let (v, rt) = (&c.v, &c.rt);
    assert!(
        eventually(Duration::from_secs(10), || rt
            .block_on(v.whereis_global(&Term::atom("from_b")))
            .is_none()),
        "the name of a process that ended stayed on the beamlink node"
    );
    assert_eq!(c.a.eval("global:whereis_name(from_b)."), "undefined");
}

#[test]
fn global_trans_and_locks_include_a_visible_node() {
    let mut c = Cluster::start();
    c.connect_v_then_b();
    sync(&mut c.a);
    sync(&mut c.b);
    let v = c.v_name();
    assert_eq!(
        c.a.eval(&format!("lists:member('{v}', nodes()).")),
        "true",
        "the lock calls below must include the beamlink node"
    );

    assert_eq!(
        c.a.eval(&guarded("global:trans({res, self()}, fun() -> in_trans end)")),
        "in_trans"
    );
    assert_eq!(
        c.b.eval(&guarded("global:trans({res, self()}, fun() -> in_trans end)")),
        "in_trans"
    );

    // A lock set from A on every node, V included, keeps B out until A deletes it.
    assert_eq!(
        c.a.eval("global:set_lock({shared, holder_a}, [node() | nodes()], 0)."),
        "true"
    );
    assert_eq!(
        c.b.eval("global:set_lock({shared, holder_b}, [node() | nodes()], 0)."),
        "false"
    );
    // V alone holds its share: a lock on V only is refused too.
    assert_eq!(
        c.b.eval(&format!("global:set_lock({{shared, holder_b}}, ['{v}'], 0).")),
        "false"
    );
    assert_eq!(
        c.a.eval("global:del_lock({shared, holder_a}, [node() | nodes()])."),
        "true"
    );
    assert_eq!(
        c.b.eval("global:set_lock({shared, holder_b}, [node() | nodes()], 0)."),
        "true"
    );
    assert_eq!(
        c.b.eval("global:del_lock({shared, holder_b}, [node() | nodes()])."),
        "true"
    );

    // A lock on V whose holder ends is released on V.
    assert_eq!(
        c.a.eval(&format!(
            "begin G__P = spawn(fun() -> true = global:set_lock({{dying, a}}, ['{v}'], 0), \
             receive stop -> ok end end), timer:sleep(200), exit(G__P, kill), ok end."
        )),
        "ok"
    );
    let b = &mut c.b;
    assert!(
        eventually(Duration::from_secs(10), || b
            .eval(&format!("global:set_lock({{dying, b}}, ['{v}'], 0)."))
            == "true"),
        "the lock of a process that ended stayed set on the beamlink node"
    );
}

#[test]
fn a_visible_node_leaving_leaves_global_working() {
    let mut c = Cluster::start();
    c.connect_v_then_b();
    sync(&mut c.a);
    sync(&mut c.b);
    let a_node = c.a.node().to_string();
    let b_node = c.b.node().to_string();
    let v_name = c.v_name();

    // V drops A. A's global tells B (OTP 25 prevents overlapping partitions), which
    // asks V to drop it too; A or B may connect to V again (their lockers delete their
    // locks on every node they locked). A and B stay connected and in sync.
    assert!(c.rt.block_on(c.v.disconnect(&a_node)));
    assert_eq!(c.a.eval(&format!("lists:member('{b_node}', nodes()).")), "true");
    sync(&mut c.a);
    sync(&mut c.b);
    assert_eq!(register(&mut c.a, "after_drop"), "yes");
    assert_eq!(
        c.b.eval("node(global:whereis_name(after_drop))."),
        format!("'{a_node}'")
    );

    // V is welcome again, then stops for good: A and B carry on.
    let b = &mut c.b;
    assert!(
        eventually(Duration::from_secs(10), || b
            .eval(&format!("net_adm:ping('{v_name}')."))
            == "pong"),
        "B could not reach the beamlink node again"
    );
    sync(&mut c.b);
    sync(&mut c.a);
    c.rt.block_on(c.v.stop());
    for beam in [&mut c.a, &mut c.b] {
        assert!(
            eventually(Duration::from_secs(10), || beam
                .eval(&format!("lists:member('{v_name}', nodes())."))
                == "false"),
            "{} still lists the stopped node",
            beam.node()
        );
    }
    assert_eq!(c.a.eval(&format!("lists:member('{b_node}', nodes()).")), "true");
    sync(&mut c.a);
    sync(&mut c.b);
    assert_eq!(register(&mut c.b, "after_stop"), "yes");
    assert_eq!(
        c.a.eval("node(global:whereis_name(after_stop))."),
        format!("'{b_node}'")
    );
    assert_eq!(
        c.a.eval(&guarded("global:trans({res, self()}, fun() -> done end)")),
        "done"
    );
}

/// [`guarded`] for an Elixir node.
fn guarded_ex(expr: &str) -> String {
    format!(
        "t = Task.async(fn -> {expr} end); \
         case Task.yield(t, {GUARD_MS}) || Task.shutdown(t, :brutal_kill) do {{:ok, r}} -> r; _ -> :hung end"
    )
}

#[test]
fn an_elixir_node_syncs_and_shares_names_with_a_visible_node_around() {
    let epmd = Epmd::start();
    let cookie = random_cookie();
    let mut ex = Beam::elixir().epmd(epmd.port).cookie(&cookie).start();
    let mut erl = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
    let rt = node_runtime();
    let v = rt
        .block_on(
            Node::builder(&format!("{}@127.0.0.1", unique_name("vis")))
                .cookie(&cookie)
                .hidden(false)
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .expect("start the visible beamlink node");
    let v_name = v.name().as_str().to_string();
    let erl_node = erl.node().to_string();
    assert_eq!(ex.eval(&format!(":net_adm.ping(:\"{v_name}\")")), ":pong");
    assert_eq!(ex.eval(&format!(":net_adm.ping(:\"{erl_node}\")")), ":pong");
    assert_eq!(ex.eval(&guarded_ex(":global.sync()")), ":ok");
    sync(&mut erl);
    let reg = ":global.register_name(:from_elixir, spawn(fn -> receive do :stop -> :ok end end))";
    assert_eq!(ex.eval(&guarded_ex(reg)), ":yes");
    assert_eq!(
        erl.eval("node(global:whereis_name(from_elixir))."),
        format!("'{}'", ex.node())
    );
    assert_eq!(register(&mut erl, "from_erlang"), "yes");
    assert_eq!(
        ex.eval("node(:global.whereis_name(:from_erlang))"),
        format!(":\"{erl_node}\"")
    );
    let from_ex = rt.block_on(v.whereis_global(&Term::atom("from_elixir")));
    assert_eq!(
        from_ex.map(|p| p.node.as_str().to_string()),
        Some(ex.node().to_string())
    );
    assert_eq!(
        ex.eval(&guarded_ex(":global.trans({:res, self()}, fn -> :in_trans end)")),
        ":in_trans"
    );
}

#[test]
fn beam_nodes_that_meet_only_through_a_visible_node_each_keep_global_working() {
    let mut c = Cluster::start();
    let v = c.v_name();
    assert_eq!(c.a.eval(&format!("net_adm:ping('{v}').")), "pong");
    assert_eq!(c.b.eval(&format!("net_adm:ping('{v}').")), "pong");
    sync(&mut c.a);
    sync(&mut c.b);
    // A beamlink node reports no known nodes, so it does not introduce A and B to each
    // other as a BEAM node would: each stays a global partition with V.
    let b_node = c.b.node().to_string();
    assert_eq!(c.a.eval(&format!("lists:member('{b_node}', nodes()).")), "false");
    assert_eq!(register(&mut c.a, "only_a"), "yes");
    assert_eq!(register(&mut c.b, "only_b"), "yes");
    assert_eq!(
        c.a.eval(&guarded("global:trans({res, self()}, fun() -> a end)")),
        "a"
    );
    assert_eq!(
        c.b.eval(&guarded("global:trans({res, self()}, fun() -> b end)")),
        "b"
    );
    // Once they meet, their names merge.
    assert_eq!(c.a.eval(&format!("net_adm:ping('{b_node}').")), "pong");
    sync(&mut c.a);
    sync(&mut c.b);
    assert_eq!(
        c.b.eval("node(global:whereis_name(only_a))."),
        format!("'{}'", c.a.node())
    );
    assert_eq!(
        c.a.eval("node(global:whereis_name(only_b))."),
        format!("'{b_node}'")
    );
}

#[test]
fn two_visible_beamlink_nodes_in_one_cluster_leave_global_working() {
    let mut c = Cluster::start();
    let v2 =
        c.rt.block_on(
            Node::builder(&format!("{}@127.0.0.1", unique_name("vis2")))
                .cookie(c.a.cookie())
                .hidden(false)
                .epmd(EpmdMode::External { port: c.epmd.port })
                .start(),
        )
        .expect("start a second visible beamlink node");
    let v2_name = v2.name().as_str().to_string();
    c.connect_v_then_b();
    assert_eq!(c.b.eval(&format!("net_adm:ping('{v2_name}').")), "pong");
    sync(&mut c.a);
    sync(&mut c.b);
    assert_eq!(register(&mut c.a, "with_two"), "yes");
    assert_eq!(
        c.b.eval("node(global:whereis_name(with_two))."),
        format!("'{}'", c.a.node())
    );
    assert_eq!(
        c.b.eval(&guarded("global:trans({res, self()}, fun() -> two end)")),
        "two"
    );
    let a_node = c.a.node().to_string();
    let seen = c.rt.block_on(v2.whereis_global(&Term::atom("with_two")));
    assert_eq!(seen.map(|p| p.node.as_str().to_string()), Some(a_node));
}
