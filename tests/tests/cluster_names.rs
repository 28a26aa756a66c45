//! Node names built from IP addresses match what Erlang writes: `erlang_ntoa` against
//! `inet:ntoa/1` on a live node, for IPv6 addresses rich in zero runs (where writers differ).

use std::net::{IpAddr, Ipv6Addr};

use beamlink_cluster::erlang_ntoa;
use beamlink_e2e::{Beam, Epmd};
use rand::Rng;

#[test]
fn erlang_ntoa_writes_addresses_as_inet_ntoa_does() {
    let mut rng = rand::thread_rng();
    let mut addrs: Vec<[u16; 8]> = vec![
        [0; 8],
        [0, 0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 2],
        [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1],
        [0, 0, 0, 0, 0xffff, 0, 0x0a00, 1],
        [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1],
        [0xfe80, 0, 0, 0, 0x1234, 0x56ff, 0xfe78, 0x9abc],
    ];
    for _ in 0..400 {
        // Each group zero half of the time, small or large otherwise.
        let mut g = [0u16; 8];
        for x in g.iter_mut() {
            *x = match rng.gen_range(0..4) {
                0 | 1 => 0,
                2 => rng.gen_range(1..16),
                _ => rng.gen(),
            };
        }
        if rng.gen_bool(0.1) {
            g[..5].fill(0);
            g[5] = if rng.gen_bool(0.5) { 0xffff } else { 0 };
        }
        addrs.push(g);
    }
    let tuples: Vec<String> = addrs
        .iter()
        .map(|g| {
            format!(
                "{{{}}}",
                g.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")
            )
        })
        .collect();
    let epmd = Epmd::start();
    let mut erl = Beam::erlang().epmd(epmd.port).start();
    let out = erl.eval(&format!(
        "string:join([inet:ntoa(A) || A <- [{}]], \" \").",
        tuples.join(",")
    ));
    let theirs: Vec<&str> = out.trim_matches('"').split(' ').collect();
    assert_eq!(theirs.len(), addrs.len());
    for (g, want) in addrs.iter().zip(theirs) {
        let ip = IpAddr::V6(Ipv6Addr::new(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]));
        assert_eq!(erlang_ntoa(ip), want, "segments {g:x?}");
    }
    assert_eq!(
        erl.eval("inet:ntoa({10,245,3,11})."),
        format!("\"{}\"", erlang_ntoa("10.245.3.11".parse().unwrap()))
    );
}
