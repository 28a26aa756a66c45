//! Throughput of one connection, beamlink to beamlink over loopback TCP: messages queued
//! with `ConnectionHandle::send`, encoded, batched and written by the writer task, read,
//! decoded and delivered by the reader task on the other side.
//!
//! `cargo bench -p beamlink-dist --bench connection`. Compare with the BEAM-to-BEAM
//! baseline in ../shared/TESTING.md (271k msg/s with 16-byte payloads, 176k with 1 KiB,
//! 39.5k with 64 KiB), measured on the same machine.

use std::time::{Duration, Instant};

use beamlink_dist::{
    AcceptAll, Connection, ConnectionConfig, ConnectionEvent, Cookie, Established, HandshakeConfig, Message,
};
use beamlink_term::{Atom, Pid, Term};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const BATCH: u64 = 10_000;

async fn pair() -> (Established, Established) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cookie = Cookie::new("bench");
    let b_config = HandshakeConfig::new("b@127.0.0.1", cookie.clone());
    let accept = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        Connection::accept(stream, &b_config, &ConnectionConfig::default(), &AcceptAll).await
    });
    let a_config = HandshakeConfig::new("a@127.0.0.1", cookie);
    let a = Connection::connect(
        addr,
        "b@127.0.0.1",
        &a_config,
        &ConnectionConfig::default(),
        &AcceptAll,
    )
    .await
    .expect("connect");
    let b = accept.await.expect("task").expect("accept handshake");
    (a, b)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (a, mut b) = rt.block_on(pair());
    let from = Pid {
        node: Atom::new("a@127.0.0.1"),
        id: 1,
        serial: 0,
        creation: a.local_creation,
    };
    let mut group = c.benchmark_group("connection");
    group.measurement_time(Duration::from_secs(10));
    for size in [16usize, 1024, 65536] {
        let payload = Term::Binary(Bytes::from(vec![7u8; size]));
        let msg = Message::reg_send(from.clone(), Atom::new("sink"), payload);
        group.throughput(Throughput::Elements(BATCH));
        group.bench_function(format!("send_receive_{size}B_x{BATCH}"), |bench| {
            bench.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let handle = a.handle.clone();
                        let m = msg.clone();
                        let sender = tokio::spawn(async move {
                            for _ in 0..BATCH {
                                handle.send(m.clone()).await.expect("send");
                            }
                        });
                        for _ in 0..BATCH {
                            match b.events.recv().await {
                                Some(ConnectionEvent::Message(_)) => {}
                                other => panic!("{other:?}"),
                            }
                        }
                        sender.await.expect("sender");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
    let stats = a.handle.stats();
    eprintln!(
        "sender: {} messages in {} writes ({:.1} per write), {} bytes",
        stats.messages_out,
        stats.writes,
        stats.messages_out as f64 / stats.writes.max(1) as f64,
        stats.bytes_out
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
