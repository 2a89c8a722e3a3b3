//! One connection's protocol state, without IO: client bytes in, server frames out (into
//! [`Session::out`]) and room operations on the way.
//!
//! Engine.IO: `2`/`3` (ping/pong), `1` (close), `6` (noop), `4` (message). Socket.IO on `/`
//! only: `40` (connect), `41` (disconnect), `42[<id>]` events of the bench contract, `43`
//! (client acks, ignored). Arguments are never re-serialized: they are slices of the
//! client's JSON text ([`RawValue`]).

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use tidings_transports::packet::websocket::{Decoder, Event, OpCode, encode};

use crate::rooms::{Peer, Rooms};

/// How often the server pings.
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(25);
/// How long the client has to answer a ping (announced; the server closes a connection
/// whose last ping is unanswered when the next one is due).
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest message accepted, in bytes.
pub(crate) const MAX_PAYLOAD: usize = 1_000_000;

/// The Engine.IO ping, as a frame.
const PING_FRAME: &[u8] = &[0x81, 1, b'2'];

/// How a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The client went away (or must be dropped without a word).
    Gone,
    /// Send a close frame, with this code (none when the client's close had none).
    Close(Option<u16>),
}

/// A malformed or unsupported packet: close code 1002.
const MALFORMED: End = End::Close(Some(1002));

/// A `bcast` event's argument.
#[derive(Debug, Deserialize)]
struct Bcast<'a> {
    /// The room to emit to.
    #[serde(borrow)]
    room: Cow<'a, str>,
    /// The data of the `msg` event, as the client wrote it.
    #[serde(borrow)]
    data: &'a RawValue,
}

/// One connection's protocol state.
#[derive(Debug)]
pub(crate) struct Session {
    /// The client's frames.
    decoder: Decoder,
    /// Every room.
    rooms: Arc<Rooms>,
    /// This connection's queue, as the rooms know it.
    peer: Arc<Peer>,
    /// The rooms this connection joined.
    joined: Vec<Box<str>>,
    /// Whether the client is connected to `/`.
    connected: bool,
    /// Whether the last ping is unanswered.
    awaiting_pong: bool,
    /// Frames for this connection only (replies, pings), to write before the queued ones.
    pub(crate) out: Vec<u8>,
}

impl Session {
    /// A session whose broadcasts reach `peer` through `rooms`.
    pub(crate) fn new(rooms: Arc<Rooms>, peer: Arc<Peer>) -> Self {
        Session {
            decoder: Decoder::new(MAX_PAYLOAD),
            rooms,
            peer,
            joined: Vec::new(),
            connected: false,
            awaiting_pong: false,
            out: Vec::new(),
        }
    }

    /// Handles bytes read from the client.
    pub(crate) fn on_input(&mut self, mut input: &[u8]) -> Result<(), End> {
        loop {
            let event = self.decoder.decode(&mut input);
            match event.map_err(|error| End::Close(Some(error.close_code())))? {
                None => return Ok(()),
                Some(Event::Text(text)) => self.on_text(text.as_str())?,
                Some(Event::Binary(_)) => return Err(End::Close(Some(1003))),
                Some(Event::Ping(data)) => encode(OpCode::Pong, &data, &mut self.out),
                Some(Event::Pong) => {}
                Some(Event::Close(1005)) => return Err(End::Close(None)),
                Some(Event::Close(code)) => return Err(End::Close(Some(code))),
            }
        }
    }

    /// The ping timer fired: pings, or ends the connection if the last ping is unanswered.
    pub(crate) fn on_ping_due(&mut self) -> Result<(), End> {
        if self.awaiting_pong {
            return Err(End::Gone);
        }
        self.awaiting_pong = true;
        self.out.extend_from_slice(PING_FRAME);
        Ok(())
    }

    /// Leaves every room joined.
    pub(crate) fn leave_all(&mut self) {
        for room in self.joined.drain(..) {
            self.rooms.leave(&room, &self.peer);
        }
        self.joined = Vec::new();
    }

    /// Handles an Engine.IO packet.
    fn on_text(&mut self, text: &str) -> Result<(), End> {
        let Some(rest) = text.get(1..) else {
            return Err(MALFORMED);
        };
        match text.as_bytes()[0] {
            b'4' => self.on_socketio(rest),
            b'3' => {
                self.awaiting_pong = false;
                Ok(())
            }
            b'2' => {
                self.reply(format!("3{rest}"));
                Ok(())
            }
            b'6' => Ok(()),
            b'1' => Err(End::Close(Some(1000))),
            _ => Err(MALFORMED),
        }
    }

    /// Handles a Socket.IO packet.
    fn on_socketio(&mut self, packet: &str) -> Result<(), End> {
        let Some(rest) = packet.get(1..) else {
            return Err(MALFORMED);
        };
        // The namespace, `/` when the packet names none.
        let (nsp, rest) = match rest.strip_prefix('/') {
            Some(_) => rest.split_once(',').unwrap_or((rest, "")),
            None => ("/", rest),
        };
        match packet.as_bytes()[0] {
            b'0' if nsp != "/" => {
                self.reply(format!(r#"44{nsp},{{"message":"Invalid namespace"}}"#));
                Ok(())
            }
            b'0' => {
                self.connected = true;
                self.reply(format!(r#"40{{"sid":"{}"}}"#, new_id()));
                Ok(())
            }
            b'1' if nsp == "/" => {
                self.connected = false;
                self.leave_all();
                Ok(())
            }
            b'2' if nsp == "/" && self.connected => self.on_event(rest),
            b'1'..=b'3' => Ok(()),
            _ => Err(MALFORMED),
        }
    }

    /// Handles an event: `[<ack id>]["name",...args]`.
    fn on_event(&mut self, packet: &str) -> Result<(), End> {
        let json_at = packet.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
        let (id, json) = packet.split_at(json_at);
        let id: Option<u64> = match id {
            "" => None,
            id => Some(id.parse().map_err(|_| MALFORMED)?),
        };
        let args: Vec<&RawValue> = serde_json::from_str(json).map_err(|_| MALFORMED)?;
        let Some((name, args)) = args.split_first() else {
            return Err(MALFORMED);
        };
        let name: Cow<'_, str> = serde_json::from_str(name.get()).map_err(|_| MALFORMED)?;
        match &*name {
            "echo" => {
                if let Some(id) = id {
                    let mut ack = format!("43{id}[");
                    for (i, arg) in args.iter().enumerate() {
                        if i > 0 {
                            ack.push(',');
                        }
                        ack.push_str(arg.get());
                    }
                    ack.push(']');
                    self.reply(ack);
                }
            }
            "join" => {
                let room = args.first().ok_or(MALFORMED)?;
                let room: Cow<'_, str> = serde_json::from_str(room.get()).map_err(|_| MALFORMED)?;
                if !self.joined.iter().any(|joined| **joined == *room) {
                    self.rooms.join(&room, &self.peer);
                    self.joined.push(room.into());
                }
                self.ack(id, r#"["ok"]"#);
            }
            "bcast" => {
                let bcast = args.first().ok_or(MALFORMED)?;
                let bcast: Bcast<'_> = serde_json::from_str(bcast.get()).map_err(|_| MALFORMED)?;
                let data = bcast.data.get();
                let mut payload = String::with_capacity(9 + data.len());
                payload.push_str(r#"42["msg","#);
                payload.push_str(data);
                payload.push(']');
                let mut frame = Vec::new();
                encode(OpCode::Text, payload.as_bytes(), &mut frame);
                self.rooms.broadcast(&bcast.room, &Bytes::from(frame));
                self.ack(id, "[]");
            }
            _ => self.ack(id, "[]"),
        }
        Ok(())
    }

    /// Acks `id` (if the client asked for an ack) with the JSON array `args`.
    fn ack(&mut self, id: Option<u64>, args: &str) {
        if let Some(id) = id {
            let mut ack = String::with_capacity(24 + args.len());
            let _ = write!(ack, "43{id}{args}");
            self.reply(ack);
        }
    }

    /// Queues an Engine.IO packet (`43…` is a Socket.IO ack in an Engine.IO message).
    fn reply(&mut self, packet: String) {
        encode(OpCode::Text, packet.as_bytes(), &mut self.out);
    }
}

/// A random 20-character id (`[A-Za-z0-9_-]`), for Engine.IO and Socket.IO sids.
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let seed = SEED.get_or_init(RandomState::new);
    let bits = (u128::from(seed.hash_one((n, 0u8))) << 64) | u128::from(seed.hash_one((n, 1u8)));
    (0..20)
        .map(|i| char::from(ALPHABET[((bits >> (i * 6)) & 63) as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use tidings_transports::packet::websocket::encode_client_frame;

    use super::*;

    /// The text frames a server frame stream holds.
    fn texts(mut bytes: &[u8]) -> Vec<String> {
        let mut texts = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(bytes[0], 0x81, "a final text frame");
            let (len, at) = match bytes[1] {
                126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
                len => (usize::from(len), 2),
            };
            texts.push(String::from_utf8(bytes[at..at + len].to_vec()).expect("UTF-8"));
            bytes = &bytes[at + len..];
        }
        texts
    }

    /// Sends `text` in a client frame; returns the text frames the session answered.
    fn send(session: &mut Session, text: &str) -> Result<Vec<String>, End> {
        let mut frame = Vec::new();
        encode_client_frame(0x81, text.as_bytes(), Some([1, 2, 3, 4]), &mut frame);
        session.on_input(&frame)?;
        Ok(texts(&std::mem::take(&mut session.out)))
    }

    /// A session connected to `/`, and its queue.
    fn connected(rooms: &Arc<Rooms>) -> (Session, Arc<Peer>) {
        let peer = Arc::new(Peer::default());
        let mut session = Session::new(Arc::clone(rooms), Arc::clone(&peer));
        let replies = send(&mut session, "40").expect("connects");
        assert!(replies[0].starts_with(r#"40{"sid":""#), "{replies:?}");
        assert_eq!(replies[0].len(), r#"40{"sid":""}"#.len() + 20);
        (session, peer)
    }

    #[test]
    fn answers_the_contract() {
        let rooms = Arc::new(Rooms::default());
        let (mut a, a_peer) = connected(&rooms);
        let (mut b, b_peer) = connected(&rooms);
        let cases: &[(&str, Result<&[&str], End>)] = &[
            (
                r#"421["echo",{"a": [1, "x"]},"y"]"#,
                Ok(&[r#"431[{"a": [1, "x"]},"y"]"#]),
            ),
            (r#"42["echo",1]"#, Ok(&[])),
            (r#"427["echo"]"#, Ok(&["437[]"])),
            (r#"422["join","r"]"#, Ok(&[r#"432["ok"]"#])),
            (r#"423["join","r"]"#, Ok(&[r#"433["ok"]"#])),
            (r#"42["other"]"#, Ok(&[])),
            ("2", Ok(&["3"])),
            ("3", Ok(&[])),
            ("6", Ok(&[])),
            (
                "40/admin,",
                Ok(&[r#"44/admin,{"message":"Invalid namespace"}"#]),
            ),
            (r#"42/admin,["echo"]"#, Ok(&[])),
            ("1", Err(End::Close(Some(1000)))),
            ("", Err(MALFORMED)),
            ("4", Err(MALFORMED)),
            ("9", Err(MALFORMED)),
            ("42", Err(MALFORMED)),
            ("42[]", Err(MALFORMED)),
            ("42[1]", Err(MALFORMED)),
            (r#"42["join"]"#, Err(MALFORMED)),
            (r#"42["join",1]"#, Err(MALFORMED)),
            (r#"42["bcast","r"]"#, Err(MALFORMED)),
            (r#"4299999999999999999999["echo"]"#, Err(MALFORMED)),
            (r#"42["echo",1"#, Err(MALFORMED)),
        ];
        for (packet, expected) in cases {
            let expected = expected.map(|texts| texts.iter().map(|t| t.to_string()).collect());
            assert_eq!(send(&mut a, packet), expected, "{packet}");
        }
        assert_eq!(send(&mut b, r#"42["join","r"]"#), Ok(vec![]));
        assert_eq!(
            send(&mut b, r#"425["bcast",{"data":{"n": 1},"room":"r"}]"#),
            Ok(vec!["435[]".into()])
        );
        assert_eq!(
            send(&mut b, r#"42["bcast",{"room":"none","data":2}]"#),
            Ok(vec![])
        );
        let a_frames = a_peer.take().expect("no overflow");
        let b_frames = b_peer.take().expect("no overflow");
        assert_eq!(a_frames, b_frames);
        assert_eq!(texts(&a_frames[0]), [r#"42["msg",{"n": 1}]"#]);
        assert!(
            a_frames[0].as_ptr() == b_frames[0].as_ptr(),
            "one frame, shared"
        );
        b.leave_all();
        assert_eq!(rooms.broadcast("r", &Bytes::new()), 1);
    }

    #[test]
    fn events_wait_for_connect_and_stop_at_disconnect() {
        let rooms = Arc::new(Rooms::default());
        let mut session = Session::new(Arc::clone(&rooms), Arc::default());
        assert_eq!(send(&mut session, r#"421["echo"]"#), Ok(vec![]));
        assert!(send(&mut session, "40").is_ok());
        assert_eq!(
            send(&mut session, r#"421["join","r"]"#).map(|r| r.len()),
            Ok(1)
        );
        assert_eq!(send(&mut session, "41"), Ok(vec![]));
        assert_eq!(rooms.broadcast("r", &Bytes::new()), 0);
        assert_eq!(send(&mut session, r#"421["echo"]"#), Ok(vec![]));
    }

    #[test]
    fn pings_and_times_out() {
        let mut session = Session::new(Arc::default(), Arc::default());
        assert_eq!(session.on_ping_due(), Ok(()));
        assert_eq!(texts(&std::mem::take(&mut session.out)), ["2"]);
        assert_eq!(send(&mut session, "3"), Ok(vec![]));
        assert_eq!(session.on_ping_due(), Ok(()));
        assert_eq!(session.on_ping_due(), Err(End::Gone));
    }

    #[test]
    fn ids_are_distinct() {
        let (a, b) = (new_id(), new_id());
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
    }
}
