//! What travels between the servers of a sharded cluster, encoded as Node's sharded adapter
//! encodes it (PROTOCOL.md, C3): every message is `{type, data, uid, nsp}`, as JSON unless
//! its `data` holds binary, in which case the whole message is msgpack. A message that
//! starts with `{` is JSON, anything else msgpack.
//!
//! Decoding never trusts its input: a malformed message is an error, never a panic.

use rmpv::Value as Pack;
use serde_json::Value as Json;
use tidings::adapter::BroadcastOptions;
use tidings::{Payload, Room};

use crate::codec::{
    Event, Selection, WireError, decode_pack, encode_pack, field, json_to_pack, malformed,
    pack_to_json, read_selection,
};

/// The message types (socket.io-adapter's `MessageType`).
pub(crate) mod kind {
    pub(crate) const BROADCAST: u64 = 3;
    pub(crate) const SOCKETS_JOIN: u64 = 4;
    pub(crate) const SOCKETS_LEAVE: u64 = 5;
    pub(crate) const DISCONNECT_SOCKETS: u64 = 6;
    pub(crate) const FETCH_SOCKETS: u64 = 7;
    pub(crate) const FETCH_SOCKETS_RESPONSE: u64 = 8;
    pub(crate) const SERVER_SIDE_EMIT: u64 = 9;
    pub(crate) const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    pub(crate) const BROADCAST_CLIENT_COUNT: u64 = 11;
    pub(crate) const BROADCAST_ACK: u64 = 12;

    /// Whether a message of type `kind` answers a request.
    pub(crate) fn is_response(kind: u64) -> bool {
        matches!(
            kind,
            FETCH_SOCKETS_RESPONSE
                | SERVER_SIDE_EMIT_RESPONSE
                | BROADCAST_CLIENT_COUNT
                | BROADCAST_ACK
        )
    }
}

/// One message: its type, its sender, its namespace and its type's fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message {
    pub(crate) kind: u64,
    pub(crate) uid: String,
    pub(crate) nsp: String,
    /// The `data` map's entries.
    pub(crate) data: Vec<(String, Pack)>,
}

impl Message {
    /// A message of type `kind` from adapter `uid` of namespace `nsp`, without fields yet.
    pub(crate) fn new(kind: u64, uid: &str, nsp: &str) -> Message {
        Message {
            kind,
            uid: uid.to_owned(),
            nsp: nsp.to_owned(),
            data: Vec::new(),
        }
    }

    /// Adds field `key` to `data`.
    pub(crate) fn with(mut self, key: &str, value: Pack) -> Message {
        self.data.push((key.to_owned(), value));
        self
    }

    /// Adds `opts`: `{rooms, except, flags}`.
    pub(crate) fn with_opts(self, options: &BroadcastOptions) -> Message {
        let rooms = |rooms: &[Room]| Pack::Array(rooms.iter().map(|r| Pack::from(&**r)).collect());
        let mut flags = Vec::new();
        if options.volatile {
            flags.push((Pack::from("volatile"), Pack::Boolean(true)));
        }
        let opts = Pack::Map(vec![
            (Pack::from("rooms"), rooms(&options.rooms)),
            (Pack::from("except"), rooms(&options.except)),
            (Pack::from("flags"), Pack::Map(flags)),
        ]);
        self.with("opts", opts)
    }

    /// The bytes to publish: JSON, or msgpack when `data` holds binary.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let data = Pack::Map(
            self.data
                .iter()
                .map(|(key, value)| (Pack::from(key.as_str()), value.clone()))
                .collect(),
        );
        let binary = has_binary(&data);
        let message = Pack::Map(vec![
            (Pack::from("type"), Pack::from(self.kind)),
            (Pack::from("data"), data),
            (Pack::from("uid"), Pack::from(self.uid.as_str())),
            (Pack::from("nsp"), Pack::from(self.nsp.as_str())),
        ]);
        if binary {
            encode_pack(&message)
        } else {
            pack_to_json(&message).to_string().into_bytes()
        }
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Message, WireError> {
        let message = if bytes.first() == Some(&b'{') {
            let json: Json = serde_json::from_slice(bytes).map_err(malformed)?;
            json_to_pack(&json)
        } else {
            decode_pack(bytes)?
        };
        let Pack::Map(entries) = message else {
            return Err(malformed("a message is not a map"));
        };
        let mut decoded = Message::new(0, "", "/");
        let mut kind = None;
        for (key, value) in entries {
            match (key.as_str(), value) {
                (Some("type"), value) => kind = value.as_u64(),
                (Some("uid"), Pack::String(uid)) => {
                    decoded.uid = uid.into_str().unwrap_or_default();
                }
                (Some("nsp"), Pack::String(nsp)) => {
                    decoded.nsp = nsp.into_str().ok_or_else(|| malformed("nsp"))?;
                }
                (Some("data"), Pack::Map(data)) => {
                    decoded.data = data
                        .into_iter()
                        .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), value)))
                        .collect();
                }
                _ => {}
            }
        }
        decoded.kind = kind.ok_or_else(|| malformed("a message without a type"))?;
        Ok(decoded)
    }

    /// Field `key` of `data`.
    pub(crate) fn field(&self, key: &str) -> Option<&Pack> {
        self.data.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn request_id(&self) -> Option<&str> {
        self.field("requestId").and_then(Pack::as_str)
    }

    /// The sockets `opts` selects.
    pub(crate) fn selection(&self) -> Selection {
        self.field("opts")
            .map(|opts| read_selection(&pack_to_json(opts)))
            .unwrap_or_default()
    }

    /// `rooms` (the rooms to join or leave), room numbers read as their decimal string.
    pub(crate) fn rooms(&self) -> Vec<Room> {
        match self.field("rooms") {
            Some(Pack::Array(rooms)) => rooms
                .iter()
                .filter_map(|room| crate::codec::room(&pack_to_json(room)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// BROADCAST: the event of `packet` (`{type: 2, data: [event, ...args]}`).
    pub(crate) fn broadcast_event(&self) -> Result<Event, WireError> {
        let data = self
            .field("packet")
            .and_then(|packet| field(packet, "data"))
            .ok_or_else(|| malformed("a broadcast without packet data"))?;
        Event::read_data_value(data)
    }

    /// SERVER_SIDE_EMIT: the event of `packet` (`[event, ...args]`).
    pub(crate) fn emitted_event(&self) -> Result<Event, WireError> {
        let packet = self
            .field("packet")
            .ok_or_else(|| malformed("a server-side emit without packet"))?;
        Event::read_data_value(packet)
    }

    /// An answer's `packet` as the arguments of an ack: one msgpack array, empty when the
    /// answer has none.
    pub(crate) fn ack_args(&self) -> Vec<u8> {
        match self.field("packet") {
            Some(Pack::Nil) | None => vec![0x90],
            Some(value) => encode_pack(&Pack::Array(vec![value.clone()])),
        }
    }
}

/// `{type: 2, data: [event, ...args]}`: a broadcast's packet (no `nsp` inside).
pub(crate) fn broadcast_packet(event: &Event) -> Pack {
    Pack::Map(vec![
        (Pack::from("type"), Pack::from(2)),
        (Pack::from("data"), event_data(event)),
    ])
}

/// `[event, ...args]`.
pub(crate) fn event_data(event: &Event) -> Pack {
    let mut items = vec![Pack::from(event.name.as_str())];
    if let Ok(Pack::Array(args)) = decode_pack(&event.args) {
        items.extend(args);
    }
    Pack::Array(items)
}

/// The first argument of an ack, what an answer carries as its `packet`.
pub(crate) fn first_arg(args: &Payload) -> Option<Pack> {
    match decode_pack(&args.to_msgpack()) {
        Ok(Pack::Array(mut items)) if !items.is_empty() => Some(items.swap_remove(0)),
        _ => None,
    }
}

fn has_binary(value: &Pack) -> bool {
    match value {
        Pack::Binary(_) => true,
        Pack::Array(items) => items.iter().any(has_binary),
        Pack::Map(entries) => entries.iter().any(|(_, v)| has_binary(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from a Node server (PROTOCOL.md, C3).
    const CAPTURED_JSON: &[u8] = br#"{"type":3,"data":{"packet":{"type":2,"data":["r1",1]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"238ba47362958e3c","nsp":"/"}"#;
    const CAPTURED_BINARY: &[u8] = b"\x84\xa4type\x03\xa4data\x82\xa6packet\x82\xa4type\x02\xa4data\x92\xa3bin\xc4\x02\x01\x02\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80\xa3uid\xb0238ba47362958e3c\xa3nsp\xa1/";

    fn event(name: &str, args: &[u8]) -> Event {
        Event {
            name: name.to_owned(),
            args: args.to_vec(),
        }
    }

    #[test]
    fn decodes_node_broadcasts_in_either_encoding() {
        let json = Message::decode(CAPTURED_JSON).expect("valid");
        assert_eq!(
            (json.kind, json.uid.as_str(), json.nsp.as_str()),
            (kind::BROADCAST, "238ba47362958e3c", "/")
        );
        assert_eq!(
            json.broadcast_event().expect("event"),
            event("r1", &[0x91, 0x01])
        );
        assert_eq!(json.selection().rooms, [Room::from("room1")]);
        assert_eq!(json.request_id(), None);
        let binary = Message::decode(CAPTURED_BINARY).expect("valid");
        assert_eq!(
            binary.broadcast_event().expect("event"),
            event("bin", b"\x91\xc4\x02\x01\x02")
        );
    }

    #[test]
    fn encodes_json_unless_there_is_binary() {
        let mut options = BroadcastOptions::default();
        options.rooms = vec![Room::from("room1")];
        let message = Message::new(kind::BROADCAST, "238ba47362958e3c", "/")
            .with("packet", broadcast_packet(&event("r1", &[0x91, 0x01])))
            .with_opts(&options);
        let bytes = message.encode();
        assert_eq!(bytes.first(), Some(&b'{'));
        let json: Json = serde_json::from_slice(&bytes).expect("JSON");
        let captured: Json = serde_json::from_slice(CAPTURED_JSON).expect("JSON");
        assert_eq!(json, captured);

        let message = Message::new(kind::BROADCAST, "238ba47362958e3c", "/")
            .with(
                "packet",
                broadcast_packet(&event("bin", b"\x91\xc4\x02\x01\x02")),
            )
            .with_opts(&BroadcastOptions::default());
        assert_eq!(message.encode(), CAPTURED_BINARY);
    }

    #[test]
    fn reads_answers() {
        let ack = br#"{"type":12,"data":{"requestId":"6d70aa1be0e4c917","packet":"b1"},"uid":"c9e0cb2c9cc330a1","nsp":"/"}"#;
        let ack = Message::decode(ack).expect("valid");
        assert!(kind::is_response(ack.kind));
        assert_eq!(ack.request_id(), Some("6d70aa1be0e4c917"));
        assert_eq!(ack.ack_args(), b"\x91\xa2b1");
        let emit = br#"{"type":9,"data":{"requestId":"38a92826a9142031","packet":["ping",2]},"uid":"238ba47362958e3c","nsp":"/"}"#;
        let emit = Message::decode(emit).expect("valid");
        assert_eq!(
            emit.emitted_event().expect("event"),
            event("ping", &[0x91, 0x02])
        );
        let join = br#"{"type":4,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"rooms":["room2",3]},"uid":"u","nsp":"/"}"#;
        let join = Message::decode(join).expect("valid");
        assert_eq!(join.rooms(), [Room::from("room2"), Room::from("3")]);
    }

    #[test]
    fn refuses_malformed_messages() {
        let cases: &[(&str, &[u8])] = &[
            ("empty", b""),
            ("not JSON", b"{nope"),
            ("an array", b"[1]"),
            ("no type", br#"{"uid":"u","nsp":"/"}"#),
            ("msgpack array", b"\x91\x01"),
            ("truncated", b"\x84\xa4type"),
            ("deep", &[0x91; 200]),
        ];
        for (name, bytes) in cases {
            assert!(Message::decode(bytes).is_err(), "{name}");
        }
        let no_packet = Message::decode(br#"{"type":3,"data":{},"uid":"u","nsp":"/"}"#);
        assert!(no_packet.expect("valid").broadcast_event().is_err());
    }
}
