//! HTTP long-polling, with JSONP for browsers without CORS.
//!
//! A GET waits until something is queued, then takes everything queued in one payload. A POST
//! carries a payload from the client and is answered `ok` once its packets were handled, so
//! whatever the handlers queued in response is in the next GET. A second GET (or POST) while
//! one is pending is a protocol error: it is answered 400 and the session closes.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Response};

use super::{ServeFuture, Transport, encoding};
use crate::Packet;
use crate::engine::query::Query;
use crate::engine::{CloseReason, RequestError, Session, Writer};
use crate::packet::{jsonp, payload};
use crate::service::EngineBody;

pub(crate) const NAME: &str = "polling";

/// The `polling` transport.
#[derive(Debug)]
pub(crate) struct Polling;

impl Transport for Polling {
    fn name(&self) -> &'static str {
        NAME
    }

    fn upgradable(&self) -> bool {
        true
    }

    fn open(&self, session: Session, parts: &mut Parts) -> Response<EngineBody> {
        // The queue holds the open packet, so it is ready at once.
        let packets = match session.poll_drain(&mut Context::from_waker(Waker::noop()), NAME) {
            Poll::Ready(batch) => batch.packets,
            Poll::Pending => VecDeque::new(),
        };
        payload_response(&packets, &session, parts)
    }

    fn serve<'a>(&'a self, session: Session, parts: &'a mut Parts, body: Bytes) -> ServeFuture<'a> {
        Box::pin(async move {
            match parts.method {
                Method::GET => {
                    let Ok(mut downstream) = session.attach_downstream() else {
                        session.close_with(CloseReason::TransportError);
                        return Err(RequestError::BadRequest);
                    };
                    let writer = Writer::new(session.engine());
                    let batch = session.drain(NAME).await;
                    drop(writer);
                    downstream.complete();
                    Ok(payload_response(&batch.packets, &session, parts))
                }
                Method::POST => receive(&session, body, jsonp_index(parts).is_some()),
                _ => Err(RequestError::BadRequest),
            }
        })
    }
}

/// Handles the payload of a POST (of polling or SSE) and answers `ok`; a malformed payload
/// closes the session.
pub(super) fn receive(
    session: &Session,
    body: Bytes,
    jsonp: bool,
) -> Result<Response<EngineBody>, RequestError> {
    let decoded = if jsonp {
        jsonp::decode_body(&body).and_then(payload::decode)
    } else {
        payload::decode(body)
    };
    let packets = decoded.map_err(|error| {
        tracing::debug!(%error, "malformed payload");
        session.close_with(CloseReason::TransportError);
        RequestError::BadRequest
    })?;
    if let Some(metrics) = &session.engine().metrics {
        metrics.received(&packets);
    }
    session.recv_all(packets).map_err(|error| {
        tracing::debug!(%error, "protocol violation");
        RequestError::BadRequest
    })?;
    let mut response = Response::new(EngineBody::full(Bytes::from_static(b"ok")));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    Ok(response)
}

/// The `j` parameter: the request is JSONP.
fn jsonp_index(parts: &Parts) -> Option<String> {
    Query::parse(parts.uri.query()?).jsonp.map(Cow::into_owned)
}

/// The payload of `packets`, for JSONP if the request asks for it, compressed if the engine
/// and the request allow it.
fn payload_response(
    packets: &VecDeque<Packet>,
    session: &Session,
    parts: &Parts,
) -> Response<EngineBody> {
    let mut encoded = Vec::new();
    payload::encode(packets, &mut encoded);
    let (body, content_type) = match jsonp_index(parts).as_deref() {
        Some(index) => (
            jsonp::wrap(index, &encoded),
            "text/javascript; charset=UTF-8",
        ),
        None => (encoded, "text/plain; charset=UTF-8"),
    };
    let mut response = Response::new(EngineBody::empty());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let body = match &session.engine().config.http_compression {
        Some(compression) => {
            let coding = encoding::choose(&parts.headers);
            encoding::encode(body, coding, compression.threshold, headers)
        }
        None => body,
    };
    *response.body_mut() = EngineBody::full(Bytes::from(body));
    response
}
