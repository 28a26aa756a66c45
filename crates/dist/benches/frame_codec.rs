//! Frame encoding and decoding speed: `cargo bench -p beamlink-dist --bench frame_codec`.
//!
//! Messages as a node sends them: a small tuple, a 1 KiB binary, a 1.3 KB map (the size
//! CRATES.md measured eetf with), and a 10 MB binary in 64 KiB fragments.

use beamlink_dist::{FrameDecoder, FrameEncoder, FrameLimits, Message};
use beamlink_term::{Atom, Pid, Term};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// DIST_HDR_ATOM_CACHE | FRAGMENTS.
const FLAGS: u64 = 0x2000 | 0x80_0000;

fn pid(id: u32) -> Pid {
    Pid {
        node: Atom::new("app@10.1.2.3"),
        id,
        serial: 0,
        creation: 1_700_000_000,
    }
}

fn messages() -> Vec<(&'static str, Message)> {
    let map = Term::map((0..40).map(|i| {
        (
            Term::atom(&format!("key_{i}")),
            Term::tuple(vec![Term::Int(i), Term::binary(vec![b'x'; 16])]),
        )
    }));
    vec![
        (
            "small_tuple",
            Message::send_sender(
                pid(1),
                pid(2),
                Term::tuple(vec![
                    Term::atom("hello"),
                    Term::Int(42),
                    Term::binary(&b"sixteen bytes!!!"[..]),
                ]),
            ),
        ),
        (
            "binary_1k",
            Message::reg_send(pid(1), Atom::new("sink"), Term::binary(vec![7u8; 1024])),
        ),
        ("map_1300b", Message::send_sender(pid(1), pid(2), map)),
        (
            "binary_10m_fragmented",
            Message::send_sender(pid(1), pid(2), Term::binary(vec![9u8; 10 << 20])),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, msg) in messages() {
        let mut enc = FrameEncoder::new(FLAGS, 64 << 10);
        let packets = enc.encode(&msg).expect("encode");
        let bytes: usize = packets.iter().map(|p| p.len()).sum();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("encode", |b| b.iter(|| enc.encode(&msg).expect("encode")));
        let frames: Vec<Bytes> = packets.iter().map(|p| p.slice(4..)).collect();
        g.bench_function("decode", |b| {
            b.iter_batched(
                || FrameDecoder::new(FrameLimits::default()),
                |mut dec| {
                    let mut out = None;
                    for f in &frames {
                        out = dec.decode(f.clone()).expect("decode");
                    }
                    // Returned with the decoder so that dropping it is not measured.
                    (out.expect("a whole message"), dec)
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
