//! Metrics in the Prometheus (OpenMetrics) text format: [`Metrics`], the registry every layer
//! records into and that renders them all, and the engine's own metrics.
//!
//! Recording is off unless [`EngineConfig::metrics`](crate::EngineConfig::metrics) is set;
//! then every update is an atomic add on a counter resolved when the engine was built (no
//! label lookup, no allocation), counted per request, per WebSocket frame or per batch a
//! connection writes (a broadcast: one batch per recipient's connection, whatever it holds).

mod engine;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use prometheus_client::encoding::text;
use prometheus_client::registry::Registry;

pub(crate) use self::engine::EngineMetrics;
use crate::EngineBody;

/// The `Content-Type` of [`Metrics::render`]'s text: OpenMetrics 1.0, which Prometheus
/// scrapes as it does its own text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metrics of a server, shared by its layers: the engine records its own in it, the
/// Socket.IO layer (crate `tidings`) adds its own, and so may the application. Every name gets
/// the `tidings_` prefix. Cloning it is cheap and every clone is the same registry.
///
/// Give it to one engine with [`EngineConfig::metrics`](crate::EngineConfig::metrics), then
/// expose [`render`](Self::render) to Prometheus: with
/// [`EngineConfig::metrics_path`](crate::EngineConfig::metrics_path) on the engine's own
/// service, or from a route of your own ([`response`](Self::response)).
///
/// ```
/// use prometheus_client::metrics::counter::Counter;
/// use tidings_transports::{EngineConfig, Metrics};
///
/// let metrics = Metrics::new();
/// let config = EngineConfig::default()
///     .metrics(metrics.clone())
///     .metrics_path("/metrics");
///
/// // An application metric, rendered with the others as `tidings_logins_total`.
/// let logins = Counter::<u64>::default();
/// metrics.register(|registry| registry.register("logins", "Logins", logins.clone()));
/// logins.inc();
/// assert!(metrics.render().contains("tidings_logins_total 1"));
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    /// An empty registry whose metric names start with `tidings_`.
    pub fn new() -> Metrics {
        Metrics(Arc::new(Mutex::new(Registry::with_prefix("tidings"))))
    }

    /// Registers metrics of your own: `register` is given the registry (of the
    /// [`prometheus_client`] crate) and what it returns is handed back.
    pub fn register<T>(&self, register: impl FnOnce(&mut Registry) -> T) -> T {
        register(&mut self.registry())
    }

    /// Every metric registered, in the OpenMetrics text format (ending with `# EOF`).
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = text::encode(&mut text, &self.registry());
        text
    }

    /// An HTTP response with [`render`](Self::render)'s text and its [`CONTENT_TYPE`], for a
    /// route of your own (its body converts into axum's and hyper's).
    ///
    /// ```
    /// # let metrics = tidings_transports::Metrics::new();
    /// let response = metrics.response();
    /// assert_eq!(response.status(), 200);
    /// ```
    pub fn response(&self) -> Response<String> {
        let mut response = Response::new(self.render());
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }

    /// [`response`](Self::response) with the engine's body type.
    pub(crate) fn engine_response(&self) -> Response<EngineBody> {
        self.response()
            .map(|text| EngineBody::full(Bytes::from(text)))
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // Registering or rendering never panics midway in a way that breaks the registry.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
