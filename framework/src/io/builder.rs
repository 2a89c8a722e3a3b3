//! [`IoBuilder`]: the server's settings.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tidings_transports::{Engine, EngineConfig};

use super::{Core, Io, IoInner};
use crate::adapter::{Adapter, AdapterFactory, LocalAdapter};
use crate::client::EngineHandler;
use crate::metrics::IoMetrics;
use crate::namespace::{LocalNamespace, StateMap};
use crate::parser::{Parser, json::DEFAULT_MAX_ATTACHMENTS};
use crate::recovery::Recovery;
use crate::socket::EventRate;

/// The default of [`IoBuilder::max_rooms_per_socket`].
const DEFAULT_MAX_ROOMS_PER_SOCKET: usize = 10_000;

/// The default of [`IoBuilder::max_dynamic_namespaces`].
const DEFAULT_MAX_DYNAMIC_NAMESPACES: usize = 10_000;

/// The settings of a server: `Io::builder()…build()`.
///
/// ```
/// use std::time::Duration;
/// use tidings::{EngineConfig, Io, Parser};
///
/// let io = Io::builder()
///     .parser(Parser::MsgPack)
///     .ack_timeout(Duration::from_secs(10))
///     .engine(EngineConfig::default().path("/realtime/").ping_interval(Duration::from_secs(10)))
///     .build();
/// # let _ = io;
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct IoBuilder {
    engine: EngineConfig,
    parser: Parser,
    ack_timeout: Duration,
    connect_timeout: Duration,
    max_attachments: usize,
    max_rooms_per_socket: usize,
    max_dynamic_namespaces: usize,
    cleanup_empty_namespaces: bool,
    event_rate: Option<EventRate>,
    recovery: Option<Recovery>,
    state: StateMap,
    adapter: AdapterFactory,
}

impl Default for IoBuilder {
    fn default() -> Self {
        IoBuilder {
            engine: EngineConfig::default().path("/socket.io/"),
            parser: Parser::default(),
            ack_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(45),
            max_attachments: DEFAULT_MAX_ATTACHMENTS,
            max_rooms_per_socket: DEFAULT_MAX_ROOMS_PER_SOCKET,
            max_dynamic_namespaces: DEFAULT_MAX_DYNAMIC_NAMESPACES,
            cleanup_empty_namespaces: true,
            event_rate: None,
            recovery: None,
            state: StateMap::default(),
            adapter: Arc::new(|namespace| Arc::new(LocalAdapter::new(namespace))),
        }
    }
}

impl IoBuilder {
    /// The Engine.IO settings: path, heartbeat, transports, payload limit, CORS, … Its
    /// default path here is `/socket.io/`; a config given here keeps its own path, so set
    /// it to `/socket.io/` if clients use the default.
    pub fn engine(mut self, config: EngineConfig) -> Self {
        self.engine = config;
        self
    }

    /// The parser every client must use; JSON by default.
    pub fn parser(mut self, parser: Parser) -> Self {
        self.parser = parser;
        self
    }

    /// How long an emit waits for an ack unless told otherwise; 5 seconds by default.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long a client may stay connected without joining a namespace; 45 seconds by
    /// default, as in Node.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The most binary attachments a client's packet may carry; 10 by default. A packet
    /// with more is a protocol error that closes the client's connection.
    pub fn max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// The most rooms one socket may be in, its own room not counted; 10,000 by default.
    /// [`Socket::join`](crate::Socket::join) beyond it fails with
    /// [`JoinError::TooManyRooms`](crate::JoinError::TooManyRooms) and joins nothing;
    /// operations on many sockets ([`BroadcastOperators::sockets_join`](crate::BroadcastOperators::sockets_join),
    /// from this server or another of the cluster) skip the sockets at the limit, with a
    /// warning in the log. `usize::MAX` lifts the limit.
    pub fn max_rooms_per_socket(mut self, max: usize) -> Self {
        self.max_rooms_per_socket = max;
        self
    }

    /// The most namespaces the dynamic namespaces ([`Io::dynamic_ns`]) may have created at
    /// once; 10,000 by default. A client asking for a new one beyond it gets a
    /// `connect_error` with the message `"Too many namespaces"`. Namespaces removed once
    /// empty ([`cleanup_empty_namespaces`](Self::cleanup_empty_namespaces)) no longer count.
    pub fn max_dynamic_namespaces(mut self, max: usize) -> Self {
        self.max_dynamic_namespaces = max;
        self
    }

    /// Whether a namespace a dynamic namespace created is removed when its last socket
    /// leaves (or when the client that asked for it is refused by the middleware); on by
    /// default. A client that asks for it again gets a new one, with the same handlers and
    /// middleware; a [`Namespace`](crate::Namespace) handle kept from before reaches no
    /// one. With connection state recovery on, namespaces are kept: their adapter holds the
    /// sessions of disconnected sockets. Node's `cleanupEmptyChildNamespaces`.
    pub fn cleanup_empty_namespaces(mut self, cleanup: bool) -> Self {
        self.cleanup_empty_namespaces = cleanup;
        self
    }

    /// Limits how many events each socket may send; no limit by default. See
    /// [`EventRate`] for what happens to the events over it.
    pub fn event_rate(mut self, rate: EventRate) -> Self {
        self.event_rate = Some(rate);
        self
    }

    /// Turns connection state recovery on: a client that lost its connection and comes
    /// back within the time limit gets its socket back, with its id, rooms and data, and
    /// every packet it missed ([`Socket::recovered`](crate::Socket::recovered) is then
    /// true). Off by default, as in Node; see [`Recovery`] for the settings.
    pub fn recovery(mut self, recovery: Recovery) -> Self {
        self.recovery = Some(recovery);
        self
    }

    /// Shared state for handlers, which take it with the [`State`](crate::State)
    /// extractor; one value per type.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        self.state.insert(
            TypeId::of::<T>(),
            Box::new(state) as Box<dyn Any + Send + Sync>,
        );
        self
    }

    /// The adapter of every namespace, built by `factory` from the namespace's handle;
    /// [`LocalAdapter`] by default.
    pub fn adapter<F, A>(mut self, factory: F) -> Self
    where
        F: Fn(LocalNamespace) -> A + Send + Sync + 'static,
        A: Adapter,
    {
        self.adapter = Arc::new(move |namespace| Arc::new(factory(namespace)) as Arc<dyn Adapter>);
        self
    }

    /// Builds the server.
    pub fn build(self) -> Io {
        // With recovery on, a namespace's adapter keeps the sessions of its disconnected
        // sockets: removing the namespace would lose them.
        let cleanup = self.cleanup_empty_namespaces && self.recovery.is_none();
        let core = Arc::new(Core {
            parser: self.parser,
            ack_timeout: self.ack_timeout,
            connect_timeout: self.connect_timeout,
            max_attachments: self.max_attachments,
            max_rooms_per_socket: self.max_rooms_per_socket,
            event_rate: self.event_rate,
            recovery: self.recovery,
            state: self.state,
            metrics: self.engine.metrics_registry().map(IoMetrics::new),
        });
        let inner = Arc::new(IoInner {
            core,
            adapter: self.adapter,
            namespaces: RwLock::default(),
            dynamic: RwLock::default(),
            max_children: self.max_dynamic_namespaces,
            cleanup,
        });
        let main = inner.namespace("/");
        let engine = Engine::new(self.engine, EngineHandler(inner.clone()));
        Io {
            inner,
            engine,
            main,
        }
    }
}

impl fmt::Debug for IoBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoBuilder")
            .field("engine", &self.engine)
            .field("parser", &self.parser)
            .field("ack_timeout", &self.ack_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_attachments", &self.max_attachments)
            .field("max_rooms_per_socket", &self.max_rooms_per_socket)
            .field("max_dynamic_namespaces", &self.max_dynamic_namespaces)
            .field("cleanup_empty_namespaces", &self.cleanup_empty_namespaces)
            .field("event_rate", &self.event_rate)
            .field("recovery", &self.recovery)
            .finish_non_exhaustive()
    }
}
