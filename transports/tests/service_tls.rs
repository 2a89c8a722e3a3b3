//! `serve_tls`: long-polling over `https://` and WebSocket over `wss://`, with a certificate
//! made for each test; clients that fail the TLS handshake are refused without holding up
//! the others; and the errors of `TlsConfig::from_pem_files`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{open_sid, within};
use futures_util::{SinkExt, StreamExt};
use http::request::Parts;
use tidings_transports::rustls::pki_types::{CertificateDer, ServerName};
use tidings_transports::rustls::{self, ClientConfig, RootCertStore};
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session, TlsConfig};
use tidings_transports::{TlsConfigError, serve_tls};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A WebSocket client over TLS.
type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// A self-signed certificate for `localhost`, in PEM, and its key.
struct Cert {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn cert() -> Cert {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .expect("a self-signed certificate");
    Cert {
        cert_pem: certified.cert.pem(),
        key_pem: certified.signing_key.serialize_pem(),
        der: certified.cert.der().clone(),
    }
}

struct Echo;

impl Handler for Echo {
    fn on_open(&self, _session: &Session, _request: &Parts) {}
    fn on_close(&self, _session: &Session, _reason: CloseReason) {}
    fn on_message(&self, session: &Session, message: Message) {
        let _ = session.send(message);
    }
}

/// An echo engine served over TLS on `127.0.0.1:0`, stopped when dropped.
struct TlsServer {
    addr: SocketAddr,
    cert: Cert,
    task: JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsServer {
    async fn start(handshake_timeout: Duration) -> TlsServer {
        let cert = cert();
        let tls = TlsConfig::from_pem(cert.cert_pem.as_bytes(), cert.key_pem.as_bytes())
            .expect("a TLS configuration")
            .handshake_timeout(handshake_timeout);
        let engine = Engine::new(EngineConfig::default(), Echo);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(serve_tls(listener, tls, engine.service()));
        TlsServer { addr, cert, task }
    }

    /// A client configuration that trusts `roots`.
    fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A TLS connection from a client that trusts the server's certificate.
    async fn connect(&self) -> TlsStream<TcpStream> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.der.clone()).expect("a root");
        self.connect_with(Self::client_config(roots))
            .await
            .expect("TLS handshake")
    }

    async fn connect_with(
        &self,
        config: Arc<ClientConfig>,
    ) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = within("a connection", TcpStream::connect(self.addr))
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("a server name");
        within(
            "the TLS handshake",
            TlsConnector::from(config).connect(name, tcp),
        )
        .await
    }
}

/// Writes an HTTP/1.1 request on `stream` and reads its response (status and body; the
/// server's answers here all have a `Content-Length`).
async fn request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    method: &str,
    query: &str,
    body: &[u8],
) -> (u16, String) {
    let head = format!(
        "{method} /engine.io/?{query} HTTP/1.1\r\nhost: localhost\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    within("a request", async {
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write");
        stream.flush().await.expect("flush");
        let mut buf = Vec::new();
        let end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed mid-response");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..end].to_vec()).expect("an ASCII head");
        let status = head[9..12].parse().expect("a status");
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().expect("a length"))
            })
            .expect("a content length");
        while buf.len() < end + length {
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "connection closed mid-body");
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8(buf[end..end + length].to_vec()).expect("a UTF-8 body");
        (status, body)
    })
    .await
}

/// Opens a WebSocket on a TLS connection that trusts the server.
async fn wss(server: &TlsServer) -> Wss {
    let stream = server.connect().await;
    let url = format!(
        "wss://localhost:{}/engine.io/?EIO=4&transport=websocket",
        server.addr.port()
    );
    let (ws, response) = within(
        "the WebSocket handshake",
        tokio_tungstenite::client_async(url, stream),
    )
    .await
    .expect("WebSocket handshake");
    assert_eq!(response.status(), 101);
    ws
}

/// The next text frame.
async fn ws_text(ws: &mut Wss) -> String {
    match within("a WebSocket frame", ws.next()).await {
        Some(Ok(WsMessage::Text(text))) => text.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

async fn ws_send(ws: &mut Wss, text: &str) {
    within("a WebSocket send", ws.send(WsMessage::text(text)))
        .await
        .expect("WebSocket send");
}

/// Whether the server ends the connection: reads to EOF (or a reset) and returns what came.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let _ = within(
        "the server to end the connection",
        stream.read_to_end(&mut received),
    )
    .await;
    received
}

#[tokio::test]
async fn long_polling_over_https() {
    let server = TlsServer::start(Duration::from_secs(10)).await;
    let mut stream = server.connect().await;
    let (_, connection) = stream.get_ref();
    assert_eq!(connection.alpn_protocol(), Some(&b"http/1.1"[..]));

    let (status, open) = request(&mut stream, "GET", "EIO=4&transport=polling", b"").await;
    assert_eq!(status, 200, "{open}");
    let sid = open_sid(&open);

    // POST and GET on the same TLS connection, kept alive.
    let query = format!("EIO=4&transport=polling&sid={sid}");
    assert_eq!(
        request(&mut stream, "POST", &query, b"4hello").await,
        (200, "ok".to_owned())
    );
    assert_eq!(
        request(&mut stream, "GET", &query, b"").await,
        (200, "4hello".to_owned())
    );
}

#[tokio::test]
async fn websocket_over_wss() {
    let server = TlsServer::start(Duration::from_secs(10)).await;
    let mut ws = wss(&server).await;
    let open = ws_text(&mut ws).await;
    let json = common::open_json(&open);
    assert_eq!(json["upgrades"], serde_json::json!([]));
    ws_send(&mut ws, "4hi over TLS").await;
    assert_eq!(ws_text(&mut ws).await, "4hi over TLS");
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_refused_and_others_go_on() {
    let server = TlsServer::start(Duration::from_secs(10)).await;
    let mut plain = TcpStream::connect(server.addr).await.expect("connect");
    plain
        .write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .expect("write");
    let received = read_to_end(&mut plain).await;
    assert!(
        !received.starts_with(b"HTTP/"),
        "a plain HTTP request was answered: {:?}",
        String::from_utf8_lossy(&received)
    );

    let mut garbage = TcpStream::connect(server.addr).await.expect("connect");
    garbage
        .write_all(&[0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3])
        .await
        .expect("write");
    garbage.write_all(&[0xaa; 512]).await.expect("write");
    let _ = read_to_end(&mut garbage).await;

    // A client that does not trust the certificate fails its handshake.
    let untrusting = TlsServer::client_config(RootCertStore::empty());
    assert!(server.connect_with(untrusting).await.is_err());

    let mut ws = wss(&server).await;
    let _open = ws_text(&mut ws).await;
    ws_send(&mut ws, "4still here").await;
    assert_eq!(ws_text(&mut ws).await, "4still here");
}

#[tokio::test]
async fn a_silent_client_times_out_without_holding_up_others() {
    let server = TlsServer::start(Duration::from_secs(2)).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");

    // While the silent client holds its connection, a good client gets through.
    let mut stream = server.connect().await;
    let (status, open) = request(&mut stream, "GET", "EIO=4&transport=polling", b"").await;
    assert_eq!(status, 200, "{open}");
    let mut byte = [0; 1];
    let still_open = silent.try_read(&mut byte);
    assert!(
        matches!(&still_open, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the silent client was let go too soon: {still_open:?}"
    );

    // Then the silent one is disconnected, once its handshake time is up.
    assert_eq!(read_to_end(&mut silent).await, b"");
}

#[test]
fn from_pem_files_reads_a_certificate_and_its_key() {
    let dir = std::env::temp_dir().join(format!("tidings-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let cert = cert();
    std::fs::write(&cert_path, &cert.cert_pem).expect("write the certificate");
    std::fs::write(&key_path, &cert.key_pem).expect("write the key");

    assert!(TlsConfig::from_pem_files(&cert_path, &key_path).is_ok());

    let missing = dir.join("missing.pem");
    match TlsConfig::from_pem_files(&missing, &key_path) {
        Err(TlsConfigError::Read { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected a read error, got {other:?}"),
    }
    // The files swapped.
    assert!(matches!(
        TlsConfig::from_pem_files(&key_path, &key_path),
        Err(TlsConfigError::Certificate(_))
    ));
    assert!(matches!(
        TlsConfig::from_pem_files(&cert_path, &cert_path),
        Err(TlsConfigError::Key(_))
    ));
    // A key that is not the certificate's.
    let other = self::cert();
    assert!(matches!(
        TlsConfig::from_pem(cert.cert_pem.as_bytes(), other.key_pem.as_bytes()),
        Err(TlsConfigError::Rustls(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
