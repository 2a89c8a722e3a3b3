//! Socket.IO clients for the load generator, over WebSocket and over long-polling: just
//! enough protocol to join `/`, emit, and read what comes back.

use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use crate::ws::{Frame, WsConn};

/// The path of a WebSocket connection.
const WS_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// A Socket.IO client connected to `/` over WebSocket.
#[derive(Debug)]
pub struct SioWs {
    ws: WsConn,
}

impl SioWs {
    /// Connects and joins `/`.
    ///
    /// # Errors
    /// When the connection fails or the server does not accept it.
    pub async fn connect(addr: SocketAddr) -> io::Result<SioWs> {
        let mut ws = WsConn::connect(addr, WS_PATH).await?;
        loop {
            let frame = ws.next_frame().await?;
            if ws.payload(&frame).first() == Some(&b'0') {
                break;
            }
        }
        ws.send_text("40").await?;
        let mut client = SioWs { ws };
        loop {
            let frame = client.next_message().await?;
            if client.data(&frame).starts_with(b"0") {
                return Ok(client);
            }
        }
    }

    /// Sends an Engine.IO text packet (`42["echo",1]` is an event).
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn send(&mut self, packet: &str) -> io::Result<()> {
        self.ws.send_text(packet).await
    }

    /// The next Engine.IO message; its data (after the `4`) is [`data`](Self::data). Pings
    /// are answered on the way.
    ///
    /// # Errors
    /// When the connection fails or closes.
    pub async fn next_message(&mut self) -> io::Result<Frame> {
        loop {
            let frame = self.ws.next_frame().await?;
            match self.ws.payload(&frame).first() {
                Some(b'4') => return Ok(frame),
                Some(b'2') => self.ws.send_text("3").await?,
                Some(b'1') => {
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed"));
                }
                _ => {}
            }
        }
    }

    /// A message's Socket.IO packet (its text after the Engine.IO `4`).
    pub fn data(&self, frame: &Frame) -> &[u8] {
        &self.ws.payload(frame)[1..]
    }
}

/// A Socket.IO client connected to `/` over long-polling, with one HTTP connection for its
/// GETs and one for its POSTs.
#[derive(Debug)]
pub struct SioPolling {
    path: String,
    host: String,
    get: SendRequest<Full<Bytes>>,
    post: SendRequest<Full<Bytes>>,
}

impl SioPolling {
    /// Connects and joins `/`.
    ///
    /// # Errors
    /// When the connection fails or the server does not accept it.
    pub async fn connect(addr: SocketAddr) -> io::Result<SioPolling> {
        let mut get = http_connection(addr).await?;
        let host = addr.to_string();
        let open = request(
            &mut get,
            &host,
            "GET",
            "/socket.io/?EIO=4&transport=polling",
            "",
        )
        .await?;
        let text = std::str::from_utf8(&open).map_err(io::Error::other)?;
        let sid = text
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or_else(|| io::Error::other(format!("no sid in {text:?}")))?;
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let post = http_connection(addr).await?;
        let mut client = SioPolling {
            path,
            host,
            get,
            post,
        };
        client.send("40").await?;
        loop {
            if client.poll().await?.iter().any(|p| p.starts_with(b"0")) {
                return Ok(client);
            }
        }
    }

    /// Sends Engine.IO text packets in one POST.
    ///
    /// # Errors
    /// When the request fails.
    pub async fn send(&mut self, packets: &str) -> io::Result<()> {
        let body = request(&mut self.post, &self.host, "POST", &self.path, packets).await?;
        if &body[..] != b"ok" {
            return Err(io::Error::other(format!("POST answered {body:?}")));
        }
        Ok(())
    }

    /// One long-polling GET: the Engine.IO messages it returned (pings are answered).
    ///
    /// # Errors
    /// When the request fails or the session closed.
    pub async fn poll(&mut self) -> io::Result<Vec<Bytes>> {
        let body = request(&mut self.get, &self.host, "GET", &self.path, "").await?;
        let mut messages = Vec::new();
        let mut pinged = false;
        for packet in body.split(|&b| b == 0x1e) {
            match packet.first() {
                Some(b'4') => messages.push(body.slice_ref(&packet[1..])),
                Some(b'2') => pinged = true,
                Some(b'1') => {
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed"));
                }
                _ => {}
            }
        }
        if pinged {
            self.send("3").await?;
        }
        Ok(messages)
    }
}

async fn http_connection(addr: SocketAddr) -> io::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn request(
    sender: &mut SendRequest<Full<Bytes>>,
    host: &str,
    method: &str,
    path: &str,
    body: &str,
) -> io::Result<Bytes> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .map_err(io::Error::other)?;
    sender.ready().await.map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    if !status.is_success() {
        return Err(io::Error::other(format!(
            "{method} answered {status}: {body:?}"
        )));
    }
    Ok(body)
}
