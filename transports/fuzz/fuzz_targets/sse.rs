//! The `sse` transport's event stream: `sse::Decoder::push` and `sse::encode`.
//!
//! Input layout: the first byte `n` gives the number of chunking bytes (`n % 16`), those bytes
//! give the sizes of the chunks the stream is fed in (`byte % 32 + 1`, cycling, with an empty
//! push before the chunk when the byte is 128 or more), and the rest is the stream. A seed that
//! starts with `0` (0x30) is fed in one piece.
//!
//! Properties of the decoder on arbitrary bytes:
//! - it never panics;
//! - line endings do not matter: a stream without CR decodes the same (packets or error) with
//!   its `\n` replaced by `\r\n` or by `\r`;
//! - chunking does not matter: feeding the stream byte by byte, in one piece, or in the chunks
//!   given by the input yields the same packets and the same first error (packets of the chunk
//!   that fails are lost with it, so the chunked packets are then a prefix).
//!
//! Properties of the encoder, on packets of every kind built from the stream bytes:
//! - every event is lines of `data: ` or `event: json`, ended by one blank line, with `\n` line
//!   ends and no carriage return anywhere (a CR would be a line end to any parser);
//! - decoding the encoded events, with keep-alive comments between some of them, in the chunks
//!   given by the input gives back exactly the packets, also with every `\n` turned into `\r\n`
//!   or `\r`.

#![no_main]

mod chunks;

use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::sse;
use tidings_transports::{DecodeError, Message, Packet};

fuzz_target!(|input: &[u8]| {
    let (sizes, stream) = match input.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 16).min(rest.len())),
        None => (&[][..], &[][..]),
    };

    check_chunking(stream, sizes);
    check_line_endings(stream);
    check_round_trip(stream, sizes);
});

/// The stream in the chunks given by the input.
fn chunks<'a>(bytes: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    chunks::split(bytes, sizes, true)
}

/// Feeds `chunks` to a new decoder, stopping at the first error.
fn feed<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Packet>, Option<DecodeError>) {
    let mut decoder = sse::Decoder::new();
    let mut packets = Vec::new();
    for chunk in chunks {
        match decoder.push(chunk) {
            Ok(got) => packets.extend(got),
            Err(error) => return (packets, Some(error)),
        }
    }
    (packets, None)
}

fn check_chunking(stream: &[u8], sizes: &[u8]) {
    let (by_byte, by_byte_error) = feed(stream.chunks(1));

    let whole = sse::Decoder::new().push(stream);
    match by_byte_error {
        None => assert_eq!(whole.as_ref(), Ok(&by_byte)),
        Some(error) => assert_eq!(whole, Err(error)),
    }

    let (chunked, chunked_error) = feed(chunks(stream, sizes));
    assert_eq!(chunked_error, by_byte_error, "{stream:?}");
    if by_byte_error.is_none() {
        assert_eq!(chunked, by_byte);
    } else {
        assert!(by_byte.starts_with(&chunked), "{chunked:?} vs {by_byte:?}");
    }
}

/// The stream with every `\n` replaced by `ending`.
fn with_line_ending(stream: &[u8], ending: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(stream.len() * 2);
    for &byte in stream {
        match byte {
            b'\n' => out.extend_from_slice(ending),
            _ => out.push(byte),
        }
    }
    out
}

fn check_line_endings(stream: &[u8]) {
    if stream.contains(&b'\r') {
        return;
    }
    let lf = sse::Decoder::new().push(stream);
    for ending in [&b"\r\n"[..], b"\r"] {
        let other = with_line_ending(stream, ending);
        assert_eq!(sse::Decoder::new().push(&other), lf, "{other:?}");
    }
}

/// Packets of every kind, built from the bytes: a kind byte, a length byte, that many bytes.
fn build_packets(mut bytes: &[u8]) -> Vec<Packet> {
    let mut packets = Vec::new();
    while let Some((&kind, rest)) = bytes.split_first() {
        let (len, rest) = match rest.split_first() {
            Some((&len, rest)) => (usize::from(len).min(rest.len()), rest),
            None => (0, rest),
        };
        let (data, rest) = rest.split_at(len);
        let text = String::from_utf8_lossy(data);
        packets.push(match kind % 10 {
            0 => Packet::decode_text(format!("0{text}").into()).expect("an open packet"),
            1 => Packet::Close,
            2 => Packet::Ping,
            3 => Packet::Pong,
            4 => Packet::PingProbe,
            5 => Packet::PongProbe,
            6 => Packet::Message(Message::text(text)),
            7 => Packet::Message(Message::binary(data.to_vec())),
            8 => Packet::Upgrade,
            _ => Packet::Noop,
        });
        bytes = rest;
    }
    packets
}

fn check_round_trip(bytes: &[u8], sizes: &[u8]) {
    let packets = build_packets(bytes);
    let mut stream = Vec::new();
    for (i, packet) in packets.iter().enumerate() {
        let start = stream.len();
        sse::encode(packet, &mut stream);
        let event = &stream[start..];

        assert!(!event.contains(&b'\r'), "{packet:?} gave {event:?}");
        let body = event.strip_suffix(b"\n\n").expect("ends with a blank line");
        let mut lines = body.split(|&b| b == b'\n').peekable();
        if lines.peek() == Some(&&b"event: json"[..]) {
            lines.next();
            let line = lines.next().expect("a data line after the json event type");
            assert!(line.starts_with(b"data: \""), "{event:?}");
            assert!(
                lines.next().is_none(),
                "a json event has one data line: {event:?}"
            );
        }
        for line in lines {
            assert!(line.starts_with(b"data: "), "{event:?}");
        }

        if bytes.get(i).is_some_and(|b| b % 2 == 1) {
            stream.extend_from_slice(sse::KEEP_ALIVE);
        }
    }

    let (decoded, error) = feed(chunks(&stream, sizes));
    assert_eq!(error, None, "{stream:?}");
    assert_eq!(decoded, packets, "{:?}", String::from_utf8_lossy(&stream));

    // Any line ending a server or proxy might use reads the same.
    for ending in [&b"\r\n"[..], b"\r"] {
        let other = with_line_ending(&stream, ending);
        let (decoded, error) = feed(chunks(&other, sizes));
        assert_eq!(error, None, "{other:?}");
        assert_eq!(decoded, packets, "{other:?}");
    }
}
