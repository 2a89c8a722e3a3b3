//! [`Socket`]: one client connected to one namespace.

mod ack;
mod dispatch;
mod emit;
mod expiry;
mod handshake;
mod intercept;
mod rate;
mod reason;
mod recover;
mod remote;
mod reply;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tidings_transports::Session;

pub use self::ack::AckFuture;
pub(crate) use self::ack::AckSink;
pub use self::expiry::EXPIRED_EVENT;
use self::expiry::Expiry;
pub use self::handshake::Handshake;
use self::intercept::BoxedInterceptor;
pub use self::intercept::{EventPacket, Rejected};
use self::rate::Bucket;
pub use self::rate::{EventRate, OverRate, RATE_LIMIT_EVENT};
pub use self::reason::DisconnectReason;
use self::recover::Recovering;
pub use self::remote::RemoteSocket;
pub(crate) use self::reply::Reply;
use crate::JoinError;
use crate::Sid;
use crate::adapter::Room;
use crate::client::Client;
use crate::handler::{BoxedHandler, Handler, boxed};
use crate::io::Seat;
use crate::namespace::Namespace;
use crate::operators::{BroadcastOperators, IntoRooms};
use crate::parser::{Incoming, Parser};
use crate::recovery::SessionState;
use crate::sync::{read, write};

/// A client connected to a namespace. Cloning it is cheap; every clone is the same socket.
///
/// A socket lives from the connection handler to its disconnect handlers: register event
/// handlers in the connection handler, before its first `.await`, so that no event comes
/// before its handler.
///
/// ```
/// use tidings::{AckSender, Data, Io, Socket};
///
/// let io = Io::builder().build();
/// io.ns("/", |socket: Socket| {
///     socket.on("join", |socket: Socket, Data(room): Data<String>, ack: AckSender| {
///         let _ = match socket.join(room.as_str()) {
///             Ok(()) => ack.send("ok"),
///             Err(error) => ack.send(&error.to_string()),
///         };
///     });
///     socket.on("say", |socket: Socket, Data((room, text)): Data<(String, String)>| {
///         let _ = socket.to(room).emit("said", &(socket.id().to_string(), text));
///     });
/// });
/// ```
#[derive(Clone)]
pub struct Socket(Arc<Inner>);

struct Inner {
    id: Sid,
    /// Its connection state recovery, when that is on (boxed: most servers leave it off,
    /// and every idle connection would pay for the space).
    recovery: Option<Box<Recovering>>,
    namespace: Namespace,
    session: Session,
    handshake: Arc<Handshake>,
    connected: AtomicBool,
    handlers: RwLock<Handlers>,
    acks: Mutex<Acks>,
    /// Packets that came while the socket was connecting, to handle once it has.
    inbox: Mutex<Option<Vec<Incoming>>>,
    data: RwLock<Option<Arc<dyn Any + Send + Sync>>>,
    /// How to show the data to other servers, from its `Serialize` impl.
    data_json: RwLock<Option<serde_json::Value>>,
    /// Its event bucket, when events are limited (boxed, as most servers leave it off).
    rate: Option<Box<Mutex<Bucket>>>,
    /// Its deadline, when it has one ([`Socket::expire_in`]).
    expiry: Mutex<Option<Box<Expiry>>>,
    /// Its hold on a namespace that a dynamic namespace created, until it leaves.
    seat: Seat,
}

#[derive(Default)]
struct Handlers {
    /// A handful per socket: a list is smaller than a map, and as fast to search.
    events: Vec<(Box<str>, BoxedHandler)>,
    any: Vec<BoxedHandler>,
    fallback: Option<BoxedHandler>,
    disconnecting: Vec<BoxedHandler>,
    disconnect: Vec<BoxedHandler>,
    interceptors: Vec<BoxedInterceptor>,
}

#[derive(Default)]
struct Acks {
    next: u64,
    pending: HashMap<u64, AckSink>,
}

impl Socket {
    pub(crate) fn new(
        (namespace, seat): (Namespace, Seat),
        session: Session,
        handshake: Handshake,
    ) -> Socket {
        let recovery = namespace
            .recovery()
            .map(|_| Recovering::new(Sid::new(), false));
        Socket::build(
            Sid::new(),
            recovery,
            None,
            (namespace, seat),
            session,
            handshake,
        )
    }

    /// The socket that takes over `state`: its ids and data; it holds what it is sent until
    /// it has caught up ([`resume`](Self::resume)).
    pub(crate) fn restored(
        (namespace, seat): (Namespace, Seat),
        session: Session,
        handshake: Handshake,
        state: &SessionState,
    ) -> Socket {
        Socket::build(
            state.sid,
            Some(Recovering::new(state.pid, true)),
            Some(state),
            (namespace, seat),
            session,
            handshake,
        )
    }

    fn build(
        id: Sid,
        recovery: Option<Box<Recovering>>,
        restored: Option<&SessionState>,
        (namespace, seat): (Namespace, Seat),
        session: Session,
        handshake: Handshake,
    ) -> Socket {
        let rate = namespace
            .event_rate()
            .map(|_| Box::new(Mutex::new(Bucket::new(tokio::time::Instant::now()))));
        Socket(Arc::new(Inner {
            id,
            recovery,
            namespace,
            session,
            handshake: Arc::new(handshake),
            connected: AtomicBool::new(false),
            handlers: RwLock::default(),
            acks: Mutex::default(),
            inbox: Mutex::new(Some(Vec::new())),
            data: RwLock::new(restored.and_then(|state| state.data.clone())),
            data_json: RwLock::new(restored.and_then(|state| state.data_json.clone())),
            rate,
            expiry: Mutex::new(None),
            seat,
        }))
    }

    /// The socket's id, unique in the cluster; it is also the name of a room holding just
    /// this socket.
    pub fn id(&self) -> Sid {
        self.0.id
    }

    /// The name of the socket's namespace.
    pub fn namespace(&self) -> &str {
        self.0.namespace.name()
    }

    /// The socket's namespace.
    pub fn ns(&self) -> &Namespace {
        &self.0.namespace
    }

    /// What the client sent when it connected.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The `socket` span (namespace and socket id) at `info`, for what happens once in a
    /// socket's life: its middleware and connection handler, its disconnect handlers. Each
    /// packet it receives gets a `debug` span of the same name instead, so that nothing is
    /// formatted per packet with the default `info` filter.
    pub(crate) fn span(&self) -> tracing::Span {
        tracing::info_span!("socket", namespace = self.namespace(), id = %self.id())
    }

    pub(crate) fn handshake_arc(&self) -> Arc<Handshake> {
        self.0.handshake.clone()
    }

    /// Whether the socket was recovered: its client lost its connection and came back in
    /// time, and the socket has the id, rooms and data it had, and got every packet it
    /// missed ([`IoBuilder::recovery`](crate::IoBuilder::recovery)).
    pub fn recovered(&self) -> bool {
        self.0.recovery.as_ref().is_some_and(|r| r.recovered)
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// The transport the connection runs on now: `polling`, `websocket` or `sse`.
    pub fn transport(&self) -> &'static str {
        self.0.session.transport()
    }

    pub(crate) fn session(&self) -> &Session {
        &self.0.session
    }

    pub(crate) fn parser(&self) -> Parser {
        self.0.namespace.parser()
    }

    pub(crate) fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0.namespace.state::<T>()
    }

    /// Calls `handler` for every `event` the client emits, replacing an earlier handler of
    /// the same event.
    pub fn on<H: Handler<M>, M: 'static>(&self, event: impl Into<String>, handler: H) {
        let event: Box<str> = event.into().into_boxed_str();
        let handler = boxed(handler);
        let mut handlers = write(&self.0.handlers);
        match handlers.events.iter_mut().find(|(name, _)| *name == event) {
            Some((_, slot)) => *slot = handler,
            None => handlers.events.push((event, handler)),
        }
    }

    /// Calls `handler` for every event, before the event's own handler, as Node's `onAny`
    /// does; the [`Event`] extractor gives its name. Several can be added; they run in the
    /// order they were added. Answer acks in one handler only: the client takes the first.
    ///
    /// [`Event`]: crate::Event
    pub fn on_any<H: Handler<M>, M: 'static>(&self, handler: H) {
        write(&self.0.handlers).any.push(boxed(handler));
    }

    /// Calls `handler` for every event that has no handler of its own (replacing an
    /// earlier one); the [`Event`] extractor gives its name.
    ///
    /// [`Event`]: crate::Event
    pub fn on_fallback<H: Handler<M>, M: 'static>(&self, handler: H) {
        write(&self.0.handlers).fallback = Some(boxed(handler));
    }

    /// Removes the handler of `event`.
    pub fn off(&self, event: &str) {
        write(&self.0.handlers)
            .events
            .retain(|(name, _)| &**name != event);
    }

    /// Removes every handler added with [`on_any`](Self::on_any).
    pub fn off_any(&self) {
        write(&self.0.handlers).any.clear();
    }

    /// Calls `handler` when the socket disconnects; the [`DisconnectReason`] extractor says
    /// why. Handlers run in the order they were added, after the socket left its rooms.
    pub fn on_disconnect<H: Handler<M>, M: 'static>(&self, handler: H) {
        write(&self.0.handlers).disconnect.push(boxed(handler));
    }

    /// Calls `handler` when the socket is about to disconnect, while it is still in its
    /// rooms (`socket.rooms()` still lists them), as Node's `disconnecting` event; the
    /// [`DisconnectReason`] extractor says why. Emits to the socket no longer go out.
    pub fn on_disconnecting<H: Handler<M>, M: 'static>(&self, handler: H) {
        write(&self.0.handlers).disconnecting.push(boxed(handler));
    }

    /// Runs `interceptor` on every event before its handler: it can read it, change it, or
    /// reject it (the event is then dropped and the rejection logged). Interceptors run in
    /// the order they were added.
    ///
    /// ```
    /// use tidings::{EventPacket, Io, Rejected, Socket};
    ///
    /// let io = Io::builder().build();
    /// io.ns("/", |socket: Socket| {
    ///     socket.intercept(|packet: &mut EventPacket| {
    ///         if packet.event().starts_with("admin:") {
    ///             return Err(Rejected::new("not an admin"));
    ///         }
    ///         Ok(())
    ///     });
    /// });
    /// ```
    pub fn intercept<F>(&self, interceptor: F)
    where
        F: Fn(&mut EventPacket) -> Result<(), Rejected> + Send + Sync + 'static,
    {
        write(&self.0.handlers)
            .interceptors
            .push(Arc::new(interceptor));
    }

    /// Joins `rooms` (one room, or several); joining a room it is in already does nothing.
    ///
    /// # Errors
    /// [`JoinError::TooManyRooms`] when the socket would be in more rooms than
    /// [`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket) allows
    /// (10,000 by default, its own room not counted): it then joins none of `rooms`.
    ///
    /// ```
    /// use tidings::{AckSender, Data, Io, Socket};
    ///
    /// let io = Io::builder().max_rooms_per_socket(50).build();
    /// io.ns("/", |socket: Socket| {
    ///     socket.on("join", |socket: Socket, Data(room): Data<String>, ack: AckSender| {
    ///         let _ = match socket.join(room) {
    ///             Ok(()) => ack.send("ok"),
    ///             // Tell the client, which may leave a room and try again.
    ///             Err(error) => ack.send(&error.to_string()),
    ///         };
    ///     });
    /// });
    /// ```
    pub fn join(&self, rooms: impl IntoRooms) -> Result<(), JoinError> {
        self.0
            .namespace
            .adapter()
            .add_all(self.id(), &rooms.into_rooms())
    }

    /// Leaves `rooms` (one room, or several).
    pub fn leave(&self, rooms: impl IntoRooms) {
        self.0
            .namespace
            .adapter()
            .del(self.id(), &rooms.into_rooms());
    }

    /// The rooms the socket is in, its own room first.
    pub fn rooms(&self) -> Vec<Room> {
        self.0.namespace.adapter().socket_rooms(self.id())
    }

    /// A broadcast to the sockets in `rooms`, this one left out.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.to(rooms)
    }

    /// A broadcast to every socket of the namespace but this one and those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.broadcast().except(rooms)
    }

    /// A broadcast to every socket of the namespace but this one.
    pub fn broadcast(&self) -> BroadcastOperators {
        self.0.namespace.operators().except(self.id())
    }

    /// Emits to this socket only when its connection has nothing waiting to be sent;
    /// otherwise the packet is dropped (Node's `socket.volatile.emit`), for data that the
    /// next packet makes stale anyway.
    pub fn volatile(&self) -> BroadcastOperators {
        self.0
            .namespace
            .operators()
            .to(self.id())
            .local()
            .volatile()
    }

    /// Disconnects the socket from its namespace; the client's connection stays open for
    /// its other namespaces. The client is told, and does not reconnect by itself.
    pub fn disconnect(&self) {
        self.close_with(DisconnectReason::ServerNamespaceDisconnect, true);
    }

    /// Closes the client's whole connection: every namespace on it is disconnected (the
    /// client is told, and does not reconnect by itself), then the connection closes. The
    /// disconnect handlers get [`DisconnectReason::ForcedClose`].
    pub fn close(&self) {
        Client::close_all(&self.0.session, DisconnectReason::ForcedClose);
    }

    /// Attaches `data` to the socket, replacing what was there; other servers of a cluster
    /// see it (as JSON) in [`RemoteSocket::data`].
    pub fn set_data<T: Serialize + Send + Sync + 'static>(&self, data: T) {
        *write(&self.0.data_json) = serde_json::to_value(&data).ok();
        *write(&self.0.data) = Some(Arc::new(data));
        self.track();
    }

    /// The data attached with [`set_data`](Self::set_data), if it is a `T`.
    ///
    /// A socket recovered on another server of a cluster has its data as JSON only: it is
    /// read as a `T` the first time it is asked for, and kept.
    pub fn data<T: DeserializeOwned + Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        if let Some(data) = read(&self.0.data).clone() {
            return data.downcast().ok();
        }
        let data: Arc<T> = Arc::new(serde_json::from_value(self.data_json()?).ok()?);
        let mut kept = write(&self.0.data);
        // Another thread may have set it meanwhile: what is kept wins.
        let kept = kept.get_or_insert_with(|| data.clone()).clone();
        kept.downcast().ok()
    }

    pub(crate) fn data_json(&self) -> Option<serde_json::Value> {
        read(&self.0.data_json).clone()
    }

    /// Gives up its hold on its namespace: it left, or never got in.
    pub(crate) fn release_seat(&self) {
        self.0.seat.release();
    }
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.0.id)
            .field("namespace", &self.namespace())
            .field("connected", &self.connected())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Socket {}
