//! Runs one codec operation on one corpus item N times, for counting instructions with
//! callgrind on a loaded machine (wall-clock timings are too noisy there):
//!
//! ```text
//! cargo bench -p beamlink-term --bench codec_ops --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/codec_ops-* \
//!     control_tuple decode beamlink 1000
//! ```
//!
//! Instructions per operation are (Ir at N - Ir at 0) / N; `benches/callgrind.sh` does
//! that for every case. Operations: `decode` (from a shared `Bytes`, as the distribution
//! layer does; for eetf from a slice), `decode_copy` (beamlink's `decode(&[u8])`), and
//! `encode` (into a reused buffer, in both libraries), and `encode_chunks` (beamlink's
//! chunked encoding for vectored writes, large binaries shared instead of copied; a new
//! `EncodeChunks` each time, its chunks made and dropped: the whole cost).

mod corpus;

use beamlink_term::etf::{decode, encode, encode_chunks, encode_to, Decoder, EncodeChunks};
use bytes::Bytes;
use std::hint::black_box;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.len() != 4 {
        eprintln!("usage: codec_ops CASE decode|decode_copy|encode|encode_chunks beamlink|eetf N");
        std::process::exit(2);
    }
    let (case, op, codec) = (&args[0], &args[1], &args[2]);
    let Ok(n) = args[3].parse::<usize>() else {
        eprintln!("N must be a number, not {}", args[3]);
        std::process::exit(2);
    };
    let Some((_, term)) = corpus::corpus().into_iter().find(|(name, _)| name == case) else {
        eprintln!("no corpus item {case}");
        std::process::exit(2);
    };
    let bytes = Bytes::from(encode(&term).expect("the corpus encodes"));
    let eetf_term = eetf::Term::decode(&bytes[..]).expect("eetf decodes the corpus");
    let mut buf = Vec::with_capacity(bytes.len());
    let mut sink = 0usize;
    // The operation is chosen once, outside the loop: the loop then runs the codec and
    // nothing else (a choice by name inside it cost ~40 instructions per iteration, which
    // counted as codec work for both libraries).
    match (op.as_str(), codec.as_str()) {
        ("decode", "beamlink") => {
            for _ in 0..n {
                let t = Decoder::new(black_box(&bytes).clone()).term().expect("decodes");
                black_box(&t);
            }
        }
        ("decode_copy", "beamlink") => {
            for _ in 0..n {
                let t = decode(black_box(&bytes[..])).expect("decodes");
                black_box(&t);
            }
        }
        ("decode", "eetf") => {
            for _ in 0..n {
                let t = eetf::Term::decode(black_box(&bytes[..])).expect("decodes");
                black_box(&t);
            }
        }
        ("encode", "beamlink") => {
            for _ in 0..n {
                buf.clear();
                encode_to(black_box(&term), &mut buf).expect("encodes");
                sink += black_box(buf.len());
            }
        }
        ("encode_chunks", "beamlink") => {
            for _ in 0..n {
                let mut c = EncodeChunks::new();
                encode_chunks(black_box(&term), &mut c).expect("encodes");
                sink += black_box(c.into_chunks()).len();
            }
        }
        ("encode", "eetf") => {
            for _ in 0..n {
                buf.clear();
                black_box(&eetf_term).encode(&mut buf).expect("encodes");
                sink += black_box(buf.len());
            }
        }
        _ => {
            eprintln!("unknown operation {op} for {codec}");
            std::process::exit(2);
        }
    }
    black_box(sink);
}
