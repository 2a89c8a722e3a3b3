//! WebSocket, over tokio-tungstenite: one task per connection, for direct sessions and for
//! sessions upgraded from long-polling or SSE.
//!
//! The task reads frames and, whenever the session queue has packets, writes all of them and
//! flushes once. A direct session's heartbeat runs in the same task. An upgrading connection
//! first answers the probe (`2probe` → `3probe`), then waits for `5` before it takes over
//! the session's queue; anything else, or the upgrade timeout, drops it and leaves the session
//! on its transport.

use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

use super::{ServeFuture, Transport};
use crate::engine::{CloseReason, RequestError, Session, heartbeat};
use crate::service::EngineBody;
use crate::{Message, Packet};

const NAME: &str = "websocket";

/// Bytes tungstenite reads per call, and so the read buffer an idle connection holds.
const READ_BUFFER: usize = 4096;
/// Bytes of frames buffered before a write, when a batch is larger than that.
const WRITE_BUFFER: usize = 16 * 1024;

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// The `websocket` transport.
#[derive(Debug)]
pub(crate) struct WebSocket;

impl Transport for WebSocket {
    fn name(&self) -> &'static str {
        NAME
    }

    fn accepts_upgrades(&self) -> bool {
        true
    }

    fn drives_heartbeat(&self) -> bool {
        true
    }

    fn check(&self, parts: &Parts) -> Result<(), RequestError> {
        if parts.method == Method::GET
            && header_has(&parts.headers, header::UPGRADE, "websocket")
            && header_has(&parts.headers, header::CONNECTION, "upgrade")
            && parts
                .headers
                .get(header::SEC_WEBSOCKET_VERSION)
                .is_some_and(|v| v == "13")
            && parts.headers.contains_key(header::SEC_WEBSOCKET_KEY)
            && parts.extensions.get::<OnUpgrade>().is_some()
        {
            Ok(())
        } else {
            Err(RequestError::BadRequest)
        }
    }

    fn open(&self, session: Session, parts: &mut Parts) -> Response<EngineBody> {
        let (response, on_upgrade) = accept(parts);
        tokio::spawn(async move {
            let Some(mut socket) = connect(on_upgrade, &session).await else {
                session.close_with(CloseReason::TransportClose);
                return;
            };
            run(&mut socket, &session, true).await;
        });
        response
    }

    fn serve<'a>(
        &'a self,
        _session: Session,
        _parts: &'a mut Parts,
        _body: bytes::Bytes,
    ) -> ServeFuture<'a> {
        // A session already on WebSocket takes no second connection.
        Box::pin(async { Err(RequestError::BadRequest) })
    }

    fn upgrade(
        &self,
        session: Session,
        parts: &mut Parts,
    ) -> Result<Response<EngineBody>, RequestError> {
        if !session.begin_upgrade() {
            return Err(RequestError::BadRequest);
        }
        let (response, on_upgrade) = accept(parts);
        tokio::spawn(async move {
            let Some(mut socket) = connect(on_upgrade, &session).await else {
                session.abort_upgrade();
                return;
            };
            let timeout = session.engine().config.upgrade_timeout;
            match tokio::time::timeout(timeout, probe(&mut socket, &session)).await {
                Ok(true) => run(&mut socket, &session, false).await,
                _ => {
                    tracing::debug!(sid = %session.id(), "upgrade failed");
                    session.abort_upgrade();
                    let _ = socket.close(None).await;
                }
            }
        });
        Ok(response)
    }
}

/// The `101 Switching Protocols` answer, and the future of the upgraded connection.
fn accept(parts: &mut Parts) -> (Response<EngineBody>, Option<OnUpgrade>) {
    let on_upgrade = parts.extensions.remove::<OnUpgrade>();
    let key = parts
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    let mut response = Response::new(EngineBody::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::try_from(key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    (response, on_upgrade)
}

async fn connect(on_upgrade: Option<OnUpgrade>, session: &Session) -> Option<Socket> {
    let upgraded = on_upgrade?.await.ok()?;
    let max = session.engine().config.max_payload;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    Some(WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await)
}

/// Answers the probe and waits for the client to switch; true once the session is ours.
async fn probe(socket: &mut Socket, session: &Session) -> bool {
    let mut probed = false;
    while let Some(Ok(frame)) = socket.next().await {
        let WsMessage::Text(text) = frame else {
            return false;
        };
        match (Packet::decode_text(text), probed) {
            (Ok(Packet::PingProbe), false) => {
                if socket.send(WsMessage::text("3probe")).await.is_err() {
                    return false;
                }
                session.probed();
                probed = true;
            }
            (Ok(Packet::Upgrade), true) => return session.finish_upgrade(NAME),
            _ => return false,
        }
    }
    false
}

/// Why a connection ended early.
struct Failure {
    reason: CloseReason,
    code: Option<CloseCode>,
}

/// Moves the session's packets both ways until the session or the connection ends.
async fn run(socket: &mut Socket, session: &Session, with_heartbeat: bool) {
    let result = pump(socket, session, with_heartbeat).await;
    let code = match result {
        Ok(()) if session.close_reason() == Some(CloseReason::ServerClose) => Some(CloseCode::Away),
        Ok(()) => Some(CloseCode::Normal),
        Err(Failure { reason, code }) => {
            session.close_with(reason);
            code
        }
    };
    if let Some(code) = code {
        let frame = CloseFrame {
            code,
            reason: "".into(),
        };
        let _ = socket.close(Some(frame)).await;
    }
}

async fn pump(socket: &mut Socket, session: &Session, with_heartbeat: bool) -> Result<(), Failure> {
    let heartbeat = async {
        if with_heartbeat {
            heartbeat::run(session).await;
        }
        // The session closed: the drain branch sends what is left and ends the loop.
        std::future::pending::<()>().await
    };
    tokio::pin!(heartbeat);
    loop {
        tokio::select! {
            frame = socket.next() => receive(session, frame)?,
            batch = session.drain(NAME) => {
                for packet in batch.packets {
                    let frame = match packet.text() {
                        Some(text) => WsMessage::Text(text),
                        None => match packet {
                            Packet::Message(message) => binary_frame(message),
                            _ => continue,
                        },
                    };
                    socket.feed(frame).await.map_err(failure)?;
                }
                socket.flush().await.map_err(failure)?;
                if batch.end {
                    return Ok(());
                }
            }
            () = &mut heartbeat => {}
        }
    }
}

fn binary_frame(message: Message) -> WsMessage {
    WsMessage::Binary(message.as_binary().cloned().unwrap_or_default())
}

/// Handles one frame from the client.
fn receive(
    session: &Session,
    frame: Option<Result<WsMessage, tungstenite::Error>>,
) -> Result<(), Failure> {
    let packet = match frame {
        Some(Ok(WsMessage::Text(text))) => Packet::decode_text(text).map_err(|error| {
            tracing::debug!(sid = %session.id(), %error, "malformed packet");
            protocol_error()
        })?,
        Some(Ok(WsMessage::Binary(data))) => Packet::Message(Message::binary(data)),
        Some(Ok(WsMessage::Close(_))) | None => {
            return Err(Failure {
                reason: CloseReason::TransportClose,
                code: None,
            });
        }
        // Pings are answered by tungstenite; pongs and raw frames carry nothing for us.
        Some(Ok(_)) => return Ok(()),
        Some(Err(error)) => return Err(failure(error)),
    };
    session.recv(packet).map_err(|error| {
        tracing::debug!(sid = %session.id(), %error, "protocol violation");
        protocol_error()
    })
}

fn protocol_error() -> Failure {
    Failure {
        reason: CloseReason::TransportError,
        code: Some(CloseCode::Protocol),
    }
}

fn failure(error: tungstenite::Error) -> Failure {
    use tungstenite::Error;
    match error {
        Error::Capacity(_) => Failure {
            reason: CloseReason::TransportError,
            code: Some(CloseCode::Size),
        },
        Error::Protocol(_) | Error::Utf8(_) => Failure {
            reason: CloseReason::TransportError,
            code: Some(CloseCode::Protocol),
        },
        _ => Failure {
            reason: CloseReason::TransportClose,
            code: None,
        },
    }
}

/// Whether a comma-separated header holds `token`, ignoring case.
fn header_has(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case(token))
}
