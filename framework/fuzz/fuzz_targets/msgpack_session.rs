//! The msgpack parser inside a server: a client connected to `/` with
//! `socket.io-msgpack-parser` sends one binary message from the input, in memory. Where the
//! `msgpack_parser` target stops at the packet, this one goes on to what the server does with
//! it: the CONNECT auth payload, the arguments an `on_fallback` handler reads (as JSON values,
//! with binary data, and as `Binary` values; and as the JSON a cluster adapter forwards,
//! `Payload::to_json`) and sends back in an ack.
//!
//! Input layout: the input is the binary message, sent before and after a plain CONNECT to
//! `/`. The seeds are those of `msgpack_parser`.
//!
//! Properties:
//! - nothing panics, and every request is answered within `STEP_TIMEOUT`, error answers with a
//!   documented status and Engine.IO error JSON;
//! - once the client closes (or the server has closed it after a bad packet), the server holds
//!   no session and no socket.

#![no_main]

mod memory;

use bytes::Bytes;
use http::Method;
use libfuzzer_sys::fuzz_target;
use memory::{Server, polling, request, settle};
use serde_json::Value;
use tidings::parser::PacketKind;
use tidings::parser::msgpack::encode;
use tidings::{AckSender, Binary, Io, Parser, Payload, Socket};
use tidings_transports::packet::payload;
use tidings_transports::{Message, Packet};

thread_local! {
    static SERVER: Server = Server::new(server);
}

fn server() -> Io {
    let io = memory::builder().parser(Parser::MsgPack).build();
    io.ns("/", |socket: Socket| {
        let _ = socket.handshake().auth::<Value>();
        socket.on_fallback(|args: Payload, ack: AckSender| {
            let _ = args.decode::<Vec<Value>>();
            let _ = args.decode::<Vec<Binary>>();
            let _ = args.attachments();
            let _ = args.to_json();
            let _ = ack.send(&args);
        });
    });
    io
}

fuzz_target!(|message: &[u8]| {
    SERVER.with(|Server { runtime, io }| runtime.block_on(run(io, message)));
});

async fn run(io: &Io, message: &[u8]) {
    let sid = memory::handshake(io, "EIO=4&transport=polling")
        .await
        .expect("a handshake");
    // The message first (a CONNECT with its auth, or a packet for no socket), then a plain
    // CONNECT to `/` and the message again (an event or ack for the socket).
    let message = Bytes::copy_from_slice(message);
    post(io, &sid, message.clone()).await;
    let mut connect = Vec::new();
    encode(PacketKind::Connect, "/", None, None, &mut connect);
    post(io, &sid, connect.into()).await;
    post(io, &sid, message).await;
    settle().await;
    memory::close(io, &sid).await;
    memory::drain_closed(io, &sid).await;
    memory::assert_empty(io, &["/"]).await;
}

/// POSTs one binary message to session `sid`.
async fn post(io: &Io, sid: &str, message: Bytes) {
    let mut body = Vec::new();
    payload::encode(&[Packet::Message(Message::binary(message))], &mut body);
    request(io, Method::POST, polling(sid), body.into()).await;
}
