//! [`Assets`]: the page, its style and script, and the `tidings-client` bundle, built into the
//! binary so that it needs no file at run time.
//!
//! `public/tidings.min.js` is client-js's `dist/tidings.min.js`, committed so that
//! `cargo run -p chat` needs no npm; client-js's tests fail when it differs from a fresh build
//! (`client-js/test/chat-bundle.test.mjs`).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

/// Each file: its path, its content type and its content.
const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../public/index.html"),
    ),
    (
        "/chat.css",
        "text/css; charset=utf-8",
        include_bytes!("../public/chat.css"),
    ),
    (
        "/chat.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../public/chat.js"),
    ),
    (
        "/tidings.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../public/tidings.min.js"),
    ),
];

/// Scripts, styles and connections from this origin only: no inline script runs, so a
/// message that got into the page as markup could not run one either.
const POLICY: &str = "default-src 'self'; img-src 'self' data:";

/// A tower service that answers `GET` and `HEAD` with the files of [`FILES`], 404 Not Found
/// for other paths and 405 Method Not Allowed for other methods.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Assets;

impl<B> Service<Request<B>> for Assets {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(respond(request.method(), request.uri().path())))
    }
}

/// The answer to `method` on `path`.
fn respond(method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        let allow = HeaderValue::from_static("GET, HEAD");
        response.headers_mut().insert(ALLOW, allow);
        return response;
    }
    let path = if path == "/index.html" { "/" } else { path };
    let Some((_, content_type, content)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return status(StatusCode::NOT_FOUND);
    };
    let body = if method == Method::HEAD {
        Full::default()
    } else {
        Full::new(Bytes::from_static(content))
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(content.len()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    response
}

/// An empty response with this status.
fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn body(response: Response<Full<Bytes>>) -> Bytes {
        let collected = response.into_body().collect().await;
        collected.unwrap_or_else(|e| match e {}).to_bytes()
    }

    #[tokio::test]
    async fn serves_each_file() {
        for (path, content_type, content) in FILES {
            let response = respond(&Method::GET, path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[CONTENT_TYPE], content_type, "{path}");
            let length = content.len().to_string();
            assert_eq!(
                response.headers()[CONTENT_LENGTH],
                length.as_str(),
                "{path}"
            );
            assert_eq!(body(response).await, content, "{path}");
        }
        let index = respond(&Method::GET, "/index.html");
        assert_eq!(body(index).await, FILES[0].2);
    }

    #[tokio::test]
    async fn answers_what_it_does_not_serve() {
        let cases = [
            (Method::GET, "/missing.js", StatusCode::NOT_FOUND),
            (Method::GET, "/../Cargo.toml", StatusCode::NOT_FOUND),
            (Method::HEAD, "/chat.js", StatusCode::OK),
            (Method::HEAD, "/", StatusCode::OK),
            (Method::POST, "/", StatusCode::METHOD_NOT_ALLOWED),
        ];
        for (method, path, expected) in cases {
            let response = respond(&method, path);
            assert_eq!(response.status(), expected, "{method} {path}");
            assert!(method == Method::GET || body(response).await.is_empty());
        }
    }
}
