//! [`History`]: the last messages of each room, for pages that come back as new sockets.
//!
//! Connection state recovery hands a returning socket what it missed, but only when its
//! server still knows it: after a server restart, or past the recovery limit, the page
//! connects as a new socket. It then joins its rooms again, and each join answers with the
//! room's recent messages, which the page merges into what it shows (by message id).
//!
//! In a cluster every server keeps its own copy: a server that takes a message tells the
//! others (a server-side emit), which add it to theirs. A server started later knows the
//! messages sent since it started, not those before; the history is not in Redis.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tidings::Namespace;

use crate::messages::Message;

/// How many messages each room keeps.
pub(crate) const KEEP: usize = 50;

/// The event servers of a cluster tell each other new messages with.
const SHARED: &str = "history";

/// The recent messages of every room, shared by the handlers (as state) and cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct History(Arc<Mutex<HashMap<String, VecDeque<Entry>>>>);

#[derive(Debug)]
struct Entry {
    message: Message,
    /// Whether the author was told that someone received it.
    delivered: bool,
}

/// What [`History::add`] did.
#[derive(Debug, PartialEq)]
pub(crate) enum Added {
    /// The message is new.
    New,
    /// Its author sent it before (a retry): here is the message as first kept.
    Again(Message),
    /// Another author's message has this id.
    Clash,
}

/// What [`History::receipt`] found.
#[derive(Debug, PartialEq)]
pub(crate) enum Receipt {
    /// The first receipt of the message: its author is to be told.
    First { author: String },
    /// The author was told already, or is the reader.
    Known,
    /// No such message is kept.
    Unknown,
}

impl History {
    /// Keeps `message` as its room's latest, the oldest going past [`KEEP`].
    pub(crate) fn add(&self, message: Message) -> Added {
        let mut rooms = self.lock();
        let entries = rooms.entry(message.room.clone()).or_default();
        if let Some(kept) = entries.iter().find(|e| e.message.id == message.id) {
            return if kept.message.from == message.from {
                Added::Again(kept.message.clone())
            } else {
                Added::Clash
            };
        }
        if entries.len() == KEEP {
            entries.pop_front();
        }
        entries.push_back(Entry {
            message,
            delivered: false,
        });
        Added::New
    }

    /// The messages `room` keeps, oldest first.
    pub(crate) fn recent(&self, room: &str) -> Vec<Message> {
        self.lock()
            .get(room)
            .map(|entries| entries.iter().map(|e| e.message.clone()).collect())
            .unwrap_or_default()
    }

    /// `reader` received message `id` of `room`.
    pub(crate) fn receipt(&self, room: &str, id: &str, reader: &str) -> Receipt {
        let mut rooms = self.lock();
        let entry = rooms
            .get_mut(room)
            .and_then(|entries| entries.iter_mut().find(|e| e.message.id == id));
        match entry {
            None => Receipt::Unknown,
            Some(entry) if entry.delivered || entry.message.from == reader => Receipt::Known,
            Some(entry) => {
                entry.delivered = true;
                Receipt::First {
                    author: entry.message.from.clone(),
                }
            }
        }
    }

    /// Tells the other servers of the cluster about `message` (nothing without a cluster).
    pub(crate) fn share(namespace: &Namespace, message: &Message) {
        let _ = namespace.server_side_emit(SHARED, message);
    }

    /// Keeps the messages the other servers of `namespace`'s cluster share.
    pub(crate) fn replicate(&self, namespace: &Namespace) {
        let history = self.clone();
        namespace.on_server_side_emit(move |packet, _reply| {
            if packet.event == SHARED {
                if let Ok(message) = packet.args.decode::<Message>() {
                    history.add(message);
                }
            }
        });
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Entry>>> {
        // A panic while the lock was held leaves whole entries behind: keep going.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, from: &str) -> Message {
        Message {
            id: id.to_owned(),
            room: "lobby".to_owned(),
            from: from.to_owned(),
            text: format!("{id} from {from}"),
            at: 0,
        }
    }

    #[test]
    fn keeps_the_latest_messages_of_each_room() {
        let history = History::default();
        for i in 0..KEEP + 5 {
            assert_eq!(history.add(message(&i.to_string(), "ann")), Added::New);
        }
        let kept: Vec<String> = history.recent("lobby").into_iter().map(|m| m.id).collect();
        let expected: Vec<String> = (5..KEEP + 5).map(|i| i.to_string()).collect();
        assert_eq!(kept, expected);
        assert!(history.recent("rust").is_empty());
    }

    #[test]
    fn tells_retries_from_clashes() {
        let history = History::default();
        assert_eq!(history.add(message("m1", "ann")), Added::New);
        let mut retry = message("m1", "ann");
        retry.at = 99;
        assert_eq!(history.add(retry), Added::Again(message("m1", "ann")));
        assert_eq!(history.add(message("m1", "bob")), Added::Clash);
        assert_eq!(history.recent("lobby").len(), 1);
    }

    #[test]
    fn reports_the_first_receipt_only() {
        let history = History::default();
        history.add(message("m1", "ann"));
        assert_eq!(history.receipt("lobby", "m1", "ann"), Receipt::Known);
        let first = Receipt::First {
            author: "ann".to_owned(),
        };
        assert_eq!(history.receipt("lobby", "m1", "bob"), first);
        assert_eq!(history.receipt("lobby", "m1", "cy"), Receipt::Known);
        assert_eq!(history.receipt("lobby", "m2", "bob"), Receipt::Unknown);
        assert_eq!(history.receipt("rust", "m1", "bob"), Receipt::Unknown);
    }
}
