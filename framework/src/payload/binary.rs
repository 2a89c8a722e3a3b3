//! [`Binary`]: bytes that travel as binary, not as an array of numbers.
//!
//! Serde has no binary type of its own, and JSON has none at all, so the parsers need help to
//! tell binary data apart: while a [`Payload`](super::Payload) is being encoded or decoded, a
//! thread-local context says which parser is at work. With the JSON parser a `Binary`
//! becomes a placeholder `{"_placeholder":true,"num":N}` and its bytes an attachment; with
//! msgpack it is a `bin` value. Outside that context it serializes as plain serde bytes.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Binary data in an event's arguments: a `Buffer`, `ArrayBuffer` or typed array on the
/// JavaScript side.
///
/// Use it in place of `Vec<u8>` or [`Bytes`] in the types you send and receive, which serde
/// would turn into arrays of numbers. Cloning it is a reference-count bump.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tidings::Binary;
///
/// #[derive(Serialize, Deserialize)]
/// struct Upload {
///     name: String,
///     content: Binary,
/// }
///
/// let upload = Upload { name: "a.png".into(), content: Binary::from(vec![0x89, b'P']) };
/// assert_eq!(&upload.content[..], &[0x89, b'P']);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Bytes);

impl Binary {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Binary {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl fmt::Debug for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Binary({} bytes)", self.0.len())
    }
}

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Self {
        Binary(bytes)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Binary(bytes.into())
    }
}

impl From<&'static [u8]> for Binary {
    fn from(bytes: &'static [u8]) -> Self {
        Binary(Bytes::from_static(bytes))
    }
}

impl From<Binary> for Bytes {
    fn from(binary: Binary) -> Self {
        binary.0
    }
}

/// What the parser at work on this thread does with binary data.
#[derive(Debug, Default)]
pub(crate) enum Context {
    /// No parser: plain serde bytes.
    #[default]
    None,
    /// The JSON parser is encoding: placeholders out, attachments collected here.
    JsonEncode(Vec<Bytes>),
    /// The JSON parser is decoding: placeholders in, naming these attachments.
    JsonDecode(Vec<Bytes>),
    /// The msgpack parser is at work: binary data is native.
    MsgPack,
}

thread_local! {
    static CONTEXT: RefCell<Context> = const { RefCell::new(Context::None) };
}

/// Runs `f` with `context` in place, and returns what `f` returned with the context as `f`
/// left it (the attachments an encoding collected). The previous context comes back after,
/// even if `f` panics.
pub(crate) fn with_context<R>(context: Context, f: impl FnOnce() -> R) -> (R, Context) {
    struct Restore(Option<Context>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                CONTEXT.with(|c| *c.borrow_mut() = previous);
            }
        }
    }
    let previous = CONTEXT.with(|c| c.replace(context));
    let mut restore = Restore(Some(previous));
    let result = f();
    let previous = restore.0.take().expect("restored once");
    let ours = CONTEXT.with(|c| c.replace(previous));
    (result, ours)
}

/// Adds the attachments of an already-encoded JSON payload to the ones being collected, and
/// returns the number of the first (by which its placeholders must be shifted); `None` when
/// the JSON parser is not encoding.
pub(crate) fn append_attachments(attachments: &[Bytes]) -> Option<usize> {
    CONTEXT.with(|c| match &mut *c.borrow_mut() {
        Context::JsonEncode(collected) => {
            let offset = collected.len();
            collected.extend_from_slice(attachments);
            Some(offset)
        }
        _ => None,
    })
}

/// Adds `offset` to the number of every placeholder in `value`.
pub(crate) fn shift_placeholders(value: &mut serde_json::Value, offset: usize) {
    match value {
        serde_json::Value::Object(map) if map.get(PLACEHOLDER) == Some(&true.into()) => {
            if let Some(num) = map.get("num").and_then(serde_json::Value::as_u64) {
                map.insert("num".into(), (num + offset as u64).into());
            }
        }
        serde_json::Value::Object(map) => {
            map.values_mut().for_each(|v| shift_placeholders(v, offset))
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| shift_placeholders(v, offset))
        }
        _ => {}
    }
}

/// Serializes a msgpack value through serde, its binary data as [`Binary`].
pub(crate) struct MsgPackValue<'a>(pub(crate) &'a rmpv::Value);

impl Serialize for MsgPackValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.0 {
            rmpv::Value::Nil => serializer.serialize_unit(),
            rmpv::Value::Boolean(b) => serializer.serialize_bool(*b),
            rmpv::Value::Integer(n) => match (n.as_u64(), n.as_i64()) {
                (Some(n), _) => serializer.serialize_u64(n),
                (None, Some(n)) => serializer.serialize_i64(n),
                (None, None) => serializer.serialize_unit(),
            },
            rmpv::Value::F32(n) => serializer.serialize_f32(*n),
            rmpv::Value::F64(n) => serializer.serialize_f64(*n),
            rmpv::Value::String(s) => match s.as_str() {
                Some(s) => serializer.serialize_str(s),
                None => serializer.serialize_bytes(s.as_bytes()),
            },
            rmpv::Value::Binary(bytes) => Binary::from(bytes.clone()).serialize(serializer),
            rmpv::Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&MsgPackValue(item))?;
                }
                seq.end()
            }
            rmpv::Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(&MsgPackValue(key), &MsgPackValue(value))?;
                }
                map.end()
            }
            rmpv::Value::Ext(_, bytes) => serializer.serialize_bytes(bytes),
        }
    }
}

/// The key a placeholder object is recognised by.
const PLACEHOLDER: &str = "_placeholder";

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let num = CONTEXT.with(|c| match &mut *c.borrow_mut() {
            Context::JsonEncode(attachments) => {
                attachments.push(self.0.clone());
                Some(attachments.len() - 1)
            }
            _ => None,
        });
        match num {
            Some(num) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry(PLACEHOLDER, &true)?;
                map.serialize_entry("num", &num)?;
                map.end()
            }
            None => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("binary data")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(bytes)))
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(bytes.into()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Binary(bytes.into()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Binary, A::Error> {
        let (mut placeholder, mut num) = (false, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                PLACEHOLDER => placeholder = map.next_value()?,
                "num" => num = Some(map.next_value::<usize>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let num = num
            .filter(|_| placeholder)
            .ok_or_else(|| de::Error::custom("expected binary data or a placeholder"))?;
        CONTEXT
            .with(|c| match &*c.borrow() {
                Context::JsonDecode(attachments) => attachments.get(num).cloned(),
                _ => None,
            })
            .map(Binary)
            .ok_or_else(|| de::Error::custom("a placeholder names no attachment"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_placeholder_while_the_json_parser_encodes() {
        let value = (Binary::from(vec![1]), Binary::from(vec![2]));
        let (text, context) = with_context(Context::JsonEncode(Vec::new()), || {
            serde_json::to_string(&value).expect("serializes")
        });
        assert_eq!(
            text,
            r#"[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
        );
        let Context::JsonEncode(attachments) = context else {
            panic!("context changed kind");
        };
        assert_eq!(attachments, [Bytes::from(vec![1]), Bytes::from(vec![2])]);
        assert_eq!(
            serde_json::to_string(&Binary::from(vec![7])).expect("serializes"),
            "[7]"
        );
    }

    #[test]
    fn reads_placeholders_while_the_json_parser_decodes() {
        let attachments = vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")];
        let text = r#"[{"_placeholder":true,"num":1},{"num":0,"_placeholder":true}]"#;
        let (decoded, _) = with_context(Context::JsonDecode(attachments), || {
            serde_json::from_str::<(Binary, Binary)>(text)
        });
        let (b, a) = decoded.expect("placeholders resolve");
        assert_eq!((&a[..], &b[..]), (&b"a"[..], &b"b"[..]));

        let (missing, _) = with_context(Context::JsonDecode(Vec::new()), || {
            serde_json::from_str::<Binary>(r#"{"_placeholder":true,"num":0}"#)
        });
        assert!(missing.is_err());
        assert!(serde_json::from_str::<Binary>(r#"{"num":0}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Binary>("[1,2]").expect("array of bytes"),
            Binary::from(vec![1, 2])
        );
    }

    #[test]
    fn restores_the_previous_context_after_a_panic() {
        let outcome = std::panic::catch_unwind(|| {
            with_context(Context::MsgPack, || panic!("inside"));
        });
        assert!(outcome.is_err());
        assert!(CONTEXT.with(|c| matches!(*c.borrow(), Context::None)));
    }
}
