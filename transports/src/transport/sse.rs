//! Server-sent events: a Tidings extension to Engine.IO.
//!
//! The handshake GET (`transport=sse`) is answered with an endless `text/event-stream`
//! response: the open packet first, then every packet queued for the session, one event each
//! (see [`packet::sse`](crate::packet::sse)). The client sends with POST exactly as in
//! long-polling. The stream works behind buffering proxies: it says `X-Accel-Buffering: no`,
//! each write is flushed, and an idle stream gets a comment every keep-alive interval. When
//! the session upgrades to WebSocket the stream ends with a noop event, so the client must
//! close its `EventSource` on that noop rather than let it reconnect. Should the upgrade fail
//! after that, the client reopens the stream with a GET that names its session.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response};
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::polling::receive;
use super::{ServeFuture, Transport};
use crate::engine::{Downstream, RequestError, Session, Writer};
use crate::packet::sse;
use crate::service::EngineBody;

const NAME: &str = "sse";

/// The `sse` transport.
#[derive(Debug)]
pub(crate) struct Sse;

impl Transport for Sse {
    fn name(&self) -> &'static str {
        NAME
    }

    fn upgradable(&self) -> bool {
        true
    }

    fn open(&self, session: Session, _parts: &mut Parts) -> Response<EngineBody> {
        let downstream = session
            .attach_downstream()
            .expect("a new session has no downstream yet");
        event_stream(session, downstream)
    }

    fn serve<'a>(&'a self, session: Session, parts: &'a mut Parts, body: Bytes) -> ServeFuture<'a> {
        Box::pin(async move {
            match parts.method {
                Method::POST => receive(&session, body, false),
                // Reopening the stream, after an upgrade that failed once the stream had ended;
                // one stream at a time.
                Method::GET => match session.attach_downstream() {
                    Ok(downstream) => Ok(event_stream(session, downstream)),
                    Err(_) => Err(RequestError::BadRequest),
                },
                _ => Err(RequestError::BadRequest),
            }
        })
    }
}

/// The `text/event-stream` response that streams the session's packets.
fn event_stream(session: Session, downstream: Downstream) -> Response<EngineBody> {
    let keep_alive = session.engine().config.sse_keep_alive;
    let stream = EventStream {
        _writer: Writer::new(session.engine()),
        session,
        downstream,
        keep_alive,
        next_keep_alive: Box::pin(tokio::time::sleep(keep_alive)),
        done: false,
    };
    let mut response = Response::new(EngineBody::stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The event stream of one session.
struct EventStream {
    /// Counts the stream as writing until hyper drops it, for a graceful shutdown.
    _writer: Writer,
    session: Session,
    downstream: Downstream,
    keep_alive: Duration,
    next_keep_alive: Pin<Box<Sleep>>,
    done: bool,
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(batch) = self.session.poll_drain(cx, NAME) {
            let mut out = Vec::new();
            for packet in &batch.packets {
                sse::encode(packet, &mut out);
            }
            if batch.end {
                self.done = true;
                self.downstream.complete();
            }
            self.reset_keep_alive();
            return Poll::Ready(Some(Ok(Frame::data(out.into()))));
        }
        if self.next_keep_alive.as_mut().poll(cx).is_ready() {
            self.reset_keep_alive();
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(sse::KEEP_ALIVE)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl EventStream {
    fn reset_keep_alive(&mut self) {
        let at = Instant::now() + self.keep_alive;
        self.next_keep_alive.as_mut().reset(at);
    }
}
