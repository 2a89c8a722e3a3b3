//! `payload::decode` on arbitrary bytes (a long-polling POST body).
//!
//! Properties:
//! - decoding is all or nothing, part by part: the payload decodes when every part between
//!   record separators decodes with `decode_one`, giving one packet per part, and otherwise
//!   fails with the error of the first bad part;
//! - when it decodes, `encode` then `decode` gives the same packets, and encoding is stable
//!   (encoding the re-decoded packets gives the same bytes);
//! - each part is canonical: its encoding is the part itself, byte for byte, except that data
//!   after a control type (`1`, `2`, `3`, `5`, `6`) is dropped (so base64 is accepted only in
//!   its padded, canonical form);
//! - a binary message built from the input and a text message built from it round-trip.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::payload;
use tidings_transports::{Message, Packet};

fuzz_target!(|input: &[u8]| {
    let body = Bytes::copy_from_slice(input);
    let parts: Vec<&[u8]> = body.split(|&b| b == payload::SEPARATOR).collect();
    let decoded = payload::decode(body.clone());

    // All or nothing, with the error of the first bad part.
    let per_part: Vec<_> = parts
        .iter()
        .map(|part| payload::decode_one(body.slice_ref(part)))
        .collect();
    match per_part.iter().find_map(|r| r.as_ref().err()) {
        Some(error) => assert_eq!(decoded.as_ref(), Err(error)),
        None => {
            let expected: Vec<Packet> = per_part.into_iter().map(Result::unwrap).collect();
            assert_eq!(decoded.as_ref(), Ok(&expected));
        }
    }

    if let Ok(packets) = &decoded {
        assert_eq!(packets.len(), parts.len());

        let mut encoded = Vec::new();
        payload::encode(packets, &mut encoded);
        let again = payload::decode(Bytes::from(encoded.clone()));
        assert_eq!(again.as_ref(), Ok(packets), "re-decoding {encoded:?}");

        let mut reencoded = Vec::new();
        payload::encode(again.as_ref().unwrap(), &mut reencoded);
        assert_eq!(reencoded, encoded, "encoding is stable");

        for (packet, part) in packets.iter().zip(&parts) {
            let mut one = Vec::new();
            payload::encode_one(packet, &mut one);
            let control = matches!(
                packet,
                Packet::Close | Packet::Ping | Packet::Pong | Packet::Upgrade | Packet::Noop
            );
            if control {
                assert_eq!(one.len(), 1);
                assert!(part.starts_with(&one), "{packet:?} from {part:?}");
            } else {
                assert_eq!(&one, part, "{packet:?} is not encoded as its part");
            }
        }
    }

    // Messages built from the input survive a payload, between other packets.
    let text: String = String::from_utf8_lossy(input).replace('\u{1e}', "");
    let built = vec![
        Packet::Message(Message::binary(body.clone())),
        Packet::Message(Message::text(&text)),
        Packet::Noop,
        Packet::Message(Message::binary(body.slice(..input.len() / 2))),
    ];
    let mut encoded = Vec::new();
    payload::encode(&built, &mut encoded);
    assert_eq!(payload::decode(Bytes::from(encoded)), Ok(built));
});
