//! Mounting the engine: a tower [`Service`], a tower [`Layer`](tower_layer::Layer) and a
//! standalone hyper server (over TLS too, with the `tls` feature).

mod body;
mod layer;
mod serve;
#[cfg(feature = "tls")]
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Method, Request, Response, StatusCode};
use http_body_util::Either;
use tower_service::Service;

pub use self::body::EngineBody;
pub use self::layer::EngineLayer;
pub use self::serve::{PeerAddr, serve, serve_with_shutdown};
#[cfg(feature = "tls")]
pub use self::tls::{TlsConfig, TlsConfigError, serve_tls, serve_tls_with_shutdown};
use crate::Engine;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A tower service that answers requests on the engine's path and passes every other
/// request to `S`.
///
/// Made by [`Engine::service`] (with [`NotFound`] behind) or by [`EngineLayer`].
#[derive(Clone, Debug)]
pub struct EngineService<S> {
    engine: Engine,
    inner: S,
}

impl<S> EngineService<S> {
    pub(crate) fn new(engine: Engine, inner: S) -> Self {
        EngineService { engine, inner }
    }
}

impl<S, B, ResBody> Service<Request<B>> for EngineService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Either<EngineBody, ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.method() == Method::GET
            && let Some(metrics) = self.engine.config().metrics_at(request.uri().path())
        {
            let response = metrics.engine_response();
            return Box::pin(async move { Ok(response.map(Either::Left)) });
        }
        if self.engine.config().matches_path(request.uri().path()) {
            let engine = self.engine.clone();
            Box::pin(async move { Ok(engine.handle(request).await.map(Either::Left)) })
        } else {
            let response = self.inner.call(request);
            Box::pin(async move { Ok(response.await?.map(Either::Right)) })
        }
    }
}

/// A service that answers every request with 404 Not Found: what a standalone engine has
/// behind it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<EngineBody>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<EngineBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<B>) -> Self::Future {
        let mut response = Response::new(EngineBody::empty());
        *response.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(response))
    }
}
