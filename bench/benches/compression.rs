//! Compression micro-benchmarks, on typical JSON event payloads of 32 bytes, 1 KiB and
//! 16 KiB (`42["msg",[{"id":…,"user":…,"text":…,"ts":…},…]]`):
//!
//! - `deflate/compress/<size>`: one WebSocket message compressed with permessage-deflate
//!   (`tidings_transports::packet::deflate::compress`, no context takeover), the CPU a
//!   broadcast pays once whatever its number of recipients;
//! - `deflate/inflate/<size>`: the same message inflated with the `max_payload` limit, what the
//!   server pays per compressed message from a client;
//! - `deflate/frame_clear/<size>`: the uncompressed frame, for comparison;
//! - `gzip/<size>`: a polling response body gzipped as polling does it (level 1, a compressor
//!   reused from one response to the next); `gzip_new/<size>`: the same with a new compressor
//!   each time.
//!
//! The compressed size of each payload is printed before the timings, so the bytes saved and
//! the CPU they cost are read from one run.
//!
//! ```text
//! cargo bench -p tidings-bench --bench compression
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, FlushCompress, Status};
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

/// `body` gzipped whole with `compress`, which is reset afterwards.
fn gzip(compress: &mut Compress, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 3 + 64);
    let mut input = body;
    loop {
        let before = compress.total_in();
        match compress.compress_vec(input, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => break,
            Ok(_) => {
                input = &input[(compress.total_in() - before) as usize..];
                out.reserve(out.capacity().max(64));
            }
            Err(error) => panic!("gzip failed: {error}"),
        }
    }
    compress.reset();
    out
}

fn new_gzip() -> Compress {
    Compress::new_gzip(Compression::fast(), 15)
}

fn compression(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    for (name, len) in [("32B", 32), ("1KiB", 1024), ("16KiB", 16 * 1024)] {
        let payload = event(len);
        let compressed = compress(&payload);
        eprintln!(
            "{name}: {len} bytes -> deflate {} bytes, gzip {} bytes",
            compressed.len(),
            gzip(&mut new_gzip(), &payload).len()
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
        let mut reused = new_gzip();
        group.bench_function(format!("gzip/{name}"), |b| {
            b.iter(|| gzip(&mut reused, black_box(&payload)));
        });
        group.bench_function(format!("gzip_new/{name}"), |b| {
            b.iter(|| gzip(&mut new_gzip(), black_box(&payload)));
        });
    }
    group.finish();
}

criterion_group!(benches, compression);
criterion_main!(benches);
