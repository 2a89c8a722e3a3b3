//! WebSocket: one task per connection, for direct sessions and for sessions upgraded from
//! long-polling or SSE.
//!
//! The task reads frames and, whenever the session queue has packets, writes all of them and
//! flushes once. A direct session's heartbeat runs in the same task. An upgrading connection
//! first answers the probe (`2probe` → `3probe`), then waits for `5` before it takes over
//! the session's queue; anything else, or the upgrade timeout, drops it and leaves the session
//! on its transport. A session that closes before the probe is answered ends the probe; once
//! it is answered the client stops using its old transport, so the connection waits for `5`
//! and carries the close itself.
//!
//! The framing is ours ([`packet::websocket`](crate::packet::websocket), over the socket hyper
//! hands back) rather than tokio-tungstenite's stream, which keeps a zero-filled read buffer
//! per connection and both buffers at their largest size for the connection's life: after one
//! 900 KB message an idle connection held 1.7 MiB there. Ours holds none while idle.

mod conn;

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::Instrument;
use tungstenite::handshake::derive_accept_key;

use self::conn::{Connection, Failure, Incoming};
use super::{ServeFuture, Transport};
use crate::Packet;
use crate::engine::{CloseReason, RequestError, Session, Writer, heartbeat, session_span};
use crate::packet::extension;
use crate::service::EngineBody;

const NAME: &str = "websocket";

/// How long a closing connection may take to write its last frames; less when the engine's
/// shutdown deadline comes first.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

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
        let headers = &parts.headers;
        if parts.method == Method::GET
            && header_has(headers, header::UPGRADE, "websocket")
            && header_has(headers, header::CONNECTION, "upgrade")
            && headers
                .get(header::SEC_WEBSOCKET_VERSION)
                .is_some_and(|v| v == "13")
            && headers.contains_key(header::SEC_WEBSOCKET_KEY)
            && parts.extensions.get::<OnUpgrade>().is_some()
        {
            Ok(())
        } else {
            Err(RequestError::BadRequest)
        }
    }

    fn open(&self, session: Session, parts: &mut Parts) -> Response<EngineBody> {
        let (response, on_upgrade, deflate) = accept(parts, &session);
        // The guard lives in the task's own state: wrapping the task's future in another
        // future would store it twice (about 1 KiB more per connection).
        let writer = Writer::new(session.engine());
        let span = session_span(session.id(), NAME, parts);
        let task = async move {
            let _writer = writer;
            match on_upgrade.await {
                Ok(upgraded) => run(upgraded, session, false, deflate).await,
                Err(_) => session.close_with(CloseReason::TransportClose),
            }
        };
        tokio::spawn(task.instrument(span));
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
        let (response, on_upgrade, deflate) = accept(parts, &session);
        let writer = Writer::new(session.engine());
        let span = session_span(session.id(), NAME, parts);
        let task = async move {
            let _writer = writer;
            match on_upgrade.await {
                Ok(upgraded) => run(upgraded, session, true, deflate).await,
                Err(_) => session.abort_upgrade(),
            }
        };
        tokio::spawn(task.instrument(span));
        Ok(response)
    }
}

/// The `101 Switching Protocols` answer, the future of the upgraded connection, and whether
/// permessage-deflate was negotiated.
fn accept(parts: &mut Parts, session: &Session) -> (Response<EngineBody>, OnUpgrade, bool) {
    let on_upgrade = parts
        .extensions
        .remove::<OnUpgrade>()
        .expect("checked by `WebSocket::check`");
    let accept = parts
        .headers
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
        .and_then(|accept| HeaderValue::try_from(accept).ok());
    let mut response = Response::new(EngineBody::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Some(accept) = accept {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    let deflate = session
        .engine()
        .config
        .per_message_deflate
        .as_ref()
        .and_then(|_| {
            let offers = parts.headers.get_all(header::SEC_WEBSOCKET_EXTENSIONS);
            extension::negotiate(offers.iter().map(HeaderValue::as_bytes))
        })
        .and_then(|deflate| HeaderValue::try_from(deflate.response()).ok())
        .map(|answer| headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, answer))
        .is_some();
    (response, on_upgrade, deflate)
}

/// Runs the connection over the plain TCP stream when hyper's upgrade wraps one (no boxing,
/// no extra buffer), or over the upgrade itself otherwise.
async fn run(upgraded: Upgraded, session: Session, upgrading: bool, deflate: bool) {
    let max = session.engine().config.max_payload;
    match upgraded.downcast::<TokioIo<TcpStream>>() {
        Ok(parts) => {
            let unread = parts.read_buf.to_vec();
            // Even when empty, these bytes can pin hyper's whole connection read buffer.
            drop(parts.read_buf);
            let conn = Connection::new(parts.io.into_inner(), max, unread, deflate);
            drive(conn, session, upgrading).await;
        }
        Err(upgraded) => {
            let conn = Connection::new(TokioIo::new(upgraded), max, Vec::new(), deflate);
            drive(conn, session, upgrading).await;
        }
    }
}

async fn drive<IO>(mut conn: Connection<IO>, session: Session, upgrading: bool)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let code = if upgrading && !take_over(&mut conn, &session).await {
        tracing::debug!("upgrade failed");
        session.abort_upgrade();
        Some(close_code(&session))
    } else {
        match pump(&mut conn, &session, !upgrading).await {
            Ok(()) => Some(close_code(&session)),
            Err(failure) => {
                session.close_with(failure.reason);
                failure.code
            }
        }
    };
    if let Some(code) = code {
        conn.queue_close(code);
        let until = session.engine().drain.grace(CLOSE_GRACE);
        let _ = tokio::time::timeout_at(until, conn.finish()).await;
    }
}

/// Runs the probe until the client switches (true), or until it fails, times out or the
/// session closes (false).
async fn take_over<IO>(conn: &mut Connection<IO>, session: &Session) -> bool
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let timeout = session.engine().config.upgrade_timeout;
    tokio::select! {
        upgraded = tokio::time::timeout(timeout, probe(conn, session)) => upgraded.unwrap_or(false),
        () = poll_fn(|cx| session.poll_closed_while_upgrading(cx)) => false,
    }
}

/// The close code for a connection that ends normally: 1001 ("going away") when the server
/// shuts down, 1000 otherwise.
fn close_code(session: &Session) -> u16 {
    if session.close_reason() == Some(CloseReason::ServerClose) {
        1001
    } else {
        1000
    }
}

/// Answers the probe and waits for the client to switch; true once the session is ours.
async fn probe<IO>(conn: &mut Connection<IO>, session: &Session) -> bool
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut probed = false;
    loop {
        match poll_fn(|cx| conn.poll_next(cx)).await {
            Ok(Incoming::Packet(Packet::PingProbe)) if !probed => {
                // From here a session that closes is still carried here once `5` arrives.
                if !session.probed() {
                    return false;
                }
                conn.queue(VecDeque::from([Packet::PongProbe]), usize::MAX);
                if poll_fn(|cx| conn.poll_write_out(cx)).await.is_err() {
                    return false;
                }
                probed = true;
            }
            Ok(Incoming::Packet(Packet::Upgrade)) if probed => {
                return session.finish_upgrade(NAME);
            }
            _ => return false,
        }
    }
}

/// Moves the session's packets both ways until the session or the connection ends.
async fn pump<IO>(
    conn: &mut Connection<IO>,
    session: &Session,
    with_heartbeat: bool,
) -> Result<(), Failure>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let heartbeat = async {
        if with_heartbeat {
            heartbeat::run(session).await;
        }
    };
    let mut heartbeat = std::pin::pin!(heartbeat);
    let threshold = (session.engine().config.per_message_deflate.as_ref())
        .map_or(usize::MAX, |deflate| deflate.threshold);
    let mut heartbeat_done = false;
    let mut ending = false;
    let mut close_deadline: Option<Pin<Box<tokio::time::Sleep>>> = None;
    poll_fn(|cx| {
        loop {
            match conn.poll_next(cx) {
                Poll::Ready(Ok(Incoming::Packet(packet))) => {
                    if let Some(metrics) = &session.engine().metrics {
                        metrics.received(std::slice::from_ref(&packet));
                    }
                    if let Err(error) = session.recv(packet) {
                        tracing::debug!(%error, "protocol violation");
                        return Poll::Ready(Err(Failure::protocol()));
                    }
                }
                Poll::Ready(Ok(Incoming::Malformed)) => {
                    tracing::debug!("malformed packet");
                    return Poll::Ready(Err(Failure::protocol()));
                }
                Poll::Ready(Err(failure)) => return Poll::Ready(Err(failure)),
                Poll::Pending => break,
            }
        }
        if !heartbeat_done {
            heartbeat_done = heartbeat.as_mut().poll(cx).is_ready();
        }
        loop {
            if conn.has_output() {
                match conn.poll_write_out(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => return Poll::Ready(Err(Failure::closed())),
                    Poll::Pending => return stalled(session, cx, &mut close_deadline),
                }
            }
            if ending {
                return Poll::Ready(Ok(()));
            }
            match session.poll_drain(cx, NAME) {
                Poll::Ready(batch) => {
                    conn.queue(batch.packets, threshold);
                    ending = batch.end;
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await
}

/// The socket takes no more bytes for now. Keep waiting unless the session closed meanwhile
/// (the client was too slow, say, or the server shuts down): then the client gets
/// [`CLOSE_GRACE`] to take the rest before the connection is dropped.
fn stalled(
    session: &Session,
    cx: &mut std::task::Context<'_>,
    deadline: &mut Option<Pin<Box<tokio::time::Sleep>>>,
) -> Poll<Result<(), Failure>> {
    session.watch(cx, NAME);
    if session.close_reason().is_none() {
        return Poll::Pending;
    }
    let deadline = deadline.get_or_insert_with(|| {
        let until = session.engine().drain.grace(CLOSE_GRACE);
        Box::pin(tokio::time::sleep_until(until))
    });
    match deadline.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(Err(Failure::closed())),
        Poll::Pending => Poll::Pending,
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
