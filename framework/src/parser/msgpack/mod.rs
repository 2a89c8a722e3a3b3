//! The parser of the npm package `socket.io-msgpack-parser`: every packet is one MessagePack
//! map, sent as one Engine.IO binary message, and binary data is native MessagePack `bin`.
//!
//! ```text
//! {"type": 0, "data": {"token": "123"}, "nsp": "/admin"}           connect to `/admin`
//! {"type": 2, "data": ["chat", "hi"], "nsp": "/"}                  an event on `/`
//! {"type": 2, "data": ["stats"], "id": 12, "nsp": "/admin"}        an event asking for ack 12
//! {"id": 12, "type": 3, "data": [{"users": 4}], "nsp": "/admin"}   the ack
//! {"type": 2, "data": ["file", <bin 01 02>], "nsp": "/"}           binary data needs no attachments
//! ```
//!
//! The types are `0` to `4` only (there are no binary packet types), and [`Packet::data`] is the
//! MessagePack encoding of the `data` value, checked but not read further: what it holds is
//! read later, by whoever needs it.
//!
//! # Decoding
//!
//! [`decode`] accepts what the Node.js server accepts with `socket.io-msgpack-parser` 3.0.2
//! (`index.js`: `Decoder.prototype.add`, `checkPacket`, `isDataValid`) and `notepack.io` 2.2.0
//! (`lib/decode.js`), with the event rules of the default parser:
//!
//! - the message is exactly one MessagePack value, a map, with no trailing bytes;
//! - its keys come in any order, and keys other than `type`, `nsp`, `data` and `id` are ignored
//!   (the JavaScript client sends `options`);
//! - `type` is an integer from `0` to `4`, and `nsp` a string;
//! - `data` is absent or a map for a connect, absent for a disconnect, a string or a map for a
//!   connect error, an array for an ack, and for an event an array whose first element is a
//!   string that is not a reserved event name (`connect`, `disconnect`, …);
//! - `id` is absent or an integer;
//! - a `data` or `id` holding notepack's `undefined` (the fixext 1 of type 0, `d4 00 00`)
//!   counts as absent, as in JavaScript: the JavaScript client sends `data: undefined` in the
//!   connect packet of a socket without `auth`;
//! - like `Number.isInteger`, a float with an integral value is an integer (`type` may be
//!   `2.0`); integers may use any width.
//!
//! It is stricter than Node.js where Node.js would take input that no client sends, or read
//! it in a way this crate would not:
//!
//! - a repeated `type`, `nsp`, `data` or `id` key is refused (JavaScript keeps the last one);
//! - keys that are not strings are ignored (JavaScript turns them into strings, so a `bin`
//!   key `type` would count as `type`);
//! - strings must be UTF-8 (JavaScript replaces bad bytes with U+FFFD);
//! - an id must be from `0` to [`MAX_ACK_ID`] (Node.js takes any integer);
//! - an event must have a name, and an extension value is never an array (notepack reads an
//!   extension of a type other than `0` as the array `[type, bytes]`);
//! - arrays and maps may nest at most 128 deep inside `data` (about what `serde_json` allows
//!   the default parser).
//!
//! Decoding allocates the packet and a stack of at most 129 counters for the nesting, nothing
//! else: a length prefix is never trusted beyond the bytes that follow it, and nothing
//! recurses.
//!
//! # Errors
//!
//! [`ParseError`]'s variants are shared with the default parser; here they mean:
//!
//! - [`ParseError::Empty`]: the message was empty;
//! - [`ParseError::InvalidJson`]: the message was not one well-formed MessagePack value
//!   (truncated, trailing bytes, the reserved byte `c1`, a string that is not UTF-8, nested
//!   too deep);
//! - [`ParseError::UnknownType`]: `type` was missing, not an integer, or not `0` to `4`;
//! - [`ParseError::BadAckId`]: `id` was an integer below `0` or above [`MAX_ACK_ID`];
//! - [`ParseError::InvalidPayload`]: anything else that does not fit: the message was not a
//!   map, a key was repeated, `nsp` was not a string, `data` did not fit the type, `id` was
//!   not an integer.
//!
//! A message that is not well formed is [`ParseError::InvalidJson`] whatever else is wrong
//! with it; a well-formed one is checked for a map, then for repeated keys, then in the order
//! of Node.js's checks: type, namespace, data, id.
//!
//! # Encoding
//!
//! [`encode`] writes the keys in the order of the Node.js server (`socket.io` 4.8), so that
//! packets are byte for byte what it sends: `id`, `type`, `data`, `nsp` for an ack
//! (`Socket#ack`), and `type`, `data`, `id`, `nsp` for everything else (`Socket#emit`, the
//! connect packet, `Socket#_onerror`). Integers take the smallest form and strings the
//! smallest header, as notepack writes them.

use bytes::Bytes;

use super::RESERVED_EVENTS;
pub use super::{MAX_ACK_ID, PacketKind, ParseError};
use crate::msgpack::{Count, Item, item, skip, write_map_len, write_str, write_uint};

/// How deep arrays and maps may nest inside a value of the packet map.
const MAX_DEPTH: usize = 128;

/// A Socket.IO packet as the msgpack parser carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// What the packet does.
    pub kind: PacketKind,
    /// The namespace, as it came (`/` is sent too).
    pub namespace: String,
    /// The ack id of an event that asks for an ack, or of the ack answering it.
    pub id: Option<u64>,
    /// The MessagePack encoding of the `data` value, as it came, checked against the packet
    /// type (see the [module docs](self)); `None` when the packet had no data, or notepack's
    /// `undefined`.
    pub data: Option<Bytes>,
}

/// Appends the MessagePack encoding of one packet to `out`, with the keys in the order of the
/// Node.js server (see the [module docs](self)). `data` is an already encoded MessagePack
/// value, spliced in as is: it must be exactly one well-formed value, which is not checked.
///
/// ```
/// use tidings::parser::msgpack::{PacketKind, encode};
///
/// // `{"id": 13, "type": 3, "data": ["bar"], "nsp": "/"}`
/// let mut out = Vec::new();
/// encode(PacketKind::Ack, "/", Some(13), Some(b"\x91\xa3bar"), &mut out);
/// assert_eq!(out, b"\x84\xa2id\x0d\xa4type\x03\xa4data\x91\xa3bar\xa3nsp\xa1/");
/// ```
///
/// A `namespace` of 4 GiB or more, which MessagePack cannot carry, is written as `nil`.
pub fn encode(
    kind: PacketKind,
    namespace: &str,
    id: Option<u64>,
    data: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    let fields = 2 + u8::from(id.is_some()) + u8::from(data.is_some());
    write_map_len(out, fields.into());
    let write_id = |out: &mut Vec<u8>| {
        if let Some(id) = id {
            write_str(out, "id");
            write_uint(out, id);
        }
    };
    if kind == PacketKind::Ack {
        write_id(out);
    }
    write_str(out, "type");
    write_uint(
        out,
        match kind {
            PacketKind::Connect => 0,
            PacketKind::Disconnect => 1,
            PacketKind::Event => 2,
            PacketKind::Ack => 3,
            PacketKind::ConnectError => 4,
        },
    );
    if let Some(data) = data {
        write_str(out, "data");
        out.extend_from_slice(data);
    }
    if kind != PacketKind::Ack {
        write_id(out);
    }
    write_str(out, "nsp");
    write_str(out, namespace);
}

/// Decodes one binary Engine.IO message from a client.
///
/// ```
/// use tidings::parser::msgpack::{PacketKind, decode};
///
/// // `{"type": 2, "data": ["stats"], "id": 12, "nsp": "/admin"}`
/// let message = b"\x84\xa4type\x02\xa4data\x91\xa5stats\xa2id\x0c\xa3nsp\xa6/admin";
/// let packet = decode(message).unwrap();
/// assert_eq!(packet.kind, PacketKind::Event);
/// assert_eq!((packet.namespace.as_str(), packet.id), ("/admin", Some(12)));
/// assert_eq!(packet.data.as_deref(), Some(&b"\x91\xa5stats"[..]));
/// ```
///
/// # Errors
/// A [`ParseError`] for a malformed packet (see the [module docs](self) for which); the
/// client should then be disconnected.
pub fn decode(message: &[u8]) -> Result<Packet, ParseError> {
    if message.is_empty() {
        return Err(ParseError::Empty);
    }
    let fields = Fields::read(message)?;
    let value = |span: Option<(usize, usize)>| {
        span.and_then(|(start, _)| item(message, start))
            .map(|(item, _)| item)
            .filter(|item| *item != Item::Undefined)
    };

    let kind = match value(fields.kind).and_then(as_integer) {
        Some(0) => PacketKind::Connect,
        Some(1) => PacketKind::Disconnect,
        Some(2) => PacketKind::Event,
        Some(3) => PacketKind::Ack,
        Some(4) => PacketKind::ConnectError,
        _ => return Err(ParseError::UnknownType),
    };

    let Some(Item::Str(namespace)) = value(fields.namespace) else {
        return Err(ParseError::InvalidPayload);
    };
    let namespace = std::str::from_utf8(namespace).map_err(|_| ParseError::InvalidJson)?;

    let data = value(fields.data).and(fields.data);
    let fits = match (kind, value(data)) {
        (PacketKind::Connect | PacketKind::Disconnect, None) => true,
        (PacketKind::Connect | PacketKind::ConnectError, Some(Item::Map(_))) => true,
        (PacketKind::ConnectError, Some(Item::Str(_))) => true,
        (PacketKind::Ack, Some(Item::Array(_))) => true,
        (PacketKind::Event, Some(Item::Array(len))) if len > 0 => {
            // The first element follows the array header.
            let first = data
                .and_then(|(start, _)| item(message, start))
                .and_then(|(_, first)| item(message, first));
            match first {
                Some((Item::Str(name), _)) => {
                    std::str::from_utf8(name).is_ok_and(|name| !RESERVED_EVENTS.contains(&name))
                }
                _ => false,
            }
        }
        _ => false,
    };
    if !fits {
        return Err(ParseError::InvalidPayload);
    }

    let id = match value(fields.id) {
        None => None,
        Some(id) => {
            let id = as_integer(id).ok_or(ParseError::InvalidPayload)?;
            let id = u64::try_from(id)
                .ok()
                .filter(|id| *id <= MAX_ACK_ID)
                .ok_or(ParseError::BadAckId)?;
            Some(id)
        }
    };

    Ok(Packet {
        kind,
        namespace: namespace.to_owned(),
        id,
        data: data.map(|(start, end)| Bytes::copy_from_slice(&message[start..end])),
    })
}

/// Where the values of the packet map's keys are: `(start, end)` offsets in the message.
#[derive(Debug, Default)]
struct Fields {
    kind: Option<(usize, usize)>,
    namespace: Option<(usize, usize)>,
    data: Option<(usize, usize)>,
    id: Option<(usize, usize)>,
}

impl Fields {
    /// Reads the packet map, checking that the message is one well-formed value.
    fn read(message: &[u8]) -> Result<Fields, ParseError> {
        let malformed = ParseError::InvalidJson;
        let mut open = Vec::new();
        let (head, mut at) = item(message, 0).ok_or(malformed)?;
        let Item::Map(len) = head else {
            return match skip(message, 0, MAX_DEPTH + 1, Count::NonEmpty, &mut open) {
                Ok(end) if end == message.len() => Err(ParseError::InvalidPayload),
                _ => Err(malformed),
            };
        };
        let mut fields = Fields::default();
        let mut repeated = false;
        // Every entry takes at least two bytes, so a false length fails at the end of the
        // message, after as many rounds as there are bytes.
        for _ in 0..len {
            let key = item(message, at).map(|(key, _)| key);
            at = skip(message, at, MAX_DEPTH, Count::NonEmpty, &mut open).map_err(|_| malformed)?;
            let start = at;
            at = skip(message, at, MAX_DEPTH, Count::NonEmpty, &mut open).map_err(|_| malformed)?;
            let slot = match key {
                Some(Item::Str(b"type")) => &mut fields.kind,
                Some(Item::Str(b"nsp")) => &mut fields.namespace,
                Some(Item::Str(b"data")) => &mut fields.data,
                Some(Item::Str(b"id")) => &mut fields.id,
                _ => continue,
            };
            repeated |= slot.replace((start, at)).is_some();
        }
        if at != message.len() {
            return Err(malformed);
        }
        if repeated {
            return Err(ParseError::InvalidPayload);
        }
        Ok(fields)
    }
}

/// The integer `item` holds, if it is a number with an integral value (`Number.isInteger`).
fn as_integer(item: Item<'_>) -> Option<i128> {
    match item {
        Item::Uint(value) => Some(value.into()),
        Item::Int(value) => Some(value.into()),
        // Saturates: the huge ones are out of range anyway.
        Item::Float(value) if value.is_finite() && value.fract() == 0.0 => Some(value as i128),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
