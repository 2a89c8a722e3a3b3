//! The seam between the parsers and the server: client packets decoded into what the server
//! acts on, and server packets encoded into Engine.IO messages, whichever the parser.

use bytes::Bytes;
use serde_json::value::RawValue;
use tidings_transports::Message;

use super::{PacketKind, ParseError, Parser, json, msgpack};
use crate::payload::Payload;

/// A packet from a client, as the server acts on it.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// Connect to a namespace, with the auth payload (one argument) when there is one.
    Connect {
        namespace: String,
        auth: Option<Payload>,
    },
    /// Leave a namespace.
    Disconnect { namespace: String },
    /// An event, which asks for an ack when it has an id.
    Event {
        namespace: String,
        id: Option<u64>,
        event: String,
        args: Payload,
    },
    /// The answer to an event the server emitted with an ack.
    Ack {
        namespace: String,
        id: u64,
        args: Payload,
    },
}

/// Decodes one client's messages with the server's parser.
#[derive(Debug)]
pub(crate) enum ClientDecoder {
    Json(json::Decoder),
    MsgPack,
}

impl ClientDecoder {
    pub(crate) fn new(parser: Parser, max_attachments: usize) -> ClientDecoder {
        match parser {
            Parser::Json => ClientDecoder::Json(json::Decoder::new(max_attachments)),
            Parser::MsgPack => ClientDecoder::MsgPack,
        }
    }

    /// Decodes a message: the packet, or `None` while a binary packet waits for more.
    pub(crate) fn decode(&mut self, message: Message) -> Result<Option<Incoming>, ParseError> {
        match self {
            ClientDecoder::Json(decoder) => {
                let packet = match message.as_text() {
                    Some(text) => decoder.decode_text(text)?,
                    None => {
                        let data = message.as_binary().cloned().unwrap_or_default();
                        decoder.decode_binary(data)?
                    }
                };
                packet.map(from_json).transpose()
            }
            ClientDecoder::MsgPack => match message.as_binary() {
                Some(data) => from_msgpack(msgpack::decode(data)?).map(Some),
                None => Err(ParseError::UnexpectedText),
            },
        }
    }
}

fn from_json(packet: json::Packet) -> Result<Incoming, ParseError> {
    let json::Packet {
        kind,
        namespace,
        id,
        data,
        attachments,
    } = packet;
    Ok(match kind {
        PacketKind::Connect => Incoming::Connect {
            namespace,
            auth: data.map(|auth| Payload::from_json(format!("[{auth}]"), Vec::new())),
        },
        PacketKind::Disconnect => Incoming::Disconnect { namespace },
        PacketKind::Event => {
            let data = data.ok_or(ParseError::InvalidPayload)?;
            let (event, args) = split_json_event(data)?;
            Incoming::Event {
                namespace,
                id,
                event,
                args: Payload::from_json(args, attachments),
            }
        }
        PacketKind::Ack => Incoming::Ack {
            namespace,
            id: id.ok_or(ParseError::InvalidPayload)?,
            args: Payload::from_json(data.ok_or(ParseError::InvalidPayload)?, attachments),
        },
        PacketKind::ConnectError => return Err(ParseError::InvalidPayload),
    })
}

/// Splits `["name",a,b]` into the name and `[a,b]`. The decoder has checked the data (a JSON
/// array starting with a string), so only the name is parsed here, not the arguments. The
/// arguments reuse the data's buffer: the name and its comma become the `[`.
fn split_json_event(mut data: String) -> Result<(String, String), ParseError> {
    let open = data.len() - data.trim_start().len();
    if !data[open..].starts_with('[') {
        return Err(ParseError::InvalidPayload);
    }
    let rest = &data[open + 1..];
    let mut names = serde_json::Deserializer::from_str(rest).into_iter::<String>();
    let event = names
        .next()
        .and_then(Result::ok)
        .ok_or(ParseError::InvalidPayload)?;
    let after = &rest[names.byte_offset()..];
    let comma = data.len() - after.trim_start().len();
    if data[comma..].starts_with(',') {
        data.replace_range(..=comma, "[");
        Ok((event, data))
    } else {
        Ok((event, "[]".to_owned()))
    }
}

fn from_msgpack(packet: msgpack::Packet) -> Result<Incoming, ParseError> {
    let msgpack::Packet {
        kind,
        namespace,
        id,
        data,
    } = packet;
    Ok(match kind {
        PacketKind::Connect => Incoming::Connect {
            namespace,
            auth: data.map(|auth| {
                let mut args = Vec::with_capacity(auth.len() + 1);
                args.push(0x91);
                args.extend_from_slice(&auth);
                Payload::from_msgpack(args.into())
            }),
        },
        PacketKind::Disconnect => Incoming::Disconnect { namespace },
        PacketKind::Event => {
            let data = data.ok_or(ParseError::InvalidPayload)?;
            let (event, args) = split_msgpack_event(&data)?;
            Incoming::Event {
                namespace,
                id,
                event,
                args: Payload::from_msgpack(args),
            }
        }
        PacketKind::Ack => Incoming::Ack {
            namespace,
            id: id.ok_or(ParseError::InvalidPayload)?,
            args: Payload::from_msgpack(data.ok_or(ParseError::InvalidPayload)?),
        },
        PacketKind::ConnectError => return Err(ParseError::InvalidPayload),
    })
}

/// Splits a msgpack array `[name, a, b]` into the name and the array `[a, b]`.
fn split_msgpack_event(data: &[u8]) -> Result<(String, Bytes), ParseError> {
    let mut rest = data;
    let len = rmp::decode::read_array_len(&mut rest).map_err(|_| ParseError::InvalidPayload)?;
    let (event, rest) =
        rmp::decode::read_str_from_slice(rest).map_err(|_| ParseError::InvalidPayload)?;
    let mut args = Vec::with_capacity(rest.len() + 5);
    write_array_len(&mut args, len.saturating_sub(1));
    args.extend_from_slice(rest);
    Ok((event.to_owned(), args.into()))
}

fn write_array_len(out: &mut Vec<u8>, len: u32) {
    rmp::encode::write_array_len(out, len).expect("writing to a Vec cannot fail");
}

/// The arguments of a msgpack payload without their array header, and their count.
fn msgpack_items(args: &[u8]) -> (u32, &[u8]) {
    let mut rest = args;
    match rmp::decode::read_array_len(&mut rest) {
        Ok(len) => (len, rest),
        Err(_) => (0, &[]),
    }
}

impl Parser {
    /// The server's answer to a CONNECT: `{"sid": ...}`.
    pub(crate) fn connect(self, namespace: &str, sid: &str, pid: Option<&str>) -> Message {
        match self {
            Parser::Json => {
                let mut text = String::with_capacity(namespace.len() + sid.len() + 48);
                json::write_header(PacketKind::Connect, 0, namespace, None, &mut text);
                text.push_str(r#"{"sid":""#);
                text.push_str(sid);
                if let Some(pid) = pid {
                    text.push_str(r#"","pid":""#);
                    text.push_str(pid);
                }
                text.push_str(r#""}"#);
                Message::text(text)
            }
            Parser::MsgPack => {
                let mut data = Vec::with_capacity(sid.len() + 40);
                let fields = if pid.is_some() { 2 } else { 1 };
                rmp::encode::write_map_len(&mut data, fields).expect("Vec");
                rmp::encode::write_str(&mut data, "sid").expect("Vec");
                rmp::encode::write_str(&mut data, sid).expect("Vec");
                if let Some(pid) = pid {
                    rmp::encode::write_str(&mut data, "pid").expect("Vec");
                    rmp::encode::write_str(&mut data, pid).expect("Vec");
                }
                binary(PacketKind::Connect, namespace, None, Some(&data))
            }
        }
    }

    /// A CONNECT_ERROR: `{"message": ..., "data": ...}`, `data` being the first argument of
    /// `data` when there is one.
    pub(crate) fn connect_error(
        self,
        namespace: &str,
        message: &str,
        data: Option<&Payload>,
    ) -> Message {
        match self {
            Parser::Json => {
                let mut text = String::with_capacity(namespace.len() + message.len() + 32);
                json::write_header(PacketKind::ConnectError, 0, namespace, None, &mut text);
                text.push_str(r#"{"message":"#);
                text.push_str(&serde_json::to_string(message).expect("strings serialize"));
                let first = data.and_then(|data| {
                    let (args, _) = data.as_json()?;
                    let items: Vec<&RawValue> = serde_json::from_str(args).ok()?;
                    Some(items.first()?.get().to_owned())
                });
                if let Some(first) = first {
                    text.push_str(r#","data":"#);
                    text.push_str(&first);
                }
                text.push('}');
                Message::text(text)
            }
            Parser::MsgPack => {
                let first = data.and_then(|data| {
                    let (count, items) = msgpack_items(data.as_msgpack()?);
                    let mut rest = items;
                    (count > 0 && rmpv::decode::read_value_ref(&mut rest).is_ok())
                        .then(|| items[..items.len() - rest.len()].to_vec())
                });
                let mut out = Vec::with_capacity(message.len() + 32);
                let fields = if first.is_some() { 2 } else { 1 };
                rmp::encode::write_map_len(&mut out, fields).expect("Vec");
                rmp::encode::write_str(&mut out, "message").expect("Vec");
                rmp::encode::write_str(&mut out, message).expect("Vec");
                if let Some(first) = first {
                    rmp::encode::write_str(&mut out, "data").expect("Vec");
                    out.extend_from_slice(&first);
                }
                binary(PacketKind::ConnectError, namespace, None, Some(&out))
            }
        }
    }

    /// A DISCONNECT from the server.
    pub(crate) fn disconnect(self, namespace: &str) -> Message {
        match self {
            Parser::Json => {
                let mut text = String::with_capacity(namespace.len() + 2);
                json::write_header(PacketKind::Disconnect, 0, namespace, None, &mut text);
                Message::text(text)
            }
            Parser::MsgPack => binary(PacketKind::Disconnect, namespace, None, None),
        }
    }

    /// An event, asking for ack `id` when there is one: one message, then one per
    /// attachment.
    pub(crate) fn event(
        self,
        namespace: &str,
        event: &str,
        id: Option<u64>,
        args: &Payload,
    ) -> Vec<Message> {
        if let Some((args, attachments)) = args.as_json() {
            let name = serde_json::to_string(event).expect("strings serialize");
            let mut text = String::with_capacity(namespace.len() + name.len() + args.len() + 24);
            json::write_header(
                PacketKind::Event,
                attachments.len(),
                namespace,
                id,
                &mut text,
            );
            text.push('[');
            text.push_str(&name);
            match args.strip_prefix('[').map(str::trim_start) {
                Some(rest) if !rest.starts_with(']') => {
                    text.push(',');
                    text.push_str(rest);
                }
                _ => text.push(']'),
            }
            return with_attachments(text, attachments);
        }
        let (count, items) = msgpack_items(args.as_msgpack().unwrap_or_default());
        let mut data = Vec::with_capacity(event.len() + items.len() + 8);
        write_array_len(&mut data, count + 1);
        rmp::encode::write_str(&mut data, event).expect("Vec");
        data.extend_from_slice(items);
        vec![binary(PacketKind::Event, namespace, id, Some(&data))]
    }

    /// An ack answering event `id`.
    pub(crate) fn ack(self, namespace: &str, id: u64, args: &Payload) -> Vec<Message> {
        if let Some((args, attachments)) = args.as_json() {
            let mut text = String::with_capacity(namespace.len() + args.len() + 24);
            json::write_header(
                PacketKind::Ack,
                attachments.len(),
                namespace,
                Some(id),
                &mut text,
            );
            text.push_str(args);
            return with_attachments(text, attachments);
        }
        let data = args.as_msgpack().unwrap_or_default();
        vec![binary(PacketKind::Ack, namespace, Some(id), Some(data))]
    }
}

fn with_attachments(text: String, attachments: &[Bytes]) -> Vec<Message> {
    let mut messages = Vec::with_capacity(1 + attachments.len());
    messages.push(Message::text(text));
    messages.extend(attachments.iter().cloned().map(Message::binary));
    messages
}

fn binary(kind: PacketKind, namespace: &str, id: Option<u64>, data: Option<&[u8]>) -> Message {
    let mut out = Vec::with_capacity(namespace.len() + data.map_or(0, <[u8]>::len) + 24);
    msgpack::encode(kind, namespace, id, data, &mut out);
    Message::binary(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(messages: &[Message]) -> Vec<String> {
        messages
            .iter()
            .map(|m| match m.as_text() {
                Some(text) => text.to_owned(),
                None => format!("<{} bytes>", m.len()),
            })
            .collect()
    }

    #[test]
    fn encodes_json_packets() {
        let args = Payload::encode(Parser::Json, &("a", 1)).expect("encodes");
        let none = Payload::encode(Parser::Json, &()).expect("encodes");
        let binary = Payload::encode(Parser::Json, &crate::Binary::from(vec![1])).expect("encodes");
        let p = Parser::Json;
        assert_eq!(
            texts(&p.event("/", "ev", None, &args)),
            [r#"2["ev","a",1]"#]
        );
        assert_eq!(
            texts(&p.event("/x", "ev", Some(3), &none)),
            [r#"2/x,3["ev"]"#]
        );
        assert_eq!(
            texts(&p.event("/", "ev", None, &binary)),
            [r#"51-["ev",{"_placeholder":true,"num":0}]"#, "<1 bytes>"]
        );
        assert_eq!(texts(&p.ack("/", 7, &args)), [r#"37["a",1]"#]);
        assert_eq!(
            p.connect("/", "abc", None).as_text(),
            Some(r#"0{"sid":"abc"}"#)
        );
        assert_eq!(
            p.connect("/a", "abc", Some("def")).as_text(),
            Some(r#"0/a,{"sid":"abc","pid":"def"}"#)
        );
        assert_eq!(p.disconnect("/chat").as_text(), Some("1/chat,"));
        let data = Payload::encode(p, &serde_json::json!({"code": 4})).expect("encodes");
        assert_eq!(
            p.connect_error("/", "no \"way\"", Some(&data)).as_text(),
            Some(r#"4{"message":"no \"way\"","data":{"code":4}}"#)
        );
        assert_eq!(
            p.connect_error("/a", "no", None).as_text(),
            Some(r#"4/a,{"message":"no"}"#)
        );
    }

    #[test]
    fn splits_the_event_name_from_its_arguments() {
        let cases = [
            (r#"["a"]"#, ("a", "[]")),
            (r#"["a",1,{"b":[2]}]"#, ("a", r#"[1,{"b":[2]}]"#)),
            (r#" [ "a\"b" , 1 ] "#, ("a\"b", "[ 1 ] ")),
            (r#"["a" ]"#, ("a", "[]")),
        ];
        for (data, (event, args)) in cases {
            let split = split_json_event(data.to_owned()).expect("an event");
            assert_eq!(
                (split.0.as_str(), split.1.as_str()),
                (event, args),
                "{data}"
            );
            serde_json::from_str::<serde_json::Value>(&split.1).expect("the arguments are JSON");
        }
        assert_eq!(
            split_json_event("[1]".to_owned()),
            Err(ParseError::InvalidPayload)
        );
        assert_eq!(
            split_json_event("{}".to_owned()),
            Err(ParseError::InvalidPayload)
        );
    }

    #[test]
    fn decodes_what_it_encodes() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let args =
                Payload::encode(parser, &("a", crate::Binary::from(vec![5]))).expect("encodes");
            let mut decoder = ClientDecoder::new(parser, 10);
            let mut decoded = None;
            for message in parser.event("/chat", "ev", Some(9), &args) {
                decoded = decoder.decode(message).expect("decodes");
            }
            let Some(Incoming::Event {
                namespace,
                id,
                event,
                args: got,
            }) = decoded
            else {
                panic!("an event, {parser:?}");
            };
            assert_eq!(
                (namespace.as_str(), id, event.as_str()),
                ("/chat", Some(9), "ev")
            );
            assert_eq!(got, args, "{parser:?}");
        }
    }
}
