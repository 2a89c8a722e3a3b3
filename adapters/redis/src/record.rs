//! The cluster's record for connection state recovery, as Redis keeps it, in the shapes of
//! Node's `@socket.io/redis-streams-adapter` (PROTOCOL.md, part D):
//!
//! - every broadcast a client may have to be given again is an entry of one stream, with
//!   the fields `uid` (the sending adapter), `nsp`, `type` (`"3"`, a broadcast) and `data`
//!   (base64 of the msgpack map `{packet, opts}`); the entry's id, `<ms>-<seq>`, is the
//!   packet's offset on every server;
//! - a disconnected socket's session is a key of its own, `<prefix><pid>`, holding base64 of
//!   the msgpack map `{sid, pid, rooms, data, nsp}`, which expires when the socket can no
//!   longer be recovered.
//!
//! The stream and the keys are Tidings' own (named after the cluster's prefix, not Node's
//! `socket.io` stream), so a Node server with the streams adapter on the same Redis does not
//! take them for its broadcasts.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use redis::Value;
use rmpv::Value as Pack;
use tidings::{Room, SessionState, Sid};

use crate::codec::{self, Event, Selection, WireError};

/// The `type` of a broadcast entry.
const BROADCAST: &str = "3";

/// A stream entry's id: the offset of a recorded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    /// Reads `<ms>-<seq>`; anything else (an offset of the in-memory adapter, a stray last
    /// argument the client took for an offset) is none.
    pub(crate) fn parse(text: &str) -> Option<StreamId> {
        let (ms, seq) = text.split_once('-')?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Where the record lives: its stream, and the prefix of its session keys.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    pub(crate) stream: String,
    session: String,
}

impl Keys {
    /// The keys of the cluster whose channels start with `prefix`.
    pub(crate) fn new(prefix: &str) -> Keys {
        Keys {
            stream: format!("{prefix}:recovery"),
            session: format!("{prefix}:session:"),
        }
    }

    pub(crate) fn session(&self, pid: Sid) -> String {
        format!("{}{pid}", self.session)
    }

    /// `XADD`s a broadcast of namespace `nsp` by adapter `uid`, keeping about `max_len`
    /// entries; its reply is the entry's id.
    pub(crate) fn record(
        &self,
        max_len: usize,
        uid: &str,
        nsp: &str,
        event: &Event,
        selection: &tidings::adapter::BroadcastOptions,
    ) -> redis::Cmd {
        let data = BASE64.encode(codec::encode_recorded(nsp, event, selection));
        let mut command = redis::cmd("XADD");
        command
            .arg(&self.stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(max_len)
            .arg("*")
            .arg("uid")
            .arg(uid)
            .arg("nsp")
            .arg(nsp)
            .arg("type")
            .arg(BROADCAST)
            .arg("data")
            .arg(data);
        command
    }

    /// Keeps `session` for `ttl`.
    pub(crate) fn persist(&self, session: &SessionState, nsp: &str, ttl: Duration) -> redis::Cmd {
        let mut command = redis::cmd("SET");
        command
            .arg(self.session(session.pid()))
            .arg(encode_session(session, nsp))
            .arg("PX")
            .arg(millis(ttl));
        command
    }

    /// Takes session `pid` out (it is restored once at most); its reply is the session or nil.
    pub(crate) fn take(&self, pid: Sid) -> redis::Cmd {
        let mut command = redis::cmd("GETDEL");
        command.arg(self.session(pid));
        command
    }

    /// The entries from `from` to `to`, both included, at most `count`: `(<id` for `from`
    /// leaves `<id>` out.
    pub(crate) fn range(&self, from: &str, to: &str, count: usize) -> redis::Cmd {
        let mut command = redis::cmd("XRANGE");
        command
            .arg(&self.stream)
            .arg(from)
            .arg(to)
            .arg("COUNT")
            .arg(count);
        command
    }
}

/// `duration` in milliseconds, for `PX` and `PEXPIRE` (at least 1).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `{sid, pid, rooms, data, nsp}` as msgpack, in base64.
fn encode_session(session: &SessionState, nsp: &str) -> String {
    let text = |s: &str| Pack::from(s);
    let rooms = session.rooms().iter().map(|room| text(room)).collect();
    let data = session.data_json().map_or(Pack::Nil, codec::json_to_pack);
    let map = Pack::Map(vec![
        (text("sid"), text(session.sid().as_str())),
        (text("pid"), text(session.pid().as_str())),
        (text("rooms"), Pack::Array(rooms)),
        (text("data"), data),
        (text("nsp"), text(nsp)),
    ]);
    BASE64.encode(codec::encode_pack(&map))
}

/// The session kept for namespace `nsp`, from what [`encode_session`] wrote.
pub(crate) fn decode_session(stored: &[u8], nsp: &str) -> Option<SessionState> {
    let bytes = BASE64.decode(stored).ok()?;
    let map = codec::decode_pack(&bytes).ok()?;
    let field = |key: &str| codec::field(&map, key);
    if field("nsp")?.as_str()? != nsp {
        return None;
    }
    let sid = field("sid")?.as_str()?.parse().ok()?;
    let pid = field("pid")?.as_str()?.parse().ok()?;
    let rooms = field("rooms")?
        .as_array()?
        .iter()
        .filter_map(|room| room.as_str().map(Room::from))
        .collect();
    let data = field("data")
        .filter(|data| !data.is_nil())
        .map(codec::pack_to_json);
    Some(SessionState::new(sid, pid, rooms, data))
}

/// A broadcast read back from the stream.
#[derive(Debug)]
pub(crate) struct Recorded {
    pub(crate) id: StreamId,
    pub(crate) nsp: String,
    pub(crate) event: Event,
    pub(crate) selection: Selection,
}

/// The entries of an `XRANGE` reply: the ids of all of them, in order, and the broadcasts
/// among them (an entry that is not one, or cannot be read, is skipped).
pub(crate) fn read_range(reply: Value) -> Result<(Vec<StreamId>, Vec<Recorded>), WireError> {
    let Value::Array(entries) = reply else {
        return Err(codec::malformed("XRANGE reply is not an array"));
    };
    let mut ids = Vec::with_capacity(entries.len());
    let mut recorded = Vec::new();
    for entry in entries {
        let Value::Array(mut parts) = entry else {
            return Err(codec::malformed("stream entry is not an array"));
        };
        let (Some(fields), Some(id)) = (parts.pop(), parts.pop()) else {
            return Err(codec::malformed("stream entry without fields"));
        };
        let id = text(&id)
            .and_then(StreamId::parse)
            .ok_or_else(|| codec::malformed("stream entry id"))?;
        ids.push(id);
        if let Some(broadcast) = read_broadcast(id, fields) {
            recorded.push(broadcast);
        }
    }
    Ok((ids, recorded))
}

fn read_broadcast(id: StreamId, fields: Value) -> Option<Recorded> {
    let pairs: Vec<(Value, Value)> = match fields {
        Value::Array(flat) => {
            let mut flat = flat.into_iter();
            std::iter::from_fn(|| Some((flat.next()?, flat.next()?))).collect()
        }
        Value::Map(pairs) => pairs,
        _ => return None,
    };
    let field = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| text(k) == Some(key))
            .and_then(|(_, v)| text(v))
    };
    if field("type")? != BROADCAST {
        return None;
    }
    let data = BASE64.decode(field("data")?).ok()?;
    let (event, selection) = codec::decode_recorded(&data).ok()?;
    Some(Recorded {
        id,
        nsp: field("nsp")?.to_owned(),
        event,
        selection,
    })
}

/// A reply's text, if it is one.
pub(crate) fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        Value::SimpleString(text) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stream_ids_and_nothing_else() {
        let id = StreamId::parse("1795345531840-7").expect("an id");
        assert_eq!(id.to_string(), "1795345531840-7");
        assert!(StreamId::parse("1795345531840-10") > Some(id));
        assert!(StreamId::parse("1795345531841-0") > Some(id));
        for bad in [
            "",
            "12",
            "-1",
            "1-",
            "a-1",
            "1-2-3",
            "+1-2",
            " 1-2",
            "99999999999999999999-1",
        ] {
            assert_eq!(StreamId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keeps_a_session_for_its_namespace_only() {
        let (sid, pid) = (Sid::new(), Sid::new());
        let rooms = vec![Room::from(sid.as_str()), Room::from("room1")];
        let data = serde_json::json!({"who": "A", "n": 7});
        let state = SessionState::new(sid, pid, rooms.clone(), Some(data.clone()));
        let stored = encode_session(&state, "/chat");
        let back = decode_session(stored.as_bytes(), "/chat").expect("a session");
        assert_eq!((back.sid(), back.pid()), (sid, pid));
        assert_eq!(back.rooms(), rooms);
        assert_eq!(back.data_json(), Some(&data));
        assert!(decode_session(stored.as_bytes(), "/").is_none());
        assert!(decode_session(b"not base64!", "/chat").is_none());
        assert!(decode_session(BASE64.encode(b"\x91\x01").as_bytes(), "/chat").is_none());
    }

    #[test]
    fn reads_recorded_broadcasts_back() {
        let event = Event {
            name: "tick".to_owned(),
            args: vec![0x92, 0x01, 0xc4, 0x01, 0xff],
        };
        let mut options = tidings::adapter::BroadcastOptions::default();
        options.rooms = vec![Room::from("r1")];
        options.except = vec![Room::from("r2")];
        let data = BASE64.encode(codec::encode_recorded("/", &event, &options));
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let fields = |kind: &str| {
            Value::Array(vec![
                bulk("uid"),
                bulk("u1"),
                bulk("nsp"),
                bulk("/"),
                bulk("type"),
                bulk(kind),
                bulk("data"),
                bulk(&data),
            ])
        };
        let reply = Value::Array(vec![
            Value::Array(vec![bulk("5-0"), fields("3")]),
            Value::Array(vec![bulk("5-1"), fields("4")]),
        ]);
        let (ids, recorded) = read_range(reply).expect("a range");
        assert_eq!(ids.len(), 2);
        let [broadcast] = recorded.as_slice() else {
            panic!("one broadcast: {recorded:?}")
        };
        assert_eq!(broadcast.id.to_string(), "5-0");
        assert_eq!(broadcast.event, event);
        assert_eq!(broadcast.selection.rooms, [Room::from("r1")]);
        assert_eq!(broadcast.selection.except, [Room::from("r2")]);
        assert!(read_range(Value::Nil).is_err());
    }
}
