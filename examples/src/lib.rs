//! Helpers shared by the example binaries: binding, serving with a graceful shutdown
//! ([`serve`], [`serve_with`]), the test beds' settings, and [`StaticFiles`] for the pages
//! served beside the Socket.IO endpoint.

mod static_files;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body, Incoming};
use tidings_transports::{
    Engine, EngineConfig, HttpCompression, Metrics, NotFound, PerMessageDeflate,
};
use tower_layer::Layer;
use tower_service::Service;

pub use static_files::StaticFiles;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The port [`bind`] bound, for [`own_origins`].
static PORT: OnceLock<u16> = OnceLock::new();

/// Binds `127.0.0.1:$PORT` (3000 when `PORT` is unset; `0` picks a free port).
///
/// # Errors
/// When `PORT` is not a port number or the address cannot be bound.
pub async fn bind() -> std::io::Result<tokio::net::TcpListener> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        Err(_) => 3000,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let _ = PORT.set(listener.local_addr()?.port());
    Ok(listener)
}

/// Turns the engine's `Origin` check on
/// ([`EngineConfig::allowed_origins`]), allowing the server's own pages
/// (`http://127.0.0.1:<port>` and `http://localhost:<port>`, the port [`bind`] bound), the
/// origins in `ALLOWED_ORIGINS` (comma-separated, e.g. a reverse proxy's
/// `http://127.0.0.1:8080`) and the one in `CORS_ORIGIN`. Requests without `Origin`
/// (non-browser clients) pass. Until [`bind`] has run, only the listed origins are allowed.
///
/// # Panics
/// When an origin in `ALLOWED_ORIGINS` or `CORS_ORIGIN` is not an origin
/// (`scheme://host[:port]`).
pub fn own_origins(config: EngineConfig) -> EngineConfig {
    let listed = std::env::var("ALLOWED_ORIGINS").unwrap_or_default();
    let mut origins: Vec<String> = listed
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(str::to_owned)
        .collect();
    origins.extend(std::env::var("CORS_ORIGIN"));
    config.allowed_origins(origins).allow_origin_if(|origin| {
        let Some(port) = PORT.get() else {
            return false;
        };
        ["http://127.0.0.1", "http://localhost"].iter().any(|host| {
            origin
                .strip_prefix(host)
                .and_then(|rest| rest.strip_prefix(':'))
                .is_some_and(|rest| rest == port.to_string())
        })
    })
}

/// Logs to stderr, filtered by `RUST_LOG` (default `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Binds with [`bind`], prints `<name> listening on http://<address><path>`, then serves
/// `engine` until the process gets SIGTERM or SIGINT. Then it shuts the engine down
/// gracefully ([`Engine::shutdown`]), waiting at most `SHUTDOWN_DEADLINE` milliseconds
/// (10,000 by default); connections are still accepted meanwhile (long-polling clients
/// collect their last packets on new ones, new handshakes get 503). Then it returns, so the
/// process exits with status 0. A second signal during the shutdown ends it at once.
///
/// For a Socket.IO server, pass [`Io::engine`](tidings::Io::engine): its sockets disconnect
/// with `ServerShuttingDown`. Requests off the engine's path get 404 Not Found; to answer
/// them, use [`serve_with`].
///
/// # Errors
/// When the address cannot be bound or the signal handlers cannot be installed.
pub async fn serve(name: &str, path: &str, engine: &Engine) -> std::io::Result<()> {
    serve_with(name, path, engine, NotFound).await
}

/// Serves as [`serve`] does, with `inner` answering every request off the engine's path
/// (through [`Engine::layer`]): [`StaticFiles`] for a page and its scripts, say.
///
/// ```no_run
/// # async fn run(engine: tidings_transports::Engine) -> std::io::Result<()> {
/// let page = tidings_examples::StaticFiles::new("public");
/// tidings_examples::serve_with("chat", "/socket.io/", &engine, page).await
/// # }
/// ```
///
/// # Errors
/// When the address cannot be bound or the signal handlers cannot be installed.
pub async fn serve_with<S, B>(
    name: &str,
    path: &str,
    engine: &Engine,
    inner: S,
) -> std::io::Result<()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    // Installed before the line that says the server is up, so that a signal sent as soon as
    // it is read is handled.
    let mut signals = Signals::new()?;
    let listener = bind().await?;
    println!(
        "{name} listening on http://{}{path}",
        listener.local_addr()?
    );
    let deadline = Duration::from_millis(env_number("SHUTDOWN_DEADLINE", 10_000));
    let shutdown = async {
        signals.next().await;
        tokio::select! {
            () = engine.shutdown(deadline) => {}
            () = signals.next() => {}
        }
    };
    tidings_transports::serve_with_shutdown(listener, engine.layer().layer(inner), shutdown).await;
    Ok(())
}

/// SIGTERM and SIGINT (Ctrl-C), whichever comes.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Resolves at the next signal.
    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A server's membership in a cluster of servers over Redis, as the environment asks for it
/// ([`cluster_from_env`]): a classic one over one Redis, or a sharded one over a Redis
/// Cluster.
#[derive(Clone, Debug)]
pub enum EnvCluster {
    /// Over the pub/sub of one Redis (`REDIS_URL`), in the classic format of Node's
    /// `@socket.io/redis-adapter`.
    Classic(tidings_redis::Cluster),
    /// Over the sharded pub/sub of a Redis Cluster (`REDIS_CLUSTER_URLS`), in the format of
    /// that package's `createShardedAdapter`.
    Sharded(tidings_redis::ShardedCluster),
}

impl EnvCluster {
    /// `builder` with this cluster's adapter: broadcasts, rooms and the other cluster-wide
    /// operations reach every server of the cluster.
    pub fn adapt(&self, builder: tidings::IoBuilder) -> tidings::IoBuilder {
        match self {
            EnvCluster::Classic(cluster) => builder.adapter(cluster.adapter()),
            EnvCluster::Sharded(cluster) => builder.adapter(cluster.adapter()),
        }
    }

    /// The state of the connections to Redis, now and as it changes.
    pub fn status(&self) -> tokio::sync::watch::Receiver<tidings_redis::Status> {
        match self {
            EnvCluster::Classic(cluster) => cluster.status(),
            EnvCluster::Sharded(cluster) => cluster.status(),
        }
    }
}

/// The cluster the environment asks for, if any:
/// - `REDIS_CLUSTER_URLS` (comma-separated node URLs of a Redis Cluster, such as
///   `redis://127.0.0.1:7000,redis://127.0.0.1:7001`): a [`ShardedCluster`] over its
///   sharded pub/sub, in the format of Node's `createShardedAdapter`, with
///   `REDIS_SUBSCRIPTION_MODE` `static` or `dynamic` (the default, as Node's); every server
///   of the cluster must use the same mode;
/// - else `REDIS_URL` (one Redis): a [`Cluster`] over its pub/sub, in the classic format of
///   Node's `createAdapter`;
/// - else `None`: one server, in memory.
///
/// [`ShardedCluster`]: tidings_redis::ShardedCluster
/// [`Cluster`]: tidings_redis::Cluster
///
/// # Errors
/// When Redis cannot be reached, or `REDIS_SUBSCRIPTION_MODE` is neither `static` nor
/// `dynamic`.
pub async fn cluster_from_env() -> std::io::Result<Option<EnvCluster>> {
    if let Ok(urls) = std::env::var("REDIS_CLUSTER_URLS") {
        let urls: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        let mode = match std::env::var("REDIS_SUBSCRIPTION_MODE").as_deref() {
            Err(_) | Ok("dynamic") => tidings_redis::SubscriptionMode::Dynamic,
            Ok("static") => tidings_redis::SubscriptionMode::Static,
            Ok(other) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("REDIS_SUBSCRIPTION_MODE is {other:?}, not static or dynamic"),
                ));
            }
        };
        let cluster = tidings_redis::ShardedCluster::builder(&urls)
            .subscription_mode(mode)
            .connect()
            .await
            .map_err(std::io::Error::other)?;
        return Ok(Some(EnvCluster::Sharded(cluster)));
    }
    let Ok(url) = std::env::var("REDIS_URL") else {
        return Ok(None);
    };
    let cluster = tidings_redis::Cluster::connect(&url)
        .await
        .map_err(std::io::Error::other)?;
    Ok(Some(EnvCluster::Classic(cluster)))
}

/// `builder` with the adapter of [`cluster_from_env`]'s cluster, when there is one: with
/// `REDIS_CLUSTER_URLS` set, the sharded adapter over that Redis Cluster (and
/// `REDIS_SUBSCRIPTION_MODE`); else with `REDIS_URL` set, the classic adapter over that
/// Redis; else `builder` as it is.
///
/// # Errors
/// When Redis cannot be reached, or `REDIS_SUBSCRIPTION_MODE` is neither `static` nor
/// `dynamic`.
pub async fn clustered(builder: tidings::IoBuilder) -> std::io::Result<tidings::IoBuilder> {
    Ok(match cluster_from_env().await? {
        Some(cluster) => cluster.adapt(builder),
        None => builder,
    })
}

/// The test beds' Engine.IO settings, from the environment: `PING_INTERVAL` and
/// `PING_TIMEOUT` in milliseconds (300 and 200 by default), `MAX_PAYLOAD` in bytes (1 MB),
/// `MAX_QUEUED_BYTES` in bytes (8 MiB), `MAX_CONNECTIONS` (no limit), `HANDSHAKE_RATE`
/// (`burst/every_ms` per address, no limit), `TRANSPORTS` (a comma-separated list),
/// `CORS_ORIGIN` (one allowed origin, with credentials), `PER_MESSAGE_DEFLATE` (a threshold in
/// bytes: turns permessage-deflate on) and `HTTP_COMPRESSION` (a threshold in bytes, or `off`;
/// 1024 by default); the `Origin` check is on, as [`own_origins`] sets it (`ALLOWED_ORIGINS`);
/// metrics as [`metrics_from_env`] sets them (`METRICS_PATH`).
pub fn testbed_engine_config(path: &str) -> EngineConfig {
    let mut config = EngineConfig::default()
        .path(path)
        .ping_interval(Duration::from_millis(env_number("PING_INTERVAL", 300)))
        .ping_timeout(Duration::from_millis(env_number("PING_TIMEOUT", 200)))
        .max_payload(env_number("MAX_PAYLOAD", 1_000_000) as usize)
        .max_queued_bytes(env_number("MAX_QUEUED_BYTES", 8 * 1024 * 1024) as usize);
    if let Ok(max) = std::env::var("MAX_CONNECTIONS") {
        config = config.max_connections(max.parse().unwrap_or(usize::MAX));
    }
    if let Some((burst, every)) = env_rate("HANDSHAKE_RATE") {
        config = config.handshake_rate(tidings_transports::HandshakeRate::new(burst, every));
    }
    if let Ok(transports) = std::env::var("TRANSPORTS") {
        config = config.transports(transports.split(',').map(str::trim));
    }
    if let Ok(origin) = std::env::var("CORS_ORIGIN") {
        config = config.cors(tidings_transports::Cors::origins([origin]).credentials(true));
    }
    if let Ok(threshold) = std::env::var("PER_MESSAGE_DEFLATE") {
        let threshold = threshold.parse().unwrap_or(1024);
        config = config.per_message_deflate(PerMessageDeflate::default().threshold(threshold));
    }
    match std::env::var("HTTP_COMPRESSION").as_deref() {
        Ok("off") => config = config.http_compression(None),
        Ok(threshold) => {
            let threshold = threshold.parse().unwrap_or(1024);
            config = config.http_compression(HttpCompression::default().threshold(threshold));
        }
        Err(_) => {}
    }
    metrics_from_env(own_origins(config))
}

/// Metrics from the environment: with `METRICS_PATH` set (`/metrics`, say), the engine and
/// the Socket.IO layer record their metrics, and the server answers `GET` on that path with
/// them in the Prometheus text format (see the repository's `docs/observability.md`).
pub fn metrics_from_env(config: EngineConfig) -> EngineConfig {
    match std::env::var("METRICS_PATH") {
        Ok(path) if !path.is_empty() => config.metrics(Metrics::new()).metrics_path(path),
        _ => config,
    }
}

/// A rate in environment variable `name`, written `burst/every_ms` (`5/1000`: 5 at once,
/// then one a second); `None` when it is unset or not of that form.
pub fn env_rate(name: &str) -> Option<(u32, Duration)> {
    let value = std::env::var(name).ok()?;
    let (burst, every) = value.split_once('/')?;
    let every = every.split('/').next()?;
    Some((
        burst.trim().parse().ok()?,
        Duration::from_millis(every.trim().parse().ok()?),
    ))
}

/// The number in environment variable `name`, or `default` when it is unset or not a number.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
