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
use rmp::Marker;

use super::RESERVED_EVENTS;
pub use super::{MAX_ACK_ID, PacketKind, ParseError};

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
/// # Panics
/// If `namespace` is 4 GiB or longer, which MessagePack cannot carry.
pub fn encode(
    kind: PacketKind,
    namespace: &str,
    id: Option<u64>,
    data: Option<&[u8]>,
    out: &mut Vec<u8>,
) {
    let fields = 2 + u8::from(id.is_some()) + u8::from(data.is_some());
    out.push(Marker::FixMap(fields).to_u8());
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

/// Writes `value` in its smallest form, as notepack does.
fn write_uint(out: &mut Vec<u8>, value: u64) {
    if let Ok(value) = u8::try_from(value) {
        if value < 0x80 {
            out.push(Marker::FixPos(value).to_u8());
        } else {
            out.extend_from_slice(&[Marker::U8.to_u8(), value]);
        }
    } else if let Ok(value) = u16::try_from(value) {
        out.push(Marker::U16.to_u8());
        out.extend_from_slice(&value.to_be_bytes());
    } else if let Ok(value) = u32::try_from(value) {
        out.push(Marker::U32.to_u8());
        out.extend_from_slice(&value.to_be_bytes());
    } else {
        out.push(Marker::U64.to_u8());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Writes `value` with its smallest header, as notepack does.
fn write_str(out: &mut Vec<u8>, value: &str) {
    let len = value.len();
    if len < 0x20 {
        out.push(Marker::FixStr(len as u8).to_u8());
    } else if let Ok(len) = u8::try_from(len) {
        out.extend_from_slice(&[Marker::Str8.to_u8(), len]);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(Marker::Str16.to_u8());
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        let len = u32::try_from(len).expect("a MessagePack string is under 4 GiB");
        out.push(Marker::Str32.to_u8());
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(value.as_bytes());
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
            return match skip(message, 0, MAX_DEPTH + 1, &mut open) {
                Some(end) if end == message.len() => Err(ParseError::InvalidPayload),
                _ => Err(malformed),
            };
        };
        let mut fields = Fields::default();
        let mut repeated = false;
        // Every entry takes at least two bytes, so a false length fails at the end of the
        // message, after as many rounds as there are bytes.
        for _ in 0..len {
            let key = item(message, at).map(|(key, _)| key);
            at = skip(message, at, MAX_DEPTH, &mut open).ok_or(malformed)?;
            let start = at;
            at = skip(message, at, MAX_DEPTH, &mut open).ok_or(malformed)?;
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

/// One MessagePack item: a scalar with its payload, or the header of an array or a map.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Item<'a> {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    /// notepack's `undefined`: the fixext 1 of type 0.
    Undefined,
    Ext(i8, &'a [u8]),
    /// An array header and its length.
    Array(u32),
    /// A map header and its number of entries.
    Map(u32),
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

/// Reads the item at `at`: the item and the offset after it (after the header of an array or
/// a map). `None` when the message ends too early or at `at` is the reserved byte `c1`.
fn item(bytes: &[u8], at: usize) -> Option<(Item<'_>, usize)> {
    let marker = Marker::from_u8(*bytes.get(at)?);
    let at = at + 1;
    let item = match marker {
        Marker::FixPos(value) => (Item::Uint(value.into()), at),
        Marker::FixNeg(value) => (Item::Int(value.into()), at),
        Marker::Null => (Item::Nil, at),
        Marker::False => (Item::Bool(false), at),
        Marker::True => (Item::Bool(true), at),
        Marker::U8 => fixed(bytes, at, |b| Item::Uint(u8::from_be_bytes(b).into()))?,
        Marker::U16 => fixed(bytes, at, |b| Item::Uint(u16::from_be_bytes(b).into()))?,
        Marker::U32 => fixed(bytes, at, |b| Item::Uint(u32::from_be_bytes(b).into()))?,
        Marker::U64 => fixed(bytes, at, |b| Item::Uint(u64::from_be_bytes(b)))?,
        Marker::I8 => fixed(bytes, at, |b| Item::Int(i8::from_be_bytes(b).into()))?,
        Marker::I16 => fixed(bytes, at, |b| Item::Int(i16::from_be_bytes(b).into()))?,
        Marker::I32 => fixed(bytes, at, |b| Item::Int(i32::from_be_bytes(b).into()))?,
        Marker::I64 => fixed(bytes, at, |b| Item::Int(i64::from_be_bytes(b)))?,
        Marker::F32 => fixed(bytes, at, |b| Item::Float(f32::from_be_bytes(b).into()))?,
        Marker::F64 => fixed(bytes, at, |b| Item::Float(f64::from_be_bytes(b)))?,
        Marker::FixStr(len) => str_item(bytes, at, len.into())?,
        Marker::Str8 => str_item(bytes, at + 1, length::<1>(bytes, at)?)?,
        Marker::Str16 => str_item(bytes, at + 2, length::<2>(bytes, at)?)?,
        Marker::Str32 => str_item(bytes, at + 4, length::<4>(bytes, at)?)?,
        Marker::Bin8 => bin_item(bytes, at + 1, length::<1>(bytes, at)?)?,
        Marker::Bin16 => bin_item(bytes, at + 2, length::<2>(bytes, at)?)?,
        Marker::Bin32 => bin_item(bytes, at + 4, length::<4>(bytes, at)?)?,
        // notepack reads the fixext 1 of type 0 as `undefined`, whatever its data byte.
        Marker::FixExt1 => match ext_item(bytes, at, 1)? {
            (Item::Ext(0, _), end) => (Item::Undefined, end),
            other => other,
        },
        Marker::FixExt2 => ext_item(bytes, at, 2)?,
        Marker::FixExt4 => ext_item(bytes, at, 4)?,
        Marker::FixExt8 => ext_item(bytes, at, 8)?,
        Marker::FixExt16 => ext_item(bytes, at, 16)?,
        Marker::Ext8 => ext_item(bytes, at + 1, length::<1>(bytes, at)?)?,
        Marker::Ext16 => ext_item(bytes, at + 2, length::<2>(bytes, at)?)?,
        Marker::Ext32 => ext_item(bytes, at + 4, length::<4>(bytes, at)?)?,
        Marker::FixArray(len) => (Item::Array(len.into()), at),
        Marker::Array16 => fixed(bytes, at, |b| Item::Array(u16::from_be_bytes(b).into()))?,
        Marker::Array32 => fixed(bytes, at, |b| Item::Array(u32::from_be_bytes(b)))?,
        Marker::FixMap(len) => (Item::Map(len.into()), at),
        Marker::Map16 => fixed(bytes, at, |b| Item::Map(u16::from_be_bytes(b).into()))?,
        Marker::Map32 => fixed(bytes, at, |b| Item::Map(u32::from_be_bytes(b)))?,
        Marker::Reserved => return None,
    };
    Some(item)
}

/// The item `read` makes of the `N` bytes at `at` (a number or a length), and the offset
/// after them.
fn fixed<const N: usize>(
    bytes: &[u8],
    at: usize,
    read: impl FnOnce([u8; N]) -> Item<'static>,
) -> Option<(Item<'static>, usize)> {
    Some((read(array(bytes, at)?), at + N))
}

/// The `N` bytes at `at`.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The big-endian length of `N` bytes at `at`.
fn length<const N: usize>(bytes: &[u8], at: usize) -> Option<usize> {
    let mut be = [0; 8];
    be[8 - N..].copy_from_slice(&array::<N>(bytes, at)?);
    usize::try_from(u64::from_be_bytes(be)).ok()
}

/// The `len` bytes at `at`, and the offset after them.
fn take(bytes: &[u8], at: usize, len: usize) -> Option<(&[u8], usize)> {
    let end = at.checked_add(len)?;
    Some((bytes.get(at..end)?, end))
}

/// A string of `len` bytes at `at`.
fn str_item(bytes: &[u8], at: usize, len: usize) -> Option<(Item<'_>, usize)> {
    take(bytes, at, len).map(|(value, end)| (Item::Str(value), end))
}

/// A `bin` of `len` bytes at `at`.
fn bin_item(bytes: &[u8], at: usize, len: usize) -> Option<(Item<'_>, usize)> {
    take(bytes, at, len).map(|(value, end)| (Item::Bin(value), end))
}

/// An extension of type `bytes[at]` with `len` bytes of data after it.
fn ext_item(bytes: &[u8], at: usize, len: usize) -> Option<(Item<'_>, usize)> {
    let [ty] = array::<1>(bytes, at)?;
    let ty = i8::from_be_bytes([ty]);
    let (value, end) = take(bytes, at + 1, len)?;
    Some((Item::Ext(ty, value), end))
}

/// Checks the value at `at` (well formed, strings UTF-8, arrays and maps at most `max_depth`
/// deep) and returns the offset after it. Does not recurse; `open` is scratch space for the
/// arrays and maps being read, kept between calls so that it is allocated once.
fn skip(bytes: &[u8], mut at: usize, max_depth: usize, open: &mut Vec<u64>) -> Option<usize> {
    open.clear();
    // How many values are still to read in the innermost open array or map (or at the top);
    // `open` holds the same for the arrays and maps around it.
    let mut pending = 1_u64;
    loop {
        while pending == 0 {
            pending = match open.pop() {
                Some(outer) => outer,
                None => return Some(at),
            };
        }
        pending -= 1;
        let (item, next) = item(bytes, at)?;
        at = next;
        let values = match item {
            Item::Str(value) => {
                std::str::from_utf8(value).ok()?;
                0
            }
            Item::Array(len) => u64::from(len),
            Item::Map(len) => 2 * u64::from(len),
            _ => 0,
        };
        if values > 0 {
            // Every value takes at least a byte: a longer length is a lie.
            if values > (bytes.len() - at) as u64 || open.len() == max_depth {
                return None;
            }
            open.push(pending);
            pending = values;
        }
    }
}

#[cfg(test)]
mod tests {
    use rmpv::Value;

    use super::*;

    /// The bytes of hex `text` (spaces allowed).
    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| {
                let pair = std::str::from_utf8(pair).expect("ASCII");
                u8::from_str_radix(pair, 16).expect("hex")
            })
            .collect()
    }

    fn encoded(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, value).expect("writes to a Vec");
        out
    }

    /// A message holding a map of these entries, in this order.
    fn message(entries: &[(&str, Value)]) -> Vec<u8> {
        let entries = entries
            .iter()
            .map(|(key, value)| (Value::from(*key), value.clone()))
            .collect();
        encoded(&Value::Map(entries))
    }

    fn packet(kind: PacketKind, namespace: &str, id: Option<u64>, data: Option<Value>) -> Packet {
        Packet {
            kind,
            namespace: namespace.into(),
            id,
            data: data.map(|data| encoded(&data).into()),
        }
    }

    fn array(values: &[Value]) -> Value {
        Value::Array(values.to_vec())
    }

    fn object(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(key, value)| (Value::from(*key), value.clone()))
                .collect(),
        )
    }

    /// notepack's `undefined`.
    fn undefined() -> Value {
        Value::Ext(0, vec![0])
    }

    /// `depth` arrays, one in the other.
    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::Nil, |inner, _| array(&[inner]))
    }

    /// `(what, message, kind, namespace, id, data)`, the message and the data in hex.
    type Capture = (
        &'static str,
        &'static str,
        PacketKind,
        &'static str,
        Option<u64>,
        Option<&'static str>,
    );

    // The captures below were sent by socket.io-client 4.8.4 and socket.io 4.8.4, both with
    // socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0), on Node.js 20, and recorded by
    // `framework/tests/fixtures/msgpack/capture.js`.

    /// What the JavaScript client sent.
    const FROM_CLIENT: &[Capture] = &[
        (
            // `{type: 0, data: undefined, nsp: "/"}`: a socket without `auth`.
            "connect without auth",
            "83 a474797065 00 a464617461 d40000 a36e7370 a12f",
            PacketKind::Connect,
            "/",
            None,
            None,
        ),
        (
            // `{type: 0, data: {token: "123"}, nsp: "/admin"}`
            "connect with auth",
            "83 a474797065 00 a464617461 81a5746f6b656ea3313233 a36e7370 a62f61646d696e",
            PacketKind::Connect,
            "/admin",
            None,
            Some("81a5746f6b656ea3313233"),
        ),
        (
            // `{type: 2, data: ["hello", "a", 12], options: {compress: true}, id: 0, nsp: "/"}`
            "event with ack and options",
            "85 a474797065 02 a464617461 93a568656c6c6fa1610c \
             a76f7074696f6e73 81a8636f6d7072657373c3 a26964 00 a36e7370 a12f",
            PacketKind::Event,
            "/",
            Some(0),
            Some("93a568656c6c6fa1610c"),
        ),
        (
            // `{type: 2, data: ["bin", <Buffer de ad>], options: …, id: 1, nsp: "/"}`
            "binary event",
            "85 a474797065 02 a464617461 92a362696ec402dead \
             a76f7074696f6e73 81a8636f6d7072657373c3 a26964 01 a36e7370 a12f",
            PacketKind::Event,
            "/",
            Some(1),
            Some("92a362696ec402dead"),
        ),
        (
            // `{type: 2, data: ["stats"], options: {compress: true}, nsp: "/admin"}`
            "event without ack",
            "84 a474797065 02 a464617461 91a57374617473 \
             a76f7074696f6e73 81a8636f6d7072657373c3 a36e7370 a62f61646d696e",
            PacketKind::Event,
            "/admin",
            None,
            Some("91a57374617473"),
        ),
        (
            // `{type: 3, id: 0, data: ["answer", {ok: true}], nsp: "/"}`
            "ack",
            "84 a474797065 03 a26964 00 a464617461 92a6616e7377657281a26f6bc3 a36e7370 a12f",
            PacketKind::Ack,
            "/",
            Some(0),
            Some("92a6616e7377657281a26f6bc3"),
        ),
        (
            // `{type: 1, nsp: "/"}`
            "disconnect",
            "82 a474797065 01 a36e7370 a12f",
            PacketKind::Disconnect,
            "/",
            None,
            None,
        ),
    ];

    /// What the Node.js server sent; `encode` writes the same bytes.
    const FROM_SERVER: &[Capture] = &[
        (
            // `{type: 0, data: {sid: "…", pid: undefined}, nsp: "/"}`
            "connect",
            "83 a474797065 00 a464617461 \
             82a3736964b4757a56755a704579737a57626230594941414141a3706964d40000 a36e7370 a12f",
            PacketKind::Connect,
            "/",
            None,
            Some("82a3736964b4757a56755a704579737a57626230594941414141a3706964d40000"),
        ),
        (
            // `{type: 2, data: ["welcome", {n: 70000, big: 2 ** 40, neg: -1, f: 0.25, t: true,
            // z: null, s: "x".repeat(40)}, <Buffer 01 02 03>], nsp: "/"}`
            "event with every kind of value",
            "83 a474797065 02 a464617461 \
             93a777656c636f6d6587a16ece00011170a3626967cf0000010000000000a36e6567ffa1\
             66cb3fd0000000000000a174c3a17ac0a173d92878787878787878787878787878787878\
             787878787878787878787878787878787878787878787878c403010203 a36e7370 a12f",
            PacketKind::Event,
            "/",
            None,
            Some(
                "93a777656c636f6d6587a16ece00011170a3626967cf0000010000000000a36e6567ffa1\
                 66cb3fd0000000000000a174c3a17ac0a173d92878787878787878787878787878787878\
                 787878787878787878787878787878787878787878787878c403010203",
            ),
        ),
        (
            // `{type: 2, data: ["ask", "q"], id: 0, nsp: "/"}`: `Socket#emit` with an ack.
            "event with ack",
            "84 a474797065 02 a464617461 92a361736ba171 a26964 00 a36e7370 a12f",
            PacketKind::Event,
            "/",
            Some(0),
            Some("92a361736ba171"),
        ),
        (
            // `{id: 0, type: 3, data: ["bar", 1.5, -300], nsp: "/"}`
            "ack",
            "84 a26964 00 a474797065 03 a464617461 93a3626172cb3ff8000000000000d1fed4 a36e7370 a12f",
            PacketKind::Ack,
            "/",
            Some(0),
            Some("93a3626172cb3ff8000000000000d1fed4"),
        ),
        (
            // `{id: 1, type: 3, data: [{got: <Buffer de ad>}], nsp: "/"}`
            "binary ack",
            "84 a26964 01 a474797065 03 a464617461 9181a3676f74c402dead a36e7370 a12f",
            PacketKind::Ack,
            "/",
            Some(1),
            Some("9181a3676f74c402dead"),
        ),
        (
            // `{type: 4, data: {message: "Not authorized", data: undefined}, nsp: "/admin"}`
            "connect error from a middleware",
            "83 a474797065 04 a464617461 \
             82a76d657373616765ae4e6f7420617574686f72697a6564a464617461d40000 \
             a36e7370 a62f61646d696e",
            PacketKind::ConnectError,
            "/admin",
            None,
            Some("82a76d657373616765ae4e6f7420617574686f72697a6564a464617461d40000"),
        ),
        (
            // `{type: 1, nsp: "/admin"}`
            "disconnect",
            "82 a474797065 01 a36e7370 a62f61646d696e",
            PacketKind::Disconnect,
            "/admin",
            None,
            None,
        ),
    ];

    fn captured(capture: &Capture) -> Packet {
        let &(_, _, kind, namespace, id, data) = capture;
        Packet {
            kind,
            namespace: namespace.into(),
            id,
            data: data.map(|data| hex(data).into()),
        }
    }

    #[test]
    fn decodes_what_node_sends() {
        for capture in FROM_CLIENT.iter().chain(FROM_SERVER) {
            let (what, message, ..) = capture;
            assert_eq!(decode(&hex(message)), Ok(captured(capture)), "{what}");
        }
        // The server writes the keys of this one in another order (`Client#connect`).
        let message = hex("83 a474797065 04 a36e7370 a52f6e6f7065 \
             a464617461 81a76d657373616765b1496e76616c6964206e616d657370616365");
        let data = object(&[("message", "Invalid namespace".into())]);
        assert_eq!(
            decode(&message),
            Ok(packet(PacketKind::ConnectError, "/nope", None, Some(data)))
        );
    }

    #[test]
    fn encodes_like_node() {
        for capture in FROM_SERVER {
            let (what, message, ..) = capture;
            let packet = captured(capture);
            let mut out = Vec::new();
            encode(
                packet.kind,
                &packet.namespace,
                packet.id,
                packet.data.as_deref(),
                &mut out,
            );
            assert_eq!(out, hex(message), "{what}");
        }
    }

    #[test]
    fn encodes_integers_and_strings_in_their_smallest_form() {
        let ids = [
            (0, "00"),
            (127, "7f"),
            (128, "cc80"),
            (255, "ccff"),
            (256, "cd0100"),
            (70_000, "ce00011170"),
            (1 << 32, "cf0000000100000000"),
            (MAX_ACK_ID, "cf001fffffffffffff"),
        ];
        for (id, encoded) in ids {
            let mut out = Vec::new();
            encode(PacketKind::Event, "/", Some(id), Some(&[0x90]), &mut out);
            let expected = [
                hex("84 a474797065 02 a464617461 90 a26964"),
                hex(encoded),
                hex("a36e7370 a12f"),
            ];
            assert_eq!(out, expected.concat(), "{id}");
        }

        let namespaces = [
            (1, "a1"),
            (31, "bf"),
            (32, "d920"),
            (255, "d9ff"),
            (256, "da0100"),
        ];
        for (len, header) in namespaces {
            let namespace = format!("/{}", "a".repeat(len - 1));
            let mut out = Vec::new();
            encode(PacketKind::Disconnect, &namespace, None, None, &mut out);
            let expected = [
                hex("82 a474797065 01 a36e7370"),
                hex(header),
                namespace.into_bytes(),
            ];
            assert_eq!(out, expected.concat(), "{len}");
        }
    }

    #[test]
    fn decodes_packets() {
        use PacketKind::*;
        let hi = || array(&["hi".into()]);
        // socket.io-msgpack-parser 3.0.2 accepts the `stricter` cases (see the module docs); it
        // agrees with every other outcome, but for the error names.
        let cases: Vec<(&str, Vec<u8>, Result<Packet, ParseError>)> = vec![
            (
                "connect without data",
                message(&[("type", 0.into()), ("nsp", "/".into())]),
                Ok(packet(Connect, "/", None, None)),
            ),
            (
                "connect with data",
                message(&[
                    ("type", 0.into()),
                    ("nsp", "/a".into()),
                    ("data", object(&[("token", "1".into())])),
                ]),
                Ok(packet(
                    Connect,
                    "/a",
                    None,
                    Some(object(&[("token", "1".into())])),
                )),
            ),
            (
                "any namespace: the framework checks it",
                message(&[("type", 1.into()), ("nsp", "".into())]),
                Ok(packet(Disconnect, "", None, None)),
            ),
            (
                "keys in any order",
                message(&[
                    ("nsp", "/a".into()),
                    ("id", 7.into()),
                    ("data", hi()),
                    ("type", 2.into()),
                ]),
                Ok(packet(Event, "/a", Some(7), Some(hi()))),
            ),
            (
                "unknown keys are ignored",
                message(&[
                    ("type", 2.into()),
                    ("options", object(&[("compress", true.into())])),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("Type", 9.into()),
                ]),
                Ok(packet(Event, "/", None, Some(hi()))),
            ),
            (
                "keys that are not strings are ignored",
                encoded(&Value::Map(vec![
                    (Value::Binary(b"type".to_vec()), 9.into()),
                    (1.into(), 9.into()),
                    ("type".into(), 3.into()),
                    ("data".into(), array(&[])),
                    ("nsp".into(), "/".into()),
                ])),
                Ok(packet(Ack, "/", None, Some(array(&[])))),
            ),
            (
                "undefined data and id are absent",
                message(&[
                    ("type", 0.into()),
                    ("data", undefined()),
                    ("id", undefined()),
                    ("nsp", "/".into()),
                ]),
                Ok(packet(Connect, "/", None, None)),
            ),
            (
                "undefined has any data byte",
                hex("83 a474797065 01 a464617461 d400ff a36e7370 a12f"),
                Ok(packet(Disconnect, "/", None, None)),
            ),
            (
                "integers of any width and integral floats",
                message(&[
                    ("type", Value::F64(2.0)),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", Value::F32(12.0)),
                ]),
                Ok(packet(Event, "/", Some(12), Some(hi()))),
            ),
            (
                "a signed type, a 64-bit id",
                hex(
                    "84 a474797065 d00 2 a36e7370 a12f a464617461 91a3666f6f a26964 cf000000000000000c",
                ),
                Ok(packet(Event, "/", Some(12), Some(array(&["foo".into()])))),
            ),
            (
                "negative zero",
                message(&[("type", Value::F64(-0.0)), ("nsp", "/".into())]),
                Ok(packet(Connect, "/", None, None)),
            ),
            (
                "the largest id",
                message(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[])),
                    ("id", MAX_ACK_ID.into()),
                ]),
                Ok(packet(Ack, "/", Some(MAX_ACK_ID), Some(array(&[])))),
            ),
            (
                "an event name in a long string form",
                hex("83 a474797065 02 a36e7370 a12f a464617461 91 da0002 6869"),
                Ok(Packet {
                    data: Some(hex("91 da0002 6869").into()),
                    ..packet(Event, "/", None, None)
                }),
            ),
            (
                "binary and nested data",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    (
                        "data",
                        array(&["file".into(), Value::Binary(vec![1, 2]), nested(3)]),
                    ),
                ]),
                Ok(packet(
                    Event,
                    "/",
                    None,
                    Some(array(&[
                        "file".into(),
                        Value::Binary(vec![1, 2]),
                        nested(3),
                    ])),
                )),
            ),
            (
                "data nested 128 deep",
                message(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", nested(128)),
                ]),
                Ok(packet(Ack, "/", None, Some(nested(128)))),
            ),
            (
                "connect error with a string",
                message(&[
                    ("type", 4.into()),
                    ("nsp", "/".into()),
                    ("data", "no".into()),
                ]),
                Ok(packet(ConnectError, "/", None, Some("no".into()))),
            ),
            (
                "connect error with a map",
                message(&[
                    ("type", 4.into()),
                    ("nsp", "/".into()),
                    ("data", object(&[("message", "no".into())])),
                ]),
                Ok(packet(
                    ConnectError,
                    "/",
                    None,
                    Some(object(&[("message", "no".into())])),
                )),
            ),
            // Not well-formed MessagePack.
            ("empty", Vec::new(), Err(ParseError::Empty)),
            ("the reserved byte", hex("c1"), Err(ParseError::InvalidJson)),
            (
                "truncated",
                hex("82 a474797065 01 a36e7370 a1"),
                Err(ParseError::InvalidJson),
            ),
            (
                "trailing bytes",
                hex("82 a474797065 01 a36e7370 a12f 00"),
                Err(ParseError::InvalidJson),
            ),
            (
                "two entries announced, one there",
                hex("82 a474797065 01"),
                Err(ParseError::InvalidJson),
            ),
            (
                "stricter: a namespace that is not UTF-8",
                hex("82 a474797065 01 a36e7370 a2 2fff"),
                Err(ParseError::InvalidJson),
            ),
            (
                "stricter: data with a string that is not UTF-8",
                hex("83 a474797065 03 a36e7370 a12f a464617461 91 a1 c0"),
                Err(ParseError::InvalidJson),
            ),
            (
                "an array claiming 4 Gi elements",
                hex("83 a474797065 03 a36e7370 a12f a464617461 ddffffffff 00"),
                Err(ParseError::InvalidJson),
            ),
            (
                "a map claiming 4 Gi entries",
                hex("df ffffffff a474797065 01"),
                Err(ParseError::InvalidJson),
            ),
            (
                "a string claiming 4 GiB",
                hex("83 a474797065 03 a36e7370 a12f a464617461 91 dbffffffff 6869"),
                Err(ParseError::InvalidJson),
            ),
            (
                "a bin claiming 4 GiB",
                hex("83 a474797065 03 a36e7370 a12f a464617461 91 c6ffffffff 6869"),
                Err(ParseError::InvalidJson),
            ),
            (
                "an extension claiming 4 GiB",
                hex("83 a474797065 03 a36e7370 a12f a464617461 91 c9ffffffff05 6869"),
                Err(ParseError::InvalidJson),
            ),
            (
                "stricter: data nested 129 deep",
                message(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", nested(129)),
                ]),
                Err(ParseError::InvalidJson),
            ),
            (
                "a repeated key after a malformed value",
                hex("83 a474797065 01 a474797065 01 a36e7370 c1"),
                Err(ParseError::InvalidJson),
            ),
            // Not a packet.
            ("not a map", encoded(&hi()), Err(ParseError::InvalidPayload)),
            ("nil", hex("c0"), Err(ParseError::InvalidPayload)),
            (
                "a truncated array",
                hex("92 01"),
                Err(ParseError::InvalidJson),
            ),
            (
                "stricter: a repeated key",
                message(&[("type", 1.into()), ("nsp", "/".into()), ("type", 1.into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: a repeated undefined",
                message(&[
                    ("type", 0.into()),
                    ("nsp", "/".into()),
                    ("data", undefined()),
                    ("data", undefined()),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "no type",
                message(&[("nsp", "/".into())]),
                Err(ParseError::UnknownType),
            ),
            (
                "type 5",
                message(&[("type", 5.into()), ("nsp", "/".into()), ("data", hi())]),
                Err(ParseError::UnknownType),
            ),
            (
                "type -1",
                message(&[("type", (-1).into()), ("nsp", "/".into())]),
                Err(ParseError::UnknownType),
            ),
            (
                "type as a string",
                message(&[("type", "2".into()), ("nsp", "/".into()), ("data", hi())]),
                Err(ParseError::UnknownType),
            ),
            (
                "type 2.5",
                message(&[("type", Value::F64(2.5)), ("nsp", "/".into())]),
                Err(ParseError::UnknownType),
            ),
            (
                "type undefined",
                message(&[("type", undefined()), ("nsp", "/".into())]),
                Err(ParseError::UnknownType),
            ),
            (
                "the type is checked first",
                message(&[
                    ("type", Value::Nil),
                    ("nsp", Value::Nil),
                    ("id", "x".into()),
                ]),
                Err(ParseError::UnknownType),
            ),
            (
                "no namespace",
                message(&[("type", 1.into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "a binary namespace",
                message(&[("type", 1.into()), ("nsp", Value::Binary(b"/".to_vec()))]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "an undefined namespace",
                message(&[("type", 1.into()), ("nsp", undefined())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "connect with an array",
                message(&[
                    ("type", 0.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "connect with nil",
                message(&[
                    ("type", 0.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Nil),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "disconnect with data",
                message(&[
                    ("type", 1.into()),
                    ("nsp", "/".into()),
                    ("data", object(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "disconnect with nil",
                message(&[
                    ("type", 1.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Nil),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "event without data",
                message(&[("type", 2.into()), ("nsp", "/".into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "event with undefined data",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", undefined()),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: event with no name",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: event with a number for a name",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[1.into()])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: event with a binary name",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[Value::Binary(b"hi".to_vec())])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: event with a reserved name",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", array(&["disconnect".into()])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "event with a map",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", object(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: event with an extension (an array to notepack)",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", Value::Ext(5, vec![0xa1, b'x'])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "ack without data",
                message(&[("type", 3.into()), ("nsp", "/".into()), ("id", 1.into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "ack with a map",
                message(&[
                    ("type", 3.into()),
                    ("nsp", "/".into()),
                    ("data", object(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "connect error without data",
                message(&[("type", 4.into()), ("nsp", "/".into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "connect error with an array",
                message(&[
                    ("type", 4.into()),
                    ("nsp", "/".into()),
                    ("data", array(&[])),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "the data is checked before the id",
                message(&[("type", 3.into()), ("nsp", "/".into()), ("id", (-1).into())]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "id as a string",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", "1".into()),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "id nil",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", Value::Nil),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "id 1.5",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", Value::F64(1.5)),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "id NaN",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", Value::F64(f64::NAN)),
                ]),
                Err(ParseError::InvalidPayload),
            ),
            (
                "stricter: id -1",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", (-1).into()),
                ]),
                Err(ParseError::BadAckId),
            ),
            (
                "stricter: id over the largest",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", (MAX_ACK_ID + 1).into()),
                ]),
                Err(ParseError::BadAckId),
            ),
            (
                "stricter: id 1e300",
                message(&[
                    ("type", 2.into()),
                    ("nsp", "/".into()),
                    ("data", hi()),
                    ("id", Value::F64(1e300)),
                ]),
                Err(ParseError::BadAckId),
            ),
        ];
        for (what, message, expected) in cases {
            assert_eq!(decode(&message), expected, "{what}");
        }
    }

    #[test]
    fn decodes_what_it_encodes() {
        use PacketKind::*;
        let packets = [
            packet(Connect, "/", None, None),
            packet(
                Connect,
                "/admin",
                None,
                Some(object(&[("sid", "abc".into())])),
            ),
            packet(Disconnect, "/admin", None, None),
            packet(Event, "/", None, Some(array(&["chat".into(), "hi".into()]))),
            packet(
                Event,
                "/é",
                Some(MAX_ACK_ID),
                Some(array(&["file".into(), Value::Binary(vec![0; 300])])),
            ),
            packet(Ack, "/", Some(0), Some(array(&[]))),
            packet(Ack, "/admin", Some(70_000), Some(array(&[Value::F64(1.5)]))),
            packet(ConnectError, "/", None, Some("no".into())),
            packet(
                ConnectError,
                "/",
                None,
                Some(object(&[("message", "no".into())])),
            ),
        ];
        for packet in packets {
            let mut out = Vec::new();
            encode(
                packet.kind,
                &packet.namespace,
                packet.id,
                packet.data.as_deref(),
                &mut out,
            );
            assert_eq!(decode(&out), Ok(packet.clone()), "{packet:?}");
        }
    }
}
