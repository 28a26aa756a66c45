//! The harness itself: nodes start, evaluate, and see each other through a private EPMD.

use beamlink_e2e::{Beam, Epmd};

#[test]
fn erlang_and_elixir_nodes_ping_each_other_through_private_epmd() {
    let epmd = Epmd::start();
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let cookie = a.cookie().to_string();
    let mut b = Beam::elixir().epmd(epmd.port).cookie(&cookie).start();
    assert_eq!(a.eval("1 + 1."), "2");
    assert_eq!(b.eval("1 + 1"), "2");
    assert_eq!(a.eval(&format!("net_adm:ping('{}').", b.node())), "pong");
    assert_eq!(b.eval("Node.list() |> length()"), "1");
}
