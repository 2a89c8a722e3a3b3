//! Micro-benchmarks of the pure codecs, bytes in and packets out, with 32-byte payloads (the
//! reference size of the load tests):
//!
//! - `eio/…`: Engine.IO packets (`tidings_transports::packet`): one text packet, a polling
//!   payload of 10 packets (text, and binary as base64), a masked client WebSocket frame (and
//!   a 4 KiB one, where unmasking dominates) and an unmasked server frame, a server-sent event;
//! - `sio_json/…`: the default Socket.IO parser (`tidings::parser::json`) on the typical event
//!   `2["echo",{"a":1,"text":"<32 bytes>"}]`, with and without an ack id, and a binary event
//!   with one 32-byte attachment;
//! - `sio_msgpack/…`: the msgpack parser (`tidings::parser::msgpack`) on the same packets.
//!
//! Throughput is in bytes of the encoded form, or in packets for payloads. Encoders write
//! into a buffer reused from one iteration to the next, so they measure the encoding and not
//! the growth of a new vector (`payload/encode_10_*_new_vec` shows that cost, as a polling
//! response pays it).
//!
//! ```text
//! cargo bench -p tidings-bench --bench codecs
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tidings::parser::PacketKind;
use tidings::parser::{json, msgpack};
use tidings_transports::packet::websocket::{self, OpCode};
use tidings_transports::packet::{Utf8Bytes, payload, sse};
use tidings_transports::{Message, Packet};

/// The reference payload: 32 bytes.
const TEXT_32: &str = "0123456789abcdef0123456789abcdef";

/// The typical event, as the JSON parser's data.
const EVENT_DATA: &str = r#"["echo",{"a":1,"text":"0123456789abcdef0123456789abcdef"}]"#;

/// How many packets a polling payload holds.
const BATCH: usize = 10;

/// The mask of client frames.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn engine_io(c: &mut Criterion) {
    let mut group = c.benchmark_group("eio");

    // One text packet: `4` and 32 bytes.
    let text_packet = Utf8Bytes::from(format!("4{TEXT_32}"));
    group.throughput(Throughput::Bytes(text_packet.len() as u64));
    group.bench_function("packet/decode_text", |b| {
        b.iter(|| Packet::decode_text(black_box(text_packet.clone())).expect("valid packet"));
    });
    let message = Packet::Message(Message::text(TEXT_32));
    group.bench_function("packet/encode_text", |b| {
        b.iter(|| black_box(&message).text().expect("a text packet"));
    });
    group.bench_function("packet/message_text", |b| {
        b.iter(|| Message::text(black_box(TEXT_32)));
    });

    // A polling payload of 10 packets.
    let texts: Vec<Packet> = (0..BATCH)
        .map(|_| Packet::Message(Message::text(TEXT_32)))
        .collect();
    let binaries: Vec<Packet> = (0..BATCH)
        .map(|_| Packet::Message(Message::binary(Bytes::from_static(TEXT_32.as_bytes()))))
        .collect();
    for (name, packets) in [("text", &texts), ("binary", &binaries)] {
        let mut encoded = Vec::new();
        payload::encode(packets.iter(), &mut encoded);
        let encoded = Bytes::from(encoded);
        group.throughput(Throughput::Elements(BATCH as u64));
        group.bench_function(format!("payload/decode_10_{name}"), |b| {
            b.iter(|| payload::decode(black_box(encoded.clone())).expect("valid payload"));
        });
        group.bench_function(format!("payload/encode_10_{name}"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                payload::encode(black_box(packets).iter(), &mut out);
                black_box(&out);
            });
        });
        // As a polling response builds it: into a new, empty vector.
        group.bench_function(format!("payload/encode_10_{name}_new_vec"), |b| {
            b.iter(|| {
                let mut out = Vec::new();
                payload::encode(black_box(packets).iter(), &mut out);
                out
            });
        });
    }

    // WebSocket: a masked client text frame, a server text frame.
    let frame_payload = text_packet.as_bytes();
    let mut client_frame = Vec::new();
    websocket::encode_client_frame(0x81, frame_payload, Some(MASK), &mut client_frame);
    let mut client_binary = Vec::new();
    websocket::encode_client_frame(0x82, TEXT_32.as_bytes(), Some(MASK), &mut client_binary);
    let mut decoder = websocket::Decoder::new(1 << 20);
    group.throughput(Throughput::Bytes(client_frame.len() as u64));
    group.bench_function("ws/decode_client_text", |b| {
        b.iter(|| {
            let mut input = black_box(&client_frame[..]);
            decoder.decode(&mut input).expect("valid frame")
        });
    });
    group.throughput(Throughput::Bytes(client_binary.len() as u64));
    group.bench_function("ws/decode_client_binary", |b| {
        b.iter(|| {
            let mut input = black_box(&client_binary[..]);
            decoder.decode(&mut input).expect("valid frame")
        });
    });
    // A 4 KiB binary frame: the unmasking loop dominates.
    let mut client_4k = Vec::new();
    websocket::encode_client_frame(0x82, &[0x55; 4096], Some(MASK), &mut client_4k);
    group.throughput(Throughput::Bytes(client_4k.len() as u64));
    group.bench_function("ws/decode_client_binary_4k", |b| {
        b.iter(|| {
            let mut input = black_box(&client_4k[..]);
            decoder.decode(&mut input).expect("valid frame")
        });
    });
    group.throughput(Throughput::Bytes(frame_payload.len() as u64 + 2));
    group.bench_function("ws/encode_server_text", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            out.clear();
            websocket::encode(OpCode::Text, black_box(frame_payload), &mut out);
            black_box(&out);
        });
    });

    // Server-sent events: a text packet, and a binary one (base64).
    let binary = Packet::Message(Message::binary(Bytes::from_static(TEXT_32.as_bytes())));
    for (name, packet) in [("text", &message), ("binary", &binary)] {
        let mut event = Vec::new();
        sse::encode(packet, &mut event);
        group.throughput(Throughput::Bytes(event.len() as u64));
        group.bench_function(format!("sse/encode_{name}"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                sse::encode(black_box(packet), &mut out);
                black_box(&out);
            });
        });
    }
    group.finish();
}

fn socket_io_json(c: &mut Criterion) {
    let mut group = c.benchmark_group("sio_json");

    let event = format!("2{EVENT_DATA}");
    let event_ack = format!("212{EVENT_DATA}");
    for (name, text) in [("event", &event), ("event_ack", &event_ack)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("decode_{name}"), |b| {
            let mut decoder = json::Decoder::default();
            b.iter(|| {
                decoder
                    .decode_text(black_box(text))
                    .expect("valid packet")
                    .expect("a whole packet")
            });
        });
    }

    // A binary event: the header, then its attachment.
    let header = r#"51-["upload",{"_placeholder":true,"num":0}]"#;
    let attachment = Bytes::from_static(TEXT_32.as_bytes());
    group.throughput(Throughput::Bytes((header.len() + attachment.len()) as u64));
    group.bench_function("decode_binary_event_1_attachment", |b| {
        let mut decoder = json::Decoder::default();
        b.iter(|| {
            let waiting = decoder
                .decode_text(black_box(header))
                .expect("valid header");
            debug_assert!(waiting.is_none());
            decoder
                .decode_binary(black_box(attachment.clone()))
                .expect("valid attachment")
                .expect("a whole packet")
        });
    });

    let packet = json::Packet {
        kind: PacketKind::Event,
        namespace: "/".into(),
        id: None,
        data: Some(EVENT_DATA.into()),
        attachments: Vec::new(),
    };
    let packet_ack = json::Packet {
        id: Some(12),
        ..packet.clone()
    };
    for (name, packet) in [("event", &packet), ("event_ack", &packet_ack)] {
        let mut text = String::new();
        json::encode(packet, &mut text);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("encode_{name}"), |b| {
            let mut out = String::new();
            b.iter(|| {
                out.clear();
                json::encode(black_box(packet), &mut out);
                black_box(&out);
            });
        });
    }
    group.finish();
}

/// The msgpack form of `["echo",{"a":1,"text":"<32 bytes>"}]`, or with `bin` 32 for the text.
fn msgpack_event_data(binary: bool) -> Vec<u8> {
    let mut data = vec![0x92, 0xa4];
    data.extend_from_slice(b"echo");
    data.extend_from_slice(&[0x82, 0xa1, b'a', 0x01, 0xa4]);
    data.extend_from_slice(b"text");
    // str 8 (a 32-byte string needs it), or bin 8.
    data.extend_from_slice(&[if binary { 0xc4 } else { 0xd9 }, 32]);
    data.extend_from_slice(TEXT_32.as_bytes());
    data
}

fn socket_io_msgpack(c: &mut Criterion) {
    let mut group = c.benchmark_group("sio_msgpack");
    let text_data = msgpack_event_data(false);
    let binary_data = msgpack_event_data(true);
    let cases = [
        ("event", &text_data, None),
        ("event_ack", &text_data, Some(12)),
        ("binary_event", &binary_data, None),
    ];
    for (name, data, id) in cases {
        let mut message = Vec::new();
        msgpack::encode(PacketKind::Event, "/", id, Some(data), &mut message);
        let decoded = msgpack::decode(&message).expect("a valid packet");
        assert_eq!(decoded.data.as_deref(), Some(&data[..]), "{name}");

        group.throughput(Throughput::Bytes(message.len() as u64));
        group.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| msgpack::decode(black_box(&message)).expect("valid packet"));
        });
        group.bench_function(format!("encode_{name}"), |b| {
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                msgpack::encode(PacketKind::Event, "/", id, Some(black_box(data)), &mut out);
                black_box(&out);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, engine_io, socket_io_json, socket_io_msgpack);
criterion_main!(benches);
