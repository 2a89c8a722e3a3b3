//! [`Payload`]: the arguments of an event or an ack, encoded for the server's parser.
//!
//! Arguments are encoded once, when they are emitted or received, and read into Rust types
//! only when a handler asks for them. A broadcast encodes its arguments once for every
//! recipient.

mod binary;
pub(crate) mod date;
mod notepack;
mod shape;
mod unpack;
mod wire;

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeTuple, Serializer};
use serde_json::value::RawValue;

pub use self::binary::Binary;
use self::binary::{Context, with_context};
pub(crate) use self::shape::{Shape, shape};
use crate::parser::Parser;

/// The arguments of an event or an ack, as the server's parser encodes them.
///
/// A handler gets it as an extractor to read arguments whose types it does not know in
/// advance, or to send them on unchanged: a `Payload` serializes as its arguments, binary
/// data included, so `socket.emit("echo", &payload)` sends the same arguments back.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    /// A JSON array of the arguments, with placeholders for the attachments.
    Json {
        args: String,
        attachments: Vec<Bytes>,
    },
    /// A msgpack array of the arguments.
    MsgPack(Bytes),
}

/// The arguments could not be read as the type asked for.
#[derive(Debug, thiserror::Error)]
#[error("the arguments do not fit the type asked for: {0}")]
pub struct DataError(String);

impl DataError {
    pub(crate) fn new(error: impl fmt::Display) -> DataError {
        DataError(error.to_string())
    }
}

/// A value could not be serialized (a map with keys that are not strings, a `Serialize` impl
/// that failed, …).
#[derive(Debug, thiserror::Error)]
#[error("the data could not be serialized: {0}")]
pub struct SerializeError(String);

impl Payload {
    /// Encodes `data` as arguments: a tuple is one argument per element, `()` is no
    /// argument, and any other value is one argument. (Serde serializes fixed-size arrays as
    /// tuples: send a slice or a `Vec` to send one array.)
    pub(crate) fn encode<T: Serialize + ?Sized>(
        parser: Parser,
        data: &T,
    ) -> Result<Payload, SerializeError> {
        let shape = shape(data);
        match parser {
            Parser::Json => {
                let (text, context) = with_context(Context::JsonEncode(Vec::new()), || {
                    serde_json::to_string(data)
                });
                let text = text.map_err(|e| SerializeError(e.to_string()))?;
                let Context::JsonEncode(attachments) = context else {
                    unreachable!("with_context hands back the context it was given");
                };
                let args = match shape {
                    Shape::Unit => "[]".to_owned(),
                    Shape::Tuple => text,
                    Shape::One => format!("[{text}]"),
                };
                Ok(Payload(Repr::Json { args, attachments }))
            }
            Parser::MsgPack => {
                let (bytes, _) = with_context(Context::MsgPack, || rmp_serde::to_vec_named(data));
                let bytes = bytes.map_err(|e| SerializeError(e.to_string()))?;
                let args = match shape {
                    Shape::Unit => vec![0x90],
                    Shape::Tuple => bytes,
                    Shape::One => {
                        let mut args = Vec::with_capacity(bytes.len() + 1);
                        args.push(0x91);
                        args.extend_from_slice(&bytes);
                        args
                    }
                };
                Ok(Payload(Repr::MsgPack(args.into())))
            }
        }
    }

    /// Arguments the JSON parser received: a JSON array and its attachments.
    pub(crate) fn from_json(args: String, attachments: Vec<Bytes>) -> Payload {
        Payload(Repr::Json { args, attachments })
    }

    /// Arguments the msgpack parser received: a msgpack array.
    pub(crate) fn from_msgpack(args: Bytes) -> Payload {
        Payload(Repr::MsgPack(args))
    }

    /// The JSON array and its attachments, for the JSON parser.
    pub(crate) fn as_json(&self) -> Option<(&str, &[Bytes])> {
        match &self.0 {
            Repr::Json { args, attachments } => Some((args, attachments)),
            Repr::MsgPack(_) => None,
        }
    }

    /// The msgpack array, for the msgpack parser.
    pub(crate) fn as_msgpack(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Json { .. } => None,
            Repr::MsgPack(args) => Some(args),
        }
    }

    /// Reads the arguments as a `T`: a single argument is read as `T` itself, several as a
    /// sequence (a tuple or a `Vec`), and none as `null` (so `Option<T>` and `()` fit).
    ///
    /// # Errors
    /// [`DataError`] when the arguments do not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        match &self.0 {
            Repr::Json { args, attachments } => {
                let (result, _) = with_context(Context::JsonDecode(attachments.clone()), || {
                    // One pass for the usual single argument; the general rule when it fails.
                    if let Ok(Some(one)) = single_json_arg(args) {
                        return Ok(one);
                    }
                    let items: Vec<&RawValue> = serde_json::from_str(args)?;
                    match items.as_slice() {
                        [] => serde_json::from_str("null"),
                        [one] => serde_json::from_str(one.get()),
                        _ => serde_json::from_str(args),
                    }
                });
                result.map_err(|e| DataError(e.to_string()))
            }
            Repr::MsgPack(args) => {
                let (result, _) = with_context(Context::MsgPack, || {
                    let mut rest = &args[..];
                    match rmp::decode::read_array_len(&mut rest) {
                        Ok(0) => rmp_serde::from_slice(&[0xc0]),
                        Ok(1) => rmp_serde::from_slice(rest),
                        _ => rmp_serde::from_slice(args),
                    }
                });
                result.map_err(|e| DataError(e.to_string()))
            }
        }
    }

    /// The binary data in the arguments, in order.
    pub fn attachments(&self) -> Vec<Bytes> {
        match &self.0 {
            Repr::Json { attachments, .. } => attachments.clone(),
            Repr::MsgPack(args) => {
                let mut found = Vec::new();
                if let Ok(value) = rmpv::decode::read_value_ref(&mut &args[..]) {
                    collect_binary(&value, &mut found);
                }
                found
            }
        }
    }

    /// The arguments with `text` added as one more, the last.
    pub(crate) fn with_string(&self, text: &str) -> Payload {
        match &self.0 {
            Repr::Json { args, attachments } => {
                let quoted = serde_json::to_string(text).expect("a string serializes");
                let mut extended = String::with_capacity(args.len() + quoted.len() + 1);
                let inner = args.trim_end().strip_suffix(']').unwrap_or(args).trim_end();
                extended.push_str(inner);
                if !inner.ends_with('[') {
                    extended.push(',');
                }
                extended.push_str(&quoted);
                extended.push(']');
                Payload(Repr::Json {
                    args: extended,
                    attachments: attachments.clone(),
                })
            }
            Repr::MsgPack(args) => {
                let mut rest = &args[..];
                let len = rmp::decode::read_array_len(&mut rest).unwrap_or(0);
                let mut extended = Vec::with_capacity(args.len() + text.len() + 10);
                rmp::encode::write_array_len(&mut extended, len + 1).expect("Vec");
                extended.extend_from_slice(rest);
                rmp::encode::write_str(&mut extended, text).expect("Vec");
                Payload(Repr::MsgPack(extended.into()))
            }
        }
    }

    /// The arguments as a msgpack value tree, to serialize them through serde.
    fn msgpack_values(args: &[u8]) -> Vec<rmpv::Value> {
        match rmpv::decode::read_value(&mut &args[..]) {
            Ok(rmpv::Value::Array(values)) => values,
            _ => Vec::new(),
        }
    }
}

impl Parser {
    /// No arguments.
    pub(crate) fn empty(self) -> Payload {
        match self {
            Parser::Json => Payload::from_json("[]".to_owned(), Vec::new()),
            Parser::MsgPack => Payload::from_msgpack(Bytes::from_static(&[0x90])),
        }
    }
}

/// Reads a JSON array of exactly one argument as a `T` in one pass; `None` when the array has
/// no argument or several.
fn single_json_arg<T: DeserializeOwned>(args: &str) -> serde_json::Result<Option<T>> {
    struct Single<T>(std::marker::PhantomData<T>);

    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Single<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of arguments")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Option<T>, A::Error> {
            let Some(first) = seq.next_element::<T>()? else {
                return Ok(None);
            };
            let more = seq.next_element::<serde::de::IgnoredAny>()?.is_some();
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok((!more).then_some(first))
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(args);
    let value =
        serde::Deserializer::deserialize_seq(&mut deserializer, Single(std::marker::PhantomData))?;
    deserializer.end()?;
    Ok(value)
}

/// Adds every `bin` value in `value` to `found`, depth first.
fn collect_binary(value: &rmpv::ValueRef<'_>, found: &mut Vec<Bytes>) {
    match value {
        rmpv::ValueRef::Binary(bytes) => found.push(Bytes::copy_from_slice(bytes)),
        rmpv::ValueRef::Array(items) => items.iter().for_each(|v| collect_binary(v, found)),
        rmpv::ValueRef::Map(entries) => entries.iter().for_each(|(k, v)| {
            collect_binary(k, found);
            collect_binary(v, found);
        }),
        _ => {}
    }
}

impl fmt::Debug for Payload {
    // Arguments can be large or private: show their size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Json { args, attachments } => f
                .debug_struct("Payload")
                .field("json_len", &args.len())
                .field("attachments", &attachments.len())
                .finish(),
            Repr::MsgPack(args) => f
                .debug_struct("Payload")
                .field("msgpack_len", &args.len())
                .finish(),
        }
    }
}

impl Serialize for Payload {
    /// Serializes as a tuple of the arguments, so that emitting a payload sends the same
    /// arguments. Binary data stays binary when the payload is emitted with the parser it
    /// came with.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Json { args, attachments } => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(args).map_err(serde::ser::Error::custom)?;
                // The placeholders count from the first attachment of the value being
                // encoded: they stay valid when this payload's are the first ones.
                let offset = binary::append_attachments(attachments);
                let mut tuple = serializer.serialize_tuple(items.len())?;
                for item in items {
                    match offset {
                        Some(0) | None => tuple.serialize_element(item)?,
                        Some(offset) => {
                            let mut value: serde_json::Value = serde_json::from_str(item.get())
                                .map_err(serde::ser::Error::custom)?;
                            binary::shift_placeholders(&mut value, offset);
                            tuple.serialize_element(&value)?;
                        }
                    }
                }
                tuple.end()
            }
            Repr::MsgPack(args) => {
                let values = Payload::msgpack_values(args);
                let mut tuple = serializer.serialize_tuple(values.len())?;
                for value in &values {
                    tuple.serialize_element(&binary::MsgPackValue(value))?;
                }
                tuple.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        name: String,
        content: Binary,
    }

    fn file() -> File {
        File {
            name: "a".into(),
            content: Binary::from(vec![1, 2]),
        }
    }

    #[test]
    fn adds_a_string_as_the_last_argument_with_both_parsers() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let cases: [(&dyn erased::Data, serde_json::Value); 3] = [
                (&(), serde_json::json!("7")),
                (&"a", serde_json::json!(["a", "7"])),
                (&("a", 1), serde_json::json!(["a", 1, "7"])),
            ];
            for (data, expected) in cases {
                let extended = data.encode(parser).with_string("7");
                let value: serde_json::Value = extended.decode().expect("decodes");
                assert_eq!(value, expected, "{parser:?}");
            }
            let file = Payload::encode(parser, &file()).expect("encodes");
            let (read, offset): (File, String) = file.with_string("7").decode().expect("decodes");
            assert_eq!((read, offset.as_str()), (super::tests::file(), "7"));
        }
    }

    #[test]
    fn spreads_tuples_into_arguments() {
        let json = |data: &dyn erased::Data| match data.encode(Parser::Json).0 {
            Repr::Json { args, .. } => args,
            Repr::MsgPack(_) => unreachable!(),
        };
        assert_eq!(json(&()), "[]");
        assert_eq!(json(&("a", 1)), r#"["a",1]"#);
        assert_eq!(json(&vec![1, 2]), "[[1,2]]");
        assert_eq!(json(&"a"), r#"["a"]"#);
    }

    #[test]
    fn reads_back_what_it_encodes_with_both_parsers() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let payload = Payload::encode(parser, &file()).expect("encodes");
            assert_eq!(payload.decode::<File>().expect("decodes"), file());
            assert_eq!(payload.attachments(), [Bytes::from(vec![1, 2])]);

            let payload = Payload::encode(parser, &("x", 2, file())).expect("encodes");
            let (x, two, f): (String, u8, File) = payload.decode().expect("decodes");
            assert_eq!((x.as_str(), two, f), ("x", 2, file()));
            assert!(payload.decode::<File>().is_err());

            let payload = Payload::encode(parser, &()).expect("encodes");
            assert_eq!(payload.decode::<Option<u8>>().expect("decodes"), None);
        }
    }

    #[test]
    fn a_payload_serializes_as_its_arguments() {
        for parser in [Parser::Json, Parser::MsgPack] {
            let original = Payload::encode(parser, &(file(), 3)).expect("encodes");
            let again = Payload::encode(parser, &original).expect("encodes");
            assert_eq!(again, original, "{parser:?}");
            // After other binary data, the placeholders are renumbered.
            let nested =
                Payload::encode(parser, &(Binary::from(vec![9]), &original)).expect("encodes");
            let (nine, (f, three)): (Binary, (File, u8)) = nested.decode().expect("decodes");
            assert_eq!((&nine[..], f, three), (&[9][..], file(), 3));
        }
    }

    /// Object-safe encoding, for the table above.
    mod erased {
        use super::*;

        pub(super) trait Data {
            fn encode(&self, parser: Parser) -> Payload;
        }

        impl<T: Serialize> Data for T {
            fn encode(&self, parser: Parser) -> Payload {
                Payload::encode(parser, self).expect("encodes")
            }
        }
    }
}
