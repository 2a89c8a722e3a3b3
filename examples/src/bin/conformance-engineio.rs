//! The Engine.IO server the protocol test suites expect: on `/engine.io/`, ping every 300 ms,
//! 200 ms to answer, 1 MB payloads, and every message echoed back as it came (binary stays
//! binary).

use std::time::Duration;

use http::request::Parts;
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};

struct Echo;

impl Handler for Echo {
    fn on_open(&self, _session: &Session, _request: &Parts) {}

    fn on_message(&self, session: &Session, message: Message) {
        let _ = session.send(message);
    }

    fn on_close(&self, _session: &Session, _reason: CloseReason) {}
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let config = EngineConfig::default()
        .path("/engine.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000);
    let engine = Engine::new(config, Echo);
    tidings_examples::serve("conformance-engineio", "/engine.io/", &engine).await
}
