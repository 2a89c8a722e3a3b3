//! The socket's side of connection state recovery: what it leaves behind when it
//! disconnects, and how a recovered socket catches up without losing, repeating or
//! reordering a packet.
//!
//! A recovered socket is back in its namespace and rooms before its adapter is asked for
//! the packets it missed, so nothing sent meanwhile can fall between the two. What it is sent
//! directly in that time is held; once it has the missed packets it sends the CONNECT reply,
//! the missed packets, then the held ones that were not among them (told apart by their
//! offsets), and only then takes packets directly.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tidings_transports::Message;

use super::{DisconnectReason, Socket};
use crate::Sid;
use crate::recovery::{MissedPacket, SessionState, recoverable};
use crate::sync::{lock, read};

/// A socket's part in connection state recovery.
#[derive(Debug)]
pub(crate) struct Recovering {
    /// The private session id its client presents to recover it.
    pid: Sid,
    /// It took over the state of a socket that had disconnected.
    pub(super) recovered: bool,
    /// Packets sent to it before it caught up, with their offsets; `Some` while it catches
    /// up.
    held: Mutex<Option<Vec<Held>>>,
}

impl Recovering {
    /// The recovery of a new socket (`recovered` false), or of one that catches up.
    pub(super) fn new(pid: Sid, recovered: bool) -> Box<Recovering> {
        Box::new(Recovering {
            pid,
            recovered,
            held: Mutex::new(recovered.then(Vec::new)),
        })
    }
}

/// A packet sent to a socket while it was catching up.
#[derive(Debug)]
struct Held {
    offset: Option<Arc<str>>,
    messages: Vec<Message>,
}

impl Socket {
    /// The private session id of the socket, when recovery is on.
    pub(crate) fn pid(&self) -> Option<Sid> {
        self.0.recovery.as_ref().map(|r| r.pid)
    }

    /// The CONNECT reply: the socket's id, and its private session id when recovery is on;
    /// counted as sent.
    pub(crate) fn connect_reply(&self) -> Message {
        if let Some(metrics) = self.ns().metrics() {
            metrics.connect_sent();
        }
        let pid = self.pid().map(|pid| pid.to_string());
        self.parser()
            .connect(self.namespace(), self.id().as_str(), pid.as_deref())
    }

    /// Keeps what a socket leaving for `reason` needs to be recovered, when recovery is on
    /// and its client will come back by itself. Called while it is still in its rooms.
    pub(crate) fn persist(&self, reason: DisconnectReason) {
        if !recoverable(reason) {
            return;
        }
        if let Some(state) = self.session_state() {
            self.ns().adapter().persist_session(state);
        }
    }

    /// Tells the adapter the state of the connected socket, when recovery is on: it has
    /// connected, or its data changed.
    pub(crate) fn track(&self) {
        if self.connected()
            && let Some(state) = self.session_state()
        {
            self.ns().adapter().track_session(state);
        }
    }

    fn session_state(&self) -> Option<SessionState> {
        Some(SessionState {
            sid: self.id(),
            pid: self.pid()?,
            rooms: self.rooms(),
            data: read(&self.0.data).clone(),
            data_json: read(&self.0.data_json).clone(),
        })
    }

    /// Keeps a packet sent to this socket while it catches up; drops it when the socket is
    /// not recovering (it is still connecting, or has disconnected). Sends it when the socket
    /// caught up meanwhile.
    pub(super) fn hold(&self, messages: &[Message], offset: Option<&Arc<str>>) {
        let Some(recovery) = &self.0.recovery else {
            return;
        };
        let mut held = lock(&recovery.held);
        match held.as_mut() {
            Some(held) => held.push(Held {
                offset: offset.cloned(),
                messages: messages.to_vec(),
            }),
            None if self.connected() => {
                drop(held);
                let _ = self.0.session.send_all(messages);
            }
            None => {}
        }
    }

    /// Sends the CONNECT reply, the packets the socket missed, then those held meanwhile that
    /// were not among them, and marks the socket connected: packets go out directly from now
    /// on.
    pub(crate) fn resume(&self, missed: Vec<MissedPacket>) {
        let Some(recovery) = &self.0.recovery else {
            return;
        };
        let session = &self.0.session;
        let mut held = lock(&recovery.held);
        let _ = session.send(self.connect_reply());
        let seen: HashSet<Arc<str>> = missed.iter().map(|p| p.offset.clone()).collect();
        // The adapter keeps these packets anyway: they do not count against the queue's
        // bound, so a long absence does not make the catching up look like a slow client.
        for packet in missed {
            let _ = session.send_kept(&packet.messages);
        }
        for packet in held.take().unwrap_or_default() {
            if packet.offset.is_none_or(|offset| !seen.contains(&offset)) {
                let _ = session.send_kept(&packet.messages);
            }
        }
        self.connected_now();
    }

    /// Stops holding packets: the socket will not catch up (it disconnected, or could not be
    /// recovered after all).
    pub(crate) fn drop_held(&self) {
        if let Some(recovery) = &self.0.recovery {
            *lock(&recovery.held) = None;
        }
    }
}
