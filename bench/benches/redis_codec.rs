//! The Redis adapter's work per broadcast, apart from Redis itself: what the sending server
//! encodes once and publishes, and what every server decodes from the message before its own
//! sockets get the packet. The packet is the fan-out scenario's: `msg` to room `r` with
//! `{"t":<micros>,"p":"<16 bytes>"}`.
//!
//! - `encode_broadcast`: the JSON parser's arguments transcoded to msgpack, in the message
//!   `[uid, {type, data, nsp}, {rooms, except, flags}]` that `@socket.io/redis-adapter` sends;
//! - `decode_broadcast/json`: the message read back, its arguments transcoded to the JSON
//!   parser's form (what a default server does with each broadcast of another server);
//! - `decode_broadcast/msgpack`: the same for a server with the msgpack parser, which only
//!   checks the arguments;
//! - `args/to_msgpack` and `args/from_msgpack_json`: the transcoding alone (public
//!   [`Payload::to_msgpack`] and [`Parser::payload_from_msgpack`]), to tell it apart from
//!   the message around it.
//!
//! Throughput is in bytes of the message.
//!
//! ```text
//! cargo bench -p tidings-bench --bench redis_codec
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tidings::adapter::{BroadcastOptions, BroadcastPacket, Room};
use tidings::{Parser, Payload};
use tidings_redis::bench::{decode_broadcast, encode_broadcast};

/// A server's id, as long as Node's adapter makes them.
const UID: &str = "fUAtj8";

/// The fan-out scenario's `msg`, sent to room `r`.
fn packet() -> (BroadcastPacket, BroadcastOptions) {
    let data = serde_json::json!([{"t": 12_345_678, "p": "0123456789abcdef"}]);
    let args: Payload = Parser::Json
        .payload_from_json(&data)
        .expect("valid arguments");
    let mut options = BroadcastOptions::default();
    options.rooms = vec![Room::from("r")];
    let packet = BroadcastPacket {
        event: "msg".to_owned(),
        args,
    };
    (packet, options)
}

fn redis_codec(c: &mut Criterion) {
    let (packet, options) = packet();
    let message = encode_broadcast(UID, "/", &packet, &options);
    let mut group = c.benchmark_group("redis_codec");
    group.throughput(Throughput::Bytes(message.len() as u64));
    group.bench_function("encode_broadcast", |b| {
        b.iter(|| encode_broadcast(UID, "/", black_box(&packet), &options));
    });
    for (name, parser) in [("json", Parser::Json), ("msgpack", Parser::MsgPack)] {
        group.bench_function(format!("decode_broadcast/{name}"), |b| {
            b.iter(|| decode_broadcast(black_box(&message), parser).expect("a valid message"));
        });
    }
    let args = packet.args.to_msgpack();
    group.bench_function("args/to_msgpack", |b| {
        b.iter(|| black_box(&packet.args).to_msgpack());
    });
    group.bench_function("args/from_msgpack_json", |b| {
        b.iter(|| {
            Parser::Json
                .payload_from_msgpack(black_box(&args))
                .expect("valid arguments")
        });
    });
    group.finish();
}

criterion_group!(benches, redis_codec);
criterion_main!(benches);
