//! Arguments in the forms the servers of a cluster exchange them, whichever parser encoded
//! them: one msgpack array as `notepack.io` writes it (what Node's Redis adapter publishes),
//! or one JSON array as `JSON.stringify` writes it (its requests and responses).

use bytes::Bytes;
use serde::de::DeserializeSeed;
use serde_json::Value;

use super::notepack::{self, Transcode};
use super::unpack::{self, BinaryAs};
use super::{DataError, Payload, Repr};
use crate::parser::Parser;

/// How deep arrays and maps may nest in the JSON text of a payload, the outer array
/// included: as deep as `serde_json` reads.
const JSON_MAX_DEPTH: usize = 127;

impl Payload {
    /// The arguments as one msgpack array, as notepack (the msgpack codec of Node's Redis
    /// adapter) encodes the same JavaScript values: integers in their smallest form, other
    /// numbers as float64, binary data as `bin`, maps with string keys, `null` as nil.
    ///
    /// Binary data of the JSON parser (its placeholders and attachments) becomes `bin` where
    /// its placeholder was; the msgpack parser's arguments are already msgpack and are
    /// returned as they are.
    ///
    /// ```
    /// use tidings::Parser;
    ///
    /// let payload = Parser::Json.payload_from_json(&serde_json::json!(["a", 300])).unwrap();
    /// assert_eq!(&payload.to_msgpack()[..], b"\x92\xa1a\xcd\x01\x2c");
    /// ```
    pub fn to_msgpack(&self) -> Bytes {
        match &self.0 {
            Repr::MsgPack(args) => args.clone(),
            Repr::Json { args, attachments } => {
                let mut out = Vec::with_capacity(args.len() + attachments.len() * 8);
                let mut deserializer = serde_json::Deserializer::from_str(args);
                let transcode = Transcode {
                    out: &mut out,
                    attachments,
                    depth: 0,
                };
                let done = transcode
                    .deserialize(&mut deserializer)
                    .and_then(|()| deserializer.end());
                // The server's payloads are JSON arrays; anything else has no arguments.
                match (done, out.first()) {
                    (Ok(()), Some(0x90..=0x9f | 0xdc | 0xdd)) => out.into(),
                    _ => Bytes::from_static(&[0x90]),
                }
            }
        }
    }

    /// The arguments as one JSON array, as `JSON.stringify` writes the same JavaScript
    /// values: binary data as Node's `Buffer` does, `{"type":"Buffer","data":[1,2,3]}`.
    ///
    /// A JSON object's keys come out sorted (`serde_json::Value` keeps no order). Arguments
    /// that JSON cannot hold (nested deeper than `serde_json` reads) come out as no argument.
    ///
    /// ```
    /// use serde_json::json;
    /// use tidings::Parser;
    ///
    /// let args = Parser::MsgPack.payload_from_msgpack(b"\x92\xa1a\xc4\x02\x01\x02").unwrap();
    /// assert_eq!(args.to_json(), json!(["a", {"type": "Buffer", "data": [1, 2]}]));
    /// ```
    pub fn to_json(&self) -> Value {
        let empty = || Value::Array(Vec::new());
        match &self.0 {
            Repr::Json { args, attachments } => match serde_json::from_str(args) {
                Ok(mut value @ Value::Array(_)) => {
                    buffers_for_placeholders(&mut value, attachments);
                    value
                }
                _ => empty(),
            },
            Repr::MsgPack(args) => {
                unpack::array_to_json(args, &mut BinaryAs::NodeBuffer, notepack::MAX_DEPTH)
                    .ok()
                    .and_then(|text| serde_json::from_str(&text).ok())
                    .unwrap_or_else(empty)
            }
        }
    }
}

impl Parser {
    /// Arguments for this parser from one msgpack array (as Node's Redis adapter sends
    /// them, encoded by notepack).
    ///
    /// For [`Parser::MsgPack`] the bytes are the payload, once checked. For
    /// [`Parser::Json`] they are read as JavaScript reads them and written as
    /// `JSON.stringify` would: `bin` becomes a placeholder and an attachment (numbered from
    /// 0, depth first), a timestamp its ISO-8601 string, other extensions, `NaN` and
    /// infinities `null`, notepack's `undefined` `null` in an array and nothing in a map,
    /// keys that are not strings strings (`1` is `"1"`), and 64-bit integers stay exact.
    ///
    /// ```
    /// use tidings::{Binary, Parser};
    ///
    /// let args = Parser::Json.payload_from_msgpack(b"\x92\xa1a\xc4\x02\x01\x02").unwrap();
    /// let (a, bytes): (String, Binary) = args.decode().unwrap();
    /// assert_eq!((a.as_str(), &bytes[..]), ("a", &[1, 2][..]));
    /// assert!(Parser::Json.payload_from_msgpack(b"\x92\xa1a").is_err());
    /// ```
    ///
    /// # Errors
    /// [`DataError`] when `args` is not exactly one well-formed msgpack array (truncated,
    /// bytes after it, another kind of value, a string that is not UTF-8, the reserved byte
    /// `c1`), or nests arrays and maps more than 128 deep (127 for the JSON parser, as deep
    /// as `serde_json` reads), the array included.
    pub fn payload_from_msgpack(self, args: &[u8]) -> Result<Payload, DataError> {
        match self {
            Parser::MsgPack => {
                unpack::check_array(args, notepack::MAX_DEPTH).map_err(DataError::new)?;
                Ok(Payload::from_msgpack(Bytes::copy_from_slice(args)))
            }
            Parser::Json => {
                let mut binary = BinaryAs::Placeholder(Vec::new());
                let text = unpack::array_to_json(args, &mut binary, JSON_MAX_DEPTH)
                    .map_err(DataError::new)?;
                let attachments = match binary {
                    BinaryAs::Placeholder(attachments) => attachments,
                    BinaryAs::NodeBuffer => Vec::new(),
                };
                Ok(Payload::from_json(text, attachments))
            }
        }
    }

    /// Arguments for this parser from one JSON array (as Node's Redis adapter sends them in
    /// its JSON requests and responses). JSON has no binary data, so neither has the
    /// payload; for [`Parser::MsgPack`] the values are encoded as notepack would.
    ///
    /// ```
    /// use serde_json::json;
    /// use tidings::Parser;
    ///
    /// let args = Parser::MsgPack.payload_from_json(&json!(["ping", 1])).unwrap();
    /// let (ping, one): (String, u8) = args.decode().unwrap();
    /// assert_eq!((ping.as_str(), one), ("ping", 1));
    /// assert!(Parser::Json.payload_from_json(&json!({"not": "an array"})).is_err());
    /// ```
    ///
    /// # Errors
    /// [`DataError`] when `args` is not an array, or nests arrays and objects more than 128
    /// deep (127 for the JSON parser), the array included.
    pub fn payload_from_json(self, args: &Value) -> Result<Payload, DataError> {
        if !args.is_array() {
            return Err(DataError::new("the arguments are not a JSON array"));
        }
        let too_deep = || DataError::new("the arguments nest too deep");
        match self {
            Parser::Json => {
                if !nests_within(args, JSON_MAX_DEPTH) {
                    return Err(too_deep());
                }
                let text = serde_json::to_string(args).map_err(DataError::new)?;
                Ok(Payload::from_json(text, Vec::new()))
            }
            Parser::MsgPack => {
                let mut out = Vec::new();
                let transcode = Transcode {
                    out: &mut out,
                    attachments: &[],
                    depth: 0,
                };
                transcode.deserialize(args).map_err(|_| too_deep())?;
                Ok(Payload::from_msgpack(out.into()))
            }
        }
    }
}

/// Whether arrays and objects nest at most `depth` deep in `value`.
fn nests_within(value: &Value, depth: usize) -> bool {
    let inner = |depth: usize| depth.checked_sub(1);
    match value {
        Value::Array(items) => {
            inner(depth).is_some_and(|depth| items.iter().all(|v| nests_within(v, depth)))
        }
        Value::Object(map) => {
            inner(depth).is_some_and(|depth| map.values().all(|v| nests_within(v, depth)))
        }
        _ => true,
    }
}

/// Replaces every placeholder in `value` that names one of `attachments` with that
/// attachment as Node's `Buffer#toJSON()` writes it.
fn buffers_for_placeholders(value: &mut Value, attachments: &[Bytes]) {
    match value {
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let attachment = map
                .get("num")
                .and_then(Value::as_u64)
                .and_then(|num| usize::try_from(num).ok())
                .and_then(|num| attachments.get(num));
            if let Some(attachment) = attachment {
                *value = serde_json::json!({"type": "Buffer", "data": &attachment[..]});
            }
        }
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| buffers_for_placeholders(v, attachments)),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| buffers_for_placeholders(v, attachments)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Binary;

    /// notepack's encoding of the arguments of
    /// `io.emit("hello", "world", 1, -2, 2.5, 300, 70000, 5000000000, true, null, {x: [1, "a"]},
    /// Buffer.from([1, 2, 3]))`, as Node's Redis adapter published it (PROTOCOL.md, A4).
    const CAPTURED: &[u8] = b"\x9c\xa5hello\xa5world\x01\xfe\xcb\x40\x04\0\0\0\0\0\0\xcd\x01\x2c\
        \xce\x00\x01\x11\x70\xcf\x00\x00\x00\x01\x2a\x05\xf2\x00\xc3\xc0\x81\xa1x\x92\x01\xa1a\
        \xc4\x03\x01\x02\x03";

    fn captured_json() -> Value {
        json!([
            "hello",
            "world",
            1,
            -2,
            2.5,
            300,
            70000,
            5_000_000_000_u64,
            true,
            null,
            {"x": [1, "a"]},
            {"type": "Buffer", "data": [1, 2, 3]}
        ])
    }

    /// The captured values as a Rust emitter sends them.
    type Captured = (
        String,
        String,
        u8,
        i8,
        f64,
        u16,
        u32,
        u64,
        bool,
        Option<u8>,
        serde_json::Map<String, Value>,
        Binary,
    );

    fn captured_values() -> Captured {
        let x = json!({"x": [1, "a"]});
        let Value::Object(x) = x else {
            unreachable!("an object");
        };
        (
            "hello".into(),
            "world".into(),
            1,
            -2,
            2.5,
            300,
            70000,
            5_000_000_000,
            true,
            None,
            x,
            Binary::from(vec![1, 2, 3]),
        )
    }

    #[test]
    fn reads_and_writes_the_captured_node_broadcast() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let payload = parser.payload_from_msgpack(CAPTURED).expect("decodes");
            assert_eq!(payload.to_json(), captured_json(), "{parser:?}");
            assert_eq!(
                payload.decode::<Captured>().expect("fits"),
                captured_values()
            );
            assert_eq!(payload.attachments(), [Bytes::from_static(&[1, 2, 3])]);
            assert_eq!(&payload.to_msgpack()[..], CAPTURED, "{parser:?}");

            // Encoded from Rust values, the bytes are notepack's too.
            let encoded = Payload::encode(parser, &captured_values()).expect("encodes");
            assert_eq!(&encoded.to_msgpack()[..], CAPTURED, "{parser:?}");
        }
        let json = Parser::Json
            .payload_from_msgpack(CAPTURED)
            .expect("decodes");
        let (text, attachments) = json.as_json().expect("JSON");
        assert_eq!(
            text,
            r#"["hello","world",1,-2,2.5,300,70000,5000000000,true,null,{"x":[1,"a"]},{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[1, 2, 3])]);
    }

    #[test]
    fn round_trips_through_msgpack() {
        #[derive(serde::Serialize)]
        struct File {
            name: &'static str,
            parts: Vec<Binary>,
            size: i64,
        }
        let file = File {
            name: "f",
            parts: vec![Binary::from(vec![1]), Binary::from(vec![2, 3])],
            size: -70000,
        };
        let cases: [&dyn erased::Data; 5] = [
            &(),
            &("a", 1.5, u64::MAX, i64::MIN),
            &(
                Binary::from(vec![9]),
                &file,
                Binary::from(vec![]),
                json!({"k": null}),
            ),
            &json!({"nested": [[[{"_placeholder": false, "num": 0}]]]}),
            &vec!["x".repeat(40), "é".repeat(200)],
        ];
        for data in cases {
            for parser in [Parser::Json, Parser::MsgPack] {
                let original = data.encode(parser);
                let msgpack = original.to_msgpack();
                for target in [Parser::Json, Parser::MsgPack] {
                    let back = target.payload_from_msgpack(&msgpack).expect("decodes");
                    assert_eq!(
                        back.to_json(),
                        original.to_json(),
                        "{parser:?} → {target:?}"
                    );
                    assert_eq!(back.attachments(), original.attachments());
                    assert_eq!(back.to_msgpack(), msgpack, "{parser:?} → {target:?}");
                    if target == parser {
                        assert_eq!(back, original, "{parser:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn round_trips_through_json() {
        let cases = [
            json!([]),
            json!(["ping", 1, "two", {"three": 3}]),
            json!([null, -1, 2.5, u64::MAX, i64::MIN, [[]], {"a": {"b": "c"}}]),
        ];
        for args in cases {
            for parser in [Parser::Json, Parser::MsgPack] {
                let payload = parser.payload_from_json(&args).expect("an array");
                assert_eq!(payload.to_json(), args, "{parser:?}");
                assert!(payload.decode::<Value>().is_ok());
                let other = Parser::MsgPack.payload_from_msgpack(&payload.to_msgpack());
                assert_eq!(other.expect("decodes").to_json(), args, "{parser:?}");
            }
        }
        for not_array in [json!(null), json!({}), json!("a"), json!(1)] {
            for parser in [Parser::Json, Parser::MsgPack] {
                assert!(parser.payload_from_json(&not_array).is_err());
            }
        }
    }

    #[test]
    fn writes_binary_as_node_buffers_in_json() {
        let payload = Payload::encode(
            Parser::Json,
            &(json!({"a": 1}), vec![Binary::from(vec![0, 255])]),
        )
        .expect("encodes");
        assert_eq!(
            payload.to_json(),
            json!([{"a": 1}, [{"type": "Buffer", "data": [0, 255]}]])
        );
        // A placeholder that names no attachment stays as it is.
        let odd = Payload::from_json(r#"[{"_placeholder":true,"num":3}]"#.into(), Vec::new());
        assert_eq!(odd.to_json(), json!([{"_placeholder": true, "num": 3}]));
        assert_eq!(
            &odd.to_msgpack()[..],
            b"\x91\x82\xac_placeholder\xc3\xa3num\x03"
        );
    }

    #[test]
    fn refuses_what_is_not_one_array() {
        let cases: [&[u8]; 7] = [
            b"",
            b"\x01",
            b"\x80",
            b"\x90\x90",
            b"\x92\x01",
            b"\x91\xc1",
            b"\xdd\xff\xff\xff\xff",
        ];
        for bytes in cases {
            for parser in [Parser::Json, Parser::MsgPack] {
                assert!(parser.payload_from_msgpack(bytes).is_err(), "{bytes:x?}");
            }
        }
    }

    #[test]
    fn bounds_the_nesting() {
        let nested = |depth: usize| {
            let mut bytes = vec![0x91; depth - 1];
            bytes.push(0x90);
            bytes
        };
        let depth_of = |parser: Parser| {
            (1..=130).take_while(move |&d| parser.payload_from_msgpack(&nested(d)).is_ok())
        };
        assert_eq!(depth_of(Parser::Json).last(), Some(JSON_MAX_DEPTH));
        assert_eq!(depth_of(Parser::MsgPack).last(), Some(notepack::MAX_DEPTH));
        // What the JSON parser accepts, serde_json reads back.
        let deepest = Parser::Json
            .payload_from_msgpack(&nested(JSON_MAX_DEPTH))
            .expect("decodes");
        assert!(deepest.decode::<Value>().is_ok());
        assert!(
            Parser::Json
                .payload_from_msgpack(&nested(1_000_000))
                .is_err()
        );

        let mut value = json!([]);
        for _ in 1..JSON_MAX_DEPTH {
            value = json!([value]);
        }
        assert!(Parser::Json.payload_from_json(&value).is_ok());
        assert!(Parser::MsgPack.payload_from_json(&value).is_ok());
        let value = json!([value]);
        assert!(Parser::Json.payload_from_json(&value).is_err());
        assert!(Parser::MsgPack.payload_from_json(&value).is_ok());
        let value = json!([value]);
        assert!(Parser::MsgPack.payload_from_json(&value).is_err());
    }

    #[test]
    fn arbitrary_bytes_give_a_payload_or_an_error() {
        // Deterministic noise.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        const MARKERS: [u8; 16] = [
            0x91, 0x92, 0x81, 0xdc, 0xde, 0xc4, 0xc7, 0xd4, 0xd6, 0xd7, 0xff, 0x00, 0xa1, 0xcb,
            0xc1, 0xdd,
        ];
        let seeds: [&[u8]; 4] = [
            CAPTURED,
            b"\x93\xc4\x01\x07\x82\xa1a\xc4\x00\x01\x92\xd4\x00\x00\xd6\xff\0\0\0\x01",
            b"\x92\x81\x92\x01\xc4\x01\x02\xc7\x01\x00\x09\xd7\x00\0\0\0\0\0\0\0\x01",
            b"\x90",
        ];
        let (mut json, mut msgpack, mut binary) = (0, 0, 0);
        for _ in 0..50_000 {
            // A valid array with a few bytes changed, added, removed or cut off.
            let mut bytes = seeds[next(seeds.len())].to_vec();
            for _ in 0..=next(3) {
                let at = next(bytes.len() + 1);
                let byte = match next(2) {
                    0 => MARKERS[next(MARKERS.len())],
                    _ => next(256) as u8,
                };
                match next(4) {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    2 if at < bytes.len() => drop(bytes.remove(at)),
                    _ => bytes.truncate(at.max(1)),
                }
            }
            if let Ok(payload) = Parser::Json.payload_from_msgpack(&bytes) {
                json += 1;
                binary += usize::from(!payload.attachments().is_empty());
                assert!(payload.decode::<Value>().is_ok(), "{bytes:x?}");
                // (Equal but for the last bit of some floats: serde_json reads a few
                // numbers one unit off without its `float_roundtrip` feature.)
                let again = Parser::Json.payload_from_msgpack(&payload.to_msgpack());
                assert!(again.is_ok(), "{bytes:x?}");
            }
            if let Ok(payload) = Parser::MsgPack.payload_from_msgpack(&bytes) {
                msgpack += 1;
                assert_eq!(&payload.to_msgpack()[..], &bytes[..]);
                let _ = payload.to_json();
            }
        }
        // The noise reaches past the checks.
        assert!(
            json > 5_000 && msgpack > 5_000 && binary > 1_000,
            "{json} {msgpack} {binary}"
        );
    }

    /// Object-safe encoding, for the tables above.
    mod erased {
        use super::*;

        pub(super) trait Data {
            fn encode(&self, parser: Parser) -> Payload;
        }

        impl<T: serde::Serialize> Data for T {
            fn encode(&self, parser: Parser) -> Payload {
                Payload::encode(parser, self).expect("encodes")
            }
        }
    }
}
