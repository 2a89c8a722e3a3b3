//! MessagePack at the level of single items, shared by the msgpack parser
//! ([`crate::parser::msgpack`]) and the payload wire code (`crate::payload`): a reader that
//! takes one item at a time off a byte slice, and writers that append values in the forms
//! `notepack.io` picks.
//!
//! What a value means (a packet map, a JavaScript value to be written as JSON) is left to
//! those users; this module knows only the format.

mod read;
mod write;

pub(crate) use read::{Count, Item, Malformed, Reader, item, skip, utf8};
pub(crate) use write::{
    array_header, map_header, write_bin, write_bool, write_f64, write_int, write_map_len,
    write_nil, write_str, write_uint,
};
