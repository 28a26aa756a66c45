//! Throughput of the text syntax: parsing and printing a small corpus of typical terms.
//!
//! Run with `cargo bench -p beamlink-term --bench text`.

use beamlink_term::{text, Term};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn corpus() -> Vec<(&'static str, Term)> {
    let control =
        text::parse("{'$gen_call', {<'app@10.0.0.1'.80.0>, #Ref<'app@10.0.0.1'.1.2.3>}, {get, key}}");
    let map = Term::map((0..32).map(|i| (Term::atom(&format!("key_{i}")), Term::binary(vec![b'v'; 20]))));
    let ints = Term::List((0..10_000).map(|i| Term::Int(i * 7919 - 30_000)).collect());
    let floats = Term::List((1..2_000).map(|i| Term::Float(i as f64 / 7.0)).collect());
    let strings = Term::List(
        (0..200)
            .map(|i| Term::charlist(&format!("line {i}: hello, world\n")))
            .collect(),
    );
    vec![
        ("control tuple", control.unwrap_or_else(|e| panic!("{e}"))),
        ("1 KiB map", map),
        ("10k integers", ints),
        ("2k floats", floats),
        ("200 strings", strings),
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("text");
    for (name, term) in corpus() {
        let s = term.to_string();
        g.throughput(Throughput::Bytes(s.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse", name), &s, |b, s| {
            b.iter(|| text::parse(s))
        });
        g.bench_with_input(BenchmarkId::new("print", name), &term, |b, t| {
            b.iter(|| t.to_string())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
