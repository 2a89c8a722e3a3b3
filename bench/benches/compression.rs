//! Compression micro-benchmarks, on typical JSON event payloads of 32 bytes, 1 KiB and
//! 16 KiB (`42["msg",[{"id":…,"user":…,"text":…,"ts":…},…]]`):
//!
//! - `deflate/compress/<size>`: one WebSocket message compressed with permessage-deflate
//!   (`tidings_transports::packet::deflate::compress`, no context takeover), the CPU a
//!   broadcast pays once whatever its number of recipients;
//! - `deflate/inflate/<size>`: the same message inflated with the `max_payload` limit, what the
//!   server pays per compressed message from a client;
//! - `deflate/frame_clear/<size>`: the uncompressed frame, for comparison;
//! - `gzip/<size>`: a polling response body gzipped at the level polling uses.
//!
//! The compressed size of each payload is printed before the timings, so the bytes saved and
//! the CPU they cost are read from one run.
//!
//! ```text
//! cargo bench -p tidings-bench --bench compression
//! ```

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::GzEncoder;
use tidings_transports::packet::deflate::{compress, inflate};
use tidings_transports::packet::websocket::{OpCode, encode};

/// A Socket.IO event of about `len` bytes, as an Engine.IO text packet, carrying chat-like
/// JSON records.
fn event(len: usize) -> Vec<u8> {
    let mut text = String::from("42[\"msg\",[");
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"text\":\"hello there, number {i}\",\"ts\":{}}},",
            i % 17,
            1_700_000_000 + i * 7
        ));
        i += 1;
    }
    text.truncate(len);
    text.into_bytes()
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(body).expect("writes to a vector");
    encoder.finish().expect("writes to a vector")
}

fn compression(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    for (name, len) in [("32B", 32), ("1KiB", 1024), ("16KiB", 16 * 1024)] {
        let payload = event(len);
        let compressed = compress(&payload);
        eprintln!(
            "{name}: {len} bytes -> deflate {} bytes, gzip {} bytes",
            compressed.len(),
            gzip(&payload).len()
        );
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("compress/{name}"), |b| {
            b.iter(|| compress(black_box(&payload)));
        });
        group.bench_function(format!("inflate/{name}"), |b| {
            b.iter(|| inflate(black_box(&compressed), 1_000_000).expect("inflates"));
        });
        let mut out = Vec::new();
        group.bench_function(format!("frame_clear/{name}"), |b| {
            b.iter(|| {
                out.clear();
                encode(OpCode::Text, black_box(&payload), &mut out);
            });
        });
        group.bench_function(format!("gzip/{name}"), |b| {
            b.iter(|| gzip(black_box(&payload)));
        });
    }
    group.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
