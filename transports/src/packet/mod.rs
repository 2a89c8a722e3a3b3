//! Engine.IO v4 packets and their encodings, as pure functions over bytes.
//!
//! A packet travels in one of three framings:
//! - a WebSocket frame per packet ([`websocket`]): text packets as text frames (`4hello`),
//!   binary messages as binary frames with no type prefix;
//! - a long-polling payload ([`payload`]): packets joined by the record separator `\x1e`, binary
//!   messages as `b` followed by base64, optionally wrapped for JSONP ([`jsonp`]);
//! - a server-sent event per packet ([`sse`]), with the payload encoding of each packet.

pub mod deflate;
pub mod extension;
pub mod jsonp;
pub mod payload;
pub mod sse;
pub mod websocket;

use std::fmt;

use bytes::Bytes;
/// UTF-8 text in shared, reference-counted bytes: how text packets are held.
pub use tungstenite::Utf8Bytes;

/// A message carried by an Engine.IO session: text or binary.
///
/// Cloning a message is a reference-count bump, so a message built once can be sent to many
/// sessions. A text message keeps its encoded packet (`4` followed by the text), so sending it
/// over WebSocket copies nothing. When permessage-deflate is on, a message compressed for one
/// WebSocket connection keeps its compressed form for every other (see [`deflate`]).
#[derive(Clone)]
pub struct Message(Repr, deflate::Shared);

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Message {}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// The whole text packet: `4` then the UTF-8 text.
    Text(Utf8Bytes),
    /// The raw binary data.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// use tidings_transports::Message;
    ///
    /// let message = Message::text("hello");
    /// assert_eq!(message.as_text(), Some("hello"));
    /// ```
    pub fn text(text: impl AsRef<str>) -> Self {
        let text = text.as_ref();
        let mut packet = String::with_capacity(1 + text.len());
        packet.push('4');
        packet.push_str(text);
        Message(Repr::Text(packet.into()), deflate::Shared::new(text.len()))
    }

    /// A binary message.
    ///
    /// ```
    /// use tidings_transports::Message;
    ///
    /// let message = Message::binary(vec![1, 2, 3]);
    /// assert_eq!(message.as_binary().map(|b| &b[..]), Some(&[1, 2, 3][..]));
    /// ```
    pub fn binary(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        let shared = deflate::Shared::new(data.len());
        Message(Repr::Binary(data), shared)
    }

    /// A binary message received from a client, to be handed on rather than sent on.
    pub(crate) fn received_binary(data: Bytes) -> Self {
        Message(Repr::Binary(data), deflate::Shared::default())
    }

    /// The bytes a WebSocket frame carries: the text packet or the binary data.
    pub(crate) fn frame_payload(&self) -> &[u8] {
        match &self.0 {
            Repr::Text(packet) => packet.as_bytes(),
            Repr::Binary(data) => data,
        }
    }

    /// The frame payload compressed with permessage-deflate, or `None` when compressing
    /// does not make it shorter. Computed once for a message and its clones.
    pub(crate) fn compressed(&self) -> Option<Bytes> {
        self.1.get_or_compress(self.frame_payload())
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            // The first byte is the ASCII digit `4`, so index 1 is a character boundary.
            Repr::Text(packet) => Some(&packet.as_str()[1..]),
            Repr::Binary(_) => None,
        }
    }

    /// The data, if this is a binary message.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match &self.0 {
            Repr::Text(_) => None,
            Repr::Binary(data) => Some(data),
        }
    }

    /// Whether this is a binary message.
    pub fn is_binary(&self) -> bool {
        matches!(self.0, Repr::Binary(_))
    }

    /// The length of the text or of the binary data, in bytes.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Text(packet) => packet.len() - 1,
            Repr::Binary(data) => data.len(),
        }
    }

    /// Whether the text or binary data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds a text message from a whole text packet, which must start with `4`.
    fn from_text_packet(packet: Utf8Bytes) -> Self {
        debug_assert!(packet.as_str().starts_with('4'));
        Message(Repr::Text(packet), deflate::Shared::default())
    }
}

impl fmt::Debug for Message {
    // Payloads can be large or private: show their kind and size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.is_binary() { "Binary" } else { "Text" };
        f.debug_struct("Message")
            .field("kind", &kind)
            .field("len", &self.len())
            .finish()
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::binary(data)
    }
}

/// An Engine.IO v4 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the handshake, with its JSON data, sent by the server first on every session.
    Open(Utf8Bytes),
    /// `1`: the session is closing.
    Close,
    /// `2`: a heartbeat, sent by the server.
    Ping,
    /// `3`: the answer to a ping.
    Pong,
    /// `2probe`: the first packet a client sends on the transport it upgrades to.
    PingProbe,
    /// `3probe`: the server's answer to a probe.
    PongProbe,
    /// `4` (or a binary frame): application data.
    Message(Message),
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: nothing; ends a pending long-polling request during an upgrade.
    Noop,
}

/// Why bytes could not be decoded into Engine.IO packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A packet had no bytes at all.
    #[error("empty packet")]
    Empty,
    /// A packet started with something other than a packet type digit (`0` to `6`) or `b`.
    #[error("unknown packet type")]
    UnknownType,
    /// A text packet or payload was not valid UTF-8.
    #[error("packet is not valid UTF-8")]
    InvalidUtf8,
    /// A `b` packet did not hold valid base64.
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    /// An SSE event of type `json` did not hold a JSON string.
    #[error("SSE `json` event is not a JSON string")]
    InvalidJsonEvent,
    /// A JSONP request body had no `d` field.
    #[error("JSONP body has no `d` field")]
    MissingJsonpData,
}

impl Packet {
    /// Decodes one text packet, such as a WebSocket text frame (`4hello`, `2probe`, `5`).
    ///
    /// Data after the type of a control packet is ignored, except `probe` on ping and pong.
    ///
    /// ```
    /// use tidings_transports::{Message, Packet};
    ///
    /// assert_eq!(Packet::decode_text("2probe".into()), Ok(Packet::PingProbe));
    /// assert_eq!(Packet::decode_text("4hi".into()), Ok(Packet::Message(Message::text("hi"))));
    /// ```
    pub fn decode_text(text: Utf8Bytes) -> Result<Packet, DecodeError> {
        let bytes = text.as_bytes();
        let Some(&kind) = bytes.first() else {
            return Err(DecodeError::Empty);
        };
        let probe = &bytes[1..] == b"probe";
        Ok(match kind {
            b'0' => Packet::Open(text),
            b'1' => Packet::Close,
            b'2' if probe => Packet::PingProbe,
            b'2' => Packet::Ping,
            b'3' if probe => Packet::PongProbe,
            b'3' => Packet::Pong,
            b'4' => Packet::Message(Message::from_text_packet(text)),
            b'5' => Packet::Upgrade,
            b'6' => Packet::Noop,
            _ => return Err(DecodeError::UnknownType),
        })
    }

    /// The text form of this packet, or `None` for a binary message.
    ///
    /// ```
    /// use tidings_transports::{Message, Packet};
    ///
    /// assert_eq!(Packet::PongProbe.text().unwrap().as_str(), "3probe");
    /// assert_eq!(Packet::Message(Message::text("hi")).text().unwrap().as_str(), "4hi");
    /// assert!(Packet::Message(Message::binary(vec![1])).text().is_none());
    /// ```
    pub fn text(&self) -> Option<Utf8Bytes> {
        Some(match self {
            Packet::Open(data) => data.clone(),
            Packet::Close => Utf8Bytes::from_static("1"),
            Packet::Ping => Utf8Bytes::from_static("2"),
            Packet::Pong => Utf8Bytes::from_static("3"),
            Packet::PingProbe => Utf8Bytes::from_static("2probe"),
            Packet::PongProbe => Utf8Bytes::from_static("3probe"),
            Packet::Message(Message(Repr::Text(packet), _)) => packet.clone(),
            Packet::Message(Message(Repr::Binary(_), _)) => return None,
            Packet::Upgrade => Utf8Bytes::from_static("5"),
            Packet::Noop => Utf8Bytes::from_static("6"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_text_packet_type() {
        let cases: &[(&str, Result<Packet, DecodeError>)] = &[
            ("0{}", Ok(Packet::Open("0{}".into()))),
            ("1", Ok(Packet::Close)),
            ("2", Ok(Packet::Ping)),
            ("2probe", Ok(Packet::PingProbe)),
            ("2probes", Ok(Packet::Ping)),
            ("3", Ok(Packet::Pong)),
            ("3probe", Ok(Packet::PongProbe)),
            ("4", Ok(Packet::Message(Message::text("")))),
            ("4héllo", Ok(Packet::Message(Message::text("héllo")))),
            ("5", Ok(Packet::Upgrade)),
            ("6", Ok(Packet::Noop)),
            ("", Err(DecodeError::Empty)),
            ("7", Err(DecodeError::UnknownType)),
            ("abc", Err(DecodeError::UnknownType)),
            ("b", Err(DecodeError::UnknownType)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &Packet::decode_text((*input).into()),
                expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn text_round_trips() {
        for input in [
            "1",
            "2",
            "3",
            "2probe",
            "3probe",
            "4",
            "4a\u{2028}b",
            "5",
            "6",
            "0{\"sid\":\"x\"}",
        ] {
            let packet = Packet::decode_text(input.into()).expect("valid packet");
            assert_eq!(packet.text().expect("text packet").as_str(), input);
        }
    }

    #[test]
    fn message_accessors() {
        let text = Message::text("héllo");
        assert_eq!(text.as_text(), Some("héllo"));
        assert_eq!(text.len(), "héllo".len());
        assert!(!text.is_binary());
        assert!(text.as_binary().is_none());

        let binary = Message::binary(Bytes::from_static(&[1, 2]));
        assert_eq!(binary.len(), 2);
        assert!(binary.is_binary());
        assert!(binary.as_text().is_none());
        assert!(Message::text("").is_empty());
    }

    #[test]
    fn message_debug_hides_the_payload() {
        let debug = format!("{:?}", Message::text("secret"));
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("len: 6"), "{debug}");
    }
}
