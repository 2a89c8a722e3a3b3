//! `deflate::inflate` with a limit, and `deflate::compress` (see docs/fuzzing.md).
//!
//! Input: the first byte gives the limit (`byte * 64` bytes), the rest is the data.
//! - Inflating arbitrary bytes never panics and never returns more than the limit: a
//!   message that would inflate past it is `TooBig` whatever its compressed size.
//! - Inflating the same bytes with a larger limit gives the same result when the first
//!   was not `TooBig`.
//! - The data compressed with `compress` inflates back to itself with a limit of its length,
//!   and is `TooBig` with one byte less.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::deflate::{InflateError, compress, inflate};

fuzz_target!(|input: &[u8]| {
    let Some((&limit, data)) = input.split_first() else {
        return;
    };
    let limit = usize::from(limit) * 64;

    let inflated = inflate(data, limit);
    if let Ok(out) = &inflated {
        assert!(
            out.len() <= limit,
            "{} bytes over a limit of {limit}",
            out.len()
        );
    }
    if inflated != Err(InflateError::TooBig) {
        assert_eq!(inflate(data, limit + 1000), inflated, "input {data:?}");
    }

    let compressed = compress(data);
    assert_eq!(inflate(&compressed, data.len()).as_deref(), Ok(data));
    if !data.is_empty() {
        assert_eq!(
            inflate(&compressed, data.len() - 1),
            Err(InflateError::TooBig)
        );
    }
});
