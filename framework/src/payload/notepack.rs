//! MessagePack written the way the npm package `notepack.io` writes JavaScript values:
//! integers in their smallest form, other numbers as float64, strings and binary data with
//! their smallest header, and maps with string keys.
//!
//! [`Transcode`] reads JSON through serde (JSON text, or a `serde_json::Value`) and writes it
//! as msgpack, turning the placeholders of the JSON parser into `bin` values.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep arrays and maps may nest, the outermost included.
pub(crate) const MAX_DEPTH: usize = 128;

/// Writes `nil`.
pub(crate) fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Writes `true` or `false`.
pub(crate) fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.push(if value { 0xc3 } else { 0xc2 });
}

/// Writes a non-negative integer in its smallest form.
pub(crate) fn write_uint(out: &mut Vec<u8>, value: u64) {
    if value < 0x80 {
        out.push(value as u8);
    } else if let Ok(value) = u8::try_from(value) {
        out.extend_from_slice(&[0xcc, value]);
    } else if let Ok(value) = u16::try_from(value) {
        out.push(0xcd);
        out.extend_from_slice(&value.to_be_bytes());
    } else if let Ok(value) = u32::try_from(value) {
        out.push(0xce);
        out.extend_from_slice(&value.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Writes an integer in its smallest form (a non-negative one as unsigned).
pub(crate) fn write_int(out: &mut Vec<u8>, value: i64) {
    if let Ok(value) = u64::try_from(value) {
        write_uint(out, value);
    } else if value >= -0x20 {
        out.push(value as u8);
    } else if let Ok(value) = i8::try_from(value) {
        out.push(0xd0);
        out.extend_from_slice(&value.to_be_bytes());
    } else if let Ok(value) = i16::try_from(value) {
        out.push(0xd1);
        out.extend_from_slice(&value.to_be_bytes());
    } else if let Ok(value) = i32::try_from(value) {
        out.push(0xd2);
        out.extend_from_slice(&value.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Writes a number as JavaScript holds it: an integral value as an integer (as notepack
/// does; `-0` is `0`), anything else as float64. Integral values beyond 64 bits, which
/// notepack cannot write either, stay float64.
pub(crate) fn write_f64(out: &mut Vec<u8>, value: f64) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if value.is_finite() && value.fract() == 0.0 {
        if (0.0..2.0 * TWO_63).contains(&value) {
            return write_uint(out, value as u64);
        }
        if (-TWO_63..0.0).contains(&value) {
            return write_int(out, value as i64);
        }
    }
    out.push(0xcb);
    out.extend_from_slice(&value.to_be_bytes());
}

/// Writes a string with its smallest header; `nil` for a string of 4 GiB or more, which
/// msgpack cannot carry.
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str) {
    if write_len(out, value.len(), Some(0xa0), [0xd9, 0xda, 0xdb]) {
        out.extend_from_slice(value.as_bytes());
    }
}

/// Writes binary data with its smallest header; `nil` for 4 GiB or more.
pub(crate) fn write_bin(out: &mut Vec<u8>, value: &[u8]) {
    if write_len(out, value.len(), None, [0xc4, 0xc5, 0xc6]) {
        out.extend_from_slice(value);
    }
}

/// The header of an array of `len` elements; `nil` for 2³² or more.
pub(crate) fn array_header(len: usize) -> Vec<u8> {
    let mut header = Vec::with_capacity(5);
    write_container(&mut header, len, 0x90, [0xdc, 0xdd]);
    header
}

/// The header of a map of `len` entries; `nil` for 2³² or more.
pub(crate) fn map_header(len: usize) -> Vec<u8> {
    let mut header = Vec::with_capacity(5);
    write_container(&mut header, len, 0x80, [0xde, 0xdf]);
    header
}

fn write_container(out: &mut Vec<u8>, len: usize, fix: u8, [m16, m32]: [u8; 2]) {
    if len < 16 {
        out.push(fix | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(m16);
        out.extend_from_slice(&len.to_be_bytes());
    } else if let Ok(len) = u32::try_from(len) {
        out.push(m32);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        write_nil(out);
    }
}

/// Writes the header of a string (`fix` is its fixstr marker) or binary data of `len` bytes;
/// `false`, after writing `nil`, when msgpack cannot carry that many.
fn write_len(out: &mut Vec<u8>, len: usize, fix: Option<u8>, [m8, m16, m32]: [u8; 3]) -> bool {
    match fix {
        Some(fix) if len < 0x20 => out.push(fix | len as u8),
        _ => {
            if let Ok(len) = u8::try_from(len) {
                out.extend_from_slice(&[m8, len]);
            } else if let Ok(len) = u16::try_from(len) {
                out.push(m16);
                out.extend_from_slice(&len.to_be_bytes());
            } else if let Ok(len) = u32::try_from(len) {
                out.push(m32);
                out.extend_from_slice(&len.to_be_bytes());
            } else {
                write_nil(out);
                return false;
            }
        }
    }
    true
}

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
    let (&marker, rest) = bytes.split_first()?;
    let be = |len: usize| -> Option<u64> {
        (rest.len() == len).then(|| rest.iter().fold(0, |n, &b| (n << 8) | u64::from(b)))
    };
    match marker {
        0x00..=0x7f if rest.is_empty() => Some(marker.into()),
        0xcc => be(1),
        0xcd => be(2),
        0xce => be(4),
        0xcf => be(8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out);
        out
    }

    #[test]
    fn writes_numbers_in_notepack_forms() {
        let cases: [(f64, &[u8]); 20] = [
            (0.0, &[0x00]),
            (-0.0, &[0x00]),
            (1.0, &[0x01]),
            (127.0, &[0x7f]),
            (128.0, &[0xcc, 0x80]),
            (300.0, &[0xcd, 0x01, 0x2c]),
            (70000.0, &[0xce, 0x00, 0x01, 0x11, 0x70]),
            (5e9, &[0xcf, 0, 0, 0, 0x01, 0x2a, 0x05, 0xf2, 0x00]),
            (-1.0, &[0xff]),
            (-2.0, &[0xfe]),
            (-32.0, &[0xe0]),
            (-33.0, &[0xd0, 0xdf]),
            (-128.0, &[0xd0, 0x80]),
            (-129.0, &[0xd1, 0xff, 0x7f]),
            (-40000.0, &[0xd2, 0xff, 0xff, 0x63, 0xc0]),
            (
                -3e9,
                &[0xd3, 0xff, 0xff, 0xff, 0xff, 0x4d, 0x2f, 0xa2, 0x00],
            ),
            (2.5, &[0xcb, 0x40, 0x04, 0, 0, 0, 0, 0, 0]),
            (f64::NAN, &[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            (f64::INFINITY, &[0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]),
            (
                1e20,
                &[0xcb, 0x44, 0x15, 0xaf, 0x1d, 0x78, 0xb5, 0x8c, 0x40],
            ),
        ];
        for (value, bytes) in cases {
            assert_eq!(with(|out| write_f64(out, value)), bytes, "{value}");
        }
        assert_eq!(with(|out| write_int(out, i64::MIN))[0], 0xd3);
        assert_eq!(with(|out| write_uint(out, u64::MAX))[0], 0xcf);
    }

    #[test]
    fn writes_the_smallest_headers() {
        // The first byte of the headers of a str, a bin, an array and a map.
        type Markers = [u8; 4];
        let cases: [(usize, Markers); 6] = [
            (0, [0xa0, 0xc4, 0x90, 0x80]),
            (15, [0xaf, 0xc4, 0x9f, 0x8f]),
            (16, [0xb0, 0xc4, 0xdc, 0xde]),
            (31, [0xbf, 0xc4, 0xdc, 0xde]),
            (32, [0xd9, 0xc4, 0xdc, 0xde]),
            (256, [0xda, 0xc5, 0xdc, 0xde]),
        ];
        for (len, markers) in cases {
            let text = "x".repeat(len);
            let got = [
                with(|out| write_str(out, &text))[0],
                with(|out| write_bin(out, text.as_bytes()))[0],
                array_header(len)[0],
                map_header(len)[0],
            ];
            assert_eq!(got, markers, "{len}");
        }
        assert_eq!(
            with(|out| write_str(out, &"x".repeat(65536)))[..5],
            [0xdb, 0, 1, 0, 0]
        );
        assert_eq!(array_header(65536), [0xdd, 0, 1, 0, 0]);
    }

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
