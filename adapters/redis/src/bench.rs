//! The broadcast codec as the adapter runs it for each broadcast, for the micro-benchmarks
//! in `bench/benches/redis_codec.rs`. Built with the `bench` feature only, and not part of
//! the API.

use tidings::Parser;
use tidings::adapter::{BroadcastOptions, BroadcastPacket};

use crate::codec::{self, Event};

/// What the sending server publishes for `packet`: its arguments as msgpack, in the
/// broadcast message of `@socket.io/redis-adapter`.
pub fn encode_broadcast(
    uid: &str,
    namespace: &str,
    packet: &BroadcastPacket,
    options: &BroadcastOptions,
) -> Vec<u8> {
    codec::encode_broadcast(uid, namespace, &Event::of(packet), options, None)
}

/// What a receiving server makes of `message` before it hands it to its own sockets: the
/// packet, with arguments for `parser`, and which sockets it is for; `None` when `message`
/// is malformed.
pub fn decode_broadcast(
    message: &[u8],
    parser: Parser,
) -> Option<(BroadcastPacket, BroadcastOptions)> {
    let broadcast = codec::decode_broadcast(message).ok()?;
    let options = broadcast.selection.local();
    Some((broadcast.event.into_packet(parser).ok()?, options))
}
