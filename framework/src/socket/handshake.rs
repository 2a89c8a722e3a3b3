//! [`Handshake`]: what the client sent when it connected, and its form on the wire between
//! the servers of a cluster (Node's `socket.handshake`).

mod node;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use http::request::Parts;
use http::{HeaderMap, Uri};
use serde::de::DeserializeOwned;
use tidings_transports::PeerAddr;

use crate::{DataError, Payload};

/// What the client sent when it connected: the head of its first HTTP request, and the
/// auth payload of its CONNECT packet.
///
/// It serializes in the shape of Node's `socket.handshake`, which is what the servers of a
/// cluster exchange about a socket (Node's Redis adapter puts it in its `fetchSockets`
/// answers), and deserializes from that shape, every field optional:
///
/// | field | serialized as | read back as |
/// | --- | --- | --- |
/// | `headers` | an object of lower-case names and string values, repeated headers joined as Node joins them | [`headers`](Self::headers) |
/// | `time` | `Date.prototype.toString()` in UTC | ignored |
/// | `address` | the IP address, `""` when unknown | [`address`](Self::address), port 0, `::ffff:` dropped from an IPv4 address |
/// | `xdomain` | whether there is an `origin` header | ignored |
/// | `secure` | `false` | ignored |
/// | `issued` | [`time`](Self::time) in milliseconds since the Unix epoch | [`time`](Self::time) (now when absent) |
/// | `url` | the path and query | [`uri`](Self::uri) (`/` when absent) |
/// | `query` | an object of the query parameters, the last value of a repeated one | [`query`](Self::query) when `url` has no query |
/// | `auth` | the auth payload's first argument, `{}` when none | [`auth`](Self::auth) (none when absent or `null`) |
///
/// ```
/// use tidings::Handshake;
///
/// let node = serde_json::json!({
///     "headers": {"host": "example.com", "origin": "https://example.com"},
///     "address": "::ffff:10.0.0.7",
///     "issued": 1795345417454_u64,
///     "url": "/socket.io/?EIO=4&transport=websocket",
///     "auth": {"token": "abc"},
/// });
/// let handshake: Handshake = serde_json::from_value(node).unwrap();
/// assert_eq!(handshake.headers()["host"], "example.com");
/// assert_eq!(handshake.address().unwrap().ip().to_string(), "10.0.0.7");
/// assert_eq!(handshake.query_param("transport").as_deref(), Some("websocket"));
/// let auth: serde_json::Value = handshake.auth().unwrap();
/// assert_eq!(auth["token"], "abc");
///
/// let again = serde_json::to_value(&handshake).unwrap();
/// assert_eq!(again["time"], "Sun Nov 22 2026 11:03:37 GMT+0000 (Coordinated Universal Time)");
/// assert_eq!(again["xdomain"], true);
/// ```
#[derive(Clone, Debug)]
pub struct Handshake {
    /// Shared by the sockets of one connection.
    request: Arc<Request>,
    auth: Option<Payload>,
}

#[derive(Debug)]
struct Request {
    /// The headers as `name: value` lines, kept compact until someone reads them.
    raw_headers: Box<str>,
    headers: OnceLock<HeaderMap>,
    uri: Uri,
    address: Option<SocketAddr>,
    time: SystemTime,
}

impl Handshake {
    /// The handshake of a connection opened by `request`, before any namespace.
    pub(crate) fn new(request: &Parts) -> Handshake {
        Handshake {
            request: Arc::new(Request {
                raw_headers: compact_headers(&request.headers),
                headers: OnceLock::new(),
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
        self.request
            .headers
            .get_or_init(|| parse_headers(&self.request.raw_headers))
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

/// The headers as `name: value` lines. The request's headers share the connection's read
/// buffer, so a clone would keep that buffer alive as long as the connection; a `HeaderMap`
/// of our own costs about 150 bytes a header, these lines about their length.
fn compact_headers(headers: &HeaderMap) -> Box<str> {
    let mut lines = String::new();
    for (name, value) in headers {
        // Values that are not visible ASCII are rare; they are left out.
        if let Ok(value) = value.to_str() {
            lines.push_str(name.as_str());
            lines.push_str(": ");
            lines.push_str(value);
            lines.push('\n');
        }
    }
    lines.into_boxed_str()
}

fn parse_headers(lines: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines.lines() {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        let name = http::HeaderName::from_bytes(name.as_bytes());
        let value = http::HeaderValue::from_str(value);
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_headers_in_order_with_repeats() {
        let request = http::Request::builder()
            .uri("/socket.io/?EIO=4&transport=websocket&room=a%20b")
            .header("host", "127.0.0.1:3000")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("x-empty", "")
            .body(())
            .expect("valid request");
        let (parts, ()) = request.into_parts();
        let handshake = Handshake::new(&parts);
        let headers = handshake.headers();
        assert_eq!(headers.len(), 4);
        let cookies: Vec<_> = headers.get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(headers["x-empty"], "");
        assert_eq!(handshake.query_param("room").as_deref(), Some("a b"));
        assert_eq!(
            handshake.query_param("transport").as_deref(),
            Some("websocket")
        );
    }
}
