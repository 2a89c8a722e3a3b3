//! MessagePack written the way the npm package `notepack.io` writes JavaScript values, with
//! the writers of [`crate::msgpack`]: integers in their smallest form, other numbers as
//! float64, strings and binary data with their smallest header, and maps with string keys.
//!
//! [`Transcode`] reads JSON through serde (JSON text, or a `serde_json::Value`) and writes it
//! as msgpack, turning the placeholders of the JSON parser into `bin` values.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::msgpack::{
    Item, array_header, item, map_header, write_bin, write_bool, write_f64, write_int, write_nil,
    write_str, write_uint,
};

/// How deep arrays and maps may nest, the outermost included.
pub(crate) const MAX_DEPTH: usize = 128;

/// Reads a JSON value through serde and appends it to `out` as msgpack. A map that is a
/// placeholder of the JSON parser (`_placeholder` is `true` and `num` names one of
/// `attachments`) becomes that attachment as `bin`.
pub(crate) struct Transcode<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) attachments: &'a [Bytes],
    /// How many arrays and maps are open around the value.
    pub(crate) depth: usize,
}

impl Transcode<'_> {
    fn nested(&mut self) -> Transcode<'_> {
        Transcode {
            out: self.out,
            attachments: self.attachments,
            depth: self.depth + 1,
        }
    }

    fn open<E: de::Error>(&self) -> Result<(), E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom("arrays and maps nest too deep"));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Transcode<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        write_bool(self.out, value);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        write_int(self.out, value);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        write_uint(self.out, value);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        write_f64(self.out, value);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        write_str(self.out, value);
        Ok(())
    }

    fn visit_bytes<E: de::Error>(self, value: &[u8]) -> Result<(), E> {
        write_bin(self.out, value);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        write_nil(self.out);
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.open()?;
        let start = self.out.len();
        let mut len = 0_usize;
        while seq.next_element_seed(self.nested())?.is_some() {
            len += 1;
        }
        self.out.splice(start..start, array_header(len));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.open()?;
        let start = self.out.len();
        let (mut len, mut placeholder, mut num) = (0_usize, false, None);
        while let Some(key) = map.next_key_seed(Key(self.out))? {
            let value = self.out.len();
            map.next_value_seed(self.nested())?;
            let value = &self.out[value..];
            match key {
                KeyKind::Placeholder => placeholder = value == [0xc3],
                KeyKind::Num => num = read_uint(value),
                KeyKind::Other => {}
            }
            len += 1;
        }
        let attachment = num
            .filter(|_| placeholder)
            .and_then(|num| usize::try_from(num).ok())
            .and_then(|num| self.attachments.get(num));
        match attachment {
            Some(attachment) => {
                self.out.truncate(start);
                write_bin(self.out, attachment);
            }
            None => {
                self.out.splice(start..start, map_header(len));
            }
        }
        Ok(())
    }
}

/// What a map key is to the placeholder check.
#[derive(Clone, Copy)]
enum KeyKind {
    Placeholder,
    Num,
    Other,
}

/// Writes a map key, which must be a string.
struct Key<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = KeyKind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<KeyKind, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = KeyKind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyKind, E> {
        write_str(self.0, key);
        Ok(match key {
            "_placeholder" => KeyKind::Placeholder,
            "num" => KeyKind::Num,
            _ => KeyKind::Other,
        })
    }
}

/// The unsigned integer `bytes` encodes exactly, in any width.
fn read_uint(bytes: &[u8]) -> Option<u64> {
    match item(bytes, 0) {
        Some((Item::Uint(value), end)) if end == bytes.len() => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcodes_json_with_placeholders() {
        let attachments = [Bytes::from_static(&[1, 2, 3])];
        // (JSON, msgpack)
        let cases: [(&str, &[u8]); 7] = [
            (r#"{"x":[1,"a"]}"#, b"\x81\xa1x\x92\x01\xa1a"),
            (r#"{"_placeholder":true,"num":0}"#, b"\xc4\x03\x01\x02\x03"),
            (r#"{"num":0,"_placeholder":true}"#, b"\xc4\x03\x01\x02\x03"),
            // Not placeholders: no such attachment, not `true`, or no number.
            (
                r#"{"_placeholder":true,"num":1}"#,
                b"\x82\xac_placeholder\xc3\xa3num\x01",
            ),
            (
                r#"{"_placeholder":1,"num":0}"#,
                b"\x82\xac_placeholder\x01\xa3num\x00",
            ),
            (r#"{"_placeholder":true}"#, b"\x81\xac_placeholder\xc3"),
            (
                r#"[null,false,-1.5,1e3]"#,
                b"\x94\xc0\xc2\xcb\xbf\xf8\0\0\0\0\0\0\xcd\x03\xe8",
            ),
        ];
        for (json, msgpack) in cases {
            let mut out = Vec::new();
            let mut deserializer = serde_json::Deserializer::from_str(json);
            let transcode = Transcode {
                out: &mut out,
                attachments: &attachments,
                depth: 0,
            };
            transcode
                .deserialize(&mut deserializer)
                .expect("transcodes");
            assert_eq!(out, msgpack, "{json}");
        }
    }

    #[test]
    fn refuses_values_nested_too_deep() {
        let mut value = serde_json::Value::Null;
        for _ in 0..MAX_DEPTH {
            value = serde_json::Value::Array(vec![value]);
        }
        let mut out = Vec::new();
        let transcode = |out: &mut Vec<u8>, value: &serde_json::Value| {
            let transcode = Transcode {
                out,
                attachments: &[],
                depth: 0,
            };
            transcode.deserialize(value).is_ok()
        };
        assert!(transcode(&mut out, &value));
        assert!(!transcode(&mut out, &serde_json::Value::Array(vec![value])));
    }
}
