//! The Engine.IO server the end-to-end tests drive: the conformance echo plus commands.
//!
//! - any message is echoed back, except these text commands:
//! - `close`: the server closes the session;
//! - `burst:N`: the server sends `0` to `N-1` as N text messages;
//! - `transport`: the server answers with the session's current transport.
//!
//! Timings and limits come from the environment: `PING_INTERVAL` and `PING_TIMEOUT` (ms,
//! default 300 and 200), `MAX_PAYLOAD` (bytes, default 1000000), `MAX_QUEUED_BYTES` (bytes,
//! default 8 MiB), `TRANSPORTS` (comma-separated, default all), `CORS_ORIGIN` (an allowed
//! origin, with credentials), `ALLOWED_ORIGINS` (comma-separated origins whose pages may
//! connect besides the server's own, see `tidings_examples::own_origins`). SIGTERM or SIGINT shuts it down gracefully within
//! `SHUTDOWN_DEADLINE` ms (default 10000).

use http::request::Parts;
use tidings_transports::{CloseReason, Engine, Handler, Message, Session};

struct Testbed;

impl Handler for Testbed {
    fn on_open(&self, _session: &Session, _request: &Parts) {}

    fn on_message(&self, session: &Session, message: Message) {
        match message.as_text() {
            Some("close") => session.close(),
            Some("transport") => {
                let _ = session.send(session.transport());
            }
            Some(text) if text.starts_with("burst:") => {
                let count: u32 = text["burst:".len()..].parse().unwrap_or(0);
                for i in 0..count {
                    let _ = session.send(i.to_string());
                }
            }
            _ => {
                let _ = session.send(message);
            }
        }
    }

    fn on_close(&self, _session: &Session, _reason: CloseReason) {}
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let config = tidings_examples::testbed_engine_config("/engine.io/");
    let engine = Engine::new(config, Testbed);
    tidings_examples::serve("engineio-testbed", "/engine.io/", &engine).await
}
