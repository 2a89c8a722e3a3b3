//! Server-sent events framing for the `sse` transport (a Tidings extension to Engine.IO).
//!
//! Each packet is one event whose data is the packet's payload form (text as is, binary as `b`
//! and base64). A newline in a text packet becomes a line break between `data:` lines, which an
//! event-stream parser joins back with `\n`. A carriage return cannot survive an event stream
//! (every parser treats it as a line end), so a packet holding one is sent as an event of type
//! `json` whose data is the packet as a JSON string.
//!
//! ```text
//! data: 0{"sid":"…","upgrades":["websocket"],…}
//!
//! data: 4two
//! data: lines
//!
//! event: json
//! data: "4carriage\rreturn"
//!
//! :
//! ```
//!
//! The last one is a comment, sent as a keep-alive so idle proxies keep the stream open.

use bytes::Bytes;

use super::{DecodeError, Packet, payload};

/// A comment event that keeps an idle stream alive.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// The event type of a packet sent as a JSON string.
pub const JSON_EVENT: &str = "json";

/// Appends the event carrying `packet` to `out`.
///
/// ```
/// use tidings_transports::{Message, Packet, packet::sse};
///
/// let mut out = Vec::new();
/// sse::encode(&Packet::Message(Message::text("a\nb")), &mut out);
/// assert_eq!(out, b"data: 4a\ndata: b\n\n");
/// ```
pub fn encode(packet: &Packet, out: &mut Vec<u8>) {
    let start = out.len();
    payload::encode_one(packet, out);
    if !out[start..].contains(&b'\r') {
        let text = out.split_off(start);
        for line in text.split(|&b| b == b'\n') {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    } else {
        let text = String::from_utf8_lossy(&out[start..]).into_owned();
        out.truncate(start);
        out.extend_from_slice(b"event: json\ndata: ");
        out.extend_from_slice(serde_json::Value::String(text).to_string().as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// An incremental event-stream parser that yields the packets of the `sse` transport.
///
/// It follows the parts of the event-stream format that the transport uses (`data`, `event`,
/// comments, any line ending) and is what the Rust tests use as an SSE client.
#[derive(Debug, Default)]
pub struct Decoder {
    line: Vec<u8>,
    data: Option<Vec<u8>>,
    json: bool,
    after_cr: bool,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes of the stream, returning the packets of the events they complete.
    ///
    /// ```
    /// use tidings_transports::{Message, Packet, packet::sse};
    ///
    /// let mut decoder = sse::Decoder::new();
    /// assert!(decoder.push(b"data: 4a\ndata:").unwrap().is_empty());
    /// let packets = decoder.push(b" b\n\n:\n\n").unwrap();
    /// assert_eq!(packets, [Packet::Message(Message::text("a\nb"))]);
    /// ```
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Packet>, DecodeError> {
        let mut packets = Vec::new();
        for &byte in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    let line = std::mem::take(&mut self.line);
                    if let Some(packet) = self.line_end(&line)? {
                        packets.push(packet);
                    }
                }
                _ => self.line.push(byte),
            }
        }
        Ok(packets)
    }

    fn line_end(&mut self, line: &[u8]) -> Result<Option<Packet>, DecodeError> {
        if line.is_empty() {
            let json = std::mem::take(&mut self.json);
            let Some(mut data) = self.data.take() else {
                return Ok(None);
            };
            data.pop();
            let data = if json {
                let text: String =
                    serde_json::from_slice(&data).map_err(|_| DecodeError::InvalidJsonEvent)?;
                text.into_bytes()
            } else {
                data
            };
            return payload::decode_one(Bytes::from(data)).map(Some);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return Ok(None),
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                let data = self.data.get_or_insert_with(Vec::new);
                data.extend_from_slice(value);
                data.push(b'\n');
            }
            b"event" => self.json = value == JSON_EVENT.as_bytes(),
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    fn text(s: &str) -> Packet {
        Packet::Message(Message::text(s))
    }

    #[test]
    fn encodes_events() {
        let cases: &[(Packet, &[u8])] = &[
            (Packet::Ping, b"data: 2\n\n"),
            (text("hello"), b"data: 4hello\n\n"),
            (text("a\nb\n"), b"data: 4a\ndata: b\ndata: \n\n"),
            (text("a\rb"), b"event: json\ndata: \"4a\\rb\"\n\n"),
            (
                Packet::Message(Message::binary(vec![1, 2, 3, 4])),
                b"data: bAQIDBA==\n\n",
            ),
        ];
        for (packet, expected) in cases {
            let mut out = Vec::new();
            encode(packet, &mut out);
            assert_eq!(out, *expected, "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn round_trips_through_the_decoder_in_any_chunking() {
        let packets = vec![
            text("plain"),
            text("two\nlines"),
            text("\n"),
            text(""),
            text("cr\r\nlf"),
            text("only\rcr"),
            Packet::Message(Message::binary(vec![0, 255, 7])),
            Packet::Noop,
        ];
        let mut stream = Vec::new();
        for packet in &packets {
            encode(packet, &mut stream);
            stream.extend_from_slice(KEEP_ALIVE);
        }
        for chunk in [1, 2, 3, 7, stream.len()] {
            let mut decoder = Decoder::new();
            let mut got = Vec::new();
            for part in stream.chunks(chunk) {
                got.extend(decoder.push(part).expect("valid stream"));
            }
            assert_eq!(got, packets, "chunk size {chunk}");
        }
    }

    #[test]
    fn accepts_crlf_and_cr_line_endings() {
        let mut decoder = Decoder::new();
        let got = decoder
            .push(b"data:4a\r\n\r\ndata: 4b\r\rdata: 6\n\n")
            .expect("valid");
        assert_eq!(got, [text("a"), text("b"), Packet::Noop]);
    }

    #[test]
    fn rejects_bad_packets() {
        assert_eq!(
            Decoder::new().push(b"data: x\n\n"),
            Err(DecodeError::UnknownType)
        );
        assert_eq!(
            Decoder::new().push(b"event: json\ndata: 4\n\n"),
            Err(DecodeError::InvalidJsonEvent)
        );
    }
}
