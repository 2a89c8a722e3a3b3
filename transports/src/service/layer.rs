//! The tower layer, for mounting the engine beside other routes.

use tower_layer::Layer;

use super::EngineService;
use crate::Engine;

/// A tower layer that puts the engine in front of a service: requests on the engine's path go
/// to the engine, every other one to the service. Made by [`Engine::layer`].
///
/// ```
/// use http::request::Parts;
/// use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, NotFound, Session};
/// use tower_layer::Layer;
///
/// struct Quiet;
/// impl Handler for Quiet {
///     fn on_open(&self, _: &Session, _: &Parts) {}
///     fn on_message(&self, _: &Session, _: Message) {}
///     fn on_close(&self, _: &Session, _: CloseReason) {}
/// }
///
/// let engine = Engine::new(EngineConfig::default(), Quiet);
/// let service = engine.layer().layer(NotFound);
/// ```
#[derive(Clone, Debug)]
pub struct EngineLayer {
    engine: Engine,
}

impl EngineLayer {
    pub(crate) fn new(engine: Engine) -> Self {
        EngineLayer { engine }
    }
}

impl<S> Layer<S> for EngineLayer {
    type Service = EngineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineService::new(self.engine.clone(), inner)
    }
}
