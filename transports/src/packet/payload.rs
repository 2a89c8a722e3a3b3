//! The long-polling payload: packets joined by the record separator `\x1e`.
//!
//! Text packets appear as they are (`4hello`); a binary message appears as `b` followed by the
//! standard base64 (with padding) of its data: `4hello\x1ebAQIDBA==`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use tungstenite::Utf8Bytes;

use super::{DecodeError, Message, Packet};

/// The byte between two packets of a payload.
pub const SEPARATOR: u8 = 0x1e;

/// Decodes a whole payload, all or nothing: one bad packet rejects the payload.
///
/// ```
/// use bytes::Bytes;
/// use tidings_transports::{Message, Packet, packet::payload};
///
/// let packets = payload::decode(Bytes::from_static(b"4hello\x1ebAQI=")).unwrap();
/// assert_eq!(packets, [
///     Packet::Message(Message::text("hello")),
///     Packet::Message(Message::binary(vec![1, 2])),
/// ]);
/// ```
pub fn decode(body: Bytes) -> Result<Vec<Packet>, DecodeError> {
    let mut packets = Vec::with_capacity(1 + separator_count(&body));
    let mut start = 0;
    loop {
        let end = body[start..]
            .iter()
            .position(|&b| b == SEPARATOR)
            .map_or(body.len(), |at| start + at);
        packets.push(decode_one(body.slice(start..end))?);
        if end == body.len() {
            return Ok(packets);
        }
        start = end + 1;
    }
}

/// Decodes one packet of a payload (or one server-sent event): text, or `b` and base64.
pub fn decode_one(part: Bytes) -> Result<Packet, DecodeError> {
    if part.first() == Some(&b'b') {
        let data = BASE64
            .decode(&part[1..])
            .map_err(|_| DecodeError::InvalidBase64)?;
        return Ok(Packet::Message(Message::binary(data)));
    }
    let text = Utf8Bytes::try_from(part).map_err(|_| DecodeError::InvalidUtf8)?;
    Packet::decode_text(text)
}

/// Appends the payload form of `packets` to `out`.
///
/// ```
/// use tidings_transports::{Message, Packet, packet::payload};
///
/// let mut out = Vec::new();
/// payload::encode(&[Packet::Ping, Packet::Message(Message::binary(vec![1, 2, 3, 4]))], &mut out);
/// assert_eq!(out, b"2\x1ebAQIDBA==");
/// ```
pub fn encode<'a>(packets: impl IntoIterator<Item = &'a Packet>, out: &mut Vec<u8>) {
    for (i, packet) in packets.into_iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        encode_one(packet, out);
    }
}

/// Appends the payload form of one packet to `out`.
pub fn encode_one(packet: &Packet, out: &mut Vec<u8>) {
    if let Packet::Message(message) = packet
        && let Some(data) = message.as_binary()
    {
        out.push(b'b');
        let start = out.len();
        out.resize(start + data.len().div_ceil(3) * 4, 0);
        let written = BASE64
            .encode_slice(data, &mut out[start..])
            .expect("the buffer is sized for the padded base64");
        out.truncate(start + written);
    } else if let Some(text) = packet.text() {
        out.extend_from_slice(text.as_bytes());
    }
}

fn separator_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == SEPARATOR).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Packet {
        Packet::Message(Message::text(s))
    }

    type Case = (&'static [u8], Result<Vec<Packet>, DecodeError>);

    #[test]
    fn decodes_payloads() {
        let cases: &[Case] = &[
            (b"4hello", Ok(vec![text("hello")])),
            (
                b"4test1\x1e4test2\x1e4test3",
                Ok(vec![text("test1"), text("test2"), text("test3")]),
            ),
            (
                b"4hello\x1ebAQIDBA==",
                Ok(vec![
                    text("hello"),
                    Packet::Message(Message::binary(vec![1, 2, 3, 4])),
                ]),
            ),
            (b"b", Ok(vec![Packet::Message(Message::binary(Vec::new()))])),
            (b"3\x1e1", Ok(vec![Packet::Pong, Packet::Close])),
            (b"", Err(DecodeError::Empty)),
            (b"4a\x1e", Err(DecodeError::Empty)),
            (b"\x1e4a", Err(DecodeError::Empty)),
            (b"abc", Err(DecodeError::UnknownType)),
            (b"4ok\x1e9", Err(DecodeError::UnknownType)),
            (b"b!!!", Err(DecodeError::InvalidBase64)),
            (b"bAQIDBA", Err(DecodeError::InvalidBase64)),
            (b"4\xff\xfe", Err(DecodeError::InvalidUtf8)),
        ];
        for (input, expected) in cases {
            let got = decode(Bytes::from_static(input));
            assert_eq!(&got, expected, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn encodes_payloads() {
        let cases: &[(Vec<Packet>, &[u8])] = &[
            (vec![Packet::Noop], b"6"),
            (vec![text("a"), text("b")], b"4a\x1e4b"),
            (
                vec![
                    Packet::Message(Message::binary(vec![1, 2, 3, 4])),
                    Packet::Close,
                ],
                b"bAQIDBA==\x1e1",
            ),
            (vec![Packet::Message(Message::binary(Vec::new()))], b"b"),
            (vec![], b""),
        ];
        for (packets, expected) in cases {
            let mut out = Vec::new();
            encode(packets, &mut out);
            assert_eq!(out, *expected, "packets {packets:?}");
        }
    }

    #[test]
    fn round_trips_binary_of_every_length() {
        for len in 0..40u8 {
            let data: Vec<u8> = (0..len).collect();
            let packets = vec![Packet::Message(Message::binary(data)), text("x")];
            let mut out = Vec::new();
            encode(&packets, &mut out);
            assert_eq!(decode(out.into()).as_ref(), Ok(&packets));
        }
    }
}
