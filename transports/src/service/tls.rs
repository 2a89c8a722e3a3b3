//! The standalone server over TLS (`https://`, `wss://`), with rustls: the `tls` feature.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tower_service::Service;

use super::serve::serve_streams;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a client has to finish its TLS handshake, unless
/// [`TlsConfig::handshake_timeout`] says otherwise.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate, key and TLS settings of [`serve_tls`]: a rustls [`ServerConfig`] and the
/// time a client has for its handshake.
///
/// Build it from PEM files with [`from_pem_files`](Self::from_pem_files) (what most servers
/// need), or from a `ServerConfig` of your own with [`new`](Self::new) (client certificates,
/// certificate resolvers, other protocol versions). Cloning it is cheap.
///
/// ```no_run
/// # fn run() -> Result<(), tidings_transports::TlsConfigError> {
/// use std::time::Duration;
/// use tidings_transports::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?
///     .handshake_timeout(Duration::from_secs(5));
/// # let _ = tls;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl TlsConfig {
    /// Serves TLS as `config` says.
    ///
    /// The server speaks HTTP/1.1 only: leave `config.alpn_protocols` empty or make it
    /// `[b"http/1.1"]`; a client that negotiates `h2` would not be understood.
    pub fn new(config: impl Into<Arc<ServerConfig>>) -> Self {
        TlsConfig {
            acceptor: TlsAcceptor::from(config.into()),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// Reads the certificate chain (the server's certificate first, then the intermediates,
    /// as `fullchain.pem` from Let's Encrypt has them) and the private key (PKCS#8, PKCS#1
    /// or SEC1) from PEM files, and serves TLS 1.3 and 1.2 with rustls' safe defaults, the
    /// `ring` crypto provider, no client certificates and ALPN `http/1.1`.
    ///
    /// The files are read once, now: a renewed certificate takes a restart (or a
    /// [`new`](Self::new) config with a certificate resolver of your own).
    ///
    /// # Errors
    ///
    /// When a file cannot be read, holds no certificate or key, or the key does not suit
    /// the certificate; see [`TlsConfigError`].
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsConfigError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsConfigError::Read {
                path: path.to_owned(),
                source,
            })
        };
        Self::from_pem(&read(cert_chain.as_ref())?, &read(key.as_ref())?)
    }

    /// As [`from_pem_files`](Self::from_pem_files), from the PEM text itself.
    ///
    /// # Errors
    ///
    /// When `cert_chain` holds no certificate, `key` no private key, or the key does not
    /// suit the certificate; see [`TlsConfigError`].
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, TlsConfigError> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(TlsConfigError::Certificate)?;
        if certs.is_empty() {
            return Err(TlsConfigError::Certificate(pem::Error::NoItemsFound));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(TlsConfigError::Key)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsConfigError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(TlsConfigError::Rustls)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::new(config))
    }

    /// How long a client has, from the moment its connection is accepted, to finish the TLS
    /// handshake (10 seconds by default). A client that takes longer is disconnected; waiting
    /// on it holds up no other connection.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Runs the handshake on `stream`, within the handshake timeout.
    async fn accept(self, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// Why [`TlsConfig::from_pem_files`] or [`TlsConfig::from_pem`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read: check its path and permissions.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// The certificate chain holds no `CERTIFICATE` block, or one that does not decode: give
    /// the certificate in PEM (not DER), and the certificate file (not the key).
    #[error("no usable certificate: {0}")]
    Certificate(#[source] pem::Error),
    /// The key holds no `PRIVATE KEY` block (PKCS#8, PKCS#1 or SEC1), or one that does not
    /// decode: give the unencrypted key in PEM.
    #[error("no usable private key: {0}")]
    Key(#[source] pem::Error),
    /// rustls refused the certificate or the key: a key of a kind it does not support, or
    /// one that is not the certificate's.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[source] rustls::Error),
}

/// Serves `service` over TLS on every connection `listener` accepts, until the task is
/// dropped: `https://` for long-polling and SSE, `wss://` for WebSocket.
///
/// The same server as `serve` (HTTP/1.1 with keep-alive and upgrades, a task per
/// connection, 30 seconds for a request head), with a TLS handshake first, in the
/// connection's own task. A client that fails its handshake, or does not finish it within
/// [`TlsConfig::handshake_timeout`] (a plain HTTP request, a scanner, a client that does not
/// trust the certificate), is disconnected and logged at debug level; it holds up no other
/// connection. Needs the `tls` feature.
///
/// ```no_run
/// # async fn run(engine: tidings_transports::Engine) -> Result<(), Box<dyn std::error::Error>> {
/// use tidings_transports::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// tidings_transports::serve_tls(listener, tls, engine.service()).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve_tls<S, ResBody>(listener: TcpListener, tls: TlsConfig, service: S)
where
    S: Service<Request<Incoming>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    serve_tls_with_shutdown(listener, tls, service, std::future::pending()).await;
}

/// Serves `service` over TLS as [`serve_tls`] does until `signal` resolves, then stops
/// accepting connections and returns, as `serve_with_shutdown` does (see there for a
/// graceful shutdown with `Engine::shutdown`). Needs the `tls` feature.
///
/// ```no_run
/// use std::time::Duration;
/// # async fn run(engine: tidings_transports::Engine) -> Result<(), Box<dyn std::error::Error>> {
/// use tidings_transports::TlsConfig;
///
/// let tls = TlsConfig::from_pem_files("cert.pem", "key.pem")?;
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:443").await?;
/// let shutdown = async {
///     let _ = tokio::signal::ctrl_c().await;
///     engine.shutdown(Duration::from_secs(10)).await;
/// };
/// tidings_transports::serve_tls_with_shutdown(listener, tls, engine.service(), shutdown).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve_tls_with_shutdown<S, ResBody>(
    listener: TcpListener,
    tls: TlsConfig,
    service: S,
    signal: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    serve_streams(listener, service, signal, move |stream| {
        tls.clone().accept(stream)
    })
    .await;
}
