//! EPMD-less operation, the EPMD side: a BEAM node started as Phoenix's clustering guide
//! recommends (`-start_epmd false -erl_epmd_port P`) is found through
//! `PortLookup::Fixed(P)` with no EPMD running. (The distribution handshake with it is
//! tested with the distribution layer.)

use std::time::Duration;

use beamlink_e2e::{free_port, Beam};
use beamlink_epmd::{DistAddress, EpmdClient, PortLookup};

#[test]
fn fixed_port_finds_a_node_started_without_epmd() {
    let dist_port = free_port();
    // A private, unused EPMD port too, so that nothing can answer there by accident.
    let no_epmd = free_port();
    let mut node = Beam::erlang()
        .epmd(no_epmd)
        .arg("-start_epmd")
        .arg("false")
        .arg("-erl_epmd_port")
        .arg(&dist_port.to_string())
        .start();
    // The node is distributed and listens on the fixed port.
    assert_eq!(node.eval("is_alive()."), "true");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // No EPMD answers ...
    let client = EpmdClient::new("127.0.0.1", no_epmd).connect_timeout(Duration::from_secs(2));
    assert!(rt.block_on(client.names()).is_err());
    // ... yet the fixed lookup gives the port the node listens on, as erl_call's
    // `-address` form would.
    let address: DistAddress = format!("127.0.0.1:{dist_port}").parse().unwrap();
    let found = rt.block_on(address.lookup().resolve(node.node())).unwrap();
    assert_eq!(found.port, dist_port);
    assert_eq!(found.host, "127.0.0.1");
    assert_eq!(
        rt.block_on(PortLookup::Fixed(dist_port).resolve(node.node()))
            .unwrap(),
        found
    );
    let listening = rt.block_on(tokio::net::TcpStream::connect(("127.0.0.1", found.port)));
    assert!(listening.is_ok(), "the node listens on the fixed port");
}
