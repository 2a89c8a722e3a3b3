//! Helpers shared by the example binaries.

use std::net::SocketAddr;

/// Binds `127.0.0.1:$PORT` (3000 when `PORT` is unset).
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
    tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
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
/// `service` until the process ends.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(
    name: &str,
    path: &str,
    service: tidings_transports::EngineService<tidings_transports::NotFound>,
) -> std::io::Result<()> {
    let listener = bind().await?;
    println!(
        "{name} listening on http://{}{path}",
        listener.local_addr()?
    );
    tidings_transports::serve(listener, service).await;
    Ok(())
}

/// The test beds' Engine.IO settings, from the environment: `PING_INTERVAL` and
/// `PING_TIMEOUT` in milliseconds (300 and 200 by default), `MAX_PAYLOAD` in bytes (1 MB),
/// `TRANSPORTS` (a comma-separated list) and `CORS_ORIGIN` (one allowed origin, with
/// credentials).
pub fn testbed_engine_config(path: &str) -> tidings_transports::EngineConfig {
    use std::time::Duration;
    let mut config = tidings_transports::EngineConfig::default()
        .path(path)
        .ping_interval(Duration::from_millis(env_number("PING_INTERVAL", 300)))
        .ping_timeout(Duration::from_millis(env_number("PING_TIMEOUT", 200)))
        .max_payload(env_number("MAX_PAYLOAD", 1_000_000) as usize);
    if let Ok(transports) = std::env::var("TRANSPORTS") {
        config = config.transports(transports.split(',').map(str::trim));
    }
    if let Ok(origin) = std::env::var("CORS_ORIGIN") {
        config = config.cors(tidings_transports::Cors::origins([origin]).credentials(true));
    }
    config
}

/// The number in environment variable `name`, or `default` when it is unset or not a number.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
