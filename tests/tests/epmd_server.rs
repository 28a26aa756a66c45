//! beamlink's EPMD server (in this process) as a drop-in for `epmd`: real `erl` nodes
//! register with it and find each other, the real `epmd` program queries it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use beamlink_e2e::{epmd_command, eventually, free_port, unique_name, Beam, BeamlinkEpmd, Epmd};
use beamlink_epmd::{
    EmbeddedEpmd, EpmdClient, EpmdServer, Error, Lookup, NodeEntry, ServerConfig, ServerError, Stopped,
};

fn short(node: &str) -> String {
    node.split('@').next().unwrap_or(node).to_string()
}

#[test]
fn two_erl_nodes_register_find_each_other_and_ping_through_beamlink_epmd() {
    let epmd = BeamlinkEpmd::start();
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let cookie = a.cookie().to_string();
    let mut b = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
    let (na, nb) = (short(a.node()), short(b.node()));

    // Both registered, with non-zero creations.
    let names = epmd.runtime().block_on(epmd.client().names()).unwrap();
    assert!(
        names.iter().any(|n| n.name == na) && names.iter().any(|n| n.name == nb),
        "{names:?}"
    );
    assert_ne!(a.eval("erlang:system_info(creation)."), "0");

    // erl finds the other node's port through beamlink's server and connects.
    assert_eq!(a.eval(&format!("net_adm:ping('{}').", b.node())), "pong");
    assert_eq!(b.eval("length(nodes())."), "1");

    // net_adm:names/1 (NAMES_REQ from erl) lists both with their ports.
    let listed = a.eval("{ok, L} = net_adm:names({127,0,0,1}), lists:sort(L).");
    let mut expect = epmd.names();
    expect.sort_by(|x, y| x.name.cmp(&y.name));
    let expect: Vec<String> = expect
        .iter()
        .map(|n| format!("{{\"{}\",{}}}", n.name, n.port))
        .collect();
    assert_eq!(listed, format!("[{}]", expect.join(",")));

    // erl_epmd:port_please (PORT_PLEASE2_REQ from erl) agrees with beamlink's client.
    let Lookup::Registered(e) = epmd.runtime().block_on(epmd.client().port_please(&nb)).unwrap() else {
        panic!("{nb} should be registered")
    };
    assert_eq!(
        a.eval(&format!("erl_epmd:port_please(\"{nb}\", {{127,0,0,1}}).")),
        format!("{{port,{},6}}", e.port)
    );
}

#[test]
fn real_epmd_names_lists_nodes_registered_at_beamlink_epmd() {
    let epmd = BeamlinkEpmd::start();
    let a = Beam::erlang().epmd(epmd.port).start();
    let (ok, out) = epmd_command(epmd.port, &["-names"]);
    assert!(ok, "{out}");
    assert!(
        out.starts_with(&format!(
            "epmd: up and running on port {} with data:\n",
            epmd.port
        )),
        "{out}"
    );
    let port = epmd
        .names()
        .iter()
        .find(|n| n.name == short(a.node()))
        .map(|n| n.port)
        .expect("registered");
    assert!(
        out.contains(&format!("name {} at port {}\n", short(a.node()), port)),
        "{out}"
    );
}

#[test]
fn duplicate_name_refused_and_registration_ends_with_its_connection() {
    let epmd = BeamlinkEpmd::start();
    let rt = epmd.runtime();
    let client = epmd.client();
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let name = short(a.node());
    let creation = a.eval("erlang:system_info(creation).");

    // Taken by the running erl node.
    match rt.block_on(client.register(&NodeEntry::new(name.clone(), 40_100))) {
        Err(Error::NameRefused { .. }) => {}
        other => panic!("duplicate registration should be refused, got {other:?}"),
    }

    // The node dies: its connection closes, the name is free again.
    a.kill();
    assert!(eventually(Duration::from_secs(5), || rt
        .block_on(client.port_please(&name))
        .unwrap()
        == Lookup::NotRegistered));
    let (_, out) = epmd_command(epmd.port, &["-names"]);
    assert!(!out.contains(&name), "{out}");

    // A new node of the same name registers with a different creation.
    let mut again = Beam::erlang().name(&name).epmd(epmd.port).start();
    let creation2 = again.eval("erlang:system_info(creation).");
    assert_ne!(creation2, "0");
    assert_ne!(creation2, creation, "a re-registered name gets a new creation");

    // Our own registration: dropping the handle unregisters.
    let reg = rt
        .block_on(client.register(&NodeEntry::new(unique_name("own"), 40_101)))
        .unwrap();
    let own = reg.name().to_string();
    assert!(matches!(
        rt.block_on(client.port_please(&own)).unwrap(),
        Lookup::Registered(_)
    ));
    drop(reg);
    assert!(eventually(Duration::from_secs(5), || rt
        .block_on(client.port_please(&own))
        .unwrap()
        == Lookup::NotRegistered));
}

/// Reads until EOF or `limit`; true if the peer closed within it.
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn garbage_and_slow_clients_do_not_disturb_registered_nodes() {
    let epmd = BeamlinkEpmd::start_with(ServerConfig {
        addresses: vec![std::net::Ipv4Addr::LOCALHOST.into()],
        packet_timeout: Duration::from_secs(1),
        ..ServerConfig::with_port(0)
    });
    let addr = format!("127.0.0.1:{}", epmd.port);
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let cookie = a.cookie().to_string();

    // Slow clients: half a length prefix, then nothing. They hold connections open.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(&[0]).unwrap();
            s
        })
        .collect();
    let started = Instant::now();

    // Garbage: unknown tag, empty, oversized, truncated body, bad name length, bad UTF-8.
    let garbage: [&[u8]; 6] = [
        &[0, 3, 1, 2, 3],
        &[0, 0],
        &[0xff, 0xff, 120],
        &[0, 20, 120, 0, 1],
        &[
            0, 16, 120, 0x15, 0xb3, 72, 0, 0, 6, 0, 5, 0, 99, b'f', b'o', b'o', 0, 0,
        ],
        &[0, 2, 122, 0xff],
    ];
    for g in garbage {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(g).unwrap();
        // Complete-but-malformed requests close at once; the truncated one at the timeout.
        assert!(
            closed_within(&mut s, Duration::from_secs(5)),
            "garbage {g:?} should close its connection"
        );
    }

    // While the slow clients hold their connections, others are served: a second node
    // registers, finds the first and pings it.
    let mut b = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
    assert_eq!(b.eval(&format!("net_adm:ping('{}').", a.node())), "pong");
    let names = epmd.runtime().block_on(epmd.client().names()).unwrap();
    assert_eq!(names.len(), 2, "{names:?}");

    // The slow clients are cut off after the packet timeout, not before.
    for s in &mut slow {
        assert!(
            closed_within(s, Duration::from_secs(5)),
            "a slow client must be closed after the packet timeout"
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too early: {:?}",
        started.elapsed()
    );

    // The registered (idle) nodes are not subject to the packet timeout.
    let names = epmd.runtime().block_on(epmd.client().names()).unwrap();
    assert_eq!(names.len(), 2, "registered nodes must survive: {names:?}");
    assert_eq!(a.eval(&format!("net_adm:ping('{}').", b.node())), "pong");
}

#[test]
fn epmd_kill_refused_while_nodes_registered_unless_relaxed() {
    let epmd = BeamlinkEpmd::start();
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let (_, out) = epmd_command(epmd.port, &["-kill"]);
    assert_eq!(out.trim(), "Killing not allowed - living nodes in database.");
    // STOP_REQ is ignored without relaxed checks, as epmd does.
    let (_, out) = epmd_command(epmd.port, &["-stop", &short(a.node())]);
    assert_eq!(out.trim(), "epmd: local epmd responded with <>");
    assert!(epmd.runtime().block_on(epmd.client().names()).unwrap().len() == 1);
    a.kill();
    // Once empty, -kill is accepted and the server stops.
    let rt = epmd.runtime();
    assert!(eventually(Duration::from_secs(5), || rt
        .block_on(epmd.client().names())
        .unwrap()
        .is_empty()));
    let mut epmd = epmd;
    let (_, out) = epmd_command(epmd.port, &["-kill"]);
    assert_eq!(out.trim(), "Killed");
    assert_eq!(epmd.wait_stopped(Duration::from_secs(5)), Some(Stopped::Killed));
}

#[test]
fn relaxed_server_accepts_kill_and_stop_with_nodes_registered() {
    let mut epmd = BeamlinkEpmd::start_with(ServerConfig {
        addresses: vec![std::net::Ipv4Addr::LOCALHOST.into()],
        relaxed_command_check: true,
        ..ServerConfig::with_port(0)
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = epmd.client();
    let mut reg = rt
        .block_on(client.register(&NodeEntry::new(unique_name("st"), 40_200)))
        .unwrap();
    let (ok, out) = epmd_command(epmd.port, &["-stop", reg.name()]);
    assert!(ok);
    assert_eq!(out.trim(), "STOPPED");
    // The stopped registration's connection is closed by the server.
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), reg.closed())
            .await
            .expect("closed")
    });
    let (_, out) = epmd_command(epmd.port, &["-stop", "nobody"]);
    assert_eq!(out.trim(), "NOEXIST");

    let _a = Beam::erlang().epmd(epmd.port).start();
    let (_, out) = epmd_command(epmd.port, &["-kill"]);
    assert_eq!(out.trim(), "Killed");
    assert_eq!(epmd.wait_stopped(Duration::from_secs(5)), Some(Stopped::Killed));
    assert!(
        rt.block_on(client.names()).is_err(),
        "the server no longer answers"
    );
}

#[test]
fn listens_on_several_addresses_ipv4_and_ipv6() {
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let mut addresses = vec!["127.0.0.1".parse().unwrap()];
    if ipv6 {
        addresses.push("::1".parse().unwrap());
    }
    let epmd = BeamlinkEpmd::start_with(ServerConfig {
        addresses,
        ..ServerConfig::with_port(0)
    });
    let rt = epmd.runtime();
    let reg = rt
        .block_on(EpmdClient::new("127.0.0.1", epmd.port).register(&NodeEntry::new("v4v6", 40_300)))
        .unwrap();
    let mut hosts = vec!["127.0.0.1", "localhost"];
    if ipv6 {
        hosts.push("::1");
        hosts.push("[::1]");
    }
    for host in hosts {
        let names = rt.block_on(EpmdClient::new(host, epmd.port).names()).unwrap();
        assert_eq!(
            names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
            ["v4v6"],
            "via {host}"
        );
    }
    drop(reg);
}

#[test]
fn embedded_mode_starts_a_server_or_uses_the_running_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let port = free_port();
    let config = || ServerConfig {
        addresses: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::with_port(port)
    };
    let first = rt.block_on(EpmdServer::start_or_use(config())).unwrap();
    assert!(matches!(first, EmbeddedEpmd::Started(_)));
    let second = rt.block_on(EpmdServer::start_or_use(config())).unwrap();
    assert!(matches!(second, EmbeddedEpmd::Running { port: p } if p == port));
    // A real erl node registers with the embedded server.
    let node = Beam::erlang().epmd(port).start();
    let names = rt.block_on(EpmdClient::new("127.0.0.1", port).names()).unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].name, short(node.node()));
    drop(node);
    drop(first);

    // A real epmd on the port: used, not replaced.
    let real = Epmd::start();
    let cfg = ServerConfig {
        addresses: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::with_port(real.port)
    };
    let got = rt.block_on(EpmdServer::start_or_use(cfg)).unwrap();
    assert!(matches!(got, EmbeddedEpmd::Running { .. }));
    assert_eq!(got.port(), real.port);

    // Something that is no EPMD on the port: a clear error.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let oport = other.local_addr().unwrap().port();
    let cfg = ServerConfig {
        addresses: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::with_port(oport)
    };
    let accept = std::thread::spawn(move || {
        // Accept and close at once, like a service that does not speak EPMD.
        let _ = other.accept();
    });
    match rt.block_on(EpmdServer::start_or_use(cfg)) {
        Err(e @ ServerError::PortTaken { .. }) => assert!(e.to_string().contains(&oport.to_string())),
        other => panic!("expected PortTaken, got {other:?}"),
    }
    let _ = accept.join();
}
