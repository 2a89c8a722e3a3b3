//! The default Socket.IO parser: a text header, JSON data, and binary attachments sent as
//! separate Engine.IO binary messages.
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//! 2["chat","hi"]                 an event on `/`
//! 2/admin,12["stats"]            an event on `/admin` asking for ack 12
//! 51-["file",{"_placeholder":true,"num":0}]   + one binary message: an event with binary
//! 3/admin,12[{"users":4}]        the ack
//! ```
//!
//! Binary packets (types 5 and 6) are events and acks whose data holds placeholders
//! `{"_placeholder":true,"num":N}` for the attachments that follow them; here they are events
//! and acks with a non-empty [`Packet::attachments`]. The data stays JSON text: what it holds
//! is read later, by whoever needs it.

use bytes::Bytes;
use serde::de::IgnoredAny;

use super::RESERVED_EVENTS;
pub use super::{MAX_ACK_ID, PacketKind, ParseError};

/// The most attachments a binary packet may announce, unless configured otherwise (Node's
/// default too).
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// A Socket.IO packet as the default parser carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// What the packet does.
    pub kind: PacketKind,
    /// The namespace, `/` by default.
    pub namespace: String,
    /// The ack id of an event that asks for an ack, or of the ack answering it.
    pub id: Option<u64>,
    /// The data as JSON text, with placeholders where attachments go.
    pub data: Option<String>,
    /// The binary attachments, in placeholder order (events and acks only).
    pub attachments: Vec<Bytes>,
}

/// Appends the text of `packet` to `out`; its attachments are sent after it, one binary
/// message each. Only events and acks carry attachments; others ignore them.
///
/// ```
/// use tidings::parser::json::{Packet, PacketKind, encode};
///
/// let packet = Packet {
///     kind: PacketKind::Ack,
///     namespace: "/admin".into(),
///     id: Some(13),
///     data: Some(r#"["bar"]"#.into()),
///     attachments: Vec::new(),
/// };
/// let mut out = String::new();
/// encode(&packet, &mut out);
/// assert_eq!(out, r#"3/admin,13["bar"]"#);
/// ```
pub fn encode(packet: &Packet, out: &mut String) {
    write_header(
        packet.kind,
        packet.attachments.len(),
        &packet.namespace,
        packet.id,
        out,
    );
    if let Some(data) = &packet.data {
        out.push_str(data);
    }
}

/// Appends the header of a packet, everything before its data. Only events and acks carry
/// attachments; others ignore the count.
pub(crate) fn write_header(
    kind: PacketKind,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
    out: &mut String,
) {
    use std::fmt::Write;
    let binary = matches!(kind, PacketKind::Event | PacketKind::Ack) && attachments > 0;
    out.push(match (kind, binary) {
        (PacketKind::Connect, _) => '0',
        (PacketKind::Disconnect, _) => '1',
        (PacketKind::Event, false) => '2',
        (PacketKind::Ack, false) => '3',
        (PacketKind::ConnectError, _) => '4',
        (PacketKind::Event, true) => '5',
        (PacketKind::Ack, true) => '6',
    });
    if binary {
        let _ = write!(out, "{attachments}-");
    }
    if namespace != "/" {
        out.push_str(namespace);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
}

/// Decodes a client's packets, putting binary packets back together with their attachments.
#[derive(Debug)]
pub struct Decoder {
    max_attachments: usize,
    /// A binary packet and the number of attachments it still waits for.
    pending: Option<(Packet, usize)>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_ATTACHMENTS)
    }
}

impl Decoder {
    /// A decoder that refuses binary packets announcing more than `max_attachments`.
    pub fn new(max_attachments: usize) -> Self {
        Decoder {
            max_attachments,
            pending: None,
        }
    }

    /// Whether no binary packet waits for attachments.
    pub fn is_idle(&self) -> bool {
        self.pending.is_none()
    }

    /// Decodes a text message: the packet, or `None` when it is a binary packet that waits
    /// for its attachments.
    ///
    /// ```
    /// use tidings::parser::json::{Decoder, PacketKind};
    ///
    /// let mut decoder = Decoder::default();
    /// let packet = decoder.decode_text(r#"2/admin,12["stats"]"#).unwrap().unwrap();
    /// assert_eq!(packet.kind, PacketKind::Event);
    /// assert_eq!((packet.namespace.as_str(), packet.id), ("/admin", Some(12)));
    /// assert_eq!(packet.data.as_deref(), Some(r#"["stats"]"#));
    /// ```
    ///
    /// # Errors
    /// A [`ParseError`] for a malformed packet; the decoder should not be used again.
    pub fn decode_text(&mut self, text: &str) -> Result<Option<Packet>, ParseError> {
        if self.pending.is_some() {
            return Err(ParseError::UnexpectedText);
        }
        let (packet, binary, awaited) = decode_header(text, self.max_attachments)?;
        if awaited == 0 {
            return if binary { complete(packet) } else { Ok(packet) }.map(Some);
        }
        self.pending = Some((packet, awaited));
        Ok(None)
    }

    /// Decodes a binary message: an attachment of the waiting binary packet, which is
    /// returned once its last attachment arrived.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tidings::parser::json::Decoder;
    ///
    /// let mut decoder = Decoder::default();
    /// let header = r#"51-["file",{"_placeholder":true,"num":0}]"#;
    /// assert!(decoder.decode_text(header).unwrap().is_none());
    /// let packet = decoder.decode_binary(Bytes::from_static(&[1, 2])).unwrap().unwrap();
    /// assert_eq!(packet.attachments, [Bytes::from_static(&[1, 2])]);
    /// ```
    ///
    /// # Errors
    /// [`ParseError::UnexpectedBinary`] when no binary packet waits, or
    /// [`ParseError::BadPlaceholder`] when the completed packet's placeholders do not match
    /// its attachments.
    pub fn decode_binary(&mut self, data: Bytes) -> Result<Option<Packet>, ParseError> {
        let Some((packet, awaited)) = &mut self.pending else {
            return Err(ParseError::UnexpectedBinary);
        };
        packet.attachments.push(data);
        *awaited -= 1;
        if *awaited > 0 {
            return Ok(None);
        }
        let (packet, _) = self.pending.take().expect("checked above");
        complete(packet).map(Some)
    }
}

/// Reads the header and checks the data of a text packet; returns the packet, whether it is a
/// binary packet, and the number of attachments it waits for.
fn decode_header(text: &str, max_attachments: usize) -> Result<(Packet, bool, usize), ParseError> {
    let bytes = text.as_bytes();
    let (kind, binary) = match bytes.first().ok_or(ParseError::Empty)? {
        b'0' => (PacketKind::Connect, false),
        b'1' => (PacketKind::Disconnect, false),
        b'2' => (PacketKind::Event, false),
        b'3' => (PacketKind::Ack, false),
        b'4' => (PacketKind::ConnectError, false),
        b'5' => (PacketKind::Event, true),
        b'6' => (PacketKind::Ack, true),
        _ => return Err(ParseError::UnknownType),
    };
    let mut at = 1;

    let mut attachments = 0;
    if binary {
        let digits = digits_at(bytes, at);
        if digits == 0 || bytes.get(at + digits) != Some(&b'-') {
            return Err(ParseError::BadAttachmentCount);
        }
        attachments = text[at..at + digits]
            .parse::<usize>()
            .map_err(|_| ParseError::TooManyAttachments)?;
        if attachments > max_attachments {
            return Err(ParseError::TooManyAttachments);
        }
        at += digits + 1;
    }

    let mut namespace = "/";
    if bytes.get(at) == Some(&b'/') {
        let end = text[at..].find(',').map_or(text.len(), |comma| at + comma);
        namespace = &text[at..end];
        at = (end + 1).min(text.len());
    }

    let digits = digits_at(bytes, at);
    let id = if digits > 0 {
        let id = text[at..at + digits]
            .parse::<u64>()
            .ok()
            .filter(|id| *id <= MAX_ACK_ID)
            .ok_or(ParseError::BadAckId)?;
        at += digits;
        Some(id)
    } else {
        None
    };

    let data = &text[at..];
    check_data(kind, data)?;
    let packet = Packet {
        kind,
        namespace: namespace.to_owned(),
        id,
        data: (!data.is_empty()).then(|| data.to_owned()),
        attachments: Vec::with_capacity(attachments),
    };
    Ok((packet, binary, attachments))
}

/// How many ASCII digits start at `at`.
fn digits_at(bytes: &[u8], at: usize) -> usize {
    bytes
        .get(at..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count()
}

/// Checks that `data` is JSON of the shape the packet type requires.
fn check_data(kind: PacketKind, data: &str) -> Result<(), ParseError> {
    let first = data.trim_start().as_bytes().first().copied();
    let fits = match (kind, first) {
        (PacketKind::Connect | PacketKind::Disconnect, None) => return Ok(()),
        (PacketKind::Connect, Some(b'{')) => true,
        (PacketKind::ConnectError, Some(b'{' | b'"')) => true,
        (PacketKind::Ack, Some(b'[')) => true,
        (PacketKind::Event, Some(b'[')) => {
            return match serde_json::from_str::<EventCheck>(data) {
                Ok(EventCheck) => Ok(()),
                // A name that is missing, not a string or reserved: an invalid payload, if
                // the rest is JSON at all.
                Err(error) if error.is_data() => match serde_json::from_str::<IgnoredAny>(data) {
                    Ok(_) => Err(ParseError::InvalidPayload),
                    Err(_) => Err(ParseError::InvalidJson),
                },
                Err(_) => Err(ParseError::InvalidJson),
            };
        }
        _ => false,
    };
    if !fits {
        return Err(ParseError::InvalidPayload);
    }
    serde_json::from_str::<IgnoredAny>(data).map_err(|_| ParseError::InvalidJson)?;
    Ok(())
}

/// An event's data checked in one pass: an array whose first element is a string that is not
/// a reserved name, then any JSON.
struct EventCheck;

impl<'de> serde::Deserialize<'de> for EventCheck {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(EventCheck)
    }
}

impl<'de> serde::de::Visitor<'de> for EventCheck {
    type Value = EventCheck;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event name and its arguments")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<EventCheck, A::Error> {
        let name: std::borrow::Cow<'de, str> = seq
            .next_element::<Name<'de>>()?
            .ok_or_else(|| serde::de::Error::custom("an event has a name"))?
            .0;
        if RESERVED_EVENTS.contains(&&*name) {
            return Err(serde::de::Error::custom("a reserved event name"));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventCheck)
    }
}

/// A string, borrowed when it holds no escape.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(v.into()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(v.to_owned().into()))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// Checks a complete binary packet: every placeholder names one of its attachments.
fn complete(packet: Packet) -> Result<Packet, ParseError> {
    let data = packet.data.as_deref().unwrap_or("null");
    let value: serde_json::Value =
        serde_json::from_str(data).map_err(|_| ParseError::InvalidJson)?;
    if !placeholders_fit(&value, packet.attachments.len()) {
        return Err(ParseError::BadPlaceholder);
    }
    Ok(packet)
}

/// Whether every placeholder in `value` names an attachment below `count`.
fn placeholders_fit(value: &serde_json::Value, count: usize) -> bool {
    match value {
        serde_json::Value::Object(map) if map.get("_placeholder") == Some(&true.into()) => map
            .get("num")
            .and_then(serde_json::Value::as_u64)
            .is_some_and(|num| num < count as u64),
        serde_json::Value::Object(map) => map.values().all(|v| placeholders_fit(v, count)),
        serde_json::Value::Array(items) => items.iter().all(|v| placeholders_fit(v, count)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(kind: PacketKind, namespace: &str, id: Option<u64>, data: Option<&str>) -> Packet {
        Packet {
            kind,
            namespace: namespace.into(),
            id,
            data: data.map(Into::into),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn decodes_text_packets() {
        use PacketKind::*;
        let cases: Vec<(&str, Result<Packet, ParseError>)> = vec![
            ("0", Ok(packet(Connect, "/", None, None))),
            ("0/admin,", Ok(packet(Connect, "/admin", None, None))),
            ("0/admin", Ok(packet(Connect, "/admin", None, None))),
            (
                r#"0{"token":"123"}"#,
                Ok(packet(Connect, "/", None, Some(r#"{"token":"123"}"#))),
            ),
            (
                r#"0/admin,{"a":1}"#,
                Ok(packet(Connect, "/admin", None, Some(r#"{"a":1}"#))),
            ),
            ("1", Ok(packet(Disconnect, "/", None, None))),
            ("1/admin,", Ok(packet(Disconnect, "/admin", None, None))),
            (
                r#"2["foo"]"#,
                Ok(packet(Event, "/", None, Some(r#"["foo"]"#))),
            ),
            (
                r#"2/admin,["bar",1]"#,
                Ok(packet(Event, "/admin", None, Some(r#"["bar",1]"#))),
            ),
            (
                r#"212["foo"]"#,
                Ok(packet(Event, "/", Some(12), Some(r#"["foo"]"#))),
            ),
            (
                r#"2/a,9007199254740991["x"]"#,
                Ok(packet(Event, "/a", Some(MAX_ACK_ID), Some(r#"["x"]"#))),
            ),
            (
                r#"3/admin,13["bar"]"#,
                Ok(packet(Ack, "/admin", Some(13), Some(r#"["bar"]"#))),
            ),
            (
                "3/admin,13[]",
                Ok(packet(Ack, "/admin", Some(13), Some("[]"))),
            ),
            (
                r#"4{"message":"no"}"#,
                Ok(packet(ConnectError, "/", None, Some(r#"{"message":"no"}"#))),
            ),
            ("", Err(ParseError::Empty)),
            ("7", Err(ParseError::UnknownType)),
            ("x", Err(ParseError::UnknownType)),
            (r#"2/a,9007199254740992["x"]"#, Err(ParseError::BadAckId)),
            (
                r#"299999999999999999999999["x"]"#,
                Err(ParseError::BadAckId),
            ),
            (r#"2["foo""#, Err(ParseError::InvalidJson)),
            (r#"2{"foo":1}"#, Err(ParseError::InvalidPayload)),
            ("2[1]", Err(ParseError::InvalidPayload)),
            ("2[]", Err(ParseError::InvalidPayload)),
            ("2", Err(ParseError::InvalidPayload)),
            (r#"2["disconnect"]"#, Err(ParseError::InvalidPayload)),
            ("3", Err(ParseError::InvalidPayload)),
            ("3{}", Err(ParseError::InvalidPayload)),
            ("0[]", Err(ParseError::InvalidPayload)),
            (r#"0{"a":}"#, Err(ParseError::InvalidJson)),
            ("1{}", Err(ParseError::InvalidPayload)),
            // In a text packet a placeholder-shaped object is plain data, as in Node.
            (
                r#"2["x",{"_placeholder":true,"num":0}]"#,
                Ok(packet(
                    Event,
                    "/",
                    None,
                    Some(r#"["x",{"_placeholder":true,"num":0}]"#),
                )),
            ),
            (
                r#"50-["x",{"_placeholder":true,"num":0}]"#,
                Err(ParseError::BadPlaceholder),
            ),
            ("5-[\"x\"]", Err(ParseError::BadAttachmentCount)),
            ("51[\"x\"]", Err(ParseError::BadAttachmentCount)),
            ("511-[\"x\"]", Err(ParseError::TooManyAttachments)),
            (
                "5999999999999999999999-[\"x\"]",
                Err(ParseError::TooManyAttachments),
            ),
        ];
        for (text, expected) in cases {
            let got = Decoder::default()
                .decode_text(text)
                .map(|p| p.expect("complete"));
            assert_eq!(got, expected, "{text:?}");
        }
    }

    #[test]
    fn assembles_binary_packets() {
        let mut decoder = Decoder::default();
        let header =
            r#"62-/admin,15["bar",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
        assert_eq!(decoder.decode_text(header), Ok(None));
        assert!(!decoder.is_idle());
        assert_eq!(
            decoder.decode_text("2[\"x\"]"),
            Err(ParseError::UnexpectedText)
        );

        let mut decoder = Decoder::default();
        assert_eq!(decoder.decode_text(header), Ok(None));
        assert_eq!(decoder.decode_binary(Bytes::from_static(b"a")), Ok(None));
        let packet = decoder
            .decode_binary(Bytes::from_static(b"b"))
            .expect("valid")
            .expect("complete");
        assert!(decoder.is_idle());
        assert_eq!(packet.kind, PacketKind::Ack);
        assert_eq!((packet.namespace.as_str(), packet.id), ("/admin", Some(15)));
        assert_eq!(
            packet.attachments,
            [Bytes::from_static(b"a"), Bytes::from_static(b"b")]
        );

        assert_eq!(
            Decoder::default().decode_binary(Bytes::new()),
            Err(ParseError::UnexpectedBinary)
        );
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.decode_text(r#"51-["x",{"_placeholder":true,"num":1}]"#),
            Ok(None)
        );
        assert_eq!(
            decoder.decode_binary(Bytes::new()),
            Err(ParseError::BadPlaceholder)
        );
        let zero = Decoder::default()
            .decode_text(r#"50-["x"]"#)
            .expect("valid");
        assert_eq!(zero.map(|p| p.kind), Some(PacketKind::Event));
    }

    #[test]
    fn encodes_what_it_decodes() {
        let texts = [
            "0",
            "0/admin,",
            r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
            r#"4{"message":"Not authorized"}"#,
            r#"2["foo"]"#,
            r#"2/admin,["bar"]"#,
            r#"212["foo"]"#,
            r#"3/admin,13["bar"]"#,
            "1/admin,",
            r#"51-["baz",{"_placeholder":true,"num":0}]"#,
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        ];
        for text in texts {
            let mut decoder = Decoder::default();
            let packet = match decoder.decode_text(text).expect("valid") {
                Some(packet) => packet,
                None => decoder
                    .decode_binary(Bytes::from_static(&[1, 2, 3, 4]))
                    .expect("valid")
                    .expect("complete"),
            };
            let mut out = String::new();
            encode(&packet, &mut out);
            assert_eq!(out, text);
        }
    }
}
