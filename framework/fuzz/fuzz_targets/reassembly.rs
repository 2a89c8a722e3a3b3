//! Binary reassembly: Socket.IO packets that announce attachments, and the attachments after
//! them, through `parser::json::Decoder` and then through a whole server in memory (the
//! client's decoder in its session, the namespace, a handler reading the arguments with the
//! binary data in place of the placeholders).
//!
//! Input layout: a sequence of messages, each chosen by a byte: a binary event (`5N-`) or ack
//! (`6N-<id>`) announcing `N` attachments (0 to 6, over the limit of 4 included) with
//! arguments built from the input (placeholders in range or not, nested in arrays and
//! objects, near misses such as `"_placeholder":false`, a string `num`, no `num`), an
//! attachment (bytes from the input), or a plain event; plus, for the server, where the
//! polling POSTs end.
//!
//! A model says what each message must do: a header while another waits, or an attachment
//! while none does, is an error (`UnexpectedText`, `UnexpectedBinary`); announcing more than
//! the limit is `TooManyAttachments`; a packet is complete with its last announced attachment
//! and then every placeholder (an object whose `_placeholder` is `true`) must name one of its
//! attachments by an integer `num`, or it is `BadPlaceholder`. The decoder is not used after
//! an error.
//!
//! Properties:
//! - the decoder gives exactly the model's outcomes: a complete packet has the header's kind,
//!   id and data, and exactly the attachments that followed it, in order; otherwise it returns
//!   nothing or the error, never a packet with fewer attachments;
//! - the server's `bin` handler is called once per complete event before the first error, in
//!   order, and reads its arguments with every placeholder replaced by its attachment;
//! - after an error the server has closed the session; otherwise it closes on a `1` packet,
//!   and then holds no session and no socket.

#![no_main]

mod memory;

use std::cell::RefCell;
use std::collections::BTreeMap;

use bytes::Bytes;
use http::Method;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use memory::{Server, polling, request, settle};
use serde::Deserialize;
use serde_json::{Value, json};
use tidings::parser::json::{Decoder, Packet as SioPacket, PacketKind, ParseError};
use tidings::{Binary, Io, Payload, Socket};
use tidings_transports::packet::payload;
use tidings_transports::{Message, Packet};

/// The server's and the decoder's limit of attachments per packet.
const MAX_ATTACHMENTS: usize = 4;

/// The most messages one run sends.
const MAX_MESSAGES: usize = 16;

thread_local! {
    static SERVER: Server = Server::new(server);
    /// What the `bin` handler read, in order.
    static RECEIVED: RefCell<Vec<Node>> = const { RefCell::new(Vec::new()) };
}

fn server() -> Io {
    let io = memory::builder().max_attachments(MAX_ATTACHMENTS).build();
    io.ns("/", |socket: Socket| {
        socket.on("bin", |args: Payload| {
            let node = args.decode::<Node>().expect("any arguments read as a node");
            RECEIVED.with(|r| r.borrow_mut().push(node));
            // The msgpack form a cluster adapter forwards, transcoded with the attachments.
            let _ = args.to_msgpack();
        });
    });
    io
}

/// Arguments read back: binary data wherever a placeholder resolved.
#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Node {
    Array(Vec<Node>),
    Binary(Binary),
    Object(BTreeMap<String, Node>),
    Other(Value),
}

/// A message the client sends.
#[derive(Debug)]
enum Sent {
    /// A binary event or ack: the attachments it announces, the packet it must become.
    Header {
        announced: usize,
        text: String,
        packet: SioPacket,
    },
    /// An attachment.
    Attachment(Bytes),
    /// A plain event (its placeholders, if any, are plain objects).
    Plain { text: String, packet: SioPacket },
}

fuzz_target!(|input: &[u8]| {
    let mut u = Unstructured::new(input);
    let Ok((messages, breaks)) = messages(&mut u) else {
        return;
    };
    let delivered = check_decoder(&messages);
    SERVER.with(|Server { runtime, io }| {
        runtime.block_on(check_server(io, &messages, &breaks, &delivered))
    });
});

/// What the decoder must do with each message; returns the complete events before the first
/// error (in order), and whether there was an error.
fn check_decoder(messages: &[Sent]) -> (Vec<SioPacket>, bool) {
    let mut decoder = Decoder::new(MAX_ATTACHMENTS);
    let mut pending: Option<(usize, SioPacket)> = None;
    let mut complete = Vec::new();
    for sent in messages {
        let (got, expected) = match sent {
            Sent::Header {
                announced,
                text,
                packet,
            } => {
                let got = decoder.decode_text(text);
                let expected = if pending.is_some() {
                    Err(ParseError::UnexpectedText)
                } else if *announced > MAX_ATTACHMENTS {
                    Err(ParseError::TooManyAttachments)
                } else if *announced == 0 {
                    fits(packet)
                } else {
                    pending = Some((*announced, packet.clone()));
                    Ok(None)
                };
                (got, expected)
            }
            Sent::Plain { text, packet } => {
                let expected = match pending {
                    Some(_) => Err(ParseError::UnexpectedText),
                    None => Ok(Some(packet.clone())),
                };
                (decoder.decode_text(text), expected)
            }
            Sent::Attachment(data) => {
                let expected = match &mut pending {
                    None => Err(ParseError::UnexpectedBinary),
                    Some((announced, packet)) => {
                        packet.attachments.push(data.clone());
                        if packet.attachments.len() == *announced {
                            let (_, packet) = pending.take().expect("just seen");
                            fits(&packet)
                        } else {
                            Ok(None)
                        }
                    }
                };
                (decoder.decode_binary(data.clone()), expected)
            }
        };
        assert_eq!(got, expected, "after {messages:?}");
        match got {
            Err(_) => return (complete, true),
            Ok(Some(packet)) => {
                assert!(packet.attachments.len() <= MAX_ATTACHMENTS);
                complete.push(packet);
            }
            Ok(None) => {}
        }
    }
    (complete, false)
}

/// A complete binary packet, or `BadPlaceholder` when a placeholder names no attachment.
fn fits(packet: &SioPacket) -> std::result::Result<Option<SioPacket>, ParseError> {
    fn named(value: &Value, count: usize) -> bool {
        match value {
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => map
                .get("num")
                .and_then(Value::as_u64)
                .is_some_and(|num| num < count as u64),
            Value::Object(map) => map.values().all(|v| named(v, count)),
            Value::Array(items) => items.iter().all(|v| named(v, count)),
            _ => true,
        }
    }
    let data: Value = serde_json::from_str(packet.data.as_deref().expect("built with data"))
        .expect("built as JSON");
    if named(&data, packet.attachments.len()) {
        Ok(Some(packet.clone()))
    } else {
        Err(ParseError::BadPlaceholder)
    }
}

/// Sends the messages to a server in memory and checks what its `bin` handler read.
async fn check_server(
    io: &Io,
    messages: &[Sent],
    breaks: &[bool],
    (complete, failed): &(Vec<SioPacket>, bool),
) {
    RECEIVED.with(|r| r.borrow_mut().clear());
    let sid = memory::handshake(io, "EIO=4&transport=polling")
        .await
        .expect("a handshake");
    post(io, &sid, vec![Packet::Message(Message::text("0"))]).await;
    let mut packets = Vec::new();
    for (sent, &flush) in messages.iter().zip(breaks) {
        packets.push(Packet::Message(match sent {
            Sent::Header { text, .. } | Sent::Plain { text, .. } => Message::text(text),
            Sent::Attachment(data) => Message::binary(data.clone()),
        }));
        if flush {
            post(io, &sid, std::mem::take(&mut packets)).await;
        }
    }
    if !packets.is_empty() {
        post(io, &sid, packets).await;
    }
    settle().await;
    let expected: Vec<Node> = complete
        .iter()
        .filter(|p| p.kind == PacketKind::Event)
        .map(expected_args)
        .collect();
    RECEIVED.with(|r| assert_eq!(*r.borrow(), expected, "after {messages:?}"));
    if *failed {
        assert!(
            memory::drain_closed(io, &sid).await,
            "the server closes the session after an error"
        );
    } else {
        memory::close(io, &sid).await;
        memory::drain_closed(io, &sid).await;
    }
    memory::assert_empty(io, &["/"]).await;
}

async fn post(io: &Io, sid: &str, packets: Vec<Packet>) {
    let mut body = Vec::new();
    payload::encode(&packets, &mut body);
    request(io, Method::POST, polling(sid), body.into()).await;
}

/// The arguments of an event as the handler must read them: one argument as itself, none as
/// `null`, several as an array; placeholders replaced by their attachments.
fn expected_args(packet: &SioPacket) -> Node {
    fn node(value: &Value, attachments: &[Bytes]) -> Node {
        match value {
            Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
                match map.get("num").and_then(Value::as_u64) {
                    Some(num) if (num as usize) < attachments.len() => {
                        Node::Binary(Binary(attachments[num as usize].clone()))
                    }
                    _ => Node::Object(
                        map.iter()
                            .map(|(k, v)| (k.clone(), node(v, attachments)))
                            .collect(),
                    ),
                }
            }
            Value::Object(map) => Node::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), node(v, attachments)))
                    .collect(),
            ),
            Value::Array(items) => {
                Node::Array(items.iter().map(|v| node(v, attachments)).collect())
            }
            other => Node::Other(other.clone()),
        }
    }
    let data: Value = serde_json::from_str(packet.data.as_deref().expect("an event has data"))
        .expect("built as JSON");
    let args = &data.as_array().expect("an event is an array")[1..];
    match args {
        [] => Node::Other(Value::Null),
        [one] => node(one, &packet.attachments),
        several => Node::Array(
            several
                .iter()
                .map(|v| node(v, &packet.attachments))
                .collect(),
        ),
    }
}

/// The messages of a run, and after which of them a POST ends.
fn messages(u: &mut Unstructured<'_>) -> Result<(Vec<Sent>, Vec<bool>)> {
    let mut messages = Vec::new();
    let mut breaks = Vec::new();
    while !u.is_empty() && messages.len() < MAX_MESSAGES {
        let choice = u.int_in_range(0..=4u8)?;
        breaks.push(u.ratio(1, 3)?);
        messages.push(match choice {
            0 | 1 => Sent::Attachment(Bytes::copy_from_slice(take(u, 6)?)),
            2 => {
                let (text, packet) = packet(u, PacketKind::Event, None)?;
                Sent::Plain { text, packet }
            }
            _ => {
                let announced = u.int_in_range(0..=6)?;
                let kind = if u.ratio(3, 4)? {
                    PacketKind::Event
                } else {
                    PacketKind::Ack
                };
                let (text, packet) = packet(u, kind, Some(announced))?;
                Sent::Header {
                    announced,
                    text,
                    packet,
                }
            }
        });
    }
    Ok((messages, breaks))
}

/// A packet on `/` and its text; binary (`5`/`6`) when `announced` is given.
fn packet(
    u: &mut Unstructured<'_>,
    kind: PacketKind,
    announced: Option<usize>,
) -> Result<(String, SioPacket)> {
    let mut args = Vec::new();
    if kind == PacketKind::Event {
        args.push(json!("bin"));
    }
    for _ in 0..u.int_in_range(0..=3)? {
        args.push(value(u, 3)?);
    }
    let data = Value::Array(args).to_string();
    let id = match kind {
        PacketKind::Ack => Some(u.int_in_range(0..=99)?),
        _ => u.ratio(1, 4)?.then_some(7),
    };
    let mut text = match (kind, announced) {
        (PacketKind::Event, None) => "2".to_owned(),
        (PacketKind::Event, Some(n)) => format!("5{n}-"),
        (_, Some(n)) => format!("6{n}-"),
        (_, None) => "3".to_owned(),
    };
    if let Some(id) = id {
        text.push_str(&id.to_string());
    }
    text.push_str(&data);
    let packet = SioPacket {
        kind,
        namespace: "/".to_owned(),
        id,
        data: Some(data),
        attachments: Vec::new(),
    };
    Ok((text, packet))
}

/// An argument: placeholders (in range or not), near misses, and scalars, nested up to
/// `depth`.
fn value(u: &mut Unstructured<'_>, depth: u8) -> Result<Value> {
    let choice = u.int_in_range(0..=9u8)?;
    Ok(match choice {
        0..=2 => json!({"_placeholder": true, "num": u.int_in_range(0..=6u8)?}),
        3 if depth > 0 => {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                items.push(value(u, depth - 1)?);
            }
            Value::Array(items)
        }
        4 if depth > 0 => json!({"a": value(u, depth - 1)?, "b": value(u, depth - 1)?}),
        5 => u
            .choose(&[
                json!({"_placeholder": false, "num": 0}),
                json!({"_placeholder": true, "num": "0"}),
                json!({"_placeholder": true}),
                json!({"_placeholder": true, "num": -1}),
                json!({"_placeholder": true, "num": 0.5}),
                json!({"_placeholder": true, "num": 0, "extra": [1]}),
                json!({"num": 0}),
            ])?
            .clone(),
        6 => json!(u.int_in_range(0..=1000u16)?),
        7 => json!(String::from_utf8_lossy(take(u, 4)?)),
        8 => json!(u.arbitrary::<bool>()?),
        _ => Value::Null,
    })
}

/// Up to `max` bytes of the input.
fn take<'a>(u: &mut Unstructured<'a>, max: usize) -> Result<&'a [u8]> {
    let len = u.int_in_range(0..=max)?;
    u.bytes(len)
}
