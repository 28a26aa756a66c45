//! The beamlink node against a real Elixir node: `Node.ping`, `Node.list(:hidden)`,
//! `send`, `GenServer.call`, `:rpc.call`, `Process.monitor`, `Process.link`, and
//! beamlink's call, rpc, eval and ping into Elixir.

use beamlink::{Ping, Term};
use beamlink_e2e::{Beam, NodeBeside};
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn setup() -> NodeBeside {
    NodeBeside::start(Beam::elixir())
}

#[test]
fn elixir_pings_lists_sends_calls_and_rpcs_into_beamlink() {
    use beamlink::gen_server::GenMessage;
    let mut s = setup();
    let me = s.node.name().as_str().to_string();
    assert_eq!(s.beam.eval(&format!("Node.ping(:\"{me}\")")), ":pong");
    assert_eq!(s.beam.eval(&format!(":\"{me}\" in Node.list(:hidden)")), "true");
    assert_eq!(s.beam.eval(&format!(":\"{me}\" in Node.list()")), "false");

    let mut inbox = s.node.mailbox_named("inbox").unwrap();
    s.beam
        .eval(&format!("send({{:inbox, :\"{me}\"}}, {{:hello, self()}})"));
    let m = s.rt.block_on(inbox.recv_timeout(T)).unwrap();
    let [tag, from] = m.as_tuple_n::<2>().unwrap();
    assert!(tag.is_atom("hello"));
    inbox
        .send(
            from.as_pid().unwrap(),
            Term::tuple(vec![Term::atom("reply"), Term::Int(42)]),
        )
        .unwrap();
    assert_eq!(
        s.beam
            .eval("receive do {:reply, x} -> x after 5000 -> :timeout end"),
        "42"
    );

    let mut srv = s.node.mailbox_named("srv").unwrap();
    s.rt.spawn(async move {
        while let Ok(m) = srv.recv().await {
            if let GenMessage::Call(c) = GenMessage::parse(m) {
                let reply = Term::tuple(vec![Term::atom("pong"), c.request.clone()]);
                c.reply(&srv, reply).unwrap();
            }
        }
    });
    assert_eq!(
        s.beam
            .eval(&format!("GenServer.call({{:srv, :\"{me}\"}}, :hello)")),
        "{:pong, :hello}"
    );
    let noproc = s.beam.eval(&format!(
        "try do GenServer.call({{:nosuch, :\"{me}\"}}, :x, 2000) catch :exit, {{r, _}} -> r end"
    ));
    assert_eq!(noproc, ":noproc");

    s.node
        .register_rpc("Elixir.Rust.Math", "add", |args| match args.as_slice() {
            [Term::Int(a), Term::Int(b)] => Ok(Term::Int(a + b)),
            _ => Err(Term::atom("badarg")),
        });
    assert_eq!(
        s.beam
            .eval(&format!(":rpc.call(:\"{me}\", Rust.Math, :add, [2, 3])")),
        "5"
    );
    assert_eq!(
        s.beam
            .eval(&format!(":rpc.call(:\"{me}\", Rust.Math, :nope, [1])")),
        "{:badrpc, {:EXIT, {:undef, [{Rust.Math, :nope, [1], []}]}}}"
    );
}

#[test]
fn elixir_monitors_and_links_beamlink_processes() {
    let mut s = setup();
    let ex = s.beam.node().to_string();
    assert_eq!(s.beam.eval("Process.register(self(), :harness)"), "true");
    let mut mb = s.node.mailbox().unwrap();
    mb.send(
        ("harness", ex.as_str()),
        Term::tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]),
    )
    .unwrap();
    let r = s.beam.eval(
        "receive do {:pid, p} -> Process.put(:p, p); Process.monitor(p); send(p, :monitored); :ok after 5000 -> :timeout end",
    );
    assert_eq!(r, ":ok");
    assert_eq!(
        s.rt.block_on(mb.recv_timeout(T)).unwrap(),
        Term::atom("monitored")
    );
    mb.close(Term::atom("went_away"));
    let down = s
        .beam
        .eval("p = Process.get(:p); receive do {:DOWN, _, :process, ^p, r} -> r after 5000 -> :timeout end");
    assert_eq!(down, ":went_away");

    // Elixir links to a mailbox that is dropped with an abnormal reason.
    let mut mb = s.node.mailbox().unwrap();
    mb.send(
        ("harness", ex.as_str()),
        Term::tuple(vec![Term::atom("pid"), Term::Pid(mb.pid().clone())]),
    )
    .unwrap();
    let r = s.beam.eval(
        "Process.flag(:trap_exit, true); receive do {:pid, p} -> Process.put(:p, p); Process.link(p); send(p, :linked); :ok after 5000 -> :timeout end",
    );
    assert_eq!(r, ":ok");
    assert_eq!(s.rt.block_on(mb.recv_timeout(T)).unwrap(), Term::atom("linked"));
    mb.close(Term::atom("boom"));
    let exit = s
        .beam
        .eval("p = Process.get(:p); receive do {:EXIT, ^p, r} -> r after 5000 -> :timeout end");
    assert_eq!(exit, ":boom");
}

#[test]
fn beamlink_calls_rpc_eval_and_ping_into_elixir() {
    let s = setup();
    let ex = s.beam.node().to_string();
    let n = &s.node;
    assert_eq!(s.rt.block_on(n.ping(&ex)), Ping::Pong);
    let up =
        s.rt.block_on(n.rpc(&ex, "Elixir.String", "upcase", vec![Term::binary(&b"abc"[..])], T));
    assert_eq!(up, Ok(Term::binary(&b"ABC"[..])));
    let apps =
        s.rt.block_on(n.call(
            ("application_controller", ex.as_str()),
            Term::atom("which_applications"),
            T,
        ))
        .unwrap();
    assert!(
        apps.as_list()
            .unwrap()
            .iter()
            .any(|a| a.as_tuple().unwrap()[0].is_atom("elixir")),
        "{apps:?}"
    );
    assert_eq!(
        s.rt.block_on(n.eval(&ex, "lists:sum([1, 2, 3]).", T)),
        Ok(Term::Int(6))
    );
}
