//! The Redis channels of one namespace, named as `@socket.io/redis-adapter` names them (see
//! PROTOCOL.md, A2): `P#N#` for broadcasts (`P#N#room#` for a broadcast to one room), and
//! `P-request#N#`, `P-response#N#`, `P-response#N#uid#` for requests and their answers.

use tidings::Room;

/// The channels of namespace `N` under prefix `P`, for the adapter with id `uid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Channels {
    /// `P#N#`: broadcasts to the whole namespace, or to several rooms.
    pub(crate) broadcast: String,
    /// `P#N#*`: every broadcast of the namespace, whatever its room.
    pub(crate) pattern: String,
    /// `P-request#N#`: requests to every server.
    pub(crate) request: String,
    /// `P-response#N#`: answers, for whoever asked.
    pub(crate) response: String,
    /// `P-response#N#uid#`: answers for this adapter alone.
    pub(crate) own_response: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str, namespace: &str, uid: &str) -> Channels {
        let response = format!("{prefix}-response#{namespace}#");
        Channels {
            broadcast: format!("{prefix}#{namespace}#"),
            pattern: format!("{prefix}#{namespace}#*"),
            request: format!("{prefix}-request#{namespace}#"),
            own_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// Where a broadcast to `rooms` goes: the room's own channel when there is exactly one,
    /// so that servers without that room can skip it without decoding it.
    pub(crate) fn broadcast_to(&self, rooms: &[Room]) -> String {
        match rooms {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }

    /// The room a broadcast channel names: `Some("")` for the namespace channel, `None` when
    /// the channel is not one of this namespace's broadcast channels.
    pub(crate) fn room_of<'a>(&self, channel: &'a str) -> Option<&'a str> {
        channel
            .strip_prefix(self.broadcast.as_str())
            .map(|rest| rest.strip_suffix('#').unwrap_or(rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_channels_as_node_does() {
        let channels = Channels::new("socket.io", "/", "fUAtj8");
        assert_eq!(channels.broadcast, "socket.io#/#");
        assert_eq!(channels.pattern, "socket.io#/#*");
        assert_eq!(channels.request, "socket.io-request#/#");
        assert_eq!(channels.response, "socket.io-response#/#");
        assert_eq!(channels.own_response, "socket.io-response#/#fUAtj8#");
        let chat = Channels::new("app", "/chat", "x");
        assert_eq!(chat.broadcast, "app#/chat#");
        assert_eq!(chat.request, "app-request#/chat#");
    }

    #[test]
    fn a_broadcast_to_one_room_goes_to_its_channel() {
        let channels = Channels::new("socket.io", "/", "u");
        let rooms = |names: &[&str]| names.iter().map(|n| Room::from(*n)).collect::<Vec<_>>();
        let cases: &[(&[&str], &str)] = &[
            (&[], "socket.io#/#"),
            (&["room1"], "socket.io#/#room1#"),
            (&["room1", "room2"], "socket.io#/#"),
        ];
        for (names, channel) in cases {
            assert_eq!(channels.broadcast_to(&rooms(names)), *channel, "{names:?}");
        }
    }

    #[test]
    fn reads_the_room_of_a_broadcast_channel() {
        let channels = Channels::new("socket.io", "/", "u");
        let cases: &[(&str, Option<&str>)] = &[
            ("socket.io#/#", Some("")),
            ("socket.io#/#room1#", Some("room1")),
            ("socket.io#/#a#b#", Some("a#b")),
            ("socket.io#/chat#", None),
            ("socket.io-request#/#", None),
        ];
        for (channel, room) in cases {
            assert_eq!(channels.room_of(channel), *room, "{channel}");
        }
    }
}
