//! MessagePack read the way JavaScript reads it (with `notepack.io`) and writes it back as
//! JSON text (with `JSON.stringify`), for arguments that come from other servers.
//!
//! Nothing here trusts a length prefix beyond the bytes that follow it, and recursion stops
//! at a fixed depth, so hostile input costs at most its own size.

use std::io::Write as _;

use bytes::Bytes;

use super::date;
use crate::msgpack::{Count, Item, Malformed, Reader, utf8};

/// Reads the header of the outer array: the number of values in it. A string is checked as
/// it is read, like every other one, before the value is found not to be an array.
fn outer_array(reader: &mut Reader<'_>) -> Result<u64, Malformed> {
    match reader.next()? {
        Item::Array(len) => reader.values(len, 1),
        Item::Str(value) => utf8(value).and(Err(Malformed::NotArray)),
        _ => Err(Malformed::NotArray),
    }
}

/// Checks that `bytes` is exactly one msgpack array, well formed, with UTF-8 strings and at
/// most `max_depth` arrays and maps deep (the outer array included).
pub(crate) fn check_array(bytes: &[u8], max_depth: usize) -> Result<(), Malformed> {
    let mut reader = Reader::new(bytes);
    let mut open = Vec::new();
    for _ in 0..outer_array(&mut reader)? {
        reader.skip(max_depth.saturating_sub(1), Count::All, &mut open)?;
    }
    if !reader.is_done() {
        return Err(Malformed::Trailing);
    }
    Ok(())
}

/// What binary data becomes in JSON.
pub(crate) enum BinaryAs {
    /// A placeholder `{"_placeholder":true,"num":N}` of the JSON parser, its bytes added
    /// here.
    Placeholder(Vec<Bytes>),
    /// Node's `Buffer#toJSON()`: `{"type":"Buffer","data":[1,2,3]}`.
    NodeBuffer,
}

/// Writes the msgpack array `bytes` (exactly one, nothing after it) as JSON text, at most
/// `max_depth` arrays and maps deep (the outer array included), as `JSON.stringify` writes
/// what notepack reads:
///
/// - binary data (`bin`, and an ext 8, 16 or 32 of type 0, which notepack reads as an
///   `ArrayBuffer`) as `binary` says;
/// - a timestamp (extension type -1), or a fixext 8 of type 0 (notepack's former dates, in
///   milliseconds), as its ISO-8601 string, or `null` out of range;
/// - other extensions (which notepack reads as `[type, bytes]`), `NaN` and infinities as
///   `null`;
/// - notepack's `undefined` as `null` in an array, and left out with its key in a map;
/// - integral floats as integers, other numbers as the shortest text that reads back the same;
/// - map keys that are not strings as strings: numbers, `true`, `false` and `null` as
///   their text, binary data as UTF-8 (bad bytes replaced), arrays and maps as their JSON.
pub(crate) fn array_to_json(
    bytes: &[u8],
    binary: &mut BinaryAs,
    max_depth: usize,
) -> Result<String, Malformed> {
    let mut reader = Reader::new(bytes);
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let len = outer_array(&mut reader)?;
    out.push(b'[');
    for i in 0..len {
        if i > 0 {
            out.push(b',');
        }
        let item = reader.next()?;
        write_json(
            &mut reader,
            item,
            &mut out,
            binary,
            max_depth.saturating_sub(1),
        )?;
    }
    out.push(b']');
    if !reader.is_done() {
        return Err(Malformed::Trailing);
    }
    // Everything written is UTF-8: strings were checked, the rest is ASCII.
    String::from_utf8(out).map_err(|_| Malformed::NotUtf8)
}

/// Writes `item` (read from `reader`, which then holds what follows it) as JSON, with at most
/// `depth` arrays and maps open inside it.
fn write_json(
    reader: &mut Reader<'_>,
    item: Item<'_>,
    out: &mut Vec<u8>,
    binary: &mut BinaryAs,
    depth: usize,
) -> Result<(), Malformed> {
    match item {
        Item::Nil | Item::Undefined => out.extend_from_slice(b"null"),
        Item::Bool(value) => out.extend_from_slice(if value { b"true" } else { b"false" }),
        Item::Uint(value) => push_fmt(out, format_args!("{value}")),
        Item::Int(value) => push_fmt(out, format_args!("{value}")),
        Item::Float(value) => write_number(out, value),
        Item::Str(value) => write_string(out, utf8(value)?),
        Item::Bin(value) | Item::Ext(0, value) => write_binary(out, value, binary),
        Item::Ext(-1, data) | Item::FixExt(-1, data) => {
            write_date(out, date::timestamp_millis(data));
        }
        Item::FixExt(0, data) if data.len() == 8 => {
            write_date(out, data.try_into().ok().map(i64::from_be_bytes));
        }
        Item::Ext(..) | Item::FixExt(..) => out.extend_from_slice(b"null"),
        Item::Array(len) => {
            let len = reader.values(len, 1)?;
            let depth = depth.checked_sub(1).ok_or(Malformed::TooDeep)?;
            out.push(b'[');
            for i in 0..len {
                if i > 0 {
                    out.push(b',');
                }
                let item = reader.next()?;
                write_json(reader, item, out, binary, depth)?;
            }
            out.push(b']');
        }
        Item::Map(len) => {
            let len = reader.values(len, 2)? / 2;
            let depth = depth.checked_sub(1).ok_or(Malformed::TooDeep)?;
            out.push(b'{');
            let mut first = true;
            for _ in 0..len {
                let key = reader.next()?;
                let key = key_text(reader, key, depth)?;
                let value = reader.next()?;
                if value == Item::Undefined {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(out, &key);
                out.push(b':');
                write_json(reader, value, out, binary, depth)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// A map key as JavaScript makes it a property name.
fn key_text(reader: &mut Reader<'_>, key: Item<'_>, depth: usize) -> Result<String, Malformed> {
    Ok(match key {
        Item::Str(key) => utf8(key)?.to_owned(),
        Item::Bin(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Item::Undefined => "undefined".to_owned(),
        other => {
            let mut text = Vec::new();
            write_json(reader, other, &mut text, &mut BinaryAs::NodeBuffer, depth)?;
            String::from_utf8(text).map_err(|_| Malformed::NotUtf8)?
        }
    })
}

fn push_fmt(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    // Writing to a `Vec` cannot fail.
    let _ = out.write_fmt(args);
}

/// A number as `JSON.stringify` writes it: `null` unless finite, integral values without a
/// fraction.
fn write_number(out: &mut Vec<u8>, value: f64) {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !value.is_finite() {
        out.extend_from_slice(b"null");
    } else if value.fract() == 0.0 && (-TWO_63..TWO_63).contains(&value) {
        push_fmt(out, format_args!("{}", value as i64));
    } else {
        // Finite numbers always serialize.
        let _ = serde_json::to_writer(&mut *out, &value);
    }
}

/// A date as `JSON.stringify` writes it: its ISO-8601 string, `null` when invalid.
fn write_date(out: &mut Vec<u8>, millis: Option<i64>) {
    match millis.and_then(date::Date::from_unix_millis) {
        Some(date) => write_string(out, &date.to_iso_string()),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_string(out: &mut Vec<u8>, value: &str) {
    // Strings always serialize.
    let _ = serde_json::to_writer(&mut *out, value);
}

fn write_binary(out: &mut Vec<u8>, value: &[u8], binary: &mut BinaryAs) {
    match binary {
        BinaryAs::Placeholder(attachments) => {
            push_fmt(
                out,
                format_args!(r#"{{"_placeholder":true,"num":{}}}"#, attachments.len()),
            );
            attachments.push(Bytes::copy_from_slice(value));
        }
        BinaryAs::NodeBuffer => {
            out.extend_from_slice(br#"{"type":"Buffer","data":["#);
            for (i, byte) in value.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_fmt(out, format_args!("{byte}"));
            }
            out.extend_from_slice(b"]}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> Result<(String, Vec<Bytes>), Malformed> {
        let mut binary = BinaryAs::Placeholder(Vec::new());
        let text = array_to_json(bytes, &mut binary, 128)?;
        let BinaryAs::Placeholder(attachments) = binary else {
            unreachable!("the kind does not change");
        };
        Ok((text, attachments))
    }

    #[test]
    fn writes_msgpack_as_javascript_reads_it() {
        // (msgpack array, JSON text, attachments)
        type Case<'a> = (&'a [u8], &'a str, &'a [&'a [u8]]);
        let cases: [Case<'_>; 16] = [
            (b"\x90", "[]", &[]),
            (b"\x93\xc0\xc2\xc3", "[null,false,true]", &[]),
            (
                b"\x94\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xd3\x80\0\0\0\0\0\0\0\xd0\x80\xe0",
                "[18446744073709551615,-9223372036854775808,-128,-32]",
                &[],
            ),
            (
                b"\x95\xcb\x40\x04\0\0\0\0\0\0\xcb\x40\0\0\0\0\0\0\0\xca\x3f\xc0\0\0\xcb\x7f\xf8\0\0\0\0\0\0\xcb\xff\xf0\0\0\0\0\0\0",
                "[2.5,2,1.5,null,null]",
                &[],
            ),
            (b"\x91\xd9\x02\"\n", r#"["\"\n"]"#, &[]),
            (
                b"\x92\xc4\x02\x01\x02\x91\xc5\x00\x01\x09",
                r#"[{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]"#,
                &[&[1, 2], &[9]],
            ),
            // An ext of type 0 is an `ArrayBuffer` to notepack; fixexts of type 0 are
            // `undefined`, a former date, or `[0, bytes]`.
            (
                b"\x94\xc7\x02\x00\x07\x08\xd4\x00\x00\xd7\x00\0\0\0\0\0\0\x03\xe8\xd5\x00\x01\x02",
                r#"[{"_placeholder":true,"num":0},null,"1970-01-01T00:00:01.000Z",null]"#,
                &[&[7, 8]],
            ),
            (b"\x91\xd6\xff\x00\x00\x00\x01", r#"["1970-01-01T00:00:01.000Z"]"#, &[]),
            (
                b"\x91\xd7\xff\x77\x35\x94\x00\x00\x00\x00\x01",
                r#"["1970-01-01T00:00:01.500Z"]"#,
                &[],
            ),
            (
                b"\x91\xc7\x0c\xff\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff",
                r#"["1969-12-31T23:59:59.000Z"]"#,
                &[],
            ),
            (b"\x92\xd6\x05\x01\x02\x03\x04\xc7\x00\x07", "[null,null]", &[]),
            (
                b"\x91\x82\xa1x\xc0\xa1y\xd4\x00\x00",
                r#"[{"x":null}]"#,
                &[],
            ),
            (
                b"\x91\x86\x01\xa1a\xc3\xa1b\xc0\xa1c\xcb\x3f\xf8\0\0\0\0\0\0\xa1d\xc4\x02hi\xa1e\x92\x01\xa1a\xa1f",
                r#"[{"1":"a","true":"b","null":"c","1.5":"d","hi":"e","[1,\"a\"]":"f"}]"#,
                &[],
            ),
            (
                b"\x91\x81\xa1k\x81\xa1_\xc4\x01\x05",
                r#"[{"k":{"_":{"_placeholder":true,"num":0}}}]"#,
                &[&[5]],
            ),
            (b"\x91\x81\xc4\x01\x05\x01", r#"[{"\u0005":1}]"#, &[]),
            (b"\x91\x81\x81\xa1a\xc4\x01\x05\x01", r#"[{"{\"a\":{\"type\":\"Buffer\",\"data\":[5]}}":1}]"#, &[]),
        ];
        for (bytes, text, attachments) in cases {
            let (got, found) = json(bytes).expect("well formed");
            assert_eq!(got, text, "{bytes:x?}");
            assert_eq!(found, attachments, "{bytes:x?}");
            serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
            check_array(bytes, 128).expect("well formed");
        }
    }

    #[test]
    fn refuses_malformed_input() {
        let cases: [(&[u8], Malformed); 11] = [
            (b"", Malformed::Truncated),
            (b"\x92\x01", Malformed::Truncated),
            (b"\xdd\xff\xff\xff\xff\x01", Malformed::Truncated),
            (b"\x91\xdb\xff\xff\xff\xff", Malformed::Truncated),
            (b"\x91\xc6\x00\x00\x00\x05\x01", Malformed::Truncated),
            (b"\x91\xc1", Malformed::Reserved),
            (b"\x91\xa1\xff", Malformed::NotUtf8),
            (b"\x01", Malformed::NotArray),
            (b"\x81\xa1a\x01", Malformed::NotArray),
            (b"\x90\x00", Malformed::Trailing),
            (b"\x91\x81\xa1a", Malformed::Truncated),
        ];
        for (bytes, error) in cases {
            assert_eq!(json(bytes).map(|_| ()), Err(error), "{bytes:x?}");
            assert_eq!(check_array(bytes, 128), Err(error), "{bytes:x?}");
        }
    }

    #[test]
    fn stops_at_the_depth_limit() {
        let nested = |depth: usize| {
            let mut bytes = vec![0x91; depth - 1];
            bytes.push(0x90);
            bytes
        };
        for depth in [1, 2, 127, 128] {
            assert!(json(&nested(depth)).is_ok(), "{depth}");
            assert!(check_array(&nested(depth), 128).is_ok(), "{depth}");
        }
        for depth in [129, 100_000] {
            assert_eq!(json(&nested(depth)), Err(Malformed::TooDeep), "{depth}");
            assert_eq!(check_array(&nested(depth), 128), Err(Malformed::TooDeep));
        }
        // Maps count too, keys included.
        let mut map_keys = vec![0x81; 200];
        map_keys.push(0x90);
        assert_eq!(
            json(&[&[0x91][..], &map_keys].concat()),
            Err(Malformed::TooDeep)
        );
    }
}
