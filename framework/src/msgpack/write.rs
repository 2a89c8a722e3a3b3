//! Writing MessagePack the way the npm package `notepack.io` writes JavaScript values:
//! integers in their smallest form, other numbers as float64, strings, binary data, arrays
//! and maps with their smallest header.
//!
//! Nothing here panics: a length msgpack cannot carry (4 GiB or more) is written as `nil`.

/// Writes `nil`.
pub(crate) fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Writes `true` or `false`.
pub(crate) fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.push(if value { 0xc3 } else { 0xc2 });
}

/// Writes a non-negative integer in its smallest form.
#[inline]
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
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, value: &str) {
    // The short ones, every key the parser writes among them, need no call.
    if value.len() < 0x20 {
        out.push(0xa0 | value.len() as u8);
        out.extend_from_slice(value.as_bytes());
    } else if write_len(out, value.len(), [0xd9, 0xda, 0xdb]) {
        out.extend_from_slice(value.as_bytes());
    }
}

/// Writes binary data with its smallest header; `nil` for 4 GiB or more.
pub(crate) fn write_bin(out: &mut Vec<u8>, value: &[u8]) {
    if write_len(out, value.len(), [0xc4, 0xc5, 0xc6]) {
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
    write_map_len(&mut header, len);
    header
}

/// Writes the header of a map of `len` entries; `nil` for 2³² or more.
#[inline]
pub(crate) fn write_map_len(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else {
        write_container(out, len, 0x80, [0xde, 0xdf]);
    }
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

/// Writes the 8-, 16- or 32-bit header of a string or binary data of `len` bytes; `false`,
/// after writing `nil`, when msgpack cannot carry that many.
fn write_len(out: &mut Vec<u8>, len: usize, [m8, m16, m32]: [u8; 3]) -> bool {
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
    true
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
}
