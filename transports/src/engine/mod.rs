//! The engine: the session table and the HTTP entry point that checks every request and hands
//! it to its transport.

mod compression;
mod config;
mod cors;
mod error;
mod handler;
pub(crate) mod heartbeat;
mod limit;
mod origin;
pub(crate) mod query;
mod session;
mod shutdown;
mod sid;
mod span;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering, fence};
use std::time::Duration;

use bytes::{Buf, Bytes};
use dashmap::DashMap;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use tracing::Instrument;

pub use self::compression::{HttpCompression, PerMessageDeflate};
pub use self::config::{AllowFuture, EngineConfig, SessionCookie};
pub use self::cors::Cors;
pub use self::error::RequestError;
pub use self::handler::{CloseReason, Handler};
pub use self::limit::HandshakeRate;
use self::limit::RateTable;
use self::query::Query;
pub(crate) use self::session::Downstream;
pub use self::session::{SendError, Session, SessionClosed};
use self::shutdown::Drain;
pub(crate) use self::shutdown::Writer;
pub use self::sid::{InvalidSid, Sid};
pub(crate) use self::span::session_span;
use crate::Packet;
use crate::metrics::EngineMetrics;
use crate::service::{EngineBody, EngineLayer, EngineService, NotFound, PeerAddr};
use crate::transport::{self, Transport};

/// An Engine.IO v4 server: it opens sessions, keeps them alive and moves their packets over
/// whichever transport each client uses.
///
/// Mount it with [`Engine::service`] (standalone, with [`serve`](crate::serve)) or
/// [`Engine::layer`] (beside other routes, e.g. in axum). Cloning it is cheap.
///
/// ```no_run
/// use http::request::Parts;
/// use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_open(&self, _: &Session, _: &Parts) {}
///     fn on_message(&self, session: &Session, message: Message) {
///         let _ = session.send(message);
///     }
///     fn on_close(&self, _: &Session, _: CloseReason) {}
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let engine = Engine::new(EngineConfig::default(), Echo);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// tidings_transports::serve(listener, engine.service()).await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
}

/// What every session of an engine shares.
pub(crate) struct Shared {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) sessions: DashMap<Sid, Session>,
    pub(crate) drain: Drain,
    transports: Vec<Box<dyn Transport>>,
    /// Sessions in the table, and handshakes about to add one (`max_connections`).
    open: AtomicUsize,
    /// Handshakes per remote address, when limited.
    rates: Option<RateTable>,
    /// What the engine records, when [`EngineConfig::metrics`] is set.
    pub(crate) metrics: Option<EngineMetrics>,
}

impl Shared {
    /// Removes a closed session from the table.
    pub(crate) fn forget(&self, sid: Sid) {
        if let Some((_, session)) = self.sessions.remove(&sid) {
            session.uncount();
            self.open.fetch_sub(1, Ordering::AcqRel);
            self.drain.changed();
        }
    }

    /// Counts a session about to be opened; fails at `max_connections`.
    fn reserve(&self) -> Result<(), RequestError> {
        let max = self.config.max_connections.unwrap_or(usize::MAX);
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .map(drop)
            .map_err(|_| RequestError::TooManyConnections)
    }

    /// Refuses a handshake from an address over its rate, or when the engine is full (without
    /// counting it yet: `allow_request` may still refuse it).
    fn admit(&self, parts: &Parts) -> Result<(), RequestError> {
        if let Some(max) = self.config.max_connections
            && self.open.load(Ordering::Acquire) >= max
        {
            return Err(RequestError::TooManyConnections);
        }
        if let Some(rates) = &self.rates
            && let Some(PeerAddr(peer)) = parts.extensions.get::<PeerAddr>()
            && !rates.allow(peer.ip(), tokio::time::Instant::now())
        {
            return Err(RequestError::TooManyHandshakes);
        }
        Ok(())
    }
}

impl Engine {
    /// An engine with `config` whose sessions are handled by `handler`.
    pub fn new(config: EngineConfig, handler: impl Handler) -> Engine {
        let transports = transport::builtin()
            .into_iter()
            .filter(|t| config.allows(t.name()))
            .collect();
        if let Some(deflate) = &config.per_message_deflate {
            crate::packet::deflate::share_from(deflate.threshold);
        }
        Engine {
            shared: Arc::new(Shared {
                handler: Box::new(handler),
                sessions: DashMap::new(),
                drain: Drain::default(),
                transports,
                open: AtomicUsize::new(0),
                rates: config.handshake_rate.clone().map(RateTable::new),
                metrics: config.metrics.as_ref().map(EngineMetrics::new),
                config,
            }),
        }
    }

    /// The engine's configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The open session with this id.
    pub fn session(&self, sid: Sid) -> Option<Session> {
        self.shared.sessions.get(&sid).map(|s| s.clone())
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// Closes every session with [`CloseReason::ServerClose`]; their queued packets are still
    /// sent. The engine still opens new sessions afterwards; [`shutdown`](Self::shutdown)
    /// refuses them.
    pub fn close_all(&self) {
        let sessions: Vec<Session> = self.shared.sessions.iter().map(|s| s.clone()).collect();
        for session in sessions {
            session.close_with(CloseReason::ServerClose);
        }
    }

    /// Shuts the engine down gracefully, waiting at most `deadline`.
    ///
    /// From the call on, handshakes are refused with status 503 and
    /// `{"code":6,"message":"Server shutting down"}` ([`RequestError::ShuttingDown`]), for
    /// good. Every session is closed with [`CloseReason::ServerClose`]: what is queued for its
    /// client is still sent, then the close packet (a WebSocket then ends with close code
    /// 1001, "going away"), and the client sees its transport close, so it reconnects, to
    /// another server or to this one once it is back.
    ///
    /// The future resolves once every session has left the engine and every connection has
    /// written its last bytes, or when `deadline` has passed, whichever comes first. At the
    /// deadline, WebSocket connections still writing to a client that does not read are
    /// dropped, and sessions whose long-polling client never came back for its close packet
    /// are forgotten.
    ///
    /// Keep accepting connections until it resolves, as
    /// [`serve_with_shutdown`](crate::serve_with_shutdown) does below: a long-polling client
    /// may open a new connection to collect its last packets, and a new client is better
    /// answered 503 than refused.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn run(engine: tidings_transports::Engine) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// let shutdown = async {
    ///     let _ = tokio::signal::ctrl_c().await;
    ///     engine.shutdown(Duration::from_secs(10)).await;
    /// };
    /// tidings_transports::serve_with_shutdown(listener, engine.service(), shutdown).await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn shutdown(&self, deadline: Duration) {
        let shared = &self.shared;
        let deadline = tokio::time::Instant::now() + deadline;
        shared.drain.begin(deadline);
        self.close_all();
        let done = || shared.sessions.is_empty() && shared.drain.writers() == 0;
        if tokio::time::timeout_at(deadline, shared.drain.until(done))
            .await
            .is_err()
        {
            tracing::info!(
                sessions = shared.sessions.len(),
                connections = shared.drain.writers(),
                "shutdown deadline passed; dropping what is left"
            );
            let left: Vec<Sid> = shared.sessions.iter().map(|s| *s.key()).collect();
            for sid in left {
                shared.forget(sid);
            }
        }
    }

    /// A tower service answering the engine's path, and 404 elsewhere.
    pub fn service(&self) -> EngineService<NotFound> {
        EngineService::new(self.clone(), NotFound)
    }

    /// A tower layer that answers the engine's path and passes every other request on.
    pub fn layer(&self) -> EngineLayer {
        EngineLayer::new(self.clone())
    }

    /// Answers one HTTP request on the engine's path.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<EngineBody>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let (mut parts, body) = request.into_parts();
        let cors = self.shared.config.cors.as_ref();
        if parts.method == Method::OPTIONS
            && let Some(cors) = cors
        {
            return cors.preflight(&parts.headers);
        }
        let mut response = match self.route(&mut parts, body).await {
            Ok(response) => response,
            Err(error) => {
                if let Some(metrics) = &self.shared.metrics {
                    metrics.refused(&error);
                }
                tracing::debug!(uri = %parts.uri, %error, "request refused");
                error.into_response()
            }
        };
        if let Some(cors) = cors {
            cors.apply(&parts.headers, response.headers_mut());
        }
        response
    }

    async fn route<B>(
        &self,
        parts: &mut Parts,
        body: B,
    ) -> Result<Response<EngineBody>, RequestError>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // First, on every request: a page of a foreign origin learns nothing, not even
        // whether its session id exists.
        if let Some(origins) = &self.shared.config.origins
            && !origins.allows(&parts.headers)
        {
            return Err(RequestError::OriginNotAllowed);
        }
        let query = Query::parse(parts.uri.query().unwrap_or(""));
        if query.eio.as_deref() != Some("4") {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        let transport = self
            .transport(query.transport.as_deref().unwrap_or(""))
            .ok_or(RequestError::UnknownTransport)?;
        transport.check(parts)?;

        // An empty `sid` is no sid, as in Node.
        let Some(sid) = query.sid.filter(|sid| !sid.is_empty()) else {
            return self.handshake(transport, parts).await;
        };
        let session = sid
            .parse()
            .ok()
            .and_then(|sid| self.session(sid))
            .ok_or(RequestError::UnknownSid)?;
        if session.transport() == transport.name() {
            let span = session_span(session.id(), transport.name(), parts);
            if parts.method != Method::POST {
                return transport
                    .serve(session, parts, Bytes::new())
                    .instrument(span)
                    .await;
            }
            let Ok(_upstream) = session.begin_upstream() else {
                session.close_with(CloseReason::TransportError);
                return Err(RequestError::BadRequest);
            };
            let body = self.read_body(&session, &parts.headers, body).await?;
            transport.serve(session, parts, body).instrument(span).await
        } else if self.shared.config.allow_upgrades
            && self
                .transport(session.transport())
                .is_some_and(|from| from.upgradable())
        {
            transport.upgrade(session, parts)
        } else {
            Err(RequestError::BadRequest)
        }
    }

    async fn handshake(
        &self,
        transport: &dyn Transport,
        parts: &mut Parts,
    ) -> Result<Response<EngineBody>, RequestError> {
        if parts.method != Method::GET {
            return Err(RequestError::BadHandshakeMethod);
        }
        if self.shared.drain.begun() {
            return Err(RequestError::ShuttingDown);
        }
        self.shared.admit(parts)?;
        if let Some(allow) = &self.shared.config.allow_request {
            allow(parts).await.map_err(RequestError::Forbidden)?;
        }
        self.shared.reserve()?;
        let sid = Sid::new();
        let span = session_span(sid, transport.name(), parts);
        let _entered = span.enter();
        let open = self.open_packet(sid, transport);
        let session = Session::new(self.shared.clone(), sid, transport.name(), open);
        // Counted before it can be found: the shutdown's sweep may forget it at once.
        if let Some(metrics) = &self.shared.metrics {
            metrics.opened(transport.name());
        }
        self.shared.sessions.insert(sid, session.clone());
        let mut response = transport.open(session.clone(), parts);
        if !transport.drives_heartbeat() {
            let session = session.clone();
            let heartbeat = async move { heartbeat::run(&session).await };
            tokio::spawn(heartbeat.instrument(span.clone()));
        }
        if let Some(cookie) = &self.shared.config.cookie
            && let Ok(value) = HeaderValue::try_from(cookie.header_value(sid.as_str()))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        tracing::debug!("session opened");
        let handler = &self.shared.handler;
        session.contain("on_open", || handler.on_open(&session, parts));
        // A shutdown that began since the check above may have missed this session (it was
        // not in the table yet): close it here. Pairs with the fence in `Drain::begin`.
        fence(Ordering::SeqCst);
        if self.shared.drain.begun() {
            session.close_with(CloseReason::ServerClose);
        }
        Ok(response)
    }

    /// Reads a POST body of at most `max_payload` bytes; a larger one closes the session.
    async fn read_body<B>(
        &self,
        session: &Session,
        headers: &http::HeaderMap,
        body: B,
    ) -> Result<Bytes, RequestError>
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let max = self.shared.config.max_payload;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let too_large = || {
            session.close_with(CloseReason::TransportError);
            RequestError::PayloadTooLarge
        };
        if declared.is_some_and(|len| len > max as u64) {
            return Err(too_large());
        }
        match Limited::new(body, max).collect().await {
            Ok(collected) => {
                let mut buf = collected.aggregate();
                Ok(buf.copy_to_bytes(buf.remaining()))
            }
            Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(_) => Err(RequestError::BadRequest),
        }
    }

    /// The handshake packet, keys in the order Node sends them.
    fn open_packet(&self, sid: Sid, transport: &dyn Transport) -> Packet {
        let config = &self.shared.config;
        let upgrades: Vec<&str> = if config.allow_upgrades && transport.upgradable() {
            self.shared
                .transports
                .iter()
                .filter(|t| t.accepts_upgrades())
                .map(|t| t.name())
                .collect()
        } else {
            Vec::new()
        };
        let json = format!(
            r#"0{{"sid":"{sid}","upgrades":{},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            serde_json::Value::from(upgrades),
            config.ping_interval.as_millis(),
            config.ping_timeout.as_millis(),
            config.max_payload,
        );
        Packet::Open(json.into())
    }

    fn transport(&self, name: &str) -> Option<&dyn Transport> {
        self.shared
            .transports
            .iter()
            .find(|t| t.name() == name)
            .map(|t| &**t)
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.shared.config)
            .field("sessions", &self.shared.sessions.len())
            .finish()
    }
}
