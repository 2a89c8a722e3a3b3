//! What travels over Redis, encoded as `@socket.io/redis-adapter` 8.x encodes it (PROTOCOL.md,
//! A3 to A9): broadcasts as the msgpack array `[uid, packet, opts]`; requests and answers as
//! JSON objects, but for the request of a broadcast with acks (type 7) and each ack of it
//! (type 9), which are msgpack maps because they carry event arguments. A message that starts
//! with `{` is JSON, anything else msgpack.
//!
//! Decoding never trusts its input: any malformed message is an error, never a panic, and
//! nesting is bounded.

use rmpv::Value as Pack;
use serde_json::{Map, Value as Json};
use tidings::adapter::{BroadcastOptions, BroadcastPacket};
use tidings::{Parser, Payload, Room};

/// How deep a decoded msgpack value may nest.
const MAX_DEPTH: usize = 128;

/// The type numbers of requests and answers.
pub(crate) mod kind {
    pub(crate) const SOCKETS: u64 = 0;
    pub(crate) const ALL_ROOMS: u64 = 1;
    pub(crate) const REMOTE_JOIN: u64 = 2;
    pub(crate) const REMOTE_LEAVE: u64 = 3;
    pub(crate) const REMOTE_DISCONNECT: u64 = 4;
    pub(crate) const REMOTE_FETCH: u64 = 5;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 6;
    pub(crate) const BROADCAST: u64 = 7;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub(crate) const BROADCAST_ACK: u64 = 9;
}

/// A message that does not follow the protocol.
#[derive(Debug, thiserror::Error)]
#[error("malformed message: {0}")]
pub(crate) struct WireError(String);

pub(crate) fn malformed(what: impl std::fmt::Display) -> WireError {
    WireError(what.to_string())
}

/// Which sockets a remote operation selects, as `opts` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    pub(crate) rooms: Vec<Room>,
    pub(crate) except: Vec<Room>,
    pub(crate) volatile: bool,
}

impl Selection {
    /// The options of a delivery to this server's sockets only.
    pub(crate) fn local(&self) -> BroadcastOptions {
        let mut options = BroadcastOptions::default();
        options.rooms = self.rooms.clone();
        options.except = self.except.clone();
        options.volatile = self.volatile;
        options.local = true;
        options
    }
}

/// An event as it travels: its name and its arguments as one msgpack array.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Event {
    pub(crate) name: String,
    /// A msgpack array.
    pub(crate) args: Vec<u8>,
}

impl Event {
    pub(crate) fn of(packet: &BroadcastPacket) -> Event {
        Event {
            name: packet.event.clone(),
            args: packet.args.to_msgpack().to_vec(),
        }
    }

    /// The event as a packet for this server's sockets, with arguments for `parser`.
    pub(crate) fn into_packet(self, parser: Parser) -> Result<BroadcastPacket, WireError> {
        let args = parser.payload_from_msgpack(&self.args).map_err(malformed)?;
        Ok(BroadcastPacket {
            event: self.name,
            args,
        })
    }

    /// `[name, ...args]`, the `data` of a Socket.IO packet.
    fn write_data(&self, out: &mut Vec<u8>) {
        let mut rest = &self.args[..];
        let len = rmp::decode::read_array_len(&mut rest).unwrap_or(0);
        write_array_len(out, len as usize + 1);
        write_str(out, &self.name);
        out.extend_from_slice(rest);
    }

    /// Reads `[name, ...args]`, a msgpack array: the arguments keep their bytes.
    fn read_data(data: &[u8]) -> Result<Event, WireError> {
        let mut rest = data;
        let len = rmp::decode::read_array_len(&mut rest).map_err(malformed)?;
        let no_name = || malformed("packet data has no event name");
        if len == 0 {
            return Err(no_name());
        }
        let (name, rest) = rmp::decode::read_str_from_slice(rest).map_err(|_| no_name())?;
        let mut args = Vec::with_capacity(rest.len() + 5);
        write_array_len(&mut args, len as usize - 1);
        args.extend_from_slice(rest);
        Ok(Event {
            name: name.to_owned(),
            args,
        })
    }

    /// Reads `[name, ...args]` from a decoded value.
    pub(crate) fn read_data_value(data: &Pack) -> Result<Event, WireError> {
        if !matches!(data, Pack::Array(_)) {
            return Err(malformed("packet data is not an array"));
        }
        Event::read_data(&encode_pack(data))
    }
}

/// A broadcast from another server.
#[derive(Debug, PartialEq)]
pub(crate) struct Broadcast {
    pub(crate) uid: String,
    pub(crate) namespace: String,
    pub(crate) event: Event,
    pub(crate) selection: Selection,
    /// The offset a Tidings server gave it in the cluster's record for connection state
    /// recovery, as a fourth element, which Node's adapter ignores.
    pub(crate) offset: Option<String>,
}

/// `[uid, {type: 2, data: [event, ...args], nsp}, {rooms, except, flags}]`, and the offset
/// as a fourth element when the broadcast has one.
pub(crate) fn encode_broadcast(
    uid: &str,
    namespace: &str,
    event: &Event,
    options: &BroadcastOptions,
    offset: Option<&str>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + event.args.len());
    write_array_len(&mut out, if offset.is_some() { 4 } else { 3 });
    write_str(&mut out, uid);
    write_packet(&mut out, namespace, event);
    write_opts(&mut out, options);
    if let Some(offset) = offset {
        write_str(&mut out, offset);
    }
    out
}

pub(crate) fn decode_broadcast(bytes: &[u8]) -> Result<Broadcast, WireError> {
    // Walked in place: the event's arguments are handed on as the bytes they came as.
    let mut rest = bytes;
    let len = rmp::decode::read_array_len(&mut rest)
        .map_err(|_| malformed("a broadcast is not an array"))?;
    if len < 3 {
        return Err(malformed("a broadcast has fewer than 3 elements"));
    }
    let uid = read_ref(&mut rest)?;
    let uid = text(&uid).ok_or_else(|| malformed("uid"))?;
    let (namespace, event) = read_packet(&mut rest)?;
    let opts = read_ref(&mut rest)?.to_owned();
    let mut offset = None;
    // Node ignores elements after the third.
    for index in 3..len {
        let value = read_ref(&mut rest)?;
        if index == 3 {
            offset = text(&value).map(str::to_owned);
        }
    }
    if !rest.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    Ok(Broadcast {
        uid: uid.to_owned(),
        namespace,
        event,
        selection: read_selection(&pack_to_json(&opts)),
        offset,
    })
}

/// A broadcast as the cluster's record keeps it: the msgpack map `{packet, opts}`, as the
/// `data` of Node's stream entries (PROTOCOL.md, D2).
pub(crate) fn encode_recorded(
    namespace: &str,
    event: &Event,
    options: &BroadcastOptions,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + event.args.len());
    write_map_len(&mut out, 2);
    write_str(&mut out, "packet");
    write_packet(&mut out, namespace, event);
    write_str(&mut out, "opts");
    write_opts(&mut out, options);
    out
}

/// Reads what [`encode_recorded`] wrote, or the same map from another writer.
pub(crate) fn decode_recorded(bytes: &[u8]) -> Result<(Event, Selection), WireError> {
    let mut rest = bytes;
    let entries = rmp::decode::read_map_len(&mut rest).map_err(|_| malformed("not a map"))?;
    let (mut event, mut selection) = (None, Selection::default());
    for _ in 0..entries {
        let key = read_ref(&mut rest)?;
        match text(&key) {
            Some("packet") => event = Some(read_packet(&mut rest)?.1),
            Some("opts") => {
                selection = read_selection(&pack_to_json(&read_ref(&mut rest)?.to_owned()))
            }
            _ => {
                read_ref(&mut rest)?;
            }
        }
    }
    if !rest.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    Ok((event.ok_or_else(|| malformed("no packet"))?, selection))
}

/// Reads a packet map `{type, data, nsp}`: its namespace ("/" when it has none) and event.
fn read_packet(rest: &mut &[u8]) -> Result<(String, Event), WireError> {
    let entries = rmp::decode::read_map_len(rest).map_err(|_| malformed("packet"))?;
    let (mut namespace, mut data) = ("/".to_owned(), None);
    for _ in 0..entries {
        let key = read_ref(rest)?;
        let start = *rest;
        let value = read_ref(rest)?;
        match (text(&key), text(&value)) {
            (Some("nsp"), Some(nsp)) => namespace = nsp.to_owned(),
            (Some("nsp"), None) => return Err(malformed("nsp")),
            (Some("data"), _) => data = Some(&start[..start.len() - rest.len()]),
            _ => {}
        }
    }
    let data = data.ok_or_else(|| malformed("packet without data"))?;
    Ok((namespace, Event::read_data(data)?))
}

/// A string value's text.
fn text<'a>(value: &'a rmpv::ValueRef<'a>) -> Option<&'a str> {
    match value {
        rmpv::ValueRef::String(text) => text.as_str(),
        _ => None,
    }
}

/// The next value, borrowed from `rest`, which moves past it.
fn read_ref<'a>(rest: &mut &'a [u8]) -> Result<rmpv::ValueRef<'a>, WireError> {
    rmpv::decode::read_value_ref_with_max_depth(rest, MAX_DEPTH).map_err(malformed)
}

/// A request from a server (or the emitter), whatever its encoding.
#[derive(Debug, Default)]
pub(crate) struct Request {
    pub(crate) uid: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) kind: u64,
    /// `opts`, when the request has it.
    pub(crate) selection: Option<Selection>,
    /// The rooms to join or leave (REMOTE_JOIN/LEAVE), or to look in (SOCKETS).
    pub(crate) rooms: Vec<Room>,
    pub(crate) close: bool,
    /// The legacy forms' single socket and room.
    pub(crate) sid: Option<String>,
    pub(crate) room: Option<Room>,
    /// SERVER_SIDE_EMIT: `[event, ...args]` as JSON.
    pub(crate) data: Option<Json>,
    /// BROADCAST: the event.
    pub(crate) event: Option<Event>,
}

pub(crate) fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    let message = decode_message(bytes)?;
    let fields = &message.fields;
    let kind = fields
        .get("type")
        .and_then(Json::as_u64)
        .ok_or_else(|| malformed("request without a type"))?;
    let event = match &message.packet {
        Some(Packet::Pack(packet)) => field(packet, "data")
            .map(Event::read_data_value)
            .transpose()?,
        Some(Packet::Json(packet)) => packet
            .get("data")
            .map(|data| Event::read_data_value(&json_to_pack(data)))
            .transpose()?,
        None => None,
    };
    Ok(Request {
        uid: string(fields, "uid"),
        request_id: string(fields, "requestId"),
        kind,
        selection: fields.get("opts").map(read_selection),
        rooms: fields.get("rooms").map(rooms).unwrap_or_default(),
        close: fields.get("close").and_then(Json::as_bool).unwrap_or(false),
        sid: string(fields, "sid"),
        room: fields.get("room").and_then(room),
        data: fields.get("data").cloned(),
        event,
    })
}

/// An answer to a request.
#[derive(Debug, Default)]
pub(crate) struct Response {
    pub(crate) request_id: String,
    pub(crate) kind: Option<u64>,
    pub(crate) fields: Map<String, Json>,
    /// BROADCAST_ACK: the recipient's first ack argument as one msgpack array (empty array
    /// when it acked with none).
    pub(crate) ack: Option<Vec<u8>>,
}

pub(crate) fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    let message = decode_message(bytes)?;
    let request_id =
        string(&message.fields, "requestId").ok_or_else(|| malformed("answer without id"))?;
    let kind = message.fields.get("type").and_then(Json::as_u64);
    let ack = match message.packet {
        Some(Packet::Pack(value)) => Some(encode_pack(&Pack::Array(vec![value]))),
        Some(Packet::Json(value)) => Some(encode_pack(&Pack::Array(vec![json_to_pack(&value)]))),
        None if kind == Some(kind::BROADCAST_ACK) => Some(vec![0x90]),
        None => None,
    };
    Ok(Response {
        request_id,
        kind,
        fields: message.fields,
        ack,
    })
}

/// The request of a broadcast with acks: a msgpack map.
pub(crate) fn encode_broadcast_request(
    uid: &str,
    request_id: &str,
    namespace: &str,
    event: &Event,
    options: &BroadcastOptions,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + event.args.len());
    write_map_len(&mut out, 5);
    write_str(&mut out, "uid");
    write_str(&mut out, uid);
    write_str(&mut out, "requestId");
    write_str(&mut out, request_id);
    write_str(&mut out, "type");
    write_uint(&mut out, kind::BROADCAST);
    write_str(&mut out, "packet");
    write_packet(&mut out, namespace, event);
    write_str(&mut out, "opts");
    write_opts(&mut out, options);
    out
}

/// One recipient's ack of a broadcast, for the server that asked: `packet` is the first
/// argument, left out when there is none.
pub(crate) fn encode_broadcast_ack(request_id: &str, args: &Payload) -> Vec<u8> {
    let first = match decode_pack(&args.to_msgpack()) {
        Ok(Pack::Array(mut items)) if !items.is_empty() => Some(items.swap_remove(0)),
        _ => None,
    };
    let mut out = Vec::new();
    write_map_len(&mut out, if first.is_some() { 3 } else { 2 });
    write_str(&mut out, "type");
    write_uint(&mut out, kind::BROADCAST_ACK);
    write_str(&mut out, "requestId");
    write_str(&mut out, request_id);
    if let Some(first) = first {
        write_str(&mut out, "packet");
        out.extend_from_slice(&encode_pack(&first));
    }
    out
}

/// `opts` of a request: `{rooms, except}` (flags are not sent with requests).
pub(crate) fn opts_json(options: &BroadcastOptions) -> Json {
    let names = |rooms: &[Room]| rooms.iter().map(|r| Json::from(r.as_ref())).collect();
    serde_json::json!({
        "rooms": Json::Array(names(&options.rooms)),
        "except": Json::Array(names(&options.except)),
    })
}

/// A decoded request or answer: its fields as JSON, and its `packet` kept apart, in its own
/// encoding, since it may carry binary data.
struct Message {
    fields: Map<String, Json>,
    packet: Option<Packet>,
}

enum Packet {
    Json(Json),
    Pack(Pack),
}

fn decode_message(bytes: &[u8]) -> Result<Message, WireError> {
    if bytes.first() == Some(&b'{') {
        let Json::Object(mut fields) = serde_json::from_slice(bytes).map_err(malformed)? else {
            return Err(malformed("not an object"));
        };
        let packet = fields.remove("packet").map(Packet::Json);
        return Ok(Message { fields, packet });
    }
    let Pack::Map(entries) = decode_pack(bytes)? else {
        return Err(malformed("not a map"));
    };
    let mut fields = Map::new();
    let mut packet = None;
    for (key, value) in entries {
        let Some(key) = key.as_str() else { continue };
        if key == "packet" {
            packet = Some(Packet::Pack(value));
        } else {
            fields.insert(key.to_owned(), pack_to_json(&value));
        }
    }
    Ok(Message { fields, packet })
}

pub(crate) fn read_selection(opts: &Json) -> Selection {
    Selection {
        rooms: opts.get("rooms").map(rooms).unwrap_or_default(),
        except: opts.get("except").map(rooms).unwrap_or_default(),
        volatile: opts
            .get("flags")
            .and_then(|flags| flags.get("volatile"))
            .and_then(Json::as_bool)
            .unwrap_or(false),
    }
}

/// Room names; a Node app may use numbers, which are read as their decimal string.
fn rooms(list: &Json) -> Vec<Room> {
    list.as_array()
        .map(|items| items.iter().filter_map(room).collect())
        .unwrap_or_default()
}

/// A room name; a number is read as its decimal string.
pub(crate) fn room(value: &Json) -> Option<Room> {
    match value {
        Json::String(name) => Some(Room::from(name.as_str())),
        Json::Number(number) => Some(Room::from(number.to_string().as_str())),
        _ => None,
    }
}

fn string(fields: &Map<String, Json>, key: &str) -> Option<String> {
    fields.get(key).and_then(Json::as_str).map(str::to_owned)
}

/// The value under `key` of a msgpack map.
pub(crate) fn field<'a>(map: &'a Pack, key: &str) -> Option<&'a Pack> {
    match map {
        Pack::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn write_packet(out: &mut Vec<u8>, namespace: &str, event: &Event) {
    write_map_len(out, 3);
    write_str(out, "type");
    write_uint(out, 2);
    write_str(out, "data");
    event.write_data(out);
    write_str(out, "nsp");
    write_str(out, namespace);
}

fn write_opts(out: &mut Vec<u8>, options: &BroadcastOptions) {
    write_map_len(out, 3);
    write_str(out, "rooms");
    write_rooms(out, &options.rooms);
    write_str(out, "except");
    write_rooms(out, &options.except);
    write_str(out, "flags");
    if options.volatile {
        write_map_len(out, 1);
        write_str(out, "volatile");
        out.push(0xc3);
    } else {
        write_map_len(out, 0);
    }
}

fn write_rooms(out: &mut Vec<u8>, rooms: &[Room]) {
    write_array_len(out, rooms.len());
    for room in rooms {
        write_str(out, room);
    }
}

// Writing to a Vec cannot fail: these wrappers say so once.

fn write_array_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    let _ = rmp::encode::write_array_len(out, len);
}

fn write_map_len(out: &mut Vec<u8>, len: u32) {
    let _ = rmp::encode::write_map_len(out, len);
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    let _ = rmp::encode::write_str(out, text);
}

fn write_uint(out: &mut Vec<u8>, n: u64) {
    let _ = rmp::encode::write_uint(out, n);
}

pub(crate) fn decode_pack(bytes: &[u8]) -> Result<Pack, WireError> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH).map_err(malformed)?;
    if !rest.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    Ok(value)
}

pub(crate) fn encode_pack(value: &Pack) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// A msgpack value as JSON, for the fields of requests (binary as an array of bytes).
pub(crate) fn pack_to_json(value: &Pack) -> Json {
    match value {
        Pack::Nil => Json::Null,
        Pack::Boolean(b) => Json::Bool(*b),
        Pack::Integer(n) => n
            .as_u64()
            .map(Json::from)
            .or_else(|| n.as_i64().map(Json::from))
            .unwrap_or(Json::Null),
        Pack::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        Pack::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Pack::String(s) => s.as_str().map_or(Json::Null, Json::from),
        Pack::Binary(bytes) => Json::Array(bytes.iter().map(|b| Json::from(*b)).collect()),
        Pack::Array(items) => Json::Array(items.iter().map(pack_to_json).collect()),
        Pack::Map(entries) => Json::Object(
            entries
                .iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), pack_to_json(v))))
                .collect(),
        ),
        Pack::Ext(..) => Json::Null,
    }
}

/// A JSON value as msgpack (no binary in JSON).
pub(crate) fn json_to_pack(value: &Json) -> Pack {
    match value {
        Json::Null => Pack::Nil,
        Json::Bool(b) => Pack::Boolean(*b),
        Json::Number(n) => n
            .as_u64()
            .map(Pack::from)
            .or_else(|| n.as_i64().map(Pack::from))
            .unwrap_or_else(|| Pack::F64(n.as_f64().unwrap_or(0.0))),
        Json::String(s) => Pack::from(s.as_str()),
        Json::Array(items) => Pack::Array(items.iter().map(json_to_pack).collect()),
        Json::Object(entries) => Pack::Map(
            entries
                .iter()
                .map(|(k, v)| (Pack::from(k.as_str()), json_to_pack(v)))
                .collect(),
        ),
    }
}

/// The event's arguments as JSON, for a server-side emit (binary as Node's Buffer JSON).
pub(crate) fn event_json(packet: &BroadcastPacket) -> Json {
    let mut data = vec![Json::from(packet.event.as_str())];
    if let Json::Array(args) = packet.args.to_json() {
        data.extend(args);
    }
    Json::Array(data)
}

/// A server-side emit's `data` (`[event, ...args]`) as a packet for `parser`.
pub(crate) fn server_side_event(data: &Json, parser: Parser) -> Result<BroadcastPacket, WireError> {
    let Some((Json::String(name), args)) = data.as_array().and_then(|items| items.split_first())
    else {
        return Err(malformed("server-side emit without an event name"));
    };
    let args = parser
        .payload_from_json(&Json::Array(args.to_vec()))
        .map_err(malformed)?;
    Ok(BroadcastPacket {
        event: name.clone(),
        args,
    })
}

/// One value, as the arguments of an ack for `parser` (none when `value` is absent).
pub(crate) fn json_args(value: Option<&Json>, parser: Parser) -> Result<Payload, WireError> {
    let args = Json::Array(value.cloned().into_iter().collect());
    parser.payload_from_json(&args).map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The broadcast captured from a Node server (PROTOCOL.md A4, second example).
    const CAPTURED_ROOMS: &[u8] = b"\x93\xa6fUAtj8\x83\xa4type\x02\xa4data\x92\xa5multi\x01\xa3nsp\xa1/\x83\xa5rooms\x92\xa5room1\xa5room2\xa6except\x91\xa5room3\xa5flags\x82\xa8volatile\xc3\xa8compress\xc2";

    #[test]
    fn decodes_a_node_broadcast() {
        let broadcast = decode_broadcast(CAPTURED_ROOMS).expect("valid");
        assert_eq!(broadcast.uid, "fUAtj8");
        assert_eq!(broadcast.namespace, "/");
        assert_eq!(broadcast.event.name, "multi");
        assert_eq!(broadcast.event.args, [0x91, 0x01]);
        // A fourth element is ignored, as Node ignores it; binary arguments keep their bytes.
        let extended = b"\x94\xa1u\x82\xa4data\x93\xa1e\xc4\x02\x01\x02\x01\xa3nsp\xa1/\x80\xc0";
        let extended = decode_broadcast(extended).expect("valid");
        assert_eq!(extended.event.name, "e");
        assert_eq!(extended.event.args, b"\x92\xc4\x02\x01\x02\x01");
        assert_eq!(
            broadcast.selection,
            Selection {
                rooms: vec![Room::from("room1"), Room::from("room2")],
                except: vec![Room::from("room3")],
                volatile: true,
            }
        );
    }

    #[test]
    fn encodes_a_broadcast_as_node_does() {
        let event = Event {
            name: "multi".to_owned(),
            args: vec![0x91, 0x01],
        };
        let mut options = BroadcastOptions::default();
        options.rooms = vec![Room::from("room1"), Room::from("room2")];
        options.except = vec![Room::from("room3")];
        let bytes = encode_broadcast("fUAtj8", "/", &event, &options, None);
        let expected = b"\x93\xa6fUAtj8\x83\xa4type\x02\xa4data\x92\xa5multi\x01\xa3nsp\xa1/\x83\xa5rooms\x92\xa5room1\xa5room2\xa6except\x91\xa5room3\xa5flags\x80";
        assert_eq!(bytes, expected);
        options.volatile = true;
        let volatile = decode_broadcast(&encode_broadcast("u", "/chat", &event, &options, None));
        let volatile = volatile.expect("valid");
        assert!(volatile.selection.volatile);
        assert_eq!(volatile.namespace, "/chat");
    }

    #[test]
    fn refuses_malformed_broadcasts() {
        let cases: &[(&str, &[u8])] = &[
            ("empty", b""),
            ("json", b"{\"a\":1}"),
            ("a map", b"\x81\xa1a\x01"),
            ("two elements", b"\x92\xa1u\x80"),
            ("no data", b"\x93\xa1u\x81\xa3nsp\xa1/\x80"),
            ("data not an array", b"\x93\xa1u\x81\xa4data\x01\x80"),
            ("no event name", b"\x93\xa1u\x81\xa4data\x91\x01\x80"),
            ("trailing bytes", b"\x93\xa1u\x81\xa4data\x91\xa1e\x80\x00"),
            ("truncated", b"\x93\xa1u\x81\xa4data\x91\xa5e"),
            ("deep", &[0x91; 200]),
        ];
        for (name, bytes) in cases {
            assert!(decode_broadcast(bytes).is_err(), "{name}");
        }
    }

    #[test]
    fn decodes_requests_in_either_encoding() {
        let json = br#"{"uid":"fUAtj8","type":2,"opts":{"rooms":["room1",7],"except":[]},"rooms":["room9"]}"#;
        let request = decode_request(json).expect("valid");
        assert_eq!(request.kind, kind::REMOTE_JOIN);
        assert_eq!(request.uid.as_deref(), Some("fUAtj8"));
        let selection = request.selection.expect("opts");
        assert_eq!(selection.rooms, [Room::from("room1"), Room::from("7")]);
        assert_eq!(request.rooms, [Room::from("room9")]);

        let event = Event {
            name: "ask".to_owned(),
            args: vec![0x91, 0x2a],
        };
        let bytes = encode_broadcast_request("u", "r1", "/", &event, &BroadcastOptions::default());
        let request = decode_request(&bytes).expect("valid");
        assert_eq!(request.kind, kind::BROADCAST);
        assert_eq!(request.request_id.as_deref(), Some("r1"));
        assert_eq!(request.event, Some(event));
    }

    #[test]
    fn decodes_acks_with_and_without_an_argument() {
        // {type: 9, requestId: "x", packet: {n: "b1"}} and {type: 9, requestId: "y"}.
        let with = b"\x83\xa4type\x09\xa9requestId\xa1x\xa6packet\x81\xa1n\xa2b1";
        let response = decode_response(with).expect("valid");
        assert_eq!(response.kind, Some(kind::BROADCAST_ACK));
        assert_eq!(response.ack.as_deref(), Some(&b"\x91\x81\xa1n\xa2b1"[..]));
        let without = b"\x82\xa4type\x09\xa9requestId\xa1y";
        let response = decode_response(without).expect("valid");
        assert_eq!(response.ack.as_deref(), Some(&[0x90][..]));
        let count = decode_response(br#"{"type":8,"requestId":"z","clientCount":2}"#);
        let count = count.expect("valid");
        assert_eq!(count.fields["clientCount"], 2);
        assert!(decode_response(br#"{"type":8}"#).is_err());
    }
}
