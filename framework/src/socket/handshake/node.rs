//! The [`Handshake`] in the shape of Node's `socket.handshake`, which the servers of a
//! cluster exchange about a socket (Node's Redis adapter puts it in its `fetchSockets`
//! answers).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::{Handshake, Request};
use crate::Parser;
use crate::payload::date::Date;

impl Serialize for Handshake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let issued = unix_millis(self.time());
        let time = Date::from_unix_millis(issued)
            .map_or_else(|| "Invalid Date".to_owned(), Date::to_js_string);
        let address = self
            .address()
            .map(|address| address.ip().to_string())
            .unwrap_or_default();
        let url = self.uri().path_and_query().map_or("/", |pq| pq.as_str());
        let auth = self
            .auth
            .as_ref()
            .and_then(|auth| match auth.to_json() {
                Value::Array(mut items) if !items.is_empty() => Some(items.swap_remove(0)),
                _ => None,
            })
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));

        let mut node = serializer.serialize_struct("Handshake", 9)?;
        node.serialize_field("headers", &NodeHeaders(self.headers()))?;
        node.serialize_field("time", &time)?;
        node.serialize_field("address", &address)?;
        node.serialize_field(
            "xdomain",
            &self.headers().contains_key(http::header::ORIGIN),
        )?;
        node.serialize_field("secure", &false)?;
        node.serialize_field("issued", &issued)?;
        node.serialize_field("url", url)?;
        node.serialize_field("query", &NodeQuery(self.query()))?;
        node.serialize_field("auth", &auth)?;
        node.end()
    }
}

impl<'de> Deserialize<'de> for Handshake {
    /// Reads Node's shape, leniently: every field is optional, a field of the wrong type
    /// counts as absent, and unknown fields are ignored; `null` is a handshake with nothing.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Handshake, D::Error> {
        deserializer
            .deserialize_any(FieldsVisitor)
            .map(Fields::into_handshake)
    }
}

/// The fields of Node's shape that a handshake is read from.
#[derive(Default)]
struct Fields {
    headers: Vec<(String, Value)>,
    query: Vec<(String, Value)>,
    url: Option<Value>,
    address: Option<Value>,
    issued: Option<Value>,
    auth: Option<Value>,
}

impl Fields {
    fn into_handshake(self) -> Handshake {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let Ok(name) = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) else {
                continue;
            };
            for value in texts(value) {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.append(name.clone(), value);
                }
            }
        }

        let mut uri = self
            .url
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|url| Uri::try_from(url).ok())
            .unwrap_or_else(|| Uri::from_static("/"));
        if uri.query().is_none() {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (key, value) in &self.query {
                for value in texts(value) {
                    query.append_pair(key, &value);
                }
            }
            let query = query.finish();
            if !query.is_empty() {
                if let Ok(with_query) = Uri::try_from(format!("{}?{query}", uri.path())) {
                    uri = with_query;
                }
            }
        }

        let address = self
            .address
            .as_ref()
            .and_then(Value::as_str)
            .and_then(parse_address);
        let time = self
            .issued
            .as_ref()
            .and_then(from_unix_millis)
            .unwrap_or_else(SystemTime::now);
        let auth = self.auth.filter(|auth| !auth.is_null()).and_then(|auth| {
            Parser::Json
                .payload_from_json(&Value::Array(vec![auth]))
                .ok()
        });

        Handshake {
            request: Arc::new(Request {
                raw_headers: Box::default(),
                headers: OnceLock::from(headers),
                uri,
                address,
                time,
            }),
            auth,
        }
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a handshake object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Fields, E> {
        Ok(Fields::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Fields, E> {
        Ok(Fields::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Value>()? {
            match key.as_str().unwrap_or_default() {
                "headers" => fields.headers = map.next_value::<Entries>()?.0,
                "query" => fields.query = map.next_value::<Entries>()?.0,
                "url" => fields.url = Some(map.next_value()?),
                "address" => fields.address = Some(map.next_value()?),
                "issued" => fields.issued = Some(map.next_value()?),
                "auth" => fields.auth = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// The entries of an object, in order, those with string keys; none when the value is not
/// an object.
struct Entries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries, D::Error> {
        deserializer.deserialize_any(EntriesVisitor)
    }
}

struct EntriesVisitor;

/// Generates the methods that read a value that is not an object as no entry.
macro_rules! no_entries {
    ($($method:ident($arg:ty);)*) => {
        $(fn $method<E: de::Error>(self, _: $arg) -> Result<Entries, E> {
            Ok(Entries(Vec::new()))
        })*
    };
}

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    no_entries! {
        visit_bool(bool);
        visit_i64(i64);
        visit_u64(u64);
        visit_f64(f64);
        visit_str(&str);
        visit_bytes(&[u8]);
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entries, E> {
        Ok(Entries(Vec::new()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Entries, E> {
        Ok(Entries(Vec::new()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entries(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Value>()? {
            let value = map.next_value::<Value>()?;
            if let Value::String(key) = key {
                entries.push((key, value));
            }
        }
        Ok(Entries(entries))
    }
}

/// Headers as Node's `IncomingMessage#headers`: a repeated `cookie` joined with `"; "`, a
/// repeated header that cannot be repeated (`host`, `content-type`, …) its first value, any
/// other joined with `", "`.
struct NodeHeaders<'a>(&'a HeaderMap);

impl Serialize for NodeHeaders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.keys_len()))?;
        for name in self.0.keys() {
            let mut values = self
                .0
                .get_all(name)
                .iter()
                .map(|value| String::from_utf8_lossy(value.as_bytes()));
            let first = values.next().unwrap_or_default().into_owned();
            let joined = match name.as_str() {
                "cookie" => values.fold(first, |all, value| all + "; " + &value),
                name if SINGLE_HEADERS.contains(&name) => first,
                _ => values.fold(first, |all, value| all + ", " + &value),
            };
            map.serialize_entry(name.as_str(), &joined)?;
        }
        map.end()
    }
}

/// The headers of which Node keeps the first value only.
const SINGLE_HEADERS: [&str; 18] = [
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

/// Query parameters as an object, in the order they first appear, the last value of a
/// repeated one.
struct NodeQuery(Vec<(String, String)>);

impl Serialize for NodeQuery {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut last: Vec<(&str, &str)> = Vec::with_capacity(self.0.len());
        for (key, value) in &self.0 {
            match last.iter_mut().find(|(k, _)| k == key) {
                Some(entry) => entry.1 = value,
                None => last.push((key, value)),
            }
        }
        let mut map = serializer.serialize_map(Some(last.len()))?;
        for (key, value) in last {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The strings a header or query value of Node's shape stands for: a string, each string of
/// an array (as Node gives repeated query parameters and `set-cookie`), or a number or
/// boolean as its text.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Array(items) => items
            .iter()
            .filter(|item| !item.is_array())
            .flat_map(texts)
            .collect(),
        _ => Vec::new(),
    }
}

/// An address as Node writes it (`::ffff:127.0.0.1`, `::1`, …), with port 0 unless it has
/// one; an IPv4 address mapped to IPv6 is read as IPv4.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    let ipv4 = text
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("::ffff:"))
        .and_then(|_| text.get(7..)?.parse::<Ipv4Addr>().ok());
    if let Some(ip) = ipv4 {
        return Some(SocketAddr::new(IpAddr::V4(ip), 0));
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 0))
        .or_else(|_| text.parse::<SocketAddr>())
        .ok()
}

/// Milliseconds since the Unix epoch, negative before it (saturating).
fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The time `millis` (a number) milliseconds after the Unix epoch, before it when negative;
/// `None` when that is not a time.
fn from_unix_millis(millis: &Value) -> Option<SystemTime> {
    let millis: i128 = match (millis.as_i64(), millis.as_u64(), millis.as_f64()) {
        (Some(millis), _, _) => millis.into(),
        (_, Some(millis), _) => millis.into(),
        (_, _, Some(millis)) if millis.is_finite() && millis.abs() < 1e19 => millis.trunc() as i128,
        _ => return None,
    };
    let offset = Duration::from_millis(u64::try_from(millis.unsigned_abs()).ok()?);
    if millis >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tidings_transports::PeerAddr;

    use super::*;
    use crate::Payload;

    /// A handshake of this server: headers with repeats, an address, a query, and `auth`.
    fn local(auth: Option<Payload>) -> Handshake {
        let request = http::Request::builder()
            .uri("/socket.io/?EIO=4&transport=polling&room=a%20b&room=c&t=1")
            .header("host", "127.0.0.1:3000")
            .header("origin", "http://localhost:8080")
            .header("cookie", "a=1")
            .header("cookie", "b=2")
            .header("accept", "text/html")
            .header("accept", "*/*")
            .header("user-agent", "first")
            .header("user-agent", "second")
            .extension(PeerAddr(
                "[::ffff:10.1.2.3]:51000".parse().expect("an address"),
            ))
            .body(())
            .expect("valid request");
        let (parts, ()) = request.into_parts();
        let mut handshake = Handshake::new(&parts).with_auth(auth);
        // A known time, to the millisecond.
        Arc::get_mut(&mut handshake.request)
            .expect("not shared")
            .time = UNIX_EPOCH + Duration::from_millis(1_795_345_417_454);
        handshake
    }

    #[test]
    fn serializes_in_nodes_shape() {
        let auth = Parser::MsgPack
            .payload_from_json(&json!([{"token": "t", "n": 1}]))
            .expect("an array");
        let node = serde_json::to_value(local(Some(auth))).expect("serializes");
        assert_eq!(
            node,
            json!({
                "headers": {
                    "host": "127.0.0.1:3000",
                    "origin": "http://localhost:8080",
                    "cookie": "a=1; b=2",
                    "accept": "text/html, */*",
                    "user-agent": "first",
                },
                "time": "Sun Nov 22 2026 11:03:37 GMT+0000 (Coordinated Universal Time)",
                "address": "::ffff:10.1.2.3",
                "xdomain": true,
                "secure": false,
                "issued": 1_795_345_417_454_u64,
                "url": "/socket.io/?EIO=4&transport=polling&room=a%20b&room=c&t=1",
                "query": {"EIO": "4", "transport": "polling", "room": "c", "t": "1"},
                "auth": {"token": "t", "n": 1},
            })
        );
        // Keys in Node's order.
        let text = serde_json::to_string(&local(None)).expect("serializes");
        let keys = [
            "headers", "time", "address", "xdomain", "secure", "issued", "url", "query", "auth",
        ];
        let at: Vec<usize> = keys
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).expect("present"))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.ends_with(r#""auth":{}}"#), "{text}");
    }

    #[test]
    fn round_trips_through_json_and_msgpack() {
        let auth = Parser::Json
            .payload_from_json(&json!([{"token": "t"}]))
            .expect("an array");
        let original = local(Some(auth));
        let json = serde_json::to_string(&original).expect("serializes");
        let msgpack = rmp_serde::to_vec_named(&original).expect("serializes");
        let from_json: Handshake = serde_json::from_str(&json).expect("deserializes");
        let from_msgpack: Handshake = rmp_serde::from_slice(&msgpack).expect("deserializes");
        for back in [from_json, from_msgpack] {
            assert_eq!(back.uri(), original.uri());
            assert_eq!(back.query(), original.query());
            assert_eq!(back.time(), original.time());
            assert_eq!(
                back.address(),
                Some("10.1.2.3:0".parse().expect("an address"))
            );
            assert_eq!(back.headers()["cookie"], "a=1; b=2");
            assert_eq!(back.headers()["accept"], "text/html, */*");
            assert_eq!(back.headers()["user-agent"], "first");
            assert_eq!(back.headers().len(), 5);
            assert_eq!(
                back.auth::<serde_json::Value>().expect("auth"),
                json!({"token": "t"})
            );
            // And again, to the same shape.
            assert_eq!(
                serde_json::to_string(&back).expect("serializes"),
                json.replace("::ffff:10.1.2.3", "10.1.2.3")
            );
        }
    }

    /// `socket.handshake` of a Node server, from a `fetchSockets` answer (PROTOCOL.md, A7).
    const NODE: &str = r#"{
        "headers":{"sec-websocket-version":"13","sec-websocket-key":"BF9Qu8KpFfp7GR+4kVr2PA==",
                   "connection":"Upgrade","upgrade":"websocket",
                   "sec-websocket-extensions":"permessage-deflate; client_max_window_bits",
                   "host":"127.0.0.1:3102"},
        "time":"Sun Nov 22 2026 11:03:37 GMT+0000 (Coordinated Universal Time)",
        "address":"::ffff:127.0.0.1",
        "xdomain":false,
        "secure":false,
        "issued":1795345417454,
        "url":"/socket.io/?EIO=4&transport=websocket",
        "query":{"EIO":"4","transport":"websocket"},
        "auth":{}}"#;

    #[test]
    fn reads_the_handshake_of_a_node_server() {
        let handshake: Handshake = serde_json::from_str(NODE).expect("deserializes");
        assert_eq!(handshake.headers().len(), 6);
        assert_eq!(handshake.headers()["host"], "127.0.0.1:3102");
        assert_eq!(handshake.headers()["connection"], "Upgrade");
        assert_eq!(handshake.uri(), "/socket.io/?EIO=4&transport=websocket");
        assert_eq!(handshake.query_param("EIO").as_deref(), Some("4"));
        assert_eq!(
            handshake.address(),
            Some("127.0.0.1:0".parse().expect("an address"))
        );
        assert_eq!(
            handshake.time(),
            UNIX_EPOCH + Duration::from_millis(1_795_345_417_454)
        );
        assert!(handshake.has_auth());
        assert_eq!(
            handshake.auth::<serde_json::Value>().expect("auth"),
            json!({})
        );

        let mut expected: serde_json::Value = serde_json::from_str(NODE).expect("JSON");
        expected["address"] = json!("127.0.0.1");
        assert_eq!(
            serde_json::to_value(&handshake).expect("serializes"),
            expected
        );
    }

    #[test]
    fn reads_any_part_of_nodes_shape() {
        let now = SystemTime::now();
        let cases = [
            // (Node's shape, uri, query, address, issued, has auth)
            (json!(null), "/", vec![], None, None, false),
            (json!({}), "/", vec![], None, None, false),
            (
                json!({"url": 7, "address": 1, "issued": "x", "headers": [], "auth": null}),
                "/",
                vec![],
                None,
                None,
                false,
            ),
            (
                json!({"query": {"a": "1", "b": ["2", "3"], "c": 4}, "address": "::1", "issued": -1.5}),
                "/?a=1&b=2&b=3&c=4",
                vec![("a", "1"), ("b", "2"), ("b", "3"), ("c", "4")],
                Some("[::1]:0"),
                Some(-1),
                false,
            ),
            (
                json!({"url": "/x?y=1", "query": {"z": "2"}, "address": "10.0.0.1:80", "auth": 5}),
                "/x?y=1",
                vec![("y", "1")],
                Some("10.0.0.1:80"),
                None,
                true,
            ),
            (
                json!({"url": "not a uri", "address": "::FFFF:1.2.3.4", "issued": 1e300}),
                "/",
                vec![],
                Some("1.2.3.4:0"),
                None,
                false,
            ),
            (
                json!({"address": "::ffff:abcd", "issued": 0}),
                "/",
                vec![],
                Some("[::ffff:abcd]:0"),
                Some(0),
                false,
            ),
        ];
        for (node, uri, query, address, issued, has_auth) in cases {
            let handshake: Handshake = serde_json::from_value(node.clone()).expect("lenient");
            assert_eq!(handshake.uri(), uri, "{node}");
            let query: Vec<(String, String)> = query
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(handshake.query(), query, "{node}");
            let address = address.map(|a| a.parse::<SocketAddr>().expect("an address"));
            assert_eq!(handshake.address(), address, "{node}");
            match issued {
                Some(ms) => assert_eq!(unix_millis(handshake.time()), ms, "{node}"),
                None => assert!(handshake.time() >= now, "{node}"),
            }
            assert_eq!(handshake.has_auth(), has_auth, "{node}");
        }
        let headers = json!({"headers": {"X-A": "1", "set-cookie": ["a", "b"], "bad name": "x", "x-n": 2, "x-bad": "\n"}});
        let handshake: Handshake = serde_json::from_value(headers).expect("lenient");
        let all: Vec<_> = handshake
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap_or("?")))
            .collect();
        assert_eq!(
            all,
            [
                ("x-a", "1"),
                ("set-cookie", "a"),
                ("set-cookie", "b"),
                ("x-n", "2")
            ]
        );
        assert!(serde_json::from_value::<Handshake>(json!("a string")).is_err());
    }
}
