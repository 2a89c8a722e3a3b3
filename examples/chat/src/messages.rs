//! Messages: `message` sends one to a room, `received` is a reader's receipt.
//!
//! - The author's page gives each message an id, and the server acks `{ ok: { id, at } }`
//!   once it has kept and broadcast it: the page marks it "sent". A page that got no ack
//!   (its connection dropped) sends it again with the same id when it is back; the server
//!   acks a retry without broadcasting it twice.
//! - Every other page of the room gets `message` and answers with `received`; the first
//!   receipt makes the server emit `delivered` to the author's inbox room, and the page marks
//!   the message "delivered".
//!
//! Why not a broadcast with acks: packets that wait for acks are not kept for connection
//! state recovery, so a member that was offline for a moment would miss the message.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tidings::{AckSender, Socket, State, TryData};

use crate::history::{Added, History, Receipt};
use crate::member::{self, Member};
use crate::reply::{Reply, malformed};
use crate::rooms;

/// The longest message, in characters.
pub(crate) const MAX_CHARS: usize = 2000;

/// The longest message id, in bytes.
const MAX_ID: usize = 64;

/// A message as the author's page sends it.
#[derive(Debug, Deserialize)]
pub(crate) struct Draft {
    id: String,
    room: String,
    text: String,
}

/// A message as the server keeps it and sends it.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) room: String,
    /// The author's nickname.
    pub(crate) from: String,
    pub(crate) text: String,
    /// When the server took it, in milliseconds since the Unix epoch.
    pub(crate) at: u64,
}

/// The ack of a message: the author's page marks it "sent".
#[derive(Debug, Serialize)]
struct Sent {
    id: String,
    at: u64,
}

/// A reader's receipt of a message.
#[derive(Debug, Deserialize)]
pub(crate) struct ReadReceipt {
    room: String,
    id: String,
}

/// What the author's inbox is told about the first receipt of a message.
#[derive(Debug, Serialize)]
struct Delivered<'a> {
    room: &'a str,
    id: &'a str,
    to: &'a str,
}

/// `message` (`{ id, room, text }`, ack): keeps the message and broadcasts it to the room.
pub(crate) fn send(
    socket: Socket,
    member: Member,
    TryData(draft): TryData<Draft>,
    State(history): State<History>,
    ack: AckSender,
) {
    let reply = draft
        .map_err(|e| malformed("message", e))
        .and_then(|draft| {
            rooms::joined(&socket, &draft.room)?;
            checked(draft)
        })
        .and_then(|draft| {
            let message = Message {
                id: draft.id,
                room: draft.room,
                from: member.nickname,
                text: draft.text,
                at: now(),
            };
            match history.add(message.clone()) {
                Added::New => {
                    let _ = socket.to(message.room.as_str()).emit("message", &message);
                    History::share(socket.ns(), &message);
                    Ok(Sent {
                        id: message.id,
                        at: message.at,
                    })
                }
                Added::Again(kept) => Ok(Sent {
                    id: kept.id,
                    at: kept.at,
                }),
                Added::Clash => Err(format!("message id {} is already used", message.id)),
            }
        });
    Reply::from(reply).send(ack);
}

/// `received` (`{ room, id }`, ack): tells the author of a message that it was received,
/// the first time.
pub(crate) fn received(
    socket: Socket,
    member: Member,
    TryData(receipt): TryData<ReadReceipt>,
    State(history): State<History>,
    ack: AckSender,
) {
    let reply = receipt
        .map_err(|e| malformed("receipt", e))
        .and_then(|receipt| {
            rooms::joined(&socket, &receipt.room)?;
            match history.receipt(&receipt.room, &receipt.id, &member.nickname) {
                Receipt::First { author } => {
                    let delivered = Delivered {
                        room: &receipt.room,
                        id: &receipt.id,
                        to: &member.nickname,
                    };
                    let inbox = member::inbox(&author);
                    let _ = socket.ns().to(inbox).emit("delivered", &delivered);
                    Ok(())
                }
                Receipt::Known => Ok(()),
                Receipt::Unknown => Err(format!(
                    "no message {} is kept in #{}",
                    receipt.id, receipt.room
                )),
            }
        });
    Reply::from(reply).send(ack);
}

/// `draft` with its text trimmed, if its id and text are acceptable.
fn checked(mut draft: Draft) -> Result<Draft, String> {
    let id_ok = (1..=MAX_ID).contains(&draft.id.len())
        && draft
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(format!(
            "a message id is 1 to {MAX_ID} letters, digits, '-' or '_'"
        ));
    }
    let text = draft.text.trim();
    if text.is_empty() {
        return Err("a message cannot be empty".to_owned());
    }
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(format!(
            "a message has at most {MAX_CHARS} characters (this one has {chars})"
        ));
    }
    draft.text = text.to_owned();
    Ok(draft)
}

/// Milliseconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(id: &str, text: &str) -> Draft {
        Draft {
            id: id.to_owned(),
            room: "lobby".to_owned(),
            text: text.to_owned(),
        }
    }

    const BAD_ID: &str = "a message id is 1 to 64 letters, digits, '-' or '_'";

    #[test]
    fn checks_drafts() {
        let longest = "x".repeat(MAX_CHARS);
        let too_long = "x".repeat(MAX_CHARS + 1);
        let long_id = "i".repeat(MAX_ID + 1);
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("m-1_a", "hello", Ok("hello")),
            ("m1", "  hi  ", Ok("hi")),
            ("m1", &longest, Ok(&longest)),
            ("m1", "", Err("a message cannot be empty")),
            ("m1", " \n ", Err("a message cannot be empty")),
            (
                "m1",
                &too_long,
                Err("a message has at most 2000 characters (this one has 2001)"),
            ),
            ("", "hi", Err(BAD_ID)),
            (&long_id, "hi", Err(BAD_ID)),
            ("a b", "hi", Err(BAD_ID)),
        ];
        for (id, text, expected) in cases {
            let checked = checked(draft(id, text)).map(|d| d.text);
            let expected = expected.map(str::to_owned).map_err(str::to_owned);
            assert_eq!(checked, expected, "{id:?} {text:?}");
        }
    }
}
