//! The WebSocket frame decoder: `packet::websocket::Decoder::decode`.
//!
//! Input layout: the first byte `n` gives the number of chunking bytes (`n % 16`), those bytes
//! give the sizes of the chunks the stream is fed in (`byte % 32 + 1`, cycling), and the rest is
//! the stream. A seed that starts with `0` (0x30) is fed in one piece.
//!
//! Properties of the decoder on arbitrary bytes (limit 4096 bytes per message):
//! - it never panics, and no message it returns is over the limit;
//! - chunking does not matter: feeding the stream in one piece, byte by byte or in the chunks
//!   given by the input yields the same events and the same first error.
//!
//! Properties on frames built from the stream bytes: every message (text from the bytes as
//! UTF-8, binary as they are), masked with a key from the input, split into fragments of the
//! chunk sizes with a ping between fragments, decodes to exactly the messages and pings.

#![no_main]

use bytes::Bytes;
mod chunks;

use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::websocket::{Decoder, Event, FrameError, encode_client_frame};

const LIMIT: usize = 4096;

fuzz_target!(|input: &[u8]| {
    let (sizes, stream) = match input.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 16).min(rest.len())),
        None => (&[][..], &[][..]),
    };
    check_chunking(stream, sizes);
    check_round_trip(stream, sizes);
});

/// The stream in the chunks given by the input.
fn chunks<'a>(bytes: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    chunks::split(bytes, sizes, false)
}

/// Every event of `parts`, fed in order, up to the first error.
fn decode(parts: &[&[u8]]) -> (Vec<Event>, Option<FrameError>) {
    let mut decoder = Decoder::new(LIMIT);
    let mut events = Vec::new();
    for part in parts {
        let mut input = *part;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => {
                    assert!(
                        input.is_empty(),
                        "the decoder stops only at the end of input"
                    );
                    break;
                }
                Err(error) => return (events, Some(error)),
            }
        }
    }
    (events, None)
}

fn check_chunking(stream: &[u8], sizes: &[u8]) {
    let whole = decode(&[stream]);
    for event in &whole.0 {
        match event {
            Event::Text(text) => assert!(text.len() <= LIMIT),
            Event::Binary(data) => assert!(data.len() <= LIMIT),
            Event::Ping(data) => assert!(data.len() <= 125),
            Event::Pong | Event::Close(_) => {}
        }
    }
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(decode(&bytewise), whole, "byte by byte");
    assert_eq!(decode(&chunks(stream, sizes)), whole, "in chunks");
}

fn frame(first: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    encode_client_frame(first, payload, Some(mask), out);
}

fn check_round_trip(stream: &[u8], sizes: &[u8]) {
    let mask = match stream {
        [a, b, c, d, ..] => [*a, *b, *c, *d],
        _ => [0x12, 0x34, 0x56, 0x78],
    };
    let text = String::from_utf8_lossy(stream).into_owned();
    let messages: Vec<(bool, &[u8])> = vec![(true, text.as_bytes()), (false, stream)];
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (is_text, data) in messages {
        if data.len() > LIMIT {
            continue;
        }
        let fragments = chunks(data, sizes);
        for (i, fragment) in fragments.iter().enumerate() {
            let opcode = match (i, is_text) {
                (0, true) => 0x1,
                (0, false) => 0x2,
                _ => 0x0,
            };
            let fin = if i + 1 == fragments.len() { 0x80 } else { 0 };
            frame(fin | opcode, fragment, mask, &mut wire);
            if fin == 0 {
                let ping = &fragment[..fragment.len().min(125)];
                frame(0x89, ping, mask, &mut wire);
                expected.push(Event::Ping(Bytes::copy_from_slice(ping)));
            }
        }
        expected.push(if is_text {
            Event::Text(text.clone().into())
        } else {
            Event::Binary(Bytes::copy_from_slice(data))
        });
    }
    frame(0x88, &[0x03, 0xE8], mask, &mut wire);
    expected.push(Event::Close(1000));
    assert_eq!(decode(&[&wire]), (expected.clone(), None), "in one piece");
    assert_eq!(decode(&chunks(&wire, sizes)), (expected, None), "in chunks");
}
