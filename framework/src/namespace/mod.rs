//! [`Namespace`]: a channel of its own over every client connection, with its sockets,
//! rooms, connection handler and middleware.

mod server_side;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

use serde::Serialize;
use tidings_transports::Message;

pub use self::server_side::ServerReply;
use self::server_side::ServerSideHandler;
use crate::adapter::{AckCollector, Adapter, AdapterFactory, BroadcastAcks, BroadcastPacket, Room};
use crate::handler::{BoxedHandler, BoxedMiddleware, Handler, Middleware, boxed, boxed_middleware};
use crate::io::{Core, IoInner};
use crate::metrics::{Fanout, IoMetrics};
use crate::operators::{BroadcastOperators, IntoRooms};
use crate::parser::Parser;
use crate::recovery::Recovery;
use crate::sid_map::SidMap;
use crate::socket::{EventRate, RemoteSocket, Socket};
use crate::sync::{read, write};
use crate::{EmitError, Payload, Sid};

/// A namespace. Cloning it is cheap; every clone is the same namespace.
///
/// Its operators ([`to`](Self::to), [`emit`](Self::emit), [`fetch_sockets`](Self::fetch_sockets),
/// …) reach its sockets, on this server or, with a cluster adapter, on every server.
#[derive(Clone)]
pub struct Namespace(Arc<Inner>);

struct Inner {
    name: String,
    core: Arc<Core>,
    sockets: RwLock<SidMap<Socket>>,
    /// The id of the socket with each private session id, when recovery is on.
    pids: RwLock<SidMap<Sid>>,
    adapter: OnceLock<Arc<dyn Adapter>>,
    /// Shared by the namespaces a dynamic namespace creates.
    handlers: Arc<Handlers>,
    /// The server, for a namespace a dynamic namespace created, which it removes once empty.
    owner: Option<Weak<IoInner>>,
    /// How many connections hold a seat in it (see `io::dynamic`).
    seats: AtomicUsize,
}

/// The connection handler and middleware of a namespace, or of a dynamic namespace and
/// every namespace it creates.
#[derive(Default)]
pub(crate) struct Handlers {
    connection: RwLock<Option<BoxedHandler>>,
    middleware: RwLock<Vec<BoxedMiddleware>>,
    server_side: RwLock<Option<ServerSideHandler>>,
}

impl Handlers {
    pub(crate) fn set_connection<H: Handler<M>, M: 'static>(&self, handler: H) {
        *write(&self.connection) = Some(boxed(handler));
    }

    pub(crate) fn add_middleware<H: Middleware<M>, M: 'static>(&self, middleware: H) {
        write(&self.middleware).push(boxed_middleware(middleware));
    }
}

/// The namespace as its adapter sees it: the sockets of this server, and how to encode for
/// them. It does not keep the namespace alive.
#[derive(Clone)]
pub struct LocalNamespace(Weak<Inner>);

impl Namespace {
    pub(crate) fn new(
        name: String,
        core: Arc<Core>,
        handlers: Arc<Handlers>,
        adapter: &AdapterFactory,
        owner: Option<Weak<IoInner>>,
    ) -> Namespace {
        let namespace = Namespace(Arc::new(Inner {
            name,
            core,
            sockets: RwLock::default(),
            pids: RwLock::default(),
            adapter: OnceLock::new(),
            handlers,
            owner,
            seats: AtomicUsize::new(0),
        }));
        let adapter = adapter(LocalNamespace(Arc::downgrade(&namespace.0)));
        let _ = namespace.0.adapter.set(adapter);
        namespace
    }

    /// What the server records, when metrics are on.
    pub(crate) fn metrics(&self) -> Option<&IoMetrics> {
        self.0.core.metrics.as_ref()
    }

    /// The namespace's name, such as `/` or `/admin`.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The namespace's adapter.
    pub fn adapter(&self) -> &Arc<dyn Adapter> {
        self.0
            .adapter
            .get()
            .expect("set when the namespace is built")
    }

    /// Whether a dynamic namespace created it.
    pub(crate) fn is_child(&self) -> bool {
        self.0.owner.is_some()
    }

    /// The server, for a namespace a dynamic namespace created.
    pub(crate) fn owner(&self) -> Option<Arc<IoInner>> {
        self.0.owner.as_ref()?.upgrade()
    }

    pub(crate) fn seat_taken(&self) {
        self.0.seats.fetch_add(1, Ordering::AcqRel);
    }

    /// A seat given up; true when it was the last.
    pub(crate) fn seat_left(&self) -> bool {
        self.0.seats.fetch_sub(1, Ordering::AcqRel) == 1
    }

    pub(crate) fn has_seats(&self) -> bool {
        self.0.seats.load(Ordering::Acquire) > 0
    }

    pub(crate) fn max_rooms_per_socket(&self) -> usize {
        self.0.core.max_rooms_per_socket
    }

    pub(crate) fn handlers(&self) -> &Arc<Handlers> {
        &self.0.handlers
    }

    pub(crate) fn parser(&self) -> Parser {
        self.0.core.parser
    }

    pub(crate) fn ack_timeout(&self) -> Duration {
        self.0.core.ack_timeout
    }

    pub(crate) fn event_rate(&self) -> Option<&EventRate> {
        self.0.core.event_rate.as_ref()
    }

    pub(crate) fn recovery(&self) -> Option<&Recovery> {
        self.0.core.recovery.as_ref()
    }

    pub(crate) fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.0
            .core
            .state
            .get(&std::any::TypeId::of::<T>())?
            .downcast_ref::<T>()
            .cloned()
    }

    /// Adds connection middleware: it runs, in the order added, before every connection
    /// to the namespace, with the extractors a handler has (the [`Socket`], its auth as
    /// [`Data`](crate::Data), [`State`](crate::State), …), and refuses the connection by
    /// returning a [`ConnectError`](crate::ConnectError), which the client gets as
    /// `connect_error`.
    ///
    /// ```
    /// use serde::Deserialize;
    /// use tidings::{ConnectError, Data, Io};
    ///
    /// #[derive(Deserialize)]
    /// struct Auth {
    ///     token: String,
    /// }
    ///
    /// let io = Io::builder().build();
    /// io.sockets().middleware(|Data(auth): Data<Option<Auth>>| async move {
    ///     match auth {
    ///         Some(auth) if auth.token == "secret" => Ok(()),
    ///         _ => Err(ConnectError::new("not authorized").with_data(&"a token is needed")),
    ///     }
    /// });
    /// ```
    pub fn middleware<H: Middleware<M>, M: 'static>(&self, middleware: H) -> &Self {
        self.0.handlers.add_middleware(middleware);
        self
    }

    /// Calls `handler` when another server of the cluster emits to this namespace with
    /// [`server_side_emit`](Self::server_side_emit).
    pub fn on_server_side_emit<F>(&self, handler: F)
    where
        F: Fn(BroadcastPacket, Option<ServerReply>) + Send + Sync + 'static,
    {
        *write(&self.0.handlers.server_side) = Some(Arc::new(handler));
    }

    /// Emits `event` to this namespace on the other servers of the cluster (not to
    /// clients).
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), EmitError> {
        let packet = self.packet(event, data)?;
        self.adapter().server_side_emit(&packet, None);
        Ok(())
    }

    /// Like [`server_side_emit`](Self::server_side_emit), collecting every server's reply
    /// within the timeout.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized.
    pub fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<BroadcastAcks, EmitError> {
        let packet = self.packet(event, data)?;
        let (collector, collected) = BroadcastAcks::new(timeout);
        self.adapter().server_side_emit(&packet, Some(collector));
        Ok(collected)
    }

    /// An event for the other servers, its arguments encoded once.
    fn packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastPacket, EmitError> {
        Ok(BroadcastPacket {
            event: event.to_owned(),
            args: Payload::encode(self.parser(), data)?,
        })
    }

    /// How many servers share this namespace.
    pub async fn server_count(&self) -> usize {
        self.adapter().server_count().await
    }

    /// The rooms with sockets in them, on every server of the cluster, the sockets' own
    /// rooms (their ids) included as in Node's `adapter.allRooms()`, in no particular order.
    pub async fn all_rooms(&self) -> Vec<Room> {
        self.adapter().all_rooms().await
    }

    /// The socket `sid`, if it is connected to this namespace on this server.
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        read(&self.0.sockets).get(&sid).cloned()
    }

    /// How many sockets are connected to this namespace on this server.
    pub fn socket_count(&self) -> usize {
        read(&self.0.sockets).len()
    }

    pub(crate) fn insert(&self, socket: &Socket) {
        if let Some(pid) = socket.pid() {
            write(&self.0.pids).insert(pid, socket.id());
        }
        write(&self.0.sockets).insert(socket.id(), socket.clone());
    }

    pub(crate) fn remove(&self, socket: &Socket) {
        self.adapter().del_all(socket.id());
        if let Some(pid) = socket.pid() {
            let mut pids = write(&self.0.pids);
            if pids.get(&pid) == Some(&socket.id()) {
                pids.remove(&pid);
            }
        }
        write(&self.0.sockets).remove(&socket.id());
        socket.release_seat();
    }

    /// The connected socket of this server whose private session id is `pid`.
    pub(crate) fn socket_by_pid(&self, pid: Sid) -> Option<Socket> {
        let sid = *read(&self.0.pids).get(&pid)?;
        self.socket(sid)
    }

    pub(crate) fn connection_handler(&self) -> Option<BoxedHandler> {
        read(&self.0.handlers.connection).clone()
    }

    pub(crate) fn middlewares(&self) -> Vec<BoxedMiddleware> {
        read(&self.0.handlers.middleware).clone()
    }

    /// Operators that select every socket of the namespace.
    pub fn operators(&self) -> BroadcastOperators {
        BroadcastOperators::new(self.clone())
    }

    /// Selects the sockets in `rooms`.
    pub fn to(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.operators().to(rooms)
    }

    /// Same as [`to`](Self::to).
    pub fn within(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.operators().to(rooms)
    }

    /// Selects every socket but those in `rooms`.
    pub fn except(&self, rooms: impl IntoRooms) -> BroadcastOperators {
        self.operators().except(rooms)
    }

    /// Selects the sockets of this server only.
    pub fn local(&self) -> BroadcastOperators {
        self.operators().local()
    }

    /// Skips the sockets that cannot take the packet at once.
    pub fn volatile(&self) -> BroadcastOperators {
        self.operators().volatile()
    }

    /// Sets the timeout of [`BroadcastOperators::emit_with_ack`].
    pub fn timeout(&self, timeout: Duration) -> BroadcastOperators {
        self.operators().timeout(timeout)
    }

    /// Emits `event` to every socket of the namespace.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.operators().emit(event, data)
    }

    /// Emits `event` to every socket and collects their acks
    /// ([`BroadcastOperators::emit_with_ack`]).
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        self.operators().emit_with_ack(event, data)
    }

    /// The sockets of the namespace, with their handshake, rooms and data.
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        self.operators().fetch_sockets().await
    }

    /// Makes every socket of the namespace join `rooms`.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.operators().sockets_join(rooms);
    }

    /// Makes every socket of the namespace leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.operators().sockets_leave(rooms);
    }

    /// Disconnects every socket of the namespace; `close` closes their whole connections.
    pub fn disconnect_sockets(&self, close: bool) {
        self.operators().disconnect_sockets(close);
    }
}

impl LocalNamespace {
    /// The namespace, while it exists.
    pub(crate) fn upgrade(&self) -> Option<Namespace> {
        self.0.upgrade().map(Namespace)
    }

    /// The parser the namespace's server speaks, in which its payloads are encoded
    /// ([`Parser::Json`] once the namespace is gone). An adapter needs it to turn the
    /// arguments it receives from other servers into payloads
    /// ([`Parser::payload_from_msgpack`], [`Parser::payload_from_json`]).
    pub fn parser(&self) -> Parser {
        self.upgrade().map_or(Parser::Json, |ns| ns.parser())
    }

    /// The namespace's name (empty once it is gone).
    pub fn name(&self) -> String {
        self.upgrade()
            .map(|ns| ns.name().to_owned())
            .unwrap_or_default()
    }

    /// The server's connection state recovery settings, when it is on.
    pub fn recovery(&self) -> Option<Recovery> {
        self.upgrade()?.recovery().cloned()
    }

    /// The most rooms a socket may be in
    /// ([`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket)).
    pub(crate) fn max_rooms_per_socket(&self) -> usize {
        self.upgrade()
            .map_or(usize::MAX, |ns| ns.max_rooms_per_socket())
    }

    /// The connected socket `sid` of this server.
    pub fn socket(&self, sid: Sid) -> Option<Socket> {
        self.upgrade()?.socket(sid)
    }

    /// Records a broadcast to this server's sockets, when metrics are on.
    pub(crate) fn broadcasted(&self, fanout: Fanout) {
        if let Some(ns) = self.upgrade()
            && let Some(metrics) = ns.metrics()
        {
            metrics.broadcast(fanout);
        }
    }

    /// Calls `f` with the connected sockets of this server, under the namespace's read
    /// lock (nothing when the namespace is gone).
    pub(crate) fn with_sockets(&self, f: impl FnOnce(&SidMap<Socket>)) {
        if let Some(ns) = self.upgrade() {
            f(&read(&ns.0.sockets));
        }
    }

    /// Every connected socket of this server.
    pub fn sockets(&self) -> Vec<Socket> {
        self.upgrade()
            .map(|ns| read(&ns.0.sockets).values().cloned().collect())
            .unwrap_or_default()
    }

    /// Encodes an event once for every socket of the namespace, with the namespace's parser
    /// (nothing once the namespace is gone).
    pub fn encode_event(&self, packet: &BroadcastPacket) -> Vec<Message> {
        match self.upgrade() {
            Some(ns) => ns
                .parser()
                .event(ns.name(), &packet.event, None, &packet.args),
            None => Vec::new(),
        }
    }

    /// Hands an event from another server's [`Namespace::server_side_emit`] to this
    /// namespace's handler; `acks` gets its reply, if the sender waits for one.
    pub fn receive_server_side_emit(&self, packet: BroadcastPacket, acks: Option<AckCollector>) {
        let Some(ns) = self.upgrade() else { return };
        let handler = read(&ns.0.handlers.server_side).clone();
        match handler {
            Some(handler) => {
                let reply = acks.map(|acks| ServerReply::new(acks, ns.parser()));
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handler(packet, reply)
                }));
            }
            None => tracing::debug!(namespace = ns.name(), "server-side emit with no handler"),
        }
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.0.name)
            .field("sockets", &self.socket_count())
            .finish_non_exhaustive()
    }
}

impl PartialEq for Namespace {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Namespace {}

impl fmt::Debug for LocalNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LocalNamespace").field(&self.name()).finish()
    }
}

/// Keeps the shared-state map's value type in one place.
pub(crate) type StateMap = HashMap<std::any::TypeId, Box<dyn Any + Send + Sync>>;
