//! The `Origin` allow-list: which browser pages may open or use a session, checked on every
//! request of every transport (against cross-site WebSocket hijacking).

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use http::header::ORIGIN;

type OriginPredicate = dyn Fn(&str) -> bool + Send + Sync;

/// The origins an engine accepts, set with
/// [`EngineConfig::allowed_origins`](crate::EngineConfig::allowed_origins) and
/// [`EngineConfig::allow_origin_if`](crate::EngineConfig::allow_origin_if).
#[derive(Clone, Default)]
pub(crate) struct AllowedOrigins {
    /// Normalised origins (`scheme://host[:port]`, lower case, no default port).
    list: Vec<String>,
    predicate: Option<Arc<OriginPredicate>>,
}

impl AllowedOrigins {
    /// Replaces the list. Panics on an entry that is not an origin.
    pub(crate) fn set_list(&mut self, origins: impl IntoIterator<Item = String>) {
        self.list = origins
            .into_iter()
            .map(|origin| {
                normalise(&origin).unwrap_or_else(|| {
                    panic!(
                        "allowed_origins: {origin:?} is not an origin (`scheme://host[:port]`; \
                         no path, no wildcard, not `null`); use allow_origin_if for patterns"
                    )
                })
            })
            .collect();
    }

    /// Sets the predicate that may accept origins the list does not hold.
    pub(crate) fn set_predicate(&mut self, predicate: Arc<OriginPredicate>) {
        self.predicate = Some(predicate);
    }

    /// Whether a request with these headers may go on: it has no `Origin`, or one the list
    /// holds (compared as origins: scheme, host and port) or the predicate accepts.
    pub(crate) fn allows(&self, headers: &HeaderMap) -> bool {
        let mut origins = headers.get_all(ORIGIN).iter();
        let Some(origin) = origins.next() else {
            return true;
        };
        if origins.next().is_some() {
            // Browsers send one; two is not a browser we can vouch for.
            return false;
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        normalise(origin).is_some_and(|origin| self.list.contains(&origin))
            || self
                .predicate
                .as_ref()
                .is_some_and(|accepts| accepts(origin))
    }
}

impl fmt::Debug for AllowedOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllowedOrigins")
            .field("list", &self.list)
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

/// `origin` as browsers serialise it: `scheme://host[:port]` with scheme and host in lower
/// case and the scheme's default port left out; a trailing `/` is dropped. `None` for
/// anything else (`null`, a path, user info, a wildcard, an empty host, a bad port).
fn normalise(origin: &str) -> Option<String> {
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme || authority.is_empty() {
        return None;
    }
    // The port follows the last `:` unless that `:` is inside an IPv6 literal (`[::1]`).
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_char_ok =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':');
    let bracketed = host.starts_with('[') && host.ends_with(']');
    if host.is_empty() || !host.chars().all(host_char_ok) || (host.contains(':') && !bracketed) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    match port {
        None => Some(format!("{scheme}://{host}")),
        Some(port) => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let port: u16 = port.parse().ok()?;
            if Some(port) == default_port {
                Some(format!("{scheme}://{host}"))
            } else {
                Some(format!("{scheme}://{host}:{port}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn normalises_origins() {
        let cases: &[(&str, Option<&str>)] = &[
            ("https://app.test", Some("https://app.test")),
            ("https://app.test/", Some("https://app.test")),
            ("HTTPS://App.Test", Some("https://app.test")),
            ("https://app.test:443", Some("https://app.test")),
            ("http://app.test:80", Some("http://app.test")),
            ("http://app.test:443", Some("http://app.test:443")),
            ("http://127.0.0.1:3000", Some("http://127.0.0.1:3000")),
            ("http://[::1]:3000", Some("http://[::1]:3000")),
            ("http://[::1]", Some("http://[::1]")),
            ("app-scheme://x", Some("app-scheme://x")),
            ("null", None),
            ("*", None),
            ("https://*.app.test", None),
            ("https://app.test/path", None),
            ("https://user@app.test", None),
            ("https://", None),
            ("https://app.test:", None),
            ("https://app.test:99999", None),
            ("https://app.test:+1", None),
            ("app.test", None),
            ("://app.test", None),
            ("http://a:b:3000", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise(input).as_deref(), *expected, "{input:?}");
        }
    }

    fn headers(origins: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for origin in origins {
            headers.append(ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    #[test]
    fn allows_listed_origins_and_requests_without_one() {
        let mut allowed = AllowedOrigins::default();
        allowed.set_list([
            "https://app.test".to_owned(),
            "http://x.test:8080".to_owned(),
        ]);
        let cases: &[(&[&'static str], bool)] = &[
            (&[], true),
            (&["https://app.test"], true),
            (&["https://APP.test:443"], true),
            (&["http://x.test:8080"], true),
            (&["http://app.test"], false),
            (&["https://app.test:8443"], false),
            (&["http://x.test"], false),
            (&["https://app.test.evil.test"], false),
            (&["https://evil.test"], false),
            (&["null"], false),
            (&[""], false),
            (&["https://app.test", "https://app.test"], false),
        ];
        for (origins, expected) in cases {
            assert_eq!(allowed.allows(&headers(origins)), *expected, "{origins:?}");
        }
    }

    #[test]
    fn the_predicate_accepts_what_the_list_does_not() {
        let mut allowed = AllowedOrigins::default();
        allowed.set_list(["https://app.test".to_owned()]);
        allowed.set_predicate(Arc::new(|origin: &str| origin.ends_with(".preview.test")));
        assert!(allowed.allows(&headers(&["https://app.test"])));
        assert!(allowed.allows(&headers(&["https://pr-1.preview.test"])));
        assert!(!allowed.allows(&headers(&["https://evil.test"])));
    }

    #[test]
    #[should_panic(expected = "is not an origin")]
    fn refuses_a_wildcard_in_the_list() {
        AllowedOrigins::default().set_list(["https://*.app.test".to_owned()]);
    }
}
