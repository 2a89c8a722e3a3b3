//! The default Socket.IO parser: `parser::json::Decoder` and `parser::json::encode`.
//!
//! Input layout: lines split at `\n`. A line starting with `b` is a binary message (the rest of
//! the line is its data), any other line a text message. The decoder takes the messages in
//! order until the first error.
//!
//! Properties:
//! - the decoder never panics, and returns a packet only with as many attachments as it
//!   announced (at most the limit);
//! - every packet it returns encodes to text that decodes (with the same attachments) to the
//!   same packet: the text header is canonical and the data is kept as it came.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidings::parser::json::{DEFAULT_MAX_ATTACHMENTS, Decoder, Packet, encode};

fuzz_target!(|input: &[u8]| {
    let mut decoder = Decoder::default();
    for line in input.split(|&b| b == b'\n') {
        let result = match line.split_first() {
            Some((b'b', data)) => decoder.decode_binary(Bytes::copy_from_slice(data)),
            _ => match std::str::from_utf8(line) {
                Ok(text) => decoder.decode_text(text),
                Err(_) => return,
            },
        };
        match result {
            Ok(Some(packet)) => {
                assert!(packet.attachments.len() <= DEFAULT_MAX_ATTACHMENTS);
                check_round_trip(&packet);
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
});

fn check_round_trip(packet: &Packet) {
    let mut text = String::new();
    encode(packet, &mut text);
    let mut decoder = Decoder::default();
    let mut again = decoder
        .decode_text(&text)
        .expect("an encoded packet decodes");
    for attachment in &packet.attachments {
        assert!(again.is_none(), "the packet waits for every attachment");
        again = decoder
            .decode_binary(attachment.clone())
            .expect("its attachments fit");
    }
    let again = again.expect("complete after its attachments");
    // The header may differ (`/` is not written, nor an announced count of zero), the packet
    // may not.
    assert_eq!(&again, packet, "{text:?}");
}
