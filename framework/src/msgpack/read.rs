//! Reading MessagePack one item at a time, as `notepack.io` reads it.
//!
//! [`item`] reads the item at an offset: a scalar with its payload, or the header of an
//! array or a map. It never allocates, never trusts a length prefix beyond the bytes that
//! follow it, and returns the offset after the item, so that a caller can walk a message
//! without copying it. [`skip`] checks a whole value without recursing, and [`Reader`] is a
//! cursor for callers that walk a value item by item.

use rmp::Marker;

/// The input was not well-formed msgpack, or not what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The input ended in the middle of a value.
    Truncated,
    /// The reserved byte `c1`.
    Reserved,
    /// A string that is not UTF-8.
    NotUtf8,
    /// Arrays and maps nested deeper than allowed.
    TooDeep,
    /// The value was not an array.
    NotArray,
    /// Bytes after the value.
    Trailing,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Malformed::Truncated => "msgpack input ends in the middle of a value",
            Malformed::Reserved => "msgpack input holds the reserved byte c1",
            Malformed::NotUtf8 => "a msgpack string is not UTF-8",
            Malformed::TooDeep => "msgpack arrays and maps nest too deep",
            Malformed::NotArray => "msgpack input is not an array",
            Malformed::Trailing => "msgpack input has bytes after its value",
        })
    }
}

/// One MessagePack item: a scalar with its payload, or the header of an array or a map.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Item<'a> {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    /// A string, its bytes not yet checked to be UTF-8 (see [`utf8`]).
    Str(&'a [u8]),
    Bin(&'a [u8]),
    /// notepack's `undefined`: the fixext 1 of type 0, whatever its data byte.
    Undefined,
    /// An extension of fixed length (a fixext): its type and its data.
    FixExt(i8, &'a [u8]),
    /// An extension of any length (an ext 8, 16 or 32): its type and its data.
    Ext(i8, &'a [u8]),
    /// An array header and its length.
    Array(u32),
    /// A map header and its number of entries.
    Map(u32),
}

/// The string `bytes` holds, or [`Malformed::NotUtf8`].
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, Malformed> {
    std::str::from_utf8(bytes).map_err(|_| Malformed::NotUtf8)
}

/// Reads the item at `at`: the item and the offset after it (after the header of an array or
/// a map). `None` when the input ends too early or at `at` is the reserved byte `c1`;
/// [`failure`] tells which, off the hot path.
pub(crate) fn item(bytes: &[u8], at: usize) -> Option<(Item<'_>, usize)> {
    let marker = Marker::from_u8(*bytes.get(at)?);
    let at = at + 1;
    let item = match marker {
        Marker::FixPos(value) => (Item::Uint(value.into()), at),
        Marker::FixNeg(value) => (Item::Int(value.into()), at),
        Marker::Null => (Item::Nil, at),
        Marker::False => (Item::Bool(false), at),
        Marker::True => (Item::Bool(true), at),
        Marker::U8 => fixed(bytes, at, |b| Item::Uint(u8::from_be_bytes(b).into()))?,
        Marker::U16 => fixed(bytes, at, |b| Item::Uint(u16::from_be_bytes(b).into()))?,
        Marker::U32 => fixed(bytes, at, |b| Item::Uint(u32::from_be_bytes(b).into()))?,
        Marker::U64 => fixed(bytes, at, |b| Item::Uint(u64::from_be_bytes(b)))?,
        Marker::I8 => fixed(bytes, at, |b| Item::Int(i8::from_be_bytes(b).into()))?,
        Marker::I16 => fixed(bytes, at, |b| Item::Int(i16::from_be_bytes(b).into()))?,
        Marker::I32 => fixed(bytes, at, |b| Item::Int(i32::from_be_bytes(b).into()))?,
        Marker::I64 => fixed(bytes, at, |b| Item::Int(i64::from_be_bytes(b)))?,
        Marker::F32 => fixed(bytes, at, |b| Item::Float(f32::from_be_bytes(b).into()))?,
        Marker::F64 => fixed(bytes, at, |b| Item::Float(f64::from_be_bytes(b)))?,
        Marker::FixStr(len) => str_item(bytes, at, len.into())?,
        Marker::Str8 => str_item(bytes, at + 1, length::<1>(bytes, at)?)?,
        Marker::Str16 => str_item(bytes, at + 2, length::<2>(bytes, at)?)?,
        Marker::Str32 => str_item(bytes, at + 4, length::<4>(bytes, at)?)?,
        Marker::Bin8 => bin_item(bytes, at + 1, length::<1>(bytes, at)?)?,
        Marker::Bin16 => bin_item(bytes, at + 2, length::<2>(bytes, at)?)?,
        Marker::Bin32 => bin_item(bytes, at + 4, length::<4>(bytes, at)?)?,
        Marker::FixExt1 => match ext_item(bytes, at, 1, true)? {
            (Item::FixExt(0, _), end) => (Item::Undefined, end),
            other => other,
        },
        Marker::FixExt2 => ext_item(bytes, at, 2, true)?,
        Marker::FixExt4 => ext_item(bytes, at, 4, true)?,
        Marker::FixExt8 => ext_item(bytes, at, 8, true)?,
        Marker::FixExt16 => ext_item(bytes, at, 16, true)?,
        Marker::Ext8 => ext_item(bytes, at + 1, length::<1>(bytes, at)?, false)?,
        Marker::Ext16 => ext_item(bytes, at + 2, length::<2>(bytes, at)?, false)?,
        Marker::Ext32 => ext_item(bytes, at + 4, length::<4>(bytes, at)?, false)?,
        Marker::FixArray(len) => (Item::Array(len.into()), at),
        Marker::Array16 => fixed(bytes, at, |b| Item::Array(u16::from_be_bytes(b).into()))?,
        Marker::Array32 => fixed(bytes, at, |b| Item::Array(u32::from_be_bytes(b)))?,
        Marker::FixMap(len) => (Item::Map(len.into()), at),
        Marker::Map16 => fixed(bytes, at, |b| Item::Map(u16::from_be_bytes(b).into()))?,
        Marker::Map32 => fixed(bytes, at, |b| Item::Map(u32::from_be_bytes(b)))?,
        Marker::Reserved => return None,
    };
    Some(item)
}

/// The item `read` makes of the `N` bytes at `at` (a number or a length), and the offset
/// after them.
fn fixed<const N: usize>(
    bytes: &[u8],
    at: usize,
    read: impl FnOnce([u8; N]) -> Item<'static>,
) -> Option<(Item<'static>, usize)> {
    Some((read(array(bytes, at)?), at + N))
}

/// The `N` bytes at `at`.
fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The big-endian length of `N` bytes at `at`.
fn length<const N: usize>(bytes: &[u8], at: usize) -> Option<usize> {
    let mut be = [0; 8];
    be[8 - N..].copy_from_slice(&array::<N>(bytes, at)?);
    usize::try_from(u64::from_be_bytes(be)).ok()
}

/// The `len` bytes at `at`, and the offset after them.
fn take(bytes: &[u8], at: usize, len: usize) -> Option<(&[u8], usize)> {
    let end = at.checked_add(len)?;
    Some((bytes.get(at..end)?, end))
}

/// A string of `len` bytes at `at`.
fn str_item(bytes: &[u8], at: usize, len: usize) -> Option<(Item<'_>, usize)> {
    take(bytes, at, len).map(|(value, end)| (Item::Str(value), end))
}

/// A `bin` of `len` bytes at `at`.
fn bin_item(bytes: &[u8], at: usize, len: usize) -> Option<(Item<'_>, usize)> {
    take(bytes, at, len).map(|(value, end)| (Item::Bin(value), end))
}

/// An extension of type `bytes[at]` with `len` bytes of data after it; `fixed` for a fixext.
fn ext_item(bytes: &[u8], at: usize, len: usize, fixed: bool) -> Option<(Item<'_>, usize)> {
    let [ty] = array::<1>(bytes, at)?;
    let (value, end) = take(bytes, at + 1, len)?;
    let ty = i8::from_be_bytes([ty]);
    let item = if fixed {
        Item::FixExt(ty, value)
    } else {
        Item::Ext(ty, value)
    };
    Some((item, end))
}

/// Why [`item`] found no item at `at`: [`Malformed::Reserved`] for the byte `c1`,
/// [`Malformed::Truncated`] for an input that ends too early (the only other way it fails).
#[cold]
pub(crate) fn failure(bytes: &[u8], at: usize) -> Malformed {
    match bytes.get(at) {
        Some(0xc1) => Malformed::Reserved,
        _ => Malformed::Truncated,
    }
}

/// The number of values an array or map header says follow (`per_entry` for each of its
/// `len` entries), checked against the `left` bytes that follow it: every value takes at
/// least one, so a longer length is a lie, [`Malformed::Truncated`].
#[inline]
fn values(len: u32, per_entry: u64, left: usize) -> Result<u64, Malformed> {
    let values = u64::from(len) * per_entry;
    if values > left as u64 {
        return Err(Malformed::Truncated);
    }
    Ok(values)
}

/// Which arrays and maps count towards the depth limit of [`skip`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Count {
    /// Every array and map, empty ones too.
    All,
    /// Only arrays and maps with something in them: an empty one opens nothing.
    NonEmpty,
}

/// Checks the value at `at` (well formed, strings UTF-8, at most `max_depth` arrays and maps
/// deep as `count` counts them) and returns the offset after it. Does not recurse; `open` is
/// scratch space for the arrays and maps being read, kept between calls so that it is
/// allocated once.
pub(crate) fn skip(
    bytes: &[u8],
    mut at: usize,
    max_depth: usize,
    count: Count,
    open: &mut Vec<u64>,
) -> Result<usize, Malformed> {
    open.clear();
    // How many values are still to read in the innermost open array or map (or at the top);
    // `open` holds the same for the arrays and maps around it.
    let mut pending = 1_u64;
    loop {
        while pending == 0 {
            pending = match open.pop() {
                Some(outer) => outer,
                None => return Ok(at),
            };
        }
        pending -= 1;
        let (item, next) = item(bytes, at).ok_or_else(|| failure(bytes, at))?;
        at = next;
        let values = match item {
            Item::Str(value) => {
                utf8(value)?;
                continue;
            }
            Item::Array(len) => u64::from(len),
            Item::Map(len) => 2 * u64::from(len),
            _ => continue,
        };
        if values > 0 {
            // Every value takes at least a byte: a longer length is a lie. (`item` read up to
            // `at`, so `at` is within `bytes`.)
            if values > (bytes.len() - at) as u64 {
                return Err(Malformed::Truncated);
            }
            if open.len() == max_depth {
                return Err(Malformed::TooDeep);
            }
            open.push(pending);
            pending = values;
        } else if count == Count::All && open.len() == max_depth {
            return Err(Malformed::TooDeep);
        }
    }
}

/// A cursor over a byte slice, for readers that walk a value item by item.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A cursor at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// The next item; for an array or a map, its header only.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Item<'a>, Malformed> {
        let (item, at) = item(self.bytes, self.at).ok_or_else(|| failure(self.bytes, self.at))?;
        self.at = at;
        Ok(item)
    }

    /// The number of values an array or map header says follow (`per_entry` for each of its
    /// `len` entries), checked against the bytes left (every value takes at least one).
    pub(crate) fn values(&self, len: u32, per_entry: u64) -> Result<u64, Malformed> {
        values(len, per_entry, self.bytes.len().saturating_sub(self.at))
    }

    /// Reads past one value as [`skip`] does, with `open` as its scratch space.
    pub(crate) fn skip(
        &mut self,
        max_depth: usize,
        count: Count,
        open: &mut Vec<u64>,
    ) -> Result<(), Malformed> {
        self.at = skip(self.bytes, self.at, max_depth, count, open)?;
        Ok(())
    }

    /// Whether every byte has been read.
    pub(crate) fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_kind_of_item() {
        // (bytes, item, length read)
        let cases: [(&[u8], Item<'_>, usize); 14] = [
            (b"\x05", Item::Uint(5), 1),
            (b"\xff", Item::Int(-1), 1),
            (b"\xc0", Item::Nil, 1),
            (b"\xc3", Item::Bool(true), 1),
            (b"\xcd\x01\x2c", Item::Uint(300), 3),
            (b"\xd1\xff\x7f", Item::Int(-129), 3),
            (b"\xca\x3f\xc0\0\0", Item::Float(1.5), 5),
            (b"\xa2hi", Item::Str(b"hi"), 3),
            (b"\xc4\x01\x05", Item::Bin(b"\x05"), 3),
            (b"\xd4\x00\x07", Item::Undefined, 3),
            (b"\xd4\x05\x07", Item::FixExt(5, b"\x07"), 3),
            (b"\xc7\x01\x00\x07", Item::Ext(0, b"\x07"), 4),
            (b"\xdc\x00\x03", Item::Array(3), 3),
            (b"\xdf\0\0\0\x02", Item::Map(2), 5),
        ];
        for (bytes, want, len) in cases {
            assert_eq!(item(bytes, 0), Some((want, len)), "{bytes:x?}");
        }
    }

    #[test]
    fn refuses_malformed_items() {
        let cases: [(&[u8], Malformed); 7] = [
            (b"", Malformed::Truncated),
            (b"\xc1", Malformed::Reserved),
            (b"\xcd\x01", Malformed::Truncated),
            (b"\xdb\xff\xff\xff\xff", Malformed::Truncated),
            (b"\xc6\x00\x00\x00\x05\x01", Malformed::Truncated),
            (b"\xd8\x00", Malformed::Truncated),
            (b"\xc9\xff\xff\xff\xff\x00", Malformed::Truncated),
        ];
        for (bytes, error) in cases {
            assert_eq!(item(bytes, 0), None, "{bytes:x?}");
            assert_eq!(failure(bytes, 0), error, "{bytes:x?}");
        }
        assert_eq!(item(b"\x01", 5), None);
        assert_eq!(failure(b"\x01", 5), Malformed::Truncated);
    }

    #[test]
    fn skips_within_the_depth_limit_as_counted() {
        let mut open = Vec::new();
        // Two arrays with something in them, then an empty one.
        let bytes = b"\x91\x91\x90";
        assert_eq!(skip(bytes, 0, 3, Count::All, &mut open), Ok(3));
        assert_eq!(
            skip(bytes, 0, 2, Count::All, &mut open),
            Err(Malformed::TooDeep)
        );
        assert_eq!(skip(bytes, 0, 2, Count::NonEmpty, &mut open), Ok(3));
        assert_eq!(
            skip(bytes, 0, 1, Count::NonEmpty, &mut open),
            Err(Malformed::TooDeep)
        );
        // A length longer than the bytes left, a bad string, and bytes after the value.
        assert_eq!(
            skip(b"\x93\x01", 0, 8, Count::All, &mut open),
            Err(Malformed::Truncated)
        );
        assert_eq!(
            skip(b"\x91\xa1\xff", 0, 8, Count::All, &mut open),
            Err(Malformed::NotUtf8)
        );
        assert_eq!(
            skip(b"\x82\x01\x02\x03\x04\x05", 0, 8, Count::All, &mut open),
            Ok(5)
        );
    }
}
