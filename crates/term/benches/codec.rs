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
//! * `encode/*` appends to a reused buffer in both libraries; `encode/*/beamlink_chunks`
//!   is beamlink's chunked encoding for vectored writes (`encode_chunks`: binaries of
//!   4 KiB or more shared by reference, not copied), a different API reported apart
//!   from the plain `beamlink` line.
//!
//! On a loaded machine timings are noisy; `sh crates/term/benches/callgrind.sh` counts
//! instructions per operation for both libraries on this same corpus (`codec_ops.rs`).

use beamlink_term::etf::{decode, encode, encode_chunks, encode_to, Decoder, EncodeChunks};
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

mod corpus;
use corpus::corpus;

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
        g.bench_with_input(BenchmarkId::new("beamlink_chunks", name), &term, |b, term| {
            b.iter(|| {
                let mut c = EncodeChunks::new();
                encode_chunks(black_box(term), &mut c).expect("encodes");
                c.into_chunks().len()
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
