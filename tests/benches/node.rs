//! `make bench` (node part): message throughput and call latency over one distribution
//! connection, BEAM->BEAM (the baseline) against every direction involving beamlink,
//! measured in one run and printed with the ratio to the baseline.
//!
//! The BEAM side runs a compiled module (not `erl_eval`), so the baseline is what a real
//! application gets. Counts can be scaled with `BEAMLINK_BENCH_SCALE` (default 1.0).

use beamlink::gen_server::GenMessage;
use beamlink::{EpmdMode, Mailbox, Node, Term};
use beamlink_e2e::{unique_name, Beam, Epmd};
use std::time::{Duration, Instant};

const BENCH_MODULE: &str = r#"
-module(bl_bench).
-export([start_sink/0, start_echo/0, send/3, call/2]).
start_sink() -> register(sink, spawn(fun sink/0)), ok.
sink() -> receive {start, N, From} -> count(N), From ! done, sink() end.
count(0) -> ok;
count(K) -> receive _ -> count(K - 1) end.
send(Dest, Size, N) ->
    Bin = binary:copy(<<0>>, Size),
    T0 = erlang:monotonic_time(microsecond),
    Dest ! {start, N, self()},
    loop(Dest, Bin, N),
    receive done -> ok end,
    erlang:monotonic_time(microsecond) - T0.
loop(_, _, 0) -> ok;
loop(D, B, K) -> D ! B, loop(D, B, K - 1).
start_echo() -> register(echo, spawn(fun echo/0)), ok.
echo() -> receive {'$gen_call', From, X} -> gen_server:reply(From, X), echo() end.
call(Dest, M) ->
    gen_server:call(Dest, warmup),
    T0 = erlang:monotonic_time(microsecond),
    lists:foreach(fun(_) -> gen_server:call(Dest, ping) end, lists:seq(1, M)),
    (erlang:monotonic_time(microsecond) - T0) / M.
"#;

fn load_module(beam: &mut Beam, dir: &std::path::Path) {
    let d = dir.display();
    let r = beam.eval(&format!(
        "{{ok, bl_bench}} = c:c(\"{d}/bl_bench.erl\", [{{outdir, \"{d}\"}}]), ok."
    ));
    assert_eq!(r, "ok", "compile the bench module");
    assert_eq!(beam.eval("bl_bench:start_sink(), bl_bench:start_echo()."), "ok");
}

/// The Rust counterpart of `bl_bench:sink/0`.
async fn rust_sink(mut mb: Mailbox) {
    while let Ok(m) = mb.recv().await {
        let Some([tag, n, from]) = m.as_tuple_n::<3>() else {
            continue;
        };
        if !tag.is_atom("start") {
            continue;
        }
        let (Some(n), Some(from)) = (n.as_i64(), from.as_pid().cloned()) else {
            continue;
        };
        for _ in 0..n {
            if mb.recv().await.is_err() {
                return;
            }
        }
        let _ = mb.send(&from, Term::atom("done"));
    }
}

/// A gen_server echo in Rust.
async fn rust_echo(mut mb: Mailbox) {
    while let Ok(m) = mb.recv().await {
        if let GenMessage::Call(c) = GenMessage::parse(m) {
            let req = c.request.clone();
            let _ = c.reply(&mb, req);
        }
    }
}

/// Sends `n` binaries of `size` bytes from a beamlink mailbox to `{sink, node}`, waits for
/// `done`, returns the elapsed time.
async fn rust_send(from: &Node, node: &str, size: usize, n: usize) -> Duration {
    let mut mb = from.mailbox().unwrap();
    let bin = Term::binary(vec![0u8; size]);
    let t0 = Instant::now();
    let start = Term::tuple(vec![
        Term::atom("start"),
        Term::Int(n as i64),
        Term::Pid(mb.pid().clone()),
    ]);
    mb.send(("sink", node), start).unwrap();
    for _ in 0..n {
        mb.send(("sink", node), bin.clone()).unwrap();
    }
    let done = mb.recv_timeout(Duration::from_secs(300)).await.expect("done");
    assert!(done.is_atom("done"));
    t0.elapsed()
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let scale: f64 = std::env::var("BEAMLINK_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bl_bench.erl"), BENCH_MODULE).unwrap();
    let epmd = Epmd::start();
    let mut a = Beam::erlang().epmd(epmd.port).start();
    let cookie = a.cookie().to_string();
    let mut b = Beam::erlang().epmd(epmd.port).cookie(&cookie).start();
    load_module(&mut a, dir.path());
    load_module(&mut b, dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = |prefix: &str| {
        let name = format!("{}@127.0.0.1", unique_name(prefix));
        rt.block_on(
            Node::builder(&name)
                .cookie(&cookie)
                .epmd(EpmdMode::External { port: epmd.port })
                .start(),
        )
        .expect("start a beamlink node")
    };
    let r1 = start("bench1");
    let r2 = start("bench2");
    for r in [&r1, &r2] {
        rt.spawn(rust_sink(r.mailbox_named("sink").unwrap()));
        rt.spawn(rust_echo(r.mailbox_named("echo").unwrap()));
    }
    let bn = b.node().to_string();
    let (r1n, r2n) = (r1.name().as_str().to_string(), r2.name().as_str().to_string());
    // Connect everything first, so setup is not measured.
    assert_eq!(a.eval(&format!("net_adm:ping('{bn}').")), "pong");
    assert_eq!(a.eval(&format!("net_adm:ping('{r1n}').")), "pong");
    rt.block_on(async {
        assert_eq!(r1.ping(&bn).await, beamlink::Ping::Pong);
        assert_eq!(r1.ping(&r2n).await, beamlink::Ping::Pong);
    });

    println!("beamlink node benchmark (one connection per pair, loopback; ratio = figure / BEAM->BEAM)");
    println!(
        "{:<22} {:>8} {:>10} {:>14} {:>8}",
        "direction", "payload", "messages", "msg/s", "ratio"
    );
    for (size, label, count) in [
        (16, "16 B", 200_000),
        (1024, "1 KiB", 100_000),
        (65536, "64 KiB", 10_000),
    ] {
        let n = ((count as f64) * scale).max(100.0) as usize;
        let erl_send = |beam: &mut Beam, dest: &str| -> Duration {
            let us = beam.eval_timeout(
                &format!("bl_bench:send({{sink, '{dest}'}}, {size}, {n})."),
                Duration::from_secs(600),
            );
            Duration::from_micros(us.parse().expect("microseconds"))
        };
        let base = rate(n, erl_send(&mut a, &bn));
        let to_rust = rate(n, erl_send(&mut a, &r1n));
        let from_rust = rate(n, rt.block_on(rust_send(&r1, &bn, size, n)));
        let rust_rust = rate(n, rt.block_on(rust_send(&r1, &r2n, size, n)));
        for (dir_label, r) in [
            ("BEAM->BEAM", base),
            ("BEAM->beamlink", to_rust),
            ("beamlink->BEAM", from_rust),
            ("beamlink->beamlink", rust_rust),
        ] {
            println!(
                "{:<22} {:>8} {:>10} {:>14.0} {:>7.2}x",
                dir_label,
                label,
                n,
                r,
                r / base
            );
        }
    }

    let m = ((5_000.0 * scale) as usize).max(100);
    let us = |s: String| -> f64 { s.parse().expect("microseconds per call") };
    let base = us(a.eval(&format!("bl_bench:call({{echo, '{bn}'}}, {m}).")));
    let to_rust = us(a.eval(&format!("bl_bench:call({{echo, '{r1n}'}}, {m}).")));
    let rust_call = |from: &Node, node: &str| -> f64 {
        rt.block_on(async {
            from.call(("echo", node), Term::atom("warmup"), Duration::from_secs(10))
                .await
                .unwrap();
            let t0 = Instant::now();
            for _ in 0..m {
                from.call(("echo", node), Term::atom("ping"), Duration::from_secs(10))
                    .await
                    .unwrap();
            }
            t0.elapsed().as_secs_f64() * 1e6 / m as f64
        })
    };
    let from_rust = rust_call(&r1, &bn);
    let rust_rust = rust_call(&r1, &r2n);
    println!();
    println!(
        "{:<22} {:>10} {:>14} {:>8}",
        "call round trip", "calls", "us/call", "speed"
    );
    for (label, v) in [
        ("BEAM->BEAM", base),
        ("BEAM->beamlink", to_rust),
        ("beamlink->BEAM", from_rust),
        ("beamlink->beamlink", rust_rust),
    ] {
        // Speed ratio: baseline latency / this latency (above 1 is faster).
        println!("{:<22} {:>10} {:>14.1} {:>7.2}x", label, m, v, base / v);
    }
}
