//! A session: its outbound queue, its heartbeat state and the upgrade state machine.
//!
//! The queue is bounded in bytes ([`EngineConfig::max_queued_bytes`](crate::EngineConfig)):
//! a send that would overfill it closes the session with [`CloseReason::SlowClient`].
//!
//! Exactly one transport drains a session's queue at a time: the one the session runs on.
//! An upgrade hands that role over in three steps (probe, noop to the old transport, `5` on
//! the new one), all under the session's lock, so a packet is never sent twice, lost or
//! reordered across it: until `5` arrives packets wait in the queue, and the new transport
//! drains them from where the old one stopped.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use super::handler::CloseReason;
use super::{Shared, Sid};
use crate::{Message, Packet};

/// A handle to an Engine.IO session. Cloning it is cheap and every clone names the same
/// session.
#[derive(Clone)]
pub struct Session(Arc<Inner>);

struct Inner {
    id: Sid,
    engine: Arc<Shared>,
    state: Mutex<State>,
    data: OnceLock<Box<dyn Any + Send + Sync>>,
}

struct State {
    /// Packets waiting for the transport.
    queue: VecDeque<Packet>,
    /// What the messages in `queue` count against `max_queued_bytes` (see [`cost`]).
    queued_bytes: usize,
    /// The name of the transport that drains the queue.
    transport: &'static str,
    upgrade: Upgrade,
    /// The transport task or request waiting for packets.
    drainer: Option<Waker>,
    /// The heartbeat waiting for a pong or the close.
    heartbeat: Option<Waker>,
    /// The connection taking over the session, waiting for the close during its probe.
    upgrader: Option<Waker>,
    /// A pong arrived since the last ping.
    pong: bool,
    closed: Option<CloseReason>,
    /// A long-polling GET or an SSE stream is attached.
    downstream: bool,
    /// A POST is being handled.
    upstream: bool,
    /// The session counts in the engine's connections gauge (until it leaves the table).
    counted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A transport connected to take over the session.
    Pending,
    /// The probe was answered: the old transport ends its downstream with a noop.
    Probed,
    /// The new transport drains the queue.
    Done,
}

/// The session is closed; the message that could not be sent is handed back.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SendError(pub Message);

impl fmt::Debug for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

/// The session is closed: [`Session::send_all`] queued nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the session is closed")]
pub struct SessionClosed;

/// The client sent a packet it must not send on this transport.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {0:?} packet from the client")]
pub(crate) struct UnexpectedPacket(pub(crate) &'static str);

/// Packets taken from the queue by the transport that drains it.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The packets to send, in order.
    pub(crate) packets: VecDeque<Packet>,
    /// The transport must stop after sending them: the session closed, or is moving to
    /// another transport.
    pub(crate) end: bool,
}

/// An attached long-polling GET or SSE stream.
///
/// Dropped before [`complete`](Self::complete) (the client went away while the request was
/// pending), it closes the session with [`CloseReason::TransportClose`], unless the session is
/// moving to another transport.
#[derive(Debug)]
pub(crate) struct Downstream {
    session: Session,
    completed: bool,
}

impl Downstream {
    /// The packets were handed to the HTTP response.
    pub(crate) fn complete(&mut self) {
        self.completed = true;
    }
}

impl Drop for Downstream {
    fn drop(&mut self) {
        let mut state = self.session.state();
        state.downstream = false;
        state.drainer = None;
        let abandoned = !self.completed
            && state.closed.is_none()
            && matches!(state.upgrade, Upgrade::None | Upgrade::Pending);
        drop(state);
        if abandoned {
            self.session.close_with(CloseReason::TransportClose);
        }
    }
}

/// A POST being handled; the session takes one at a time.
#[derive(Debug)]
pub(crate) struct Upstream(Session);

impl Drop for Upstream {
    fn drop(&mut self) {
        self.0.state().upstream = false;
    }
}

/// A long-polling GET, an SSE stream or a POST is already attached to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Busy;

impl Session {
    pub(crate) fn new(
        engine: Arc<Shared>,
        id: Sid,
        transport: &'static str,
        open: Packet,
    ) -> Session {
        Session(Arc::new(Inner {
            id,
            engine,
            state: Mutex::new(State {
                queue: VecDeque::from([open]),
                queued_bytes: 0,
                transport,
                upgrade: Upgrade::None,
                drainer: None,
                heartbeat: None,
                upgrader: None,
                pong: false,
                closed: None,
                downstream: false,
                upstream: false,
                counted: true,
            }),
            data: OnceLock::new(),
        }))
    }

    /// The session's id.
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// The name of the transport the session runs on (`polling`, `websocket` or `sse`); it
    /// changes when an upgrade completes.
    pub fn transport(&self) -> &'static str {
        self.state().transport
    }

    /// Whether the session has closed.
    pub fn is_closed(&self) -> bool {
        self.state().closed.is_some()
    }

    /// Why the session closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state().closed
    }

    /// How many packets wait to be sent to the client. A transport that keeps up leaves
    /// none: long-polling between two requests, or a slow client, leaves some.
    pub fn queued(&self) -> usize {
        self.state().queue.len()
    }

    /// Queues a message for the client. It never waits: the transport sends what is queued
    /// as soon as it can, all of it in one write.
    ///
    /// # Errors
    /// [`SendError`], holding the message, once the session has closed, or when the message
    /// would take the queue over
    /// [`max_queued_bytes`](crate::EngineConfig::max_queued_bytes): then the session closes
    /// with [`CloseReason::SlowClient`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        let mut state = self.state();
        if state.closed.is_some() {
            return Err(SendError(message));
        }
        if !self.admit(&mut state, cost(&message)) {
            self.overflow(state);
            return Err(SendError(message));
        }
        state.queue.push_back(Packet::Message(message));
        let drainer = state.drainer.take();
        drop(state);
        wake(drainer);
        Ok(())
    }

    /// Queues several messages for the client as one unit: no message another task sends can
    /// come between them (a Socket.IO packet and its binary attachments, say). Cloning a
    /// [`Message`] is cheap, so one slice can go to many sessions.
    ///
    /// # Errors
    /// [`SessionClosed`] once the session has closed, or when the messages would take the
    /// queue over [`max_queued_bytes`](crate::EngineConfig::max_queued_bytes) (then the
    /// session closes with [`CloseReason::SlowClient`]); either way none of them was queued.
    pub fn send_all(&self, messages: &[Message]) -> Result<(), SessionClosed> {
        self.enqueue(messages, true)
    }

    /// Queues messages as [`send_all`](Self::send_all) does, without counting them against
    /// [`max_queued_bytes`](crate::EngineConfig::max_queued_bytes): for messages whose bytes
    /// are kept elsewhere anyway, such as packets replayed from a record of what was sent,
    /// which the queue only shares. What is sent after them still counts.
    ///
    /// # Errors
    /// [`SessionClosed`] once the session has closed; then none of them was queued.
    pub fn send_kept(&self, messages: &[Message]) -> Result<(), SessionClosed> {
        self.enqueue(messages, false)
    }

    fn enqueue(&self, messages: &[Message], counted: bool) -> Result<(), SessionClosed> {
        let mut state = self.state();
        if state.closed.is_some() {
            return Err(SessionClosed);
        }
        if counted && !self.admit(&mut state, messages.iter().map(cost).sum()) {
            self.overflow(state);
            return Err(SessionClosed);
        }
        state
            .queue
            .extend(messages.iter().cloned().map(Packet::Message));
        let drainer = state.drainer.take();
        drop(state);
        wake(drainer);
        Ok(())
    }

    /// Closes the session: what is already queued is still sent, then the client is told.
    pub fn close(&self) {
        self.close_with(CloseReason::ForcedClose);
    }

    /// Attaches data of the layer above (for instance its per-connection state). It can be
    /// set once; a second call hands the value back.
    pub fn set_data<T: Any + Send + Sync>(&self, data: T) -> Result<(), T> {
        let mut slot = Some(data);
        self.0
            .data
            .get_or_init(|| Box::new(slot.take().expect("set once in get_or_init")));
        match slot {
            None => Ok(()),
            Some(data) => Err(data),
        }
    }

    /// The data attached with [`set_data`](Self::set_data), if it is a `T`.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.0.data.get()?.downcast_ref()
    }

    /// Handles a packet the client sent on the transport the session runs on.
    ///
    /// # Errors
    /// A packet the client must never send there (open, ping, probes); the transport then
    /// closes the session with [`CloseReason::TransportError`].
    pub(crate) fn recv(&self, packet: Packet) -> Result<(), UnexpectedPacket> {
        match packet {
            Packet::Message(message) => {
                if !self.is_closed() {
                    let handler = &self.0.engine.handler;
                    self.contain("on_message", || handler.on_message(self, message));
                }
            }
            Packet::Pong => {
                let mut state = self.state();
                state.pong = true;
                let heartbeat = state.heartbeat.take();
                drop(state);
                wake(heartbeat);
            }
            Packet::Close => self.close_with(CloseReason::TransportClose),
            // Node ignores both on the session's own transport; so do we.
            Packet::Noop | Packet::Upgrade => {}
            Packet::Open(_) => return Err(UnexpectedPacket("open")),
            Packet::Ping => return Err(UnexpectedPacket("ping")),
            Packet::PingProbe | Packet::PongProbe => return Err(UnexpectedPacket("probe")),
        }
        Ok(())
    }

    /// Handles every packet of a payload, in order, closing the session on a bad one.
    pub(crate) fn recv_all(&self, packets: Vec<Packet>) -> Result<(), UnexpectedPacket> {
        for packet in packets {
            if let Err(error) = self.recv(packet) {
                self.close_with(CloseReason::TransportError);
                return Err(error);
            }
        }
        Ok(())
    }

    /// Takes what is queued for `transport`, or registers the waker until there is something.
    pub(crate) fn poll_drain(&self, cx: &mut Context<'_>, transport: &'static str) -> Poll<Batch> {
        let poll = self.poll_take(cx, transport);
        if let (Poll::Ready(batch), Some(metrics)) = (&poll, &self.0.engine.metrics) {
            metrics.sent(batch.packets.iter());
        }
        poll
    }

    fn poll_take(&self, cx: &mut Context<'_>, transport: &'static str) -> Poll<Batch> {
        let mut state = self.state();
        if state.transport != transport {
            // The session moved on: end this transport's downstream without taking packets.
            return Poll::Ready(Batch {
                packets: VecDeque::from([Packet::Noop]),
                end: true,
            });
        }
        if state.closed.is_some() {
            // A long-polling client handles the packets of a response before a close in the
            // same response, but the layer above may only see them after (socket.io-client
            // defers them to the next tick): the close waits for the next request.
            if transport == "polling" && state.queue.len() > 1 {
                let close = state.queue.pop_back();
                let packets = std::mem::replace(&mut state.queue, close.into_iter().collect());
                state.queued_bytes = 0;
                return Poll::Ready(Batch {
                    packets,
                    end: false,
                });
            }
            let packets = take(&mut state);
            drop(state);
            self.0.engine.forget(self.0.id);
            return Poll::Ready(Batch { packets, end: true });
        }
        if state.upgrade == Upgrade::Probed {
            let mut packets = take(&mut state);
            packets.push_back(Packet::Noop);
            return Poll::Ready(Batch { packets, end: true });
        }
        if !state.queue.is_empty() {
            let packets = take(&mut state);
            return Poll::Ready(Batch {
                packets,
                end: false,
            });
        }
        state.drainer = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Registers `transport`'s waker without taking packets, to learn of a close while it
    /// cannot write.
    pub(crate) fn watch(&self, cx: &mut Context<'_>, transport: &'static str) {
        let mut state = self.state();
        if state.transport == transport {
            state.drainer = Some(cx.waker().clone());
        }
    }

    /// Waits for something to send to `transport`.
    pub(crate) async fn drain(&self, transport: &'static str) -> Batch {
        std::future::poll_fn(|cx| self.poll_drain(cx, transport)).await
    }

    /// Attaches a long-polling GET or SSE stream; it detaches when the guard drops.
    pub(crate) fn attach_downstream(&self) -> Result<Downstream, Busy> {
        let mut state = self.state();
        if std::mem::replace(&mut state.downstream, true) {
            return Err(Busy);
        }
        Ok(Downstream {
            session: self.clone(),
            completed: false,
        })
    }

    /// Marks a POST as being handled until the guard drops.
    pub(crate) fn begin_upstream(&self) -> Result<Upstream, Busy> {
        if std::mem::replace(&mut self.state().upstream, true) {
            return Err(Busy);
        }
        Ok(Upstream(self.clone()))
    }

    /// A transport connected to take over the session; false when the session cannot be
    /// upgraded (closed, or an upgrade already started or finished).
    pub(crate) fn begin_upgrade(&self) -> bool {
        let mut state = self.state();
        if state.closed.is_some() || state.upgrade != Upgrade::None {
            return false;
        }
        state.upgrade = Upgrade::Pending;
        true
    }

    /// The probe is about to be answered: the current transport ends its downstream with a
    /// noop. False when the session closed first; then the probe must go unanswered.
    pub(crate) fn probed(&self) -> bool {
        let mut state = self.state();
        if state.closed.is_some() || state.upgrade != Upgrade::Pending {
            return false;
        }
        state.upgrade = Upgrade::Probed;
        let drainer = state.drainer.take();
        drop(state);
        wake(drainer);
        true
    }

    /// The client switched to `transport`, which drains the queue from now on; false unless
    /// the probe was answered.
    ///
    /// It switches even when the session closed after the probe was answered: the client has
    /// paused its old transport by then, so the new one must carry the rest of the queue and
    /// the close packet.
    pub(crate) fn finish_upgrade(&self, transport: &'static str) -> bool {
        let mut state = self.state();
        if state.upgrade != Upgrade::Probed {
            return false;
        }
        state.upgrade = Upgrade::Done;
        if let Some(metrics) = &self.0.engine.metrics
            && state.counted
        {
            metrics.upgraded(state.transport, transport);
        }
        state.transport = transport;
        state.upgrader = None;
        let drainer = state.drainer.take();
        drop(state);
        wake(drainer);
        true
    }

    /// Ready once the session closed, for the connection that probes an upgrade; but not for
    /// a close by the server after the probe was answered. The client then stops using its
    /// old transport as soon as that transport's last response arrives, so the probing
    /// connection must stay to carry the close packet (see
    /// [`finish_upgrade`](Self::finish_upgrade)).
    pub(crate) fn poll_closed_while_upgrading(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state();
        let told = |reason| state.upgrade == Upgrade::Probed && by_server(reason);
        if state.closed.is_some_and(|reason| !told(reason)) {
            return Poll::Ready(());
        }
        state.upgrader = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The upgrade failed before it finished; the session stays on its transport.
    pub(crate) fn abort_upgrade(&self) {
        let mut state = self.state();
        state.upgrader = None;
        if matches!(state.upgrade, Upgrade::Pending | Upgrade::Probed) {
            state.upgrade = Upgrade::None;
        }
    }

    /// Queues a ping and forgets any earlier pong.
    pub(crate) fn ping(&self) -> bool {
        let mut state = self.state();
        if state.closed.is_some() {
            return false;
        }
        state.pong = false;
        state.queue.push_back(Packet::Ping);
        let drainer = state.drainer.take();
        drop(state);
        wake(drainer);
        true
    }

    /// Ready with `true` once closed, with `false` on a pong when `want_pong`.
    pub(crate) fn poll_heartbeat(&self, cx: &mut Context<'_>, want_pong: bool) -> Poll<bool> {
        let mut state = self.state();
        if state.closed.is_some() {
            return Poll::Ready(true);
        }
        if want_pong && std::mem::take(&mut state.pong) {
            return Poll::Ready(false);
        }
        state.heartbeat = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Closes the session for `reason`; the first close wins.
    ///
    /// A close by the server ([`CloseReason::ForcedClose`], [`CloseReason::ServerClose`])
    /// keeps what is queued and ends with a close packet; any other drops the queue, and the
    /// client learns of it by its connection ending (a waiting long-polling request gets a
    /// close packet, or a noop when the client itself closed).
    pub(crate) fn close_with(&self, reason: CloseReason) {
        let state = self.state();
        if state.closed.is_some() {
            return;
        }
        self.shut(state, reason);
        let handler = &self.0.engine.handler;
        self.contain("on_close", || handler.on_close(self, reason));
    }

    /// Whether `cost` more bytes of messages fit in the queue; always when no message is
    /// queued, so that one message larger than the bound still goes out.
    fn admit(&self, state: &mut State, cost: usize) -> bool {
        let max = self.0.engine.config.max_queued_bytes;
        let fits = state.queued_bytes == 0 || state.queued_bytes.saturating_add(cost) <= max;
        if fits {
            state.queued_bytes = state.queued_bytes.saturating_add(cost);
        }
        fits
    }

    /// The queue is full: closes the session with [`CloseReason::SlowClient`].
    ///
    /// The send that got here may come from code that holds locks of the layer above (a
    /// broadcast walking a room), and `on_close` takes those locks to remove the session's
    /// sockets: so `on_close` runs on a task of its own, once that code has let go.
    fn overflow(&self, state: MutexGuard<'_, State>) {
        let queued = state.queued_bytes;
        let reason = CloseReason::SlowClient;
        self.shut(state, reason);
        tracing::info!(
            sid = %self.0.id,
            queued,
            max = self.0.engine.config.max_queued_bytes,
            "slow client: its queue is full"
        );
        let session = self.clone();
        let on_close = move || {
            let handler = &session.0.engine.handler;
            session.contain("on_close", || handler.on_close(&session, reason));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(async move { on_close() })),
            Err(_) => on_close(),
        }
    }

    /// The session left the engine's table: it no longer counts as open.
    pub(crate) fn uncount(&self) {
        if let Some(metrics) = &self.0.engine.metrics {
            let mut state = self.state();
            if std::mem::take(&mut state.counted) {
                metrics.forgotten(state.transport);
            }
        }
    }

    /// Marks the session closed for `reason` and wakes whoever waits on it; the caller calls
    /// the handler's `on_close`.
    fn shut(&self, mut state: MutexGuard<'_, State>, reason: CloseReason) {
        state.closed = Some(reason);
        if let Some(metrics) = &self.0.engine.metrics {
            metrics.closed(reason);
        }
        let graceful = by_server(reason);
        if !graceful {
            state.queue.clear();
            state.queued_bytes = 0;
        }
        state
            .queue
            .push_back(if reason == CloseReason::TransportClose {
                Packet::Noop
            } else {
                Packet::Close
            });
        // Nobody waits for the close packet of a graceful close (a long-polling client between
        // two requests), or it comes after what is queued (in the next long-polling response):
        // keep the session findable until its next request takes it.
        let linger = graceful
            && (state.drainer.is_none() || (state.transport == "polling" && state.queue.len() > 1));
        let drainer = state.drainer.take();
        let heartbeat = state.heartbeat.take();
        let upgrader = state.upgrader.take();
        drop(state);
        wake(drainer);
        wake(heartbeat);
        wake(upgrader);

        let engine = &self.0.engine;
        if linger && tokio::runtime::Handle::try_current().is_ok() {
            let (session, after) = (self.clone(), engine.config.ping_timeout);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                session.0.engine.forget(session.0.id);
            });
        } else {
            engine.forget(self.0.id);
        }
        tracing::debug!(sid = %self.0.id, %reason, "session closed");
    }

    /// Runs a handler call; a panic in it is logged and goes no further, so the task that
    /// moves this session's packets (and runs its heartbeat) survives it.
    pub(crate) fn contain(&self, call: &str, f: impl FnOnce()) {
        if std::panic::catch_unwind(AssertUnwindSafe(f)).is_err() {
            tracing::error!(sid = %self.0.id, "the handler panicked in {call}");
        }
    }

    pub(crate) fn engine(&self) -> &Arc<Shared> {
        &self.0.engine
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic never happens with the lock held, but a poisoned lock must not take the
        // whole server down: the state is still consistent between statements.
        self.0
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether the server closed the session of its own will: the client is told with a close
/// packet after what is queued. Other closes drop the queue, and the client learns of them by
/// its connection ending, or caused them.
fn by_server(reason: CloseReason) -> bool {
    matches!(reason, CloseReason::ForcedClose | CloseReason::ServerClose)
}

/// What a queued message counts against `max_queued_bytes`: its length, plus
/// [`PACKET_OVERHEAD`].
fn cost(message: &Message) -> usize {
    message.len() + PACKET_OVERHEAD
}

/// What each queued message counts besides its bytes: about what the queue entry and the
/// message's shared buffer cost, so that many tiny messages are bounded too.
const PACKET_OVERHEAD: usize = 64;

/// Takes everything queued; the queue counts no bytes any more.
fn take(state: &mut State) -> VecDeque<Packet> {
    state.queued_bytes = 0;
    std::mem::take(&mut state.queue)
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Session")
            .field("id", &self.0.id)
            .field("transport", &state.transport)
            .field("queued", &state.queue.len())
            .field("queued_bytes", &state.queued_bytes)
            .field("upgrade", &state.upgrade)
            .field("closed", &state.closed)
            .finish()
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Session {}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use http::request::Parts;

    use super::*;
    use crate::{Engine, EngineConfig, Handler};

    struct Quiet;

    impl Handler for Quiet {
        fn on_open(&self, _: &Session, _: &Parts) {}
        fn on_message(&self, _: &Session, _: Message) {}
        fn on_close(&self, _: &Session, _: CloseReason) {}
    }

    #[derive(Debug)]
    enum Step {
        /// `send` of a message of this many bytes, and whether it is accepted.
        Send(usize, bool),
        /// `send_all` of messages of these sizes, and whether they are accepted.
        SendAll(&'static [usize], bool),
        /// `send_kept` of messages of these sizes (always accepted).
        SendKept(&'static [usize]),
        /// The transport takes everything queued.
        Drain,
    }
    use Step::*;

    /// The bound every case uses; each message counts its length plus 64.
    const MAX: usize = 1000;

    /// Text messages of these lengths.
    fn texts(lens: &[usize]) -> Vec<Message> {
        lens.iter()
            .map(|len| Message::text("x".repeat(*len)))
            .collect()
    }

    #[test]
    fn a_close_during_an_upgrade_goes_where_the_client_listens() {
        let mut cx = Context::from_waker(Waker::noop());
        let engine = Engine::new(EngineConfig::default(), Quiet);
        let session = || {
            let open = Packet::Open("0{}".into());
            Session::new(engine.shared.clone(), Sid::new(), "polling", open)
        };

        // Before the probe is answered: the probe goes unanswered and the probing connection
        // ends; the client keeps polling and gets the close there.
        let early = session();
        assert!(early.begin_upgrade());
        early.close();
        assert!(!early.probed());
        assert!(early.poll_closed_while_upgrading(&mut cx).is_ready());
        assert!(!early.finish_upgrade("websocket"));

        // After, when the client caused the close: it needs no telling.
        let ended = session();
        assert!(ended.begin_upgrade());
        assert!(ended.probed());
        ended.close_with(CloseReason::TransportClose);
        assert!(ended.poll_closed_while_upgrading(&mut cx).is_ready());

        // After, when the server closes: the client may have paused polling for good, so the
        // new transport carries the close.
        let late = session();
        assert!(late.begin_upgrade());
        assert!(late.probed());
        assert!(late.send("last").is_ok());
        late.close();
        assert!(late.poll_closed_while_upgrading(&mut cx).is_pending());
        assert!(late.finish_upgrade("websocket"));
        let Poll::Ready(batch) = late.poll_drain(&mut cx, "websocket") else {
            panic!("the queue is ready");
        };
        assert!(batch.end);
        let tail: Vec<_> = batch.packets.into_iter().skip(1).collect();
        assert_eq!(tail, [Packet::Message("last".into()), Packet::Close]);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes() {
        let cases: &[(&str, &[Step])] = &[
            (
                "a message larger than the bound goes into an empty queue",
                &[Send(5000, true)],
            ),
            (
                "nothing more fits after it",
                &[Send(5000, true), Send(0, false)],
            ),
            (
                "messages fit up to the bound exactly",
                &[Send(436, true), Send(436, true), Send(0, false)],
            ),
            (
                "the transport taking the queue frees it",
                &[
                    Send(900, true),
                    Drain,
                    Send(900, true),
                    Drain,
                    Send(900, true),
                ],
            ),
            (
                "send_all counts its messages as one unit",
                &[SendAll(&[100, 100], true), SendAll(&[300, 300], false)],
            ),
            (
                "send_all into an empty queue always fits",
                &[SendAll(&[2000, 2000], true), Send(0, false)],
            ),
            (
                "kept messages do not count, what follows them does",
                &[
                    Send(400, true),
                    SendKept(&[5000, 5000]),
                    Send(400, true),
                    Send(400, false),
                ],
            ),
        ];
        for (name, steps) in cases {
            let engine = Engine::new(EngineConfig::default().max_queued_bytes(MAX), Quiet);
            let open = Packet::Open("0{}".into());
            // The open packet is queued but counts nothing.
            let session = Session::new(engine.shared.clone(), Sid::new(), "websocket", open);
            for step in steps.iter() {
                let accepted = match step {
                    Send(len, accepted) => {
                        assert_eq!(session.send("x".repeat(*len)).is_ok(), *accepted);
                        *accepted
                    }
                    SendAll(lens, accepted) => {
                        assert_eq!(session.send_all(&texts(lens)).is_ok(), *accepted);
                        *accepted
                    }
                    SendKept(lens) => {
                        assert!(session.send_kept(&texts(lens)).is_ok(), "{name}");
                        true
                    }
                    Drain => {
                        let mut cx = Context::from_waker(Waker::noop());
                        assert!(session.poll_drain(&mut cx, "websocket").is_ready());
                        assert_eq!(session.state().queued_bytes, 0, "{name}");
                        true
                    }
                };
                if !accepted {
                    // Closed for being slow, with nothing left but the close packet.
                    assert_eq!(
                        session.close_reason(),
                        Some(CloseReason::SlowClient),
                        "{name}"
                    );
                    assert_eq!(session.state().queue.back(), Some(&Packet::Close), "{name}");
                    assert_eq!(session.queued(), 1, "{name}");
                    assert!(session.send("late").is_err(), "{name}");
                    assert!(engine.session(session.id()).is_none(), "{name}");
                }
            }
        }
    }
}
