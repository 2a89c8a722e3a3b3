//! The server-initiated heartbeat: a ping every interval, a pong expected within the timeout.

use std::future::poll_fn;

use tokio::time::timeout;

use super::Session;
use super::handler::CloseReason;

/// Runs a session's heartbeat until the session closes, closing it on a missed pong.
///
/// The first ping goes out one interval after the session was created; each later one an
/// interval after the pong that answered the previous ping.
pub(crate) async fn run(session: &Session) {
    let config = &session.engine().config;
    let (interval, ping_timeout) = (config.ping_interval, config.ping_timeout);
    loop {
        if timeout(interval, poll_fn(|cx| session.poll_heartbeat(cx, false)))
            .await
            .is_ok()
        {
            return; // closed
        }
        if !session.ping() {
            return;
        }
        match timeout(ping_timeout, poll_fn(|cx| session.poll_heartbeat(cx, true))).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(_) => {
                session.close_with(CloseReason::PingTimeout);
                return;
            }
        }
    }
}
