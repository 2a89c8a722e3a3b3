//! A standalone HTTP/1.1 server for a tower service, with WebSocket upgrades.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The address of the client, put in every request's extensions by [`serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// Serves `service` on every connection `listener` accepts, until the task is dropped.
///
/// Each connection gets a task of its own, `TCP_NODELAY`, HTTP/1.1 keep-alive, upgrades, and
/// 30 seconds to send its request head. A failed accept (such as running out of file
/// descriptors) is logged and retried after a short pause; it never stops the server.
///
/// ```no_run
/// # async fn run(engine: tidings_transports::Engine) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// tidings_transports::serve(listener, engine.service()).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve<S, ResBody>(listener: TcpListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
{
    serve_with_shutdown(listener, service, std::future::pending()).await;
}

/// Serves `service` as [`serve`] does until `signal` resolves, then stops accepting
/// connections and returns; the connections already accepted carry on in their tasks.
///
/// For a graceful shutdown, let `signal` run [`Engine::shutdown`](crate::Engine::shutdown)
/// after the signal to stop: connections are still accepted while the engine closes its
/// sessions (long-polling clients collect their last packets on new connections, new
/// handshakes get 503), and accepting stops once they are all gone.
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
pub async fn serve_with_shutdown<S, ResBody>(
    listener: TcpListener,
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
    serve_streams(listener, service, signal, plain).await;
}

/// The stream of a plain-text connection: the TCP stream itself.
fn plain(stream: TcpStream) -> std::future::Ready<io::Result<TcpStream>> {
    std::future::ready(Ok(stream))
}

/// The accept loop of [`serve_with_shutdown`] and of the TLS server: accepts connections until
/// `signal` resolves and serves each in a task of its own, over the stream `open` makes of the
/// TCP stream (the stream itself, or a TLS stream once its handshake is done). A connection that
/// `open` fails is logged and dropped; it holds up neither the loop nor other connections.
pub(super) async fn serve_streams<S, ResBody, O, F, IO>(
    listener: TcpListener,
    service: S,
    signal: impl Future<Output = ()>,
    open: O,
) where
    S: Service<Request<Incoming>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
    O: Fn(TcpStream) -> F + Clone + Send + 'static,
    F: Future<Output = io::Result<IO>> + Send + 'static,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut signal => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                if is_resource_exhaustion(&error) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let stream = match open(stream).await {
                Ok(stream) => stream,
                Err(error) => {
                    tracing::debug!(%peer, %error, "connection refused before HTTP");
                    return;
                }
            };
            serve_connection(stream, peer, service).await;
        });
    }
}

/// Serves HTTP/1.1, with upgrades, on one connection until it ends.
async fn serve_connection<S, ResBody, IO>(stream: IO, peer: SocketAddr, service: S)
where
    S: Service<Request<Incoming>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body + Send + 'static,
    ResBody::Data: Send,
    ResBody::Error: Into<BoxError>,
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let per_request = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(PeerAddr(peer));
        let mut service = service.clone();
        async move {
            poll_fn(|cx| service.poll_ready(cx)).await?;
            service.call(request).await
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), per_request)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

fn is_resource_exhaustion(error: &io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the process or system is out of something.
    matches!(error.raw_os_error(), Some(24 | 23 | 105 | 12))
}
