//! beamlink's EPMD client against the real `epmd` (a private one per test) and real `erl`.

use std::time::Duration;

use beamlink_e2e::{eventually, free_port, unique_name, Beam, Epmd};
use beamlink_epmd::protocol::KillResponse;
use beamlink_epmd::{EpmdClient, Error, Lookup, NodeEntry, NodeType, PortLookup};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn register_lookup_names_and_unregister_on_drop_with_real_epmd() {
    let epmd = Epmd::start();
    let rt = rt();
    let client = EpmdClient::new("127.0.0.1", epmd.port);
    let name = unique_name("bl");
    let entry = NodeEntry {
        extra: vec![9, 8],
        ..NodeEntry::new(name.clone(), 40_001)
    };
    let reg = rt.block_on(client.register(&entry)).unwrap();
    assert_ne!(reg.creation(), 0, "OTP 23+ epmd gives non-zero 32-bit creations");
    assert_eq!(reg.name(), name);

    // The real epmd hands our entry back as we registered it.
    match rt.block_on(client.port_please(&name)).unwrap() {
        Lookup::Registered(e) => {
            assert_eq!(e.port, 40_001);
            assert_eq!(e.node_type, NodeType::Hidden);
            assert_eq!((e.highest_version, e.lowest_version), (6, 6));
            assert_eq!(e.extra, [9, 8]);
        }
        Lookup::NotRegistered => panic!("{name} should be registered"),
    }
    let names = rt.block_on(client.names()).unwrap();
    assert!(
        names.iter().any(|n| n.name == name && n.port == 40_001),
        "{names:?}"
    );
    assert!(rt
        .block_on(client.dump())
        .unwrap()
        .contains(&format!("<{name}> at port 40001")));

    // A second registration of the same name is refused while the first lives.
    match rt.block_on(client.register(&NodeEntry::new(name.clone(), 40_002))) {
        Err(Error::NameRefused { name: n, .. }) => assert_eq!(n, name),
        other => panic!("duplicate registration should be refused, got {other:?}"),
    }

    // Dropping the registration closes its connection: epmd forgets the node.
    let first = reg.creation();
    drop(reg);
    assert!(eventually(Duration::from_secs(5), || {
        rt.block_on(client.port_please(&name)).unwrap() == Lookup::NotRegistered
    }));
    // Registering again gives a different creation.
    let again = rt.block_on(client.register(&entry)).unwrap();
    assert_ne!(again.creation(), first);
    assert_ne!(again.creation(), 0);
}

#[test]
fn lookup_of_unknown_name_is_not_registered_not_an_error() {
    let epmd = Epmd::start();
    let rt = rt();
    let client = EpmdClient::new("localhost", epmd.port);
    assert_eq!(
        rt.block_on(client.port_please("nobody_here")).unwrap(),
        Lookup::NotRegistered
    );
    match rt.block_on(PortLookup::Epmd { port: epmd.port }.resolve("nobody_here@127.0.0.1")) {
        Err(e @ Error::NotRegistered { .. }) => {
            assert!(e.to_string().contains(&format!("127.0.0.1:{}", epmd.port)))
        }
        other => panic!("expected NotRegistered, got {other:?}"),
    }
}

#[test]
fn finds_a_real_erl_node_registered_at_real_epmd() {
    let epmd = Epmd::start();
    let mut beam = Beam::erlang().epmd(epmd.port).start();
    let node = beam.node().to_string();
    let name = node.split('@').next().unwrap().to_string();
    let rt = rt();
    let client = EpmdClient::new("127.0.0.1", epmd.port);
    let Lookup::Registered(e) = rt.block_on(client.port_please(&name)).unwrap() else {
        panic!("{name} should be registered")
    };
    assert_eq!(e.node_type, NodeType::Normal);
    assert!(e.highest_version >= 6);
    let via_erl = beam.eval(&format!("erl_epmd:port_please(\"{name}\", {{127,0,0,1}})."));
    assert_eq!(via_erl, format!("{{port,{},{}}}", e.port, e.highest_version));
    let dp = rt
        .block_on(PortLookup::Epmd { port: epmd.port }.resolve(&node))
        .unwrap();
    assert_eq!(dp.port, e.port);
}

#[test]
fn kill_and_stop_against_real_epmd() {
    let epmd = Epmd::start();
    let rt = rt();
    let client = EpmdClient::new("127.0.0.1", epmd.port);
    let reg = rt
        .block_on(client.register(&NodeEntry::new(unique_name("k"), 40_003)))
        .unwrap();
    // Without relaxed checks: STOP_REQ is ignored (connection closed), KILL_REQ refused.
    assert!(matches!(
        rt.block_on(client.stop(reg.name())),
        Err(Error::Closed { .. })
    ));
    assert_eq!(rt.block_on(client.kill()).unwrap(), KillResponse::Refused);
    drop(reg);
    assert!(eventually(Duration::from_secs(5), || rt
        .block_on(client.names())
        .unwrap()
        .is_empty()));
    assert_eq!(rt.block_on(client.kill()).unwrap(), KillResponse::Killed);
}

#[test]
fn unreachable_epmd_error_names_host_port_and_says_what_to_do() {
    let port = free_port();
    let rt = rt();
    let client = EpmdClient::new("127.0.0.1", port).connect_timeout(Duration::from_secs(2));
    let err = rt.block_on(client.names()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("running"), "{msg}");
}

#[test]
fn client_times_out_on_a_silent_server() {
    // Something that accepts but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let rt = rt();
    let client = EpmdClient::new("127.0.0.1", port).read_timeout(Duration::from_millis(300));
    match rt.block_on(client.names()) {
        Err(Error::ReadTimeout { addr, .. }) => assert_eq!(addr, format!("127.0.0.1:{port}")),
        other => panic!("expected a read timeout, got {other:?}"),
    }
    drop(listener);
}
