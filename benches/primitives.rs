//! Criterion benchmarks for the same primitives `sealpost bench` measures, through the same row definitions
//! (`sealpost::bench::all_rows`), so the two can never drift apart: every cipher and mode in both
//! directions, every digest, RSA 2048/3072/4096, DSA-2048 and ElGamal-2048, every compressor, at 1 KiB and
//! 16 KiB (the public-key rows at their one input size).
//!
//! Run: `cargo bench --bench primitives` (all) or `cargo bench --bench primitives -- 3des` (a filter).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // Benchmark harness code.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sealpost::bench::{Kind, all_rows};

fn primitives(c: &mut Criterion) {
    for row in all_rows() {
        let family = match row.kind {
            Kind::Cipher { .. } => "cipher",
            Kind::Digest(_) => "digest",
            Kind::Rsa { .. } => "rsa",
            Kind::Legacy(_) => "dsa-elgamal",
            Kind::Compression { .. } => "compression",
        };
        let mut group = c.benchmark_group(family);
        let sizes: &[usize] = if row.per_operation() { &[32] } else { &[1024, 16384] };
        for &size in sizes {
            let mut op = row.prepare(size).unwrap();
            if !row.per_operation() {
                group.throughput(Throughput::Bytes(size as u64));
            }
            group.bench_function(format!("{}/{size}", row.name()), |b| b.iter(|| op().unwrap()));
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = primitives
}
criterion_main!(benches);
