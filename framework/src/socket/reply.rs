//! [`Reply`]: the ack the server owes the client for one event.
//!
//! Every handler an event reaches shares it. The first [`send`](Reply::send) answers the
//! client; if no handler sends one, an empty ack goes out once the last of them has finished
//! (when the last share drops), so a client that emits with `retries` or a timeout learns that
//! the event arrived even when its handler has nothing to say. A handler that panicked did
//! not handle the event: then no empty ack goes out, and a client with `retries` sends the
//! event again.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::Socket;
use crate::EmitError;

/// An ack owed to the client for event `id`; shared by the handlers of that event.
#[derive(Debug)]
pub(crate) struct Reply {
    socket: Socket,
    id: u64,
    sent: AtomicBool,
    /// A handler panicked: no empty ack.
    failed: AtomicBool,
}

impl Reply {
    pub(crate) fn new(socket: Socket, id: u64) -> Reply {
        Reply {
            socket,
            id,
            sent: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }
    }

    /// Sends the ack with `data`, unless it was already sent: the client takes one ack per
    /// event.
    pub(crate) fn send<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), EmitError> {
        if self.sent.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.socket.send_ack(self.id, data)
    }

    /// A handler of the event panicked: the empty ack is not sent. An ack a handler sends
    /// still is.
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Release);
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !*self.sent.get_mut() && !*self.failed.get_mut() {
            // The socket may be gone by now; then nobody waits for the ack anyway.
            let _ = self.socket.send_ack(self.id, &());
        }
    }
}
