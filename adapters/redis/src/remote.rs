//! A socket of one server as the others see it, in the answer to a `fetch_sockets` request
//! (PROTOCOL.md, A7): `{id, handshake, rooms, data}`. Both adapters send and read this shape.

use serde_json::{Value as Json, json};
use tidings::{Handshake, LocalNamespace, RemoteSocket, Sid};

use crate::codec;

/// `socket` as the servers that asked for it read it.
pub(crate) fn to_json(socket: &RemoteSocket) -> Json {
    let rooms: Vec<&str> = socket.rooms().iter().map(AsRef::as_ref).collect();
    json!({
        "id": socket.id().as_str(),
        "handshake": socket.handshake(),
        "rooms": rooms,
        "data": socket.data_json(),
    })
}

/// A socket of another server of `namespace`, as its answer describes it; `None` when the
/// answer has no valid id.
pub(crate) fn from_json(namespace: &LocalNamespace, socket: &Json) -> Option<RemoteSocket> {
    let id = socket.get("id")?.as_str()?.parse::<Sid>().ok()?;
    let rooms = socket
        .get("rooms")
        .and_then(Json::as_array)
        .map(|rooms| rooms.iter().filter_map(codec::room).collect())
        .unwrap_or_default();
    let handshake = socket
        .get("handshake")
        .cloned()
        .and_then(|handshake| serde_json::from_value::<Handshake>(handshake).ok())
        .or_else(|| serde_json::from_value::<Handshake>(json!({})).ok())?;
    let data = socket.get("data").cloned().filter(|data| !data.is_null());
    RemoteSocket::new(namespace, id, rooms, handshake, data)
}
