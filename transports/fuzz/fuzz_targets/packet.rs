//! `Packet::decode_text` on arbitrary UTF-8 (a WebSocket text frame).
//!
//! Properties:
//! - the result depends only on the first byte: empty is `Empty`, `0`..=`6` decodes, anything
//!   else is `UnknownType`;
//! - a decoded packet always has a text form, and decoding that text gives the same packet back;
//! - the text form is the input byte for byte, except for `1`, `2`, `3`, `5`, `6` followed by
//!   data (ignored, so the text form is the bare type digit); `2probe` and `3probe` only come
//!   from exactly those inputs;
//! - a message keeps its text: `as_text` is the input after the `4`;
//! - the payload decoder agrees with `decode_text` on one packet that is not `b…` and holds no
//!   record separator.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::payload;
use tidings_transports::{DecodeError, Packet};

fuzz_target!(|input: &str| {
    let decoded = Packet::decode_text(input.into());

    match input.as_bytes().first() {
        None => assert_eq!(decoded, Err(DecodeError::Empty)),
        Some(b'0'..=b'6') => assert!(decoded.is_ok(), "{input:?} -> {decoded:?}"),
        Some(_) => assert_eq!(decoded, Err(DecodeError::UnknownType), "{input:?}"),
    }

    // One payload part is decoded by the same rules, unless it is a `b` (base64) part.
    if !input.starts_with('b') && !input.as_bytes().contains(&payload::SEPARATOR) {
        let bytes = Bytes::copy_from_slice(input.as_bytes());
        assert_eq!(payload::decode_one(bytes.clone()), decoded, "{input:?}");
        assert_eq!(payload::decode(bytes), decoded.clone().map(|p| vec![p]));
    }

    let Ok(packet) = decoded else { return };
    let text = packet
        .text()
        .expect("a packet decoded from text has a text form");
    let text = text.as_str();

    // Decoding the text form is the identity on packets.
    assert_eq!(
        Packet::decode_text(text.into()).as_ref(),
        Ok(&packet),
        "{input:?}"
    );
    assert_eq!(text.as_bytes()[0], input.as_bytes()[0], "type digit kept");

    match &packet {
        Packet::Open(_) => assert_eq!(text, input),
        Packet::Message(message) => {
            assert_eq!(text, input);
            assert!(!message.is_binary());
            assert_eq!(message.as_text(), Some(&input[1..]));
            assert_eq!(message.len(), input.len() - 1);
        }
        Packet::PingProbe => assert_eq!(input, "2probe"),
        Packet::PongProbe => assert_eq!(input, "3probe"),
        Packet::Close | Packet::Ping | Packet::Pong | Packet::Upgrade | Packet::Noop => {
            // Data after a control type is ignored: the text form is the bare digit, and it
            // equals the input exactly when there was no data.
            assert_eq!(text.len(), 1, "{input:?}");
            assert_eq!(text == input, input.len() == 1, "{input:?}");
            if matches!(packet, Packet::Ping | Packet::Pong) {
                assert_ne!(&input[1..], "probe");
            }
        }
    }
});
