//! The sharded channels of one namespace, named as Node's sharded adapter names them
//! (PROTOCOL.md, C2): `P#N#` for every server, `P#N#uid#` for the answers to one adapter, and
//! `P#N#room#` for the broadcasts to one room in the dynamic subscription mode.

use tidings::Room;

/// Which channels a server subscribes to, and so where single-room broadcasts go. Every
/// server of a cluster must use the same mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Two channels per namespace; every broadcast goes to the namespace's channel, which
    /// every server reads.
    Static,
    /// Also a channel per room with sockets on this server (not the sockets' own rooms): a
    /// broadcast to one such room goes to the room's channel, which only the servers with
    /// that room read. Node's default.
    #[default]
    Dynamic,
}

/// The channels of namespace `N` under prefix `P`, for the adapter with id `uid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Channels {
    /// `P#N#`: messages to every server of the namespace.
    pub(crate) main: String,
    /// `P#N#uid#`: answers to this adapter.
    pub(crate) own: String,
    pub(crate) mode: SubscriptionMode,
}

impl Channels {
    pub(crate) fn new(
        prefix: &str,
        namespace: &str,
        uid: &str,
        mode: SubscriptionMode,
    ) -> Channels {
        let main = format!("{prefix}#{namespace}#");
        Channels {
            own: format!("{main}{uid}#"),
            main,
            mode,
        }
    }

    /// `P#N#room#`, the channel of a room (and, alike, of the answers to adapter `room`).
    pub(crate) fn of(&self, room: &str) -> String {
        format!("{}{room}#", self.main)
    }

    /// Whether this server reads a channel of its own for `room`.
    pub(crate) fn subscribes_to(&self, room: &str) -> bool {
        self.mode == SubscriptionMode::Dynamic && !looks_like_a_socket_id(room)
    }

    /// Where a broadcast without acks to `rooms` goes: the room's channel when there is
    /// exactly one and the mode gives it one; the namespace's otherwise. A broadcast with
    /// acks always goes to the namespace's channel, as every server must answer it.
    pub(crate) fn broadcast_to(&self, rooms: &[Room]) -> String {
        match rooms {
            [room] if self.subscribes_to(room) => self.of(room),
            _ => self.main.clone(),
        }
    }
}

/// Node's test for a socket's own room: a string 20 UTF-16 units long.
fn looks_like_a_socket_id(room: &str) -> bool {
    room.encode_utf16().count() == 20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_channels_as_node_does() {
        let channels = Channels::new(
            "socket.io",
            "/",
            "238ba47362958e3c",
            SubscriptionMode::Dynamic,
        );
        assert_eq!(channels.main, "socket.io#/#");
        assert_eq!(channels.own, "socket.io#/#238ba47362958e3c#");
        assert_eq!(channels.of("room1"), "socket.io#/#room1#");
    }

    #[test]
    fn picks_the_channel_of_a_broadcast() {
        let rooms = |names: &[&str]| names.iter().map(|n| Room::from(*n)).collect::<Vec<_>>();
        let dynamic = Channels::new("p", "/chat", "u", SubscriptionMode::Dynamic);
        let fixed = Channels::new("p", "/chat", "u", SubscriptionMode::Static);
        let sid = "OwHHeU8o2UgPnZReAAAB";
        let cases: &[(&Channels, &[&str], &str)] = &[
            (&dynamic, &[], "p#/chat#"),
            (&dynamic, &["room1"], "p#/chat#room1#"),
            (&dynamic, &["room1", "room2"], "p#/chat#"),
            (&dynamic, &[sid], "p#/chat#"),
            (&fixed, &["room1"], "p#/chat#"),
        ];
        for (channels, names, channel) in cases {
            assert_eq!(channels.broadcast_to(&rooms(names)), *channel, "{names:?}");
        }
    }
}
