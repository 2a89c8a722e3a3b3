//! Serving the files of a directory over HTTP: the pages and scripts that the test beds and
//! the example apps put beside their Socket.IO endpoint.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_service::Service;

/// A tower service that answers `GET` and `HEAD` requests with the files of a directory.
///
/// The request path names a file under the directory: `/app.js` is `<dir>/app.js`, and a path
/// that ends with `/` names the `index.html` of that folder (`/` is `<dir>/index.html`). The
/// path is percent-decoded once, then every segment must be an ordinary file name: `..`, `.`,
/// empty segments (as in `//etc/passwd`), backslashes and NUL bytes get 404 Not Found, so no
/// request reaches outside the directory through its URL. A path that is not valid
/// percent-encoded UTF-8 gets 400 Bad Request, a method other than `GET` and `HEAD` gets
/// 405 Method Not Allowed, and anything that is not a readable file (a folder, say) gets 404.
/// Symbolic links inside the directory are followed: the directory is trusted, the URL is not.
///
/// The content type comes from the extension (`html`, `js`, `mjs`, `css`, `json`, `map`,
/// `png`, `svg`; `application/octet-stream` for the rest). Responses say `Cache-Control:
/// no-cache`, so a browser never runs a stale build. Each file is read whole into memory: this
/// is for pages and bundles, not for large downloads.
///
/// Put the Socket.IO engine in front with [`serve_with`](crate::serve_with), which passes it
/// every request off the engine's path:
///
/// ```no_run
/// # async fn run(engine: tidings_transports::Engine) -> std::io::Result<()> {
/// let files = tidings_examples::StaticFiles::new("public");
/// tidings_examples::serve_with("chat", "/socket.io/", &engine, files).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: Arc<Path>,
}

impl StaticFiles {
    /// Serves the files under `root`. The directory is not looked at until a request comes: a
    /// missing directory means 404 for every request.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StaticFiles {
            root: Arc::from(root.into()),
        }
    }
}

impl<B> Service<Request<B>> for StaticFiles {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let head = match *request.method() {
            Method::GET => false,
            Method::HEAD => true,
            _ => {
                let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
                response
                    .headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                return Box::pin(std::future::ready(Ok(response)));
            }
        };
        let file = match file_path(request.uri().path()) {
            Ok(relative) => self.root.join(relative),
            Err(rejection) => return Box::pin(std::future::ready(Ok(status(rejection.status())))),
        };
        Box::pin(async move { Ok(respond(&file, head).await) })
    }
}

/// Why a request path names no file we serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejection {
    /// Not valid percent-encoded UTF-8, or not starting with `/`.
    Malformed,
    /// A segment that is not an ordinary file name: `..`, `.`, empty, or with `\` or NUL.
    Outside,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::Malformed => StatusCode::BAD_REQUEST,
            Rejection::Outside => StatusCode::NOT_FOUND,
        }
    }
}

/// The file a request path names, relative to the served directory.
///
/// Segments are checked after decoding, so an encoded `..` (`%2e%2e`) or slash (`%2f`) is
/// judged as what it stands for; decoding happens once, so `%252e` stays the name `%2e`.
fn file_path(uri_path: &str) -> Result<PathBuf, Rejection> {
    let decoded = percent_decode(uri_path).ok_or(Rejection::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Rejection::Malformed)?;
    let rest = decoded.strip_prefix('/').ok_or(Rejection::Malformed)?;
    let mut path = PathBuf::new();
    let (folders, name) = match rest.rsplit_once('/') {
        Some((folders, name)) => (Some(folders), name),
        None => (None, rest),
    };
    for segment in folders.into_iter().flat_map(|f| f.split('/')) {
        path.push(file_name(segment)?);
    }
    path.push(if name.is_empty() {
        "index.html"
    } else {
        file_name(name)?
    });
    Ok(path)
}

/// `segment`, if it names an entry of a folder and nothing else (on this platform too: a
/// `C:` is a drive on Windows).
fn file_name(segment: &str) -> Result<&str, Rejection> {
    if segment.contains(['\\', '\0']) {
        return Err(Rejection::Outside);
    }
    let mut components = Path::new(segment).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Ok(segment),
        _ => Err(Rejection::Outside),
    }
}

/// Decodes every `%XX` of `s`; `None` when a `%` is not followed by two hex digits.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut bytes = s.bytes();
    let mut decoded = Vec::with_capacity(s.len());
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = hex_digit(bytes.next()?)?;
            let low = hex_digit(bytes.next()?)?;
            decoded.push((high << 4) | low);
        } else {
            decoded.push(byte);
        }
    }
    Some(decoded)
}

fn hex_digit(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The `Content-Type` of a file, by its extension.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// The response for the file at `path`: its content (only its length for `HEAD`), or the
/// status that says why not.
async fn respond(path: &Path, head: bool) -> Response<Full<Bytes>> {
    let content = match read_file(path).await {
        Ok(content) => content,
        Err(error) => {
            let code = match error.kind() {
                io::ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => StatusCode::NOT_FOUND,
                _ => {
                    tracing::warn!(path = %path.display(), %error, "cannot read a static file");
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            };
            return status(code);
        }
    };
    let length = HeaderValue::from(content.len());
    let mut response = Response::new(if head {
        Full::default()
    } else {
        Full::new(Bytes::from(content))
    });
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(CONTENT_LENGTH, length);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The content of the regular file at `path`; `NotFound` for anything else (a folder, say).
async fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    if !tokio::fs::metadata(path).await?.is_file() {
        return Err(io::ErrorKind::NotFound.into());
    }
    tokio::fs::read(path).await
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

    #[test]
    fn maps_request_paths_to_files() {
        let cases: &[(&str, &str)] = &[
            ("/", "index.html"),
            ("/x.html", "x.html"),
            ("/dist/tidings.min.js", "dist/tidings.min.js"),
            ("/test/browser/", "test/browser/index.html"),
            ("/a%20b.js", "a b.js"),
            ("/caf%C3%A9.css", "café.css"),
            ("/%252e%252e/x", "%2e%2e/x"),
            ("/a%2Fb.js", "a/b.js"),
            ("/...", "..."),
            ("/.well-known/x", ".well-known/x"),
            ("/a..b", "a..b"),
        ];
        for (uri_path, file) in cases {
            assert_eq!(file_path(uri_path), Ok(PathBuf::from(file)), "{uri_path}");
        }
    }

    #[test]
    fn rejects_paths_outside_the_directory() {
        let cases: &[(&str, Rejection)] = &[
            ("/..", Rejection::Outside),
            ("/../Cargo.toml", Rejection::Outside),
            ("/a/../../etc/passwd", Rejection::Outside),
            ("/a/..", Rejection::Outside),
            ("/%2e%2e/Cargo.toml", Rejection::Outside),
            ("/%2E%2E%2FCargo.toml", Rejection::Outside),
            ("/a%2F..%2F..%2Fx", Rejection::Outside),
            ("//etc/passwd", Rejection::Outside),
            ("/%2Fetc/passwd", Rejection::Outside),
            ("/a//b", Rejection::Outside),
            ("/./x", Rejection::Outside),
            ("/..\\x", Rejection::Outside),
            ("/%5C..%5Cx", Rejection::Outside),
            ("/a\\b", Rejection::Outside),
            ("/x%00.html", Rejection::Outside),
            ("x.html", Rejection::Malformed),
            ("", Rejection::Malformed),
            ("/%", Rejection::Malformed),
            ("/%2", Rejection::Malformed),
            ("/%zz", Rejection::Malformed),
            ("/%C3", Rejection::Malformed),
            ("/%FF.js", Rejection::Malformed),
        ];
        for (uri_path, rejection) in cases {
            assert_eq!(file_path(uri_path), Err(*rejection), "{uri_path}");
        }
    }

    #[test]
    fn types_files_by_extension() {
        let cases: &[(&str, &str)] = &[
            ("index.html", "text/html; charset=utf-8"),
            ("INDEX.HTML", "text/html; charset=utf-8"),
            ("dist/tidings.min.js", "text/javascript; charset=utf-8"),
            ("tidings.mjs", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"),
            ("package.json", "application/json"),
            ("tidings.min.js.map", "application/json"),
            ("logo.png", "image/png"),
            ("logo.svg", "image/svg+xml"),
            ("lib.rs", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
        ];
        for (path, expected) in cases {
            assert_eq!(content_type(Path::new(path)), *expected, "{path}");
        }
    }

    /// This crate's `src` folder, served.
    fn files() -> StaticFiles {
        StaticFiles::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
    }

    async fn get(method: Method, uri: &str) -> (StatusCode, http::HeaderMap, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .expect("a valid request");
        let response = files().call(request).await.unwrap_or_else(|e| match e {});
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .unwrap_or_else(|e| match e {})
            .to_bytes();
        (parts.status, parts.headers, body)
    }

    #[tokio::test]
    async fn serves_a_file() {
        let (code, headers, body) = get(Method::GET, "/lib.rs").await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body, include_str!("lib.rs").as_bytes());
        assert_eq!(headers[CONTENT_TYPE], "application/octet-stream");
        assert_eq!(headers[CONTENT_LENGTH], body.len().to_string().as_str());
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
    }

    #[tokio::test]
    async fn answers_head_with_the_length_alone() {
        let (code, headers, body) = get(Method::HEAD, "/bin/socketio-testbed.rs").await;
        assert_eq!(code, StatusCode::OK);
        assert!(body.is_empty());
        let length = include_str!("bin/socketio-testbed.rs").len().to_string();
        assert_eq!(headers[CONTENT_LENGTH], length.as_str());
    }

    #[tokio::test]
    async fn refuses_other_methods() {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let (code, headers, body) = get(method.clone(), "/lib.rs").await;
            assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(headers[ALLOW], "GET, HEAD");
            assert!(body.is_empty());
        }
    }

    #[tokio::test]
    async fn answers_what_it_does_not_serve() {
        let cases: &[(&str, StatusCode)] = &[
            ("/missing.js", StatusCode::NOT_FOUND),
            ("/bin", StatusCode::NOT_FOUND),
            ("/bin/", StatusCode::NOT_FOUND),
            ("/lib.rs/x", StatusCode::NOT_FOUND),
            ("/../Cargo.toml", StatusCode::NOT_FOUND),
            ("/%2e%2e/Cargo.toml", StatusCode::NOT_FOUND),
            ("/bin/%2e%2e/%2e%2e/Cargo.toml", StatusCode::NOT_FOUND),
            ("/%zz", StatusCode::BAD_REQUEST),
        ];
        for (uri, expected) in cases {
            let (code, _, body) = get(Method::GET, uri).await;
            assert_eq!(code, *expected, "{uri}");
            assert!(body.is_empty(), "{uri}");
        }
    }
}
