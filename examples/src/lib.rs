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
