//! The msgpack Socket.IO parser: `parser::msgpack::decode` and `parser::msgpack::encode`.
//!
//! Input layout: the input is one binary Engine.IO message.
//!
//! Properties:
//! - the decoder never panics, nor trusts a length prefix (libFuzzer reports an allocation
//!   over `-malloc_limit_mb`);
//! - every packet it returns has an id of at most `MAX_ACK_ID`, and encodes to a message that
//!   decodes to the same packet: the keys may come in another order, with other integer or
//!   string forms, and unknown keys and `undefined` values go, but the packet may not change;
//! - that message is canonical: encoding its packet again gives the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::parser::msgpack::{MAX_ACK_ID, Packet, decode, encode};

fuzz_target!(|message: &[u8]| {
    let Ok(packet) = decode(message) else {
        return;
    };
    assert!(packet.id.is_none_or(|id| id <= MAX_ACK_ID));
    let bytes = encoded(&packet);
    let again = decode(&bytes).expect("an encoded packet decodes");
    assert_eq!(again, packet, "{bytes:02x?}");
    assert_eq!(encoded(&again), bytes, "{bytes:02x?}");
});

fn encoded(packet: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    encode(
        packet.kind,
        &packet.namespace,
        packet.id,
        packet.data.as_deref(),
        &mut out,
    );
    out
}
