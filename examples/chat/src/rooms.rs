//! Rooms and presence: `join` and `leave` a room of [`ROOMS`], and `presence`, the list of
//! who is in a room, sent to the room whenever it changes.

use serde::Serialize;
use tidings::{AckSender, DataError, Namespace, Sid, Socket, State, TryData};

use crate::history::History;
use crate::member::Member;
use crate::messages::Message;
use crate::reply::{Reply, malformed};

/// The rooms there are; pages join the first one by default.
pub(crate) const ROOMS: [&str; 3] = ["lobby", "rust", "random"];

/// Who is in a room, by nickname, sorted.
#[derive(Debug, Serialize)]
struct Presence<'a> {
    room: &'a str,
    members: Vec<String>,
}

/// The answer to `join`: who is there, and the room's recent messages.
#[derive(Debug, Serialize)]
struct Joined<'a> {
    room: &'a str,
    members: Vec<String>,
    history: Vec<Message>,
}

/// `room`, as it is named in [`ROOMS`].
pub(crate) fn known(room: &str) -> Result<&'static str, String> {
    ROOMS
        .into_iter()
        .find(|known| *known == room)
        .ok_or_else(|| format!("there is no room #{room} (try {})", ROOMS.join(", ")))
}

/// The room of [`ROOMS`] that a `join` or a `leave` names.
fn named(room: Result<String, DataError>) -> Result<&'static str, String> {
    known(&room.map_err(|e| malformed("room", e))?)
}

/// Ok when `socket` is in `room`, which must be a room of [`ROOMS`].
pub(crate) fn joined(socket: &Socket, room: &str) -> Result<(), String> {
    let room = known(room)?;
    if socket.rooms().iter().any(|r| &**r == room) {
        Ok(())
    } else {
        Err(format!("join #{room} first"))
    }
}

/// `join` (a room name, ack): joins the room, tells it, and answers with its members and
/// recent messages.
pub(crate) async fn join(
    socket: Socket,
    TryData(room): TryData<String>,
    State(history): State<History>,
    ack: AckSender,
) {
    let room = match named(room) {
        Ok(room) => room,
        Err(error) => return Reply::<()>::Error(error).send(ack),
    };
    // Only the rooms of ROOMS, and an inbox: far below the server's limit on rooms.
    if let Err(error) = socket.join(room) {
        return Reply::<()>::Error(error.to_string()).send(ack);
    }
    let members = announce(socket.ns(), room, None).await;
    let joined = Joined {
        room,
        members,
        history: history.recent(room),
    };
    Reply::Ok(joined).send(ack);
}

/// `leave` (a room name, ack): leaves the room and tells it.
pub(crate) async fn leave(socket: Socket, TryData(room): TryData<String>, ack: AckSender) {
    let room = match named(room) {
        Ok(room) => room,
        Err(error) => return Reply::<()>::Error(error).send(ack),
    };
    socket.leave(room);
    Reply::Ok(room).send(ack);
    announce(socket.ns(), room, None).await;
}

/// A socket is disconnecting: its rooms are told it is gone.
pub(crate) async fn gone(socket: Socket) {
    for room in chat_rooms(&socket) {
        announce(socket.ns(), room, Some(socket.id())).await;
    }
}

/// A socket was recovered, in the rooms it had: they are told it is back.
pub(crate) async fn returned(socket: &Socket) {
    for room in chat_rooms(socket) {
        announce(socket.ns(), room, None).await;
    }
}

/// The rooms of [`ROOMS`] that `socket` is in.
fn chat_rooms(socket: &Socket) -> Vec<&'static str> {
    let rooms = socket.rooms();
    ROOMS
        .into_iter()
        .filter(|room| rooms.iter().any(|r| &**r == *room))
        .collect()
}

/// Sends `room` its members (on every server of the cluster), but `leaving`, and returns them.
async fn announce(namespace: &Namespace, room: &str, leaving: Option<Sid>) -> Vec<String> {
    let mut members: Vec<String> = namespace
        .to(room)
        .fetch_sockets()
        .await
        .iter()
        .filter(|socket| Some(socket.id()) != leaving)
        .filter_map(|socket| socket.data::<Member>())
        .map(|member| member.nickname)
        .collect();
    members.sort_by_key(|nickname| nickname.to_lowercase());
    members.dedup();
    let presence = Presence {
        room,
        members: members.clone(),
    };
    let _ = namespace.to(room).emit("presence", &presence);
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_its_rooms() {
        assert_eq!(known("lobby"), Ok("lobby"));
        assert_eq!(known("rust"), Ok("rust"));
        let unknown = Err("there is no room #Lobby (try lobby, rust, random)".to_owned());
        assert_eq!(known("Lobby"), unknown);
    }
}
