//! Connection state recovery across the cluster: a client whose server died, or who comes
//! back through another server, gets its socket and the packets it missed from any server.
//!
//! With recovery on, a broadcast that may have to be given again (not volatile, without
//! acks) is recorded in the cluster's stream ([`record`](crate::record)) before anything
//! else: the stream gives it its offset, then this server delivers it and publishes it with
//! that offset, which the other Tidings servers deliver it with. A disconnected socket's
//! session is kept in Redis until it expires. A server that is asked to recover a session
//! takes it out of Redis and reads the packets after the client's offset from the stream.
//!
//! Packets a recovered socket is sent while it catches up are told apart from the ones it is
//! given again by their offsets (the framework does that). One may also come after it caught
//! up, when another server recorded it before the stream was read but published it after:
//! for a while after a recovery, this server leaves out of its deliveries the recovered
//! sockets that were given the packet's offset already.
//!
//! Broadcasts from Node servers carry no offset: they reach clients without one, and are not
//! given again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tidings::adapter::{Adapter, BroadcastOptions, BroadcastPacket, Room};
use tidings::{MissedPacket, Recovery, SessionState, Sid};
use tokio::sync::{Notify, oneshot};

use crate::adapter::Shared;
use crate::codec::{self, Event};
use crate::publisher::Message;
use crate::record::{self, StreamId, millis};

/// How long after a recovery a late packet may still come that the socket was given again.
const LATE: Duration = Duration::from_secs(30);
/// How many entries one read of the stream takes.
const PAGE: usize = 1_000;
/// How long after a session changes it is written, with the others that change meanwhile.
const WRITE_AFTER: Duration = Duration::from_millis(20);
/// How many sessions one queued refresh carries.
const REFRESH_BATCH: usize = 1_000;

/// One namespace's part in the cluster's record.
#[derive(Debug)]
pub(crate) struct Recording {
    config: Recovery,
    /// The sessions of this server's connected sockets.
    sessions: Mutex<Sessions>,
    /// Wakes the session task: sessions changed.
    write: Arc<Notify>,
    /// Sockets recovered lately: the last offset in the stream when their missed packets
    /// were read, and when.
    recovered: Mutex<HashMap<Sid, (StreamId, Instant)>>,
}

/// The sessions of connected sockets, kept in Redis while they are connected (so that they
/// outlive this server) with an expiry pushed back every so often.
#[derive(Debug, Default)]
struct Sessions {
    /// Each socket's private session id and data (its rooms are the adapter's).
    tracked: HashMap<Sid, (Sid, Option<serde_json::Value>)>,
    /// The sockets whose session changed since it was last written.
    changed: HashSet<Sid>,
}

impl Recording {
    pub(crate) fn new(config: Recovery) -> Recording {
        Recording {
            config,
            sessions: Mutex::default(),
            write: Arc::new(Notify::new()),
            recovered: Mutex::default(),
        }
    }

    /// How often the sessions of connected sockets have their expiry pushed back.
    fn refresh_every(&self) -> Duration {
        (self.config.disconnection_limit() / 2)
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// How long the session of a connected socket outlives this server: as long as a
    /// disconnected one's, from the last refresh.
    fn connected_ttl(&self) -> Duration {
        self.config.disconnection_limit() + 2 * self.refresh_every()
    }

    /// The sockets recovered lately that were given the packet at `offset` already, as
    /// rooms to leave out of its delivery.
    fn given_already(&self, offset: StreamId) -> Vec<Room> {
        let mut recovered = lock(&self.recovered);
        if recovered.is_empty() {
            return Vec::new();
        }
        let now = Instant::now();
        recovered.retain(|_, (_, at)| now.duration_since(*at) < LATE);
        recovered
            .iter()
            .filter(|(_, (read, _))| offset <= *read)
            .map(|(sid, _)| Room::from(sid.as_str()))
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn recording(&self) -> Option<&Recording> {
        self.recording.as_ref()
    }

    /// Records `packet` in the stream, then delivers it to this server's sockets and, unless
    /// it is local, publishes it, both with the offset the stream gave it. When it cannot be
    /// recorded, it goes without an offset: delivered all the same, never given again.
    pub(crate) fn record_broadcast(
        self: &Arc<Self>,
        recording: &Recording,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
    ) {
        let event = Event::of(packet);
        let command = self.cluster.keys.record(
            recording.config.packet_limit(),
            &self.uid,
            &self.name,
            &event,
            options,
        );
        let (shared, packet, options) = (self.clone(), packet.clone(), options.clone());
        let then = move |replies: Option<Vec<redis::Value>>| {
            let offset = replies
                .and_then(|replies| record::text(replies.first()?).map(str::to_owned))
                .filter(|id| StreamId::parse(id).is_some());
            shared.deliver(&packet, &options, offset.as_deref());
            (!options.local).then(|| Message {
                channel: shared.channels.broadcast_to(&options.rooms),
                payload: codec::encode_broadcast(
                    &shared.uid,
                    &shared.name,
                    &event,
                    &options,
                    offset.as_deref(),
                ),
            })
        };
        self.cluster
            .publisher
            .command(vec![command], Box::new(then));
    }

    /// Delivers `packet` to this server's sockets, with `offset` when it has one.
    pub(crate) fn deliver(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        offset: Option<&str>,
    ) {
        let (Some(recording), Some(offset)) = (self.recording(), offset) else {
            self.local.broadcast(packet, options);
            return;
        };
        let Some(id) = StreamId::parse(offset) else {
            self.local.broadcast(packet, options);
            return;
        };
        let given = recording.given_already(id);
        if given.is_empty() {
            self.local.broadcast_at(packet, options, offset);
        } else {
            let mut options = options.clone();
            options.except.extend(given);
            self.local.broadcast_at(packet, &options, offset);
        }
    }

    /// Keeps a disconnected socket's session until it can no longer be recovered.
    pub(crate) fn persist(&self, state: &SessionState) {
        let Some(recording) = self.recording() else {
            return;
        };
        let mut sessions = lock(&recording.sessions);
        sessions.tracked.remove(&state.sid());
        sessions.changed.remove(&state.sid());
        let ttl = recording.config.disconnection_limit();
        self.command(self.cluster.keys.persist(state, &self.name, ttl));
    }

    /// Keeps a connected socket's session in Redis from now on, so that it outlives this
    /// server.
    pub(crate) fn track(&self, state: &SessionState) {
        let Some(recording) = self.recording() else {
            return;
        };
        let mut sessions = lock(&recording.sessions);
        let session = (state.pid(), state.data_json().cloned());
        sessions.tracked.insert(state.sid(), session);
        self.changed(&mut sessions, [state.sid()]);
    }

    /// The rooms of `sids` changed: their sessions are written again.
    pub(crate) fn rooms_changed(&self, sids: impl IntoIterator<Item = Sid>) {
        let Some(recording) = self.recording() else {
            return;
        };
        let mut sessions = lock(&recording.sessions);
        if !sessions.tracked.is_empty() {
            self.changed(&mut sessions, sids);
        }
    }

    /// Socket `sid` is gone: a session that was not kept for its return goes too.
    pub(crate) fn untrack(&self, sid: Sid) {
        let Some(recording) = self.recording() else {
            return;
        };
        let mut sessions = lock(&recording.sessions);
        sessions.changed.remove(&sid);
        if let Some((pid, _)) = sessions.tracked.remove(&sid) {
            let mut command = redis::cmd("DEL");
            command.arg(self.cluster.keys.session(pid));
            self.command(command);
        }
    }

    /// Queues `command`, whose reply nothing waits for.
    fn command(&self, command: redis::Cmd) {
        self.cluster
            .publisher
            .command(vec![command], Box::new(|_| None));
    }

    /// Marks the sessions of `sids` changed: the session task writes them shortly, together
    /// with those that change meanwhile.
    fn changed(&self, sessions: &mut Sessions, sids: impl IntoIterator<Item = Sid>) {
        let before = sessions.changed.len();
        for sid in sids {
            if sessions.tracked.contains_key(&sid) {
                sessions.changed.insert(sid);
            }
        }
        if sessions.changed.len() > before
            && let Some(recording) = self.recording()
        {
            recording.write.notify_one();
        }
    }

    /// Writes the changed sessions of connected sockets.
    fn write_changed(&self) {
        let Some(recording) = self.recording() else {
            return;
        };
        // Locked while the commands are queued: a session that is persisted or dropped
        // meanwhile is written after these.
        let mut sessions = lock(&recording.sessions);
        let ttl = recording.connected_ttl();
        let changed = std::mem::take(&mut sessions.changed);
        let commands: Vec<redis::Cmd> = changed
            .into_iter()
            .filter_map(|sid| {
                let (pid, data) = sessions.tracked.get(&sid)?;
                let rooms = self.local.socket_rooms(sid);
                let state = SessionState::new(sid, *pid, rooms, data.clone());
                Some(self.cluster.keys.persist(&state, &self.name, ttl))
            })
            .collect();
        if !commands.is_empty() {
            self.cluster.publisher.command(commands, Box::new(|_| None));
        }
    }

    /// Starts the task that writes changed sessions of connected sockets and pushes back
    /// their expiry every so often, for as long as the adapter lives.
    pub(crate) fn start_sessions(self: &Arc<Self>) {
        let Some(recording) = self.recording() else {
            return;
        };
        let (every, write) = (recording.refresh_every(), recording.write.clone());
        let shared = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut refresh = tokio::time::interval(every);
            refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            refresh.tick().await;
            loop {
                let changed = tokio::select! {
                    () = write.notified() => true,
                    _ = refresh.tick() => false,
                };
                if changed {
                    tokio::time::sleep(WRITE_AFTER).await;
                }
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                if changed {
                    shared.write_changed();
                } else {
                    shared.push_back_expiry();
                }
            }
        });
    }

    fn push_back_expiry(&self) {
        let Some(recording) = self.recording() else {
            return;
        };
        let ttl = millis(recording.connected_ttl());
        let sessions = lock(&recording.sessions);
        let commands: Vec<redis::Cmd> = sessions
            .tracked
            .values()
            .map(|(pid, _)| {
                let mut command = redis::cmd("PEXPIRE");
                command.arg(self.cluster.keys.session(*pid)).arg(ttl);
                command
            })
            .collect();
        for batch in commands.chunks(REFRESH_BATCH) {
            self.cluster
                .publisher
                .command(batch.to_vec(), Box::new(|_| None));
        }
    }

    /// Takes session `pid` out of Redis, if it is there and the packet at `offset` still is:
    /// a session is restored once at most, whether or not it can be.
    pub(crate) async fn restore(&self, pid: Sid, offset: &str) -> Option<SessionState> {
        self.recording()?;
        let id = StreamId::parse(offset)?;
        let keys = &self.cluster.keys;
        let offset = id.to_string();
        let commands = vec![keys.take(pid), keys.range(&offset, &offset, 1)];
        // In order with this server's sessions being kept: one that has just disconnected
        // from here is found.
        let (reply, replies) = oneshot::channel();
        self.cluster.publisher.command(
            commands,
            Box::new(move |result| {
                let _ = reply.send(result);
                None
            }),
        );
        let mut replies = tokio::time::timeout(self.timeout(), replies)
            .await
            .ok()?
            .ok()??
            .into_iter();
        let (session, range) = (replies.next()?, replies.next()?);
        let state = record::decode_session(record::text(&session)?.as_bytes(), &self.name)?;
        let (ids, _) = record::read_range(range).ok()?;
        (state.pid() == pid && ids.first() == Some(&id)).then_some(state)
    }

    /// The recorded broadcasts after `offset` meant for `state`'s socket, in order; `None`
    /// when the stream cannot be read.
    pub(crate) async fn missed(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> Option<Vec<MissedPacket>> {
        let recording = self.recording()?;
        let mut after = StreamId::parse(offset)?;
        let mut connection = self.cluster.commands.clone();
        let parser = self.namespace.parser();
        let mut missed = Vec::new();
        // The stream holds about `packet_limit` entries: that many pages at most, however
        // fast it grows meanwhile.
        let pages = recording.config.packet_limit().div_ceil(PAGE) + 1;
        for _ in 0..pages {
            let command = self.cluster.keys.range(&format!("({after}"), "+", PAGE);
            let query = command.query_async::<redis::Value>(&mut connection);
            let reply = match tokio::time::timeout(self.timeout(), query).await {
                Ok(Ok(reply)) => reply,
                Ok(Err(error)) => {
                    tracing::warn!(%error, "cannot read the missed packets from redis");
                    return None;
                }
                Err(_) => {
                    tracing::warn!("redis did not give the missed packets in time");
                    return None;
                }
            };
            let (ids, recorded) = record::read_range(reply).ok()?;
            for broadcast in recorded {
                if broadcast.nsp != self.name
                    || !state.selected_by(&broadcast.selection.rooms, &broadcast.selection.except)
                {
                    continue;
                }
                let Ok(packet) = broadcast.event.into_packet(parser) else {
                    continue;
                };
                let offset = broadcast.id.to_string();
                missed.push(MissedPacket {
                    messages: self.namespace.encode_event(&packet.with_offset(&offset)),
                    offset: offset.into(),
                });
            }
            let Some(last) = ids.last() else { break };
            after = *last;
            if ids.len() < PAGE {
                break;
            }
        }
        lock(&recording.recovered).insert(state.sid(), (after, Instant::now()));
        Some(missed)
    }
}
