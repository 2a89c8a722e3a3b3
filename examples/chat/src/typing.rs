//! Typing indicators: `typing` tells the other members of a room who is typing there.

use serde::{Deserialize, Serialize};
use tidings::{AckSender, Socket, TryData};

use crate::member::Member;
use crate::reply::{Reply, malformed};
use crate::rooms;

/// What a page sends when its user starts or stops typing in a room.
#[derive(Debug, Deserialize)]
pub(crate) struct Typing {
    room: String,
    typing: bool,
}

/// What the other members get.
#[derive(Debug, Serialize)]
struct Typist<'a> {
    room: &'a str,
    nickname: &'a str,
    typing: bool,
}

/// `typing` (`{ room, typing }`, ack): passes it on to the room's other members.
///
/// The broadcast is volatile: it skips a member whose connection has something waiting to be
/// sent, and it is not kept for recovery. Typing is stale by then; pages forget an indicator
/// after a few seconds anyway.
pub(crate) fn typing(
    socket: Socket,
    member: Member,
    TryData(typing): TryData<Typing>,
    ack: AckSender,
) {
    let reply = typing
        .map_err(|e| malformed("typing", e))
        .and_then(|typing| {
            rooms::joined(&socket, &typing.room)?;
            let typist = Typist {
                room: &typing.room,
                nickname: &member.nickname,
                typing: typing.typing,
            };
            let _ = socket
                .to(typing.room.as_str())
                .volatile()
                .emit("typing", &typist);
            Ok(())
        });
    Reply::from(reply).send(ack);
}
