//! A socket's deadline ([`Socket::expire_in`]): when the credential it connected with runs
//! out, it is disconnected, and its client is told why.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::{DisconnectReason, Socket};
use crate::sync::lock;

/// The name of the event a socket is sent just before it is disconnected at its deadline
/// ([`Socket::expire_in`]); its argument is `{"message":"<the message given>"}`.
pub const EXPIRED_EVENT: &str = "expired";

/// A socket's pending deadline: when it falls, and the timer that disconnects it then.
pub(super) struct Expiry {
    at: Instant,
    timer: AbortHandle,
}

impl Socket {
    /// Disconnects the socket `after` from now, telling the client why: the moment the token
    /// or session it connected with expires, say. A later call replaces the deadline (a
    /// client that sent a fresh token gets a new one).
    ///
    /// At the deadline the client is sent an [`EXPIRED_EVENT`] (`"expired"`) event with
    /// `{"message": message}`, then a DISCONNECT packet: the official client reports the
    /// disconnect as `"io server disconnect"` and does not reconnect by itself, so it can
    /// get a fresh credential, then connect again. The disconnect handlers get
    /// [`DisconnectReason::Expired`]. Only this namespace's socket is disconnected; the
    /// client's other namespaces stay connected.
    ///
    /// Call it once the socket has connected (in the connection handler, or in an event
    /// handler): on a socket that is not connected it does nothing. A socket recovered after
    /// a lost connection ([`Socket::recovered`]) has no deadline until it is given one
    /// again, from its restored data, say. A deadline too far away to represent never falls.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tidings::{Io, Socket};
    ///
    /// let io = Io::builder().build();
    /// io.ns("/", |socket: Socket| {
    ///     // The token the client connected with is good for five more minutes.
    ///     socket.expire_in(Duration::from_secs(300), "token expired");
    /// });
    /// ```
    ///
    /// # Panics
    /// When called outside a Tokio runtime (handlers always run inside one).
    pub fn expire_in(&self, after: Duration, message: impl Into<String>) {
        if !self.connected() {
            return;
        }
        let timer = Instant::now().checked_add(after).map(|at| {
            let socket = Arc::downgrade(&self.0);
            let message = message.into();
            let timer = tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                if let Some(socket) = socket.upgrade() {
                    Socket(socket).expire(at, &message);
                }
            });
            Box::new(Expiry {
                at,
                timer: timer.abort_handle(),
            })
        });
        let earlier = std::mem::replace(&mut *lock(&self.0.expiry), timer);
        if let Some(earlier) = earlier {
            earlier.timer.abort();
        }
        // A disconnect that raced with this call may have missed the new timer.
        if !self.connected() {
            self.cancel_expiry();
        }
    }

    /// Stops the socket's deadline timer, if it has one (the socket is disconnecting).
    pub(super) fn cancel_expiry(&self) {
        if let Some(expiry) = lock(&self.0.expiry).take() {
            expiry.timer.abort();
        }
    }

    /// The deadline `at` has come: unless another deadline replaced it, tells the client
    /// and disconnects the socket.
    fn expire(&self, at: Instant, message: &str) {
        {
            let mut expiry = lock(&self.0.expiry);
            if expiry.as_ref().is_none_or(|expiry| expiry.at != at) {
                return;
            }
            *expiry = None;
        }
        if !self.connected() {
            return;
        }
        tracing::debug!(socket = %self.id(), "deadline passed: {message}");
        let _ = self.emit(EXPIRED_EVENT, &serde_json::json!({ "message": message }));
        self.close_with(DisconnectReason::Expired, true);
    }
}
