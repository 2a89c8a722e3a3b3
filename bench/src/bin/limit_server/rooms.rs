//! Rooms, and the outbound queue of each connection that broadcasts push into.
//!
//! A broadcast holds the room map's read lock while it pushes one `Bytes` (a reference-count
//! bump) into each member's queue and wakes the member's task if the queue was empty. The
//! queue is a plain `Vec` behind a mutex, with the waker of the task that drains it: no
//! channel and no preallocated capacity, so an idle connection's queue is a few words.

use std::collections::HashMap;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

/// The most frame bytes a connection may have queued; past it the connection is closed, as
/// a client that reads this slowly can no longer be measured.
const MAX_QUEUED: usize = 16 << 20;

/// The outbound queue of one connection, shared with the rooms it joined.
#[derive(Debug, Default)]
pub(crate) struct Peer {
    /// The frames waiting to be written, and who waits for them.
    queue: Mutex<Queue>,
}

/// What a [`Peer`] holds behind its mutex.
#[derive(Debug, Default)]
struct Queue {
    /// The frames, oldest first.
    frames: Vec<Bytes>,
    /// The length of `frames` in bytes.
    bytes: usize,
    /// The task to wake when the first frame arrives.
    waker: Option<Waker>,
    /// Set when the connection ends (nothing is queued any more) or overflowed.
    closed: bool,
    /// Set when more than [`MAX_QUEUED`] bytes were queued.
    overflowed: bool,
}

/// Why a connection's queue cannot be drained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overflow;

impl Peer {
    /// Locks the queue (a panic elsewhere while it was locked leaves it usable).
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a frame, and wakes the connection's task if it waits for one.
    pub(crate) fn push(&self, frame: &Bytes) {
        let waker = {
            let mut queue = self.lock();
            if queue.closed {
                return;
            }
            queue.bytes += frame.len();
            if queue.bytes > MAX_QUEUED {
                queue.closed = true;
                queue.overflowed = true;
                queue.frames = Vec::new();
            } else {
                queue.frames.push(frame.clone());
            }
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Ready when frames are queued (or the queue overflowed); otherwise registers the task.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut queue = self.lock();
        if !queue.frames.is_empty() || queue.overflowed {
            return Poll::Ready(());
        }
        match &queue.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => queue.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Takes every queued frame (leaving the queue without capacity).
    pub(crate) fn take(&self) -> Result<Vec<Bytes>, Overflow> {
        let mut queue = self.lock();
        if queue.overflowed {
            return Err(Overflow);
        }
        queue.bytes = 0;
        Ok(mem::take(&mut queue.frames))
    }

    /// Refuses further frames and drops the queued ones and the waker.
    pub(crate) fn close(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.frames = Vec::new();
        queue.waker = None;
    }
}

/// Every room with its members.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    /// Room name → members, each once.
    map: RwLock<HashMap<Box<str>, Vec<Arc<Peer>>>>,
}

impl Rooms {
    /// Adds `peer` to `room` (the caller makes sure it is not a member yet).
    pub(crate) fn join(&self, room: &str, peer: &Arc<Peer>) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        match map.get_mut(room) {
            Some(members) => members.push(Arc::clone(peer)),
            None => {
                map.insert(room.into(), vec![Arc::clone(peer)]);
            }
        }
    }

    /// Removes `peer` from `room`, and the room once it is empty.
    pub(crate) fn leave(&self, room: &str, peer: &Arc<Peer>) {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(members) = map.get_mut(room) {
            if let Some(at) = members.iter().position(|m| Arc::ptr_eq(m, peer)) {
                members.swap_remove(at);
            }
            if members.is_empty() {
                map.remove(room);
            }
        }
    }

    /// Pushes `frame` to every member of `room`; returns how many there were.
    pub(crate) fn broadcast(&self, room: &str, frame: &Bytes) -> usize {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        let Some(members) = map.get(room) else {
            return 0;
        };
        for member in members {
            member.push(frame);
        }
        members.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_reach_members_only() {
        let rooms = Rooms::default();
        let (a, b, c) = (Arc::default(), Arc::default(), Arc::default());
        rooms.join("r", &a);
        rooms.join("r", &b);
        rooms.join("s", &c);
        let frame = Bytes::from_static(b"frame");
        assert_eq!(rooms.broadcast("r", &frame), 2);
        assert_eq!(a.take(), Ok(vec![frame.clone()]));
        assert_eq!(b.take(), Ok(vec![frame.clone()]));
        assert_eq!(c.take(), Ok(vec![]));
        rooms.leave("r", &a);
        rooms.leave("r", &b);
        assert_eq!(rooms.broadcast("r", &frame), 0);
        assert!(rooms.map.read().expect("not poisoned").get("r").is_none());
    }

    #[test]
    fn overflow_and_close() {
        let peer = Peer::default();
        let big = Bytes::from(vec![0; MAX_QUEUED / 2 + 1]);
        peer.push(&big);
        assert_eq!(peer.take().map(|f| f.len()), Ok(1));
        peer.push(&big);
        peer.push(&big);
        assert_eq!(peer.take(), Err(Overflow));
        let closed = Peer::default();
        closed.close();
        closed.push(&big);
        assert_eq!(closed.take(), Ok(vec![]));
    }
}
