//! Cross-origin resource sharing for the engine's HTTP requests.

use std::time::Duration;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use crate::service::EngineBody;

/// Which origins may reach the engine from a browser, and how.
///
/// ```
/// use std::time::Duration;
/// use tidings_transports::Cors;
///
/// let open = Cors::any();
/// let strict = Cors::origins(["https://app.example.com"])
///     .credentials(true)
///     .max_age(Duration::from_secs(600));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Cors {
    origins: Origins,
    credentials: bool,
    max_age: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Origins {
    Any,
    List(Vec<String>),
}

impl Cors {
    /// Every origin.
    pub fn any() -> Self {
        Cors {
            origins: Origins::Any,
            credentials: false,
            max_age: None,
        }
    }

    /// Only these origins (scheme, host and port, e.g. `https://example.com:8443`).
    pub fn origins<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cors {
            origins: Origins::List(origins.into_iter().map(Into::into).collect()),
            ..Cors::any()
        }
    }

    /// Whether browsers may send cookies and credentials (`Access-Control-Allow-Credentials`).
    pub fn credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long browsers may cache a preflight answer (`Access-Control-Max-Age`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Adds the CORS headers for a request with `request` headers to a response.
    pub(crate) fn apply(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let origin = request.get(header::ORIGIN);
        let allowed = match (&self.origins, origin) {
            (Origins::Any, _) if !self.credentials => Some(HeaderValue::from_static("*")),
            (Origins::Any, origin) => origin.cloned(),
            (Origins::List(list), Some(origin)) => list
                .iter()
                .any(|allowed| allowed.as_bytes() == origin.as_bytes())
                .then(|| origin.clone()),
            (Origins::List(_), None) => None,
        };
        if !matches!(&allowed, Some(v) if v == "*") {
            response.append(header::VARY, HeaderValue::from_static("Origin"));
        }
        let Some(allowed) = allowed else { return };
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        if self.credentials {
            response.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// The answer to a preflight `OPTIONS` request.
    pub(crate) fn preflight(&self, request: &HeaderMap) -> Response<EngineBody> {
        let mut response = Response::new(EngineBody::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        self.apply(request, headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            headers.append(
                header::VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
        }
        if let Some(max_age) = self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, max_age.as_secs().into());
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_static(origin));
        }
        headers
    }

    fn allow_origin(cors: &Cors, origin: Option<&'static str>) -> Option<String> {
        let mut response = HeaderMap::new();
        cors.apply(&request(origin), &mut response);
        response
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn allows_the_right_origins() {
        let any = Cors::any();
        let any_credentials = Cors::any().credentials(true);
        let list = Cors::origins(["https://a.test"]);
        let cases: &[(&Cors, Option<&'static str>, Option<&str>)] = &[
            (&any, Some("https://x.test"), Some("*")),
            (&any, None, Some("*")),
            (
                &any_credentials,
                Some("https://x.test"),
                Some("https://x.test"),
            ),
            (&list, Some("https://a.test"), Some("https://a.test")),
            (&list, Some("https://b.test"), None),
            (&list, Some("https://a.test.evil"), None),
            (&list, None, None),
        ];
        for (cors, origin, expected) in cases {
            assert_eq!(
                allow_origin(cors, *origin).as_deref(),
                *expected,
                "{cors:?} {origin:?}"
            );
        }
    }

    #[test]
    fn answers_preflights() {
        let cors = Cors::origins(["https://a.test"])
            .credentials(true)
            .max_age(Duration::from_secs(60));
        let mut headers = request(Some("https://a.test"));
        headers.insert(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        let response = cors.preflight(&headers);
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let h = response.headers();
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.test");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_HEADERS], "content-type");
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "60");
        assert!(
            h[header::ACCESS_CONTROL_ALLOW_METHODS]
                .to_str()
                .expect("ascii")
                .contains("POST")
        );
    }
}
