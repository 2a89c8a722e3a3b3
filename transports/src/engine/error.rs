//! The errors Engine.IO answers HTTP requests with: a status and `{"code","message"}` JSON.

use bytes::Bytes;
use http::{Response, StatusCode, header};

use crate::service::EngineBody;

/// An Engine.IO request error, as the protocol numbers them.
///
/// Each is answered with status 400 (403 for [`Forbidden`](Self::Forbidden) and
/// [`OriginNotAllowed`](Self::OriginNotAllowed), 413 for
/// [`PayloadTooLarge`](Self::PayloadTooLarge), 429 for
/// [`TooManyHandshakes`](Self::TooManyHandshakes), 503 for [`ShuttingDown`](Self::ShuttingDown)
/// and [`TooManyConnections`](Self::TooManyConnections)) and a JSON body such as
/// `{"code":1,"message":"Session ID unknown"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// Code 0: the `transport` parameter names no transport that is enabled.
    UnknownTransport,
    /// Code 1: the `sid` parameter names no open session.
    UnknownSid,
    /// Code 2: a handshake used another method than GET.
    BadHandshakeMethod,
    /// Code 3: the request does not fit the session (transport mismatch, overlapping request,
    /// malformed payload, a WebSocket handshake without the upgrade headers, …).
    BadRequest,
    /// Code 4: the `allow_request` hook refused the handshake, with its message if any.
    Forbidden(Option<String>),
    /// Code 4 with the message "Origin not allowed": the request's `Origin` header names an
    /// origin that [`EngineConfig::allowed_origins`](crate::EngineConfig::allowed_origins)
    /// does not allow. Any request may get it, of a session or a handshake.
    OriginNotAllowed,
    /// Code 5: the `EIO` parameter is not `4`.
    UnsupportedProtocolVersion,
    /// Code 3 with status 413: a POST body over `max_payload`.
    PayloadTooLarge,
    /// Code 6 with status 503: a handshake after [`Engine::shutdown`](crate::Engine::shutdown)
    /// began. The client should try again later, or elsewhere.
    ///
    /// Engine.IO numbers its errors 0 to 5 and has none for this; 6 cannot be mistaken for
    /// one of those (a refusal by `allow_request` is 4, and means "not you", not "not now").
    /// Clients act on the status: the official ones treat any failed handshake as a
    /// connection error and retry with their back-off, and load balancers read 503 as "try
    /// another server".
    ShuttingDown,
    /// Code 7 with status 503: a handshake while the engine holds
    /// [`max_connections`](crate::EngineConfig::max_connections) sessions. The client should
    /// try again later, or elsewhere; sessions already open are not affected.
    TooManyConnections,
    /// Code 8 with status 429: a handshake beyond the remote address's
    /// [`handshake_rate`](crate::EngineConfig::handshake_rate). The client should slow down.
    TooManyHandshakes,
}

impl RequestError {
    /// The protocol's error code.
    pub fn code(&self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest | RequestError::PayloadTooLarge => 3,
            RequestError::Forbidden(_) | RequestError::OriginNotAllowed => 4,
            RequestError::UnsupportedProtocolVersion => 5,
            RequestError::ShuttingDown => 6,
            RequestError::TooManyConnections => 7,
            RequestError::TooManyHandshakes => 8,
        }
    }

    /// The HTTP status the error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Forbidden(_) | RequestError::OriginNotAllowed => StatusCode::FORBIDDEN,
            RequestError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::ShuttingDown | RequestError::TooManyConnections => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            RequestError::TooManyHandshakes => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The message sent in the JSON body.
    pub fn message(&self) -> &str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden(Some(message)) => message,
            RequestError::Forbidden(None) => "Forbidden",
            RequestError::OriginNotAllowed => "Origin not allowed",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
            RequestError::PayloadTooLarge => "Payload too large",
            RequestError::ShuttingDown => "Server shutting down",
            RequestError::TooManyConnections => "Too many connections",
            RequestError::TooManyHandshakes => "Too many handshakes",
        }
    }

    /// The HTTP response for this error.
    pub fn into_response(self) -> Response<EngineBody> {
        let body = serde_json::json!({ "code": self.code(), "message": self.message() });
        let mut response = Response::new(EngineBody::full(Bytes::from(body.to_string())));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message(), self.code())
    }
}

impl std::error::Error for RequestError {}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn answers_with_status_and_json() {
        let cases = [
            (
                RequestError::UnknownTransport,
                400,
                r#"{"code":0,"message":"Transport unknown"}"#,
            ),
            (
                RequestError::UnknownSid,
                400,
                r#"{"code":1,"message":"Session ID unknown"}"#,
            ),
            (
                RequestError::BadHandshakeMethod,
                400,
                r#"{"code":2,"message":"Bad handshake method"}"#,
            ),
            (
                RequestError::BadRequest,
                400,
                r#"{"code":3,"message":"Bad request"}"#,
            ),
            (
                RequestError::Forbidden(None),
                403,
                r#"{"code":4,"message":"Forbidden"}"#,
            ),
            (
                RequestError::Forbidden(Some("no token".into())),
                403,
                r#"{"code":4,"message":"no token"}"#,
            ),
            (
                RequestError::OriginNotAllowed,
                403,
                r#"{"code":4,"message":"Origin not allowed"}"#,
            ),
            (
                RequestError::UnsupportedProtocolVersion,
                400,
                r#"{"code":5,"message":"Unsupported protocol version"}"#,
            ),
            (
                RequestError::PayloadTooLarge,
                413,
                r#"{"code":3,"message":"Payload too large"}"#,
            ),
            (
                RequestError::ShuttingDown,
                503,
                r#"{"code":6,"message":"Server shutting down"}"#,
            ),
            (
                RequestError::TooManyConnections,
                503,
                r#"{"code":7,"message":"Too many connections"}"#,
            ),
            (
                RequestError::TooManyHandshakes,
                429,
                r#"{"code":8,"message":"Too many handshakes"}"#,
            ),
        ];
        for (error, status, body) in cases {
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("full body")
                .to_bytes();
            assert_eq!(bytes, body.as_bytes());
        }
    }
}
