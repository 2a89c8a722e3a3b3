//! How an engine behaves: timings, limits, transports, CORS, handshake checks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use super::compression::{HttpCompression, PerMessageDeflate};
use super::cors::Cors;
use super::limit::HandshakeRate;
use super::origin::AllowedOrigins;
use crate::Metrics;

/// A boxed future of a handshake check's verdict.
pub type AllowFuture = Pin<Box<dyn Future<Output = Result<(), Option<String>>> + Send>>;

type AllowRequestFn = dyn Fn(&Parts) -> AllowFuture + Send + Sync;

/// The configuration of an [`Engine`](crate::Engine).
///
/// Start from [`EngineConfig::default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use tidings_transports::{Cors, EngineConfig};
///
/// let config = EngineConfig::default()
///     .path("/realtime/")
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(64 * 1024)
///     .transports(["websocket", "polling"])
///     .cors(Cors::origins(["https://example.com"]).credentials(true));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    pub(crate) path: String,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
    pub(crate) upgrade_timeout: Duration,
    pub(crate) max_payload: usize,
    pub(crate) transports: Vec<String>,
    pub(crate) allow_upgrades: bool,
    pub(crate) cors: Option<Cors>,
    pub(crate) allow_request: Option<Arc<AllowRequestFn>>,
    pub(crate) cookie: Option<SessionCookie>,
    pub(crate) sse_keep_alive: Duration,
    pub(crate) max_queued_bytes: usize,
    pub(crate) per_message_deflate: Option<PerMessageDeflate>,
    pub(crate) http_compression: Option<HttpCompression>,
    // Limits against abuse.
    pub(crate) max_connections: Option<usize>,
    pub(crate) handshake_rate: Option<HandshakeRate>,
    pub(crate) origins: Option<AllowedOrigins>,
    // Observability.
    pub(crate) metrics: Option<Metrics>,
    pub(crate) metrics_path: Option<String>,
}

impl Default for EngineConfig {
    /// The defaults of the Node.js server: path `/engine.io/`, ping every 25 s, 20 s to answer,
    /// 10 s to finish an upgrade, 1 MB payloads, no CORS, no cookie; plus every Tidings
    /// transport (`polling`, `websocket`, `sse`), an SSE keep-alive comment every 15 s, and
    /// at most 8 MiB of messages queued for a client that its transport has not taken yet
    /// (see [`max_queued_bytes`](Self::max_queued_bytes)). Like Node, long-polling responses of
    /// 1 KiB or more are compressed and WebSocket messages are not.
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            transports: vec!["polling".into(), "websocket".into(), "sse".into()],
            allow_upgrades: true,
            cors: None,
            allow_request: None,
            cookie: None,
            sse_keep_alive: Duration::from_secs(15),
            max_queued_bytes: 8 * 1024 * 1024,
            per_message_deflate: None,
            http_compression: Some(HttpCompression::default()),
            max_connections: None,
            handshake_rate: None,
            origins: None,
            metrics: None,
            metrics_path: None,
        }
    }
}

impl EngineConfig {
    /// The path the engine answers on. A trailing `/` is added when missing, and requests
    /// match with or without it (`/engine.io` and `/engine.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        self.path = path;
        self
    }

    /// Compresses WebSocket messages with permessage-deflate when the client offers it
    /// (`None` turns it off, the default).
    pub fn per_message_deflate(mut self, deflate: impl Into<Option<PerMessageDeflate>>) -> Self {
        self.per_message_deflate = deflate.into();
        self
    }

    /// Compresses long-polling responses with gzip or deflate when the request accepts it
    /// (`None` turns it off; on by default).
    pub fn http_compression(mut self, compression: impl Into<Option<HttpCompression>>) -> Self {
        self.http_compression = compression.into();
        self
    }

    /// How long the server waits between a pong (or the handshake) and its next ping.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long the client has to answer a ping before the session closes.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self
    }

    /// How long an upgrade may take from the probe WebSocket's connection to its `5` packet.
    pub fn upgrade_timeout(mut self, timeout: Duration) -> Self {
        self.upgrade_timeout = timeout;
        self
    }

    /// The largest request body (a long-polling POST) and the largest WebSocket message, in
    /// bytes; announced to clients as `maxPayload`. Node calls it `maxHttpBufferSize`.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// The transports clients may use, by name: `polling`, `websocket`, `sse`.
    pub fn transports<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.transports = names.into_iter().map(Into::into).collect();
        self
    }

    /// Whether sessions opened on polling or SSE may upgrade to WebSocket.
    pub fn allow_upgrades(mut self, allow: bool) -> Self {
        self.allow_upgrades = allow;
        self
    }

    /// Answers cross-origin requests as `cors` allows. Without it no CORS header is sent, so
    /// browsers only reach the engine from its own origin.
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// Decides on each handshake whether to open a session.
    ///
    /// The hook sees the request head; `Err(message)` refuses with status 403 and
    /// `{"code":4,"message":…}` (`"Forbidden"` when the message is `None`). Copy out of the
    /// request what the future needs:
    ///
    /// ```
    /// use tidings_transports::EngineConfig;
    ///
    /// let config = EngineConfig::default().allow_request(|req| {
    ///     let token = req.headers.get("x-token").cloned();
    ///     async move {
    ///         match token {
    ///             Some(token) if token == "secret" => Ok(()),
    ///             _ => Err(Some("bad token".to_owned())),
    ///         }
    ///     }
    /// });
    /// ```
    pub fn allow_request<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(&Parts) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Option<String>>> + Send + 'static,
    {
        self.allow_request = Some(Arc::new(move |parts: &Parts| -> AllowFuture {
            Box::pin(check(parts))
        }));
        self
    }

    /// Sets a cookie holding the session id on the handshake response (for sticky sessions
    /// behind a load balancer).
    pub fn cookie(mut self, cookie: SessionCookie) -> Self {
        self.cookie = Some(cookie);
        self
    }

    /// How often an idle SSE stream gets a keep-alive comment.
    pub fn sse_keep_alive(mut self, interval: Duration) -> Self {
        self.sse_keep_alive = interval;
        self
    }

    /// The most bytes of messages a session may hold for its client that its transport has
    /// not taken yet (8 MiB by default). Each message counts its length plus a fixed 64 bytes
    /// of bookkeeping.
    ///
    /// A send that would go over it closes the session with
    /// [`CloseReason::SlowClient`](crate::CloseReason::SlowClient): the client does not take
    /// what it is sent fast enough, and the server will not buffer without limit for it. A
    /// message is always accepted when no message is queued, so one message larger than the
    /// bound never trips it. Raise it for applications that send bursts of large messages;
    /// lower it to cap the memory a slow client can cost. Besides the queue, a stalled
    /// connection holds the one batch its transport took and is still writing.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// The most sessions the engine holds at once; no limit by default (the process takes
    /// what the operating system's file descriptor limit allows).
    ///
    /// A handshake beyond it, on any transport, is answered 503 with
    /// `{"code":7,"message":"Too many connections"}`
    /// ([`RequestError::TooManyConnections`](crate::RequestError::TooManyConnections)); a
    /// WebSocket handshake is refused that way before the upgrade. Open sessions are not
    /// affected, and their upgrades are not counted again.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// Limits how often one remote address may open a session; no limit by default (behind
    /// a reverse proxy every client has the proxy's address). See [`HandshakeRate`].
    pub fn handshake_rate(mut self, rate: HandshakeRate) -> Self {
        self.handshake_rate = Some(rate);
        self
    }

    /// Turns the `Origin` check on, allowing exactly these origins: every request of every
    /// transport (handshakes, long-polling GETs and POSTs, SSE streams, WebSocket handshakes and
    /// upgrades) whose `Origin` header names another origin is refused with status 403 and
    /// `{"code":4,"message":"Origin not allowed"}`, a WebSocket before it is upgraded. Off by
    /// default. This is what stops cross-site WebSocket hijacking; [`cors`](Self::cors) only
    /// adds headers and refuses nothing. See `docs/security.md`.
    ///
    /// Origins are compared as browsers send them: scheme, host and port, exactly
    /// (`https://app.test` is `https://app.test:443`, not `http://app.test` nor
    /// `https://app.test:8443`; case does not matter). There are no wildcards, and `null` (sent
    /// by sandboxed frames and `file:` pages, whoever they are) is never listed: use
    /// [`allow_origin_if`](Self::allow_origin_if) for patterns. Requests without `Origin` pass:
    /// browsers send it with every WebSocket handshake and cross-origin request, so only
    /// non-browser clients (which could send any) and same-origin requests omit it.
    ///
    /// ```
    /// use tidings_transports::EngineConfig;
    ///
    /// let config = EngineConfig::default()
    ///     .allowed_origins(["https://app.example.com", "http://localhost:3000"]);
    /// ```
    ///
    /// # Panics
    /// When an entry is not an origin (`scheme://host[:port]`: no path, no wildcard, not `null`).
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let allowed = self.origins.get_or_insert_with(AllowedOrigins::default);
        allowed.set_list(origins.into_iter().map(Into::into));
        self
    }

    /// Turns the `Origin` check on (see [`allowed_origins`](Self::allowed_origins)), also
    /// allowing every origin `accepts` returns true for, as the request sent it. An escape
    /// hatch for patterns; match whole origins (a suffix such as `.example.com` must come after
    /// `://`, or `https://evil-example.com` passes).
    ///
    /// ```
    /// use tidings_transports::EngineConfig;
    ///
    /// let config = EngineConfig::default()
    ///     .allowed_origins(["https://app.example.com"])
    ///     .allow_origin_if(|origin| {
    ///         origin
    ///             .strip_prefix("https://")
    ///             .and_then(|host| host.strip_suffix(".preview.example.com"))
    ///             .is_some_and(|name| name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    ///     });
    /// ```
    pub fn allow_origin_if<F>(mut self, accepts: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        let allowed = self.origins.get_or_insert_with(AllowedOrigins::default);
        allowed.set_predicate(Arc::new(accepts));
        self
    }

    /// Records the engine's metrics in `metrics` (off by default). The Socket.IO layer above
    /// records its own there too. Give a [`Metrics`] to one engine only: a second would
    /// register the same names again.
    ///
    /// Recording costs an atomic add per request, WebSocket frame or batch written (see the
    /// repository's `docs/observability.md` for every metric and the measured cost).
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Answers `GET` on `path` with the [`metrics`](Self::metrics) in the Prometheus text
    /// format, from the engine's own service ([`Engine::service`](crate::Engine::service)
    /// and [`Engine::layer`](crate::Engine::layer)); off by default, and without
    /// [`metrics`](Self::metrics) it does nothing. Anyone who reaches the server reaches
    /// this path: on a public server, prefer a route of your own behind a check, or a
    /// listener of its own ([`Metrics::response`]).
    pub fn metrics_path(mut self, path: impl Into<String>) -> Self {
        self.metrics_path = Some(path.into());
        self
    }

    /// The metrics the engine records in, if any ([`metrics`](Self::metrics)).
    pub fn metrics_registry(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    /// The metrics to render for a request on `path`, when it is the metrics path.
    pub(crate) fn metrics_at(&self, path: &str) -> Option<&Metrics> {
        self.metrics
            .as_ref()
            .filter(|_| self.metrics_path.as_deref() == Some(path))
    }

    /// Whether the named transport is enabled.
    pub(crate) fn allows(&self, transport: &str) -> bool {
        self.transports.iter().any(|t| t == transport)
    }

    /// Whether `path` is the engine's path, with or without its trailing slash.
    pub(crate) fn matches_path(&self, path: &str) -> bool {
        path == self.path || Some(path) == self.path.strip_suffix('/')
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_payload", &self.max_payload)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("cors", &self.cors)
            .field("allow_request", &self.allow_request.is_some())
            .field("cookie", &self.cookie)
            .field("sse_keep_alive", &self.sse_keep_alive)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("max_connections", &self.max_connections)
            .field("handshake_rate", &self.handshake_rate)
            .field("origins", &self.origins)
            .field("metrics", &self.metrics.is_some())
            .field("metrics_path", &self.metrics_path)
            .finish()
    }
}

/// The cookie that carries the session id, for load balancers with sticky sessions.
///
/// The default is Node's: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionCookie {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<String>,
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: "io".into(),
            path: "/".into(),
            http_only: true,
            same_site: Some("Lax".into()),
        }
    }
}

impl SessionCookie {
    /// The cookie's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The cookie's `Path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Whether the cookie is `HttpOnly`.
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The cookie's `SameSite` (`Strict`, `Lax` or `None`), or no attribute.
    pub fn same_site(mut self, same_site: Option<&str>) -> Self {
        self.same_site = same_site.map(str::to_owned);
        self
    }

    /// The `Set-Cookie` value for a session.
    pub(crate) fn header_value(&self, sid: &str) -> String {
        let mut value = format!("{}={}; Path={}", self.name, sid, self.path);
        if self.http_only {
            value.push_str("; HttpOnly");
        }
        if let Some(same_site) = &self.same_site {
            value.push_str("; SameSite=");
            value.push_str(same_site);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_path() {
        for (input, path) in [("/x", "/x/"), ("x/", "/x/"), ("/engine.io/", "/engine.io/")] {
            let config = EngineConfig::default().path(input);
            assert_eq!(config.path, path);
            assert!(config.matches_path(path));
            assert!(config.matches_path(path.trim_end_matches('/')));
            assert!(!config.matches_path("/other/"));
        }
    }

    #[test]
    fn renders_the_cookie() {
        assert_eq!(
            SessionCookie::default().header_value("abc"),
            "io=abc; Path=/; HttpOnly; SameSite=Lax"
        );
        let custom = SessionCookie::default()
            .name("sticky")
            .http_only(false)
            .same_site(None);
        assert_eq!(custom.header_value("abc"), "sticky=abc; Path=/");
    }
}
