//! [`Io`]: the server, its namespaces, and how to mount it.

mod builder;
mod dynamic;

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tidings_transports::{Engine, EngineLayer, EngineService, Metrics, NotFound};

pub use self::builder::IoBuilder;
pub use self::dynamic::DynamicNamespace;
pub(crate) use self::dynamic::Seat;
use self::dynamic::{Dynamic, Namespaces};
use crate::adapter::AdapterFactory;
use crate::handler::Handler;
use crate::metrics::IoMetrics;
use crate::namespace::{Handlers, Namespace, StateMap};
use crate::parser::Parser;
use crate::recovery::Recovery;
use crate::socket::EventRate;
use crate::sync::{read, write};

/// The Socket.IO server: its namespaces, and the engine that carries them.
///
/// Cloning it is cheap; every clone is the same server. It dereferences to its main
/// namespace `/`, so `io.emit(..)` and `io.to(..)` work as in Node.
///
/// ```no_run
/// use tidings::{AckSender, Data, Io, Socket};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let io = Io::builder().build();
///     io.ns("/", |socket: Socket| {
///         socket.on("echo", |Data(text): Data<String>, ack: AckSender| {
///             let _ = ack.send(&text);
///         });
///     });
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
///     tidings::serve(listener, io.service()).await;
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct Io {
    inner: Arc<IoInner>,
    engine: Engine,
    main: Namespace,
}

/// What every namespace and socket of a server shares.
pub(crate) struct Core {
    pub(crate) parser: Parser,
    pub(crate) ack_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_attachments: usize,
    pub(crate) max_rooms_per_socket: usize,
    pub(crate) event_rate: Option<EventRate>,
    pub(crate) recovery: Option<Recovery>,
    pub(crate) state: StateMap,
    pub(crate) metrics: Option<IoMetrics>,
}

/// The server's namespaces.
pub(crate) struct IoInner {
    pub(crate) core: Arc<Core>,
    adapter: AdapterFactory,
    namespaces: RwLock<Namespaces>,
    dynamic: RwLock<Vec<Dynamic>>,
    /// The most namespaces dynamic namespaces may have created at once.
    max_children: usize,
    /// Whether the namespaces they created are removed once empty.
    cleanup: bool,
}

impl IoInner {
    fn namespace(self: &Arc<Self>, name: &str) -> Namespace {
        if let Some(namespace) = read(&self.namespaces).by_name.get(name) {
            return namespace.clone();
        }
        write(&self.namespaces)
            .by_name
            .entry(name.to_owned())
            .or_insert_with(|| {
                Namespace::new(
                    name.to_owned(),
                    self.core.clone(),
                    Arc::default(),
                    &self.adapter,
                    None,
                )
            })
            .clone()
    }
}

impl Io {
    /// A builder, for a server with other settings than the defaults.
    pub fn builder() -> IoBuilder {
        IoBuilder::default()
    }

    /// Calls `handler` for every socket that connects to namespace `name` (`/` is the main
    /// one), creating the namespace if needed; its arguments are extractors, such as the
    /// [`Socket`](crate::Socket) and the auth payload as [`Data`](crate::Data).
    pub fn ns<H: Handler<M>, M: 'static>(&self, name: &str, handler: H) -> Namespace {
        let namespace = self.inner.namespace(name);
        namespace.handlers().set_connection(handler);
        namespace
    }

    /// A dynamic namespace: every name `matches` accepts becomes a namespace when a client
    /// first connects to it, with `handler` as its connection handler and the dynamic
    /// namespace's middleware. Static namespaces come first; then dynamic ones, in the
    /// order they were added.
    ///
    /// The created namespaces count against
    /// [`IoBuilder::max_dynamic_namespaces`] (10,000 by default), and are removed when their
    /// last socket leaves ([`IoBuilder::cleanup_empty_namespaces`], on by default).
    ///
    /// ```
    /// use tidings::{Io, Socket};
    ///
    /// let io = Io::builder().build();
    /// io.dynamic_ns(
    ///     |name| name.strip_prefix("/team-").is_some_and(|id| id.parse::<u32>().is_ok()),
    ///     |socket: Socket| println!("{} joined {}", socket.id(), socket.namespace()),
    /// );
    /// ```
    pub fn dynamic_ns<F, H, M>(&self, matches: F, handler: H) -> DynamicNamespace
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
        H: Handler<M>,
        M: 'static,
    {
        let handlers = Arc::new(Handlers::default());
        handlers.set_connection(handler);
        write(&self.inner.dynamic).push(Dynamic {
            matches: Box::new(matches),
            handlers: handlers.clone(),
        });
        DynamicNamespace(handlers)
    }

    /// Namespace `name`, if it exists (a static one, or one a dynamic namespace created).
    pub fn of(&self, name: &str) -> Option<Namespace> {
        read(&self.inner.namespaces).by_name.get(name).cloned()
    }

    /// The main namespace, `/`. It always exists: without a connection handler, sockets
    /// connect to it and get no event handlers.
    pub fn sockets(&self) -> &Namespace {
        &self.main
    }

    /// The Engine.IO engine under the server.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The metrics the server records in, when
    /// [`EngineConfig::metrics`](crate::EngineConfig::metrics) is set: the engine's and the
    /// Socket.IO layer's (see the repository's `docs/observability.md`).
    ///
    /// ```
    /// use tidings::{EngineConfig, Io, Metrics};
    ///
    /// let io = Io::builder()
    ///     .engine(EngineConfig::default().path("/socket.io/").metrics(Metrics::new()))
    ///     .build();
    /// let text = io.metrics().map(Metrics::render).unwrap_or_default();
    /// assert!(text.contains("tidings_sockets 0"));
    /// ```
    pub fn metrics(&self) -> Option<&Metrics> {
        self.engine.config().metrics_registry()
    }

    /// A tower `Service` answering the server's requests, and 404 to any other.
    pub fn service(&self) -> EngineService<NotFound> {
        self.engine.service()
    }

    /// A tower `Layer` that answers the server's requests and passes every other request to
    /// the service it wraps (an axum `Router`, say).
    pub fn layer(&self) -> EngineLayer {
        self.engine.layer()
    }

    /// Closes every connection; their sockets disconnect with
    /// [`DisconnectReason::ServerShuttingDown`](crate::DisconnectReason::ServerShuttingDown).
    pub fn close(&self) {
        self.engine.close_all();
    }

    /// Shuts the server down gracefully, waiting at most `deadline`: new clients are refused
    /// (503), and every connection is closed after what is queued for it was sent.
    /// Its sockets disconnect with
    /// [`DisconnectReason::ServerShuttingDown`](crate::DisconnectReason::ServerShuttingDown).
    ///
    /// No Socket.IO DISCONNECT is sent: the client sees its transport close and reconnects
    /// by itself (to another server, or to this one once it is back), which it would not do
    /// after a DISCONNECT. The future resolves once every connection has ended, or at the
    /// deadline; see [`Engine::shutdown`] for the details.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tidings::Io;
    ///
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     let io = Io::builder().build();
    ///     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    ///     // Accepting goes on while the shutdown runs: long-polling clients collect their
    ///     // last packets, new clients get 503.
    ///     let shutdown = async {
    ///         let _ = tokio::signal::ctrl_c().await;
    ///         io.shutdown(Duration::from_secs(10)).await;
    ///     };
    ///     tidings::serve_with_shutdown(listener, io.service(), shutdown).await;
    ///     Ok(())
    /// }
    /// ```
    pub async fn shutdown(&self, deadline: Duration) {
        self.engine.shutdown(deadline).await;
    }
}

impl Deref for Io {
    type Target = Namespace;

    fn deref(&self) -> &Namespace {
        &self.main
    }
}

impl fmt::Debug for Io {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Io")
            .field("parser", &self.inner.core.parser)
            .field("namespaces", &read(&self.inner.namespaces).by_name.len())
            .finish_non_exhaustive()
    }
}
