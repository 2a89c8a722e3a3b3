//! [`Store`]: the in-memory adapter's record for connection state recovery, per namespace:
//! the packets sent lately, with their offsets and recipients, and the sessions of
//! disconnected sockets.
//!
//! Offsets count up from 1 in a namespace, so a packet is found by subtraction. Packets are
//! forgotten once older than the disconnection limit or beyond the count limit; sessions once
//! older than the disconnection limit. Both are pruned as new ones come, so the store never
//! holds more than its limits allow.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tidings_transports::Message;

use super::{MissedPacket, Recovery, SessionState};
use crate::Sid;
use crate::adapter::{BroadcastOptions, Room};
use crate::sync::lock;

/// The record of one namespace.
#[derive(Debug)]
pub(crate) struct Store {
    config: Recovery,
    log: Mutex<Log>,
}

#[derive(Debug, Default)]
struct Log {
    /// Consecutive offsets: `packets[i]` has offset `first + i`.
    packets: VecDeque<Sent>,
    first: u64,
    sessions: HashMap<Sid, (SessionState, Instant)>,
    /// Sessions by age, to forget the expired ones without a scan.
    persisted: VecDeque<(Instant, Sid)>,
}

#[derive(Debug)]
struct Sent {
    at: Instant,
    offset: Arc<str>,
    rooms: Vec<Room>,
    except: Vec<Room>,
    messages: Vec<Message>,
}

/// The store, locked: broadcasts hold it while they log and deliver a packet, so every
/// socket gets packets in offset order.
#[derive(Debug)]
pub(crate) struct Logging<'a> {
    store: &'a Store,
    log: MutexGuard<'a, Log>,
}

impl Store {
    pub(crate) fn new(config: Recovery) -> Store {
        Store {
            config,
            log: Mutex::new(Log {
                first: 1,
                ..Log::default()
            }),
        }
    }

    /// Locks the store for a broadcast.
    pub(crate) fn lock(&self) -> Logging<'_> {
        Logging {
            store: self,
            log: lock(&self.log),
        }
    }

    /// Keeps a disconnected socket's state.
    pub(crate) fn persist(&self, state: SessionState) {
        let now = Instant::now();
        let mut log = lock(&self.log);
        self.prune_sessions(&mut log, now);
        log.persisted.push_back((now, state.pid));
        log.sessions.insert(state.pid, (state, now));
    }

    /// Takes the state of session `pid` back, if it has not expired and every packet after
    /// `offset` is still kept.
    pub(crate) fn restore(&self, pid: Sid, offset: &str) -> Option<SessionState> {
        let now = Instant::now();
        let mut log = lock(&self.log);
        self.prune_sessions(&mut log, now);
        self.prune_packets(&mut log, now);
        let (state, _) = log.sessions.remove(&pid)?;
        log.index_after(offset)?;
        Some(state)
    }

    /// The packets after `offset` meant for `state`'s socket, in order; `None` when some
    /// were forgotten meanwhile.
    pub(crate) fn missed(&self, state: &SessionState, offset: &str) -> Option<Vec<MissedPacket>> {
        let log = lock(&self.log);
        let from = log.index_after(offset)?;
        Some(
            log.packets
                .range(from..)
                .filter(|sent| state.selected_by(&sent.rooms, &sent.except))
                .map(|sent| MissedPacket {
                    offset: sent.offset.clone(),
                    messages: sent.messages.clone(),
                })
                .collect(),
        )
    }

    fn prune_sessions(&self, log: &mut Log, now: Instant) {
        let limit = self.config.max_disconnection_duration;
        while let Some(&(at, pid)) = log.persisted.front() {
            if now.duration_since(at) < limit {
                break;
            }
            log.persisted.pop_front();
            // The pid may have been persisted again since: only the entry of that time goes.
            if log.sessions.get(&pid).is_some_and(|(_, kept)| *kept == at) {
                log.sessions.remove(&pid);
            }
        }
    }

    fn prune_packets(&self, log: &mut Log, now: Instant) {
        let limit = self.config.max_disconnection_duration;
        while let Some(sent) = log.packets.front() {
            if log.packets.len() <= self.config.max_packets && now.duration_since(sent.at) < limit {
                break;
            }
            log.packets.pop_front();
            log.first += 1;
        }
    }
}

impl Log {
    /// Where the packets after `offset` start in `packets`: `None` when `offset` is not one
    /// of this store's, or packets after it were forgotten.
    fn index_after(&self, offset: &str) -> Option<usize> {
        let after = offset.parse::<u64>().ok()?.checked_add(1)?;
        let next = self.first + self.packets.len() as u64;
        // The client saw `offset`; the packet after it must still be here (or not sent yet).
        if after < self.first || after > next {
            return None;
        }
        usize::try_from(after - self.first).ok()
    }
}

impl Logging<'_> {
    /// Logs a packet for the sockets `options` selects: `encode` gets its offset and returns
    /// its messages, which are kept and returned with the offset.
    pub(crate) fn log(
        &mut self,
        options: &BroadcastOptions,
        encode: impl FnOnce(&str) -> Vec<Message>,
    ) -> (Arc<str>, Vec<Message>) {
        let now = Instant::now();
        let offset: Arc<str> =
            Arc::from((self.log.first + self.log.packets.len() as u64).to_string());
        let messages = encode(&offset);
        self.log.packets.push_back(Sent {
            at: now,
            offset: offset.clone(),
            rooms: options.rooms.clone(),
            except: options.except.clone(),
            messages: messages.clone(),
        });
        self.store.prune_packets(&mut self.log, now);
        (offset, messages)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn state(rooms: &[&str]) -> SessionState {
        SessionState {
            sid: Sid::new(),
            pid: Sid::new(),
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            data: None,
            data_json: None,
        }
    }

    fn options(rooms: &[&str], except: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|r| Room::from(*r)).collect(),
            except: except.iter().map(|r| Room::from(*r)).collect(),
            ..BroadcastOptions::default()
        }
    }

    /// Logs a packet whose single message is its offset.
    fn send(store: &Store, rooms: &[&str], except: &[&str]) -> String {
        let (offset, _) = store.lock().log(&options(rooms, except), |offset| {
            vec![Message::text(offset)]
        });
        offset.to_string()
    }

    fn texts(missed: &[MissedPacket]) -> Vec<String> {
        missed
            .iter()
            .map(|p| p.messages[0].as_text().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn gives_back_what_the_socket_missed_in_order() {
        let store = Store::new(Recovery::default());
        let away = state(&["a", "b"]);
        let seen = send(&store, &[], &[]);
        store.persist(away.clone());
        let cases = [
            (send(&store, &[], &[]), true),     // everyone
            (send(&store, &["b"], &[]), true),  // one of its rooms
            (send(&store, &["c"], &[]), false), // another room
            (send(&store, &[], &["a"]), false), // it is in an excluded room
            (send(&store, &["b", "c"], &[]), true),
        ];
        let restored = store.restore(away.pid, &seen).expect("recoverable");
        assert_eq!(restored.sid, away.sid);
        let missed = store.missed(&restored, &seen).expect("all kept");
        let expected: Vec<String> = cases
            .iter()
            .filter(|(_, meant)| *meant)
            .map(|(offset, _)| offset.clone())
            .collect();
        assert_eq!(texts(&missed), expected);
        let offsets: Vec<String> = missed.iter().map(|p| p.offset.to_string()).collect();
        assert_eq!(offsets, expected);
    }

    #[test]
    fn a_session_is_restored_once() {
        let store = Store::new(Recovery::default());
        let away = state(&[]);
        let seen = send(&store, &[], &[]);
        store.persist(away.clone());
        assert!(store.restore(away.pid, &seen).is_some());
        assert!(store.restore(away.pid, &seen).is_none());
    }

    #[test]
    fn unknown_sessions_and_offsets_are_not_restored() {
        let store = Store::new(Recovery::default());
        let away = state(&[]);
        let seen = send(&store, &[], &[]);
        store.persist(away.clone());
        for offset in ["", "x", "-1", "99", "18446744073709551615"] {
            assert!(store.restore(away.pid, offset).is_none(), "{offset:?}");
            store.persist(away.clone());
        }
        assert!(store.restore(Sid::new(), &seen).is_none());
        assert!(store.restore(away.pid, &seen).is_some());
    }

    #[test]
    fn forgets_packets_beyond_the_count_limit() {
        let store = Store::new(Recovery::default().max_packets(3));
        let away = state(&[]);
        let first = send(&store, &[], &[]);
        let second = send(&store, &[], &[]);
        store.persist(away.clone());
        for _ in 0..3 {
            send(&store, &[], &[]);
        }
        // The packet after `first` is gone: a client that saw only `first` cannot recover.
        assert!(store.restore(away.pid, &first).is_none());
        store.persist(away.clone());
        let restored = store.restore(away.pid, &second).expect("the rest is kept");
        assert_eq!(store.missed(&restored, &second).map(|m| m.len()), Some(3));
    }

    #[test]
    fn forgets_sessions_and_packets_older_than_the_limit() {
        let store = Store::new(Recovery::default().max_disconnection_duration(Duration::ZERO));
        let away = state(&[]);
        let seen = send(&store, &[], &[]);
        store.persist(away.clone());
        assert!(store.restore(away.pid, &seen).is_none());
        assert!(lock(&store.log).sessions.is_empty());
        send(&store, &[], &[]);
        assert!(lock(&store.log).packets.is_empty());
    }
}
