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
        let core = Arc::new(Core {
            parser: self.parser,
            ack_timeout: self.ack_timeout,
            connect_timeout: self.connect_timeout,
            max_attachments: self.max_attachments,
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
            .field("event_rate", &self.event_rate)
            .field("recovery", &self.recovery)
            .finish_non_exhaustive()
    }
}
