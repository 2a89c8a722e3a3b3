//! [`Handshake`]: what the client sent when it connected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderMap, Uri};
use serde::de::DeserializeOwned;
use tidings_transports::PeerAddr;

use crate::{DataError, Payload};

/// What the client sent when it connected: the head of its first HTTP request, and the
/// auth payload of its CONNECT packet.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// Shared by the sockets of one connection.
    request: Arc<Request>,
    auth: Option<Payload>,
}

#[derive(Debug)]
struct Request {
    headers: HeaderMap,
    uri: Uri,
    address: Option<SocketAddr>,
    time: SystemTime,
}

impl Handshake {
    /// The handshake of a connection opened by `request`, before any namespace.
    pub(crate) fn new(request: &Parts) -> Handshake {
        Handshake {
            request: Arc::new(Request {
                headers: own_headers(&request.headers),
                uri: Uri::try_from(request.uri.to_string()).unwrap_or_default(),
                address: request.extensions.get::<PeerAddr>().map(|peer| peer.0),
                time: SystemTime::now(),
            }),
            auth: None,
        }
    }

    /// The same handshake, with the auth payload of a CONNECT packet.
    pub(crate) fn with_auth(&self, auth: Option<Payload>) -> Handshake {
        Handshake {
            request: self.request.clone(),
            auth,
        }
    }

    /// The headers of the first request.
    pub fn headers(&self) -> &HeaderMap {
        &self.request.headers
    }

    /// The URI of the first request (path and query).
    pub fn uri(&self) -> &Uri {
        &self.request.uri
    }

    /// The query parameters of the first request, decoded, in order (`EIO`, `transport` and
    /// the client's own `query` option).
    pub fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.request.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect()
    }

    /// The value of query parameter `name`, if it is there.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.request.uri.query().unwrap_or_default().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// The client's address, when the server knows it (with [`serve`](crate::serve); behind
    /// a proxy, read the proxy's headers instead).
    pub fn address(&self) -> Option<SocketAddr> {
        self.request.address
    }

    /// When the connection was opened.
    pub fn time(&self) -> SystemTime {
        self.request.time
    }

    /// Whether the client sent an auth payload with its CONNECT.
    pub fn has_auth(&self) -> bool {
        self.auth.is_some()
    }

    /// The auth payload read as a `T` (`null` when there is none, so `Option<T>` fits).
    ///
    /// # Errors
    /// [`DataError`] when it does not fit `T`.
    pub fn auth<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        match &self.auth {
            Some(auth) => auth.decode(),
            None => serde_json::from_value(serde_json::Value::Null).map_err(DataError::new),
        }
    }

    /// The auth payload as it came, when there is one.
    pub fn auth_payload(&self) -> Option<&Payload> {
        self.auth.as_ref()
    }
}

/// A copy of `headers` with storage of its own. The request's headers share the connection's
/// read buffer: a clone would keep that buffer alive as long as the connection.
fn own_headers(headers: &HeaderMap) -> HeaderMap {
    let mut own = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            own.append(name, value);
        }
    }
    own
}
