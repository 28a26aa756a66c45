//! ETF codec throughput: beamlink against eetf 0.12 on the same corpus.
//!
//! Run with `cargo bench -p beamlink-term --bench codec` (or `make bench`). Each case is
//! encoded once by beamlink; eetf's terms are eetf's decoding of those same bytes, so both
//! libraries work on identical input. Measurement times are short on purpose: compare the
//! ratios within one run, not absolute figures across machines.
//!
//! * `decode/*/beamlink` decodes from a shared `Bytes` (binaries are slices of it), which is
//!   how the distribution layer uses it; `beamlink_copy` goes through `decode(&[u8])`,
//!   which copies the input once first, as eetf copies from its reader.
//! * `encode/*` appends to a reused buffer in both libraries.

use beamlink_term::etf::{decode, encode, encode_to, Decoder};
use beamlink_term::{Atom, Pid, Term};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

/// `{6, Pid, '', worker}`: the shape of a distribution REG_SEND control message.
fn control_tuple() -> Term {
    let pid = Pid {
        node: Atom::new("app@host.example"),
        id: 91,
        serial: 0,
        creation: 1700000000,
    };
    Term::tuple(vec![
        Term::Int(6),
        Term::Pid(pid),
        Term::atom(""),
        Term::atom("worker"),
    ])
}

/// A map of about 1 KiB: atom keys, mixed values, the way a status message looks.
fn kib_map() -> Term {
    let mut pairs = Vec::new();
    for i in 0..24 {
        let key = Term::atom(&format!("field_{i}"));
        let value = match i % 6 {
            0 => Term::Int(i * 1000),
            1 => Term::binary(format!("value number {i} with some text").into_bytes()),
            2 => Term::tuple(vec![Term::atom("ok"), Term::Int(i), Term::Float(i as f64 * 0.5)]),
            3 => Term::list((0..5).map(|j| Term::Int(j * 300)).collect::<Vec<_>>()),
            4 => Term::atom("undefined"),
            _ => Term::map(vec![
                (Term::atom("nested"), Term::Int(i)),
                (Term::atom("flag"), Term::atom("true")),
            ]),
        };
        pairs.push((key, value));
    }
    Term::map(pairs)
}

fn mib_binary() -> Term {
    Term::binary((0..1 << 20).map(|i| (i * 31 % 251) as u8).collect::<Vec<u8>>())
}

fn int_list() -> Term {
    Term::list((0..10_000).map(|i| Term::Int(i * 7)).collect::<Vec<_>>())
}

fn corpus() -> Vec<(&'static str, Term)> {
    vec![
        ("control_tuple", control_tuple()),
        ("map_1kib", kib_map()),
        ("binary_1mib", mib_binary()),
        ("int_list_10k", int_list()),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, term) in corpus() {
        let bytes = Bytes::from(encode(&term).expect("the corpus encodes"));
        assert_eq!(decode(&bytes).expect("beamlink decodes its own corpus"), term);
        let eetf_term = eetf::Term::decode(&bytes[..]).expect("eetf decodes the corpus");
        drop(eetf_term);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("beamlink", name), &bytes, |b, bytes| {
            b.iter(|| Decoder::new(bytes.clone()).term().expect("decodes"))
        });
        g.bench_with_input(BenchmarkId::new("beamlink_copy", name), &bytes, |b, bytes| {
            b.iter(|| decode(black_box(&bytes[..])).expect("decodes"))
        });
        g.bench_with_input(BenchmarkId::new("eetf", name), &bytes, |b, bytes| {
            b.iter(|| eetf::Term::decode(black_box(&bytes[..])).expect("decodes"))
        });
    }
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (name, term) in corpus() {
        let bytes = encode(&term).expect("the corpus encodes");
        let eetf_term = eetf::Term::decode(&bytes[..]).expect("eetf decodes the corpus");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("beamlink", name), &term, |b, term| {
            let mut buf = Vec::with_capacity(bytes.len());
            b.iter(|| {
                buf.clear();
                encode_to(black_box(term), &mut buf).expect("encodes");
                buf.len()
            })
        });
        g.bench_with_input(BenchmarkId::new("eetf", name), &eetf_term, |b, term| {
            let mut buf = Vec::with_capacity(bytes.len());
            b.iter(|| {
                buf.clear();
                black_box(term).encode(&mut buf).expect("encodes");
                buf.len()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(20)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_decode, bench_encode
}
criterion_main!(benches);
